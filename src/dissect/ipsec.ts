/**
 * IPsec key exchange and NAT traversal: IKEv1 (ISAKMP, RFC 2408/2409) and IKEv2 (RFC 7296) on
 * UDP 500, and UDP 4500 (RFC 3948) where IKE follows a 4-byte zero non-ESP marker, ESP rides
 * directly (SPI ≠ 0) and a single 0xFF byte is a NAT keepalive.
 *
 * An encrypted tunnel. What can be judged from outside is in the first, clear exchange: the
 * proposed algorithms (DES/3DES, MD5, MODP-768/1024 are weak), IKEv1 aggressive mode (exposes
 * the PSK hash to offline cracking, and the identity), and vendor ids (which implementation).
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export const IKE_PORT = 500;
export const NATT_PORT = 4500;
const IKE_HEADER = 28;

const IKEV1_EXCHANGES: Record<number, string> = {
  1: 'Base',
  2: 'Identity Protection (Main Mode)',
  3: 'Authentication Only',
  4: 'Aggressive',
  5: 'Informational',
  6: 'Transaction (Config Mode)',
  32: 'Quick Mode',
  33: 'New Group Mode',
};
const IKEV2_EXCHANGES: Record<number, string> = {
  34: 'IKE_SA_INIT',
  35: 'IKE_AUTH',
  36: 'CREATE_CHILD_SA',
  37: 'INFORMATIONAL',
  38: 'IKE_SESSION_RESUME',
  43: 'IKE_INTERMEDIATE',
  44: 'IKE_FOLLOWUP_KE',
};

const V2_ENCR: Record<number, string> = {
  1: 'DES_IV64', 2: 'DES', 3: '3DES', 4: 'RC5', 5: 'IDEA', 6: 'CAST', 7: 'BLOWFISH', 8: '3IDEA', 9: 'DES_IV32',
  11: 'NULL', 12: 'AES_CBC', 13: 'AES_CTR', 14: 'AES_CCM_8', 15: 'AES_CCM_12', 16: 'AES_CCM_16',
  18: 'AES_GCM_8', 19: 'AES_GCM_12', 20: 'AES_GCM_16', 21: 'NULL_AUTH_AES_GMAC', 23: 'CAMELLIA_CBC',
  24: 'CAMELLIA_CTR', 25: 'CAMELLIA_CCM_8', 26: 'CAMELLIA_CCM_12', 27: 'CAMELLIA_CCM_16', 28: 'CHACHA20_POLY1305',
};
const V2_PRF: Record<number, string> = {
  1: 'HMAC_MD5', 2: 'HMAC_SHA1', 3: 'HMAC_TIGER', 4: 'AES128_XCBC', 5: 'HMAC_SHA2_256', 6: 'HMAC_SHA2_384',
  7: 'HMAC_SHA2_512', 8: 'AES128_CMAC',
};
const V2_INTEG: Record<number, string> = {
  0: 'NONE', 1: 'HMAC_MD5_96', 2: 'HMAC_SHA1_96', 3: 'DES_MAC', 4: 'KPDK_MD5', 5: 'AES_XCBC_96', 6: 'HMAC_MD5_128',
  7: 'HMAC_SHA1_160', 8: 'AES_CMAC_96', 9: 'AES_128_GMAC', 10: 'AES_192_GMAC', 11: 'AES_256_GMAC',
  12: 'HMAC_SHA2_256_128', 13: 'HMAC_SHA2_384_192', 14: 'HMAC_SHA2_512_256',
};
const DH_GROUPS: Record<number, string> = {
  0: 'NONE', 1: 'MODP768', 2: 'MODP1024', 5: 'MODP1536', 14: 'MODP2048', 15: 'MODP3072', 16: 'MODP4096',
  17: 'MODP6144', 18: 'MODP8192', 19: 'ECP256', 20: 'ECP384', 21: 'ECP521', 22: 'MODP1024_S160',
  23: 'MODP2048_S224', 24: 'MODP2048_S256', 25: 'ECP192', 26: 'ECP224', 27: 'BRAINPOOL224', 28: 'BRAINPOOL256',
  29: 'BRAINPOOL384', 30: 'BRAINPOOL512', 31: 'CURVE25519', 32: 'CURVE448',
};
const V1_ENCR: Record<number, string> = { 1: 'DES', 2: 'IDEA', 3: 'BLOWFISH', 4: 'RC5', 5: '3DES', 6: 'CAST', 7: 'AES_CBC', 8: 'CAMELLIA_CBC' };
const V1_HASH: Record<number, string> = { 1: 'MD5', 2: 'SHA1', 3: 'TIGER', 4: 'SHA2_256', 5: 'SHA2_384', 6: 'SHA2_512' };
const V1_AUTH: Record<number, string> = {
  1: 'PSK', 2: 'DSS', 3: 'RSA_SIG', 4: 'RSA_ENC', 5: 'RSA_REV_ENC', 9: 'ECDSA_SHA256', 10: 'ECDSA_SHA384',
  11: 'ECDSA_SHA512', 64221: 'HYBRID_RSA', 65001: 'XAUTH_PSK', 65005: 'XAUTH_RSA',
};

export interface IpsecProposal {
  encryption: string[];
  integrity: string[];
  prf: string[];
  dh_groups: string[];
  /** IKEv1 authentication methods (PSK, RSA_SIG, XAUTH…). */
  auth: string[];
}

export interface IpsecFacts {
  /** Always true: IPsec protects its traffic (ESP with NULL encryption shows in the proposals). */
  encrypted: true;
  tunnel: true;
  ike_version: 1 | 2 | null;
  ike_messages: number;
  /** Exchange types seen, by name. */
  exchanges: string[];
  initiator_spi: string | null;
  responder_spi: string | null;
  /** UDP 4500 (NAT traversal encapsulation). */
  nat_traversal: boolean;
  /** IKEv1 aggressive mode (PSK hash exposed), and the identity it sends in clear. */
  aggressive_mode: boolean;
  identity: string | null;
  /** Algorithms offered by the initiator (union over its proposals) and chosen by the responder. */
  proposed: IpsecProposal | null;
  chosen: IpsecProposal | null;
  /** Vendor ID payloads (hex, first 16 bytes), capped. */
  vendor_ids: string[];
  esp_packets: number;
  esp_spis: string[];
  nat_keepalives: number;
  malformed: number;
}

const MAX_PAYLOADS = 32;
const MAX_LIST = 8;
const MAX_PACKETS = 8;

function emptyProposal(): IpsecProposal {
  return { encryption: [], integrity: [], prf: [], dh_groups: [], auth: [] };
}

function add(list: string[], v: string): void {
  if (list.length < MAX_LIST && !list.includes(v)) list.push(v);
}

function name(table: Record<number, string>, id: number): string {
  return table[id] ?? `ID_${id}`;
}

/** IKEv2 SA payload body: proposals, each with transforms (and key-length attributes). */
function parseV2Sa(b: Buffer, s: number, e: number): IpsecProposal {
  const out = emptyProposal();
  let p = s;
  for (let i = 0; i < MAX_PAYLOADS && p + 8 <= e; i++) {
    const plen = b.readUInt16BE(p + 2);
    if (plen < 8 || p + plen > e) break;
    const spiSize = b[p + 6];
    const count = b[p + 7];
    let t = p + 8 + spiSize;
    for (let j = 0; j < count && j < MAX_PAYLOADS && t + 8 <= p + plen; j++) {
      const tlen = b.readUInt16BE(t + 2);
      if (tlen < 8 || t + tlen > p + plen) break;
      const type = b[t + 4];
      const id = b.readUInt16BE(t + 6);
      let keyLen = 0;
      // Attribute 14 (Key Length), TV format.
      if (tlen >= 12 && b.readUInt16BE(t + 8) === 0x800e) keyLen = b.readUInt16BE(t + 10);
      if (type === 1) add(out.encryption, keyLen ? `${name(V2_ENCR, id)}_${keyLen}` : name(V2_ENCR, id));
      else if (type === 2) add(out.prf, name(V2_PRF, id));
      else if (type === 3) add(out.integrity, name(V2_INTEG, id));
      else if (type === 4) add(out.dh_groups, name(DH_GROUPS, id));
      t += tlen;
    }
    if (b[p] === 0) break; // last proposal
    p += plen;
  }
  return out;
}

/** IKEv1 SA payload body: DOI, situation, then proposal payloads with transform payloads. */
function parseV1Sa(b: Buffer, s: number, e: number): IpsecProposal {
  const out = emptyProposal();
  let p = s + 8;
  for (let i = 0; i < MAX_PAYLOADS && p + 8 <= e; i++) {
    const next = b[p];
    const plen = b.readUInt16BE(p + 2);
    if (plen < 8 || p + plen > e) break;
    const spiSize = b[p + 6];
    const count = b[p + 7];
    let t = p + 8 + spiSize;
    for (let j = 0; j < count && j < MAX_PAYLOADS && t + 8 <= p + plen; j++) {
      const tlen = b.readUInt16BE(t + 2);
      if (tlen < 8 || t + tlen > p + plen) break;
      let a = t + 8;
      let keyLen = 0;
      let enc = -1;
      for (let k = 0; k < 32 && a + 4 <= t + tlen; k++) {
        const at = b.readUInt16BE(a);
        const tv = (at & 0x8000) !== 0;
        const type = at & 0x7fff;
        let value: number;
        let size: number;
        if (tv) {
          value = b.readUInt16BE(a + 2);
          size = 4;
        } else {
          const vlen = b.readUInt16BE(a + 2);
          value = vlen >= 1 && vlen <= 4 && a + 4 + vlen <= t + tlen ? b.readUIntBE(a + 4, vlen) : -1;
          size = 4 + vlen;
        }
        if (type === 1) enc = value;
        else if (type === 2) add(out.integrity, name(V1_HASH, value));
        else if (type === 3) add(out.auth, name(V1_AUTH, value));
        else if (type === 4) add(out.dh_groups, name(DH_GROUPS, value));
        else if (type === 14) keyLen = value;
        a += size;
      }
      if (enc >= 0) add(out.encryption, keyLen > 0 ? `${name(V1_ENCR, enc)}_${keyLen}` : name(V1_ENCR, enc));
      t += tlen;
    }
    if (next === 0) break;
    p += plen;
  }
  return out;
}

function identityText(b: Buffer, s: number, e: number): string | null {
  // IKEv1 ID: type(1) protocol(1) port(2) data (1 IPv4, 2 FQDN, 3 USER_FQDN, 11 KEY_ID).
  if (e - s < 5) return null;
  const type = b[s];
  const d = s + 4;
  if (type === 1 && e - d >= 4) return `${b[d]}.${b[d + 1]}.${b[d + 2]}.${b[d + 3]}`;
  if (type === 2 || type === 3) {
    return asciiOfBytes(b, d, e, 128);
  }
  if (type === 11) return `keyid:${b.toString('hex', d, Math.min(e, d + 32))}`;
  return `id-type-${type}`;
}

class IpsecState implements DissectorState<IpsecFacts> {
  private readonly f: IpsecFacts;
  private attempts = 0;

  constructor(ctx: DissectContext) {
    this.f = {
      encrypted: true,
      tunnel: true,
      ike_version: null,
      ike_messages: 0,
      exchanges: [],
      initiator_spi: null,
      responder_spi: null,
      nat_traversal: ctx.serverPort === NATT_PORT || ctx.clientPort === NATT_PORT,
      aggressive_mode: false,
      identity: null,
      proposed: null,
      chosen: null,
      vendor_ids: [],
      esp_packets: 0,
      esp_spis: [],
      nat_keepalives: 0,
      malformed: 0,
    };
  }

  feed(b: Buffer, off: number, len: number, fromClient: boolean): boolean {
    const f = this.f;
    this.attempts++;
    if (f.nat_traversal) {
      if (len === 1 && b[off] === 0xff) f.nat_keepalives++;
      else if (len >= 4 + IKE_HEADER && b.readUInt32BE(off) === 0) this.ike(b, off + 4, len - 4, fromClient);
      else if (len >= 8 && b.readUInt32BE(off) !== 0) {
        f.esp_packets++;
        const spi = b.toString('hex', off, off + 4);
        if (f.esp_spis.length < 4 && !f.esp_spis.includes(spi)) f.esp_spis.push(spi);
      } else f.malformed++;
    } else {
      this.ike(b, off, len, fromClient);
    }
    // Both sides of the first exchange tell the algorithms; ESP means the tunnel is up.
    return (f.proposed !== null && f.chosen !== null) || f.esp_packets > 0 || this.attempts >= MAX_PACKETS;
  }

  private ike(b: Buffer, off: number, len: number, fromClient: boolean): void {
    const f = this.f;
    if (len < IKE_HEADER) {
      f.malformed++;
      return;
    }
    const version = b[off + 17] >> 4;
    if (version !== 1 && version !== 2) {
      f.malformed++;
      return;
    }
    const declared = b.readUInt32BE(off + 24);
    const end = off + Math.min(len, Math.max(declared, IKE_HEADER));
    f.ike_messages++;
    f.ike_version ??= version;
    const exch = b[off + 18];
    const exName = (version === 1 ? IKEV1_EXCHANGES[exch] : IKEV2_EXCHANGES[exch]) ?? `exchange ${exch}`;
    if (f.exchanges.length < MAX_LIST && !f.exchanges.includes(exName)) f.exchanges.push(exName);
    if (version === 1 && exch === 4) f.aggressive_mode = true;
    f.initiator_spi ??= b.toString('hex', off, off + 8);
    const rspi = b.toString('hex', off + 8, off + 16);
    if (f.responder_spi === null && rspi !== '0000000000000000') f.responder_spi = rspi;
    const flags = b[off + 19];
    // IKEv1 encryption bit: the payloads are ciphertext from here on.
    if (version === 1 && (flags & 0x01) !== 0) return;
    // IKEv2: the initiator flag tells the side; IKEv1: the flow direction does.
    const initiator = version === 2 ? (flags & 0x08) !== 0 : fromClient;
    let next = b[off + 16];
    let p = off + IKE_HEADER;
    for (let i = 0; i < MAX_PAYLOADS && next !== 0 && p + 4 <= end; i++) {
      const plen = b.readUInt16BE(p + 2);
      if (plen < 4 || p + plen > end) {
        f.malformed++;
        return;
      }
      const s = p + 4;
      const e = p + plen;
      const saType = version === 2 ? 33 : 1;
      const vidType = version === 2 ? 43 : 13;
      if (next === saType) {
        const prop = version === 2 ? parseV2Sa(b, s, e) : parseV1Sa(b, s, e);
        if (initiator) f.proposed ??= prop;
        else f.chosen ??= prop;
      } else if (next === vidType) {
        const vid = b.toString('hex', s, Math.min(e, s + 16));
        if (f.vendor_ids.length < MAX_LIST && !f.vendor_ids.includes(vid)) f.vendor_ids.push(vid);
      } else if (version === 1 && next === 5 && f.aggressive_mode) {
        f.identity ??= identityText(b, s, e);
      } else if (version === 2 && next === 46) {
        return; // SK: everything after is encrypted
      }
      next = b[p];
      p = e;
    }
  }

  facts(): IpsecFacts {
    return this.f;
  }
}

function plausibleIke(b: Buffer, off: number, len: number): boolean {
  if (len < IKE_HEADER) return false;
  const version = b[off + 17];
  if (version !== 0x10 && version !== 0x20) return false;
  // Initiator SPI is never zero; the declared length covers at least the header and fits.
  if (b.readUInt32BE(off) === 0 && b.readUInt32BE(off + 4) === 0) return false;
  const declared = b.readUInt32BE(off + 24);
  if (declared < IKE_HEADER || declared > len + 64 * 1024) return false;
  const exch = b[off + 18];
  return version === 0x10 ? exch in IKEV1_EXCHANGES : exch in IKEV2_EXCHANGES;
}

export const ipsecDissector: Dissector<IpsecFacts> = {
  name: 'ipsec',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17) return Probe.NO;
    const ports = [ctx.serverPort, ctx.clientPort];
    if (ports.includes(NATT_PORT)) {
      if (length === 1) return data[offset] === 0xff ? Probe.YES : Probe.NO;
      if (length >= 4 + IKE_HEADER && data.readUInt32BE(offset) === 0) return plausibleIke(data, offset + 4, length - 4) ? Probe.YES : Probe.NO;
      // ESP in UDP: SPI (≠ 0, values 1..255 reserved), sequence number, IV and ciphertext.
      return length >= 16 && data.readUInt32BE(offset) > 255 ? Probe.YES : Probe.NO;
    }
    if (ports.includes(IKE_PORT)) return plausibleIke(data, offset, length) ? Probe.YES : Probe.NO;
    // Other ports: only an IKE header whose length field matches the datagram exactly.
    return plausibleIke(data, offset, length) && data.readUInt32BE(offset + 24) === length ? Probe.YES : Probe.NO;
  },
  start(ctx: DissectContext): DissectorState<IpsecFacts> {
    return new IpsecState(ctx);
  },
};
