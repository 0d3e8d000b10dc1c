/**
 * NetBIOS over TCP/IP (RFC 1001/1002), UDP 137 (name service) and 138 (datagram service): the
 * names a device registers, queries and announces. Registered names and browser host
 * announcements are device names ("LIVINGROOM-PC<00>", workgroup "WORKGROUP<1e>"), and node
 * status answers carry the MAC address.
 *
 * Names are shown as tshark does: the 15-character name with trailing spaces removed, then the
 * suffix byte as <xx> (<00> workstation, <20> file server, <1d> master browser, …).
 */
import { readDnsName } from './dns.js';
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export const NBNS_PORT = 137;
export const NBDS_PORT = 138;

const OPCODES: Record<number, string> = {
  0: 'query',
  5: 'registration',
  6: 'release',
  7: 'wack',
  8: 'refresh',
  9: 'refresh',
  15: 'multi-homed registration',
};

const BROWSER_COMMANDS: Record<number, string> = {
  1: 'host announcement',
  2: 'announcement request',
  8: 'election request',
  9: 'get backup list request',
  10: 'get backup list response',
  11: 'become backup browser',
  12: 'domain/workgroup announcement',
  13: 'master announcement',
  14: 'reset browser state',
  15: 'local master announcement',
};

export interface NetbiosBrowser {
  command: string;
  /** Server (host) name, or workgroup for a domain announcement. */
  server_name: string | null;
  /** Windows-style OS version "major.minor" (Samba says 4.9, Windows 10 says 10.0). */
  os_version: string | null;
  server_type: number | null;
  comment: string | null;
}

export interface NetbiosFacts {
  service: 'name' | 'datagram';
  messages: number;
  /** Name service: opcode of the first message (query, registration, release, refresh…), response flag. */
  opcode: string | null;
  is_response: boolean;
  /** Every name seen (questions, answers, datagram source/destination), distinct, capped. */
  names: string[];
  /** Names the sender registered, refreshed or released (its own names), and node-status names (the answerer's). */
  registered_names: string[];
  /** The device's own name: a registered <00>/<20> name, a datagram source name, or a browser host name. */
  device_name: string | null;
  /** Workgroup or domain: a registered group name, a <1d>/<1e> destination, or a domain announcement. */
  workgroup: string | null;
  /** IPv4 addresses in name-service answers/registrations. */
  addresses: string[];
  /** Node status (NBSTAT) answer: the unit id (MAC address). */
  mac: string | null;
  /** Datagram service: source and destination names of the first datagram, and a browser announcement. */
  source_name: string | null;
  destination_name: string | null;
  browser: NetbiosBrowser | null;
  malformed: number;
}

const MAX_NAMES = 16;
const MAX_ADDRESSES = 8;
const MAX_RECORDS = 32;
const MAX_MESSAGES = 8;

/** Decode the first-level encoding of a NetBIOS name ("FHEPFCELEHFCEPFFFACACACACACACAAA"). */
export function decodeNetbiosName(encoded: string): string | null {
  const dot = encoded.indexOf('.');
  const label = dot < 0 ? encoded : encoded.slice(0, dot);
  if (label.length !== 32) return null;
  const bytes: number[] = [];
  for (let i = 0; i < 32; i += 2) {
    const hi = label.charCodeAt(i) - 0x41;
    const lo = label.charCodeAt(i + 1) - 0x41;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) return null;
    bytes.push((hi << 4) | lo);
  }
  const name = formatName(bytes);
  return dot < 0 ? name : `${name}${encoded.slice(dot)}`;
}

/** 15 name bytes + suffix byte, tshark style. */
function formatName(bytes: number[]): string {
  let end = 15;
  while (end > 0 && bytes[end - 1] === 0x20) end--;
  let s = '';
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    s += c > 0x20 && c < 0x7f ? String.fromCharCode(c) : `<${c.toString(16).padStart(2, '0')}>`;
  }
  return `${s}<${bytes[15].toString(16).padStart(2, '0')}>`;
}

function suffixOf(name: string): number {
  const lt = name.lastIndexOf('<');
  return lt < 0 ? -1 : Number.parseInt(name.slice(lt + 1, lt + 3), 16);
}

function baseName(name: string): string {
  const lt = name.lastIndexOf('<');
  return lt < 0 ? name : name.slice(0, lt);
}

function text(b: Buffer, from: number, to: number, max = 64): string {
  return asciiOfBytes(b, from, to, max, true).trim();
}

class NetbiosState implements DissectorState<NetbiosFacts> {
  private readonly f: NetbiosFacts;
  private attempts = 0;

  constructor(ctx: DissectContext) {
    const datagram = ctx.serverPort === NBDS_PORT || ctx.clientPort === NBDS_PORT;
    this.f = {
      service: datagram ? 'datagram' : 'name',
      messages: 0,
      opcode: null,
      is_response: false,
      names: [],
      registered_names: [],
      device_name: null,
      workgroup: null,
      addresses: [],
      mac: null,
      source_name: null,
      destination_name: null,
      browser: null,
      malformed: 0,
    };
  }

  feed(b: Buffer, off: number, len: number): boolean {
    this.attempts++;
    if (this.f.service === 'name') this.nameService(b, off, off + len);
    else this.datagram(b, off, off + len);
    return this.attempts >= MAX_MESSAGES;
  }

  private addName(name: string): void {
    if (this.f.names.length < MAX_NAMES && !this.f.names.includes(name)) this.f.names.push(name);
  }

  private addRegistered(name: string, group: boolean): void {
    const f = this.f;
    if (f.registered_names.length < MAX_NAMES && !f.registered_names.includes(name)) f.registered_names.push(name);
    const sfx = suffixOf(name);
    if (!group && (sfx === 0x00 || sfx === 0x20) && f.device_name === null) f.device_name = baseName(name);
    if (group && (sfx === 0x00 || sfx === 0x1e || sfx === 0x1d) && f.workgroup === null && !name.includes('__MSBROWSE__')) f.workgroup = baseName(name);
  }

  private nameService(b: Buffer, off: number, end: number): void {
    const f = this.f;
    if (end - off < 12) {
      f.malformed++;
      return;
    }
    const flags = b.readUInt16BE(off + 2);
    const response = (flags & 0x8000) !== 0;
    const opcode = (flags >> 11) & 0xf;
    const qd = b.readUInt16BE(off + 4);
    const an = b.readUInt16BE(off + 6);
    const ns = b.readUInt16BE(off + 8);
    const ar = b.readUInt16BE(off + 10);
    f.messages++;
    if (f.opcode === null) f.opcode = OPCODES[opcode] ?? `opcode ${opcode}`;
    if (response) f.is_response = true;
    // Registrations, refreshes and releases carry the sender's own names.
    const registering = opcode === 5 || opcode === 6 || opcode === 8 || opcode === 9 || opcode === 15;
    let p = off + 12;
    for (let i = 0; i < qd && i < MAX_RECORDS; i++) {
      const n = readDnsName(b, off, end, p);
      if (!n || n.next + 4 > end) {
        f.malformed++;
        return;
      }
      const name = decodeNetbiosName(n.name);
      if (name) this.addName(name);
      p = n.next + 4;
    }
    const records = Math.min(an + ns + ar, MAX_RECORDS);
    for (let i = 0; i < records; i++) {
      const n = readDnsName(b, off, end, p);
      if (!n || n.next + 10 > end) {
        f.malformed++;
        return;
      }
      const type = b.readUInt16BE(n.next);
      const rdlen = b.readUInt16BE(n.next + 8);
      const s = n.next + 10;
      const e = s + rdlen;
      if (e > end) {
        f.malformed++;
        return;
      }
      const name = decodeNetbiosName(n.name);
      if (type === 0x20) {
        // NB: [flags(2) address(4)]*; the G bit (0x8000) marks a group name.
        let group = false;
        for (let q = s; q + 6 <= e; q += 6) {
          group = (b[q] & 0x80) !== 0;
          const addr = `${b[q + 2]}.${b[q + 3]}.${b[q + 4]}.${b[q + 5]}`;
          if (f.addresses.length < MAX_ADDRESSES && !f.addresses.includes(addr)) f.addresses.push(addr);
        }
        if (name) {
          this.addName(name);
          if (registering && !response) this.addRegistered(name, group);
        }
      } else if (type === 0x21 && response) {
        this.nodeStatus(b, s, e);
      } else if (name) {
        this.addName(name);
      }
      p = e;
    }
  }

  /** NBSTAT answer: count, [name(15) suffix(1) flags(2)]*, unit id (6). */
  private nodeStatus(b: Buffer, s: number, e: number): void {
    const f = this.f;
    if (s >= e) return;
    const count = b[s];
    let q = s + 1;
    for (let i = 0; i < count && q + 18 <= e; i++) {
      const bytes = [...b.subarray(q, q + 16)];
      const group = (b[q + 16] & 0x80) !== 0;
      const name = formatName(bytes);
      this.addName(name);
      this.addRegistered(name, group);
      q += 18;
    }
    if (q + 6 <= e && f.mac === null) {
      const parts: string[] = [];
      for (let i = 0; i < 6; i++) parts.push(b[q + i].toString(16).padStart(2, '0'));
      f.mac = parts.join(':');
    }
  }

  private datagram(b: Buffer, off: number, end: number): void {
    const f = this.f;
    if (end - off < 10) {
      f.malformed++;
      return;
    }
    const type = b[off];
    if (type < 0x10 || type > 0x16) {
      f.malformed++;
      return;
    }
    f.messages++;
    if (type === 0x13) return; // error datagram
    if (type >= 0x14) {
      const n = readDnsName(b, off, end, off + 10);
      const name = n && decodeNetbiosName(n.name);
      if (name) this.addName(name);
      return;
    }
    if (end - off < 14) {
      f.malformed++;
      return;
    }
    const src = readDnsName(b, off, end, off + 14);
    const dst = src && readDnsName(b, off, end, src.next);
    if (!src || !dst) {
      f.malformed++;
      return;
    }
    const srcName = decodeNetbiosName(src.name);
    const dstName = decodeNetbiosName(dst.name);
    if (srcName) {
      this.addName(srcName);
      f.source_name ??= srcName;
      if (f.device_name === null && (suffixOf(srcName) === 0x00 || suffixOf(srcName) === 0x20)) f.device_name = baseName(srcName);
    }
    if (dstName) {
      this.addName(dstName);
      f.destination_name ??= dstName;
      const sfx = suffixOf(dstName);
      if ((sfx === 0x1d || sfx === 0x1e) && f.workgroup === null && !dstName.includes('__MSBROWSE__')) f.workgroup = baseName(dstName);
    }
    if (f.browser === null) this.browser(b, dst.next, end);
  }

  /** An SMB Transaction to \MAILSLOT\BROWSE carrying a browser announcement. */
  private browser(b: Buffer, u: number, end: number): void {
    const f = this.f;
    if (u + 59 > end || b[u] !== 0xff || b[u + 1] !== 0x53 || b[u + 2] !== 0x4d || b[u + 3] !== 0x42 || b[u + 4] !== 0x25) return;
    if (b[u + 32] < 14) return; // word count of a Transaction request
    const dataOffset = b.readUInt16LE(u + 57);
    const d = u + dataOffset;
    if (dataOffset < 59 || d >= end) return;
    const cmd = b[d];
    const command = BROWSER_COMMANDS[cmd] ?? `browser command ${cmd}`;
    const info: NetbiosBrowser = { command, server_name: null, os_version: null, server_type: null, comment: null };
    // Host, domain, local master announcements share one layout.
    if ((cmd === 1 || cmd === 12 || cmd === 15) && d + 32 <= end) {
      info.server_name = text(b, d + 6, d + 22, 16) || null;
      info.os_version = `${b[d + 22]}.${b[d + 23]}`;
      info.server_type = b.readUInt32LE(d + 24);
      info.comment = text(b, d + 32, end, 128) || null;
      if (cmd === 12) {
        if (f.workgroup === null && info.server_name) f.workgroup = info.server_name;
      } else if (info.server_name && f.device_name === null) {
        f.device_name = info.server_name;
      }
    }
    f.browser = info;
  }

  facts(): NetbiosFacts {
    return this.f;
  }
}

export const netbiosDissector: Dissector<NetbiosFacts> = {
  name: 'netbios',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17) return Probe.NO;
    const ports = [ctx.serverPort, ctx.clientPort];
    if (ports.includes(NBDS_PORT)) {
      return length >= 14 && data[offset] >= 0x10 && data[offset] <= 0x16 ? Probe.YES : Probe.NO;
    }
    if (!ports.includes(NBNS_PORT) || length < 12 + 34) {
      // Short name-service messages: only WACK/negative responses with no question.
      return ports.includes(NBNS_PORT) && length >= 12 && (data[offset + 2] & 0x80) !== 0 ? Probe.YES : Probe.NO;
    }
    const opcode = (data[offset + 2] >> 3) & 0xf;
    if (!(opcode in OPCODES)) return Probe.NO;
    // The first name is an encoded NetBIOS name: a 32-byte label, or a pointer in an answer.
    const q = (data[offset + 4] << 8) | data[offset + 5];
    if (q > 0) return data[offset + 12] === 0x20 ? Probe.YES : Probe.NO;
    return data[offset + 12] === 0x20 || (data[offset + 12] & 0xc0) === 0xc0 ? Probe.YES : Probe.NO;
  },
  start(ctx: DissectContext): DissectorState<NetbiosFacts> {
    return new NetbiosState(ctx);
  },
};
