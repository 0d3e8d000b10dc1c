/**
 * CoAP (RFC 7252) over UDP: plain CoAP on 5683, or CoAP over DTLS ("coaps") on 5684. For plain
 * CoAP: message type and code, the resource asked for (Uri-Host, Uri-Path; only the parameter
 * names of Uri-Query, which may carry keys), and whether OSCORE (RFC 8613) protects the payload
 * anyway. On 5684 only the fact that DTLS is used can be seen.
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { cleanText } from './plaintext.js';

export const COAP_PORT = 5683;
export const COAPS_PORT = 5684;

export const COAP_TYPES = ['CON', 'NON', 'ACK', 'RST'] as const;
export type CoapType = (typeof COAP_TYPES)[number];

const METHODS: Record<number, string> = { 1: 'GET', 2: 'POST', 3: 'PUT', 4: 'DELETE', 5: 'FETCH', 6: 'PATCH', 7: 'iPATCH' };

export interface CoapRequest {
  method: string;
  path: string;
}

export interface CoapFacts {
  messages: number;
  /** 'coap' (plain, 5683) or 'coaps' (DTLS, 5684). */
  scheme: 'coap' | 'coaps';
  /** DTLS records seen (coaps) or OSCORE-protected messages: the payload is not readable. */
  encrypted: boolean;
  /** Plain CoAP without OSCORE: DTLS (coaps) or OSCORE would be needed to protect it. */
  dtls_needed: boolean;
  oscore: boolean;
  /** Header of the first CoAP message. */
  version: number | null;
  type: CoapType | null;
  /** "c.dd" (0.01 = GET, 2.05 = Content, 4.04 = Not Found…). */
  code: string | null;
  message_id: number | null;
  /** Method of the first request, and its Uri-Host / Uri-Port / path ("/a/b"). */
  method: string | null;
  uri_host: string | null;
  uri_port: number | null;
  uri_path: string | null;
  /** Names of Uri-Query parameters (values are not kept: they may be credentials or keys). */
  uri_query_keys: string[];
  /** Proxy-Uri without its query part. */
  proxy_uri: string | null;
  /** Distinct requests (method + path), capped, and distinct response codes. */
  requests: CoapRequest[];
  response_codes: string[];
  content_format: number | null;
  observe: boolean;
  malformed: number;
}

const MAX_TEXT = 256;
const MAX_REQUESTS = 8;
const MAX_OPTIONS = 64;
const MAX_MESSAGES = 8;
const MAX_QUERY_KEYS = 8;

const utf8 = new TextDecoder('utf-8', { fatal: false });

function optionText(b: Buffer, from: number, to: number): string {
  const s = utf8.decode(b.subarray(from, Math.min(to, from + MAX_TEXT)));
  return cleanText(s, s.length);
}

export interface CoapMessage {
  version: number;
  type: number;
  codeClass: number;
  codeDetail: number;
  messageId: number;
  uriHost: string | null;
  uriPort: number | null;
  path: string[];
  queryKeys: string[];
  proxyUri: string | null;
  contentFormat: number | null;
  observe: boolean;
  oscore: boolean;
  complete: boolean;
}

function uint(b: Buffer, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to && i < from + 4; i++) v = v * 256 + b[i];
  return v;
}

/** Parse a CoAP message in b[off, off + len); null when the fixed header is not CoAP. */
export function parseCoap(b: Buffer, off: number, len: number): CoapMessage | null {
  if (len < 4) return null;
  const first = b[off];
  const tkl = first & 0x0f;
  if (first >> 6 !== 1 || tkl > 8 || 4 + tkl > len) return null;
  const code = b[off + 1];
  const m: CoapMessage = {
    version: 1,
    type: (first >> 4) & 3,
    codeClass: code >> 5,
    codeDetail: code & 0x1f,
    messageId: (b[off + 2] << 8) | b[off + 3],
    uriHost: null,
    uriPort: null,
    path: [],
    queryKeys: [],
    proxyUri: null,
    contentFormat: null,
    observe: false,
    oscore: false,
    complete: false,
  };
  const end = off + len;
  let p = off + 4 + tkl;
  let number = 0;
  for (let i = 0; i < MAX_OPTIONS && p < end; i++) {
    const h = b[p++];
    if (h === 0xff) {
      m.complete = p < end; // a payload marker must be followed by a payload
      return m;
    }
    let delta = h >> 4;
    let olen = h & 0x0f;
    if (delta === 15 || olen === 15) return m;
    if (delta === 13) {
      if (p >= end) return m;
      delta = 13 + b[p++];
    } else if (delta === 14) {
      if (p + 2 > end) return m;
      delta = 269 + ((b[p] << 8) | b[p + 1]);
      p += 2;
    }
    if (olen === 13) {
      if (p >= end) return m;
      olen = 13 + b[p++];
    } else if (olen === 14) {
      if (p + 2 > end) return m;
      olen = 269 + ((b[p] << 8) | b[p + 1]);
      p += 2;
    }
    if (p + olen > end) return m;
    number += delta;
    switch (number) {
      case 3:
        m.uriHost ??= optionText(b, p, p + olen);
        break;
      case 6:
        m.observe = true;
        break;
      case 7:
        if (olen <= 2) m.uriPort ??= uint(b, p, p + olen);
        break;
      case 9:
        m.oscore = true;
        break;
      case 11:
        if (m.path.length < 16) m.path.push(optionText(b, p, p + olen));
        break;
      case 12:
        if (olen <= 2) m.contentFormat ??= uint(b, p, p + olen);
        break;
      case 15: {
        const q = optionText(b, p, p + olen);
        const eq = q.indexOf('=');
        const key = eq < 0 ? q : q.slice(0, eq);
        if (key !== '' && m.queryKeys.length < MAX_QUERY_KEYS && !m.queryKeys.includes(key)) m.queryKeys.push(key);
        break;
      }
      case 35: {
        const u = optionText(b, p, p + olen);
        const qm = u.indexOf('?');
        m.proxyUri ??= qm < 0 ? u : u.slice(0, qm);
        break;
      }
    }
    p += olen;
  }
  m.complete = p >= end;
  return m;
}

function codeText(cls: number, detail: number): string {
  return `${cls}.${detail.toString().padStart(2, '0')}`;
}

function isDtlsRecord(b: Buffer, off: number, len: number): boolean {
  if (len < 13) return false;
  const ct = b[off];
  return ct >= 20 && ct <= 25 && b[off + 1] === 0xfe && (b[off + 2] === 0xfd || b[off + 2] === 0xff || b[off + 2] === 0xfc);
}

class CoapState implements DissectorState<CoapFacts> {
  private readonly f: CoapFacts;
  private responses = 0;
  private requests = 0;

  constructor(ctx: DissectContext) {
    const coaps = ctx.serverPort === COAPS_PORT || ctx.clientPort === COAPS_PORT;
    this.f = {
      messages: 0,
      scheme: coaps ? 'coaps' : 'coap',
      encrypted: false,
      dtls_needed: false,
      oscore: false,
      version: null,
      type: null,
      code: null,
      message_id: null,
      method: null,
      uri_host: null,
      uri_port: null,
      uri_path: null,
      uri_query_keys: [],
      proxy_uri: null,
      requests: [],
      response_codes: [],
      content_format: null,
      observe: false,
      malformed: 0,
    };
  }

  feed(b: Buffer, off: number, len: number): boolean {
    const f = this.f;
    if (f.scheme === 'coaps') {
      if (isDtlsRecord(b, off, len)) {
        f.messages++;
        f.encrypted = true;
        return true;
      }
      f.malformed++;
      return f.malformed >= MAX_MESSAGES;
    }
    const m = parseCoap(b, off, len);
    if (m === null) {
      f.malformed++;
      return f.messages + f.malformed >= MAX_MESSAGES;
    }
    f.messages++;
    if (!m.complete) f.malformed++;
    const code = codeText(m.codeClass, m.codeDetail);
    if (f.version === null) {
      f.version = m.version;
      f.type = COAP_TYPES[m.type];
      f.code = code;
      f.message_id = m.messageId;
    }
    if (m.oscore) {
      f.oscore = true;
      f.encrypted = true;
    }
    f.dtls_needed = !f.oscore;
    if (m.observe) f.observe = true;
    if (m.contentFormat !== null && f.content_format === null) f.content_format = m.contentFormat;
    if (m.codeClass === 0 && m.codeDetail > 0) {
      this.requests++;
      const method = METHODS[m.codeDetail] ?? code;
      const path = `/${m.path.join('/')}`;
      if (f.method === null) {
        f.method = method;
        f.uri_host = m.uriHost;
        f.uri_port = m.uriPort;
        f.uri_path = path;
        f.proxy_uri = m.proxyUri;
      }
      for (const k of m.queryKeys) if (f.uri_query_keys.length < MAX_QUERY_KEYS && !f.uri_query_keys.includes(k)) f.uri_query_keys.push(k);
      if (f.requests.length < MAX_REQUESTS && !f.requests.some((r) => r.method === method && r.path === path)) f.requests.push({ method, path });
    } else if (m.codeClass >= 2) {
      this.responses++;
      if (f.response_codes.length < MAX_REQUESTS && !f.response_codes.includes(code)) f.response_codes.push(code);
    }
    return (this.requests > 0 && this.responses > 0) || f.messages + f.malformed >= MAX_MESSAGES;
  }

  facts(): CoapFacts {
    return this.f;
  }
}

export const coapDissector: Dissector<CoapFacts> = {
  name: 'coap',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17) return Probe.NO;
    if (ctx.serverPort === COAPS_PORT || ctx.clientPort === COAPS_PORT) return isDtlsRecord(data, offset, length) ? Probe.YES : Probe.NO;
    if (ctx.serverPort !== COAP_PORT && ctx.clientPort !== COAP_PORT) return Probe.NO;
    if (length < 4) return Probe.NO;
    const first = data[offset];
    const tkl = first & 0x0f;
    if (first >> 6 !== 1 || tkl > 8 || 4 + tkl > length) return Probe.NO;
    const cls = data[offset + 1] >> 5;
    const detail = data[offset + 1] & 0x1f;
    if (cls === 0 && detail === 0) return length === 4 && tkl === 0 ? Probe.YES : Probe.NO; // empty message (ping/ACK)
    return cls === 0 || cls === 2 || cls === 4 || cls === 5 ? Probe.YES : Probe.NO;
  },
  start(ctx: DissectContext): DissectorState<CoapFacts> {
    return new CoapState(ctx);
  },
};
