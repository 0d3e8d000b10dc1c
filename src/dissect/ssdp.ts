/**
 * SSDP (UPnP discovery, UDP 1900): NOTIFY announcements, M-SEARCH queries and their HTTP 200
 * answers. What a device says it is (NT/ST device and service types, SERVER, USER-AGENT) and
 * where its description lives (LOCATION: usually plain http on the LAN).
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiText } from './plaintext.js';

export type SsdpKind = 'NOTIFY' | 'M-SEARCH' | 'RESPONSE';

export interface SsdpFacts {
  /** Messages parsed. */
  messages: number;
  /** Kind of the first message. */
  method: SsdpKind | null;
  /** Kinds seen, first seen first. */
  methods: SsdpKind[];
  /** NTS of the first NOTIFY (ssdp:alive, ssdp:byebye, ssdp:update). */
  nts: string | null;
  /** Distinct NT values (NOTIFY), capped. */
  notification_types: string[];
  /** Distinct ST values (M-SEARCH and responses), capped. */
  search_targets: string[];
  /** First USN, and the uuid in it. */
  usn: string | null;
  uuid: string | null;
  server: string | null;
  user_agent: string | null;
  /** First LOCATION (device description URL), and the distinct ones (capped). */
  location: string | null;
  locations: string[];
  /** First device type URN from NT/ST (e.g. urn:schemas-upnp-org:device:MediaRenderer:1). */
  device_type: string | null;
  /** Distinct device and service type URNs from NT/ST, capped. */
  device_types: string[];
  service_types: string[];
  /** Datagrams that were not an SSDP start line + headers. */
  malformed: number;
}

const MAX_LIST = 16;
const MAX_LOCATIONS = 4;
const MAX_VALUE = 512;
/** Bytes of a datagram looked at (real SSDP messages are a few hundred bytes). */
const MAX_SCAN = 4096;
const MAX_HEADERS = 64;
const MAX_MESSAGES = 16;
export const SSDP_PORT = 1900;

const NOTIFY = Buffer.from('NOTIFY * HTTP/1.');
const MSEARCH = Buffer.from('M-SEARCH * HTTP/1.');
const HTTP = Buffer.from('HTTP/1.');
// Loose forms for port 1900: some stacks put a path instead of '*'.
const NOTIFY_LOOSE = Buffer.from('NOTIFY ');
const MSEARCH_LOOSE = Buffer.from('M-SEARCH ');

function startsWith(b: Buffer, off: number, len: number, prefix: Buffer): boolean {
  if (len < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[off + i] !== prefix[i]) return false;
  return true;
}

/** Printable ASCII only (control bytes and non-ASCII as '?'), trimmed, capped. */
function clean(s: string): string {
  return asciiText(s, MAX_VALUE).trim();
}

export interface SsdpMessage {
  kind: SsdpKind;
  /** Status code for a response. */
  status: number | null;
  /** Header names lower-cased, values as sent (first occurrence wins). */
  headers: Map<string, string>;
}

/** Parse one SSDP datagram. Returns null when it does not start like an SSDP message. */
export function parseSsdp(b: Buffer, off: number, len: number): SsdpMessage | null {
  let kind: SsdpKind;
  if (startsWith(b, off, len, NOTIFY_LOOSE)) kind = 'NOTIFY';
  else if (startsWith(b, off, len, MSEARCH_LOOSE)) kind = 'M-SEARCH';
  else if (startsWith(b, off, len, HTTP)) kind = 'RESPONSE';
  else return null;
  const text = b.toString('latin1', off, off + Math.min(len, MAX_SCAN));
  const headers = new Map<string, string>();
  let status: number | null = null;
  let pos = 0;
  let first = true;
  for (let n = 0; n <= MAX_HEADERS && pos < text.length; n++) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    const line = text.slice(pos, eol > pos && text.charCodeAt(eol - 1) === 13 ? eol - 1 : eol);
    pos = eol + 1;
    if (first) {
      first = false;
      if (kind === 'RESPONSE') {
        const sp = line.indexOf(' ');
        const code = sp > 0 ? Number.parseInt(line.slice(sp + 1, sp + 4), 10) : Number.NaN;
        status = Number.isFinite(code) ? code : null;
      }
      continue;
    }
    if (line.length === 0) break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, clean(line.slice(colon + 1)));
  }
  return { kind, status, headers };
}

function pushDistinct(list: string[], value: string, cap: number): void {
  if (value && list.length < cap && !list.includes(value)) list.push(value);
}

class SsdpState implements DissectorState<SsdpFacts> {
  private readonly f: SsdpFacts = {
    messages: 0,
    method: null,
    methods: [],
    nts: null,
    notification_types: [],
    search_targets: [],
    usn: null,
    uuid: null,
    server: null,
    user_agent: null,
    location: null,
    locations: [],
    device_type: null,
    device_types: [],
    service_types: [],
    malformed: 0,
  };

  feed(data: Buffer, offset: number, length: number): boolean {
    const f = this.f;
    const m = parseSsdp(data, offset, length);
    if (m === null) {
      f.malformed++;
      return f.messages + f.malformed >= MAX_MESSAGES;
    }
    f.messages++;
    if (f.method === null) f.method = m.kind;
    if (!f.methods.includes(m.kind)) f.methods.push(m.kind);
    const h = m.headers;
    const nt = h.get('nt');
    const st = h.get('st');
    if (nt) pushDistinct(f.notification_types, nt, MAX_LIST);
    if (st) pushDistinct(f.search_targets, st, MAX_LIST);
    for (const t of [nt, st]) {
      if (!t) continue;
      if (t.includes(':device:')) {
        pushDistinct(f.device_types, t, MAX_LIST);
        if (f.device_type === null) f.device_type = t;
      } else if (t.includes(':service:')) {
        pushDistinct(f.service_types, t, MAX_LIST);
      }
    }
    const nts = h.get('nts');
    if (nts && f.nts === null) f.nts = nts;
    const usn = h.get('usn');
    if (usn && f.usn === null) {
      f.usn = usn;
      if (usn.toLowerCase().startsWith('uuid:')) {
        const end = usn.indexOf('::');
        f.uuid = usn.slice(5, end < 0 ? usn.length : end);
      }
    }
    const server = h.get('server');
    if (server && f.server === null) f.server = server;
    const ua = h.get('user-agent');
    if (ua && f.user_agent === null) f.user_agent = ua;
    const loc = h.get('location') ?? h.get('al');
    if (loc) {
      if (f.location === null) f.location = loc;
      pushDistinct(f.locations, loc, MAX_LOCATIONS);
    }
    return f.messages + f.malformed >= MAX_MESSAGES;
  }

  facts(): SsdpFacts {
    return this.f;
  }
}

export const ssdpDissector: Dissector<SsdpFacts> = {
  name: 'ssdp',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17) return Probe.NO;
    if (ctx.serverPort === SSDP_PORT || ctx.clientPort === SSDP_PORT) {
      return startsWith(data, offset, length, NOTIFY_LOOSE) ||
        startsWith(data, offset, length, MSEARCH_LOOSE) ||
        startsWith(data, offset, length, HTTP)
        ? Probe.YES
        : Probe.NO;
    }
    // Other ports: the unambiguous request lines ("* HTTP/1.x" is SSDP-specific), and HTTP
    // responses over UDP: answers to an M-SEARCH often come from an ephemeral port (Chromecast),
    // and HTTP over UDP is SSDP's HTTPU.
    return startsWith(data, offset, length, MSEARCH) || startsWith(data, offset, length, NOTIFY) || startsWith(data, offset, length, HTTP)
      ? Probe.YES
      : Probe.NO;
  },
  start(): DissectorState<SsdpFacts> {
    return new SsdpState();
  },
};
