/**
 * IP addresses as 32-bit words (IPv4: one word; IPv6: four big-endian words), their text form,
 * and prefix matching for "is this address on the LAN side?".
 */
import { isIP } from 'node:net';

export interface IpPrefix {
  version: 4 | 6;
  words: [number, number, number, number];
  length: number;
  text: string;
}

/** RFC 1918, RFC 6598 (carrier-grade NAT), link-local, ULA: the LAN side by default (DESIGN.md). */
export const DEFAULT_LAN_PREFIXES = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fe80::/10',
  'fc00::/7',
];

export function formatIPv4(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
}

export function formatIPv6(w: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) groups.push(w[i] >>> 16, w[i] & 0xffff);
  // IPv4-mapped ::ffff:a.b.c.d keeps the dotted form, as people read it.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `::ffff:${formatIPv4(w[3] >>> 0)}`;
  // RFC 5952: compress the longest run (length >= 2) of zero groups.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatIp(version: number, w: ArrayLike<number>): string {
  return version === 4 ? formatIPv4(w[0] >>> 0) : formatIPv6(w);
}

/** "ip:port", with IPv6 in brackets. */
export function formatEndpoint(version: number, ip: string, port: number): string {
  return version === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function parseIp(text: string): { version: 4 | 6; words: [number, number, number, number] } | null {
  const kind = isIP(text);
  if (kind === 4) {
    const parts = text.split('.').map(Number);
    return { version: 4, words: [((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0, 0, 0, 0] };
  }
  if (kind === 6) {
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const parseGroups = (s: string | undefined): number[] => {
      if (!s) return [];
      const out: number[] = [];
      for (const g of s.split(':')) {
        if (g.includes('.')) {
          const p = g.split('.').map(Number);
          out.push((p[0] << 8) | p[1], (p[2] << 8) | p[3]);
        } else out.push(parseInt(g, 16));
      }
      return out;
    };
    const h = parseGroups(head);
    const t = parseGroups(tail);
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
    const words: [number, number, number, number] = [0, 0, 0, 0];
    for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
    return { version: 6, words };
  }
  return null;
}

export function parsePrefix(text: string): IpPrefix {
  const [addr, lenText] = text.trim().split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) throw new Error(`not an IP prefix: "${text}"`);
  const max = ip.version === 4 ? 32 : 128;
  const length = lenText === undefined ? max : Number(lenText);
  if (!Number.isInteger(length) || length < 0 || length > max) throw new Error(`bad prefix length in "${text}"`);
  return { version: ip.version, words: ip.words, length, text: `${addr}/${length}` };
}

/** Does the address (as words) fall inside the prefix? */
export function prefixContains(p: IpPrefix, version: number, w: ArrayLike<number>): boolean {
  if (p.version !== version) return false;
  let remaining = p.length;
  for (let i = 0; i < 4 && remaining > 0; i++) {
    const bits = remaining >= 32 ? 32 : remaining;
    const mask = bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits);
    if (((w[i] ^ p.words[i]) & mask) !== 0) return false;
    remaining -= bits;
  }
  return true;
}

export function isUnspecified(version: number, w: ArrayLike<number>): boolean {
  return version === 4 ? w[0] === 0 : w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0;
}

/** Multicast, broadcast or unspecified: never a device's own address. */
export function isGroupOrUnspecified(version: number, w: ArrayLike<number>, lanBroadcasts?: Set<number>): boolean {
  if (version === 4) {
    const a = w[0] >>> 0;
    return a === 0 || a === 0xffffffff || a >>> 28 === 0xe || (lanBroadcasts?.has(a) ?? false);
  }
  return (w[0] >>> 24) === 0xff || (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0);
}

export class LanMatcher {
  readonly prefixes: IpPrefix[];
  constructor(prefixes: string[] = DEFAULT_LAN_PREFIXES) {
    this.prefixes = prefixes.map(parsePrefix);
  }
  isLocal(version: number, w: ArrayLike<number>): boolean {
    for (const p of this.prefixes) if (prefixContains(p, version, w)) return true;
    return false;
  }
}
