import { describe, expect, it } from 'vitest';
import { mqttDissector, type MqttFacts } from '../../src/dissect/mqtt.js';
import { Probe } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { canFollow, corpusFile, followMatching, plain, runStream, secretLeaks, tsharkFields, type Piece } from './tcp-follow.js';

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    out.push(d);
  } while (n > 0);
  return Buffer.from(out);
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

function connect5(): Buffer {
  // MQTT 5, flags: user, password, will (QoS 1), clean start; session expiry property; will delay property.
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([5, 0x80 | 0x40 | 0x08 | 0x04 | 0x02, 0, 30]),
    Buffer.from([5, 0x11, 0, 0, 0, 60]),
    str('thermostat-42'),
    Buffer.from([5, 0x18, 0, 0, 0, 5]),
    str('home/thermostat/status'),
    str('offline'),
    str('thermo'),
    str('Hunter2-Hunter2'),
  ]);
  return packet(0x10, body);
}

function publish5(topic: string, payload: Buffer, qos = 0, alias?: number): Buffer {
  const props = alias === undefined ? Buffer.from([0]) : Buffer.from([3, 0x23, alias >> 8, alias & 0xff]);
  return packet(0x30 | (qos << 1), Buffer.concat([str(topic), qos > 0 ? Buffer.from([0, 7]) : Buffer.alloc(0), props, payload]));
}

const LONG = Buffer.from(JSON.stringify({ lat: 48.8584, lon: 2.2945, name: 'x'.repeat(400) }));
const SESSION: Piece[] = [
  { fromClient: true, data: connect5() },
  { fromClient: false, data: packet(0x20, Buffer.from([0, 0, 0])) },
  { fromClient: true, data: packet(0x82, Buffer.concat([Buffer.from([0, 1, 0]), str('home/+/set'), Buffer.from([1]), str('ota/#'), Buffer.from([2])])) },
  { fromClient: true, data: Buffer.concat([publish5('home/thermostat/temp', Buffer.from('{"t":21.5}'), 1), publish5('', LONG, 0, 3)]) },
  { fromClient: false, data: publish5('ota/fw', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])) },
  { fromClient: true, data: Buffer.from([0xc0, 0x00]) },
];

function run(pieces: Piece[], rechunkSeed?: number) {
  return runStream(mqttDissector, { clientPort: 50000, serverPort: 1883, pieces }, { rechunkSeed, reuse: true });
}

function probe(b: Buffer, serverPort = 9000): Probe {
  return mqttDissector.probe(b, 0, b.length, true, { proto: 6, clientPort: 50000, serverPort, tsUs: 0 });
}

describe('mqtt', () => {
  it('probes CONNECT and PUBLISH by structure on any port', () => {
    expect(probe(connect5())).toBe(Probe.YES);
    expect(probe(connect5().subarray(0, 6))).toBe(Probe.MAYBE);
    expect(probe(publish5('a/b', Buffer.from('x')))).toBe(Probe.YES);
    expect(probe(Buffer.from([0xc0, 0x00]))).toBe(Probe.MAYBE);
    expect(probe(Buffer.from([0xc0, 0x00]), 1883)).toBe(Probe.YES);
    expect(probe(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(Probe.NO);
    expect(probe(Buffer.from([0x16, 3, 1, 0, 0xa5, 1]))).toBe(Probe.NO);
    expect(probe(Buffer.from([0x10, 0x20, 0, 4, 0x41, 0x42]))).toBe(Probe.NO);
  });

  it('reads MQTT 5 CONNECT, CONNACK, SUBSCRIBE, PUBLISH (alias, text and binary payloads), at any boundaries', () => {
    const r = run(SESSION);
    expect(r.probe).toBe(Probe.YES);
    const f = r.facts as MqttFacts;
    expect(f.connect).toEqual({
      protocolName: 'MQTT',
      protocolLevel: 5,
      clientId: 'thermostat-42',
      cleanSession: true,
      keepAlive: 30,
      username: 'thermo',
      passwordPresent: true,
      password: expect.objectContaining({ length: 15, masked: 'H*************2' }),
      willTopic: 'home/thermostat/status',
      willQos: 1,
      willRetain: false,
    });
    expect(f.connack).toEqual({ code: 0, accepted: true, sessionPresent: false });
    expect(f.subscriptions).toEqual([
      { topicFilter: 'home/+/set', qos: 1 },
      { topicFilter: 'ota/#', qos: 2 },
    ]);
    expect(f.publishes.map((p) => [p.fromClient, p.topic, p.topicAlias, p.qos, p.payloadLength, p.payloadTruncated])).toEqual([
      [true, 'home/thermostat/temp', null, 1, 10, false],
      [true, '', 3, 0, LONG.length, true],
      [false, 'ota/fw', null, 0, 8, false],
    ]);
    expect(f.publishes[0].payloadText).toBe('{"t":21.5}');
    expect(f.publishes[1].payloadText).toBe(LONG.subarray(0, 256).toString());
    expect(f.publishes[2].payloadHex).toBe('7f454c4602010100');
    expect(f.packets).toEqual({ CONNECT: 1, CONNACK: 1, SUBSCRIBE: 1, PUBLISH: 3, PINGREQ: 1 });
    expect(secretLeaks(f, 'Hunter2-Hunter2')).toEqual([]);
    for (let seed = 1; seed <= 30; seed++) expect(plain(run(SESSION, seed).facts)).toEqual(plain(f));
  });

  it('keeps 32 publishes and counts the rest; stops on garbage', () => {
    const many = Buffer.concat(Array.from({ length: 40 }, (_, i) => packet(0x30, Buffer.concat([str(`t/${i}`), Buffer.from('v')]))));
    const f = run([{ fromClient: true, data: many }]).facts as MqttFacts;
    expect(f.publishes.length).toBe(32);
    expect(f.morePublishes).toBe(8);
    const g = runStream(mqttDissector, { clientPort: 1, serverPort: 1883, pieces: [{ fromClient: true, data: Buffer.from([0xc0, 0, 0x00, 0x01]) }] }, { noProbe: true });
    expect((g.facts as MqttFacts).malformed).toBe(true);
  });

  it('survives fuzzing', () => fuzzDissector(mqttDissector, SESSION.map((p) => p.data)));
});

const CAPTURES: [string, number][] = [
  ['mqtt.pcap', 1883],
  ['sv_mqtt311-pub-userpass.pcap', 1883],
  ['coap_mqtt.pcap', 17501],
];

describe.skipIf(!canFollow)('mqtt on the corpus', () => {
  const streams = new Map(CAPTURES.map(([c, port]) => [c, canFollow ? followMatching(corpusFile(c), 'mqtt', [port], ['-d', 'tcp.port==17501,mqtt']) : []]));

  it('agrees with tshark on CONNECT, CONNACK, PUBLISH and SUBSCRIBE fields; passwords masked', () => {
    const counts = { connect: 0, connack: 0, publish: 0, subscribe: 0, payload: 0, streams: 0 };
    for (const [c] of CAPTURES) {
      const path = corpusFile(c);
      const rows = tsharkFields(
        path,
        'mqtt',
        ['tcp.stream', 'mqtt.msgtype', 'mqtt.protoname', 'mqtt.ver', 'mqtt.clientid', 'mqtt.username', 'mqtt.kalive', 'mqtt.conack.val', 'mqtt.topic', 'mqtt.passwd', 'mqtt.msg'],
        ['-d', 'tcp.port==17501,mqtt', '-E', 'occurrence=a', '-E', 'aggregator=|'],
      );
      for (const s of streams.get(c) ?? []) {
        const r = runStream(mqttDissector, s);
        expect(r.probe, `${c}#${s.index}`).toBe(Probe.YES);
        const f = r.facts as MqttFacts;
        counts.streams++;
        // tshark lists several messages of one frame with '|' between.
        const msgs = rows
          .filter((row) => Number(row[0]) === s.index)
          .flatMap((row) => row[1].split('|').map((t, i) => ({ type: Number(t), row, i })));
        const conn = msgs.find((m) => m.type === 1);
        if (conn) {
          const [, , name, ver, id, user, ka] = conn.row;
          expect(f.connect).toMatchObject({ protocolName: name, protocolLevel: Number(ver), clientId: id, keepAlive: Number(ka) });
          const passwd = conn.row[9];
          // A user name that is also the password is kept masked like the password.
          if (f.connect?.password?.same_as_user) expect(f.connect.username).toBe(f.connect.password.masked);
          else expect(f.connect?.username ?? '').toBe(user);
          if (passwd) {
            const clear = /^[0-9a-f:]+$/.test(passwd) && passwd.includes(':') ? Buffer.from(passwd.replace(/:/g, ''), 'hex').toString() : passwd;
            expect(f.connect?.password?.length).toBe(clear.length);
            // When the password equals the user name (mqtt.pcap), it still shows where the device uses that name in messages.
            const allow = clear === user ? (path: string) => /\.topic$|\.topicFilter$|\.payloadText$/.test(path) : undefined;
            expect(secretLeaks(f, clear, allow)).toEqual([]);
          }
          counts.connect++;
        }
        const ack = msgs.find((m) => m.type === 2);
        if (ack) {
          expect(f.connack?.code).toBe(Number(ack.row[7]));
          counts.connack++;
        }
        const topics = msgs.filter((m) => m.type === 3).map((m) => m.row[8].split('|')[m.row[1].split('|').filter((t, k) => k < m.i && (t === '3' || t === '8')).length] ?? m.row[8]);
        expect(f.publishes.map((p) => p.topic)).toEqual(topics.slice(0, 32));
        counts.publish += f.publishes.length;
        const subs = msgs.filter((m) => m.type === 8);
        counts.subscribe += subs.length;
        expect(f.subscriptions.length).toBe(subs.length);
        // Payload heads against tshark's mqtt.msg (hex; one per PUBLISH of a frame, in order).
        const theirPayloads = rows
          .filter((row) => Number(row[0]) === s.index && row[1].split('|').includes('3'))
          .flatMap((row) => row[10].split('|'));
        f.publishes.forEach((p, i) => {
          const hex = (theirPayloads[i] ?? '').replace(/:/g, '');
          const head = p.payloadHex ?? Buffer.from(p.payloadText ?? '', 'utf8').toString('hex');
          expect(hex.slice(0, head.length), `${c}#${s.index} ${p.topic}`).toBe(head);
          counts.payload++;
        });
      }
    }
    console.log(`mqtt vs tshark on ${counts.streams} streams: CONNECT ${counts.connect}, CONNACK ${counts.connack}, PUBLISH topics ${counts.publish}, SUBSCRIBE ${counts.subscribe}, payload heads ${counts.payload}: all agree`);
  });

  it('mqtt.pcap: the 3.1 (MQIsdp) client with a user name and masked password', () => {
    const [s] = streams.get('mqtt.pcap') ?? [];
    const f = runStream(mqttDissector, s).facts as MqttFacts;
    // Its password is its user name: both are kept masked.
    expect(f.connect).toMatchObject({ protocolName: 'MQIsdp', protocolLevel: 3, username: '0**********3', passwordPresent: true });
    expect(f.connect?.password).toMatchObject({ masked: '0**********3', length: 12, same_as_user: true, score: 0 });
    expect(f.publishes.find((p) => p.topic === 'astr/admin/otaupd8')?.payloadText).toMatch(/^\{ "u": "02D5050223D3"/);
  });

  it('gives the same facts at random piece boundaries', () => {
    for (const ss of streams.values()) {
      for (const s of ss) {
        const base = plain(runStream(mqttDissector, s).facts);
        for (let seed = 1; seed <= 10; seed++) expect(plain(runStream(mqttDissector, s, { rechunkSeed: seed, reuse: true }).facts)).toEqual(base);
      }
    }
  });

  it('survives fuzzing seeded with the captures', () => {
    fuzzDissector(mqttDissector, [...streams.values()].flat().flatMap((s) => s.pieces.slice(0, 6).map((p) => p.data)), 2000, 1883);
  });
});
