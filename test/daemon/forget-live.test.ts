/**
 * Forgetting a device while the daemon runs: through another Store in the same process (the
 * dashboard's delete) and through another process (`notcreepy forget`). What the daemon still
 * held in memory about the device (its names, running findings, queued rows, live flows) must
 * not come back; only what the device does afterwards may be recorded, as a new device.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { Daemon } from '../../src/daemon/daemon.js';
import { Store } from '../../src/store/store.js';
import { CAPTURES, REPO } from '../helpers/analysis.js';
import { CAM } from '../helpers/standards.js';
import { waitFor } from '../helpers/netns.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-forget-live-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function forgetDuringReplay(forget: (db: string) => void): Promise<Store> {
  const db = join(dir, 'live.db');
  // lan-standards.pcap at 2x: 2.4 s; findings flushed every 200 ms.
  const daemon = new Daemon({
    db,
    source: { kind: 'replay', files: [join(CAPTURES, 'lan-standards.pcap')], speed: 2 },
    flushIntervalMs: 200,
    version: 'test',
    log: pino({ level: 'silent' }),
  });
  await daemon.start();
  const reader = new Store(db);
  await waitFor('camera findings in the database', 10_000, () =>
    (reader.db.prepare(`SELECT count(*) AS n FROM findings WHERE device_id = ?`).get(CAM) as { n: number }).n > 3 ? true : undefined,
  );
  const before = reader.db.prepare(`SELECT first_seen FROM devices WHERE id = ?`).get(CAM) as { first_seen: number };
  forget(db);
  const forgottenAt = (reader.db.prepare(`SELECT max(last_seen) AS t FROM flows`).get() as { t: number }).t;
  expect(reader.db.prepare(`SELECT id FROM devices WHERE id = ?`).get(CAM)).toBeUndefined();
  await daemon.finished();
  await daemon.stop();
  // Whatever of the camera is stored now began after it was forgotten.
  const after = reader.db.prepare(`SELECT first_seen FROM devices WHERE id = ?`).get(CAM) as { first_seen: number } | undefined;
  if (after !== undefined) expect(after.first_seen).toBeGreaterThan(before.first_seen);
  const oldFlows = reader.db
    .prepare(`SELECT count(*) AS n FROM flows WHERE (device_id = ? OR peer_device_id = ?) AND first_seen < ?`)
    .get(CAM, CAM, forgottenAt - 0.5) as { n: number };
  expect(oldFlows.n).toBe(0);
  const oldFindings = reader.db.prepare(`SELECT count(*) AS n FROM findings WHERE device_id = ? AND first_seen < ?`).get(CAM, forgottenAt - 0.5) as { n: number };
  expect(oldFindings.n).toBe(0);
  expect(reader.db.pragma('integrity_check', { simple: true })).toBe('ok');
  return reader;
}

it('forgets a device deleted through another connection of the same process (the dashboard)', async () => {
  const reader = await forgetDuringReplay((db) => {
    const dashboardStore = new Store(db);
    expect(dashboardStore.forgetDevice(CAM).devices).toBe(1);
    dashboardStore.close();
  });
  reader.close();
});

it('forgets a device deleted by `notcreepy forget` in another process, without failing a write', async () => {
  const reader = await forgetDuringReplay((db) => {
    const r = spawnSync(process.execPath, [join(REPO, 'dist/cli/main.js'), 'forget', CAM, '--db', db], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
  // The log keeps no device id, only a salted hash.
  const log = reader.db.prepare(`SELECT device_hash FROM forget_log`).all() as { device_hash: string }[];
  expect(log.length).toBe(1);
  expect(log[0].device_hash).not.toContain(CAM);
  expect(log[0].device_hash).toMatch(/^[0-9a-f]{64}$/);
  reader.close();
});
