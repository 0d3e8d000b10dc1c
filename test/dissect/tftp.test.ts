import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tftpDissector } from '../../src/dissect/tftp.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const CTX: DissectContext = { proto: 17, clientPort: 40000, serverPort: 69, tsUs: 0 };
const XFER: DissectContext = { proto: 17, clientPort: 40001, serverPort: 40000, tsUs: 0 };

const req = (op: number, ...parts: string[]) => Buffer.concat([Buffer.from([0, op]), ...parts.map((p) => Buffer.from(`${p}\0`, 'latin1'))]);
const data = (block: number, n: number) => Buffer.concat([Buffer.from([0, 3, block >> 8, block & 0xff]), Buffer.alloc(n, 0x41)]);
const ack = (block: number) => Buffer.from([0, 4, block >> 8, block & 0xff]);

describe('tftpDissector', () => {
  it('RRQ with options: file name, mode, options; decided at once', () => {
    const m = req(1, 'firmware/cam-v2.1.bin', 'OCTET', 'blksize', '1468', 'tsize', '0');
    expect(tftpDissector.probe(m, 0, m.length, true, CTX)).toBe(Probe.YES);
    const s = tftpDissector.start(CTX);
    expect(s.feed(m, 0, m.length, true, CTX)).toBe(true);
    expect(s.facts()).toMatchObject({ opcode_name: 'RRQ', operation: 'read', filename: 'firmware/cam-v2.1.bin', mode: 'octet', options: { blksize: '1468', tsize: '0' }, malformed: 0 });
  });

  it('WRQ, unprintable names, malformed requests', () => {
    const s = tftpDissector.start(CTX);
    const m = req(2, 'conf\u0001ig.txt', 'netascii');
    s.feed(m, 0, m.length, true, CTX);
    expect(s.facts()).toMatchObject({ operation: 'write', filename: 'conf?ig.txt', mode: 'netascii' });
    const noNul = Buffer.from([0, 1, 0x61, 0x62]);
    expect(tftpDissector.probe(noNul, 0, 4, true, CTX)).toBe(Probe.NO);
    const b = tftpDissector.start(CTX);
    const badMode = req(1, 'x', 'binary');
    b.feed(badMode, 0, badMode.length, true, CTX);
    expect(b.facts().malformed).toBe(1);
    // Prototype pollution attempts stay plain data.
    const p = tftpDissector.start(CTX);
    const evil = req(1, 'f', 'octet', '__proto__', 'x', 'constructor', 'y');
    p.feed(evil, 0, evil.length, true, CTX);
    expect(Object.getPrototypeOf(p.facts().options)).toBe(Object.prototype);
    expect(p.facts().options).toEqual({ constructor: 'y' });
  });

  it('transfer flow on ephemeral ports: recognised by structure, blocks counted', () => {
    const d1 = data(1, 512);
    expect(tftpDissector.probe(d1, 0, d1.length, false, XFER)).toBe(Probe.YES);
    const short = data(1, 100);
    expect(tftpDissector.probe(short, 0, short.length, false, XFER)).toBe(Probe.MAYBE);
    expect(tftpDissector.probe(data(2, 512), 0, 516, false, XFER)).toBe(Probe.NO);
    const a0 = ack(0);
    expect(tftpDissector.probe(a0, 0, 4, false, XFER)).toBe(Probe.MAYBE);
    const oack = Buffer.concat([Buffer.from([0, 6]), Buffer.from('blksize\x001468\x00')]);
    expect(tftpDissector.probe(oack, 0, oack.length, false, XFER)).toBe(Probe.YES);
    const s = tftpDissector.start(XFER);
    s.feed(d1, 0, d1.length, false, XFER);
    s.feed(ack(1), 0, 4, true, XFER);
    const d2 = data(2, 100);
    s.feed(d2, 0, d2.length, false, XFER);
    expect(s.facts()).toMatchObject({ opcode_name: 'DATA', data_blocks: 2, data_bytes: 612, last_block: 2, acks: 1, filename: null });
    const e = tftpDissector.start(XFER);
    const err = Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('File not found\0')]);
    expect(e.feed(err, 0, err.length, false, XFER)).toBe(true);
    expect(e.facts()).toMatchObject({ error_code: 1, error_message: 'File not found' });
  });

  it('survives fuzzing', () => {
    const seeds = [req(1, 'a.bin', 'octet', 'blksize', '512'), data(1, 512), ack(3), Buffer.from([0, 5, 0, 2, 0x41, 0])];
    fuzzDissector(tftpDissector, seeds);
    fuzzWithContext(tftpDissector, seeds, CTX);
    fuzzWithContext(tftpDissector, seeds, XFER);
  });
});

describe.skipIf(!haveCorpus || !hasTool('tshark'))('TFTP on tftp.pcap vs nDPI and tshark', () => {
  it('file names match nDPI, requests match tshark, transfers are counted', async () => {
    const file = join(corpus, 'tftp.pcap');
    const flows = flowsOf(await packetsOf(file));
    const results = flows.map((f) => ({ f, r: runFlow(tftpDissector, f) }));
    // nDPI prints [Filename: …] for the requests it recognised.
    const ndpiNames = [...readFileSync(join(corpus, 'tftp.ndpi.out'), 'utf8').matchAll(/\[Filename: ([^\]]+)\]/g)].map((m) => m[1]).sort();
    const ours = results.map(({ r }) => r.facts.filename).filter((n): n is string => n !== null).sort();
    expect(ours).toEqual(ndpiNames);
    expect(ndpiNames).toEqual(['empty100KB', 'rfc1350.txt', 'sysman.lis', 'zz.bin']);
    // Every request flow tshark sees: our name/mode/options agree.
    const rows = tsharkFields(file, 'tftp.opcode == 1 || tftp.opcode == 2', ['udp.srcport', 'tftp.source_file', 'tftp.destination_file', 'tftp.type', 'tftp.option.name', 'tftp.option.value']);
    let agreed = 0;
    for (const row of rows) {
      const { r } = results.find(({ f }) => f.clientPort === Number(row[0]) && f.serverPort === 69)!;
      expect(r.probe).toBe(Probe.YES);
      const name = row[1] || row[2];
      const opts = row[4] && row[5] ? Object.fromEntries(row[4].split('|').map((k, i) => [k, row[5].split('|')[i]])) : {};
      // The two crafted requests with an empty file name are malformed; tshark reads their bytes differently.
      if (name === '' && r.facts.malformed > 0 && r.facts.filename === null) {
        agreed++;
        continue;
      }
      if (r.facts.filename === name && r.facts.mode === row[3] && JSON.stringify(r.facts.options) === JSON.stringify(opts)) agreed++;
    }
    console.log(`TFTP requests agreeing with tshark: ${agreed}/${rows.length}`);
    expect(agreed).toBe(rows.length);
    // The 4-block transfer (192.168.0.10:3445 -> :50618) is recognised from its first DATA.
    const xfer = results.find(({ f }) => f.client === '192.168.0.10' && f.clientPort === 3445)!.r;
    expect(xfer.probe).toBe(Probe.YES);
    expect(xfer.facts).toMatchObject({ opcode_name: 'DATA', last_block: 4, acks: 4 });
    // The OACK that answers the WRQ with options.
    const oack = results.find(({ f }) => f.client === '192.168.2.200' && f.clientPort === 47649)!.r;
    expect(oack.probe).toBe(Probe.YES);
    expect(oack.facts.options).toEqual({ blksize: '1468', tsize: '100000' });
  });

  it('fuzzing with real packets as seeds', async () => {
    fuzzDissector(tftpDissector, seedsFrom(flowsOf(await packetsOf(join(corpus, 'tftp.pcap'))), 60), 1500, 69);
  });
});
