import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sshDissector, type SshFacts } from '../../src/dissect/ssh.js';
import { Probe } from '../../src/dissect/types.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { canFollow, corpusFile, followMatching, plain, runStream, tsharkFields, type Piece } from './tcp-follow.js';

const CTX = { proto: 6, clientPort: 40000, serverPort: 22, tsUs: 0 };

function nameList(s: string): Buffer {
  const b = Buffer.alloc(4 + s.length);
  b.writeUInt32BE(s.length, 0);
  b.write(s, 4, 'latin1');
  return b;
}

function kexinit(lists: string[]): Buffer {
  const payload = Buffer.concat([Buffer.from([20]), Buffer.alloc(16, 7), ...lists.map(nameList), Buffer.from([0, 0, 0, 0, 0])]);
  const pad = 8 - ((5 + payload.length) % 8) + 4;
  const len = 1 + payload.length + pad;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(len, 0);
  head[4] = pad;
  return Buffer.concat([head, payload, Buffer.alloc(pad)]);
}

const LISTS = [
  'curve25519-sha256,diffie-hellman-group1-sha1',
  'ssh-ed25519,ssh-dss',
  'aes128-ctr,3des-cbc',
  'aes128-ctr,arcfour',
  'hmac-sha2-256,hmac-md5',
  'hmac-sha2-256',
  'none,zlib@openssh.com',
  'none',
  '',
  '',
];

function run(pieces: Piece[], opts: { rechunkSeed?: number } = {}) {
  return runStream(sshDissector, { clientPort: 40000, serverPort: 22, pieces }, { ...opts, reuse: true });
}

function probe(s: string | Buffer, fromClient = false, serverPort = 22): Probe {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return sshDissector.probe(b, 0, b.length, fromClient, { ...CTX, serverPort });
}

describe('ssh', () => {
  it('probes identification strings on any port, and pre-banner text on 22', () => {
    expect(probe('SSH-2.0-OpenSSH_9.6\r\n', false, 2222)).toBe(Probe.YES);
    expect(probe('SSH-1.99-Cisco-1.25\r\n', false)).toBe(Probe.YES);
    expect(probe('SS')).toBe(Probe.MAYBE);
    expect(probe('Welcome to the box\r\n')).toBe(Probe.MAYBE);
    expect(probe('Welcome to the box\r\nSSH-2.0-x\r\n')).toBe(Probe.YES);
    expect(probe('Welcome\r\n', false, 80)).toBe(Probe.NO);
    expect(probe('SSH-9.0-x')).toBe(Probe.NO);
    expect(probe('GET / HTTP/1.1\r\n', true)).toBe(Probe.NO);
  });

  it('reads banners, version and both KEXINITs with HASSH, at any piece boundaries', () => {
    const client = Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_7.4 Debian-10+deb9u7\r\n'), kexinit(LISTS)]);
    const server = Buffer.concat([Buffer.from('Hello there\r\nSSH-2.0-dropbear_2019.78\r\n'), kexinit(LISTS)]);
    const pieces: Piece[] = [
      { fromClient: false, data: server },
      { fromClient: true, data: client },
    ];
    const r = run(pieces);
    expect(r.probe).toBe(Probe.YES);
    expect(r.decided).toBe(true);
    const f = r.facts as SshFacts;
    expect(f.version).toBe(2);
    expect(f.client).toEqual({ raw: 'SSH-2.0-OpenSSH_7.4 Debian-10+deb9u7', protoVersion: '2.0', software: 'OpenSSH_7.4', comments: 'Debian-10+deb9u7', preamble: [] });
    expect(f.server?.software).toBe('dropbear_2019.78');
    expect(f.server?.preamble).toEqual(['Hello there']);
    expect(f.clientKex?.ciphersServerToClient).toEqual(['aes128-ctr', 'arcfour']);
    expect(f.clientKex?.kex).toContain('diffie-hellman-group1-sha1');
    expect(f.hassh).toMatch(/^[0-9a-f]{32}$/);
    for (let seed = 1; seed <= 30; seed++) expect(plain(run(pieces, { rechunkSeed: seed }).facts)).toEqual(plain(f));
  });

  it('tells SSH-1 from SSH-2', () => {
    const v = (server: string, client: string) =>
      (run([
        { fromClient: false, data: Buffer.from(`${server}\n`) },
        { fromClient: true, data: Buffer.from(`${client}\n`) },
      ]).facts as SshFacts).version;
    expect(v('SSH-1.99-OpenSSH_3.9', 'SSH-1.5-PuTTY_Release_0.53')).toBe(1);
    expect(v('SSH-1.5-1.2.27', 'SSH-1.5-1.2.27')).toBe(1);
    expect(v('SSH-1.99-OpenSSH_3.9', 'SSH-2.0-OpenSSH_9.0')).toBe(2);
    expect(v('SSH-2.0-OpenSSH_9.0', 'SSH-2.0-Go')).toBe(2);
  });

  it('survives fuzzing', () => {
    fuzzDissector(sshDissector, [
      Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_7.4\r\n'), kexinit(LISTS)]),
      Buffer.from('SSH-1.5-1.2.27\n\x00\x00\x01\x04'),
    ]);
  });
});

describe.skipIf(!canFollow)('ssh on the corpus (ssh.pcap)', () => {
  const path = corpusFile('ssh.pcap');
  const streams = canFollow ? followMatching(path, 'tcp.len > 0', [22, 8000]) : [];

  it('agrees with tshark on banners and with tshark and nDPI on HASSH', () => {
    const tsh = tsharkFields(path, 'ssh.protocol || ssh.kex.hassh || ssh.kex.hasshserver', ['tcp.stream', 'tcp.srcport', 'ssh.protocol', 'ssh.kex.hassh', 'ssh.kex.hasshserver'], ['-d', 'tcp.port==8000,ssh']);
    const ndpi = readFileSync(corpusFile('ssh.ndpi.out'), 'utf8');
    expect(streams.length).toBe(2);
    let banners = 0;
    let hassh = 0;
    for (const s of streams) {
      const r = runStream(sshDissector, s);
      expect(r.probe).toBe(Probe.YES);
      const f = r.facts as SshFacts;
      expect(f.version).toBe(2);
      const rows = tsh.filter((row) => Number(row[0]) === s.index);
      const clientBanner = rows.find((row) => Number(row[1]) === s.clientPort && row[2] !== '')?.[2];
      const serverBanner = rows.find((row) => Number(row[1]) === s.serverPort && row[2] !== '')?.[2];
      expect(f.client?.raw).toBe(clientBanner);
      expect(f.server?.raw).toBe(serverBanner);
      banners += 2;
      const c = rows.find((row) => row[3] !== '')?.[3];
      const sv = rows.find((row) => row[4] !== '')?.[4];
      if (c) expect(f.hassh).toBe(c);
      if (sv) expect(f.hasshServer).toBe(sv);
      // nDPI prints both fingerprints in upper case on the flow's line.
      expect(ndpi).toContain(`[HASSH-C: ${f.hassh?.toUpperCase()}]`);
      expect(ndpi).toContain(`[HASSH-S: ${f.hasshServer?.toUpperCase()}]`);
      hassh += 2;
    }
    console.log(`ssh: banners ${banners}/${banners} agree with tshark, HASSH ${hassh}/${hassh} with nDPI`);
    // The old OpenSSH pair offers arcfour, as nDPI's risk says.
    const old = runStream(sshDissector, streams.find((s) => s.serverPort === 22)!).facts as SshFacts;
    expect(old.serverKex?.ciphersServerToClient).toContain('arcfour128');
  });

  it('gives the same facts at random piece boundaries', () => {
    for (const s of streams) {
      const base = plain(runStream(sshDissector, s).facts);
      for (let seed = 1; seed <= 10; seed++) expect(plain(runStream(sshDissector, s, { rechunkSeed: seed, reuse: true }).facts)).toEqual(base);
    }
  });

  it('survives fuzzing seeded with the capture', () => {
    fuzzDissector(sshDissector, streams.flatMap((s) => s.pieces.slice(0, 4).map((p) => p.data)), 2000, 99);
  });
});
