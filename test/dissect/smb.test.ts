/**
 * SMB: the public corpus has no SMB capture, so messages are built here from [MS-SMB]/[MS-SMB2]
 * and [MS-NLMP], and tshark (an independent reader) is asked to decode the very same bytes from a
 * pcap written here, as the oracle for what we read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { smbDissector, type SmbFacts } from '../../src/dissect/smb.js';
import { Probe } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { hasTshark, plain, runStream, secretLeaks, tsharkFields, type Piece } from './tcp-follow.js';

const u16 = (n: number) => Buffer.from([n & 0xff, (n >> 8) & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function nbss(msg: Buffer, type = 0): Buffer {
  return Buffer.concat([Buffer.from([type, (msg.length >> 16) & 0xff, (msg.length >> 8) & 0xff, msg.length & 0xff]), msg]);
}

function smb1(cmd: number, response: boolean, words: Buffer, bytes: Buffer, flags2 = 0xc803): Buffer {
  const h = Buffer.alloc(32);
  h.write('\xffSMB', 0, 'latin1');
  h[4] = cmd;
  h[9] = response ? 0x98 : 0x18;
  h.writeUInt16LE(flags2, 10);
  h.writeUInt16LE(0xfeff, 26); // PID
  return Buffer.concat([h, Buffer.from([words.length / 2]), words, u16(bytes.length), bytes]);
}

function smb1Negotiate(dialects: string[]): Buffer {
  return smb1(0x72, false, Buffer.alloc(0), Buffer.concat(dialects.map((d) => Buffer.from(`\x02${d}\0`, 'latin1'))));
}

function smb1NegotiateResponse(index: number, mode: number): Buffer {
  const w = Buffer.concat([u16(index), Buffer.from([mode]), u16(50), u16(1), u32(16644), u32(65536), u32(0), u32(0x8000e3fd), Buffer.alloc(8), u16(0), Buffer.from([8])]);
  return smb1(0x72, true, w, Buffer.concat([Buffer.alloc(8, 0x11), Buffer.from('WORKGROUP\0', 'utf16le')]), 0xc001);
}

/** Session Setup AndX, non-extended security (13 words), ASCII strings. */
function smb1SessionSetupPlain(account: string, domain: string, password: string): Buffer {
  const pw = Buffer.from(password, 'latin1');
  const w = Buffer.concat([Buffer.from([0xff, 0]), u16(0), u16(16644), u16(50), u16(0), u32(0), u16(pw.length), u16(0), u32(0), u32(0xd4)]);
  const bytes = Buffer.concat([pw, Buffer.from(`${account}\0${domain}\0Unix\0Samba\0`, 'latin1')]);
  return smb1(0x73, false, w, bytes, 0x0001);
}

function smb1TreeConnect(path: string): Buffer {
  const w = Buffer.concat([Buffer.from([0xff, 0]), u16(0), u16(0x08), u16(1)]);
  return smb1(0x75, false, w, Buffer.concat([Buffer.from([0]), Buffer.from(`${path}\0?????\0`, 'latin1')]), 0x0001);
}

function smb2Header(cmd: number, response: boolean, messageId: number, next = 0): Buffer {
  const h = Buffer.alloc(64);
  h.write('\xfeSMB', 0, 'latin1');
  h.writeUInt16LE(64, 4);
  h.writeUInt16LE(cmd, 12);
  h.writeUInt16LE(1, 14);
  h.writeUInt32LE(response ? 1 : 0, 16);
  h.writeUInt32LE(next, 20);
  h.writeUInt32LE(messageId, 24);
  return h;
}

function pad8(b: Buffer): Buffer {
  return b.length % 8 === 0 ? b : Buffer.concat([b, Buffer.alloc(8 - (b.length % 8))]);
}

function negContext(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), u16(data.length), u32(0), data]);
}

function smb2NegotiateRequest(dialects: number[], secMode: number, ciphers: number[] = []): Buffer {
  const fixed = 64 + 36 + 2 * dialects.length;
  const ctxOffset = Math.ceil(fixed / 8) * 8;
  const contexts = dialects.includes(0x0311)
    ? [
        negContext(1, Buffer.concat([u16(1), u16(32), u16(1), Buffer.alloc(32, 0x5a)])),
        negContext(2, Buffer.concat([u16(ciphers.length), ...ciphers.map(u16)])),
      ]
    : [];
  const body = Buffer.concat([
    u16(36),
    u16(dialects.length),
    u16(secMode),
    u16(0),
    u32(0x7f),
    Buffer.alloc(16, 0x42),
    u32(contexts.length ? ctxOffset : 0),
    u16(contexts.length),
    u16(0),
    ...dialects.map(u16),
  ]);
  let msg = Buffer.concat([smb2Header(0, false, 0), body]);
  if (contexts.length) msg = Buffer.concat([pad8(msg), pad8(contexts[0]), contexts[1]]);
  return msg;
}

function smb2NegotiateResponse(dialect: number, secMode: number, caps: number, cipher?: number): Buffer {
  const blob = Buffer.from('604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265', 'hex');
  const secOffset = 64 + 64;
  const ctxOffset = Math.ceil((secOffset + blob.length) / 8) * 8;
  const contexts =
    cipher !== undefined
      ? [negContext(1, Buffer.concat([u16(1), u16(32), u16(1), Buffer.alloc(32, 0x33)])), negContext(2, Buffer.concat([u16(1), u16(cipher)]))]
      : [];
  const body = Buffer.concat([
    u16(65),
    u16(secMode),
    u16(dialect),
    u16(contexts.length),
    Buffer.alloc(16, 0x24),
    u32(caps),
    u32(8388608),
    u32(8388608),
    u32(8388608),
    Buffer.alloc(8),
    Buffer.alloc(8),
    u16(secOffset),
    u16(blob.length),
    u32(contexts.length ? ctxOffset : 0),
  ]);
  let msg = Buffer.concat([smb2Header(0, true, 0), body, blob]);
  if (contexts.length) msg = Buffer.concat([pad8(msg), pad8(contexts[0]), contexts[1]]);
  return msg;
}

/** NTLMSSP AUTHENTICATE (type 3), Unicode. */
function ntlmAuthenticate(domain: string, user: string, host: string): Buffer {
  const d = Buffer.from(domain, 'utf16le');
  const u = Buffer.from(user, 'utf16le');
  const h = Buffer.from(host, 'utf16le');
  const lm = Buffer.alloc(24, 1);
  const nt = Buffer.alloc(24, 2);
  const base = 72;
  const field = (buf: Buffer, off: number) => Buffer.concat([u16(buf.length), u16(buf.length), u32(off)]);
  let off = base;
  const fields: Buffer[] = [];
  const payload: Buffer[] = [];
  for (const buf of [lm, nt, d, u, h, Buffer.alloc(0)]) {
    fields.push(field(buf, off));
    payload.push(buf);
    off += buf.length;
  }
  const head = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), u32(3), fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], u32(0xe2888215), Buffer.alloc(8)]);
  return Buffer.concat([head, ...payload]);
}

function smb2SessionSetup(blob: Buffer): Buffer {
  const body = Buffer.concat([u16(25), Buffer.from([0, 1]), u32(1), u32(0), u16(64 + 24), u16(blob.length), Buffer.alloc(8)]);
  return Buffer.concat([smb2Header(1, false, 2), body, blob]);
}

function smb2TreeConnect(path: string, messageId: number): Buffer {
  const p = Buffer.from(path, 'utf16le');
  return Buffer.concat([smb2Header(3, false, messageId), u16(9), u16(0), u16(64 + 8), u16(p.length), p]);
}

function netbiosEncode(name: string, suffix: number): Buffer {
  const raw = Buffer.concat([Buffer.from(name.padEnd(15, ' '), 'latin1'), Buffer.from([suffix])]);
  const out = [32];
  for (const c of raw) out.push(0x41 + (c >> 4), 0x41 + (c & 0xf));
  out.push(0);
  return Buffer.from(out);
}

const SMB3: Piece[] = [
  { fromClient: true, data: nbss(smb1Negotiate(['NT LM 0.12', 'SMB 2.002', 'SMB 2.???'])) },
  { fromClient: false, data: nbss(smb2NegotiateResponse(0x02ff, 1, 7)) },
  { fromClient: true, data: nbss(smb2NegotiateRequest([0x0202, 0x0210, 0x0300, 0x0302, 0x0311], 1, [2, 1])) },
  { fromClient: false, data: nbss(smb2NegotiateResponse(0x0311, 1, 0x2f, 2)) },
  { fromClient: true, data: nbss(smb2SessionSetup(ntlmAuthenticate('HOME', 'alice', 'LAPTOP'))) },
  { fromClient: true, data: nbss(smb2TreeConnect('\\\\nas\\photos', 3)) },
  { fromClient: false, data: nbss(Buffer.concat([Buffer.from('\xfdSMB', 'latin1'), Buffer.alloc(48), Buffer.alloc(40, 0x99)])) },
];

const SMB1_PLAIN: Piece[] = [
  { fromClient: true, data: nbss(Buffer.concat([netbiosEncode('NAS', 0x20), netbiosEncode('PRINTER', 0)]), 0x81) },
  { fromClient: false, data: Buffer.from([0x82, 0, 0, 0]) },
  { fromClient: true, data: nbss(smb1Negotiate(['PC NETWORK PROGRAM 1.0', 'LANMAN1.0', 'LM1.2X002', 'NT LM 0.12'])) },
  { fromClient: false, data: nbss(smb1NegotiateResponse(3, 0x01)) },
  { fromClient: true, data: nbss(smb1SessionSetupPlain('scanner', 'WORKGROUP', 'Scan!2024')) },
  { fromClient: true, data: nbss(smb1TreeConnect('\\\\NAS\\SCANS')) },
];

function run(pieces: Piece[], serverPort = 445, rechunkSeed?: number) {
  return runStream(smbDissector, { clientPort: 50000, serverPort, pieces }, { rechunkSeed, reuse: true });
}

/** A classic pcap (raw IPv4 link type) holding the pieces as TCP segments. */
function writePcap(path: string, pieces: Piece[], serverPort: number): void {
  const out: Buffer[] = [Buffer.from('d4c3b2a1020004000000000000000000ffff000065000000', 'hex')];
  const seq = [1000, 5000];
  pieces.forEach((p, i) => {
    const ip = Buffer.alloc(20);
    const tcp = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(40 + p.data.length, 2);
    ip[8] = 64;
    ip[9] = 6;
    Buffer.from(p.fromClient ? [192, 168, 1, 20] : [192, 168, 1, 2]).copy(ip, 12);
    Buffer.from(p.fromClient ? [192, 168, 1, 2] : [192, 168, 1, 20]).copy(ip, 16);
    tcp.writeUInt16BE(p.fromClient ? 50000 : serverPort, 0);
    tcp.writeUInt16BE(p.fromClient ? serverPort : 50000, 2);
    const d = p.fromClient ? 0 : 1;
    tcp.writeUInt32BE(seq[d], 4);
    tcp.writeUInt32BE(seq[1 - d], 8);
    seq[d] += p.data.length;
    tcp[12] = 0x50;
    tcp[13] = 0x18;
    tcp.writeUInt16BE(65535, 14);
    const frame = Buffer.concat([ip, tcp, p.data]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1700000000 + i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    out.push(rec, frame);
  });
  writeFileSync(path, Buffer.concat(out));
}

describe('smb', () => {
  it('probes NetBIOS session framing with an SMB signature, and session requests on 139', () => {
    const pr = (b: Buffer, fromClient = true, serverPort = 445) => smbDissector.probe(b, 0, b.length, fromClient, { proto: 6, clientPort: 50000, serverPort, tsUs: 0 });
    expect(pr(SMB3[0].data)).toBe(Probe.YES);
    expect(pr(SMB3[0].data, true, 4455)).toBe(Probe.YES);
    expect(pr(SMB3[0].data.subarray(0, 5))).toBe(Probe.MAYBE);
    expect(pr(SMB1_PLAIN[0].data, true, 139)).toBe(Probe.YES);
    expect(pr(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(Probe.NO);
    expect(pr(Buffer.from([0, 0, 0, 10, 1, 2, 3, 4, 5]))).toBe(Probe.NO);
  });

  it('SMB 3.1.1 after a multi-protocol negotiate: dialects, signing, ciphers, NTLM user, tree, encryption', () => {
    const r = run(SMB3);
    expect(r.probe).toBe(Probe.YES);
    expect(r.decided).toBe(true);
    const f = r.facts as SmbFacts;
    expect(f).toMatchObject({
      version: 3,
      smb1Offered: true,
      dialectsOffered: ['NT LM 0.12', 'SMB 2.002', 'SMB 2.???', '2.0.2', '2.1', '3.0', '3.0.2', '3.1.1'],
      dialect: '3.1.1',
      signingEnabled: true,
      signingRequired: false,
      clientSigningRequired: false,
      encryptionSupported: true,
      ciphersOffered: ['AES-128-GCM', 'AES-128-CCM'],
      cipher: 'AES-128-GCM',
      encrypted: true,
      users: [{ user: 'HOME\\alice', workstation: 'LAPTOP', plaintextPassword: null }],
      trees: ['\\\\nas\\photos'],
    });
    for (let seed = 1; seed <= 30; seed++) expect(plain(run(SMB3, 445, seed).facts)).toEqual(plain(f));
  });

  it('SMB1 on 139 without password encryption: NetBIOS names, plain-text password masked, tree', () => {
    const f = run(SMB1_PLAIN, 139).facts as SmbFacts;
    expect(f).toMatchObject({
      version: 1,
      smb1Offered: true,
      dialect: 'NT LM 0.12',
      smb1UserSecurity: true,
      smb1EncryptPasswords: false,
      signingEnabled: false,
      signingRequired: false,
      netbiosCalled: 'NAS',
      netbiosCalling: 'PRINTER',
      trees: ['\\\\NAS\\SCANS'],
      encrypted: false,
    });
    expect(f.users).toHaveLength(1);
    expect(f.users[0].user).toBe('WORKGROUP\\scanner');
    expect(f.users[0].plaintextPassword?.length).toBe(9);
    expect(secretLeaks(f, 'Scan!2024')).toEqual([]);
    for (let seed = 1; seed <= 30; seed++) expect(plain(run(SMB1_PLAIN, 139, seed).facts)).toEqual(plain(f));
  });

  it('survives fuzzing', () => fuzzDissector(smbDissector, [...SMB3, ...SMB1_PLAIN].map((p) => p.data)));
});

describe.skipIf(!hasTshark())('smb messages as tshark reads them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-smb-'));
  const smb3 = join(dir, 'smb3.pcap');
  const smb1p = join(dir, 'smb1.pcap');
  writePcap(smb3, SMB3, 445);
  writePcap(smb1p, SMB1_PLAIN, 139);

  it('SMB2/3: dialects, chosen dialect, signing, ciphers, NTLM user and tree agree with tshark', () => {
    const f = run(SMB3).facts as SmbFacts;
    const all = (filter: string, field: string) => tsharkFields(smb3, filter, [field], ['-E', 'occurrence=a']).flatMap((r) => r[0].split(','));
    expect(all('smb.dialect.name', 'smb.dialect.name')).toEqual(f.dialectsOffered.slice(0, 3));
    const offered = all('smb2.cmd == 0 && smb2.flags.response == 0', 'smb2.dialect').map((d) => Number(d));
    expect(offered.map((d) => ({ 0x202: '2.0.2', 0x210: '2.1', 0x300: '3.0', 0x302: '3.0.2', 0x311: '3.1.1' })[d])).toEqual(f.dialectsOffered.slice(3));
    const chosen = tsharkFields(smb3, 'smb2.cmd == 0 && smb2.flags.response == 1', ['smb2.dialect', 'smb2.sec_mode.sign_enabled', 'smb2.sec_mode.sign_required']);
    expect(Number(chosen[chosen.length - 1][0])).toBe(0x311);
    expect(chosen[chosen.length - 1][1]).toMatch(/^(1|True)$/);
    expect(chosen[chosen.length - 1][2]).toMatch(/^(0|False)$/);
    expect(all('smb2.negotiate_context.cipher_id && smb2.flags.response == 0', 'smb2.negotiate_context.cipher_id').map(Number)).toEqual([2, 1]);
    expect(all('smb2.negotiate_context.cipher_id && smb2.flags.response == 1', 'smb2.negotiate_context.cipher_id').map(Number)).toEqual([2]);
    const [[domain, user, host]] = tsharkFields(smb3, 'ntlmssp.auth.username', ['ntlmssp.auth.domain', 'ntlmssp.auth.username', 'ntlmssp.auth.hostname']);
    expect(f.users[0]).toEqual({ user: `${domain}\\${user}`, workstation: host, plaintextPassword: null });
    expect(tsharkFields(smb3, 'smb2.tree', ['smb2.tree'])[0][0]).toBe(f.trees[0]);
  });

  it('SMB1: dialects, index, password encryption flag, NetBIOS names, account and path agree with tshark', () => {
    const f = run(SMB1_PLAIN, 139).facts as SmbFacts;
    const all = (filter: string, field: string) => tsharkFields(smb1p, filter, [field], ['-E', 'occurrence=a']).flatMap((r) => r[0].split(','));
    expect(all('smb.dialect.name', 'smb.dialect.name')).toEqual(f.dialectsOffered);
    expect(f.dialect).toBe(f.dialectsOffered[Number(all('smb.dialect.index', 'smb.dialect.index')[0])]);
    expect(all('smb.sm.password', 'smb.sm.password')[0]).toMatch(/^(0|False)$/);
    const [[called, calling]] = tsharkFields(smb1p, 'nbss.called_name', ['nbss.called_name', 'nbss.calling_name']);
    expect(called.startsWith(f.netbiosCalled ?? '?')).toBe(true);
    expect(calling.startsWith(f.netbiosCalling ?? '?')).toBe(true);
    const [[account, domain]] = tsharkFields(smb1p, 'smb.account', ['smb.account', 'smb.primary_domain']);
    expect(f.users[0].user).toBe(`${domain}\\${account}`);
    expect(tsharkFields(smb1p, 'smb.path', ['smb.path'])[0][0]).toBe(f.trees[0]);
    rmSync(dir, { recursive: true, force: true });
  });
});
