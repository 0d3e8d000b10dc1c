import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNetbiosName, netbiosDissector } from '../../src/dissect/netbios.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const NS: DissectContext = { proto: 17, clientPort: 137, serverPort: 137, tsUs: 0 };
const DGM: DissectContext = { proto: 17, clientPort: 138, serverPort: 138, tsUs: 0 };

function encodeName(name: string, suffix: number): Buffer {
  const raw = Buffer.alloc(16, 0x20);
  raw.write(name.toUpperCase(), 0, 'latin1');
  raw[15] = suffix;
  const enc = Buffer.alloc(34);
  enc[0] = 32;
  for (let i = 0; i < 16; i++) {
    enc[1 + 2 * i] = 0x41 + (raw[i] >> 4);
    enc[2 + 2 * i] = 0x41 + (raw[i] & 15);
  }
  enc[33] = 0;
  return enc;
}

function registration(name: string, suffix: number, ip: number[], group = false): Buffer {
  const h = Buffer.from([0x12, 0x34, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1]); // opcode 5 (registration), RD, B
  const q = Buffer.concat([encodeName(name, suffix), Buffer.from([0, 0x20, 0, 1])]);
  const rr = Buffer.concat([Buffer.from([0xc0, 12, 0, 0x20, 0, 1, 0, 3, 0xf4, 0x80, 0, 6, group ? 0x80 : 0, 0]), Buffer.from(ip)]);
  return Buffer.concat([h, q, rr]);
}

function nodeStatusResponse(names: [string, number, boolean][], mac: string): Buffer {
  const h = Buffer.from([0x12, 0x34, 0x84, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]);
  const entries = names.map(([n, sfx, group]) => {
    const e = Buffer.alloc(18, 0x20);
    e.write(n, 0, 'latin1');
    e[15] = sfx;
    e[16] = group ? 0x84 : 0x04;
    e[17] = 0;
    return e;
  });
  const rdata = Buffer.concat([Buffer.from([names.length]), ...entries, Buffer.from(mac.replaceAll(':', ''), 'hex'), Buffer.alloc(40)]);
  const rr = Buffer.concat([encodeName('*', 0), Buffer.from([0, 0x21, 0, 1, 0, 0, 0, 0, rdata.length >> 8, rdata.length & 0xff]), rdata]);
  return Buffer.concat([h, rr]);
}

describe('netbiosDissector', () => {
  it('decodes first-level encoded names as tshark prints them', () => {
    expect(decodeNetbiosName('FHEPFCELEHFCEPFFFACACACACACACABO')).toBe('WORKGROUP<1e>');
    expect(decodeNetbiosName('ABACFPFPENFDECFCEPFHFDEFFPFPACAB')).toBe('<01><02>__MSBROWSE__<02><01>');
    expect(decodeNetbiosName('TOOSHORT')).toBeNull();
    expect(decodeNetbiosName('ZZACACACACACACACACACACACACACACAA')).toBeNull();
  });

  it('a registration names the device and its address; a node status answer gives names and MAC', () => {
    const reg = registration('LIVINGROOM-PC', 0x00, [192, 168, 1, 23]);
    expect(netbiosDissector.probe(reg, 0, reg.length, true, NS)).toBe(Probe.YES);
    const s = netbiosDissector.start(NS);
    s.feed(reg, 0, reg.length, true, NS);
    const grp = registration('HOME', 0x00, [192, 168, 1, 23], true);
    s.feed(grp, 0, grp.length, true, NS);
    expect(s.facts()).toMatchObject({
      service: 'name',
      opcode: 'registration',
      device_name: 'LIVINGROOM-PC',
      workgroup: 'HOME',
      registered_names: ['LIVINGROOM-PC<00>', 'HOME<00>'],
      addresses: ['192.168.1.23'],
      malformed: 0,
    });
    const st = netbiosDissector.start({ ...NS, clientPort: 50000 });
    const nbstat = nodeStatusResponse([['NAS', 0x20, false], ['NAS', 0x00, false], ['WORKGROUP', 0x00, true]], '00:11:32:aa:bb:cc');
    st.feed(nbstat, 0, nbstat.length, false, NS);
    expect(st.facts()).toMatchObject({ is_response: true, mac: '00:11:32:aa:bb:cc', device_name: 'NAS', workgroup: 'WORKGROUP', registered_names: ['NAS<20>', 'NAS<00>', 'WORKGROUP<00>'] });
  });

  it('probe: ports and the encoded-name shape', () => {
    const reg = registration('X', 0, [1, 2, 3, 4]);
    expect(netbiosDissector.probe(reg, 0, reg.length, true, { ...NS, serverPort: 53, clientPort: 53 })).toBe(Probe.NO);
    const dnsLike = Buffer.from(reg);
    dnsLike[12] = 7; // a DNS label, not a 32-byte encoded name
    expect(netbiosDissector.probe(dnsLike, 0, dnsLike.length, true, NS)).toBe(Probe.NO);
    const dgm = Buffer.alloc(20);
    dgm[0] = 0x11;
    expect(netbiosDissector.probe(dgm, 0, dgm.length, true, DGM)).toBe(Probe.YES);
    dgm[0] = 0x42;
    expect(netbiosDissector.probe(dgm, 0, dgm.length, true, DGM)).toBe(Probe.NO);
  });

  it('survives fuzzing', () => {
    const seeds = [registration('PC', 0x20, [10, 0, 0, 1]), nodeStatusResponse([['A', 0, false]], '00:00:00:00:00:01')];
    fuzzDissector(netbiosDissector, seeds);
    fuzzWithContext(netbiosDissector, seeds, NS);
    fuzzWithContext(netbiosDissector, [...seeds, Buffer.concat([Buffer.from([0x11, 2, 0, 1, 10, 0, 0, 1, 0, 138, 0, 100, 0, 0]), encodeName('PC', 0), encodeName('WG', 0x1e), Buffer.from('ff534d4225', 'hex'), Buffer.alloc(60)])], DGM);
  });
});

describe.skipIf(!haveCorpus || !hasTool('tshark'))('NetBIOS on the corpus vs tshark and nDPI', () => {
  it('names of every name-service and datagram message agree with tshark', async () => {
    let compared = 0;
    const bad: string[] = [];
    for (const name of ['1kxun.pcap', 'anyconnect-vpn.pcap', 'wechat.pcap']) {
      const file = join(corpus, name);
      const rows = tsharkFields(file, 'nbns || nbdgm', ['frame.number', 'nbns.name', 'nbdgm.source_name', 'nbdgm.destination_name', 'nbns.addr']);
      const theirs = new Map(rows.map((r) => [Number(r[0]), r]));
      for (const p of await packetsOf(file)) {
        const t = theirs.get(p.frame);
        if (!t) continue;
        compared++;
        const dgm = p.srcPort === 138 || p.dstPort === 138;
        const ctx = dgm ? DGM : NS;
        const s = netbiosDissector.start(ctx);
        s.feed(p.payload, 0, p.payload.length, true, ctx);
        const f = s.facts();
        // tshark appends the name type to answer names ("NAME<00> (Workstation/Redirector)").
        const theirNames = [...new Set([t[1], t[2], t[3]].flatMap((x) => (x ? x.split('|') : [])).map((n) => n.replace(/ \(.*\)$/, '')))];
        const ok = f.malformed === 0 && JSON.stringify(f.names) === JSON.stringify(theirNames) && JSON.stringify(f.addresses) === JSON.stringify(t[4] ? [...new Set(t[4].split('|'))] : []);
        if (!ok) bad.push(`${name}#${p.frame} ${JSON.stringify(f.names)} ${f.addresses} vs ${t.join(' ')}`);
      }
    }
    console.log(`NetBIOS per-message agreement with tshark: ${compared - bad.length}/${compared}`);
    expect(compared).toBeGreaterThan(50);
    expect(bad).toEqual([]);
  });

  it('every nDPI NetBIOS flow is claimed; the Samba host announcement gives name, OS and workgroup', async () => {
    let ndpi = 0;
    let claimed = 0;
    for (const stem of ['1kxun', 'anyconnect-vpn', 'wechat']) {
      const flows = flowsOf(await packetsOf(join(corpus, `${stem}.pcap`)));
      for (const line of readFileSync(join(corpus, `${stem}.ndpi.out`), 'utf8').split('\n')) {
        const m = /^\s+\d+\s+UDP (\S+):(\d+) <?-> (\S+):(\d+) .*\[proto: [\d.]+\/NetBIOS/.exec(line);
        if (!m) continue;
        ndpi++;
        const flow = flows.find((f) => f.proto === 17 && ((f.client === m[1] && f.clientPort === +m[2]) || (f.client === m[3] && f.clientPort === +m[4])));
        if (flow && runFlow(netbiosDissector, flow).probe === Probe.YES) claimed++;
      }
    }
    console.log(`nDPI NetBIOS flows claimed: ${claimed}/${ndpi}`);
    expect(ndpi).toBeGreaterThan(8);
    expect(claimed).toBe(ndpi);
    const flows = flowsOf(await packetsOf(join(corpus, '1kxun.pcap')));
    const samba = runFlow(netbiosDissector, flows.find((f) => f.client === '192.168.5.67' && f.clientPort === 138)!).facts;
    expect(samba).toMatchObject({
      service: 'datagram',
      device_name: 'SANJI-LIFEBOOK-',
      workgroup: 'WORKGROUP',
      source_name: 'SANJI-LIFEBOOK-<00>',
      browser: { command: 'local master announcement', server_name: 'SANJI-LIFEBOOK-L', os_version: '4.9', comment: 'sanji-LIFEBOOK-LH531 server (Samba, Ubuntu)' },
    });
    const browser = tsharkFields(join(corpus, '1kxun.pcap'), 'browser.server', ['browser.server', 'browser.os_major', 'browser.os_minor', 'browser.comment'])[0];
    expect(browser).toEqual(['SANJI-LIFEBOOK-L', '4', '9', 'sanji-LIFEBOOK-LH531 server (Samba, Ubuntu)']);
    const release = flowsOf(await packetsOf(join(corpus, 'anyconnect-vpn.pcap'))).find((f) => f.clientPort === 137)!;
    expect(runFlow(netbiosDissector, release).facts).toMatchObject({ opcode: 'release', device_name: 'LP-RKERUR-OSX', addresses: ['10.0.0.227'] });
  });

  it('fuzzing with real messages as seeds', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, '1kxun.pcap'))).filter((f) => f.serverPort === 137 || f.serverPort === 138);
    fuzzDissector(netbiosDissector, seedsFrom(flows), 1500, 137);
  });
});
