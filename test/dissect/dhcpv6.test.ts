import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dhcpv6Dissector } from '../../src/dissect/dhcpv6.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, writeSyntheticPcap, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const haveTshark = hasTool('tshark');
const CTX: DissectContext = { proto: 17, clientPort: 546, serverPort: 547, tsUs: 0 };

function opt(code: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(code, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value]);
}
const u16s = (...v: number[]) => Buffer.from(v.flatMap((x) => [x >> 8, x & 0xff]));
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
};
const item = (s: string) => Buffer.concat([u16s(s.length), Buffer.from(s)]);

const DUID_LLT = Buffer.concat([u16s(1, 1), u32(0x1db8e6fb), Buffer.from('703eacf0f007', 'hex')]);
const SOLICIT = Buffer.concat([
  Buffer.from([1, 0xab, 0xcd, 0xef]),
  opt(8, u16s(0)),
  opt(1, DUID_LLT),
  opt(3, Buffer.alloc(12)),
  opt(39, Buffer.concat([Buffer.from([0]), Buffer.from([7]), Buffer.from('DESKTOP'), Buffer.from([4]), Buffer.from('home'), Buffer.from([0])])),
  opt(16, Buffer.concat([u32(311), item('MSFT 5.0')])),
  opt(6, u16s(17, 23, 24, 39)),
]);
const DUID_EN = Buffer.concat([u16s(2), u32(9), Buffer.from('0102030405', 'hex')]);
const REPLY = Buffer.concat([Buffer.from([7, 0xab, 0xcd, 0xef]), opt(2, DUID_EN), opt(1, DUID_LLT)]);

function relay(inner: Buffer): Buffer {
  return Buffer.concat([Buffer.from([12, 0]), Buffer.alloc(32, 0xfe), opt(18, Buffer.from('eth0')), opt(9, inner)]);
}

describe('dhcpv6Dissector', () => {
  it('Solicit: DUID-LLT and MAC, FQDN, vendor class, ORO, option order', () => {
    expect(dhcpv6Dissector.probe(SOLICIT, 0, SOLICIT.length, true, CTX)).toBe(Probe.YES);
    const s = dhcpv6Dissector.start(CTX);
    expect(s.feed(SOLICIT, 0, SOLICIT.length, true, CTX)).toBe(true);
    expect(s.facts()).toEqual({
      messages: 1,
      message_type: 1,
      message_type_name: 'SOLICIT',
      message_types: ['SOLICIT'],
      transaction_id: 'abcdef',
      client_duid: DUID_LLT.toString('hex'),
      client_duid_type: 1,
      client_duid_type_name: 'DUID-LLT',
      client_hardware_type: 1,
      client_link_layer_address: '70:3e:ac:f0:f0:07',
      client_duid_enterprise: null,
      client_fqdn: 'DESKTOP.home',
      client_fqdn_flags: 0,
      vendor_class_enterprise: 311,
      vendor_class: 'MSFT 5.0',
      user_class: null,
      oro: '17,23,24,39',
      option_codes: '8,1,3,39,16,6',
      relayed: false,
      malformed: 0,
    });
  });

  it('a server reply first does not take the client fields; a relayed client message does', () => {
    const s = dhcpv6Dissector.start(CTX);
    expect(s.feed(REPLY, 0, REPLY.length, false, CTX)).toBe(false);
    expect(s.facts().client_duid).toBeNull();
    const r = relay(SOLICIT);
    expect(s.feed(r, 0, r.length, true, CTX)).toBe(true);
    expect(s.facts()).toMatchObject({ message_type_name: 'SOLICIT', relayed: true, client_link_layer_address: '70:3e:ac:f0:f0:07', message_types: ['REPLY', 'RELAY-FORW', 'SOLICIT'] });
  });

  it('DUID-LL, DUID-EN, DUID-UUID; truncated options are malformed', () => {
    const ll = Buffer.concat([Buffer.from([11, 0, 0, 1]), opt(1, Buffer.concat([u16s(3, 1), Buffer.from('aabbccddeeff', 'hex')]))]);
    const s = dhcpv6Dissector.start(CTX);
    s.feed(ll, 0, ll.length, true, CTX);
    expect(s.facts()).toMatchObject({ client_duid_type_name: 'DUID-LL', client_link_layer_address: 'aa:bb:cc:dd:ee:ff' });
    const en = Buffer.concat([Buffer.from([1, 0, 0, 1]), opt(1, DUID_EN)]);
    const e = dhcpv6Dissector.start(CTX);
    e.feed(en, 0, en.length, true, CTX);
    expect(e.facts()).toMatchObject({ client_duid_type_name: 'DUID-EN', client_duid_enterprise: 9, client_link_layer_address: null });
    const cut = SOLICIT.subarray(0, SOLICIT.length - 3);
    const c = dhcpv6Dissector.start(CTX);
    c.feed(cut, 0, cut.length, true, CTX);
    expect(c.facts().malformed).toBe(1);
    expect(c.facts().client_fqdn).toBe('DESKTOP.home');
  });

  it('a partial FQDN (no terminating zero, RFC 4704 §4.2) is read too', () => {
    const m = Buffer.concat([Buffer.from([1, 0, 0, 2]), opt(39, Buffer.concat([Buffer.from([1, 5]), Buffer.from('lamp1')]))]);
    const s = dhcpv6Dissector.start(CTX);
    s.feed(m, 0, m.length, true, CTX);
    expect(s.facts()).toMatchObject({ client_fqdn: 'lamp1', client_fqdn_flags: 1 });
  });

  it('relay nesting is bounded', () => {
    let m: Buffer = SOLICIT;
    for (let i = 0; i < 50; i++) m = relay(m);
    const s = dhcpv6Dissector.start(CTX);
    s.feed(m, 0, m.length, true, CTX);
    expect(s.facts().client_duid).toBeNull();
  });

  it('probe: ports 546/547 and a known message type', () => {
    expect(dhcpv6Dissector.probe(SOLICIT, 0, SOLICIT.length, true, { ...CTX, serverPort: 5000, clientPort: 6000 })).toBe(Probe.NO);
    const zero = Buffer.from([0, 1, 2, 3]);
    expect(dhcpv6Dissector.probe(zero, 0, 4, true, CTX)).toBe(Probe.NO);
  });

  it('synthetic messages agree with tshark', () => {
    if (!haveTshark) return;
    const { file, cleanup } = writeSyntheticPcap([{ payload: SOLICIT, srcPort: 546, dstPort: 547 }, { payload: relay(SOLICIT), srcPort: 547, dstPort: 547 }]);
    try {
      const rows = tsharkFields(file, 'dhcpv6', ['dhcpv6.msgtype', 'dhcpv6.duidllt.link_layer_addr', 'dhcpv6.client_domain', 'dhcpv6.vendorclass.enterprise', 'dhcpv6.vendorclass.data', 'dhcpv6.requested_option_code']);
      // tshark writes a fully-qualified name with its final dot.
      expect(rows[0]).toEqual(['1', '70:3e:ac:f0:f0:07', 'DESKTOP.home.', '311', 'MSFT 5.0', '17|23|24|39']);
      expect(rows[1][0]).toBe('12|1');
    } finally {
      cleanup();
    }
  });

  it('survives fuzzing', () => {
    fuzzDissector(dhcpv6Dissector, [SOLICIT, REPLY, relay(SOLICIT)]);
    fuzzWithContext(dhcpv6Dissector, [SOLICIT, REPLY, relay(SOLICIT)], CTX);
  });
});

describe.skipIf(!haveCorpus || !haveTshark)('DHCPv6 on 1kxun.pcap vs tshark and nDPI', () => {
  it('the 3 client flows nDPI lists: DUID, MAC and ORO agree with tshark', async () => {
    const file = join(corpus, '1kxun.pcap');
    const flows = flowsOf(await packetsOf(file)).filter((f) => f.proto === 17 && f.serverPort === 547);
    expect(flows).toHaveLength(3);
    const theirs = tsharkFields(file, 'dhcpv6', ['ipv6.src', 'dhcpv6.msgtype', 'dhcpv6.duid.bytes', 'dhcpv6.duidllt.link_layer_addr', 'dhcpv6.requested_option_code']);
    for (const flow of flows) {
      const r = runFlow(dhcpv6Dissector, flow);
      expect(r.probe).toBe(Probe.YES);
      expect(r.done).toBe(true);
      const t = theirs.find((row) => row[0] === flow.client)!;
      expect(r.facts.message_type).toBe(Number(t[1]));
      expect(r.facts.client_duid).toBe(t[2].replaceAll(':', ''));
      expect(r.facts.client_link_layer_address).toBe(t[3]);
      expect(r.facts.oro).toBe(t[4].replaceAll('|', ','));
    }
  });

  it('fuzzing with real messages as seeds', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, '1kxun.pcap'))).filter((f) => f.serverPort === 547);
    fuzzDissector(dhcpv6Dissector, seedsFrom(flows), 1000, 547);
  });
});
