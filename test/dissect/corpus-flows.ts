/**
 * Test helper for the LAN/infrastructure protocol dissectors (dns, dhcpv6, ssdp, ntp, snmp, coap,
 * tftp, wireguard, openvpn, ipsec, stun, netbios): pull TCP/UDP payloads out of a capture, group
 * them into bidirectional flows, and run a dissector over a flow the way the inspector does
 * (probe on the first payload, then feed each direction's bytes in order until it says done).
 * Also builds small pcaps from synthetic UDP payloads so tshark can serve as an oracle for them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/reader.js';
import { formatIp } from '../../src/decode/address.js';
import { DecodeResult, PacketView, TcpFlag, decodeFrame } from '../../src/decode/packet.js';
import { expect } from 'vitest';
import type { DissectContext, Dissector, Probe } from '../../src/dissect/types.js';
import { StreamReassembler } from '../../src/flow/reassembly.js';
import { mutate, randomBytes, rng } from '../helpers/fuzz.js';

export interface Packet {
  /** 1-based frame number, as tshark counts. */
  frame: number;
  proto: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  tsUs: number;
  tcpFlags: number;
  seq: number;
  /** A copy of the payload (may be empty for TCP control segments). */
  payload: Buffer;
}

export async function packetsOf(file: string): Promise<Packet[]> {
  const out: Packet[] = [];
  const v = new PacketView();
  let frame = 0;
  await readCapture(
    file,
    (f) => {
      frame++;
      if (decodeFrame(f, v) !== DecodeResult.IP || !v.hasPorts) return;
      if (v.proto !== 6 && v.proto !== 17) return;
      out.push({
        frame,
        proto: v.proto,
        src: formatIp(v.ipVersion, v.src),
        dst: formatIp(v.ipVersion, v.dst),
        srcPort: v.srcPort,
        dstPort: v.dstPort,
        tsUs: f.tsUs,
        tcpFlags: v.tcpFlags,
        seq: v.tcpSeq,
        payload: Buffer.from(v.data.subarray(v.payloadOffset, v.payloadOffset + v.payloadLength)),
      });
    },
    { sourceIndex: 0, onWarning: () => {} },
  );
  return out;
}

export interface FlowPacket {
  fromClient: boolean;
  packet: Packet;
}

export interface TestFlow {
  key: string;
  proto: number;
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  packets: FlowPacket[];
}

/** Bidirectional flows; the client is the sender of the SYN (TCP) or of the first packet. */
export function flowsOf(packets: Packet[]): TestFlow[] {
  const byKey = new Map<string, TestFlow>();
  for (const p of packets) {
    const a = `${p.src}|${p.srcPort}`;
    const b = `${p.dst}|${p.dstPort}`;
    const key = `${p.proto} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
    let flow = byKey.get(key);
    if (!flow) {
      const reversed = p.proto === 6 && (p.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === (TcpFlag.SYN | TcpFlag.ACK);
      flow = reversed
        ? { key, proto: p.proto, client: p.dst, clientPort: p.dstPort, server: p.src, serverPort: p.srcPort, packets: [] }
        : { key, proto: p.proto, client: p.src, clientPort: p.srcPort, server: p.dst, serverPort: p.dstPort, packets: [] };
      byKey.set(key, flow);
    }
    flow.packets.push({ fromClient: p.src === flow.client && p.srcPort === flow.clientPort, packet: p });
  }
  return [...byKey.values()];
}

export interface RunResult<F> {
  probe: Probe;
  /** Payload pieces fed before feed() returned true (or all of them). */
  fed: number;
  done: boolean;
  facts: F;
}

/**
 * Run `d` over a flow like the inspector: probe the first payload, then feed in order (TCP through
 * the project's reassembler, in pieces of at most `tcpPiece` bytes to exercise splitting).
 * With `force`, feed even when probe says NO.
 */
export function runFlow<F>(d: Dissector<F>, flow: TestFlow, opts: { force?: boolean; tcpPiece?: number; maxFeeds?: number } = {}): RunResult<F> {
  const ctxFor = (tsUs: number): DissectContext => ({ proto: flow.proto, clientPort: flow.clientPort, serverPort: flow.serverPort, tsUs });
  const first = flow.packets.find((fp) => fp.packet.payload.length > 0);
  const probe = first
    ? d.probe(first.packet.payload, 0, first.packet.payload.length, first.fromClient, ctxFor(first.packet.tsUs))
    : (0 as Probe);
  const state = d.start(ctxFor(flow.packets[0].packet.tsUs));
  let fed = 0;
  let done = false;
  const maxFeeds = opts.maxFeeds ?? 1000;
  const piece = opts.tcpPiece ?? 1 << 30;
  const streams = [new StreamReassembler(1 << 20), new StreamReassembler(1 << 20)];
  for (const fp of flow.packets) {
    if (done || fed >= maxFeeds) break;
    const p = fp.packet;
    const ctx = ctxFor(p.tsUs);
    if (flow.proto === 17) {
      if (p.payload.length === 0) continue;
      // Embed the datagram in a larger, dirty buffer: offsets must be honoured.
      const buf = Buffer.concat([Buffer.from([0xee, 0xee, 0xee]), p.payload, Buffer.from([0xee, 0xee])]);
      fed++;
      done = state.feed(buf, 3, p.payload.length, fp.fromClient, ctx);
      buf.fill(0xdd); // the buffer is reused: nothing may point into it afterwards
      continue;
    }
    const r = streams[fp.fromClient ? 0 : 1];
    if (p.tcpFlags & TcpFlag.SYN) r.syn(p.seq);
    r.segment(p.seq, p.payload, 0, p.payload.length, (b, off, len) => {
      for (let at = 0; at < len && !done; at += piece) {
        const n = Math.min(piece, len - at);
        const copy = Buffer.concat([Buffer.from([0xee]), b.subarray(off + at, off + at + n)]);
        fed++;
        done = state.feed(copy, 1, n, fp.fromClient, ctx);
        copy.fill(0xdd);
      }
    });
  }
  return { probe, fed, done, facts: state.facts() };
}

/** tshark fields, one row per packet (tab-separated), for an independent view of a capture. */
export function tsharkFields(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-n', '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const f of fields) args.push('-e', f);
  args.push(...extra);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

export interface SyntheticDatagram {
  payload: Buffer;
  srcPort: number;
  dstPort: number;
  /** 'tcp' sends the payload as one TCP segment (no handshake). Default udp. */
  transport?: 'udp' | 'tcp';
}

/** A classic pcap (Ethernet, IPv4) holding the given datagrams, written to a temp file. */
export function writeSyntheticPcap(datagrams: SyntheticDatagram[]): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-dissect-'));
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  let seq = 1000;
  datagrams.forEach((d, i) => {
    const tcp = d.transport === 'tcp';
    const l4len = tcp ? 20 : 8;
    const l4 = Buffer.alloc(l4len);
    l4.writeUInt16BE(d.srcPort, 0);
    l4.writeUInt16BE(d.dstPort, 2);
    if (tcp) {
      l4.writeUInt32BE(seq, 4);
      seq += d.payload.length;
      l4[12] = 5 << 4;
      l4[13] = 0x18;
      l4.writeUInt16BE(65535, 14);
    } else {
      l4.writeUInt16BE(8 + d.payload.length, 4);
    }
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4len + d.payload.length, 2);
    ip.writeUInt16BE(i + 1, 4);
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    Buffer.from([192, 168, 1, 10]).copy(ip, 12);
    Buffer.from([192, 168, 1, 20]).copy(ip, 16);
    let sum = 0;
    for (let k = 0; k < 20; k += 2) sum += ip.readUInt16BE(k);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const eth = Buffer.from([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6, 0x08, 0x00]);
    const frame = Buffer.concat([eth, ip, l4, d.payload]);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + i, 0);
    rh.writeUInt32LE(frame.length, 8);
    rh.writeUInt32LE(frame.length, 12);
    parts.push(rh, frame);
  });
  const file = join(dir, 'synthetic.pcap');
  writeFileSync(file, Buffer.concat(parts));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Payloads of the first packets of the flows `d` claims in a capture: seeds for fuzzDissector. */
export function seedsFrom(flows: TestFlow[], max = 40): Buffer[] {
  const seeds: Buffer[] = [];
  for (const f of flows) {
    for (const fp of f.packets) {
      if (fp.packet.payload.length > 0) seeds.push(fp.packet.payload);
      if (seeds.length >= max) return seeds;
    }
  }
  return seeds;
}

/**
 * fuzzDissector (test/helpers/fuzz.ts) uses two fixed contexts (TCP 443, UDP 53); dissectors
 * whose state depends on the port (NAT-T 4500, coaps 5684, NetBIOS 138…) are also fuzzed with
 * their own context here: several mutated datagrams/segments per flow, in both directions.
 */
export function fuzzWithContext<F>(d: Dissector<F>, seeds: Buffer[], ctx: DissectContext, iterations = 1000, seed = 999): void {
  const next = rng(seed);
  for (let i = 0; i < iterations; i++) {
    const state = d.start(ctx);
    const feeds = 1 + Math.floor(next() * 6);
    for (let k = 0; k < feeds; k++) {
      const base = seeds.length > 0 && next() < 0.85 ? seeds[Math.floor(next() * seeds.length)] : randomBytes(next, Math.floor(next() * 300));
      const input = mutate(next, base);
      const pad = Math.floor(next() * 4);
      const buf = Buffer.concat([randomBytes(next, pad), input, randomBytes(next, 4)]);
      const fromClient = next() < 0.6;
      try {
        d.probe(buf, pad, input.length, fromClient, ctx);
        state.feed(buf, pad, input.length, fromClient, ctx);
        JSON.stringify(state.facts());
      } catch (err) {
        expect.fail(`${d.name} threw on fuzz input #${i}/${k} (seed ${seed}, ports ${ctx.clientPort}->${ctx.serverPort}): ${(err as Error).stack}\ninput: ${input.toString('hex')}`);
      }
      buf.fill(0xcc);
    }
  }
}
