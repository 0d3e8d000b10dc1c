/**
 * WireGuard (UDP, default port 51820): an encrypted tunnel (Noise IK, ChaCha20-Poly1305). Every
 * message type has a fixed layout: 1 handshake initiation (148 bytes), 2 handshake response (92),
 * 3 cookie reply (64), 4 transport data (16-byte header + at least a 16-byte tag, payload padded
 * to 16). The first byte is the type and the next three are zero.
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';

export const WIREGUARD_PORT = 51820;

export const WG_INITIATION = 1;
export const WG_RESPONSE = 2;
export const WG_COOKIE_REPLY = 3;
export const WG_TRANSPORT = 4;

const SIZES: Record<number, number> = { 1: 148, 2: 92, 3: 64 };
const NAMES = ['', 'handshake initiation', 'handshake response', 'cookie reply', 'transport data'];

export interface WireguardFacts {
  /** Always true: WireGuard is an encrypted tunnel. */
  encrypted: true;
  tunnel: true;
  messages: number;
  message_types: string[];
  handshake_initiations: number;
  handshake_responses: number;
  cookie_replies: number;
  transport_packets: number;
  /** Transport packets with an empty payload (32 bytes). */
  keepalives: number;
  /** Sender index of the first initiation and of the response (hex, little-endian as on the wire). */
  initiator_index: string | null;
  responder_index: string | null;
  /** A handshake carried a non-zero mac2 or a cookie reply was seen: the responder is under load. */
  under_load: boolean;
  malformed: number;
}

const MAX_MESSAGES = 8;

/** Message type when b[off, off + len) has the exact shape of a WireGuard message, else 0. */
export function wireguardType(b: Buffer, off: number, len: number): number {
  if (len < 32 || b[off + 1] !== 0 || b[off + 2] !== 0 || b[off + 3] !== 0) return 0;
  const t = b[off];
  if (t >= 1 && t <= 3) return len === SIZES[t] ? t : 0;
  if (t === 4) return (len - 16) % 16 === 0 ? 4 : 0;
  return 0;
}

function allZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

class WireguardState implements DissectorState<WireguardFacts> {
  private readonly f: WireguardFacts = {
    encrypted: true,
    tunnel: true,
    messages: 0,
    message_types: [],
    handshake_initiations: 0,
    handshake_responses: 0,
    cookie_replies: 0,
    transport_packets: 0,
    keepalives: 0,
    initiator_index: null,
    responder_index: null,
    under_load: false,
    malformed: 0,
  };

  feed(b: Buffer, off: number, len: number): boolean {
    const f = this.f;
    const t = wireguardType(b, off, len);
    if (t === 0) {
      f.malformed++;
      return f.messages + f.malformed >= MAX_MESSAGES;
    }
    f.messages++;
    if (!f.message_types.includes(NAMES[t])) f.message_types.push(NAMES[t]);
    switch (t) {
      case WG_INITIATION:
        f.handshake_initiations++;
        f.initiator_index ??= b.toString('hex', off + 4, off + 8);
        if (!allZero(b, off + 132, off + 148)) f.under_load = true;
        break;
      case WG_RESPONSE:
        f.handshake_responses++;
        f.responder_index ??= b.toString('hex', off + 4, off + 8);
        if (!allZero(b, off + 76, off + 92)) f.under_load = true;
        break;
      case WG_COOKIE_REPLY:
        f.cookie_replies++;
        f.under_load = true;
        break;
      case WG_TRANSPORT:
        f.transport_packets++;
        if (len === 32) f.keepalives++;
        break;
    }
    // A completed handshake, or a few data packets, decide it.
    return (f.handshake_initiations > 0 && f.handshake_responses > 0) || f.messages + f.malformed >= MAX_MESSAGES;
  }

  facts(): WireguardFacts {
    return this.f;
  }
}

export const wireguardDissector: Dissector<WireguardFacts> = {
  name: 'wireguard',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17) return Probe.NO;
    const t = wireguardType(data, offset, length);
    if (t === 0) return Probe.NO;
    // Handshake messages have an exact size and three zero bytes: reliable on any port.
    if (t !== WG_TRANSPORT) return Probe.YES;
    if (ctx.serverPort === WIREGUARD_PORT || ctx.clientPort === WIREGUARD_PORT) return Probe.YES;
    // Transport data elsewhere: the 64-bit little-endian counter starts at 0, so its top bytes
    // are zero for any real session; with the type/reserved bytes that is 7 fixed bytes.
    return data[offset + 13] === 0 && data[offset + 14] === 0 && data[offset + 15] === 0 ? Probe.YES : Probe.MAYBE;
  },
  start(): DissectorState<WireguardFacts> {
    return new WireguardState();
  },
};
