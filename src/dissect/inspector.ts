/**
 * Per-flow payload inspection: find the protocol a flow speaks and collect its facts, then stop.
 *
 * While a flow is undecided its first bytes (TCP: reassembled in order; UDP: datagrams) are shown
 * to the candidate dissectors. The first that says YES claims the flow and is fed everything seen
 * so far, in arrival order, then each new piece until it says its facts are final or the budget
 * runs out. Flows nobody claims keep their first bytes for the entropy/printable guess.
 * Once decided, a flow costs nothing here: the pipeline stops calling in.
 */
import { IpProto, TcpFlag, type PacketView } from '../decode/packet.js';
import type { Flow } from '../flow/flow.js';
import { StreamReassembler } from '../flow/reassembly.js';
import { ByteStore } from './plaintext.js';
import { Probe, type Dissector, type DissectorState } from './types.js';

export interface InspectionLimits {
  /** Bytes of each TCP direction reassembled and inspected. */
  streamBytes: number;
  /** Bytes kept per direction while probing, and for the guess on unrecognised payloads. */
  probeBytes: number;
  /** Datagrams per direction looked at on an undecided or still-talking UDP flow. */
  datagrams: number;
  /**
   * Packets of a flow (either direction, with or without payload) after which inspection ends
   * whatever the dissector still hopes to see, like nDPI's limit on DPI packets: facts are taken
   * as they are. Bounds the work and memory of flows whose later bytes never come (snaplen-cut
   * captures, stalled handshakes).
   */
  packets: number;
  /**
   * Flows under inspection at once. Beyond it, the flow inspected longest is finished with the
   * facts it has: memory stays bounded when many flows stall (a flood, a snaplen-cut capture).
   */
  concurrent: number;
}

export const DEFAULT_INSPECTION_LIMITS: InspectionLimits = {
  streamBytes: 16 * 1024,
  probeBytes: 2048,
  datagrams: 16,
  packets: 32,
  concurrent: 4096,
};

/** What inspection learned about one flow. */
export class Inspection {
  state: DissectorState<unknown> | null = null;
  /** No more payload will be looked at. */
  done = false;
  candidates: Dissector<unknown>[];
  reassembler: [StreamReassembler | null, StreamReassembler | null] = [null, null];
  /** First bytes per direction [client, server], kept for probing and for the guess. */
  readonly first: [ByteStore | null, ByteStore | null] = [null, null];
  /** While probing: what arrived, in order, as [fromClient, start, end] ranges of first[]. */
  readonly arrivals: [boolean, number, number][] = [];
  datagrams: [number, number] = [0, 0];
  /** Packets of the flow after which inspection ends (raised by a dissector that needs more). */
  packetLimit: number;

  constructor(candidates: Dissector<unknown>[], packetLimit: number) {
    this.candidates = candidates;
    this.packetLimit = packetLimit;
  }
}

/**
 * Called once per inspected flow when inspection is over: `flow.app` and `flow.facts` hold what
 * was learned (both null if no dissector claimed it) and the first bytes are still there for a
 * guess. The handler decides the verdict and releases what it no longer needs.
 */
export type InspectionDoneHandler = (flow: Flow, tsUs: number) => void;

export class Inspector {
  private readonly tcp: Dissector<unknown>[];
  private readonly udp: Dissector<unknown>[];
  private readonly ctx = { proto: 0, clientPort: 0, serverPort: 0, tsUs: 0 };
  /** Flows under inspection, oldest first (a Set iterates in insertion order). */
  private readonly active = new Set<Flow>();
  /** Counters for the run's log line. */
  inspectedFlows = 0;
  /** Inspections ended early to respect `concurrent`. */
  cutShort = 0;

  constructor(
    dissectors: Dissector<unknown>[],
    private readonly limits: InspectionLimits,
    private readonly onDone: InspectionDoneHandler,
  ) {
    this.tcp = dissectors.filter((d) => d.transports.includes('tcp'));
    this.udp = dissectors.filter((d) => d.transports.includes('udp'));
  }

  /** One packet of a flow that is still being inspected. */
  packet(flow: Flow, v: PacketView, fromClient: boolean, tsUs: number): void {
    let ins = flow.inspection;
    if (flow.packetsC2S + flow.packetsS2C > (ins === null ? this.limits.packets : ins.packetLimit)) {
      this.ctx.tsUs = tsUs;
      if (ins === null) flow.inspectionDone = true;
      else this.finish(flow, ins);
      return;
    }
    if (ins === null) {
      if (v.proto !== IpProto.TCP && v.proto !== IpProto.UDP) {
        flow.inspectionDone = true; // nothing to dissect: classified by protocol alone
        return;
      }
      if (v.payloadLength === 0) {
        // No payload yet: remember where each side's stream starts, allocate nothing.
        if (v.proto === IpProto.TCP && v.tcpFlags & TcpFlag.SYN) {
          if (fromClient) flow.clientSynSeq = v.tcpSeq;
          else flow.serverSynSeq = v.tcpSeq;
        }
        return;
      }
      ins = new Inspection(v.proto === IpProto.TCP ? this.tcp : this.udp, this.limits.packets);
      flow.inspection = ins;
      this.inspectedFlows++;
      this.active.add(flow);
      if (this.active.size > this.limits.concurrent) {
        const oldest = this.active.values().next().value as Flow;
        this.cutShort++;
        this.ctx.tsUs = tsUs;
        this.finish(oldest);
      }
    }
    const ctx = this.ctx;
    ctx.proto = v.proto;
    ctx.clientPort = flow.clientPort;
    ctx.serverPort = flow.serverPort;
    ctx.tsUs = tsUs;
    const dir = fromClient ? 0 : 1;
    if (v.proto === IpProto.TCP) {
      let r = ins.reassembler[dir];
      if (r === null) {
        r = new StreamReassembler(this.limits.streamBytes);
        const synSeq = fromClient ? flow.clientSynSeq : flow.serverSynSeq;
        if (synSeq >= 0) r.syn(synSeq);
        ins.reassembler[dir] = r;
      }
      if (v.tcpFlags & TcpFlag.SYN) r.syn(v.tcpSeq);
      if (v.payloadLength > 0) {
        r.segment(v.tcpSeq, v.data, v.payloadOffset, v.payloadLength, fromClient ? this.fromClientSink(flow) : this.fromServerSink(flow));
        if (!ins.done && r.full && this.otherSideFull(ins, dir)) this.finish(flow, ins);
      }
    } else if (v.payloadLength > 0) {
      ins.datagrams[dir]++;
      this.bytes(flow, ins, fromClient, v.data, v.payloadOffset, v.payloadLength);
      if (!ins.done && ins.datagrams[0] + ins.datagrams[1] >= 2 * this.limits.datagrams) this.finish(flow, ins);
    }
  }

  // The reassembler's sink gets (data, offset, length); these closures are made once per flow
  // direction at most, not per packet.
  // Inspection may end (and be released) in the middle of a delivery: the sinks check.
  private fromClientSink(flow: Flow) {
    return (flow.clientSink ??= (b: Buffer, o: number, n: number) => {
      if (flow.inspection !== null) this.bytes(flow, flow.inspection, true, b, o, n);
    });
  }

  private fromServerSink(flow: Flow) {
    return (flow.serverSink ??= (b: Buffer, o: number, n: number) => {
      if (flow.inspection !== null) this.bytes(flow, flow.inspection, false, b, o, n);
    });
  }

  private otherSideFull(ins: Inspection, dir: number): boolean {
    const other = ins.reassembler[1 - dir];
    return other === null || other.full;
  }

  private bytes(flow: Flow, ins: Inspection, fromClient: boolean, b: Buffer, offset: number, length: number): void {
    if (ins.done) return;
    if (ins.state !== null) {
      this.feed(flow, ins, fromClient, b, offset, length);
      return;
    }
    const udp = this.ctx.proto === IpProto.UDP;
    if (ins.arrivals.length === 0 && ins.candidates.length > 0) {
      // The flow's first payload, which usually decides it: probed where it is, and copied only
      // if nobody claims it.
      const cap = this.limits.probeBytes;
      const n = udp || length < cap ? length : cap;
      const claimer = this.probe(ins, b, offset, n, fromClient, length >= cap);
      if (claimer !== null) {
        this.claim(flow, ins, claimer);
        if (!ins.done) this.feed(flow, ins, fromClient, b, offset, length);
        return;
      }
      this.keep(ins, fromClient, b, offset, length);
      if (ins.candidates.length === 0 && this.firstBytesFull(ins)) this.finish(flow, ins);
      return;
    }
    // Later payload while probing: keep the bytes (bounded) and their order, then ask again.
    const first = this.keep(ins, fromClient, b, offset, length);
    if (ins.candidates.length === 0) {
      // Nobody claimed it: only the first bytes for the guess are wanted.
      if (this.firstBytesFull(ins)) this.finish(flow, ins);
      return;
    }
    // TCP: probe the stream so far. UDP: probe this datagram alone, since datagram boundaries
    // and exact lengths are part of many UDP protocols' signatures.
    const claimer = udp ? this.probe(ins, b, offset, length, fromClient, first.full) : this.probe(ins, first.buf, 0, first.length, fromClient, first.full);
    if (claimer !== null) {
      this.claim(flow, ins, claimer);
      this.replay(flow, ins);
      return;
    }
    if (ins.candidates.length === 0 && this.firstBytesFull(ins)) this.finish(flow, ins);
  }

  /** Keep a direction's first bytes (bounded), and the order in which they came. */
  private keep(ins: Inspection, fromClient: boolean, b: Buffer, offset: number, length: number): ByteStore {
    const dir = fromClient ? 0 : 1;
    let first = ins.first[dir];
    if (first === null) {
      first = new ByteStore(this.limits.probeBytes);
      ins.first[dir] = first;
    }
    const start = first.length;
    first.append(b, offset, length);
    if (first.length > start) ins.arrivals.push([fromClient, start, first.length]);
    return first;
  }

  /**
   * Ask the remaining candidates about b[offset, offset + length): the one that says YES, or null
   * with the candidates narrowed to those that said MAYBE (and may still learn from more bytes).
   */
  private probe(ins: Inspection, b: Buffer, offset: number, length: number, fromClient: boolean, noMoreBytes: boolean): Dissector<unknown> | null {
    const remaining: Dissector<unknown>[] = [];
    for (const d of ins.candidates) {
      let verdict: Probe;
      try {
        verdict = d.probe(b, offset, length, fromClient, this.ctx);
      } catch {
        verdict = Probe.NO; // a dissector bug must not stop the pipeline
      }
      if (verdict === Probe.YES) return d;
      if (verdict === Probe.MAYBE && !noMoreBytes) remaining.push(d);
    }
    ins.candidates = remaining;
    return null;
  }

  private firstBytesFull(ins: Inspection): boolean {
    return (ins.first[0]?.full ?? false) && (ins.first[1]?.full ?? true);
  }

  /** A dissector claimed the flow: its state starts (the caller then feeds it what came so far). */
  private claim(flow: Flow, ins: Inspection, d: Dissector<unknown>): void {
    ins.candidates = [];
    flow.app = d.name;
    if (d.packets !== undefined && d.packets > ins.packetLimit) ins.packetLimit = d.packets;
    try {
      ins.state = d.start(this.ctx);
    } catch {
      this.finish(flow, ins);
    }
  }

  /** Feed the claiming dissector what arrived while probing, in order, then drop the copies. */
  private replay(flow: Flow, ins: Inspection): void {
    for (const [fromClient, start, end] of ins.arrivals) {
      if (ins.done) return;
      const first = ins.first[fromClient ? 0 : 1] as ByteStore;
      this.feed(flow, ins, fromClient, first.buf, start, end - start);
    }
    ins.arrivals.length = 0;
    ins.first[0] = ins.first[1] = null;
  }

  private feed(flow: Flow, ins: Inspection, fromClient: boolean, b: Buffer, offset: number, length: number): void {
    let final: boolean;
    try {
      final = (ins.state as DissectorState<unknown>).feed(b, offset, length, fromClient, this.ctx);
    } catch {
      final = true;
    }
    if (final) this.finish(flow, ins);
  }

  /** Stop inspecting: record the facts and free the buffers that are no longer needed. */
  finish(flow: Flow, ins: Inspection = flow.inspection as Inspection): void {
    if (ins === null || ins.done) return;
    ins.done = true;
    flow.inspectionDone = true;
    this.active.delete(flow);
    ins.reassembler = [null, null];
    ins.arrivals.length = 0;
    flow.clientSink = flow.serverSink = null;
    if (ins.state !== null) {
      let facts: unknown = null;
      try {
        facts = ins.state.facts();
      } catch {
        facts = null;
      }
      flow.facts = facts;
      // Claimed flows no longer need their first bytes; unclaimed ones keep them for the guess.
      ins.first[0] = ins.first[1] = null;
    }
    ins.state = null;
    this.onDone(flow, this.ctx.tsUs);
  }

  /** End the inspection of every flow that began before `startedBeforeUs` (live: stale inspections). */
  finishStarted(startedBeforeUs: number, tsUs: number): void {
    const stale: Flow[] = [];
    // Insertion order is the order inspections began, close to the flows' start order.
    for (const flow of this.active) if (flow.firstSeenUs < startedBeforeUs) stale.push(flow);
    this.ctx.tsUs = tsUs;
    for (const flow of stale) this.flowEnded(flow);
  }

  /** The flow ended: deliver what is queued behind gaps, and take the facts as they are. */
  flowEnded(flow: Flow): void {
    const ins = flow.inspection;
    if (ins === null || ins.done) return;
    for (let dir = 0; dir < 2 && !ins.done; dir++) {
      const r = ins.reassembler[dir];
      if (r !== null) r.flush(dir === 0 ? this.fromClientSink(flow) : this.fromServerSink(flow));
    }
    this.finish(flow, ins);
  }
}

