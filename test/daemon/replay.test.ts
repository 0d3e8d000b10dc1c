/**
 * `notcreepy replay` (capture files through the daemon's live pipeline), `notcreepy forget`, and
 * the daemon's config file. Real CLI processes, real SQLite files.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPTURES, REPO } from '../helpers/analysis.js';
import { pcapRecords, writeVariant } from '../helpers/pcap-edit.js';
import { CAM } from '../helpers/standards.js';
import { ConfigError, defaultConfig, loadConfig, parseConfig } from '../../src/daemon/config.js';

const CLI = join(REPO, 'dist/cli/main.js');
const STANDARDS = join(CAPTURES, 'lan-standards.pcap');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-replay-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

function rows(db: string, sql: string): unknown[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all();
  } finally {
    d.close();
  }
}

const FINDINGS = `SELECT device_id, standard, code, severity, remote, count, first_seen, last_seen FROM findings ORDER BY device_id, code, remote`;
const FLOWS = `SELECT device_id, proto, client_ip, client_port, server_ip, server_port, packets_c2s, packets_s2c, bytes_c2s, bytes_s2c,
  app, encryption, reason, server_name FROM flows ORDER BY client_ip, client_port, server_ip, server_port, first_seen`;

describe('notcreepy replay', () => {
  it('at full speed stores exactly what analyze stores', () => {
    const a = join(dir, 'analyze.db');
    const r = join(dir, 'replay.db');
    expect(run('analyze', STANDARDS, '--db', a).status).toBe(0);
    const out = run('replay', STANDARDS, '--db', r, '--speed', 'max');
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^replayed 290 packets into .*: 35 flows, \d+ findings\n$/);
    const findings = rows(r, FINDINGS);
    expect(findings.length).toBeGreaterThan(10);
    expect(findings).toEqual(rows(a, FINDINGS));
    expect(rows(r, FLOWS)).toEqual(rows(a, FLOWS));
    const status = JSON.parse((rows(r, `SELECT value FROM status`)[0] as { value: string }).value);
    expect(status).toMatchObject({ mode: 'replay', running: false, packets: 290, drops_queue: 0, flows_live: 0 });
  });

  it('keeps the recorded pace at --speed N', () => {
    // lan-standards.pcap spans 4.70 s: at 2x the replay takes at least 2.35 s, well under 4.7 s.
    const started = Date.now();
    const out = run('replay', STANDARDS, '--db', join(dir, 'paced.db'), '--speed', '2');
    const seconds = (Date.now() - started) / 1000;
    expect(out.status, out.stderr).toBe(0);
    expect(seconds).toBeGreaterThanOrEqual(2.35);
    expect(seconds).toBeLessThan(4.7);
  });

  it('replays a cut capture up to the damage and records the warning with its offset', () => {
    const cut = join(dir, 'cut.pcap');
    let cutAt = 0;
    writeVariant(STANDARDS, cut, (bytes) => {
      const records = pcapRecords(bytes);
      cutAt = records[Math.floor(records.length * 0.75)].offset;
      return bytes.subarray(0, cutAt + 20);
    });
    const db = join(dir, 'cut.db');
    const out = run('replay', cut, '--db', db, '--speed', 'max');
    expect(out.status, out.stderr).toBe(0);
    const status = JSON.parse((rows(db, `SELECT value FROM status`)[0] as { value: string }).value);
    expect(status.warnings).toEqual([`${cut}: truncated: file ends inside a packet record at byte offset ${cutAt}`]);
    expect(status.packets).toBeGreaterThan(200);
    expect(rows(db, `SELECT code FROM findings WHERE device_id = '${CAM}'`).length).toBeGreaterThan(0);
  });

  it('refuses bad input with one clear line', () => {
    const notPcap = join(dir, 'notes.txt');
    writeFileSync(notPcap, 'not a capture at all, just some text\n');
    const bad = run('replay', notPcap, '--db', join(dir, 'x.db'), '--speed', 'max');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/notes\.txt/);
    expect(run('replay', STANDARDS, '--db', join(dir, 'x.db'), '--speed', 'fast').stderr).toMatch(/--speed must be a positive number or "max"/);
    expect(run('replay', STANDARDS).stderr).toMatch(/needs --db/);
    expect(run('replay', join(dir, 'missing.pcap'), '--db', join(dir, 'x.db')).stderr).toMatch(/no such file/);
  });
});

describe('notcreepy forget', () => {
  it('deletes one device from a database and says what it deleted', () => {
    const db = join(dir, 'a.db');
    expect(run('analyze', STANDARDS, '--db', db).status).toBe(0);
    const before = (rows(db, `SELECT count(*) AS n FROM findings WHERE device_id = '${CAM}'`)[0] as { n: number }).n;
    const out = run('forget', CAM.toUpperCase(), '--db', db);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain(`forgot ${CAM}:`);
    expect(out.stdout).toContain(`${before} findings`);
    expect(rows(db, `SELECT id FROM devices WHERE id = '${CAM}'`)).toEqual([]);
    expect(rows(db, `SELECT id FROM flows WHERE device_id = '${CAM}' OR peer_device_id = '${CAM}'`)).toEqual([]);
    const again = run('forget', CAM, '--db', db);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/no device/);
  });
});

describe('daemon config file', () => {
  it('gives the documented defaults when the default file does not exist', () => {
    expect(loadConfig(null).retain_days).toBe(defaultConfig().retain_days);
  });

  it('reads a file and refuses mistakes by name', () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ interfaces: ['br-lan'], retain_days: 7, lan_prefixes: ['100.64.0.0/10'], dashboard: { port: 9443 } }));
    const c = loadConfig(file);
    expect(c).toMatchObject({ interfaces: ['br-lan'], retain_days: 7, lan_prefixes: ['100.64.0.0/10'], dashboard: { port: 9443, enabled: true } });
    expect(() => parseConfig({ retain_day: 7 })).toThrow(/unknown key "retain_day"/);
    expect(() => parseConfig({ retain_days: 0 })).toThrow(/retain_days must be an integer from 1 to 3650/);
    expect(() => parseConfig({ lan_prefixes: ['192.168.1.0/33'] })).toThrow(/not a CIDR prefix/);
    expect(() => parseConfig({ dashboard: { cert: '/etc/x.pem' } })).toThrow(/go together/);
    expect(() => parseConfig({ tracker_lists: [{ path: 'x', format: 'csv' }] })).toThrow(/format must be "hosts" or "adblock"/);
    expect(() => parseConfig([])).toThrow(ConfigError);
    writeFileSync(file, '{ "interfaces": [ "br-lan" ');
    expect(() => loadConfig(file)).toThrow(/not valid JSON/);
    expect(() => loadConfig(join(dir, 'nope.json'))).toThrow(/cannot read config/);
  });

  it('makes watch refuse a bad config file with the key named', () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ interfaces: ['lo'], max_db_mb: -1 }));
    const out = run('watch', '--config', file);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/max_db_mb must be an integer from 0/);
  });
});
