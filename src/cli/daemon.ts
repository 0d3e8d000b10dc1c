/**
 * `notcreepy watch` (the gateway daemon), `notcreepy replay` (capture files through the same live
 * pipeline) and `notcreepy forget` (delete one device's data).
 */
import { packageVersion } from '../version.js';
import { parseArgsOrUsage, UsageError, UserError } from './args.js';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import { DEFAULT_FRAME_QUEUE_OPTIONS } from '../capture/queue.js';
import { parseSpeed, type ReplaySpeed } from '../capture/replay.js';
import { DEFAULT_LAN_PREFIXES } from '../decode/address.js';
import { ConfigError, loadConfig, type DaemonConfig } from '../daemon/config.js';
import { defaultUnitOptions, systemdUnit } from '../daemon/systemd.js';
import { Daemon, DEFAULT_DAEMON_TIMING, type DaemonSource } from '../daemon/daemon.js';
import { TrackerIntel } from '../intel/trackers.js';
import { DEFAULT_PIPELINE_OPTIONS, type PipelineOptions } from '../pipeline.js';
import { DETECTORS } from '../standards/index.js';
import { makePrivacyDetector } from '../standards/privacy.js';
import { DashboardOptionsError, startDashboard } from '../server/index.js';
import { TlsSetupError } from '../server/tls.js';
import { DASHBOARD_ARG_OPTIONS } from './serve.js';
import { Store } from '../store/store.js';


/** Seconds a clean stop may take before we give up waiting and exit anyway. */
const STOP_DEADLINE_MS = 5000;

export const WATCH_USAGE = `  watch --interface IF…  the gateway daemon: capture live, keep findings in the database
      --interface IF  capture on IF (repeatable; e.g. br-lan)
      --filter BPF    capture filter (default: everything)
      --db PATH       database (default /var/lib/notcreepy/notcreepy.db, or $STATE_DIRECTORY)
      --config PATH   config file (default /etc/notcreepy/config.json when it exists)
      --retain-days N keep data last seen within N days (default 30)
      --max-db-mb N   cap the database's data at N MiB, oldest flows first (default 1024; 0: none)
      --user NAME     when started as root: run as NAME once the capture is open
      --lan PREFIX    an extra LAN prefix (CIDR), repeatable
      --log-file PATH log there instead of stderr (reopened on SIGHUP)
      --no-dashboard  do not serve the dashboard (else: the dashboard options below, default
                      from the config: every interface, port 8443)
      --queue-frames N  packets the analysis queue holds before it drops (default 131072)
  replay FILE…        feed capture files through the daemon's live pipeline
      --speed N|max   N times the recorded pace (default 1), or as fast as possible
      --db PATH       database (required)
      --lan PREFIX    an extra LAN prefix (CIDR), repeatable
  forget DEVICE       delete every stored row about one device (its MAC or IP, as listed)
      --db PATH       database (default as for watch)
  health              exit 0 when a daemon is running and reported within 30 s (Docker HEALTHCHECK)
      --db PATH       database (default as for watch)
  systemd-unit        print a systemd unit for this installation (CAP_NET_RAW only, sandboxed)
      --user NAME     the user it runs as (default notcreepy)
      --config PATH   the config file it reads (default /etc/notcreepy/config.json)
`;

function positiveInt(text: string | undefined, name: string, min = 1): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer of at least ${min}`);
  return n;
}

interface Logging {
  log: Logger;
  /** Reopen the log file (SIGHUP, after logrotate moved it). */
  reopen(): void;
}

function createDaemonLogger(level: string, file: string | null): Logging {
  const dest = pino.destination(file === null ? { fd: 2, sync: true } : { dest: file, sync: true, mkdir: true });
  return { log: pino({ name: 'notcreepy', level }, dest as DestinationStream), reopen: () => (file === null ? undefined : dest.reopen()) };
}

/** The detectors with the privacy one reading tracker lists that SIGHUP can reload. */
function detectorsWith(intel: { current: TrackerIntel }) {
  const privacy = makePrivacyDetector(() => intel.current);
  return DETECTORS.map((d) => (d.standard === 5 ? privacy : d));
}

function pipelineOptions(config: DaemonConfig, intel: { current: TrackerIntel }): PipelineOptions {
  return {
    ...DEFAULT_PIPELINE_OPTIONS,
    lanPrefixes: [...DEFAULT_LAN_PREFIXES, ...config.lan_prefixes],
    detectors: detectorsWith(intel),
  };
}

/** uid and gid of a user from /etc/passwd (no native module needed). */
function lookupUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === name);
  if (line === undefined) throw new UsageError(`--user ${name}: no such user`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Started as root with a user to become: make the database's folder theirs, then switch for good
 * (group first: once the uid changes we may no longer change groups). The open capture sockets
 * stay usable; nothing else of root's remains.
 */
function dropPrivileges(user: string, db: string, log: Logger): void {
  const { uid, gid } = lookupUser(user);
  const dir = dirname(db);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o750 });
  chownSync(dir, uid, gid);
  for (const f of [db, `${db}-wal`, `${db}-shm`]) if (existsSync(f)) chownSync(f, uid, gid);
  process.setgroups?.([gid]);
  process.setgid?.(gid);
  process.setuid?.(uid);
  log.info({ user, uid, gid }, 'dropped root: running as an unprivileged user');
}

/**
 * SIGTERM/SIGINT that arrive while the daemon is starting: remembered (not fatal, as Node's
 * default would be) and acted on as soon as it runs.
 */
function earlySignals(): { first: () => NodeJS.Signals | null; dispose: () => void } {
  let first: NodeJS.Signals | null = null;
  const note = (signal: NodeJS.Signals): void => {
    first ??= signal;
  };
  process.on('SIGTERM', note);
  process.on('SIGINT', note);
  return {
    first: () => first,
    dispose: () => {
      process.off('SIGTERM', note);
      process.off('SIGINT', note);
    },
  };
}

/** Runs a started daemon until a signal (or, for a replay, the end of its files); returns the exit code. */
async function runUntilStopped(
  daemon: Daemon,
  logging: Logging,
  reload: () => void,
  endsByItself: boolean,
  early: ReturnType<typeof earlySignals>,
): Promise<number> {
  const { log } = logging;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string, code: number): void => {
      if (stopping) return;
      stopping = true;
      const deadline = setTimeout(() => {
        log.error('clean stop took longer than 5 s; exiting anyway');
        process.exit(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      daemon.stop().then(
        () => log.info({ why }, 'stopped; everything written'),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          code = 1;
        },
      ).finally(() => {
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        process.off('SIGHUP', onHup);
        clearTimeout(deadline);
        resolve(code);
      });
    };
    const onTerm = (): void => stop('SIGTERM', 0);
    const onInt = (): void => stop('SIGINT', 0);
    const onHup = (): void => {
      logging.reopen();
      try {
        reload();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'reload failed; keeping the previous configuration');
      }
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    early.dispose();
    const pending = early.first();
    if (pending !== null) {
      stop(pending, 0);
      return;
    }
    if (endsByItself) {
      daemon.finished().then(
        () => stop('end of input', 0),
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'replay failed');
          process.stderr.write(`notcreepy: error: ${(err as Error).message}\n`);
          stop('error', 1);
        },
      );
    }
  });
}

function loadIntel(config: DaemonConfig, log: Logger): TrackerIntel {
  const intel = TrackerIntel.load({ userLists: config.tracker_lists });
  log.info({ lists: intel.lists }, 'tracker lists loaded');
  return intel;
}

export async function watchCommand(argv: string[]): Promise<number> {
  const early = earlySignals();
  const { values } = parseArgsOrUsage(argv, {
    interface: { type: 'string', multiple: true, short: 'i' },
    filter: { type: 'string' },
    db: { type: 'string' },
    config: { type: 'string' },
    'retain-days': { type: 'string' },
    'max-db-mb': { type: 'string' },
    user: { type: 'string' },
    lan: { type: 'string', multiple: true },
    'log-file': { type: 'string' },
    'no-dashboard': { type: 'boolean', default: false },
    'queue-frames': { type: 'string' },
    ...DASHBOARD_ARG_OPTIONS,
    debug: { type: 'boolean', default: false },
  });
  const configPath = (values.config as string | undefined) ?? null;
  const readConfig = (): DaemonConfig => {
    const c = loadConfig(configPath);
    // Command-line options win over the file.
    if (values.interface) c.interfaces = values.interface as string[];
    if (values.filter !== undefined) c.filter = values.filter as string;
    if (values.db !== undefined) c.db = values.db as string;
    c.retain_days = positiveInt(values['retain-days'] as string | undefined, '--retain-days') ?? c.retain_days;
    c.max_db_mb = positiveInt(values['max-db-mb'] as string | undefined, '--max-db-mb', 0) ?? c.max_db_mb;
    if (values.user !== undefined) c.user = values.user as string;
    if (values.lan) c.lan_prefixes = [...c.lan_prefixes, ...(values.lan as string[])];
    if (values['no-dashboard']) c.dashboard.enabled = false;
    if (values.host !== undefined) c.dashboard.host = values.host as string;
    if (values.port !== undefined) c.dashboard.port = positiveInt(values.port as string, '--port', 0) ?? c.dashboard.port;
    if (values.cert !== undefined) c.dashboard.cert = values.cert as string;
    if (values.key !== undefined) c.dashboard.key = values.key as string;
    return c;
  };
  let config: DaemonConfig;
  try {
    config = readConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (config.interfaces.length === 0) throw new UsageError('watch needs --interface IF (or "interfaces" in the config file)');
  const logging = createDaemonLogger(config.log_level, (values['log-file'] as string | undefined) ?? null);
  const { log } = logging;
  const intel = { current: loadIntel(config, log) };
  const isRoot = process.getuid?.() === 0;
  const source: DaemonSource = {
    kind: 'live',
    interfaces: config.interfaces,
    filter: config.filter,
    bufferBytes: config.capture_buffer_mb * 1024 * 1024,
  };
  const daemon = new Daemon({
    db: config.db,
    source,
    pipeline: pipelineOptions(config, intel),
    flushIntervalMs: config.flush_interval_seconds * 1000,
    retainDays: config.retain_days,
    maxDbBytes: config.max_db_mb > 0 ? config.max_db_mb * 1024 * 1024 : null,
    pruneIntervalMs: DEFAULT_DAEMON_TIMING.pruneIntervalMs,
    queue: {
      ...DEFAULT_FRAME_QUEUE_OPTIONS,
      capacityFrames: positiveInt(values['queue-frames'] as string | undefined, '--queue-frames', 16) ?? DEFAULT_FRAME_QUEUE_OPTIONS.capacityFrames,
    },
    version: packageVersion(),
    log,
    afterCaptureOpen: () => {
      if (isRoot && config.user !== null) dropPrivileges(config.user, config.db, log);
    },
  });
  await daemon.start();
  log.info(
    {
      version: packageVersion(),
      interfaces: config.interfaces,
      filter: config.filter || null,
      db: config.db,
      retainDays: config.retain_days,
      capture: daemon.captureBackend,
      pid: process.pid,
    },
    'notcreepy watch started',
  );
  if (isRoot && config.user === null) {
    log.warn('running as root: give "user" in the config (or --user), or use the systemd unit, which needs only CAP_NET_RAW');
  }
  let dashboard: { close(): Promise<void> } | null = null;
  if (config.dashboard.enabled) {
    try {
      dashboard = await startDaemonDashboard(config, log, { plainHttp: values['plain-http'] === true, resetPassword: values['reset-password'] === true });
    } catch (err) {
      await daemon.stop();
      throw dashboardStartError(err, config);
    }
  }
  const reload = (): void => {
    const next = readConfig();
    intel.current = loadIntel(next, log);
    config.retain_days = next.retain_days;
    daemon.setRetention(next.retain_days, next.max_db_mb > 0 ? next.max_db_mb * 1024 * 1024 : null);
    if (next.interfaces.join() !== config.interfaces.join() || next.filter !== config.filter) {
      log.warn('interfaces and filter changes need a restart');
    }
    log.info({ retainDays: next.retain_days }, 'configuration reloaded (SIGHUP)');
  };
  const code = await runUntilStopped(daemon, logging, reload, false, early);
  await dashboard?.close();
  return code;
}

/** The dashboard served by the daemon itself (same options as `serve`). */
/** A dashboard that cannot start stops the daemon with one line saying why. */
function dashboardStartError(err: unknown, config: DaemonConfig): Error {
  const d = config.dashboard;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new UserError(`dashboard: port ${d.port} on ${d.host} is already in use (set dashboard.port, or --port)`);
  if (code === 'EACCES') return new UserError(`dashboard: not allowed to listen on port ${d.port}`);
  if (code === 'EADDRNOTAVAIL') return new UserError(`dashboard: ${d.host} is not an address of this machine`);
  if (err instanceof DashboardOptionsError || err instanceof TlsSetupError) return new UserError(`dashboard: ${err.message}`);
  return err as Error;
}


async function startDaemonDashboard(
  config: DaemonConfig,
  log: Logger,
  flags: { plainHttp: boolean; resetPassword: boolean },
): Promise<{ close(): Promise<void> }> {
  const d = config.dashboard;
  return startDashboard({ db: config.db, host: d.host, port: d.port, cert: d.cert, key: d.key, logger: log, createDatabase: true, ...flags });
}

export async function replayCommand(argv: string[]): Promise<number> {
  const early = earlySignals();
  const { values, positionals } = parseArgsOrUsage(argv, {
    speed: { type: 'string', default: '1' },
    db: { type: 'string' },
    lan: { type: 'string', multiple: true },
    'log-file': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
  });
  if (positionals.length === 0) throw new UsageError('replay needs at least one capture file');
  if (values.db === undefined) throw new UsageError('replay needs --db PATH (where the daemon would keep its data)');
  const speed: ReplaySpeed | null = parseSpeed(values.speed as string);
  if (speed === null) throw new UsageError('--speed must be a positive number or "max"');
  for (const f of positionals) if (!existsSync(f)) throw new UsageError(`${f}: no such file`);
  const config = loadConfig(null);
  config.lan_prefixes = (values.lan as string[] | undefined) ?? [];
  const logging = createDaemonLogger(values.verbose ? 'info' : 'warn', (values['log-file'] as string | undefined) ?? null);
  const intel = { current: TrackerIntel.load({ userLists: config.tracker_lists }) };
  const daemon = new Daemon({
    db: values.db as string,
    source: { kind: 'replay', files: positionals, speed },
    pipeline: pipelineOptions(config, intel),
    // Replays are labs' reproducible runs: nothing is pruned from what they replay.
    pruneIntervalMs: 2 ** 31 - 1,
    retainDays: 3650,
    version: packageVersion(),
    log: logging.log,
  });
  await daemon.start();
  logging.log.info({ files: positionals, speed, db: values.db }, 'notcreepy replay started');
  const code = await runUntilStopped(daemon, logging, () => {}, true, early);
  if (code === 0) {
    const s = new Store(values.db as string);
    try {
      const status = s.readStatus();
      process.stdout.write(
        `replayed ${status?.packets ?? 0} packets into ${values.db as string}: ${status?.flows_stored ?? 0} flows, ${status?.findings ?? 0} findings\n`,
      );
    } finally {
      s.close();
    }
  }
  return code;
}

export async function forgetCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgsOrUsage(argv, {
    db: { type: 'string' },
    config: { type: 'string' },
    debug: { type: 'boolean', default: false },
  });
  if (positionals.length !== 1) throw new UsageError('forget needs exactly one device id (its MAC, or its IP when it has none)');
  const db = (values.db as string | undefined) ?? loadConfig((values.config as string | undefined) ?? null).db;
  if (!existsSync(db)) throw new UsageError(`${db}: no such database`);
  const store = new Store(db);
  try {
    const id = positionals[0].toLowerCase();
    const deleted = store.forgetDevice(id);
    if (deleted.devices === 0) {
      process.stderr.write(`notcreepy: no device "${positionals[0]}" in ${db}\n`);
      return 1;
    }
    process.stdout.write(
      `forgot ${id}: ${deleted.flows} flows, ${deleted.findings} findings, ${deleted.observations} observations deleted from ${db}\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}

/** A daemon's status older than this means it is stuck or gone (it writes every 5 s). */
const HEALTH_MAX_AGE_MS = 30_000;

export async function healthCommand(argv: string[]): Promise<number> {
  const { values } = parseArgsOrUsage(argv, { db: { type: 'string' }, config: { type: 'string' }, debug: { type: 'boolean', default: false } });
  const db = (values.db as string | undefined) ?? loadConfig((values.config as string | undefined) ?? null).db;
  const unhealthy = (why: string): number => {
    process.stderr.write(`notcreepy: unhealthy: ${why}\n`);
    return 1;
  };
  if (!existsSync(db)) return unhealthy(`no database at ${db}`);
  const store = new Store(db);
  try {
    const status = store.readStatus();
    if (status === null) return unhealthy('no daemon has reported to this database');
    if (!status.running) return unhealthy(`the daemon stopped at ${status.updated_at}`);
    const age = Date.now() - Date.parse(status.updated_at);
    if (age > HEALTH_MAX_AGE_MS) return unhealthy(`no report for ${Math.round(age / 1000)} s (last at ${status.updated_at})`);
    process.stdout.write(`ok: ${status.packets} packets, ${status.drops_queue} dropped, ${status.flows_live} live flows\n`);
    return 0;
  } finally {
    store.close();
  }
}

export async function systemdUnitCommand(argv: string[]): Promise<number> {
  const { values } = parseArgsOrUsage(argv, { user: { type: 'string' }, config: { type: 'string' }, debug: { type: 'boolean', default: false } });
  const o = defaultUnitOptions();
  if (values.user !== undefined) o.user = values.user as string;
  if (values.config !== undefined) o.configPath = values.config as string;
  process.stdout.write(systemdUnit(o));
  return 0;
}
