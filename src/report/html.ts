/**
 * `notcreepy analyze FILE --html OUT`: one self-contained HTML file with the dashboard's cards,
 * evidence and charts, that can be mailed or archived and opens offline.
 *
 * It runs the dashboard's own modules (dashboard/js, joined by bundle.ts) on data computed now
 * with the same whole-database queries the API answers with (src/store/queries.ts), through the
 * dashboard's "embedded" data source. Stylesheet, chart.js and data are inlined; a
 * Content-Security-Policy in the file forbids every network request, so nothing can leak out of
 * a report, even by mistake.
 */
import { packageVersion } from '../version.js';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackerIntel } from '../intel/trackers.js';
import type { DeviceDetail, FindingItem, FlowReport, StatusResponse } from '../server/api-types.js';
import {
  allFindings,
  databaseCounts,
  deviceDetail,
  deviceList,
  flowsPage,
  MAX_PAGE_SIZE,
  summary,
  trackerOrganisations,
  trafficSeries,
} from '../store/queries.js';
import type { Store } from '../store/store.js';
import { bundleModules } from './bundle.js';

export interface HtmlReportOptions {
  /** The captures the report is about, shown in its banner (names only, not full paths). */
  files?: string[];
  /** The document's title (default "notcreepy report"). */
  title?: string;
  /** Most flows written into the file (default 20,000): the newest, plus every flow a finding names. */
  maxFlows?: number;
  /** The dashboard's folder (default: the one shipped with this package). */
  dashboardDir?: string;
  /** The report's time stamp (default: now). */
  now?: Date;
}

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_MAX_FLOWS = 20_000;
/** Points per traffic chart, as the dashboard asks for. */
const TRAFFIC_BUCKETS = 48;

/** What the embedded source (dashboard/js/source.js, embeddedSource) reads. */
export interface ReportBundle {
  meta: { generated_at: string; version: string; files: string[]; flows_note: string | null };
  summary: ReturnType<typeof summary>;
  devices: { devices: ReturnType<typeof deviceList> };
  details: Record<string, DeviceDetail>;
  findings: FindingItem[];
  flows: FlowReport[];
  traffic: ReturnType<typeof trafficSeries>;
  device_traffic: Record<string, ReturnType<typeof trafficSeries>>;
  trackers: { trackers: ReturnType<typeof trackerOrganisations> };
  status: StatusResponse;
}

/** The newest flows up to `max`, plus every flow a finding's evidence names, in the API's order. */
function reportFlows(store: Store, evidenceIds: Set<number>, max: number): { flows: FlowReport[]; total: number } {
  const byId = new Map<number, FlowReport>();
  let total = 0;
  for (let offset = 0; offset < max; offset += MAX_PAGE_SIZE) {
    const page = flowsPage(store, { limit: Math.min(MAX_PAGE_SIZE, max - offset), offset });
    total = page.total;
    for (const f of page.flows) byId.set(f.id, f);
    if (page.flows.length === 0 || offset + page.flows.length >= page.total) break;
  }
  const missing = [...evidenceIds].filter((id) => !byId.has(id));
  for (let i = 0; i < missing.length; i += 50) {
    const ids = missing.slice(i, i + 50);
    for (const f of flowsPage(store, { ids, limit: ids.length }).flows) byId.set(f.id, f);
  }
  const flows = [...byId.values()].sort((a, b) => (a.first_seen < b.first_seen ? 1 : a.first_seen > b.first_seen ? -1 : b.id - a.id));
  return { flows, total };
}

/** Everything the report shows, computed from the store now. */
export function reportBundle(store: Store, options: HtmlReportOptions = {}): ReportBundle {
  const now = options.now ?? new Date();
  const intel = trackerIntel();
  const devices = deviceList(store);
  const details: Record<string, DeviceDetail> = {};
  const deviceTraffic: Record<string, ReturnType<typeof trafficSeries>> = {};
  for (const d of devices) {
    const detail = deviceDetail(store, d.id, intel);
    if (detail !== null) details[d.id] = detail;
    deviceTraffic[d.id] = trafficSeries(store, { device: d.id, buckets: TRAFFIC_BUCKETS });
  }
  const findings = [...allFindings(store)];
  const evidenceIds = new Set<number>();
  for (const f of findings) for (const id of f.evidence.flows ?? []) evidenceIds.add(id);
  const { flows, total } = reportFlows(store, evidenceIds, options.maxFlows ?? DEFAULT_MAX_FLOWS);
  const version = packageVersion();
  return {
    meta: {
      generated_at: now.toISOString(),
      version,
      files: (options.files ?? []).map((f) => basename(f)),
      flows_note: flows.length < total ? `It holds ${flows.length.toLocaleString('en-US')} of the ${total.toLocaleString('en-US')} flows: the newest and every one behind a finding.` : null,
    },
    summary: summary(store),
    devices: { devices },
    details,
    findings,
    flows,
    traffic: trafficSeries(store, { buckets: TRAFFIC_BUCKETS }),
    device_traffic: deviceTraffic,
    trackers: { trackers: trackerOrganisations(store) },
    status: {
      daemon: store.readStatus(),
      daemon_stale: false,
      database: databaseCounts(store),
      server: { version, started_at: now.toISOString(), https: false },
    },
  };
}

/** JSON that is safe inside <script>: no "<" at all, so no "</script" or "<!--". */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const file = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  // The source map comment would only make developer tools look for a file that is not there.
  const code = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return code.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
}

/** Forbids every request: the report is complete on its own. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** The report as one HTML document. */
export function renderHtmlReport(store: Store, options: HtmlReportOptions = {}): string {
  const dashboard = options.dashboardDir ?? join(PACKAGE_ROOT, 'dashboard');
  const bundle = reportBundle(store, options);
  const css = readFileSync(join(dashboard, 'styles.css'), 'utf8');
  if (/<\/style/i.test(css)) throw new Error('dashboard/styles.css cannot be inlined: it contains "</style"');
  const script = bundleModules(join(dashboard, 'js'), 'report-main.js');
  const title = options.title ?? (bundle.meta.files.length ? `notcreepy report: ${bundle.meta.files.join(', ')}` : 'notcreepy report');
  // Without JavaScript the file still says which device is creepy.
  const fallback = bundle.devices.devices
    .map((d) => `<li><strong>${escapeHtml(d.name)}</strong> (${escapeHtml(d.id)}): ${escapeHtml(d.report.sentence)}</li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="notcreepy ${escapeHtml(bundle.meta.version)}">
<title>${escapeHtml(title)}</title>
<style>
${css}
</style>
</head>
<body>
<div id="app">
<main id="main">
<noscript>
<h1>${escapeHtml(title)}</h1>
<p>This report draws its pages with JavaScript (inside this file; it loads nothing from anywhere). In short:</p>
<ul>
${fallback}
</ul>
</noscript>
</main>
</div>
<script>
${chartJsSource()}
</script>
<script type="application/json" id="notcreepy-data">${scriptJson(bundle)}</script>
<script type="module">
${script}
</script>
</body>
</html>
`;
}

/**
 * Writes the report to `out` (through a temporary file renamed into place, so a reader never
 * sees half a report).
 */
export async function writeHtmlReport(store: Store, out: string, options: HtmlReportOptions = {}): Promise<void> {
  const html = renderHtmlReport(store, options);
  const tmp = `${out}.${process.pid}.tmp`;
  await writeFile(tmp, html, 'utf8');
  await rename(tmp, out);
}
