/**
 * DHCPv4 (RFC 2131/2132): who the client is (MAC, hostname, vendor class, parameter request
 * list fingerprint, FQDN) and which address it asked for or was given.
 */
import { Probe, type Dissector } from './types.js';
import { asciiOfBytes } from './plaintext.js';

export interface DhcpFacts {
  op: number;
  messageType: number | null;
  clientMac: number;
  clientIp: number;
  yourIp: number;
  requestedIp: number | null;
  hostname: string | null;
  vendorClass: string | null;
  /** Option 55 as comma-separated option numbers (a well-known OS fingerprint). */
  parameterRequestList: string | null;
  clientFqdn: string | null;
}

const MAGIC_COOKIE = 0x63825363;
export const DHCP_ACK = 5;
export const DHCP_REQUEST = 3;

function text(b: Buffer, from: number, to: number): string {
  // Printable ASCII only: names end up in reports and terminals.
  return asciiOfBytes(b, from, to, to - from, true);
}

/** Parse a BOOTP/DHCP message in b[offset, offset + length). Returns null if it is not one. */
export function parseDhcp(b: Buffer, offset: number, length: number): DhcpFacts | null {
  const end = offset + length;
  if (length < 240 || b.readUInt32BE(offset + 236) !== MAGIC_COOKIE) return null;
  const op = b[offset];
  if (op !== 1 && op !== 2) return null;
  const facts: DhcpFacts = {
    op,
    messageType: null,
    clientMac: b[offset + 1] === 1 && b[offset + 2] === 6 ? b.readUInt16BE(offset + 28) * 0x1_0000_0000 + b.readUInt32BE(offset + 30) : -1,
    clientIp: b.readUInt32BE(offset + 12),
    yourIp: b.readUInt32BE(offset + 16),
    requestedIp: null,
    hostname: null,
    vendorClass: null,
    parameterRequestList: null,
    clientFqdn: null,
  };
  let p = offset + 240;
  while (p < end) {
    const code = b[p];
    if (code === 255) break;
    if (code === 0) {
      p++;
      continue;
    }
    if (p + 2 > end) break;
    const len = b[p + 1];
    const from = p + 2;
    const to = from + len;
    if (to > end) break;
    switch (code) {
      case 53:
        if (len >= 1) facts.messageType = b[from];
        break;
      case 50:
        if (len === 4) facts.requestedIp = b.readUInt32BE(from);
        break;
      case 12:
        facts.hostname = text(b, from, to);
        break;
      case 60:
        facts.vendorClass = text(b, from, to);
        break;
      case 55: {
        const codes: number[] = [];
        for (let i = from; i < to; i++) codes.push(b[i]);
        facts.parameterRequestList = codes.join(',');
        break;
      }
      case 81:
        // Flags, two obsolete RCODE bytes, then the name (ASCII or DNS wire format).
        if (len > 3) facts.clientFqdn = decodeFqdn(b, from + 3, to, (b[from] & 0x04) !== 0);
        break;
    }
    p = to;
  }
  return facts;
}

function decodeFqdn(b: Buffer, from: number, to: number, wireFormat: boolean): string {
  if (!wireFormat) return text(b, from, to);
  const labels: string[] = [];
  let p = from;
  while (p < to) {
    const len = b[p];
    if (len === 0 || len > 63 || p + 1 + len > to) break;
    labels.push(text(b, p + 1, p + 1 + len));
    p += 1 + len;
  }
  return labels.join('.');
}

export interface DhcpFlowFacts {
  message_types: number[];
  hostname: string | null;
  vendor_class: string | null;
  parameter_request_list: string | null;
}

/**
 * DHCP as a flow protocol (ports 67/68 with the magic cookie). Device names are learned from
 * every DHCP packet by the pipeline; this only gives the flow its `app`.
 */
export const dhcpDissector: Dissector<DhcpFlowFacts> = {
  name: 'dhcp',
  transports: ['udp'],
  probe(data, offset, length, _fromClient, ctx) {
    const ports = ctx.clientPort === 67 || ctx.clientPort === 68 || ctx.serverPort === 67 || ctx.serverPort === 68;
    if (!ports) return Probe.NO;
    return parseDhcp(data, offset, length) !== null ? Probe.YES : Probe.NO;
  },
  start() {
    const facts: DhcpFlowFacts = { message_types: [], hostname: null, vendor_class: null, parameter_request_list: null };
    return {
      feed(data, offset, length) {
        const d = parseDhcp(data, offset, length);
        if (d !== null) {
          if (d.messageType !== null && facts.message_types.length < 16) facts.message_types.push(d.messageType);
          if (d.op === 1) {
            facts.hostname ??= d.hostname;
            facts.vendor_class ??= d.vendorClass;
            facts.parameter_request_list ??= d.parameterRequestList;
          }
        }
        return false;
      },
      facts: () => facts,
    };
  },
};
