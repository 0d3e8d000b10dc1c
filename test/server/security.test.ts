/**
 * The dashboard meets the standards it judges: HTTPS by default with a certificate whose
 * fingerprint is logged, no default password (one-time setup token, strength check, scrypt),
 * sessions in HttpOnly/Secure/SameSite cookies, rate-limited login, CSRF-safe changes, security
 * headers, and nothing but login and static assets without a session. Real server on 127.0.0.1,
 * real database from captures/lan-standards.pcap.
 */
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordProblems, hashPassword, verifyPassword } from '../../src/server/password.js';
import { DashboardOptionsError, startDashboard } from '../../src/server/index.js';
import { generatedCertificatePaths } from '../../src/server/tls.js';
import type { RunningDashboard } from '../../src/server/index.js';
import { CAM, Client, GOOD_PASSWORD, STANDARDS_PCAP, makeDatabase, memoryLogger, startTestDashboard } from './helpers.js';

let dbDir: { dir: string; db: string; cleanup(): void };
beforeAll(async () => {
  dbDir = await makeDatabase([STANDARDS_PCAP]);
});
afterAll(() => dbDir?.cleanup());

/** Raw bytes over TCP: what a plain-HTTP client gets from the port. */
function rawExchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
  });
}

describe('password strength', () => {
  it('refuses short, common and patterned passwords, each with a reason', () => {
    expect(passwordProblems('admin').join(' ')).toMatch(/too short/);
    expect(passwordProblems('admin').join(' ')).toMatch(/common/);
    // 12 characters but from the breach lists
    expect(passwordProblems('qwertyuiop12').join(' ')).toMatch(/common/);
    expect(passwordProblems('password1234!').join(' ')).toMatch(/common/);
    expect(passwordProblems('aaaaaaaaaaaaaaaa').join(' ')).toMatch(/repeated/);
    expect(passwordProblems('abcabcabcabcabc').join(' ')).toMatch(/repeated/);
    expect(passwordProblems('1234567890123').join(' ')).toMatch(/consecutive|common/);
    expect(passwordProblems('abcdefghijklmn').join(' ')).toMatch(/consecutive/);
    expect(passwordProblems(' leading-space-password').join(' ')).toMatch(/space/);
  });

  it('accepts long passwords and passphrases of four words', () => {
    expect(passwordProblems(GOOD_PASSWORD)).toEqual([]);
    expect(passwordProblems('Tr0ub4dor&3-zebra')).toEqual([]);
    // 4 different words, fewer than 12 characters
    expect(passwordProblems('owl fig ox jam')).toEqual([]);
    expect(passwordProblems('owl owl owl owl').length).toBeGreaterThan(0);
  });

  it('hashes with salted scrypt and verifies in constant time', async () => {
    const a = await hashPassword(GOOD_PASSWORD);
    const b = await hashPassword(GOOD_PASSWORD);
    expect(a.algorithm).toBe('scrypt');
    expect(a.N).toBeGreaterThanOrEqual(1 << 14);
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(JSON.stringify(a)).not.toContain(GOOD_PASSWORD);
    expect(await verifyPassword(GOOD_PASSWORD, a)).toBe(true);
    expect(await verifyPassword(`${GOOD_PASSWORD}x`, a)).toBe(false);
    expect(await verifyPassword(GOOD_PASSWORD, { ...a, hash: 'AAAA' })).toBe(false);
  });
});

describe('first start, login and sessions (HTTPS)', () => {
  let server: RunningDashboard;
  let client: Client;
  let logLines: string[];

  beforeAll(async () => {
    const mem = memoryLogger('debug');
    logLines = mem.lines;
    server = await startTestDashboard(dbDir.db, { logger: mem.logger });
    client = new Client(server);
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  it('serves HTTPS with a generated certificate, logs its fingerprint and keeps the key private', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const { certFile, keyFile } = generatedCertificatePaths(dbDir.db);
    const cert = new X509Certificate(readFileSync(certFile));
    expect(server.fingerprint).toBe(cert.fingerprint256);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const start = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.fingerprint !== undefined);
    expect(start?.fingerprint).toBe(server.fingerprint);
    expect(start?.url).toBe(server.url);
  });

  it('logs the one-time setup token, and says a password is needed', async () => {
    expect(server.setupToken).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    expect(logLines.some((l) => l.includes(server.setupToken as string))).toBe(true);
    const res = await client.request('/api/auth');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ setup_required: true, authenticated: false, https: true });
    // No password: login is not possible at all (there is no default one).
    expect((await client.request('/api/login', { body: { password: 'admin' } })).status).toBe(409);
  });

  it('refuses a wrong setup token and a weak password (with the reason), then accepts a strong one once', async () => {
    const token = server.setupToken as string;
    const wrong = await client.request('/api/setup', { body: { token: 'AAAAA-BBBBB-CCCCC-DDDDD', password: GOOD_PASSWORD } });
    expect(wrong.status).toBe(403);
    const weak = await client.request('/api/setup', { body: { token, password: 'password' } });
    expect(weak.status).toBe(400);
    expect(weak.json.reasons.join(' ')).toMatch(/too short/);
    expect(weak.json.reasons.join(' ')).toMatch(/common/);
    const common = await client.request('/api/setup', { body: { token, password: 'iloveyou1234' } });
    expect(common.status).toBe(400);
    expect(common.json.message).toMatch(/common/);
    // Typed by hand in lower case without dashes: still the token.
    const ok = await client.request('/api/setup', { body: { token: token.toLowerCase().replace(/-/g, ''), password: GOOD_PASSWORD } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ setup_required: false, authenticated: true });
    const cookie = ok.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(/^__Host-notcreepy_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    client.keepCookie(ok);
    // The token is spent.
    const again = await client.request('/api/setup', { body: { token, password: 'another-long-passphrase-here' } });
    expect(again.status).toBe(409);
    expect(server.dashboard.setupToken()).toBeNull();
  });

  it('stores only an scrypt hash of the password', async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(dbDir.db, { readonly: true });
    const row = db.prepare(`SELECT value FROM settings WHERE key = 'dashboard.password_hash'`).get() as { value: string };
    db.close();
    expect(JSON.parse(row.value)).toMatchObject({ algorithm: 'scrypt' });
    expect(row.value).not.toContain(GOOD_PASSWORD);
  });

  it('logs in and out; a logged-out session opens nothing', async () => {
    const anon = new Client(server);
    try {
      const bad = await anon.request('/api/login', { body: { password: 'not-the-password-at-all' } });
      expect(bad.status).toBe(401);
      expect(bad.headers['set-cookie']).toBeUndefined();
      const good = await anon.request('/api/login', { body: { password: GOOD_PASSWORD } });
      expect(good.status).toBe(200);
      anon.keepCookie(good);
      expect((await anon.request('/api/summary')).status).toBe(200);
      const session = anon.cookie;
      const out = await anon.request('/api/logout', { method: 'POST' });
      expect(out.status).toBe(204);
      // The old cookie no longer works even if a browser kept it: the session ended server-side.
      expect((await anon.request('/api/summary', { cookie: session })).status).toBe(401);
      expect((await anon.request('/api/auth', { cookie: session })).json.authenticated).toBe(false);
      // A made-up cookie does nothing either.
      expect((await anon.request('/api/summary', { cookie: '__Host-notcreepy_session=forged' })).status).toBe(401);
    } finally {
      anon.close();
    }
  });

  it('answers nothing but auth state, setup, login and static assets without a session', async () => {
    const routes = server.dashboard.routes;
    const api = routes.filter((r) => r.url.startsWith('/api'));
    // Enumerated from the app: at least every route of the API document.
    expect(api.length).toBeGreaterThanOrEqual(18);
    const open = api.filter((r) => r.public).map((r) => `${r.method} ${r.url}`).sort();
    expect(open).toEqual(['GET /api/auth', 'HEAD /api/auth', 'POST /api/login', 'POST /api/setup']);
    const anon = new Client(server);
    try {
      for (const r of api.filter((x) => !x.public)) {
        const path = r.url.replace(':id', encodeURIComponent(CAM));
        const res = await anon.request(path, { method: r.method, body: r.method === 'GET' || r.method === 'HEAD' ? undefined : {} });
        expect(res.status, `${r.method} ${r.url}`).toBe(401);
        expect(res.text).not.toContain('garden-cam');
      }
      // Paths that are not routes, and spellings of routes, are no way in either.
      for (const path of ['/api/nothing-here', '/api/devices/' + encodeURIComponent(CAM) + '/x', '/%61pi/summary', '/api//summary', '/api/summary/']) {
        const res = await anon.request(path);
        expect([401, 404], path).toContain(res.status);
        expect(res.text, path).not.toContain('garden-cam');
      }
      // Static assets are public: the pages hold no data.
      expect((await anon.request('/vendor/chart.umd.js')).status).toBe(200);
      expect((await anon.request('/vendor/chart.umd.js')).text).toContain('Chart.js');
    } finally {
      anon.close();
    }
  });

  it('sends security headers with a CSP of its own origin only', async () => {
    for (const path of ['/api/auth', '/vendor/chart.umd.js']) {
      const res = await client.request(path);
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      // No other host anywhere in the policy.
      expect(csp).not.toMatch(/https?:|\*/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
    expect((await client.request('/api/summary')).headers['cache-control']).toBe('no-store');
  });

  it('refuses changes without the CSRF header or from another origin', async () => {
    const noHeader = await client.request('/api/settings', { method: 'PUT', body: { retain_days: 30 }, noCsrfHeader: true });
    expect(noHeader.status).toBe(403);
    const foreign = await client.request('/api/settings', { method: 'PUT', body: { retain_days: 30 }, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    const crossSite = await client.request('/api/settings', { method: 'PUT', body: { retain_days: 30 }, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).toBe(403);
    const deleteNoHeader = await client.request(`/api/devices/${encodeURIComponent(CAM)}`, { method: 'DELETE', noCsrfHeader: true });
    expect(deleteNoHeader.status).toBe(403);
    // The device is still there.
    expect((await client.request(`/api/devices/${encodeURIComponent(CAM)}`)).status).toBe(200);
    // The dashboard's own request (same origin, header set) goes through.
    const own = await client.request('/api/settings', { method: 'PUT', body: { retain_days: 30 }, headers: { origin: `https://127.0.0.1:${server.port}` } });
    expect(own.status).toBe(200);
    // A login form posted from another site cannot log anyone in (login CSRF).
    const crossLogin = await client.request('/api/login', { body: { password: GOOD_PASSWORD }, noCsrfHeader: true, cookie: null });
    expect(crossLogin.status).toBe(403);
  });

  it('redirects plain HTTP on the HTTPS port to HTTPS, with no data', async () => {
    const answer = await rawExchange(server.port, `GET /api/summary?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: ${client.cookie}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 301 /);
    expect(answer).toContain(`Location: https://127.0.0.1:${server.port}/api/summary?x=1`);
    expect(answer).not.toContain('garden-cam');
    const junk = await rawExchange(server.port, 'hello\r\n\r\n');
    expect(junk).toMatch(/^HTTP\/1\.1 400 /);
  });

  it('never logs the password, the session cookie or tokens other than the setup line', () => {
    const text = logLines.join('\n');
    expect(text).not.toContain(GOOD_PASSWORD);
    expect(text).not.toContain('not-the-password-at-all');
    const session = (client.cookie ?? '').split('=')[1];
    expect(session.length).toBeGreaterThan(20);
    expect(text).not.toContain(session);
    const tokenLines = logLines.filter((l) => l.includes(server.setupToken as string));
    expect(tokenLines.length).toBe(1);
    expect(text).toMatch(/request refused/);
  });

  it('ends other sessions when the password changes', async () => {
    const other = new Client(server);
    try {
      const login = await other.request('/api/login', { body: { password: GOOD_PASSWORD } });
      other.keepCookie(login);
      expect((await other.request('/api/summary')).status).toBe(200);
      const weak = await client.request('/api/password', { body: { current: GOOD_PASSWORD, password: 'short' } });
      expect(weak.status).toBe(400);
      const changed = await client.request('/api/password', { body: { current: GOOD_PASSWORD, password: `${GOOD_PASSWORD}-new` } });
      expect(changed.status).toBe(204);
      client.keepCookie(changed);
      expect((await other.request('/api/summary')).status).toBe(401);
      expect((await client.request('/api/summary')).status).toBe(200);
    } finally {
      other.close();
    }
  });
});

describe('rate limiting', () => {
  it('answers 429 after 5 failed logins per minute from one address, even with the right password', async () => {
    const db = await makeDatabase([STANDARDS_PCAP]);
    const server = await startTestDashboard(db.db);
    const client = new Client(server);
    try {
      await client.setupAndLogin();
      const anon = new Client(server);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await anon.request('/api/login', { body: { password: `wrong-guess-number-${i}` } })).status);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
      const right = await anon.request('/api/login', { body: { password: GOOD_PASSWORD } });
      expect(right.status).toBe(429);
      expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
      expect(right.headers['set-cookie']).toBeUndefined();
      anon.close();
    } finally {
      client.close();
      await server.close();
      db.cleanup();
    }
  });

  it('limits setup token guesses the same way', async () => {
    const db = await makeDatabase([STANDARDS_PCAP]);
    const server = await startTestDashboard(db.db);
    const client = new Client(server);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await client.request('/api/setup', { body: { token: `WRONG-${i}`, password: GOOD_PASSWORD } })).status);
      }
      expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
      // Even the right token waits now.
      const right = await client.request('/api/setup', { body: { token: server.setupToken, password: GOOD_PASSWORD } });
      expect(right.status).toBe(429);
    } finally {
      client.close();
      await server.close();
      db.cleanup();
    }
  });
});

describe('transport options', () => {
  it('refuses plain HTTP on a non-loopback address', async () => {
    for (const host of ['0.0.0.0', '192.168.50.1', '::', 'example.lan']) {
      await expect(startDashboard({ db: dbDir.db, host, port: 0, plainHttp: true, logger: memoryLogger('silent').logger })).rejects.toThrow(DashboardOptionsError);
      await expect(startDashboard({ db: dbDir.db, host, port: 0, plainHttp: true, logger: memoryLogger('silent').logger })).rejects.toThrow(/loopback|127\.0\.0\.1/);
    }
  });

  it('serves plain HTTP on loopback when asked, with a cookie that is not marked Secure', async () => {
    const db = await makeDatabase([STANDARDS_PCAP]);
    const server = await startTestDashboard(db.db, { plainHttp: true });
    const client = new Client(server);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      expect(server.fingerprint).toBeNull();
      const res = await client.request('/api/setup', { body: { token: server.setupToken, password: GOOD_PASSWORD } });
      expect(res.status).toBe(200);
      const cookie = res.headers['set-cookie']?.[0] ?? '';
      expect(cookie).toMatch(/^notcreepy_session=/);
      expect(cookie).not.toMatch(/Secure/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(String(res.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
    } finally {
      client.close();
      await server.close();
      db.cleanup();
    }
  });

  it('reuses its certificate on the next start, and takes the user own one when given', async () => {
    const first = await startTestDashboard(dbDir.db);
    const fingerprint = first.fingerprint;
    const paths = generatedCertificatePaths(dbDir.db);
    await first.close();
    const second = await startTestDashboard(dbDir.db);
    expect(second.fingerprint).toBe(fingerprint);
    expect(second.tls?.generated).toBe(false);
    // A password set earlier means no setup token on later starts.
    expect(second.setupToken).toBeNull();
    await second.close();
    const own = await startTestDashboard(dbDir.db, { cert: paths.certFile, key: paths.keyFile });
    expect(own.fingerprint).toBe(fingerprint);
    await own.close();
    await expect(startTestDashboard(dbDir.db, { cert: paths.certFile })).rejects.toThrow(/together/);
  });

  it('--reset-password forgets the password and issues a new setup token', async () => {
    const db = await makeDatabase([STANDARDS_PCAP]);
    try {
      const a = await startTestDashboard(db.db);
      const c = new Client(a);
      await c.setupAndLogin();
      c.close();
      await a.close();
      const b = await startTestDashboard(db.db, { resetPassword: true });
      expect(b.setupToken).not.toBeNull();
      expect(b.setupToken).not.toBe(a.setupToken);
      const c2 = new Client(b);
      expect((await c2.request('/api/login', { body: { password: GOOD_PASSWORD } })).status).toBe(409);
      c2.close();
      await b.close();
    } finally {
      db.cleanup();
    }
  });
});
