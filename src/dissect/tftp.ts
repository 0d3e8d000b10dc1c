/**
 * TFTP (RFC 1350, options RFC 2347-2349, 7440), UDP 69: the file asked for or sent (firmware and
 * configuration names matter), the transfer mode and options. TFTP has no authentication and no
 * encryption at all.
 *
 * The request goes to port 69; the transfer itself runs between two other ports (the server
 * picks a new one), so it is a separate flow: recognised here by structure (DATA block 1 of a
 * full 512-byte block, or an OACK naming a known option), and reported as a transfer without a
 * file name. Linking it to its request is the flow engine's business.
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export const TFTP_PORT = 69;

export const TFTP_OPCODES = ['', 'RRQ', 'WRQ', 'DATA', 'ACK', 'ERROR', 'OACK'];

export interface TftpFacts {
  packets: number;
  /** Opcode of the first packet and its name (RRQ, WRQ, DATA, ACK, ERROR, OACK). */
  opcode: number | null;
  opcode_name: string | null;
  /** From a RRQ/WRQ: 'read' (device downloads) or 'write' (device uploads). */
  operation: 'read' | 'write' | null;
  filename: string | null;
  /** netascii, octet or mail (lower case). */
  mode: string | null;
  /** Options of the request or OACK (blksize, tsize, timeout, windowsize…), names lower case. */
  options: Record<string, string>;
  error_code: number | null;
  error_message: string | null;
  /** Transfer flows: DATA packets, payload bytes carried, highest block number, ACKs. */
  data_blocks: number;
  data_bytes: number;
  last_block: number | null;
  acks: number;
  malformed: number;
}

const MAX_STRING = 256;
const MAX_OPTIONS = 8;
const MAX_PACKETS = 8;
const KNOWN_OPTIONS = ['blksize', 'tsize', 'timeout', 'windowsize', 'multicast', 'rollover', 'utimeout'];
const MODES = ['netascii', 'octet', 'mail'];

/** NUL-terminated strings in b[from, end): at most `max`; the last must be terminated. */
function cStrings(b: Buffer, from: number, end: number, max: number): string[] | null {
  const out: string[] = [];
  let p = from;
  while (p < end && out.length < max) {
    const z = b.indexOf(0, p);
    if (z < 0 || z >= end) return null;
    out.push(asciiOfBytes(b, p, z, MAX_STRING));
    p = z + 1;
  }
  return out;
}

class TftpState implements DissectorState<TftpFacts> {
  private readonly f: TftpFacts = {
    packets: 0,
    opcode: null,
    opcode_name: null,
    operation: null,
    filename: null,
    mode: null,
    options: {},
    error_code: null,
    error_message: null,
    data_blocks: 0,
    data_bytes: 0,
    last_block: null,
    acks: 0,
    malformed: 0,
  };

  feed(b: Buffer, off: number, len: number): boolean {
    const f = this.f;
    const end = off + len;
    const op = len >= 2 ? (b[off] << 8) | b[off + 1] : 0;
    if (op < 1 || op > 6) {
      f.malformed++;
      return f.packets + f.malformed >= MAX_PACKETS;
    }
    f.packets++;
    if (f.opcode === null) {
      f.opcode = op;
      f.opcode_name = TFTP_OPCODES[op];
    }
    switch (op) {
      case 1:
      case 2: {
        // Options come in name/value pairs after the file name and mode.
        const strs = cStrings(b, off + 2, end, 2 + 2 * MAX_OPTIONS);
        if (strs === null || strs.length < 2 || strs[0] === '' || !MODES.includes(strs[1].toLowerCase())) f.malformed++;
        if (f.operation === null && strs !== null && strs.length >= 1) {
          f.operation = op === 1 ? 'read' : 'write';
          f.filename = strs[0] === '' ? null : strs[0];
          f.mode = strs.length >= 2 && strs[1] !== '' ? strs[1].toLowerCase() : null;
          this.options(strs, 2);
        }
        // The answer comes from another port: nothing more on this flow.
        return true;
      }
      case 3: {
        if (len < 4) {
          f.malformed++;
          break;
        }
        f.data_blocks++;
        f.data_bytes += len - 4;
        const block = (b[off + 2] << 8) | b[off + 3];
        if (f.last_block === null || block > f.last_block) f.last_block = block;
        break;
      }
      case 4:
        if (len >= 4) f.acks++;
        else f.malformed++;
        break;
      case 5: {
        if (len < 4) {
          f.malformed++;
          break;
        }
        if (f.error_code === null) {
          f.error_code = (b[off + 2] << 8) | b[off + 3];
          const strs = cStrings(b, off + 4, end, 1);
          f.error_message = strs && strs.length > 0 ? strs[0] : null;
        }
        return true;
      }
      case 6: {
        const strs = cStrings(b, off + 2, end, 2 * MAX_OPTIONS);
        if (strs === null) f.malformed++;
        else this.options(strs, 0);
        break;
      }
    }
    return f.packets + f.malformed >= MAX_PACKETS;
  }

  private options(strs: string[], from: number): void {
    for (let i = from; i + 1 < strs.length && Object.keys(this.f.options).length < MAX_OPTIONS; i += 2) {
      const name = strs[i].toLowerCase();
      if (name === '' || name === '__proto__' || Object.hasOwn(this.f.options, name)) continue;
      this.f.options[name] = strs[i + 1];
    }
  }

  facts(): TftpFacts {
    return this.f;
  }
}

/** Is b[from, end) a NUL-terminated printable name followed by a known option/mode name? */
function startsWithKnownOption(b: Buffer, from: number, end: number): boolean {
  for (const name of KNOWN_OPTIONS) {
    if (from + name.length + 1 > end) continue;
    let ok = true;
    for (let i = 0; i < name.length && ok; i++) ok = (b[from + i] | 0x20) === name.charCodeAt(i);
    if (ok && b[from + name.length] === 0) return true;
  }
  return false;
}

function plausibleRequest(b: Buffer, off: number, len: number): boolean {
  // opcode, file name (printable), NUL, mode, NUL…; the datagram ends with a NUL.
  if (len < 6 || b[off + len - 1] !== 0) return false;
  let p = off + 2;
  const end = off + len;
  // An empty name is malformed, but still TFTP on port 69 (reported with malformed > 0).
  // Only the first bytes of the name are looked at: probe stays cheap.
  const scanEnd = Math.min(end, p + 256);
  while (p < scanEnd && b[p] !== 0) {
    if (b[p] < 0x20 || b[p] >= 0x7f) return false;
    p++;
  }
  return true;
}

export const tftpDissector: Dissector<TftpFacts> = {
  name: 'tftp',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17 || length < 4 || data[offset] !== 0) return Probe.NO;
    const op = data[offset + 1];
    if (ctx.serverPort === TFTP_PORT) return (op === 1 || op === 2) && plausibleRequest(data, offset, length) ? Probe.YES : Probe.NO;
    // A transfer between two ephemeral ports.
    const block = (data[offset + 2] << 8) | data[offset + 3];
    switch (op) {
      case 3:
        if (block !== 1) return Probe.NO;
        return length === 516 ? Probe.YES : length < 516 ? Probe.MAYBE : Probe.NO;
      case 4:
        return length === 4 && block <= 1 ? Probe.MAYBE : Probe.NO;
      case 6:
        return data[offset + length - 1] === 0 && startsWithKnownOption(data, offset + 2, offset + length) ? Probe.YES : Probe.NO;
      case 5:
        return block <= 8 && data[offset + length - 1] === 0 ? Probe.MAYBE : Probe.NO;
      default:
        return Probe.NO;
    }
  },
  start(): DissectorState<TftpFacts> {
    return new TftpState();
  },
};
