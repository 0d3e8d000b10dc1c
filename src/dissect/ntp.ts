/**
 * NTP (RFC 5905, UDP 123): version, mode, stratum and reference id of each side, whether the
 * packets are authenticated (symmetric-key MAC, NTS extension fields), and the mode 6/7 control
 * queries (mode 7 MON_GETLIST is the classic amplification request). Time is public: nothing
 * here is secret.
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';

export const NTP_PORT = 123;
const NTP_HEADER = 48;

export const NTP_MODE_NAMES = ['reserved', 'symmetric active', 'symmetric passive', 'client', 'server', 'broadcast', 'control', 'private'];

export type NtpAuth = 'none' | 'symmetric-key' | 'nts' | 'autokey' | 'unknown';

export interface NtpPacketFacts {
  version: number;
  mode: number;
  mode_name: string;
  leap: number;
  stratum: number | null;
  poll: number | null;
  precision: number | null;
  /**
   * Reference id: a 4-character code (stratum 0 kiss codes and stratum 1 sources such as GPS),
   * an IPv4 address (stratum ≥ 2; for an IPv6 upstream it is the first bytes of a hash), or null.
   */
  reference_id: string | null;
  auth: NtpAuth;
  /** Extension field types (NTPv4), in order. */
  extensions: number[];
}

export interface NtpFacts {
  packets: number;
  /** Version and mode of the first packet. */
  version: number | null;
  mode: number | null;
  mode_name: string | null;
  /** Stratum and reference id of the server side when it answered, else of the first packet. */
  stratum: number | null;
  reference_id: string | null;
  /** First request-side packet (client, symmetric active, control/private request) and first answer-side packet. */
  client: NtpPacketFacts | null;
  server: NtpPacketFacts | null;
  /** True when any packet carried a MAC or NTS authenticator. */
  authenticated: boolean;
  /** Mode 6 opcode / mode 7 request code of the first control packet (7/42 = monlist). */
  control_opcode: number | null;
  private_request_code: number | null;
  malformed: number;
}

function printableRefId(b: Buffer, o: number): string | null {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[o + i];
    if (c === 0) break;
    if (c < 0x20 || c >= 0x7f) return null;
    s += String.fromCharCode(c);
  }
  return s.length > 0 ? s : null;
}

function referenceId(b: Buffer, o: number, stratum: number): string | null {
  const v = b.readUInt32BE(o);
  if (v === 0) return null;
  if (stratum <= 1) return printableRefId(b, o) ?? `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** What follows the 48-byte header: extension fields (RFC 7822), then an optional MAC. */
function trailer(b: Buffer, from: number, end: number, version: number): { auth: NtpAuth; extensions: number[] } {
  const extensions: number[] = [];
  let p = from;
  let rest = end - p;
  if (rest === 0) return { auth: 'none', extensions };
  // Legacy MAC: key id + MD5 (20) or SHA-1 (24); also a crypto-NAK (4).
  if (rest === 4 || rest === 20 || rest === 24) return { auth: 'symmetric-key', extensions };
  if (version < 4) return { auth: 'unknown', extensions };
  let nts = false;
  let autokey = false;
  for (let i = 0; i < 32 && rest >= 16; i++) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    if (len < 16 || len % 4 !== 0 || len > rest) break;
    extensions.push(type);
    // NTS (RFC 8915): Unique Identifier 0x0104, Cookie 0x0204, Cookie Placeholder 0x0304, Authenticator 0x0404.
    if (type === 0x0104 || type === 0x0204 || type === 0x0304 || type === 0x0404) nts = true;
    // Autokey (RFC 5906): R and E flags, a 6-bit code, version 2 in the low byte.
    else if ((type & 0xff) === 0x02 && ((type >> 8) & 0x3f) >= 1 && ((type >> 8) & 0x3f) <= 10) autokey = true;
    p += len;
    rest -= len;
  }
  if (nts) return { auth: 'nts', extensions };
  if (rest === 20 || rest === 24) return { auth: autokey ? 'autokey' : 'symmetric-key', extensions };
  if (rest === 0) return { auth: autokey ? 'autokey' : 'none', extensions };
  return { auth: 'unknown', extensions };
}

/** Parse the packet in b[off, off + len): null when it cannot be NTP. */
export function parseNtp(
  b: Buffer,
  off: number,
  len: number,
): (NtpPacketFacts & { controlOpcode: number | null; privateRequestCode: number | null; response: boolean }) | null {
  if (len < 1) return null;
  const first = b[off];
  const version = (first >> 3) & 7;
  const mode = first & 7;
  if (version < 1 || version > 4 || mode === 0) return null;
  // Who speaks: server, symmetric passive and broadcast modes, and control/private responses (R bit).
  const response = mode === 2 || mode === 4 || mode === 5 || (mode === 6 && len > 1 && (b[off + 1] & 0x80) !== 0) || (mode === 7 && (first & 0x80) !== 0);
  const base = { version, mode, mode_name: NTP_MODE_NAMES[mode], leap: first >> 6, controlOpcode: null as number | null, privateRequestCode: null as number | null, response };
  if (mode === 6) {
    if (len < 12) return null;
    return { ...base, stratum: null, poll: null, precision: null, reference_id: null, auth: 'none', extensions: [], controlOpcode: b[off + 1] & 0x1f };
  }
  if (mode === 7) {
    if (len < 8) return null;
    return { ...base, stratum: null, poll: null, precision: null, reference_id: null, auth: 'none', extensions: [], privateRequestCode: b[off + 3] };
  }
  if (len < NTP_HEADER) return null;
  const stratum = b[off + 1];
  const tr = trailer(b, off + NTP_HEADER, off + len, version);
  return {
    ...base,
    stratum,
    poll: b.readInt8(off + 2),
    precision: b.readInt8(off + 3),
    reference_id: referenceId(b, off + 12, stratum),
    auth: tr.auth,
    extensions: tr.extensions,
  };
}

const MAX_PACKETS = 4;

class NtpState implements DissectorState<NtpFacts> {
  private readonly f: NtpFacts = {
    packets: 0,
    version: null,
    mode: null,
    mode_name: null,
    stratum: null,
    reference_id: null,
    client: null,
    server: null,
    authenticated: false,
    control_opcode: null,
    private_request_code: null,
    malformed: 0,
  };

  feed(data: Buffer, offset: number, length: number): boolean {
    const f = this.f;
    const p = parseNtp(data, offset, length);
    if (p === null) {
      f.malformed++;
      return f.packets + f.malformed >= MAX_PACKETS;
    }
    f.packets++;
    const { controlOpcode, privateRequestCode, response, ...pkt } = p;
    if (f.version === null) {
      f.version = pkt.version;
      f.mode = pkt.mode;
      f.mode_name = pkt.mode_name;
      f.stratum = pkt.stratum;
      f.reference_id = pkt.reference_id;
    }
    // The role comes from the mode, not the direction: captures often hold only one side.
    if (!response && f.client === null) f.client = pkt;
    if (response && f.server === null) {
      f.server = pkt;
      if (pkt.stratum !== null) {
        f.stratum = pkt.stratum;
        f.reference_id = pkt.reference_id;
      }
    }
    if (pkt.auth === 'symmetric-key' || pkt.auth === 'nts' || pkt.auth === 'autokey') f.authenticated = true;
    if (controlOpcode !== null && f.control_opcode === null) f.control_opcode = controlOpcode;
    if (privateRequestCode !== null && f.private_request_code === null) f.private_request_code = privateRequestCode;
    // A request and its answer say it all.
    return (f.client !== null && f.server !== null) || f.packets + f.malformed >= MAX_PACKETS;
  }

  facts(): NtpFacts {
    return this.f;
  }
}

export const ntpDissector: Dissector<NtpFacts> = {
  name: 'ntp',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17 || (ctx.serverPort !== NTP_PORT && ctx.clientPort !== NTP_PORT)) return Probe.NO;
    if (length < 1) return Probe.NO;
    const version = (data[offset] >> 3) & 7;
    const mode = data[offset] & 7;
    if (version < 1 || version > 4 || mode === 0) return Probe.NO;
    if (mode === 6) return length >= 12 ? Probe.YES : Probe.NO;
    if (mode === 7) return length >= 8 ? Probe.YES : Probe.NO;
    return length >= NTP_HEADER ? Probe.YES : Probe.NO;
  },
  start(): DissectorState<NtpFacts> {
    return new NtpState();
  },
};
