/**
 * No IKE/ESP capture in the corpus: messages are built to RFC 7296 (IKEv2), RFC 2408/2409
 * (IKEv1 ISAKMP) and RFC 3948 (UDP encapsulation), and checked against tshark's ISAKMP and ESP
 * dissectors.
 */
import { describe, expect, it } from 'vitest';
import { ipsecDissector } from '../../src/dissect/ipsec.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { tsharkFields, writeSyntheticPcap, fuzzWithContext } from './corpus-flows.js';

const IKE: DissectContext = { proto: 17, clientPort: 500, serverPort: 500, tsUs: 0 };
const NATT: DissectContext = { proto: 17, clientPort: 4500, serverPort: 4500, tsUs: 0 };
const ODD: DissectContext = { proto: 17, clientPort: 40000, serverPort: 10500, tsUs: 0 };

const ISPI = Buffer.from('a1a2a3a4a5a6a7a8', 'hex');
const RSPI = Buffer.from('b1b2b3b4b5b6b7b8', 'hex');
const u16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};

/** Generic payload header + body. */
const payload = (next: number, body: Buffer) => Buffer.concat([Buffer.from([next, 0]), u16(body.length + 4), body]);

function ikeHeader(next: number, version: number, exch: number, flags: number, rspi: Buffer, body: Buffer): Buffer {
  return Buffer.concat([ISPI, rspi, Buffer.from([next, version, exch, flags]), u32(0), u32(28 + body.length), body]);
}

// --- IKEv2 ---------------------------------------------------------------------------------------

function v2Transform(last: boolean, type: number, id: number, keyLen?: number): Buffer {
  const attr = keyLen ? Buffer.concat([u16(0x800e), u16(keyLen)]) : Buffer.alloc(0);
  return Buffer.concat([Buffer.from([last ? 0 : 3, 0]), u16(8 + attr.length), Buffer.from([type, 0]), u16(id), attr]);
}

function v2Proposal(last: boolean, num: number, transforms: [number, number, number?][]): Buffer {
  const tf = Buffer.concat(transforms.map(([t, id, kl], i) => v2Transform(i === transforms.length - 1, t, id, kl)));
  return Buffer.concat([Buffer.from([last ? 0 : 2, 0]), u16(8 + tf.length), Buffer.from([num, 1, 0, transforms.length]), tf]);
}

const STRONG: [number, number, number?][] = [
  [1, 12, 256],
  [2, 5],
  [3, 12],
  [4, 19],
];
const WEAK: [number, number, number?][] = [
  [1, 3],
  [2, 2],
  [3, 2],
  [4, 2],
];
const VID = Buffer.from('882fe56d6fd20dbc2251613b2ebe5beb', 'hex'); // strongSwan

const V2_INIT = ikeHeader(
  33,
  0x20,
  34,
  0x08,
  Buffer.alloc(8),
  Buffer.concat([
    payload(34, Buffer.concat([v2Proposal(false, 1, STRONG), v2Proposal(true, 2, WEAK)])),
    payload(40, Buffer.concat([u16(19), u16(0), Buffer.alloc(64, 7)])),
    payload(43, Buffer.alloc(32, 9)),
    payload(0, VID),
  ]),
);
const V2_INIT_RESP = ikeHeader(
  33,
  0x20,
  34,
  0x20,
  RSPI,
  Buffer.concat([payload(34, v2Proposal(true, 1, STRONG)), payload(40, Buffer.concat([u16(19), u16(0), Buffer.alloc(64, 8)])), payload(0, Buffer.alloc(32, 10))]),
);
const V2_AUTH = ikeHeader(46, 0x20, 35, 0x08, RSPI, payload(0, Buffer.alloc(80, 0xee)));

// --- IKEv1 aggressive mode -------------------------------------------------------------------------

const tv = (type: number, value: number) => Buffer.concat([u16(0x8000 | type), u16(value)]);
const V1_TRANSFORM = (() => {
  const attrs = Buffer.concat([tv(1, 5), tv(2, 1), tv(3, 1), tv(4, 2), tv(11, 1), Buffer.concat([u16(12), u16(4), u32(28800)])]);
  return payload(0, Buffer.concat([Buffer.from([1, 1]), u16(0), attrs]));
})();
const V1_SA = Buffer.concat([u32(1), u32(1), payload(0, Buffer.concat([Buffer.from([1, 1, 0, 1]), V1_TRANSFORM]))]);
const V1_AGGRESSIVE = ikeHeader(
  1,
  0x10,
  4,
  0,
  Buffer.alloc(8),
  Buffer.concat([
    payload(4, V1_SA),
    payload(10, Buffer.alloc(128, 1)),
    payload(5, Buffer.alloc(16, 2)),
    payload(13, Buffer.concat([Buffer.from([3, 17]), u16(500), Buffer.from('vpn@example.com')])),
    payload(0, Buffer.from('4048b7d56ebce88525e7de7f00d6c2d3', 'hex')),
  ]),
);
const V1_MAIN = ikeHeader(1, 0x10, 2, 0, Buffer.alloc(8), payload(0, V1_SA));

// --- NAT-T ---------------------------------------------------------------------------------------

const natt = (ike: Buffer) => Buffer.concat([u32(0), ike]);
const ESP = Buffer.concat([u32(0xc0ffee01), u32(1), Buffer.alloc(64, 0x5e)]);
const KEEPALIVE = Buffer.from([0xff]);

describe('ipsecDissector', () => {
  it('probe: IKE on 500, NAT-T marker / ESP / keepalive on 4500, exact-length IKE elsewhere', () => {
    expect(ipsecDissector.probe(V2_INIT, 0, V2_INIT.length, true, IKE)).toBe(Probe.YES);
    expect(ipsecDissector.probe(V1_AGGRESSIVE, 0, V1_AGGRESSIVE.length, true, IKE)).toBe(Probe.YES);
    const n = natt(V2_AUTH);
    expect(ipsecDissector.probe(n, 0, n.length, true, NATT)).toBe(Probe.YES);
    expect(ipsecDissector.probe(ESP, 0, ESP.length, true, NATT)).toBe(Probe.YES);
    expect(ipsecDissector.probe(KEEPALIVE, 0, 1, true, NATT)).toBe(Probe.YES);
    expect(ipsecDissector.probe(V2_INIT, 0, V2_INIT.length, true, ODD)).toBe(Probe.YES);
    expect(ipsecDissector.probe(V2_INIT, 0, V2_INIT.length - 1, true, ODD)).toBe(Probe.NO);
    expect(ipsecDissector.probe(ESP, 0, ESP.length, true, ODD)).toBe(Probe.NO);
    const badVersion = Buffer.from(V2_INIT);
    badVersion[17] = 0x30;
    expect(ipsecDissector.probe(badVersion, 0, badVersion.length, true, IKE)).toBe(Probe.NO);
  });

  it('IKEv2 SA_INIT: proposed and chosen algorithms, vendor id; decided on the answer', () => {
    const s = ipsecDissector.start(IKE);
    expect(s.feed(V2_INIT, 0, V2_INIT.length, true, IKE)).toBe(false);
    expect(s.feed(V2_INIT_RESP, 0, V2_INIT_RESP.length, false, IKE)).toBe(true);
    expect(s.facts()).toEqual({
      encrypted: true,
      tunnel: true,
      ike_version: 2,
      ike_messages: 2,
      exchanges: ['IKE_SA_INIT'],
      initiator_spi: 'a1a2a3a4a5a6a7a8',
      responder_spi: 'b1b2b3b4b5b6b7b8',
      nat_traversal: false,
      aggressive_mode: false,
      identity: null,
      proposed: { encryption: ['AES_CBC_256', '3DES'], integrity: ['HMAC_SHA2_256_128', 'HMAC_SHA1_96'], prf: ['HMAC_SHA2_256', 'HMAC_SHA1'], dh_groups: ['ECP256', 'MODP1024'], auth: [] },
      chosen: { encryption: ['AES_CBC_256'], integrity: ['HMAC_SHA2_256_128'], prf: ['HMAC_SHA2_256'], dh_groups: ['ECP256'], auth: [] },
      vendor_ids: ['882fe56d6fd20dbc2251613b2ebe5beb'],
      esp_packets: 0,
      esp_spis: [],
      nat_keepalives: 0,
      malformed: 0,
    });
  });

  it('IKEv1 aggressive mode: weak proposal, PSK, identity in clear', () => {
    const s = ipsecDissector.start(IKE);
    s.feed(V1_AGGRESSIVE, 0, V1_AGGRESSIVE.length, true, IKE);
    expect(s.facts()).toMatchObject({
      ike_version: 1,
      exchanges: ['Aggressive'],
      aggressive_mode: true,
      identity: 'vpn@example.com',
      proposed: { encryption: ['3DES'], integrity: ['MD5'], auth: ['PSK'], dh_groups: ['MODP1024'], prf: [] },
      vendor_ids: ['4048b7d56ebce88525e7de7f00d6c2d3'],
    });
    const m = ipsecDissector.start(IKE);
    m.feed(V1_MAIN, 0, V1_MAIN.length, true, IKE);
    expect(m.facts()).toMatchObject({ exchanges: ['Identity Protection (Main Mode)'], aggressive_mode: false, identity: null });
  });

  it('NAT-T: IKE behind the marker, then ESP decides; keepalives counted', () => {
    const s = ipsecDissector.start(NATT);
    const auth = natt(V2_AUTH);
    s.feed(KEEPALIVE, 0, 1, true, NATT);
    expect(s.feed(auth, 0, auth.length, true, NATT)).toBe(false);
    expect(s.feed(ESP, 0, ESP.length, true, NATT)).toBe(true);
    expect(s.facts()).toMatchObject({ nat_traversal: true, ike_version: 2, exchanges: ['IKE_AUTH'], esp_packets: 1, esp_spis: ['c0ffee01'], nat_keepalives: 1, malformed: 0 });
  });

  it('lying lengths and truncation are bounded and counted', () => {
    const cut = V2_INIT.subarray(0, 60);
    const s = ipsecDissector.start(IKE);
    s.feed(cut, 0, cut.length, true, IKE);
    expect(s.facts().malformed).toBe(1);
    const lie = Buffer.from(V2_INIT);
    lie.writeUInt16BE(0xffff, 30); // SA payload length
    const t = ipsecDissector.start(IKE);
    t.feed(lie, 0, lie.length, true, IKE);
    expect(t.facts().proposed).toBeNull();
  });

  it.skipIf(!hasTool('tshark'))('tshark reads the synthetic messages the same way', () => {
    const { file, cleanup } = writeSyntheticPcap([
      { payload: V2_INIT, srcPort: 500, dstPort: 500 },
      { payload: V1_AGGRESSIVE, srcPort: 500, dstPort: 500 },
      { payload: natt(V2_AUTH), srcPort: 4500, dstPort: 4500 },
      { payload: ESP, srcPort: 4500, dstPort: 4500 },
    ]);
    try {
      const ike = tsharkFields(file, 'isakmp', ['isakmp.ispi', 'isakmp.version', 'isakmp.exchangetype', 'isakmp.tf.id.encr', 'isakmp.tf.id.dh', 'isakmp.ike.attr.encryption_algorithm', 'isakmp.ike.attr.hash_algorithm', 'isakmp.id.data.user_fqdn', 'isakmp.vid_bytes']);
      expect(ike).toHaveLength(3);
      expect(ike[0].slice(0, 5)).toEqual(['a1a2a3a4a5a6a7a8', '0x20', '34', '12|3', '19|2']);
      expect(ike[0][8]).toBe(VID.toString('hex'));
      expect(ike[1].slice(1, 3)).toEqual(['0x10', '4']);
      expect(ike[1].slice(5, 8)).toEqual(['5', '1', 'vpn@example.com']);
      expect(ike[2].slice(1, 3)).toEqual(['0x20', '35']);
      const esp = tsharkFields(file, 'esp', ['esp.spi', 'esp.sequence']);
      expect(esp).toEqual([['0xc0ffee01', '1']]);
    } finally {
      cleanup();
    }
  });

  it('survives fuzzing', () => {
    const seeds = [V2_INIT, V2_INIT_RESP, V1_AGGRESSIVE, natt(V2_AUTH), ESP, KEEPALIVE];
    fuzzDissector(ipsecDissector, seeds);
    fuzzWithContext(ipsecDissector, seeds, IKE);
    fuzzWithContext(ipsecDissector, seeds, NATT);
  });
});
