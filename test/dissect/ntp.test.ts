import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ntpDissector, parseNtp } from '../../src/dissect/ntp.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const CTX: DissectContext = { proto: 17, clientPort: 40000, serverPort: 123, tsUs: 0 };

function ntp(version: number, mode: number, stratum: number, refid: number[], trailer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(48);
  b[0] = (version << 3) | mode;
  b[1] = stratum;
  b[2] = 6;
  b[3] = 0xec; // -20
  Buffer.from(refid).copy(b, 12);
  return Buffer.concat([b, trailer]);
}

describe('ntpDissector', () => {
  it('probes by port, version and mode', () => {
    const c = ntp(4, 3, 0, [0, 0, 0, 0]);
    expect(ntpDissector.probe(c, 0, c.length, true, CTX)).toBe(Probe.YES);
    expect(ntpDissector.probe(c, 0, c.length, true, { ...CTX, serverPort: 1234 })).toBe(Probe.NO);
    expect(ntpDissector.probe(c, 0, 40, true, CTX)).toBe(Probe.NO);
    const bad = Buffer.from(c);
    bad[0] = 0x07 << 3; // version 7
    expect(ntpDissector.probe(bad, 0, bad.length, true, CTX)).toBe(Probe.NO);
    const monlist = Buffer.from([0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0]);
    expect(ntpDissector.probe(monlist, 0, monlist.length, true, CTX)).toBe(Probe.YES);
  });

  it('client request and server answer: stratum and reference id of the server', () => {
    const s = ntpDissector.start(CTX);
    const req = ntp(4, 3, 0, [0, 0, 0, 0]);
    expect(s.feed(req, 0, req.length, true, CTX)).toBe(false);
    const resp = ntp(4, 4, 2, [192, 0, 2, 1]);
    expect(s.feed(resp, 0, resp.length, false, CTX)).toBe(true);
    expect(s.facts()).toMatchObject({ packets: 2, version: 4, mode: 3, mode_name: 'client', stratum: 2, reference_id: '192.0.2.1', authenticated: false });
    expect(s.facts().client).toMatchObject({ mode: 3, stratum: 0, reference_id: null });
    expect(s.facts().server).toMatchObject({ mode: 4, stratum: 2, precision: -20, poll: 6 });
  });

  it('stratum 1 reference ids are source codes; kiss codes at stratum 0', () => {
    expect(parseNtp(ntp(4, 4, 1, [0x47, 0x50, 0x53, 0]), 0, 48)!.reference_id).toBe('GPS');
    expect(parseNtp(ntp(4, 4, 0, [0x52, 0x41, 0x54, 0x45]), 0, 48)!.reference_id).toBe('RATE');
  });

  it('recognises symmetric-key MACs and NTS extension fields', () => {
    expect(parseNtp(ntp(4, 3, 0, [0, 0, 0, 0], Buffer.alloc(20, 1)), 0, 68)!.auth).toBe('symmetric-key');
    expect(parseNtp(ntp(4, 3, 0, [0, 0, 0, 0], Buffer.alloc(24, 1)), 0, 72)!.auth).toBe('symmetric-key');
    const ef = (type: number, len: number) => {
      const e = Buffer.alloc(len);
      e.writeUInt16BE(type, 0);
      e.writeUInt16BE(len, 2);
      return e;
    };
    const nts = Buffer.concat([ef(0x0104, 36), ef(0x0204, 104), ef(0x0404, 40)]);
    const p = parseNtp(ntp(4, 3, 0, [0, 0, 0, 0], nts), 0, 48 + nts.length)!;
    expect(p.auth).toBe('nts');
    expect(p.extensions).toEqual([0x0104, 0x0204, 0x0404]);
    const s = ntpDissector.start(CTX);
    const pkt = ntp(4, 3, 0, [0, 0, 0, 0], nts);
    s.feed(pkt, 0, pkt.length, true, CTX);
    expect(s.facts().authenticated).toBe(true);
  });

  it('mode 7 monlist and mode 6 control requests', () => {
    const s = ntpDissector.start(CTX);
    const monlist = Buffer.from([0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0]);
    s.feed(monlist, 0, monlist.length, true, CTX);
    expect(s.facts()).toMatchObject({ mode: 7, mode_name: 'private', private_request_code: 42 });
    const c = ntpDissector.start(CTX);
    const readvar = Buffer.from([0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    c.feed(readvar, 0, readvar.length, true, CTX);
    expect(c.facts()).toMatchObject({ mode: 6, control_opcode: 2 });
  });

  it('survives fuzzing', () => {
    const seeds = [ntp(4, 3, 0, [0, 0, 0, 0]), ntp(3, 4, 2, [1, 2, 3, 4], Buffer.alloc(20)), Buffer.from([0x17, 0, 3, 0x2a, 0, 0, 0, 0])];
    fuzzDissector(ntpDissector, seeds);
    fuzzWithContext(ntpDissector, seeds, CTX);
  });
});

describe.skipIf(!haveCorpus || !hasTool('tshark'))('NTP on the corpus vs tshark', () => {
  it('version, mode, stratum, poll, precision and reference id of every NTP packet agree', async () => {
    let compared = 0;
    const bad: string[] = [];
    for (const name of ['NTPv3.pcap', 'NTPv4.pcap', '1kxun.pcap', 'waze.pcap', 'wechat.pcap']) {
      const file = join(corpus, name);
      const rows = tsharkFields(file, 'ntp', ['frame.number', 'ntp.flags.vn', 'ntp.flags.mode', 'ntp.stratum', 'ntp.ppoll', 'ntp.precision', 'ntp.refid']);
      const theirs = new Map(rows.map((r) => [Number(r[0]), r]));
      for (const p of await packetsOf(file)) {
        const t = theirs.get(p.frame);
        if (!t) continue;
        compared++;
        const m = parseNtp(p.payload, 0, p.payload.length);
        const refHex = p.payload.toString('hex', 12, 16);
        const ok = m !== null && `${m.version}` === t[1] && `${m.mode}` === t[2] && `${m.stratum}` === t[3] && `${m.poll}` === t[4] && m.precision === (Number(t[5]) << 24) >> 24 /* tshark prints the byte unsigned */ && refHex === t[6].replace(/^0x/, '');
        if (!ok) bad.push(`${name}#${p.frame} ${JSON.stringify(m)} vs ${t.join(' ')}`);
        // Reference id text: dotted quad of the same 4 bytes from stratum 2 up.
        if (m && m.stratum !== null && m.stratum >= 2) expect(m.reference_id).toBe(refHex.match(/../g)!.map((h) => parseInt(h, 16)).join('.'));
      }
    }
    console.log(`NTP per-packet agreement with tshark: ${compared - bad.length}/${compared}`);
    expect(compared).toBeGreaterThanOrEqual(6);
    expect(bad).toEqual([]);
  });

  it('nDPI NTP flows are claimed; roles come from the mode (NTPv3.pcap has only a server packet)', async () => {
    for (const [name, mode, stratum] of [
      ['NTPv3.pcap', 4, 0],
      ['NTPv4.pcap', 3, 2],
    ] as const) {
      const [flow] = flowsOf(await packetsOf(join(corpus, name)));
      const r = runFlow(ntpDissector, flow);
      expect(r.probe).toBe(Probe.YES);
      expect(r.facts).toMatchObject({ mode, stratum });
      if (mode === 4) expect(r.facts.server).not.toBeNull();
      else expect(r.facts.client).not.toBeNull();
    }
    const waze = flowsOf(await packetsOf(join(corpus, 'waze.pcap'))).find((f) => f.serverPort === 123)!;
    const w = runFlow(ntpDissector, waze);
    expect(w.done).toBe(true);
    expect(w.facts).toMatchObject({ version: 3, mode_name: 'client', stratum: 2, reference_id: '200.54.149.24' });
  });

  it('fuzzing with real packets as seeds', async () => {
    const seeds = seedsFrom(flowsOf(await packetsOf(join(corpus, 'waze.pcap'))).filter((f) => f.serverPort === 123));
    fuzzDissector(ntpDissector, seeds, 1000, 77);
  });
});
