/**
 * Start the dashboard over a database: `notcreepy serve` and the daemon (`watch`) both call
 * startDashboard. HTTPS by default (a certificate generated on first start, or the user's own);
 * plain HTTP only on loopback and only when asked for.
 */
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { Store } from '../store/store.js';
import { PASSWORD_SETTING, newSetupToken, storedPasswordHash } from './auth.js';
import { buildApp, type DashboardApp } from './app.js';
import { loadOrCreateTls, redirectPlainHttp, type TlsMaterial } from './tls.js';

export { buildApp, type DashboardApp } from './app.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8443;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export class DashboardOptionsError extends Error {
  override name = 'DashboardOptionsError';
}

export interface DashboardOptions {
  /** The SQLite database to serve (must exist unless createDatabase). */
  db: string;
  host: string;
  port: number;
  /** The user's own certificate and key (PEM files); both or neither. */
  cert?: string | null;
  key?: string | null;
  /** Serve plain HTTP: refused unless host is loopback. */
  plainHttp?: boolean;
  /** Forget the stored dashboard password first, so a new setup token is issued. */
  resetPassword?: boolean;
  /** Create the database when the file does not exist (the daemon starts on an empty one). */
  createDatabase?: boolean;
  logger?: Logger;
  dashboardDir?: string;
  pollIntervalMs?: number;
  authFailures?: { max: number; windowMs: number };
}

export interface RunningDashboard {
  /** The address to open (for a wildcard bind: localhost). */
  url: string;
  /** Every address it answers on, LAN addresses included for a wildcard bind. */
  urls: string[];
  /** SHA-256 fingerprint of the certificate (null for plain HTTP). */
  fingerprint: string | null;
  /** The one-time setup token while no password is set, else null. */
  setupToken: string | null;
  port: number;
  tls: TlsMaterial | null;
  /** The Fastify app, routes and sessions (for tests and the daemon). */
  dashboard: DashboardApp;
  close(): Promise<void>;
}

/** Check options that do not depend on the machine; throws DashboardOptionsError. */
export function validateDashboardOptions(options: Pick<DashboardOptions, 'host' | 'port' | 'plainHttp' | 'cert' | 'key'>): void {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new DashboardOptionsError(`--port must be an integer from 0 to 65535 (got ${options.port})`);
  }
  if (options.host === '' || (isIP(options.host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(options.host))) {
    throw new DashboardOptionsError(`--host must be an IP address or a host name (got "${options.host}")`);
  }
  if (options.plainHttp) {
    if (!LOOPBACK_HOSTS.has(options.host)) {
      throw new DashboardOptionsError(
        `--plain-http is allowed only with --host 127.0.0.1, ::1 or localhost (got "${options.host}"): ` +
          'over the network the dashboard password and the findings would travel in clear. Leave out --plain-http to serve HTTPS.',
      );
    }
    if (options.cert || options.key) throw new DashboardOptionsError('--plain-http and --cert/--key do not go together');
  }
  if (Boolean(options.cert) !== Boolean(options.key)) throw new DashboardOptionsError('--cert and --key go together: give both PEM files');
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Addresses a wildcard bind answers on: loopback first, then the machine's LAN addresses. */
function addressesFor(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const out = ['localhost'];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv4' || (host === '::' && a.family === 'IPv6' && !a.address.startsWith('fe80'))) out.push(a.address);
    }
  }
  return out;
}

export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  validateDashboardOptions(options);
  const logger = options.logger ?? createLogger(process.env.NOTCREEPY_LOG_LEVEL ?? 'info');
  if (!options.createDatabase && !existsSync(options.db)) {
    throw new DashboardOptionsError(`no database at ${options.db} (make one with: notcreepy analyze CAPTURE --db ${options.db})`);
  }
  const store = new Store(options.db);
  let dashboard: DashboardApp | null = null;
  try {
    if (options.resetPassword) {
      store.setSetting(PASSWORD_SETTING, null);
      logger.warn('dashboard password forgotten (--reset-password): set a new one with the setup token below');
    }
    const tls = options.plainHttp
      ? null
      : await loadOrCreateTls({ dbPath: options.db, bindHost: options.host, certFile: options.cert, keyFile: options.key });
    const setupToken = storedPasswordHash(store) === null ? newSetupToken() : null;
    dashboard = await buildApp({
      store,
      logger,
      setupToken,
      dashboardDir: options.dashboardDir,
      pollIntervalMs: options.pollIntervalMs,
      authFailures: options.authFailures,
      tls: tls === null ? undefined : { cert: tls.cert, key: tls.key },
    });
    const app = dashboard.app;
    if (tls !== null) redirectPlainHttp(app.server, () => port);
    await app.listen({ host: options.host, port: options.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    const scheme = tls === null ? 'http' : 'https';
    const urls = addressesFor(options.host).map((h) => `${scheme}://${urlHost(h)}:${port}/`);
    const url = urls[0];
    logger.info(
      { url, urls, fingerprint: tls?.fingerprint ?? null, certificate: tls?.certFile ?? null, certificate_created: tls?.generated ?? false, db: options.db },
      tls === null
        ? `dashboard listening on ${url} (plain HTTP, loopback only)`
        : `dashboard listening on ${url}; certificate SHA-256 fingerprint ${tls.fingerprint}`,
    );
    if (setupToken !== null) {
      // The one line that shows a secret: it is how the owner proves they can read this log.
      logger.warn({ setup_token: setupToken, setup_url: `${url}#setup=${setupToken}` }, `no dashboard password yet: open ${url} and set one with the one-time setup token ${setupToken}`);
    }
    const running = dashboard;
    let closed = false;
    return {
      url,
      urls,
      fingerprint: tls?.fingerprint ?? null,
      setupToken,
      port,
      tls,
      dashboard: running,
      async close() {
        if (closed) return;
        closed = true;
        await running.app.close();
        store.close();
      },
    };
  } catch (err) {
    if (dashboard !== null) await dashboard.app.close().catch(() => undefined);
    store.close();
    throw err;
  }
}
