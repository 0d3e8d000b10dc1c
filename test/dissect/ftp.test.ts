import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ftpDissector, type FtpFacts } from '../../src/dissect/ftp.js';
import { Probe } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { canFollow, corpusFile, followMatching, plain, runStream, secretLeaks, tsharkFields, type Piece } from './tcp-follow.js';

function conv(...lines: [boolean, string][]): Piece[] {
  return lines.map(([fromClient, s]) => ({ fromClient, data: Buffer.from(s, 'latin1') }));
}

function run(pieces: Piece[], serverPort = 21, opts: { rechunkSeed?: number } = {}) {
  return runStream(ftpDissector, { clientPort: 50000, serverPort, pieces }, { ...opts, reuse: true });
}

function probe(s: string, fromClient: boolean, serverPort = 21): Probe {
  const b = Buffer.from(s, 'latin1');
  return ftpDissector.probe(b, 0, b.length, fromClient, { proto: 6, clientPort: 50000, serverPort, tsUs: 0 });
}

const SESSION = conv(
  [false, '220-Welcome to the camera\r\n220-Authorised users only\r\n220 FTP ready\r\n'],
  [true, 'FEAT\r\n'],
  [false, '211-Features:\r\n AUTH TLS\r\n PBSZ\r\n UTF8\r\n211 End\r\n'],
  [true, 'USER admin\r\n'],
  [false, '331 Password required\r\n'],
  [true, 'PASS wrongpass\r\n'],
  [false, '530 Login incorrect\r\n'],
  [true, 'USER admin\r\n'],
  [false, '331 Password required\r\n'],
  [true, 'PASS 12345\r\n'],
  [false, '230 Logged in\r\n'],
  [true, 'SYST\r\nTYPE I\r\n'],
  [false, '215 UNIX Type: L8\r\n200 ok\r\n'],
  [true, 'STOR /sd/record/2024-01-01.mp4\r\n'],
  [false, '150 Opening data connection\r\n'],
  [false, '226 Transfer complete\r\n'],
  [true, 'RETR firmware.bin\r\n'],
  [false, '550 No such file\r\n'],
);

describe('ftp', () => {
  it('probes greetings and commands', () => {
    expect(probe('220 (vsFTPd 3.0.3)\r\n', false)).toBe(Probe.YES);
    expect(probe('220 ProFTPD Server ready\r\n', false, 2121)).toBe(Probe.YES);
    expect(probe('220 ProFTPD on mail.example.com\r\n', false, 2121)).toBe(Probe.YES);
    expect(probe('220 box ready\r\n', false, 2121)).toBe(Probe.MAYBE);
    expect(probe('220 mx.example.com ESMTP Postfix\r\n', false, 2525)).toBe(Probe.NO);
    expect(probe('22', false)).toBe(Probe.MAYBE);
    expect(probe('USER anonymous\r\n', true)).toBe(Probe.YES);
    expect(probe('FEAT\r\n', true, 2121)).toBe(Probe.YES);
    expect(probe('USER bob\r\n', true, 2121)).toBe(Probe.MAYBE);
    expect(probe('GET / HTTP/1.1\r\n', true)).toBe(Probe.NO);
    expect(probe('SSH-2.0-x\r\n', false)).toBe(Probe.NO);
  });

  it('reads greeting, features, login attempts with results, transfers; no password in clear', () => {
    const r = run(SESSION);
    expect(r.probe).toBe(Probe.YES);
    const f = r.facts as FtpFacts;
    expect(f.greeting).toBe('Welcome to the camera\nAuthorised users only\nFTP ready');
    expect(f.greetingCode).toBe(220);
    expect(f.features).toEqual(['AUTH TLS', 'PBSZ', 'UTF8']);
    expect(f.tlsOffered).toBe(true);
    expect(f.authTls).toBeNull();
    expect(f.system).toBe('UNIX Type: L8');
    expect(f.logins.map((l) => [l.user, l.password?.length, l.result, l.replyCode])).toEqual([
      ['admin', 9, 'failure', 530],
      ['admin', 5, 'success', 230],
    ]);
    expect(f.logins[1].password?.matches_default).toBe(true);
    expect(f.transfers).toEqual([
      { command: 'STOR', path: '/sd/record/2024-01-01.mp4', replyCode: 226 },
      { command: 'RETR', path: 'firmware.bin', replyCode: 550 },
    ]);
    for (const s of ['wrongpass', '12345']) expect(secretLeaks(f, s)).toEqual([]);
    for (let seed = 1; seed <= 30; seed++) expect(plain(run(SESSION, 21, { rechunkSeed: seed }).facts)).toEqual(plain(f));
  });

  it('stops at an accepted AUTH TLS: the rest is encrypted', () => {
    const r = run(conv([false, '220 FTP\r\n'], [true, 'AUTH TLS\r\n'], [false, '234 Proceed with negotiation.\r\n'], [true, '\x16\x03\x01\x00\x50USER x\r\n']));
    expect(r.decided).toBe(true);
    const f = r.facts as FtpFacts;
    expect(f.authTls).toEqual({ mechanism: 'TLS', accepted: true });
    expect(f.encrypted).toBe(true);
    expect(f.logins).toEqual([]);
    const refused = run(conv([false, '220 FTP\r\n'], [true, 'AUTH SSL\r\n'], [false, '504 Unknown AUTH type.\r\n'], [true, 'USER bob\r\n'])).facts as FtpFacts;
    expect(refused.authTls).toEqual({ mechanism: 'SSL', accepted: false });
    expect(refused.encrypted).toBe(false);
    expect(refused.logins[0].user).toBe('bob');
  });

  it('survives fuzzing', () => {
    fuzzDissector(
      ftpDissector,
      SESSION.map((p) => p.data),
    );
  });
});

describe.skipIf(!canFollow)('ftp on the corpus', () => {
  const cases = ['ftp.pcap', 'ftp_failed.pcap'];
  const streams = new Map(cases.map((c) => [c, canFollow ? followMatching(corpusFile(c), 'ftp', [21]) : []]));

  it('agrees with tshark on users, file names, reply codes and with nDPI on the login outcome', () => {
    let users = 0;
    let files = 0;
    for (const c of cases) {
      const path = corpusFile(c);
      const cmds = tsharkFields(path, 'ftp.request', ['tcp.stream', 'ftp.request.command', 'ftp.request.arg']);
      const ss = streams.get(c) ?? [];
      expect(ss.length).toBe(1);
      for (const s of ss) {
        const r = runStream(ftpDissector, s);
        expect(r.probe).toBe(Probe.YES);
        const f = r.facts as FtpFacts;
        const mine = cmds.filter((row) => Number(row[0]) === s.index);
        expect(f.logins.map((l) => l.user)).toEqual(mine.filter((row) => row[1] === 'USER').map((row) => row[2]));
        users += f.logins.length;
        expect(f.transfers.map((t) => t.path)).toEqual(mine.filter((row) => row[1] === 'RETR' || row[1] === 'STOR').map((row) => row[2]));
        files += f.transfers.length;
        const greeting = tsharkFields(path, 'ftp.response.code == 220', ['ftp.response.arg'])[0][0];
        expect(f.greeting).toBe(greeting);
        // No password in clear: take it from tshark only to look for it.
        for (const row of mine.filter((x) => x[1] === 'PASS')) expect(secretLeaks(f, row[2])).toEqual([]);
        const ndpi = readFileSync(corpusFile(c.replace(/\.pcap$/, '.ndpi.out')), 'utf8');
        const failed = ndpi.includes('[Auth Failed]');
        expect(f.logins.some((l) => l.result === 'failure')).toBe(failed);
        expect(f.logins.some((l) => l.result === 'success')).toBe(!failed);
        expect(ndpi).toContain(`[User: ${f.logins[0].user}]`);
      }
    }
    console.log(`ftp: users ${users}/${users}, file names ${files}/${files} agree with tshark; login outcome agrees with nDPI`);
  });

  it('ftp.pcap: anonymous login with a masked password, RETR 1MB.zip', () => {
    const f = runStream(ftpDissector, (streams.get('ftp.pcap') ?? [])[0]).facts as FtpFacts;
    expect(f.logins[0]).toMatchObject({ user: 'anonymous', anonymous: true, result: 'success', replyCode: 230 });
    expect(f.logins[0].password?.length).toBe(6);
    expect(f.transfers).toEqual([{ command: 'RETR', path: '1MB.zip', replyCode: 226 }]);
    expect(f.features).toContain('EPSV');
    expect(f.tlsOffered).toBe(false);
  });

  it('gives the same facts at random piece boundaries', () => {
    for (const ss of streams.values()) {
      for (const s of ss) {
        const base = plain(runStream(ftpDissector, s).facts);
        for (let seed = 1; seed <= 20; seed++) expect(plain(runStream(ftpDissector, s, { rechunkSeed: seed, reuse: true }).facts)).toEqual(base);
      }
    }
  });

  it('survives fuzzing seeded with the captures', () => {
    fuzzDissector(ftpDissector, [...streams.values()].flat().flatMap((s) => s.pieces.slice(0, 12).map((p) => p.data)), 2000, 21);
  });
});
