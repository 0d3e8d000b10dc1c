/**
 * `notcreepy serve --db PATH [--host ADDR] [--port N] [--cert FILE --key FILE] [--plain-http]`:
 * the dashboard over a database, until SIGINT or SIGTERM. The dashboard options are exported so
 * the daemon (`watch`) takes the same ones and starts the same dashboard.
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { StoreError } from '../store/store.js';
import { DEFAULT_HOST, DEFAULT_PORT, DashboardOptionsError, startDashboard, validateDashboardOptions, type DashboardOptions } from '../server/index.js';
import { TlsSetupError } from '../server/tls.js';

/** parseArgs options shared by `serve` and the daemon. */
export const DASHBOARD_ARG_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'plain-http': { type: 'boolean' },
  'reset-password': { type: 'boolean' },
} as const;

export const DASHBOARD_USAGE = `dashboard options:
  --host ADDR        address to listen on (default ${DEFAULT_HOST}: this machine only; use the
                     machine's LAN address, or 0.0.0.0 for every interface, to open it from a phone)
  --port N           port (default ${DEFAULT_PORT})
  --cert FILE        your own TLS certificate (PEM), with --key FILE its private key; otherwise a
                     self-signed certificate is made on first start and kept next to the database
  --key FILE
  --plain-http       serve plain HTTP instead of HTTPS: only with --host 127.0.0.1, ::1 or localhost
  --reset-password   forget the dashboard password; a new one-time setup token is printed
`;

const USAGE = `usage: notcreepy serve --db PATH [options]

Serves the dashboard over a notcreepy database (from "notcreepy analyze --db" or the daemon).
On first start no password is set: the log prints a one-time setup token to choose one.

  --db PATH          the SQLite database (default: $NOTCREEPY_DB)
${DASHBOARD_USAGE}  --verbose          log every request
  -h, --help         this help
`;

export type DashboardListenOptions = Pick<DashboardOptions, 'host' | 'port' | 'cert' | 'key' | 'plainHttp' | 'resetPassword'>;

/** parseArgs values (of DASHBOARD_ARG_OPTIONS) to dashboard options; throws DashboardOptionsError. */
export function dashboardOptionsFrom(values: Record<string, unknown>): DashboardListenOptions {
  const portText = values.port as string | undefined;
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) throw new DashboardOptionsError(`--port must be a number (got "${portText}")`);
  const options: DashboardListenOptions = {
    host: (values.host as string | undefined) ?? DEFAULT_HOST,
    port: portText === undefined ? DEFAULT_PORT : Number(portText),
    cert: (values.cert as string | undefined) ?? null,
    key: (values.key as string | undefined) ?? null,
    plainHttp: (values['plain-http'] as boolean | undefined) ?? false,
    resetPassword: (values['reset-password'] as boolean | undefined) ?? false,
  };
  validateDashboardOptions(options);
  return options;
}

export interface ServeIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
  /** Where the log goes (default: pino JSON lines on stderr). */
  logger?: Logger;
  /** Called once the dashboard listens (tests read the address from it). */
  onListening?: (info: { url: string; fingerprint: string | null; setupToken: string | null }) => void;
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve(signal);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export async function serveCommand(argv: string[], io: ServeIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const fail = (code: number, message: string): number => {
    stderr.write(`notcreepy serve: ${message}\n`);
    if (code === 2) stderr.write('(run "notcreepy serve --help" for usage)\n');
    return code;
  };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...DASHBOARD_ARG_OPTIONS,
        db: { type: 'string' },
        verbose: { type: 'boolean' },
        debug: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return fail(2, (err as Error).message);
  }
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const db = (values.db as string | undefined) ?? process.env.NOTCREEPY_DB;
  if (db === undefined || db === '') return fail(2, 'which database? give --db PATH (or set NOTCREEPY_DB)');
  let listen: DashboardListenOptions;
  try {
    listen = dashboardOptionsFrom(values);
  } catch (err) {
    if (err instanceof DashboardOptionsError) return fail(2, err.message);
    throw err;
  }
  const logger = io.logger ?? createLogger(values.verbose ? 'debug' : (process.env.NOTCREEPY_LOG_LEVEL ?? 'info'));
  let running;
  try {
    running = await startDashboard({ ...listen, db, logger });
  } catch (err) {
    if (err instanceof DashboardOptionsError || err instanceof TlsSetupError || err instanceof StoreError) return fail(1, err.message);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') return fail(1, `port ${listen.port} on ${listen.host} is already in use (choose another with --port)`);
    if (code === 'EACCES') return fail(1, `not allowed to listen on port ${listen.port} (ports below 1024 need privileges)`);
    if (code === 'EADDRNOTAVAIL') return fail(1, `${listen.host} is not an address of this machine`);
    throw err;
  }
  // A few plain lines for people; the JSON log lines on stderr say the same for machines.
  const lines = [`notcreepy dashboard: ${running.urls.join('  ')}`];
  if (running.fingerprint !== null) {
    lines.push(`certificate SHA-256 fingerprint: ${running.fingerprint}`);
    lines.push('(self-signed unless you gave --cert: your browser warns once; check that it shows this fingerprint)');
  }
  if (running.setupToken !== null) {
    lines.push(`no password yet: open ${running.url}#setup=${running.setupToken} (or enter the one-time setup token ${running.setupToken}) and choose one`);
  }
  stdout.write(`${lines.join('\n')}\n`);
  io.onListening?.({ url: running.url, fingerprint: running.fingerprint, setupToken: running.setupToken });
  await (io.until ?? untilSignal());
  await running.close();
  return 0;
}
