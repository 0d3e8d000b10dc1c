/**
 * TCP reassembly against tshark's "follow tcp" on real captures, and on the same real segments
 * delivered out of order, duplicated and overlapping.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/reader.js';
import { formatIp } from '../../src/decode/address.js';
import { DecodeResult, decodeFrame, IpProto, PacketView, TcpFlag } from '../../src/decode/packet.js';
import { StreamReassembler } from '../../src/flow/reassembly.js';
import { CAPTURES, corpusAvailable, corpusFile, hasTool } from '../helpers/analysis.js';
import { rng } from '../helpers/fuzz.js';

interface Segment {
  seq: number;
  syn: boolean;
  payload: Buffer;
}

/** Segments per "srcip:port>dstip:port" direction, in capture order, payloads copied. */
async function segmentsOf(file: string): Promise<Map<string, Segment[]>> {
  const v = new PacketView();
  const out = new Map<string, Segment[]>();
  await readCapture(file, (f) => {
    if (decodeFrame(f, v) !== DecodeResult.IP || v.proto !== IpProto.TCP || !v.hasPorts) return;
    const key = `${formatIp(v.ipVersion, v.src)}:${v.srcPort}>${formatIp(v.ipVersion, v.dst)}:${v.dstPort}`;
    const list = out.get(key) ?? [];
    list.push({ seq: v.tcpSeq, syn: (v.tcpFlags & TcpFlag.SYN) !== 0, payload: Buffer.from(v.data.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)) });
    out.set(key, list);
  }, { sourceIndex: 0, onWarning: () => {} });
  return out;
}

function reassemble(segments: Segment[], limit = 1 << 30): Buffer {
  const r = new StreamReassembler(limit);
  const parts: Buffer[] = [];
  const sink = (b: Buffer, o: number, n: number) => parts.push(Buffer.from(b.subarray(o, o + n)));
  for (const s of segments) {
    if (s.syn) r.syn(s.seq);
    r.segment(s.seq, s.payload, 0, s.payload.length, sink);
  }
  r.flush(sink);
  return Buffer.concat(parts);
}

/** tshark's reassembled bytes for each direction of each TCP stream, keyed like segmentsOf. */
function tsharkStreams(file: string): Map<string, Buffer> {
  const ids = execFileSync('tshark', ['-r', file, '-n', '-T', 'fields', '-e', 'tcp.stream', '-Y', 'tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const streams = [...new Set(ids.split('\n').filter(Boolean))];
  const args = ['-r', file, '-n', '-q'];
  for (const id of streams) args.push('-z', `follow,tcp,raw,${id}`);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  const result = new Map<string, Buffer>();
  for (const block of out.split(/^=+$/m)) {
    const n0 = /^Node 0: (.+)$/m.exec(block)?.[1];
    const n1 = /^Node 1: (.+)$/m.exec(block)?.[1];
    if (!n0 || !n1) continue;
    const c: string[] = [];
    const s: string[] = [];
    for (const line of block.split('\n')) {
      if (/^\t[0-9a-f]+$/.test(line)) s.push(line.slice(1));
      else if (/^[0-9a-f]+$/.test(line)) c.push(line);
    }
    result.set(`${n0}>${n1}`, Buffer.from(c.join(''), 'hex'));
    result.set(`${n1}>${n0}`, Buffer.from(s.join(''), 'hex'));
  }
  return result;
}

const FILES = [join(CAPTURES, 'lan-basic.pcap'), ...(corpusAvailable ? [corpusFile('http_ua_splitted_in_two_pkts.pcapng'), corpusFile('ftp.pcap'), corpusFile('smtp-starttls.pcap')] : [])];

describe.skipIf(!hasTool('tshark'))('TCP reassembly', () => {
  for (const file of FILES) {
    it(`gives tshark's stream bytes for every direction: ${file.split('/').pop()}`, async () => {
      const ours = await segmentsOf(file);
      const theirs = tsharkStreams(file);
      let compared = 0;
      for (const [key, segs] of ours) {
        const expected = theirs.get(key);
        if (expected === undefined) continue;
        expect(reassemble(segs).equals(expected), key).toBe(true);
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
    });
  }

  it('rebuilds the same stream from real segments shuffled, duplicated and overlapping', async () => {
    const ours = await segmentsOf(join(CAPTURES, 'lan-basic.pcap'));
    const next = rng(7);
    let checked = 0;
    for (const segs of ours.values()) {
      const expected = reassemble(segs);
      if (expected.length === 0) continue;
      const syn = segs.filter((s) => s.syn);
      const data = segs.filter((s) => !s.syn && s.payload.length > 0);
      // Split each segment in two overlapping halves, duplicate some, and shuffle locally.
      const pieces: Segment[] = [];
      for (const s of data) {
        const cut = Math.max(1, Math.floor(s.payload.length / 2));
        pieces.push({ seq: s.seq, syn: false, payload: s.payload.subarray(0, Math.min(s.payload.length, cut + 3)) });
        pieces.push({ seq: (s.seq + cut) >>> 0, syn: false, payload: s.payload.subarray(cut) });
        if (next() < 0.3) pieces.push({ seq: s.seq, syn: false, payload: s.payload });
      }
      for (let i = pieces.length - 1; i > 0; i--) {
        const j = Math.max(0, i - Math.floor(next() * 4));
        [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
      }
      expect(reassemble([...syn, ...pieces]).equals(expected)).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(5);
  });

  it('stops at its limit, skips a hole that never fills and counts it', async () => {
    const ours = await segmentsOf(join(CAPTURES, 'lan-basic.pcap'));
    // The biggest stream: the firmware download.
    const segs = [...ours.values()].sort((a, b) => b.reduce((n, s) => n + s.payload.length, 0) - a.reduce((n, s) => n + s.payload.length, 0))[0];
    const full = reassemble(segs);
    expect(reassemble(segs, 1000)).toEqual(full.subarray(0, 1000));
    const data = segs.filter((s) => s.payload.length > 0);
    const missing = data[Math.floor(data.length / 2)];
    const r = new StreamReassembler(1 << 30);
    const parts: Buffer[] = [];
    const sink = (b: Buffer, o: number, n: number) => parts.push(Buffer.from(b.subarray(o, o + n)));
    for (const s of segs) {
      if (s === missing) continue;
      if (s.syn) r.syn(s.seq);
      r.segment(s.seq, s.payload, 0, s.payload.length, sink);
    }
    r.flush(sink);
    expect(r.gaps).toBe(1);
    expect(Buffer.concat(parts).length).toBe(full.length - missing.payload.length);
  });
});
