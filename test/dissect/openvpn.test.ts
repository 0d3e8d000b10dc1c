/**
 * No OpenVPN capture in the corpus: packets are built to OpenVPN's wire format (ssl_pkt.h /
 * reliable.c of OpenVPN 2.6: opcode|key_id, session id, [tls-auth HMAC, packet id, net time],
 * ack array, message packet id, payload; TCP adds a 2-byte length) and checked against tshark.
 */
import { describe, expect, it } from 'vitest';
import { clientResetLayout, openvpnDissector } from '../../src/dissect/openvpn.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { tsharkFields, writeSyntheticPcap, fuzzWithContext } from './corpus-flows.js';

const UDP: DissectContext = { proto: 17, clientPort: 40000, serverPort: 1194, tsUs: 0 };
const ODD: DissectContext = { proto: 17, clientPort: 40000, serverPort: 53, tsUs: 0 };
const TCP: DissectContext = { proto: 6, clientPort: 40000, serverPort: 443, tsUs: 0 };

const CSID = Buffer.from('0123456789abcdef', 'hex');
const SSID = Buffer.from('fedcba9876543210', 'hex');
const TIME = 1_700_000_000;
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
};
const op = (opcode: number, key = 0) => Buffer.from([(opcode << 3) | key]);

/** A control packet; with `hmac` bytes of tls-auth HMAC + replay packet id + time. */
function control(opcode: number, sid: Buffer, acks: number[], remote: Buffer | null, mpid: number | null, payload = Buffer.alloc(0), hmac = 0, pid = 1): Buffer {
  const parts = [op(opcode), sid];
  if (hmac > 0) parts.push(Buffer.alloc(hmac, 0xa5), u32(pid), u32(TIME));
  parts.push(Buffer.from([acks.length]), ...acks.map(u32));
  if (acks.length > 0 && remote) parts.push(remote);
  if (mpid !== null) parts.push(u32(mpid));
  parts.push(payload);
  return Buffer.concat(parts);
}

const CLIENT_RESET = control(7, CSID, [], null, 0);
const SERVER_RESET = control(8, SSID, [0], CSID, 0);
const CLIENT_HELLO = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x30]), Buffer.alloc(0x30, 1)]);
const CONTROL = control(4, CSID, [0], SSID, 1, CLIENT_HELLO);
const DATA_V2 = Buffer.concat([op(9), Buffer.from([0, 0, 1]), Buffer.alloc(60, 0x77)]);
const TLS_AUTH_RESET = control(7, CSID, [], null, 0, Buffer.alloc(0), 20);
const TLS_AUTH_SHA256_RESET = control(7, CSID, [], null, 0, Buffer.alloc(0), 32);
const TLS_CRYPT_RESET = Buffer.concat([op(7), CSID, u32(1), u32(TIME), Buffer.alloc(32, 0x3c), Buffer.alloc(5, 0x99)]);
const TLS_CRYPT_V2_RESET = Buffer.concat([op(10), CSID, u32(1), u32(TIME), Buffer.alloc(32, 0x3c), Buffer.alloc(5, 0x99), Buffer.alloc(290, 0x42)]);

const tcp = (p: Buffer) => Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]);

describe('openvpnDissector', () => {
  it('client hard reset layouts: plain, tls-auth (SHA1/SHA256), tls-crypt, tls-crypt-v2', () => {
    expect(clientResetLayout(CLIENT_RESET, 0, CLIENT_RESET.length)).toEqual({ protection: 'none', hmac: null });
    expect(clientResetLayout(TLS_AUTH_RESET, 0, TLS_AUTH_RESET.length)).toEqual({ protection: 'tls-auth', hmac: 20 });
    expect(clientResetLayout(TLS_AUTH_SHA256_RESET, 0, TLS_AUTH_SHA256_RESET.length)).toEqual({ protection: 'tls-auth', hmac: 32 });
    expect(clientResetLayout(TLS_CRYPT_RESET, 0, TLS_CRYPT_RESET.length)).toEqual({ protection: 'tls-crypt', hmac: null });
    expect(clientResetLayout(TLS_CRYPT_V2_RESET, 0, TLS_CRYPT_V2_RESET.length)).toEqual({ protection: 'tls-crypt-v2', hmac: null });
    expect(clientResetLayout(SERVER_RESET, 0, SERVER_RESET.length)).toBeNull();
  });

  it('probe: client resets on any port, any opcode on 1194, nothing random elsewhere', () => {
    for (const p of [CLIENT_RESET, TLS_AUTH_RESET, TLS_CRYPT_RESET, TLS_CRYPT_V2_RESET]) expect(openvpnDissector.probe(p, 0, p.length, true, ODD)).toBe(Probe.YES);
    expect(openvpnDissector.probe(DATA_V2, 0, DATA_V2.length, true, UDP)).toBe(Probe.YES);
    expect(openvpnDissector.probe(DATA_V2, 0, DATA_V2.length, true, ODD)).toBe(Probe.NO);
    const dns = Buffer.from('abcd01000001000000000000076578616d706c6503636f6d0000010001', 'hex');
    expect(openvpnDissector.probe(dns, 0, dns.length, true, ODD)).toBe(Probe.NO);
    // Server speaking first is not a client reset.
    expect(openvpnDissector.probe(CLIENT_RESET, 0, CLIENT_RESET.length, false, ODD)).toBe(Probe.NO);
    const t = tcp(TLS_AUTH_RESET);
    expect(openvpnDissector.probe(t, 0, t.length, true, TCP)).toBe(Probe.YES);
    expect(openvpnDissector.probe(t, 0, 10, true, TCP)).toBe(Probe.MAYBE);
    const tls = Buffer.from('160301020001', 'hex');
    expect(openvpnDissector.probe(tls, 0, tls.length, true, TCP)).toBe(Probe.NO);
  });

  it('UDP handshake: session ids, opcodes, TLS in the control channel, decided at data', () => {
    const s = openvpnDissector.start(UDP);
    expect(s.feed(CLIENT_RESET, 0, CLIENT_RESET.length, true, UDP)).toBe(false);
    expect(s.feed(SERVER_RESET, 0, SERVER_RESET.length, false, UDP)).toBe(false);
    expect(s.feed(CONTROL, 0, CONTROL.length, true, UDP)).toBe(true);
    expect(s.facts()).toEqual({
      encrypted: true,
      tunnel: true,
      transport: 'udp',
      packets: 3,
      opcode: 'P_CONTROL_HARD_RESET_CLIENT_V2',
      opcodes: ['P_CONTROL_HARD_RESET_CLIENT_V2', 'P_CONTROL_HARD_RESET_SERVER_V2', 'P_CONTROL_V1'],
      key_id: 0,
      client_session_id: '0123456789abcdef',
      server_session_id: 'fedcba9876543210',
      control_protection: 'none',
      hmac_size: null,
      tls_seen: true,
      data_packets: 0,
      malformed: 0,
    });
  });

  it('tls-auth control packets: TLS found after the HMAC block', () => {
    const s = openvpnDissector.start(UDP);
    s.feed(TLS_AUTH_RESET, 0, TLS_AUTH_RESET.length, true, UDP);
    const ctl = control(4, CSID, [], null, 1, CLIENT_HELLO, 20, 2);
    expect(s.feed(ctl, 0, ctl.length, true, UDP)).toBe(true);
    expect(s.facts()).toMatchObject({ control_protection: 'tls-auth', hmac_size: 20, tls_seen: true });
  });

  it('TCP: length-prefixed packets split at every byte give the same facts', () => {
    const stream = Buffer.concat([tcp(TLS_CRYPT_RESET), tcp(control(4, CSID, [], null, 1, Buffer.alloc(40, 9)))]);
    const answer = Buffer.concat([tcp(SERVER_RESET), tcp(DATA_V2)]);
    const whole = openvpnDissector.start(TCP);
    whole.feed(stream, 0, stream.length, true, TCP);
    expect(whole.feed(answer, 0, answer.length, false, TCP)).toBe(true);
    for (const piece of [1, 2, 5]) {
      const s = openvpnDissector.start(TCP);
      let done = false;
      for (let i = 0; i < stream.length; i += piece) s.feed(Buffer.from(stream.subarray(i, i + piece)), 0, Math.min(piece, stream.length - i), true, TCP);
      for (let i = 0; i < answer.length && !done; i += piece) done = s.feed(Buffer.from(answer.subarray(i, i + piece)), 0, Math.min(piece, answer.length - i), false, TCP);
      expect(done).toBe(true);
      expect(s.facts()).toEqual(whole.facts());
    }
    expect(whole.facts()).toMatchObject({ transport: 'tcp', control_protection: 'tls-crypt', tls_seen: false, data_packets: 1 });
  });

  it.skipIf(!hasTool('tshark'))('tshark reads the synthetic packets the same way', () => {
    const { file, cleanup } = writeSyntheticPcap([
      { payload: CLIENT_RESET, srcPort: 40000, dstPort: 1194 },
      { payload: SERVER_RESET, srcPort: 1194, dstPort: 40000 },
      { payload: TLS_AUTH_RESET, srcPort: 40001, dstPort: 1194 },
      { payload: tcp(CLIENT_RESET), srcPort: 40002, dstPort: 1194, transport: 'tcp' },
    ]);
    try {
      const rows = tsharkFields(file, 'openvpn', ['openvpn.opcode', 'openvpn.keyid', 'openvpn.sessionid', 'openvpn.rsessionid', 'openvpn.mpid', 'openvpn.pid', 'openvpn.net_time']);
      // tshark prints the 64-bit session ids in decimal.
      const c = BigInt('0x0123456789abcdef').toString();
      const sv = BigInt('0xfedcba9876543210').toString();
      expect(rows[0].slice(0, 3)).toEqual(['0x07', '0', c]);
      expect(rows[0][4]).toBe('0');
      expect(rows[1].slice(0, 4)).toEqual(['0x08', '0', sv, c]);
      // tshark's tls-auth auto-detection finds the same replay packet id and time.
      expect(rows[2].slice(5, 7)).toEqual(['1', 'Nov 14, 2023 22:13:20.000000000 UTC']);
      expect(new Date(TIME * 1000).toISOString()).toBe('2023-11-14T22:13:20.000Z');
      expect(rows[3].slice(0, 3)).toEqual(['0x07', '0', c]);
    } finally {
      cleanup();
    }
  });

  it('survives fuzzing (UDP and TCP)', () => {
    const seeds = [CLIENT_RESET, SERVER_RESET, CONTROL, DATA_V2, TLS_AUTH_RESET, TLS_CRYPT_V2_RESET, tcp(CLIENT_RESET), Buffer.concat([tcp(CONTROL), tcp(DATA_V2)])];
    fuzzDissector(openvpnDissector, seeds);
    fuzzWithContext(openvpnDissector, seeds, UDP);
    fuzzWithContext(openvpnDissector, seeds, { ...TCP, serverPort: 1194 });
  });
});
