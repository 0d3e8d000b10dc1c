import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { httpDissector } from '../../src/dissect/http.js';
import { rtspDissector, type RtspFacts } from '../../src/dissect/rtsp.js';
import { Probe } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { canFollow, corpusFile, followMatching, plain, runStream, secretLeaks, tsharkFields, type Piece } from './tcp-follow.js';

function conv(...parts: [boolean, string | Buffer][]): Piece[] {
  return parts.map(([fromClient, d]) => ({ fromClient, data: typeof d === 'string' ? Buffer.from(d, 'latin1') : d }));
}

function probe(s: string, fromClient = true): Probe {
  const b = Buffer.from(s, 'latin1');
  return rtspDissector.probe(b, 0, b.length, fromClient, { proto: 6, clientPort: 50000, serverPort: 554, tsUs: 0 });
}

const basic = Buffer.from('admin:Cam3ra!Pass').toString('base64');
const SESSION = conv(
  [true, 'OPTIONS rtsp://admin:12345@192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)\r\n\r\n'],
  [false, 'RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\nServer: Hikvision RTSP\r\n\r\n'],
  [true, 'DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n'],
  [false, 'RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm="IP Camera", nonce="abc"\r\nWWW-Authenticate: Basic realm="IP Camera"\r\n\r\n'],
  [true, `DESCRIBE rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic ${basic}\r\n\r\n`],
  [false, 'RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Type: application/sdp\r\nContent-Length: 34\r\n\r\nv=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=x\r\n'],
  [true, 'SETUP rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1 RTSP/1.0\r\nCSeq: 4\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nAuthorization: Digest username="admin", realm="IP Camera", nonce="abc", uri="x", response="y"\r\n\r\n'],
  [false, 'RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 1234;timeout=60\r\n\r\n'],
  [true, 'PLAY rtsp://192.168.1.64:554/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 5\r\nSession: 1234\r\n\r\n'],
  [false, Buffer.concat([Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n'), Buffer.from([0x24, 0, 0, 6, 0x80, 0x60, 0, 1, 0, 0]), Buffer.from([0x24, 1, 0, 2, 0x81, 0xc8])])],
  [true, 'GET_PARAMETER rtsp://192.168.1.64:554/ RTSP/1.0\r\nCSeq: 6\r\n\r\n'],
  [false, 'RTSP/1.0 200 OK\r\nCSeq: 6\r\n\r\n'],
);

describe('rtsp', () => {
  it('probes RTSP request and status lines, not HTTP; HTTP does not take RTSP', () => {
    expect(probe('OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n')).toBe(Probe.YES);
    expect(probe('GET_PARAMETER rtsp://cam/ RTSP/1.0\r\n')).toBe(Probe.YES);
    expect(probe('RTSP/1.0 200 OK\r\n', false)).toBe(Probe.YES);
    expect(probe('DESCRIBE rtsp://cam/very/long')).toBe(Probe.MAYBE);
    expect(probe('OPTIONS * HTTP/1.1\r\n')).toBe(Probe.NO);
    expect(probe('HTTP/1.1 200 OK\r\n', false)).toBe(Probe.NO);
    const b = Buffer.from('OPTIONS rtsp://cam/ RTSP/1.0\r\n');
    expect(httpDissector.probe(b, 0, b.length, true, { proto: 6, clientPort: 1, serverPort: 554, tsUs: 0 })).toBe(Probe.NO);
  });

  it('reads requests and responses, credentials in URL and Authorization masked, interleaved frames skipped', () => {
    const r = runStream(rtspDissector, { clientPort: 50000, serverPort: 554, pieces: SESSION }, { reuse: true });
    expect(r.probe).toBe(Probe.YES);
    const f = r.facts as RtspFacts;
    expect(f.requests.map((q) => [q.method, q.cseq])).toEqual([
      ['OPTIONS', 1],
      ['DESCRIBE', 2],
      ['DESCRIBE', 3],
      ['SETUP', 4],
      ['PLAY', 5],
      ['GET_PARAMETER', 6],
    ]);
    expect(f.requests[0].url).toBe('rtsp://admin:***@192.168.1.64:554/Streaming/Channels/101');
    expect(f.requests[0].urlCredentials).toMatchObject({ scheme: 'userinfo', user: 'admin', password: expect.objectContaining({ length: 5, matches_default: true }) });
    expect(f.requests[0].userAgent).toBe('LibVLC/3.0.18 (LIVE555 Streaming Media v2016.11.28)');
    expect(f.requests[2].authorization).toMatchObject({ scheme: 'Basic', user: 'admin', password: expect.objectContaining({ length: 11 }) });
    expect(f.requests[3].authorization).toEqual({ scheme: 'Digest', user: 'admin', password: null, realm: 'IP Camera' });
    expect(f.requests[3].transport).toBe('RTP/AVP/TCP;unicast;interleaved=0-1');
    expect(f.responses.map((s) => [s.status, s.cseq])).toEqual([
      [200, 1],
      [401, 2],
      [200, 3],
      [200, 4],
      [200, 5],
      [200, 6],
    ]);
    expect(f.responses[0].server).toBe('Hikvision RTSP');
    expect(f.responses[1].wwwAuthenticate).toEqual(['Digest', 'Basic']);
    expect(f.interleavedFrames).toBe(true);
    expect(f.malformed).toBe(false);
    for (const s of ['12345', 'Cam3ra!Pass', basic]) expect(secretLeaks(f, s)).toEqual([]);
    for (let seed = 1; seed <= 30; seed++) {
      expect(plain(runStream(rtspDissector, { clientPort: 50000, serverPort: 554, pieces: SESSION }, { rechunkSeed: seed, reuse: true }).facts)).toEqual(plain(f));
    }
  });

  it('survives fuzzing', () => fuzzDissector(rtspDissector, SESSION.map((p) => p.data)));
});

describe.skipIf(!canFollow)('rtsp on the corpus (rtsp.pcap)', () => {
  const path = corpusFile('rtsp.pcap');
  const decode = ['-d', 'tcp.port==8554,rtsp'];
  const streams = canFollow ? followMatching(path, 'rtsp', [8554], decode) : [];

  it('agrees with tshark on methods, URLs, transports, status codes and with nDPI on the User-Agent', () => {
    const rows = tsharkFields(path, 'rtsp && !tcp.analysis.retransmission', ['tcp.stream', 'rtsp.method', 'rtsp.url', 'rtsp.status', 'rtsp.transport'], decode);
    const ndpiUa = /\[User-Agent: ([^\]]+)\]/.exec(readFileSync(corpusFile('rtsp.ndpi.out'), 'utf8'))?.[1];
    expect(streams.length).toBe(7);
    let reqs = 0;
    let ress = 0;
    for (const s of streams) {
      const r = runStream(rtspDissector, s);
      expect(r.probe).toBe(Probe.YES);
      const f = r.facts as RtspFacts;
      const mine = rows.filter((row) => Number(row[0]) === s.index);
      const theirReqs = mine.filter((row) => row[1] !== '');
      const theirRess = mine.filter((row) => row[3] !== '');
      expect(f.requests.map((q) => [q.method, q.url, q.transport ?? ''])).toEqual(theirReqs.slice(0, 16).map((row) => [row[1], row[2], row[4]]));
      expect(f.responses.map((q) => q.status)).toEqual(theirRess.slice(0, 16).map((row) => Number(row[3])));
      for (const q of f.requests) expect(q.userAgent).toBe(ndpiUa);
      expect(f.responses.every((q) => q.server === 'VLC/3.0.12')).toBe(true);
      reqs += f.requests.length;
      ress += f.responses.length;
    }
    console.log(`rtsp vs tshark: ${reqs} requests, ${ress} responses on 7 streams agree; User-Agent agrees with nDPI`);
  });

  it('gives the same facts at random piece boundaries', () => {
    for (const s of streams) {
      const base = plain(runStream(rtspDissector, s).facts);
      for (let seed = 1; seed <= 10; seed++) expect(plain(runStream(rtspDissector, s, { rechunkSeed: seed, reuse: true }).facts)).toEqual(base);
    }
  });

  it('survives fuzzing seeded with the capture', () => {
    fuzzDissector(rtspDissector, streams.flatMap((s) => s.pieces.slice(0, 8).map((p) => p.data.subarray(0, 1200))), 2000, 554);
  });
});
