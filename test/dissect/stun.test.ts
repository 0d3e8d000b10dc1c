import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STUN_MAGIC_COOKIE, stunDissector } from '../../src/dissect/stun.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, writeSyntheticPcap, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const haveTshark = hasTool('tshark');
const UDP: DissectContext = { proto: 17, clientPort: 50000, serverPort: 3478, tsUs: 0 };
const TCP: DissectContext = { proto: 6, clientPort: 50000, serverPort: 443, tsUs: 0 };
const TXID = Buffer.from('0102030405060708090a0b0c', 'hex');

function attr(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function stun(type: number, attrs: Buffer[], cookie = true): Buffer {
  const body = Buffer.concat(attrs);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(body.length, 2);
  if (cookie) h.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  TXID.copy(h, 8);
  return Buffer.concat([h, body]);
}

function xorAddress4(ip: number[], port: number): Buffer {
  const v = Buffer.alloc(8);
  v[1] = 1;
  v.writeUInt16BE(port ^ (STUN_MAGIC_COOKIE >>> 16), 2);
  v.writeUInt32BE((Buffer.from(ip).readUInt32BE(0) ^ STUN_MAGIC_COOKIE) >>> 0, 4);
  return v;
}

function xorAddress6(ip: Buffer, port: number): Buffer {
  const v = Buffer.alloc(20);
  v[1] = 2;
  v.writeUInt16BE(port ^ (STUN_MAGIC_COOKIE >>> 16), 2);
  const key = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), TXID]);
  for (let i = 0; i < 16; i++) v[4 + i] = ip[i] ^ key[i];
  return v;
}

const REQUEST = stun(0x0001, [attr(0x8022, Buffer.from('libjuice 1.2')), attr(0x0006, Buffer.from('abcd:efgh')), attr(0x0024, Buffer.alloc(4)), attr(0x0008, Buffer.alloc(20)), attr(0x8028, Buffer.alloc(4))]);
const SUCCESS = stun(0x0101, [attr(0x0020, xorAddress4([203, 0, 113, 7], 40123)), attr(0x8022, Buffer.from('coturn-4.6'))]);
const DTLS = Buffer.concat([Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 50]), Buffer.alloc(50)]);

describe('stunDissector', () => {
  it('probe: magic cookie and exact length anywhere; classic STUN only on STUN ports', () => {
    expect(stunDissector.probe(REQUEST, 0, REQUEST.length, true, { ...UDP, serverPort: 19305 })).toBe(Probe.YES);
    expect(stunDissector.probe(REQUEST, 0, REQUEST.length - 4, true, UDP)).toBe(Probe.NO);
    const classic = stun(0x0001, [attr(0x0003, Buffer.alloc(4))], false);
    expect(stunDissector.probe(classic, 0, classic.length, true, UDP)).toBe(Probe.YES);
    expect(stunDissector.probe(classic, 0, classic.length, true, { ...UDP, serverPort: 9999 })).toBe(Probe.NO);
    const rtp = Buffer.from([0x80, 0x60, 0, 1, ...Array(28).fill(0)]);
    expect(stunDissector.probe(rtp, 0, rtp.length, true, UDP)).toBe(Probe.NO);
    expect(stunDissector.probe(REQUEST, 0, REQUEST.length, true, TCP)).toBe(Probe.YES);
  });

  it('ICE check and answer: software, integrity, mapped address; then DTLS makes it encrypted', () => {
    const s = stunDissector.start(UDP);
    s.feed(REQUEST, 0, REQUEST.length, true, UDP);
    s.feed(SUCCESS, 0, SUCCESS.length, false, UDP);
    expect(s.facts()).toMatchObject({
      messages: 2,
      message_type: 'Binding request',
      methods: ['Binding'],
      classes: ['request', 'success'],
      software: 'libjuice 1.2',
      username_present: true,
      message_integrity: true,
      fingerprint: true,
      ice: true,
      turn: false,
      mapped_address: '203.0.113.7:40123',
      encrypted: false,
    });
    expect(JSON.stringify(s.facts())).not.toContain('abcd:efgh');
    expect(s.feed(DTLS, 0, DTLS.length, true, UDP)).toBe(true);
    expect(s.facts()).toMatchObject({ dtls_records: 1, encrypted: true });
  });

  it('XOR-MAPPED-ADDRESS over IPv6, TURN allocate error with realm and code', () => {
    const ip = Buffer.from('20010db8000000000000000000000042', 'hex');
    const s = stunDissector.start(UDP);
    const m = stun(0x0101, [attr(0x0020, xorAddress6(ip, 3478))]);
    s.feed(m, 0, m.length, false, UDP);
    expect(s.facts().mapped_address).toBe('[2001:db8::42]:3478');
    const t = stunDissector.start(UDP);
    const err = Buffer.alloc(4);
    err[2] = 4;
    err[3] = 1;
    const e = stun(0x0113, [attr(0x0009, Buffer.concat([err, Buffer.from('Unauthorized')])), attr(0x0014, Buffer.from('example.org'))]);
    t.feed(e, 0, e.length, false, UDP);
    expect(t.facts()).toMatchObject({ message_type: 'Allocate error', turn: true, error_code: 401, realm: 'example.org' });
  });

  it('TCP: messages back to back, split anywhere, with ChannelData', () => {
    const channel = Buffer.concat([Buffer.from([0x40, 0x00, 0x00, 0x05]), Buffer.alloc(5, 1), Buffer.alloc(3)]);
    const stream = Buffer.concat([REQUEST, channel, SUCCESS]);
    for (const piece of [1, 3, 7, 1000]) {
      const s = stunDissector.start(TCP);
      for (let i = 0; i < stream.length; i += piece) {
        const c = Buffer.from(stream.subarray(i, i + piece));
        s.feed(c, 0, c.length, true, TCP);
        c.fill(0);
      }
      expect(s.facts()).toMatchObject({ messages: 2, channel_data: 1, turn: true, software: 'libjuice 1.2', mapped_address: '203.0.113.7:40123', malformed: 0 });
    }
  });

  it('synthetic messages agree with tshark', () => {
    if (!haveTshark) return;
    const { file, cleanup } = writeSyntheticPcap([
      { payload: REQUEST, srcPort: 50000, dstPort: 3478 },
      { payload: SUCCESS, srcPort: 3478, dstPort: 50000 },
    ]);
    try {
      const rows = tsharkFields(file, 'stun', ['stun.type.method', 'stun.type.class', 'stun.att.software', 'stun.att.ipv4', 'stun.att.port']);
      expect(rows).toEqual([
        ['0x0001', '0x0000', 'libjuice 1.2', '', ''],
        ['0x0001', '0x0010', 'coturn-4.6', '203.0.113.7', '40123'],
      ]);
    } finally {
      cleanup();
    }
  });

  it('survives fuzzing', () => {
    const seeds = [REQUEST, SUCCESS, DTLS, Buffer.concat([REQUEST, SUCCESS]), Buffer.concat([Buffer.from([0xff, 0x10, 0, 40]), Buffer.alloc(8), SUCCESS])];
    fuzzDissector(stunDissector, seeds);
    fuzzWithContext(stunDissector, seeds, UDP);
    fuzzWithContext(stunDissector, seeds, TCP);
  });
});

describe.skipIf(!haveCorpus || !haveTshark)('STUN on teams.pcap vs tshark and nDPI', () => {
  it('method and class of every STUN message agree with tshark', async () => {
    const file = join(corpus, 'teams.pcap');
    const rows = tsharkFields(file, 'stun && stun.type', ['frame.number', 'stun.type.method', 'stun.type.class', 'stun.att.software']);
    const theirs = new Map(rows.map((r) => [Number(r[0]), r]));
    let compared = 0;
    const bad: string[] = [];
    for (const p of await packetsOf(file)) {
      const t = theirs.get(p.frame);
      if (!t || p.proto !== 17) continue;
      compared++;
      const s = stunDissector.start({ ...UDP, clientPort: p.srcPort, serverPort: p.dstPort });
      s.feed(p.payload, 0, p.payload.length, true, UDP);
      const f = s.facts();
      const type = p.payload.readUInt16BE(0);
      const method = `0x${((type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2)).toString(16).padStart(4, '0')}`;
      // tshark shows the class bits C1 C0 as 0x00<C1><C0>.
      const cls = { '0x0000': 'request', '0x0001': 'indication', '0x0010': 'success', '0x0011': 'error' }[t[2].split('|')[0]];
      const ok = f.messages === 1 && f.malformed === 0 && method === t[1].split('|')[0] && f.classes[0] === cls && (f.software ?? '') === (t[3].split('|')[0] ?? '');
      if (!ok) bad.push(`#${p.frame} ${JSON.stringify(f)} vs ${t.join(' ')}`);
    }
    console.log(`STUN per-message agreement with tshark: ${compared - bad.length}/${compared}`);
    expect(compared).toBeGreaterThan(40);
    expect(bad).toEqual([]);
  });

  it('every flow nDPI calls STUN is claimed; the proprietary Teams relay flow is not', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'teams.pcap')));
    let ndpi = 0;
    let claimed = 0;
    for (const line of readFileSync(join(corpus, 'teams.ndpi.out'), 'utf8').split('\n')) {
      const m = /^\s+\d+\s+UDP (\S+):(\d+) <?-> (\S+):(\d+) .*\[proto: ([\d.]+)\/(\S+?)\]/.exec(line);
      if (!m) continue;
      const flow = flows.find((f) => f.proto === 17 && new Set([`${f.client}:${f.clientPort}`, `${f.server}:${f.serverPort}`]).has(`${m[1]}:${m[2]}`) && new Set([`${f.client}:${f.clientPort}`, `${f.server}:${f.serverPort}`]).has(`${m[3]}:${m[4]}`));
      if (!flow) continue;
      const r = runFlow(stunDissector, flow);
      if (m[6].startsWith('STUN')) {
        ndpi++;
        if (r.probe === Probe.YES) claimed++;
      } else if (m[6] === 'Skype_TeamsCall') {
        expect(r.probe).toBe(Probe.NO);
      }
    }
    console.log(`nDPI STUN flows claimed: ${claimed}/${ndpi}`);
    expect(ndpi).toBe(12);
    expect(claimed).toBe(ndpi);
  });

  it('flow facts: MS-TURN allocations with realm and software, ICE checks with RTP after them', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'teams.pcap'))).filter((f) => f.proto === 17);
    const results = flows.map((f) => runFlow(stunDissector, f)).filter((r) => r.probe === Probe.YES);
    const turn = results.filter((r) => r.facts.turn);
    expect(turn.length).toBeGreaterThan(0);
    expect(results.some((r) => r.facts.software === '2.0.1.211')).toBe(true);
    expect(results.some((r) => r.facts.realm === 'rtcmedia')).toBe(true);
    const ice = results.find((r) => r.facts.ice && r.facts.rtp_packets > 0)!;
    expect(ice.facts).toMatchObject({ message_integrity: true, encrypted: false });
    expect(results.every((r) => r.facts.malformed === 0)).toBe(true);
  });

  it('fuzzing with real messages as seeds', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'teams.pcap'))).filter((f) => f.proto === 17 && (f.serverPort === 3478 || f.clientPort === 50016));
    fuzzDissector(stunDissector, seedsFrom(flows, 60), 1500, 3478);
  });
});
