/** The overview: every device as a card, worst first; counters; traffic and trackers; capture status. */
import { h, replace, route } from '../dom.js';
import { destroyChartsIn, trackersChart, trafficChart } from '../charts.js';
import { deviceCard, statusPanel, table } from '../components.js';
import { bytes, count, percent, plural } from '../format.js';
import { VERDICTS, verdictOf } from '../labels.js';

/**
 * Worst first. The API already orders devices so (verdict, then the most severe findings); a
 * stable sort on the verdict alone keeps that order and guards a saved report all the same.
 */
function worstFirst(devices) {
  return [...devices].sort((a, b) => verdictOf(a.report?.verdict).rank - verdictOf(b.report?.verdict).rank);
}

function headline(summary) {
  const n = summary.devices;
  if (n === 0) return 'No device has been seen yet.';
  const creepy = summary.verdicts.creepy ?? 0;
  const questionable = summary.verdicts.questionable ?? 0;
  if (creepy > 0) return `${creepy} of ${plural(n, 'device')} ${creepy === 1 ? 'is' : 'are'} creepy${questionable ? `, ${questionable} questionable` : ''}.`;
  if (questionable > 0) return `${questionable} of ${plural(n, 'device')} ${questionable === 1 ? 'is' : 'are'} questionable; none is creepy.`;
  return `None of the ${plural(n, 'device')} seen is creepy.`;
}

function counters(summary) {
  const verdictTiles = Object.entries(VERDICTS).map(([key, v]) =>
    h(
      'li',
      { class: `counter verdict-${key}` },
      h('span', { class: 'counter-value' }, count(summary.verdicts[key] ?? 0)),
      ' ',
      h('span', { class: 'counter-label' }, h('span', { 'aria-hidden': 'true' }, v.icon), ' ', v.word),
    ),
  );
  const severityLinks = ['critical', 'high', 'medium', 'low'].map((s) =>
    h('li', null, h('a', { href: `${route('findings')}?severity=${s}`, class: `severity-link severity-text-${s}` }, `${count(summary.findings.by_severity[s] ?? 0)} ${s}`)),
  );
  const t = summary.traffic;
  const all = t.encrypted.bytes + t.plaintext.bytes + t.unknown.bytes;
  return h(
    'div',
    { class: 'counters' },
    h('ul', { class: 'counter-row', 'aria-label': 'Devices by verdict' }, verdictTiles),
    h(
      'div',
      { class: 'severity-line' },
      h('span', null, `${plural(summary.findings.total, 'finding')}: `),
      h('ul', { class: 'inline-list', 'aria-label': 'Findings by severity' }, severityLinks),
    ),
    h(
      'p',
      { class: 'small muted' },
      `Traffic: ${bytes(all)}, ${percent(t.encrypted.bytes, all)} encrypted, ${percent(t.plaintext.bytes, all)} readable by anyone on the path.`,
    ),
  );
}

function trackersSection(trackers, names) {
  const rows = trackers.map((t) =>
    h(
      'tr',
      null,
      h('td', null, t.organisation, h('div', { class: 'muted small' }, t.domains.join(', '))),
      h('td', null, t.category.replace(/_/g, ' ')),
      h('td', { class: 'num' }, count(t.contacts)),
      h('td', { class: 'num' }, bytes(t.bytes_sent)),
      h('td', null, t.devices.map((id, i) => [i ? ', ' : '', h('a', { href: route('device', id) }, names.get(id) ?? id)])),
    ),
  );
  return [trackersChart(trackers, 'Top tracker organisations'), trackers.length ? table(['Organisation', 'Category', 'Contacts', 'Sent', 'Devices'], rows, 'Tracker organisations contacted') : null];
}

export async function renderOverview(ctx) {
  const { source, main } = ctx;
  const cards = h('div', { class: 'card-grid', id: 'device-cards' });
  const counterBox = h('div');
  const lead = h('p', { class: 'lead' });
  const trafficBox = h('div');
  const trackerBox = h('div');
  const statusBox = h('div');

  async function load() {
    const [summary, list, traffic, status] = await Promise.all([source.summary(), source.devices(), source.traffic({ buckets: 48 }), source.status()]);
    if (ctx.stale()) return;
    replace(lead, headline(summary));
    replace(counterBox, counters(summary));
    replace(cards, list.devices.length ? worstFirst(list.devices).map(deviceCard) : h('p', { class: 'muted' }, 'No devices yet. Once traffic is captured they appear here.'));
    destroyChartsIn(trafficBox);
    destroyChartsIn(trackerBox);
    replace(trafficBox, trafficChart(traffic, 'Encrypted and readable traffic over time'));
    replace(trackerBox, trackersSection(summary.top_trackers, new Map(list.devices.map((d) => [d.id, d.name]))));
    replace(statusBox, statusPanel(status));
  }
  await load();
  if (ctx.stale()) return null;
  replace(
    main,
    h('h1', null, 'Devices on this network'),
    lead,
    counterBox,
    h('section', { 'aria-labelledby': 'devices-heading' }, h('h2', { id: 'devices-heading', class: 'visually-hidden' }, 'Devices'), cards),
    h(
      'div',
      { class: 'two-columns' },
      h('section', { class: 'panel', 'aria-labelledby': 'traffic-heading' }, h('h2', { id: 'traffic-heading' }, 'Encrypted vs readable traffic'), trafficBox),
      h('section', { class: 'panel', 'aria-labelledby': 'trackers-heading' }, h('h2', { id: 'trackers-heading' }, 'Top tracker organisations'), trackerBox),
    ),
    h('section', { class: 'panel', 'aria-labelledby': 'status-heading' }, h('h2', { id: 'status-heading' }, 'Capture status'), statusBox),
  );
  return {
    refresh: load,
    status: (s) => replace(statusBox, statusPanel(s)),
  };
}
