/**
 * The flow table: finds or creates the bidirectional flow of each packet, keeps counters,
 * expires idle flows and bounds the number of live flows.
 *
 * Per packet it allocates nothing: the key is a 30-bit hash of the 5-tuple (symmetric, so both
 * directions land in the same chain) used as a Map key, collisions are chained through the flows
 * themselves, and expiry uses one intrusive LRU list per timeout class, so the oldest flow of a
 * class is always at its head.
 */
import { IpProto, TcpFlag, type PacketView } from '../decode/packet.js';
import { Flow, TIMEOUT_CLASS_COUNT, TimeoutClass, type FlowEndReason } from './flow.js';

export interface FlowTableOptions {
  /** Idle timeouts in seconds per class. */
  tcpIdleSeconds: number;
  /** A closed or reset TCP flow lingers this long to absorb retransmitted FINs and stragglers. */
  tcpClosedSeconds: number;
  udpIdleSeconds: number;
  otherIdleSeconds: number;
  /** Most live flows held at once; the least recently active is ended to make room. */
  maxFlows: number;
}

export const DEFAULT_FLOW_TABLE_OPTIONS: FlowTableOptions = {
  tcpIdleSeconds: 600,
  tcpClosedSeconds: 60,
  udpIdleSeconds: 180,
  otherIdleSeconds: 60,
  // About 0.5 kB per live flow: 100k flows stay well inside the 200 MB budget.
  maxFlows: 100_000,
};

export type FlowEndHandler = (flow: Flow, reason: FlowEndReason) => void;
export type FlowStartHandler = (flow: Flow, packet: PacketView) => void;

/** Result of FlowTable.track: the flow and the packet's direction. */
/** What the flow table reads of a captured frame (RawFrame has it). */
export interface FrameMeta {
  /** Capture time in microseconds. */
  readonly tsUs: number;
  /** The frame's length on the wire. */
  readonly origLen: number;
  /** Input file or interface index. */
  readonly sourceIndex: number;
}

export interface TrackResult {
  flow: Flow;
  /** True when the packet went from the flow's client to its server. */
  fromClient: boolean;
}

const SMI_MASK = 0x3fffffff;
/** How often (in capture time) idle flows are looked for: cheap, since only list heads are checked. */
const EXPIRY_CHECK_INTERVAL_US = 1_000_000;

function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return h ^ (h >>> 16);
}

/**
 * The first packet of a flow names the client, unless it is plainly the server's: a SYN-ACK
 * (we missed the SYN), or, with no SYN at all, a packet from a well-known port to an ephemeral one
 * (a capture that starts mid-conversation, a DNS reply whose query was lost).
 */
function senderLooksLikeServer(v: PacketView): boolean {
  if (!v.hasPorts) return false;
  if (v.proto === IpProto.TCP) {
    const synAck = TcpFlag.SYN | TcpFlag.ACK;
    if ((v.tcpFlags & synAck) === synAck) return true;
    if ((v.tcpFlags & TcpFlag.SYN) !== 0) return false;
  }
  return v.srcPort < 1024 && v.dstPort >= 1024;
}

export class FlowTable {
  private readonly buckets = new Map<number, Flow>();
  private readonly lruHead: (Flow | null)[] = new Array(TIMEOUT_CLASS_COUNT).fill(null);
  private readonly lruTail: (Flow | null)[] = new Array(TIMEOUT_CLASS_COUNT).fill(null);
  private readonly timeoutUs: number[];
  private lastExpiryCheckUs = -Infinity;
  private nextSeq = 1;
  private readonly result: TrackResult = { flow: null as unknown as Flow, fromClient: true };
  /** Flows currently in the table, and the most there ever were. */
  size = 0;
  peakSize = 0;
  /** Flows ended to respect maxFlows. */
  evicted = 0;
  created = 0;

  constructor(
    private readonly options: FlowTableOptions,
    private readonly onStart: FlowStartHandler,
    private readonly onEnd: FlowEndHandler,
  ) {
    this.timeoutUs = [];
    this.timeoutUs[TimeoutClass.TCP_OPEN] = options.tcpIdleSeconds * 1e6;
    this.timeoutUs[TimeoutClass.TCP_CLOSED] = options.tcpClosedSeconds * 1e6;
    this.timeoutUs[TimeoutClass.UDP] = options.udpIdleSeconds * 1e6;
    this.timeoutUs[TimeoutClass.OTHER] = options.otherIdleSeconds * 1e6;
  }

  /**
   * Account one decoded IP packet that has ports (TCP/UDP) or is another transport (ICMP, ESP…)
   * to its flow, at the frame's capture time and with its length on the wire.
   * Returns a reused object: read it before the next call.
   */
  track(v: PacketView, frame: FrameMeta): TrackResult {
    // Read from the frame, not passed as arguments: a microsecond timestamp is not a small
    // integer, and as an argument it would be boxed on the heap for every packet.
    const tsUs = frame.tsUs;
    const wireBytes = frame.origLen;
    if (tsUs - this.lastExpiryCheckUs >= EXPIRY_CHECK_INTERVAL_US) {
      this.lastExpiryCheckUs = tsUs;
      this.expireIdle(tsUs);
    }
    const sp = v.srcPort;
    const dp = v.dstPort;
    const s = v.src;
    const d = v.dst;
    // Each endpoint hashed alone and combined with XOR, so both directions get the same key.
    let hs: number;
    let hd: number;
    if (v.ipVersion === 4) {
      hs = mix(s[0] ^ Math.imul(sp + 1, 0x9e3779b1));
      hd = mix(d[0] ^ Math.imul(dp + 1, 0x9e3779b1));
    } else {
      hs = mix(s[0] ^ mix(s[1] ^ mix(s[2] ^ mix(s[3] ^ Math.imul(sp + 1, 0x9e3779b1)))));
      hd = mix(d[0] ^ mix(d[1] ^ mix(d[2] ^ mix(d[3] ^ Math.imul(dp + 1, 0x9e3779b1)))));
    }
    const key = mix((hs ^ hd) + Math.imul(v.proto, 0x85ebca6b) + v.vlan) & SMI_MASK;

    let flow = this.buckets.get(key) ?? null;
    let fromClient = true;
    while (flow !== null) {
      if (flow.proto === v.proto && flow.vlan === v.vlan && flow.ipVersion === v.ipVersion) {
        if (
          flow.clientPort === sp && flow.serverPort === dp &&
          flow.c0 === s[0] && flow.c1 === s[1] && flow.c2 === s[2] && flow.c3 === s[3] &&
          flow.s0 === d[0] && flow.s1 === d[1] && flow.s2 === d[2] && flow.s3 === d[3]
        ) {
          fromClient = true;
          break;
        }
        if (
          flow.clientPort === dp && flow.serverPort === sp &&
          flow.c0 === d[0] && flow.c1 === d[1] && flow.c2 === d[2] && flow.c3 === d[3] &&
          flow.s0 === s[0] && flow.s1 === s[1] && flow.s2 === s[2] && flow.s3 === s[3]
        ) {
          fromClient = false;
          break;
        }
      }
      flow = flow.hashNext;
    }

    // Port reuse: a new SYN on a flow that was closed or reset is a new connection.
    if (
      flow !== null &&
      flow.timeoutClass === TimeoutClass.TCP_CLOSED &&
      (v.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN
    ) {
      this.end(flow, 'closed');
      flow = null;
    }

    if (flow === null) {
      flow = this.create(v, key, tsUs, frame.sourceIndex);
      fromClient = true;
      if (senderLooksLikeServer(v)) {
        this.swapSides(flow);
        fromClient = false;
      }
      this.onStart(flow, v);
    } else {
      this.touch(flow);
    }

    if (fromClient) {
      flow.packetsC2S++;
      flow.bytesC2S += wireBytes;
      flow.payloadC2S += v.payloadWireLength;
      flow.lastSeenC2SUs = tsUs;
    } else {
      if (flow.packetsS2C === 0) flow.firstSeenS2CUs = tsUs;
      flow.packetsS2C++;
      flow.bytesS2C += wireBytes;
      flow.payloadS2C += v.payloadWireLength;
      flow.lastSeenS2CUs = tsUs;
    }
    if (tsUs > flow.lastSeenUs) flow.lastSeenUs = tsUs;

    if (v.proto === IpProto.TCP && v.hasPorts) this.updateTcp(flow, v.tcpFlags, fromClient);

    const r = this.result;
    r.flow = flow;
    r.fromClient = fromClient;
    return r;
  }

  private updateTcp(flow: Flow, flags: number, fromClient: boolean): void {
    if (flags & TcpFlag.SYN) {
      if (flags & TcpFlag.ACK) flow.synAckSeen = true;
      else flow.synSeen = true;
    } else if (flow.synAckSeen && fromClient && flags & TcpFlag.ACK) {
      flow.handshakeComplete = true;
    }
    if (flags & TcpFlag.FIN) {
      if (fromClient) flow.finC2S = true;
      else flow.finS2C = true;
    }
    if (flags & TcpFlag.RST) flow.rstSeen = true;
    if (flow.timeoutClass === TimeoutClass.TCP_OPEN && (flow.rstSeen || (flow.finC2S && flow.finS2C))) {
      this.unlinkLru(flow);
      flow.timeoutClass = TimeoutClass.TCP_CLOSED;
      this.appendLru(flow);
    }
  }

  private create(v: PacketView, key: number, tsUs: number, sourceIndex: number): Flow {
    if (this.size >= this.options.maxFlows) this.evictOldest();
    const flow = new Flow();
    flow.seq = this.nextSeq++;
    flow.hashKey = key;
    flow.ipVersion = v.ipVersion;
    flow.proto = v.proto;
    flow.vlan = v.vlan;
    const s = v.src;
    const d = v.dst;
    flow.c0 = s[0];
    flow.c1 = s[1];
    flow.c2 = s[2];
    flow.c3 = s[3];
    flow.s0 = d[0];
    flow.s1 = d[1];
    flow.s2 = d[2];
    flow.s3 = d[3];
    flow.clientPort = v.srcPort;
    flow.serverPort = v.dstPort;
    flow.clientMac = v.srcMac;
    flow.serverMac = v.dstMac;
    flow.firstSeenUs = tsUs;
    flow.lastSeenUs = tsUs;
    flow.sourceIndex = sourceIndex;
    flow.timeoutClass =
      v.proto === IpProto.TCP ? TimeoutClass.TCP_OPEN : v.proto === IpProto.UDP ? TimeoutClass.UDP : TimeoutClass.OTHER;
    flow.hashNext = this.buckets.get(key) ?? null;
    this.buckets.set(key, flow);
    this.appendLru(flow);
    this.size++;
    if (this.size > this.peakSize) this.peakSize = this.size;
    this.created++;
    return flow;
  }

  private swapSides(flow: Flow): void {
    let w = flow.c0;
    flow.c0 = flow.s0;
    flow.s0 = w;
    w = flow.c1;
    flow.c1 = flow.s1;
    flow.s1 = w;
    w = flow.c2;
    flow.c2 = flow.s2;
    flow.s2 = w;
    w = flow.c3;
    flow.c3 = flow.s3;
    flow.s3 = w;
    const port = flow.clientPort;
    flow.clientPort = flow.serverPort;
    flow.serverPort = port;
    const mac = flow.clientMac;
    flow.clientMac = flow.serverMac;
    flow.serverMac = mac;
  }

  /** End every flow idle for longer than its class's timeout at capture time `nowUs`. */
  expireIdle(nowUs: number): void {
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      const limit = nowUs - this.timeoutUs[c];
      let head = this.lruHead[c];
      while (head !== null && head.lastSeenUs < limit) {
        const next = head.lruNext;
        this.end(head, c === TimeoutClass.TCP_CLOSED ? 'closed' : 'idle');
        head = next;
      }
    }
  }

  /** End every live flow (end of capture, shutdown). */
  endAll(reason: FlowEndReason): void {
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      while (this.lruHead[c] !== null) this.end(this.lruHead[c] as Flow, reason);
    }
  }

  /** Visit live flows without ending them (periodic flush of long-lived flows). */
  forEachLive(visit: (flow: Flow) => void): void {
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      for (let f = this.lruHead[c]; f !== null; f = f.lruNext) visit(f);
    }
  }

  private evictOldest(): void {
    let oldest: Flow | null = null;
    for (let c = 0; c < TIMEOUT_CLASS_COUNT; c++) {
      const h = this.lruHead[c];
      if (h !== null && (oldest === null || h.lastSeenUs < oldest.lastSeenUs)) oldest = h;
    }
    if (oldest !== null) {
      this.evicted++;
      this.end(oldest, 'evicted');
    }
  }

  private end(flow: Flow, reason: FlowEndReason): void {
    this.unlinkLru(flow);
    // Unlink from its hash chain.
    let head = this.buckets.get(flow.hashKey) ?? null;
    if (head === flow) {
      if (flow.hashNext === null) this.buckets.delete(flow.hashKey);
      else this.buckets.set(flow.hashKey, flow.hashNext);
    } else {
      while (head !== null && head.hashNext !== flow) head = head.hashNext;
      if (head !== null) head.hashNext = flow.hashNext;
    }
    flow.hashNext = null;
    this.size--;
    this.onEnd(flow, reason);
  }

  private touch(flow: Flow): void {
    const c = flow.timeoutClass;
    if (this.lruTail[c] === flow) return;
    this.unlinkLru(flow);
    this.appendLru(flow);
  }

  private appendLru(flow: Flow): void {
    const c = flow.timeoutClass;
    const tail = this.lruTail[c];
    flow.lruPrev = tail;
    flow.lruNext = null;
    if (tail === null) this.lruHead[c] = flow;
    else tail.lruNext = flow;
    this.lruTail[c] = flow;
  }

  private unlinkLru(flow: Flow): void {
    const c = flow.timeoutClass;
    if (flow.lruPrev === null) this.lruHead[c] = flow.lruNext;
    else flow.lruPrev.lruNext = flow.lruNext;
    if (flow.lruNext === null) this.lruTail[c] = flow.lruPrev;
    else flow.lruNext.lruPrev = flow.lruPrev;
    flow.lruPrev = flow.lruNext = null;
  }
}
