/**
 * DNS (RFC 1035) over UDP and TCP, and the same wire format as used by mDNS (RFC 6762, UDP 5353)
 * and LLMNR (RFC 4795, 5355): the names a device asks for, and the answers it gets (which name
 * the remote addresses it talks to afterwards).
 *
 * `parseDnsMessage` is a pure parser for one message, reusable by other modules (DoH bodies,
 * NetBIOS name service has a similar layout but its own module). Name decompression follows
 * pointers only backwards, which guarantees termination, and also bounds the number of hops.
 */
import { formatIPv6 } from '../decode/address.js';
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';

// ---------------------------------------------------------------------------------------------
// Wire-format parsing

export const DNS_HEADER_LEN = 12;
/** Longest name on the wire (RFC 1035 §2.3.4); longer is malformed. */
const MAX_NAME_WIRE = 255;
const MAX_POINTER_HOPS = 64;
/** Per message: enough for any real query/response; bounds the work on lying counts. */
const MAX_QUESTIONS = 32;
const MAX_RECORDS = 128;
/** TXT data kept per record (characters). */
export const MAX_TXT_CHARS = 300;

const TYPE_NAMES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 10: 'NULL', 12: 'PTR', 13: 'HINFO', 15: 'MX', 16: 'TXT',
  17: 'RP', 18: 'AFSDB', 24: 'SIG', 25: 'KEY', 28: 'AAAA', 29: 'LOC', 32: 'NB', 33: 'SRV', 35: 'NAPTR',
  39: 'DNAME', 41: 'OPT', 43: 'DS', 44: 'SSHFP', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 50: 'NSEC3',
  51: 'NSEC3PARAM', 52: 'TLSA', 64: 'SVCB', 65: 'HTTPS', 99: 'SPF', 249: 'TKEY', 250: 'TSIG',
  251: 'IXFR', 252: 'AXFR', 255: 'ANY', 256: 'URI', 257: 'CAA',
};

/** 'A', 'AAAA', … or 'TYPE<n>' (RFC 3597) for types without a mnemonic. */
export function dnsTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `TYPE${type}`;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export function dnsRcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export interface DnsQuestion {
  name: string;
  type: number;
  /** Class without the mDNS unicast-response bit. */
  class: number;
  /** mDNS "QU" bit (top bit of the class). */
  unicast_response: boolean;
}

export type DnsSection = 'answer' | 'authority' | 'additional';

export interface DnsRecord {
  name: string;
  type: number;
  /** Class without the mDNS cache-flush bit. */
  class: number;
  ttl: number;
  /** Presentation form for A/AAAA/CNAME/PTR/NS/DNAME/SRV/TXT/MX/SOA/HINFO; null for other types. */
  data: string | null;
  section: DnsSection;
}

export interface DnsMessage {
  id: number;
  is_response: boolean;
  opcode: number;
  rcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursion_desired: boolean;
  recursion_available: boolean;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
  questions: DnsQuestion[];
  /** Answer, authority and additional records in wire order (OPT pseudo-records excluded). */
  records: DnsRecord[];
  /** EDNS0 OPT record present (additional section). */
  edns: boolean;
  /** False when the message ended early or a field was inconsistent: what was parsed is kept. */
  complete: boolean;
}

interface NameResult {
  name: string;
  /** Offset just past the name in the original position (after the first pointer, if any). */
  next: number;
}

/**
 * Read a (possibly compressed) name at `pos` in the message msg[start, end). Returns null when
 * malformed: label past the end, reserved label type, forward or looping pointer, name too long.
 */
export function readDnsName(b: Buffer, start: number, end: number, pos: number): NameResult | null {
  let p = pos;
  let next = -1;
  let hops = 0;
  let wire = 0;
  // A pointer must point strictly before the pointer itself: no loops possible.
  let limit = end;
  const labels: string[] = [];
  for (;;) {
    if (p >= limit) return null;
    const len = b[p];
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= limit) return null;
      const target = start + (((len & 0x3f) << 8) | b[p + 1]);
      if (next < 0) next = p + 2;
      if (target >= p || ++hops > MAX_POINTER_HOPS) return null;
      limit = p;
      p = target;
      continue;
    }
    if (kind !== 0) return null; // 0x40 / 0x80: obsolete/reserved label types
    if (p + 1 + len > limit) return null;
    wire += len + 1;
    if (wire + 1 > MAX_NAME_WIRE) return null;
    labels.push(labelText(b, p + 1, p + 1 + len));
    p += 1 + len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), next };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A label for display: printable ASCII as is; valid UTF-8 (mDNS instance names) decoded;
 * control characters and invalid bytes as \DDD; '.' and '\' inside a label escaped (RFC 4343).
 */
function labelText(b: Buffer, from: number, to: number): string {
  let ascii = true;
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c < 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) {
      ascii = false;
      break;
    }
  }
  if (ascii) return b.toString('latin1', from, to);
  let decoded: string | null = null;
  try {
    decoded = utf8.decode(b.subarray(from, to));
  } catch {
    decoded = null;
  }
  let s = '';
  if (decoded !== null) {
    for (const ch of decoded) {
      const cp = ch.codePointAt(0) as number;
      if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)) s += escByte(cp);
      else if (ch === '.' || ch === '\\') s += `\\${ch}`;
      else s += ch;
    }
    return s;
  }
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c === 0x2e || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += escByte(c);
  }
  return s;
}

function escByte(c: number): string {
  return `\\${c.toString().padStart(3, '0')}`;
}

export function ipv4Text(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** RFC 5952 text form of the IPv6 address at b[o, o + 16) (one formatter for the whole project). */
export function ipv6Text(b: Buffer, o: number): string {
  const w = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) w[i] = ((b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3]) >>> 0;
  return formatIPv6(w);
}

/** <character-string>s from b[from, to), dig style ("a" "b"), cut at MAX_TXT_CHARS. */
function characterStrings(b: Buffer, from: number, to: number): string {
  let s = '';
  let p = from;
  while (p < to && s.length < MAX_TXT_CHARS) {
    const len = b[p];
    const e = Math.min(p + 1 + len, to);
    let part = '';
    for (let i = p + 1; i < e; i++) {
      const c = b[i];
      if (c === 0x22 || c === 0x5c) part += `\\${String.fromCharCode(c)}`;
      else if (c >= 0x20 && c < 0x7f) part += String.fromCharCode(c);
      else part += escByte(c);
    }
    s += `${s.length > 0 ? ' ' : ''}"${part}"`;
    p = p + 1 + len;
  }
  return s.length > MAX_TXT_CHARS ? `${s.slice(0, MAX_TXT_CHARS)}…` : s;
}

function rdataText(b: Buffer, start: number, end: number, type: number, from: number, len: number): string | null {
  const to = from + len;
  switch (type) {
    case 1:
      return len === 4 ? ipv4Text(b, from) : null;
    case 28:
      return len === 16 ? ipv6Text(b, from) : null;
    case 2:
    case 5:
    case 12:
    case 39: {
      const n = readDnsName(b, start, end, from);
      return n && n.next <= to ? n.name : null;
    }
    case 15: {
      if (len < 3) return null;
      const n = readDnsName(b, start, end, from + 2);
      return n && n.next <= to ? `${b.readUInt16BE(from)} ${n.name}` : null;
    }
    case 33: {
      if (len < 7) return null;
      const n = readDnsName(b, start, end, from + 6);
      if (!n || n.next > to) return null;
      return `${b.readUInt16BE(from)} ${b.readUInt16BE(from + 2)} ${b.readUInt16BE(from + 4)} ${n.name}`;
    }
    case 6: {
      const m = readDnsName(b, start, end, from);
      if (!m || m.next > to) return null;
      const r = readDnsName(b, start, end, m.next);
      if (!r || r.next + 4 > to) return null;
      return `${m.name} ${r.name} ${b.readUInt32BE(r.next)}`;
    }
    case 13:
    case 16:
      return characterStrings(b, from, to);
    default:
      return null;
  }
}

/**
 * Parse one DNS message in b[off, off + len). Returns null when it cannot be DNS (shorter than a
 * header); otherwise everything that could be parsed, with `complete` false if it stopped early.
 * Never throws.
 */
export function parseDnsMessage(b: Buffer, off: number, len: number): DnsMessage | null {
  if (len < DNS_HEADER_LEN || off < 0 || off + len > b.length) return null;
  const end = off + len;
  const flags = b.readUInt16BE(off + 2);
  const msg: DnsMessage = {
    id: b.readUInt16BE(off),
    is_response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursion_desired: (flags & 0x0100) !== 0,
    recursion_available: (flags & 0x0080) !== 0,
    qdcount: b.readUInt16BE(off + 4),
    ancount: b.readUInt16BE(off + 6),
    nscount: b.readUInt16BE(off + 8),
    arcount: b.readUInt16BE(off + 10),
    questions: [],
    records: [],
    edns: false,
    complete: false,
  };
  let p = off + DNS_HEADER_LEN;
  for (let i = 0; i < msg.qdcount; i++) {
    if (i >= MAX_QUESTIONS) return msg;
    const n = readDnsName(b, off, end, p);
    if (!n || n.next + 4 > end) return msg;
    const cls = b.readUInt16BE(n.next + 2);
    msg.questions.push({ name: n.name, type: b.readUInt16BE(n.next), class: cls & 0x7fff, unicast_response: (cls & 0x8000) !== 0 });
    p = n.next + 4;
  }
  const sections: [DnsSection, number][] = [
    ['answer', msg.ancount],
    ['authority', msg.nscount],
    ['additional', msg.arcount],
  ];
  let parsed = 0;
  for (const [section, count] of sections) {
    for (let i = 0; i < count; i++) {
      if (++parsed > MAX_RECORDS) return msg;
      const n = readDnsName(b, off, end, p);
      if (!n || n.next + 10 > end) return msg;
      const type = b.readUInt16BE(n.next);
      const cls = b.readUInt16BE(n.next + 2);
      const ttl = b.readUInt32BE(n.next + 4);
      const rdlen = b.readUInt16BE(n.next + 8);
      const rdata = n.next + 10;
      if (rdata + rdlen > end) return msg;
      if (type === 41) {
        msg.edns = true;
      } else {
        msg.records.push({
          name: n.name,
          type,
          class: cls & 0x7fff,
          ttl,
          data: rdataText(b, off, end, type, rdata, rdlen),
          section,
        });
      }
      p = rdata + rdlen;
    }
  }
  msg.complete = true;
  return msg;
}

/** Cheap header sanity check (no name parsing): could b[off, off + len) start a DNS message? */
export function plausibleDnsHeader(b: Buffer, off: number, len: number): boolean {
  if (len < DNS_HEADER_LEN) return false;
  const flags = (b[off + 2] << 8) | b[off + 3];
  const opcode = (flags >> 11) & 0xf;
  if (opcode === 3 || opcode > 6) return false;
  const qd = (b[off + 4] << 8) | b[off + 5];
  const an = (b[off + 6] << 8) | b[off + 7];
  const ns = (b[off + 8] << 8) | b[off + 9];
  const ar = (b[off + 10] << 8) | b[off + 11];
  const isResponse = (flags & 0x8000) !== 0;
  if (!isResponse && qd === 0 && opcode !== 4) return false;
  // Real messages have a handful of questions; the other counts can be large (zone transfers)
  // but not absurd. No size check against `len`: cut captures and IP fragments are still DNS.
  return qd <= MAX_QUESTIONS * 2 && an + ns + ar <= 8192;
}

// ---------------------------------------------------------------------------------------------
// Stream framing (DNS over TCP; also OpenVPN over TCP): 2-byte big-endian length prefix.

/**
 * Cuts a byte stream into length-prefixed messages. Keeps at most `cap` bytes of a message (the
 * rest is skipped, and the message handed over cut, with its announced length), so memory is
 * bounded whatever the length fields say. The callback returns true to stop for good.
 */
export class LengthPrefixedFramer {
  private header = -1;
  private body: Buffer | null = null;
  private have = 0;
  private keep = 0;
  private announced = 0;
  private skip = 0;
  stopped = false;
  messages = 0;

  constructor(private readonly cap: number) {}

  push(b: Buffer, off: number, len: number, onMessage: (b: Buffer, off: number, len: number, announced: number) => boolean): void {
    let p = off;
    const end = off + len;
    while (p < end && !this.stopped) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, end - p);
        this.skip -= n;
        p += n;
        continue;
      }
      if (this.body === null && this.keep === 0) {
        // Reading the 2-byte header.
        if (this.header < 0) {
          this.header = b[p++];
          continue;
        }
        this.announced = (this.header << 8) | b[p++];
        this.header = -1;
        if (this.announced === 0) continue;
        this.keep = Math.min(this.announced, this.cap);
        this.skip = 0;
        this.have = 0;
        // Whole message available in this piece: hand it over without copying.
        if (end - p >= this.keep) {
          const at = p;
          p += this.keep;
          this.skip = this.announced - this.keep;
          this.keep = 0;
          this.deliver(b, at, this.announced - this.skip, onMessage);
          continue;
        }
        this.body = Buffer.allocUnsafe(this.keep);
        continue;
      }
      // Accumulating a message that straddles pieces.
      const body = this.body as Buffer;
      const n = Math.min(this.keep - this.have, end - p);
      b.copy(body, this.have, p, p + n);
      this.have += n;
      p += n;
      if (this.have === this.keep) {
        this.skip = this.announced - this.keep;
        this.body = null;
        this.keep = 0;
        this.deliver(body, 0, this.have, onMessage);
      }
    }
  }

  private deliver(b: Buffer, off: number, len: number, onMessage: (b: Buffer, off: number, len: number, announced: number) => boolean): void {
    this.messages++;
    if (onMessage(b, off, len, this.announced)) this.stopped = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Dissectors

export interface DnsQuery {
  name: string;
  type: string;
}

export interface DnsAnswer {
  name: string;
  type: string;
  ttl: number;
  /** A/AAAA address, CNAME/PTR/NS target, "prio weight port target" for SRV, quoted strings for TXT (cut). */
  data: string | null;
  section: DnsSection;
}

/** An address a response gave, with the name that was asked for it (CNAME chain followed). */
export interface DnsResolution {
  address: string;
  /** The question name the chain started from, or the record's owner name when no chain leads to it. */
  name: string;
  ttl: number;
}

export interface DnsFacts {
  /** 'udp' or 'tcp'. */
  transport: 'udp' | 'tcp';
  /** Messages parsed (both directions). */
  messages: number;
  query_messages: number;
  response_messages: number;
  /** True once a response was seen in the flow. */
  is_response: boolean;
  /** Opcode of the first message (0 = QUERY, 4 = NOTIFY, 5 = UPDATE). */
  opcode: number | null;
  /** Response code of the first response, and its name. */
  rcode: number | null;
  rcode_name: string | null;
  /** Distinct questions (name, type) from queries and responses, first seen first. */
  queries: DnsQuery[];
  /** Records from responses (answer section first, then authority/additional), capped. */
  answers: DnsAnswer[];
  /**
   * A/AAAA addresses from responses (answer and additional sections) with the name they answer:
   * "www.example.com" for an A record of "edge.cdn.net" reached through a CNAME. Distinct, capped.
   */
  resolutions: DnsResolution[];
  /** A response had the TC bit (the client should retry over TCP). */
  truncated: boolean;
  /** EDNS0 seen. */
  edns: boolean;
  /** Messages that could not be parsed to the end (cut by the capture, fragments, garbage). */
  malformed: number;
}

export const MAX_FACT_QUERIES = 16;
export const MAX_FACT_ANSWERS = 64;
/** DNS over TCP: message bytes kept for parsing (the rest of a larger message is skipped). */
const TCP_MESSAGE_CAP = 16384;

interface Variant {
  name: 'dns' | 'mdns' | 'llmnr';
  port: number;
  transports: readonly ('tcp' | 'udp')[];
  /** The flow is decided once this many messages were seen (responses decide 'dns'/'llmnr' earlier). */
  maxMessages: number;
  doneOnResponse: boolean;
}

class DnsState implements DissectorState<DnsFacts> {
  private readonly f: DnsFacts;
  private readonly framers: [LengthPrefixedFramer, LengthPrefixedFramer] | null;
  private readonly seenQueries = new Set<string>();
  private readonly seenAnswers = new Set<string>();
  private readonly seenResolutions = new Set<string>();
  private done = false;
  /** Messages handed over, parsable or not. */
  private attempts = 0;

  constructor(
    private readonly v: Variant,
    ctx: DissectContext,
  ) {
    const tcp = ctx.proto === 6;
    this.f = {
      transport: tcp ? 'tcp' : 'udp',
      messages: 0,
      query_messages: 0,
      response_messages: 0,
      is_response: false,
      opcode: null,
      rcode: null,
      rcode_name: null,
      queries: [],
      answers: [],
      resolutions: [],
      truncated: false,
      edns: false,
      malformed: 0,
    };
    this.framers = tcp ? [new LengthPrefixedFramer(TCP_MESSAGE_CAP), new LengthPrefixedFramer(TCP_MESSAGE_CAP)] : null;
  }

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    if (this.framers === null) {
      this.message(data, offset, length, length);
    } else {
      this.framers[fromClient ? 0 : 1].push(data, offset, length, (b, o, l, announced) => this.message(b, o, l, announced));
    }
    return this.done;
  }

  /** One message (maybe cut to `len` of `announced` bytes); returns true when done. */
  private message(b: Buffer, off: number, len: number, announced: number): boolean {
    const m = parseDnsMessage(b, off, len);
    const f = this.f;
    this.attempts++;
    if (m === null) {
      f.malformed++;
      return this.checkDone();
    }
    f.messages++;
    if (!m.complete || len < announced) f.malformed++;
    if (f.opcode === null) f.opcode = m.opcode;
    if (m.edns) f.edns = true;
    for (const q of m.questions) {
      const type = dnsTypeName(q.type);
      const key = `${q.name.toLowerCase()}\u0000${type}`;
      if (f.queries.length < MAX_FACT_QUERIES && !this.seenQueries.has(key)) {
        this.seenQueries.add(key);
        f.queries.push({ name: q.name, type });
      }
    }
    if (m.is_response) {
      f.response_messages++;
      f.is_response = true;
      if (f.rcode === null) {
        f.rcode = m.rcode;
        f.rcode_name = dnsRcodeName(m.rcode);
      }
      if (m.truncated) f.truncated = true;
      // Answer section first: it is what names the addresses; others fill the remaining room.
      for (const pass of ['answer', 'other'] as const) {
        for (const r of m.records) {
          if ((r.section === 'answer') !== (pass === 'answer')) continue;
          if (f.answers.length >= MAX_FACT_ANSWERS) break;
          const type = dnsTypeName(r.type);
          const key = `${r.name.toLowerCase()}\u0000${type}\u0000${r.data ?? ''}`;
          if (this.seenAnswers.has(key)) continue;
          this.seenAnswers.add(key);
          f.answers.push({ name: r.name, type, ttl: r.ttl, data: r.data, section: r.section });
        }
      }
      this.resolve(m);
    } else {
      f.query_messages++;
    }
    if (this.v.doneOnResponse && m.is_response) this.done = true;
    return this.checkDone();
  }

  /** Map each A/AAAA address to the name asked for, following the message's CNAME chain backwards. */
  private resolve(m: DnsMessage): void {
    const f = this.f;
    // CNAME target -> owner (lower case); bounded by the records of one message.
    const aliasOf = new Map<string, string>();
    for (const r of m.records) if (r.type === 5 && r.data !== null && r.section === 'answer') aliasOf.set(r.data.toLowerCase(), r.name);
    for (const r of m.records) {
      if ((r.type !== 1 && r.type !== 28) || r.data === null || r.section === 'authority') continue;
      if (f.resolutions.length >= MAX_FACT_ANSWERS) return;
      let name = r.name;
      for (let hops = 0; hops < 16; hops++) {
        const up = aliasOf.get(name.toLowerCase());
        if (up === undefined || up.toLowerCase() === name.toLowerCase()) break;
        name = up;
      }
      const key = `${r.data}\u0000${name.toLowerCase()}`;
      if (this.seenResolutions.has(key)) continue;
      this.seenResolutions.add(key);
      f.resolutions.push({ address: r.data, name, ttl: r.ttl });
    }
  }

  private checkDone(): boolean {
    if (this.attempts >= this.v.maxMessages || this.f.answers.length >= MAX_FACT_ANSWERS) this.done = true;
    return this.done;
  }

  facts(): DnsFacts {
    return this.f;
  }
}

function makeDnsDissector(v: Variant): Dissector<DnsFacts> {
  return {
    name: v.name,
    transports: v.transports,
    probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
      if (ctx.serverPort !== v.port && ctx.clientPort !== v.port) return Probe.NO;
      if (ctx.proto === 17) {
        if (!v.transports.includes('udp')) return Probe.NO;
        return plausibleDnsHeader(data, offset, length) ? Probe.YES : Probe.NO;
      }
      if (ctx.proto !== 6 || !v.transports.includes('tcp')) return Probe.NO;
      if (length < 2 + DNS_HEADER_LEN) return length >= 2 && ((data[offset] << 8) | data[offset + 1]) < DNS_HEADER_LEN ? Probe.NO : Probe.MAYBE;
      const msgLen = (data[offset] << 8) | data[offset + 1];
      if (msgLen < DNS_HEADER_LEN) return Probe.NO;
      return plausibleDnsHeader(data, offset + 2, length - 2) ? Probe.YES : Probe.NO;
    },
    start(ctx: DissectContext): DissectorState<DnsFacts> {
      return new DnsState(v, ctx);
    },
  };
}

/** Unicast DNS on port 53, UDP and TCP. Decided at the first response. */
export const dnsDissector: Dissector<DnsFacts> = makeDnsDissector({
  name: 'dns',
  port: 53,
  transports: ['udp', 'tcp'],
  maxMessages: 8,
  doneOnResponse: true,
});

/**
 * Multicast DNS (UDP 5353). A device's multicast flow carries all its announcements and
 * queries, so several messages are looked at before deciding.
 */
export const mdnsDissector: Dissector<DnsFacts> = makeDnsDissector({
  name: 'mdns',
  port: 5353,
  transports: ['udp'],
  maxMessages: 8,
  doneOnResponse: false,
});

/** LLMNR (5355). Queries go to a multicast group; responses come back unicast in another flow. */
export const llmnrDissector: Dissector<DnsFacts> = makeDnsDissector({
  name: 'llmnr',
  port: 5355,
  transports: ['udp', 'tcp'],
  maxMessages: 2,
  doneOnResponse: true,
});
