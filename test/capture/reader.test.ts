import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { constants as zc, gunzipSync, gzipSync } from 'node:zlib';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CaptureParser, MAX_CAPLEN, readCapture } from '../../src/capture/reader.js';
import type { RawFrame } from '../../src/capture/types.js';
import {
  CORPUS,
  PcapngBuilder,
  captureErrorMessage,
  hasCorpus,
  hasWiresharkTools,
  maxAbsDiff,
  parseBuffer,
  pcapFile,
  pcapRecordOffsets,
  readAll,
  readStream,
  realFrames,
  toBigEndianPcap,
  tsharkRef,
  tsharkRefs,
  type Got,
  type PcapPacket,
} from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'notcreepy-capture-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, data: Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, data);
  return p;
}

const frames = realFrames(8);

/** Packets 1 µs… apart, with µs or ns fractions, around the real frames. */
function packets(nano: boolean): PcapPacket[] {
  return frames.map((f, i) => ({ sec: 1_700_000_000 + i, frac: nano ? 123_456_789 + i : 123_456 + i, data: f.data, origLen: f.origLen }));
}

/** Many packets cycling through the real frames. */
function manyPackets(n: number): Buffer {
  return pcapFile({}, Array.from({ length: n }, (_, i) => ({ sec: 1_700_000_000 + i, frac: i % 1_000_000, data: frames[i % frames.length].data })));
}

/** Buffer arrays compared with Buffer.equals (vitest's deep equality is slow on big buffers). */
function expectBuffersEqual(a: Buffer[], b: Buffer[]): void {
  expect(a.length).toBe(b.length);
  const firstDiff = a.findIndex((x, i) => !x.equals(b[i]));
  expect(firstDiff).toBe(-1);
}

function expectSameFrames(got: Got, n = frames.length): void {
  expect(got.data.length).toBe(n);
  for (let i = 0; i < n; i++) expect(got.data[i].equals(frames[i].data)).toBe(true);
}

/** Every chunking of the input must give exactly the same packets and warnings. */
function expectChunkInvariant(buf: Buffer): void {
  const whole = parseBuffer(buf, buf.length + 1);
  for (const size of [1, 2, 3, 5, 7, 13, 16, 17, 100, 1000, 4096]) {
    const got = parseBuffer(buf, size);
    expect(got.error, `chunk ${size}`).toEqual(whole.error);
    expect(got.ts, `chunk ${size}`).toEqual(whole.ts);
    expect(got.lt).toEqual(whole.lt);
    expect(got.cap).toEqual(whole.cap);
    expect(got.orig).toEqual(whole.orig);
    expectBuffersEqual(got.data, whole.data);
    expect(got.warnings).toEqual(whole.warnings);
    expect(got.result).toEqual(whole.result);
  }
}

describe('pcap, hand-built around real frames', () => {
  const variants = [
    { name: 'little-endian µs', le: true, nano: false },
    { name: 'big-endian µs', le: false, nano: false },
    { name: 'little-endian ns', le: true, nano: true },
    { name: 'big-endian ns', le: false, nano: true },
  ];
  for (const v of variants) {
    it(`reads ${v.name}`, async () => {
      const buf = pcapFile({ le: v.le, nano: v.nano }, packets(v.nano));
      const got = await readAll(write(`hand-${v.le ? 'le' : 'be'}-${v.nano ? 'ns' : 'us'}.pcap`, buf));
      expect(got.error).toBeUndefined();
      expect(got.warnings).toEqual([]);
      expectSameFrames(got);
      expect(got.ts).toEqual(frames.map((_, i) => (1_700_000_000 + i) * 1e6 + (v.nano ? (123_456_789 + i) / 1000 : 123_456 + i)));
      expect(got.lt.every((lt) => lt === 1)).toBe(true);
      expect(got.orig).toEqual(frames.map((f) => f.origLen));
      expect(got.result).toEqual({
        packets: frames.length,
        bytes: frames.reduce((s, f) => s + f.origLen, 0),
        linkTypes: [1],
        skipped: 0,
      });
      expect(got.frames.size).toBe(1); // one reused RawFrame for every packet
      expectChunkInvariant(buf);
    });
  }

  it.skipIf(!hasWiresharkTools)('agrees with tshark on the hand-built files', () => {
    for (const v of variants) {
      const buf = pcapFile({ le: v.le, nano: v.nano }, packets(v.nano));
      const path = write(`tshark-${v.le}-${v.nano}.pcap`, buf);
      const ref = tsharkRef(path);
      const got = parseBuffer(buf);
      expect(got.ts).toEqual(ref.ts);
      expect(got.orig).toEqual(ref.len);
      expect(got.cap).toEqual(ref.cap);
    }
  });

  it('points the reused frame into the fed chunk (no copy, no subarray per packet)', () => {
    const buf = pcapFile({}, packets(false));
    const seen: { data: Buffer; offset: number }[] = [];
    const p = new CaptureParser('mem', (f: RawFrame) => seen.push({ data: f.data, offset: f.offset }), { sourceIndex: 7, onWarning: () => {} });
    p.feed(buf);
    p.end();
    expect(seen.map((s) => s.data === buf)).toEqual(frames.map(() => true));
    expect(seen.map((s) => s.offset)).toEqual(pcapRecordOffsets(buf).map((o) => o + 16));
  });

  it('sets sourceIndex from the options', async () => {
    const path = write('src-index.pcap', pcapFile({}, packets(false)));
    const idx: number[] = [];
    await readCapture(path, (f) => idx.push(f.sourceIndex), { sourceIndex: 3, onWarning: () => {} });
    expect(new Set(idx)).toEqual(new Set([3]));
  });

  it('reads a header-only file as zero packets', () => {
    const got = parseBuffer(pcapFile({ linkType: 113 }, []));
    expect(got.error).toBeUndefined();
    expect(got.warnings).toEqual([]);
    expect(got.result).toEqual({ packets: 0, bytes: 0, linkTypes: [113], skipped: 0 });
  });

  it('accepts the DLT_RAW aliases and ignores the FCS bits of the link type field', () => {
    expect(parseBuffer(pcapFile({ linkType: 12 }, packets(false))).result?.linkTypes).toEqual([12]);
    const fcs = parseBuffer(pcapFile({ linkType: 1 | 0x04000000 | (4 << 28) }, packets(false)));
    expect(fcs.error).toBeUndefined();
    expect(fcs.lt.every((lt) => lt === 1)).toBe(true);
  });

  it('rejects an unsupported link type at the header, naming it', () => {
    expect(captureErrorMessage(parseBuffer(pcapFile({ linkType: 127 }, packets(false)), 1 << 20, 'wifi.pcap'))).toBe(
      'wifi.pcap: unsupported link type 127 (IEEE802_11_RADIOTAP)',
    );
    expect(captureErrorMessage(parseBuffer(pcapFile({ linkType: 4242 }, [])))).toBe('mem: unsupported link type 4242');
  });

  it('gives a pcap with a snaplen cut its caplen and origLen', () => {
    const pk = packets(false).map((p) => ({ ...p, data: p.data.subarray(0, 60), origLen: p.data.length }));
    const got = parseBuffer(pcapFile({ snaplen: 60 }, pk));
    expect(got.cap.every((c) => c === 60)).toBe(true);
    expect(got.orig).toEqual(frames.map((f) => f.data.length));
    expect(got.result?.bytes).toBe(frames.reduce((s, f) => s + f.data.length, 0));
  });
});

describe('pcapng, hand-built around real frames', () => {
  const f = frames.map((x) => x.data);
  /** The file and what a correct reader must deliver from it. */
  function bigPcapng(badIds = true): { buf: Buffer; ts: number[]; lt: number[]; cap: number[]; orig: number[]; data: Buffer[]; b: PcapngBuilder } {
    const b = new PcapngBuilder();
    b.shb(true)
      .idb(1, { name: 'eth0' }) // 0: µs by default
      .idb(1, { tsresol: 9, snaplen: 262144 }) // 1: ns
      .idb(127, { tsresol: 6 }) // 2: radiotap, unsupported
      .idb(113, { snaplen: 64 }) // 3: Linux SLL with a snaplen
      .epb(0, 1_600_000_000_123_456n, f[0])
      .block(0x00000bad, Buffer.from('custom block, copyable')) // custom: skipped
      .epb(1, 1_600_000_001_123_456_789n, f[1], { withOption: true })
      .nrb()
      .isb(0)
      .block(0x12345678, Buffer.alloc(40, 0xee)) // unknown type: skipped
      .spb(f[2]) // no timestamp: the previous packet's
      .opb(1, 1_600_000_002_000_000_001n, f[3])
      .epb(2, 1_600_000_002_500_000_000n, f[4]); // unsupported interface: skipped
    // Undeclared interfaces: a warning, packets skipped (tshark refuses such files outright).
    if (badIds) b.epb(7, 1n, f[4]);
    b.epb(3, 1_600_000_002_600_000n, f[5].subarray(0, 64), { origLen: f[5].length })
      // A second section, big-endian: interfaces start over.
      .shb(false)
      .idb(1, { tsresol: 0x80 | 20, tsoffset: 1000n }) // 0: 2^-20 s ticks, +1000 s
      .epb(0, 1_600_000_003n * 2n ** 20n + 2n ** 19n, f[6])
      .spb(f[7]);
    if (badIds) b.epb(1, 5n, f[0]); // interface 1 belonged to the previous section
    b.idb(276, { tsresol: 3 }) // 1: SLL2, ms
      .epb(1, 1_600_000_004_567n, f[1])
      .isb(1);
    return {
      buf: b.build(),
      b,
      ts: [
        1600000000123456,
        1600000001e6 + 123456.789,
        1600000001e6 + 123456.789,
        1600000002e6 + 0.001,
        1600000002600000,
        1600001003500000,
        1600001003500000,
        1600000004567000,
      ],
      lt: [1, 1, 1, 1, 113, 1, 1, 276],
      cap: [f[0], f[1], f[2], f[3], f[5].subarray(0, 64), f[6], f[7], f[1]].map((d) => d.length),
      orig: [f[0], f[1], f[2], f[3], f[5], f[6], f[7], f[1]].map((d) => d.length),
      data: [f[0], f[1], f[2], f[3], f[5].subarray(0, 64), f[6], f[7], f[1]],
    };
  }

  it('reads EPB/SPB/OPB over several interfaces and sections, skipping other blocks', async () => {
    const exp = bigPcapng();
    const got = await readAll(write('hand.pcapng', exp.buf));
    expect(got.error).toBeUndefined();
    expect(got.ts).toEqual(exp.ts);
    expect(got.lt).toEqual(exp.lt);
    expect(got.cap).toEqual(exp.cap);
    expect(got.orig).toEqual(exp.orig);
    expect(got.data).toEqual(exp.data);
    expect(got.result).toEqual({
      packets: 8,
      bytes: exp.orig.reduce((a, b) => a + b, 0),
      linkTypes: [1, 113, 276],
      skipped: 3,
    });
    const o = exp.b.offsets;
    expect(got.warnings).toEqual([
      { file: join(tmp, 'hand.pcapng'), offset: o[3], message: 'interface 2 has unsupported link type 127 (IEEE802_11_RADIOTAP); skipping its packets' },
      {
        file: join(tmp, 'hand.pcapng'),
        offset: o[14],
        message: `packet block at byte offset ${o[14]} refers to interface 7, but the section declares 4; skipping such packets`,
      },
      {
        file: join(tmp, 'hand.pcapng'),
        offset: o[20],
        message: `packet block at byte offset ${o[20]} refers to interface 1, but the section declares 1; skipping such packets`,
      },
    ]);
    expect(got.frames.size).toBe(1);
    expectChunkInvariant(exp.buf);
  });

  it.skipIf(!hasWiresharkTools)('agrees with tshark on the hand-built pcapng', () => {
    const exp = bigPcapng(false);
    const ref = tsharkRef(write('hand-tshark.pcapng', exp.buf));
    // tshark also lists the custom block (row 1) and the unsupported interface's packet (row 5).
    expect(ref.ts.length).toBe(10);
    const keep = (_: unknown, i: number) => i !== 1 && i !== 5;
    expect(exp.orig).toEqual(ref.len.filter(keep));
    expect(exp.cap).toEqual(ref.cap.filter(keep));
    expect(ref.iface.filter(keep)).toEqual([0, 1, 0, 1, 3, 0, 0, 1]);
    // SPBs (our packets 2 and 6) have no timestamp of their own: tshark prints none.
    const refTs = ref.ts.filter(keep);
    for (const i of [0, 1, 3, 4, 5, 7]) expect(exp.ts[i]).toBe(refTs[i]);
  });

  it('reads a big-endian-only file', () => {
    const b = new PcapngBuilder().shb(false).idb(1, { tsresol: 9 }).epb(0, 1_700_000_000_000_000_123n, f[0]).opb(0, 1_700_000_000_000_001_000n, f[1]);
    const got = parseBuffer(b.build());
    expect(got.error).toBeUndefined();
    expect(got.ts).toEqual([1_700_000_000e6 + 0.123, 1_700_000_000e6 + 1]);
    expect(got.data).toEqual([f[0], f[1]]);
    expectChunkInvariant(b.build());
  });

  it('cuts an SPB to the snaplen and to the block, and drops its padding', () => {
    const data = f[0].subarray(0, 61); // 61 bytes: 3 bytes of padding in the block
    const b = new PcapngBuilder().shb().idb(1, { snaplen: 50 }).spb(data, 61).shb().idb(1).spb(data, 61).spb(data.subarray(0, 40), 61);
    const got = parseBuffer(b.build());
    expect(got.cap).toEqual([50, 61, 40]);
    expect(got.orig).toEqual([61, 61, 61]);
    expect(got.data[0]).toEqual(data.subarray(0, 50));
    expect(got.ts).toEqual([0, 0, 0]); // no packet with a timestamp before them
  });

  it('converts if_tsresol 10^-9 and 2^-k exactly', () => {
    const b = new PcapngBuilder()
      .shb()
      .idb(1, { tsresol: 9 })
      .idb(1, { tsresol: 0x80 | 10 }) // 1/1024 s
      .idb(1, { tsresol: 0x80 | 40 }) // beyond 2^32 ticks/s: floating point (64 bits of 2^-40 s only reach 1970 + 194 days)
      .idb(1, { tsresol: 0 }) // whole seconds
      .idb(1, { tsresol: 6, tsoffset: -10n })
      .epb(0, 1_234_567_890_987_654_321n, f[0])
      .epb(1, 1_700_000_000n * 1024n + 512n, f[0])
      .epb(2, 1000n * 2n ** 40n + 2n ** 38n, f[0])
      .epb(3, 1_700_000_000n, f[0])
      .epb(4, 1_700_000_000_000_000n, f[0]);
    const got = parseBuffer(b.build());
    expect(got.ts).toEqual([1_234_567_890e6 + 987654.321, 1_700_000_000_500_000, 1_000_250_000, 1_700_000_000e6, 1_699_999_990e6]);
  });

  it('treats a pcapng with a nanosecond interface like the same packets in a nanosecond pcap', () => {
    const pk = packets(true);
    const b = new PcapngBuilder().shb().idb(1, { tsresol: 9 });
    for (const p of pk) b.epb(0, BigInt(p.sec) * 1_000_000_000n + BigInt(p.frac), p.data, { origLen: p.origLen });
    expect(parseBuffer(b.build()).ts).toEqual(parseBuffer(pcapFile({ nano: true }, pk)).ts);
  });
});

describe('bad input', () => {
  const good = pcapFile({}, packets(false));
  const offs = pcapRecordOffsets(good);

  it('empty file', async () => {
    const got = await readAll(write('empty.pcap', Buffer.alloc(0)));
    expect(captureErrorMessage(got)).toBe(`${join(tmp, 'empty.pcap')}: empty file (no capture header)`);
    expect(captureErrorMessage(parseBuffer(Buffer.alloc(0)))).toBe('mem: empty file (no capture header)');
    const viaStream = await readStream('stdin', Readable.from([]));
    expect(captureErrorMessage(viaStream)).toBe('stdin: empty file (no capture header)');
  });

  it('random bytes and wrong magic', async () => {
    const rnd = Buffer.from('8f3a5b7c1d2e3f405162738495a6b7c8d9eaf0b1c2d3e4f5061728394a5b6c7d', 'hex');
    expect(captureErrorMessage(await readAll(write('random.bin', rnd)))).toBe(
      `${join(tmp, 'random.bin')}: not a pcap or pcapng capture (magic 0x8f3a5b7c)`,
    );
    const wrong = Buffer.from(good);
    wrong[0] = 0xd5;
    expect(captureErrorMessage(parseBuffer(wrong))).toBe('mem: not a pcap or pcapng capture (magic 0xd5c3b2a1)');
    expect(captureErrorMessage(parseBuffer(Buffer.from('GET / HTTP/1.1\r\n')))).toBe('mem: not a pcap or pcapng capture (magic 0x47455420)');
    expect(captureErrorMessage(parseBuffer(Buffer.from([0xd4, 0xc3])))).toBe('mem: not a pcap or pcapng capture (only 2 bytes)');
    expect(captureErrorMessage(parseBuffer(good.subarray(0, 10)))).toBe('mem: truncated pcap file header (10 of 24 bytes)');
    const ng = new PcapngBuilder().shb().build();
    expect(captureErrorMessage(parseBuffer(ng.subarray(0, 20)))).toMatch(/truncated pcapng section header/);
    const badBom = Buffer.from(ng);
    badBom.writeUInt32LE(0x11223344, 8);
    expect(captureErrorMessage(parseBuffer(badBom))).toMatch(/^mem: not a pcapng capture \(bad byte-order magic/);
    const modified = Buffer.from(good);
    modified.writeUInt32LE(0xa1b2cd34, 0);
    expect(captureErrorMessage(parseBuffer(modified))).toMatch(/unsupported pcap variant/);
  });

  it('file cut inside a packet record: keeps the packets before it and warns with the record offset', async () => {
    for (const [k, into] of [
      [3, 20],
      [3, 5],
      [0, 1],
      [offs.length - 1, 17],
    ]) {
      const cut = good.subarray(0, offs[k] + into);
      const got = await readAll(write(`cut-${k}-${into}.pcap`, cut));
      expect(got.error).toBeUndefined();
      expectSameFrames(got, k);
      expect(got.warnings).toEqual([
        { file: join(tmp, `cut-${k}-${into}.pcap`), offset: offs[k], message: `truncated: file ends inside a packet record at byte offset ${offs[k]}` },
      ]);
      expect(got.result?.packets).toBe(k);
      expectChunkInvariant(cut);
    }
    // Cut exactly between records: nothing to warn about.
    const clean = parseBuffer(good.subarray(0, offs[4]));
    expect(clean.warnings).toEqual([]);
    expect(clean.result?.packets).toBe(4);
  });

  it('file cut inside a pcapng packet block or other block', () => {
    const b = new PcapngBuilder().shb().idb(1).epb(0, 1n, frames[0].data).epb(0, 2n, frames[1].data).nrb();
    const buf = b.build();
    const o = b.offsets;
    const got = parseBuffer(buf.subarray(0, o[3] + 30));
    expect(got.data).toEqual([frames[0].data]);
    expect(got.warnings.map((w) => [w.offset, w.message])).toEqual([[o[3], `truncated: file ends inside a packet record at byte offset ${o[3]}`]]);
    const got2 = parseBuffer(buf.subarray(0, o[4] + 9));
    expect(got2.result?.packets).toBe(2);
    expect(got2.warnings.map((w) => w.message)).toEqual([`truncated: file ends inside a pcapng block (type 0x00000004) at byte offset ${o[4]}`]);
  });

  it('absurd caplen in a pcap record: warns with its offset, keeps what came before and stops', () => {
    const pk = packets(false);
    pk[3] = { ...pk[3], caplenField: 0x7fffffff };
    const buf = pcapFile({}, pk);
    const got = parseBuffer(buf);
    expect(got.error).toBeUndefined();
    expectSameFrames(got, 3);
    expect(got.warnings.map((w) => [w.offset, w.message])).toEqual([
      [offs[3], `corrupt packet record at byte offset ${offs[3]}: captured length 2147483647 exceeds ${MAX_CAPLEN}; stopped reading this file`],
    ]);
    expectChunkInvariant(buf);
    // Just over the limit is rejected as well.
    pk[3] = { ...pk[3], caplenField: MAX_CAPLEN + 1 };
    expect(parseBuffer(pcapFile({}, pk)).result?.packets).toBe(3);
  });

  it('absurd caplen in a pcapng packet block (beyond the block, or beyond 262144)', () => {
    for (const caplenField of [frames[1].data.length + 100, 300000]) {
      const b = new PcapngBuilder().shb().idb(1).epb(0, 1n, frames[0].data).epb(0, 2n, frames[1].data, { caplenField }).epb(0, 3n, frames[2].data);
      const got = parseBuffer(b.build());
      expect(got.data).toEqual([frames[0].data]);
      expect(got.warnings).toHaveLength(1);
      expect(got.warnings[0].offset).toBe(b.offsets[3]);
      expect(got.warnings[0].message).toMatch(new RegExp(`^corrupt packet block at byte offset ${b.offsets[3]}: captured length ${caplenField} exceeds`));
    }
  });

  it('pcapng bad block lengths: not a multiple of 4, under 12, trailer mismatch, huge', () => {
    const cases: [{ lengthOverride?: number; trailerOverride?: number }, RegExp][] = [
      [{ lengthOverride: 30 }, /bad block length 30;/],
      [{ lengthOverride: 8 }, /bad block length 8;/],
      [{ trailerOverride: 20 }, /trailing length 20 does not match block length 24;/],
      [{ lengthOverride: 0x7ffffff0 }, /bad block length 2147483632;/],
    ];
    for (const [o, re] of cases) {
      const b = new PcapngBuilder().shb().idb(1).epb(0, 1n, frames[0].data).block(0x40000bad, Buffer.alloc(12), o).epb(0, 2n, frames[1].data);
      const buf = b.build();
      const got = parseBuffer(buf);
      expect(got.error).toBeUndefined();
      expect(got.data).toEqual([frames[0].data]);
      expect(got.warnings).toHaveLength(1);
      expect(got.warnings[0].offset).toBe(b.offsets[3]);
      expect(got.warnings[0].message).toMatch(new RegExp(`^corrupt pcapng block at byte offset ${b.offsets[3]}: `));
      expect(got.warnings[0].message).toMatch(re);
      expectChunkInvariant(buf);
    }
    // The same problems in the first section header are fatal: it is not a usable capture.
    const shb = new PcapngBuilder().block(0x0a0d0d0a, Buffer.from('4d3c2b1a01000000ffffffffffffffff', 'hex'), { lengthOverride: 26 }).build();
    expect(captureErrorMessage(parseBuffer(shb))).toMatch(/not a valid pcapng capture/);
  });

  it('pcapng: a second section header that is corrupt stops the file', () => {
    const b = new PcapngBuilder().shb().idb(1).epb(0, 1n, frames[0].data).shb();
    const buf = b.build();
    buf.writeUInt32LE(0x01020304, b.offsets[3] + 8);
    const got = parseBuffer(buf);
    expect(got.result?.packets).toBe(1);
    expect(got.warnings.map((w) => w.message)).toEqual([
      `corrupt section header block at byte offset ${b.offsets[3]} (bad byte-order magic); stopped reading this file`,
    ]);
  });

  it('missing file, directory', async () => {
    expect(captureErrorMessage(await readAll(join(tmp, 'nope.pcap')))).toBe(`${join(tmp, 'nope.pcap')}: cannot read: no such file`);
    mkdirSync(join(tmp, 'dir.pcap'), { recursive: true });
    expect(captureErrorMessage(await readAll(join(tmp, 'dir.pcap')))).toMatch(/dir\.pcap: is a directory/);
  });

  it('an exception from the sink propagates unchanged (not dressed up as a read error)', async () => {
    const path = write('sink-throws.pcap', good);
    const boom = Object.assign(new Error('consumer bug'), { code: 'EBUG' });
    const opts = { sourceIndex: 0, onWarning: () => {} };
    await expect(readCapture(path, () => { throw boom; }, opts)).rejects.toBe(boom);
    await expect(readCapture(write('sink-throws.gz', gzipSync(good)), () => { throw boom; }, opts)).rejects.toBe(boom);
  });
});

describe('gzip', () => {
  const good = pcapFile({}, packets(false));
  const offs = pcapRecordOffsets(good);

  it('reads a gzip-compressed pcap and pcapng, detected by magic not by name', async () => {
    const plain = parseBuffer(good);
    const got = await readAll(write('gz-no-extension', gzipSync(good)));
    expect(got.error).toBeUndefined();
    expect(got.warnings).toEqual([]);
    expect(got.ts).toEqual(plain.ts);
    expect(got.data).toEqual(plain.data);
    const ng = new PcapngBuilder().shb().idb(1).epb(0, 5n, frames[0].data).build();
    const gotNg = await readAll(write('x.pcapng.gz', gzipSync(ng)));
    expect(gotNg.data).toEqual([frames[0].data]);
    // Two concatenated gzip members are one stream.
    const half = Math.floor(good.length / 2);
    const two = await readAll(write('two-members.gz', Buffer.concat([gzipSync(good.subarray(0, half)), gzipSync(good.subarray(half))])));
    expect(two.data).toEqual(plain.data);
  });

  it('truncated gzip stream: warns, keeps everything that was decompressed', async () => {
    const big = manyPackets(400);
    const gz = gzipSync(big, { level: 1 });
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    const got = await readAll(write('cut.pcap.gz', cut));
    expect(got.error).toBeUndefined();
    // What zlib can get out of the cut stream, and so what the reader must deliver.
    const prefix = gunzipSync(cut, { finishFlush: zc.Z_SYNC_FLUSH });
    const expected = parseBuffer(prefix);
    expect(got.result?.packets).toBe(expected.result?.packets);
    expect(got.result?.packets).toBeGreaterThan(100);
    expectBuffersEqual(got.data, parseBuffer(big).data.slice(0, got.data.length));
    expect(got.warnings.map((w) => w.message)).toEqual([
      `truncated gzip stream (unexpected end of file) after ${prefix.length} decompressed bytes; keeping what was decompressed`,
      ...expected.warnings.map((w) => w.message), // the cut record, if the cut fell inside one
    ]);
  });

  it('gzip of a capture cut mid-record: the usual truncation warning', async () => {
    const got = await readAll(write('cut-inside.pcap.gz', gzipSync(good.subarray(0, offs[2] + 30))));
    expect(got.result?.packets).toBe(2);
    expect(got.warnings.map((w) => w.message)).toEqual([`truncated: file ends inside a packet record at byte offset ${offs[2]}`]);
  });

  it('gzip of random bytes, corrupt gzip header, gzip header only', async () => {
    const rnd = Buffer.alloc(5000);
    for (let i = 0; i < rnd.length; i++) rnd[i] = (i * 2654435761) >>> 24;
    expect(captureErrorMessage(await readAll(write('random.gz', gzipSync(rnd))))).toMatch(/not a pcap or pcapng capture \(magic 0x[0-9a-f]{8}\)$/);
    const badMethod = Buffer.from(gzipSync(good));
    badMethod[2] = 7; // compression method must be 8 (deflate)
    expect(captureErrorMessage(await readAll(write('bad-method.gz', badMethod)))).toMatch(/corrupt gzip stream \(.+\)$/);
    const junk = Buffer.concat([Buffer.from([0x1f, 0x8b]), rnd]);
    expect(captureErrorMessage(await readAll(write('junk.gz', junk)))).toMatch(/: (corrupt|truncated) gzip stream/);
    expect(captureErrorMessage(await readAll(write('header-only.gz', gzipSync(good).subarray(0, 10))))).toMatch(/truncated gzip stream \(unexpected end of file\)$/);
  });

  it('bad CRC at the end of a large stream: a warning, the packets decompressed before it kept', async () => {
    const big = manyPackets(12000); // several MB: most output is delivered before the trailer is checked
    const gz = Buffer.from(gzipSync(big, { level: 1 }));
    gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 1) >>> 0, gz.length - 8);
    const got = await readAll(write('bad-crc.gz', gz));
    expect(got.error).toBeUndefined();
    expect(got.warnings).toHaveLength(2);
    expect(got.warnings[0].message).toMatch(/^corrupt gzip stream \(incorrect data check\) after \d+ decompressed bytes; keeping what was decompressed$/);
    // zlib drops the output of the call that failed (at most one 256 KiB output chunk).
    expect(got.warnings[0].offset).toBeGreaterThan(big.length - 300 * 1024);
    expect(got.result?.packets).toBeGreaterThan(10000);
    // A small one fails within its first output chunk: nothing was decompressed, so it is an error.
    const small = Buffer.from(gzipSync(manyPackets(20)));
    small.writeUInt32LE((small.readUInt32LE(small.length - 8) ^ 1) >>> 0, small.length - 8);
    expect(captureErrorMessage(await readAll(write('bad-crc-small.gz', small)))).toMatch(/: corrupt gzip stream \(incorrect data check\)$/);
  });
});

describe('streams, stdin and progress', () => {
  const good = pcapFile({}, packets(false));

  it('reads from a Readable delivering 1-byte chunks, plain and gzip', async () => {
    const oneByte = (b: Buffer) => Readable.from((function* () {
      for (let i = 0; i < b.length; i++) yield b.subarray(i, i + 1);
    })());
    const plain = await readStream('s', oneByte(good));
    expectSameFrames(plain);
    const gz = await readStream('s', oneByte(gzipSync(good)));
    expectSameFrames(gz);
  });

  it("readCapture('-') reads process.stdin", async () => {
    const spy = vi.spyOn(process, 'stdin', 'get').mockReturnValue(Readable.from([gzipSync(good)]) as unknown as typeof process.stdin);
    try {
      const got = await readAll('-');
      expect(got.error).toBeUndefined();
      expectSameFrames(got);
    } finally {
      spy.mockRestore();
    }
  });

  it('reads real standard input in a child process (compiled module)', () => {
    // Transpile just the capture module to plain ESM (in-process: no full tsc run).
    const out = join(tmp, 'dist');
    mkdirSync(out, { recursive: true });
    for (const name of ['reader', 'types']) {
      const src = readFileSync(join(process.cwd(), `src/capture/${name}.ts`), 'utf8');
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      writeFileSync(join(out, `${name}.js`), js);
    }
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    const script = `
      import { readCapture } from ${JSON.stringify(pathToFileURL(join(out, 'reader.js')).href)};
      const ts = []; const warnings = [];
      try {
        const r = await readCapture('-', (f) => ts.push(f.tsUs), { sourceIndex: 0, onWarning: (w) => warnings.push(w.message) });
        console.log(JSON.stringify({ r, ts, warnings }));
      } catch (e) { console.log(JSON.stringify({ error: e.message })); }`;
    const run = (input: Buffer) => {
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input, encoding: 'utf8', timeout: 30_000 });
      expect(res.stderr).toBe('');
      return JSON.parse(res.stdout) as { r?: { packets: number }; ts?: number[]; warnings?: string[]; error?: string };
    };
    const plain = run(good);
    expect(plain.r?.packets).toBe(frames.length);
    expect(plain.ts).toEqual(parseBuffer(good).ts);
    expect(run(gzipSync(good)).ts).toEqual(plain.ts);
    const cut = run(good.subarray(0, good.length - 3));
    expect(cut.r?.packets).toBe(frames.length - 1);
    expect(cut.warnings?.[0]).toMatch(/^truncated: file ends inside a packet record at byte offset \d+$/);
    expect(run(Buffer.alloc(0)).error).toBe('stdin: empty file (no capture header)');
  });

  it('reports progress at most once per chunk, ending at the file size', async () => {
    const avg = frames.reduce((a, f) => a + 16 + f.data.length, 0) / frames.length;
    const n = Math.ceil((3.5 * (1 << 20)) / avg); // several 1 MiB read chunks
    const buf = manyPackets(n);
    expect(buf.length).toBeGreaterThan(3 << 20);
    for (const [name, data] of [
      ['progress.pcap', buf],
      ['progress.pcap.gz', gzipSync(buf, { level: 1 })],
    ] as const) {
      const path = write(name, data);
      const calls: [number, number | null][] = [];
      const r = await readCapture(path, () => {}, { sourceIndex: 0, onWarning: () => {}, onProgress: (a, b) => calls.push([a, b]) });
      expect(r.packets).toBe(n);
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.length).toBeLessThanOrEqual(Math.ceil(data.length / (1 << 20)) + 1);
      expect(calls.at(-1)).toEqual([data.length, data.length]);
      for (let i = 1; i < calls.length; i++) expect(calls[i][0]).toBeGreaterThan(calls[i - 1][0]);
    }
  });

  it('memory does not grow with the stream length (200 MB fed through one reused chunk)', () => {
    const rec = pcapFile({}, [{ sec: 1_700_000_000, frac: 1, data: Buffer.alloc(1000, 0x55) }]).subarray(24);
    const header = pcapFile({}, []);
    const C = 64 * 1024;
    const period = Buffer.concat(Array.from({ length: Math.ceil(C / rec.length) + 2 }, () => rec));
    const chunk = Buffer.alloc(C);
    let packets = 0;
    const p = new CaptureParser('gen', () => packets++, { sourceIndex: 0, onWarning: () => {} });
    p.feed(header);
    const total = 200 << 20;
    const before = process.memoryUsage().arrayBuffers;
    for (let g = 0; g < total; g += C) {
      const phase = g % rec.length;
      period.copy(chunk, 0, phase, phase + C);
      p.feed(chunk); // the parser must not keep references to the chunk it is done with
    }
    const r = p.end();
    const growth = process.memoryUsage().arrayBuffers - before;
    expect(packets).toBe(Math.floor(total / rec.length));
    expect(r.packets).toBe(packets);
    expect(growth).toBeLessThan(4 << 20);
  });
});

// ---------- real captures, converted with the Wireshark tools ----------

describe.skipIf(!hasCorpus || !hasWiresharkTools)('tool-made variants of corpus captures', () => {
  const dir = join(tmp, 'variants');
  const curl = join(CORPUS, '443-curl.pcap');
  const sll2 = join(CORPUS, 'sv_decode-sll2-02.pcap');
  const nul = join(CORPUS, 'selfsigned.pcap');
  const quic = join(CORPUS, 'quic-33.pcapng'); // nanosecond interface
  const v = (n: string) => join(dir, n);

  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    copyFileSync(curl, v('us.pcap'));
    run('editcap', ['-F', 'nsecpcap', '-t', '0.000000123', curl, v('ns.pcap')]); // ns with a fractional µs
    run('tcpdump', ['--time-stamp-precision=nano', '-r', quic, '-w', v('tcpdump-ns.pcap')]);
    run('editcap', ['-F', 'pcapng', curl, v('us.pcapng')]);
    run('editcap', ['-F', 'pcapng', v('ns.pcap'), v('ns.pcapng')]);
    run('mergecap', ['-F', 'pcapng', '-w', v('multi.pcapng'), curl, sll2, nul]);
    run('mergecap', ['-F', 'pcapng', '-w', v('multi-ns.pcapng'), v('ns.pcap'), quic, nul]);
    writeFileSync(v('be.pcap'), toBigEndianPcap(readFileSync(curl)));
    writeFileSync(v('be-ns.pcap'), toBigEndianPcap(readFileSync(v('ns.pcap'))));
    writeFileSync(v('us.pcap.gz'), gzipSync(readFileSync(curl)));
    writeFileSync(v('multi.pcapng.gz'), gzipSync(readFileSync(v('multi.pcapng'))));
  });

  const linkTypeOf = (path: string) => readFileSync(path).readUInt32LE(20);
  const cases: [string, () => (iface: number) => number][] = [
    ['us.pcap', () => () => 1],
    ['ns.pcap', () => () => 1],
    ['tcpdump-ns.pcap', () => () => 1],
    ['us.pcapng', () => () => 1],
    ['ns.pcapng', () => () => 1],
    ['be.pcap', () => () => 1],
    ['be-ns.pcap', () => () => 1],
    ['us.pcap.gz', () => () => 1],
    ['multi.pcapng', () => (i) => [1, linkTypeOf(sll2), linkTypeOf(nul)][i]],
    ['multi-ns.pcapng', () => (i) => [1, 1, linkTypeOf(nul)][i]],
    ['multi.pcapng.gz', () => (i) => [1, linkTypeOf(sll2), linkTypeOf(nul)][i]],
  ];
  for (const [name, lt] of cases) {
    it(`${name}: same packets, lengths, timestamps and link types as tshark`, async () => {
      const got = await readAll(v(name), false);
      expect(got.error).toBeUndefined();
      expect(got.warnings).toEqual([]);
      const ref = tsharkRef(v(name)); // tshark reads .gz itself
      expect(got.ts.length).toBe(ref.ts.length);
      expect(got.ts).toEqual(ref.ts);
      expect(got.orig).toEqual(ref.len);
      expect(got.cap).toEqual(ref.cap);
      const ltOf = lt();
      expect(got.lt).toEqual(ref.iface.map((i) => ltOf(i)));
    });
  }

  it('the ns variants have the µs packets plus 0.123 µs', async () => {
    const us = await readAll(v('us.pcap'), false);
    const ns = await readAll(v('ns.pcapng'), false);
    expect(maxAbsDiff(ns.ts.map((t, i) => t - us.ts[i]), us.ts.map(() => 0.123))).toBeLessThan(0.126); // 1 ULP at 1.6e15 µs is 0.25
    expect((await readAll(v('be-ns.pcap'), false)).ts).toEqual(ns.ts);
  });

  it('the multi-interface file keeps every input packet', async () => {
    const got = await readAll(v('multi.pcapng'), false);
    expect(got.result?.linkTypes).toEqual([1, linkTypeOf(sll2), linkTypeOf(nul)]);
    expect(got.result?.packets).toBe(109 + 159 + 20);
  });

  it('a variant cut in the middle yields the prefix and one warning', async () => {
    for (const name of ['be.pcap', 'multi.pcapng']) {
      const full = readFileSync(v(name));
      const whole = parseBuffer(full);
      const cut = parseBuffer(full.subarray(0, Math.floor(full.length / 2)));
      expect(cut.warnings).toHaveLength(1);
      expect(cut.warnings[0].message).toMatch(/^truncated: file ends inside a packet record at byte offset \d+$/);
      expectBuffersEqual(cut.data, whole.data.slice(0, cut.data.length));
    }
  });
});

describe('project captures', () => {
  it('captures/ of the project read cleanly when present', async () => {
    const dir = join(process.cwd(), 'captures');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f));
    } catch {
      return;
    }
    for (const f of files) {
      const got = await readAll(join(dir, f), false);
      expect(got.error, f).toBeUndefined();
    }
  });

});

describe.skipIf(!hasCorpus)('every corpus capture', () => {
  const manifest = hasCorpus
    ? readFileSync(join(CORPUS, 'MANIFEST.tsv'), 'utf8')
        .split('\n')
        .slice(1)
        .filter((l) => l.trim() !== '')
        .map((l) => l.split('\t'))
        .map((c) => ({ file: c[1], packets: Number(c[6]) }))
        .filter((r) => /\.pcap(ng)?$/.test(r.file))
    : [];

  it('reads every file with the packet count of the manifest and no warning', async () => {
    expect(manifest.length).toBeGreaterThan(50);
    for (const { file, packets } of manifest) {
      const got = await readAll(join(CORPUS, file), false);
      expect(got.error, file).toBeUndefined();
      expect(got.warnings, file).toEqual([]);
      expect(got.result?.packets, file).toBe(packets);
    }
  });

  // tshark on the whole corpus takes ~20 s; by default check a set covering every format quirk.
  const tsharkSet = process.env.CAPTURE_FULL
    ? manifest.map((m) => m.file).filter((f) => !f.startsWith('DERIVED_'))
    : [
        'sites.pcapng', // 22 interfaces, µs and ns resolutions
        'quic-33.pcapng', // ns interface
        'yandex.pcapng',
        'quic-v2.pcapng', // Linux SLL in pcapng
        'rtsp.pcap', // pcapng named .pcap, Linux SLL
        'ja4_http1.pcapng', // pcap named .pcapng
        'selfsigned.pcap', // BSD loopback
        'sv_decode-sll2-02.pcap', // SLL2, large frames
        'iotds_lockly-hub-01.pcap', // caplen < origLen
        'telnet.pcap', // 1999 timestamps
        'windowsupdate_over_http.pcap', // 1970 timestamps
      ];
  it.skipIf(!hasWiresharkTools)('agrees with tshark on timestamps and lengths', async () => {
    const refs = await tsharkRefs(tsharkSet.map((f) => join(CORPUS, f)));
    for (const file of tsharkSet) {
      const path = join(CORPUS, file);
      const got = await readAll(path, false);
      const ref = refs.get(path);
      expect(got.ts, file).toEqual(ref?.ts);
      expect(got.orig, file).toEqual(ref?.len);
      expect(got.cap, file).toEqual(ref?.cap);
    }
  });

  it('is fast: the 23 MB benchmark merge with an empty sink', async () => {
    const path = join(CORPUS, 'DERIVED_bench_merged_shared.pcap');
    const opts = { sourceIndex: 0, onWarning: () => {} };
    const sink = () => {};
    let best = Infinity;
    let r;
    for (let i = 0; i < 6; i++) {
      const t0 = performance.now();
      r = await readCapture(path, sink, opts);
      best = Math.min(best, performance.now() - t0);
    }
    expect(r?.packets).toBe(122594);
    console.log(`capture reader: ${path.split('/').pop()} ${r?.packets} packets in ${best.toFixed(1)} ms (best of 6)`);
    // Generous bound (shared CI machines): the point is to catch an accidental O(n^2) or per-packet copy.
    expect(best).toBeLessThan(500);
  });
});
