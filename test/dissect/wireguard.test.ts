/**
 * No WireGuard capture in the corpus: messages are built to the protocol's fixed layouts
 * (https://www.wireguard.com/protocol/) and checked against tshark's WireGuard dissector.
 */
import { describe, expect, it } from 'vitest';
import { wireguardDissector, wireguardType } from '../../src/dissect/wireguard.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { hasTool } from '../helpers/analysis.js';
import { fuzzDissector, randomBytes, rng } from '../helpers/fuzz.js';
import { tsharkFields, writeSyntheticPcap, fuzzWithContext } from './corpus-flows.js';

const CTX: DissectContext = { proto: 17, clientPort: 40000, serverPort: 51820, tsUs: 0 };
const ODD: DissectContext = { proto: 17, clientPort: 40000, serverPort: 443, tsUs: 0 };
const next = rng(51820);

function header(type: number, size: number): Buffer {
  const b = randomBytes(next, size);
  b[0] = type;
  b[1] = b[2] = b[3] = 0;
  return b;
}

function initiation(sender: number, mac2 = false): Buffer {
  const b = header(1, 148);
  b.writeUInt32LE(sender, 4);
  if (!mac2) b.fill(0, 132, 148);
  return b;
}

function response(sender: number, receiver: number): Buffer {
  const b = header(2, 92);
  b.writeUInt32LE(sender, 4);
  b.writeUInt32LE(receiver, 8);
  b.fill(0, 76, 92);
  return b;
}

function transport(receiver: number, counter: number, payload: number): Buffer {
  const b = header(4, 16 + payload + 16);
  b.writeUInt32LE(receiver, 4);
  b.writeUInt32LE(counter, 8);
  b.writeUInt32LE(0, 12);
  return b;
}

const INIT = initiation(0x11223344);
const RESP = response(0x55667788, 0x11223344);
const COOKIE = header(3, 64);
const DATA = transport(0x55667788, 0, 64);
const KEEPALIVE = transport(0x55667788, 1, 0);

describe('wireguardDissector', () => {
  it('recognises each message type by its exact size', () => {
    expect([INIT, RESP, COOKIE, DATA, KEEPALIVE].map((m) => wireguardType(m, 0, m.length))).toEqual([1, 2, 3, 4, 4]);
    expect(wireguardType(INIT, 0, 147)).toBe(0);
    expect(wireguardType(DATA, 0, DATA.length - 1)).toBe(0);
    const reserved = Buffer.from(INIT);
    reserved[2] = 1;
    expect(wireguardType(reserved, 0, reserved.length)).toBe(0);
  });

  it('probe: handshakes on any port; data on 51820, or elsewhere with a small counter', () => {
    for (const m of [INIT, RESP, COOKIE]) expect(wireguardDissector.probe(m, 0, m.length, true, ODD)).toBe(Probe.YES);
    expect(wireguardDissector.probe(DATA, 0, DATA.length, true, CTX)).toBe(Probe.YES);
    expect(wireguardDissector.probe(DATA, 0, DATA.length, true, ODD)).toBe(Probe.YES);
    const bigCounter = Buffer.from(DATA);
    bigCounter[15] = 1;
    expect(wireguardDissector.probe(bigCounter, 0, bigCounter.length, true, ODD)).toBe(Probe.MAYBE);
    const quicish = Buffer.from([0xc3, 0, 0, 0, 1, ...Array(143).fill(0)]);
    expect(wireguardDissector.probe(quicish, 0, quicish.length, true, ODD)).toBe(Probe.NO);
    expect(wireguardDissector.probe(INIT, 0, INIT.length, true, { ...CTX, proto: 6 })).toBe(Probe.NO);
  });

  it('a handshake decides the flow; the facts say encrypted tunnel', () => {
    const s = wireguardDissector.start(CTX);
    expect(s.feed(INIT, 0, INIT.length, true, CTX)).toBe(false);
    expect(s.feed(RESP, 0, RESP.length, false, CTX)).toBe(true);
    expect(s.facts()).toEqual({
      encrypted: true,
      tunnel: true,
      messages: 2,
      message_types: ['handshake initiation', 'handshake response'],
      handshake_initiations: 1,
      handshake_responses: 1,
      cookie_replies: 0,
      transport_packets: 0,
      keepalives: 0,
      initiator_index: '44332211',
      responder_index: '88776655',
      under_load: false,
      malformed: 0,
    });
  });

  it('mid-session capture: data and keepalives; cookie replies mean under load', () => {
    const s = wireguardDissector.start(CTX);
    s.feed(DATA, 0, DATA.length, true, CTX);
    s.feed(KEEPALIVE, 0, KEEPALIVE.length, false, CTX);
    s.feed(COOKIE, 0, COOKIE.length, false, CTX);
    const junk = Buffer.alloc(10);
    s.feed(junk, 0, junk.length, true, CTX);
    expect(s.facts()).toMatchObject({ transport_packets: 2, keepalives: 1, cookie_replies: 1, under_load: true, malformed: 1 });
    const l = wireguardDissector.start(CTX);
    const busy = initiation(1, true);
    l.feed(busy, 0, busy.length, true, CTX);
    expect(l.facts().under_load).toBe(true);
  });

  it.skipIf(!hasTool('tshark'))('tshark reads the synthetic messages the same way', () => {
    const { file, cleanup } = writeSyntheticPcap([
      { payload: INIT, srcPort: 40000, dstPort: 51820 },
      { payload: RESP, srcPort: 51820, dstPort: 40000 },
      { payload: COOKIE, srcPort: 51820, dstPort: 40000 },
      { payload: DATA, srcPort: 40000, dstPort: 51820 },
      { payload: KEEPALIVE, srcPort: 51820, dstPort: 40000 },
    ]);
    try {
      const rows = tsharkFields(file, 'wg', ['wg.type', 'wg.sender', 'wg.receiver', 'wg.keepalive'], ['-d', 'udp.port==51820,wg']);
      expect(rows.map((r) => r[0])).toEqual(['1', '2', '3', '4', '4']);
      expect(rows[0][1]).toBe('0x11223344');
      expect(rows[1].slice(1, 3)).toEqual(['0x55667788', '0x11223344']);
      expect(rows[4][3]).not.toBe('');
    } finally {
      cleanup();
    }
  });

  it('survives fuzzing', () => {
    fuzzDissector(wireguardDissector, [INIT, RESP, COOKIE, DATA, KEEPALIVE]);
    fuzzWithContext(wireguardDissector, [INIT, RESP, COOKIE, DATA, KEEPALIVE], CTX);
  });
});
