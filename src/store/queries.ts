/**
 * Read queries over the whole database (every capture run: a daemon's history, several analysed
 * files), for the dashboard's API and the HTML report. report.ts answers per capture run; these
 * answer per device and per database, reuse its helpers (standardsOf, isoTime, reportCard) and
 * return the shapes declared in src/server/api-types.ts.
 *
 * Every value a client sends reaches SQL as a bound parameter: WHERE clauses are assembled only
 * from the fixed fragments below.
 */
import { DEFAULT_LAN_PREFIXES, LanMatcher, parseIp } from '../decode/address.js';
import { trackerIntel, type TrackerIntel } from '../intel/trackers.js';
import { trackerVerdict } from '../standards/privacy.js';
import { reportCard, type Overall, type ReportCard } from '../standards/report-card.js';
import { SEVERITIES, STANDARDS, STANDARD_NUMBERS, type Severity, type Standard } from '../standards/types.js';
import type {
  CaptureRun,
  DeviceDetail,
  DeviceListItem,
  EncryptionTotals,
  FindingItem,
  FindingPage,
  FlowPage,
  RemoteEndpoint,
  Summary,
  TrackerOrganisation,
  TrafficSeries,
} from '../server/api-types.js';
import { flowReport, isoTime, standardsOf, type FindingEvidence, type FlowReport } from './report.js';
import type { DeviceRow, Store } from './store.js';
import type { AggregateRow } from '../standards/engine.js';

// -------------------------------------------------------------------------------------------------
// Filters

export interface FindingFilter {
  device?: string;
  standard?: Standard;
  severity?: Severity;
  /** This severity or worse. */
  minSeverity?: Severity;
  code?: string;
  /** Epoch seconds (capture clock): findings whose [first_seen, last_seen] overlaps [since, until]. */
  since?: number;
  until?: number;
  limit?: number;
  offset?: number;
}

export interface FlowFilter {
  ids?: number[];
  device?: string;
  encryption?: 'encrypted' | 'plaintext' | 'unknown';
  app?: string;
  proto?: string;
  /** Substring of either address or the server name. */
  remote?: string;
  since?: number;
  until?: number;
  limit?: number;
  offset?: number;
}

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

const VERDICT_RANK: Record<Overall, number> = { creepy: 0, questionable: 1, 'not-creepy': 2, 'not-enough-seen': 3 };
const SEVERITY_ORDER_SQL = `CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END`;
const MAX_REMOTES = 200;
const MAX_RECENT_FLOWS = 100;
const TOP_TRACKERS = 10;

/** WHERE clause pieces and their parameters, built from fixed fragments only. */
class Where {
  private readonly parts: string[] = [];
  readonly params: unknown[] = [];
  add(fragment: string, ...params: unknown[]): void {
    this.parts.push(fragment);
    this.params.push(...params);
  }
  toString(): string {
    return this.parts.length === 0 ? '' : `WHERE ${this.parts.map((p) => `(${p})`).join(' AND ')}`;
  }
}

function zeroSeverities(): Record<Severity, number> {
  return Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
}

function zeroEncryption(): EncryptionTotals {
  return { encrypted: { flows: 0, bytes: 0 }, plaintext: { flows: 0, bytes: 0 }, unknown: { flows: 0, bytes: 0 } };
}

function encryptionKey(value: string | null): keyof EncryptionTotals {
  return value === 'encrypted' || value === 'plaintext' ? value : 'unknown';
}

function clampPage(limit: number | undefined, offset: number | undefined): { limit: number; offset: number } {
  const l = limit === undefined ? DEFAULT_PAGE_SIZE : Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(limit)));
  const o = offset === undefined ? 0 : Math.max(0, Math.trunc(offset));
  return { limit: l, offset: o };
}

/**
 * Rows whose [first_seen, last_seen] overlaps [since, until]. Times are shown (isoTime) to the
 * millisecond while stored to the microsecond: a time as shown must select its own row, so the
 * bounds are widened by half a millisecond.
 */
function addTimeRange(where: Where, since: number | undefined, until: number | undefined): void {
  if (since !== undefined) where.add('last_seen >= ?', since - 0.0005);
  if (until !== undefined) where.add('first_seen < ?', until + 0.0005);
}

/** LIKE pattern for a literal substring. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

// -------------------------------------------------------------------------------------------------
// Devices

/** A devices row without what the listings do not read. */
type DeviceRowLite = Omit<DeviceRow, 'dhcp_fingerprint' | 'ips'>;

/** What to call a device: its hostname, else its vendor, else its id. */
export function deviceDisplayName(d: { id: string; hostname: string | null; vendor: string | null }): string {
  return d.hostname ?? d.vendor ?? d.id;
}

/** Every device's display name, for labelling findings. */
function deviceNames(store: Store): Map<string, string> {
  const rows = store.db.prepare(`SELECT id, hostname, vendor FROM devices`).all() as { id: string; hostname: string | null; vendor: string | null }[];
  return new Map(rows.map((r) => [r.id, deviceDisplayName(r)]));
}

/**
 * Report cards of every device from two grouped queries (no evidence parsing): the card only
 * needs each finding's standard, code, severity, title, remote and count.
 */
export function allReportCards(store: Store): Map<string, ReportCard> {
  const db = store.db;
  const findings = new Map<string, { standard: Standard; code: string; severity: Severity; title: string; remote: string; count: number }[]>();
  for (const r of db
    .prepare(`SELECT device_id, standard, code, severity, title, remote, count FROM findings`)
    .iterate() as IterableIterator<{ device_id: string; standard: Standard; code: string; severity: Severity; title: string; remote: string; count: number }>) {
    const list = findings.get(r.device_id) ?? [];
    if (list.length === 0) findings.set(r.device_id, list);
    list.push(r);
  }
  const observations = new Map<string, { standard: Standard; kind: string; remote: string; count: number }[]>();
  for (const r of db
    .prepare(`SELECT device_id, standard, kind, remote, count FROM observations`)
    .iterate() as IterableIterator<{ device_id: string; standard: Standard; kind: string; remote: string; count: number }>) {
    const list = observations.get(r.device_id) ?? [];
    if (list.length === 0) observations.set(r.device_id, list);
    list.push(r);
  }
  const cards = new Map<string, ReportCard>();
  for (const { id } of db.prepare(`SELECT id FROM devices`).all() as { id: string }[]) {
    cards.set(id, reportCard(findings.get(id) ?? [], observations.get(id) ?? []));
  }
  return cards;
}

/** Flows, bytes each way and bytes by encryption per device, over every capture run. */
function deviceTraffic(store: Store, deviceId?: string): Map<string, { flows: number; sent: number; received: number; encryption: EncryptionTotals }> {
  const db = store.db;
  const out = new Map<string, { flows: number; sent: number; received: number; encryption: EncryptionTotals }>();
  const get = (id: string) => {
    let t = out.get(id);
    if (t === undefined) {
      t = { flows: 0, sent: 0, received: 0, encryption: zeroEncryption() };
      out.set(id, t);
    }
    return t;
  };
  const only = deviceId === undefined ? '' : 'AND device_id = ?';
  const onlyPeer = deviceId === undefined ? '' : 'AND peer_device_id = ?';
  const args = deviceId === undefined ? [] : [deviceId];
  // The device's own side of each flow, and LAN flows where it is the other device (the server).
  const own = db.prepare(`
    SELECT device_id AS id, coalesce(encryption, 'unknown') AS enc, count(*) AS flows,
           sum(CASE WHEN device_is_client = 1 THEN bytes_c2s ELSE bytes_s2c END) AS sent,
           sum(CASE WHEN device_is_client = 1 THEN bytes_s2c ELSE bytes_c2s END) AS received
    FROM flows WHERE device_id IS NOT NULL ${only} GROUP BY 1, 2`);
  const peer = db.prepare(`
    SELECT peer_device_id AS id, coalesce(encryption, 'unknown') AS enc, count(*) AS flows,
           sum(bytes_s2c) AS sent, sum(bytes_c2s) AS received
    FROM flows WHERE peer_device_id IS NOT NULL ${onlyPeer} GROUP BY 1, 2`);
  for (const stmt of [own, peer]) {
    for (const r of stmt.all(...args) as { id: string; enc: string; flows: number; sent: number; received: number }[]) {
      const t = get(r.id);
      t.flows += r.flows;
      t.sent += r.sent;
      t.received += r.received;
      const e = t.encryption[encryptionKey(r.enc)];
      e.flows += r.flows;
      e.bytes += r.sent + r.received;
    }
  }
  return out;
}

function findingCounts(store: Store, deviceId?: string): Map<string, Record<Severity, number>> {
  const rows = store.db
    .prepare(`SELECT device_id, severity, count(*) AS n FROM findings ${deviceId === undefined ? '' : 'WHERE device_id = ?'} GROUP BY 1, 2`)
    .all(...(deviceId === undefined ? [] : [deviceId])) as { device_id: string; severity: Severity; n: number }[];
  const out = new Map<string, Record<Severity, number>>();
  for (const r of rows) {
    const c = out.get(r.device_id) ?? zeroSeverities();
    c[r.severity] = r.n;
    out.set(r.device_id, c);
  }
  return out;
}

function listItems(store: Store, deviceId?: string, cards?: Map<string, ReportCard>): DeviceListItem[] {
  const db = store.db;
  const devices = (
    deviceId === undefined
      ? db.prepare(`SELECT id, mac, locally_administered, vendor, hostname, vendor_class, first_seen, last_seen FROM devices`).all()
      : db.prepare(`SELECT id, mac, locally_administered, vendor, hostname, vendor_class, first_seen, last_seen FROM devices WHERE id = ?`).all(deviceId)
  ) as DeviceRowLite[];
  if (devices.length === 0) return [];
  const ips = new Map<string, string[]>();
  const ipRows = (
    deviceId === undefined
      ? db.prepare(`SELECT device_id, ip FROM device_ips ORDER BY device_id, source = 'traffic', ip`).all()
      : db.prepare(`SELECT device_id, ip FROM device_ips WHERE device_id = ? ORDER BY source = 'traffic', ip`).all(deviceId)
  ) as { device_id: string; ip: string }[];
  for (const r of ipRows) {
    const list = ips.get(r.device_id) ?? [];
    if (list.length === 0) ips.set(r.device_id, list);
    list.push(r.ip);
  }
  const traffic = deviceTraffic(store, deviceId);
  const counts = findingCounts(store, deviceId);
  const allCards = cards ?? allReportCards(store);
  return devices.map((d): DeviceListItem => {
    const t = traffic.get(d.id);
    const bySeverity = counts.get(d.id) ?? zeroSeverities();
    return {
      id: d.id,
      mac: d.mac,
      locally_administered: d.locally_administered === 1,
      ips: ips.get(d.id) ?? [],
      vendor: d.vendor,
      hostname: d.hostname,
      vendor_class: d.vendor_class,
      name: deviceDisplayName(d),
      first_seen: isoTime(d.first_seen),
      last_seen: isoTime(d.last_seen),
      flows: t?.flows ?? 0,
      bytes_sent: t?.sent ?? 0,
      bytes_received: t?.received ?? 0,
      encryption: t?.encryption ?? zeroEncryption(),
      report: allCards.get(d.id) ?? reportCard([], []),
      findings: { total: Object.values(bySeverity).reduce((a, b) => a + b, 0), by_severity: bySeverity },
    };
  });
}

/** Worst first: verdict, then the most severe findings, then name. */
export function compareDevices(a: DeviceListItem, b: DeviceListItem): number {
  const byVerdict = VERDICT_RANK[a.report.verdict] - VERDICT_RANK[b.report.verdict];
  if (byVerdict !== 0) return byVerdict;
  for (const s of [...SEVERITIES].reverse()) {
    const d = b.findings.by_severity[s] - a.findings.by_severity[s];
    if (d !== 0) return d;
  }
  return a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
}

/** Every device with its report card, worst first. */
export function deviceList(store: Store): DeviceListItem[] {
  return listItems(store).sort(compareDevices);
}

/** One device with everything the device page shows; null when the id is unknown. */
export function deviceDetail(store: Store, deviceId: string, intel: TrackerIntel = trackerIntel()): DeviceDetail | null {
  const { report, observations } = standardsOf(store, deviceId);
  const cards = new Map([[deviceId, report]]);
  const [item] = listItems(store, deviceId, cards);
  if (item === undefined) return null;
  const flowsTotal = (
    store.db.prepare(`SELECT count(*) AS n FROM flows WHERE device_id = ? OR peer_device_id = ?`).get(deviceId, deviceId) as { n: number }
  ).n;
  return {
    ...item,
    remotes: remoteEndpoints(store, deviceId, intel),
    findings_list: findingsPage(store, { device: deviceId, limit: MAX_PAGE_SIZE }).findings,
    observations,
    recent_flows: flowsPage(store, { device: deviceId, limit: MAX_RECENT_FLOWS }).flows,
    flows_total: flowsTotal,
  };
}

const lan = new LanMatcher(DEFAULT_LAN_PREFIXES);

function isLocalAddress(ip: string): boolean {
  const parsed = parseIp(ip);
  if (parsed === null) return false;
  if (lan.isLocal(parsed.version, parsed.words)) return true;
  // Multicast and broadcast stay on the LAN too.
  const first = parsed.words[0] >>> 0;
  return parsed.version === 4 ? first >>> 28 === 0xe || first === 0xffffffff : first >>> 24 === 0xff;
}

/** Where a device's traffic goes, busiest first, named and classified where we can. */
export function remoteEndpoints(store: Store, deviceId: string, intel: TrackerIntel = trackerIntel()): RemoteEndpoint[] {
  // The device's side decides which address is the remote one and which direction is "sent".
  const rows = store.db
    .prepare(
      `WITH mine AS (
         SELECT CASE WHEN device_is_client = 1 THEN server_ip ELSE client_ip END AS ip,
                CASE WHEN device_is_client = 1 THEN bytes_c2s ELSE bytes_s2c END AS sent,
                CASE WHEN device_is_client = 1 THEN bytes_s2c ELSE bytes_c2s END AS received,
                proto, server_port, app, coalesce(encryption, 'unknown') AS enc,
                -- server_name names the server: the remote only when the device is the client
                CASE WHEN device_is_client = 1 THEN server_name END AS server_name, first_seen, last_seen
         FROM flows WHERE device_id = @id
         UNION ALL
         SELECT client_ip, bytes_s2c, bytes_c2s, proto, server_port, app, coalesce(encryption, 'unknown'), NULL, first_seen, last_seen
         FROM flows WHERE peer_device_id = @id
       )
       SELECT ip, max(server_name) AS server_name, count(*) AS flows, sum(sent) AS sent, sum(received) AS received,
              sum(CASE WHEN enc = 'encrypted' THEN sent + received ELSE 0 END) AS encrypted,
              sum(CASE WHEN enc = 'plaintext' THEN sent + received ELSE 0 END) AS plaintext,
              group_concat(DISTINCT proto || CASE WHEN proto IN ('tcp','udp','sctp') THEN '/' || server_port ELSE '' END) AS services,
              group_concat(DISTINCT app) AS apps, min(first_seen) AS first_seen, max(last_seen) AS last_seen
       FROM mine GROUP BY ip ORDER BY sent + received DESC, ip LIMIT ${MAX_REMOTES}`,
    )
    .all({ id: deviceId }) as {
    ip: string;
    server_name: string | null;
    flows: number;
    sent: number;
    received: number;
    encrypted: number;
    plaintext: number;
    services: string | null;
    apps: string | null;
    first_seen: number;
    last_seen: number;
  }[];
  return rows.map((r): RemoteEndpoint => {
    const match = r.server_name === null ? null : intel.lookup(r.server_name);
    const bytes = r.sent + r.received;
    return {
      ip: r.ip,
      server_name: r.server_name,
      organisation: match?.organisation ?? null,
      category: match?.category ?? null,
      tracker: r.server_name !== null && trackerVerdict(intel, r.server_name) !== null,
      local: isLocalAddress(r.ip),
      flows: r.flows,
      bytes,
      bytes_sent: r.sent,
      bytes_received: r.received,
      encrypted_bytes: r.encrypted,
      plaintext_bytes: r.plaintext,
      unknown_bytes: bytes - r.encrypted - r.plaintext,
      services: (r.services ?? '').split(',').filter(Boolean).sort(),
      apps: (r.apps ?? '').split(',').filter(Boolean).sort(),
      first_seen: isoTime(r.first_seen),
      last_seen: isoTime(r.last_seen),
    };
  });
}

// -------------------------------------------------------------------------------------------------
// Findings

/** A row of the findings table: the engine's aggregate, with its id (and always a severity). */
interface FindingRow extends AggregateRow {
  id: number;
  severity: Severity;
}

/**
 * Findings rows to API items. The evidence's flow references (capture run, flow number) become
 * flow ids, as report.ts's standardsOf does for one device; here rows come from many devices.
 */
function findingItems(store: Store, rows: FindingRow[]): FindingItem[] {
  const names = deviceNames(store);
  const flowId = store.db.prepare(`SELECT id FROM flows WHERE capture_id = ? AND seq = ?`).pluck();
  return rows.map((r): FindingItem => {
    let e: { flows?: { capture_id: number; seq: number }[]; bytes_sent?: number; bytes_received?: number; detail?: Record<string, unknown> } = {};
    try {
      e = JSON.parse(r.evidence) as typeof e;
    } catch {
      // a damaged row still shows its title and counts
    }
    const flows: number[] = [];
    for (const ref of e.flows ?? []) {
      const id = flowId.get(ref.capture_id, ref.seq) as number | undefined;
      if (id !== undefined) flows.push(id);
    }
    const evidence: FindingEvidence = { ...(e.detail ?? {}), flows, bytes_sent: e.bytes_sent ?? 0, bytes_received: e.bytes_received ?? 0 };
    return {
      id: r.id,
      device_id: r.device_id,
      device_name: names.get(r.device_id) ?? r.device_id,
      code: r.code,
      severity: r.severity,
      title: r.title,
      standard: r.standard,
      detail: r.detail,
      remote: r.remote,
      evidence,
      first_seen: isoTime(r.first_seen),
      last_seen: isoTime(r.last_seen),
      count: r.count,
    };
  });
}

function findingWhere(filter: FindingFilter): Where {
  const where = new Where();
  if (filter.device !== undefined) where.add('device_id = ?', filter.device);
  if (filter.standard !== undefined) where.add('standard = ?', filter.standard);
  if (filter.severity !== undefined) where.add('severity = ?', filter.severity);
  if (filter.minSeverity !== undefined) {
    const worse = SEVERITIES.slice(SEVERITIES.indexOf(filter.minSeverity));
    where.add(`severity IN (${worse.map(() => '?').join(', ')})`, ...worse);
  }
  if (filter.code !== undefined) where.add('code = ?', filter.code);
  addTimeRange(where, filter.since, filter.until);
  return where;
}

/** Findings matching the filter, worst first, then newest. */
export function findingsPage(store: Store, filter: FindingFilter = {}): FindingPage {
  const { limit, offset } = clampPage(filter.limit, filter.offset);
  const where = findingWhere(filter);
  const total = (store.db.prepare(`SELECT count(*) AS n FROM findings ${where}`).get(...where.params) as { n: number }).n;
  const rows = store.db
    .prepare(`SELECT * FROM findings ${where} ORDER BY ${SEVERITY_ORDER_SQL}, last_seen DESC, id LIMIT ? OFFSET ?`)
    .all(...where.params, limit, offset) as FindingRow[];
  return { total, limit, offset, findings: findingItems(store, rows) };
}

/** Every finding matching the filter (exports), in the page order, read in chunks. */
export function* allFindings(store: Store, filter: Omit<FindingFilter, 'limit' | 'offset'> = {}): Generator<FindingItem> {
  for (let offset = 0; ; offset += MAX_PAGE_SIZE) {
    const page = findingsPage(store, { ...filter, limit: MAX_PAGE_SIZE, offset });
    yield* page.findings;
    if (page.findings.length < MAX_PAGE_SIZE) return;
  }
}

/** Where a live view left off: the newest finding id and last_seen it has shown. */
export interface FindingCursor {
  maxId: number;
  maxLastSeen: number;
}

export function findingCursor(store: Store): FindingCursor {
  const r = store.db.prepare(`SELECT coalesce(max(id), 0) AS id, coalesce(max(last_seen), 0) AS t FROM findings`).get() as { id: number; t: number };
  return { maxId: r.id, maxLastSeen: r.t };
}

/**
 * Findings inserted (a larger id) or seen again (a later last_seen) since the cursor, oldest
 * change first, at most `max`; and the cursor to pass next time.
 */
export function findingsChangedSince(store: Store, cursor: FindingCursor, max = 200): { findings: FindingItem[]; cursor: FindingCursor } {
  const rows = store.db
    .prepare(`SELECT * FROM findings WHERE id > ? OR last_seen > ? ORDER BY last_seen, id LIMIT ?`)
    .all(cursor.maxId, cursor.maxLastSeen, max) as FindingRow[];
  const next = { ...cursor };
  for (const r of rows) {
    next.maxId = Math.max(next.maxId, r.id);
    next.maxLastSeen = Math.max(next.maxLastSeen, r.last_seen);
  }
  // A full batch may not be the end: the next poll picks up from the last row shown.
  return { findings: findingItems(store, rows), cursor: next };
}

// -------------------------------------------------------------------------------------------------
// Flows

function flowWhere(filter: FlowFilter): Where {
  const where = new Where();
  if (filter.ids !== undefined) where.add(`id IN (${filter.ids.map(() => '?').join(', ') || 'NULL'})`, ...filter.ids);
  if (filter.device !== undefined) where.add('device_id = ? OR peer_device_id = ?', filter.device, filter.device);
  if (filter.encryption !== undefined) {
    if (filter.encryption === 'unknown') where.add(`encryption IS NULL OR encryption = 'unknown'`);
    else where.add('encryption = ?', filter.encryption);
  }
  if (filter.app !== undefined) where.add('app = ?', filter.app);
  if (filter.proto !== undefined) where.add('proto = ?', filter.proto);
  if (filter.remote !== undefined) {
    const p = containsPattern(filter.remote.toLowerCase());
    where.add(`lower(server_name) LIKE ? ESCAPE '\\' OR server_ip LIKE ? ESCAPE '\\' OR client_ip LIKE ? ESCAPE '\\'`, p, p, p);
  }
  addTimeRange(where, filter.since, filter.until);
  return where;
}

/** Flows matching the filter, newest first. */
export function flowsPage(store: Store, filter: FlowFilter = {}): FlowPage {
  const { limit, offset } = clampPage(filter.limit, filter.offset);
  const where = flowWhere(filter);
  const total = (store.db.prepare(`SELECT count(*) AS n FROM flows ${where}`).get(...where.params) as { n: number }).n;
  const rows = store.db
    .prepare(`SELECT * FROM flows ${where} ORDER BY first_seen DESC, id DESC LIMIT ? OFFSET ?`)
    .all(...where.params, limit, offset) as Record<string, unknown>[];
  return { total, limit, offset, flows: rows.map(flowReport) };
}

// -------------------------------------------------------------------------------------------------
// Traffic over time

/** Bucket sizes a person reads easily, in seconds. */
const NICE_BUCKETS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400];

export interface TrafficOptions {
  device?: string;
  since?: number;
  until?: number;
  /** How many buckets at most (default 60). */
  buckets?: number;
}

/**
 * Bytes per time bucket by encryption verdict. Flows are grouped in SQL by the buckets they start
 * and end in, so the work in JavaScript is per group, not per flow; a group's bytes are spread
 * evenly over the buckets it covers.
 */
export function trafficSeries(store: Store, options: TrafficOptions = {}): TrafficSeries {
  const db = store.db;
  const deviceClause = options.device === undefined ? '' : 'AND (device_id = @device OR peer_device_id = @device)';
  const deviceParam = options.device === undefined ? {} : { device: options.device };
  const span = db
    .prepare(`SELECT min(first_seen) AS lo, max(last_seen) AS hi FROM flows WHERE 1 ${deviceClause}`)
    .get(deviceParam) as { lo: number | null; hi: number | null };
  const from = options.since ?? span.lo;
  const to = options.until ?? span.hi;
  const wanted = Math.min(500, Math.max(1, Math.trunc(options.buckets ?? 60)));
  if (from === null || to === null || to < from) return { bucket_seconds: NICE_BUCKETS[0], from: null, to: null, points: [] };
  const raw = Math.max(1, (to - from) / wanted);
  const size = NICE_BUCKETS.find((b) => b >= raw) ?? Math.ceil(raw / 86400) * 86400;
  const start = Math.floor(from / size) * size;
  const count = Math.max(1, Math.floor(to / size) - Math.floor(from / size) + 1);
  const points = Array.from({ length: count }, (_, i) => ({ start: isoTime(start + i * size), encrypted: 0, plaintext: 0, unknown: 0 }));
  const groups = db
    .prepare(
      `SELECT CAST((first_seen - @start) / @size AS INTEGER) AS b0, CAST((last_seen - @start) / @size AS INTEGER) AS b1,
              coalesce(encryption, 'unknown') AS enc, sum(bytes_c2s + bytes_s2c) AS bytes
       FROM flows WHERE last_seen >= @from AND first_seen <= @to ${deviceClause}
       GROUP BY 1, 2, 3`,
    )
    .all({ start, size, from, to, ...deviceParam }) as { b0: number; b1: number; enc: string; bytes: number }[];
  for (const g of groups) {
    // Spread over every bucket the flows cover; only those inside the range are shown.
    const b1 = Math.max(g.b0, g.b1);
    const share = g.bytes / (b1 - g.b0 + 1);
    const key = encryptionKey(g.enc);
    for (let b = Math.max(0, g.b0); b <= Math.min(b1, count - 1); b++) points[b][key] += share;
  }
  for (const p of points) {
    p.encrypted = Math.round(p.encrypted);
    p.plaintext = Math.round(p.plaintext);
    p.unknown = Math.round(p.unknown);
  }
  return { bucket_seconds: size, from: isoTime(start), to: isoTime(start + count * size), points };
}

// -------------------------------------------------------------------------------------------------
// Trackers and the summary

/** Tracker organisations contacted, from tracker-contact findings, busiest first. */
export function trackerOrganisations(store: Store, options: { device?: string; limit?: number } = {}): TrackerOrganisation[] {
  const where = new Where();
  where.add(`code = 'tracker-contact'`);
  if (options.device !== undefined) where.add('device_id = ?', options.device);
  const rows = store.db
    .prepare(`SELECT device_id, remote, evidence, count, last_seen FROM findings ${where}`)
    .all(...where.params) as { device_id: string; remote: string; evidence: string; count: number; last_seen: number }[];
  const byOrg = new Map<string, { organisation: string; category: string; domains: Set<string>; devices: Set<string>; contacts: number; bytes: number; last: number }>();
  for (const r of rows) {
    let e: { bytes_sent?: number; detail?: { organisation?: string; category?: string } } = {};
    try {
      e = JSON.parse(r.evidence) as typeof e;
    } catch {
      // counted under the remote name alone
    }
    const organisation = e.detail?.organisation ?? r.remote;
    const o = byOrg.get(organisation) ?? {
      organisation,
      category: e.detail?.category ?? 'unknown',
      domains: new Set<string>(),
      devices: new Set<string>(),
      contacts: 0,
      bytes: 0,
      last: 0,
    };
    byOrg.set(organisation, o);
    o.domains.add(r.remote);
    o.devices.add(r.device_id);
    o.contacts += r.count;
    o.bytes += e.bytes_sent ?? 0;
    o.last = Math.max(o.last, r.last_seen);
  }
  const list = [...byOrg.values()]
    .sort((a, b) => b.contacts - a.contacts || b.bytes - a.bytes || a.organisation.localeCompare(b.organisation))
    .map((o): TrackerOrganisation => ({
      organisation: o.organisation,
      category: o.category,
      domains: [...o.domains].sort(),
      devices: [...o.devices].sort(),
      contacts: o.contacts,
      bytes_sent: o.bytes,
      last_seen: isoTime(o.last),
    }));
  return options.limit === undefined ? list : list.slice(0, options.limit);
}

/** The overview's counters. */
export function summary(store: Store): Summary {
  const db = store.db;
  const cards = allReportCards(store);
  const verdicts: Record<Overall, number> = { creepy: 0, questionable: 0, 'not-creepy': 0, 'not-enough-seen': 0 };
  for (const card of cards.values()) verdicts[card.verdict]++;
  const bySeverity = zeroSeverities();
  const byStandard = STANDARD_NUMBERS.map((standard) => ({ standard, name: STANDARDS[standard] as string, total: 0, by_severity: zeroSeverities() }));
  let total = 0;
  for (const r of db.prepare(`SELECT standard, severity, count(*) AS n FROM findings GROUP BY 1, 2`).all() as { standard: Standard; severity: Severity; n: number }[]) {
    total += r.n;
    bySeverity[r.severity] += r.n;
    const s = byStandard[r.standard - 1];
    s.total += r.n;
    s.by_severity[r.severity] += r.n;
  }
  const traffic = zeroEncryption();
  for (const r of db
    .prepare(`SELECT coalesce(encryption, 'unknown') AS enc, count(*) AS flows, sum(bytes_c2s + bytes_s2c) AS bytes FROM flows GROUP BY 1`)
    .all() as { enc: string; flows: number; bytes: number }[]) {
    const e = traffic[encryptionKey(r.enc)];
    e.flows += r.flows;
    e.bytes += r.bytes;
  }
  const span = db.prepare(`SELECT min(first_seen) AS lo, max(last_seen) AS hi FROM devices`).get() as { lo: number | null; hi: number | null };
  const captures = (db.prepare(`SELECT count(*) AS n FROM captures`).get() as { n: number }).n;
  return {
    devices: cards.size,
    verdicts,
    findings: { total, by_severity: bySeverity, by_standard: byStandard },
    traffic,
    top_trackers: trackerOrganisations(store, { limit: TOP_TRACKERS }),
    first_seen: span.lo === null ? null : isoTime(span.lo),
    last_seen: span.hi === null ? null : isoTime(span.hi),
    captures,
  };
}

// -------------------------------------------------------------------------------------------------
// Status

export function databaseCounts(store: Store): { devices: number; flows: number; findings: number; captures: number; last_capture: CaptureRun | null } {
  const db = store.db;
  const n = (table: 'devices' | 'flows' | 'findings' | 'captures'): number =>
    (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const last = db.prepare(`SELECT max(id) AS id FROM captures`).get() as { id: number | null };
  const run = last.id === null ? null : store.capture(last.id);
  return { devices: n('devices'), flows: n('flows'), findings: n('findings'), captures: n('captures'), last_capture: run };
}
