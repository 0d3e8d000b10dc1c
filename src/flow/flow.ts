/**
 * One bidirectional conversation. "Client" is the side that sent the first packet, or the
 * SYN when the handshake was seen (a SYN-ACK first means the other side is the client).
 */
export const TimeoutClass = { TCP_OPEN: 0, TCP_CLOSED: 1, UDP: 2, OTHER: 3 } as const;
export type TimeoutClass = (typeof TimeoutClass)[keyof typeof TimeoutClass];
export const TIMEOUT_CLASS_COUNT = 4;

import type { Verdict } from '../classify/verdict.js';
import type { Inspection } from '../dissect/inspector.js';
import type { StreamSink } from './reassembly.js';

export type FlowEndReason = 'idle' | 'closed' | 'evicted' | 'end-of-capture' | 'flush';

export class Flow {
  /** Position in the hash chain and in its timeout class's LRU list (intrusive, no wrappers). */
  hashKey = 0;
  hashNext: Flow | null = null;
  lruPrev: Flow | null = null;
  lruNext: Flow | null = null;
  timeoutClass: TimeoutClass = TimeoutClass.OTHER;

  /** Sequence number within the run; the store assigns the row id. */
  seq = 0;
  ipVersion = 4;
  proto = 0;
  vlan = 0;
  // Addresses as 32-bit words (IPv4 in c0/s0), plain fields rather than typed arrays: a typed
  // array costs hundreds of bytes per flow and slows the per-packet comparison.
  c0 = 0;
  c1 = 0;
  c2 = 0;
  c3 = 0;
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  clientPort = 0;
  serverPort = 0;
  /** MAC seen for each side at flow start (-1 if the link layer has none). */
  clientMac = -1;
  serverMac = -1;

  packetsC2S = 0;
  packetsS2C = 0;
  bytesC2S = 0;
  bytesS2C = 0;
  payloadC2S = 0;
  payloadS2C = 0;
  firstSeenUs = 0;
  lastSeenUs = 0;
  firstSeenS2CUs = 0;
  lastSeenS2CUs = 0;
  lastSeenC2SUs = 0;

  // TCP state
  synSeen = false;
  synAckSeen = false;
  handshakeComplete = false;
  finC2S = false;
  finS2C = false;
  rstSeen = false;

  /** Device id (MAC or IP) of the LAN-side endpoint this flow belongs to, or null. */
  deviceId: string | null = null;
  /** Device id of the other side when it is on the LAN too (LAN-to-LAN flows). */
  peerDeviceId: string | null = null;
  /** Whether deviceId is the client side (otherwise the device served the flow). */
  deviceIsClient = true;
  /** Index of the source (file or interface) that first saw the flow. */
  sourceIndex = 0;

  // Payload inspection (src/dissect): only while undecided; then the flow is just counters.
  inspection: Inspection | null = null;
  inspectionDone = false;
  /** Application protocol claimed by a dissector ('tls', 'http', …), null if none. */
  app: string | null = null;
  /** Name the device's own DNS answers gave the server's address shortly before the flow. */
  dnsName: string | null = null;
  /** The dissector's facts, only between the end of inspection and their hand-over to the store. */
  facts: unknown = null;
  /** Decided when inspection ends (or at flow end for flows never inspected). */
  verdict: Verdict | null = null;
  /** Sequence numbers of each side's SYN (-1 if not seen), for reassembly that starts later. */
  clientSynSeq = -1;
  serverSynSeq = -1;
  clientSink: StreamSink | null = null;
  serverSink: StreamSink | null = null;
  /** When a still-live flow's row was last written (daemon snapshots of long-lived flows), 0 if never. */
  storedUs = 0;
  /** Its device was forgotten while the flow was live: nothing more is recorded about it. */
  forgotten = false;

  clientWords(): [number, number, number, number] {
    return [this.c0, this.c1, this.c2, this.c3];
  }

  serverWords(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  tcpState(): string {
    if (this.proto !== 6) return '';
    if (this.rstSeen) return 'reset';
    if (this.finC2S && this.finS2C) return 'closed';
    if (this.finC2S || this.finS2C) return 'half-closed';
    if (this.handshakeComplete) return 'established';
    if (this.synAckSeen) return 'syn-ack';
    if (this.synSeen) return 'syn';
    return 'midstream';
  }
}
