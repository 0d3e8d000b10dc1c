/**
 * Read-side queries: what one capture run found, shaped as the `analyze --json` document.
 * Reports are always built from the store (not from memory), so a huge capture's report costs
 * memory for one device's rows at a time, not for the whole file.
 */
import { formatEndpoint } from '../decode/address.js';
import { reportCard, type ReportCard } from '../standards/report-card.js';
import type { Severity, Standard } from '../standards/types.js';
import type { Store } from './store.js';

export interface RemoteSummary {
  ip: string;
  server_name: string | null;
  flows: number;
  bytes: number;
  services: string[];
}

/** Flows and bytes by encryption verdict. */
export interface EncryptionTotals {
  encrypted: { flows: number; bytes: number };
  plaintext: { flows: number; bytes: number };
  unknown: { flows: number; bytes: number };
}

/** Who a device is, as every report and listing of it starts. */
export interface DeviceIdentity {
  id: string;
  mac: string | null;
  locally_administered: boolean;
  ips: string[];
  vendor: string | null;
  hostname: string | null;
  vendor_class: string | null;
  first_seen: string;
  last_seen: string;
}

export interface DeviceReport extends DeviceIdentity {
  flows: number;
  packets: number;
  bytes_sent: number;
  bytes_received: number;
  remotes: RemoteSummary[];
  encryption: EncryptionTotals;
  /** The device's plaintext flows, busiest first (at most MAX_PLAINTEXT_LISTED). */
  plaintext_flows: { id: number; app: string | null; remote: string; server_name: string | null; reason: string | null; bytes: number }[];
  report: ReportCard;
  /** Worst first. */
  findings: FindingReport[];
  /** Positive evidence behind "pass" cells. */
  observations: ObservationReport[];
}

export interface FindingEvidence {
  /** Ids of (up to 20 of) the flows behind it, in the flows table (and the JSON's flows). */
  flows: number[];
  bytes_sent: number;
  bytes_received: number;
  [detail: string]: unknown;
}

/** What findings and observations have in common: one deduplicated, counted sighting. */
interface Sighting {
  standard: Standard;
  detail: string;
  remote: string;
  evidence: FindingEvidence;
  first_seen: string;
  last_seen: string;
  count: number;
}

export interface FindingReport extends Sighting {
  code: string;
  severity: Severity;
  title: string;
}

export interface ObservationReport extends Sighting {
  kind: string;
}

export interface FlowReport {
  id: number;
  proto: string;
  src: string;
  dst: string;
  device: string | null;
  peer_device: string | null;
  vlan: number;
  packets: number;
  bytes: number;
  packets_c2s: number;
  packets_s2c: number;
  bytes_c2s: number;
  bytes_s2c: number;
  first_seen: string;
  last_seen: string;
  tcp_state: string | null;
  end_reason: string;
  app: string | null;
  encryption: string | null;
  reason: string | null;
  server_name: string | null;
}

export interface CaptureReport {
  id: number;
  files: string[];
  packets: number;
  bytes: number;
  flows: number;
  malformed: number;
  warnings: string[];
  /** Flows with no LAN device (e.g. both ends public addresses). */
  unattributed_flows: number;
}

/** Capture-clock seconds to ISO 8601 (millisecond precision). */
export function isoTime(seconds: number): string {
  return new Date(Math.round(seconds * 1000)).toISOString();
}

/** "ip:port" for protocols with ports, the bare address for the others (ICMP, ESP…). */
function endpoint(ipVersion: number, ip: string, port: number, proto: string): string {
  return proto === 'tcp' || proto === 'udp' || proto === 'sctp' ? formatEndpoint(ipVersion, ip, port) : ip;
}

const MAX_REMOTES_PER_DEVICE = 50;
const MAX_PLAINTEXT_LISTED = 50;

export function captureReport(store: Store, captureId: number): CaptureReport {
  const c = store.capture(captureId);
  if (c === null) throw new Error(`no capture with id ${captureId}`);
  const unattributed = store.db
    .prepare(`SELECT count(*) AS n FROM flows WHERE capture_id = ? AND device_id IS NULL`)
    .get(captureId) as { n: number };
  return {
    id: c.id,
    files: c.files,
    packets: c.packets,
    bytes: c.bytes,
    flows: c.flows,
    malformed: c.malformed,
    warnings: c.warnings,
    unattributed_flows: unattributed.n,
  };
}

export function deviceReports(store: Store, captureId: number): DeviceReport[] {
  const db = store.db;
  const devices = db
    .prepare(
      `SELECT d.* FROM devices d JOIN capture_devices cd ON cd.device_id = d.id
       WHERE cd.capture_id = ? ORDER BY d.id`,
    )
    .all(captureId) as Record<string, unknown>[];
  const ipsStmt = db.prepare(`SELECT ip FROM device_ips WHERE device_id = ? ORDER BY source = 'traffic', ip`);
  // A device's traffic: flows it started (client side) and flows it served (server side).
  // A device's traffic: flows it is the device of (either side) and LAN flows where it is the peer.
  // Two grouped passes over the capture's flows instead of one scan per device.
  const totals = new Map<string, { flows: number; packets: number; sent: number; received: number }>();
  const add = (id: string, flows: number, packets: number, sent: number, received: number): void => {
    const t = totals.get(id) ?? { flows: 0, packets: 0, sent: 0, received: 0 };
    t.flows += flows;
    t.packets += packets;
    t.sent += sent;
    t.received += received;
    totals.set(id, t);
  };
  const own = db.prepare(`
    SELECT device_id AS id, count(*) AS flows, sum(packets_c2s + packets_s2c) AS packets,
           sum(CASE WHEN device_is_client = 1 THEN bytes_c2s ELSE bytes_s2c END) AS sent,
           sum(CASE WHEN device_is_client = 1 THEN bytes_s2c ELSE bytes_c2s END) AS received
    FROM flows WHERE capture_id = ? AND device_id IS NOT NULL GROUP BY device_id`);
  const peer = db.prepare(`
    SELECT peer_device_id AS id, count(*) AS flows, sum(packets_c2s + packets_s2c) AS packets,
           sum(bytes_s2c) AS sent, sum(bytes_c2s) AS received
    FROM flows WHERE capture_id = ? AND peer_device_id IS NOT NULL GROUP BY peer_device_id`);
  for (const r of own.all(captureId) as { id: string; flows: number; packets: number; sent: number; received: number }[]) {
    add(r.id, r.flows, r.packets, r.sent, r.received);
  }
  for (const r of peer.all(captureId) as { id: string; flows: number; packets: number; sent: number; received: number }[]) {
    add(r.id, r.flows, r.packets, r.sent, r.received);
  }
  // Remote endpoints of every device in one grouped pass; each device keeps its busiest ones.
  const remotesByDevice = new Map<string, RemoteSummary[]>();
  const remoteRows = db
    .prepare(
      `SELECT device_id AS id, CASE WHEN device_is_client = 1 THEN server_ip ELSE client_ip END AS ip,
              max(server_name) AS server_name, count(*) AS flows, sum(bytes_c2s + bytes_s2c) AS bytes,
              group_concat(DISTINCT proto || CASE WHEN proto IN ('tcp','udp','sctp') THEN '/' || server_port ELSE '' END) AS services
       FROM flows WHERE capture_id = ? AND device_id IS NOT NULL
       GROUP BY 1, 2 ORDER BY 1, bytes DESC`,
    )
    .iterate(captureId) as IterableIterator<Record<string, unknown>>;
  for (const r of remoteRows) {
    const list = remotesByDevice.get(r.id as string) ?? [];
    if (list.length === 0) remotesByDevice.set(r.id as string, list);
    if (list.length >= MAX_REMOTES_PER_DEVICE) continue;
    list.push({
      ip: r.ip as string,
      server_name: (r.server_name as string | null) ?? null,
      flows: r.flows as number,
      bytes: r.bytes as number,
      services: ((r.services as string | null) ?? '').split(',').filter(Boolean).sort(),
    });
  }
  // Encrypted vs plaintext per device, and its plaintext flows.
  const byEncryption = new Map<string, DeviceReport['encryption']>();
  for (const r of db
    .prepare(
      `SELECT device_id AS id, coalesce(encryption, 'unknown') AS enc, count(*) AS flows, sum(bytes_c2s + bytes_s2c) AS bytes
       FROM flows WHERE capture_id = ? AND device_id IS NOT NULL GROUP BY 1, 2`,
    )
    .all(captureId) as { id: string; enc: 'encrypted' | 'plaintext' | 'unknown'; flows: number; bytes: number }[]) {
    const e = byEncryption.get(r.id) ?? { encrypted: { flows: 0, bytes: 0 }, plaintext: { flows: 0, bytes: 0 }, unknown: { flows: 0, bytes: 0 } };
    e[r.enc] = { flows: r.flows, bytes: r.bytes };
    byEncryption.set(r.id, e);
  }
  // Plaintext flows of every device in one pass rather than a query per device.
  const plaintextByDevice = new Map<string, DeviceReport['plaintext_flows']>();
  for (const r of db
    .prepare(
      `SELECT device_id AS device, id, app, proto, ip_version,
              CASE WHEN device_is_client = 1 THEN server_ip ELSE client_ip END AS remote_ip,
              CASE WHEN device_is_client = 1 THEN server_port ELSE client_port END AS remote_port,
              server_name, reason, bytes_c2s + bytes_s2c AS bytes
       FROM flows WHERE capture_id = ? AND encryption = 'plaintext' AND device_id IS NOT NULL
       ORDER BY device_id, bytes DESC`,
    )
    .iterate(captureId) as IterableIterator<Record<string, unknown>>) {
    const device = r.device as string;
    const list = plaintextByDevice.get(device) ?? [];
    if (list.length === 0) plaintextByDevice.set(device, list);
    if (list.length < MAX_PLAINTEXT_LISTED) {
      list.push({
        id: r.id as number,
        app: (r.app as string | null) ?? null,
        // Written like the flows' src/dst: IPv6 in brackets.
        remote: endpoint(r.ip_version as number, r.remote_ip as string, r.remote_port as number, r.proto as string),
        server_name: (r.server_name as string | null) ?? null,
        reason: (r.reason as string | null) ?? null,
        bytes: r.bytes as number,
      });
    }
  }
  return devices.map((d) => {
    const id = d.id as string;
    const t = totals.get(id) ?? { flows: 0, packets: 0, sent: 0, received: 0 };
    const remotes = remotesByDevice.get(id) ?? [];
    return {
      id,
      mac: (d.mac as string | null) ?? null,
      locally_administered: d.locally_administered === 1,
      ips: (ipsStmt.all(id) as { ip: string }[]).map((r) => r.ip),
      vendor: (d.vendor as string | null) ?? null,
      hostname: (d.hostname as string | null) ?? null,
      vendor_class: (d.vendor_class as string | null) ?? null,
      first_seen: isoTime(d.first_seen as number),
      last_seen: isoTime(d.last_seen as number),
      flows: t.flows,
      packets: t.packets,
      bytes_sent: t.sent,
      bytes_received: t.received,
      remotes,
      encryption: byEncryption.get(id) ?? { encrypted: { flows: 0, bytes: 0 }, plaintext: { flows: 0, bytes: 0 }, unknown: { flows: 0, bytes: 0 } },
      plaintext_flows: plaintextByDevice.get(id) ?? [],
      ...standardsOf(store, id),
    };
  });
}

const SEVERITY_ORDER = `CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END`;

/** A device's findings and observations (all runs: they are the device's history), and its card. */
export function standardsOf(store: Store, deviceId: string): Pick<DeviceReport, 'report' | 'findings' | 'observations'> {
  const db = store.db;
  const flowId = db.prepare(`SELECT id FROM flows WHERE capture_id = ? AND seq = ?`).pluck();
  const evidenceOf = (text: string): FindingEvidence => {
    let e: { flows?: { capture_id: number; seq: number }[]; bytes_sent?: number; bytes_received?: number; detail?: Record<string, unknown> } = {};
    try {
      e = JSON.parse(text) as typeof e;
    } catch {
      // a damaged row still shows its title and counts
    }
    const flows: number[] = [];
    for (const ref of e.flows ?? []) {
      const id = flowId.get(ref.capture_id, ref.seq) as number | undefined;
      if (id !== undefined) flows.push(id);
    }
    return { ...(e.detail ?? {}), flows, bytes_sent: e.bytes_sent ?? 0, bytes_received: e.bytes_received ?? 0 };
  };
  const sighting = (r: Record<string, unknown>): Sighting => ({
    standard: r.standard as Standard,
    detail: r.detail as string,
    remote: r.remote as string,
    evidence: evidenceOf(r.evidence as string),
    first_seen: isoTime(r.first_seen as number),
    last_seen: isoTime(r.last_seen as number),
    count: r.count as number,
  });
  const findings = (
    db
      .prepare(`SELECT * FROM findings WHERE device_id = ? ORDER BY ${SEVERITY_ORDER}, standard, code, remote`)
      .all(deviceId) as Record<string, unknown>[]
  ).map((r): FindingReport => ({ code: r.code as string, severity: r.severity as Severity, title: r.title as string, ...sighting(r) }));
  const observations = (
    db.prepare(`SELECT * FROM observations WHERE device_id = ? ORDER BY standard, kind, remote`).all(deviceId) as Record<string, unknown>[]
  ).map((r): ObservationReport => ({ kind: r.kind as string, ...sighting(r) }));
  // Reports carry every field the card reads.
  return { report: reportCard(findings, observations), findings, observations };
}

/** Flows of one capture in time order, one row in memory at a time. */
export function* flowReports(store: Store, captureId: number): Generator<FlowReport> {
  const rows = store.db
    .prepare(`SELECT * FROM flows WHERE capture_id = ? ORDER BY first_seen, id`)
    .iterate(captureId) as IterableIterator<Record<string, unknown>>;
  for (const r of rows) yield flowReport(r);
}

/** One flows row as the JSON and the API show it. */
export function flowReport(r: Record<string, unknown>): FlowReport {
  const proto = r.proto as string;
  const v = r.ip_version as number;
  return {
    id: r.id as number,
    proto,
    src: endpoint(v, r.client_ip as string, r.client_port as number, proto),
    dst: endpoint(v, r.server_ip as string, r.server_port as number, proto),
    device: (r.device_id as string | null) ?? null,
    peer_device: (r.peer_device_id as string | null) ?? null,
    vlan: r.vlan as number,
    packets: (r.packets_c2s as number) + (r.packets_s2c as number),
    bytes: (r.bytes_c2s as number) + (r.bytes_s2c as number),
    packets_c2s: r.packets_c2s as number,
    packets_s2c: r.packets_s2c as number,
    bytes_c2s: r.bytes_c2s as number,
    bytes_s2c: r.bytes_s2c as number,
    first_seen: isoTime(r.first_seen as number),
    last_seen: isoTime(r.last_seen as number),
    tcp_state: (r.tcp_state as string | null) ?? null,
    end_reason: r.end_reason as string,
    app: (r.app as string | null) ?? null,
    encryption: (r.encryption as string | null) ?? null,
    reason: (r.reason as string | null) ?? null,
    server_name: (r.server_name as string | null) ?? null,
  };
}
