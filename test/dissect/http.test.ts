import { afterAll, describe, expect, it } from 'vitest';
import { httpDissector, type HttpFacts, type HttpRequestFacts } from '../../src/dissect/http.js';
import { Probe } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import {
  canFollow,
  corpusFile,
  followMatching,
  plain,
  runStream,
  secretLeaks,
  tsharkFields,
  type FollowedStream,
  type Piece,
} from './tcp-follow.js';

const CTX = { proto: 6, clientPort: 50000, serverPort: 80, tsUs: 0 };

function pieces(...parts: [boolean, string | Buffer][]): Piece[] {
  return parts.map(([fromClient, d]) => ({ fromClient, data: typeof d === 'string' ? Buffer.from(d, 'latin1') : d }));
}

function run(ps: Piece[]): HttpFacts {
  const r = runStream(httpDissector, { clientPort: 50000, serverPort: 80, pieces: ps }, { noProbe: true });
  return r.facts as HttpFacts;
}

function req(f: HttpFacts, i: number): HttpRequestFacts {
  const r = f.exchanges[i].request;
  if (r === null) throw new Error(`no request ${i}`);
  return r;
}

function probe(s: string, fromClient = true): Probe {
  const b = Buffer.from(s, 'latin1');
  return httpDissector.probe(b, 0, b.length, fromClient, CTX);
}

const FORM_POST =
  'POST /cgi-bin/login.cgi?lang=en HTTP/1.1\r\nHost: 192.168.1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
  'Content-Length: 43\r\nCookie: sid=abc\r\n\r\nusername=admin&pwd=Sup3r%21Secret&remember=1';
const CHUNKED_RESPONSE =
  'HTTP/1.1 200 OK\r\nServer: lighttpd/1.4\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n' +
  '4\r\n\x7fELF\r\n6;ext=1\r\n\x02\x01\x01\x00\x00\x00\r\n0\r\nX-Trailer: 1\r\n\r\n';

describe('http probe', () => {
  it('claims request lines and status lines, not TLS, RTSP or other text', () => {
    expect(probe('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).toBe(Probe.YES);
    expect(probe('M-SEARCH * HTTP/1.1\r\n')).toBe(Probe.YES);
    expect(probe('PROPFIND /webdav HTTP/1.1\r\n')).toBe(Probe.YES);
    expect(probe('HTTP/1.1 200 OK\r\n', false)).toBe(Probe.YES);
    expect(probe('GET /very/long')).toBe(Probe.MAYBE);
    expect(probe('GE')).toBe(Probe.MAYBE);
    expect(probe('HTTP/1')).toBe(Probe.MAYBE);
    expect(probe('OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n')).toBe(Probe.NO);
    expect(probe('SSH-2.0-OpenSSH_8.2\r\n')).toBe(Probe.NO);
    expect(probe('220 ftp ready\r\n', false)).toBe(Probe.NO);
    expect(probe('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')).toBe(Probe.NO);
    expect(probe('FOO / HTTP/1.1\r\n')).toBe(Probe.NO);
    expect(probe('GET / SIP/2.0\r\n')).toBe(Probe.NO);
  });
});

describe('http requests and responses', () => {
  it('reads a form login: field names, user, masked password, hidden in bodyHead and URI', () => {
    const f = run(pieces([true, FORM_POST], [false, 'HTTP/1.1 302 Found\r\nLocation: /index.html\r\nContent-Length: 0\r\nServer: GoAhead\r\n\r\n']));
    const r = req(f, 0);
    expect(r.method).toBe('POST');
    expect(r.uri).toBe('/cgi-bin/login.cgi?lang=en');
    expect(r.cookie).toBe(true);
    expect(r.contentLength).toBe(43);
    expect(r.form?.fields).toEqual(['username', 'pwd', 'remember']);
    expect(r.form?.user).toBe('admin');
    expect(r.form?.secrets[0].field).toBe('pwd');
    expect(r.form?.secrets[0].secret.length).toBe('Sup3r!Secret'.length);
    expect(r.form?.secrets[0].secret.masked).toBe('S**********t');
    expect(f.exchanges[0].response?.status).toBe(302);
    expect(f.exchanges[0].response?.location).toBe('/index.html');
    expect(f.exchanges[0].response?.server).toBe('GoAhead');
    expect(secretLeaks(f, 'Sup3r!Secret')).toEqual([]);
    expect(secretLeaks(f, 'Sup3r%21Secret')).toEqual([]);
  });

  it('masks password-like query parameters and user:password@ in the URI', () => {
    const f = run(
      pieces(
        [true, 'GET /cgi-bin/snapshot.cgi?user=admin&password=hunter22&chn=1 HTTP/1.1\r\nHost: cam\r\n\r\n'],
        [false, 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\xe0'],
        [true, 'GET http://bob:s3cretpw@example.com/x?pin=1234 HTTP/1.1\r\nHost: example.com\r\n\r\n'],
      ),
    );
    expect(req(f, 0).uri).toBe('/cgi-bin/snapshot.cgi?user=admin&password=***&chn=1');
    expect(req(f, 0).querySecrets.map((s) => [s.field, s.secret.length])).toEqual([['password', 8]]);
    expect(f.exchanges[0].response?.bodyHead).toBe('ffd8ffe0');
    expect(req(f, 1).uri).toBe('http://bob:***@example.com/x?pin=***');
    expect(req(f, 1).uriCredentials?.user).toBe('bob');
    expect(req(f, 1).uriCredentials?.password?.length).toBe(8);
    for (const s of ['hunter22', 's3cretpw', 'pin=1234']) expect(secretLeaks(f, s)).toEqual([]);
  });

  it('pairs pipelined requests with responses, HEAD and 304 without bodies, chunked bodies de-chunked', () => {
    const f = run(
      pieces(
        [true, 'HEAD /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\nIf-None-Match: "x"\r\n\r\nGET /d HTTP/1.1\r\nHost: h\r\n\r\n'],
        [false, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'],
        [false, CHUNKED_RESPONSE],
        [false, 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'],
      ),
    );
    expect(f.exchanges.map((e) => [e.request?.uri, e.response?.status])).toEqual([
      ['/a', 200],
      ['/b', 200],
      ['/c', 304],
      ['/d', 204],
    ]);
    const b = f.exchanges[1].response;
    expect(b?.chunked).toBe(true);
    expect(b?.bodyLength).toBe(10);
    expect(b?.bodyHead).toBe('7f454c46020101000000');
    expect(b?.server).toBe('lighttpd/1.4');
    expect(f.malformed).toBe(false);
  });

  it('keeps at most 16 exchanges and counts the rest', () => {
    let reqs = '';
    for (let i = 0; i < 20; i++) reqs += `GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`;
    let resps = '';
    for (let i = 0; i < 20; i++) resps += 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    const f = run(pieces([true, reqs], [false, resps]));
    expect(f.exchanges.length).toBe(16);
    expect(f.moreRequests).toBe(4);
    expect(f.exchanges.every((e) => e.response?.status === 200)).toBe(true);
  });

  it('reads Authorization schemes: Basic, Digest, NTLM, Bearer; challenges', () => {
    const basic = Buffer.from('root:xc3511').toString('base64');
    const f = run(
      pieces(
        [true, `GET / HTTP/1.1\r\nAuthorization: Basic ${basic}\r\n\r\n`],
        [false, 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm="cam", nonce="abc", qop="auth"\r\nWWW-Authenticate: Basic realm="cam"\r\nContent-Length: 0\r\n\r\n'],
        [true, 'GET / HTTP/1.1\r\nAuthorization: Digest username="admin", realm="cam", nonce="abc", uri="/", response="0123"\r\n\r\n'],
        [true, 'GET / HTTP/1.1\r\nAuthorization: Bearer eyJhbGciOi.secret.token\r\n\r\n'],
      ),
    );
    expect(req(f, 0).authorization?.scheme).toBe('Basic');
    expect(req(f, 0).authorization?.user).toBe('root');
    expect(req(f, 0).authorization?.password?.matches_default).toBe(true);
    expect(f.exchanges[0].response?.wwwAuthenticate).toEqual(['Digest', 'Basic']);
    expect(req(f, 1).authorization).toEqual({ scheme: 'Digest', user: 'admin', password: null, realm: 'cam' });
    expect(req(f, 2).authorization).toEqual({ scheme: 'Bearer', user: null, password: null, realm: null });
    for (const s of ['xc3511', basic, 'eyJhbGciOi.secret.token']) expect(secretLeaks(f, s)).toEqual([]);
  });

  it('finds credentials in JSON and XML (WS-Security PasswordText) bodies', () => {
    const json = '{"username":"alice","password":"Tr0ub4dor&3","remember":true}';
    const xml =
      '<s:Envelope><s:Header><Security><UsernameToken><Username>admin</Username>' +
      '<Password Type="...#PasswordText">camPass!9</Password></UsernameToken></Security></s:Header></s:Envelope>';
    const f = run(
      pieces(
        [true, `POST /api/login HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`],
        [true, `POST /onvif/device_service HTTP/1.1\r\nContent-Type: application/soap+xml\r\nContent-Length: ${xml.length}\r\n\r\n${xml}`],
      ),
    );
    expect(req(f, 0).form?.kind).toBe('json');
    expect(req(f, 0).form?.user).toBe('alice');
    expect(req(f, 0).form?.secrets.map((s) => s.field)).toEqual(['password']);
    expect(req(f, 1).form?.kind).toBe('xml');
    expect(req(f, 1).form?.user).toBe('admin');
    expect(req(f, 1).form?.secrets[0].secret.length).toBe(9);
    for (const s of ['Tr0ub4dor&3', 'camPass!9']) expect(secretLeaks(f, s)).toEqual([]);
  });

  it('reads UPnP AddPortMapping arguments', () => {
    const body =
      '<?xml version="1.0"?><s:Envelope><s:Body><u:AddPortMapping xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">' +
      '<NewRemoteHost></NewRemoteHost><NewExternalPort>8081</NewExternalPort><NewProtocol>TCP</NewProtocol><NewInternalPort>80</NewInternalPort>' +
      '<NewInternalClient>192.168.1.50</NewInternalClient><NewEnabled>1</NewEnabled><NewPortMappingDescription>IPCAM</NewPortMappingDescription>' +
      '<NewLeaseDuration>0</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>';
    const f = run(
      pieces([
        true,
        `POST /upnp/control/WANIPConn1 HTTP/1.1\r\nSOAPAction: "urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping"\r\nContent-Type: text/xml\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ]),
    );
    expect(req(f, 0).soap).toEqual({
      action: 'urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping',
      service: 'urn:schemas-upnp-org:service:WANIPConnection:1',
      operation: 'AddPortMapping',
      portMapping: {
        remoteHost: '',
        externalPort: 8081,
        protocol: 'TCP',
        internalPort: 80,
        internalClient: '192.168.1.50',
        enabled: true,
        description: 'IPCAM',
        leaseDuration: 0,
      },
    });
  });

  it('CONNECT: held bytes after a 407 are parsed; a 200 makes the rest a tunnel', () => {
    const f = run(
      pieces(
        [true, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
        [false, 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n'],
        [true, `CONNECT example.com:443 HTTP/1.1\r\nProxy-Authorization: Basic ${Buffer.from('joe:pr0xyPass').toString('base64')}\r\n\r\n`],
        [true, '\x16\x03\x01\x00\x05hello'],
        [false, 'HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03'],
      ),
    );
    expect(f.exchanges.length).toBe(2);
    expect(f.exchanges[0].response?.proxyAuthenticate).toEqual(['Basic']);
    expect(req(f, 1).proxyAuthorization?.user).toBe('joe');
    expect(f.tunnel).toEqual({ target: 'example.com:443', status: 200, established: true });
    expect(f.malformed).toBe(false);
    expect(secretLeaks(f, 'pr0xyPass')).toEqual([]);
  });

  it('stops at 101 Switching Protocols', () => {
    const r = runStream(
      httpDissector,
      {
        clientPort: 1,
        serverPort: 80,
        pieces: pieces([true, 'GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'], [false, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello']),
      },
      { noProbe: true },
    );
    expect(r.decided).toBe(true);
    expect((r.facts as HttpFacts).upgrade).toBe('websocket');
  });

  it('takes a response seen without its request (capture started mid-connection), and a reversed flow', () => {
    const f = run(pieces([false, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'], [false, 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n']));
    expect(f.exchanges.map((e) => [e.request, e.response?.status])).toEqual([
      [null, 200],
      [null, 404],
    ]);
    const g = run(pieces([false, 'GET / HTTP/1.1\r\n\r\n'], [true, 'HTTP/1.1 204 No Content\r\n\r\n']));
    expect(g.exchanges[0].request?.method).toBe('GET');
    expect(g.exchanges[0].response?.status).toBe(204);
  });

  it('gives the same facts whatever the piece boundaries (every byte boundary of heads and bodies)', () => {
    const client = FORM_POST + 'GET /next HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n';
    const server = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc' + CHUNKED_RESPONSE;
    const whole = plain(run(pieces([true, client], [false, server])));
    for (let k = 1; k < client.length; k++) {
      const f = run(pieces([true, client.slice(0, k)], [true, client.slice(k)], [false, server]));
      expect(plain(f), `client split at ${k}`).toEqual(whole);
    }
    for (let k = 1; k < server.length; k++) {
      const f = run(pieces([true, client], [false, server.slice(0, k)], [false, server.slice(k)]));
      expect(plain(f), `server split at ${k}`).toEqual(whole);
    }
  });

  it('survives fuzzing', () => {
    fuzzDissector(httpDissector, [
      Buffer.from(FORM_POST, 'latin1'),
      Buffer.from(CHUNKED_RESPONSE, 'latin1'),
      Buffer.from('CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01', 'latin1'),
      Buffer.from(`GET / HTTP/1.1\r\nAuthorization: NTLM TlRMTVNTUAADAAAAGAAYAEAAAACoAKgAWAAAABAAEAAAAQAABgAGABABAAATABMAFgEAAAAA\r\n\r\n`, 'latin1'),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Corpus

const HTTP_CAPTURES = [
  'http_auth.pcap',
  'cs_http_dvwa_clearlogin.pcapng',
  'http_connect.pcap',
  'http_ua_splitted_in_two_pkts.pcapng',
  'ja4_http1.pcapng',
  'exe_download.pcap',
  'windowsupdate_over_http.pcap',
  'webdav.pcap',
  'xss.pcap',
  '1kxun.pcap',
  'emotet.pcap',
  'waze.pcap',
  'netflix.pcap',
  'anyconnect-vpn.pcap',
  'iphone.pcap',
  'alexa-app.pcapng',
  'sites.pcapng',
  'zeek_vnd.ms-cab-compressed-multi-conn.pcap',
  'sv_decode-sll2-02.pcap',
];

const streamCache = new Map<string, FollowedStream[]>();
function httpStreams(file: string): FollowedStream[] {
  let s = streamCache.get(file);
  if (s === undefined) {
    s = followMatching(corpusFile(file), 'http.request || http.response', [80, 8080, 3128]);
    streamCache.set(file, s);
  }
  return s;
}

const LIMIT = 16 * 1024;
const FIELDS = ['method', 'uri', 'host', 'userAgent', 'authScheme', 'status', 'server', 'contentType', 'location'] as const;
type Field = (typeof FIELDS)[number];
const stats = Object.fromEntries(FIELDS.map((f) => [f, { compared: 0, agreed: 0 }])) as Record<Field, { compared: number; agreed: number }>;
const coverage = { expected: 0, found: 0 };

describe.skipIf(!canFollow)('http on the corpus', () => {
  afterAll(() => {
    const summary = Object.entries(stats).map(([k, v]) => `${k} ${v.agreed}/${v.compared}`);
    console.log(`http vs tshark: requests within budget found ${coverage.found}/${coverage.expected}; ${summary.join(', ')}`);
  });

  for (const file of HTTP_CAPTURES) {
    it(`agrees with tshark on request and response fields: ${file}`, () => {
      const mismatches: string[] = [];
      const cmp = (field: Field, ours: string | number | null | undefined, theirs: string, where: string) => {
        if (theirs === '') return; // tshark has nothing to compare with
        stats[field].compared++;
        if (String(ours ?? '') === theirs) stats[field].agreed++;
        else mismatches.push(`${where} ${field}: ours=${JSON.stringify(ours)} tshark=${JSON.stringify(theirs)}`);
      };
      const path = corpusFile(file);
      const rows = tsharkFields(path, 'tcp && (http.request || http.response)', [
        'tcp.stream', 'tcp.nxtseq', 'http.request.method', 'http.request.uri', 'http.host', 'http.user_agent', 'http.authorization',
        'http.response.code', 'http.server', 'http.content_type', 'http.location',
      ]);
      let expected = 0;
      let found = 0;
      for (const s of httpStreams(file)) {
        const r = runStream(httpDissector, s);
        expect(r.probe, `${file} stream ${s.index} probe`).toBe(Probe.YES);
        const f = r.facts as HttpFacts;
        const ourReqs = f.exchanges.map((e) => e.request).filter((x) => x !== null);
        const ourRess = f.exchanges.map((e) => e.response).filter((x) => x !== null);
        const mine = rows.filter((row) => Number(row[0]) === s.index);
        const theirReqs = mine.filter((row) => row[2] !== '');
        // Interim responses (100 Continue) are not paired with requests: not ours to list.
        const theirRess = mine.filter((row) => row[7] !== '' && !/^1\d\d$/.test(row[7]));
        // Requests tshark completed within our 16 KiB budget must all be ours.
        const within = theirReqs.filter((row) => Number(row[1]) - 1 <= LIMIT).slice(0, 16);
        expected += within.length;
        found += Math.min(within.length, ourReqs.length);
        theirReqs.slice(0, ourReqs.length).forEach((row, i) => {
          const o = ourReqs[i];
          const where = `${file}#${s.index} req ${i}`;
          cmp('method', o.method, row[2], where);
          if (o.querySecrets.length === 0 && o.uriCredentials === null) cmp('uri', o.uri, row[3].slice(0, 2048), where);
          cmp('host', o.host, row[4], where);
          cmp('userAgent', o.userAgent, row[5], where);
          cmp('authScheme', o.authorization?.scheme, row[6].split(' ')[0], where);
        });
        theirRess.slice(0, ourRess.length).forEach((row, i) => {
          const o = ourRess[i];
          const where = `${file}#${s.index} res ${i}`;
          cmp('status', o.status, row[7], where);
          cmp('server', o.server, row[8], where);
          cmp('contentType', o.contentType, row[9], where);
          cmp('location', o.location, row[10], where);
        });
      }
      coverage.expected += expected;
      coverage.found += found;
      expect(mismatches).toEqual([]);
      expect(found).toBe(expected);
    });
  }

  it('agrees with tshark on NTLM user names (webdav.pcap)', () => {
    const path = corpusFile('webdav.pcap');
    const theirs = tsharkFields(path, 'ntlmssp.messagetype == 3', ['tcp.stream', 'ntlmssp.auth.domain', 'ntlmssp.auth.username']);
    expect(theirs.length).toBeGreaterThan(0);
    let agreed = 0;
    for (const [stream, domain, user] of theirs) {
      const s = httpStreams('webdav.pcap').find((x) => x.index === Number(stream));
      const f = runStream(httpDissector, s as FollowedStream).facts as HttpFacts;
      const users = f.exchanges.map((e) => e.request?.authorization?.user).filter((u) => u);
      const expected = domain && domain !== 'NULL' ? `${domain}\\${user}` : user;
      if (users.includes(expected)) agreed++;
    }
    expect(agreed).toBe(theirs.length);
  });

  it('http_auth.pcap: Basic user, masked password, 401 Basic challenge, no password in facts', () => {
    const [s] = httpStreams('http_auth.pcap');
    const f = runStream(httpDissector, s).facts as HttpFacts;
    const [user, password] = tsharkFields(corpusFile('http_auth.pcap'), 'http.authbasic', ['http.authbasic'])[0][0].split(':');
    const auth = f.exchanges[0].request?.authorization;
    expect(auth?.scheme).toBe('Basic');
    expect(auth?.user).toBe(user);
    expect(auth?.password?.length).toBe(password.length);
    expect(f.exchanges[0].response?.status).toBe(401);
    expect(f.exchanges[0].response?.wwwAuthenticate).toEqual(['Basic']);
    expect(secretLeaks(f, password)).toEqual([]);
    expect(JSON.stringify(f)).not.toContain(`${user}:${password}`);
  });

  it('cs_http_dvwa_clearlogin.pcapng: the form login is found and its password is masked', () => {
    const path = corpusFile('cs_http_dvwa_clearlogin.pcapng');
    const [keyList, valueList] = tsharkFields(path, 'urlencoded-form', ['urlencoded-form.key', 'urlencoded-form.value'], ['-E', 'occurrence=a', '-E', 'aggregator=|'])[0];
    const keys = keyList.split('|');
    const values = valueList.split('|');
    const posts = httpStreams('cs_http_dvwa_clearlogin.pcapng')
      .flatMap((s) => (runStream(httpDissector, s).facts as HttpFacts).exchanges)
      .map((e) => e.request)
      .filter((r) => r?.method === 'POST');
    expect(posts.length).toBe(1);
    const form = posts[0]?.form;
    expect(form?.fields).toEqual(keys);
    expect(form?.user).toBe(values[keys.indexOf('username')]);
    const password = values[keys.indexOf('password')];
    expect(form?.secrets.map((s) => s.field)).toEqual(['password']);
    expect(form?.secrets[0].secret.length).toBe(password.length);
    expect(form?.secrets[0].secret.common).toBe(true);
    // The password here equals its field's name: field names may show it, nothing else.
    for (const s of httpStreams('cs_http_dvwa_clearlogin.pcapng')) {
      const facts = runStream(httpDissector, s).facts;
      expect(secretLeaks(facts, `${keys[1]}=${password}`)).toEqual([]);
      expect(secretLeaks(facts, password, (p) => /\.form\.(fields\[\d+\]|secrets\[\d+\]\.field)$|\.bodyHead$/.test(p))).toEqual([]);
      // bodyHead shows the field name but not the value.
      for (const e of (facts as HttpFacts).exchanges) {
        const head = e.request?.bodyHead;
        if (head) expect(Buffer.from(head, 'hex').toString('latin1')).not.toContain(`=${password}`);
      }
    }
  });

  it('http_connect.pcap: CONNECT target, established tunnel, decided', () => {
    const s = httpStreams('http_connect.pcap').find((x) => x.serverPort === 8080) as FollowedStream;
    const r = runStream(httpDissector, s);
    expect(r.decided).toBe(true);
    const f = r.facts as HttpFacts;
    expect(f.tunnel).toEqual({ target: 'apache.org:443', status: 200, established: true });
    expect(f.malformed).toBe(false);
  });

  it('tls_port_80.pcapng: TLS on port 80 is not claimed', () => {
    const path = corpusFile('tls_port_80.pcapng');
    const streams = followMatching(path, 'tcp.port == 80', [80]);
    expect(streams.length).toBeGreaterThan(0);
    for (const s of streams) expect(runStream(httpDissector, s).probe).toBe(Probe.NO);
  });

  it('ja4_http1.pcapng: UPnP AddAnyPortMapping in clear, firmware download magic bytes', () => {
    const all = httpStreams('ja4_http1.pcapng').map((s) => runStream(httpDissector, s).facts as HttpFacts);
    const soap = all.flatMap((f) => f.exchanges).map((e) => e.request?.soap).filter((x) => x?.operation === 'AddAnyPortMapping');
    expect(soap.length).toBeGreaterThan(0);
    expect(soap[0]?.portMapping).toMatchObject({ externalPort: 21543, protocol: 'TCP', internalPort: 32400, internalClient: '192.168.1.100', description: 'Plex Media Server' });
    const fw = all.flatMap((f) => f.exchanges).find((e) => e.request?.uri.includes('.bin'));
    expect(fw?.request?.userAgent).toBe('Network_Module/1.0 (RX-A8A)');
    expect(fw?.response?.contentType).toBe('application/octet-stream');
    expect(fw?.response?.bodyHead?.length).toBe(128);
  });

  it('binary downloads: the first body bytes carry the file magic (CAB, ELF); a raw ELF upload is not HTTP', () => {
    const cab = httpStreams('zeek_vnd.ms-cab-compressed-multi-conn.pcap').map((s) => runStream(httpDissector, s).facts as HttpFacts);
    const heads = cab.flatMap((f) => f.exchanges.map((e) => e.response?.bodyHead ?? ''));
    expect(heads.some((h) => h.startsWith(Buffer.from('MSCF').toString('hex')))).toBe(true);
    const [elfDownload] = httpStreams('sv_decode-sll2-02.pcap').map((s) => runStream(httpDissector, s).facts as HttpFacts);
    expect(elfDownload.exchanges[0].response?.bodyHead?.startsWith('7f454c46')).toBe(true);
    const path = corpusFile('elf.pcap');
    for (const s of followMatching(path, 'tcp.len > 0')) expect(runStream(httpDissector, s).probe).toBe(Probe.NO);
  });

  it('gives the same facts at random piece boundaries and through a reused buffer', () => {
    let n = 0;
    for (const file of HTTP_CAPTURES.slice(0, 10)) {
      for (const s of httpStreams(file)) {
        const base = plain(runStream(httpDissector, s).facts);
        for (const seed of [1, 2]) {
          expect(plain(runStream(httpDissector, s, { rechunkSeed: seed * 1000 + s.index, reuse: true }).facts), `${file}#${s.index}`).toEqual(base);
        }
        n++;
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('survives fuzzing seeded with corpus streams', () => {
    const seeds = HTTP_CAPTURES.slice(0, 8).flatMap((f) => httpStreams(f).flatMap((s) => s.pieces.slice(0, 2).map((p) => p.data.subarray(0, 1500))));
    fuzzDissector(httpDissector, seeds, 3000, 777);
  });
});

