/**
 * Standard 2, security updates: "the product must receive security updates, delivered securely".
 * Passive monitoring cannot see whether updates exist, but it sees how they travel:
 * - a firmware, filesystem or package image fetched in clear (HTTP, TFTP, FTP) can be swapped on
 *   the path: update-over-plaintext; an executable fetched in clear that is not an update:
 *   executable-over-plaintext; an update check or manifest in clear: update-manifest-plaintext;
 * - an image fetched in clear with no detached signature fetched near it from the same host and no
 *   signed container format recognised in its first bytes: update-unsigned;
 * - a TLS/QUIC connection (or an HTTP CONNECT tunnel) to a host named like an update server:
 *   the update-over-tls observation, which turns the card cell into pass.
 *
 * What a download is comes from three clues, strongest first: the body's first bytes
 * (identifyFile), the URL path or file name (looksLikeUpdatePath), and the response Content-Type.
 *
 * update-unsigned is decided when the image's flow ends: a signature fetched by the same device
 * from the same host before then (in that flow or in one inspected meanwhile) and within
 * SIGNATURE_WINDOW_US of the image counts. A signature fetched only after the image's flow ended
 * is missed (a false update-unsigned, which the detail's wording allows for), and so is a
 * signature carried inside the image in a format we do not recognise.
 */
import { match, P } from 'ts-pattern';
import type { FtpFacts } from '../dissect/ftp.js';
import type { HttpExchange, HttpFacts } from '../dissect/http.js';
import type { TftpFacts } from '../dissect/tftp.js';
import type { Flow } from '../flow/flow.js';
import { identifyFile, isSignaturePath, looksLikeUpdatePath, type FileMagic } from '../intel/file-magic.js';
import type { Detector, Emitter, FlowContext } from './types.js';

/** The apps this detector reads; every other flow costs one set lookup. */
const HANDLED_APPS = new Set(['http', 'tftp', 'ftp', 'tls', 'quic', 'dtls']);

/** A detached signature counts for images fetched this close to it (either way). */
const SIGNATURE_WINDOW_US = 10 * 60 * 1e6;
/** Bounds of the per-run state: signatures remembered, flows with images awaiting their end. */
const MAX_SIGNATURES = 4096;
const MAX_PENDING_FLOWS = 1024;
const MAX_PENDING_PER_FLOW = 8;

/** Update words in a path: the long ones anywhere, the short ones as a whole word (as file-magic.ts). */
const UPDATE_WORD = /firmware|upgrade|update|(?:^|[^a-z0-9])(?:fw|ota|fota)(?:[^a-z0-9]|$)/;
/** An update check: the update words, or the words of a version manifest. */
const MANIFEST_WORD = /(?:^|[^a-z])(?:manifest|versions?|latest|releases?)(?:[^a-z]|$)/;
/**
 * Host labels of update servers (conservative: a whole label, or one containing update, upgrade or
 * firmware): updates.example.test, fw2.vendor.com, ota.vendor.net, download.vendor.com, swupdate…
 */
const UPDATE_LABEL = /^(?:fw|ota|fota|dl|fwdl|swdl|downloads?|upgrades?|firmwares?|updates?)\d*$|update|upgrade|firmware/;

/** Extensions of archives in general: an update only when the path or the type says so too. */
const GENERIC_ARCHIVE = /\.(?:zip|gz|tgz|tar|xz|lzma|bz2|7z|zst)$/;
/** Extensions of images and packages: a request for one is a download, not an update check. */
const IMAGE_EXTENSION = /\.(?:bin|img|fw|pkg|trx|chk|swu|apk|deb|ipk|opk|rpm|hex|dfu|ubi|ubifs|squashfs|itb|fit|uimage|rom|ota|upd|exe|msi|elf|zip|gz|tgz|tar|xz|lzma)$/;

/** Extensions of web assets and media: never an update check, whatever words the path holds. */
const STATIC_EXTENSION = /\.(?:jpe?g|png|gif|webp|bmp|svg|ico|css|js|mjs|map|html?|woff2?|ttf|otf|mp[34]|m4[sav]|ts|aac|webm|m3u8|mpd)$/;

/** Response types that announce a binary download. */
const BINARY_TYPE =
  /^application\/(?:octet-stream|x-(?!javascript|www-form|json|ndjson|mpegurl|protobuf)[\w.+-]+|vnd\.android\.package-archive|zip|gzip|zstd|java-archive|vnd\.debian\.binary-package|vnd\.microsoft\.portable-executable)/;
/** Types that name firmware or a package outright. */
const FIRMWARE_TYPE = /firmware|android\.package-archive|debian|x-rpm|x-redhat-package|x-ipk|x-opkg/;
/** Types that name an executable. */
const EXECUTABLE_TYPE = /x-msdownload|x-dosexec|x-msdos-program|x-executable|x-elf|x-sharedlib|android\.package-archive|portable-executable/;
/** Types a manifest or update check comes back as. */
const MANIFEST_TYPE = /^(?:application\/(?:[\w.+-]*\+)?(?:json|xml)|text\/(?:xml|plain|json))/;

/** What one download (or request) turned out to be. */
type Sighting =
  | { kind: 'image'; what: string; magic: FileMagic | null; signed: boolean }
  | { kind: 'executable'; what: string; magic: FileMagic | null }
  | { kind: 'manifest' }
  | { kind: 'signature' }
  | { kind: 'none' };

interface Download {
  protocol: 'http' | 'tftp' | 'ftp';
  /** Host as the device named it (lower case, no port). */
  host: string;
  /** Path without query or fragment. */
  path: string;
  method: string | null;
  status: number | null;
  contentType: string | null;
  contentLength: number | null;
}

interface PendingImage {
  host: string;
  path: string;
  tsUs: number;
  what: string;
  format: string | null;
  protocol: Download['protocol'];
}

/** What one run (one engine, one emitter) remembers between flows. */
interface RunState {
  /** `${device}\0${host}` -> capture time of the last detached signature fetched. */
  signatures: Map<string, number>;
  /** Images fetched on a flow, judged when it ends. */
  pending: Map<Flow, PendingImage[]>;
}

/**
 * The state of each run, keyed by its emitter: the detector is a module singleton shared by every
 * pipeline in the process, and each engine has its own emitter.
 */
const runs = new WeakMap<Emitter, RunState>();

function stateOf(out: Emitter): RunState {
  let s = runs.get(out);
  if (s === undefined) {
    s = { signatures: new Map(), pending: new Map() };
    runs.set(out, s);
  }
  return s;
}

/** The path of a request target (origin or absolute form), without query or fragment. */
function pathOf(uri: string): string {
  let p = uri;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(p);
  if (scheme !== null) p = p.slice(scheme[0].length) || '/';
  const cut = p.search(/[?#]/);
  return cut < 0 ? p : p.slice(0, cut);
}

function hostOf(host: string | null, fallback: string): string {
  const h = host ?? fallback;
  return h.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

function bodyBytes(hex: string | null): Buffer | null {
  return hex === null || hex.length < 2 ? null : Buffer.from(hex, 'hex');
}

/** Printable text (what a manifest, a page or "ok\n" starts with), not a binary image. */
function looksLikeText(b: Buffer): boolean {
  for (const c of b) {
    if (c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f) || c >= 0xc2) continue;
    return false;
  }
  return true;
}

/** The one line a person reads: "U-Boot legacy image (uImage), firmware". */
function describe(magic: FileMagic | null, fallback: string): string {
  return magic === null ? fallback : `${magic.name}, ${magic.kind}`;
}

/** Classify one HTTP exchange. */
function httpSighting(x: HttpExchange, path: string): Sighting {
  const req = x.request;
  const res = x.response;
  if (req === null) return { kind: 'none' };
  const lower = path.toLowerCase();
  const type = res?.contentType?.toLowerCase() ?? null;
  const body = bodyBytes(res?.bodyHead ?? null);
  let magic = body === null ? null : identifyFile(body);
  // gzip as Content-Encoding wraps the transfer, not the file.
  if (magic?.id === 'gzip' && res?.contentEncoding !== null && res?.contentEncoding !== undefined && /gzip/i.test(res.contentEncoding)) magic = null;
  // Most exchanges are pages and API calls: leave them after a few cheap tests (the rules below
  // all need one of these).
  const interesting =
    magic !== null ||
    looksLikeUpdatePath(lower) ||
    isSignaturePath(lower) ||
    MANIFEST_WORD.test(lower) ||
    (type !== null && (EXECUTABLE_TYPE.test(type) || FIRMWARE_TYPE.test(type)));
  if (!interesting) return { kind: 'none' };
  const status = res?.status ?? null;
  const clues = {
    status: status === null ? 'missing' : status >= 200 && status < 300 ? 'ok' : status < 400 ? 'other' : 'error',
    magic: magic?.kind ?? null,
    signaturePath: isSignaturePath(lower),
    updateName: looksLikeUpdatePath(lower) && (UPDATE_WORD.test(lower) || !GENERIC_ARCHIVE.test(lower)),
    updateWord: UPDATE_WORD.test(lower),
    imageName: IMAGE_EXTENSION.test(lower),
    manifestPath: (UPDATE_WORD.test(lower) || MANIFEST_WORD.test(lower)) && !STATIC_EXTENSION.test(lower),
    binaryType: type !== null && BINARY_TYPE.test(type),
    firmwareType: type !== null && FIRMWARE_TYPE.test(type),
    executableType: type !== null && EXECUTABLE_TYPE.test(type),
    manifestType: type === null || MANIFEST_TYPE.test(type),
    text: body !== null && looksLikeText(body),
    apk: lower.endsWith('.apk') || (type !== null && /android\.package-archive/.test(type)),
  } as const;
  const image = (what: string, signed = false): Sighting => ({ kind: 'image', what, magic, signed });
  const executable = (what: string): Sighting => ({ kind: 'executable', what, magic });
  return (
    match(clues)
      // A request for a detached signature, or a signature in the body, answered.
      .with({ status: 'ok', signaturePath: true }, { status: 'ok', magic: 'signature' }, () => ({ kind: 'signature' }) as const)
      // The bytes say what it is.
      .with({ status: 'ok', magic: P.union('firmware', 'filesystem', 'package') }, () => image(describe(magic, '')))
      .with({ status: 'ok', magic: 'signed-container' }, () => image(describe(magic, ''), true))
      .with({ status: 'ok', magic: 'executable', updateWord: true }, () => image(`${describe(magic, '')} named like an update`))
      .with({ status: 'ok', magic: 'executable' }, () => executable(describe(magic, '')))
      .with({ status: 'ok', magic: 'archive', apk: true, updateWord: false }, () => executable(`Android app (APK): ${describe(magic, '')}`))
      .with({ status: 'ok', magic: 'archive', apk: true }, () => image(`Android app (APK) named like an update: ${describe(magic, '')}`))
      .with({ status: 'ok', magic: 'archive', updateName: true }, { status: 'ok', magic: 'archive', firmwareType: true }, () =>
        image(`${describe(magic, '')} named like an update`),
      )
      // Unrecognised bytes: the name and the type must both say so, and the body must not be text.
      .with({ status: 'ok', magic: null, text: false, executableType: true, updateWord: false }, () =>
        executable(`a file served as ${type ?? '?'}`),
      )
      .with({ status: 'ok', magic: null, text: false, updateName: true, binaryType: true }, () =>
        image(`an unrecognised binary named like an update, served as ${type ?? '?'}`),
      )
      .with({ status: 'ok', magic: null, text: false, firmwareType: true }, () => image(`a file served as ${type ?? '?'}`))
      // The request went out in clear but its answer was not captured: judge by the name.
      .with({ status: 'missing', updateName: true, imageName: true }, () => image('a file named like an update (its answer was not captured)'))
      // An update check: the words of one in the path, a structured or plain text answer (or none seen).
      .with({ status: P.not('error'), manifestPath: true, imageName: false, manifestType: true, magic: null, binaryType: false }, () => ({ kind: 'manifest' }) as const)
      .otherwise(() => ({ kind: 'none' }) as const)
  );
}

/** A file fetched by name only (TFTP read, FTP RETR): the name is all we have. */
function namedSighting(name: string): Sighting {
  const lower = pathOf(name).toLowerCase();
  const update = looksLikeUpdatePath(lower) && (UPDATE_WORD.test(lower) || !GENERIC_ARCHIVE.test(lower));
  return match({ signature: isSignaturePath(lower), update })
    .with({ signature: true }, () => ({ kind: 'signature' }) as const)
    .with({ update: true }, () => ({ kind: 'image', what: 'a file named like an update (contents not inspected)', magic: null, signed: false }) as const)
    .otherwise(() => ({ kind: 'none' }) as const);
}

function url(d: Download): string {
  return `${d.protocol}://${d.host}${d.path.startsWith('/') ? '' : '/'}${d.path}`;
}

function evidenceOf(d: Download, magic: FileMagic | null): Record<string, unknown> {
  return {
    protocol: d.protocol,
    host: d.host,
    path: d.path,
    method: d.method,
    status: d.status,
    content_type: d.contentType,
    content_length: d.contentLength,
    format: magic?.id ?? null,
    format_source: magic?.source ?? null,
  };
}

function report(ctx: FlowContext, out: Emitter, deviceId: string, d: Download, s: Sighting, state: RunState): void {
  match(s)
    .with({ kind: 'image' }, (img) => {
      out.finding(deviceId, {
        code: 'update-over-plaintext',
        severity: img.signed ? 'medium' : 'high',
        title: `Downloads a software update in clear text (${d.protocol.toUpperCase()})`,
        detail:
          `${url(d)} returned ${img.what} over unencrypted ${d.protocol.toUpperCase()}: anyone on the path can swap it` +
          (img.signed ? ' (its format carries a signature, which limits what a swap can do).' : '.'),
        remote: ctx.remote,
        evidence: evidenceOf(d, img.magic),
      });
      if (img.signed) return;
      let list = state.pending.get(ctx.flow);
      if (list === undefined) {
        if (state.pending.size >= MAX_PENDING_FLOWS) {
          // Flows always end, so this only trims flows lost by the flow table: drop the oldest.
          const oldest = state.pending.keys().next().value;
          if (oldest !== undefined) state.pending.delete(oldest);
        }
        list = [];
        state.pending.set(ctx.flow, list);
      }
      if (list.length < MAX_PENDING_PER_FLOW) {
        list.push({ host: d.host, path: d.path, tsUs: ctx.tsUs, what: img.what, format: img.magic?.id ?? null, protocol: d.protocol });
      }
    })
    .with({ kind: 'executable' }, (exe) => {
      out.finding(deviceId, {
        code: 'executable-over-plaintext',
        severity: 'high',
        title: `Downloads a program in clear text (${d.protocol.toUpperCase()})`,
        detail: `${url(d)} returned ${exe.what} over unencrypted ${d.protocol.toUpperCase()}: anyone on the path can replace the code the device receives.`,
        remote: ctx.remote,
        evidence: evidenceOf(d, exe.magic),
      });
    })
    .with({ kind: 'manifest' }, () => {
      out.finding(deviceId, {
        code: 'update-manifest-plaintext',
        severity: 'medium',
        title: 'Checks for updates in clear text',
        detail:
          `The update check ${url(d)}${d.status === null ? '' : ` (answer ${d.status}${d.contentType === null ? '' : `, ${d.contentType}`})`} ` +
          'travelled unencrypted: anyone on the path can see the installed version and answer that there is no update, or point to another image.',
        remote: ctx.remote,
        evidence: evidenceOf(d, null),
      });
    })
    .with({ kind: 'signature' }, () => {
      const { signatures } = state;
      if (signatures.size >= MAX_SIGNATURES) {
        const oldest = signatures.keys().next().value;
        if (oldest !== undefined) signatures.delete(oldest);
      }
      const key = `${deviceId}\u0000${d.host}`;
      signatures.delete(key); // re-insert: the map stays ordered by last sighting
      signatures.set(key, ctx.tsUs);
    })
    .with({ kind: 'none' }, () => {})
    .exhaustive();
}

function http(ctx: FlowContext, out: Emitter, deviceId: string, f: HttpFacts, state: RunState): void {
  for (const x of f.exchanges) {
    const r = x.request;
    if (r === null) continue;
    const path = pathOf(r.uri);
    const s = httpSighting(x, path);
    if (s.kind === 'none') continue;
    const d: Download = {
      protocol: 'http',
      host: hostOf(r.host, ctx.remoteName),
      path,
      method: r.method,
      status: x.response?.status ?? null,
      contentType: x.response?.contentType ?? null,
      contentLength: x.response?.contentLength ?? null,
    };
    report(ctx, out, deviceId, d, s, state);
  }
  // HTTPS through a proxy: the tunnel's target is all we see.
  const t = f.tunnel;
  if (t !== null && t.established) {
    const name = hostOf(t.target, t.target);
    if (isUpdateHost(name)) {
      out.observe(deviceId, {
        kind: 'update-over-tls',
        remote: name,
        detail: `A tunnel (HTTP CONNECT) to the update server ${name}: what travels inside is encrypted.`,
        evidence: { protocol: 'http-connect', target: t.target },
      });
    }
  }
}

function named(ctx: FlowContext, out: Emitter, deviceId: string, protocol: 'tftp' | 'ftp', name: string, status: number | null, state: RunState): void {
  const s = namedSighting(name);
  if (s.kind === 'none') return;
  const d: Download = {
    protocol,
    host: hostOf(null, ctx.remoteName),
    path: pathOf(name),
    method: protocol === 'tftp' ? 'RRQ' : 'RETR',
    status,
    contentType: null,
    contentLength: null,
  };
  report(ctx, out, deviceId, d, s, state);
}

/** Does this server name look like an update, firmware or download host? */
export function isUpdateHost(name: string): boolean {
  const labels = name.toLowerCase().split('.');
  for (let i = 0; i < labels.length - 1; i++) if (UPDATE_LABEL.test(labels[i])) return true;
  return false;
}

export const updatesDetector: Detector = {
  standard: 2,
  inspected(ctx, out) {
    const app = ctx.verdict.app;
    if (app === null || !HANDLED_APPS.has(app)) return;
    // The downloading device: the flow's client, when it is on the LAN.
    const deviceId = ctx.client?.id ?? null;
    if (deviceId === null) return;
    match(app)
      .with(P.union('tls', 'quic', 'dtls'), () => {
        const name = ctx.verdict.serverName;
        if (ctx.verdict.encryption !== 'encrypted' || name === null || !isUpdateHost(name)) return;
        out.observe(deviceId, {
          kind: 'update-over-tls',
          remote: name,
          detail: `Connected to the update server ${name} over ${app.toUpperCase()}: updates from it arrive encrypted.`,
          evidence: { protocol: app, reason: ctx.verdict.reason },
        });
      })
      .with('http', () => {
        if (ctx.facts === null) return;
        http(ctx, out, deviceId, ctx.facts as HttpFacts, stateOf(out));
      })
      .with('tftp', () => {
        const t = ctx.facts as TftpFacts | null;
        // A read request the server refused (an ERROR seen on this flow) fetched nothing.
        if (t === null || t.operation !== 'read' || t.filename === null || t.error_code !== null) return;
        named(ctx, out, deviceId, 'tftp', t.filename, null, stateOf(out));
      })
      .with('ftp', () => {
        const f = ctx.facts as FtpFacts | null;
        if (f === null || f.transfers.length === 0) return;
        const state = stateOf(out);
        for (const x of f.transfers) {
          if (x.command.toUpperCase() !== 'RETR' || (x.replyCode !== null && x.replyCode >= 400)) continue;
          named(ctx, out, deviceId, 'ftp', x.path, x.replyCode, state);
        }
      })
      .otherwise(() => {});
  },
  ended(ctx, out) {
    const state = runs.get(out);
    if (state === undefined || state.pending.size === 0) return;
    const images = state.pending.get(ctx.flow);
    if (images === undefined) return;
    state.pending.delete(ctx.flow);
    const deviceId = ctx.client?.id ?? null;
    if (deviceId === null) return;
    for (const img of images) {
      const sigTs = state.signatures.get(`${deviceId}\u0000${img.host}`);
      if (sigTs !== undefined && Math.abs(sigTs - img.tsUs) <= SIGNATURE_WINDOW_US) continue;
      out.finding(deviceId, {
        code: 'update-unsigned',
        severity: 'medium',
        title: 'Installs updates with no signature we can see',
        detail:
          `${img.protocol}://${img.host}${img.path} (${img.what}): no signature was fetched alongside it and ` +
          (img.format === null ? 'its format could not be checked for one' : 'the image format carries none that we recognise') +
          '; a signature inside the image cannot be ruled out.',
        remote: ctx.remote,
        evidence: { protocol: img.protocol, host: img.host, path: img.path, format: img.format, signature_window_s: SIGNATURE_WINDOW_US / 1e6 },
      });
    }
  },
};
