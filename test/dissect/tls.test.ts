import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/reader.js';
import { formatEndpoint, formatIp } from '../../src/decode/address.js';
import { DecodeResult, IpProto, PacketView, TcpFlag, decodeFrame } from '../../src/decode/packet.js';
import {
  dtlsDissector,
  ja3,
  ja4,
  parseClientHello,
  tlsDissector,
  type TlsClientHelloFacts,
  type TlsFacts,
} from '../../src/dissect/tls.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { analyze, CAPTURES } from '../helpers/analysis.js';
import { fuzzDissector, mutate, rng } from '../helpers/fuzz.js';

const CORPUS = resolve(process.env.NOTCREEPY_CORPUS ?? join(import.meta.dirname, '../../../shared/corpus'));
const hasCorpus = existsSync(join(CORPUS, 'MANIFEST.tsv'));

// ---------------------------------------------------------------------------------------------
// Flows from a capture: TCP streams reassembled in order per direction (events in capture order),
// UDP datagrams as they come.

interface Chunk {
  fromClient: boolean;
  bytes: Buffer;
  tsUs: number;
}

interface Flow {
  proto: number;
  client: string;
  server: string;
  clientPort: number;
  serverPort: number;
  chunks: Chunk[];
}

interface DirState {
  next: number | null;
  pending: Map<number, Buffer>;
  delivered: number;
  broken: boolean;
}

const MAX_STREAM = 512 * 1024;

async function readFlows(path: string): Promise<Flow[]> {
  const flows = new Map<string, Flow & { dirs: [DirState, DirState] }>();
  const v = new PacketView();
  await readCapture(
    path,
    (frame) => {
      if (decodeFrame(frame, v) !== DecodeResult.IP || !v.hasPorts || v.isFragment) return;
      if (v.proto !== IpProto.TCP && v.proto !== IpProto.UDP) return;
      const src = formatEndpoint(v.ipVersion, formatIp(v.ipVersion, v.src), v.srcPort);
      const dst = formatEndpoint(v.ipVersion, formatIp(v.ipVersion, v.dst), v.dstPort);
      const key = `${v.proto}|${src < dst ? src + '|' + dst : dst + '|' + src}`;
      let f = flows.get(key);
      const syn = v.proto === IpProto.TCP && (v.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN;
      if (!f) {
        if (v.proto === IpProto.TCP && v.payloadLength === 0 && !syn) return;
        const newDir = (): DirState => ({ next: null, pending: new Map(), delivered: 0, broken: false });
        f = { proto: v.proto, client: src, server: dst, clientPort: v.srcPort, serverPort: v.dstPort, chunks: [], dirs: [newDir(), newDir()] };
        flows.set(key, f);
      }
      const fromClient = src === f.client;
      if (v.proto === IpProto.UDP) {
        if (v.payloadLength > 0 && f.chunks.length < 200) {
          f.chunks.push({ fromClient, bytes: Buffer.from(v.data.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)), tsUs: frame.tsUs });
        }
        return;
      }
      const d = f.dirs[fromClient ? 0 : 1];
      if (v.tcpFlags & TcpFlag.SYN) {
        d.next = (v.tcpSeq + 1) >>> 0;
        return;
      }
      if (v.payloadLength === 0 || d.broken || d.delivered >= MAX_STREAM) return;
      if (v.payloadLength < v.payloadWireLength) {
        d.broken = true; // snaplen cut: the stream has a hole from here on
        return;
      }
      if (d.next === null) d.next = v.tcpSeq;
      d.pending.set(v.tcpSeq, Buffer.from(v.data.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)));
      // Deliver whatever is now contiguous.
      for (let guard = 0; guard < 1000; guard++) {
        let progressed = false;
        for (const [seq, bytes] of d.pending) {
          const rel = (seq - d.next) | 0;
          if (rel > 0) continue;
          d.pending.delete(seq);
          if (bytes.length + rel > 0) {
            const fresh = bytes.subarray(-rel);
            f.chunks.push({ fromClient, bytes: fresh, tsUs: frame.tsUs });
            d.delivered += fresh.length;
            d.next = (d.next + fresh.length) >>> 0;
          }
          progressed = true;
        }
        if (!progressed) break;
      }
    },
    { sourceIndex: 0, onWarning: () => {} },
  );
  return [...flows.values()];
}

function ctxOf(f: Flow, tsUs: number): DissectContext {
  return { proto: f.proto, clientPort: f.clientPort, serverPort: f.serverPort, tsUs };
}

/**
 * Where TLS starts in a direction's stream after a plaintext STARTTLS exchange: the first hello
 * record header right after a line end (what an SMTP/IMAP/POP3 dissector hands over). -1 if none.
 */
function starttlsOffset(stream: Buffer, type: number): number {
  for (let i = 1; i + 6 <= stream.length; i++) {
    if (stream[i - 1] === 0x0a && stream[i] === 22 && stream[i + 1] === 3 && stream[i + 2] <= 4 && stream[i + 5] === type) return i;
  }
  return -1;
}

/**
 * Run the dissector over a flow the way the inspector does: probe the first payload, then feed in
 * order. A TCP flow that does not start with TLS is tried as STARTTLS (fed from the hellos on).
 */
function dissect(f: Flow): TlsFacts | null {
  const dissector = f.proto === IpProto.TCP ? tlsDissector : dtlsDissector;
  const first = f.chunks[0];
  if (!first) return null;
  const skip = [0, 0];
  if (f.proto === IpProto.TCP) {
    // Probe with the first bytes of the direction that spoke first.
    const dirBytes = Buffer.concat(f.chunks.filter((c) => c.fromClient === first.fromClient).map((c) => c.bytes).slice(0, 8));
    if (dissector.probe(dirBytes, 0, dirBytes.length, first.fromClient, ctxOf(f, first.tsUs)) !== Probe.YES) {
      const c = Buffer.concat(f.chunks.filter((x) => x.fromClient).map((x) => x.bytes));
      const s = Buffer.concat(f.chunks.filter((x) => !x.fromClient).map((x) => x.bytes));
      skip[0] = starttlsOffset(c, 1);
      skip[1] = starttlsOffset(s, 2);
      if (skip[0] < 0 || skip[1] < 0) return null;
    }
  } else if (dissector.probe(first.bytes, 0, first.bytes.length, first.fromClient, ctxOf(f, first.tsUs)) !== Probe.YES) {
    return null;
  }
  const state = dissector.start(ctxOf(f, first.tsUs));
  for (const c of f.chunks) {
    const d = c.fromClient ? 0 : 1;
    const drop = Math.min(skip[d], c.bytes.length);
    skip[d] -= drop;
    if (drop === c.bytes.length) continue;
    if (state.feed(c.bytes, drop, c.bytes.length - drop, c.fromClient, ctxOf(f, c.tsUs))) break;
  }
  return state.facts();
}

// ---------------------------------------------------------------------------------------------
// nDPI reference

interface NdpiTls {
  l4: string;
  a: string;
  b: string;
  sni: string | null;
  ja3c: string | null;
  ja4: string | null;
  version: string | null;
  ja3s: string | null;
  cipher: string | null;
  risks: string;
  ech: boolean;
  line: string;
}

function parseNdpi(path: string): NdpiTls[] {
  const out: NdpiTls[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s+\d+\s+(TCP|UDP)\s+(\S+)\s+<?->\s+(\S+)\s+\[/.exec(line);
    if (!m) continue;
    const field = (re: RegExp): string | null => re.exec(line)?.[1] ?? null;
    out.push({
      l4: m[1],
      a: m[2],
      b: m[3],
      sni: field(/\[Hostname\/SNI: ([^\]]*)\]/),
      ja3c: field(/\[JA3C: ([0-9a-f]+)\]/),
      ja4: field(/\[JA4: ([^\]]+)\]/),
      version: field(/\[((?:TLS|SSL|DTLS)v[0-9.]+)[^\]]*\]/),
      ja3s: field(/\[JA3S: ([0-9a-f]+)/),
      cipher: field(/\[Cipher: ([^\]]+)\]/),
      risks: field(/\[Risk: ([^\]]*)\]/) ?? '',
      ech: line.includes('[ECH:'),
      line,
    });
  }
  return out;
}

/** nDPI's version names. */
function ndpiVersion(v: number | null): string | null {
  if (v === null) return null;
  const names: Record<number, string> = {
    0x0300: 'SSLv3',
    0x0301: 'TLSv1',
    0x0302: 'TLSv1.1',
    0x0303: 'TLSv1.2',
    0x0304: 'TLSv1.3',
    0xfeff: 'DTLSv1.0',
    0xfefd: 'DTLSv1.2',
    0xfefc: 'DTLSv1.3',
    0xfb1a: 'TLSv1.3', // nDPI prints "TLSv1.3 (Fizz)"
  };
  return names[v] ?? `0x${v.toString(16)}`;
}

interface Compared {
  file: string;
  flow: string;
  field: string;
  ours: unknown;
  ndpi: unknown;
}

type Field = 'ja4' | 'ja3' | 'sni' | 'version' | 'cert_sha1' | 'validity' | 'self_signed' | 'expired';

interface Tally {
  /** [equal, compared] with nDPI's value as printed. */
  raw: Record<Field, [number, number]>;
  /** [equal, compared] after accounting for nDPI's known deviations (ndpiStyle*). */
  explained: Record<Field, [number, number]>;
  missing: string[];
  disagreements: Compared[];
}

function newTally(): Tally {
  const z = (): Record<Field, [number, number]> => ({
    ja4: [0, 0],
    ja3: [0, 0],
    sni: [0, 0],
    version: [0, 0],
    cert_sha1: [0, 0],
    validity: [0, 0],
    self_signed: [0, 0],
    expired: [0, 0],
  });
  return { raw: z(), explained: z(), missing: [], disagreements: [] };
}

function isIpLiteral(s: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || (s.includes(':') && /^[0-9a-f:.]+$/i.test(s));
}

/**
 * Our JA4 follows FoxIO's specification; nDPI (the version that made the reference outputs)
 * deviates in four known ways. This rewrites ours the nDPI way, so that any other difference shows.
 * - ALPN: nDPI takes the first two characters of the first ALPN, the spec first and last
 *   ("http/1.1" → nDPI "ht", spec "h1").
 * - SNI: nDPI prints "i" when the SNI is an IP literal and "d" otherwise, even without the SNI
 *   extension; the spec looks at the extension's presence only.
 * - No extensions: nDPI hashes the empty string (e3b0c44298fc), the spec prints 000000000000.
 * - Version 0x0100 (pre-RFC DTLS): nDPI prints "s3", the spec has no code for it ("00").
 */
function ndpiStyleJa4(ja4s: string, ch: TlsClientHelloFacts): string {
  const [a, b, c] = ja4s.split('_');
  let version = a.slice(1, 3);
  if (ch.legacy_version === 0x0100 && version === '00') version = 's3';
  const sni = ch.sni !== null && isIpLiteral(ch.sni) ? 'i' : 'd';
  let alpn = a.slice(8, 10);
  const first = ch.alpn[0];
  if (first && first.length > 2 && alpn === first[0] + first[first.length - 1]) alpn = first.slice(0, 2);
  const cc = c === '000000000000' && ch.extensions.length === 0 ? 'e3b0c44298fc' : c;
  return `${a[0]}${version}${sni}${a.slice(4, 8)}${alpn}_${b}_${cc}`;
}

/** nDPI's "Validity: 2015-10-10 15:55:47 - 2016-10-09 15:55:47" from our ISO dates. */
function ndpiValidity(from: string | null, to: string | null): string {
  const f = (s: string | null): string => (s ?? '').replace('T', ' ').replace(/\.000Z$/, '');
  return `${f(from)} - ${f(to)}`;
}

const factsCache = new Map<string, Promise<Map<string, TlsFacts>>>();

/** Our facts for every TLS/DTLS flow of a capture, keyed "l4|a|b" (both orders). */
function captureFacts(file: string): Promise<Map<string, TlsFacts>> {
  let p = factsCache.get(file);
  if (!p) {
    p = readFlows(join(CORPUS, file)).then((flows) => {
      const m = new Map<string, TlsFacts>();
      for (const f of flows) {
        const facts = dissect(f);
        if (!facts) continue;
        const l4 = f.proto === IpProto.TCP ? 'TCP' : 'UDP';
        m.set(`${l4}|${f.client}|${f.server}`, facts);
        m.set(`${l4}|${f.server}|${f.client}`, facts);
      }
      return m;
    });
    factsCache.set(file, p);
  }
  return p;
}

function pcapOf(stem: string): string | null {
  for (const ext of ['.pcap', '.pcapng']) if (existsSync(join(CORPUS, stem + ext))) return stem + ext;
  return null;
}

async function compareCapture(stem: string, t: Tally): Promise<void> {
  const file = pcapOf(stem);
  if (!file) return;
  const refs = parseNdpi(join(CORPUS, `${stem}.ndpi.out`)).filter((r) => r.ja4 !== null && !r.ja4.startsWith('q'));
  if (refs.length === 0) return;
  const facts = await captureFacts(file);
  for (const r of refs) {
    const flow = `${r.l4} ${r.a} <-> ${r.b}`;
    const f = facts.get(`${r.l4}|${r.a}|${r.b}`);
    const ch = f?.client_hello;
    if (!f || !ch) {
      t.missing.push(`${file}: ${flow}`);
      continue;
    }
    const check = (field: Field, ours: unknown, ndpi: unknown, explained: unknown = ours): void => {
      t.raw[field][1]++;
      t.explained[field][1]++;
      if (ours === ndpi) t.raw[field][0]++;
      if (explained === ndpi) t.explained[field][0]++;
      if (ours !== ndpi) t.disagreements.push({ file, flow, field, ours, ndpi });
    };
    check('ja4', ch.ja4, r.ja4, ndpiStyleJa4(ch.ja4, ch));
    if (r.ja3c) check('ja3', ch.ja3_hash, r.ja3c);
    // After STARTTLS nDPI shows the mail server's name from the SMTP banner when the ClientHello has no SNI.
    if (r.sni !== null) check('sni', ch.sni, r.sni, ch.sni === null && /:(25|587|110|143)$/.test(r.b) ? r.sni : ch.sni);
    if (r.version) {
      // nDPI prints the client's version when the server picks a lower one (or never answers).
      const ours = ndpiVersion(f.version ?? ch.legacy_version);
      check('version', ours, r.version, f.version !== null && f.version < ch.legacy_version ? ndpiVersion(ch.legacy_version) : ours);
    }
    const leaf = f.certificates[0];
    const sha1 = /\[Certificate SHA-1: ([0-9A-F:]+)\]/.exec(r.line)?.[1];
    if (sha1) check('cert_sha1', leaf?.fingerprint_sha1, sha1);
    const validity = /\[Validity: ([^\]]+)\]/.exec(r.line)?.[1];
    if (validity && leaf) check('validity', ndpiValidity(leaf.valid_from, leaf.valid_to), validity);
    if (leaf) {
      // nDPI does not always raise its self-signed risk (anyconnect-vpn's Code42 certificate has
      // Issuer == Subject and verifies with its own key, yet no risk): count those as explained.
      const issuer = /\[Issuer: ([^\]]*)\]/.exec(r.line)?.[1];
      const subject = /\[Subject: ([^\]]*)\]/.exec(r.line)?.[1];
      const ndpiSelf = r.risks.includes('Self-signed Cert');
      check('self_signed', leaf.self_signed, ndpiSelf, leaf.self_signed && !ndpiSelf && issuer !== undefined && issuer === subject ? ndpiSelf : leaf.self_signed);
      // nDPI's "TLS Cert Expired" means outside the validity period either way.
      check('expired', leaf.expired || leaf.not_yet_valid, r.risks.includes('TLS Cert Expired'));
    }
  }
}

/** Both directions of TCP stream `n` as tshark reassembles them (an independent reassembler). */
function tsharkFollow(file: string, n: number): { fromClient: boolean; bytes: Buffer }[] {
  const out = execFileSync('tshark', ['-r', join(CORPUS, file), '-q', '-z', `follow,tcp,raw,${n}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const chunks: { fromClient: boolean; bytes: Buffer }[] = [];
  for (const line of out.split('\n')) {
    const m = /^(\t?)([0-9a-f]+)$/.exec(line);
    if (m) chunks.push({ fromClient: m[1] === '', bytes: Buffer.from(m[2], 'hex') });
  }
  return chunks;
}

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Synthetic hellos (no corpus needed)

function record(type: number, version: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16BE(version, 1);
  h.writeUInt16BE(body.length, 3);
  return Buffer.concat([h, body]);
}

function handshake(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([h, body]);
}

function ext(type: number, data: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}

function u16s(list: number[], lenBytes: 1 | 2 = 2): Buffer {
  const b = Buffer.alloc(lenBytes + list.length * 2);
  if (lenBytes === 1) b[0] = list.length * 2;
  else b.writeUInt16BE(list.length * 2, 0);
  list.forEach((v, i) => b.writeUInt16BE(v, lenBytes + i * 2));
  return b;
}

function clientHelloBody(opts: { sni?: string; alpn?: string[]; ciphers?: number[]; versions?: number[]; dtls?: boolean } = {}): Buffer {
  const exts: Buffer[] = [ext(0x0a0a, Buffer.alloc(0))];
  if (opts.sni !== undefined) {
    const name = Buffer.from(opts.sni);
    const entry = Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 255]), name]);
    exts.push(ext(0x0000, Buffer.concat([Buffer.from([entry.length >> 8, entry.length & 255]), entry])));
  }
  exts.push(ext(0x000a, u16s([0x1a1a, 0x001d, 0x0017])));
  exts.push(ext(0x000b, Buffer.from([1, 0])));
  exts.push(ext(0x000d, u16s([0x0403, 0x0804, 0x0401])));
  if (opts.alpn) {
    const list = Buffer.concat(opts.alpn.map((a) => Buffer.concat([Buffer.from([a.length]), Buffer.from(a, 'latin1')])));
    exts.push(ext(0x0010, Buffer.concat([Buffer.from([list.length >> 8, list.length & 255]), list])));
  }
  if (opts.versions) exts.push(ext(0x002b, u16s(opts.versions, 1)));
  const extBytes = Buffer.concat(exts);
  const ciphers = opts.ciphers ?? [0x2a2a, 0x1301, 0xc02f, 0x000a, 0x0004];
  return Buffer.concat([
    Buffer.from([opts.dtls ? 0xfe : 0x03, opts.dtls ? 0xfd : 0x03]),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    opts.dtls ? Buffer.from([0]) : Buffer.alloc(0),
    u16s(ciphers),
    Buffer.from([1, 0]),
    Buffer.from([extBytes.length >> 8, extBytes.length & 255]),
    extBytes,
  ]);
}

function serverHelloBody(cipher: number, selectedVersion?: number): Buffer {
  const exts = selectedVersion ? ext(0x002b, Buffer.from([selectedVersion >> 8, selectedVersion & 255])) : Buffer.alloc(0);
  return Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 9),
    Buffer.from([0]),
    Buffer.from([cipher >> 8, cipher & 255, 0]),
    Buffer.from([exts.length >> 8, exts.length & 255]),
    exts,
  ]);
}

const CTX: DissectContext = { proto: 6, clientPort: 50000, serverPort: 443, tsUs: 1.7e15 };
const UCTX: DissectContext = { proto: 17, clientPort: 50000, serverPort: 443, tsUs: 1.7e15 };

describe('tls: parsing and fingerprints (synthetic)', () => {
  it('parses a ClientHello and computes JA3/JA4 without GREASE', () => {
    const body = clientHelloBody({ sni: 'example.com', alpn: ['h2', 'http/1.1'], versions: [0x3a3a, 0x0304, 0x0303] });
    const ch = parseClientHello(body, 0, body.length);
    expect(ch).not.toBeNull();
    expect(ch!.sni).toBe('example.com');
    expect(ch!.alpn).toEqual(['h2', 'http/1.1']);
    expect(ja3(ch!).text).toBe('771,4865-49199-10-4,0-10-11-13-16-43,29-23,0');
    expect(ja4(ch!, 'tcp')).toMatch(/^t13d0406h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
    expect(ja4(ch!, 'quic').startsWith('q13d')).toBe(true);
  });

  it('JA4 ALPN uses hex when the first ALPN is not alphanumeric, 00 when absent, i without SNI', () => {
    const a = clientHelloBody({ alpn: ['\xab\xcd'] });
    expect(ja4(parseClientHello(a, 0, a.length)!, 'tcp').slice(0, 10)).toBe('t12i0404ad');
    const b = clientHelloBody({});
    expect(ja4(parseClientHello(b, 0, b.length)!, 'tcp').slice(0, 10)).toBe('t12i040300');
  });

  it('returns null on a truncated fixed part and never reads past offset+length', () => {
    const body = clientHelloBody({ sni: 'x.org' });
    expect(parseClientHello(body, 0, 20)).toBeNull();
    const padded = Buffer.concat([Buffer.alloc(3, 0xff), body, Buffer.alloc(5, 0xff)]);
    const ch = parseClientHello(padded, 3, body.length);
    expect(ch?.sni).toBe('x.org');
    const cut = parseClientHello(padded, 3, body.length - 3);
    expect(cut?.truncated).toBe(true);
  });

  it('dissects a TLS 1.2 exchange: hellos, weak cipher, CCS both ways', () => {
    const client = Buffer.concat([
      record(22, 0x0301, handshake(1, clientHelloBody({ sni: 'cam.example' }))),
    ]);
    const server = Buffer.concat([
      record(22, 0x0303, Buffer.concat([handshake(2, serverHelloBody(0x000a)), handshake(14, Buffer.alloc(0))])),
    ]);
    const clientFin = Buffer.concat([record(20, 0x0303, Buffer.from([1])), record(22, 0x0303, Buffer.alloc(40, 0x55))]);
    const serverFin = Buffer.concat([record(20, 0x0303, Buffer.from([1])), record(22, 0x0303, Buffer.alloc(40, 0x66))]);
    expect(tlsDissector.probe(client, 0, client.length, true, CTX)).toBe(Probe.YES);
    expect(tlsDissector.probe(server, 0, server.length, false, CTX)).toBe(Probe.YES);
    const s = tlsDissector.start(CTX);
    expect(s.feed(client, 0, client.length, true, CTX)).toBe(false);
    expect(s.feed(server, 0, server.length, false, CTX)).toBe(false);
    expect(s.feed(clientFin, 0, clientFin.length, true, CTX)).toBe(false);
    expect(s.feed(serverFin, 0, serverFin.length, false, CTX)).toBe(true);
    const f = s.facts();
    expect(f.client_hello?.sni).toBe('cam.example');
    expect(f.client_hello?.weak_ciphers_offered).toEqual({ count: 2, classes: ['3des', 'rc4'], suites: [0x000a, 0x0004] });
    expect(f.server_hello?.cipher_name).toBe('TLS_RSA_WITH_3DES_EDE_CBC_SHA');
    expect(f.server_hello?.weak_cipher).toBe(true);
    expect(f.version_name).toBe('TLSv1.2');
    expect(f.record_versions).toEqual([0x0301, 0x0303]);
    expect(f.handshake_complete).toBe(true);
    expect(f.encrypted_after_handshake).toBe(true);
    expect(JSON.parse(JSON.stringify(f))).toEqual(f);
  });

  it('reads the negotiated TLS 1.3 version from supported_versions and sees the alert', () => {
    const s = tlsDissector.start(CTX);
    const ch = record(22, 0x0301, handshake(1, clientHelloBody({ versions: [0x0304, 0x0303] })));
    const sh = record(22, 0x0303, handshake(2, serverHelloBody(0x1301, 0x0304)));
    s.feed(ch, 0, ch.length, true, CTX);
    s.feed(sh, 0, sh.length, false, CTX);
    expect(s.facts().version_name).toBe('TLSv1.3');
    expect(s.facts().server_hello?.legacy_version).toBe(0x0303);
    const alert = record(21, 0x0303, Buffer.from([2, 40]));
    expect(s.feed(alert, 0, alert.length, true, CTX)).toBe(true);
    expect(s.facts().alerts).toEqual([{ from: 'client', level: 2, description: 40, name: 'handshake_failure' }]);
  });

  it('claims a session already under way (application data first) and calls it encrypted', () => {
    const data = Buffer.concat([record(23, 0x0303, Buffer.alloc(100, 1)), record(23, 0x0303, Buffer.alloc(50, 2))]);
    expect(tlsDissector.probe(data, 0, data.length, true, CTX)).toBe(Probe.YES);
    expect(tlsDissector.probe(data, 0, 3, true, CTX)).toBe(Probe.MAYBE);
    const s = tlsDissector.start(CTX);
    expect(s.feed(data, 0, data.length, true, CTX)).toBe(true);
    expect(s.facts().midstream).toBe(true);
    expect(s.facts().encrypted_after_handshake).toBe(true);
  });

  it('rejects things that are not TLS', () => {
    for (const text of ['GET / HTTP/1.1\r\n', 'SSH-2.0-OpenSSH_9.0\r\n', '\x16\x03\x01\x00\x05\x0b\x00\x00\x01\x00']) {
      const b = Buffer.from(text, 'latin1');
      expect(tlsDissector.probe(b, 0, b.length, true, CTX)).toBe(Probe.NO);
    }
    const ch = record(22, 0x0301, handshake(1, clientHelloBody()));
    expect(tlsDissector.probe(ch, 0, ch.length, true, UCTX)).toBe(Probe.NO);
  });

  it('recognises an SSLv2-compatible ClientHello', () => {
    // msg_type 1, version 3.1, 2 cipher specs (one SSLv2-only, one TLS), no session id, 16-byte challenge.
    const body = Buffer.concat([
      Buffer.from([1, 3, 1, 0, 6, 0, 0, 0, 16]),
      Buffer.from([0x01, 0x00, 0x80, 0x00, 0x00, 0x2f]),
      Buffer.alloc(16, 3),
    ]);
    const rec = Buffer.concat([Buffer.from([0x80 | (body.length >> 8), body.length & 255]), body]);
    expect(tlsDissector.probe(rec, 0, rec.length, true, CTX)).toBe(Probe.YES);
    const s = tlsDissector.start(CTX);
    s.feed(rec, 0, rec.length, true, CTX);
    expect(s.facts().client_hello?.sslv2_compatible).toBe(true);
    expect(s.facts().client_hello?.cipher_suites).toEqual([0x002f]);
  });

  it('dissects DTLS 1.2 hellos, fragmented ClientHello included', () => {
    const body = clientHelloBody({ sni: 'dtls.example', dtls: true });
    const dtlsRecord = (hs: Buffer, seq: number): Buffer => {
      const h = Buffer.alloc(13);
      h[0] = 22;
      h[1] = 0xfe;
      h[2] = 0xfd;
      h.writeUIntBE(seq, 5, 6);
      h.writeUInt16BE(hs.length, 11);
      return Buffer.concat([h, hs]);
    };
    const frag = (type: number, total: Buffer, off: number, len: number): Buffer => {
      const h = Buffer.alloc(12);
      h[0] = type;
      h.writeUIntBE(total.length, 1, 3);
      h.writeUIntBE(off, 6, 3);
      h.writeUIntBE(len, 9, 3);
      return Buffer.concat([h, total.subarray(off, off + len)]);
    };
    const d1 = dtlsRecord(frag(1, body, 0, 40), 0);
    const d2 = dtlsRecord(frag(1, body, 40, body.length - 40), 1);
    expect(dtlsDissector.probe(d1, 0, d1.length, true, UCTX)).toBe(Probe.YES);
    expect(dtlsDissector.probe(d1, 0, d1.length, true, CTX)).toBe(Probe.NO);
    const s = dtlsDissector.start(UCTX);
    s.feed(d1, 0, d1.length, true, UCTX);
    expect(s.facts().client_hello).toBeNull();
    s.feed(d2, 0, d2.length, true, UCTX);
    expect(s.facts().client_hello?.sni).toBe('dtls.example');
    expect(s.facts().client_hello?.ja4.startsWith('dd2d')).toBe(true);
    const shb = serverHelloBody(0xc02f);
    shb[0] = 0xfe;
    shb[1] = 0xfd;
    const d3 = dtlsRecord(frag(2, shb, 0, shb.length), 0);
    s.feed(d3, 0, d3.length, false, UCTX);
    expect(s.facts().version_name).toBe('DTLSv1.2');
    expect(s.facts().transport).toBe('dtls');
  });
});

// ---------------------------------------------------------------------------------------------
// Split invariance and fuzzing

function feedSplit(bytesByDir: { fromClient: boolean; bytes: Buffer }[], cut: (b: Buffer) => Buffer[]): TlsFacts {
  const s = tlsDissector.start(CTX);
  outer: for (const c of bytesByDir) {
    for (const piece of cut(c.bytes)) {
      // Copy into a reused, dirty buffer at an offset: the dissector must not keep references.
      const scratch = Buffer.alloc(piece.length + 7, 0xee);
      piece.copy(scratch, 3);
      const done = s.feed(scratch, 3, piece.length, c.fromClient, CTX);
      scratch.fill(0xaa);
      if (done) break outer;
    }
  }
  return s.facts();
}

function syntheticExchange(): { fromClient: boolean; bytes: Buffer }[] {
  return [
    { fromClient: true, bytes: record(22, 0x0301, handshake(1, clientHelloBody({ sni: 'split.example', alpn: ['h2'] }))) },
    {
      fromClient: false,
      bytes: Buffer.concat([
        record(22, 0x0303, handshake(2, serverHelloBody(0xc02f))),
        record(22, 0x0303, handshake(14, Buffer.alloc(0))),
      ]),
    },
    { fromClient: true, bytes: Buffer.concat([record(20, 0x0303, Buffer.from([1])), record(22, 0x0303, Buffer.alloc(40, 1))]) },
    { fromClient: false, bytes: Buffer.concat([record(20, 0x0303, Buffer.from([1])), record(23, 0x0303, Buffer.alloc(40, 1))]) },
  ];
}

/** Every split of each direction's bytes into two pieces, and byte-at-a-time. */
function checkSplits(exchange: { fromClient: boolean; bytes: Buffer }[]): void {
  const whole = feedSplit(exchange, (b) => [b]);
  const oneByOne = feedSplit(exchange, (b) => [...b].map((x) => Buffer.from([x])));
  expect(oneByOne).toEqual(whole);
  const longest = Math.max(...exchange.map((c) => c.bytes.length));
  for (let at = 1; at < longest; at++) {
    const split = feedSplit(exchange, (b) => (at < b.length ? [b.subarray(0, at), b.subarray(at)] : [b]));
    expect(split, `split at ${at}`).toEqual(whole);
  }
}

describe('tls: records split across feed() calls', () => {
  it('gives the same facts at every byte boundary (synthetic)', () => {
    const ex = syntheticExchange();
    const whole = feedSplit(ex, (b) => [b]);
    expect(whole.client_hello?.sni).toBe('split.example');
    expect(whole.handshake_complete).toBe(true);
    checkSplits(ex);
  });

  it.skipIf(!hasCorpus)('gives the same facts at every byte boundary (real TLS 1.2 with certificates)', async () => {
    const flows = await readFlows(join(CORPUS, 'selfsigned.pcap'));
    const f = flows.find((x) => dissect(x)?.certificates.length);
    expect(f).toBeDefined();
    // Merge consecutive chunks of the same direction: the exchange as each side sent it.
    const ex: { fromClient: boolean; bytes: Buffer }[] = [];
    for (const c of f!.chunks) {
      const last = ex[ex.length - 1];
      if (last && last.fromClient === c.fromClient) last.bytes = Buffer.concat([last.bytes, c.bytes]);
      else ex.push({ fromClient: c.fromClient, bytes: c.bytes });
    }
    const whole = feedSplit(ex, (b) => [b]);
    expect(whole.certificates[0]?.self_signed).toBe(true);
    checkSplits(ex);
  });
});

async function realSeeds(): Promise<Buffer[]> {
  const seeds: Buffer[] = [];
  for (const file of ['443-curl.pcap', 'selfsigned.pcap', 'tls_alert.pcap', 'chrome.pcap', 'anyconnect-vpn.pcap']) {
    if (!existsSync(join(CORPUS, file))) continue;
    for (const f of await readFlows(join(CORPUS, file))) {
      if (!dissect(f)) continue;
      for (const dir of [true, false]) {
        const bytes = Buffer.concat(f.chunks.filter((c) => c.fromClient === dir).map((c) => c.bytes));
        if (bytes.length > 0) seeds.push(f.proto === IpProto.UDP ? f.chunks.find((c) => c.fromClient === dir)!.bytes : bytes.subarray(0, 6000));
      }
      if (seeds.length > 40) break;
    }
  }
  return seeds;
}

describe('tls: fuzz', () => {
  const synthetic = syntheticExchange().map((c) => c.bytes);
  it('tlsDissector survives random and mutated hellos', async () => {
    fuzzDissector(tlsDissector, [...synthetic, ...(await realSeeds())], 3000, 1);
  });
  it('dtlsDissector survives random and mutated hellos', async () => {
    const body = clientHelloBody({ sni: 'd.example', dtls: true });
    const h = Buffer.alloc(13);
    h[0] = 22;
    h[1] = 0xfe;
    h[2] = 0xfd;
    const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 255, 0, 0, 0, 0, 0, 0, body.length >> 8, body.length & 255]), body]);
    h.writeUInt16BE(hs.length, 11);
    fuzzDissector(dtlsDissector, [Buffer.concat([h, hs]), ...(await realSeeds())], 3000, 2);
  });
  it('tlsDissector survives mutated real exchanges fed in random pieces', async () => {
    const next = rng(7);
    const exchanges: { fromClient: boolean; bytes: Buffer }[][] = [syntheticExchange()];
    if (hasCorpus) {
      for (const file of ['443-curl.pcap', 'selfsigned.pcap', 'zeek_ssl.v3.pcap']) {
        for (const f of (await readFlows(join(CORPUS, file))).slice(0, 2)) {
          exchanges.push(f.chunks.slice(0, 12).map((c) => ({ fromClient: c.fromClient, bytes: c.bytes })));
        }
      }
    }
    for (let i = 0; i < 1500; i++) {
      const ex = exchanges[Math.floor(next() * exchanges.length)];
      const s = tlsDissector.start(CTX);
      try {
        for (const c of ex) {
          const bytes = next() < 0.5 ? mutate(next, c.bytes) : c.bytes;
          for (let p = 0; p < bytes.length; ) {
            const n = 1 + Math.floor(next() * 700);
            if (s.feed(bytes, p, Math.min(n, bytes.length - p), c.fromClient, CTX)) break;
            p += n;
          }
        }
        JSON.stringify(s.facts());
      } catch (err) {
        expect.fail(`threw on iteration ${i}: ${(err as Error).stack}`);
      }
    }
  });

  it('parseClientHello survives mutated bodies', () => {
    const body = clientHelloBody({ sni: 'a.b', alpn: ['h2'], versions: [0x0304] });
    let x = 99;
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(body);
      for (let k = 0; k < 4; k++) {
        x = (x * 1103515245 + 12345) >>> 0;
        b[x % b.length] = x >>> 24;
      }
      const cut = x % (b.length + 1);
      const ch = parseClientHello(b, 0, cut);
      if (ch) {
        ja3(ch);
        ja4(ch, 'tcp');
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Corpus: agreement with nDPI

describe.skipIf(!hasCorpus)('tls: corpus vs nDPI', () => {
  it('agrees with nDPI on JA4, JA3C, SNI, version and certificates, up to nDPI\'s known deviations', { timeout: 300_000 }, async () => {
    const t = newTally();
    const stems = readdirSync(CORPUS)
      .filter((n) => n.endsWith('.ndpi.out'))
      .map((n) => n.slice(0, -'.ndpi.out'.length))
      .filter((s) => !s.startsWith('DERIVED'));
    for (const stem of stems) await compareCapture(stem, t);
    const pct = ([a, b]: [number, number]): string => `${a}/${b}`;
    for (const field of Object.keys(t.raw) as Field[]) {
      console.log(`${field.padEnd(12)} as printed ${pct(t.raw[field]).padEnd(9)} explained ${pct(t.explained[field])}`);
    }
    for (const m of t.missing) console.log('missing', m);
    if (process.env.TLS_VERBOSE) for (const d of t.disagreements) console.log(`${d.field} ${d.file} ${d.flow}: ours=${String(d.ours)} ndpi=${String(d.ndpi)}`);
    expect(t.missing).toEqual([]);
    expect(t.raw.ja4[1]).toBeGreaterThan(300);
    for (const field of Object.keys(t.raw) as Field[]) {
      const unexplained = t.disagreements.filter((d) => d.field === field).length - (t.raw[field][1] - t.raw[field][0]) + (t.explained[field][1] - t.explained[field][0]);
      expect(t.explained[field][0], `${field}: ${unexplained} unexplained`).toBe(t.explained[field][1]);
    }
  });
});

/** Wireshark's own JA3 (first ClientHello) and JA3S values per flow, keyed like captureFacts. */
function tsharkJa3(file: string): Map<string, { ja3: string | null; ja3s: Set<string> }> {
  const out = execFileSync(
    'tshark',
    [
      '-r', join(CORPUS, file),
      '-Y', 'tls.handshake.type==1 || tls.handshake.type==2 || dtls.handshake.type==1 || dtls.handshake.type==2',
      '-T', 'fields', '-E', 'occurrence=f',
      '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'udp.srcport',
      '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'tcp.dstport', '-e', 'udp.dstport',
      '-e', 'tls.handshake.ja3', '-e', 'tls.handshake.ja3s', '-e', 'dtls.handshake.ja3', '-e', 'dtls.handshake.ja3s',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 },
  );
  const m = new Map<string, { ja3: string | null; ja3s: Set<string> }>();
  for (const line of out.split('\n')) {
    const c = line.split('\t');
    if (c.length < 12) continue;
    const [ip4s, ip6s, tps, ups, ip4d, ip6d, tpd, upd, ja3h, ja3sh, dja3, dja3s] = c;
    // Tunnels (GTP, VXLAN…) give the outer address first: keep the innermost.
    const last = (x: string): string => x.split(',').pop() ?? '';
    const ep = (v4: string, v6: string, port: string): string => (last(v6) ? `[${last(v6)}]:${port}` : `${last(v4)}:${port}`);
    const l4 = tps ? 'TCP' : 'UDP';
    const src = ep(ip4s, ip6s, tps || ups);
    const dst = ep(ip4d, ip6d, tpd || upd);
    const key = `${l4}|${src}|${dst}`;
    const rev = `${l4}|${dst}|${src}`;
    const e = m.get(key) ?? m.get(rev) ?? { ja3: null, ja3s: new Set<string>() };
    m.set(key, e);
    m.set(rev, e);
    if ((ja3h || dja3) && e.ja3 === null) e.ja3 = ja3h || dja3;
    if (ja3sh || dja3s) e.ja3s.add(ja3sh || dja3s);
  }
  return m;
}

describe.skipIf(!hasCorpus || !hasTshark())('tls: corpus vs Wireshark', () => {
  it('JA3 and JA3S equal tshark\'s for every TLS/DTLS flow both of us see', { timeout: 300_000 }, async () => {
    const stems = readdirSync(CORPUS)
      .filter((n) => n.endsWith('.ndpi.out') && readFileSync(join(CORPUS, n), 'utf8').includes('[JA3C: '))
      .map((n) => n.slice(0, -'.ndpi.out'.length))
      .filter((st) => !st.startsWith('DERIVED') && !st.startsWith('quic') && st !== 'doq');
    let ja3Same = 0;
    let ja3Total = 0;
    let ja3sSame = 0;
    let ja3sTotal = 0;
    const bad: string[] = [];
    for (const stem of stems) {
      const file = pcapOf(stem);
      if (!file) continue;
      const ref = tsharkJa3(file);
      for (const [key, facts] of await captureFacts(file)) {
        const r = ref.get(key);
        if (!r || key.split('|')[1] > key.split('|')[2]) continue; // each flow once
        if (r.ja3 && facts.client_hello) {
          ja3Total++;
          if (r.ja3 === facts.client_hello.ja3_hash) ja3Same++;
          else bad.push(`ja3 ${file} ${key}: ours ${facts.client_hello.ja3_hash} tshark ${r.ja3}`);
        }
        if (r.ja3s.size > 0 && facts.server_hello) {
          ja3sTotal++;
          if (r.ja3s.has(facts.server_hello.ja3s_hash)) ja3sSame++;
          else bad.push(`ja3s ${file} ${key}: ours ${facts.server_hello.ja3s_hash} tshark ${[...r.ja3s].join(',')}`);
        }
      }
    }
    console.log(`tshark JA3 ${ja3Same}/${ja3Total}  JA3S ${ja3sSame}/${ja3sTotal}`);
    for (const b of bad) console.log(b);
    expect(ja3Total).toBeGreaterThan(300);
    expect(bad).toEqual([]);
  });
});

async function flowFacts(file: string): Promise<TlsFacts[]> {
  return [...new Set((await captureFacts(file)).values())];
}

describe.skipIf(!hasCorpus)('tls: corpus cases', () => {
  it('selfsigned.pcap: self-signed, expired certificate; TLS 1.2', async () => {
    const [f] = await flowFacts('selfsigned.pcap');
    expect(f.version_name).toBe('TLSv1.2');
    expect(f.certificates[0]).toMatchObject({ self_signed: true, expired: true, subject: 'C=IT, ST=Some-State, O=ntop.org' });
    expect(f.encrypted_after_handshake).toBe(true);
    expect(f.handshake_complete).toBe(true);
  });

  it('tls_malicious_sha1.pcapng: the certificate SHA-1 nDPI blocklists', async () => {
    const [f] = await flowFacts('tls_malicious_sha1.pcapng');
    expect(f.certificates[0].fingerprint_sha1.replaceAll(':', '')).toBe('0DDB34F875632C7E1EC09D75827F82D2336DFEB6');
    expect(f.certificates[0].expired).toBe(false);
  });

  it('zeek_tls1_1.pcap: TLS 1.1 negotiated, obsolete', async () => {
    const all = await flowFacts('zeek_tls1_1.pcap');
    expect(all.length).toBeGreaterThan(0);
    for (const f of all) {
      expect(f.version_name).toBe('TLSv1.1');
      expect(f.obsolete_version).toBe(true);
    }
  });

  it('zeek_ssl.v3.pcap: SSLv2-compatible ClientHello; the server picks TLS 1.0 and RC4 (as tshark shows)', async () => {
    const all = await flowFacts('zeek_ssl.v3.pcap');
    expect(all.some((f) => f.client_hello?.sslv2_compatible)).toBe(true);
    for (const f of all) {
      expect(f.version_name).toBe('TLSv1.0');
      expect(f.server_hello?.weak_cipher_classes).toEqual(['rc4']);
      expect(f.client_hello?.weak_ciphers_offered.classes).toEqual(['3des', 'des', 'export', 'rc4']);
    }
  });

  it('ssl-cert-name-mismatch.pcap: the SNI is not a name of the certificate', async () => {
    const [f] = await flowFacts('ssl-cert-name-mismatch.pcap');
    expect(f.client_hello?.sni).toBe('wrong.host.badssl.com');
    expect(f.sni_matches_certificate).toBe(false);
  });

  it('tls_1.2_unidirectional_client.pcapng: client side only', async () => {
    const [f] = await flowFacts('tls_1.2_unidirectional_client.pcapng');
    expect(f.client_hello?.sni).toBe('notifications-pa.googleapis.com');
    expect(f.server_hello).toBeNull();
    expect(f.application_data_seen).toBe(true);
    expect(f.encrypted_after_handshake).toBe(true);
    expect(f.handshake_complete).toBe(false);
  });

  it('tls_alert.pcap: TLS 1.0 client, fatal protocol_version alert from the server', async () => {
    const all = await flowFacts('tls_alert.pcap');
    const f = all.find((x) => x.alerts.length > 0)!;
    expect(f.client_hello?.max_version_name).toBe('TLSv1.0');
    expect(f.alerts).toEqual([{ from: 'server', level: 2, description: 70, name: 'protocol_version' }]);
    expect(f.encrypted_after_handshake).toBe(false);
  });

  it('tls_ech.pcapng: Encrypted Client Hello offered', async () => {
    const [f] = await flowFacts('tls_ech.pcapng');
    expect(f.client_hello?.ech).toBe(true);
    expect(f.version_name).toBe('TLSv1.3');
    expect(f.handshake_complete).toBe(true);
  });

  it('tls-rdn-extract.pcap: TLS 1.0; certificate outside its validity (the capture clock says 1999)', async () => {
    const [f] = await flowFacts('tls-rdn-extract.pcap');
    expect(f.version_name).toBe('TLSv1.0');
    expect(f.obsolete_version).toBe(true);
    expect(f.certificates[0].not_yet_valid).toBe(true);
    expect(f.server_hello?.forward_secrecy).toBe(false);
  });

  it('smtp-starttls.pcap: TLS after STARTTLS, fed from the hellos on; one self-signed server', async () => {
    const all = await flowFacts('smtp-starttls.pcap');
    expect(all.length).toBe(2);
    expect(all.map((f) => f.client_hello?.sni ?? null).sort()).toEqual(['dovecot.weberlab.de', null]);
    expect(all.some((f) => f.certificates[0]?.self_signed)).toBe(true);
    // The mx.google.com session (no SNI) settles on RC4 over TLS 1.0.
    const google = all.find((f) => f.client_hello?.sni === null)!;
    expect(google.version_name).toBe('TLSv1.0');
    expect(google.server_hello?.weak_cipher_classes).toEqual(['rc4']);
  });

  // Despite its name this capture offers no anonymous suite (tshark lists the 131 offered): nDPI's
  // "Weak TLS Cipher" there is the chosen TLS_RSA_WITH_AES_256_GCM_SHA384, i.e. no forward secrecy.
  it.skipIf(!hasTshark())('ja3_lots_of_cipher_suites_2_anon.pcap (GTP, via tshark follow): 131 suites, no forward secrecy, self-signed', () => {
    const s = tlsDissector.start(CTX);
    for (const c of tsharkFollow('ja3_lots_of_cipher_suites_2_anon.pcap', 0)) if (s.feed(c.bytes, 0, c.bytes.length, c.fromClient, CTX)) break;
    const f = s.facts();
    expect(f.client_hello?.sni).toBe('192.69.136.179');
    expect(f.client_hello?.cipher_suites.length).toBe(131);
    expect(f.client_hello?.weak_ciphers_offered.classes).toEqual(['3des']);
    expect(f.server_hello?.cipher_name).toBe('TLS_RSA_WITH_AES_256_GCM_SHA384');
    expect(f.server_hello?.forward_secrecy).toBe(false);
    expect(f.certificates[0].self_signed).toBe(true);
  });

  it.skipIf(!hasTshark())('our reassembly and tshark\'s give the same facts', async () => {
    const flows = await readFlows(join(CORPUS, '443-curl.pcap'));
    const ours = dissect(flows[0]);
    const s = tlsDissector.start(ctxOf(flows[0], flows[0].chunks[0].tsUs));
    for (const c of tsharkFollow('443-curl.pcap', 0)) if (s.feed(c.bytes, 0, c.bytes.length, c.fromClient, ctxOf(flows[0], flows[0].chunks[0].tsUs))) break;
    expect(s.facts()).toEqual(ours);
  });
});

describe.skipIf(!hasTshark())('tls: fingerprints in stored facts', () => {
  // The fingerprints are computed on first read (they cost a hash each); stored facts must still
  // carry them, with the values Wireshark computes for the same ClientHellos.
  it('--store-facts keeps JA3 (equal to tshark\'s), JA3S and JA4 for every TLS flow of lan-standards.pcap', async () => {
    const file = join(CAPTURES, 'lan-standards.pcap');
    const expected = execFileSync('tshark', ['-r', file, '-Y', 'tls.handshake.type == 1', '-T', 'fields', '-e', 'tls.handshake.ja3'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter((l) => l !== '')
      .sort();
    const a = await analyze([file], { storeFacts: true });
    try {
      const rows = a.store.db.prepare("SELECT facts FROM flow_facts WHERE app = 'tls'").all() as { facts: string }[];
      const stored = rows.map((r) => JSON.parse(r.facts) as TlsFacts).filter((f) => f.client_hello !== null);
      expect(stored.length).toBe(expected.length);
      expect(stored.map((f) => f.client_hello?.ja3_hash).sort()).toEqual(expected);
      for (const f of stored) {
        expect(f.client_hello?.ja4).toMatch(/^t1[0-3][di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$/);
        expect(f.client_hello?.ja3).toMatch(/^\d+,[\d-]*,[\d-]*,[\d-]*,[\d-]*$/);
        if (f.server_hello !== null) expect(f.server_hello.ja3s_hash).toMatch(/^[0-9a-f]{32}$/);
      }
    } finally {
      a.close();
    }
  });
});
