/**
 * DHCPv6 (RFC 8415), UDP 546 (client) / 547 (server and relay): who the client is. The client
 * DUID (with the link-layer address inside DUID-LLT/DUID-LL), its FQDN (RFC 4704), vendor and
 * user class, and the Option Request list and option order, which fingerprint the OS.
 * Relay messages are unwrapped (a few levels) to reach the client's message.
 */
import type { DissectContext, Dissector, DissectorState } from './types.js';
import { Probe } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export const DHCPV6_CLIENT_PORT = 546;
export const DHCPV6_SERVER_PORT = 547;

export const DHCPV6_MESSAGE_NAMES: Record<number, string> = {
  1: 'SOLICIT', 2: 'ADVERTISE', 3: 'REQUEST', 4: 'CONFIRM', 5: 'RENEW', 6: 'REBIND', 7: 'REPLY',
  8: 'RELEASE', 9: 'DECLINE', 10: 'RECONFIGURE', 11: 'INFORMATION-REQUEST', 12: 'RELAY-FORW',
  13: 'RELAY-REPL', 14: 'LEASEQUERY', 15: 'LEASEQUERY-REPLY', 16: 'LEASEQUERY-DONE', 17: 'LEASEQUERY-DATA',
  18: 'RECONFIGURE-REQUEST', 19: 'RECONFIGURE-REPLY', 20: 'DHCPV4-QUERY', 21: 'DHCPV4-RESPONSE',
};

const CLIENT_TYPES = new Set([1, 3, 4, 5, 6, 8, 9, 11]);
const DUID_TYPE_NAMES = ['', 'DUID-LLT', 'DUID-EN', 'DUID-LL', 'DUID-UUID'];

export interface Dhcpv6Facts {
  messages: number;
  /** Type of the first message (number and name), and all types seen. */
  message_type: number | null;
  message_type_name: string | null;
  message_types: string[];
  transaction_id: string | null;
  /** Client DUID (hex, at most 64 bytes shown), its type, and what is inside it. */
  client_duid: string | null;
  client_duid_type: number | null;
  client_duid_type_name: string | null;
  client_hardware_type: number | null;
  /** Link-layer (MAC) address from a DUID-LLT or DUID-LL. */
  client_link_layer_address: string | null;
  /** Enterprise number of a DUID-EN. */
  client_duid_enterprise: number | null;
  /** Client FQDN option (39): the name and flags (S/O/N). */
  client_fqdn: string | null;
  client_fqdn_flags: number | null;
  /** Vendor class (16): enterprise number and the data items joined with ','. */
  vendor_class_enterprise: number | null;
  vendor_class: string | null;
  user_class: string | null;
  /** Option Request option (6): requested option codes, comma-separated (a fingerprint). */
  oro: string | null;
  /** Option codes of the client's first message in wire order (a fingerprint too). */
  option_codes: string | null;
  /** The client message came inside a relay message. */
  relayed: boolean;
  malformed: number;
}

const MAX_OPTIONS = 64;
const MAX_RELAY_DEPTH = 4;
const MAX_TEXT = 255;
const MAX_MESSAGES = 4;

function text(b: Buffer, from: number, to: number): string {
  return asciiOfBytes(b, from, to, MAX_TEXT);
}

function mac(b: Buffer, from: number, to: number): string | null {
  if (to - from < 1 || to - from > 20) return null;
  const parts: string[] = [];
  for (let i = from; i < to; i++) parts.push(b[i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

/** DNS wire-format name (possibly partial: no terminating zero) in b[from, to). */
function wireName(b: Buffer, from: number, to: number): string {
  const labels: string[] = [];
  let p = from;
  for (let i = 0; i < 128 && p < to; i++) {
    const len = b[p];
    if (len === 0 || len > 63 || p + 1 + len > to) break;
    labels.push(text(b, p + 1, p + 1 + len));
    p += 1 + len;
  }
  return labels.join('.');
}

/** [len(2) data]* items as text joined with ','. */
function items(b: Buffer, from: number, to: number): string {
  const out: string[] = [];
  let p = from;
  for (let i = 0; i < 16 && p + 2 <= to; i++) {
    const len = b.readUInt16BE(p);
    if (p + 2 + len > to) break;
    out.push(text(b, p + 2, p + 2 + len));
    p += 2 + len;
  }
  return out.join(',');
}

class Dhcpv6State implements DissectorState<Dhcpv6Facts> {
  private readonly f: Dhcpv6Facts = {
    messages: 0,
    message_type: null,
    message_type_name: null,
    message_types: [],
    transaction_id: null,
    client_duid: null,
    client_duid_type: null,
    client_duid_type_name: null,
    client_hardware_type: null,
    client_link_layer_address: null,
    client_duid_enterprise: null,
    client_fqdn: null,
    client_fqdn_flags: null,
    vendor_class_enterprise: null,
    vendor_class: null,
    user_class: null,
    oro: null,
    option_codes: null,
    relayed: false,
    malformed: 0,
  };
  private clientSeen = false;

  feed(b: Buffer, off: number, len: number): boolean {
    const f = this.f;
    if (len < 4) {
      f.malformed++;
      return f.messages + f.malformed >= MAX_MESSAGES;
    }
    f.messages++;
    this.message(b, off, off + len, 0);
    return this.clientSeen || f.messages + f.malformed >= MAX_MESSAGES;
  }

  private message(b: Buffer, off: number, end: number, depth: number): void {
    const f = this.f;
    const type = b[off];
    const name = DHCPV6_MESSAGE_NAMES[type] ?? `TYPE${type}`;
    if (!f.message_types.includes(name) && f.message_types.length < 16) f.message_types.push(name);
    const relay = type === 12 || type === 13;
    if (relay) {
      if (end - off < 34) {
        f.malformed++;
        return;
      }
      this.options(b, off + 34, end, depth, false);
      return;
    }
    if (f.message_type === null || (!CLIENT_TYPES.has(f.message_type) && CLIENT_TYPES.has(type))) {
      f.message_type = type;
      f.message_type_name = name;
      f.transaction_id = b.toString('hex', off + 1, off + 4);
    }
    const fromClient = CLIENT_TYPES.has(type);
    if (fromClient && !this.clientSeen) {
      this.clientSeen = true;
      if (depth > 0) f.relayed = true;
      this.options(b, off + 4, end, depth, true);
    }
  }

  private options(b: Buffer, from: number, end: number, depth: number, client: boolean): void {
    const f = this.f;
    const codes: number[] = [];
    let p = from;
    for (let i = 0; i < MAX_OPTIONS && p < end; i++) {
      if (p + 4 > end) {
        f.malformed++;
        break;
      }
      const code = b.readUInt16BE(p);
      const len = b.readUInt16BE(p + 2);
      const s = p + 4;
      const e = s + len;
      if (e > end) {
        f.malformed++;
        break;
      }
      codes.push(code);
      if (code === 9 && !client) {
        if (depth < MAX_RELAY_DEPTH && len >= 4) this.message(b, s, e, depth + 1);
      } else if (client) {
        this.clientOption(b, code, s, e);
      }
      p = e;
    }
    if (client) f.option_codes = codes.join(',');
  }

  private clientOption(b: Buffer, code: number, s: number, e: number): void {
    const f = this.f;
    const len = e - s;
    switch (code) {
      case 1: {
        if (len < 2) break;
        const t = b.readUInt16BE(s);
        f.client_duid = b.toString('hex', s, Math.min(e, s + 64));
        f.client_duid_type = t;
        f.client_duid_type_name = DUID_TYPE_NAMES[t] || null;
        if (t === 1 && len >= 8) {
          f.client_hardware_type = b.readUInt16BE(s + 2);
          f.client_link_layer_address = mac(b, s + 8, e);
        } else if (t === 3 && len >= 4) {
          f.client_hardware_type = b.readUInt16BE(s + 2);
          f.client_link_layer_address = mac(b, s + 4, e);
        } else if (t === 2 && len >= 6) {
          f.client_duid_enterprise = b.readUInt32BE(s + 2);
        }
        break;
      }
      case 6: {
        const list: number[] = [];
        for (let q = s; q + 2 <= e; q += 2) list.push(b.readUInt16BE(q));
        f.oro = list.join(',');
        break;
      }
      case 15:
        f.user_class = items(b, s, e);
        break;
      case 16:
        if (len >= 4) {
          f.vendor_class_enterprise = b.readUInt32BE(s);
          f.vendor_class = items(b, s + 4, e);
        }
        break;
      case 39:
        if (len >= 1) {
          f.client_fqdn_flags = b[s];
          f.client_fqdn = wireName(b, s + 1, e);
        }
        break;
    }
  }

  facts(): Dhcpv6Facts {
    return this.f;
  }
}

export const dhcpv6Dissector: Dissector<Dhcpv6Facts> = {
  name: 'dhcpv6',
  transports: ['udp'],
  probe(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
    if (ctx.proto !== 17 || length < 4) return Probe.NO;
    const ports = [ctx.serverPort, ctx.clientPort];
    if (!ports.includes(DHCPV6_SERVER_PORT) && !ports.includes(DHCPV6_CLIENT_PORT)) return Probe.NO;
    const type = data[offset];
    if (type < 1 || type > 21) return Probe.NO;
    if ((type === 12 || type === 13) && length < 34) return Probe.NO;
    return Probe.YES;
  },
  start(): DissectorState<Dhcpv6Facts> {
    return new Dhcpv6State();
  },
};
