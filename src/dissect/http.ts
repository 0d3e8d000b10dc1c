/**
 * HTTP/1.0 and HTTP/1.1 over TCP, on any port: requests and responses (pipelined, up to
 * MAX_EXCHANGES pairs), credentials (Authorization Basic/Digest/NTLM, form posts, password-like
 * query parameters, user:password@ in URIs: passwords only through maskSecret), the first body
 * bytes for file-magic checks, CONNECT tunnels and UPnP SOAP actions (AddPortMapping arguments).
 *
 * The message framing (start line, headers, Content-Length / chunked / until-close bodies) is
 * MessageReader, shared with RTSP.
 */
import { maskSecret, userShown } from './secret.js';
import { Probe, type DissectContext, type Dissector, type DissectorState, type MaskedSecret } from './types.js';
import {
  ByteStore,
  cleanText,
  decodeBase64,
  formDecode,
  hexOf,
  isPasswordName,
  isUserName,
  parseNtlmssp,
  utf8OfLatin1,
} from './plaintext.js';

// ---------------------------------------------------------------------------------------------
// Facts

export interface HttpAuthFacts {
  /** Authentication scheme as sent: Basic, Digest, NTLM, Negotiate, Bearer, … (or 'userinfo' for user:password@ in a URI). */
  scheme: string;
  /** Basic: decoded user; Digest: username; NTLM: DOMAIN\user from the AUTHENTICATE message. */
  user: string | null;
  /** Basic and userinfo only: the password, masked. */
  password: MaskedSecret | null;
  /** Digest realm. */
  realm: string | null;
}

export interface HttpFieldSecret {
  /** Field, parameter or element name (e.g. "password", "pwd"). */
  field: string;
  secret: MaskedSecret;
}

export interface HttpFormFacts {
  /** urlencoded: application/x-www-form-urlencoded (or a body that is one); json: string members; xml: Username/Password elements. */
  kind: 'urlencoded' | 'json' | 'xml';
  /** Field names in order (at most 64). */
  fields: string[];
  /** Value of the first user-like field (user, username, login, email, …), if any. */
  user: string | null;
  /** Password-like fields (pass, passwd, password, pwd, pin, …), masked. */
  secrets: HttpFieldSecret[];
  /** Only part of the body was seen. */
  truncated: boolean;
}

export interface UpnpPortMapping {
  remoteHost: string | null;
  externalPort: number | null;
  protocol: string | null;
  internalPort: number | null;
  internalClient: string | null;
  enabled: boolean | null;
  description: string | null;
  leaseDuration: number | null;
}

export interface HttpSoapFacts {
  /** SOAPAction header value, unquoted (e.g. urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping). */
  action: string;
  /** Service type before '#'. */
  service: string | null;
  /** Action name after '#'. */
  operation: string | null;
  /** AddPortMapping / AddAnyPortMapping / DeletePortMapping arguments from the XML body. */
  portMapping: UpnpPortMapping | null;
}

export interface HttpRequestFacts {
  method: string;
  /** Request target, at most MAX_URI characters, with password-like values replaced by ***. */
  uri: string;
  uriTruncated: boolean;
  version: string;
  host: string | null;
  userAgent: string | null;
  authorization: HttpAuthFacts | null;
  proxyAuthorization: HttpAuthFacts | null;
  /** user:password@ in an absolute-form URI. */
  uriCredentials: HttpAuthFacts | null;
  /** Password-like query parameters, masked (their values are *** in `uri`). */
  querySecrets: HttpFieldSecret[];
  /** A Cookie header was sent (its value is not kept). */
  cookie: boolean;
  contentType: string | null;
  contentLength: number | null;
  chunked: boolean;
  contentEncoding: string | null;
  /** Body bytes seen (after de-chunking). */
  bodyLength: number;
  /** Hex of the first BODY_HEAD body bytes (secrets found in the body are replaced by '*'), null without a body. */
  bodyHead: string | null;
  /** Credentials and field names of a form, JSON or XML body. */
  form: HttpFormFacts | null;
  soap: HttpSoapFacts | null;
}

export interface HttpResponseFacts {
  version: string;
  status: number;
  reason: string;
  server: string | null;
  /** Location, with password-like values replaced by ***. */
  location: string | null;
  contentType: string | null;
  contentLength: number | null;
  chunked: boolean;
  contentEncoding: string | null;
  /** Schemes offered by WWW-Authenticate (Basic, Digest, NTLM, …). */
  wwwAuthenticate: string[];
  proxyAuthenticate: string[];
  /** At least one Set-Cookie header (values are not kept). */
  setCookie: boolean;
  bodyLength: number;
  bodyHead: string | null;
}

export interface HttpExchange {
  /** null when the response's request was not seen (capture started mid-connection). */
  request: HttpRequestFacts | null;
  response: HttpResponseFacts | null;
}

export interface HttpTunnelFacts {
  /** CONNECT target (host:port). */
  target: string;
  /** Proxy's status code, null before it answered. */
  status: number | null;
  /** The proxy said 2xx: the rest of the connection is an opaque tunnel (usually TLS). */
  established: boolean;
}

export interface HttpFacts {
  /** Request/response pairs in order, at most MAX_EXCHANGES. */
  exchanges: HttpExchange[];
  /** Requests seen beyond MAX_EXCHANGES. */
  moreRequests: number;
  tunnel: HttpTunnelFacts | null;
  /** 101 Switching Protocols: the protocol switched to (websocket, h2c, …). The rest is not HTTP/1. */
  upgrade: string | null;
  /** A direction stopped being parsed because it did not look like HTTP/1 (or a header block was too long). */
  malformed: boolean;
}

export const MAX_EXCHANGES = 16;
export const MAX_URI = 2048;
export const BODY_HEAD = 64;
const MAX_HEAD = 8192;
const MAX_HEADERS = 128;
const TEXT_BODY_CAPTURE = 8192;
const MAX_FIELDS = 64;

// ---------------------------------------------------------------------------------------------
// Message framing (shared with RTSP)

export interface MessageHead {
  /** First line, latin1. */
  startLine: string;
  /** Header names lowercased; values trimmed, latin1, in order of appearance. */
  headers: Map<string, string[]>;
}

export type BodyMode = 'none' | 'length' | 'chunked' | 'close';

export interface BodyPlan {
  mode: BodyMode;
  /** For 'length'. */
  length: number;
  /** How many body bytes to keep (a copy) for the sink. */
  capture: number;
}

export interface MessageSink<T> {
  /** A message head was read; null means "this is not our protocol": the direction stops. */
  head(head: MessageHead): { ctx: T; plan: BodyPlan } | null;
  /** The body of ctx's message ended (complete) with `captured` its first bytes. */
  body(ctx: T, captured: Buffer, total: number): void;
}

type ReaderState = 'start' | 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'frame' | 'dead' | 'stopped';

/**
 * Reads HTTP-like messages (HTTP/1, RTSP) from one direction of a stream. Heads are accumulated
 * (copied) up to MAX_HEAD bytes; bodies are skipped except for the first `plan.capture` bytes.
 * With `interleaved`, RTSP's "$" binary frames between messages are skipped.
 */
export class MessageReader<T> {
  state: ReaderState = 'start';
  private head = new ByteStore(MAX_HEAD);
  private scanFrom = 0;
  private remaining = 0;
  private line = '';
  private capture: ByteStore | null = null;
  private total = 0;
  private ctx: T | null = null;
  private frameHeader: number[] = [];
  /** Held bytes (while `held`): kept, not parsed, until release(). */
  private holdStore: ByteStore | null = null;
  held = false;
  messages = 0;
  /** Interleaved binary frames skipped (RTSP). */
  frames = 0;

  constructor(
    private readonly sink: MessageSink<T>,
    private readonly interleaved = false,
  ) {}

  get dead(): boolean {
    return this.state === 'dead';
  }

  /** The message whose body is being read, with what was captured so far. */
  inProgress(): { ctx: T; captured: Buffer; total: number } | null {
    if (this.ctx === null || this.capture === null) return null;
    return { ctx: this.ctx, captured: this.capture.buf.subarray(0, this.capture.length), total: this.total };
  }

  /** Stop parsing for good (tunnels, upgrades). */
  stop(): void {
    this.state = 'stopped';
    this.ctx = null;
    this.capture = null;
    this.holdStore = null;
  }

  hold(): void {
    this.held = true;
    this.holdStore ??= new ByteStore(MAX_HEAD);
  }

  release(): void {
    this.held = false;
    const s = this.holdStore;
    this.holdStore = null;
    if (s !== null && s.length > 0) this.push(s.buf, 0, s.length);
  }

  push(data: Buffer, offset: number, length: number): void {
    if (this.held) {
      this.holdStore?.append(data, offset, length);
      return;
    }
    const end = offset + length;
    let p = offset;
    // Each pass consumes at least one byte or ends the loop.
    while (p < end) {
      if (this.held) {
        // Held from inside this call (CONNECT): keep the rest for release().
        this.holdStore?.append(data, p, end - p);
        return;
      }
      switch (this.state) {
        case 'dead':
        case 'stopped':
          return;
        case 'start': {
          const c = data[p];
          if (c === 0x0d || c === 0x0a) {
            p++; // stray CRLF between messages
          } else if (this.interleaved && c === 0x24) {
            this.state = 'frame';
            this.frameHeader = [];
            this.frames++;
          } else {
            this.state = 'head';
            this.head.clear();
            this.scanFrom = 0;
          }
          break;
        }
        case 'frame': {
          // '$' channel length(2) then length bytes
          while (p < end && this.frameHeader.length < 4) this.frameHeader.push(data[p++]);
          if (this.frameHeader.length === 4) {
            this.remaining = (this.frameHeader[2] << 8) | this.frameHeader[3];
            this.state = 'length';
            this.ctx = null;
            this.capture = null;
            if (this.remaining === 0) this.state = 'start';
          }
          break;
        }
        case 'head': {
          const before = this.head.length;
          const took = this.head.append(data, p, end - p);
          const endAt = this.findHeadEnd();
          if (endAt < 0) {
            if (this.head.full) {
              this.state = 'dead';
              return;
            }
            p += took;
            break;
          }
          // endAt is the index just past the blank line, in head store coordinates.
          p += endAt - before;
          this.onHead(endAt);
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, end - p);
          this.take(data, p, n);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.finishBody();
          break;
        }
        case 'close': {
          this.take(data, p, end - p);
          p = end;
          break;
        }
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers': {
          const lf = data.indexOf(0x0a, p);
          const stop = lf === -1 || lf >= end ? end : lf;
          if (this.line.length < 256) this.line += data.toString('latin1', p, Math.min(stop, p + 256));
          if (stop === end) {
            p = end;
            if (this.line.length >= 256 && this.state === 'chunk-size') this.state = 'dead';
            break;
          }
          p = stop + 1;
          const line = this.line.replace(/\r$/, '');
          this.line = '';
          if (this.state === 'chunk-end') {
            this.state = 'chunk-size';
          } else if (this.state === 'trailers') {
            if (line.length === 0) this.finishBody();
          } else {
            const m = /^\s*([0-9a-fA-F]{1,8})\s*(?:;.*)?$/.exec(line);
            if (m === null) {
              if (line.trim().length === 0) break; // tolerate an extra CRLF
              this.state = 'dead';
              return;
            }
            this.remaining = parseInt(m[1], 16);
            this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, end - p);
          this.take(data, p, n);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-end';
          break;
        }
      }
    }
  }

  private take(data: Buffer, p: number, n: number): void {
    this.total += n;
    if (this.capture !== null && !this.capture.full) this.capture.append(data, p, n);
  }

  private finishBody(): void {
    const ctx = this.ctx;
    const cap = this.capture;
    this.ctx = null;
    this.capture = null;
    this.state = 'start';
    if (ctx !== null) this.sink.body(ctx, cap === null ? Buffer.alloc(0) : Buffer.from(cap.buf.subarray(0, cap.length)), this.total);
  }

  /** Index just past CRLFCRLF (or LFLF) in the head store, or -1. */
  private findHeadEnd(): number {
    const b = this.head.buf;
    const n = this.head.length;
    for (let i = Math.max(0, this.scanFrom - 3); i < n; i++) {
      if (b[i] !== 0x0a) continue;
      if (i + 1 < n && b[i + 1] === 0x0a) return i + 2;
      if (i + 2 < n && b[i + 1] === 0x0d && b[i + 2] === 0x0a) return i + 3;
    }
    this.scanFrom = n;
    return -1;
  }

  private onHead(endAt: number): void {
    const text = this.head.buf.toString('latin1', 0, endAt);
    // Line by line with indexOf: no array of lines, no regular expression per line.
    let eol = text.indexOf('\n');
    if (eol < 0) eol = text.length;
    const startLine = withoutCr(text, 0, eol);
    const headers = new Map<string, string[]>();
    let last: string[] | null = null;
    let count = 0;
    for (let from = eol + 1; from < text.length && count < MAX_HEADERS; from = eol + 1) {
      eol = text.indexOf('\n', from);
      if (eol < 0) eol = text.length;
      const l = withoutCr(text, from, eol);
      if (l.length === 0) continue;
      if ((l[0] === ' ' || l[0] === '\t') && last !== null) {
        last[last.length - 1] += ' ' + l.trim();
        continue;
      }
      const colon = l.indexOf(':');
      if (colon <= 0) continue;
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      let values = headers.get(name);
      if (values === undefined) {
        values = [];
        headers.set(name, values);
      }
      values.push(value);
      last = values;
      count++;
    }
    this.messages++;
    const r = this.sink.head({ startLine, headers });
    if (r === null) {
      this.state = 'dead';
      return;
    }
    if (this.state === 'stopped') return; // the sink stopped us (tunnel, upgrade)
    const { ctx, plan } = r;
    this.total = 0;
    this.ctx = ctx;
    this.capture = plan.capture > 0 ? new ByteStore(plan.capture) : null;
    switch (plan.mode) {
      case 'none':
        this.finishBody();
        break;
      case 'length':
        this.remaining = plan.length;
        this.state = 'length';
        if (this.remaining <= 0) this.finishBody();
        break;
      case 'chunked':
        this.state = 'chunk-size';
        this.line = '';
        break;
      case 'close':
        this.state = 'close';
        break;
    }
  }
}

/** text[from, to) without a trailing CR. */
function withoutCr(text: string, from: number, to: number): string {
  return text.slice(from, to > from && text.charCodeAt(to - 1) === 0x0d ? to - 1 : to);
}

/** First value of a header. */
export function header(h: MessageHead, name: string): string | null {
  const v = h.headers.get(name);
  return v === undefined ? null : v[0];
}

/** Header value as display text (UTF-8, control characters replaced, bounded). */
export function headerText(h: MessageHead, name: string, max = 512): string | null {
  const v = header(h, name);
  return v === null ? null : cleanText(utf8OfLatin1(v), max);
}

export function contentLengthOf(h: MessageHead): number | null {
  const v = header(h, 'content-length');
  if (v === null || !/^\d{1,15}$/.test(v.trim())) return null;
  return Number(v.trim());
}

export function isChunked(h: MessageHead): boolean {
  const v = h.headers.get('transfer-encoding');
  return v !== undefined && v.some((x) => /(^|,)\s*chunked\s*$/i.test(x));
}

// ---------------------------------------------------------------------------------------------
// Credentials

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && t[0] === '"' && t[t.length - 1] === '"') return t.slice(1, -1).replace(/\\(.)/g, '$1');
  return t;
}

/** key=value / key="quoted" parameters of a Digest-like header. */
export function authParams(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)/g;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(s)) !== null && n++ < 32) {
    const k = m[1].toLowerCase();
    if (!out.has(k)) out.set(k, unquote(m[2]));
  }
  return out;
}

/** Parse an Authorization / Proxy-Authorization value (latin1). Passwords only come out masked. */
export function parseAuthorization(value: string): HttpAuthFacts {
  const v = value.trim();
  const sp = v.search(/\s/);
  const scheme = sp < 0 ? v : v.slice(0, sp);
  const rest = sp < 0 ? '' : v.slice(sp + 1).trim();
  const facts: HttpAuthFacts = { scheme: cleanText(scheme, 32), user: null, password: null, realm: null };
  const lower = scheme.toLowerCase();
  if (lower === 'basic') {
    const raw = decodeBase64(rest);
    if (raw !== null) {
      const s = raw.toString('utf8');
      const colon = s.indexOf(':');
      if (colon < 0) {
        facts.user = cleanText(s, 128);
      } else {
        const user = s.slice(0, colon);
        facts.user = cleanText(user, 128);
        facts.password = maskSecret(s.slice(colon + 1), user);
        facts.user = userShown(facts.user, facts.password);
      }
    }
  } else if (lower === 'digest') {
    const p = authParams(rest);
    const u = p.get('username');
    facts.user = u === undefined ? null : cleanText(utf8OfLatin1(u), 128);
    const realm = p.get('realm');
    facts.realm = realm === undefined ? null : cleanText(utf8OfLatin1(realm), 128);
  } else if (lower === 'ntlm' || lower === 'negotiate') {
    const raw = decodeBase64(rest);
    if (raw !== null) {
      const info = parseNtlmssp(raw, 0, raw.length);
      if (info !== null && info.type === 3 && info.user !== null) facts.user = info.domain ? `${info.domain}\\${info.user}` : info.user;
    }
  }
  return facts;
}

/** Schemes named in WWW-Authenticate / Proxy-Authenticate values. */
export function challengeSchemes(values: string[] | undefined): string[] {
  const out: string[] = [];
  if (values === undefined) return out;
  for (const v of values.slice(0, 8)) {
    // A challenge starts with a token not followed by '=' (auth-params are key=value).
    for (const part of v.split(',').slice(0, 16)) {
      const m = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+|$)(?!=)/.exec(part);
      if (m !== null && !/^\s*[A-Za-z0-9_-]+\s*=/.test(part)) {
        const s = cleanText(m[1], 32);
        if (!out.includes(s) && out.length < 8) out.push(s);
      }
    }
  }
  return out;
}

export interface SanitizedUri {
  uri: string;
  truncated: boolean;
  /** user:password@ in the authority. */
  userinfo: { user: string; password: string | null } | null;
  /** Password-like query parameters (values decoded). */
  secrets: { field: string; value: string }[];
  /** The first user-like query parameter's value. */
  queryUser: string | null;
}

/**
 * Replace the secrets of a URI (password in user:password@, password-like query parameter
 * values) by ***, and return them separately so that they can be masked.
 */
export function sanitizeUri(raw: string, max = MAX_URI): SanitizedUri {
  let uri = raw;
  let userinfo: SanitizedUri['userinfo'] = null;
  const secrets: SanitizedUri['secrets'] = [];
  let queryUser: string | null = null;
  const auth = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#@\s]*)@/.exec(uri);
  if (auth !== null) {
    const info = auth[2];
    const colon = info.indexOf(':');
    const user = formDecode(colon < 0 ? info : info.slice(0, colon));
    const password = colon < 0 ? null : formDecode(info.slice(colon + 1));
    userinfo = { user, password };
    const shown = colon < 0 ? info : `${info.slice(0, colon)}:***`;
    uri = auth[1] + shown + '@' + uri.slice(auth[0].length);
  }
  const q = uri.indexOf('?');
  if (q >= 0) {
    const hash = uri.indexOf('#', q);
    const qEnd = hash < 0 ? uri.length : hash;
    const parts = uri.slice(q + 1, qEnd).split(/([&;])/);
    let changed = false;
    for (let i = 0; i < parts.length && i < 512; i += 2) {
      const eq = parts[i].indexOf('=');
      if (eq <= 0) continue;
      const name = formDecode(parts[i].slice(0, eq));
      const value = parts[i].slice(eq + 1);
      if (isPasswordName(name)) {
        if (value.length > 0) {
          secrets.push({ field: cleanText(name, 64), value: formDecode(value) });
          parts[i] = parts[i].slice(0, eq + 1) + '***';
          changed = true;
        }
      } else if (queryUser === null && isUserName(name) && value.length > 0) {
        queryUser = formDecode(value);
      }
    }
    if (changed) uri = uri.slice(0, q + 1) + parts.join('') + uri.slice(qEnd);
  }
  const text = cleanText(utf8OfLatin1(uri), max + 1);
  return { uri: text.slice(0, max), truncated: text.length > max, userinfo, secrets, queryUser };
}

/** userinfo of a sanitized URI as auth facts. */
export function userinfoAuth(s: SanitizedUri): HttpAuthFacts | null {
  if (s.userinfo === null) return null;
  const user = s.userinfo.user;
  return {
    scheme: 'userinfo',
    user: cleanText(user, 128),
    password: s.userinfo.password === null ? null : maskSecret(s.userinfo.password, user),
    realm: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Bodies: forms, JSON, XML credentials, UPnP SOAP

interface BodyScan {
  form: HttpFormFacts | null;
  /** Byte ranges of secret values in the captured body (to hide them in bodyHead). */
  hide: [number, number][];
}

const FORM_LIKE = /^[A-Za-z0-9_.\-[\]%~$]{1,64}=[^&\s]*(?:&[A-Za-z0-9_.\-[\]%~$]{1,64}=[^&\s]*)*&?$/;

function scanUrlencoded(body: string, truncated: boolean): BodyScan {
  const form: HttpFormFacts = { kind: 'urlencoded', fields: [], user: null, secrets: [], truncated };
  const hide: [number, number][] = [];
  let pos = 0;
  const pending: { field: string; value: string }[] = [];
  for (let i = 0; i < 512 && pos <= body.length; i++) {
    let amp = body.indexOf('&', pos);
    if (amp < 0) amp = body.length;
    const pair = body.slice(pos, amp);
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    if (rawName.length > 0) {
      const name = cleanText(formDecode(rawName), 64);
      if (form.fields.length < MAX_FIELDS) form.fields.push(name);
      if (eq >= 0) {
        const rawValue = pair.slice(eq + 1).replace(/[\r\n]+$/, '');
        if (isPasswordName(name)) {
          if (rawValue.length > 0) {
            pending.push({ field: name, value: formDecode(rawValue) });
            hide.push([pos + eq + 1, pos + eq + 1 + rawValue.length]);
          }
        } else if (form.user === null && isUserName(name) && rawValue.length > 0) {
          form.user = cleanText(formDecode(rawValue), 128);
        }
      }
    }
    pos = amp + 1;
  }
  form.secrets = pending.slice(0, 8).map((p) => ({ field: p.field, secret: maskSecret(p.value, form.user) }));
  return { form, hide };
}

function jsonUnescape(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s;
  }
}

function scanJson(body: string, truncated: boolean): BodyScan {
  const form: HttpFormFacts = { kind: 'json', fields: [], user: null, secrets: [], truncated };
  const hide: [number, number][] = [];
  const pending: { field: string; value: string }[] = [];
  const re = /"((?:[^"\\]|\\.){1,64})"\s*:\s*(?:"((?:[^"\\]|\\.){0,512})"|(-?\d{1,20}))/g;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(body)) !== null && n++ < 256) {
    const name = cleanText(jsonUnescape(m[1]), 64);
    if (form.fields.length < MAX_FIELDS && !form.fields.includes(name)) form.fields.push(name);
    const value = m[2] !== undefined ? jsonUnescape(m[2]) : m[3];
    if (isPasswordName(name)) {
      if (value.length > 0) {
        pending.push({ field: name, value });
        const raw = m[2] ?? m[3];
        const at = m.index + m[0].length - raw.length - (m[2] !== undefined ? 1 : 0);
        hide.push([at, at + raw.length]);
      }
    } else if (form.user === null && isUserName(name) && m[2] !== undefined && value.length > 0) {
      form.user = cleanText(value, 128);
    }
  }
  if (form.fields.length === 0) return { form: null, hide };
  form.secrets = pending.slice(0, 8).map((p) => ({ field: p.field, secret: maskSecret(p.value, form.user) }));
  return { form, hide };
}

/** Username / Password elements of an XML body (ONVIF WS-Security UsernameToken, device APIs). */
function scanXmlCredentials(body: string, truncated: boolean): BodyScan {
  const hide: [number, number][] = [];
  const fields: string[] = [];
  let user: string | null = null;
  const pending: { field: string; value: string }[] = [];
  const re = /<(?:[A-Za-z0-9_-]+:)?([A-Za-z0-9_]*(?:[Uu]ser(?:[Nn]ame)?|[Pp]ass(?:word|wd)?|[Pp]wd))(\s[^>]{0,256})?>([^<]{0,512})</g;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(body)) !== null && n++ < 64) {
    const name = m[1];
    const attrs = m[2] ?? '';
    const value = m[3];
    if (fields.length < MAX_FIELDS) fields.push(name);
    if (isPasswordName(name)) {
      // WS-Security PasswordDigest is a hash, not the password: keep only PasswordText and plain elements.
      if (/PasswordDigest/.test(attrs) || value.length === 0) continue;
      pending.push({ field: name, value: xmlUnescape(value) });
      const at = m.index + m[0].length - 1 - value.length;
      hide.push([at, at + value.length]);
    } else if (user === null && isUserName(name) && value.trim().length > 0) {
      user = cleanText(utf8OfLatin1(xmlUnescape(value.trim())), 128);
    }
  }
  if (pending.length === 0 && user === null) return { form: null, hide };
  return {
    form: { kind: 'xml', fields, user, secrets: pending.slice(0, 8).map((p) => ({ field: p.field, secret: maskSecret(utf8OfLatin1(p.value), user) })), truncated },
    hide,
  };
}

function xmlUnescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] as string);
}

function xmlArg(body: string, name: string): string | null {
  const m = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${name}\\b[^>]{0,256}>([^<]{0,512})<`).exec(body);
  if (m === null) {
    if (new RegExp(`<(?:[A-Za-z0-9_-]+:)?${name}\\b[^>]{0,256}/>`).test(body)) return '';
    return null;
  }
  return cleanText(utf8OfLatin1(xmlUnescape(m[1].trim())), 256);
}

function xmlNumber(body: string, name: string): number | null {
  const v = xmlArg(body, name);
  return v !== null && /^\d{1,10}$/.test(v) ? Number(v) : null;
}

function parsePortMapping(body: string): UpnpPortMapping {
  const enabled = xmlArg(body, 'NewEnabled');
  return {
    remoteHost: xmlArg(body, 'NewRemoteHost'),
    externalPort: xmlNumber(body, 'NewExternalPort'),
    protocol: xmlArg(body, 'NewProtocol'),
    internalPort: xmlNumber(body, 'NewInternalPort'),
    internalClient: xmlArg(body, 'NewInternalClient'),
    enabled: enabled === null ? null : enabled === '1' || enabled.toLowerCase() === 'true',
    description: xmlArg(body, 'NewPortMappingDescription'),
    leaseDuration: xmlNumber(body, 'NewLeaseDuration'),
  };
}

function parseSoapAction(value: string): HttpSoapFacts {
  const action = cleanText(utf8OfLatin1(unquote(value)), 256);
  const hash = action.lastIndexOf('#');
  return {
    action,
    service: hash < 0 ? null : action.slice(0, hash),
    operation: hash < 0 ? null : action.slice(hash + 1),
    portMapping: null,
  };
}

function hiddenHead(captured: Buffer, hide: [number, number][]): string | null {
  if (captured.length === 0) return null;
  const head = Buffer.from(captured.subarray(0, BODY_HEAD));
  for (const [a, b] of hide) for (let i = a; i < b && i < head.length; i++) head[i] = 0x2a;
  return head.toString('hex');
}

// ---------------------------------------------------------------------------------------------
// The dissector

const METHODS = new Set([
  'GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL',
  'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'M-SEARCH', 'MKCALENDAR',
  'CHECKOUT', 'CHECKIN', 'MERGE', 'PURGE', 'BIND', 'REBIND', 'UNBIND', 'LINK', 'UNLINK', 'ACL', 'UPDATE', 'LABEL',
  'MKACTIVITY', 'VERSION-CONTROL', 'BASELINE-CONTROL', 'MKWORKSPACE', 'ORDERPATCH', 'UNCHECKOUT', 'SOURCE',
]);
const MAX_METHOD = 17;
const PROBE_LINE = 2048;

function isUpperToken(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f;
}

/** "HTTP/1.x" at b[p]? */
function httpVersionAt(b: Buffer, p: number, end: number): boolean {
  return (
    p + 8 <= end &&
    b[p] === 0x48 && b[p + 1] === 0x54 && b[p + 2] === 0x54 && b[p + 3] === 0x50 && b[p + 4] === 0x2f &&
    b[p + 5] === 0x31 && b[p + 6] === 0x2e && (b[p + 7] === 0x30 || b[p + 7] === 0x31)
  );
}

/**
 * Shared probe for HTTP-like request lines: METHOD SP target SP VERSION. `version` is checked at
 * the end of the first line ("HTTP/1.x" or "RTSP/1.0").
 */
export function probeRequestLine(
  data: Buffer,
  offset: number,
  length: number,
  methods: Set<string>,
  versionAt: (b: Buffer, p: number, end: number) => boolean,
): Probe {
  const end = offset + length;
  let i = offset;
  const tokenEnd = Math.min(end, offset + MAX_METHOD + 1);
  while (i < tokenEnd && isUpperToken(data[i])) i++;
  if (i === offset) return Probe.NO;
  if (i === end) return i - offset <= MAX_METHOD ? Probe.MAYBE : Probe.NO;
  if (data[i] !== 0x20) return Probe.NO;
  if (!methods.has(data.toString('latin1', offset, i))) return Probe.NO;
  const lineEnd = Math.min(end, offset + PROBE_LINE);
  let lf = -1;
  for (let j = i + 1; j < lineEnd; j++) {
    const c = data[j];
    if (c === 0x0a) {
      lf = j;
      break;
    }
    if (c < 0x20 && c !== 0x0d && c !== 0x09) return Probe.NO;
  }
  if (lf < 0) return lineEnd - offset >= PROBE_LINE ? Probe.NO : Probe.MAYBE;
  let e = lf;
  if (e > offset && data[e - 1] === 0x0d) e--;
  // ... SP VERSION
  const v = e - 8;
  if (v <= i + 1 || data[v - 1] !== 0x20) return Probe.NO;
  return versionAt(data, v, e) ? Probe.YES : Probe.NO;
}

function probeHttp(data: Buffer, offset: number, length: number): Probe {
  if (length <= 0) return Probe.MAYBE;
  const end = offset + length;
  if (data[offset] === 0x48 /* H */) {
    // Either a status line or a HEAD request.
    const n = Math.min(length, 5);
    if (data.toString('latin1', offset, offset + n) === 'HTTP/'.slice(0, n)) {
      if (length < 12) return Probe.MAYBE;
      if (!httpVersionAt(data, offset, end) || data[offset + 8] !== 0x20) return Probe.NO;
      for (let k = 9; k < 12; k++) if (data[offset + k] < 0x30 || data[offset + k] > 0x39) return Probe.NO;
      return Probe.YES;
    }
  }
  return probeRequestLine(data, offset, length, METHODS, httpVersionAt);
}

const REQUEST_LINE = /^([A-Z][A-Z0-9_-]{0,31}) (\S{1,65535}) (HTTP\/\d\.\d)$/;
const STATUS_LINE = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/;

type Ctx = { req: HttpRequestFacts; bodyKind: 'form' | 'json' | 'xml' | 'soap' | null } | { res: HttpResponseFacts };

function textualRequestBody(ct: string | null, soap: boolean): 'form' | 'json' | 'xml' | 'soap' | null {
  if (soap) return 'soap';
  if (ct === null) return 'form';
  const t = ct.toLowerCase();
  if (t.startsWith('application/x-www-form-urlencoded')) return 'form';
  if (t.includes('json')) return 'json';
  if (t.includes('xml')) return 'xml';
  if (t.startsWith('text/plain')) return 'form';
  return null;
}

class HttpState implements DissectorState<HttpFacts> {
  private readonly out: HttpFacts = { exchanges: [], moreRequests: 0, tunnel: null, upgrade: null, malformed: false };
  /** Readers per direction: [client, server]. */
  private readonly readers: [MessageReader<Ctx>, MessageReader<Ctx>];
  /** Which direction sends requests (normally the client; swapped when a capture starts mid-way). */
  private requestDir: 0 | 1 | null = null;
  /** Index in exchanges of the next request awaiting its response. */
  private nextResponse = 0;
  /** Methods of requests beyond MAX_EXCHANGES still awaiting responses (for HEAD / CONNECT bodies). */
  private readonly overflowMethods: string[] = [];
  private done = false;

  constructor() {
    this.readers = [new MessageReader<Ctx>(this.sinkFor(0)), new MessageReader<Ctx>(this.sinkFor(1))];
  }

  private sinkFor(dir: 0 | 1): MessageSink<Ctx> {
    return {
      head: (h) => this.onHead(dir, h),
      body: (ctx, captured, total) => this.onBody(ctx, captured, total, true),
    };
  }

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    if (this.done) return true;
    const dir = fromClient ? 0 : 1;
    const r = this.readers[dir];
    r.push(data, offset, length);
    if (r.dead && !this.out.malformed) this.out.malformed = true;
    if (this.done) return true;
    // Both directions unparseable: nothing more to learn.
    if (this.readers[0].dead && this.readers[1].dead) this.done = true;
    if (this.out.exchanges.length >= MAX_EXCHANGES && this.nextResponse >= MAX_EXCHANGES) this.done = true;
    return this.done;
  }

  private onHead(dir: 0 | 1, h: MessageHead): { ctx: Ctx; plan: BodyPlan } | null {
    const req = REQUEST_LINE.exec(h.startLine);
    if (req !== null && (this.requestDir === null || this.requestDir === dir)) {
      this.requestDir = dir;
      return this.onRequest(dir, req, h);
    }
    const st = STATUS_LINE.exec(h.startLine);
    if (st !== null && (this.requestDir === null || this.requestDir !== dir)) {
      if (this.requestDir === null) this.requestDir = dir === 0 ? 1 : 0;
      return this.onResponse(dir, st, h);
    }
    return null;
  }

  private onRequest(dir: 0 | 1, m: RegExpExecArray, h: MessageHead): { ctx: Ctx; plan: BodyPlan } {
    const method = m[1];
    const target = sanitizeUri(m[2]);
    const auth = header(h, 'authorization');
    const pauth = header(h, 'proxy-authorization');
    const authorization = auth === null ? null : parseAuthorization(auth);
    const user = authorization?.user ?? target.queryUser ?? target.userinfo?.user ?? null;
    const soapAction = header(h, 'soapaction');
    const contentType = headerText(h, 'content-type', 128);
    const chunked = isChunked(h);
    const contentLength = contentLengthOf(h);
    const req: HttpRequestFacts = {
      method,
      uri: target.uri,
      uriTruncated: target.truncated,
      version: m[3],
      host: headerText(h, 'host', 256),
      userAgent: headerText(h, 'user-agent', 512),
      authorization,
      proxyAuthorization: pauth === null ? null : parseAuthorization(pauth),
      uriCredentials: userinfoAuth(target),
      querySecrets: target.secrets.slice(0, 8).map((s) => ({ field: s.field, secret: maskSecret(s.value, user) })),
      cookie: h.headers.has('cookie'),
      contentType,
      contentLength,
      chunked,
      contentEncoding: headerText(h, 'content-encoding', 64),
      bodyLength: 0,
      bodyHead: null,
      form: null,
      soap: soapAction === null ? null : parseSoapAction(soapAction),
    };
    if (this.out.exchanges.length < MAX_EXCHANGES) this.out.exchanges.push({ request: req, response: null });
    else {
      this.out.moreRequests++;
      if (this.overflowMethods.length < 64) this.overflowMethods.push(method);
    }
    const bodyKind = textualRequestBody(contentType, req.soap !== null);
    const capture = bodyKind === null ? BODY_HEAD : TEXT_BODY_CAPTURE;
    if (method === 'CONNECT') {
      this.out.tunnel = { target: cleanText(m[2], 256), status: null, established: false };
      // Whatever the client sends next is held until the proxy answers: tunnel bytes if it accepts.
      this.readers[dir].hold();
      return { ctx: { req, bodyKind: null }, plan: { mode: 'none', length: 0, capture: 0 } };
    }
    const plan: BodyPlan = chunked
      ? { mode: 'chunked', length: 0, capture }
      : contentLength !== null && contentLength > 0
        ? { mode: 'length', length: contentLength, capture }
        : { mode: 'none', length: 0, capture: 0 };
    return { ctx: { req, bodyKind }, plan };
  }

  private onResponse(dir: 0 | 1, m: RegExpExecArray, h: MessageHead): { ctx: Ctx; plan: BodyPlan } {
    const status = Number(m[2]);
    const location = header(h, 'location');
    const res: HttpResponseFacts = {
      version: m[1],
      status,
      reason: cleanText(utf8OfLatin1(m[3] ?? ''), 128),
      server: headerText(h, 'server', 256),
      location: location === null ? null : sanitizeUri(location, 1024).uri,
      contentType: headerText(h, 'content-type', 128),
      contentLength: contentLengthOf(h),
      chunked: isChunked(h),
      contentEncoding: headerText(h, 'content-encoding', 64),
      wwwAuthenticate: challengeSchemes(h.headers.get('www-authenticate')),
      proxyAuthenticate: challengeSchemes(h.headers.get('proxy-authenticate')),
      setCookie: h.headers.has('set-cookie'),
      bodyLength: 0,
      bodyHead: null,
    };
    const ctx: Ctx = { res };
    const none = { ctx, plan: { mode: 'none' as BodyMode, length: 0, capture: 0 } };
    if (status >= 100 && status < 200 && status !== 101) return none; // interim: not paired
    // Pair with the oldest request awaiting a response.
    let method: string | null = null;
    if (this.nextResponse < this.out.exchanges.length) {
      const ex = this.out.exchanges[this.nextResponse++];
      ex.response = res;
      method = ex.request?.method ?? null;
    } else if (this.out.exchanges.length >= MAX_EXCHANGES) {
      method = this.overflowMethods.shift() ?? null;
    } else {
      this.out.exchanges.push({ request: null, response: res });
      this.nextResponse = this.out.exchanges.length;
    }
    const reqDir = dir === 0 ? 1 : 0;
    if (method === 'CONNECT' && this.out.tunnel !== null) {
      this.out.tunnel.status = status;
      if (status >= 200 && status < 300) {
        this.out.tunnel.established = true;
        this.stopAll();
        return none;
      }
      this.readers[reqDir].release();
    }
    if (status === 101) {
      this.out.upgrade = headerText(h, 'upgrade', 64) ?? '';
      this.stopAll();
      return none;
    }
    if (method === 'HEAD' || status === 204 || status === 304) return none;
    if (res.chunked) return { ctx, plan: { mode: 'chunked', length: 0, capture: BODY_HEAD } };
    if (res.contentLength !== null) return { ctx, plan: { mode: 'length', length: res.contentLength, capture: BODY_HEAD } };
    return { ctx, plan: { mode: 'close', length: 0, capture: BODY_HEAD } };
  }

  private stopAll(): void {
    this.readers[0].stop();
    this.readers[1].stop();
    this.done = true;
  }

  private onBody(ctx: Ctx, captured: Buffer, total: number, complete: boolean): void {
    if ('res' in ctx) {
      ctx.res.bodyLength = total;
      ctx.res.bodyHead = captured.length === 0 ? null : hexOf(captured, 0, captured.length, BODY_HEAD);
      return;
    }
    const req = ctx.req;
    req.bodyLength = total;
    const truncated = !complete || captured.length < total;
    let hide: [number, number][] = [];
    if (captured.length > 0 && ctx.bodyKind !== null) {
      const text = captured.toString('latin1');
      let scan: BodyScan = { form: null, hide: [] };
      if (ctx.bodyKind === 'json' || (ctx.bodyKind === 'form' && /^\s*[{[]/.test(text))) scan = scanJson(text, truncated);
      else if (ctx.bodyKind === 'xml' || ctx.bodyKind === 'soap') scan = scanXmlCredentials(text, truncated);
      else if (ctx.bodyKind === 'form') {
        const ct = req.contentType?.toLowerCase() ?? '';
        if (ct.startsWith('application/x-www-form-urlencoded') || FORM_LIKE.test(text.replace(/[\r\n]+$/, ''))) scan = scanUrlencoded(text, truncated);
      }
      req.form = scan.form;
      hide = scan.hide;
      if (req.soap !== null && req.soap.operation !== null && /PortMapping$/.test(req.soap.operation)) req.soap.portMapping = parsePortMapping(text);
    }
    req.bodyHead = hiddenHead(captured, hide);
  }

  facts(): HttpFacts {
    // A body still in progress (capture budget ended mid-body): report what was seen.
    for (const r of this.readers) {
      const p = r.inProgress();
      if (p !== null) this.onBody(p.ctx, Buffer.from(p.captured), p.total, false);
    }
    return this.out;
  }
}

export const httpDissector: Dissector<HttpFacts> = {
  name: 'http',
  transports: ['tcp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, _ctx: DissectContext): Probe {
    return probeHttp(data, offset, length);
  },
  start(): DissectorState<HttpFacts> {
    return new HttpState();
  },
};
