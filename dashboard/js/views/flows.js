/** Flows for the curious: every conversation, filtered and paginated. */
import { h, replace } from '../dom.js';
import { errorMessage, flowsTable } from '../components.js';
import { plural } from '../format.js';
import { filterForm, inputField, pager, selectField } from './filters.js';

const PAGE_SIZE = 50;
const FILTER_KEYS = ['device', 'encryption', 'app', 'proto', 'remote', 'since', 'until'];

export async function renderFlows(ctx) {
  const { source, main } = ctx;
  const query = Object.fromEntries(FILTER_KEYS.filter((k) => ctx.query[k]).map((k) => [k, ctx.query[k]]));
  const offset = Math.max(0, Math.trunc(Number(ctx.query.offset) || 0));
  // ?limit= in the address picks the page size (the API allows 1 to 500).
  const limit = Math.min(500, Math.max(1, Math.trunc(Number(ctx.query.limit) || PAGE_SIZE)));
  const pageQuery = limit === PAGE_SIZE ? { ...query } : { ...query, limit: String(limit) };
  const results = h('div', { id: 'flow-results' });
  const devices = (await source.devices()).devices;
  if (ctx.stale()) return null;
  const form = filterForm(
    'flows',
    [
      selectField('device', 'Device', [['', 'Any device'], ...devices.map((d) => [d.id, d.name === d.id ? d.id : `${d.name} (${d.id})`])], query.device),
      selectField('encryption', 'Encryption', [['', 'Any'], ['encrypted', 'Encrypted'], ['plaintext', 'Readable (plaintext)'], ['unknown', 'Not judged']], query.encryption),
      inputField('app', 'Application', query.app, { placeholder: 'tls, http, dns…', maxlength: '32', pattern: '[a-z0-9_\\-]*', autocomplete: 'off' }),
      inputField('remote', 'Remote address or name', query.remote, { maxlength: '253', pattern: '[A-Za-z0-9.:_\\[\\]\\-]*', title: 'letters, digits and . : - _ [ ]', autocomplete: 'off' }),
    ],
    'Filter flows',
  );
  async function load() {
    try {
      const page = await source.flows({ ...query, limit, offset });
      if (ctx.stale()) return;
      replace(
        results,
        h('p', null, `${plural(page.total, 'flow')}, newest first.`),
        page.flows.length ? flowsTable(page.flows, { names: new Map(devices.map((d) => [d.id, d.name])) }) : h('p', { class: 'muted' }, 'No flow matches.'),
        pager('flows', pageQuery, page),
      );
    } catch (err) {
      replace(results, errorMessage(err));
    }
  }
  await load();
  if (ctx.stale()) return null;
  replace(main, h('h1', null, 'Flows'), form, results);
  return { refresh: load };
}
