/**
 * Local discovery broadcasts of two common smart-home ecosystems, which say a lot about a device
 * to anyone on the LAN:
 * - Tuya (Smart Life and hundreds of white-label plugs and bulbs), UDP 6666/6667: frames
 *   000055AA … 0000AA55. On 6667 the payload is AES-128-ECB under a key every Tuya SDK ships
 *   (MD5 of a fixed string), so it is readable by anyone; on 6666 it is JSON in clear.
 * - Ubiquiti discovery, UDP 10001: TLVs with the device's MAC, IP, name, model and firmware.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { Probe, type Dissector, type DissectorState } from './types.js';

// ---------------------------------------------------------------- Tuya

const TUYA_PREFIX = 0x000055aa;
const TUYA_SUFFIX = 0x0000aa55;
const TUYA_HEADER = 16;
/** The key Tuya's SDKs use for UDP discovery on port 6667: MD5("yGAdlopoPVldABfn"). */
const TUYA_UDP_KEY = createHash('md5').update('yGAdlopoPVldABfn').digest();

export interface TuyaFacts {
  frames: number;
  command: number | null;
  /** The payload was readable: plain JSON, or decrypted with the public discovery key. */
  readable: boolean;
  encrypted_with_public_key: boolean;
  /** Fields of the discovery JSON (device id, product key, protocol version, address). */
  gw_id: string | null;
  product_key: string | null;
  version: string | null;
  ip: string | null;
}

function u32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function isTuyaFrame(b: Buffer, offset: number, length: number): boolean {
  return length >= TUYA_HEADER + 8 && u32(b, offset) === TUYA_PREFIX && u32(b, offset + length - 4) === TUYA_SUFFIX;
}

function tuyaJson(b: Buffer, offset: number, length: number): { json: Record<string, unknown> | null; viaKey: boolean } {
  // Body: return code (4), data, CRC32 (4), suffix (4).
  const start = offset + TUYA_HEADER + 4;
  const end = offset + length - 8;
  if (end <= start) return { json: null, viaKey: false };
  const data = b.subarray(start, end);
  const tryParse = (text: string): Record<string, unknown> | null => {
    try {
      const v = JSON.parse(text) as unknown;
      return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  if (data[0] === 0x7b) return { json: tryParse(data.toString('latin1')), viaKey: false };
  if (data.length % 16 !== 0) return { json: null, viaKey: false };
  try {
    const d = createDecipheriv('aes-128-ecb', TUYA_UDP_KEY, null);
    const plain = Buffer.concat([d.update(data), d.final()]);
    return { json: tryParse(plain.toString('latin1')), viaKey: true };
  } catch {
    return { json: null, viaKey: false };
  }
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v.slice(0, 128) : null;
}

export const tuyaDissector: Dissector<TuyaFacts> = {
  name: 'tuya',
  transports: ['udp'],
  probe(data, offset, length) {
    return isTuyaFrame(data, offset, length) ? Probe.YES : Probe.NO;
  },
  start(): DissectorState<TuyaFacts> {
    const facts: TuyaFacts = {
      frames: 0, command: null, readable: false, encrypted_with_public_key: false,
      gw_id: null, product_key: null, version: null, ip: null,
    };
    return {
      feed(data, offset, length) {
        if (!isTuyaFrame(data, offset, length)) return facts.frames >= 4;
        facts.frames++;
        facts.command ??= u32(data, offset + 8);
        if (!facts.readable) {
          const { json, viaKey } = tuyaJson(data, offset, length);
          if (json !== null) {
            facts.readable = true;
            facts.encrypted_with_public_key = viaKey;
            facts.gw_id = text(json.gwId);
            facts.product_key = text(json.productKey);
            facts.version = text(json.version);
            facts.ip = text(json.ip);
          }
        }
        return facts.readable || facts.frames >= 4;
      },
      facts: () => facts,
    };
  },
};

// ---------------------------------------------------------------- Ubiquiti discovery

const UBNT_PORT = 10001;

export interface UbntDiscoveryFacts {
  version: number | null;
  command: number | null;
  hostname: string | null;
  model: string | null;
  firmware: string | null;
  essid: string | null;
}

function ubntValid(b: Buffer, offset: number, length: number): boolean {
  if (length < 4) return false;
  const version = b[offset];
  const declared = (b[offset + 2] << 8) | b[offset + 3];
  // A request is 4 bytes (length 0); an answer's length covers the TLVs after the header.
  return (version === 1 || version === 2) && declared + 4 === length;
}

export const ubntDiscoveryDissector: Dissector<UbntDiscoveryFacts> = {
  name: 'ubnt-discovery',
  transports: ['udp'],
  probe(data, offset, length, _fromClient, ctx) {
    if (ctx.serverPort !== UBNT_PORT && ctx.clientPort !== UBNT_PORT) return Probe.NO;
    return ubntValid(data, offset, length) ? Probe.YES : Probe.NO;
  },
  start(): DissectorState<UbntDiscoveryFacts> {
    const facts: UbntDiscoveryFacts = { version: null, command: null, hostname: null, model: null, firmware: null, essid: null };
    let messages = 0;
    return {
      feed(data, offset, length) {
        if (!ubntValid(data, offset, length)) return messages >= 4;
        messages++;
        facts.version ??= data[offset];
        facts.command ??= data[offset + 1];
        const end = offset + length;
        let p = offset + 4;
        for (let i = 0; i < 64 && p + 3 <= end; i++) {
          const type = data[p];
          const len = (data[p + 1] << 8) | data[p + 2];
          const from = p + 3;
          if (from + len > end) break;
          const value = data.toString('latin1', from, from + Math.min(len, 128)).replace(/[^\x20-\x7e]/g, '?');
          if (type === 0x0b) facts.hostname ??= value;
          else if (type === 0x0c || type === 0x14) facts.model ??= value;
          else if (type === 0x03) facts.firmware ??= value;
          else if (type === 0x0d) facts.essid ??= value;
          p = from + len;
        }
        return facts.hostname !== null || messages >= 4;
      },
      facts: () => facts,
    };
  },
};
