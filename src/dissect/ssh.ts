/**
 * SSH (RFC 4253): the identification strings of both sides (protocol version, software, comments),
 * SSH-1 versus SSH-2, and the algorithms each side offers in its clear-text KEXINIT (with the HASSH
 * fingerprints), so that obsolete protocol versions and weak algorithms can be flagged.
 */
import { createHash } from 'node:crypto';
import { ByteStore, LineSplitter, cleanText, utf8OfLatin1 } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState } from './types.js';

export interface SshBanner {
  /** The identification line as sent (at most 255 characters). */
  raw: string;
  /** "2.0", "1.99" (server speaking both), "1.5", … */
  protoVersion: string;
  /** e.g. "OpenSSH_8.2p1", "dropbear_2019.78". */
  software: string;
  /** Text after the software version, e.g. "Ubuntu-4ubuntu0.11". */
  comments: string | null;
  /** Lines sent before the identification (servers may send some, RFC 4253 §4.2), at most 8. */
  preamble: string[];
}

export interface SshKexInit {
  kex: string[];
  hostKey: string[];
  ciphersClientToServer: string[];
  ciphersServerToClient: string[];
  macsClientToServer: string[];
  macsServerToClient: string[];
  compressionClientToServer: string[];
  compressionServerToClient: string[];
}

export interface SshFacts {
  client: SshBanner | null;
  server: SshBanner | null;
  /** 1 for SSH-1 (obsolete, broken), 2 for SSH-2, null while unknown. */
  version: 1 | 2 | null;
  clientKex: SshKexInit | null;
  serverKex: SshKexInit | null;
  /** HASSH of the client's KEXINIT: md5(kex;ciphers;macs;compression), client to server. */
  hassh: string | null;
  /** HASSH-server: the same over the server's lists, server to client. */
  hasshServer: string | null;
}

const MAX_PREAMBLE = 8;
const MAX_KEX_PACKET = 16 * 1024;
const SSH_MSG_KEXINIT = 20;

export function parseBanner(line: string): Omit<SshBanner, 'preamble'> | null {
  if (!line.startsWith('SSH-')) return null;
  const raw = cleanText(utf8OfLatin1(line), 255);
  const rest = line.slice(4);
  const dash = rest.indexOf('-');
  if (dash <= 0) return { raw, protoVersion: cleanText(rest, 16), software: '', comments: null };
  const protoVersion = cleanText(rest.slice(0, dash), 16);
  const sw = rest.slice(dash + 1);
  const sp = sw.indexOf(' ');
  return {
    raw,
    protoVersion,
    software: cleanText(utf8OfLatin1(sp < 0 ? sw : sw.slice(0, sp)), 128),
    comments: sp < 0 ? null : cleanText(utf8OfLatin1(sw.slice(sp + 1)), 128) || null,
  };
}

function nameLists(b: Buffer, from: number, to: number, count: number): string[][] | null {
  const out: string[][] = [];
  let p = from;
  for (let i = 0; i < count; i++) {
    if (p + 4 > to) return null;
    const n = b.readUInt32BE(p);
    p += 4;
    if (n > to - p) return null;
    const s = b.toString('latin1', p, p + n);
    p += n;
    out.push(s.length === 0 ? [] : s.split(',').slice(0, 64).map((x) => cleanText(x, 64)));
  }
  return out;
}

/** Parse one binary packet holding KEXINIT (unencrypted: it precedes key exchange). */
export function parseKexInit(b: Buffer, from: number, to: number): SshKexInit | null {
  if (from + 6 > to) return null;
  const len = b.readUInt32BE(from);
  const pad = b[from + 4];
  const payloadEnd = from + 4 + len - pad;
  if (len < 2 || payloadEnd > to || payloadEnd <= from + 5) return null;
  if (b[from + 5] !== SSH_MSG_KEXINIT) return null;
  const lists = nameLists(b, from + 6 + 16, payloadEnd, 10);
  if (lists === null) return null;
  return {
    kex: lists[0],
    hostKey: lists[1],
    ciphersClientToServer: lists[2],
    ciphersServerToClient: lists[3],
    macsClientToServer: lists[4],
    macsServerToClient: lists[5],
    compressionClientToServer: lists[6],
    compressionServerToClient: lists[7],
  };
}

function md5(s: string): string {
  return createHash('md5').update(s).digest('hex');
}

class Side {
  lines = new LineSplitter(1024);
  banner: SshBanner | null = null;
  preamble: string[] = [];
  packet = new ByteStore(MAX_KEX_PACKET);
  kex: SshKexInit | null = null;
  /** No more to learn from this direction. */
  done = false;
}

class SshState implements DissectorState<SshFacts> {
  private readonly sides: [Side, Side] = [new Side(), new Side()];
  private readonly out: SshFacts = { client: null, server: null, version: null, clientKex: null, serverKex: null, hassh: null, hasshServer: null };

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    const side = this.sides[fromClient ? 0 : 1];
    if (side.done) return this.final();
    let p = offset;
    const end = offset + length;
    if (side.banner === null) {
      const used = side.lines.push(data, p, length, (line) => {
        const b = parseBanner(line);
        if (b === null) {
          if (side.preamble.length < MAX_PREAMBLE) side.preamble.push(cleanText(utf8OfLatin1(line), 255));
          else if (side.preamble.length >= MAX_PREAMBLE) side.done = true;
          return !side.done;
        }
        side.banner = { ...b, preamble: side.preamble };
        if (fromClient) this.out.client = side.banner;
        else this.out.server = side.banner;
        this.updateVersion();
        return false;
      });
      p += used;
      if (side.banner === null) return this.final();
    }
    if (this.out.version === 1) side.done = true; // SSH-1 packets have another layout: nothing more here
    if (!side.done && p < end) {
      side.packet.append(data, p, end - p);
      const b = side.packet.buf;
      if (side.packet.length >= 4) {
        const need = 4 + b.readUInt32BE(0);
        if (need > MAX_KEX_PACKET) side.done = true;
        else if (side.packet.length >= need) {
          side.kex = parseKexInit(b, 0, need);
          side.done = true;
          if (side.kex !== null) {
            const k = side.kex;
            if (fromClient) {
              this.out.clientKex = k;
              this.out.hassh = md5([k.kex, k.ciphersClientToServer, k.macsClientToServer, k.compressionClientToServer].map((l) => l.join(',')).join(';'));
            } else {
              this.out.serverKex = k;
              this.out.hasshServer = md5([k.kex, k.ciphersServerToClient, k.macsServerToClient, k.compressionServerToClient].map((l) => l.join(',')).join(';'));
            }
          }
          side.packet = new ByteStore(0);
        }
      }
    }
    return this.final();
  }

  private updateVersion(): void {
    const c = this.out.client?.protoVersion ?? null;
    const s = this.out.server?.protoVersion ?? null;
    const major = (v: string | null): 1 | 2 | null => (v === null ? null : v.startsWith('2') ? 2 : v === '1.99' ? null : v.startsWith('1') ? 1 : null);
    // A client's 1.x means SSH-1 is used; a "1.99" server speaks whatever the client chose.
    const mc = major(c);
    const ms = major(s);
    if (mc === 1 || ms === 1) this.out.version = 1;
    else if (mc === 2 || ms === 2) this.out.version = 2;
    else if (c === '1.99' && s === '1.99') this.out.version = 2;
  }

  private final(): boolean {
    return this.sides[0].done && this.sides[1].done;
  }

  facts(): SshFacts {
    return this.out;
  }
}

const SSH_PREFIX = [0x53, 0x53, 0x48, 0x2d]; // "SSH-"

/** A server on port 22 may send text lines before its identification: look for "\nSSH-". */
function probePreamble(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  if (fromClient || ctx.serverPort !== 22 || length === 0) return Probe.NO;
  const end = Math.min(offset + length, offset + 2048);
  for (let i = offset; i < end; i++) {
    const c = data[i];
    if (c === 0x0a) {
      if (i + 4 < end && data[i + 1] === 0x53 && data[i + 2] === 0x53 && data[i + 3] === 0x48 && data[i + 4] === 0x2d) return Probe.YES;
      continue;
    }
    if ((c < 0x20 && c !== 0x0d && c !== 0x09) || c >= 0x7f) return Probe.NO;
  }
  return Probe.MAYBE;
}

export function probeSsh(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  const n = Math.min(length, 4);
  for (let i = 0; i < n; i++) if (data[offset + i] !== SSH_PREFIX[i]) return probePreamble(data, offset, length, fromClient, ctx);
  if (length < 4) return Probe.MAYBE;
  // SSH-1.x or SSH-2.x
  if (length >= 6 && (data[offset + 4] < 0x31 || data[offset + 4] > 0x32 || data[offset + 5] !== 0x2e)) return Probe.NO;
  return Probe.YES;
}

export const sshDissector: Dissector<SshFacts> = {
  name: 'ssh',
  transports: ['tcp'],
  probe: probeSsh,
  start(): DissectorState<SshFacts> {
    return new SshState();
  },
};
