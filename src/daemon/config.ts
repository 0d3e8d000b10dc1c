/**
 * The daemon's configuration file (JSON): every key optional, each documented in the README with
 * its default. Command-line options override the file. Unknown keys are refused, so a typo
 * ("retain_day") is an error rather than a silently ignored setting.
 */
import { readFileSync } from 'node:fs';
import { parsePrefix } from '../decode/address.js';
import type { UserListSpec } from '../intel/trackers.js';

export interface DashboardConfig {
  enabled: boolean;
  host: string;
  port: number;
  cert: string | null;
  key: string | null;
}

export interface DaemonConfig {
  interfaces: string[];
  filter: string;
  db: string;
  lan_prefixes: string[];
  retain_days: number;
  /** Cap on the database's live data in MiB (oldest flows pruned first); 0: no cap. */
  max_db_mb: number;
  tracker_lists: UserListSpec[];
  /** When started as root: the user to switch to once the capture is open. */
  user: string | null;
  capture_buffer_mb: number;
  flush_interval_seconds: number;
  log_level: string;
  dashboard: DashboardConfig;
}

/** systemd's StateDirectory= sets STATE_DIRECTORY; otherwise the FHS place for a daemon's data. */
export function defaultDbPath(): string {
  const dir = process.env.STATE_DIRECTORY?.split(':')[0] ?? '/var/lib/notcreepy';
  return `${dir}/notcreepy.db`;
}

export const DEFAULT_CONFIG_PATH = '/etc/notcreepy/config.json';

export function defaultConfig(): DaemonConfig {
  return {
    interfaces: [],
    filter: '',
    db: defaultDbPath(),
    lan_prefixes: [],
    retain_days: 30,
    max_db_mb: 1024,
    tracker_lists: [],
    user: null,
    capture_buffer_mb: 16,
    flush_interval_seconds: 2,
    log_level: 'info',
    dashboard: { enabled: true, host: '0.0.0.0', port: 8443, cert: null, key: null },
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Check = (value: unknown, key: string) => unknown;

const isString: Check = (v, k) => {
  if (typeof v !== 'string') throw new ConfigError(`${k} must be a string`);
  return v;
};
const isNullableString: Check = (v, k) => (v === null ? null : isString(v, k));
const isStringList: Check = (v, k) => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ConfigError(`${k} must be a list of strings`);
  return v;
};
const isBoolean: Check = (v, k) => {
  if (typeof v !== 'boolean') throw new ConfigError(`${k} must be true or false`);
  return v;
};
const numberIn =
  (min: number, max: number, integer = true): Check =>
  (v, k) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw new ConfigError(`${k} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    return v;
  };
const isPrefixList: Check = (v, k) => {
  for (const p of isStringList(v, k) as string[]) {
    try {
      parsePrefix(p);
    } catch {
      throw new ConfigError(`${k}: "${p}" is not a CIDR prefix (e.g. 192.168.1.0/24)`);
    }
  }
  return v;
};
const isListSpecs: Check = (v, k) => {
  if (!Array.isArray(v)) throw new ConfigError(`${k} must be a list of {"path": …, "format": "hosts" | "adblock"}`);
  return v.map((item, i) => {
    const at = `${k}[${i}]`;
    if (typeof item !== 'object' || item === null) throw new ConfigError(`${at} must be an object`);
    const { path, format, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new ConfigError(`${at}: unknown key "${Object.keys(rest)[0]}"`);
    if (format !== 'hosts' && format !== 'adblock') throw new ConfigError(`${at}.format must be "hosts" or "adblock"`);
    return { path: isString(path, `${at}.path`), format } as UserListSpec;
  });
};

const TOP_LEVEL: Record<Exclude<keyof DaemonConfig, 'dashboard'>, Check> = {
  interfaces: isStringList,
  filter: isString,
  db: isString,
  lan_prefixes: isPrefixList,
  retain_days: numberIn(1, 3650),
  max_db_mb: numberIn(0, 1024 * 1024),
  tracker_lists: isListSpecs,
  user: isNullableString,
  capture_buffer_mb: numberIn(1, 1024),
  flush_interval_seconds: numberIn(0.1, 60, false),
  log_level: (v, k) => {
    const s = isString(v, k) as string;
    if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(s)) throw new ConfigError(`${k} must be a pino level (info, warn, …)`);
    return s;
  },
};

const DASHBOARD: Record<keyof DashboardConfig, Check> = {
  enabled: isBoolean,
  host: isString,
  port: numberIn(0, 65535),
  cert: isNullableString,
  key: isNullableString,
};

/** Validates a parsed config object over the defaults. */
export function parseConfig(raw: unknown, origin = 'config'): DaemonConfig {
  const config = defaultConfig();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${origin}: must be a JSON object`);
  try {
    for (const [key, value] of Object.entries(raw)) {
      if (key === 'dashboard') {
        if (typeof value !== 'object' || value === null) throw new ConfigError('dashboard must be an object');
        for (const [dk, dv] of Object.entries(value)) {
          const check = DASHBOARD[dk as keyof DashboardConfig];
          if (check === undefined) throw new ConfigError(`unknown key "dashboard.${dk}"`);
          (config.dashboard as unknown as Record<string, unknown>)[dk] = check(dv, `dashboard.${dk}`);
        }
        continue;
      }
      const check = TOP_LEVEL[key as keyof typeof TOP_LEVEL];
      if (check === undefined) throw new ConfigError(`unknown key "${key}"`);
      (config as unknown as Record<string, unknown>)[key] = check(value, key);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${origin}: ${err.message}`);
    throw err;
  }
  if ((config.dashboard.cert === null) !== (config.dashboard.key === null)) {
    throw new ConfigError(`${origin}: dashboard.cert and dashboard.key go together`);
  }
  return config;
}

/**
 * Reads a config file. A missing file is an error when the user named it, and means "defaults"
 * for the default path.
 */
export function loadConfig(path: string | null): DaemonConfig {
  const file = path ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (path === null && (err as NodeJS.ErrnoException).code === 'ENOENT') return defaultConfig();
    throw new ConfigError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, `config ${file}`);
}
