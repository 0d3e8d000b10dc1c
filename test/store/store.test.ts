import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/schema.js';
import { Store, StoreError } from '../../src/store/store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('store', () => {
  it('creates the schema at the latest version, in WAL mode', () => {
    const store = new Store(join(dir, 'a.db'));
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = (store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['captures', 'devices', 'device_ips', 'flows', 'findings', 'capture_devices']));
    store.close();
  });

  it('reopens an existing database without migrating it again', () => {
    const path = join(dir, 'a.db');
    const s1 = new Store(path);
    const id = s1.beginCapture('analyze', ['x.pcap']);
    s1.close();
    const s2 = new Store(path);
    expect(s2.capture(id)?.files).toEqual(['x.pcap']);
    s2.close();
  });

  it('refuses a database written by a newer notcreepy, with a clear message', () => {
    const path = join(dir, 'future.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    raw.close();
    expect(() => new Store(path)).toThrow(StoreError);
    expect(() => new Store(path)).toThrow(/newer than this notcreepy/);
  });

  it('gives a one-line error for a path it cannot open', () => {
    expect(() => new Store(join(dir, 'no/such/dir/x.db'))).toThrow(/cannot open database/);
  });

  it('refuses a finding with an unknown severity or standard', () => {
    const store = new Store(join(dir, 'a.db'));
    store.upsertDevices([
      { id: 'aa:bb:cc:dd:ee:ff', mac: 'aa:bb:cc:dd:ee:ff', locally_administered: 0, vendor: null, hostname: null, vendor_class: null, dhcp_fingerprint: null, first_seen: 1, last_seen: 2, ips: [] },
    ]);
    const insert = store.db.prepare(
      `INSERT INTO findings (device_id, standard, code, severity, title, detail, first_seen, last_seen) VALUES ('aa:bb:cc:dd:ee:ff', ?, 'x', ?, 't', 'd', 1, 1)`,
    );
    expect(() => insert.run(6, 'high')).toThrow();
    expect(() => insert.run(1, 'dreadful')).toThrow();
    expect(() => insert.run(1, 'high')).not.toThrow();
    store.close();
  });
});
