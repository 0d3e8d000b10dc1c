/**
 * FTP control connection (RFC 959, RFC 2228 AUTH, RFC 2389 FEAT): greeting banner, logins
 * (USER, PASS through maskSecret only, result), AUTH TLS/SSL (once accepted the rest is
 * encrypted), files retrieved and stored.
 */
import { maskSecret, userShown } from './secret.js';
import { LineSplitter, cleanText, utf8OfLatin1 } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState, type MaskedSecret } from './types.js';

export interface FtpLogin {
  user: string | null;
  /** PASS argument, masked; null when none was sent. */
  password: MaskedSecret | null;
  /** USER anonymous / ftp. */
  anonymous: boolean;
  /** From the reply to USER (230 without password, 530) or PASS (230, 530). */
  result: 'success' | 'failure' | null;
  replyCode: number | null;
}

export interface FtpTransfer {
  command: string;
  /** File name as sent (at most 512 characters). */
  path: string;
  /** Final reply (226 done, 550 refused, …). */
  replyCode: number | null;
}

export interface FtpFacts {
  /** Text of the server's first reply (220 …), lines joined with \n, at most 512 characters. */
  greeting: string | null;
  greetingCode: number | null;
  /** Reply to SYST. */
  system: string | null;
  /** FEAT lines (at most 32). */
  features: string[];
  /** FEAT listed AUTH TLS or AUTH SSL. */
  tlsOffered: boolean;
  /** AUTH TLS / SSL requested by the client, and whether the server accepted it (234). */
  authTls: { mechanism: string; accepted: boolean | null } | null;
  /** The server accepted AUTH: what follows is TLS. */
  encrypted: boolean;
  /** Login attempts in order (at most 8). */
  logins: FtpLogin[];
  /** RETR / STOR / STOU / APPE (at most 32). */
  transfers: FtpTransfer[];
  /** Commands seen. */
  commands: number;
}

const MAX_LOGINS = 8;
const MAX_TRANSFERS = 32;
const MAX_PENDING = 64;

interface Reply {
  code: number;
  lines: string[];
}

/**
 * Reassembles FTP/SMTP-style replies ("ddd-..." continued until "ddd ...") from server lines.
 */
export class ReplyReader {
  private code = -1;
  private lines: string[] = [];

  /** A line from the server; returns a complete reply, or null. Lines that are no reply yield { code: 0 }. */
  line(l: string): Reply | null {
    const m = /^(\d{3})([ -]?)(.*)$/.exec(l);
    if (this.code >= 0) {
      // In a multi-line reply: it ends with "ddd " (same code) or a bare "ddd".
      if (m !== null && Number(m[1]) === this.code && m[2] !== '-') {
        this.lines.push(m[3]);
        return this.take();
      }
      if (this.lines.length < 64) this.lines.push(m !== null && Number(m[1]) === this.code ? m[3] : l);
      return null;
    }
    if (m === null) return { code: 0, lines: [l] };
    if (m[2] === '-') {
      this.code = Number(m[1]);
      this.lines = [m[3]];
      return null;
    }
    return { code: Number(m[1]), lines: [m[3]] };
  }

  private take(): Reply {
    const r = { code: this.code, lines: this.lines };
    this.code = -1;
    this.lines = [];
    return r;
  }
}

function replyText(lines: string[], max = 512): string {
  return lines
    .slice(0, 16)
    .map((l) => cleanText(utf8OfLatin1(l), max))
    .join('\n')
    .slice(0, max);
}

interface Pending {
  verb: string;
  login: FtpLogin | null;
  transfer: FtpTransfer | null;
}

class FtpState implements DissectorState<FtpFacts> {
  private readonly out: FtpFacts = {
    greeting: null,
    greetingCode: null,
    system: null,
    features: [],
    tlsOffered: false,
    authTls: null,
    encrypted: false,
    logins: [],
    transfers: [],
    commands: 0,
  };
  private readonly lines: [LineSplitter, LineSplitter] = [new LineSplitter(2048), new LineSplitter(2048)];
  private readonly replies = new ReplyReader();
  private readonly pending: Pending[] = [];
  private current: FtpLogin | null = null;
  private done = false;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    if (fromClient) this.lines[0].push(data, offset, length, (l) => this.command(l) && !this.done);
    else this.lines[1].push(data, offset, length, (l) => this.serverLine(l) && !this.done);
    return this.done;
  }

  private command(line: string): boolean {
    const m = /^\s*([A-Za-z]{3,4})(?:\s(.*))?$/.exec(line);
    if (m === null) return true;
    const verb = m[1].toUpperCase();
    const arg = (m[2] ?? '').replace(/\s+$/, '');
    this.out.commands++;
    const p: Pending = { verb, login: null, transfer: null };
    switch (verb) {
      case 'USER': {
        const user = cleanText(utf8OfLatin1(arg), 128);
        const login: FtpLogin = { user, password: null, anonymous: /^(anonymous|ftp)$/i.test(user), result: null, replyCode: null };
        if (this.out.logins.length < MAX_LOGINS) this.out.logins.push(login);
        this.current = login;
        p.login = login;
        break;
      }
      case 'PASS': {
        let login = this.current;
        if (login === null || login.password !== null) {
          login = { user: login?.user ?? null, password: null, anonymous: login?.anonymous ?? false, result: null, replyCode: null };
          if (this.out.logins.length < MAX_LOGINS) this.out.logins.push(login);
          this.current = login;
        }
        login.password = maskSecret(utf8OfLatin1(m[2] ?? ''), login.user);
        login.user = userShown(login.user, login.password);
        p.login = login;
        break;
      }
      case 'AUTH':
        this.out.authTls = { mechanism: cleanText(arg.toUpperCase(), 16), accepted: null };
        break;
      case 'RETR':
      case 'STOR':
      case 'STOU':
      case 'APPE': {
        const t: FtpTransfer = { command: verb, path: cleanText(utf8OfLatin1(arg), 512), replyCode: null };
        if (this.out.transfers.length < MAX_TRANSFERS) this.out.transfers.push(t);
        p.transfer = t;
        break;
      }
    }
    if (this.pending.length < MAX_PENDING) this.pending.push(p);
    return true;
  }

  private serverLine(line: string): boolean {
    const r = this.replies.line(line);
    if (r === null || r.code === 0) return true;
    if (r.code >= 100 && r.code < 200) {
      // Preliminary (150 opening data connection, 120 ready soon): the command is not done yet.
      if (this.out.greeting === null && this.pending.length === 0 && r.code === 120) this.greet(r);
      return true;
    }
    const p = this.pending.shift();
    if (p === undefined) {
      if (this.out.greeting === null) this.greet(r);
      return true;
    }
    switch (p.verb) {
      case 'USER':
      case 'PASS':
        if (p.login !== null) {
          p.login.replyCode = r.code;
          if (r.code === 230 || r.code === 202) p.login.result = 'success';
          else if (r.code >= 400) p.login.result = 'failure';
        }
        break;
      case 'AUTH':
        if (this.out.authTls !== null) {
          this.out.authTls.accepted = r.code === 234;
          if (r.code === 234) {
            this.out.encrypted = true;
            this.done = true;
            return false;
          }
        }
        break;
      case 'FEAT':
        if (r.code === 211) {
          for (const l of r.lines.slice(1)) {
            const f = cleanText(l.trim(), 128);
            if (f.length === 0 || /^end$/i.test(f)) continue;
            if (this.out.features.length < 32) this.out.features.push(f);
            if (/^AUTH\b.*\b(TLS|SSL)/i.test(f)) this.out.tlsOffered = true;
          }
        }
        break;
      case 'SYST':
        if (r.code === 215) this.out.system = replyText(r.lines, 128);
        break;
      default:
        if (p.transfer !== null) p.transfer.replyCode = r.code;
    }
    return true;
  }

  private greet(r: Reply): void {
    this.out.greeting = replyText(r.lines);
    this.out.greetingCode = r.code;
  }

  facts(): FtpFacts {
    return this.out;
  }
}

const FTP_COMMANDS = new Set(['USER', 'PASS', 'AUTH', 'FEAT', 'SYST', 'PASV', 'EPSV', 'PORT', 'EPRT', 'OPTS', 'TYPE', 'PWD', 'CWD', 'LIST', 'NLST', 'RETR', 'STOR', 'QUIT', 'HELP', 'NOOP', 'MLSD', 'SIZE', 'MDTM', 'PBSZ', 'PROT', 'CLNT', 'ACCT']);
/** Commands that only FTP uses (USER and PASS are POP3's too, AUTH the mail protocols'). */
const FTP_ONLY = new Set(['FEAT', 'SYST', 'PASV', 'EPSV', 'PORT', 'EPRT', 'TYPE', 'PWD', 'CWD', 'MLSD', 'SIZE', 'MDTM', 'PBSZ', 'PROT', 'CLNT', 'ACCT']);

/** Upper-case command token at the start of the bytes, followed by SP or CRLF; null if none (yet). */
export function commandToken(data: Buffer, offset: number, length: number, max = 12): { token: string; complete: boolean } | null {
  let i = 0;
  while (i < length && i < max) {
    const c = data[offset + i];
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) i++;
    else break;
  }
  if (i === 0) return null;
  if (i === length) return { token: data.toString('latin1', offset, offset + i).toUpperCase(), complete: false };
  const c = data[offset + i];
  if (c !== 0x20 && c !== 0x0d && c !== 0x0a) return null;
  return { token: data.toString('latin1', offset, offset + i).toUpperCase(), complete: true };
}

/** Server reply "ddd" + SP/'-' at the start; returns the code, -1 if incomplete, 0 if not a reply. */
export function replyCodeAt(data: Buffer, offset: number, length: number): number {
  const n = Math.min(length, 4);
  for (let i = 0; i < Math.min(n, 3); i++) if (data[offset + i] < 0x30 || data[offset + i] > 0x39) return 0;
  if (length < 4) return -1;
  const sep = data[offset + 3];
  if (sep !== 0x20 && sep !== 0x2d) return 0;
  return (data[offset] - 0x30) * 100 + (data[offset + 1] - 0x30) * 10 + (data[offset + 2] - 0x30);
}

/** Case-insensitive search of an ASCII word in the first line (bounded). */
export function firstLineHas(data: Buffer, offset: number, length: number, words: string[]): boolean {
  const end = Math.min(offset + length, offset + 512);
  let lf = data.indexOf(0x0a, offset);
  if (lf < 0 || lf > end) lf = end;
  const line = data.toString('latin1', offset, lf).toUpperCase();
  return words.some((w) => line.includes(w));
}

export function probeFtp(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  const port21 = ctx.serverPort === 21;
  if (!fromClient) {
    const code = replyCodeAt(data, offset, length);
    if (code === -1) return Probe.MAYBE;
    if (code !== 220 && code !== 120 && code !== 421) return Probe.NO;
    if (port21) return Probe.YES;
    if (firstLineHas(data, offset, length, ['FTP'])) return Probe.YES;
    if (firstLineHas(data, offset, length, ['SMTP', 'POSTFIX', 'EXIM', 'SENDMAIL'])) return Probe.NO;
    return Probe.MAYBE; // the client's first command will tell
  }
  const t = commandToken(data, offset, length);
  if (t === null) return Probe.NO;
  if (!t.complete) return t.token.length <= 4 ? Probe.MAYBE : Probe.NO;
  if (!FTP_COMMANDS.has(t.token)) return Probe.NO;
  if (port21) return Probe.YES;
  return FTP_ONLY.has(t.token) ? Probe.YES : Probe.MAYBE;
}

export const ftpDissector: Dissector<FtpFacts> = {
  name: 'ftp',
  transports: ['tcp'],
  probe: probeFtp,
  start(): DissectorState<FtpFacts> {
    return new FtpState();
  },
};
