/**
 * `notcreepy watch` as a real child process on the bridge of a gateway namespace, with real
 * clients (curl, openssl s_client) in a device namespace talking to real servers (python's
 * http.server, openssl s_server) in an "internet" namespace. Everything is read back from the
 * daemon's SQLite file. Skipped (with the reason) where namespaces cannot be made (not root).
 */
import Database from 'better-sqlite3';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/analysis.js';
import { pcapBatch } from '../../src/capture/pcap-batch.js';
import { CAM as CAM_ID } from '../helpers/standards.js';
import { canMakeNamespaces, createHomeNet, DEV_MAC, exited, INET_IP, waitFor, type HomeNet } from '../helpers/netns.js';

const MAIN = join(REPO, 'dist/cli/main.js');
const usable = canMakeNamespaces();
if (!usable) console.warn('watch tests skipped: they need root and network namespaces (ip netns)');

let net: HomeNet;
let dir: string;
let certDir: string;

beforeAll(() => {
  if (!usable) return;
  certDir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=update.example.test',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
  net = createHomeNet();
  net.spawn(net.inet, ['python3', '-m', 'http.server', '80', '--bind', INET_IP, '--directory', certDir]);
  net.spawn(net.inet, ['openssl', 's_server', '-quiet', '-accept', `${INET_IP}:443`, '-cert', join(certDir, 'cert.pem'), '-key', join(certDir, 'key.pem'), '-www']);
  waitForListening('tcp', 80);
  waitForListening('tcp', 443);
}, 60_000);

afterAll(() => {
  if (!usable) return;
  net.destroy();
  rmSync(certDir, { recursive: true, force: true });
});

let daemons: ChildProcess[] = [];
afterEach(() => {
  for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  daemons = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function waitForListening(proto: 'tcp', port: number): void {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const out = net.exec(net.inet, ['ss', '-Hln', proto === 'tcp' ? '-t' : '-u']);
    if (out.includes(`:${port} `)) return;
    execFileSync('sleep', ['0.1']);
  }
  throw new Error(`nothing listening on ${proto}/${port} in the internet namespace`);
}

interface Running {
  child: ChildProcess;
  stderr: () => string;
}

/** Starts the daemon in the gateway namespace and waits for its start line. */
async function startDaemon(db: string, extra: string[] = [], options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Running> {
  const child = net.spawn(net.gw, ['node', MAIN, 'watch', '--interface', net.bridge, '--db', db, '--no-dashboard', ...extra], options);
  daemons.push(child);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  child.stdout!.resume();
  await waitFor('the daemon to start', 15_000, () => {
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${err}`);
    return err.includes('notcreepy watch started') ? true : undefined;
  });
  return { child, stderr: () => err };
}

function openDb(path: string): Database.Database {
  return new Database(path, { readonly: true, fileMustExist: true });
}

function findingCodes(path: string, device: string): string[] {
  const db = openDb(path);
  try {
    return (db.prepare(`SELECT code FROM findings WHERE device_id = ? ORDER BY code`).all(device) as { code: string }[]).map((r) => r.code);
  } finally {
    db.close();
  }
}

/** The device logs in with a default password over HTTP, then does one TLS handshake. */
function deviceTraffic(): void {
  net.exec(net.dev, ['curl', '-sS', '--noproxy', '*', '-o', '/dev/null', '-u', 'admin:admin', `http://${INET_IP}/`]);
  net.exec(net.dev, ['sh', '-c', `openssl s_client -connect ${INET_IP}:443 -servername update.example.test </dev/null >/dev/null 2>&1`]);
}

describe.skipIf(!usable)('notcreepy watch on a gateway bridge', () => {
  // Both capture bindings: the project's batched one (when built) and cap.
  const backends = [...(pcapBatch() !== null ? ['pcap-batch'] : []), 'cap'];
  it.each(backends)('stores devices, flows with verdicts and findings within seconds, and stops cleanly on SIGTERM (%s)', async (backend) => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    const db = join(dir, 'watch.db');
    const d = await startDaemon(db, [], { env: { ...process.env, NOTCREEPY_CAPTURE: backend } });
    expect(d.stderr()).toContain(`"capture":"${backend}"`);
    const sent = Date.now();
    deviceTraffic();
    await waitFor('the cleartext-credentials finding in the database', 10_000, () =>
      findingCodes(db, DEV_MAC).includes('cleartext-credentials') ? true : undefined,
    );
    const latencyMs = Date.now() - sent;
    console.log(`finding stored ${latencyMs} ms after the traffic began`);
    expect(findingCodes(db, DEV_MAC)).toEqual(expect.arrayContaining(['cleartext-credentials', 'default-credentials']));

    const stopAsked = Date.now();
    d.child.kill('SIGTERM');
    const end = await exited(d.child);
    expect(end).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAsked).toBeLessThan(5000);

    const r = openDb(db);
    try {
      const flows = r
        .prepare(`SELECT app, encryption, server_ip, server_port, device_id FROM flows WHERE server_ip = ? ORDER BY server_port`)
        .all(INET_IP) as { app: string; encryption: string; server_port: number; device_id: string }[];
      expect(flows.map((f) => [f.server_port, f.app, f.encryption, f.device_id])).toEqual([
        [80, 'http', 'plaintext', DEV_MAC],
        [443, 'tls', 'encrypted', DEV_MAC],
      ]);
      const status = JSON.parse((r.prepare(`SELECT value FROM status WHERE key = 'daemon'`).get() as { value: string }).value);
      expect(status).toMatchObject({ mode: 'watch', running: false, interfaces: ['br0'], drops_queue: 0 });
      expect(status.packets).toBeGreaterThan(10);
      const capture = r.prepare(`SELECT mode, finished_at FROM captures`).get() as { mode: string; finished_at: string | null };
      expect(capture.mode).toBe('watch');
      expect(capture.finished_at).not.toBeNull();
      expect(r.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      r.close();
    }
    expect(d.stderr()).toMatch(/"interfaces":\["br0"\]/);
    // Nothing per packet in the log: a handful of lines for the whole run.
    expect(d.stderr().trim().split('\n').length).toBeLessThan(10);
  });

  it('serves the dashboard over HTTPS from the daemon, with a one-time setup token and no default password', async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    const db = join(dir, 'watch.db');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ dashboard: { host: '127.0.0.1', port: 8443 } }));
    const child = net.spawn(net.gw, ['node', MAIN, 'watch', '--interface', net.bridge, '--db', db, '--config', config]);
    daemons.push(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const token = await waitFor('the setup token in the log', 15_000, () => {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${err}`);
      return /one-time setup token ([A-Z0-9-]+)/.exec(err)?.[1];
    });
    const auth = JSON.parse(net.exec(net.gw, ['curl', '-sk', 'https://127.0.0.1:8443/api/auth']));
    expect(auth).toMatchObject({ setup_required: true, authenticated: false, https: true });
    expect(net.exec(net.gw, ['curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', 'https://127.0.0.1:8443/api/devices'])).toBe('401');
    // Setting the password with the token logs in; the daemon's findings are then readable.
    deviceTraffic();
    await waitFor('findings', 10_000, () => (findingCodes(db, DEV_MAC).includes('cleartext-credentials') ? true : undefined));
    const jar = join(dir, 'cookies');
    const setup = net.exec(net.gw, ['curl', '-sk', '-c', jar, '-H', 'content-type: application/json', '-H', 'x-notcreepy-request: 1',
      '-d', JSON.stringify({ token, password: 'correct horse battery staple' }), 'https://127.0.0.1:8443/api/setup']);
    expect(JSON.parse(setup)).toMatchObject({ authenticated: true, setup_required: false });
    const devices = JSON.parse(net.exec(net.gw, ['curl', '-sk', '-b', jar, 'https://127.0.0.1:8443/api/devices']));
    expect(JSON.stringify(devices)).toContain(DEV_MAC);
    child.kill('SIGTERM');
    expect((await exited(child)).code).toBe(0);
  });

  it('loses no committed finding when killed with SIGKILL under traffic, and reopens a sound database', async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    const db = join(dir, 'watch.db');
    const first = await startDaemon(db);
    deviceTraffic();
    await waitFor('findings', 10_000, () => (findingCodes(db, DEV_MAC).includes('default-credentials') ? true : undefined));
    // Heavy traffic while it dies: a bundled capture replayed at full speed onto the bridge.
    const replay = net.spawn(net.gw, ['tcpreplay', '-q', '--topspeed', '-l', '0', '-i', 'inj-peer', join(REPO, 'captures/lan-standards.pcap')]);
    await new Promise((r) => setTimeout(r, 1500));
    const committed = findingCodes(db, DEV_MAC);
    first.child.kill('SIGKILL');
    await exited(first.child);
    replay.kill('SIGKILL');

    const check = openDb(db);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    const second = await startDaemon(db);
    expect(findingCodes(db, DEV_MAC)).toEqual(expect.arrayContaining(committed));
    second.child.kill('SIGTERM');
    expect((await exited(second.child)).code).toBe(0);
    const after = openDb(db);
    try {
      expect(after.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((after.prepare(`SELECT count(*) AS n FROM captures WHERE mode = 'watch'`).get() as { n: number }).n).toBe(2);
    } finally {
      after.close();
    }
  });

  it('keeps running under overload with a bounded queue, counting the packets it drops', async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    const db = join(dir, 'watch.db');
    // A deliberately tiny queue so that a full-speed replay must overflow it.
    const d = await startDaemon(db, ['--queue-frames', '64']);
    const replay = net.spawn(net.gw, ['tcpreplay', '-q', '--topspeed', '-l', '300', '-i', 'inj-peer', join(REPO, 'captures/lan-standards.pcap')]);
    await exited(replay);
    await new Promise((r) => setTimeout(r, 6000));
    const pid = d.child.pid!;
    expect(d.child.exitCode).toBeNull();
    const r = openDb(db);
    const status = JSON.parse((r.prepare(`SELECT value FROM status WHERE key = 'daemon'`).get() as { value: string }).value);
    r.close();
    expect(status.running).toBe(true);
    // What it could not take is counted (in our queue, or lost before it in libpcap's ring).
    expect(status.packets).toBeGreaterThan(0);
    expect(status.drops_queue + status.drops_kernel).toBeGreaterThan(0);
    expect(status.packets + status.drops_queue + status.drops_kernel).toBeGreaterThan(80_000);
    expect(d.stderr()).toMatch(/packets dropped/);
    // Resident memory of the daemon (`ip netns exec` execs node in place: same pid).
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    console.log(
      `overload: ${status.packets} packets analysed, ${status.drops_queue} dropped by the queue, ${status.drops_kernel} lost before it, RSS ${Math.round(rssKb / 1024)} MB`,
    );
    expect(rssKb).toBeLessThan(200 * 1024);
    // And after the flood it still sees what a device does.
    deviceTraffic();
    await waitFor('a finding after the flood', 10_000, () => (findingCodes(db, DEV_MAC).includes('cleartext-credentials') ? true : undefined));
    d.child.kill('SIGTERM');
    expect((await exited(d.child)).code).toBe(0);
  });

  it('started as root with --user, keeps capturing as that user with no capability, and reloads on SIGHUP', async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    chmodSync(dir, 0o777);
    const db = join(dir, 'watch.db');
    const log = join(dir, 'notcreepy.log');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ retain_days: 30 }));
    const child = net.spawn(net.gw, ['node', MAIN, 'watch', '--interface', net.bridge, '--db', db, '--no-dashboard', '--user', 'nobody', '--config', config, '--log-file', log]);
    daemons.push(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const logText = (): string => {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return '';
      }
    };
    await waitFor('the start line in the log file', 15_000, () => {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${err}`);
      return logText().includes('notcreepy watch started') ? true : undefined;
    });
    expect(logText()).toMatch(/dropped root: running as an unprivileged user/);
    const proc = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    expect(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(proc)?.slice(1)).toEqual(['65534', '65534', '65534']);
    expect(/^CapEff:\s+(\S+)/m.exec(proc)?.[1]).toBe('0000000000000000');
    deviceTraffic();
    await waitFor('a finding captured after dropping root', 10_000, () => (findingCodes(db, DEV_MAC).includes('cleartext-credentials') ? true : undefined));
    // logrotate moves the file away; SIGHUP reopens it and reloads the config.
    writeFileSync(config, JSON.stringify({ retain_days: 7 }));
    execFileSync('mv', [log, `${log}.1`]);
    child.kill('SIGHUP');
    await waitFor('the reload line in the new log file', 10_000, () => (logText().includes('configuration reloaded (SIGHUP)') ? true : undefined));
    expect(logText()).toMatch(/"retainDays":7/);
    child.kill('SIGTERM');
    expect((await exited(child)).code).toBe(0);
  });

  it('deletes data last seen before its retention period when it starts, keeping the rest', async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    const db = join(dir, 'watch.db');
    execFileSync('node', [MAIN, 'analyze', join(REPO, 'captures/lan-standards.pcap'), '--db', db]);
    // Age everything the camera did by 40 days; the rest stays as recorded (today).
    const w = new Database(db);
    const days40 = 40 * 86400;
    w.prepare(`UPDATE flows SET first_seen = first_seen - ?, last_seen = last_seen - ? WHERE device_id = ? OR peer_device_id = ?`).run(days40, days40, CAM_ID, CAM_ID);
    w.prepare(`UPDATE findings SET first_seen = first_seen - ?, last_seen = last_seen - ? WHERE device_id = ?`).run(days40, days40, CAM_ID);
    w.prepare(`UPDATE devices SET first_seen = first_seen - ?, last_seen = last_seen - ? WHERE id = ?`).run(days40, days40, CAM_ID);
    const others = (w.prepare(`SELECT count(*) AS n FROM findings WHERE device_id != ?`).get(CAM_ID) as { n: number }).n;
    const camFindings = (w.prepare(`SELECT count(*) AS n FROM findings WHERE device_id = ?`).get(CAM_ID) as { n: number }).n;
    // First, "keep everything" chosen on the dashboard (stored as null) wins over --retain-days.
    w.prepare(`INSERT INTO settings (key, value) VALUES ('retain_days', 'null')`).run();
    w.close();
    const keep = await startDaemon(db, ['--retain-days', '30']);
    keep.child.kill('SIGTERM');
    expect((await exited(keep.child)).code).toBe(0);
    expect(keep.stderr()).not.toContain('pruned old data');
    const k = openDb(db);
    expect(k.prepare(`SELECT count(*) AS n FROM findings WHERE device_id = ?`).get(CAM_ID)).toEqual({ n: camFindings });
    k.close();
    // Then with no dashboard choice, the configured 30 days apply.
    const w2 = new Database(db);
    w2.prepare(`DELETE FROM settings WHERE key = 'retain_days'`).run();
    w2.close();
    const d = await startDaemon(db, ['--retain-days', '30']);
    await waitFor('the pruning log line', 10_000, () => (d.stderr().includes('pruned old data') ? true : undefined));
    d.child.kill('SIGTERM');
    expect((await exited(d.child)).code).toBe(0);
    const r = openDb(db);
    try {
      expect(r.prepare(`SELECT count(*) AS n FROM findings WHERE device_id = ?`).get(CAM_ID)).toEqual({ n: 0 });
      expect(r.prepare(`SELECT count(*) AS n FROM flows WHERE device_id = ?`).get(CAM_ID)).toEqual({ n: 0 });
      expect(r.prepare(`SELECT count(*) AS n FROM devices WHERE id = ?`).get(CAM_ID)).toEqual({ n: 0 });
      expect((r.prepare(`SELECT count(*) AS n FROM findings WHERE device_id != ?`).get(CAM_ID) as { n: number }).n).toBe(others);
    } finally {
      r.close();
    }
  });

  it('captures as an unprivileged user holding only CAP_NET_RAW, and says what to do without it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-watch-'));
    chmodSync(dir, 0o777);
    const db = join(dir, 'watch.db');
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

    // Without the capability: a clear one-line error naming the fix.
    const denied = net.spawn(net.gw, [...asNobody, 'node', MAIN, 'watch', '--interface', net.bridge, '--db', db, '--no-dashboard']);
    let err = '';
    denied.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const end = await exited(denied);
    expect(end, err).toEqual({ code: 1, signal: null });
    expect(err).toMatch(/CAP_NET_RAW/);

    // With it (ambient, as systemd's AmbientCapabilities gives it): it captures.
    const ok = net.spawn(net.gw, [...asNobody, '--inh-caps=+net_raw', '--ambient-caps=+net_raw', 'node', MAIN, 'watch', '--interface', net.bridge, '--db', db, '--no-dashboard']);
    daemons.push(ok);
    let okErr = '';
    ok.stderr!.on('data', (b: Buffer) => (okErr += b.toString()));
    await waitFor('the unprivileged daemon to start', 15_000, () => {
      if (ok.exitCode !== null) throw new Error(`exited ${ok.exitCode}: ${okErr}`);
      return okErr.includes('notcreepy watch started') ? true : undefined;
    });
    deviceTraffic();
    await waitFor('a finding from the unprivileged daemon', 10_000, () => (findingCodes(db, DEV_MAC).includes('cleartext-credentials') ? true : undefined));
    ok.kill('SIGTERM');
    expect((await exited(ok)).code).toBe(0);
    expect(okErr).not.toMatch(/running as root/);
  });
});
