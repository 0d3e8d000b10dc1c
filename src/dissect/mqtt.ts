/**
 * MQTT 3.1, 3.1.1 and 5.0 over TCP (port 1883, or anywhere the packet structure shows it):
 * CONNECT (protocol, client id, user name, password only through maskSecret, will, keep-alive),
 * CONNACK code, PUBLISH topics with the first bytes of their payloads (for personal-data checks),
 * SUBSCRIBE topic filters.
 */
import { maskSecret, userShown } from './secret.js';
import { cleanText } from './plaintext.js';
import { Probe, type DissectContext, type Dissector, type DissectorState, type MaskedSecret } from './types.js';

export interface MqttConnect {
  /** "MQTT" (3.1.1, 5.0) or "MQIsdp" (3.1). */
  protocolName: string;
  /** 3 (3.1), 4 (3.1.1), 5 (5.0). */
  protocolLevel: number;
  clientId: string;
  cleanSession: boolean;
  keepAlive: number;
  username: string | null;
  /** The password flag was set. */
  passwordPresent: boolean;
  password: MaskedSecret | null;
  willTopic: string | null;
  willQos: number;
  willRetain: boolean;
}

export interface MqttConnack {
  /** 3.x return code or 5.0 reason code (0 = accepted). */
  code: number;
  accepted: boolean;
  sessionPresent: boolean;
}

export interface MqttPublish {
  fromClient: boolean;
  topic: string;
  /** MQTT 5 topic alias (the topic may then be empty). */
  topicAlias: number | null;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** Payload size from the packet's length. */
  payloadLength: number;
  /** First PAYLOAD_HEAD bytes as text when they are printable UTF-8, else null. */
  payloadText: string | null;
  /** First PAYLOAD_HEAD bytes as hex when they are not text, else null. */
  payloadHex: string | null;
  /** The payload is longer than what is shown. */
  payloadTruncated: boolean;
}

export interface MqttSubscription {
  topicFilter: string;
  qos: number;
}

export interface MqttFacts {
  connect: MqttConnect | null;
  connack: MqttConnack | null;
  /** The first MAX_PUBLISHES PUBLISH packets, both directions. */
  publishes: MqttPublish[];
  /** PUBLISH packets seen beyond MAX_PUBLISHES. */
  morePublishes: number;
  /** SUBSCRIBE topic filters (at most 32). */
  subscriptions: MqttSubscription[];
  /** Control packets seen, by type name. */
  packets: Record<string, number>;
  /** Something that is not MQTT stopped the parse of a direction. */
  malformed: boolean;
}

export const MAX_PUBLISHES = 32;
export const PAYLOAD_HEAD = 256;
const MAX_SUBSCRIPTIONS = 32;

const TYPES = ['RESERVED', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

/** Are the fixed-header flags valid for this type (MQTT 3.1.1 §2.2.2)? */
function validFlags(type: number, flags: number): boolean {
  if (type === 0) return false;
  if (type === 3) return (flags & 0x6) !== 0x6; // QoS 3 is invalid
  if (type === 6 || type === 8 || type === 10) return flags === 2;
  return flags === 0;
}

/** Remaining Length varint at b[p]: [value, bytes] or null if incomplete, -1 value if invalid. */
function varint(b: Buffer, p: number, end: number): [number, number] | null {
  let v = 0;
  let mult = 1;
  for (let i = 0; i < 4; i++) {
    if (p + i >= end) return null;
    const c = b[p + i];
    v += (c & 0x7f) * mult;
    if ((c & 0x80) === 0) return [v, i + 1];
    mult *= 128;
  }
  return [-1, 4];
}

function utf8At(b: Buffer, p: number, end: number): [string, number] | null {
  if (p + 2 > end) return null;
  const n = b.readUInt16BE(p);
  if (p + 2 + n > end) return null;
  return [b.toString('utf8', p + 2, p + 2 + n), p + 2 + n];
}

/** MQTT 5 properties at b[p]: returns the offset after them and the topic alias, or null. */
function properties(b: Buffer, p: number, end: number): { next: number; topicAlias: number | null } | null {
  const len = varint(b, p, end);
  if (len === null || len[0] < 0) return null;
  const start = p + len[1];
  const stop = start + len[0];
  if (stop > end) return null;
  let q = start;
  let topicAlias: number | null = null;
  for (let i = 0; i < 256 && q < stop; i++) {
    const id = b[q++];
    switch (id) {
      case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2a:
        q += 1;
        break;
      case 0x13: case 0x21: case 0x22:
        q += 2;
        break;
      case 0x23:
        if (q + 2 <= stop) topicAlias = b.readUInt16BE(q);
        q += 2;
        break;
      case 0x02: case 0x11: case 0x18: case 0x27:
        q += 4;
        break;
      case 0x0b: {
        const v = varint(b, q, stop);
        if (v === null) return null;
        q += v[1];
        break;
      }
      case 0x03: case 0x08: case 0x09: case 0x12: case 0x15: case 0x16: case 0x1a: case 0x1c: case 0x1f:
        if (q + 2 > stop) return null;
        q += 2 + b.readUInt16BE(q);
        break;
      case 0x26:
        for (let k = 0; k < 2; k++) {
          if (q + 2 > stop) return null;
          q += 2 + b.readUInt16BE(q);
        }
        break;
      default:
        return null;
    }
  }
  return q === stop ? { next: stop, topicAlias } : null;
}

/** Printable UTF-8 (tabs and line breaks allowed)? */
function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f || c === 0xfffd) return false;
  }
  return true;
}

class Direction {
  head: number[] = [];
  type = 0;
  flags = 0;
  remaining = 0;
  capture: Buffer | null = null;
  captured = 0;
  skip = 0;
  dead = false;
}

class MqttState implements DissectorState<MqttFacts> {
  private readonly out: MqttFacts = { connect: null, connack: null, publishes: [], morePublishes: 0, subscriptions: [], packets: {}, malformed: false };
  private readonly dirs: [Direction, Direction] = [new Direction(), new Direction()];
  private level = 4;

  feed(data: Buffer, offset: number, length: number, fromClient: boolean): boolean {
    const d = this.dirs[fromClient ? 0 : 1];
    const end = offset + length;
    let p = offset;
    while (p < end && !d.dead) {
      if (d.skip > 0) {
        const n = Math.min(d.skip, end - p);
        d.skip -= n;
        p += n;
        continue;
      }
      if (d.capture !== null) {
        const n = Math.min(d.capture.length - d.captured, end - p);
        data.copy(d.capture, d.captured, p, p + n);
        d.captured += n;
        p += n;
        if (d.captured === d.capture.length) this.packet(d, fromClient);
        continue;
      }
      // Fixed header: type/flags byte and 1-4 length bytes.
      d.head.push(data[p++]);
      if (d.head.length === 1) {
        d.type = d.head[0] >> 4;
        d.flags = d.head[0] & 0x0f;
        if (!validFlags(d.type, d.flags) || (d.type === 15 && this.level !== 5)) {
          d.dead = true;
          this.out.malformed = true;
        }
        continue;
      }
      const c = d.head[d.head.length - 1];
      if (c & 0x80) {
        if (d.head.length >= 5) {
          d.dead = true;
          this.out.malformed = true;
        }
        continue;
      }
      let v = 0;
      for (let i = d.head.length - 1; i >= 1; i--) v = v * 128 + (d.head[i] & 0x7f);
      d.remaining = v;
      d.head = [];
      const name = TYPES[d.type];
      this.out.packets[name] = (this.out.packets[name] ?? 0) + 1;
      const cap = d.type === 1 || d.type === 8 ? 4096 : d.type === 3 ? 2048 + PAYLOAD_HEAD : d.type === 2 ? 8 : 0;
      const n = Math.min(cap, v);
      d.capture = Buffer.alloc(n);
      d.captured = 0;
      d.skip = 0;
      if (n === 0) this.packet(d, fromClient);
    }
    return this.dirs[0].dead && this.dirs[1].dead;
  }

  /** A packet's captured bytes are in d.capture; the rest of it is skipped. */
  private packet(d: Direction, fromClient: boolean): void {
    const b = d.capture as Buffer;
    d.capture = null;
    d.skip = d.remaining - b.length;
    const truncated = d.skip > 0;
    switch (d.type) {
      case 1:
        this.connect(b);
        break;
      case 2:
        if (b.length >= 2) this.out.connack = { code: b[1], accepted: b[1] === 0, sessionPresent: (b[0] & 1) === 1 };
        break;
      case 3:
        this.publish(b, d.flags, d.remaining, truncated, fromClient);
        break;
      case 8:
        this.subscribe(b);
        break;
    }
  }

  private connect(b: Buffer): void {
    const end = b.length;
    const name = utf8At(b, 0, end);
    if (name === null) return;
    let p = name[1];
    if (p + 4 > end) return;
    const level = b[p];
    const flags = b[p + 1];
    const keepAlive = b.readUInt16BE(p + 2);
    p += 4;
    this.level = level;
    if (level === 5) {
      const props = properties(b, p, end);
      if (props === null) return;
      p = props.next;
    }
    const c: MqttConnect = {
      protocolName: cleanText(name[0], 16),
      protocolLevel: level,
      clientId: '',
      cleanSession: (flags & 0x02) !== 0,
      keepAlive,
      username: null,
      passwordPresent: (flags & 0x40) !== 0,
      password: null,
      willTopic: null,
      willQos: (flags >> 3) & 3,
      willRetain: (flags & 0x20) !== 0,
    };
    this.out.connect = c;
    const id = utf8At(b, p, end);
    if (id === null) return;
    c.clientId = cleanText(id[0], 256);
    p = id[1];
    if (flags & 0x04) {
      if (level === 5) {
        const props = properties(b, p, end);
        if (props === null) return;
        p = props.next;
      }
      const topic = utf8At(b, p, end);
      if (topic === null) return;
      c.willTopic = cleanText(topic[0], 256);
      p = topic[1];
      if (p + 2 > end) return;
      p += 2 + b.readUInt16BE(p); // will payload
    }
    if (flags & 0x80) {
      const user = utf8At(b, p, end);
      if (user === null) return;
      c.username = cleanText(user[0], 256);
      p = user[1];
    }
    if (flags & 0x40) {
      if (p + 2 > end) return;
      const n = b.readUInt16BE(p);
      if (p + 2 + n > end) return;
      c.password = maskSecret(b.toString('utf8', p + 2, p + 2 + n), c.username);
      c.username = userShown(c.username, c.password);
    }
  }

  private publish(b: Buffer, flags: number, remaining: number, truncated: boolean, fromClient: boolean): void {
    if (this.out.publishes.length >= MAX_PUBLISHES) {
      this.out.morePublishes++;
      return;
    }
    const end = b.length;
    const topic = utf8At(b, 0, end);
    if (topic === null) return;
    let p = topic[1];
    const qos = (flags >> 1) & 3;
    if (qos > 0) p += 2;
    let alias: number | null = null;
    if (this.level === 5) {
      const props = properties(b, p, end);
      if (props === null) return;
      p = props.next;
      alias = props.topicAlias;
    }
    if (p > end) return;
    const payloadLength = remaining - p;
    const head = b.subarray(p, Math.min(end, p + PAYLOAD_HEAD));
    const text = head.toString('utf8');
    // A multi-byte character cut at the end is not "binary": check all but the last 3 bytes strictly.
    const isText = printable(text.replace(/\ufffd{1,3}$/, '')) && head.length > 0;
    this.out.publishes.push({
      fromClient,
      topic: cleanText(topic[0], 512),
      topicAlias: alias,
      qos,
      retain: (flags & 1) !== 0,
      dup: (flags & 8) !== 0,
      payloadLength,
      payloadText: isText ? text : null,
      payloadHex: isText || head.length === 0 ? null : head.toString('hex'),
      payloadTruncated: payloadLength > head.length || truncated,
    });
  }

  private subscribe(b: Buffer): void {
    const end = b.length;
    let p = 2; // packet identifier
    if (this.level === 5) {
      const props = properties(b, p, end);
      if (props === null) return;
      p = props.next;
    }
    for (let i = 0; i < 64 && p < end; i++) {
      const t = utf8At(b, p, end);
      if (t === null || t[1] >= end) return;
      if (this.out.subscriptions.length < MAX_SUBSCRIPTIONS) this.out.subscriptions.push({ topicFilter: cleanText(t[0], 512), qos: b[t[1]] & 3 });
      p = t[1] + 1;
    }
  }

  facts(): MqttFacts {
    return this.out;
  }
}

const MQTT_NAME = Buffer.from('\x00\x04MQTT', 'latin1');
const MQISDP_NAME = Buffer.from('\x00\x06MQIsdp', 'latin1');

/** Does b[p, end) start with (a prefix of) name? 1 yes, 0 prefix so far, -1 no. */
function startsWithName(b: Buffer, p: number, end: number, name: Buffer): number {
  const n = Math.min(end - p, name.length);
  for (let i = 0; i < n; i++) if (b[p + i] !== name[i]) return -1;
  return n === name.length ? 1 : 0;
}

/**
 * Walk the buffer as a sequence of MQTT control packets. YES when it holds a CONNECT with a known
 * protocol name, or a PUBLISH with a printable topic, and everything parses; MAYBE when all is
 * consistent but not telling (pings, acks, a packet still incomplete).
 */
export function probeMqtt(data: Buffer, offset: number, length: number, _fromClient: boolean, ctx: DissectContext): Probe {
  const end = offset + Math.min(length, 2048);
  let p = offset;
  let telling = false;
  let packets = 0;
  while (p < end) {
    const type = data[p] >> 4;
    const flags = data[p] & 0x0f;
    if (!validFlags(type, flags) || type === 15) return Probe.NO;
    const len = varint(data, p + 1, end);
    if (len === null) break;
    if (len[0] < 0) return Probe.NO;
    const body = p + 1 + len[1];
    const stop = body + len[0];
    packets++;
    if (type === 1) {
      const a = startsWithName(data, body, end, MQTT_NAME);
      const b = startsWithName(data, body, end, MQISDP_NAME);
      if (a < 0 && b < 0) return Probe.NO;
      if (a === 1 || b === 1) return Probe.YES;
      return Probe.MAYBE;
    }
    if (type === 3) {
      if (body + 2 <= end) {
        const n = data.readUInt16BE(body);
        if (n === 0 || 2 + n > len[0]) return Probe.NO;
        const tEnd = Math.min(body + 2 + n, end);
        for (let i = body + 2; i < tEnd; i++) {
          const c = data[i];
          if (c < 0x20 || c === 0x7f || c === 0x23 || c === 0x2b) return Probe.NO;
        }
        if (tEnd === body + 2 + n) telling = true;
      }
    } else if ((type === 12 || type === 13 || type === 14) && len[0] !== 0 && type !== 14) return Probe.NO;
    else if (type >= 4 && type <= 7 && len[0] < 2) return Probe.NO;
    if (stop > end) break;
    p = stop;
  }
  if (packets === 0) return length < 5 ? Probe.MAYBE : Probe.NO;
  if (telling) return p >= end || ctx.serverPort === 1883 ? Probe.YES : Probe.MAYBE;
  return ctx.serverPort === 1883 && p === end ? Probe.YES : Probe.MAYBE;
}

export const mqttDissector: Dissector<MqttFacts> = {
  name: 'mqtt',
  transports: ['tcp'],
  probe: probeMqtt,
  start(): DissectorState<MqttFacts> {
    return new MqttState();
  },
};
