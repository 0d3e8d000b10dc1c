/**
 * One device: names and addresses; its report card with, per standard, the sentence and the
 * evidence (findings, the flows behind them); where its traffic goes; a timeline of findings;
 * its recent flows; and deleting everything stored about it.
 */
import { h, replace, route } from '../dom.js';
import { destroyChartsIn, trafficChart } from '../charts.js';
import {
  confirmDialog, errorMessage, factList, findingList, flowsTable, remotesTable, stateBadge, timeline, verdictBadge,
} from '../components.js';
import { bytes, count, plural, time } from '../format.js';
import { deviceName } from '../labels.js';

const OBSERVATIONS_SHOWN = 8;

function observationList(observations) {
  const item = (o) => h('li', null, o.detail, o.remote ? h('span', { class: 'muted' }, ` — ${o.remote}`) : null, o.count > 1 ? h('span', { class: 'muted' }, ` ×${count(o.count)}`) : null);
  const first = observations.slice(0, OBSERVATIONS_SHOWN);
  const rest = observations.slice(OBSERVATIONS_SHOWN);
  return h(
    'div',
    { class: 'observations' },
    h('p', { class: 'small' }, 'What we saw that was fine:'),
    h('ul', null, first.map(item)),
    rest.length ? h('details', null, h('summary', null, `${rest.length} more`), h('ul', null, rest.map(item))) : null,
  );
}

/** The five standards at a glance: state (icon + word), standard, its sentence, a way to its evidence. */
function reportCardSummary(device) {
  return h(
    'ol',
    { class: 'report-card' },
    device.report.standards.map((cell) => {
      const findings = device.findings_list.filter((f) => f.standard === cell.standard).length;
      const jump = h(
        'button',
        {
          type: 'button',
          class: 'link-like small',
          onclick: () => {
            const target = document.getElementById(`evidence-${cell.standard}`);
            target?.scrollIntoView({ block: 'start' });
            target?.querySelector('h3')?.focus({ preventScroll: true });
          },
        },
        findings ? `Evidence: ${plural(findings, 'finding')} ↓` : 'Details ↓',
      );
      return h(
        'li',
        { class: `report-cell state-${cell.state}`, 'data-standard': cell.standard },
        h('div', { class: 'report-cell-head' }, stateBadge(cell.state), h('h3', null, `${cell.standard}. ${cell.name}`)),
        h('p', { class: 'sentence' }, cell.sentence),
        jump,
      );
    }),
  );
}

/** Per standard: the findings behind its state (or the positive evidence behind a pass), and what cannot be seen. */
function evidenceSections(device, source) {
  return device.report.standards.map((cell) => {
    const findings = device.findings_list.filter((f) => f.standard === cell.standard);
    const observations = device.observations.filter((o) => o.standard === cell.standard);
    return h(
      'section',
      { class: `evidence-section state-${cell.state}`, id: `evidence-${cell.standard}`, 'aria-labelledby': `evidence-${cell.standard}-heading` },
      h('h3', { id: `evidence-${cell.standard}-heading`, tabindex: '-1' }, stateBadge(cell.state), ' ', `${cell.standard}. ${cell.name}`),
      h('p', { class: 'sentence' }, cell.sentence),
      findings.length ? findingList(findings, source) : null,
      cell.state === 'pass' && observations.length ? observationList(observations) : null,
      h('p', { class: 'limits small muted' }, 'What passive monitoring cannot see: ', cell.limits),
    );
  });
}

function subtitle(device) {
  const parts = [];
  if (device.vendor && device.vendor !== deviceName(device)) parts.push(device.vendor);
  if (device.ips.length) parts.push(device.ips.join(', '));
  if (device.mac && device.mac !== deviceName(device)) parts.push(device.mac);
  return parts.join(' · ');
}

export async function renderDevice(ctx) {
  const { source, main } = ctx;
  const id = ctx.args[0];
  if (!id) {
    replace(main, h('h1', null, 'No device given'), h('p', null, h('a', { href: '#/' }, 'Back to the overview.')));
    return null;
  }
  let device;
  let traffic;
  try {
    [device, traffic] = await Promise.all([source.device(id), source.traffic({ device: id, buckets: 48 })]);
  } catch (err) {
    if (ctx.stale()) return null;
    if (err?.status === 404) {
      ctx.setTitle('Unknown device');
      replace(main, h('h1', null, 'Unknown device'), h('p', null, 'No data is stored about this device (it may have been deleted). ', h('a', { href: '#/' }, 'Back to the overview.')));
      return null;
    }
    throw err;
  }
  if (ctx.stale()) return null;
  const name = deviceName(device);
  ctx.setTitle(name);

  const deleteBox = ctx.editable && source.kind === 'api' ? deleteSection(ctx, device) : null;
  const trafficBox = h('div', null, trafficChart(traffic, `Traffic of ${name} over time`));
  const findingsTotal = device.findings_list.length;

  replace(
    main,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/' }, '← All devices')),
    h('div', { class: 'device-title' }, h('h1', null, name), verdictBadge(device.report.verdict, true)),
    h('p', { class: 'muted subtitle' }, subtitle(device)),
    h('p', { class: 'lead' }, device.report.sentence),
    h(
      'section',
      { 'aria-labelledby': 'card-heading' },
      h('h2', { id: 'card-heading' }, 'Report card'),
      reportCardSummary(device),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'evidence-heading' },
      h('h2', { id: 'evidence-heading' }, 'The evidence'),
      h('p', { class: 'small muted' }, `${plural(findingsTotal, 'finding')}, worst first. Open "Evidence" under a finding for its details and the connections (flows) behind it.`),
      evidenceSections(device, source),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'about-heading' },
      h('h2', { id: 'about-heading' }, 'About this device'),
      factList([
        ['Host name', device.hostname],
        ['Vendor', device.vendor],
        ['MAC address', device.mac ? `${device.mac}${device.locally_administered ? ' (randomised, locally administered)' : ''}` : null],
        ['IP addresses', device.ips],
        ['DHCP vendor class', device.vendor_class],
        ['Seen', `${time(device.first_seen)} – ${time(device.last_seen)}`],
        ['Traffic', `${plural(device.flows_total ?? device.flows, 'flow')}; sent ${bytes(device.bytes_sent)}, received ${bytes(device.bytes_received)}`],
        ['Encrypted', `${bytes(device.encryption.encrypted.bytes)} in ${plural(device.encryption.encrypted.flows, 'flow')}`],
        ['Readable by anyone on the path', `${bytes(device.encryption.plaintext.bytes)} in ${plural(device.encryption.plaintext.flows, 'flow')}`],
      ]),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'where-heading' },
      h('h2', { id: 'where-heading' }, 'Where its traffic goes'),
      trafficBox,
      device.remotes.length ? remotesTable(device.remotes) : h('p', { class: 'muted' }, 'No remote endpoint recorded.'),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'timeline-heading' }, h('h2', { id: 'timeline-heading' }, 'Timeline of findings'), timeline(device.findings_list)),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'flows-heading' },
      h('h2', { id: 'flows-heading' }, 'Recent flows'),
      h('p', { class: 'small' }, `${count(device.recent_flows.length)} most recent of ${plural(device.flows_total, 'flow')}. `, h('a', { href: `${route('flows')}?device=${encodeURIComponent(device.id)}` }, 'All of its flows')),
      device.recent_flows.length ? flowsTable(device.recent_flows, { compact: true, caption: 'Recent flows' }) : null,
    ),
    deleteBox,
  );
  return {
    // A live finding for this device (or any): draw the page again with fresh data.
    refresh: async () => {
      const scroll = window.scrollY;
      // Keep open what the reader opened.
      const open = [...main.querySelectorAll('.finding[data-finding] details.evidence[open]')].map((d) => d.closest('.finding').dataset.finding);
      destroyChartsIn(main);
      await renderDevice(ctx);
      for (const id of open) {
        const details = main.querySelector(`.finding[data-finding="${CSS.escape(id)}"] details.evidence`);
        if (details) details.open = true;
      }
      window.scrollTo(0, scroll);
    },
  };
}

function deleteSection(ctx, device) {
  const name = deviceName(device);
  const result = h('div', { role: 'status' });
  const button = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: async () => {
        const ok = await confirmDialog({
          title: `Delete everything stored about ${name}?`,
          body: `Its flows, findings, observations and addresses (${device.id}) are removed from the database for good. If the device is still on the network, it will appear again as it is seen.`,
          confirmLabel: 'Delete its data',
        });
        if (!ok) return;
        button.disabled = true;
        try {
          const r = await ctx.source.deleteDevice(device.id);
          ctx.announce(`Deleted ${name}: ${plural(r.deleted.flows, 'flow')}, ${plural(r.deleted.findings, 'finding')}.`);
          location.hash = '#/';
        } catch (err) {
          button.disabled = false;
          replace(result, errorMessage(err));
        }
      },
    },
    "Delete this device's data",
  );
  return h(
    'section',
    { class: 'panel danger-zone', 'aria-labelledby': 'delete-heading' },
    h('h2', { id: 'delete-heading' }, "Delete this device's data"),
    h('p', null, 'Removes every flow, finding and address stored about this device.'),
    button,
    result,
  );
}
