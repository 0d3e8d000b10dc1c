/**
 * Runs the five detectors on each flow and keeps their findings and observations deduplicated
 * per (device, code or kind, remote), with counts, first/last seen, bytes and the flows behind
 * them. Rows are written in batches by the pipeline, never one per packet.
 *
 * An aggregate starts from the stored row when there is one, so that counts and first-seen times
 * add up across runs and daemon restarts; writes then replace the row with the running totals.
 */
import { formatIp } from '../decode/address.js';
import type { Verdict } from '../classify/verdict.js';
import type { DeviceTable } from '../flow/devices.js';
import type { Flow } from '../flow/flow.js';
import {
  FINDING_CODES,
  OBSERVATION_KINDS,
  SEVERITIES,
  type Detector,
  type Emitter,
  type EvidenceDetail,
  type FindingInput,
  type FlowContext,
  type ObservationInput,
  type Severity,
  type Standard,
} from './types.js';

/** Flows named in one aggregate's evidence (the count keeps going). */
const MAX_EVIDENCE_FLOWS = 20;
/** Aggregates kept in memory; beyond this, written ones are dropped (and reloaded if seen again). */
const MAX_AGGREGATES = 20000;

export interface FlowRef {
  capture_id: number;
  seq: number;
}

export interface AggregateRow {
  device_id: string;
  standard: Standard;
  /** Finding code or observation kind. */
  code: string;
  /** Findings only. */
  severity: Severity | null;
  title: string;
  detail: string;
  remote: string;
  evidence: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

/** What the store offers the engine. */
export interface StandardsStore {
  loadFinding(deviceId: string, code: string, remote: string): AggregateRow | null;
  loadObservation(deviceId: string, kind: string, remote: string): AggregateRow | null;
  upsertFindings(rows: AggregateRow[]): void;
  upsertObservations(rows: AggregateRow[]): void;
}

interface StoredEvidence {
  flows: FlowRef[];
  bytes_sent: number;
  bytes_received: number;
  detail: EvidenceDetail;
}

class Aggregate {
  dirty = true;
  severity: Severity | null;
  title: string;
  detail: string;
  firstSeenS: number;
  lastSeenS: number;
  count: number;
  evidence: StoredEvidence;

  constructor(
    readonly deviceId: string,
    readonly standard: Standard,
    readonly code: string,
    readonly remote: string,
    stored: AggregateRow | null,
    severity: Severity | null,
    title: string,
    detail: string,
    tsS: number,
    evidence: EvidenceDetail | undefined,
  ) {
    if (stored === null) {
      this.severity = severity;
      this.title = title;
      this.detail = detail;
      this.firstSeenS = tsS;
      this.lastSeenS = tsS;
      this.count = 0;
      this.evidence = { flows: [], bytes_sent: 0, bytes_received: 0, detail: evidence ?? {} };
    } else {
      this.severity = maxSeverity(stored.severity, severity);
      this.title = stored.title;
      this.detail = stored.detail;
      this.firstSeenS = Math.min(stored.first_seen, tsS);
      this.lastSeenS = Math.max(stored.last_seen, tsS);
      this.count = stored.count;
      this.evidence = parseEvidence(stored.evidence);
    }
  }

  /** Another sighting; a more severe one takes over the title and detail. */
  add(flowRef: FlowRef, tsS: number, severity: Severity | null, title: string, detail: string, evidence: EvidenceDetail | undefined): void {
    if (severity !== null && this.severity !== null && rank(severity) > rank(this.severity)) {
      this.severity = severity;
      this.title = title;
      this.detail = detail;
      if (evidence !== undefined) this.evidence.detail = evidence;
    }
    this.count++;
    if (tsS < this.firstSeenS) this.firstSeenS = tsS;
    if (tsS > this.lastSeenS) this.lastSeenS = tsS;
    const flows = this.evidence.flows;
    const last = flows[flows.length - 1];
    if (flows.length < MAX_EVIDENCE_FLOWS && (last === undefined || last.seq !== flowRef.seq || last.capture_id !== flowRef.capture_id)) {
      flows.push(flowRef);
    }
    this.dirty = true;
  }

  row(): AggregateRow {
    return {
      device_id: this.deviceId,
      standard: this.standard,
      code: this.code,
      severity: this.severity,
      title: this.title,
      detail: this.detail,
      remote: this.remote,
      evidence: JSON.stringify(this.evidence),
      first_seen: this.firstSeenS,
      last_seen: this.lastSeenS,
      count: this.count,
    };
  }
}

function rank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

function maxSeverity(a: Severity | null, b: Severity | null): Severity | null {
  if (a === null) return b;
  if (b === null) return a;
  return rank(a) >= rank(b) ? a : b;
}

function parseEvidence(text: string): StoredEvidence {
  try {
    const e = JSON.parse(text) as Partial<StoredEvidence>;
    return {
      flows: Array.isArray(e.flows) ? e.flows : [],
      bytes_sent: typeof e.bytes_sent === 'number' ? e.bytes_sent : 0,
      bytes_received: typeof e.bytes_received === 'number' ? e.bytes_received : 0,
      detail: e.detail && typeof e.detail === 'object' ? e.detail : {},
    };
  } catch {
    return { flows: [], bytes_sent: 0, bytes_received: 0, detail: {} };
  }
}

export class StandardsEngine {
  private readonly findings = new Map<string, Aggregate>();
  private readonly observations = new Map<string, Aggregate>();
  /** Aggregates each flow contributed to, so that its bytes are added when it ends. */
  private readonly byFlow = new WeakMap<Flow, Aggregate[]>();
  private current: { flow: Flow; tsUs: number } | null = null;
  /** Findings emitted in this run (for the log line). */
  emitted = 0;

  private readonly emitter: Emitter = {
    finding: (deviceId: string, f: FindingInput) => {
      const standard = FINDING_CODES[f.code];
      this.record(this.findings, deviceId, standard, f.code, f.remote, f.severity, f.title, f.detail, f.evidence, true);
      this.emitted++;
    },
    observe: (deviceId: string, o: ObservationInput) => {
      const standard = OBSERVATION_KINDS[o.kind];
      this.record(this.observations, deviceId, standard, o.kind, o.remote, null, '', o.detail, o.evidence, false);
    },
  };

  constructor(
    private readonly detectors: readonly Detector[],
    private readonly devices: DeviceTable,
    private readonly store: StandardsStore,
    private readonly captureId: number,
  ) {}

  /** Inspection of the flow is over; `facts` are the dissector's (null if none claimed it). */
  inspected(flow: Flow, verdict: Verdict, facts: unknown, tsUs: number): void {
    if (flow.deviceId === null) return;
    const ctx = this.context(flow, verdict, facts, tsUs);
    this.current = { flow, tsUs };
    for (const d of this.detectors) {
      try {
        d.inspected?.(ctx, this.emitter);
      } catch {
        // A detector bug must not stop the pipeline; the flow is still stored.
      }
    }
    this.current = null;
  }

  /** The flow ended: detectors that need its final counters, then bytes into its aggregates. */
  ended(flow: Flow, verdict: Verdict): void {
    if (flow.deviceId === null) return;
    const ctx = this.context(flow, verdict, null, flow.lastSeenUs);
    this.current = { flow, tsUs: flow.lastSeenUs };
    for (const d of this.detectors) {
      try {
        d.ended?.(ctx, this.emitter);
      } catch {
        // as above
      }
    }
    this.current = null;
    const touched = this.byFlow.get(flow);
    if (touched === undefined) return;
    this.byFlow.delete(flow);
    // Bytes the device sent and received on this flow.
    const sent = flow.deviceIsClient ? flow.bytesC2S : flow.bytesS2C;
    const received = flow.deviceIsClient ? flow.bytesS2C : flow.bytesC2S;
    for (const a of touched) {
      a.evidence.bytes_sent += sent;
      a.evidence.bytes_received += received;
      a.dirty = true;
    }
  }

  /** Write what changed since the last call. */
  /** Forget the running aggregates of a device whose stored data was deleted. */
  forgetDevice(deviceId: string): void {
    for (const map of [this.findings, this.observations]) {
      for (const [key, a] of map) if (a.deviceId === deviceId) map.delete(key);
    }
  }

  flush(): void {
    const findings = this.dirtyRows(this.findings);
    if (findings.length > 0) this.store.upsertFindings(findings);
    const observations = this.dirtyRows(this.observations);
    if (observations.length > 0) this.store.upsertObservations(observations);
  }

  private dirtyRows(map: Map<string, Aggregate>): AggregateRow[] {
    const rows: AggregateRow[] = [];
    for (const a of map.values()) {
      if (!a.dirty) continue;
      a.dirty = false;
      rows.push(a.row());
    }
    // Bound memory on a long-running daemon: written aggregates are reloaded when seen again.
    if (map.size > MAX_AGGREGATES) map.clear();
    return rows;
  }

  private record(
    map: Map<string, Aggregate>,
    deviceId: string,
    standard: Standard,
    code: string,
    remote: string,
    severity: Severity | null,
    title: string,
    detail: string,
    evidence: EvidenceDetail | undefined,
    isFinding: boolean,
  ): void {
    const cur = this.current;
    if (cur === null) return;
    const key = `${deviceId}\u0000${code}\u0000${remote}`;
    const tsS = cur.tsUs / 1e6;
    let a = map.get(key);
    if (a === undefined) {
      const stored = isFinding ? this.store.loadFinding(deviceId, code, remote) : this.store.loadObservation(deviceId, code, remote);
      a = new Aggregate(deviceId, standard, code, remote, stored, severity, title, detail, tsS, evidence);
      map.set(key, a);
    }
    a.add({ capture_id: this.captureId, seq: cur.flow.seq }, tsS, severity, title, detail, evidence);
    let touched = this.byFlow.get(cur.flow);
    if (touched === undefined) {
      touched = [];
      this.byFlow.set(cur.flow, touched);
    }
    if (!touched.includes(a)) touched.push(a);
  }

  private context(flow: Flow, verdict: Verdict, facts: unknown, tsUs: number): FlowContext {
    const clientIp = formatIp(flow.ipVersion, flow.clientWords());
    const serverIp = formatIp(flow.ipVersion, flow.serverWords());
    const clientDevice = flow.deviceIsClient ? flow.deviceId : flow.peerDeviceId;
    const serverDevice = flow.deviceIsClient ? flow.peerDeviceId : flow.deviceId;
    const remoteName = flow.deviceIsClient ? (verdict.serverName ?? serverIp) : clientIp;
    // The device as server: which of its services the remote client used.
    const remote = flow.deviceIsClient ? `${bracketed(remoteName)}:${flow.serverPort}` : `${bracketed(remoteName)} to port ${flow.serverPort}`;
    return {
      flow,
      verdict,
      facts,
      client: clientDevice === null ? null : (this.devices.devices.get(clientDevice) ?? null),
      server: serverDevice === null ? null : (this.devices.devices.get(serverDevice) ?? null),
      remoteName,
      remote: flow.proto === 6 || flow.proto === 17 ? remote : bracketed(remoteName),
      clientIp,
      serverIp,
      tsUs,
    };
  }
}

/** IPv6 addresses get brackets before a port, as in URLs. */
function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
