/**
 * Standard 5, privacy practices: "the product must not collect more than it needs, and must say
 * where it sends it". Passive monitoring sees two things:
 * - tracker-contact: the device asked DNS for, or named in TLS/QUIC SNI or an HTTP Host, a host that
 *   a tracker list files as advertising, analytics, telemetry or content recognition. One finding
 *   per (device, host name), so the DNS query and the connection that follows add up (count 2);
 *   flows to an address whose only name is the device's own earlier DNS answer count too. The
 *   engine adds the bytes sent and first/last seen;
 * - pii-in-plaintext: in a flow in clear, the device sent personal or identifying data in an HTTP
 *   request (URL, User-Agent, form fields, the login user, the first body bytes) or an MQTT message
 *   (client id, user, topics, payloads): its own MAC address (any usual spelling), e-mail addresses,
 *   phone numbers (E.164 "+441234567890", or a phone=/tel=/mobile= parameter), precise coordinates
 *   (a lat,lon pair with 4+ decimals, or lat=/lon= parameters with 3+), Wi-Fi network names
 *   (ssid=, bssid=) and serial numbers (serial=, sn=). High when it goes to the internet, medium to
 *   another LAN host. Evidence names the kinds and where they were, with a masked sample only.
 *
 * The endpoint-contacted observation (remote '', one per device, counted per flow) records flows to
 * named endpoints that are not trackers, so a card can say "pass" when names were seen and none
 * was a tracker.
 *
 * Tracker policy (trackerdb is built from web pages, not devices):
 * - a tracker (medium): advertising, pornvertising, site_analytics (trackerdb), telemetry and acr
 *   (our device-telemetry list), and every entry of a user's own list;
 * - not a tracker: trackerdb's other categories (social_media, misc, customer_interaction,
 *   audio_video_player, utilities, consent, extensions; hosting is left out when loading). They
 *   file a service's own content hosts (redditmedia.com, youtube.com, netflix.com) under its
 *   pattern: a device using the service is not being tracked by it;
 * - not a tracker either: a trackerdb match on the bare domain of a big platform (PLATFORM_DOMAINS):
 *   trackerdb files all of google.com, apple.com or facebook.com under one advertising pattern,
 *   which would make a connectivity check or an OS update "advertising". Their specific tracking
 *   hosts (adservice.google.com, doubleclick.net, app-measurement.com, ads.yahoo.com, ...) are
 *   entries of their own and still count.
 * Every tracker is medium: a list match says where data went, not what was sent (that is
 * pii-in-plaintext, high).
 */
import { match, P } from 'ts-pattern';
import { LanMatcher } from '../decode/address.js';
import type { DnsFacts } from '../dissect/dns.js';
import type { HttpFacts } from '../dissect/http.js';
import type { MqttFacts } from '../dissect/mqtt.js';
import type { QuicFacts } from '../dissect/quic.js';
import type { TlsFacts } from '../dissect/tls.js';
import { trackerIntel, type TrackerIntel, type TrackerMatch } from '../intel/trackers.js';
import type { Detector, Emitter, EvidenceDetail, FlowContext, Severity } from './types.js';

// ---------------------------------------------------------------------------------------------
// Tracker policy

const TRACKING_CATEGORIES = new Set(['advertising', 'pornvertising', 'site_analytics', 'telemetry', 'acr', 'user list']);

/** Platforms whose whole registrable domain trackerdb files under one tracking pattern. */
export const PLATFORM_DOMAINS: ReadonlySet<string> = new Set([
  'google.com', 'apple.com', 'facebook.com', 'microsoft.com', 'amazon.com', 'bing.com', 'live.com', 'msn.com',
  'yahoo.com', 'yahoo.co.jp', 'baidu.com', 'yandex.ru', 'naver.com', 'ebay.com', 'adobe.com', 'snapchat.com',
  'twitter.com', 'x.com', 'linkedin.com', 'instagram.com', 'pinterest.com', 'reddit.com', 'vk.com', 'ok.ru',
  'mail.ru', '163.com', 'rakuten.co.jp', 'salesforce.com', 'hubspot.com', 'shopify.com', 'tumblr.com',
]);

const CATEGORY_LABELS: Readonly<Record<string, string>> = {
  advertising: 'advertising',
  pornvertising: 'advertising',
  site_analytics: 'analytics',
  telemetry: 'telemetry',
  acr: 'content recognition (ACR)',
  'user list': 'tracking (your list)',
};

export interface TrackerVerdict {
  match: TrackerMatch;
  severity: Severity;
}

/** The tracker a host name belongs to under the policy above, or null. */
export function trackerVerdict(intel: TrackerIntel, name: string): TrackerVerdict | null {
  const m = intel.lookup(name);
  if (m === null) return null;
  if (m.source === 'trackerdb' && PLATFORM_DOMAINS.has(m.domain)) return null;
  return TRACKING_CATEGORIES.has(m.category) ? { match: m, severity: 'medium' } : null;
}

// ---------------------------------------------------------------------------------------------
// Evidence shared across sightings

/**
 * The engine keeps the evidence object of an aggregate's first sighting. To let later flows add
 * to it (via: dns, then http), each (device, code, remote) gets one object that later emissions
 * update in place and pass again. One table per engine (keyed by its emitter), so that runs do
 * not mix; bounded: when full it starts over, and a rebuilt object only holds what it sees from
 * then on.
 */
class SharedEvidence {
  private readonly map = new Map<string, EvidenceDetail>();
  constructor(private readonly max = 20000) {}
  get(key: string, create: () => EvidenceDetail): EvidenceDetail {
    let e = this.map.get(key);
    if (e === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      e = create();
      this.map.set(key, e);
    }
    return e;
  }
}

function addTo(list: unknown, value: string, max = 20): void {
  if (Array.isArray(list) && list.length < max && !list.includes(value)) list.push(value);
}

// ---------------------------------------------------------------------------------------------
// Names a flow shows

type Via = 'dns' | 'tls' | 'quic' | 'http' | 'connection';

interface Named {
  name: string;
  via: Via;
}

/** Lower case, without a trailing dot or a port; null for an IP literal or nothing. */
function hostName(raw: string | null | undefined, stripPort: boolean): string | null {
  if (raw === null || raw === undefined) return null;
  let h = raw;
  if (stripPort) {
    if (h.startsWith('[')) return null; // [IPv6]:port
    const colon = h.indexOf(':');
    if (colon >= 0) {
      if (h.indexOf(':', colon + 1) >= 0) return null; // bare IPv6
      h = h.slice(0, colon);
    }
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (h.length === 0 || h.length > 253) return null;
  const last = h.charCodeAt(h.length - 1);
  // An address, not a name: no top-level domain ends in a digit.
  if ((last >= 0x30 && last <= 0x39) || last === 0x5d || h.includes(':')) return null;
  return h.toLowerCase();
}

function add(out: Named[], name: string | null, via: Via): void {
  if (name === null || out.some((n) => n.name === name)) return;
  out.push({ name, via });
}

/**
 * Names the device (the client) used in this flow. A plain switch: this runs for every flow a
 * device opens, and a ts-pattern match costs a few microseconds each time.
 */
function namesOf(ctx: FlowContext): Named[] {
  const out: Named[] = [];
  const facts = ctx.facts;
  if (facts !== null && facts !== undefined) {
    switch (ctx.verdict.app) {
      case 'dns':
        for (const q of (facts as DnsFacts).queries) {
          const name = hostName(q.name, false);
          if (name !== null && !name.endsWith('.arpa')) add(out, name, 'dns');
        }
        break;
      case 'tls':
      case 'dtls':
        add(out, hostName((facts as TlsFacts).client_hello?.sni, false), 'tls');
        break;
      case 'quic':
        add(out, hostName((facts as QuicFacts).sni, false), 'quic');
        break;
      case 'http': {
        const h = facts as HttpFacts;
        for (const e of h.exchanges) add(out, hostName(e.request?.host, true), 'http');
        if (h.tunnel !== null) add(out, hostName(h.tunnel.target, true), 'http');
        break;
      }
    }
  }
  // A flow with no name of its own, named by the device's DNS answer for its address.
  if (out.length === 0 && ctx.verdict.app !== 'dns') add(out, hostName(ctx.verdict.serverName, false), 'connection');
  return out;
}

/** Apps whose names are not the device's contacts (local discovery and infrastructure). */
const UNNAMED_APPS = new Set(['mdns', 'llmnr', 'ssdp', 'dhcp', 'dhcpv6', 'netbios', 'ubnt-discovery', 'tuya']);

// ---------------------------------------------------------------------------------------------
// pii-in-plaintext

type PiiKind = 'mac-address' | 'email' | 'phone' | 'coordinates' | 'wifi-network' | 'serial-number';

interface PiiFound {
  kinds: PiiKind[];
  samples: Partial<Record<PiiKind, string>>;
  foundIn: string[];
}

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![A-Za-z0-9-])/g;
/** Top-level "domains" that are file extensions: icon@2x.png is not an address. */
const FILE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'ico', 'js', 'css', 'html', 'htm', 'json', 'xml', 'txt', 'bin', 'img', 'mp4', 'mp3']);
/** E.164 written out, 10 to 15 digits, not inside a longer token. */
const E164 = /(?<![\w+])\+[1-9]\d{9,14}(?![\w])/g;
/** A latitude,longitude pair with at least 4 decimals each (about 10 m). */
const COORDINATE_PAIR = /(?<![\w.])(-?\d{1,2}\.\d{4,})\s*,\s*(-?\d{1,3}\.\d{4,})(?![\w.])/g;
/** key=value (URL, form) or "key": value (JSON), key and value captured. */
const KEY_VALUE = /(?:^|[?&;,{\s"'])["']?([A-Za-z][A-Za-z0-9_-]{0,23})["']?\s*[=:]\s*["']?([^&"'\s,;}<>]{1,64})/g;
const COORDINATE_VALUE = /^-?\d{1,3}\.\d{3,}$/;
const SERIAL_VALUE = /^(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{4,40}$/;
const PHONE_VALUE = /^\+?[\d\s().-]{7,24}$/;

const KEY_KINDS: ReadonlyMap<string, PiiKind> = new Map([
  ...['lat', 'latitude', 'lon', 'lng', 'long', 'longitude', 'geolat', 'geolon', 'geolng'].map((k) => [k, 'coordinates'] as const),
  ...['ssid', 'essid', 'bssid', 'wifissid', 'wlanssid', 'wifiname', 'wifinetwork'].map((k) => [k, 'wifi-network'] as const),
  ...['serial', 'serialno', 'serialnum', 'serialnumber', 'sn', 'devicesn', 'deviceserial', 'snno'].map((k) => [k, 'serial-number'] as const),
  ...['phone', 'tel', 'telephone', 'mobile', 'msisdn', 'phoneno', 'phonenumber', 'cell', 'cellphone'].map((k) => [k, 'phone'] as const),
]);

const MAC_TEXT = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** The usual spellings of a MAC, lower case: b8:27:eb:12:34:56, b8-27-…, b827eb123456, b827.eb12.3456. */
function macSpellings(deviceId: string): string[] {
  if (!MAC_TEXT.test(deviceId)) return [];
  const hex = deviceId.replaceAll(':', '');
  return [deviceId, deviceId.replaceAll(':', '-'), hex, `${hex.slice(0, 4)}.${hex.slice(4, 8)}.${hex.slice(8)}`];
}

function maskEnds(value: string, keep: number): string {
  return value.length > keep * 2 + 1 ? `${value.slice(0, keep)}…${value.slice(-keep)}` : '…';
}

function maskCoordinate(v: string): string {
  const dot = v.indexOf('.');
  return `${v.slice(0, dot + 2)}…`;
}

function digitsOf(v: string): string {
  return v.replace(/\D/g, '');
}

class PiiScan implements PiiFound {
  kinds: PiiKind[] = [];
  samples: Partial<Record<PiiKind, string>> = {};
  foundIn: string[] = [];

  constructor(private readonly mac: string[], private readonly macMasked: string) {}

  private hit(kind: PiiKind, sample: string, where: string): void {
    if (!this.kinds.includes(kind)) {
      this.kinds.push(kind);
      this.samples[kind] = sample;
    }
    if (!this.foundIn.includes(where)) this.foundIn.push(where);
  }

  scan(raw: string | null | undefined, where: string): void {
    if (raw === null || raw === undefined || raw.length === 0) return;
    const text = decodePercent(raw);
    if (this.mac.length > 0) {
      const lower = text.toLowerCase();
      if (this.mac.some((s) => lower.includes(s))) this.hit('mac-address', this.macMasked, where);
    }
    if (text.includes('@')) {
      for (const m of text.matchAll(EMAIL)) {
        if (FILE_EXTENSIONS.has(m[1].toLowerCase())) continue;
        this.hit('email', `${m[0][0]}…@….${m[1]}`, where);
      }
    }
    if (text.includes('+')) {
      for (const m of text.matchAll(E164)) this.hit('phone', `${m[0].slice(0, 3)}…${m[0].slice(-2)}`, where);
    }
    if (text.includes(',')) {
      for (const m of text.matchAll(COORDINATE_PAIR)) {
        const lat = Number(m[1]);
        const lon = Number(m[2]);
        if (Math.abs(lat) > 90 || Math.abs(lon) > 180 || (Math.abs(lat) < 1 && Math.abs(lon) < 1)) continue;
        this.hit('coordinates', `${maskCoordinate(m[1])},${maskCoordinate(m[2])}`, where);
      }
    }
    if (text.includes('=') || text.includes(':')) {
      for (const m of text.matchAll(KEY_VALUE)) {
        const kind = KEY_KINDS.get(m[1].toLowerCase().replace(/[_-]/g, ''));
        if (kind === undefined) continue;
        const value = m[2];
        match(kind)
          .with('coordinates', () => {
            if (COORDINATE_VALUE.test(value) && Math.abs(Number(value)) <= 180) this.hit(kind, maskCoordinate(value), where);
          })
          .with('serial-number', () => {
            if (SERIAL_VALUE.test(value)) this.hit(kind, maskEnds(value, 2), where);
          })
          .with('phone', () => {
            const digits = digitsOf(value);
            if (PHONE_VALUE.test(value) && digits.length >= 7 && digits.length <= 15) this.hit(kind, `${value.startsWith('+') ? '+' : ''}${digits.slice(0, 2)}…${digits.slice(-2)}`, where);
          })
          .with(P.union('wifi-network', 'mac-address', 'email'), () => {
            if (!/^(?:null|none|undefined|true|false)$/i.test(value)) this.hit(kind, maskEnds(value, 1), where);
          })
          .exhaustive();
      }
    }
  }
}

/** Percent-decoded text (literal when it is not valid percent-encoding). */
function decodePercent(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function latin1OfHex(hex: string | null): string | null {
  return hex === null ? null : Buffer.from(hex, 'hex').toString('latin1');
}

function scanHttp(scan: PiiScan, h: HttpFacts): void {
  for (const { request } of h.exchanges) {
    if (request === null) continue;
    scan.scan(request.uri, 'url');
    scan.scan(request.userAgent, 'user-agent');
    scan.scan(request.authorization?.user, 'login user');
    if (request.form !== null) {
      scan.scan(request.form.fields.join(' '), 'form');
      scan.scan(request.form.user, 'form');
    }
    scan.scan(latin1OfHex(request.bodyHead), 'body');
  }
}

function scanMqtt(scan: PiiScan, m: MqttFacts): void {
  scan.scan(m.connect?.clientId, 'mqtt client id');
  scan.scan(m.connect?.username, 'mqtt user');
  scan.scan(m.connect?.willTopic, 'mqtt topic');
  for (const p of m.publishes) {
    if (!p.fromClient) continue;
    scan.scan(p.topic, 'mqtt topic');
    scan.scan(p.payloadText, 'mqtt payload');
  }
  for (const s of m.subscriptions) scan.scan(s.topicFilter, 'mqtt topic');
}

const KIND_LABELS: Readonly<Record<PiiKind, string>> = {
  'mac-address': 'its MAC address',
  email: 'an e-mail address',
  phone: 'a phone number',
  coordinates: 'precise coordinates',
  'wifi-network': 'a Wi-Fi network name',
  'serial-number': 'a serial number',
};

const LAN = new LanMatcher();

function serverOnInternet(ctx: FlowContext): boolean {
  if (ctx.server !== null) return false;
  const f = ctx.flow;
  return !LAN.isLocal(f.ipVersion, [f.s0, f.s1, f.s2, f.s3]);
}

// ---------------------------------------------------------------------------------------------
// The detector

/** The detector over a tracker intelligence (the default one unless the caller loads its own lists). */
export function makePrivacyDetector(intelOf: () => TrackerIntel = trackerIntel): Detector {
  const tables = new WeakMap<Emitter, SharedEvidence>();
  function sharedFor(out: Emitter): SharedEvidence {
    let t = tables.get(out);
    if (t === undefined) {
      t = new SharedEvidence();
      tables.set(out, t);
    }
    return t;
  }

  function trackers(ctx: FlowContext, out: Emitter, deviceId: string): void {
    const names = namesOf(ctx);
    if (names.length === 0) return;
    const intel = intelOf();
    const shared = sharedFor(out);
    let endpoint: string | null = null;
    for (const { name, via } of names) {
      const t = trackerVerdict(intel, name);
      if (t === null) {
        endpoint ??= name;
        continue;
      }
      const m = t.match;
      const label = CATEGORY_LABELS[m.category] ?? m.category;
      const article = /^[aeiou]/.test(label) ? 'an' : 'a';
      const evidence = shared.get(`${deviceId}\u0000tracker-contact\u0000${name}`, () => ({
        organisation: m.organisation,
        category: m.category,
        matched_domain: m.domain,
        source: m.source,
        ...(m.pattern === undefined ? {} : { service: m.pattern }),
        via: [],
      }));
      addTo(evidence.via, via);
      out.finding(deviceId, {
        code: 'tracker-contact',
        severity: t.severity,
        title: `Talks to ${article} ${label} service (${m.organisation})`,
        detail: `${via === 'dns' ? 'Looked up' : 'Contacted'} ${name}, listed as ${label} of ${m.organisation} (${m.source}: ${m.domain}).`,
        remote: name,
        evidence,
      });
    }
    if (endpoint === null) return;
    const evidence = shared.get(`${deviceId}\u0000endpoint-contacted`, () => ({ names: [] }));
    addTo(evidence.names, endpoint);
    out.observe(deviceId, {
      kind: 'endpoint-contacted',
      remote: '',
      detail: 'Named endpoints contacted that are not known trackers',
      evidence,
    });
  }

  function pii(ctx: FlowContext, out: Emitter, deviceId: string): void {
    const scan = new PiiScan(macSpellings(deviceId), `${deviceId.slice(0, 5)}:…:${deviceId.slice(15)}`);
    const app = ctx.verdict.app;
    if (app === 'http') scanHttp(scan, ctx.facts as HttpFacts);
    else scanMqtt(scan, ctx.facts as MqttFacts);
    if (scan.kinds.length === 0) return;
    const internet = serverOnInternet(ctx);
    const evidence = sharedFor(out).get(`${deviceId}\u0000pii-in-plaintext\u0000${ctx.remote}`, () => ({
      protocol: app,
      kinds: [],
      samples: {},
      found_in: [],
    }));
    for (const k of scan.kinds) addTo(evidence.kinds, k);
    for (const w of scan.foundIn) addTo(evidence.found_in, w);
    const samples = evidence.samples as Partial<Record<PiiKind, string>>;
    for (const k of scan.kinds) samples[k] ??= scan.samples[k];
    const what = scan.kinds.map((k) => KIND_LABELS[k]).join(', ');
    out.finding(deviceId, {
      code: 'pii-in-plaintext',
      severity: internet ? 'high' : 'medium',
      title: `Sends personal data in clear text (${app === 'http' ? 'HTTP' : 'MQTT'})`,
      detail: `${app === 'http' ? 'HTTP' : 'MQTT'} to ${ctx.remote}, unencrypted, carried ${what} (in ${scan.foundIn.join(', ')}).`,
      remote: ctx.remote,
      evidence,
    });
  }

  return {
    standard: 5,
    inspected(ctx, out) {
      const f = ctx.flow;
      const deviceId = f.deviceId;
      // Only what the device itself asked for or sent.
      if (deviceId === null || !f.deviceIsClient) return;
      const app = ctx.verdict.app;
      if (app !== null && UNNAMED_APPS.has(app)) return;
      trackers(ctx, out, deviceId);
      if (ctx.verdict.encryption === 'plaintext' && (app === 'http' || app === 'mqtt') && ctx.facts !== null) pii(ctx, out, deviceId);
    },
  };
}

export const privacyDetector: Detector = makePrivacyDetector();
