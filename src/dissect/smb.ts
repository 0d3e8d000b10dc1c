/**
 * SMB over TCP (445 direct, 139 NetBIOS session service): SMB1 (CIFS, obsolete) versus SMB2/3
 * from the NEGOTIATE exchange (dialects offered and chosen, signing, SMB 3.1.1 ciphers), and what
 * the session setup shows in clear: NTLMSSP user names, SMB1 plain-text passwords (only through
 * maskSecret), tree connect paths. An SMB3 transform header means the session is encrypted.
 */
import { maskSecret } from './secret.js';
import { cleanText, parseNtlmssp } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState, type MaskedSecret } from './types.js';

export interface SmbSessionUser {
  /** DOMAIN\user (NTLMSSP AUTHENTICATE) or the SMB1 account name. */
  user: string;
  workstation: string | null;
  /** SMB1 session setup without password encryption: the password went in clear (masked here). */
  plaintextPassword: MaskedSecret | null;
}

export interface SmbFacts {
  /** 1 (SMB1/CIFS), 2 (2.0.2, 2.1) or 3 (3.x), from the dialect chosen, else from what was offered; null while unknown. */
  version: 1 | 2 | 3 | null;
  /** SMB1 dialect strings and SMB2 dialects ("2.0.2", "2.1", "3.0", "3.0.2", "3.1.1", "2.???") offered by the client. */
  dialectsOffered: string[];
  /** The client offered SMB1 dialects (an SMB1 NEGOTIATE). */
  smb1Offered: boolean;
  /** Dialect chosen by the server. */
  dialect: string | null;
  /** Server security mode: signing enabled / required. */
  signingEnabled: boolean | null;
  signingRequired: boolean | null;
  /** Client's SMB2 security mode says signing required. */
  clientSigningRequired: boolean | null;
  /** SMB1 server: user-level security and challenge/response passwords (false: plain-text passwords). */
  smb1UserSecurity: boolean | null;
  smb1EncryptPasswords: boolean | null;
  /** SMB 3.x: encryption supported by the server (capability or 3.1.1 cipher chosen). */
  encryptionSupported: boolean | null;
  /** SMB 3.1.1 ciphers offered by the client and the one the server chose. */
  ciphersOffered: string[];
  cipher: string | null;
  /** An SMB3 TRANSFORM header was seen: messages are encrypted from there on. */
  encrypted: boolean;
  /** NetBIOS session request (port 139): names called and calling. */
  netbiosCalled: string | null;
  netbiosCalling: string | null;
  /** Session setup users (at most 4). */
  users: SmbSessionUser[];
  /** Tree connect paths (\\server\share, at most 16). */
  trees: string[];
}

const SMB2_DIALECTS: Record<number, string> = { 0x0202: '2.0.2', 0x0210: '2.1', 0x0300: '3.0', 0x0302: '3.0.2', 0x0310: '3.1', 0x0311: '3.1.1', 0x02ff: '2.???' };
const CIPHERS: Record<number, string> = { 1: 'AES-128-CCM', 2: 'AES-128-GCM', 3: 'AES-256-CCM', 4: 'AES-256-GCM' };
const MAX_CAPTURE = 8192;
const MAX_USERS = 4;
const MAX_TREES = 16;

function dialectName(d: number): string {
  return SMB2_DIALECTS[d] ?? `0x${d.toString(16).padStart(4, '0')}`;
}

function versionOf(dialect: string): 1 | 2 | 3 {
  if (dialect.startsWith('3')) return 3;
  if (dialect.startsWith('2')) return 2;
  return 1;
}

/** First-level decoding of a NetBIOS name (RFC 1001 §14.1): 32 letters 'A'..'P' to 16 bytes. */
function netbiosName(b: Buffer, p: number, end: number): [string | null, number] {
  if (p >= end) return [null, p];
  const len = b[p];
  if (len !== 32 || p + 1 + len > end) return [null, end];
  let s = '';
  for (let i = 0; i < 32; i += 2) {
    const hi = b[p + 1 + i] - 0x41;
    const lo = b[p + 2 + i] - 0x41;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return [null, end];
    s += String.fromCharCode((hi << 4) | lo);
  }
  // Skip the scope labels up to the terminating zero.
  let q = p + 1 + len;
  while (q < end && b[q] !== 0) q += 1 + b[q];
  return [cleanText(s.slice(0, 15).trimEnd(), 16), q + 1];
}

class Direction {
  head: number[] = [];
  capture: Buffer | null = null;
  captured = 0;
  skip = 0;
  total = 0;
  type = 0;
  dead = false;
}

class SmbState implements DissectorState<SmbFacts> {
  private readonly out: SmbFacts = {
    version: null,
    dialectsOffered: [],
    smb1Offered: false,
    dialect: null,
    signingEnabled: null,
    signingRequired: null,
    clientSigningRequired: null,
    smb1UserSecurity: null,
    smb1EncryptPasswords: null,
    encryptionSupported: null,
    ciphersOffered: [],
    cipher: null,
    encrypted: false,
    netbiosCalled: null,
    netbiosCalling: null,
    users: [],
    trees: [],
  };
  private readonly dirs: [Direction, Direction] = [new Direction(), new Direction()];
  /** SMB1 dialect strings in offer order, for the response's index. */
  private smb1Dialects: string[] = [];

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    const d = this.dirs[fromClient ? 0 : 1];
    const end = offset + length;
    let p = offset;
    while (p < end && !d.dead && !this.out.encrypted) {
      if (d.skip > 0) {
        const n = Math.min(d.skip, end - p);
        d.skip -= n;
        p += n;
        continue;
      }
      if (d.capture !== null) {
        const n = Math.min(d.capture.length - d.captured, end - p);
        data.copy(d.capture, d.captured, p, p + n);
        d.captured += n;
        p += n;
        if (d.captured === d.capture.length) this.message(d, fromClient);
        continue;
      }
      d.head.push(data[p++]);
      if (d.head.length < 4) continue;
      const [type, a, b, c] = d.head;
      d.head = [];
      if (type !== 0x00 && type !== 0x81 && type !== 0x82 && type !== 0x83 && type !== 0x84 && type !== 0x85) {
        d.dead = true;
        break;
      }
      d.type = type;
      d.total = (a << 16) | (b << 8) | c;
      const n = Math.min(d.total, MAX_CAPTURE);
      d.capture = Buffer.alloc(n);
      d.captured = 0;
      if (n === 0) this.message(d, fromClient);
    }
    return this.out.encrypted || (this.dirs[0].dead && this.dirs[1].dead);
  }

  private message(d: Direction, fromClient: boolean): void {
    const b = d.capture as Buffer;
    d.capture = null;
    d.skip = d.total - b.length;
    if (d.type === 0x81) {
      const [called, q] = netbiosName(b, 0, b.length);
      const [calling] = netbiosName(b, q, b.length);
      this.out.netbiosCalled = called;
      this.out.netbiosCalling = calling;
      return;
    }
    if (d.type !== 0x00 || b.length < 4) return;
    if (b[1] !== 0x53 || b[2] !== 0x4d || b[3] !== 0x42) return;
    switch (b[0]) {
      case 0xff:
        this.smb1(b, fromClient);
        break;
      case 0xfe:
        this.smb2(b, fromClient);
        break;
      case 0xfd:
        this.out.encrypted = true;
        break;
    }
  }

  // -------------------------------------------------------------------------------------------
  // SMB1

  private smb1(b: Buffer, fromClient: boolean): void {
    if (b.length < 35) return;
    const command = b[4];
    const flags2 = b.readUInt16LE(10);
    const wc = b[32];
    const words = 33;
    const bcAt = words + 2 * wc;
    if (bcAt + 2 > b.length) return;
    const bc = b.readUInt16LE(bcAt);
    const bytes = bcAt + 2;
    const bytesEnd = Math.min(b.length, bytes + bc);
    if (command === 0x72) {
      if (fromClient) {
        this.out.smb1Offered = true;
        this.smb1Dialects = [];
        let p = bytes;
        for (let i = 0; i < 64 && p < bytesEnd; i++) {
          if (b[p] !== 0x02) break;
          const z = b.indexOf(0, p + 1);
          const e = z < 0 || z > bytesEnd ? bytesEnd : z;
          const name = cleanText(b.toString('latin1', p + 1, e), 64);
          this.smb1Dialects.push(name);
          if (this.out.dialectsOffered.length < 32) this.out.dialectsOffered.push(name);
          p = e + 1;
        }
        this.settleVersion();
      } else if (wc >= 1) {
        const index = b.readUInt16LE(words);
        if (index !== 0xffff && index < this.smb1Dialects.length) this.out.dialect = this.smb1Dialects[index];
        else if (index !== 0xffff && this.smb1Dialects.length === 0) this.out.dialect = `index ${index}`;
        if (wc === 17) {
          const mode = b[words + 2];
          this.out.smb1UserSecurity = (mode & 0x01) !== 0;
          this.out.smb1EncryptPasswords = (mode & 0x02) !== 0;
          this.out.signingEnabled = (mode & 0x04) !== 0;
          this.out.signingRequired = (mode & 0x08) !== 0;
        } else if (wc === 13) {
          const mode = b.readUInt16LE(words + 2);
          this.out.smb1UserSecurity = (mode & 0x01) !== 0;
          this.out.smb1EncryptPasswords = (mode & 0x02) !== 0;
        }
        if (this.out.dialect !== null) this.out.version = 1;
      }
      return;
    }
    if (command === 0x73 && fromClient) this.smb1SessionSetup(b, flags2, wc, words, bytes, bytesEnd);
    if (command === 0x75 && fromClient && wc >= 4) {
      // Tree Connect AndX: PasswordLength at word 3, then Password, then Path.
      const pwLen = b.readUInt16LE(words + 6);
      let p = bytes + pwLen;
      const unicode = (flags2 & 0x8000) !== 0;
      if (unicode && p % 2 === 1) p++;
      const path = this.smb1String(b, p, bytesEnd, unicode)[0];
      if (path && this.out.trees.length < MAX_TREES) this.out.trees.push(path);
    }
  }

  private smb1String(b: Buffer, p: number, end: number, unicode: boolean): [string, number] {
    if (unicode) {
      let q = p;
      while (q + 1 < end && (b[q] !== 0 || b[q + 1] !== 0)) q += 2;
      return [cleanText(b.toString('utf16le', p, q), 256), q + 2];
    }
    const z = b.indexOf(0, p);
    const e = z < 0 || z > end ? end : z;
    return [cleanText(b.toString('latin1', p, e), 256), e + 1];
  }

  private smb1SessionSetup(b: Buffer, flags2: number, wc: number, words: number, bytes: number, bytesEnd: number): void {
    if (wc === 12) {
      const blobLen = b.readUInt16LE(words + 14);
      this.ntlm(b, bytes, Math.min(bytesEnd, bytes + blobLen));
    } else if (wc === 13) {
      const oemLen = b.readUInt16LE(words + 14);
      const uniLen = b.readUInt16LE(words + 16);
      const unicode = (flags2 & 0x8000) !== 0;
      let p = bytes + oemLen + uniLen;
      if (p > bytesEnd) return;
      if (unicode && p % 2 === 1) p++;
      const [account, next] = this.smb1String(b, p, bytesEnd, unicode);
      const [domain] = this.smb1String(b, next, bytesEnd, unicode);
      if (account.length === 0) return;
      let password: MaskedSecret | null = null;
      // Without password encryption the OEM password field carries the password itself.
      if (this.out.smb1EncryptPasswords === false && oemLen > 0 && bytes + oemLen <= bytesEnd) {
        const raw = b.toString('latin1', bytes, bytes + oemLen).replace(/\0+$/, '');
        password = maskSecret(raw, account);
      } else if (this.out.smb1EncryptPasswords === false && uniLen > 0 && bytes + oemLen + uniLen <= bytesEnd) {
        password = maskSecret(b.toString('utf16le', bytes + oemLen, bytes + oemLen + uniLen).replace(/\0+$/, ''), account);
      }
      this.addUser({ user: domain ? `${domain}\\${account}` : account, workstation: null, plaintextPassword: password });
    }
  }

  private ntlm(b: Buffer, from: number, to: number): void {
    const info = parseNtlmssp(b, from, to);
    if (info !== null && info.type === 3 && info.user !== null) {
      this.addUser({ user: info.domain ? `${info.domain}\\${info.user}` : info.user, workstation: info.workstation, plaintextPassword: null });
    }
  }

  private addUser(u: SmbSessionUser): void {
    if (this.out.users.length < MAX_USERS && !this.out.users.some((x) => x.user === u.user)) this.out.users.push(u);
  }

  // -------------------------------------------------------------------------------------------
  // SMB2/3

  private smb2(b: Buffer, fromClient: boolean): void {
    let base = 0;
    for (let i = 0; i < 16 && base + 64 <= b.length; i++) {
      if (b[base] !== 0xfe || b[base + 1] !== 0x53 || b[base + 2] !== 0x4d || b[base + 3] !== 0x42) return;
      const command = b.readUInt16LE(base + 12);
      const response = (b.readUInt32LE(base + 16) & 1) !== 0;
      const next = b.readUInt32LE(base + 20);
      const end = next === 0 ? b.length : Math.min(b.length, base + next);
      if (command === 0 && !response && fromClient) this.negotiateRequest(b, base, end);
      else if (command === 0 && response) this.negotiateResponse(b, base, end);
      else if (command === 1 && !response && fromClient && base + 64 + 16 <= end) {
        const off = b.readUInt16LE(base + 64 + 12);
        const len = b.readUInt16LE(base + 64 + 14);
        this.ntlm(b, base + off, Math.min(end, base + off + len));
      } else if (command === 3 && !response && fromClient && base + 64 + 8 <= end) {
        const off = b.readUInt16LE(base + 64 + 4);
        const len = b.readUInt16LE(base + 64 + 6);
        if (base + off + len <= end && len > 0 && this.out.trees.length < MAX_TREES) {
          const path = cleanText(b.toString('utf16le', base + off, base + off + len - (len & 1)), 256);
          if (!this.out.trees.includes(path)) this.out.trees.push(path);
        }
      }
      if (next === 0 || next < 64) return;
      base += next;
    }
  }

  private negotiateRequest(b: Buffer, base: number, end: number): void {
    const body = base + 64;
    if (body + 36 > end) return;
    const count = b.readUInt16LE(body + 2);
    const mode = b.readUInt16LE(body + 4);
    this.out.clientSigningRequired = (mode & 0x02) !== 0;
    const dialects: number[] = [];
    for (let i = 0; i < count && i < 32 && body + 36 + 2 * i + 2 <= end; i++) dialects.push(b.readUInt16LE(body + 36 + 2 * i));
    for (const d of dialects) {
      const name = dialectName(d);
      if (!this.out.dialectsOffered.includes(name) && this.out.dialectsOffered.length < 32) this.out.dialectsOffered.push(name);
    }
    if (dialects.includes(0x0311)) {
      const ctxOff = b.readUInt32LE(body + 28);
      const ctxCount = b.readUInt16LE(body + 32);
      this.contexts(b, base + ctxOff, end, ctxCount, (type, p, e) => {
        if (type === 2 && p + 2 <= e) {
          const n = b.readUInt16LE(p);
          for (let i = 0; i < n && i < 16 && p + 2 + 2 * i + 2 <= e; i++) {
            const c = CIPHERS[b.readUInt16LE(p + 2 + 2 * i)] ?? `0x${b.readUInt16LE(p + 2 + 2 * i).toString(16)}`;
            if (!this.out.ciphersOffered.includes(c)) this.out.ciphersOffered.push(c);
          }
        }
      });
    }
    this.settleVersion();
  }

  private negotiateResponse(b: Buffer, base: number, end: number): void {
    const body = base + 64;
    if (body + 64 > end) return;
    const status = b.readUInt32LE(base + 8);
    if (status !== 0) return;
    const mode = b.readUInt16LE(body + 2);
    const dialect = b.readUInt16LE(body + 4);
    const ctxCount = b.readUInt16LE(body + 6);
    const caps = b.readUInt32LE(body + 24);
    this.out.signingEnabled = (mode & 0x01) !== 0;
    this.out.signingRequired = (mode & 0x02) !== 0;
    this.out.dialect = dialectName(dialect);
    this.out.version = dialect === 0x02ff ? 2 : versionOf(this.out.dialect);
    if (dialect >= 0x0300 && dialect !== 0x02ff) this.out.encryptionSupported = (caps & 0x40) !== 0;
    if (dialect === 0x0311) {
      const ctxOff = b.readUInt32LE(body + 60);
      this.contexts(b, base + ctxOff, end, ctxCount, (type, p, e) => {
        if (type === 2 && p + 4 <= e && b.readUInt16LE(p) >= 1) {
          const c = b.readUInt16LE(p + 2);
          this.out.cipher = c === 0 ? null : (CIPHERS[c] ?? `0x${c.toString(16)}`);
          this.out.encryptionSupported = c !== 0;
        }
      });
    }
  }

  /** Walk SMB 3.1.1 negotiate contexts (8-byte aligned). */
  private contexts(b: Buffer, from: number, end: number, count: number, each: (type: number, p: number, e: number) => void): void {
    let p = from;
    for (let i = 0; i < count && i < 16 && p + 8 <= end; i++) {
      const type = b.readUInt16LE(p);
      const len = b.readUInt16LE(p + 2);
      const e = Math.min(end, p + 8 + len);
      each(type, p + 8, e);
      p = p + 8 + len;
      p += (8 - ((p - from) % 8)) % 8;
    }
  }

  /** Before the server answers, the version is what the client can speak at best. */
  private settleVersion(): void {
    if (this.out.dialect !== null) return;
    const offered = this.out.dialectsOffered;
    if (offered.some((d) => /^3/.test(d))) this.out.version = 3;
    else if (offered.some((d) => /^2\.|^SMB 2/.test(d))) this.out.version = 2;
    else if (offered.length > 0) this.out.version = 1;
  }

  facts(): SmbFacts {
    return this.out;
  }
}

export function probeSmb(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  if (length === 0) return Probe.MAYBE;
  const type = data[offset];
  if (ctx.serverPort === 139) {
    if (fromClient && type === 0x81) return length >= 4 ? Probe.YES : Probe.MAYBE;
    if (!fromClient && (type === 0x82 || type === 0x83) && length >= 4) return Probe.YES;
  }
  if (type !== 0x00) return Probe.NO;
  if (length < 8) return Probe.MAYBE; // NetBIOS header: the SMB signature follows
  const p = data[offset + 4];
  if ((p === 0xff || p === 0xfe || p === 0xfd || p === 0xfc) && data[offset + 5] === 0x53 && data[offset + 6] === 0x4d && data[offset + 7] === 0x42) return Probe.YES;
  return Probe.NO;
}

export const smbDissector: Dissector<SmbFacts> = {
  name: 'smb',
  transports: ['tcp'],
  probe: probeSmb,
  start(): DissectorState<SmbFacts> {
    return new SmbState();
  },
};
