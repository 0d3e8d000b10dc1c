/**
 * Charts with chart.js 4 (its UMD build, served by the dashboard itself or inlined in a report).
 * Each chart comes with its numbers as a table, for screen readers and for when the canvas
 * cannot be drawn.
 */
import { h } from './dom.js';
import { axisTime, bytes, time } from './format.js';

/** Colours chosen to stay apart for common colour-vision deficiencies; the legend carries words too. */
const COLOURS = {
  encrypted: '#1b7f5b',
  plaintext: '#c0392b',
  unknown: '#8a8f98',
  tracker: '#6a3d9a',
};

const live = new Set();

function chartLibrary() {
  return typeof globalThis.Chart === 'function' ? globalThis.Chart : null;
}

/** Destroy the charts drawn inside an element (before its content is replaced). */
export function destroyChartsIn(element) {
  for (const chart of live) {
    if (element.contains(chart.canvas)) {
      chart.destroy();
      live.delete(chart);
    }
  }
}

/** Destroy every chart drawn so far (before a page is replaced). */
export function destroyCharts() {
  for (const chart of live) chart.destroy();
  live.clear();
}

/** Draws once the canvas is in the document: chart.js sizes a chart from its parent. */
function draw(canvas, config, tries = 0) {
  const Chart = chartLibrary();
  if (!Chart) return;
  if (!canvas.isConnected) {
    if (tries < 120) requestAnimationFrame(() => draw(canvas, config, tries + 1));
    return;
  }
  live.add(new Chart(canvas, config));
}

const baseOptions = () => ({
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } },
});

/**
 * Bytes per time bucket, encrypted / readable / not judged, stacked.
 * series: TrafficSeries ({ bucket_seconds, from, to, points: [{ start, encrypted, plaintext, unknown }] }).
 */
export function trafficChart(series, title) {
  const points = series?.points ?? [];
  const totals = points.reduce(
    (t, p) => ({ encrypted: t.encrypted + p.encrypted, plaintext: t.plaintext + p.plaintext, unknown: t.unknown + p.unknown }),
    { encrypted: 0, plaintext: 0, unknown: 0 },
  );
  const all = totals.encrypted + totals.plaintext + totals.unknown;
  const caption = all === 0
    ? 'No traffic recorded.'
    : `${bytes(totals.encrypted)} encrypted, ${bytes(totals.plaintext)} readable by anyone on the path, ${bytes(totals.unknown)} not judged.`;
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ${caption}` });
  const figure = h(
    'figure',
    { class: 'chart' },
    h('div', { class: 'chart-box' }, canvas),
    h('figcaption', null, caption),
    tableDetails(
      'Traffic per time slot',
      ['Time slot (UTC)', 'Encrypted', 'Readable', 'Not judged'],
      points.map((p) => [time(p.start), bytes(p.encrypted), bytes(p.plaintext), bytes(p.unknown)]),
    ),
  );
  if (points.length > 0) {
    const span = points.length * (series.bucket_seconds || 1);
    const dataset = (key, label) => ({
      label,
      data: points.map((p) => p[key]),
      backgroundColor: COLOURS[key],
      borderWidth: 0,
      stack: 'bytes',
    });
    queueMicrotask(() =>
      draw(canvas, {
        type: 'bar',
        data: {
          labels: points.map((p) => axisTime(p.start, span)),
          datasets: [dataset('encrypted', 'Encrypted'), dataset('plaintext', 'Readable (plaintext)'), dataset('unknown', 'Not judged')],
        },
        options: {
          ...baseOptions(),
          scales: {
            x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 6 } },
            y: { stacked: true, ticks: { callback: (v) => bytes(v), maxTicksLimit: 5 } },
          },
          plugins: {
            ...baseOptions().plugins,
            tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${bytes(ctx.parsed.y)}` } },
          },
        },
      }),
    );
  }
  return figure;
}

/** Tracker organisations contacted, busiest first (TrackerOrganisation[]). */
export function trackersChart(trackers, title) {
  const list = trackers ?? [];
  const caption = list.length === 0
    ? 'No tracker was contacted.'
    : `${list.length} tracker ${list.length === 1 ? 'organisation' : 'organisations'} contacted; the busiest: ${list[0].organisation}.`;
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}: ${caption}` });
  const figure = h(
    'figure',
    { class: 'chart' },
    list.length > 0 ? h('div', { class: 'chart-box chart-box-short' }, canvas) : null,
    h('figcaption', null, caption),
  );
  if (list.length > 0) {
    queueMicrotask(() =>
      draw(canvas, {
        type: 'bar',
        data: {
          labels: list.map((t) => t.organisation),
          datasets: [{ label: 'Contacts (look-ups and connections)', data: list.map((t) => t.contacts), backgroundColor: COLOURS.tracker }],
        },
        options: {
          ...baseOptions(),
          indexAxis: 'y',
          plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      }),
    );
  }
  return figure;
}

/** A table in a closed <details>: the chart's numbers. */
function tableDetails(summary, headers, rows) {
  if (rows.length === 0) return null;
  return h(
    'details',
    { class: 'chart-data' },
    h('summary', null, `${summary} (table)`),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        null,
        h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))),
      ),
    ),
  );
}

