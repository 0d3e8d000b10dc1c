/**
 * Test helpers for the capture reader: hand-built pcap/pcapng files around real frame bytes,
 * collectors that copy what the reused RawFrame shows, and references from the Wireshark tools.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { CaptureParser, readCapture, readCaptureStream, type ReadResult } from '../../src/capture/reader.js';
import { CaptureError, type CaptureWarning, type RawFrame } from '../../src/capture/types.js';

export const CORPUS = fileURLToPath(new URL('../../../shared/corpus', import.meta.url));
export const hasCorpus = existsSync(join(CORPUS, 'MANIFEST.tsv'));

function hasTool(name: string): boolean {
  try {
    execFileSync(name, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
export const hasWiresharkTools = ['tshark', 'capinfos', 'editcap', 'mergecap'].every(hasTool);

// ---------- collecting what the reader delivers ----------

export interface Got {
  ts: number[];
  lt: number[];
  cap: number[];
  orig: number[];
  /** Copies of the frame bytes (the reader reuses its buffers). */
  data: Buffer[];
  warnings: CaptureWarning[];
  result?: ReadResult;
  error?: unknown;
  /** Every RawFrame object the sink saw (should be exactly one). */
  frames: Set<RawFrame>;
}

function newGot(): Got {
  return { ts: [], lt: [], cap: [], orig: [], data: [], warnings: [], frames: new Set() };
}

function sinkFor(got: Got, keepData: boolean): (f: RawFrame) => void {
  return (f) => {
    got.frames.add(f);
    got.ts.push(f.tsUs);
    got.lt.push(f.linkType);
    got.cap.push(f.caplen);
    got.orig.push(f.origLen);
    if (keepData) got.data.push(Buffer.from(f.data.subarray(f.offset, f.offset + f.caplen)));
  };
}

/** Reads a file (or '-') with readCapture; a thrown error is kept in got.error. */
export async function readAll(path: string, keepData = true): Promise<Got> {
  const got = newGot();
  try {
    got.result = await readCapture(path, sinkFor(got, keepData), { sourceIndex: 0, onWarning: (w) => got.warnings.push(w) });
  } catch (e) {
    got.error = e;
  }
  return got;
}

export async function readStream(label: string, s: Readable, keepData = true): Promise<Got> {
  const got = newGot();
  try {
    got.result = await readCaptureStream(label, s, sinkFor(got, keepData), { sourceIndex: 0, onWarning: (w) => got.warnings.push(w) }, null);
  } catch (e) {
    got.error = e;
  }
  return got;
}

/** Feeds a buffer to a CaptureParser in chunks of `chunk` bytes. */
export function parseBuffer(buf: Buffer, chunk = 1 << 20, label = 'mem'): Got {
  const got = newGot();
  try {
    const p = new CaptureParser(label, sinkFor(got, true), { sourceIndex: 0, onWarning: (w) => got.warnings.push(w) });
    for (let o = 0; o < buf.length; o += chunk) p.feed(buf.subarray(o, Math.min(buf.length, o + chunk)));
    got.result = p.end();
  } catch (e) {
    got.error = e;
  }
  return got;
}

export function captureErrorMessage(got: Got): string {
  if (!(got.error instanceof CaptureError)) {
    throw new Error(`expected a CaptureError, got ${got.error === undefined ? 'no error' : String(got.error)}`);
  }
  return got.error.message;
}

// ---------- real frames ----------

/** Record boundaries of a little-endian µs/ns pcap, walked independently of the reader. */
export function pcapRecordOffsets(buf: Buffer): number[] {
  const offs: number[] = [];
  let p = 24;
  while (p + 16 <= buf.length) {
    const cap = buf.readUInt32LE(p + 8);
    if (p + 16 + cap > buf.length) break;
    offs.push(p);
    p += 16 + cap;
  }
  return offs;
}

export interface Frame {
  data: Buffer;
  origLen: number;
}

/** A minimal Ethernet/IPv4/UDP frame, used when the corpus is not there. */
function syntheticFrame(i: number, payloadLen: number): Buffer {
  const b = Buffer.alloc(14 + 20 + 8 + payloadLen);
  Buffer.from('020000000001020000000002', 'hex').copy(b, 0); // dst, src MAC
  b.writeUInt16BE(0x0800, 12); // IPv4
  b[14] = 0x45;
  b.writeUInt16BE(20 + 8 + payloadLen, 16);
  b[22] = 64;
  b[23] = 17;
  b.writeUInt32BE(0xc0a80001 + i, 26);
  b.writeUInt32BE(0xc0a80101, 30);
  b.writeUInt16BE(40000 + i, 34);
  b.writeUInt16BE(53, 36);
  b.writeUInt16BE(8 + payloadLen, 38);
  for (let k = 0; k < payloadLen; k++) b[42 + k] = (k * 7 + i) & 0xff;
  return b;
}

/** Up to n real Ethernet frames from the corpus (443-curl.pcap), else synthetic ones. */
export function realFrames(n: number): Frame[] {
  const path = join(CORPUS, '443-curl.pcap');
  if (existsSync(path)) {
    const buf = readFileSync(path);
    return pcapRecordOffsets(buf)
      .slice(0, n)
      .map((p) => ({ data: Buffer.from(buf.subarray(p + 16, p + 16 + buf.readUInt32LE(p + 8))), origLen: buf.readUInt32LE(p + 12) }));
  }
  return Array.from({ length: n }, (_, i) => {
    const data = syntheticFrame(i, 20 + ((i * 37) % 200));
    return { data, origLen: data.length };
  });
}

// ---------- hand-built pcap ----------

export interface PcapPacket {
  sec: number;
  /** µs or ns, as the file's resolution says. */
  frac: number;
  data: Buffer;
  origLen?: number;
  /** Overrides the caplen field (for corrupt records). */
  caplenField?: number;
}

export function pcapFile(
  o: { le?: boolean; nano?: boolean; linkType?: number; snaplen?: number },
  pkts: PcapPacket[],
): Buffer {
  const le = o.le ?? true;
  const w32 = (b: Buffer, v: number, p: number) => (le ? b.writeUInt32LE(v >>> 0, p) : b.writeUInt32BE(v >>> 0, p));
  const w16 = (b: Buffer, v: number, p: number) => (le ? b.writeUInt16LE(v, p) : b.writeUInt16BE(v, p));
  const h = Buffer.alloc(24);
  w32(h, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, o.snaplen ?? 262144, 16);
  w32(h, o.linkType ?? 1, 20);
  const parts: Buffer[] = [h];
  for (const p of pkts) {
    const r = Buffer.alloc(16);
    w32(r, p.sec, 0);
    w32(r, p.frac, 4);
    w32(r, p.caplenField ?? p.data.length, 8);
    w32(r, p.origLen ?? p.data.length, 12);
    parts.push(r, p.data);
  }
  return Buffer.concat(parts);
}

// ---------- hand-built pcapng ----------

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Builds a pcapng byte stream block by block; shb() may switch the byte order mid-file. */
export class PcapngBuilder {
  private parts: Buffer[] = [];
  /** Byte offset where each block starts. */
  readonly offsets: number[] = [];
  private size = 0;
  le = true;

  private u32(v: number): Buffer {
    const b = Buffer.alloc(4);
    if (this.le) b.writeUInt32LE(v >>> 0);
    else b.writeUInt32BE(v >>> 0);
    return b;
  }
  private u16(v: number): Buffer {
    const b = Buffer.alloc(2);
    if (this.le) b.writeUInt16LE(v);
    else b.writeUInt16BE(v);
    return b;
  }
  private u64(v: bigint): Buffer {
    const b = Buffer.alloc(8);
    if (this.le) b.writeBigUInt64LE(BigInt.asUintN(64, v));
    else b.writeBigUInt64BE(BigInt.asUintN(64, v));
    return b;
  }
  private option(code: number, value: Buffer): Buffer {
    return Buffer.concat([this.u16(code), this.u16(value.length), value, Buffer.alloc(pad4(value.length) - value.length)]);
  }

  /** Appends a block; `lengthOverride`/`trailerOverride` make corrupt blocks. */
  block(type: number, body: Buffer, o: { lengthOverride?: number; trailerOverride?: number } = {}): this {
    const padded = Buffer.concat([body, Buffer.alloc(pad4(body.length) - body.length)]);
    const len = 12 + padded.length;
    const b = Buffer.concat([this.u32(type), this.u32(o.lengthOverride ?? len), padded, this.u32(o.trailerOverride ?? len)]);
    this.offsets.push(this.size);
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  shb(le = true): this {
    this.le = le;
    const body = Buffer.concat([this.u32(0x1a2b3c4d), this.u16(1), this.u16(0), this.u64(-1n)]);
    return this.block(0x0a0d0d0a, body);
  }

  idb(linkType: number, o: { snaplen?: number; tsresol?: number; tsoffset?: bigint; name?: string } = {}): this {
    const opts: Buffer[] = [];
    if (o.name !== undefined) opts.push(this.option(2, Buffer.from(o.name)));
    if (o.tsresol !== undefined) opts.push(this.option(9, Buffer.from([o.tsresol])));
    if (o.tsoffset !== undefined) opts.push(this.option(14, this.u64(o.tsoffset)));
    if (opts.length > 0) opts.push(this.option(0, Buffer.alloc(0)));
    const body = Buffer.concat([this.u16(linkType), this.u16(0), this.u32(o.snaplen ?? 0), ...opts]);
    return this.block(1, body);
  }

  epb(ifId: number, ticks: bigint, data: Buffer, o: { origLen?: number; caplenField?: number; withOption?: boolean } = {}): this {
    const t = BigInt.asUintN(64, ticks);
    const body = Buffer.concat([
      this.u32(ifId),
      this.u32(Number(t >> 32n)),
      this.u32(Number(t & 0xffffffffn)),
      this.u32(o.caplenField ?? data.length),
      this.u32(o.origLen ?? data.length),
      data,
      Buffer.alloc(pad4(data.length) - data.length),
      // An epb_flags option, so the reader must not take options for packet bytes.
      o.withOption ? Buffer.concat([this.option(2, this.u32(1)), this.option(0, Buffer.alloc(0))]) : Buffer.alloc(0),
    ]);
    return this.block(6, body);
  }

  opb(ifId: number, ticks: bigint, data: Buffer, origLen = data.length): this {
    const t = BigInt.asUintN(64, ticks);
    const body = Buffer.concat([
      this.u16(ifId),
      this.u16(0),
      this.u32(Number(t >> 32n)),
      this.u32(Number(t & 0xffffffffn)),
      this.u32(data.length),
      this.u32(origLen),
      data,
    ]);
    return this.block(2, body);
  }

  spb(data: Buffer, origLen = data.length): this {
    return this.block(3, Buffer.concat([this.u32(origLen), data]));
  }

  /** Name Resolution Block with one IPv4 record. */
  nrb(): this {
    const rec = Buffer.concat([Buffer.from([192, 168, 0, 1]), Buffer.from('router.lan\0')]);
    const body = Buffer.concat([this.u16(1), this.u16(rec.length), rec, Buffer.alloc(pad4(rec.length) - rec.length), this.u16(0), this.u16(0)]);
    return this.block(4, body);
  }

  /** Interface Statistics Block. */
  isb(ifId: number): this {
    return this.block(5, Buffer.concat([this.u32(ifId), this.u32(0), this.u32(0)]));
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// ---------- references from the Wireshark tools ----------

export interface ToolRef {
  ts: number[];
  len: number[];
  cap: number[];
  iface: number[];
}

/** tshark's timestamp "sec.nnnnnnnnn" → µs, computed the way the reader computes it. */
export function epochToUs(s: string): number {
  const [sec, frac = ''] = s.split('.');
  return Number(sec) * 1e6 + Number(frac.padEnd(9, '0').slice(0, 9)) / 1000;
}

const TSHARK_ARGS = ['--disable-protocol', 'ALL', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.interface_id'];

function parseTshark(out: string): ToolRef {
  const ref: ToolRef = { ts: [], len: [], cap: [], iface: [] };
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [t, len, cap, iface] = line.split('\t');
    ref.ts.push(epochToUs(t));
    ref.len.push(Number(len));
    ref.cap.push(Number(cap));
    ref.iface.push(iface ? Number(iface) : 0);
  }
  return ref;
}

/** Per-packet timestamp, lengths and interface id according to tshark. */
export function tsharkRef(path: string): ToolRef {
  const out = execFileSync('tshark', ['-r', path, ...TSHARK_ARGS], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  return parseTshark(out);
}

/** tsharkRef for several files, a few tshark processes at a time (its start-up dominates). */
export async function tsharkRefs(paths: string[], parallel = 4): Promise<Map<string, ToolRef>> {
  const refs = new Map<string, ToolRef>();
  const queue = [...paths];
  const worker = async () => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
      const path = p;
      const out = await new Promise<string>((resolve, reject) =>
        execFile('tshark', ['-r', path, ...TSHARK_ARGS], { encoding: 'utf8', maxBuffer: 256 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
      refs.set(path, parseTshark(out));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return refs;
}

/** Packet counts of several files in one capinfos run. */
export function capinfosCounts(paths: string[]): Map<string, number> {
  const out = execFileSync('capinfos', ['-T', '-r', '-c', ...paths], { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [file, count] = line.split('\t');
    if (file && count) m.set(file, Number(count));
  }
  return m;
}

/** The largest |a[i] - b[i]|, for timestamp comparisons. */
export function maxAbsDiff(a: number[], b: number[]): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Rewrites a little-endian pcap as big-endian (same magic value, every field byte-swapped). */
export function toBigEndianPcap(le: Buffer): Buffer {
  const be = Buffer.from(le);
  be.writeUInt32BE(le.readUInt32LE(0), 0);
  be.writeUInt16BE(le.readUInt16LE(4), 4);
  be.writeUInt16BE(le.readUInt16LE(6), 6);
  for (const p of [8, 12, 16, 20]) be.writeUInt32BE(le.readUInt32LE(p), p);
  for (const p of pcapRecordOffsets(le)) {
    for (let k = 0; k < 16; k += 4) be.writeUInt32BE(le.readUInt32LE(p + k), p + k);
  }
  return be;
}
