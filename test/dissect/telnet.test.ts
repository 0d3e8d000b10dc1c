import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { telnetDissector, type TelnetFacts } from '../../src/dissect/telnet.js';
import { Probe } from '../../src/dissect/types.js';
import { DEFAULT_INSPECTION_LIMITS } from '../../src/dissect/inspector.js';
import { analyze } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { canFollow, corpusFile, followMatching, plain, runStream, secretLeaks, tsharkFields, type Piece } from './tcp-follow.js';

function probe(b: Buffer | string, fromClient: boolean, serverPort = 23): Probe {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  return telnetDissector.probe(buf, 0, buf.length, fromClient, { proto: 6, clientPort: 40000, serverPort, tsUs: 0 });
}

/** A BusyBox-style login typed one key per packet, each echoed by the server (not the password). */
function charByChar(user: string, password: string, outcome: string): Piece[] {
  const p: Piece[] = [
    { fromClient: false, data: Buffer.from([255, 251, 1, 255, 251, 3]) },
    { fromClient: true, data: Buffer.from([255, 253, 1, 255, 253, 3, 255, 250, 24, 0, ...Buffer.from('vt100'), 255, 240]) },
    { fromClient: false, data: Buffer.from('\r\nIPCAM login: ') },
  ];
  for (const c of user) {
    p.push({ fromClient: true, data: Buffer.from(c) });
    p.push({ fromClient: false, data: Buffer.from(c) });
  }
  p.push({ fromClient: true, data: Buffer.from('\r\0') });
  p.push({ fromClient: false, data: Buffer.from('\r\nPassword: ') });
  for (const c of password) p.push({ fromClient: true, data: Buffer.from(c) });
  p.push({ fromClient: true, data: Buffer.from('\r\n') });
  p.push({ fromClient: false, data: Buffer.from(`\r\n${outcome}`) });
  return p;
}

function run(pieces: Piece[], rechunkSeed?: number) {
  return runStream(telnetDissector, { clientPort: 40000, serverPort: 23, pieces }, { rechunkSeed, reuse: true });
}

describe('telnet', () => {
  it('probes IAC negotiation on any port and text on port 23', () => {
    expect(probe(Buffer.from([255, 253, 3, 255, 251, 24]), true, 2323)).toBe(Probe.YES);
    expect(probe(Buffer.from([255, 250, 24, 1, 255, 240]), false, 9999)).toBe(Probe.YES);
    expect(probe(Buffer.from([255]), false, 2323)).toBe(Probe.MAYBE);
    expect(probe(Buffer.from([255, 253, 200]), false, 2323)).toBe(Probe.NO);
    expect(probe('\r\nlogin: ', false)).toBe(Probe.YES);
    expect(probe('\r\nlogin: ', false, 2323)).toBe(Probe.NO);
    expect(probe(Buffer.from([0x16, 3, 1, 0, 0x50, 1]), true)).toBe(Probe.NO);
  });

  it('reads a login typed key by key with echo, backspaces applied; masks the password; success', () => {
    const pieces = charByChar('roott\x7f', 'xc3511', 'BusyBox v1.19.4 built-in shell (ash)\r\n# ');
    const r = run(pieces);
    expect(r.probe).toBe(Probe.YES);
    const f = r.facts as TelnetFacts;
    expect(f.logins).toHaveLength(1);
    expect(f.logins[0].user).toBe('root');
    expect(f.logins[0].password?.length).toBe(6);
    expect(f.logins[0].password?.matches_default).toBe(true);
    expect(f.logins[0].result).toBe('success');
    expect(f.loginPrompt).toBe('IPCAM login:');
    expect(f.terminalType).toBe('vt100');
    expect(f.options.find((o) => o.name === 'ECHO')).toEqual({ code: 1, name: 'ECHO', client: ['DO'], server: ['WILL'] });
    expect(secretLeaks(f, 'xc3511')).toEqual([]);
    for (let seed = 1; seed <= 30; seed++) expect(plain(run(pieces, seed).facts)).toEqual(plain(f));
  });

  it('sees a failed login followed by a second attempt', () => {
    const pieces = [...charByChar('admin', 'guess1', 'Login incorrect\r\n\r\nIPCAM login: '), { fromClient: true, data: Buffer.from('admin\r\n') }];
    pieces.push({ fromClient: false, data: Buffer.from('Password: ') }, { fromClient: true, data: Buffer.from('guess2\r\n') }, { fromClient: false, data: Buffer.from('\r\nLogin incorrect\r\n') });
    const f = run(pieces).facts as TelnetFacts;
    expect(f.logins.map((l) => [l.user, l.password?.length, l.result])).toEqual([
      ['admin', 6, 'failure'],
      ['admin', 6, 'failure'],
    ]);
    for (const s of ['guess1', 'guess2']) expect(secretLeaks(f, s)).toEqual([]);
  });

  it('reads the NEW-ENVIRON USER variable', () => {
    const sb = [255, 250, 39, 0, 0, ...Buffer.from('USER'), 1, ...Buffer.from('alice'), 255, 240];
    const f = run([
      { fromClient: false, data: Buffer.from([255, 253, 39]) },
      { fromClient: true, data: Buffer.from([255, 251, 39, ...sb]) },
      { fromClient: false, data: Buffer.from('Password: ') },
      { fromClient: true, data: Buffer.from('s3cret\r\n') },
      { fromClient: false, data: Buffer.from('\r\nLast login: today\r\n$ ') },
    ]).facts as TelnetFacts;
    expect(f.environUser).toBe('alice');
    expect(f.logins).toEqual([{ user: 'alice', password: expect.objectContaining({ length: 6 }), result: 'success' }]);
  });

  it('survives fuzzing', () => fuzzDissector(telnetDissector, charByChar('root', 'pw', '# ').map((p) => p.data)));
});

describe.skipIf(!canFollow)('telnet on the corpus (telnet.pcap)', () => {
  const path = corpusFile('telnet.pcap');
  const streams = canFollow ? followMatching(path, 'telnet', [23]) : [];

  it('agrees with nDPI on the user and with tshark on the options; masks the password; success', () => {
    expect(streams).toHaveLength(1);
    const s = streams[0];
    const r = runStream(telnetDissector, s);
    expect(r.probe).toBe(Probe.YES);
    const f = r.facts as TelnetFacts;
    const ndpiUser = /\[Username: ([^\]]+)\]/.exec(readFileSync(corpusFile('telnet.ndpi.out'), 'utf8'))?.[1];
    expect(f.logins.map((l) => l.user)).toEqual([ndpiUser]);
    expect(f.logins[0].result).toBe('success');
    expect(f.banner[0]).toBe('OpenBSD/i386 (oof) (ttyp2)');
    expect(f.loginPrompt).toBe('login:');
    expect(f.terminalType).toBe('xterm-color');
    // Options per direction against tshark: telnet.cmd and telnet.subcmd pair up in packets without
    // subnegotiations (tshark also lists IS/SEND sub-commands of SB in telnet.subcmd).
    const rows = tsharkFields(path, 'telnet.subcmd', ['tcp.srcport', 'telnet.cmd', 'telnet.subcmd'], ['-E', 'occurrence=a']);
    let compared = 0;
    for (const [port, side] of [
      [s.clientPort, 'client'],
      [s.serverPort, 'server'],
    ] as const) {
      const verbs = new Set<string>();
      for (const r of rows.filter((x) => Number(x[0]) === port)) {
        const cmds = r[1].split(',').map(Number);
        const opts = r[2].split(',').map(Number);
        if (cmds.includes(250) || cmds.length !== opts.length) continue;
        cmds.forEach((c, i) => verbs.add(`${({ 251: 'WILL', 252: 'WONT', 253: 'DO', 254: 'DONT' } as Record<number, string>)[c]} ${opts[i]}`));
      }
      const ours = new Set(f.options.flatMap((o) => o[side].filter((v) => v !== 'SB').map((v) => `${v} ${o.code}`)));
      for (const v of verbs) expect(ours.has(v), `${side} ${v}`).toBe(true);
      compared += verbs.size;
    }
    const password = typedPassword(s.clientPort);
    expect(password.length).toBeGreaterThan(0);
    expect(f.logins[0].password?.length).toBe(password.length);
    expect(secretLeaks(f, password)).toEqual([]);
    console.log(`telnet: user agrees with nDPI (1/1), ${compared}/${compared} negotiations seen by tshark found`);
  });

  /** The client's line after the server's "Password:", as tshark shows it (taken here only to look for it). */
  function typedPassword(clientPort: number): string {
    const data = tsharkFields(path, 'telnet.data', ['tcp.srcport', 'telnet.data'], ['-E', 'occurrence=a']);
    const at = data.findIndex((r) => /Password/.test(r[1]));
    return data.slice(at + 1).find((r) => Number(r[0]) === clientPort)?.[1].replace(/\\r\\n$|[\r\n]+$/g, '') ?? '';
  }

  it('through the whole pipeline: the password, sent after the first 32 packets (a long option negotiation), is found', async () => {
    const a = await analyze([path], { storeFacts: true });
    try {
      const flows = a.store.db.prepare("SELECT seq, packets_c2s + packets_s2c AS packets FROM flows WHERE app = 'telnet'").all() as { seq: number; packets: number }[];
      expect(flows).toHaveLength(1);
      // Past the inspector's default budget: telnet's own budget is what lets the login be read.
      expect(flows[0].packets).toBeGreaterThan(DEFAULT_INSPECTION_LIMITS.packets);
      const rows = a.store.db.prepare("SELECT facts FROM flow_facts WHERE app = 'telnet'").all() as { facts: string }[];
      const f = JSON.parse(rows[0].facts) as TelnetFacts;
      expect(f.logins).toHaveLength(1);
      expect(f.logins[0].password?.length).toBe(typedPassword(streams[0].clientPort).length);
      expect(f.logins[0].result).toBe('success');
      const codes = (a.store.db.prepare('SELECT code FROM findings').all() as { code: string }[]).map((r) => r.code);
      expect(codes).toContain('cleartext-credentials');
    } finally {
      a.close();
    }
  });

  it('gives the same facts at random piece boundaries', () => {
    const base = plain(runStream(telnetDissector, streams[0]).facts);
    for (let seed = 1; seed <= 30; seed++) expect(plain(runStream(telnetDissector, streams[0], { rechunkSeed: seed, reuse: true }).facts)).toEqual(base);
  });

  it('survives fuzzing seeded with the capture', () => {
    fuzzDissector(telnetDissector, streams[0].pieces.slice(0, 30).map((p) => p.data), 2000, 23);
  });
});
