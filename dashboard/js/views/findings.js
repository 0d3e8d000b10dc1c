/** Every finding, filtered by device, standard, severity and code; newest worst first. */
import { h, replace } from '../dom.js';
import { errorMessage, findingList } from '../components.js';
import { plural } from '../format.js';
import { FINDING_CODES, SEVERITIES, STANDARD_NAMES } from '../labels.js';
import { filterForm, pager, selectField } from './filters.js';

const PAGE_SIZE = 50;
const FILTER_KEYS = ['device', 'standard', 'severity', 'min_severity', 'code', 'since', 'until'];

export async function renderFindings(ctx) {
  const { source, main } = ctx;
  const query = Object.fromEntries(FILTER_KEYS.filter((k) => ctx.query[k]).map((k) => [k, ctx.query[k]]));
  const offset = Math.max(0, Math.trunc(Number(ctx.query.offset) || 0));
  const results = h('div', { id: 'finding-results', 'aria-live': 'polite' });
  const devices = (await source.devices()).devices;
  if (ctx.stale()) return null;

  const form = filterForm(
    'findings',
    [
      selectField('device', 'Device', [['', 'Any device'], ...devices.map((d) => [d.id, d.name === d.id ? d.id : `${d.name} (${d.id})`])], query.device),
      selectField('standard', 'Standard', [['', 'Any standard'], ...Object.entries(STANDARD_NAMES).map(([n, name]) => [n, `${n}. ${name}`])], query.standard),
      selectField('severity', 'Severity', [['', 'Any severity'], ...SEVERITIES.map((s) => [s, s])], query.severity),
      selectField('code', 'Code', [['', 'Any code'], ...Object.keys(FINDING_CODES).map((c) => [c, c])], query.code),
    ],
    'Filter findings',
  );

  async function load() {
    try {
      const page = await source.findings({ ...query, limit: PAGE_SIZE, offset });
      if (ctx.stale()) return;
      const exportLinks = source.exportUrl('csv', query)
        ? h('p', { class: 'small' }, 'Download: ', h('a', { href: source.exportUrl('csv', query), download: '' }, 'CSV'), ' · ', h('a', { href: source.exportUrl('json', query), download: '' }, 'JSON'))
        : null;
      replace(
        results,
        h('p', null, `${plural(page.total, 'finding')}${Object.keys(query).length ? ' match these filters' : ''}.`),
        exportLinks,
        findingList(page.findings, source, { showDevice: true, showStandard: true, empty: 'No finding matches.' }),
        pager('findings', { ...query }, page),
      );
    } catch (err) {
      replace(results, errorMessage(err));
    }
  }
  await load();
  if (ctx.stale()) return null;
  replace(main, h('h1', null, 'Findings'), form, results);
  return { refresh: load };
}
