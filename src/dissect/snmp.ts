/**
 * SNMP (RFC 1157, 1905, 3412/3414) over UDP 161/162. v1/v2c: the community string is a password
 * sent in clear; it is kept only through maskSecret(), with a flag for the factory defaults
 * "public"/"private". v3: the USM user name and whether the message is authenticated and
 * encrypted (msgFlags), i.e. whether the management traffic is protected at all.
 */
import { maskSecret } from './secret.js';
import type { DissectContext, Dissector, DissectorState, MaskedSecret } from './types.js';
import { Probe } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export const SNMP_PORTS = [161, 162];

export const SNMP_PDU_NAMES = [
  'get-request',
  'get-next-request',
  'get-response',
  'set-request',
  'trap',
  'get-bulk-request',
  'inform-request',
  'snmpV2-trap',
  'report',
];

export type SnmpVersion = 'v1' | 'v2c' | 'v3';
export type SnmpSecurityLevel = 'noAuthNoPriv' | 'authNoPriv' | 'authPriv';

export interface SnmpFacts {
  messages: number;
  /** Version of the first message, and all versions seen. */
  version: SnmpVersion | null;
  versions: SnmpVersion[];
  /** v1/v2c community of the first message, masked. Never in clear. */
  community: MaskedSecret | null;
  /** A community seen in this flow is the factory default "public" or "private". */
  community_is_default: boolean | null;
  /** Distinct communities seen (a scanner tries several). */
  communities: number;
  /** PDU type of the first message and all seen (get-request, get-response, trap, report…). */
  pdu_type: string | null;
  pdu_types: string[];
  /** First variable-binding OIDs (dotted), distinct, capped. */
  oids: string[];
  /** error-status of the first response that had one (0 = noError). */
  error_status: number | null;
  /** v3: USM user name (the first non-empty one), security level and model, authoritative engine id (hex). */
  usm_user: string | null;
  security_level: SnmpSecurityLevel | null;
  security_model: number | null;
  engine_id: string | null;
  /** v3 messages with the auth / priv flag set (priv: the PDU is encrypted). */
  authenticated: boolean;
  encrypted: boolean;
  /**
   * Messages whose PDU anyone on the path can read: v1/v2c, and v3 without privacy that carry a
   * user or variables (engine discovery, an empty probe and its Report, does not count).
   */
  readable_pdus: number;
  malformed: number;
}

// ------------------------------------------------------------------------------------------------
// Minimal BER reader (definite lengths only, as SNMP requires).

interface Tlv {
  tag: number;
  /** Value start and end (end clipped to the containing element). */
  start: number;
  end: number;
}

const MAX_OIDS = 8;
const MAX_VARBINDS = 64;
const MAX_MESSAGES = 4;
const MAX_NAME = 64;

/** The TLV at p (single-byte tags only), inside [p, limit). Null when malformed. */
function tlv(b: Buffer, p: number, limit: number): Tlv | null {
  if (p + 2 > limit) return null;
  const tag = b[p];
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tags do not occur in SNMP
  let len = b[p + 1];
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || q + n > limit) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[q + i];
    q += n;
  }
  if (q + len > limit) return null;
  return { tag, start: q, end: q + len };
}

function integer(b: Buffer, t: Tlv): number | null {
  const n = t.end - t.start;
  if (t.tag !== 0x02 || n < 1 || n > 6) return null;
  let v = b[t.start] & 0x80 ? -1 : 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + b[i];
  return v;
}

/** Dotted OID text; null when malformed. */
export function oidText(b: Buffer, start: number, end: number): string | null {
  if (end <= start || end - start > 128) return null;
  const arcs: number[] = [];
  let v = 0;
  let bytes = 0;
  for (let i = start; i < end; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (++bytes > 7) return null;
    if ((b[i] & 0x80) === 0) {
      if (arcs.length === 0) {
        const x = v < 40 ? 0 : v < 80 ? 1 : 2;
        arcs.push(x, v - 40 * x);
      } else {
        arcs.push(v);
      }
      v = 0;
      bytes = 0;
    }
  }
  if (bytes !== 0) return null;
  return arcs.join('.');
}

function printable(b: Buffer, start: number, end: number): string {
  return asciiOfBytes(b, start, end, MAX_NAME);
}

export interface SnmpMessage {
  version: SnmpVersion;
  /** v1/v2c community as sent (latin1). Callers must mask it before storing. */
  community: string | null;
  /** PDU tag index 0..8, null when the PDU is encrypted or missing. */
  pdu: number | null;
  requestId: number | null;
  errorStatus: number | null;
  oids: string[];
  // v3
  flags: number | null;
  securityModel: number | null;
  user: string | null;
  engineId: string | null;
  complete: boolean;
}

function parsePdu(b: Buffer, p: number, limit: number, m: SnmpMessage): boolean {
  const pdu = tlv(b, p, limit);
  if (pdu === null || pdu.tag < 0xa0 || pdu.tag > 0xa8) return false;
  m.pdu = pdu.tag - 0xa0;
  let q = pdu.start;
  const fields: Tlv[] = [];
  // v1 Trap: enterprise, agent-addr, generic, specific, time-stamp, varbinds; others: id, status, index, varbinds.
  const before = m.pdu === 4 ? 5 : 3;
  for (let i = 0; i < before; i++) {
    const t = tlv(b, q, pdu.end);
    if (t === null) return false;
    fields.push(t);
    q = t.end;
  }
  if (m.pdu !== 4) {
    m.requestId = integer(b, fields[0]);
    m.errorStatus = integer(b, fields[1]);
  }
  const vbl = tlv(b, q, pdu.end);
  if (vbl === null || vbl.tag !== 0x30) return false;
  let v = vbl.start;
  for (let i = 0; i < MAX_VARBINDS && v < vbl.end; i++) {
    const vb = tlv(b, v, vbl.end);
    if (vb === null || vb.tag !== 0x30) return false;
    const name = tlv(b, vb.start, vb.end);
    if (name === null || name.tag !== 0x06) return false;
    const oid = oidText(b, name.start, name.end);
    if (oid === null) return false;
    if (m.oids.length < MAX_OIDS) m.oids.push(oid);
    v = vb.end;
  }
  return true;
}

/** Parse one SNMP message in b[off, off + len). Null when it is not SNMP at all. Never throws. */
export function parseSnmp(b: Buffer, off: number, len: number): SnmpMessage | null {
  const end = off + len;
  const msg = tlv(b, off, end);
  if (msg === null || msg.tag !== 0x30) return null;
  const ver = tlv(b, msg.start, msg.end);
  if (ver === null) return null;
  const v = integer(b, ver);
  if (v !== 0 && v !== 1 && v !== 3) return null;
  const m: SnmpMessage = {
    version: v === 0 ? 'v1' : v === 1 ? 'v2c' : 'v3',
    community: null,
    pdu: null,
    requestId: null,
    errorStatus: null,
    oids: [],
    flags: null,
    securityModel: null,
    user: null,
    engineId: null,
    complete: false,
  };
  if (v !== 3) {
    const comm = tlv(b, ver.end, msg.end);
    if (comm === null || comm.tag !== 0x04) return null;
    m.community = b.toString('latin1', comm.start, Math.min(comm.end, comm.start + 255));
    m.complete = parsePdu(b, comm.end, msg.end, m);
    return m;
  }
  // v3: msgGlobalData, msgSecurityParameters, msgData.
  const global = tlv(b, ver.end, msg.end);
  if (global === null || global.tag !== 0x30) return null;
  let g = global.start;
  const parts: Tlv[] = [];
  for (let i = 0; i < 4; i++) {
    const t = tlv(b, g, global.end);
    if (t === null) return m;
    parts.push(t);
    g = t.end;
  }
  if (parts[2].tag !== 0x04 || parts[2].end - parts[2].start < 1) return m;
  m.flags = b[parts[2].start];
  m.securityModel = integer(b, parts[3]);
  const secParams = tlv(b, global.end, msg.end);
  if (secParams === null || secParams.tag !== 0x04) return m;
  if (m.securityModel === 3) {
    // USM: SEQUENCE { engineID, engineBoots, engineTime, userName, authParams, privParams }.
    const usm = tlv(b, secParams.start, secParams.end);
    if (usm !== null && usm.tag === 0x30) {
      let u = usm.start;
      const f: Tlv[] = [];
      for (let i = 0; i < 6; i++) {
        const t = tlv(b, u, usm.end);
        if (t === null) break;
        f.push(t);
        u = t.end;
      }
      if (f.length >= 4 && f[0].tag === 0x04 && f[3].tag === 0x04) {
        m.engineId = f[0].end > f[0].start ? b.toString('hex', f[0].start, Math.min(f[0].end, f[0].start + 32)) : null;
        m.user = printable(b, f[3].start, f[3].end);
      }
    }
  }
  const data = tlv(b, secParams.end, msg.end);
  if (data === null) return m;
  if (data.tag === 0x04) {
    // encryptedPDU
    m.complete = true;
    return m;
  }
  if (data.tag !== 0x30) return m;
  // ScopedPDU: contextEngineID, contextName, PDU.
  const ce = tlv(b, data.start, data.end);
  const cn = ce && tlv(b, ce.end, data.end);
  if (!ce || !cn) return m;
  m.complete = parsePdu(b, cn.end, data.end, m);
  return m;
}

// ------------------------------------------------------------------------------------------------

const DEFAULT_COMMUNITIES = new Set(['public', 'private']);

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

class SnmpState implements DissectorState<SnmpFacts> {
  private readonly f: SnmpFacts = {
    messages: 0,
    version: null,
    versions: [],
    community: null,
    community_is_default: null,
    communities: 0,
    pdu_type: null,
    pdu_types: [],
    oids: [],
    error_status: null,
    usm_user: null,
    security_level: null,
    security_model: null,
    engine_id: null,
    authenticated: false,
    encrypted: false,
    readable_pdus: 0,
    malformed: 0,
  };
  /** Distinct communities, as FNV-1a hashes (the secret itself is not kept, even in memory). */
  private readonly seenCommunities = new Set<number>();
  private readonly sides = [false, false];

  feed(b: Buffer, off: number, len: number, fromClient: boolean): boolean {
    const f = this.f;
    const m = parseSnmp(b, off, len);
    if (m === null) {
      f.malformed++;
      return f.messages + f.malformed >= MAX_MESSAGES;
    }
    f.messages++;
    this.sides[fromClient ? 0 : 1] = true;
    if (!m.complete) f.malformed++;
    if (f.version === null) f.version = m.version;
    if (!f.versions.includes(m.version)) f.versions.push(m.version);
    if (m.community !== null) {
      if (f.community === null) f.community = maskSecret(m.community, null);
      const isDefault = DEFAULT_COMMUNITIES.has(m.community.toLowerCase());
      f.community_is_default = (f.community_is_default ?? false) || isDefault;
      const h = fnv1a(m.community);
      if (!this.seenCommunities.has(h) && this.seenCommunities.size < 64) {
        this.seenCommunities.add(h);
        f.communities = this.seenCommunities.size;
      }
    }
    if (m.pdu !== null) {
      const name = SNMP_PDU_NAMES[m.pdu];
      if (f.pdu_type === null) f.pdu_type = name;
      if (!f.pdu_types.includes(name)) f.pdu_types.push(name);
      if (m.pdu === 2 || m.pdu === 8) {
        if (f.error_status === null && m.errorStatus !== null) f.error_status = m.errorStatus;
      }
    }
    for (const oid of m.oids) if (f.oids.length < MAX_OIDS && !f.oids.includes(oid)) f.oids.push(oid);
    if (m.version !== 'v3') f.readable_pdus++;
    // A Report answering engine discovery carries counters, not management data.
    else if (m.flags !== null && (m.flags & 2) === 0 && ((m.user !== null && m.user !== '') || (m.oids.length > 0 && m.pdu !== 8))) f.readable_pdus++;
    if (m.version === 'v3') {
      if (m.securityModel !== null && f.security_model === null) f.security_model = m.securityModel;
      if (m.engineId !== null && f.engine_id === null) f.engine_id = m.engineId;
      if (m.flags !== null) {
        const auth = (m.flags & 1) !== 0;
        const priv = (m.flags & 2) !== 0;
        if (auth) f.authenticated = true;
        if (priv) f.encrypted = true;
        const level: SnmpSecurityLevel = auth ? (priv ? 'authPriv' : 'authNoPriv') : 'noAuthNoPriv';
        // The engine-discovery probe has no user and no security: the level that counts is the
        // one of the first message with a user name.
        const named = m.user !== null && m.user !== '';
        if (named && f.usm_user === null) {
          f.usm_user = m.user;
          f.security_level = level;
        } else if (f.security_level === null) {
          f.security_level = level;
        }
      }
    }
    const bothSides = this.sides[0] && this.sides[1];
    const enough = f.version !== 'v3' || f.usm_user !== null;
    return (bothSides && enough) || f.messages + f.malformed >= MAX_MESSAGES;
  }

  facts(): SnmpFacts {
    return this.f;
  }
}

/** 30 len 02 01 {0,1} 04 … a0-a8: the fixed shape of a v1/v2c message. */
function looksLikeV1V2c(b: Buffer, off: number, len: number): boolean {
  const msg = tlv(b, off, off + len);
  if (msg === null || msg.tag !== 0x30) return false;
  const ver = tlv(b, msg.start, msg.end);
  if (ver === null || ver.tag !== 0x02 || ver.end - ver.start !== 1 || b[ver.start] > 1) return false;
  const comm = tlv(b, ver.end, msg.end);
  if (comm === null || comm.tag !== 0x04 || comm.end + 2 > msg.end) return false;
  const pdu = b[comm.end];
  return pdu >= 0xa0 && pdu <= 0xa8;
}

export const snmpDissector: Dissector<SnmpFacts> = {
  name: 'snmp',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17 || length < 8 || data[offset] !== 0x30) return Probe.NO;
    const standard = SNMP_PORTS.includes(ctx.serverPort) || SNMP_PORTS.includes(ctx.clientPort);
    if (standard) {
      const msg = tlv(data, offset, offset + length);
      if (msg === null) return Probe.NO;
      const ver = tlv(data, msg.start, msg.end);
      if (ver === null || ver.tag !== 0x02 || ver.end - ver.start !== 1) return Probe.NO;
      const v = data[ver.start];
      return v === 0 || v === 1 || v === 3 ? Probe.YES : Probe.NO;
    }
    return looksLikeV1V2c(data, offset, length) ? Probe.YES : Probe.NO;
  },
  start(): DissectorState<SnmpFacts> {
    return new SnmpState();
  },
};
