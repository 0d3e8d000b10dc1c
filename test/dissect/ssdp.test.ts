import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSsdp, ssdpDissector } from '../../src/dissect/ssdp.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;

const CTX: DissectContext = { proto: 17, clientPort: 50000, serverPort: 1900, tsUs: 0 };

const NOTIFY = Buffer.from(
  'NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n' +
    'LOCATION: http://192.168.1.20:49152/description.xml\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n' +
    'NTS: ssdp:alive\r\nSERVER: Linux/3.10 UPnP/1.0 Sonos/70.3-35220 (ZPS13)\r\n' +
    'USN: uuid:RINCON_000E58A0B1C2D3E4::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n',
);
const MSEARCH = Buffer.from(
  'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n' +
    'ST: urn:dial-multiscreen-org:service:dial:1\r\nUSER-AGENT: Google Chrome/77.0 Mac OS X\r\n\r\n',
);
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n' +
    'USN: uuid:abcd::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nServer: Router UPnP/1.0\r\n' +
    'Location: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n',
);

describe('ssdpDissector', () => {
  it('probes SSDP start lines on 1900, and the unambiguous request lines anywhere', () => {
    for (const m of [NOTIFY, MSEARCH, RESPONSE]) expect(ssdpDissector.probe(m, 0, m.length, true, CTX)).toBe(Probe.YES);
    const odd = { ...CTX, serverPort: 32412 };
    expect(ssdpDissector.probe(MSEARCH, 0, MSEARCH.length, true, odd)).toBe(Probe.YES);
    expect(ssdpDissector.probe(NOTIFY, 0, NOTIFY.length, true, odd)).toBe(Probe.YES);
    // Answers to M-SEARCH may come from an ephemeral port.
    expect(ssdpDissector.probe(RESPONSE, 0, RESPONSE.length, true, odd)).toBe(Probe.YES);
    const getOdd = Buffer.from('GET * HTTP/1.1\r\n\r\n');
    expect(ssdpDissector.probe(getOdd, 0, getOdd.length, true, odd)).toBe(Probe.NO);
    const get = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(ssdpDissector.probe(get, 0, get.length, true, CTX)).toBe(Probe.NO);
    expect(ssdpDissector.probe(MSEARCH, 0, MSEARCH.length, true, { ...CTX, proto: 6 })).toBe(Probe.NO);
  });

  it('collects what the device says about itself', () => {
    const s = ssdpDissector.start(CTX);
    for (const m of [NOTIFY, MSEARCH, RESPONSE]) s.feed(m, 0, m.length, true, CTX);
    const f = s.facts();
    expect(f).toMatchObject({
      messages: 3,
      method: 'NOTIFY',
      methods: ['NOTIFY', 'M-SEARCH', 'RESPONSE'],
      nts: 'ssdp:alive',
      uuid: 'RINCON_000E58A0B1C2D3E4',
      server: 'Linux/3.10 UPnP/1.0 Sonos/70.3-35220 (ZPS13)',
      user_agent: 'Google Chrome/77.0 Mac OS X',
      location: 'http://192.168.1.20:49152/description.xml',
      device_type: 'urn:schemas-upnp-org:device:MediaRenderer:1',
      device_types: ['urn:schemas-upnp-org:device:MediaRenderer:1', 'urn:schemas-upnp-org:device:InternetGatewayDevice:1'],
      service_types: ['urn:dial-multiscreen-org:service:dial:1'],
      malformed: 0,
    });
    expect(f.locations).toHaveLength(2);
  });

  it('handles bare LF, lower-case names, missing values and junk', () => {
    const m = Buffer.from('NOTIFY * HTTP/1.1\nnt: upnp:rootdevice\nnts:ssdp:byebye\nbogus line\n: x\n\nbody');
    const p = parseSsdp(m, 0, m.length)!;
    expect(p.headers.get('nt')).toBe('upnp:rootdevice');
    expect(p.headers.get('nts')).toBe('ssdp:byebye');
    const s = ssdpDissector.start(CTX);
    const junk = Buffer.from([0, 1, 2, 3]);
    s.feed(junk, 0, 4, true, CTX);
    expect(s.facts().malformed).toBe(1);
    // Control characters never reach the facts.
    const ctl = Buffer.from('NOTIFY * HTTP/1.1\r\nSERVER: a\u0007b\u001b[31m\r\n\r\n');
    s.feed(ctl, 0, ctl.length, true, CTX);
    expect(s.facts().server).toBe('a?b?[31m');
  });

  it('stops after 16 messages', () => {
    const s = ssdpDissector.start(CTX);
    let done = false;
    let n = 0;
    while (!done && n < 100) done = s.feed(NOTIFY, 0, NOTIFY.length, true, CTX), n++;
    expect(n).toBe(16);
  });

  it('survives fuzzing', () => {
    fuzzDissector(ssdpDissector, [NOTIFY, MSEARCH, RESPONSE]);
    fuzzWithContext(ssdpDissector, [NOTIFY, MSEARCH, RESPONSE], CTX);
  });
});

describe.skipIf(!haveCorpus || !hasTool('tshark'))('SSDP on the corpus vs tshark and nDPI', () => {
  it('method, SERVER, USER-AGENT, LOCATION, NT/ST/USN of every SSDP datagram agree with tshark', async () => {
    let compared = 0;
    let agreed = 0;
    const bad: string[] = [];
    for (const name of ['1kxun.pcap', 'anyconnect-vpn.pcap', 'iphone.pcap', 'netflix.pcap', 'ssdp-m-search.pcap']) {
      const file = join(corpus, name);
      const rows = tsharkFields(file, 'ssdp', ['frame.number', 'http.request.method', 'http.response.code', 'http.server', 'http.user_agent', 'http.location', 'http.request.line', 'http.response.line', 'http.unknown_header']);
      const theirs = new Map(rows.map((r) => [Number(r[0]), r]));
      for (const p of await packetsOf(file)) {
        const t = theirs.get(p.frame);
        if (!t || p.proto !== 17) continue;
        compared++;
        const m = parseSsdp(p.payload, 0, p.payload.length);
        const unknown = new Map(
          // tshark files "Name:value" under *.line and "Name: value" (unknown names) under unknown_header.
          [t[6], t[7], t[8]].filter((x) => x).join('|').split('|').map((h) => {
            const c = h.indexOf(':');
            return [h.slice(0, c).trim().toLowerCase(), h.slice(c + 1).replace(/\\r\\n$/, '').trim()] as const;
          }),
        );
        const ok =
          m !== null &&
          (t[1] ? m.kind === t[1] : m.kind === 'RESPONSE' && String(m.status) === t[2]) &&
          (m.headers.get('server') ?? '') === t[3] &&
          (m.headers.get('user-agent') ?? '') === t[4] &&
          (m.headers.get('location') ?? '') === t[5] &&
          ['nt', 'st', 'usn', 'nts'].every((h) => (m.headers.get(h) ?? '') === (unknown.get(h) ?? ''));
        if (ok) agreed++;
        else if (bad.length < 5) bad.push(`${name}#${p.frame} ${JSON.stringify(m && [...m.headers])} vs ${JSON.stringify(t)}`);
      }
    }
    console.log(`SSDP per-datagram agreement with tshark: ${agreed}/${compared}`);
    expect(compared).toBeGreaterThan(150);
    expect(bad).toEqual([]);
  });

  it('every flow nDPI calls SSDP is claimed by probe', async () => {
    let ndpi = 0;
    let claimed = 0;
    for (const stem of ['1kxun', 'anyconnect-vpn', 'ssdp-m-search', 'netflix', 'iphone']) {
      const out = readFileSync(join(corpus, `${stem}.ndpi.out`), 'utf8');
      const ours = flowsOf(await packetsOf(join(corpus, `${stem}.pcap`)));
      for (const line of out.split('\n')) {
        const m = /^\s+\d+\s+UDP \[?([^\s\]]+?)\]?:(\d+) <?-> \[?([^\s\]]+?)\]?:(\d+) .*\[proto: [\d.]+\/SSDP\]/.exec(line);
        if (!m) continue;
        ndpi++;
        const flow = ours.find(
          (f) => f.proto === 17 && ((f.client === m[1] && f.clientPort === +m[2] && f.server === m[3] && f.serverPort === +m[4]) || (f.client === m[3] && f.clientPort === +m[4] && f.server === m[1] && f.serverPort === +m[2])),
        );
        if (flow && runFlow(ssdpDissector, flow).probe === Probe.YES) claimed++;
        else console.log('not claimed:', line.slice(0, 100), flow?.packets[0].packet.payload.subarray(0, 30).toString('latin1'));
      }
    }
    console.log(`nDPI SSDP flows claimed: ${claimed}/${ndpi}`);
    expect(ndpi).toBeGreaterThan(20);
    expect(claimed).toBe(ndpi);
  });

  it('Roku answer (anyconnect-vpn.pcap): server and description URL', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'anyconnect-vpn.pcap'))).filter((f) => f.clientPort === 1900 && f.client === '10.0.0.151');
    const f = runFlow(ssdpDissector, flows[0]).facts;
    expect(f).toMatchObject({ method: 'RESPONSE', server: 'Roku UPnP/1.0 Roku/9.1.0', location: 'http://10.0.0.151:8060/dial/dd.xml', uuid: '295c0004-6807-106d-80cf-d831342077fb' });
  });

  it('fuzzing with real datagrams as seeds', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, '1kxun.pcap'))).filter((f) => f.serverPort === 1900);
    fuzzDissector(ssdpDissector, seedsFrom(flows), 1000, 4242);
  });
});
