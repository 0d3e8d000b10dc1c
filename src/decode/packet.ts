/**
 * Link, network and transport decoding into a reusable PacketView.
 *
 * The decoder never copies packet bytes and never allocates per packet: it fills
 * the fields of one PacketView (offsets into the frame's Buffer plus the few
 * numbers the flow table needs). Addresses are kept as 32-bit words: an IPv4
 * address is src[0] (src[1..3] = 0); an IPv6 address is src[0..3], big-endian words.
 */
import { DLT_RAW_ALIASES, LinkType, type RawFrame } from '../capture/types.js';

export const DecodeResult = {
  /** An IP packet with its transport header (or a non-first fragment). */
  IP: 0,
  /** An ARP packet: arp* fields are set. */
  ARP: 1,
  /** A well-formed frame that is not IP or ARP (LLDP, STP, IPX…): counted, not a flow. */
  OTHER: 2,
  /** Too short or inconsistent to decode: counted as malformed and skipped. */
  MALFORMED: 3,
} as const;
export type DecodeResult = (typeof DecodeResult)[keyof typeof DecodeResult];

export const IpProto = { ICMP: 1, TCP: 6, UDP: 17, ICMPV6: 58, GRE: 47, ESP: 50, SCTP: 132 } as const;

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

const ETH_IPV4 = 0x0800;
const ETH_ARP = 0x0806;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;
const ETH_PPPOE_SESSION = 0x8864;
const ETH_MPLS = 0x8847;
const ETH_MPLS_MC = 0x8848;
const VXLAN_PORT = 4789;
const MAX_VLAN_TAGS = 4;
const MAX_IPV6_EXT_HEADERS = 8;
const MAX_ENCAPSULATION = 2;

export class PacketView {
  /** Frame buffer and where the frame starts/ends in it. */
  data: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;

  // Link layer. MACs as 48-bit integers (exact in a JS number); -1 when the link has none.
  srcMac = -1;
  dstMac = -1;
  /** Innermost 802.1Q VLAN id, 0 when untagged. */
  vlan = 0;
  vlanTags = 0;

  // Network layer.
  ipVersion = 0;
  l3Offset = 0;
  /** Transport protocol (after IPv6 extension headers). */
  proto = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  ttl = 0;
  /** True for any IPv4/IPv6 fragment; only the first one (fragOffset 0) has ports. */
  isFragment = false;
  fragOffset = 0;
  moreFragments = false;
  fragId = 0;
  /** Length of the IP packet according to its header (bytes on the wire at layer 3). */
  ipLength = 0;

  // Transport layer (0 when absent, e.g. non-first fragments or ICMP).
  hasPorts = false;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  tcpSeq = 0;
  tcpAck = 0;
  icmpType = -1;
  icmpCode = -1;
  /** Application payload: data[payloadOffset, payloadOffset + payloadLength), clipped to what was captured. */
  payloadOffset = 0;
  payloadLength = 0;
  /** Payload length the headers announce (may exceed payloadLength in a snaplen-cut capture). */
  payloadWireLength = 0;

  // ARP (for MAC <-> IP learning).
  arpOp = 0;
  arpSenderMac = -1;
  arpSenderIp = 0;
  arpTargetMac = -1;
  arpTargetIp = 0;

  /** Number of tunnel layers stripped (VXLAN). */
  encapsulation = 0;

  reset(): void {
    this.srcMac = -1;
    this.dstMac = -1;
    this.vlan = 0;
    this.vlanTags = 0;
    this.ipVersion = 0;
    this.proto = 0;
    this.src[0] = this.src[1] = this.src[2] = this.src[3] = 0;
    this.dst[0] = this.dst[1] = this.dst[2] = this.dst[3] = 0;
    this.isFragment = false;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.fragId = 0;
    this.hasPorts = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.payloadWireLength = 0;
    this.arpOp = 0;
    this.encapsulation = 0;
  }
}

// Byte indexing rather than Buffer.read*: Node validates the offset argument of every read* call,
// which showed in profiles. Callers check lengths first.
function u16(b: Buffer, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function u32(b: Buffer, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

// Byte indexing rather than Buffer.read*: no bounds-check exceptions on the hot path (callers check lengths).
function readMac(b: Buffer, o: number): number {
  return ((b[o] << 8) | b[o + 1]) * 0x1_0000_0000 + (((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0);
}

/** Decode one frame into `v`. Never throws on packet contents. */
export function decodeFrame(frame: RawFrame, v: PacketView): DecodeResult {
  v.reset();
  const b = frame.data;
  const start = frame.offset;
  const end = start + frame.caplen;
  v.data = b;
  v.start = start;
  v.end = end;
  const lt = frame.linkType;
  switch (lt) {
    case LinkType.ETHERNET:
      return decodeEthernet(b, start, end, v);
    case LinkType.LINUX_SLL: {
      if (end - start < 16) return DecodeResult.MALFORMED;
      // Sender's link-layer address, when it is a 6-byte MAC (ARPHRD_ETHER and friends).
      if (u16(b, start + 4) === 6) v.srcMac = readMac(b, start + 6);
      return decodeEtherType(b, u16(b, start + 14), start + 16, end, v);
    }
    case LinkType.LINUX_SLL2: {
      if (end - start < 20) return DecodeResult.MALFORMED;
      if (b[start + 11] === 6) v.srcMac = readMac(b, start + 12);
      return decodeEtherType(b, u16(b, start), start + 20, end, v);
    }
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end - start < 4) return DecodeResult.MALFORMED;
      // NULL stores the address family in the capturing host's byte order; LOOP in network order.
      let family = lt === LinkType.LOOP ? u32(b, start) : (b[start] | (b[start + 1] << 8) | (b[start + 2] << 16) | (b[start + 3] << 24)) >>> 0;
      if (family > 0xffff) family = u32(b, start);
      if (family === 2) return decodeIPv4(b, start + 4, end, v);
      // AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
      if (family === 24 || family === 28 || family === 30 || family === 10) return decodeIPv6(b, start + 4, end, v);
      return DecodeResult.OTHER;
    }
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      return decodeRawIp(b, start, end, v);
    default:
      if (DLT_RAW_ALIASES.includes(lt)) return decodeRawIp(b, start, end, v);
      return DecodeResult.OTHER;
  }
}

function decodeRawIp(b: Buffer, o: number, end: number, v: PacketView): DecodeResult {
  if (o >= end) return DecodeResult.MALFORMED;
  const version = b[o] >> 4;
  if (version === 4) return decodeIPv4(b, o, end, v);
  if (version === 6) return decodeIPv6(b, o, end, v);
  return DecodeResult.MALFORMED;
}

function decodeEthernet(b: Buffer, o: number, end: number, v: PacketView): DecodeResult {
  if (end - o < 14) return DecodeResult.MALFORMED;
  v.dstMac = readMac(b, o);
  v.srcMac = readMac(b, o + 6);
  return decodeEtherType(b, u16(b, o + 12), o + 14, end, v);
}

function decodeEtherType(b: Buffer, etherType: number, o: number, end: number, v: PacketView): DecodeResult {
  // 802.1Q / QinQ: keep the innermost VLAN id, which is the one that names the LAN segment.
  while (etherType === ETH_VLAN || etherType === ETH_QINQ || etherType === ETH_QINQ_OLD) {
    if (end - o < 4 || v.vlanTags >= MAX_VLAN_TAGS) return DecodeResult.MALFORMED;
    v.vlan = u16(b, o) & 0x0fff;
    v.vlanTags++;
    etherType = u16(b, o + 2);
    o += 4;
  }
  switch (etherType) {
    case ETH_IPV4:
      return decodeIPv4(b, o, end, v);
    case ETH_IPV6:
      return decodeIPv6(b, o, end, v);
    case ETH_ARP:
      return decodeArp(b, o, end, v);
    case ETH_PPPOE_SESSION: {
      if (end - o < 8) return DecodeResult.MALFORMED;
      const pppProto = u16(b, o + 6);
      if (pppProto === 0x0021) return decodeIPv4(b, o + 8, end, v);
      if (pppProto === 0x0057) return decodeIPv6(b, o + 8, end, v);
      return DecodeResult.OTHER;
    }
    case ETH_MPLS:
    case ETH_MPLS_MC: {
      // Skip the label stack to the bottom-of-stack label, then guess IP from the version nibble.
      for (let i = 0; i < 8; i++) {
        if (end - o < 4) return DecodeResult.MALFORMED;
        const bottom = (b[o + 2] & 0x01) === 1;
        o += 4;
        if (bottom) return decodeRawIp(b, o, end, v);
      }
      return DecodeResult.MALFORMED;
    }
    default:
      return DecodeResult.OTHER;
  }
}

function decodeArp(b: Buffer, o: number, end: number, v: PacketView): DecodeResult {
  // Only Ethernet/IPv4 ARP (hardware type 1, protocol 0x0800, lengths 6 and 4) teaches MAC <-> IP.
  if (end - o < 28) return DecodeResult.MALFORMED;
  if (u16(b, o) !== 1 || u16(b, o + 2) !== ETH_IPV4 || b[o + 4] !== 6 || b[o + 5] !== 4) {
    return DecodeResult.OTHER;
  }
  v.arpOp = u16(b, o + 6);
  v.arpSenderMac = readMac(b, o + 8);
  v.arpSenderIp = u32(b, o + 14);
  v.arpTargetMac = readMac(b, o + 18);
  v.arpTargetIp = u32(b, o + 24);
  return DecodeResult.ARP;
}

function decodeIPv4(b: Buffer, o: number, end: number, v: PacketView): DecodeResult {
  if (end - o < 20) return DecodeResult.MALFORMED;
  const vihl = b[o];
  if (vihl >> 4 !== 4) return DecodeResult.MALFORMED;
  const ihl = (vihl & 0x0f) * 4;
  const totalLength = u16(b, o + 2);
  if (ihl < 20 || end - o < ihl) return DecodeResult.MALFORMED;
  // totalLength 0 happens with TCP segmentation offload on the capturing host: trust the capture.
  const ipEnd = totalLength === 0 ? end : o + totalLength;
  if (totalLength !== 0 && totalLength < ihl) return DecodeResult.MALFORMED;
  v.ipVersion = 4;
  v.l3Offset = o;
  v.ipLength = totalLength === 0 ? end - o : totalLength;
  v.ttl = b[o + 8];
  v.proto = b[o + 9];
  v.src[0] = u32(b, o + 12);
  v.dst[0] = u32(b, o + 16);
  const fragField = u16(b, o + 6);
  v.fragOffset = (fragField & 0x1fff) * 8;
  v.moreFragments = (fragField & 0x2000) !== 0;
  if (v.fragOffset !== 0 || v.moreFragments) {
    v.isFragment = true;
    v.fragId = u16(b, o + 4);
    if (v.fragOffset !== 0) return DecodeResult.IP; // later fragments carry no transport header
  }
  return decodeTransport(b, o + ihl, Math.min(end, ipEnd), ipEnd, v);
}

function decodeIPv6(b: Buffer, o: number, end: number, v: PacketView): DecodeResult {
  if (end - o < 40) return DecodeResult.MALFORMED;
  if (b[o] >> 4 !== 6) return DecodeResult.MALFORMED;
  const payloadLength = u16(b, o + 4);
  v.ipVersion = 6;
  v.l3Offset = o;
  // payloadLength 0 means a jumbogram (or TSO): trust the capture.
  const ipEnd = payloadLength === 0 ? end : o + 40 + payloadLength;
  v.ipLength = ipEnd - o;
  v.ttl = b[o + 7];
  for (let i = 0; i < 4; i++) {
    v.src[i] = u32(b, o + 8 + i * 4);
    v.dst[i] = u32(b, o + 24 + i * 4);
  }
  let next = b[o + 6];
  let p = o + 40;
  const limit = Math.min(end, ipEnd);
  for (let i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      // Hop-by-hop, routing, destination options, mobility, HIP, shim6: length in 8-octet units.
      if (limit - p < 8) return DecodeResult.MALFORMED;
      next = b[p];
      p += (b[p + 1] + 1) * 8;
    } else if (next === 51) {
      // Authentication header: length in 4-octet units, minus 2.
      if (limit - p < 8) return DecodeResult.MALFORMED;
      next = b[p];
      p += (b[p + 1] + 2) * 4;
    } else if (next === 44) {
      if (limit - p < 8) return DecodeResult.MALFORMED;
      const fragField = u16(b, p + 2);
      v.isFragment = true;
      v.fragOffset = fragField & 0xfff8;
      v.moreFragments = (fragField & 1) === 1;
      v.fragId = u32(b, p + 4);
      next = b[p];
      p += 8;
      if (v.fragOffset !== 0) {
        v.proto = next;
        return DecodeResult.IP;
      }
      if (!v.moreFragments) v.isFragment = false; // an atomic fragment is a whole packet
    } else {
      break;
    }
  }
  if (p > limit) return DecodeResult.MALFORMED;
  v.proto = next;
  return decodeTransport(b, p, limit, ipEnd, v);
}

/** `end` is the end of captured bytes within this IP packet; `wireEnd` is where the IP header says it ends. */
function decodeTransport(b: Buffer, o: number, end: number, wireEnd: number, v: PacketView): DecodeResult {
  switch (v.proto) {
    case IpProto.TCP: {
      if (end - o < 20) return v.isFragment ? DecodeResult.IP : DecodeResult.MALFORMED;
      const dataOffset = (b[o + 12] >> 4) * 4;
      if (dataOffset < 20) return DecodeResult.MALFORMED;
      v.hasPorts = true;
      v.srcPort = u16(b, o);
      v.dstPort = u16(b, o + 2);
      v.tcpSeq = u32(b, o + 4);
      v.tcpAck = u32(b, o + 8);
      v.tcpFlags = b[o + 13];
      setPayload(v, o + dataOffset, end, wireEnd);
      return DecodeResult.IP;
    }
    case IpProto.UDP: {
      if (end - o < 8) return v.isFragment ? DecodeResult.IP : DecodeResult.MALFORMED;
      v.hasPorts = true;
      v.srcPort = u16(b, o);
      v.dstPort = u16(b, o + 2);
      const udpLength = u16(b, o + 4);
      // A fragmented datagram's UDP length covers all fragments; otherwise it bounds the payload.
      const udpEnd = !v.isFragment && udpLength >= 8 && o + udpLength < wireEnd ? o + udpLength : wireEnd;
      setPayload(v, o + 8, Math.min(end, udpEnd), udpEnd);
      if ((v.dstPort === VXLAN_PORT || v.srcPort === VXLAN_PORT) && v.encapsulation < MAX_ENCAPSULATION) {
        return decodeVxlan(b, v);
      }
      return DecodeResult.IP;
    }
    case IpProto.ICMP:
    case IpProto.ICMPV6: {
      if (end - o < 4) return DecodeResult.MALFORMED;
      v.icmpType = b[o];
      v.icmpCode = b[o + 1];
      setPayload(v, o + 4, end, wireEnd);
      return DecodeResult.IP;
    }
    default:
      setPayload(v, o, end, wireEnd);
      return DecodeResult.IP;
  }
}

function setPayload(v: PacketView, from: number, capturedEnd: number, wireEnd: number): void {
  v.payloadOffset = from;
  v.payloadLength = capturedEnd > from ? capturedEnd - from : 0;
  v.payloadWireLength = wireEnd > from ? wireEnd - from : 0;
}

/**
 * VXLAN carries whole Ethernet frames; flows are the inner conversations (as nDPI's reader does).
 * The outer addresses are dropped; a malformed inner frame leaves the outer UDP packet as it was.
 */
function decodeVxlan(b: Buffer, v: PacketView): DecodeResult {
  const o = v.payloadOffset;
  const end = o + v.payloadLength;
  if (end - o < 8 + 14 || (b[o] & 0x08) === 0) return DecodeResult.IP;
  const outerSrcMac = v.srcMac;
  const outerDstMac = v.dstMac;
  const depth = v.encapsulation + 1;
  v.reset();
  v.encapsulation = depth;
  const r = decodeEthernet(b, o + 8, end, v);
  if (r === DecodeResult.MALFORMED) {
    v.srcMac = outerSrcMac;
    v.dstMac = outerDstMac;
  }
  return r;
}

/** True for a group (multicast/broadcast) MAC address. */
export function isGroupMac(mac: number): boolean {
  return mac >= 0 && Math.floor(mac / 0x100_0000_0000) % 2 === 1;
}

/** True for a locally administered (often randomised) MAC address. */
export function isLocallyAdministeredMac(mac: number): boolean {
  return mac >= 0 && (Math.floor(mac / 0x100_0000_0000) & 0x02) !== 0;
}

export function formatMac(mac: number): string {
  const hex = mac.toString(16).padStart(12, '0');
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
}

export function parseMac(text: string): number | null {
  const hex = text.replace(/[:\-.]/g, '');
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return null;
  return parseInt(hex, 16);
}
