/**
 * Standard 4, vulnerability management: "the product must be kept free of known vulnerabilities,
 * and must not expose more than it needs". Three things the wire shows:
 * - outdated-software: a banner or agent string the device itself sends (HTTP Server when it serves,
 *   User-Agent when it asks, its own SSH identification, the SERVER of its SSDP NOTIFY or search
 *   answer, the USER-AGENT of its M-SEARCH, the greeting of its FTP/SMTP/POP3/IMAP/telnet server,
 *   RTSP Server/User-Agent) names software that src/intel/software-eol.ts knows to be past its end
 *   of life or flawed. High when the table's reason is a remotely exploitable flaw or abandoned
 *   software (HIGH_REASON), medium for the rest (end of life, lesser flaws). One finding per
 *   product and version ("Boa/0.94.14rc21"), however many flows showed it;
 * - risky-service-exposed: the device accepted a connection (TCP handshake completed, or it
 *   answered) on a service that should not be reachable: remote shells and file transfer in clear
 *   from anyone; SMB, RTSP, MQTT, SSDP, the UPnP IGD control port and a plain-HTTP web interface
 *   only when the client is on the internet side. High from the internet, medium from the LAN;
 * - upnp-port-mapping: the device asked the gateway (UPnP IGD SOAP AddPortMapping or
 *   AddAnyPortMapping) to open a port from the internet to itself or another LAN host. High when the
 *   gateway agreed or its answer was not seen, medium when it refused.
 *
 * The software-current observation: a product the table knows, at a version none of its rules
 * flags. Products the table does not know (a vendor's own "GardenCam/1.4.2") say nothing either way.
 *
 * "The internet side" is an address outside the default LAN prefixes that is not a LAN device;
 * detectors are not told the configured prefixes (a public LAN prefix would look like the internet).
 */
import { match, P } from 'ts-pattern';
import { LanMatcher } from '../decode/address.js';
import type { FtpFacts } from '../dissect/ftp.js';
import type { HttpFacts } from '../dissect/http.js';
import type { ImapFacts, Pop3Facts, SmtpFacts } from '../dissect/mail.js';
import type { RtspFacts } from '../dissect/rtsp.js';
import type { SsdpFacts } from '../dissect/ssdp.js';
import type { SshFacts } from '../dissect/ssh.js';
import type { TelnetFacts } from '../dissect/telnet.js';
import { outdatedSoftware, SOFTWARE_EOL_PRODUCTS, type OutdatedSoftware } from '../intel/software-eol.js';
import type { Detector, Emitter, FlowContext, Severity } from './types.js';

// ---------------------------------------------------------------------------------------------
// outdated-software and software-current

/** Apps whose facts carry banners or agents. */
const BANNER_APPS = new Set(['http', 'ssh', 'ssdp', 'ftp', 'smtp', 'pop3', 'imap', 'rtsp', 'telnet']);

/** A table reason that makes the finding high: remotely exploitable, backdoored, or abandoned. */
const HIGH_REASON =
  /remote code execution|command execution|remote takeover|remotely exploitable|remote arbitrary|heartbleed|backdoor|without logging in|unmaintained|buffer overflow|memory overwrite|regreSSHion/i;

/** A product/version token in a banner: "MiniUPnPd/2.3.3", "OpenSSH_9.6p1", "BusyBox v1.35.0", "Exim 4.96". */
const PRODUCT_TOKEN = /([A-Za-z][A-Za-z0-9_+-]*)[/_ ]v?(\d+(?:\.\d+)+[a-z]*\d*)/g;

/**
 * The table's products by the word a banner names them with (lower case): the first word of the
 * table's name, and the spellings that differ from it. software-eol.ts does not export its banner
 * patterns; this only decides which products may be called current.
 */
const KNOWN_PRODUCTS: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const product of SOFTWARE_EOL_PRODUCTS) map.set(product.split(/[\s(]/)[0].toLowerCase(), product);
  const alias = (word: string, key: string): void => {
    const product = map.get(key);
    if (product !== undefined) map.set(word, product);
  };
  alias('libcurl', 'curl');
  alias('microsoft-iis', 'microsoft');
  alias('goahead-webs', 'goahead');
  alias('goahead-http', 'goahead');
  alias('allegro-software-rompager', 'rompager');
  // "Apache" alone is httpd; "microsoft" alone is not IIS, "libupnp" is named "Portable SDK…" in banners.
  map.delete('microsoft');
  map.delete('libupnp');
  return map;
})();

interface CurrentSoftware {
  product: string;
  version: string;
}

interface BannerVerdict {
  outdated: OutdatedSoftware[];
  current: CurrentSoftware[];
}

const NOTHING: BannerVerdict = { outdated: [], current: [] };
/** The same banners come back on every flow of a device: judge each once. */
const bannerCache = new Map<string, BannerVerdict>();
const BANNER_CACHE_MAX = 4096;

export function judgeBanner(banner: string): BannerVerdict {
  const cached = bannerCache.get(banner);
  if (cached !== undefined) return cached;
  const outdated = outdatedSoftware(banner);
  const current: CurrentSoftware[] = [];
  for (const m of banner.matchAll(PRODUCT_TOKEN)) {
    const product = KNOWN_PRODUCTS.get(m[1].toLowerCase());
    if (product === undefined || outdated.some((o) => o.product === product) || current.some((c) => c.product === product)) continue;
    current.push({ product, version: m[2] });
  }
  const verdict = outdated.length === 0 && current.length === 0 ? NOTHING : { outdated, current };
  if (bannerCache.size >= BANNER_CACHE_MAX) bannerCache.clear();
  bannerCache.set(banner, verdict);
  return verdict;
}

type Side = 'client' | 'server';

/** A banner and the side of the flow that sent it. */
interface Banner {
  side: Side;
  /** Where it was seen, for people: "HTTP Server header". */
  where: string;
  text: string;
}

function push(out: Banner[], side: Side, where: string, text: string | null | undefined): void {
  if (text === null || text === undefined || text.length === 0) return;
  if (out.some((b) => b.side === side && b.text === text)) return;
  out.push({ side, where, text });
}

function httpBanners(h: HttpFacts, out: Banner[]): void {
  for (const { request, response } of h.exchanges) {
    push(out, 'client', 'HTTP User-Agent', request?.userAgent);
    push(out, 'server', 'HTTP Server header', response?.server);
  }
}

/**
 * SSDP: a NOTIFY and an M-SEARCH are sent by the side that opened the flow (to the multicast group);
 * a search answer comes from port 1900, which opens its own flow when the search was multicast.
 */
function ssdpBanners(ctx: FlowContext, s: SsdpFacts, out: Banner[]): void {
  if (s.server !== null) {
    const answered = s.methods.includes('RESPONSE') && !s.methods.includes('NOTIFY');
    const responder: Side = answered && ctx.flow.serverPort === 1900 && ctx.flow.clientPort !== 1900 ? 'server' : 'client';
    push(out, responder, answered ? 'SSDP search answer SERVER' : 'SSDP NOTIFY SERVER', s.server);
  }
  push(out, 'client', 'SSDP M-SEARCH USER-AGENT', s.user_agent);
}

function bannersOf(ctx: FlowContext): Banner[] {
  const out: Banner[] = [];
  const facts = ctx.facts;
  match(ctx.verdict.app)
    .with('http', () => httpBanners(facts as HttpFacts, out))
    .with('ssh', () => {
      const s = facts as SshFacts;
      push(out, 'client', 'SSH identification', s.client?.raw);
      push(out, 'server', 'SSH identification', s.server?.raw);
    })
    .with('ssdp', () => ssdpBanners(ctx, facts as SsdpFacts, out))
    .with('ftp', () => push(out, 'server', 'FTP greeting', (facts as FtpFacts).greeting))
    .with(P.union('smtp', 'pop3', 'imap'), (app) =>
      push(out, 'server', `${app.toUpperCase()} greeting`, (facts as SmtpFacts | Pop3Facts | ImapFacts).greeting),
    )
    .with('rtsp', () => {
      const r = facts as RtspFacts;
      for (const q of r.requests) push(out, 'client', 'RTSP User-Agent', q.userAgent);
      for (const a of r.responses) push(out, 'server', 'RTSP Server header', a.server);
    })
    .with('telnet', () => {
      const t = facts as TelnetFacts;
      // Line by line: the evidence keeps only the line that names the software.
      for (const line of t.banner) push(out, 'server', 'telnet banner', line);
    })
    .otherwise(() => undefined);
  return out;
}

/** The LAN device on a side of the flow, by id (null when that side is not a LAN device). */
function deviceOn(ctx: FlowContext, side: Side): string | null {
  const f = ctx.flow;
  if (side === 'client') return f.deviceIsClient ? f.deviceId : f.peerDeviceId;
  return f.deviceIsClient ? f.peerDeviceId : f.deviceId;
}

function softwareName(product: string, version: string | null): string {
  return version === null ? product : `${product}/${version}`;
}

function cut(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function banners(ctx: FlowContext, out: Emitter): void {
  for (const b of bannersOf(ctx)) {
    const deviceId = deviceOn(ctx, b.side);
    if (deviceId === null) continue;
    const verdict = judgeBanner(b.text);
    if (verdict === NOTHING) continue;
    const shown = cut(b.text);
    for (const o of verdict.outdated) {
      const name = softwareName(o.product, o.version);
      const severity: Severity = HIGH_REASON.test(o.reason) ? 'high' : 'medium';
      out.finding(deviceId, {
        code: 'outdated-software',
        severity,
        title: `Runs outdated software (${o.version === null ? o.product : `${o.product} ${o.version}`})`,
        detail: `Its ${b.where} says "${shown}": ${o.reason}.`,
        remote: name,
        evidence: { product: o.product, version: o.version, reason: o.reason, reference: o.source, banner: shown, seen_in: b.where },
      });
    }
    for (const c of verdict.current) {
      out.observe(deviceId, {
        kind: 'software-current',
        remote: softwareName(c.product, c.version),
        detail: `${c.product} ${c.version} (${b.where}) is not past its end of life in our table`,
        evidence: { product: c.product, version: c.version, banner: shown, seen_in: b.where },
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// risky-service-exposed

const LAN = new LanMatcher();

interface Service {
  /** Short name used in `remote` ("tcp/23 telnet"). */
  name: string;
  /** For people: "telnet (a remote shell in clear text)". */
  label: string;
  /** 'any': risky whoever connects; 'wan': only when the client is on the internet side. */
  scope: 'any' | 'wan';
  /** Severity when the client is on the internet side (LAN clients: medium). */
  wanSeverity: Severity;
  /** Only when the flow was not encrypted (TR-069 over HTTP, not over TLS). */
  clearOnly?: boolean;
}

const shell = (name: string, label: string): Service => ({ name, label, scope: 'any', wanSeverity: 'high' });
const wanOnly = (name: string, label: string, wanSeverity: Severity = 'high'): Service => ({ name, label, scope: 'wan', wanSeverity });

const TCP_SERVICES: ReadonlyMap<number, Service> = new Map([
  [23, shell('telnet', 'telnet, a remote login in clear text')],
  [2323, shell('telnet', 'telnet, a remote login in clear text')],
  [21, shell('ftp', 'FTP, file transfer with logins in clear text')],
  [512, shell('rexec', 'rexec, remote command execution in clear text')],
  [513, shell('rlogin', 'rlogin, a remote login in clear text')],
  [514, shell('rsh', 'rsh, a remote shell without a password')],
  [5555, shell('adb', 'Android Debug Bridge, a root shell without a login')],
  [5900, shell('vnc', 'VNC, remote control of the screen')],
  [7547, { name: 'tr-069', label: 'TR-069 (CWMP) remote management in clear text', scope: 'any', wanSeverity: 'high', clearOnly: true }],
  [445, wanOnly('smb', 'SMB file sharing')],
  [139, wanOnly('smb', 'SMB file sharing (NetBIOS)')],
  [554, wanOnly('rtsp', 'RTSP video streaming')],
  [1883, wanOnly('mqtt', 'MQTT without encryption')],
]);
const UDP_SERVICES: ReadonlyMap<number, Service> = new Map([[1900, wanOnly('ssdp', 'SSDP/UPnP discovery (used for reflection attacks and to find the UPnP control port)')]]);
/** The same services recognised by their protocol on another port. */
const APP_SERVICES: ReadonlyMap<string, Service> = new Map([
  ['telnet', shell('telnet', 'telnet, a remote login in clear text')],
  ['ftp', shell('ftp', 'FTP, file transfer with logins in clear text')],
  ['smb', wanOnly('smb', 'SMB file sharing')],
  ['rtsp', wanOnly('rtsp', 'RTSP video streaming')],
  ['mqtt', wanOnly('mqtt', 'MQTT without encryption')],
]);
/** A web interface in clear served to the internet: its logins cross the internet readable. */
const WEB_IN_CLEAR = wanOnly('http', 'a web interface in clear text (HTTP)', 'medium');
const UPNP_CONTROL = wanOnly('upnp-igd', 'the UPnP IGD control port, which lets anyone open ports in the firewall');

/** The client end is on the internet side: not a LAN device, outside the LAN prefixes. */
function clientOnInternet(ctx: FlowContext): boolean {
  if (ctx.client !== null) return false;
  const f = ctx.flow;
  return !LAN.isLocal(f.ipVersion, [f.c0, f.c1, f.c2, f.c3]);
}

function exposed(ctx: FlowContext, out: Emitter, deviceId: string, service: Service, fromInternet: boolean, how: string): void {
  const f = ctx.flow;
  const transport = f.proto === 6 ? 'tcp' : 'udp';
  const where = fromInternet ? 'from the internet' : 'on the local network';
  out.finding(deviceId, {
    code: 'risky-service-exposed',
    severity: fromInternet ? service.wanSeverity : 'medium',
    title: `Accepts ${service.name === 'upnp-igd' ? 'UPnP control' : service.name.toUpperCase()} connections ${where}`,
    detail: `${ctx.clientIp} ${how} the device's ${service.label} on ${transport.toUpperCase()} port ${f.serverPort}, ${where}.`,
    remote: `${transport}/${f.serverPort} ${service.name}`,
    evidence: {
      service: service.name,
      transport,
      port: f.serverPort,
      client: ctx.clientIp,
      from: fromInternet ? 'internet' : 'lan',
      protocol: ctx.verdict.app,
      handshake_complete: f.handshakeComplete,
    },
  });
}

/** At flow end: did a LAN device accept a connection on a risky service? */
function services(ctx: FlowContext, out: Emitter): void {
  const f = ctx.flow;
  const deviceId = deviceOn(ctx, 'server');
  if (deviceId === null) return;
  const app = ctx.verdict.app;
  // Plain lookups: this runs for every flow a LAN device served (each DNS query to the gateway).
  const service =
    f.proto === 6
      ? (TCP_SERVICES.get(f.serverPort) ?? (app === null ? undefined : APP_SERVICES.get(app)))
      : f.proto === 17
        ? UDP_SERVICES.get(f.serverPort)
        : undefined;
  if (service === undefined) return;
  // Accepted: the TCP handshake completed, or (capture started mid-connection, UDP) the device answered.
  const accepted = f.proto === 6 ? f.handshakeComplete || (f.payloadS2C > 0 && f.payloadC2S > 0) : f.packetsS2C > 0;
  if (!accepted) return;
  if (service.clearOnly === true && ctx.verdict.encryption === 'encrypted') return;
  const fromInternet = clientOnInternet(ctx);
  if (service.scope === 'wan' && !fromInternet) return;
  exposed(ctx, out, deviceId, service, fromInternet, f.proto === 6 ? 'connected to' : 'got an answer from');
}

/** A request that only a UPnP IGD control point sends, or an answer only an IGD gives. */
const IGD_URI = /rootDesc\.xml|\/ctl\/|WANIPConn|WANPPPConn|\/upnp\/control|igd/i;

/** While the facts are there: HTTP served to the internet (the IGD control port, or any web UI in clear). */
function servedToInternet(ctx: FlowContext, out: Emitter, h: HttpFacts): void {
  const deviceId = deviceOn(ctx, 'server');
  if (deviceId === null || ctx.verdict.encryption !== 'plaintext' || TCP_SERVICES.has(ctx.flow.serverPort)) return;
  if (!clientOnInternet(ctx)) return;
  const answered = h.exchanges.some((e) => e.response !== null);
  if (!answered) return;
  const igd = h.exchanges.some(
    (e) => e.request?.soap != null || (e.request !== null && IGD_URI.test(e.request.uri)) || /\bUPnP\//.test(e.response?.server ?? ''),
  );
  exposed(ctx, out, deviceId, igd ? UPNP_CONTROL : WEB_IN_CLEAR, true, 'got an answer from');
}

// ---------------------------------------------------------------------------------------------
// upnp-port-mapping

const ADD_MAPPING = new Set(['AddPortMapping', 'AddAnyPortMapping']);

function portMappings(ctx: FlowContext, out: Emitter, h: HttpFacts): void {
  const deviceId = deviceOn(ctx, 'client');
  if (deviceId === null) return;
  for (const { request, response } of h.exchanges) {
    const soap = request?.soap;
    if (soap == null || soap.operation === null || !ADD_MAPPING.has(soap.operation)) continue;
    const m = soap.portMapping;
    const protocol = (m?.protocol ?? 'tcp').toUpperCase();
    const port = m?.externalPort ?? null;
    const target = m?.internalClient ? `${m.internalClient}:${m.internalPort ?? port ?? '?'}` : 'a LAN host';
    const from = m?.remoteHost ? `from ${m.remoteHost}` : 'from the internet';
    const description = m?.description ? ` ("${cut(m.description, 80)}")` : '';
    const refused = response !== null && response.status >= 300;
    out.finding(deviceId, {
      code: 'upnp-port-mapping',
      severity: refused ? 'medium' : 'high',
      title: refused ? 'Asked the router to open a port (refused)' : 'Opened a port in the router with UPnP',
      detail:
        `Asked the router at ${ctx.remoteName} (UPnP ${soap.operation}) to open ${protocol} ${port ?? '?'} ${from} to ${target}${description}` +
        (response === null ? '; the answer was not seen.' : refused ? `; the router refused (${response.status}).` : '; the router agreed.'),
      remote: `${protocol.toLowerCase()}/${port ?? '?'}`,
      evidence: {
        operation: soap.operation,
        gateway: ctx.remote,
        external_port: port,
        protocol,
        internal_client: m?.internalClient ?? null,
        internal_port: m?.internalPort ?? null,
        remote_host: m?.remoteHost || null,
        description: m?.description ?? null,
        lease_duration: m?.leaseDuration ?? null,
        status: response?.status ?? null,
      },
    });
  }
}

export const vulnerabilitiesDetector: Detector = {
  standard: 4,
  inspected(ctx, out) {
    const app = ctx.verdict.app;
    if (app === null || ctx.facts === null || !BANNER_APPS.has(app)) return;
    banners(ctx, out);
    if (app !== 'http') return;
    const h = ctx.facts as HttpFacts;
    portMappings(ctx, out, h);
    servedToInternet(ctx, out, h);
  },
  ended(ctx, out) {
    const f = ctx.flow;
    // Only flows a LAN device served.
    if (f.deviceIsClient && f.peerDeviceId === null) return;
    services(ctx, out);
  },
};
