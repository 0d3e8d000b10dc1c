/**
 * `notcreepy serve`, in process: its options, what it prints, and a clean stop.
 */
import { request, Agent } from 'node:https';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_ARG_OPTIONS, dashboardOptionsFrom, serveCommand } from '../../src/cli/serve.js';
import { DashboardOptionsError } from '../../src/server/index.js';
import { generatedCertificatePaths } from '../../src/server/tls.js';
import { readFileSync } from 'node:fs';
import { STANDARDS_PCAP, makeDatabase, memoryLogger } from './helpers.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(c, _e, cb) {
        chunks.push(String(c));
        cb();
      },
    }),
    text: () => chunks.join(''),
  };
}

describe('notcreepy serve', () => {
  let db: Awaited<ReturnType<typeof makeDatabase>>;
  beforeAll(async () => {
    db = await makeDatabase([STANDARDS_PCAP]);
  });
  afterAll(() => db?.cleanup());

  it('--help prints the options', async () => {
    const out = sink();
    expect(await serveCommand(['--help'], { stdout: out.stream })).toBe(0);
    for (const option of ['--db', '--host', '--port', '--cert', '--key', '--plain-http', '--reset-password']) expect(out.text()).toContain(option);
  });

  it('refuses bad usage with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--db/],
      [['--db', db.db, '--port', 'http'], /--port/],
      [['--db', db.db, '--port', '70000'], /--port/],
      [['--db', db.db, '--plain-http', '--host', '0.0.0.0'], /--plain-http is allowed only with --host 127\.0\.0\.1/],
      [['--db', db.db, '--cert', 'x.pem'], /together/],
      [['--db', db.db, '--bogus'], /bogus/],
    ];
    for (const [args, message] of cases) {
      const err = sink();
      const env = process.env.NOTCREEPY_DB;
      delete process.env.NOTCREEPY_DB;
      try {
        expect(await serveCommand(args, { stderr: err.stream }), args.join(' ')).toBe(2);
      } finally {
        if (env !== undefined) process.env.NOTCREEPY_DB = env;
      }
      expect(err.text(), args.join(' ')).toMatch(message);
    }
    const missing = sink();
    expect(await serveCommand(['--db', `${db.dir}/no-such.db`, '--port', '0'], { stderr: missing.stream })).toBe(1);
    expect(missing.text()).toMatch(/no database at/);
  });

  it('shares its dashboard options with the daemon', () => {
    expect(Object.keys(DASHBOARD_ARG_OPTIONS).sort()).toEqual(['cert', 'host', 'key', 'plain-http', 'port', 'reset-password']);
    expect(dashboardOptionsFrom({})).toEqual({ host: '127.0.0.1', port: 8443, cert: null, key: null, plainHttp: false, resetPassword: false });
    expect(dashboardOptionsFrom({ host: '::1', port: '9000', 'plain-http': true })).toMatchObject({ host: '::1', port: 9000, plainHttp: true });
    expect(() => dashboardOptionsFrom({ host: '192.168.1.2', 'plain-http': true })).toThrow(DashboardOptionsError);
  });

  it('serves until told to stop, prints the address, fingerprint and setup token, then closes', async () => {
    const out = sink();
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    let info: { url: string; fingerprint: string | null; setupToken: string | null } | null = null;
    const listening = new Promise<void>((resolve) => {
      void serveCommand(['--db', db.db, '--port', '0'], {
        stdout: out.stream,
        logger: memoryLogger('silent').logger,
        until,
        onListening: (i) => {
          info = i;
          resolve();
        },
      }).then((code) => (exitCode = code));
    });
    let exitCode: number | null = null;
    await listening;
    expect(info).not.toBeNull();
    const { url, fingerprint, setupToken } = info!;
    expect(out.text()).toContain(url);
    expect(out.text()).toContain(fingerprint);
    expect(out.text()).toContain(setupToken);
    const ca = readFileSync(generatedCertificatePaths(db.db).certFile);
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(new URL(path, url), { agent: new Agent({ ca }) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/api/auth')).toBe(200);
    expect(await get('/api/summary')).toBe(401);
    stop();
    for (let i = 0; i < 100 && exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(exitCode).toBe(0);
    await expect(get('/api/auth')).rejects.toThrow(/ECONNREFUSED/);
  });
});
