/**
 * OpenVPN (UDP or TCP, default port 1194): an encrypted tunnel. The control channel is TLS inside
 * OpenVPN's reliability layer, optionally wrapped by tls-auth (HMAC) or tls-crypt/tls-crypt-v2
 * (encrypted too); the data channel is encrypted with the negotiated cipher.
 *
 * Packet: opcode (5 bits) and key id (3 bits), then for control packets the 8-byte session id,
 * [tls-auth: HMAC, packet id, net time], ack array, message packet id, payload. Over TCP each
 * packet has a 2-byte length prefix. The protection of the control channel is recognised on the
 * client's hard reset: its replay packet id is 1 and is followed by a plausible Unix time.
 */
import { LengthPrefixedFramer } from './dns.js';
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';

export const OPENVPN_PORT = 1194;

export const OPENVPN_OPCODES: Record<number, string> = {
  1: 'P_CONTROL_HARD_RESET_CLIENT_V1',
  2: 'P_CONTROL_HARD_RESET_SERVER_V1',
  3: 'P_CONTROL_SOFT_RESET_V1',
  4: 'P_CONTROL_V1',
  5: 'P_ACK_V1',
  6: 'P_DATA_V1',
  7: 'P_CONTROL_HARD_RESET_CLIENT_V2',
  8: 'P_CONTROL_HARD_RESET_SERVER_V2',
  9: 'P_DATA_V2',
  10: 'P_CONTROL_HARD_RESET_CLIENT_V3',
  11: 'P_CONTROL_WKC_V1',
};

export type OpenvpnProtection = 'none' | 'tls-auth' | 'tls-crypt' | 'tls-crypt-v2';

export interface OpenvpnFacts {
  /** Always true: OpenVPN is an encrypted tunnel. */
  encrypted: true;
  tunnel: true;
  transport: 'udp' | 'tcp';
  packets: number;
  /** Opcode name of the first packet, and all seen. */
  opcode: string | null;
  opcodes: string[];
  key_id: number | null;
  /** Session ids (hex) of the client and the server. */
  client_session_id: string | null;
  server_session_id: string | null;
  /** How the control channel is protected beyond TLS, from the client's hard reset. */
  control_protection: OpenvpnProtection | null;
  /** HMAC size for tls-auth (16 MD5, 20 SHA1, 32 SHA256, 64 SHA512). */
  hmac_size: number | null;
  /** A TLS record was seen in a (non-tls-crypt) control packet. */
  tls_seen: boolean;
  data_packets: number;
  malformed: number;
}

const HMAC_SIZES = [20, 32, 64, 16, 48];
/** 2001-09-09 .. 2106: a net_time field must look like a Unix time. */
const MIN_TIME = 1_000_000_000;
const MAX_PACKETS = 12;
const TCP_CAP = 2048;

function isControl(op: number): boolean {
  return op >= 1 && op <= 11 && op !== 6 && op !== 9;
}

function plausibleTime(b: Buffer, o: number): boolean {
  return b.readUInt32BE(o) >= MIN_TIME;
}

export interface ResetLayout {
  protection: OpenvpnProtection;
  hmac: number | null;
}

/**
 * Recognise the layout of a control packet sent first by a client (a hard reset): returns its
 * protection, or null when it does not have the shape of one.
 */
export function clientResetLayout(b: Buffer, off: number, len: number): ResetLayout | null {
  const op = b[off] >> 3;
  if (op !== 7 && op !== 10 && op !== 1) return null;
  if ((b[off] & 7) !== 0) return null; // key id 0 on a hard reset
  // tls-crypt(-v2): session id, packet id 1, time, 32-byte tag, then the encrypted rest.
  if (len >= 9 + 8 + 32 + 5 && b.readUInt32BE(off + 9) === 1 && plausibleTime(b, off + 13)) {
    return { protection: op === 10 ? 'tls-crypt-v2' : 'tls-crypt', hmac: null };
  }
  if (op === 10) return null;
  // tls-auth: session id, HMAC, packet id 1, time, ack count 0, message packet id 0.
  for (const h of HMAC_SIZES) {
    const p = off + 9 + h;
    if (len >= 9 + h + 13 && b.readUInt32BE(p) === 1 && plausibleTime(b, p + 4) && b[p + 8] === 0 && b.readUInt32BE(p + 9) === 0) {
      return { protection: 'tls-auth', hmac: h };
    }
  }
  // Plain: session id, ack count 0, message packet id 0 (payload optional: early negotiation TLVs).
  if (len >= 14 && b[off + 9] === 0 && b.readUInt32BE(off + 10) === 0) return { protection: 'none', hmac: null };
  return null;
}

class OpenvpnState implements DissectorState<OpenvpnFacts> {
  private readonly f: OpenvpnFacts;
  private readonly framers: [LengthPrefixedFramer, LengthPrefixedFramer] | null;
  private done = false;

  constructor(ctx: DissectContext) {
    const tcp = ctx.proto === 6;
    this.f = {
      encrypted: true,
      tunnel: true,
      transport: tcp ? 'tcp' : 'udp',
      packets: 0,
      opcode: null,
      opcodes: [],
      key_id: null,
      client_session_id: null,
      server_session_id: null,
      control_protection: null,
      hmac_size: null,
      tls_seen: false,
      data_packets: 0,
      malformed: 0,
    };
    this.framers = tcp ? [new LengthPrefixedFramer(TCP_CAP), new LengthPrefixedFramer(TCP_CAP)] : null;
  }

  feed(b: Buffer, off: number, len: number, fromClient: boolean): boolean {
    if (this.done) return true;
    if (this.framers === null) this.packet(b, off, len, fromClient);
    else this.framers[fromClient ? 0 : 1].push(b, off, len, (pb, po, pl) => (this.packet(pb, po, pl, fromClient), this.done));
    return this.done;
  }

  private packet(b: Buffer, off: number, len: number, fromClient: boolean): void {
    const f = this.f;
    if (len < 1) {
      f.malformed++;
      return;
    }
    const op = b[off] >> 3;
    const name = OPENVPN_OPCODES[op];
    if (name === undefined) {
      f.malformed++;
      this.done = f.packets + f.malformed >= MAX_PACKETS;
      return;
    }
    f.packets++;
    if (f.opcode === null) {
      f.opcode = name;
      f.key_id = b[off] & 7;
    }
    if (!f.opcodes.includes(name)) f.opcodes.push(name);
    if (!isControl(op)) {
      f.data_packets++;
    } else if (len >= 9) {
      const sid = b.toString('hex', off + 1, off + 9);
      if (fromClient) f.client_session_id ??= sid;
      else f.server_session_id ??= sid;
      if (fromClient && f.control_protection === null && (op === 7 || op === 10 || op === 1)) {
        const layout = clientResetLayout(b, off, len);
        if (layout) {
          f.control_protection = layout.protection;
          f.hmac_size = layout.hmac;
        }
      }
      if (op === 4 && !f.tls_seen && f.control_protection !== 'tls-crypt' && f.control_protection !== 'tls-crypt-v2') {
        // P_CONTROL_V1: session, [hmac + 8], ack array, packet id, then a TLS record.
        const h = f.control_protection === 'tls-auth' && f.hmac_size !== null ? f.hmac_size + 8 : 0;
        let p = off + 9 + h;
        if (p < off + len) {
          const acks = b[p];
          p += 1 + (acks > 0 ? 4 * acks + 8 : 0) + 4;
          if (p + 3 <= off + len && b[p] >= 20 && b[p] <= 23 && b[p + 1] === 3) f.tls_seen = true;
        }
      }
    } else {
      f.malformed++;
    }
    this.done = f.data_packets > 0 || f.tls_seen || f.packets + f.malformed >= MAX_PACKETS;
  }

  facts(): OpenvpnFacts {
    return this.f;
  }
}

function probeUnit(b: Buffer, off: number, len: number, fromClient: boolean, onPort: boolean): Probe {
  if (len < 1) return Probe.NO;
  const op = b[off] >> 3;
  if (OPENVPN_OPCODES[op] === undefined) return Probe.NO;
  if (fromClient && clientResetLayout(b, off, len) !== null) return Probe.YES;
  if (!onPort) return Probe.NO;
  // On the OpenVPN port: any control packet with a session id, or data.
  if (isControl(op)) return len >= 9 ? Probe.YES : Probe.NO;
  return len >= 5 ? Probe.YES : Probe.NO;
}

export const openvpnDissector: Dissector<OpenvpnFacts> = {
  name: 'openvpn',
  transports: ['udp', 'tcp'],
  probe(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
    const onPort = ctx.serverPort === OPENVPN_PORT || ctx.clientPort === OPENVPN_PORT;
    if (ctx.proto === 17) return probeUnit(data, offset, length, fromClient, onPort);
    if (ctx.proto !== 6) return Probe.NO;
    if (length < 3) return onPort ? Probe.MAYBE : Probe.NO;
    const plen = (data[offset] << 8) | data[offset + 1];
    if (plen < 1 || plen > 1600) return Probe.NO;
    // The first packet must be whole to be judged (a client reset is small).
    if (length - 2 < plen) return plen <= 256 ? Probe.MAYBE : Probe.NO;
    return probeUnit(data, offset + 2, plen, fromClient, onPort);
  },
  start(ctx: DissectContext): DissectorState<OpenvpnFacts> {
    return new OpenvpnState(ctx);
  },
};
