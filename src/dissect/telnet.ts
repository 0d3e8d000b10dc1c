/**
 * Telnet (RFC 854/855, on port 23 or wherever the IAC option negotiation shows it): options
 * negotiated, the server's banner and login prompt, and the logins typed by the client: the line
 * typed after a login prompt is the user, the line typed after a "Password:" prompt the password
 * (only through maskSecret). Keystrokes may come one per packet with the server echoing them;
 * backspaces are applied. The outcome is read from what the server says next.
 */
import { maskSecret, userShown } from './secret.js';
import { cleanText } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState, type MaskedSecret } from './types.js';

export interface TelnetOption {
  code: number;
  name: string;
  /** Verbs the client sent for this option (WILL, WONT, DO, DONT, SB). */
  client: string[];
  server: string[];
}

export interface TelnetLogin {
  user: string | null;
  password: MaskedSecret | null;
  result: 'success' | 'failure' | null;
}

export interface TelnetFacts {
  /** Options in order of first appearance (at most 48). */
  options: TelnetOption[];
  /** TERMINAL-TYPE IS … from the client. */
  terminalType: string | null;
  /** USER variable sent by NEW-ENVIRON / ENVIRON (a login without a prompt). */
  environUser: string | null;
  /** First non-empty lines of server text (at most 8, 200 characters each). */
  banner: string[];
  /** The first login prompt, e.g. "login:" or "Username:". */
  loginPrompt: string | null;
  /** Login attempts in order (at most 8). */
  logins: TelnetLogin[];
}

const IAC = 255;
const SB = 250;
const SE = 240;
const WILL = 251;
const WONT = 252;
const DO = 253;
const DONT = 254;
const VERBS: Record<number, string> = { [WILL]: 'WILL', [WONT]: 'WONT', [DO]: 'DO', [DONT]: 'DONT', [SB]: 'SB' };
const OPTION_NAMES: Record<number, string> = {
  0: 'BINARY', 1: 'ECHO', 3: 'SUPPRESS-GO-AHEAD', 5: 'STATUS', 6: 'TIMING-MARK', 24: 'TERMINAL-TYPE', 31: 'NAWS',
  32: 'TERMINAL-SPEED', 33: 'REMOTE-FLOW-CONTROL', 34: 'LINEMODE', 35: 'X-DISPLAY-LOCATION', 36: 'ENVIRON',
  37: 'AUTHENTICATION', 38: 'ENCRYPT', 39: 'NEW-ENVIRON', 46: 'START-TLS', 255: 'EXOPL',
};
const MAX_OPTIONS = 48;
const MAX_LOGINS = 8;
const MAX_SB = 512;
const MAX_LINE = 256;

const LOGIN_PROMPT = /(?:login|user ?name|user|account)\s*:\s*$/i;

const PASSWORD_PROMPT = /(?:password|passwd|pass ?code|pin)\s*:\s*$/i;
const FAILURE = /login incorrect|incorrect|invalid|fail|denied|bad password|wrong/i;
const SUCCESS_TEXT = /last login|welcome|busybox|built-in shell/i;
const SHELL_PROMPT = /[$#>%]\s?$/;

/** IAC parser for one direction: strips commands, reports negotiations and subnegotiations. */
class IacParser {
  private state: 'data' | 'iac' | 'verb' | 'sb' | 'sb-iac' = 'data';
  private verb = 0;
  private sb: number[] = [];

  /** Returns the data bytes (commands removed) of b[from, to). */
  push(b: Buffer, from: number, to: number, onVerb: (verb: number, opt: number) => void, onSb: (data: number[]) => void): number[] {
    const out: number[] = [];
    for (let i = from; i < to; i++) {
      const c = b[i];
      switch (this.state) {
        case 'data':
          if (c === IAC) this.state = 'iac';
          else out.push(c);
          break;
        case 'iac':
          if (c === IAC) {
            out.push(IAC);
            this.state = 'data';
          } else if (c >= WILL && c <= DONT) {
            this.verb = c;
            this.state = 'verb';
          } else if (c === SB) {
            this.sb = [];
            this.state = 'sb';
          } else this.state = 'data'; // NOP, GA, AYT, …
          break;
        case 'verb':
          onVerb(this.verb, c);
          this.state = 'data';
          break;
        case 'sb':
          if (c === IAC) this.state = 'sb-iac';
          else if (this.sb.length < MAX_SB) this.sb.push(c);
          break;
        case 'sb-iac':
          if (c === SE) {
            onSb(this.sb);
            this.sb = [];
            this.state = 'data';
          } else {
            if (c === IAC && this.sb.length < MAX_SB) this.sb.push(IAC);
            this.state = 'sb';
          }
          break;
      }
    }
    return out;
  }
}

class TelnetState implements DissectorState<TelnetFacts> {
  private readonly out: TelnetFacts = { options: [], terminalType: null, environUser: null, banner: [], loginPrompt: null, logins: [] };
  private readonly iac: [IacParser, IacParser] = [new IacParser(), new IacParser()];
  /** Server text since the client last ended a line (for prompts and outcomes), bounded. */
  private recent = '';
  /** Server line being assembled for the banner. */
  private serverLine = '';
  /** The client started typing a line, and what the server's prompt asked for at that moment. */
  private lineStarted = false;
  private linePrompt: 'login' | 'password' | null = null;
  /** Client keystrokes of the current line. */
  private typed: number[] = [];
  private lastWasCr = false;
  /** The login whose password was just sent: its outcome is pending. */
  private awaiting: TelnetLogin | null = null;
  private done = false;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    const dir = fromClient ? 0 : 1;
    const text = this.iac[dir].push(
      data,
      offset,
      offset + length,
      (verb, opt) => this.option(fromClient, VERBS[verb], opt),
      (sb) => this.subnegotiation(fromClient, sb),
    );
    if (fromClient) for (const c of text) this.keystroke(c);
    else this.serverText(text);
    return this.done;
  }

  private option(fromClient: boolean, verb: string, code: number): void {
    let o = this.out.options.find((x) => x.code === code);
    if (o === undefined) {
      if (this.out.options.length >= MAX_OPTIONS) return;
      o = { code, name: OPTION_NAMES[code] ?? `OPTION-${code}`, client: [], server: [] };
      this.out.options.push(o);
    }
    const list = fromClient ? o.client : o.server;
    if (!list.includes(verb)) list.push(verb);
  }

  private subnegotiation(fromClient: boolean, sb: number[]): void {
    if (sb.length === 0) return;
    const opt = sb[0];
    this.option(fromClient, 'SB', opt);
    if (!fromClient) return;
    if (opt === 24 && sb[1] === 0) this.out.terminalType = cleanText(Buffer.from(sb.slice(2)).toString('latin1'), 64);
    if ((opt === 39 || opt === 36) && sb[1] === 0) {
      // IS: (VAR|USERVAR) name [VALUE value] …
      const s = Buffer.from(sb.slice(2)).toString('latin1');
      const m = /[\x00\x03]USER\x01([^\x00\x01\x02\x03]*)/.exec(s);
      if (m !== null && m[1].length > 0) this.out.environUser = cleanText(m[1], 128);
    }
  }

  private keystroke(c: number): void {
    if (c === 0 && this.lastWasCr) {
      this.lastWasCr = false;
      return; // CR NUL
    }
    if (c === 0x0a && this.lastWasCr) {
      this.lastWasCr = false;
      return; // CR LF: the line already ended at CR
    }
    this.lastWasCr = c === 0x0d;
    // The server waits for input after a prompt: its text is complete when the client starts a line.
    if (!this.lineStarted) {
      this.lineStarted = true;
      this.linePrompt = this.decidePrompt();
    }
    if (c === 0x0d || c === 0x0a) {
      this.endLine();
      return;
    }
    if (c === 0x08 || c === 0x7f) {
      this.typed.pop();
      return;
    }
    if (c === 0x15 || c === 0x03 || c === 0x04) {
      this.typed = []; // ^U, ^C, ^D
      return;
    }
    if (c < 0x20) return;
    if (this.typed.length < MAX_LINE) this.typed.push(c);
  }

  /** What the server's last words asked for; settles a pending login outcome. */
  private decidePrompt(): 'login' | 'password' | null {
    const tail = this.recent.replace(/[\r\n]+$/, '');
    this.recent = '';
    const lastLine = /[^\n]*$/.exec(tail)?.[0].trim() ?? '';
    let prompt: 'login' | 'password' | null = null;
    if (PASSWORD_PROMPT.test(lastLine)) prompt = 'password';
    else if (LOGIN_PROMPT.test(lastLine)) {
      prompt = 'login';
      if (this.out.loginPrompt === null) this.out.loginPrompt = cleanText(lastLine, 64);
    }
    if (this.awaiting !== null) {
      if (prompt !== null) this.awaiting.result = 'failure';
      else if (SHELL_PROMPT.test(tail)) this.awaiting.result = 'success';
      this.awaiting = null;
    }
    return prompt;
  }

  private endLine(): void {
    const line = Buffer.from(this.typed).toString('utf8');
    this.typed = [];
    const prompt = this.linePrompt;
    this.lineStarted = false;
    this.linePrompt = null;
    if (prompt === 'password') {
      let login = this.out.logins[this.out.logins.length - 1];
      if (login === undefined || login.password !== null || login.result !== null) {
        login = { user: this.out.environUser, password: null, result: null };
        if (this.out.logins.length < MAX_LOGINS) this.out.logins.push(login);
      }
      login.password = maskSecret(line, login.user);
      login.user = userShown(login.user, login.password);
      this.awaiting = login;
    } else if (prompt === 'login' && line.trim().length > 0) {
      if (this.out.logins.length < MAX_LOGINS) this.out.logins.push({ user: cleanText(line.trim(), 128), password: null, result: null });
      else this.done = true;
    }
  }

  private serverText(bytes: number[]): void {
    if (bytes.length === 0) return;
    const s = Buffer.from(bytes).toString('utf8').replace(/\0/g, '');
    this.recent = (this.recent + s).slice(-512);
    for (const ch of s) {
      if (ch === '\n') this.bannerLine();
      else if (ch !== '\r' && this.serverLine.length < 400) this.serverLine += ch;
    }
    // Outcome words are unambiguous as soon as they are complete.
    if (this.awaiting !== null) {
      if (SUCCESS_TEXT.test(this.recent)) this.awaiting.result = 'success';
      else if (FAILURE.test(this.recent)) this.awaiting.result = 'failure';
      if (this.awaiting.result !== null) {
        this.awaiting = null;
        if (this.out.banner.length >= 8 && this.out.logins.length > 0 && this.out.logins[this.out.logins.length - 1].result === 'success') this.done = true;
      }
    }
  }

  private bannerLine(): void {
    const l = cleanText(this.serverLine.trim(), 200);
    this.serverLine = '';
    if (l.length > 0 && this.out.banner.length < 8) this.out.banner.push(l);
  }

  facts(): TelnetFacts {
    // A shell prompt after the password, with the client not typing yet: logged in.
    if (this.awaiting !== null && SHELL_PROMPT.test(this.recent.replace(/[\r\n]+$/, '')) && !PASSWORD_PROMPT.test(this.recent)) {
      this.awaiting.result = 'success';
      this.awaiting = null;
    }
    return this.out;
  }
}

function isOption(opt: number): boolean {
  return opt < 50 || opt === 255 || (opt >= 138 && opt <= 140);
}

export function probeTelnet(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
  if (length === 0) return Probe.MAYBE;
  if (data[offset] === IAC) {
    if (length < 3) return Probe.MAYBE;
    const v = data[offset + 1];
    if ((v >= WILL && v <= DONT) || v === SB) return isOption(data[offset + 2]) ? Probe.YES : Probe.NO;
    return Probe.NO;
  }
  if (ctx.serverPort !== 23) return Probe.NO;
  // Port 23 without negotiation: text (a banner or typed keys).
  const end = Math.min(offset + length, offset + 256);
  for (let i = offset; i < end; i++) {
    const c = data[i];
    if (c < 0x20 && c !== 0x0d && c !== 0x0a && c !== 0x09 && c !== 0x00 && c !== 0x08 && c !== 0x1b && c !== 0x07) return Probe.NO;
  }
  return Probe.YES;
}

export const telnetDissector: Dissector<TelnetFacts> = {
  name: 'telnet',
  transports: ['tcp'],
  // Option negotiation alone can take 20-40 packets (the corpus' telnet.pcap sends the password
  // in packet 38), and clients in character mode send each keystroke in its own packet, which
  // the server echoes (except the password's) and both acknowledge: 3-4 packets per character.
  packets: 400,
  probe: probeTelnet,
  start(): DissectorState<TelnetFacts> {
    return new TelnetState();
  },
};
