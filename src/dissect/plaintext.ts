/**
 * Helpers shared by the dissectors of clear-text protocols (HTTP, RTSP, FTP, SMTP/POP3/IMAP,
 * telnet, MQTT, SMB): bounded line splitting across pieces, safe text, base64, credential field
 * names and NTLMSSP user names.
 *
 * Nothing here throws on packet contents, and every loop is bounded by the bytes it is given.
 */

// Wire text ends up in reports and terminals. These run per message, not per packet; the usual
// text has nothing to replace, and then costs one test and no copy.
const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROLS = /[\x00-\x1f\x7f]/g;
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;
const NOT_PRINTABLE_ASCIIS = /[^\x20-\x7e]/g;
const NON_ASCII = /[\x80-\xff]/;

/** At most `max` characters of s, control characters (and DEL) as '?'. */
export function cleanText(s: string, max = 256): string {
  const t = s.length > max ? s.slice(0, max) : s;
  return CONTROL.test(t) ? t.replace(CONTROLS, '?') : t;
}

/** At most `max` characters of s, anything but printable ASCII as '?'. */
export function asciiText(s: string, max = 256): string {
  const t = s.length > max ? s.slice(0, max) : s;
  return NOT_PRINTABLE_ASCII.test(t) ? t.replace(NOT_PRINTABLE_ASCIIS, '?') : t;
}

/**
 * Printable ASCII of b[from, to), other bytes as '?', at most `max` characters; with `stopAtNul`
 * the text ends before the first NUL (C strings in fixed-size fields).
 */
export function asciiOfBytes(b: Buffer, from: number, to: number, max: number, stopAtNul = false): string {
  let end = Math.min(to, b.length, from + max);
  if (stopAtNul) {
    const nul = b.indexOf(0, from);
    if (nul >= 0 && nul < end) end = nul;
  }
  if (from < 0 || end <= from) return '';
  let clean = true;
  for (let i = from; i < end; i++) {
    const c = b[i];
    if (c < 0x20 || c >= 0x7f) {
      clean = false;
      break;
    }
  }
  if (clean) return b.toString('latin1', from, end);
  const out = Buffer.allocUnsafe(end - from);
  for (let i = from; i < end; i++) {
    const c = b[i];
    out[i - from] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return out.toString('latin1');
}

/** A latin1 string (1 char = 1 byte, as the line splitter produces) re-read as UTF-8. */
export function utf8OfLatin1(s: string): string {
  // ASCII reads the same either way.
  return NON_ASCII.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

/** Lowercase hex of the first `max` bytes of b[from, to). */
export function hexOf(b: Buffer, from: number, to: number, max = 64): string {
  return b.toString('hex', from, Math.min(to, from + max));
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Strict base64 (standard or URL alphabet); null if the text is not base64. */
export function decodeBase64(s: string, maxChars = 8192): Buffer | null {
  const t = s.trim();
  if (t.length === 0 || t.length > maxChars) return null;
  if (B64.test(t)) return Buffer.from(t, 'base64');
  if (B64URL.test(t)) return Buffer.from(t, 'base64url');
  return null;
}

/**
 * Field names that carry a password or PIN (form fields, query parameters, JSON keys):
 * pass, passwd, password, pwd, pin, passcode, … in any case and with prefixes (login[password],
 * user_pass, newPassword).
 */
export function isPasswordName(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (n.length === 0 || n.length > 64) return false;
  if (n.includes('pass') || n.includes('pwd') || n.includes('passwd')) return true;
  return n === 'pin' || n === 'pincode' || (n.endsWith('pin') && n.length <= 8) || n === 'pw' || n === 'psw' || n.endsWith('secret');
}

/** Field names that carry a user name or login. */
export function isUserName(name: string): boolean {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return (
    n === 'user' ||
    n === 'username' ||
    n === 'usr' ||
    n === 'uname' ||
    n === 'login' ||
    n === 'loginname' ||
    n === 'loginid' ||
    n === 'userid' ||
    n === 'account' ||
    n === 'email' ||
    n === 'mail' ||
    n === 'name' ||
    n === 'log' ||
    n === 'admin' ||
    n.endsWith('username') ||
    n.endsWith('userid') ||
    n.endsWith('login') ||
    n.endsWith('email')
  );
}

/**
 * Splits one direction of a stream into lines across pieces. A line is what ends with LF (a CR
 * before it is dropped). Lines longer than `maxLine` are cut: the first `maxLine` bytes are handed
 * over with `truncated` set and the rest up to the next LF is dropped. Bytes are given to the
 * callback as a latin1 string (one char per byte), so binary-safe; `skip(n)` drops the next n
 * bytes unseen (IMAP literals, SMTP BDAT chunks).
 */
export class LineSplitter {
  private buf: Buffer;
  private len = 0;
  private discarding = false;
  private skipBytes = 0;
  constructor(private readonly maxLine = 4096) {
    this.buf = Buffer.allocUnsafe(Math.min(256, maxLine));
  }

  /** Drop the next n bytes of the stream (they are not split into lines). */
  skip(n: number): void {
    this.skipBytes += Math.max(0, n);
  }

  /**
   * Feed bytes; onLine is called for each complete line. If onLine returns false, splitting stops
   * and the number of bytes consumed so far is returned (the rest is left to the caller).
   */
  push(data: Buffer, offset: number, length: number, onLine: (line: string, truncated: boolean) => boolean | void): number {
    const end = offset + length;
    let p = offset;
    while (p < end) {
      if (this.skipBytes > 0) {
        const n = Math.min(this.skipBytes, end - p);
        this.skipBytes -= n;
        p += n;
        continue;
      }
      const lf = data.indexOf(0x0a, p);
      const stop = lf === -1 || lf >= end ? end : lf;
      if (!this.discarding) this.append(data, p, stop);
      if (stop === end) {
        p = end;
        break;
      }
      p = stop + 1;
      const truncated = this.discarding;
      this.discarding = false;
      let n = this.len;
      if (n > 0 && this.buf[n - 1] === 0x0d) n--;
      const line = this.buf.toString('latin1', 0, n);
      this.len = 0;
      if (onLine(line, truncated) === false) return p - offset;
    }
    return p - offset;
  }

  private append(data: Buffer, from: number, to: number): void {
    let n = to - from;
    if (n <= 0) return;
    const room = this.maxLine - this.len;
    if (n > room) {
      n = room;
      this.discarding = true;
    }
    if (n <= 0) return;
    if (this.len + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxLine, Math.max(this.buf.length * 2, this.len + n)));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    data.copy(this.buf, this.len, from, from + n);
    this.len += n;
  }
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Bounded append-only byte store (copies what it keeps). Grows on demand up to its capacity, so
 * that the many short messages cost little.
 */
export class ByteStore {
  buf: Buffer = NO_BYTES;
  length = 0;
  constructor(readonly capacity: number) {}
  /** Appends what fits; returns the number of bytes taken. */
  append(data: Buffer, offset: number, length: number): number {
    const n = Math.min(length, this.capacity - this.length);
    if (n <= 0) return 0;
    if (this.length + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.capacity, Math.max(256, this.buf.length * 2, this.length + n)));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    data.copy(this.buf, this.length, offset, offset + n);
    this.length += n;
    return n;
  }
  get full(): boolean {
    return this.length >= this.capacity;
  }
  clear(): void {
    this.length = 0;
  }
}

/** User names found in an NTLMSSP message (type 3, AUTHENTICATE, carries them in clear). */
export interface NtlmInfo {
  /** 1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE. */
  type: number;
  user: string | null;
  domain: string | null;
  workstation: string | null;
}

const NTLMSSP = Buffer.from('NTLMSSP\0', 'latin1');

/**
 * Find and read an NTLMSSP message in b[from, to) (directly, or wrapped in SPNEGO/GSS-API, where it
 * is searched for in the first 2 KiB).
 */
export function parseNtlmssp(b: Buffer, from: number, to: number): NtlmInfo | null {
  const searchEnd = Math.min(to, from + 2048);
  const at = b.subarray(from, searchEnd).indexOf(NTLMSSP);
  if (at < 0) return null;
  const base = from + at;
  if (base + 12 > to) return null;
  const type = b.readUInt32LE(base + 8);
  if (type < 1 || type > 3) return null;
  const info: NtlmInfo = { type, user: null, domain: null, workstation: null };
  if (type !== 3 || base + 64 > to) return info;
  const flags = b.readUInt32LE(base + 60);
  const unicode = (flags & 0x1) !== 0;
  const field = (at: number): string | null => {
    const len = b.readUInt16LE(base + at);
    const off = b.readUInt32LE(base + at + 4);
    if (len === 0 || len > 512 || base + off + len > to) return null;
    const s = unicode ? b.toString('utf16le', base + off, base + off + len - (len & 1)) : b.toString('latin1', base + off, base + off + len);
    return cleanText(s, 128);
  };
  info.domain = field(28);
  info.user = field(36);
  info.workstation = field(44);
  return info;
}

/** Percent-decoding for form and query values ('+' is a space); invalid escapes are kept as-is. */
export function formDecode(s: string): string {
  const t = s.replace(/\+/g, ' ');
  if (!t.includes('%')) return t;
  try {
    return decodeURIComponent(t);
  } catch {
    // Decode byte by byte, keeping invalid escapes.
    const bytes: number[] = [];
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c === 0x25 && i + 2 < t.length && /^[0-9a-fA-F]{2}$/.test(t.slice(i + 1, i + 3))) {
        bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (c < 0x80) {
        bytes.push(c);
      } else {
        for (const x of Buffer.from(t[i], 'utf8')) bytes.push(x);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}
