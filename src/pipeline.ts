/**
 * The packet pipeline shared by `analyze`, `replay` and `watch`:
 * raw frame -> decode -> flow table (+ devices) -> dissect -> store.
 *
 * `handleFrame` is the hot path: it decodes into one reused PacketView, updates the flow and
 * hands payload to the inspector only while the flow is undecided (DHCP packets also name their
 * device). Ended flows and final facts become rows written in batches, never one per packet.
 */
import type { FrameSink, RawFrame } from './capture/types.js';
import { DEFAULT_LAN_PREFIXES, formatIp, LanMatcher } from './decode/address.js';
import { DecodeResult, decodeFrame, formatMac, IpProto, PacketView } from './decode/packet.js';
import { parseDhcp } from './dissect/dhcp.js';
import { DEFAULT_INSPECTION_LIMITS, Inspector, type InspectionLimits } from './dissect/inspector.js';
import { DISSECTORS } from './dissect/registry.js';
import type { Dissector } from './dissect/types.js';
import { classifyFlow, type Verdict } from './classify/verdict.js';
import type { DnsFacts } from './dissect/dns.js';
import { DeviceTable } from './flow/devices.js';
import { TimeoutClass, type Flow, type FlowEndReason } from './flow/flow.js';
import { DEFAULT_FLOW_TABLE_OPTIONS, FlowTable, type FlowTableOptions } from './flow/table.js';
import type { CaptureStats, DeviceRow, FactsRow, FlowRow, Store } from './store/store.js';
import { StandardsEngine } from './standards/engine.js';
import { DETECTORS } from './standards/index.js';
import type { Detector } from './standards/types.js';

export interface PipelineOptions {
  lanPrefixes: string[];
  flowTable: FlowTableOptions;
  /** Ended flows are written to the store in batches of this many rows. */
  flowBatchSize: number;
  inspection: InspectionLimits;
  /** The protocol dissectors to run (all by default). */
  dissectors: Dissector<unknown>[];
  /**
   * Also keep every flow's dissected facts as JSON in flow_facts (for research; the findings
   * already carry their evidence). Off by default: it doubles the cost of storing a flow.
   */
  storeFacts: boolean;
  /** The standards' detectors to run (all by default). */
  detectors: readonly Detector[];
}

export const DEFAULT_PIPELINE_OPTIONS: PipelineOptions = {
  lanPrefixes: DEFAULT_LAN_PREFIXES,
  flowTable: DEFAULT_FLOW_TABLE_OPTIONS,
  flowBatchSize: 2000,
  inspection: DEFAULT_INSPECTION_LIMITS,
  dissectors: DISSECTORS,
  storeFacts: false,
  detectors: DETECTORS,
};

export interface PipelineCounters {
  packets: number;
  bytes: number;
  malformed: number;
  /** Frames that are neither IP nor ARP (LLDP, STP…). */
  nonIp: number;
  arp: number;
  /** IP fragments after the first whose flow was not known (first fragment missing or late). */
  unattributedFragments: number;
  flows: number;
}

const MAX_PENDING_FRAGMENTS = 4096;
/** Remembered DNS answers (device, address -> name); cleared wholesale when full. */
const MAX_DNS_NAMES = 65536;
/** A DNS answer names later flows for its TTL, but at least a minute and at most an hour. */
const MIN_DNS_NAME_US = 60e6;
const MAX_DNS_NAME_US = 3600e6;
const MAX_CACHED_MACS = 65536;
const DHCP_SERVER_PORT = 67;
const DHCP_CLIENT_PORT = 68;

function protoName(proto: number): string {
  switch (proto) {
    case IpProto.TCP:
      return 'tcp';
    case IpProto.UDP:
      return 'udp';
    case IpProto.ICMP:
      return 'icmp';
    case IpProto.ICMPV6:
      return 'icmpv6';
    case IpProto.GRE:
      return 'gre';
    case IpProto.ESP:
      return 'esp';
    case IpProto.SCTP:
      return 'sctp';
    default:
      return `ip-${proto}`;
  }
}

export class Pipeline {
  readonly counters: PipelineCounters = {
    packets: 0,
    bytes: 0,
    malformed: 0,
    nonIp: 0,
    arp: 0,
    unattributedFragments: 0,
    flows: 0,
  };
  readonly devices: DeviceTable;
  readonly flows: FlowTable;
  readonly inspector: Inspector;
  readonly standards: StandardsEngine;
  private readonly view = new PacketView();
  private pendingRows: FlowRow[] = [];
  /** Rows of flows whose earlier snapshot is already stored: they replace it. */
  private pendingReplacements: FlowRow[] = [];
  private pendingFacts: FactsRow[] = [];
  /** First fragment's ports, so later fragments of the same datagram join its flow. */
  private readonly fragmentPorts = new Map<string, number>();
  /** Device ids seen in this run (the store links them to the capture). */
  readonly touchedDevices = new Set<string>();
  private readonly macTexts = new Map<number, string>();
  /** "deviceId|ip" -> the name the device's own DNS lookup gave that address, and until when. */
  private readonly dnsNames = new Map<string, { name: string; untilUs: number }>();

  constructor(
    private readonly store: Store,
    private readonly captureId: number,
    private readonly options: PipelineOptions = DEFAULT_PIPELINE_OPTIONS,
  ) {
    this.devices = new DeviceTable(new LanMatcher(options.lanPrefixes));
    this.standards = new StandardsEngine(options.detectors, this.devices, store, captureId);
    this.inspector = new Inspector(options.dissectors, options.inspection, (flow, tsUs) => this.inspectionDone(flow, tsUs));
    this.flows = new FlowTable(
      options.flowTable,
      (flow) => this.flowStarted(flow),
      (flow, reason) => this.flowEnded(flow, reason),
    );
  }

  /** The FrameSink for capture sources. */
  readonly handleFrame: FrameSink = (frame: RawFrame): void => {
    const c = this.counters;
    c.packets++;
    c.bytes += frame.origLen;
    const v = this.view;
    const r = decodeFrame(frame, v);
    if (r !== DecodeResult.IP) {
      if (r === DecodeResult.ARP) {
        c.arp++;
        this.devices.learnArp(v.arpSenderMac, v.arpSenderIp, frame.tsUs);
      } else if (r === DecodeResult.MALFORMED) c.malformed++;
      else c.nonIp++;
      return;
    }
    if (v.isFragment && !this.attributeFragment(v)) {
      c.unattributedFragments++;
      return;
    }
    const t = this.flows.track(v, frame);
    // Payload is looked at only while the flow is undecided.
    if (!t.flow.inspectionDone) {
      const flow = t.flow;
      this.inspector.packet(flow, v, t.fromClient, frame.tsUs);
      // A closed connection says nothing more: its facts are final now, not when it times out
      // (which matters live, where findings should land within seconds).
      if (!flow.inspectionDone && flow.timeoutClass === TimeoutClass.TCP_CLOSED) this.inspector.flowEnded(flow);
    }

    if (v.proto === IpProto.UDP && v.payloadLength > 0) {
      const sp = v.srcPort;
      const dp = v.dstPort;
      if ((sp === DHCP_CLIENT_PORT || sp === DHCP_SERVER_PORT) && (dp === DHCP_CLIENT_PORT || dp === DHCP_SERVER_PORT)) {
        const facts = parseDhcp(v.data, v.payloadOffset, v.payloadLength);
        if (facts !== null) this.devices.learnDhcp(facts, frame.tsUs);
      }
    }
  };

  /**
   * A first fragment remembers its ports; later ones borrow them. Returns false for a later
   * fragment whose first fragment was not seen (it cannot be put in a flow).
   */
  private attributeFragment(v: PacketView): boolean {
    const key = `${v.proto}/${v.src.join('.')}/${v.dst.join('.')}/${v.fragId}`;
    if (v.fragOffset === 0) {
      if (v.hasPorts) {
        if (this.fragmentPorts.size >= MAX_PENDING_FRAGMENTS) this.fragmentPorts.clear();
        this.fragmentPorts.set(key, v.srcPort * 65536 + v.dstPort);
      }
      return true;
    }
    const ports = this.fragmentPorts.get(key);
    if (ports === undefined) {
      // Not a port-based protocol: the 3-tuple flow is enough.
      return v.proto !== IpProto.TCP && v.proto !== IpProto.UDP;
    }
    v.srcPort = Math.floor(ports / 65536);
    v.dstPort = ports % 65536;
    v.hasPorts = true;
    if (!v.moreFragments) this.fragmentPorts.delete(key);
    return true;
  }

  private flowStarted(flow: Flow): void {
    const t = flow.firstSeenUs;
    const client = this.devices.deviceFor(flow.ipVersion, flow.clientWords(), flow.clientMac, t);
    const server = this.devices.deviceFor(flow.ipVersion, flow.serverWords(), flow.serverMac, t);
    if (client !== null) {
      flow.deviceId = client.id;
      if (this.dnsNames.size > 0) flow.dnsName = this.dnsNameFor(client.id, formatIp(flow.ipVersion, flow.serverWords()), t);
      this.touchedDevices.add(client.id);
      if (server !== null && server !== client) {
        flow.peerDeviceId = server.id;
        this.touchedDevices.add(server.id);
      }
    } else if (server !== null) {
      flow.deviceId = server.id;
      flow.deviceIsClient = false;
      this.touchedDevices.add(server.id);
    }
  }

  /**
   * Inspection of a flow is over: decide its verdict now, queue its facts for the store and drop
   * them, so that a live flow holds no more than its counters and verdict however long it lasts.
   */
  private inspectionDone(flow: Flow, tsUs: number): void {
    if (flow.forgotten) {
      flow.facts = null;
      flow.inspection = null;
      return;
    }
    if (flow.app !== null && flow.facts !== null) this.learnNames(flow, flow.app, flow.facts, tsUs);
    flow.verdict = classifyFlow(flow);
    this.standards.inspected(flow, flow.verdict, flow.facts, tsUs);
    if (this.options.storeFacts && flow.app !== null && flow.facts !== null) {
      this.pendingFacts.push({ capture_id: this.captureId, flow_seq: flow.seq, app: flow.app, facts: JSON.stringify(flow.facts) });
      if (this.pendingFacts.length >= this.options.flowBatchSize) this.flushFacts();
    }
    flow.facts = null;
    flow.inspection = null;
  }

  /** What one flow's facts teach about others: the device's DNS answers name its later flows. */
  private learnNames(flow: Flow, app: string, facts: unknown, tsUs: number): void {
    if ((app !== 'dns' && app !== 'llmnr') || flow.deviceId === null || !flow.deviceIsClient) return;
    const dns = facts as DnsFacts;
    // Each address with the name the device asked for (the CNAME chain followed back).
    for (const r of dns.resolutions) {
      if (this.dnsNames.size >= MAX_DNS_NAMES) this.dnsNames.clear();
      const lifetime = Math.min(MAX_DNS_NAME_US, Math.max(MIN_DNS_NAME_US, r.ttl * 1e6));
      this.dnsNames.set(`${flow.deviceId}|${r.address}`, { name: r.name.toLowerCase(), untilUs: tsUs + lifetime });
    }
  }

  private dnsNameFor(deviceId: string, ip: string, tsUs: number): string | null {
    const entry = this.dnsNames.get(`${deviceId}|${ip}`);
    return entry !== undefined && tsUs <= entry.untilUs ? entry.name : null;
  }

  private flowEnded(flow: Flow, reason: FlowEndReason): void {
    this.counters.flows++;
    this.inspector.flowEnded(flow);
    if (flow.forgotten) return;
    if (flow.deviceId !== null) {
      const d = this.devices.devices.get(flow.deviceId);
      if (d !== undefined) d.seen(flow.lastSeenUs);
    }
    const verdict = (flow.verdict ??= classifyFlow(flow));
    this.standards.ended(flow, verdict);
    if (flow.storedUs === 0) this.pendingRows.push(this.toRow(flow, verdict, reason));
    else this.pendingReplacements.push(this.toRow(flow, verdict, reason));
    if (this.pendingRows.length >= this.options.flowBatchSize) this.flushFlows();
  }

  /**
   * The daemon's periodic write of long-lived flows (a camera's hours-long stream): every decided
   * flow live for longer than `everyUs` gets its row written (end_reason 'live') at most once per
   * `everyUs`, and replaced when the flow ends, so the store never lags a live flow by more.
   */
  snapshotLiveFlows(nowUs: number, everyUs: number): void {
    this.flows.forEachLive((flow) => {
      if (!flow.inspectionDone || flow.verdict === null || flow.forgotten) return;
      if (nowUs - flow.firstSeenUs < everyUs || nowUs - flow.storedUs < everyUs) return;
      (flow.storedUs === 0 ? this.pendingRows : this.pendingReplacements).push(this.toRow(flow, flow.verdict, 'live'));
      flow.storedUs = nowUs;
    });
  }

  private toRow(flow: Flow, verdict: Verdict, reason: FlowEndReason | 'live'): FlowRow {
    const v = flow.ipVersion;
    return {
      capture_id: this.captureId,
      device_id: flow.deviceId,
      peer_device_id: flow.peerDeviceId,
      device_is_client: flow.deviceIsClient ? 1 : 0,
      proto: protoName(flow.proto),
      ip_version: v,
      vlan: flow.vlan,
      client_ip: formatIp(v, flow.clientWords()),
      client_port: flow.clientPort,
      server_ip: formatIp(v, flow.serverWords()),
      server_port: flow.serverPort,
      client_mac: this.macText(flow.clientMac),
      server_mac: this.macText(flow.serverMac),
      packets_c2s: flow.packetsC2S,
      packets_s2c: flow.packetsS2C,
      bytes_c2s: flow.bytesC2S,
      bytes_s2c: flow.bytesS2C,
      payload_c2s: flow.payloadC2S,
      payload_s2c: flow.payloadS2C,
      first_seen: flow.firstSeenUs / 1e6,
      last_seen: flow.lastSeenUs / 1e6,
      tcp_state: flow.proto === IpProto.TCP ? flow.tcpState() : null,
      end_reason: reason,
      app: verdict.app,
      encryption: verdict.encryption,
      reason: verdict.reason,
      server_name: verdict.serverName,
      seq: flow.seq,
    };
  }

  /** MACs repeat across flows (the gateway's above all): format each once. */
  private macText(mac: number): string | null {
    if (mac < 0) return null;
    let text = this.macTexts.get(mac);
    if (text === undefined) {
      if (this.macTexts.size >= MAX_CACHED_MACS) this.macTexts.clear();
      text = formatMac(mac);
      this.macTexts.set(mac, text);
    }
    return text;
  }

  /** Ids of the devices this run holds in memory whose salted hash is in `hashes` (see Store.deviceHash). */
  devicesWithHashes(hashes: Set<string>, hashOf: (id: string) => string): string[] {
    const found: string[] = [];
    for (const id of this.devices.devices.keys()) if (hashes.has(hashOf(id))) found.push(id);
    return found;
  }

  /** Write queued flow rows (one transaction). */
  flushFlows(): void {
    const rows = this.pendingRows;
    const replacements = this.pendingReplacements;
    if (rows.length === 0 && replacements.length === 0) return;
    this.pendingRows = [];
    this.pendingReplacements = [];
    // Flows reference their devices: write those first.
    this.flushDevices();
    try {
      this.store.insertFlows(rows);
      this.store.replaceFlows(replacements);
    } catch (err) {
      // Keep the rows (a device deleted by another process makes the batch fail; the daemon
      // forgets it and writes again).
      this.pendingRows = rows.concat(this.pendingRows);
      this.pendingReplacements = replacements.concat(this.pendingReplacements);
      throw err;
    }
    this.standards.flush();
  }

  /** Write queued facts (one transaction). */
  flushFacts(): void {
    const rows = this.pendingFacts;
    if (rows.length === 0) return;
    this.pendingFacts = [];
    this.store.insertFacts(rows);
  }

  /** Write devices that changed since the last call. */
  flushDevices(): void {
    const rows: DeviceRow[] = [];
    for (const d of this.devices.devices.values()) {
      if (!d.dirty) continue;
      d.dirty = false;
      rows.push({
        id: d.id,
        mac: d.mac >= 0 ? d.id : null,
        locally_administered: d.locallyAdministered ? 1 : 0,
        vendor: d.vendor,
        hostname: d.hostname,
        vendor_class: d.vendorClass,
        dhcp_fingerprint: d.dhcpFingerprint,
        // Every device is created by being seen, so firstSeenUs is always set.
        first_seen: d.firstSeenUs / 1e6,
        last_seen: d.lastSeenUs / 1e6,
        ips: [...d.ips].map(([ip, info]) => ({
          ip,
          source: info.source,
          first_seen: info.firstSeenUs / 1e6,
          last_seen: info.lastSeenUs / 1e6,
        })),
      });
      this.touchedDevices.add(d.id);
    }
    this.store.upsertDevices(rows);
  }

  /**
   * The daemon's bound on how long a live flow stays undecided: inspections of flows that began
   * before `startedBeforeUs` end now with the facts they have (a telnet session left open, a
   * chatty UDP stream), so their findings do not wait for the flow to time out.
   */
  finishStaleInspections(startedBeforeUs: number, nowUs: number): void {
    this.inspector.finishStarted(startedBeforeUs, nowUs);
  }

  /**
   * The daemon's periodic write: everything decided so far goes to the store (devices, ended
   * flows, facts, findings) and the devices seen are linked to the run.
   */
  flushAll(): void {
    this.flushDevices();
    this.flushFlows();
    this.flushFacts();
    this.standards.flush();
    if (this.touchedDevices.size > 0) {
      this.store.linkCaptureDevices(this.captureId, [...this.touchedDevices]);
      this.touchedDevices.clear();
    }
  }

  /**
   * A device's stored data was deleted (`forget`, the dashboard): drop everything still held
   * about it, so that nothing of it is written again: the device, its running findings, its
   * queued rows, the names its DNS answers gave, and its live flows (marked, then ignored).
   */
  forgetDevice(id: string): void {
    this.devices.forget(id);
    this.standards.forgetDevice(id);
    this.touchedDevices.delete(id);
    const mine = (r: FlowRow): boolean => r.device_id === id || r.peer_device_id === id;
    const forgottenSeqs = new Set<number>();
    for (const r of [...this.pendingRows, ...this.pendingReplacements]) if (mine(r)) forgottenSeqs.add(r.seq);
    this.pendingRows = this.pendingRows.filter((r) => !mine(r));
    this.pendingReplacements = this.pendingReplacements.filter((r) => !mine(r));
    this.flows.forEachLive((flow) => {
      if (flow.deviceId === id || flow.peerDeviceId === id) {
        flow.forgotten = true;
        forgottenSeqs.add(flow.seq);
      }
    });
    this.pendingFacts = this.pendingFacts.filter((f) => !forgottenSeqs.has(f.flow_seq));
    for (const key of this.dnsNames.keys()) if (key.startsWith(`${id}|`)) this.dnsNames.delete(key);
  }

  /** End of input: end every flow, write everything, record the run's figures. */
  finish(warnings: string[]): CaptureStats {
    this.flows.endAll('end-of-capture');
    this.flushDevices();
    this.flushFlows();
    this.flushFacts();
    this.standards.flush();
    this.store.linkCaptureDevices(this.captureId, [...this.touchedDevices]);
    const c = this.counters;
    const stats: CaptureStats = {
      packets: c.packets,
      bytes: c.bytes,
      flows: c.flows,
      malformed: c.malformed,
      warnings,
    };
    this.store.finishCapture(this.captureId, stats);
    return stats;
  }
}

