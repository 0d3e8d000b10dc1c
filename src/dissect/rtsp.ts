/**
 * RTSP 1.0/2.0 (RFC 2326/7826), cameras' streaming control: requests (method, URL with any
 * user:password@ masked, CSeq, User-Agent, Authorization Basic user + masked password, Digest
 * user) and responses (status, Server, authentication challenges). Interleaved RTP ("$" frames)
 * is skipped. Message framing is HTTP's MessageReader.
 */
import {
  MessageReader,
  challengeSchemes,
  contentLengthOf,
  header,
  headerText,
  parseAuthorization,
  probeRequestLine,
  sanitizeUri,
  userinfoAuth,
  type BodyPlan,
  type HttpAuthFacts,
  type HttpFieldSecret,
  type MessageHead,
  type MessageSink,
} from './http.js';
import { maskSecret } from './secret.js';
import { cleanText, utf8OfLatin1 } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState } from './types.js';

export interface RtspRequestFacts {
  method: string;
  /** Request URL (at most 1024 characters) with password-like values replaced by ***. */
  url: string;
  urlTruncated: boolean;
  version: string;
  cseq: number | null;
  userAgent: string | null;
  authorization: HttpAuthFacts | null;
  /** user:password@ in the URL (common with cameras), password masked. */
  urlCredentials: HttpAuthFacts | null;
  /** Password-like query parameters of the URL, masked. */
  querySecrets: HttpFieldSecret[];
  /** Transport header of SETUP (e.g. RTP/AVP;unicast;client_port=…). */
  transport: string | null;
}

export interface RtspResponseFacts {
  version: string;
  status: number;
  reason: string;
  cseq: number | null;
  server: string | null;
  wwwAuthenticate: string[];
  contentType: string | null;
}

export interface RtspFacts {
  /** The first MAX_MESSAGES requests. */
  requests: RtspRequestFacts[];
  /** The first MAX_MESSAGES responses. */
  responses: RtspResponseFacts[];
  moreRequests: number;
  /** Interleaved binary ("$") frames skipped. */
  interleavedFrames: boolean;
  malformed: boolean;
}

export const MAX_MESSAGES = 16;
const MAX_URL = 1024;

const METHODS = new Set(['OPTIONS', 'DESCRIBE', 'ANNOUNCE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER', 'REDIRECT', 'RECORD', 'PLAY_NOTIFY']);
const REQUEST_LINE = /^([A-Z_]{3,20}) (\S{1,8192}) (RTSP\/\d\.\d)$/;
const STATUS_LINE = /^(RTSP\/\d\.\d) (\d{3})(?: (.*))?$/;

/** "RTSP/1.0" or "RTSP/2.0" at b[p]? */
function rtspVersionAt(b: Buffer, p: number, end: number): boolean {
  return (
    p + 8 <= end &&
    b[p] === 0x52 && b[p + 1] === 0x54 && b[p + 2] === 0x53 && b[p + 3] === 0x50 && b[p + 4] === 0x2f &&
    (b[p + 5] === 0x31 || b[p + 5] === 0x32) && b[p + 6] === 0x2e && b[p + 7] === 0x30
  );
}

function cseqOf(h: MessageHead): number | null {
  const v = header(h, 'cseq');
  return v !== null && /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : null;
}

function bodyPlan(h: MessageHead): BodyPlan {
  const n = contentLengthOf(h);
  return n !== null && n > 0 ? { mode: 'length', length: n, capture: 0 } : { mode: 'none', length: 0, capture: 0 };
}

class RtspState implements DissectorState<RtspFacts> {
  private readonly out: RtspFacts = { requests: [], responses: [], moreRequests: 0, interleavedFrames: false, malformed: false };
  private readonly readers: [MessageReader<null>, MessageReader<null>];

  constructor() {
    this.readers = [new MessageReader<null>(this.sink(), true), new MessageReader<null>(this.sink(), true)];
  }

  private sink(): MessageSink<null> {
    return { head: (h) => this.onHead(h), body: () => undefined };
  }

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    const r = this.readers[fromClient ? 0 : 1];
    r.push(data, offset, length);
    if (r.frames > 0) this.out.interleavedFrames = true;
    if (r.dead) this.out.malformed = true;
    const full = this.out.requests.length + this.out.moreRequests >= MAX_MESSAGES && this.out.responses.length >= MAX_MESSAGES;
    return full || (this.readers[0].dead && this.readers[1].dead);
  }

  private onHead(h: MessageHead): { ctx: null; plan: BodyPlan } | null {
    const req = REQUEST_LINE.exec(h.startLine);
    if (req !== null) {
      if (this.out.requests.length >= MAX_MESSAGES) this.out.moreRequests++;
      else {
        const u = sanitizeUri(req[2], MAX_URL);
        const auth = header(h, 'authorization');
        const authorization = auth === null ? null : parseAuthorization(auth);
        const user = authorization?.user ?? u.userinfo?.user ?? u.queryUser ?? null;
        this.out.requests.push({
          method: req[1],
          url: u.uri,
          urlTruncated: u.truncated,
          version: req[3],
          cseq: cseqOf(h),
          userAgent: headerText(h, 'user-agent', 256),
          authorization,
          urlCredentials: userinfoAuth(u),
          querySecrets: u.secrets.slice(0, 8).map((s) => ({ field: s.field, secret: maskSecret(s.value, user) })),
          transport: headerText(h, 'transport', 256),
        });
      }
      return { ctx: null, plan: bodyPlan(h) };
    }
    const st = STATUS_LINE.exec(h.startLine);
    if (st !== null) {
      if (this.out.responses.length < MAX_MESSAGES) {
        this.out.responses.push({
          version: st[1],
          status: Number(st[2]),
          reason: cleanText(utf8OfLatin1(st[3] ?? ''), 128),
          cseq: cseqOf(h),
          server: headerText(h, 'server', 256),
          wwwAuthenticate: challengeSchemes(h.headers.get('www-authenticate')),
          contentType: headerText(h, 'content-type', 128),
        });
      }
      return { ctx: null, plan: bodyPlan(h) };
    }
    return null;
  }

  facts(): RtspFacts {
    return this.out;
  }
}

export function probeRtsp(data: Buffer, offset: number, length: number, _fromClient: boolean, _ctx: DissectContext): Probe {
  if (length <= 0) return Probe.MAYBE;
  if (data[offset] === 0x52 /* R */) {
    const want = 'RTSP/';
    const n = Math.min(length, want.length);
    if (data.toString('latin1', offset, offset + n) === want.slice(0, n)) {
      if (length < 12) return Probe.MAYBE;
      if (!rtspVersionAt(data, offset, offset + length) || data[offset + 8] !== 0x20) return Probe.NO;
      for (let k = 9; k < 12; k++) if (data[offset + k] < 0x30 || data[offset + k] > 0x39) return Probe.NO;
      return Probe.YES;
    }
  }
  return probeRequestLine(data, offset, length, METHODS, rtspVersionAt);
}

export const rtspDissector: Dissector<RtspFacts> = {
  name: 'rtsp',
  transports: ['tcp'],
  probe: probeRtsp,
  start(): DissectorState<RtspFacts> {
    return new RtspState();
  },
};
