/**
 * Mail protocols in clear: SMTP (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954), POP3 (RFC 1939,
 * STLS and AUTH RFC 2595/5034) and IMAP (RFC 9051/3501: LOGIN, AUTHENTICATE, STARTTLS).
 *
 * For each: greeting banner, capabilities, whether STARTTLS/STLS was offered, asked for and
 * accepted (after an accepted STARTTLS the connection is encrypted and the facts are final), and
 * the logins: user names in clear, passwords only through maskSecret, result when the server said.
 */
import { maskSecret, userShown } from './secret.js';
import { ReplyReader, commandToken, firstLineHas, replyCodeAt } from './ftp.js';
import { LineSplitter, cleanText, decodeBase64, parseNtlmssp, utf8OfLatin1 } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState, type MaskedSecret } from './types.js';

export interface MailAuth {
  /**
   * SASL mechanism (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, SCRAM-SHA-1, DIGEST-MD5, NTLM, …), or the
   * command for plain-text logins: 'USER' (POP3 USER/PASS), 'APOP', 'LOGIN' (IMAP LOGIN).
   */
  mechanism: string;
  user: string | null;
  /** The password (or bearer token for XOAUTH2/OAUTHBEARER), masked; null for challenge-response mechanisms. */
  password: MaskedSecret | null;
  result: 'success' | 'failure' | null;
}

export interface StartTlsFacts {
  /** The server listed it (EHLO STARTTLS, CAPA STLS, CAPABILITY STARTTLS). */
  offered: boolean;
  /** The client sent STARTTLS / STLS. */
  requested: boolean;
  /** The server agreed (the rest of the connection is TLS); null without an answer. */
  accepted: boolean | null;
}

interface MailCommon {
  /** The server's greeting text (at most 512 characters). */
  greeting: string | null;
  starttls: StartTlsFacts;
  /** STARTTLS was accepted: what follows is TLS. */
  encrypted: boolean;
  /** Login attempts in order (at most 8). */
  auth: MailAuth[];
}

export interface SmtpFacts extends MailCommon {
  greetingCode: number | null;
  /** EHLO or HELO, and its argument (the client's name for itself). */
  heloCommand: string | null;
  helo: string | null;
  /** EHLO reply keywords (at most 32). */
  extensions: string[];
  /** Mechanisms from the AUTH extension. */
  authMechanisms: string[];
  /** Messages sent (DATA/BDAT accepted with 354 or started). */
  messages: number;
}

export interface Pop3Facts extends MailCommon {
  /** The greeting carries an APOP timestamp. */
  apopOffered: boolean;
  /** CAPA reply lines (at most 32). */
  capabilities: string[];
}

export interface ImapFacts extends MailCommon {
  /** Greeting status: OK, PREAUTH or BYE. */
  greetingStatus: string | null;
  /** CAPABILITY atoms from the greeting or a CAPABILITY response (at most 64). */
  capabilities: string[];
  /** LOGINDISABLED was announced (plain LOGIN refused before TLS). */
  loginDisabled: boolean;
}

const MAX_AUTH = 8;
const MAX_PENDING = 64;

// ---------------------------------------------------------------------------------------------
// SASL

/**
 * One SASL exchange: the client's responses (base64 lines) are decoded by mechanism; user names
 * are kept, passwords and tokens masked.
 */
class Sasl {
  private responses = 0;
  /** For LOGIN: the server's last challenge asked for the password. */
  passwordNext = false;
  constructor(readonly entry: MailAuth) {}

  /** A challenge from the server (base64 text after "334 " or "+ "). */
  challenge(text: string): void {
    if (this.entry.mechanism !== 'LOGIN') return;
    const b = decodeBase64(text);
    const s = b === null ? text : b.toString('latin1');
    if (/pass/i.test(s)) this.passwordNext = true;
    else if (/user/i.test(s)) this.passwordNext = false;
  }

  /** A client response; false when it was a cancellation ("*"). */
  response(line: string): boolean {
    const t = line.trim();
    if (t === '*') {
      this.entry.result = 'failure';
      return false;
    }
    const n = this.responses++;
    const raw = t === '=' ? Buffer.alloc(0) : decodeBase64(t);
    if (raw === null) return true;
    const e = this.entry;
    switch (e.mechanism) {
      case 'PLAIN': {
        const parts = raw.toString('utf8').split('\0');
        if (parts.length >= 3) {
          e.user = cleanText(parts[1] || parts[0], 128);
          e.password = maskSecret(parts.slice(2).join('\0'), parts[1] || parts[0]);
          e.user = userShown(e.user, e.password);
        }
        break;
      }
      case 'LOGIN': {
        const s = raw.toString('utf8');
        if (this.passwordNext || (n >= 1 && e.user !== null)) {
          e.password = maskSecret(s, e.user);
          e.user = userShown(e.user, e.password);
          this.passwordNext = false;
        } else {
          e.user = cleanText(s, 128);
        }
        break;
      }
      case 'CRAM-MD5': {
        const s = raw.toString('utf8');
        const sp = s.lastIndexOf(' ');
        e.user = cleanText(sp < 0 ? s : s.slice(0, sp), 128);
        break;
      }
      case 'XOAUTH2':
      case 'OAUTHBEARER': {
        const s = raw.toString('utf8');
        const u = /(?:^|[\x01,])(?:user=|a=)([^\x01,]*)/.exec(s);
        if (u !== null) e.user = cleanText(u[1], 128);
        const tok = /auth=Bearer ([^\x01]*)/i.exec(s);
        if (tok !== null) e.password = maskSecret(tok[1], e.user);
        break;
      }
      case 'DIGEST-MD5': {
        const u = /username="([^"]*)"/.exec(raw.toString('utf8'));
        if (u !== null) e.user = cleanText(u[1], 128);
        break;
      }
      case 'NTLM': {
        const info = parseNtlmssp(raw, 0, raw.length);
        if (info !== null && info.type === 3 && info.user !== null) e.user = info.domain ? `${info.domain}\\${info.user}` : info.user;
        break;
      }
      default:
        if (e.mechanism.startsWith('SCRAM-')) {
          const u = /(?:^|,)n=([^,]*)/.exec(raw.toString('utf8'));
          if (n === 0 && u !== null) e.user = cleanText(u[1].replace(/=2C/g, ',').replace(/=3D/g, '='), 128);
        }
    }
    return true;
  }
}

function newAuth(out: MailCommon, mechanism: string, user: string | null = null): MailAuth {
  const a: MailAuth = { mechanism: cleanText(mechanism.toUpperCase(), 32), user, password: null, result: null };
  if (out.auth.length < MAX_AUTH) out.auth.push(a);
  return a;
}

function text(s: string, max = 512): string {
  return cleanText(utf8OfLatin1(s), max);
}

// ---------------------------------------------------------------------------------------------
// SMTP

interface SmtpPending {
  verb: string;
  arg: string;
}

class SmtpState implements DissectorState<SmtpFacts> {
  private readonly out: SmtpFacts = {
    greeting: null,
    greetingCode: null,
    starttls: { offered: false, requested: false, accepted: null },
    encrypted: false,
    auth: [],
    heloCommand: null,
    helo: null,
    extensions: [],
    authMechanisms: [],
    messages: 0,
  };
  private readonly lines: [LineSplitter, LineSplitter] = [new LineSplitter(1024), new LineSplitter(1024)];
  private readonly replies = new ReplyReader();
  private readonly pending: SmtpPending[] = [];
  private sasl: Sasl | null = null;
  /** In DATA: client lines are message content until ".". */
  private inData = false;
  private done = false;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    if (fromClient) this.lines[0].push(data, offset, length, (l) => this.clientLine(l) && !this.done);
    else this.lines[1].push(data, offset, length, (l) => this.serverLine(l) && !this.done);
    return this.done;
  }

  private clientLine(line: string): boolean {
    if (this.inData) {
      if (line === '.') this.inData = false;
      return true;
    }
    if (this.sasl !== null) {
      if (!this.sasl.response(line)) this.sasl = null;
      return true;
    }
    const m = /^\s*([A-Za-z]{4,8})(?:\s+(.*))?$/.exec(line);
    if (m === null) return true;
    const verb = m[1].toUpperCase();
    const arg = m[2] ?? '';
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        this.out.heloCommand = verb;
        this.out.helo = text(arg.trim(), 256);
        break;
      case 'STARTTLS':
        this.out.starttls.requested = true;
        break;
      case 'AUTH': {
        const [mech, initial] = arg.trim().split(/\s+/);
        if (mech) {
          this.sasl = new Sasl(newAuth(this.out, mech));
          if (initial !== undefined && initial.length > 0) this.sasl.response(initial);
        }
        break;
      }
      case 'DATA':
        // Content follows the 354 reply; with PIPELINING it may come before we see the reply.
        this.inData = true;
        this.out.messages++;
        break;
      case 'BDAT': {
        const n = /^(\d{1,10})/.exec(arg.trim());
        if (n !== null) this.lines[0].skip(Number(n[1]));
        if (/\bLAST\b/i.test(arg)) this.out.messages++;
        break;
      }
      case 'QUIT':
        break;
    }
    if (this.pending.length < MAX_PENDING) this.pending.push({ verb, arg });
    return true;
  }

  private serverLine(line: string): boolean {
    const r = this.replies.line(line);
    if (r === null || r.code === 0) return true;
    const first = r.lines[0] ?? '';
    // An AUTH exchange in progress: 334 challenges, then the final reply.
    if (this.sasl !== null && r.code === 334) {
      this.sasl.challenge(first.trim());
      return true;
    }
    const p = this.pending.shift();
    if (p === undefined) {
      if (this.out.greeting === null) {
        this.out.greeting = r.lines.map((l) => text(l)).join('\n').slice(0, 512);
        this.out.greetingCode = r.code;
      }
      return true;
    }
    switch (p.verb) {
      case 'EHLO':
        if (r.code === 250) {
          for (const l of r.lines.slice(1)) {
            const kw = text(l.trim(), 128);
            if (kw.length === 0) continue;
            if (this.out.extensions.length < 32) this.out.extensions.push(kw);
            const word = kw.split(/[\s=]/)[0].toUpperCase();
            if (word === 'STARTTLS') this.out.starttls.offered = true;
            if (word === 'AUTH') {
              for (const mech of kw.slice(5).trim().split(/\s+/)) {
                const mu = mech.toUpperCase();
                if (mu.length > 0 && !this.out.authMechanisms.includes(mu) && this.out.authMechanisms.length < 16) this.out.authMechanisms.push(mu);
              }
            }
          }
        }
        break;
      case 'STARTTLS':
        this.out.starttls.accepted = r.code === 220;
        if (r.code === 220) {
          this.out.encrypted = true;
          this.done = true;
          return false;
        }
        break;
      case 'AUTH':
        if (this.sasl !== null) {
          this.sasl.entry.result = r.code === 235 ? 'success' : r.code >= 400 ? 'failure' : this.sasl.entry.result;
          this.sasl = null;
        }
        break;
      case 'DATA':
        // 354 goes on with content; anything else means no content follows.
        if (r.code !== 354) {
          if (r.code >= 400) {
            this.inData = false;
            this.out.messages = Math.max(0, this.out.messages - 1);
          }
        } else this.pending.unshift({ verb: 'DATA-END', arg: '' });
        break;
      case 'QUIT':
        this.done = true;
        return false;
    }
    return true;
  }

  facts(): SmtpFacts {
    return this.out;
  }
}

// ---------------------------------------------------------------------------------------------
// POP3

interface Pop3Pending {
  verb: string;
  arg: string;
  /** A +OK reply to this command is followed by lines up to ".". */
  multiline: boolean;
}

class Pop3State implements DissectorState<Pop3Facts> {
  private readonly out: Pop3Facts = {
    greeting: null,
    starttls: { offered: false, requested: false, accepted: null },
    encrypted: false,
    auth: [],
    apopOffered: false,
    capabilities: [],
  };
  private readonly lines: [LineSplitter, LineSplitter] = [new LineSplitter(1024), new LineSplitter(1024)];
  private readonly pending: Pop3Pending[] = [];
  private sasl: Sasl | null = null;
  private userEntry: MailAuth | null = null;
  /** Reading a multi-line reply for this command. */
  private multi: Pop3Pending | null = null;
  private done = false;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    if (fromClient) this.lines[0].push(data, offset, length, (l) => this.clientLine(l) && !this.done);
    else this.lines[1].push(data, offset, length, (l) => this.serverLine(l) && !this.done);
    return this.done;
  }

  private clientLine(line: string): boolean {
    if (this.sasl !== null) {
      if (!this.sasl.response(line)) this.sasl = null;
      return true;
    }
    const m = /^\s*([A-Za-z]{3,4})(?:\s(.*))?$/.exec(line);
    if (m === null) return true;
    const verb = m[1].toUpperCase();
    const arg = m[2] ?? '';
    let multiline = false;
    switch (verb) {
      case 'USER':
        this.userEntry = newAuth(this.out, 'USER', text(arg.trim(), 128));
        break;
      case 'PASS': {
        const e = this.userEntry !== null && this.userEntry.password === null ? this.userEntry : newAuth(this.out, 'USER', this.userEntry?.user ?? null);
        e.password = maskSecret(utf8OfLatin1(arg), e.user);
        e.user = userShown(e.user, e.password);
        this.userEntry = e;
        break;
      }
      case 'APOP': {
        const sp = arg.trim().lastIndexOf(' ');
        newAuth(this.out, 'APOP', text(sp < 0 ? arg.trim() : arg.trim().slice(0, sp), 128));
        break;
      }
      case 'AUTH': {
        const [mech, initial] = arg.trim().split(/\s+/);
        if (mech) {
          this.sasl = new Sasl(newAuth(this.out, mech));
          if (initial !== undefined && initial.length > 0) this.sasl.response(initial);
        } else multiline = true; // list of mechanisms
        break;
      }
      case 'STLS':
        this.out.starttls.requested = true;
        break;
      case 'CAPA':
      case 'RETR':
      case 'TOP':
        multiline = true;
        break;
      case 'LIST':
      case 'UIDL':
        multiline = arg.trim().length === 0;
        break;
    }
    if (this.pending.length < MAX_PENDING) this.pending.push({ verb, arg, multiline });
    return true;
  }

  private serverLine(line: string): boolean {
    if (this.multi !== null) {
      if (line === '.') {
        this.multi = null;
        return true;
      }
      if (this.multi.verb === 'CAPA') {
        const cap = text(line.trim(), 128);
        if (cap.length > 0 && this.out.capabilities.length < 32) this.out.capabilities.push(cap);
        if (/^STLS$/i.test(cap)) this.out.starttls.offered = true;
      }
      return true;
    }
    const ok = line.startsWith('+OK');
    const err = line.startsWith('-ERR');
    if (this.sasl !== null && !ok && !err && line.startsWith('+')) {
      this.sasl.challenge(line.slice(1).trim());
      return true;
    }
    if (!ok && !err) return true;
    if (this.out.greeting === null && this.pending.length === 0) {
      this.out.greeting = text(line.slice(ok ? 3 : 4).trim());
      this.out.apopOffered = /<[^<>\s]+@[^<>\s]+>/.test(line);
      return true;
    }
    const p = this.pending.shift();
    if (p === undefined) return true;
    switch (p.verb) {
      case 'USER':
        if (err && this.userEntry !== null) this.userEntry.result = 'failure';
        break;
      case 'PASS':
      case 'APOP': {
        const e = p.verb === 'PASS' ? this.userEntry : this.out.auth[this.out.auth.length - 1];
        if (e) e.result = ok ? 'success' : 'failure';
        break;
      }
      case 'AUTH':
        if (this.sasl !== null) {
          this.sasl.entry.result = ok ? 'success' : 'failure';
          this.sasl = null;
        }
        break;
      case 'STLS':
        this.out.starttls.accepted = ok;
        if (ok) {
          this.out.encrypted = true;
          this.done = true;
          return false;
        }
        break;
      case 'QUIT':
        this.done = true;
        return false;
    }
    if (ok && p.multiline) this.multi = p;
    return true;
  }

  facts(): Pop3Facts {
    return this.out;
  }
}

// ---------------------------------------------------------------------------------------------
// IMAP

/** IMAP astrings of a command's arguments: atoms, "quoted" strings, and literals already inlined. */
function imapArgs(s: string, max = 8): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length && out.length < max) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    if (s[i] === '"') {
      let v = '';
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i++];
      }
      i++;
      out.push(v);
    } else {
      const j = s.indexOf(' ', i);
      const e = j < 0 ? s.length : j;
      out.push(s.slice(i, e));
      i = e;
    }
  }
  return out;
}

/** A literal placeholder in an assembled command line (the literal's bytes are quoted). */
function quoteLiteral(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

class ImapState implements DissectorState<ImapFacts> {
  private readonly out: ImapFacts = {
    greeting: null,
    starttls: { offered: false, requested: false, accepted: null },
    encrypted: false,
    auth: [],
    greetingStatus: null,
    capabilities: [],
    loginDisabled: false,
  };
  private readonly lines: [LineSplitter, LineSplitter] = [new LineSplitter(2048), new LineSplitter(2048)];
  /** Tag -> what the command was. */
  private readonly tags = new Map<string, { verb: string; auth: MailAuth | null }>();
  private sasl: { tag: string; sasl: Sasl } | null = null;
  /** A client command being assembled across literals: text so far and bytes still owed. */
  private partial: { text: string; need: number; lit: string } | null = null;
  private done = false;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    if (fromClient) this.lines[0].push(data, offset, length, (l) => this.clientLine(l) && !this.done);
    else this.lines[1].push(data, offset, length, (l) => this.serverLine(l) && !this.done);
    return this.done;
  }

  private clientLine(raw: string): boolean {
    let line = raw;
    if (this.partial !== null) {
      // Literal bytes: take `need` characters (line breaks inside count as CRLF).
      const p = this.partial;
      if (line.length < p.need) {
        p.lit += line + '\r\n';
        p.need -= line.length + 2;
        if (p.need <= 0) {
          line = p.text + quoteLiteral(p.lit.slice(0, p.lit.length + p.need));
          this.partial = null;
        } else return true;
      } else {
        line = p.text + quoteLiteral(p.lit + line.slice(0, p.need)) + line.slice(p.need);
        this.partial = null;
      }
    }
    if (this.sasl !== null) {
      if (!this.sasl.sasl.response(line)) this.sasl = null;
      return true;
    }
    const lit = /\{(\d{1,6})\+?\}$/.exec(line);
    if (lit !== null) {
      this.partial = { text: line.slice(0, lit.index), need: Number(lit[1]), lit: '' };
      if (this.partial.need === 0) {
        line = this.partial.text + '""';
        this.partial = null;
      } else return true;
    }
    const m = /^([^\s]{1,32}) ([A-Za-z]+)(?: (.*))?$/.exec(line);
    if (m === null) return true;
    const tag = m[1];
    const verb = m[2].toUpperCase();
    const args = m[3] ?? '';
    let auth: MailAuth | null = null;
    switch (verb) {
      case 'LOGIN': {
        const [user, password] = imapArgs(args, 2);
        auth = newAuth(this.out, 'LOGIN', user === undefined ? null : text(user, 128));
        if (password !== undefined) {
          auth.password = maskSecret(utf8OfLatin1(password), user ?? null);
          auth.user = userShown(auth.user, auth.password);
        }
        break;
      }
      case 'AUTHENTICATE': {
        const [mech, initial] = args.trim().split(/\s+/);
        if (mech) {
          auth = newAuth(this.out, mech);
          const sasl = new Sasl(auth);
          if (initial !== undefined && initial.length > 0) sasl.response(initial);
          this.sasl = { tag, sasl };
        }
        break;
      }
      case 'STARTTLS':
        this.out.starttls.requested = true;
        break;
    }
    if (this.tags.size < 256) this.tags.set(tag, { verb, auth });
    return true;
  }

  private capabilities(s: string): void {
    for (const c of s.trim().split(/\s+/).slice(0, 128)) {
      const cap = text(c, 64).toUpperCase();
      if (cap.length === 0) continue;
      if (!this.out.capabilities.includes(cap) && this.out.capabilities.length < 64) this.out.capabilities.push(cap);
      if (cap === 'STARTTLS') this.out.starttls.offered = true;
      if (cap === 'LOGINDISABLED') this.out.loginDisabled = true;
    }
  }

  private serverLine(line: string): boolean {
    // A server literal ({n} at the end) is skipped unseen: message bodies are not our business.
    const lit = /\{(\d{1,10})\}$/.exec(line);
    if (lit !== null) this.lines[1].skip(Number(lit[1]));
    if (line.startsWith('+')) {
      if (this.sasl !== null) this.sasl.sasl.challenge(line.slice(1).trim());
      return true;
    }
    if (line.startsWith('* ')) {
      const m = /^\* (OK|PREAUTH|BYE|CAPABILITY)\b ?(.*)$/i.exec(line);
      if (m === null) return true;
      const kind = m[1].toUpperCase();
      if (kind === 'CAPABILITY') {
        this.capabilities(m[2]);
        return true;
      }
      const code = /^\[CAPABILITY ([^\]]*)\]/i.exec(m[2]);
      if (code !== null) this.capabilities(code[1]);
      if (this.out.greeting === null && this.tags.size === 0) {
        this.out.greetingStatus = kind;
        this.out.greeting = text(m[2].replace(/^\[[^\]]*\]\s*/, ''));
      }
      return true;
    }
    const m = /^([^\s]{1,32}) (OK|NO|BAD)\b ?(.*)$/i.exec(line);
    if (m === null) return true;
    const cmd = this.tags.get(m[1]);
    if (cmd === undefined) return true;
    this.tags.delete(m[1]);
    const ok = m[2].toUpperCase() === 'OK';
    const code = /^\[CAPABILITY ([^\]]*)\]/i.exec(m[3]);
    if (code !== null) this.capabilities(code[1]);
    if (cmd.auth !== null) cmd.auth.result = ok ? 'success' : 'failure';
    if (this.sasl !== null && this.sasl.tag === m[1]) this.sasl = null;
    if (cmd.verb === 'STARTTLS') {
      this.out.starttls.accepted = ok;
      if (ok) {
        this.out.encrypted = true;
        this.done = true;
        return false;
      }
    }
    if (cmd.verb === 'LOGOUT') {
      this.done = true;
      return false;
    }
    return true;
  }

  facts(): ImapFacts {
    return this.out;
  }
}

// ---------------------------------------------------------------------------------------------
// Probes and dissectors

const SMTP_PORTS = new Set([25, 587, 2525]);
const SMTP_COMMANDS = new Set(['EHLO', 'HELO']);

function probeSmtp(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  if (!fromClient) {
    const code = replyCodeAt(data, offset, length);
    if (code === -1) return Probe.MAYBE;
    if (code !== 220 && code !== 421 && code !== 554) return Probe.NO;
    if (SMTP_PORTS.has(ctx.serverPort)) return Probe.YES;
    if (firstLineHas(data, offset, length, ['SMTP'])) return Probe.YES;
    if (firstLineHas(data, offset, length, ['FTP'])) return Probe.NO;
    if (firstLineHas(data, offset, length, ['POSTFIX', 'EXIM', 'SENDMAIL'])) return Probe.YES;
    return Probe.MAYBE;
  }
  const t = commandToken(data, offset, length);
  if (t === null) return Probe.NO;
  if (!t.complete) return t.token.length <= 4 ? Probe.MAYBE : Probe.NO;
  if (SMTP_COMMANDS.has(t.token)) return Probe.YES;
  if (SMTP_PORTS.has(ctx.serverPort) && (t.token === 'STARTTLS' || t.token === 'AUTH' || t.token === 'MAIL' || t.token === 'QUIT')) return Probe.YES;
  return Probe.NO;
}

function startsWith(data: Buffer, offset: number, length: number, s: string): Probe {
  const n = Math.min(length, s.length);
  for (let i = 0; i < n; i++) if (data[offset + i] !== s.charCodeAt(i)) return Probe.NO;
  return length < s.length ? Probe.MAYBE : Probe.YES;
}

const POP3_COMMANDS = new Set(['USER', 'CAPA', 'STLS', 'APOP', 'AUTH', 'STAT', 'LIST', 'UIDL', 'RETR', 'QUIT', 'PASS']);

function probePop3(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  const port = ctx.serverPort === 110;
  if (!fromClient) {
    const p = startsWith(data, offset, length, '+OK');
    if (p !== Probe.YES) return p;
    if (port) return Probe.YES;
    return firstLineHas(data, offset, length, ['POP', 'DOVECOT', 'READY']) ? Probe.YES : Probe.MAYBE;
  }
  const t = commandToken(data, offset, length);
  if (t === null) return Probe.NO;
  if (!t.complete) return t.token.length <= 4 ? Probe.MAYBE : Probe.NO;
  if (!POP3_COMMANDS.has(t.token)) return Probe.NO;
  if (port) return Probe.YES;
  return t.token === 'CAPA' || t.token === 'STLS' || t.token === 'APOP' ? Probe.YES : Probe.NO;
}

function probeImap(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe {
  const port = ctx.serverPort === 143;
  if (!fromClient) {
    for (const g of ['* OK', '* PREAUTH', '* BYE']) {
      const p = startsWith(data, offset, length, g);
      if (p === Probe.MAYBE) return Probe.MAYBE;
      if (p === Probe.YES) return port || firstLineHas(data, offset, length, ['IMAP']) ? Probe.YES : Probe.MAYBE;
    }
    return Probe.NO;
  }
  // tag SP COMMAND
  const end = Math.min(offset + length, offset + 64);
  let i = offset;
  while (i < end && data[i] > 0x20 && data[i] < 0x7f && data[i] !== 0x2a) i++;
  if (i === offset) return Probe.NO;
  if (i === end) return length < 64 ? Probe.MAYBE : Probe.NO;
  if (data[i] !== 0x20) return Probe.NO;
  const t = commandToken(data, i + 1, offset + length - i - 1, 16);
  if (t === null) return Probe.NO;
  if (!t.complete) return Probe.MAYBE;
  const imapOnly = t.token === 'CAPABILITY' || t.token === 'AUTHENTICATE' || t.token === 'STARTTLS' || t.token === 'LOGIN';
  if (port && (imapOnly || t.token === 'NOOP' || t.token === 'ID')) return Probe.YES;
  return t.token === 'CAPABILITY' || t.token === 'AUTHENTICATE' ? Probe.YES : Probe.NO;
}

export const smtpDissector: Dissector<SmtpFacts> = {
  name: 'smtp',
  transports: ['tcp'],
  probe: probeSmtp,
  start: () => new SmtpState(),
};

export const pop3Dissector: Dissector<Pop3Facts> = {
  name: 'pop3',
  transports: ['tcp'],
  probe: probePop3,
  start: () => new Pop3State(),
};

export const imapDissector: Dissector<ImapFacts> = {
  name: 'imap',
  transports: ['tcp'],
  probe: probeImap,
  start: () => new ImapState(),
};
