/**
 * What the packaging relies on: `notcreepy health` (the Docker HEALTHCHECK), and the systemd
 * unit printed by `notcreepy systemd-unit`, checked by systemd's own verifier where present.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasTool, REPO } from '../helpers/analysis.js';
import { Store, type DaemonStatus } from '../../src/store/store.js';

const CLI = join(REPO, 'dist/cli/main.js');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-pack-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

function statusAt(updated: Date, running: boolean): DaemonStatus {
  return {
    mode: 'watch', version: '0', pid: 1, started_at: updated.toISOString(), updated_at: updated.toISOString(), running,
    interfaces: ['br-lan'], filter: null, packets: 42, bytes: 4200, malformed: 0, drops_kernel: null, drops_interface: 0,
    drops_queue: 0, packets_per_second: 1, bytes_per_second: 100, flows_live: 3, flows_stored: 7, findings: 1, warnings: [],
  };
}

describe('notcreepy health', () => {
  it('is healthy only while a daemon reports', () => {
    const db = join(dir, 'notcreepy.db');
    expect(run(['health', '--db', db]).stderr).toMatch(/unhealthy: no database/);
    const store = new Store(db);
    expect(run(['health', '--db', db]).stderr).toMatch(/no daemon has reported/);
    store.writeStatus(statusAt(new Date(), true));
    const ok = run(['health', '--db', db]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe('ok: 42 packets, 0 dropped, 3 live flows\n');
    store.writeStatus(statusAt(new Date(Date.now() - 120_000), true));
    expect(run(['health', '--db', db]).stderr).toMatch(/no report for 12\d s/);
    store.writeStatus(statusAt(new Date(), false));
    expect(run(['health', '--db', db]).status).toBe(1);
    store.close();
  });

  it('is what the Dockerfile HEALTHCHECK runs, finding the database where the image keeps it', () => {
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    const cmd = JSON.parse(/HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])/.exec(dockerfile)?.[1] ?? 'null') as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', '/opt/notcreepy/dist/cli/main.js']);
    // The image sets STATE_DIRECTORY=/var/lib/notcreepy; here a temp dir stands in for it.
    expect(dockerfile).toMatch(/ENV STATE_DIRECTORY=\/var\/lib\/notcreepy/);
    const store = new Store(join(dir, 'notcreepy.db'));
    store.writeStatus(statusAt(new Date(), true));
    store.close();
    const r = run(cmd.slice(2), { STATE_DIRECTORY: dir });
    expect(r.status, r.stderr).toBe(0);
    // And the image does not run as root.
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
    expect(users.at(-1)).not.toMatch(/^(root|0)$/);
  });
});

describe('notcreepy systemd-unit', () => {
  it('prints a unit with this installation\'s paths, CAP_NET_RAW only', () => {
    const r = run(['systemd-unit', '--user', 'nobody', '--config', join(dir, 'config.json')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`ExecStart=${process.execPath} ${CLI} watch --config ${join(dir, 'config.json')}`);
    expect(r.stdout).toMatch(/^AmbientCapabilities=CAP_NET_RAW$/m);
    expect(r.stdout).toMatch(/^CapabilityBoundingSet=CAP_NET_RAW$/m);
    expect(r.stdout).toMatch(/^User=nobody$/m);
  });

  it.skipIf(!hasTool('systemd-analyze'))('passes systemd-analyze verify', () => {
    const unit = join(dir, 'notcreepy.service');
    writeFileSync(unit, run(['systemd-unit']).stdout);
    const v = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(v.status, v.stderr).toBe(0);
    expect(v.stderr).not.toMatch(/notcreepy\.service:\d+/);
  });
});
