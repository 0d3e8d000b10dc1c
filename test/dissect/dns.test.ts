import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LengthPrefixedFramer,
  dnsDissector,
  dnsTypeName,
  ipv6Text,
  llmnrDissector,
  mdnsDissector,
  parseDnsMessage,
  readDnsName,
  type DnsFacts,
} from '../../src/dissect/dns.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, type Packet, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const haveTshark = hasTool('tshark');

// --- builders ----------------------------------------------------------------------------------

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.')) {
    if (!label) continue;
    const l = Buffer.from(label, 'utf8');
    parts.push(Buffer.from([l.length]), l);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function header(id: number, flags: number, qd: number, an: number, ns = 0, ar = 0): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  h.writeUInt16BE(ns, 8);
  h.writeUInt16BE(ar, 10);
  return h;
}

function question(name: string, type: number, cls = 1): Buffer {
  const t = Buffer.alloc(4);
  t.writeUInt16BE(type, 0);
  t.writeUInt16BE(cls, 2);
  return Buffer.concat([encodeName(name), t]);
}

function rr(nameWire: Buffer, type: number, ttl: number, rdata: Buffer): Buffer {
  const t = Buffer.alloc(10);
  t.writeUInt16BE(type, 0);
  t.writeUInt16BE(1, 2);
  t.writeUInt32BE(ttl, 4);
  t.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([nameWire, t, rdata]);
}

const PTR_TO_QNAME = Buffer.from([0xc0, 12]);

function query(id: number, name: string, type = 1): Buffer {
  return Buffer.concat([header(id, 0x0100, 1, 0), question(name, type)]);
}

function response(id: number, name: string): Buffer {
  return Buffer.concat([
    header(id, 0x8180, 1, 3),
    question(name, 1),
    rr(PTR_TO_QNAME, 5, 300, encodeName('edge.example.net')),
    rr(encodeName('edge.example.net'), 1, 60, Buffer.from([93, 184, 216, 34])),
    rr(encodeName('edge.example.net'), 28, 60, Buffer.from('20010db8000000000000000000000001', 'hex')),
  ]);
}

const UDP: DissectContext = { proto: 17, clientPort: 40000, serverPort: 53, tsUs: 0 };
const TCP: DissectContext = { proto: 6, clientPort: 40000, serverPort: 53, tsUs: 0 };

function tcpFrame(msg: Buffer): Buffer {
  const l = Buffer.alloc(2);
  l.writeUInt16BE(msg.length, 0);
  return Buffer.concat([l, msg]);
}

// --- unit tests --------------------------------------------------------------------------------

describe('parseDnsMessage', () => {
  it('parses questions and compressed answers', () => {
    const m = parseDnsMessage(response(7, 'www.example.com'), 0, response(7, 'www.example.com').length)!;
    expect(m.is_response).toBe(true);
    expect(m.complete).toBe(true);
    expect(m.questions).toEqual([{ name: 'www.example.com', type: 1, class: 1, unicast_response: false }]);
    expect(m.records.map((r) => [r.name, dnsTypeName(r.type), r.ttl, r.data])).toEqual([
      ['www.example.com', 'CNAME', 300, 'edge.example.net'],
      ['edge.example.net', 'A', 60, '93.184.216.34'],
      ['edge.example.net', 'AAAA', 60, '2001:db8::1'],
    ]);
  });

  it('respects offset and length', () => {
    const msg = response(9, 'a.b');
    const buf = Buffer.concat([Buffer.alloc(5, 0xff), msg, Buffer.alloc(5, 0xff)]);
    expect(parseDnsMessage(buf, 5, msg.length)!.records[1].data).toBe('93.184.216.34');
    // Cut inside the records: what was parsed is kept, complete is false.
    const cut = parseDnsMessage(buf, 5, msg.length - 20)!;
    expect(cut.complete).toBe(false);
    expect(cut.questions[0].name).toBe('a.b');
  });

  it('rejects pointer loops and forward pointers without looping', () => {
    const loop = Buffer.concat([header(1, 0x0100, 1, 0), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(readDnsName(loop, 0, loop.length, 12)).toBeNull();
    const forward = Buffer.concat([header(1, 0x0100, 1, 0), Buffer.from([0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1])]);
    expect(readDnsName(forward, 0, forward.length, 12)).toBeNull();
    // Two pointers chasing each other backwards/forwards.
    const pingpong = Buffer.concat([header(1, 0x0100, 1, 0), Buffer.from([1, 0x61, 0xc0, 16, 1, 0x62, 0xc0, 12])]);
    const r = readDnsName(pingpong, 0, pingpong.length, 16);
    expect(r === null || r.name.length < 600).toBe(true);
    expect(parseDnsMessage(loop, 0, loop.length)!.complete).toBe(false);
  });

  it('escapes unprintable bytes and decodes UTF-8 labels', () => {
    const raw = Buffer.concat([header(1, 0x0100, 1, 0), Buffer.from([3, 0x61, 0x00, 0x2e, 0]), Buffer.from([0, 1, 0, 1])]);
    expect(parseDnsMessage(raw, 0, raw.length)!.questions[0].name).toBe('a\\000\\.');
    const utf = Buffer.concat([header(1, 0x0100, 1, 0), question('Jo’s TV._airplay._tcp.local', 12)]);
    expect(parseDnsMessage(utf, 0, utf.length)!.questions[0].name).toBe('Jo’s TV._airplay._tcp.local');
  });

  it('formats SRV, TXT, PTR and truncates long TXT', () => {
    const srv = Buffer.from([0, 0, 0, 0, 0x1f, 0x90, ...encodeName('host.local')]);
    const txt = Buffer.concat([Buffer.from([3]), Buffer.from('a=b'), Buffer.from([2]), Buffer.from('c"')]);
    const long = Buffer.concat(Array.from({ length: 10 }, () => Buffer.concat([Buffer.from([200]), Buffer.alloc(200, 0x78)])));
    const msg = Buffer.concat([
      header(0, 0x8400, 0, 4),
      rr(encodeName('tv._airplay._tcp.local'), 33, 120, srv),
      rr(encodeName('tv._airplay._tcp.local'), 16, 4500, txt),
      rr(encodeName('_airplay._tcp.local'), 12, 4500, encodeName('tv._airplay._tcp.local')),
      rr(encodeName('x.local'), 16, 1, long),
    ]);
    const m = parseDnsMessage(msg, 0, msg.length)!;
    expect(m.records.map((r) => r.data?.slice(0, 40))).toEqual([
      '0 0 8080 host.local',
      '"a=b" "c\\""',
      'tv._airplay._tcp.local',
      `"${'x'.repeat(39)}`,
    ]);
    expect(m.records[3].data!.length).toBeLessThanOrEqual(301);
  });

  it('formats IPv6 as RFC 5952', () => {
    const t = (hex: string) => ipv6Text(Buffer.from(hex, 'hex'), 0);
    expect(t('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1');
    expect(t('00000000000000000000000000000001')).toBe('::1');
    expect(t('fe800000000000000000000000000000')).toBe('fe80::');
    expect(t('20010db8000100010001000100010001')).toBe('2001:db8:1:1:1:1:1:1');
    expect(t('00000000000000000000ffffc0a80001')).toBe('::ffff:192.168.0.1');
  });
});

describe('dnsDissector', () => {
  it('probes port 53 UDP/TCP by header, not other ports', () => {
    const q = query(1, 'example.com');
    expect(dnsDissector.probe(q, 0, q.length, true, UDP)).toBe(Probe.YES);
    expect(dnsDissector.probe(q, 0, q.length, true, { ...UDP, serverPort: 5353 })).toBe(Probe.NO);
    expect(dnsDissector.probe(q, 0, 8, true, UDP)).toBe(Probe.NO);
    const t = tcpFrame(q);
    expect(dnsDissector.probe(t, 0, t.length, true, TCP)).toBe(Probe.YES);
    expect(dnsDissector.probe(t, 0, 5, true, TCP)).toBe(Probe.MAYBE);
    const notDns = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(dnsDissector.probe(notDns, 0, notDns.length, true, TCP)).toBe(Probe.NO);
    expect(mdnsDissector.probe(q, 0, q.length, true, { ...UDP, serverPort: 5353, clientPort: 5353 })).toBe(Probe.YES);
    expect(llmnrDissector.probe(q, 0, q.length, true, { ...UDP, serverPort: 5355 })).toBe(Probe.YES);
  });

  it('UDP: query then response decides the flow', () => {
    const s = dnsDissector.start(UDP);
    const q = query(5, 'www.example.com');
    expect(s.feed(q, 0, q.length, true, UDP)).toBe(false);
    const r = response(5, 'www.example.com');
    expect(s.feed(r, 0, r.length, false, UDP)).toBe(true);
    const f = s.facts();
    expect(f).toMatchObject({ transport: 'udp', messages: 2, is_response: true, rcode: 0, rcode_name: 'NOERROR', malformed: 0 });
    expect(f.queries).toEqual([{ name: 'www.example.com', type: 'A' }]);
    expect(f.answers.map((a) => `${a.type} ${a.data}`)).toEqual(['CNAME edge.example.net', 'A 93.184.216.34', 'AAAA 2001:db8::1']);
    // Addresses are tied to the name the device asked for, through the CNAME.
    expect(f.resolutions).toEqual([
      { address: '93.184.216.34', name: 'www.example.com', ttl: 60 },
      { address: '2001:db8::1', name: 'www.example.com', ttl: 60 },
    ]);
  });

  it('resolutions: CNAME loops do not hang, unrelated records keep their own name', () => {
    const loop = Buffer.concat([
      header(1, 0x8180, 1, 3),
      question('a.example', 1),
      rr(encodeName('a.example'), 5, 1, encodeName('b.example')),
      rr(encodeName('b.example'), 5, 1, encodeName('a.example')),
      rr(encodeName('c.example'), 1, 1, Buffer.from([10, 0, 0, 1])),
    ]);
    const s = dnsDissector.start(UDP);
    s.feed(loop, 0, loop.length, false, UDP);
    expect(s.facts().resolutions).toEqual([{ address: '10.0.0.1', name: 'c.example', ttl: 1 }]);
  });

  it('TCP: messages split at every byte, or several in one segment, give the same facts', () => {
    const stream = Buffer.concat([
      tcpFrame(query(1, 'one.example')),
      tcpFrame(query(2, 'two.example', 28)),
    ]);
    const answer = Buffer.concat([tcpFrame(response(1, 'one.example')), tcpFrame(response(2, 'two.example'))]);
    const whole = dnsDissector.start(TCP);
    whole.feed(stream, 0, stream.length, true, TCP);
    expect(whole.feed(answer, 0, answer.length, false, TCP)).toBe(true);

    for (const piece of [1, 2, 3, 7, 13]) {
      const s = dnsDissector.start(TCP);
      let done = false;
      for (let i = 0; i < stream.length; i += piece) {
        // A fresh buffer each time, overwritten after the call: nothing may be kept by reference.
        const chunk = Buffer.from(stream.subarray(i, i + piece));
        s.feed(chunk, 0, chunk.length, true, TCP);
        chunk.fill(0xaa);
      }
      for (let i = 0; i < answer.length && !done; i += piece) {
        const chunk = Buffer.from(answer.subarray(i, i + piece));
        done = s.feed(chunk, 0, chunk.length, false, TCP);
        chunk.fill(0xaa);
      }
      expect(done).toBe(true);
      expect(s.facts()).toEqual(whole.facts());
      expect(s.facts().queries).toEqual([
        { name: 'one.example', type: 'A' },
        { name: 'two.example', type: 'AAAA' },
      ]);
      expect(s.facts().transport).toBe('tcp');
    }
  });

  it('TCP: a huge announced length is cut and skipped with bounded memory', () => {
    const framer = new LengthPrefixedFramer(64);
    const got: [number, number][] = [];
    const big = Buffer.alloc(2 + 1000, 0x41);
    big.writeUInt16BE(1000, 0);
    const small = tcpFrame(query(3, 'x.y'));
    const all = Buffer.concat([big, small]);
    for (let i = 0; i < all.length; i += 100) framer.push(all, i, Math.min(100, all.length - i), (_b, _o, l, a) => (got.push([l, a]), false));
    expect(got).toEqual([
      [64, 1000],
      [small.length - 2, small.length - 2],
    ]);
  });

  it('mDNS: several announcements are gathered, LLMNR query flow is decided quickly', () => {
    const ctx = { ...UDP, clientPort: 5353, serverPort: 5353 };
    const s = mdnsDissector.start(ctx);
    const ann = Buffer.concat([header(0, 0x8400, 0, 1), rr(encodeName('printer.local'), 1, 120, Buffer.from([192, 168, 1, 9]))]);
    for (let i = 0; i < 7; i++) expect(s.feed(ann, 0, ann.length, true, ctx)).toBe(false);
    expect(s.feed(ann, 0, ann.length, true, ctx)).toBe(true);
    expect(s.facts().answers).toEqual([{ name: 'printer.local', type: 'A', ttl: 120, data: '192.168.1.9', section: 'answer' }]);
    const l = llmnrDissector.start({ ...UDP, serverPort: 5355 });
    const q = query(1, 'wpad');
    expect(l.feed(q, 0, q.length, true, UDP)).toBe(false);
    expect(l.feed(q, 0, q.length, true, UDP)).toBe(true);
  });

  it('survives fuzzing (UDP and TCP)', () => {
    const seeds = [query(1, 'example.com'), response(2, 'www.example.com'), tcpFrame(response(3, 'a.b.c'))];
    fuzzDissector(dnsDissector, seeds);
    fuzzDissector(mdnsDissector, seeds, 500, 7);
    fuzzDissector(llmnrDissector, seeds, 500, 8);
    fuzzWithContext(dnsDissector, seeds, TCP, 500, 9);
    fuzzWithContext(mdnsDissector, seeds, { ...UDP, clientPort: 5353, serverPort: 5353 }, 500, 10);
  });
});

// --- corpus: per-message agreement with tshark --------------------------------------------------

interface TsharkDns {
  response: boolean;
  rcode: number | null;
  qnames: string[];
  qtypes: number[];
  rnames: string[];
  rtypes: number[];
  ttls: number[];
  a: string[];
  aaaa: string[];
  cname: string[];
  ptr: string[];
}

function tsharkDns(file: string): Map<number, TsharkDns> {
  const rows = tsharkFields(
    file,
    '(dns || mdns || llmnr) && udp',
    ['frame.number', 'ip.flags.mf', 'ipv6.fraghdr.more', 'dns.flags.response', 'dns.flags.rcode', 'dns.qry.name', 'dns.qry.type', 'dns.resp.name', 'dns.resp.type', 'dns.resp.ttl', 'dns.a', 'dns.aaaa', 'dns.cname', 'dns.ptr.domain_name'],
    ['-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE'],
  );
  const list = (s: string | undefined) => (s ? s.split('|') : []);
  const m = new Map<number, TsharkDns>();
  for (const row of rows) {
    // First fragments of a cut message: both parsers see a truncated message; not compared.
    if (row[1] === '1' || row[2] === '1') continue;
    const r = [row[0], ...row.slice(3)];
    m.set(Number(r[0]), {
      response: r[1] === '1' || r[1] === 'True',
      rcode: r[2] ? Number(r[2]) : null,
      qnames: list(r[3]),
      qtypes: list(r[4]).map(Number),
      rnames: list(r[5]),
      rtypes: list(r[6]).map(Number),
      ttls: list(r[7]).map(Number),
      a: list(r[8]),
      aaaa: list(r[9]),
      cname: list(r[10]),
      ptr: list(r[11]),
    });
  }
  return m;
}

/** Non-ASCII label bytes: tshark prints U+FFFD, we print \DDD (or UTF-8): compare as '?'. */
function norm(s: string): string {
  return s.replace(/(\\(1\d\d|2[0-5]\d)|[\u0080-\uffff])+/g, '?');
}

/**
 * tshark quirks: the OPT pseudo-record appears in dns.resp.name as <Root> (we leave OPT out), and
 * dns.resp.type also carries RRSIG "type covered" and NSEC/NSEC3 bitmap types.
 */
function agrees(ours: TsharkDns, them: TsharkDns, edns: boolean): string | null {
  const theirNames = [...them.rnames];
  if (edns) theirNames.splice(theirNames.lastIndexOf('<Root>'), 1);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (ours.response !== them.response || ours.rcode !== them.rcode) return 'flags';
  if (!same(ours.qnames.map(norm), them.qnames.map(norm)) || !same(ours.qtypes, them.qtypes)) return 'questions';
  if (!same(ours.rnames.map(norm), theirNames.map(norm))) return 'record names';
  const theirTypes = them.rtypes.filter((t) => t !== 41);
  if (theirTypes.length === ours.rtypes.length ? !same(ours.rtypes, theirTypes) : !isSubsequence(ours.rtypes, theirTypes)) return 'record types';
  if (!same(ours.ttls, them.ttls)) return 'ttls';
  for (const k of ['a', 'aaaa', 'cname', 'ptr'] as const) if (!same(ours[k].map(norm), them[k].map(norm))) return k;
  return null;
}

function isSubsequence(a: number[], b: number[]): boolean {
  let j = 0;
  for (const x of b) if (j < a.length && a[j] === x) j++;
  return j === a.length;
}

const DNS_PORTS = new Set([53, 5353, 5355]);

function ourView(p: Packet): { view: TsharkDns; edns: boolean } | null {
  const m = parseDnsMessage(p.payload, 0, p.payload.length);
  if (!m) return null;
  const data = (type: number) => m.records.filter((r) => r.type === type && r.data !== null).map((r) => r.data as string);
  const fixRoot = (n: string) => (n === '.' ? '<Root>' : n);
  const view = {
    response: m.is_response,
    rcode: m.is_response ? m.rcode : null,
    qnames: m.questions.map((q) => fixRoot(q.name)),
    qtypes: m.questions.map((q) => q.type),
    // tshark splits an SRV owner name into dns.srv.* fields: no dns.resp.name for it.
    rnames: m.records.filter((r) => r.type !== 33).map((r) => fixRoot(r.name)),
    rtypes: m.records.map((r) => r.type),
    ttls: m.records.map((r) => r.ttl),
    a: data(1),
    aaaa: data(28),
    cname: data(5),
    ptr: data(12),
  };
  return { view, edns: m.edns };
}

const AGREEMENT_FILES = [
  'dns.pcap',
  'dns_ambiguous_names.pcap',
  'dns_fragmented.pcap',
  'bad-dns-traffic.pcap',
  'dns-tunnel-iodine.pcap',
  'zeek_mdns.pcap',
  '1kxun.pcap',
  'anyconnect-vpn.pcap',
  'iphone.pcap',
  'wechat.pcap',
  'teams.pcap',
  'iotds_sifely-hub-01.pcap',
];

describe.skipIf(!haveCorpus || !haveTshark)('DNS/mDNS/LLMNR vs tshark on the corpus', () => {
  it('every UDP DNS message: questions, records, TTLs, A/AAAA/CNAME/PTR data, rcode agree', async () => {
    let compared = 0;
    let agreed = 0;
    const disagreements: string[] = [];
    for (const name of AGREEMENT_FILES) {
      const file = join(corpus, name);
      const theirs = tsharkDns(file);
      for (const p of await packetsOf(file)) {
        if (p.proto !== 17 || (!DNS_PORTS.has(p.srcPort) && !DNS_PORTS.has(p.dstPort))) continue;
        const t = theirs.get(p.frame);
        if (!t) continue; // tshark did not see DNS here (fragment, or not DNS at all)
        compared++;
        const ours = ourView(p);
        const why = ours ? agrees(ours.view, t, ours.edns) : 'not parsed';
        if (why === null) agreed++;
        else if (disagreements.length < 5) disagreements.push(`${name}#${p.frame} ${why}\n ours ${JSON.stringify(ours?.view)}\n them ${JSON.stringify(t)}`);
      }
    }
    console.log(`DNS per-message agreement with tshark: ${agreed}/${compared}`);
    expect(compared).toBeGreaterThan(1500);
    expect(disagreements).toEqual([]);
  }, 180_000); // tshark over 12 captures

  it('dns.pcap flows: names and addresses as nDPI/tshark report them', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'dns.pcap')));
    const facts = flows.map((f) => runFlow(dnsDissector, f));
    expect(facts.every((r) => r.probe === Probe.YES)).toBe(true);
    const wa = facts.find((r) => r.facts.queries[0]?.name === 'e7.whatsapp.net')!.facts;
    expect(wa.is_response).toBe(true);
    expect(wa.answers.filter((a) => a.type === 'A').map((a) => a.data)).toContain('169.45.219.235');
    expect(wa.answers).toHaveLength(8);
    expect(wa.resolutions).toHaveLength(8);
    expect(wa.resolutions.every((r) => r.name === 'e7.whatsapp.net' && r.ttl === 491)).toBe(true);
    // The second flow starts with a response (www.l.google.com): that decides it, as nDPI's
    // hostname for that flow says; the later www.example.com exchange is not looked at.
    expect(facts.flatMap((r) => r.facts.queries.map((q) => q.name)).sort()).toEqual(['e7.whatsapp.net', 'www.l.google.com']);
    expect(facts.find((r) => r.facts.queries[0].name === 'www.l.google.com')!.facts).toMatchObject({ messages: 1, response_messages: 1, rcode_name: 'NOERROR' });
  });

  it('nDPI hostnames of every DNS flow are among our queries, and nDPI\'s address among our resolutions', async () => {
    let flows = 0;
    let matched = 0;
    let addrFlows = 0;
    let addrMatched = 0;
    for (const name of ['dns_ambiguous_names', 'dns', 'tk', 'bad-dns-traffic', 'dns-tunnel-iodine', 'dns_fragmented']) {
      const out = readFileSync(join(corpus, `${name}.ndpi.out`), 'utf8');
      const ours = flowsOf(await packetsOf(join(corpus, `${name}.pcap`)));
      for (const line of out.split('\n')) {
        const m = /^\s+\d+\s+(UDP|TCP) (\S+) <?-> (\S+) .*\[proto: [\d.]+\/DNS[^\]]*\].*\[Hostname\/SNI: ([^\]]+)\](?:\[([0-9a-f.:]+)\])?/.exec(line);
        if (!m) continue;
        flows++;
        const [, proto, a, b, host, ndpiAddress] = m;
        const ends = (s: string) => s.replace(/^\[/, '').replace(/\]:(\d+)$/, '|$1').replace(/^([^|[]+):(\d+)$/, '$1|$2');
        const flow = ours.find((f) => {
          const x = `${f.client}|${f.clientPort}`;
          const y = `${f.server}|${f.serverPort}`;
          return (f.proto === 6) === (proto === 'TCP') && ((x === ends(a) && y === ends(b)) || (x === ends(b) && y === ends(a)));
        });
        if (!flow) continue;
        const r = runFlow(dnsDissector, flow);
        // nDPI cuts long names in its listing and shows '*' as '_'.
        if (r.facts.queries.some((q) => q.name.toLowerCase().replaceAll('*', '_').startsWith(host.toLowerCase()))) matched++;
        else console.log('nDPI hostname not among our queries:', line.slice(0, 120), JSON.stringify(r.facts.queries));
        // nDPI prints the first address of the answer after the host name (0.0.0.0: none).
        if (ndpiAddress && ndpiAddress !== '0.0.0.0' && ndpiAddress !== '::') {
          addrFlows++;
          const hit = r.facts.resolutions.find((x) => x.address === ndpiAddress);
          if (hit && r.facts.queries.some((q) => q.name.toLowerCase() === hit.name.toLowerCase())) addrMatched++;
          else console.log('nDPI address not among our resolutions:', line.slice(0, 160), JSON.stringify(r.facts.resolutions));
        }
      }
    }
    console.log(`nDPI DNS hostnames found in our queries: ${matched}/${flows}; nDPI answer addresses resolved to the asked name: ${addrMatched}/${addrFlows}`);
    expect(flows).toBeGreaterThan(20);
    expect(matched).toBe(flows);
    expect(addrFlows).toBeGreaterThan(10);
    expect(addrMatched).toBe(addrFlows);
  });

  it('DNS over TCP (dns_fragmented.pcap): large responses reassembled, any split', async () => {
    const file = join(corpus, 'dns_fragmented.pcap');
    const tcpFlows = flowsOf(await packetsOf(file)).filter((f) => f.proto === 6);
    expect(tcpFlows.length).toBe(2);
    const theirs = tsharkFields(file, 'dns && tcp', ['tcp.stream', 'dns.qry.name', 'dns.a', 'dns.aaaa', 'dns.resp.type']);
    const tsA = new Set(theirs.flatMap((r) => [r[2], r[3]].flatMap((s) => (s ? s.split('|') : []))));
    for (const flow of tcpFlows) {
      const base: DnsFacts = runFlow(dnsDissector, flow).facts;
      expect(base.transport).toBe('tcp');
      expect(base.is_response).toBe(true);
      expect(base.malformed).toBe(0);
      expect(base.queries.map((q) => q.name)).toContain('weberlab.de');
      for (const a of base.answers.filter((x) => x.type === 'A' || x.type === 'AAAA')) expect(tsA.has(a.data as string)).toBe(true);
      for (const piece of [1, 5, 100]) expect(runFlow(dnsDissector, flow, { tcpPiece: piece }).facts).toEqual(base);
    }
  });

  it('mDNS (zeek_mdns.pcap) and LLMNR (1kxun.pcap) flows', async () => {
    const m = flowsOf(await packetsOf(join(corpus, 'zeek_mdns.pcap'))).filter((f) => f.serverPort === 5353);
    const facts = m.map((f) => runFlow(mdnsDissector, f)).map((r) => r.facts);
    const names = new Set(facts.flatMap((f) => f.answers.filter((a) => a.type === 'AAAA' || a.type === 'A').map((a) => a.name)));
    expect(names).toContain('johanna-QEMU-Virtual-Machine.local');
    expect(facts.flatMap((f) => f.queries.map((q) => q.name))).toContain('_ipp._tcp.local');

    const l = flowsOf(await packetsOf(join(corpus, '1kxun.pcap'))).filter((f) => f.proto === 17 && f.serverPort === 5355);
    const lr = l.map((f) => runFlow(llmnrDissector, f));
    expect(lr.length).toBeGreaterThan(10);
    expect(lr.every((r) => r.probe === Probe.YES && r.facts.queries.length > 0)).toBe(true);
    const theirs = new Set(tsharkFields(join(corpus, '1kxun.pcap'), 'llmnr', ['dns.qry.name']).map((r) => r[0]));
    for (const r of lr) for (const q of r.facts.queries) expect(theirs.has(q.name)).toBe(true);
  });

  it('fuzzing with real payloads as seeds', async () => {
    const seeds = seedsFrom(flowsOf(await packetsOf(join(corpus, 'dns_fragmented.pcap'))), 60);
    fuzzDissector(dnsDissector, seeds, 1500, 99);
    const mseeds = seedsFrom(flowsOf(await packetsOf(join(corpus, 'zeek_mdns.pcap'))));
    fuzzDissector(mdnsDissector, mseeds, 1000, 100);
  });
});
