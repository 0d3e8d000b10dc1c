/**
 * `notcreepy analyze` as a user runs it: the built CLI in a child process, on the captures
 * recorded by captures/record.sh and on damaged copies of them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURES, REPO, hasTool, tsharkConversations, conversationKey } from '../helpers/analysis.js';
import { pcapRecords, writeVariant } from '../helpers/pcap-edit.js';

const CLI = join(REPO, 'dist/cli/main.js');
const BASIC = join(CAPTURES, 'lan-basic.pcap');

let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: npm test builds it first (tsc)');
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: Buffer): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json(args: string[], input?: Buffer) {
  const r = run([...args, '--json'], input);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout);
}

function capinfosCount(file: string): number {
  const out = execFileSync('capinfos', ['-c', '-M', '-T', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return Number(out.trim().split('\t').pop());
}

function expectOneLineError(r: Run, pattern: RegExp): void {
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe('analyze --json on the bundled LAN capture', () => {
  it('reports the capture, its devices and its flows in the documented shape', () => {
    const doc = json(['analyze', BASIC]);
    expect(Object.keys(doc)).toEqual(['capture', 'devices', 'flows']);
    expect(doc.capture).toMatchObject({ files: [BASIC], malformed: 0, warnings: [] });
    expect(doc.capture.flows).toBe(doc.flows.length);
    for (const f of doc.flows) {
      expect(Object.keys(f)).toEqual(
        expect.arrayContaining(['proto', 'src', 'dst', 'device', 'packets', 'bytes', 'first_seen', 'last_seen', 'app', 'encryption', 'reason', 'server_name']),
      );
    }
    for (const d of doc.devices) {
      expect(Object.keys(d)).toEqual(expect.arrayContaining(['mac', 'ips', 'vendor', 'hostname', 'report', 'findings']));
    }
  });

  it.skipIf(!hasTool('capinfos'))('counts every packet capinfos counts', () => {
    expect(json(['analyze', BASIC]).capture.packets).toBe(capinfosCount(BASIC));
  });

  it.skipIf(!hasTool('tshark'))('finds exactly the TCP/UDP conversations tshark finds', () => {
    const doc = json(['analyze', BASIC]);
    const split = (ep: string): [string, number] => {
      const i = ep.lastIndexOf(':');
      return [ep.slice(0, i).replace(/^\[|\]$/g, ''), Number(ep.slice(i + 1))];
    };
    const ours = new Set(
      doc.flows
        .filter((f: { proto: string }) => f.proto === 'tcp' || f.proto === 'udp')
        .map((f: { proto: string; src: string; dst: string }) => conversationKey(f.proto, ...split(f.src), ...split(f.dst))),
    );
    expect([...ours].sort()).toEqual([...tsharkConversations(BASIC)].sort());
  });

  it('gives the same figures for the pcapng, nanosecond, gzip copies and standard input', () => {
    const reference = json(['analyze', BASIC]);
    const summary = (doc: typeof reference) => ({
      packets: doc.capture.packets,
      bytes: doc.capture.bytes,
      flows: doc.flows.map((f: Record<string, unknown>) => [f.proto, f.src, f.dst, f.packets, f.bytes, f.device]),
      devices: doc.devices.map((d: Record<string, unknown>) => [d.id, d.ips, d.hostname, d.vendor]),
    });
    for (const variant of ['lan-basic.pcapng', 'lan-basic.ns.pcap', 'lan-basic.pcap.gz']) {
      expect(summary(json(['analyze', join(CAPTURES, variant)])), variant).toEqual(summary(reference));
    }
    expect(summary(json(['analyze', '-'], readFileSync(BASIC)))).toEqual(summary(reference));
    expect(summary(json(['analyze', '-'], readFileSync(join(CAPTURES, 'lan-basic.pcap.gz'))))).toEqual(summary(reference));
  });

  it('adds up several files in one run', () => {
    const one = json(['analyze', BASIC]).capture.packets;
    const sll = join(CAPTURES, 'lan-any-sll2.pcap');
    const other = json(['analyze', sll]).capture.packets;
    const both = json(['analyze', BASIC, sll]);
    expect(both.capture.packets).toBe(one + other);
    expect(both.capture.files).toEqual([BASIC, sll]);
  });

  it('prints a readable summary naming each device', () => {
    const r = run(['analyze', BASIC]);
    expect(r.status).toBe(0);
    const doc = json(['analyze', BASIC]);
    for (const d of doc.devices) expect(r.stdout).toContain(`Device ${d.id}`);
    expect(r.stdout).toMatch(/packets/);
  });
});

describe('analyze keeps results in SQLite with --db', () => {
  it('writes captures, devices and flows, and adds a run per invocation', () => {
    const db = join(dir, 'keep.db');
    const first = json(['analyze', BASIC, '--db', db]);
    json(['analyze', BASIC, '--db', db]);
    const sql = new Database(db, { readonly: true });
    try {
      expect(sql.prepare(`SELECT count(*) AS n FROM captures`).get()).toEqual({ n: 2 });
      expect(sql.prepare(`SELECT count(*) AS n FROM flows`).get()).toEqual({ n: 2 * first.flows.length });
      // Devices are the same MACs both times: merged, not duplicated.
      expect(sql.prepare(`SELECT count(*) AS n FROM devices`).get()).toEqual({ n: first.devices.length });
      expect(sql.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      sql.close();
    }
  });
});

describe('bad input: one clear line, never a stack trace', () => {
  it('an empty file', () => {
    const f = join(dir, 'empty.pcap');
    writeFileSync(f, '');
    expectOneLineError(run(['analyze', f]), /empty\.pcap: empty file/);
  });

  it('random bytes', () => {
    const f = join(dir, 'random.pcap');
    writeFileSync(f, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    expectOneLineError(run(['analyze', f]), /not a pcap or pcapng capture/);
  });

  it('a text file', () => {
    expectOneLineError(run(['analyze', join(REPO, 'README.md')]), /not a pcap or pcapng capture/);
  });

  it('a missing file', () => {
    expectOneLineError(run(['analyze', join(dir, 'nope.pcap')]), /nope\.pcap: (no such file|cannot read)/);
  });

  it('an unknown link type', () => {
    const f = join(dir, 'usr0.pcap');
    writeVariant(BASIC, f, (b) => {
      b.writeUInt32LE(147, 20); // LINKTYPE_USER0
      return b;
    });
    expectOneLineError(run(['analyze', f]), /unsupported link type 147/);
  });

  it('a file cut in the middle of a packet keeps every packet before the cut and names the offset', () => {
    const bytes = readFileSync(BASIC);
    const records = pcapRecords(bytes);
    const cutRecord = records[Math.floor(records.length / 2)];
    const f = join(dir, 'cut.pcap');
    writeFileSync(f, bytes.subarray(0, cutRecord.data + Math.floor(cutRecord.caplen / 2)));
    const r = run(['analyze', f, '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`byte offset ${cutRecord.offset}`);
    const doc = JSON.parse(r.stdout);
    expect(doc.capture.packets).toBe(records.indexOf(cutRecord));
    expect(doc.capture.warnings.join('\n')).toContain(`byte offset ${cutRecord.offset}`);
  });

  it('an absurd captured length stops the file with a warning, keeping what came before', () => {
    const bytes = readFileSync(BASIC);
    const records = pcapRecords(bytes);
    const bad = records[10];
    const f = join(dir, 'caplen.pcap');
    const copy = Buffer.from(bytes);
    copy.writeUInt32LE(0x7fffffff, bad.offset + 8);
    writeFileSync(f, copy);
    const r = run(['analyze', f, '--json']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`byte offset ${bad.offset}`);
    expect(JSON.parse(r.stdout).capture.packets).toBe(10);
  });

  it('malformed packets are counted and skipped, the rest analysed', () => {
    const bytes = readFileSync(BASIC);
    const records = pcapRecords(bytes);
    // Break the IPv4 header (IHL < 5) of three IPv4-over-Ethernet frames.
    const ipv4 = records.filter((r) => bytes.readUInt16BE(r.data + 12) === 0x0800).slice(0, 3);
    const f = join(dir, 'malformed.pcap');
    const copy = Buffer.from(bytes);
    for (const r of ipv4) copy[r.data + 14] = 0x41;
    writeFileSync(f, copy);
    const doc = json(['analyze', f]);
    expect(doc.capture.malformed).toBe(3);
    expect(doc.capture.packets).toBe(records.length);
  });

  it('usage errors exit with status 2', () => {
    expect(run(['analyze']).status).toBe(2);
    expect(run(['frobnicate']).status).toBe(2);
    expect(run(['analyze', BASIC, '--max-flows', 'lots']).status).toBe(2);
  });

  it('a database it cannot open is one line', () => {
    const notADb = join(dir, 'not-a-db');
    copyFileSync(join(REPO, 'README.md'), notADb);
    const r = run(['analyze', BASIC, '--db', notADb]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
