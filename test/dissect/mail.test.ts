import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { imapDissector, pop3Dissector, smtpDissector, type ImapFacts, type Pop3Facts, type SmtpFacts } from '../../src/dissect/mail.js';
import { Probe, type Dissector } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { canFollow, corpusFile, followMatching, plain, runStream, secretLeaks, tsharkFields, type Piece } from './tcp-follow.js';

function conv(...lines: [boolean, string][]): Piece[] {
  return lines.map(([fromClient, s]) => ({ fromClient, data: Buffer.from(s, 'latin1') }));
}

function run<F>(d: Dissector<F>, pieces: Piece[], serverPort: number, rechunkSeed?: number) {
  return runStream(d, { clientPort: 50000, serverPort, pieces }, { rechunkSeed, reuse: true });
}

function probe<F>(d: Dissector<F>, s: string, fromClient: boolean, serverPort: number): Probe {
  const b = Buffer.from(s, 'latin1');
  return d.probe(b, 0, b.length, fromClient, { proto: 6, clientPort: 50000, serverPort, tsUs: 0 });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Same facts whatever the piece boundaries. */
function stable<F>(d: Dissector<F>, pieces: Piece[], port: number, seeds = 25): F {
  const base = run(d, pieces, port).facts as F;
  for (let seed = 1; seed <= seeds; seed++) expect(plain(run(d, pieces, port, seed).facts), `seed ${seed}`).toEqual(plain(base));
  return base;
}

const SMTP = conv(
  [false, '220 mail.example.net ESMTP Postfix\r\n'],
  [true, 'EHLO printer.lan\r\n'],
  [false, '250-mail.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 8BITMIME\r\n'],
  [true, 'AUTH LOGIN\r\n'],
  [false, '334 VXNlcm5hbWU6\r\n'],
  [true, `${b64('scanner@example.net')}\r\n`],
  [false, '334 UGFzc3dvcmQ6\r\n'],
  [true, `${b64('Scan2Mail!')}\r\n`],
  [false, '535 5.7.8 Error: authentication failed\r\n'],
  [true, `AUTH PLAIN ${b64('\0scanner@example.net\0Scan2Mail!!')}\r\n`],
  [false, '235 2.7.0 Authentication successful\r\n'],
  [true, 'MAIL FROM:<scanner@example.net>\r\nRCPT TO:<me@example.net>\r\nDATA\r\n'],
  [false, '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n'],
  [true, 'Subject: scan\r\n\r\nAUTH PLAIN not-a-command\r\n.\r\n'],
  [false, '250 2.0.0 Ok: queued\r\n'],
  [true, 'QUIT\r\n'],
  [false, '221 2.0.0 Bye\r\n'],
);

describe('smtp', () => {
  it('probes', () => {
    expect(probe(smtpDissector, '220 mx ESMTP\r\n', false, 25)).toBe(Probe.YES);
    expect(probe(smtpDissector, '220 mx.example ESMTP Exim\r\n', false, 2626)).toBe(Probe.YES);
    expect(probe(smtpDissector, '220 (vsFTPd 3.0.3)\r\n', false, 2626)).toBe(Probe.NO);
    expect(probe(smtpDissector, '220 ProFTPD on mail.example.com\r\n', false, 2626)).toBe(Probe.NO);
    expect(probe(smtpDissector, '220 box ready\r\n', false, 2626)).toBe(Probe.MAYBE);
    expect(probe(smtpDissector, 'EHLO host\r\n', true, 2626)).toBe(Probe.YES);
    expect(probe(smtpDissector, 'USER bob\r\n', true, 2626)).toBe(Probe.NO);
    expect(probe(smtpDissector, '+OK POP3\r\n', false, 25)).toBe(Probe.NO);
  });

  it('reads greeting, EHLO, extensions, AUTH LOGIN and PLAIN with results, and skips message content', () => {
    const f = stable(smtpDissector, SMTP, 587);
    expect(f.greeting).toBe('mail.example.net ESMTP Postfix');
    expect(f.heloCommand).toBe('EHLO');
    expect(f.helo).toBe('printer.lan');
    expect(f.extensions).toContain('STARTTLS');
    expect(f.authMechanisms).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5']);
    expect(f.starttls).toEqual({ offered: true, requested: false, accepted: null });
    expect(f.auth.map((a) => [a.mechanism, a.user, a.password?.length, a.result])).toEqual([
      ['LOGIN', 'scanner@example.net', 10, 'failure'],
      ['PLAIN', 'scanner@example.net', 11, 'success'],
    ]);
    expect(f.messages).toBe(1);
    for (const s of ['Scan2Mail!', b64('Scan2Mail!')]) expect(secretLeaks(f, s)).toEqual([]);
  });

  it('STARTTLS accepted makes the rest encrypted', () => {
    const r = run(smtpDissector, conv([false, '220 mx ESMTP\r\n'], [true, 'EHLO a\r\n'], [false, '250-mx\r\n250 STARTTLS\r\n'], [true, 'STARTTLS\r\n'], [false, '220 2.0.0 Ready to start TLS\r\n'], [true, '\x16\x03\x01\x00\xa5\x01']), 25);
    expect(r.decided).toBe(true);
    const f = r.facts as SmtpFacts;
    expect(f.starttls).toEqual({ offered: true, requested: true, accepted: true });
    expect(f.encrypted).toBe(true);
    const refused = run(smtpDissector, conv([false, '220 mx ESMTP\r\n'], [true, 'STARTTLS\r\n'], [false, '454 4.7.0 TLS not available\r\n']), 25).facts as SmtpFacts;
    expect(refused.starttls).toEqual({ offered: false, requested: true, accepted: false });
    expect(refused.encrypted).toBe(false);
  });

  it('survives fuzzing', () => fuzzDissector(smtpDissector, SMTP.map((p) => p.data)));
});

const POP3 = conv(
  [false, '+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n'],
  [true, 'CAPA\r\n'],
  [false, '+OK Capability list follows\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n'],
  [true, 'USER mrose\r\n'],
  [false, '+OK\r\n'],
  [true, 'PASS tanstaaf\r\n'],
  [false, '-ERR invalid password\r\n'],
  [true, 'AUTH PLAIN\r\n'],
  [false, '+ \r\n'],
  [true, `${b64('\0mrose\0tanstaaf2')}\r\n`],
  [false, '+OK maildrop locked and ready\r\n'],
  [true, 'RETR 1\r\n'],
  [false, '+OK 120 octets\r\nSubject: hi\r\n\r\n+OK this is not a reply\r\n..\r\n.\r\n'],
  [true, 'QUIT\r\n'],
  [false, '+OK bye\r\n'],
);

describe('pop3', () => {
  it('probes', () => {
    expect(probe(pop3Dissector, '+OK ready\r\n', false, 110)).toBe(Probe.YES);
    expect(probe(pop3Dissector, '+OK Dovecot ready.\r\n', false, 1110)).toBe(Probe.YES);
    expect(probe(pop3Dissector, '+O', false, 110)).toBe(Probe.MAYBE);
    expect(probe(pop3Dissector, 'USER bob\r\n', true, 110)).toBe(Probe.YES);
    expect(probe(pop3Dissector, '220 ftp\r\n', false, 110)).toBe(Probe.NO);
  });

  it('reads greeting, APOP offer, CAPA, USER/PASS and AUTH PLAIN results, skipping message content', () => {
    const f = stable(pop3Dissector, POP3, 110);
    expect(f.greeting).toBe('POP3 server ready <1896.697170952@dbc.mtview.ca.us>');
    expect(f.apopOffered).toBe(true);
    expect(f.capabilities).toEqual(['USER', 'STLS', 'SASL PLAIN']);
    expect(f.starttls).toEqual({ offered: true, requested: false, accepted: null });
    expect(f.auth.map((a) => [a.mechanism, a.user, a.password?.length, a.result])).toEqual([
      ['USER', 'mrose', 8, 'failure'],
      ['PLAIN', 'mrose', 9, 'success'],
    ]);
    expect(secretLeaks(f, 'tanstaaf')).toEqual([]);
  });

  it('STLS accepted makes the rest encrypted', () => {
    const r = run(pop3Dissector, conv([false, '+OK ready\r\n'], [true, 'STLS\r\n'], [false, '+OK Begin TLS\r\n'], [true, '\x16\x03\x01']), 110);
    expect(r.decided).toBe(true);
    expect((r.facts as Pop3Facts).starttls).toEqual({ offered: false, requested: true, accepted: true });
    expect((r.facts as Pop3Facts).encrypted).toBe(true);
  });

  it('survives fuzzing', () => fuzzDissector(pop3Dissector, POP3.map((p) => p.data)));
});

// RFC 3501 §8 sample session, with a failed login, a literal and STARTTLS added.
const IMAP = conv(
  [false, '* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN LOGINDISABLED] IMAP4rev1 Service Ready\r\n'],
  [true, 'a001 login mrose tanstaaftanstaaf\r\n'],
  [false, 'a001 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n'],
  [true, 'a002 LOGIN {5}\r\n'],
  [false, '+ Ready for literal\r\n'],
  [true, 'mrose "tan\\"staaf"\r\n'],
  [false, 'a002 OK [CAPABILITY IMAP4rev1 IDLE] LOGIN completed\r\n'],
  [true, 'a003 select inbox\r\n'],
  [false, '* 18 EXISTS\r\n* FLAGS (\\Answered \\Flagged)\r\na003 OK [READ-WRITE] SELECT completed\r\n'],
  [true, 'a004 fetch 12 body[]\r\n'],
  [false, '* 12 FETCH (BODY[] {44}\r\na999 OK fake\r\nSubject: x\r\n\r\nbody text\r\n)\r\na004 OK FETCH completed\r\n'],
  [true, 'a005 AUTHENTICATE PLAIN\r\n'],
  [false, '+ \r\n'],
  [true, `${b64('\0alice\0wonder!land')}\r\n`],
  [false, 'a005 OK Success\r\n'],
  [true, 'a006 LOGOUT\r\n'],
  [false, '* BYE IMAP4rev1 Server logging out\r\na006 OK LOGOUT completed\r\n'],
);

describe('imap', () => {
  it('probes', () => {
    expect(probe(imapDissector, '* OK IMAP4rev1 ready\r\n', false, 993 + 1000)).toBe(Probe.YES);
    expect(probe(imapDissector, '* OK ready\r\n', false, 143)).toBe(Probe.YES);
    expect(probe(imapDissector, '* OK ready\r\n', false, 8143)).toBe(Probe.MAYBE);
    expect(probe(imapDissector, 'a1 CAPABILITY\r\n', true, 8143)).toBe(Probe.YES);
    expect(probe(imapDissector, 'a1 LOGIN bob pw\r\n', true, 143)).toBe(Probe.YES);
    expect(probe(imapDissector, 'GET / HTTP/1.1\r\n', true, 143)).toBe(Probe.NO);
  });

  it('reads greeting, capabilities, LOGIN (atoms, literals, quoted) and AUTHENTICATE results, skipping literals', () => {
    const f = stable(imapDissector, IMAP, 143);
    expect(f.greetingStatus).toBe('OK');
    expect(f.greeting).toBe('IMAP4rev1 Service Ready');
    expect(f.capabilities).toEqual(['IMAP4REV1', 'STARTTLS', 'AUTH=PLAIN', 'LOGINDISABLED', 'IDLE']);
    expect(f.loginDisabled).toBe(true);
    expect(f.starttls).toEqual({ offered: true, requested: false, accepted: null });
    expect(f.auth.map((a) => [a.mechanism, a.user, a.password?.length, a.result])).toEqual([
      ['LOGIN', 'mrose', 16, 'failure'],
      ['LOGIN', 'mrose', 9, 'success'],
      ['PLAIN', 'alice', 11, 'success'],
    ]);
    for (const s of ['tanstaaftanstaaf', 'tan"staaf', 'wonder!land']) expect(secretLeaks(f, s)).toEqual([]);
  });

  it('STARTTLS accepted makes the rest encrypted', () => {
    const r = run(imapDissector, conv([false, '* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n'], [true, 'x1 STARTTLS\r\n'], [false, 'x1 OK Begin TLS negotiation now\r\n'], [true, '\x16\x03\x01']), 143);
    expect(r.decided).toBe(true);
    expect((r.facts as ImapFacts).starttls).toEqual({ offered: true, requested: true, accepted: true });
  });

  it('survives fuzzing', () => fuzzDissector(imapDissector, IMAP.map((p) => p.data)));
});

describe.skipIf(!canFollow)('mail on the corpus', () => {
  it('pop3.pcap: users and passwords (masked) agree with tshark and nDPI; results', () => {
    const path = corpusFile('pop3.pcap');
    const streams = followMatching(path, 'pop', [110]);
    expect(streams.length).toBe(6);
    const reqs = tsharkFields(path, 'pop.request', ['tcp.stream', 'pop.request.command', 'pop.request.parameter']);
    let agreed = 0;
    let total = 0;
    for (const s of streams) {
      const r = runStream(pop3Dissector, s);
      expect(r.probe).toBe(Probe.YES);
      const f = r.facts as Pop3Facts;
      expect(f.greeting).toMatch(/^POP server ready/);
      expect(f.capabilities.length === 0 || f.starttls.offered).toBe(true);
      const mine = reqs.filter((row) => Number(row[0]) === s.index);
      // Expected logins from tshark: USER/PASS pairs, and the base64 line after AUTH PLAIN.
      const expected: { user: string; password: string }[] = [];
      mine.forEach((row, i) => {
        if (row[1].toUpperCase() === 'USER') expected.push({ user: row[2], password: mine[i + 1]?.[2] ?? '' });
        if (row[1].toUpperCase() === 'AUTH' && row[2].toUpperCase() === 'PLAIN') {
          const parts = Buffer.from(mine[i + 1][1], 'base64').toString().split('\0');
          expected.push({ user: parts[1], password: parts[2] });
        }
      });
      total += expected.length;
      expect(f.auth.map((a) => a.user)).toEqual(expected.map((e) => e.user));
      f.auth.forEach((a, i) => {
        expect(a.password?.length).toBe(expected[i].password.length);
        expect(a.result).not.toBeNull();
        agreed++;
      });
      for (const e of expected) expect(secretLeaks(f, e.password)).toEqual([]);
    }
    const ndpi = readFileSync(corpusFile('pop3.ndpi.out'), 'utf8');
    const user = /\[User: ([^\]]+)\]/.exec(ndpi)?.[1];
    const all = streams.map((s) => runStream(pop3Dissector, s).facts as Pop3Facts);
    expect(all.some((f) => f.auth.some((a) => a.user === user && a.mechanism === 'USER' && a.result === 'success'))).toBe(true);
    // The AUTH PLAIN attempts: napier fails, napier123 succeeds (server replies in the capture).
    expect(all.flatMap((f) => f.auth.filter((a) => a.mechanism === 'PLAIN').map((a) => a.result)).sort()).toEqual(['failure', 'success', 'success']);
    console.log(`pop3: logins ${agreed}/${total} agree with tshark (user, password length)`);
  });

  it('smtp-starttls.pcap: STARTTLS offered, requested, accepted: encrypted, decided', () => {
    const path = corpusFile('smtp-starttls.pcap');
    const streams = followMatching(path, 'smtp', [25]);
    expect(streams.length).toBe(2);
    const helos = tsharkFields(path, 'smtp.req.command == "EHLO"', ['tcp.stream', 'smtp.req.parameter']);
    const greetings = tsharkFields(path, 'smtp.response.code == 220', ['tcp.stream', 'smtp.rsp.parameter']);
    for (const s of streams) {
      const r = runStream(smtpDissector, s);
      expect(r.probe).toBe(Probe.YES);
      expect(r.decided).toBe(true);
      const f = r.facts as SmtpFacts;
      expect(f.starttls).toEqual({ offered: true, requested: true, accepted: true });
      expect(f.encrypted).toBe(true);
      expect(f.helo).toBe(helos.find((row) => Number(row[0]) === s.index)?.[1]);
      expect(f.greeting).toBe(greetings.find((row) => Number(row[0]) === s.index)?.[1]);
    }
  });

  it('emotet.pcap: SMTP AUTH LOGIN user agrees with tshark, password masked, success', () => {
    const path = corpusFile('emotet.pcap');
    const [s] = followMatching(path, 'smtp', [587]);
    const r = runStream(smtpDissector, s);
    expect(r.probe).toBe(Probe.YES);
    const f = r.facts as SmtpFacts;
    const lines = tsharkFields(path, 'smtp.auth.username || smtp.auth.password', ['smtp.auth.username', 'smtp.auth.password']);
    const user = Buffer.from(lines[0][0], 'base64').toString();
    const password = Buffer.from(lines.find((l) => l[1] !== '')?.[1] ?? lines[1][0], 'base64').toString();
    expect(f.auth).toHaveLength(1);
    expect(f.auth[0]).toMatchObject({ mechanism: 'LOGIN', user, result: 'success' });
    expect(f.auth[0].password?.length).toBe(password.length);
    expect(f.authMechanisms).toEqual(['LOGIN', 'PLAIN']);
    expect(f.messages).toBe(1);
    expect(secretLeaks(f, password)).toEqual([]);
    for (let seed = 1; seed <= 10; seed++) expect(plain(runStream(smtpDissector, s, { rechunkSeed: seed, reuse: true }).facts)).toEqual(plain(f));
  });

  it('gives the same facts at random piece boundaries (pop3.pcap, smtp-starttls.pcap)', () => {
    for (const [file, d, port] of [
      ['pop3.pcap', pop3Dissector, 110],
      ['smtp-starttls.pcap', smtpDissector, 25],
    ] as const) {
      for (const s of followMatching(corpusFile(file), 'tcp.len > 0', [port])) {
        const base = plain(runStream(d as Dissector<unknown>, s).facts);
        for (let seed = 1; seed <= 10; seed++) expect(plain(runStream(d as Dissector<unknown>, s, { rechunkSeed: seed, reuse: true }).facts)).toEqual(base);
      }
    }
  });

  it('survives fuzzing seeded with the captures', () => {
    const seeds = followMatching(corpusFile('pop3.pcap'), 'pop', [110]).flatMap((s) => s.pieces.slice(0, 10).map((p) => p.data.subarray(0, 600)));
    fuzzDissector(pop3Dissector, seeds, 1500, 110);
    fuzzDissector(smtpDissector, seeds, 1000, 25);
    fuzzDissector(imapDissector, seeds, 1000, 143);
  });
});
