/**
 * STUN / TURN (RFC 5389/8489, 8656; classic RFC 3489) over UDP (and TCP): message types, the
 * SOFTWARE attribute, whether messages are authenticated (MESSAGE-INTEGRITY), whether this is
 * ICE connectivity checking or a TURN relay, and the public address the server reported.
 *
 * STUN itself is clear text signalling. The media that follows on the same 5-tuple is told apart
 * as RFC 7983 does by the first byte: DTLS records (20..63) mean DTLS or DTLS-SRTP (encrypted);
 * RTP/RTCP (128..191) without DTLS may be SRTP keyed elsewhere (SDES) or plain RTP: not decidable
 * from headers, so it is reported as such.
 */
import { ipv6Text } from './dns.js';
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_PORTS = [3478, 3479, 5349, 19302];

const METHOD_NAMES: Record<number, string> = {
  0x001: 'Binding',
  0x002: 'SharedSecret',
  0x003: 'Allocate',
  0x004: 'Refresh',
  0x006: 'Send',
  0x007: 'Data',
  0x008: 'CreatePermission',
  0x009: 'ChannelBind',
  0x00a: 'Connect',
  0x00b: 'ConnectionBind',
  0x00c: 'ConnectionAttempt',
};
const CLASS_NAMES = ['request', 'indication', 'success', 'error'] as const;
export type StunClass = (typeof CLASS_NAMES)[number];

export interface StunFacts {
  /** STUN messages parsed (ChannelData and media not included). */
  messages: number;
  /** Method and class of the first message, e.g. "Binding request". */
  message_type: string | null;
  methods: string[];
  classes: StunClass[];
  /** RFC 3489 messages (no magic cookie) were seen. */
  classic: boolean;
  software: string | null;
  realm: string | null;
  /** USERNAME present (ICE ufrags or TURN user; not kept). */
  username_present: boolean;
  /** MESSAGE-INTEGRITY(-SHA256) present: the messages are authenticated. */
  message_integrity: boolean;
  fingerprint: boolean;
  /** ICE attributes (PRIORITY, USE-CANDIDATE, ICE-CONTROLLED/CONTROLLING). */
  ice: boolean;
  /** TURN methods or ChannelData frames: traffic is relayed. */
  turn: boolean;
  /** (XOR-)MAPPED-ADDRESS from the first success response: the client's address as the server saw it. */
  mapped_address: string | null;
  error_code: number | null;
  /** Distinct attribute types seen, capped. */
  attribute_types: number[];
  channel_data: number;
  /** Other traffic on the same flow, by RFC 7983 first-byte ranges. */
  dtls_records: number;
  rtp_packets: number;
  /** DTLS seen on the flow: the media/data channel is encrypted. STUN alone is not. */
  encrypted: boolean;
  malformed: number;
}

const MAX_ATTRS = 64;
const MAX_ATTR_TYPES = 32;
const MAX_UNITS = 16;
const MAX_TEXT = 128;
const TCP_BUFFER = 4096;

function text(b: Buffer, from: number, to: number): string {
  return asciiOfBytes(b, from, to, MAX_TEXT, true).trim();
}

function ipv6(words: number[]): string {
  const raw = Buffer.alloc(16);
  words.forEach((w, i) => raw.writeUInt32BE(w >>> 0, 4 * i));
  return ipv6Text(raw, 0);
}

/** MAPPED-ADDRESS (xor = false) or XOR-MAPPED-ADDRESS value at b[s, e). */
function address(b: Buffer, s: number, e: number, xor: boolean, msgStart: number): string | null {
  if (e - s < 8) return null;
  const family = b[s + 1];
  let port = b.readUInt16BE(s + 2);
  if (xor) port ^= STUN_MAGIC_COOKIE >>> 16;
  if (family === 1) {
    let a = b.readUInt32BE(s + 4);
    if (xor) a = (a ^ STUN_MAGIC_COOKIE) >>> 0;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${port}`;
  }
  if (family === 2 && e - s >= 20) {
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      let w = b.readUInt32BE(s + 4 + 4 * i);
      // XOR with the magic cookie and the 96-bit transaction id (bytes 4..20 of the header).
      if (xor) w = (w ^ b.readUInt32BE(msgStart + 4 + 4 * i)) >>> 0;
      words.push(w);
    }
    return `[${ipv6(words)}]:${port}`;
  }
  return null;
}

/** Attributes of a message body b[from, end) as [type, start, end], or null if they do not tile it. */
function attributes(b: Buffer, from: number, end: number, padded: boolean): [number, number, number][] | null {
  const out: [number, number, number][] = [];
  let p = from;
  for (let i = 0; i < MAX_ATTRS && p < end; i++) {
    if (p + 4 > end) return null;
    const at = b.readUInt16BE(p);
    const alen = b.readUInt16BE(p + 2);
    const s = p + 4;
    if (s + alen > end) return null;
    out.push([at, s, s + alen]);
    p = s + (padded ? (alen + 3) & ~3 : alen);
  }
  return p === end || out.length === MAX_ATTRS ? out : null;
}

/** Length of the STUN message at b[off…] if the header is valid (20 + body), else -1. */
export function stunMessageLength(b: Buffer, off: number, avail: number, requireCookie: boolean): number {
  if (avail < 20 || (b[off] & 0xc0) !== 0) return -1;
  const len = (b[off + 2] << 8) | b[off + 3];
  const cookie = b.readUInt32BE(off + 4) === STUN_MAGIC_COOKIE;
  if (requireCookie && !cookie) return -1;
  return 20 + len;
}

class StunState implements DissectorState<StunFacts> {
  private readonly f: StunFacts = {
    messages: 0,
    message_type: null,
    methods: [],
    classes: [],
    classic: false,
    software: null,
    realm: null,
    username_present: false,
    message_integrity: false,
    fingerprint: false,
    ice: false,
    turn: false,
    mapped_address: null,
    error_code: null,
    attribute_types: [],
    channel_data: 0,
    dtls_records: 0,
    rtp_packets: 0,
    encrypted: false,
    malformed: 0,
  };
  private units = 0;
  private readonly tcp: boolean;
  private readonly pending: [Buffer | null, Buffer | null] = [null, null];

  constructor(ctx: DissectContext) {
    this.tcp = ctx.proto === 6;
  }

  feed(b: Buffer, off: number, len: number, fromClient: boolean): boolean {
    if (!this.tcp) {
      this.unit(b, off, len);
      return this.done();
    }
    // TCP: messages back to back (ChannelData padded to 4). Keep a small per-direction buffer.
    const side = fromClient ? 0 : 1;
    const prev = this.pending[side];
    const room = TCP_BUFFER - (prev ? prev.length : 0);
    const add = b.subarray(off, off + Math.min(len, Math.max(room, 0)));
    let buf = prev ? Buffer.concat([prev, add]) : Buffer.from(add);
    let p = 0;
    while (p < buf.length && !this.done()) {
      const first = buf[p];
      let need: number;
      if (first < 4) {
        if (buf.length - p < 20) break;
        need = stunMessageLength(buf, p, buf.length - p, false);
      } else if (first >= 0x40 && first < 0x80) {
        if (buf.length - p < 4) break;
        need = (4 + buf.readUInt16BE(p + 2) + 3) & ~3;
      } else {
        need = -1;
      }
      if (need < 0) {
        // Not STUN framing any more (e.g. TLS after a STUN exchange): stop looking.
        this.f.malformed++;
        buf = Buffer.alloc(0);
        p = 0;
        this.units = MAX_UNITS;
        break;
      }
      if (buf.length - p < need) {
        if (need > TCP_BUFFER) {
          this.units = MAX_UNITS;
          buf = Buffer.alloc(0);
          p = 0;
        }
        break;
      }
      this.unit(buf, p, need);
      p += need;
    }
    this.pending[side] = p < buf.length ? Buffer.from(buf.subarray(p)) : null;
    return this.done();
  }

  private done(): boolean {
    return this.units >= MAX_UNITS || this.f.encrypted;
  }

  /** One datagram (UDP) or framed unit (TCP). */
  private unit(b: Buffer, off: number, len: number): void {
    const f = this.f;
    this.units++;
    if (len < 1) {
      f.malformed++;
      return;
    }
    const first = b[off];
    if (first < 4) {
      this.message(b, off, len);
    } else if (first >= 20 && first <= 63) {
      if (len >= 13 && b[off + 1] === 0xfe) {
        f.dtls_records++;
        f.encrypted = true;
      } else {
        f.malformed++;
      }
    } else if (first >= 64 && first <= 79) {
      f.channel_data++;
      f.turn = true;
    } else if (first >= 128 && first <= 191) {
      f.rtp_packets++;
    } else if (first === 0xff && len >= 12 && b[off + 1] === 0x10) {
      // MS-TURN multiplexed channel 0xFF10: length, 8-byte session id, then STUN/RTP/DTLS.
      f.turn = true;
      f.channel_data++;
      const inner = b[off + 12];
      if (len > 12 && inner !== 0xff) this.unit(b, off + 12, len - 12);
      this.units--;
    } else {
      f.malformed++;
    }
  }

  private message(b: Buffer, off: number, len: number): void {
    const f = this.f;
    const total = stunMessageLength(b, off, len, false);
    if (total < 0 || total > len || (total % 4 !== 0 && b.readUInt32BE(off + 4) !== STUN_MAGIC_COOKIE)) {
      f.malformed++;
      return;
    }
    const type = b.readUInt16BE(off);
    const cookie = b.readUInt32BE(off + 4) === STUN_MAGIC_COOKIE;
    if (!cookie) f.classic = true;
    const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
    const cls = CLASS_NAMES[((type >> 4) & 1) | ((type >> 7) & 2)];
    const methodName = METHOD_NAMES[method] ?? `0x${method.toString(16).padStart(3, '0')}`;
    f.messages++;
    if (f.message_type === null) f.message_type = `${methodName} ${cls}`;
    if (!f.methods.includes(methodName) && f.methods.length < 16) f.methods.push(methodName);
    if (!f.classes.includes(cls)) f.classes.push(cls);
    if (method >= 0x003 && method <= 0x00c) f.turn = true;
    const end = off + total;
    // RFC 5389 pads attributes to 4 bytes; MS-TURN (Teams, Skype) and some classic stacks do not,
    // which shows as a body length that is not a multiple of 4 or attributes that do not line up.
    const attrs = attributes(b, off + 20, end, true) ?? attributes(b, off + 20, end, false);
    if (attrs === null) {
      f.malformed++;
      return;
    }
    // Microsoft's MS-TURN dialect (Teams, Skype for Business) marks itself with a MAGIC-COOKIE
    // (0x000F) or MS-VERSION (0x8008) attribute; it numbers NONCE 0x0014 and REALM 0x0015 (the
    // reverse of RFC 5389) and its MAPPED-ADDRESS in an Allocate answer is the relayed address.
    const ms = attrs.some(([at]) => at === 0x000f || at === 0x8008);
    let mapped: string | null = null;
    let xorMapped: string | null = null;
    for (const [at, s, e] of attrs) {
      const alen = e - s;
      if (f.attribute_types.length < MAX_ATTR_TYPES && !f.attribute_types.includes(at)) f.attribute_types.push(at);
      switch (at) {
        case 0x8022:
          f.software ??= text(b, s, e);
          break;
        case 0x0014:
        case 0x0015:
          if ((at === 0x0015) === ms) f.realm ??= text(b, s, e).replace(/^"(.*)"$/, '$1');
          break;
        case 0x0006:
          f.username_present = true;
          break;
        case 0x0008:
        case 0x001c:
          f.message_integrity = true;
          break;
        case 0x8028:
          f.fingerprint = true;
          break;
        case 0x0024:
        case 0x0025:
        case 0x8029:
        case 0x802a:
          f.ice = true;
          break;
        case 0x0009:
          if (alen >= 4 && f.error_code === null) f.error_code = (b[s + 2] & 7) * 100 + b[s + 3];
          break;
        case 0x0020:
        case 0x8020: // pre-RFC 5389 XOR-MAPPED-ADDRESS code, still sent by some servers (and MS-TURN)
          xorMapped ??= address(b, s, e, true, off);
          break;
        case 0x0001:
          if (!ms) mapped ??= address(b, s, e, false, off);
          break;
      }
    }
    if (cls === 'success' && f.mapped_address === null) f.mapped_address = xorMapped ?? mapped;
  }

  facts(): StunFacts {
    return this.f;
  }
}

function classicBinding(type: number): boolean {
  return type === 0x0001 || type === 0x0101 || type === 0x0111 || type === 0x0002 || type === 0x0102 || type === 0x0112;
}

export const stunDissector: Dissector<StunFacts> = {
  name: 'stun',
  transports: ['udp', 'tcp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (length < 20) {
      // TCP may hand over fewer bytes first.
      return ctx.proto === 6 && length > 0 && data[offset] < 2 ? Probe.MAYBE : Probe.NO;
    }
    const withCookie = stunMessageLength(data, offset, length, true);
    if (withCookie > 0) {
      if (ctx.proto === 17) return withCookie === length ? Probe.YES : Probe.NO;
      return withCookie <= length || withCookie <= TCP_BUFFER ? Probe.YES : Probe.NO;
    }
    // Classic STUN: only on STUN ports, with an exact length and a Binding/SharedSecret type.
    const onPort = STUN_PORTS.includes(ctx.serverPort) || STUN_PORTS.includes(ctx.clientPort);
    if (!onPort || ctx.proto !== 17) return Probe.NO;
    const total = stunMessageLength(data, offset, length, false);
    return total === length && classicBinding((data[offset] << 8) | data[offset + 1]) ? Probe.YES : Probe.NO;
  },
  start(ctx: DissectContext): DissectorState<StunFacts> {
    return new StunState(ctx);
  },
};
