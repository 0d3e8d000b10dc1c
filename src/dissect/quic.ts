/**
 * QUIC (UDP): which version a flow speaks and, from the client's Initial packets, the TLS
 * ClientHello (SNI, ALPN, JA4), plus the cleartext CHLO of Google QUIC.
 *
 * IETF QUIC (v1 RFC 9000/9001, v2 RFC 9369, drafts 22..34, Facebook mvfst) protects even its
 * Initial packets, but with keys anyone can derive from the client's Destination Connection ID
 * (RFC 9001 §5.2): HKDF-Extract(version salt, DCID) → "client in" → key / iv / hp. We remove
 * header protection (AES-128-ECB over a 16-byte sample, §5.4), decrypt the payload with
 * AES-128-GCM (AAD = the unprotected header, §5.3), walk the frames and reassemble the CRYPTO
 * stream by offset — across coalesced packets, datagrams and out-of-order frames, bounded to
 * MAX_CRYPTO bytes — until the ClientHello is complete, then hand it to tls.ts.
 *
 * Google QUIC: Q024..Q046 carry a cleartext CHLO (tag/value message: SNI, UAID…) found in the
 * first client packet; Q050/T050/T051 use IETF-style long headers and Initial protection with
 * their own salts (a CHLO for Q050, a TLS ClientHello for T05x, in gQUIC CRYPTO frames).
 *
 * Nothing here throws on packet contents: every length is checked against the bytes available,
 * every loop is bounded, and crypto failures (bad tag, wrong key) are caught and become a reason.
 */
import { createCipheriv, createDecipheriv, createHmac, type Cipher } from 'node:crypto';
import { ja3, ja4, parseClientHello, type TlsClientHello } from './tls.js';
import { Probe, type DissectContext, type Dissector, type DissectorState } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export interface QuicFacts {
  /** Wire version of the first versioned packet (long header, or gQUIC public header), else null. */
  version: number | null;
  /** nDPI-style name: "V-1", "V-2", "Draft-29", "MVFST-22", "Q046", "T051", "Ver-Negotiation"… */
  version_name: string | null;
  is_google_quic: boolean;
  sni: string | null;
  /** ALPN protocols the client offered, in order. */
  alpn: string[];
  /** JA4 of the ClientHello (transport 'quic'); null for gQUIC CHLO or when not parsed. */
  ja4: string | null;
  /** JA3 hash (MD5 hex) of the ClientHello. */
  ja3: string | null;
  /** The ClientHello carries an Encrypted Client Hello extension (the real SNI is hidden). */
  ech: boolean;
  /** gQUIC CHLO UAID tag (the client's user agent), printable ASCII. */
  user_agent: string | null;
  /** Length of the Destination Connection ID of the client's first packet (the Initial's keys come from it). */
  initial_dcid_len: number | null;
  /** Length of the connection ID the client chose (its Source Connection ID). */
  client_cid_len: number | null;
  /** Length of the connection ID the server chose (Source Connection ID of its long headers). */
  server_cid_len: number | null;
  /** The handshake was readable: Initial protection removed, or a cleartext gQUIC CHLO. */
  decrypted: boolean;
  /**
   * Why (or why not): 'ok' (Initial decrypted), 'cleartext' (gQUIC CHLO), 'no-client-initial',
   * 'unsupported-version', 'truncated', 'authentication-failed', 'client-hello-incomplete',
   * 'not-client-hello', 'client-hello-too-large', 'client-hello-unparsed', 'no-chlo'.
   */
  decrypt_reason: string;
  /** A complete ClientHello (or gQUIC CHLO) was reassembled and parsed. */
  client_hello: boolean;
  /** Length of the reassembled ClientHello handshake message, 4-byte header included. */
  client_hello_length: number | null;
  /** The client sent 0-RTT packets (early data: replayable by an attacker). */
  zero_rtt: boolean;
  /** The server answered with a Retry packet. */
  retry: boolean;
  /** Versions offered in a server Version Negotiation packet (names), null if none was seen. */
  offered_versions: string[] | null;
  /** The server sent Initial/Handshake packets (IETF), or answered at all (gQUIC). */
  server_handshake: boolean;
  /** Error code of a CONNECTION_CLOSE frame seen in a decrypted Initial. */
  close_code: number | null;
  /** Datagrams looked at. */
  datagrams: number;
}

/** Largest CRYPTO stream prefix we reassemble (a ClientHello with post-quantum key shares is ~2 KiB). */
export const MAX_CRYPTO = 16 * 1024;
/** Datagrams looked at before giving up on a flow. */
const MAX_DATAGRAMS = 24;
/** Datagrams waited for a server answer once the ClientHello is settled. */
const WAIT_FOR_SERVER = 4;
/** Long-header packets looked at in one datagram (coalescing puts 2 or 3 there). */
const MAX_PACKETS_PER_DATAGRAM = 8;
/** CRYPTO frames accepted per flow (Chrome's chaos protection splits a ClientHello in ~30). */
const MAX_CRYPTO_FRAGMENTS = 512;
/** Frames parsed per decrypted packet. */
const MAX_FRAMES_PER_PACKET = 256;
const MAX_CID = 20;

// ---------------------------------------------------------------------------------------------
// Versions

const V1 = 0x00000001;
const V2 = 0x6b3343cf;
const MVFST_22 = 0xfaceb001;
const MVFST_27 = 0xfaceb002;
const MVFST_EXP = 0xfaceb00e;
const Q050 = 0x51303530;
const T050 = 0x54303530;
const T051 = 0x54303531;

const salt = (hex: string): Buffer => Buffer.from(hex, 'hex');
const SALT_DRAFT22 = salt('7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a');
const SALT_DRAFT23 = salt('c3eef712c72ebb5a11a7d2432bb46365bef9f502');
const SALT_DRAFT29 = salt('afbfec289993d24c9e9786f19c6111e04390a899');
const SALT_V1 = salt('38762cf7f55934b34d179ae6a4c80cadccbb7f0a');
const SALT_V2 = salt('0dede3def700a6db819381be6e269dcbf9bd2ed9');
const SALT_Q050 = salt('504574efd066fe2f9d945cfcdbd3a7f0d3b56b45');
const SALT_T050 = salt('7ff579e5acd072915580304c43a2367c60488310');
const SALT_T051 = salt('7a4edef4e7ccee5fa4506c19124fc8ccda6e033d');

const enum Header {
  /** RFC 9000 long header: one length byte per connection ID. */
  IETF,
  /** gQUIC public header (Q024..Q043): flags, 8-byte CID, version, packet number. */
  GQUIC_PUBLIC,
  /** Q046..Q049 and IETF drafts before 22: long header with both CID lengths in one byte. */
  NIBBLES,
}

const enum Frames {
  /** RFC 9000 frame types (CRYPTO = 0x06). */
  IETF,
  /** gQUIC v50 framing (PADDING 0x00, PING 0x07, CRYPTO 0x08). */
  GQUIC,
}

export interface QuicVersion {
  readonly name: string;
  readonly google: boolean;
  readonly header: Header;
  /** Initial salt; null when we cannot remove Initial protection for this version. */
  readonly salt: Buffer | null;
  /** HKDF label prefix after "tls13 ": "quic " (v1 and before) or "quicv2 " (RFC 9369). */
  readonly labels: 'quic ' | 'quicv2 ';
  /** RFC 9369 long-header packet types (Initial = 1) instead of v1's (Initial = 0). */
  readonly v2Types: boolean;
  readonly frames: Frames;
  /** The CRYPTO stream holds a TLS ClientHello (else a gQUIC CHLO). */
  readonly tls: boolean;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Versions seen so far (probe runs per undecided flow: no allocation for a known version). */
const VERSIONS = new Map<number, QuicVersion>();
/** Bound on VERSIONS: greased "0x?a?a?a?a" versions alone come in 65536 spellings. */
const MAX_CACHED_VERSIONS = 512;

/** Version facts for a wire version, or null when it is not a QUIC version we know. */
export function quicVersion(v: number): QuicVersion | null {
  v >>>= 0;
  const hit = VERSIONS.get(v);
  if (hit !== undefined) return hit;
  const info = describeVersion(v);
  if (info !== null && VERSIONS.size < MAX_CACHED_VERSIONS) VERSIONS.set(v, info);
  return info;
}

function describeVersion(v: number): QuicVersion | null {
  const ietf = (name: string, s: Buffer | null, header = Header.IETF): QuicVersion => ({
    name,
    google: false,
    header,
    salt: s,
    labels: 'quic ',
    v2Types: false,
    frames: Frames.IETF,
    tls: true,
  });
  if (v === V1) return ietf('V-1', SALT_V1);
  if (v === V2) return { ...ietf('V-2', SALT_V2), labels: 'quicv2 ', v2Types: true };
  if (v >>> 8 === 0xff0000) {
    const d = v & 0xff;
    const name = `Draft-${d}`;
    if (d < 22) return ietf(name, null, Header.NIBBLES);
    if (d === 22) return ietf(name, SALT_DRAFT22);
    if (d <= 28) return ietf(name, SALT_DRAFT23);
    if (d <= 32) return ietf(name, SALT_DRAFT29);
    if (d <= 34) return ietf(name, SALT_V1);
    return ietf(name, null);
  }
  if (v === MVFST_22) return ietf('MVFST-22', SALT_DRAFT22);
  if (v === MVFST_27) return ietf('MVFST-27', SALT_DRAFT23);
  if (v === MVFST_EXP) return ietf('MVFST-EXP', SALT_DRAFT23);
  if ((v & 0xfffff000) === 0xfaceb000) return ietf(`MVFST-${(v & 0xfff).toString(16).toUpperCase()}`, null);
  // "0x?a?a?a?a": reserved to exercise version negotiation (RFC 9000 §15).
  if ((v & 0x0f0f0f0f) === 0x0a0a0a0a) return ietf('Ver-Negotiation', null);
  // Google QUIC: 'Q' or 'T', then three digits.
  const c0 = v >>> 24;
  const c1 = (v >>> 16) & 0xff;
  const c2 = (v >>> 8) & 0xff;
  const c3 = v & 0xff;
  if ((c0 === 0x51 || c0 === 0x54) && c1 === 0x30 && isDigit(c2) && isDigit(c3)) {
    const n = (c2 - 0x30) * 10 + (c3 - 0x30);
    const name = String.fromCharCode(c0, c1, c2, c3);
    const g = (header: Header, s: Buffer | null, tls: boolean): QuicVersion => ({
      name,
      google: true,
      header,
      salt: s,
      labels: 'quic ',
      v2Types: false,
      frames: Frames.GQUIC,
      tls,
    });
    if (c0 === 0x51 && n >= 20 && n <= 43) return g(Header.GQUIC_PUBLIC, null, false);
    if (c0 === 0x51 && n >= 44 && n <= 49) return g(Header.NIBBLES, null, false);
    if (v === Q050) return g(Header.IETF, SALT_Q050, false);
    if (v === T050) return g(Header.IETF, SALT_T050, true);
    if (v === T051) return g(Header.IETF, SALT_T051, true);
    // Later Q05x/T05x: IETF long header, salt unknown to us.
    if (n >= 50) return g(Header.IETF, null, c0 === 0x54);
    return null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Small readers (callers check bounds; these never read past `end`)

function u32(b: Buffer, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

/** Result of the last varint() call: the number of bytes it took (0 = truncated). */
let vlen = 0;
/** QUIC variable-length integer at b[p] (RFC 9000 §16), or -1 if it does not fit before end. */
function varint(b: Buffer, p: number, end: number): number {
  vlen = 0;
  if (p >= end) return -1;
  const first = b[p];
  const n = 1 << (first >> 6);
  if (p + n > end) return -1;
  vlen = n;
  let v = first & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + b[p + i];
  return v;
}

function printable(b: Buffer, from: number, to: number, max: number): string {
  return asciiOfBytes(b, from, to, max, true);
}

// ---------------------------------------------------------------------------------------------
// Initial keys (RFC 9001 §5.2, RFC 9369 §3.3.1)

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
  /** AES-ECB with `hp`, made on first use and kept: header protection is one block per packet. */
  hpCipher?: Cipher;
}

/** HKDF-Expand's input for the first block: the HkdfLabel of TLS 1.3 (RFC 8446 §7.1), empty context, then 0x01. */
function expandInfo(label: string, length: number): Buffer {
  const full = 'tls13 ' + label;
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.write(full, 3, 'latin1');
  info[3 + full.length] = 0; // empty context
  info[4 + full.length] = 1; // HKDF-Expand counter T(1)
  return info;
}

/** The few labels in use ("client in", "quic key", "quicv2 iv"…), built once each. */
const expandInfos = new Map<string, Buffer>();

/** HKDF-Expand-Label(secret, label, "", length) for length ≤ 32 (one SHA-256 block). */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const key = `${label}/${length}`;
  let info = expandInfos.get(key);
  if (info === undefined) expandInfos.set(key, (info = expandInfo(label, length)));
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

/** Client Initial packet protection keys for a version and the client's first DCID. */
export function clientInitialKeys(version: QuicVersion, dcid: Buffer): InitialKeys | null {
  if (version.salt === null) return null;
  // Node's hkdfSync would do the first two steps in one call, but its key objects cost more.
  const initialSecret = createHmac('sha256', version.salt).update(dcid).digest();
  const clientSecret = expandLabel(initialSecret, 'client in', 32);
  return {
    key: expandLabel(clientSecret, version.labels + 'key', 16),
    iv: expandLabel(clientSecret, version.labels + 'iv', 12),
    hp: expandLabel(clientSecret, version.labels + 'hp', 16),
  };
}

/** RFC 9000 §A.3: the full packet number closest to the next expected one. */
function decodePacketNumber(largest: number, truncated: number, bits: number): number {
  const expected = largest + 1;
  const win = 2 ** bits;
  const hwin = win / 2;
  const candidate = Math.floor(expected / win) * win + truncated;
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

const enum Decrypt {
  OK,
  TRUNCATED,
  AUTH,
}

interface Decrypted {
  status: Decrypt;
  plain: Buffer | null;
  pn: number;
}

/**
 * Remove header protection and decrypt one long-header packet b[start, packetEnd) whose packet
 * number starts at pnOffset.
 */
function decryptPacket(b: Buffer, start: number, pnOffset: number, packetEnd: number, keys: InitialKeys, largestPn: number): Decrypted {
  const fail = (status: Decrypt): Decrypted => ({ status, plain: null, pn: -1 });
  const sampleAt = pnOffset + 4;
  if (sampleAt + 16 > packetEnd) return fail(Decrypt.TRUNCATED);
  try {
    let ecb = keys.hpCipher;
    if (ecb === undefined) {
      ecb = keys.hpCipher = createCipheriv('aes-128-ecb', keys.hp, null);
      ecb.setAutoPadding(false);
    }
    const mask = ecb.update(b.subarray(sampleAt, sampleAt + 16));
    const first = b[start] ^ (mask[0] & 0x0f);
    const pnLen = (first & 0x03) + 1;
    const headerEnd = pnOffset + pnLen;
    if (headerEnd + 16 > packetEnd) return fail(Decrypt.TRUNCATED);
    const header = Buffer.from(b.subarray(start, headerEnd));
    header[0] = first;
    let truncated = 0;
    for (let i = 0; i < pnLen; i++) {
      const byte = b[pnOffset + i] ^ mask[1 + i];
      header[pnOffset - start + i] = byte;
      truncated = truncated * 256 + byte;
    }
    const pn = decodePacketNumber(largestPn, truncated, pnLen * 8);
    const nonce = Buffer.from(keys.iv);
    const hi = Math.floor(pn / 0x100000000);
    const lo = pn >>> 0;
    nonce.writeUInt32BE((nonce.readUInt32BE(4) ^ hi) >>> 0, 4);
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ lo) >>> 0, 8);
    const gcm = createDecipheriv('aes-128-gcm', keys.key, nonce, { authTagLength: 16 });
    gcm.setAAD(header);
    gcm.setAuthTag(b.subarray(packetEnd - 16, packetEnd));
    const body = gcm.update(b.subarray(headerEnd, packetEnd - 16));
    const tail = gcm.final();
    return { status: Decrypt.OK, plain: tail.length > 0 ? Buffer.concat([body, tail]) : body, pn };
  } catch {
    return fail(Decrypt.AUTH);
  }
}

// ---------------------------------------------------------------------------------------------
// CRYPTO stream reassembly

/** Bytes of a stream received at arbitrary offsets; tracks the contiguous prefix from 0. */
export class CryptoReassembler {
  private buf: Buffer | null = null;
  private have: Uint8Array | null = null;
  /** Bytes [0, contiguous) are all present. */
  contiguous = 0;
  fragments = 0;

  constructor(readonly max = MAX_CRYPTO) {}

  /** Copy src[from, to) to stream offset `offset`; parts beyond `max` are dropped. */
  add(src: Buffer, from: number, to: number, offset: number): void {
    if (this.fragments >= MAX_CRYPTO_FRAGMENTS || offset >= this.max || to <= from) return;
    this.fragments++;
    const end = Math.min(this.max, offset + (to - from));
    this.ensure(end);
    const buf = this.buf as Buffer;
    const have = this.have as Uint8Array;
    src.copy(buf, offset, from, from + (end - offset));
    have.fill(1, offset, end);
    let c = this.contiguous;
    while (c < have.length && have[c] === 1) c++;
    this.contiguous = c;
  }

  /** The contiguous prefix (a view: copy it to keep it). */
  prefix(): Buffer {
    return this.buf === null ? Buffer.alloc(0) : this.buf.subarray(0, this.contiguous);
  }

  private ensure(n: number): void {
    if (this.buf !== null && this.buf.length >= n) return;
    let size = this.buf === null ? 2048 : this.buf.length;
    while (size < n) size *= 2;
    size = Math.min(size, this.max);
    const buf = Buffer.alloc(size);
    const have = new Uint8Array(size);
    if (this.buf !== null && this.have !== null) {
      this.buf.copy(buf);
      have.set(this.have);
    }
    this.buf = buf;
    this.have = have;
  }
}

// ---------------------------------------------------------------------------------------------
// gQUIC CHLO (tag/value message, little-endian)

export interface Chlo {
  sni: string | null;
  userAgent: string | null;
  /** Bytes the whole message takes (header, tag table and values). */
  length: number;
}

const CHLO = 0x43484c4f; // "CHLO"
const TAG_SNI = 0x534e4900; // "SNI\0"
const TAG_UAID = 0x55414944; // "UAID"
const MAX_CHLO_TAGS = 128;

/**
 * Parse a CHLO at b[p, end). Returns null when it is not one; `incomplete` when the tag table
 * or values run past end.
 */
export function parseChlo(b: Buffer, p: number, end: number): Chlo | 'incomplete' | null {
  if (end - p < 8) return end - p >= 4 && u32(b, p) !== CHLO ? null : 'incomplete';
  if (u32(b, p) !== CHLO) return null;
  const n = b[p + 4] | (b[p + 5] << 8);
  if (n > MAX_CHLO_TAGS) return null;
  const values = p + 8 + 8 * n;
  if (values > end) return 'incomplete';
  let prev = 0;
  let sni: string | null = null;
  let ua: string | null = null;
  for (let i = 0; i < n; i++) {
    const t = p + 8 + 8 * i;
    const tag = u32(b, t);
    const off = b.readUInt32LE(t + 4);
    if (off < prev) return null;
    if (values + off > end) return 'incomplete';
    if (tag === TAG_SNI) sni = printable(b, values + prev, values + off, 255);
    else if (tag === TAG_UAID) ua = printable(b, values + prev, values + off, 512);
    prev = off;
  }
  return { sni, userAgent: ua, length: values + prev - p };
}

// ---------------------------------------------------------------------------------------------
// The dissector

/** Long-header packet types, normalised to v1 numbering. */
const INITIAL = 0;
const ZERO_RTT = 1;
const HANDSHAKE = 2;
const RETRY = 3;

function packetType(first: number, v: QuicVersion): number {
  const t = (first >> 4) & 3;
  // RFC 9369 §3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
  return v.v2Types ? (t + 3) & 3 : t;
}

/** Whether b[p, p + 4) looks like a gQUIC version ('Q0dd' / 'T0dd'). */
function gquicVersionAt(b: Buffer, p: number): boolean {
  return (b[p] === 0x51 || b[p] === 0x54) && b[p + 1] === 0x30 && isDigit(b[p + 2]) && isDigit(b[p + 3]);
}

/**
 * gQUIC public header with a version (client's first packets): flags with VERSION (0x01) and an
 * 8-byte connection ID (0x08), no reserved high bits; version at offset 9.
 */
function isGquicPublicHeader(b: Buffer, p: number, len: number): boolean {
  if (len < 13) return false;
  const f = b[p];
  return (f & 0xc0) === 0 && (f & 0x09) === 0x09 && (f & 0x02) === 0 && gquicVersionAt(b, p + 9);
}

/** Where the connection IDs of a long header are, or null if they do not fit. */
interface LongHeader {
  dcidAt: number;
  dcidLen: number;
  scidAt: number;
  scidLen: number;
  /** First byte after the SCID. */
  rest: number;
}

function longHeader(b: Buffer, p: number, end: number, header: Header): LongHeader | null {
  if (end - p < 7) return null;
  if (header === Header.NIBBLES) {
    const x = b[p + 5];
    const dcidLen = x >> 4 === 0 ? 0 : (x >> 4) + 3;
    const scidLen = (x & 15) === 0 ? 0 : (x & 15) + 3;
    const rest = p + 6 + dcidLen + scidLen;
    return rest > end ? null : { dcidAt: p + 6, dcidLen, scidAt: p + 6 + dcidLen, scidLen, rest };
  }
  const dcidLen = b[p + 5];
  if (dcidLen > MAX_CID || p + 6 + dcidLen >= end) return null;
  const scidLen = b[p + 6 + dcidLen];
  if (scidLen > MAX_CID) return null;
  const rest = p + 7 + dcidLen + scidLen;
  return rest > end ? null : { dcidAt: p + 6, dcidLen, scidAt: p + 7 + dcidLen, scidLen, rest };
}

/**
 * Per-flow state. feed() returns true once the ClientHello question is settled (parsed, or known
 * to be unreadable) AND either the server has answered with a handshake packet or WAIT_FOR_SERVER
 * more datagrams went by — so that `server_handshake` means something — or after MAX_DATAGRAMS.
 */
export class QuicState implements DissectorState<QuicFacts> {
  private readonly f: QuicFacts = {
    version: null,
    version_name: null,
    is_google_quic: false,
    sni: null,
    alpn: [],
    ja4: null,
    ja3: null,
    ech: false,
    user_agent: null,
    initial_dcid_len: null,
    client_cid_len: null,
    server_cid_len: null,
    decrypted: false,
    decrypt_reason: 'no-client-initial',
    client_hello: false,
    client_hello_length: null,
    zero_rtt: false,
    retry: false,
    offered_versions: null,
    server_handshake: false,
    close_code: null,
    datagrams: 0,
  };
  private ver: QuicVersion | null = null;
  /** Keys from the client's first DCID, and from a later one (after a Retry). */
  private firstDcid: Buffer | null = null;
  private keys: InitialKeys | null = null;
  private otherDcid: Buffer | null = null;
  private otherKeys: InitialKeys | null = null;
  private largestPn = -1;
  private crypto: CryptoReassembler | null = null;
  private helloCopy: Buffer | null = null;
  /** The parsed ClientHello, for the fingerprints. */
  private hello: TlsClientHello | null = null;
  /** The ClientHello question is settled (parsed, or cannot be). */
  private settled = false;
  private sinceSettled = 0;
  private done = false;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean, _ctx: DissectContext): boolean {
    if (this.done) return true;
    const end = Math.min(data.length, offset + Math.max(0, length));
    this.f.datagrams++;
    if (this.settled) this.sinceSettled++;
    if (offset >= 0 && offset < end) {
      if (fromClient) this.client(data, offset, end);
      else this.server(data, offset, end);
    }
    if (
      this.f.datagrams >= MAX_DATAGRAMS ||
      (this.settled && (this.f.server_handshake || this.sinceSettled >= WAIT_FOR_SERVER))
    ) {
      this.done = true;
      this.crypto = null;
      if (!this.settled && this.f.is_google_quic && this.f.decrypt_reason === 'no-client-initial') this.f.decrypt_reason = 'no-chlo';
    }
    return this.done;
  }

  facts(): QuicFacts {
    const ch = this.hello;
    // Fingerprints on first read, as for TLS (clientHelloFacts).
    let j4: string | null | undefined;
    let j3: string | null | undefined;
    return {
      ...this.f,
      alpn: [...this.f.alpn],
      offered_versions: this.f.offered_versions === null ? null : [...this.f.offered_versions],
      get ja4() {
        if (j4 === undefined) j4 = ch === null ? null : fingerprintOrNull(() => ja4(ch, 'quic'));
        return j4;
      },
      get ja3() {
        if (j3 === undefined) j3 = ch === null ? null : fingerprintOrNull(() => ja3(ch).hash);
        return j3;
      },
    };
  }

  /** The reassembled ClientHello handshake message (4-byte header included), once complete. */
  clientHello(): Buffer | null {
    return this.helloCopy === null ? null : Buffer.from(this.helloCopy);
  }

  private setVersion(v: number, info: QuicVersion): void {
    if (this.ver !== null) return;
    this.ver = info;
    this.f.version = v >>> 0;
    this.f.version_name = info.name;
    this.f.is_google_quic = info.google;
  }

  private settle(reason: string, decrypted: boolean): void {
    this.f.decrypt_reason = reason;
    this.f.decrypted = decrypted;
    this.settled = true;
  }

  // --- client datagrams

  private client(b: Buffer, start: number, end: number): void {
    if (this.settled) {
      // Only 0-RTT is still of interest.
      if (!this.f.zero_rtt) this.walkLongHeaders(b, start, end, true);
      return;
    }
    const first = b[start];
    if ((first & 0x80) === 0) {
      if (isGquicPublicHeader(b, start, end - start)) {
        const v = u32(b, start + 9);
        const info = quicVersion(v);
        if (info !== null) {
          this.setVersion(v, info);
          this.f.initial_dcid_len ??= 8;
        }
      }
      if (this.ver !== null && this.ver.header === Header.GQUIC_PUBLIC) this.scanChlo(b, start + 13, end);
      return;
    }
    if (end - start >= 5) {
      const v = u32(b, start + 1);
      const info = quicVersion(v);
      if (info !== null && info.header === Header.NIBBLES && info.google) {
        this.setVersion(v, info);
        const h = longHeader(b, start, end, Header.NIBBLES);
        if (h !== null) {
          this.f.initial_dcid_len ??= h.dcidLen;
          this.f.client_cid_len ??= h.scidLen;
          this.scanChlo(b, h.rest, end);
        }
        return;
      }
    }
    this.walkLongHeaders(b, start, end, true);
  }

  /** gQUIC cleartext: find the CHLO near the start of the frames (after hash and frame header). */
  private scanChlo(b: Buffer, from: number, end: number): void {
    const stop = Math.min(end - 4, from + 64);
    for (let p = from; p <= stop; p++) {
      if (b[p] !== 0x43 || b[p + 1] !== 0x48 || b[p + 2] !== 0x4c || b[p + 3] !== 0x4f) continue;
      const chlo = parseChlo(b, p, end);
      if (chlo === null) continue;
      if (chlo === 'incomplete') {
        this.settle('client-hello-incomplete', true);
        return;
      }
      this.useChlo(chlo);
      this.settle('cleartext', true);
      return;
    }
    // A versioned client packet without a CHLO in clear: a later Q04x packet, or encrypted.
  }

  private useChlo(chlo: Chlo): void {
    this.f.client_hello = true;
    this.f.client_hello_length = chlo.length;
    if (chlo.sni !== null && chlo.sni !== '') this.f.sni = chlo.sni;
    if (chlo.userAgent !== null && chlo.userAgent !== '') this.f.user_agent = chlo.userAgent;
  }

  // --- server datagrams

  private server(b: Buffer, start: number, end: number): void {
    const first = b[start];
    if ((first & 0x80) === 0) {
      // Short header (1-RTT) or gQUIC public header: the server is talking.
      if (this.ver !== null && this.ver.header !== Header.IETF) this.f.server_handshake = true;
      return;
    }
    if (end - start >= 5 && u32(b, start + 1) === 0) {
      this.versionNegotiation(b, start, end);
      return;
    }
    this.walkLongHeaders(b, start, end, false);
  }

  private versionNegotiation(b: Buffer, start: number, end: number): void {
    const h = longHeader(b, start, end, Header.IETF);
    if (h === null) return;
    const names: string[] = [];
    for (let p = h.rest; p + 4 <= end && names.length < 32; p += 4) {
      const v = u32(b, p);
      names.push(quicVersion(v)?.name ?? `0x${v.toString(16).padStart(8, '0')}`);
    }
    this.f.offered_versions = names;
    // The client starts over with a version from the list (and new keys): follow it.
    if (!this.f.client_hello) {
      this.ver = null;
      this.firstDcid = this.keys = this.otherDcid = this.otherKeys = this.crypto = null;
      this.largestPn = -1;
      this.settled = false;
      this.sinceSettled = 0;
      this.f.decrypted = false;
      this.f.decrypt_reason = 'no-client-initial';
    }
  }

  // --- long headers (IETF, Q05x/T05x)

  private walkLongHeaders(b: Buffer, start: number, end: number, fromClient: boolean): void {
    let p = start;
    for (let n = 0; n < MAX_PACKETS_PER_DATAGRAM && p + 7 <= end; n++) {
      const first = b[p];
      if ((first & 0x80) === 0) break; // short header, or padding after the last packet
      const v = u32(b, p + 1);
      if (v === 0) break;
      const info = quicVersion(v);
      if (info === null || info.header !== Header.IETF) {
        if (info !== null) {
          this.setVersion(v, info);
          if (fromClient && !this.settled) this.settle('unsupported-version', false);
          if (!fromClient && info.google) this.f.server_handshake = true;
        }
        break;
      }
      const h = longHeader(b, p, end, Header.IETF);
      if (h === null) break;
      this.setVersion(v, info);
      const type = packetType(first, info);
      if (fromClient) {
        this.f.initial_dcid_len ??= h.dcidLen;
        this.f.client_cid_len ??= h.scidLen;
      } else {
        this.f.server_cid_len ??= h.scidLen;
      }
      if (type === RETRY) {
        if (!fromClient) this.f.retry = true;
        break; // a Retry runs to the end of the datagram
      }
      let q = h.rest;
      if (type === INITIAL) {
        const tokenLen = varint(b, q, end);
        if (tokenLen < 0 || q + vlen + tokenLen > end) break;
        q += vlen + tokenLen;
      }
      const len = varint(b, q, end);
      if (len < 0) break;
      q += vlen;
      const packetEnd = q + len;
      if (fromClient) {
        if (type === ZERO_RTT) this.f.zero_rtt = true;
        else if (type === INITIAL && !this.settled) this.clientInitial(b, p, q, Math.min(packetEnd, end), packetEnd > end, h, info);
      } else if (type === INITIAL || type === HANDSHAKE) {
        this.f.server_handshake = true;
      }
      if (packetEnd > end || packetEnd <= p) break;
      p = packetEnd;
    }
  }

  private clientInitial(b: Buffer, start: number, pnOffset: number, packetEnd: number, cut: boolean, h: LongHeader, info: QuicVersion): void {
    if (info.salt === null) {
      this.settle('unsupported-version', false);
      return;
    }
    if (h.dcidLen === 0) return;
    const dcid = b.subarray(h.dcidAt, h.dcidAt + h.dcidLen);
    if (this.firstDcid === null) {
      this.firstDcid = Buffer.from(dcid);
      this.keys = clientInitialKeys(info, this.firstDcid);
    }
    if (this.keys === null) return;
    if (cut) {
      this.f.decrypt_reason = 'truncated';
      return;
    }
    let r = decryptPacket(b, start, pnOffset, packetEnd, this.keys, this.largestPn);
    if (r.status === Decrypt.AUTH && !dcid.equals(this.firstDcid)) {
      // After a Retry the client derives new Initial keys from the Retry's SCID (its new DCID).
      if (this.otherDcid === null || !dcid.equals(this.otherDcid)) {
        this.otherDcid = Buffer.from(dcid);
        this.otherKeys = clientInitialKeys(info, this.otherDcid);
      }
      if (this.otherKeys !== null) r = decryptPacket(b, start, pnOffset, packetEnd, this.otherKeys, this.largestPn);
    }
    if (r.plain === null) {
      this.f.decrypt_reason = r.status === Decrypt.TRUNCATED ? 'truncated' : 'authentication-failed';
      return;
    }
    if (r.pn > this.largestPn) this.largestPn = r.pn;
    this.f.decrypted = true;
    this.f.decrypt_reason = 'client-hello-incomplete';
    if (info.frames === Frames.IETF) this.ietfFrames(r.plain);
    else this.gquicFrames(r.plain);
    this.checkHello(info);
  }

  private cryptoStream(): CryptoReassembler {
    if (this.crypto === null) this.crypto = new CryptoReassembler();
    return this.crypto;
  }

  /** RFC 9000 §19 frames of a decrypted Initial: PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE. */
  private ietfFrames(x: Buffer): void {
    const end = x.length;
    let p = 0;
    for (let n = 0; n < MAX_FRAMES_PER_PACKET && p < end; n++) {
      const type = varint(x, p, end);
      if (type < 0) return;
      p += vlen;
      switch (type) {
        case 0x00:
          while (p < end && x[p] === 0) p++;
          break;
        case 0x01:
          break;
        case 0x02:
        case 0x03: {
          // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range, ranges, [ECN counts].
          for (let i = 0; i < 2; i++) {
            if (varint(x, p, end) < 0) return;
            p += vlen;
          }
          const count = varint(x, p, end);
          if (count < 0 || count > end) return;
          p += vlen;
          const fields = 1 + 2 * count + (type === 0x03 ? 3 : 0);
          for (let i = 0; i < fields; i++) {
            if (varint(x, p, end) < 0) return;
            p += vlen;
          }
          break;
        }
        case 0x06:
          p = this.cryptoFrame(x, p, end);
          if (p < 0) return;
          break;
        case 0x1c:
        case 0x1d: {
          const code = varint(x, p, end);
          if (code < 0) return;
          p += vlen;
          this.f.close_code = code;
          if (type === 0x1c) {
            if (varint(x, p, end) < 0) return;
            p += vlen;
          }
          const reasonLen = varint(x, p, end);
          if (reasonLen < 0) return;
          p += vlen + reasonLen;
          break;
        }
        default:
          return; // not allowed in an Initial: stop reading this packet
      }
    }
  }

  /**
   * A CRYPTO frame's body (offset, length, data) at x[p], added to the handshake stream; the same
   * in IETF QUIC (type 0x06) and gQUIC v50 (type 0x08). Returns where the next frame starts, or -1.
   */
  private cryptoFrame(x: Buffer, p: number, end: number): number {
    const off = varint(x, p, end);
    if (off < 0) return -1;
    p += vlen;
    const len = varint(x, p, end);
    if (len < 0) return -1;
    p += vlen;
    if (p + len > end) return -1;
    this.cryptoStream().add(x, p, p + len, off);
    return p + len;
  }

  /** gQUIC v50 framing in Q050/T05x Initials: PADDING 0x00, PING 0x07, CRYPTO 0x08. */
  private gquicFrames(x: Buffer): void {
    const end = x.length;
    let p = 0;
    for (let n = 0; n < MAX_FRAMES_PER_PACKET && p < end; n++) {
      const type = x[p++];
      if (type === 0x00) {
        while (p < end && x[p] === 0) p++;
      } else if (type === 0x07) {
        continue;
      } else if (type === 0x08) {
        p = this.cryptoFrame(x, p, end);
        if (p < 0) return;
      } else {
        return;
      }
    }
  }

  /** Once the CRYPTO stream holds a whole ClientHello (or CHLO), parse it. */
  private checkHello(info: QuicVersion): void {
    if (this.crypto === null) return;
    const s = this.crypto.prefix();
    if (!info.tls) {
      const chlo = parseChlo(s, 0, s.length);
      if (chlo === null) this.settle('no-chlo', true);
      else if (chlo !== 'incomplete') {
        this.helloCopy = Buffer.from(s.subarray(0, chlo.length));
        this.useChlo(chlo);
        this.settle('ok', true);
      }
      return;
    }
    if (s.length < 4) return;
    if (s[0] !== 1) {
      this.settle('not-client-hello', true);
      return;
    }
    const bodyLen = (s[1] << 16) | (s[2] << 8) | s[3];
    if (4 + bodyLen > this.crypto.max) {
      this.settle('client-hello-too-large', true);
      return;
    }
    if (s.length < 4 + bodyLen) return;
    this.helloCopy = Buffer.from(s.subarray(0, 4 + bodyLen));
    this.f.client_hello_length = 4 + bodyLen;
    let ch: ReturnType<typeof parseClientHello> = null;
    try {
      ch = parseClientHello(this.helloCopy, 4, bodyLen);
    } catch {
      ch = null; // a bug over there must not take the flow down with it
    }
    if (ch === null) {
      this.settle('client-hello-unparsed', true);
      return;
    }
    this.f.client_hello = true;
    this.f.sni = ch.sni !== null && ch.sni !== '' ? ch.sni : null;
    this.f.alpn = [...ch.alpn];
    this.f.ech = ch.ech;
    this.hello = ch;
    this.settle('ok', true);
  }
}

/** A fingerprint, or null if it is empty or its code fails (a bug there must not lose the flow's facts). */
function fingerprintOrNull(compute: () => string): string | null {
  try {
    return compute() || null;
  } catch {
    return null;
  }
}

export const quicDissector: Dissector<QuicFacts> = {
  name: 'quic',
  transports: ['udp'],

  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, _ctx: DissectContext): Probe {
    const end = Math.min(data.length, offset + length);
    const len = end - offset;
    if (offset < 0 || len < 7) return Probe.NO;
    const first = data[offset];
    if ((first & 0x80) === 0) return isGquicPublicHeader(data, offset, len) ? Probe.YES : Probe.NO;
    const v = u32(data, offset + 1);
    if (v !== 0) {
      const info = quicVersion(v);
      if (info === null) return Probe.NO;
      if (info.header === Header.NIBBLES) {
        const x = data[offset + 5];
        const cids = (x >> 4 === 0 ? 0 : (x >> 4) + 3) + ((x & 15) === 0 ? 0 : (x & 15) + 3);
        return offset + 6 + cids <= end ? Probe.YES : Probe.NO;
      }
      // Fixed bit (RFC 9000 §17.2): greasing it (RFC 9287) is not allowed before transport parameters.
      if ((first & 0x40) === 0) return Probe.NO;
    }
    const dcidLen = data[offset + 5];
    if (dcidLen > MAX_CID || offset + 6 + dcidLen >= end) return Probe.NO;
    const scidLen = data[offset + 6 + dcidLen];
    const rest = offset + 7 + dcidLen + scidLen;
    if (scidLen > MAX_CID || rest > end) return Probe.NO;
    if (v !== 0) return Probe.YES;
    // Version Negotiation: a whole number (≥ 1) of 32-bit versions, one of them known.
    if (end - rest < 4 || (end - rest) % 4 !== 0) return Probe.NO;
    for (let p = rest; p + 4 <= end && p < rest + 64; p += 4) if (quicVersion(u32(data, p)) !== null) return Probe.YES;
    return Probe.NO;
  },

  start(_ctx: DissectContext): DissectorState<QuicFacts> {
    return new QuicState();
  },
};
