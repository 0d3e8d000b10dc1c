/**
 * The dashboard's HTTP API: every JSON response and request body, one comment per route.
 * The dashboard (dashboard/) and the HTML report code against these types; change them only by
 * adding fields or routes.
 *
 * Conventions
 * - Every route is under /api. Times are ISO 8601 UTC strings from the capture's clock.
 * - Authentication: a session cookie (`__Host-notcreepy_session` over HTTPS, `notcreepy_session` over
 *   loopback plain HTTP; HttpOnly, SameSite=Strict, Secure over HTTPS) set by POST /api/setup or
 *   POST /api/login. Without it every route except GET /api/auth, POST /api/setup and
 *   POST /api/login answers 401 ApiError. Sessions end after 12 h without a request, 7 days
 *   after login at the latest, on logout, on a password change and when the server restarts.
 * - First start: the server log prints the setup token and a link `https://HOST:PORT/#setup=TOKEN`;
 *   the fragment never reaches the server, so a page may read `location.hash` to pre-fill the form.
 * - Pages are served with Content-Security-Policy `default-src 'self'; script-src 'self';
 *   style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none';
 *   frame-ancestors 'none'` (+ upgrade-insecure-requests over HTTPS): no inline <script> or
 *   <style>, no style="" attributes or on* handler attributes in HTML (setting element.style from
 *   JS is fine), no other host.
 * - CSRF: every request whose method is not GET/HEAD must carry the header
 *   `X-Notcreepy-Request: 1` (CSRF_HEADER / CSRF_HEADER_VALUE below); when it carries an Origin
 *   header, that origin must be the dashboard's own. Otherwise 403 ApiError. `fetch` from the
 *   dashboard's own pages sends both naturally once the header is added.
 * - Errors: 400 (bad parameter or body), 401 (no session / wrong password), 403 (CSRF check,
 *   wrong setup token), 404 (unknown id or route), 409 (state conflict: already set up / not set up yet),
 *   429 (rate limited; Retry-After header), 500 — always with the ApiError body.
 * - Query parameters are validated by schema: unknown values, oversized strings and anything that
 *   does not match the documented pattern get 400. Numbers are decimal integers.
 */
import type { DaemonStatus } from '../store/store.js';
import type { DeviceIdentity, DeviceReport, EncryptionTotals, FindingReport, FlowReport, ObservationReport, RemoteSummary } from '../store/report.js';
import type { Overall, ReportCard } from '../standards/report-card.js';
import type { Severity, Standard } from '../standards/types.js';

export type { DaemonStatus, DeviceReport, FindingReport, FlowReport, ObservationReport, ReportCard, RemoteSummary, Overall, Severity, Standard };

/** Header every non-GET request must send (CSRF defence on top of SameSite=Strict). */
export const CSRF_HEADER = 'x-notcreepy-request';
export const CSRF_HEADER_VALUE = '1';
/** The session cookie's name. */
export const SESSION_COOKIE = 'notcreepy_session';
/** Where chart.js's UMD build is served (from node_modules, never a CDN). */
export const CHART_JS_PATH = '/vendor/chart.umd.js';
/** The server-sent events stream. */
export const EVENTS_PATH = '/api/events';

export type Encryption = 'encrypted' | 'plaintext' | 'unknown';

/** Body of every 4xx/5xx answer. */
export interface ApiError {
  statusCode: number;
  /** HTTP reason phrase, e.g. "Bad Request". */
  error: string;
  /** One sentence for the user, e.g. "querystring/limit must be <= 500". */
  message: string;
  /** POST /api/setup with a weak password: every reason it was refused. */
  reasons?: string[];
}

// -------------------------------------------------------------------------------------------------
// Authentication

/**
 * GET /api/auth (no session needed) → 200 AuthState.
 * The dashboard starts here: setup_required → show the setup form (token from the server log),
 * else !authenticated → login form.
 */
export interface AuthState {
  /** No password set yet: POST /api/setup with the one-time token printed in the server log. */
  setup_required: boolean;
  authenticated: boolean;
  /** The dashboard is served over HTTPS. */
  https: boolean;
  /** When the current session ends at the latest (null when not authenticated). */
  session_expires_at: string | null;
  /** The password rules, to show next to the form. */
  password_rules: string;
}

/**
 * POST /api/setup (no session needed; rate-limited: 5 attempts per minute per client address)
 * body SetupRequest → 200 AuthState (and the session cookie: setting the password logs you in).
 * 400 ApiError with `reasons` when the password is too weak; 403 wrong token; 409 already set up;
 * 429 too many attempts.
 */
export interface SetupRequest {
  /** The one-time setup token from the server's start log line (maxLength 200). */
  token: string;
  /** maxLength 1024. */
  password: string;
}

/**
 * POST /api/login (no session needed; rate-limited: 5 attempts per minute per client address)
 * body LoginRequest → 200 AuthState + session cookie. 401 wrong password; 409 no password set yet;
 * 429 too many attempts (Retry-After).
 */
export interface LoginRequest {
  /** maxLength 1024. */
  password: string;
}

/** POST /api/logout → 204 (session ended server-side, cookie cleared). */

/**
 * POST /api/password (session) body ChangePasswordRequest → 204; 400 weak (with reasons);
 * 401 current password wrong (rate-limited like login). Ends every other session.
 */
export interface ChangePasswordRequest {
  current: string;
  password: string;
}

// -------------------------------------------------------------------------------------------------
// Overview

/** Flows and bytes by encryption verdict (the same totals as in `analyze --json`). */
export type { EncryptionTotals } from '../store/report.js';

/** One tracker organisation contacted by devices (from tracker-contact findings). */
export interface TrackerOrganisation {
  organisation: string;
  /** trackerdb category key (advertising, site_analytics, telemetry, acr, user list, …). */
  category: string;
  /** Host names of this organisation that were contacted or looked up, sorted. */
  domains: string[];
  /** Ids of the devices that contacted it. */
  devices: string[];
  /** Sum of the findings' counts (lookups + connections). */
  contacts: number;
  /** Bytes the devices sent to it (from the findings' evidence; 0 when only looked up). */
  bytes_sent: number;
  last_seen: string;
}

/** GET /api/summary → 200 Summary. */
export interface Summary {
  devices: number;
  /** Devices by overall verdict (every key present). */
  verdicts: Record<Overall, number>;
  findings: {
    total: number;
    /** Every severity present, 0 when none. */
    by_severity: Record<Severity, number>;
    /** Standards 1..5 in order, every one present. */
    by_standard: { standard: Standard; name: string; total: number; by_severity: Record<Severity, number> }[];
  };
  /** Flows and bytes by encryption verdict over the whole database. */
  traffic: EncryptionTotals;
  /** Busiest first (by contacts), at most 10. */
  top_trackers: TrackerOrganisation[];
  /** Oldest and newest capture time in the database (null when empty). */
  first_seen: string | null;
  last_seen: string | null;
  /** Capture runs recorded (analyze, watch, replay). */
  captures: number;
}

// -------------------------------------------------------------------------------------------------
// Devices

/** A device as listed on the overview: who it is (id, mac, ips, vendor, hostname, first/last seen)… */
export interface DeviceListItem extends DeviceIdentity {
  /** What to call it: hostname, else vendor, else the id. */
  name: string;
  flows: number;
  bytes_sent: number;
  bytes_received: number;
  encryption: EncryptionTotals;
  report: ReportCard;
  findings: { total: number; by_severity: Record<Severity, number> };
}

/**
 * GET /api/devices → 200 DeviceList: every device, worst first (creepy, questionable,
 * not-creepy, not-enough-seen; then by findings' severity, then name).
 */
export interface DeviceList {
  devices: DeviceListItem[];
}

/** Where a device's traffic goes: one remote address, named where we can. */
export interface RemoteEndpoint {
  ip: string;
  /** SNI / Host / DNS name, when one was seen. */
  server_name: string | null;
  /** From the tracker database when the name is listed there (null otherwise). */
  organisation: string | null;
  category: string | null;
  /** The name counts as a tracker under the project's tracker policy. */
  tracker: boolean;
  /** The address is on the LAN side (another device, the gateway). */
  local: boolean;
  flows: number;
  bytes: number;
  bytes_sent: number;
  bytes_received: number;
  /** Bytes by the flows' encryption verdict. */
  encrypted_bytes: number;
  plaintext_bytes: number;
  unknown_bytes: number;
  /** "tcp/443", "udp/53", … sorted. */
  services: string[];
  /** Applications seen ("tls", "http", …), sorted. */
  apps: string[];
  first_seen: string;
  last_seen: string;
}

/**
 * GET /api/devices/:id → 200 DeviceDetail; 404 unknown id. `:id` is a MAC (aa:bb:cc:dd:ee:ff) or
 * an IP address (devices seen without a MAC), URL-encoded; maxLength 64.
 */
export interface DeviceDetail extends DeviceListItem {
  /** Busiest first, at most 200. */
  remotes: RemoteEndpoint[];
  /** Worst first (severity, standard, code). Evidence flows are ids usable with /api/flows?id=. */
  findings_list: FindingItem[];
  observations: ObservationReport[];
  /** The device's most recent flows (at most 100, newest first); the rest via /api/flows?device=. */
  recent_flows: FlowReport[];
  flows_total: number;
}

/**
 * DELETE /api/devices/:id (session + CSRF header) → 200 ForgetResult: every stored row about
 * the device is removed (flows, findings, observations, addresses), securely (SQLite
 * secure_delete + WAL checkpoint). 404 unknown id.
 */
export interface ForgetResult {
  device: string;
  deleted: { devices: number; flows: number; findings: number; observations: number };
}

// -------------------------------------------------------------------------------------------------
// Findings

/** A finding with its database id and device. */
export interface FindingItem extends FindingReport {
  id: number;
  device_id: string;
  /** The device's display name (hostname, vendor or id). */
  device_name: string;
}

/**
 * GET /api/findings → 200 FindingPage.
 * Query (all optional):
 *   device    device id (maxLength 64)
 *   standard  1..5
 *   severity  info|low|medium|high|critical — exactly this severity
 *   min_severity  info|low|medium|high|critical — this severity or worse
 *   code      a finding code (FINDING_CODES keys; lowercase letters, digits and '-', maxLength 64)
 *   since, until  ISO 8601 date-time (or date) in UTC; a finding matches when its
 *             [first_seen, last_seen] overlaps [since, until]
 *   limit     1..500 (default 100); offset 0..10_000_000 (default 0)
 * Order: worst severity first, then newest last_seen, then id.
 */
export interface FindingPage {
  total: number;
  limit: number;
  offset: number;
  findings: FindingItem[];
}

/**
 * GET /api/export/findings.csv → 200 text/csv download (Content-Disposition: attachment;
 * filename="notcreepy-findings.csv"); same filters as /api/findings except limit/offset (all rows).
 * Columns: id, device_id, device_name, standard, code, severity, title, detail, remote,
 * first_seen, last_seen, count, evidence (JSON). Cells that start with = + - @ are prefixed
 * with ' so spreadsheets do not run them.
 *
 * GET /api/export/findings.json → 200 application/json download
 * (filename="notcreepy-findings.json"): FindingsExport.
 */
export interface FindingsExport {
  generated_at: string;
  filters: Record<string, string | number>;
  findings: FindingItem[];
}

// -------------------------------------------------------------------------------------------------
// Flows

/**
 * GET /api/flows → 200 FlowPage.
 * Query (all optional):
 *   id         a flow id (for a finding's evidence); repeatable up to 50 times (`id=1&id=2`)
 *   device     device id: flows of that device (either side)
 *   encryption encrypted|plaintext|unknown
 *   app        application, e.g. tls, http, dns (lowercase letters, digits, '-', '_', maxLength 32)
 *   proto      tcp|udp|icmp|icmpv6|… (lowercase letters and digits, maxLength 16)
 *   remote     substring of the remote address or server name (maxLength 253; letters, digits, . : - _ [ ])
 *   since, until  ISO 8601; flows overlapping the interval
 *   limit 1..500 (default 100), offset 0..10_000_000
 * Order: newest first_seen first, then id descending.
 */
export interface FlowPage {
  total: number;
  limit: number;
  offset: number;
  flows: FlowReport[];
}

// -------------------------------------------------------------------------------------------------
// Traffic over time

export interface TrafficPoint {
  /** Start of the bucket. */
  start: string;
  encrypted: number;
  plaintext: number;
  unknown: number;
}

/**
 * GET /api/traffic → 200 TrafficSeries: bytes per time bucket by encryption verdict.
 * Query: device (optional), since/until (optional, ISO 8601; default: the whole database's time
 * span), buckets 1..500 (default 60). A flow's bytes are spread evenly over the buckets its
 * [first_seen, last_seen] covers. Empty database → points [].
 */
export interface TrafficSeries {
  bucket_seconds: number;
  from: string | null;
  to: string | null;
  points: TrafficPoint[];
}

/** GET /api/trackers → 200 { trackers: TrackerOrganisation[] } (all, busiest first). Query: device (optional). */
export interface TrackerList {
  trackers: TrackerOrganisation[];
}

// -------------------------------------------------------------------------------------------------
// Status and settings

export interface CaptureRun {
  id: number;
  mode: string;
  files: string[];
  started_at: string;
  finished_at: string | null;
  packets: number;
  bytes: number;
  flows: number;
  malformed: number;
  warnings: string[];
}

/** GET /api/status → 200 StatusResponse. Also pushed as the SSE `status` event. */
export interface StatusResponse {
  /** What the daemon last wrote (null when no daemon ever wrote to this database, e.g. after analyze). */
  daemon: DaemonStatus | null;
  /** daemon.running but its last update is older than 30 s: it probably died. */
  daemon_stale: boolean;
  database: {
    devices: number;
    flows: number;
    findings: number;
    captures: number;
    last_capture: CaptureRun | null;
  };
  server: { version: string; started_at: string; https: boolean };
}

/** GET /api/settings → 200 Settings. */
export interface Settings {
  /** Keep flows and findings this many days (capture clock); null = keep everything. The daemon prunes. */
  retain_days: number | null;
}

/**
 * PUT /api/settings (session + CSRF header) body SettingsUpdate → 200 Settings;
 * 400 when retain_days is not an integer in 1..3650 or null.
 */
export interface SettingsUpdate {
  retain_days: number | null;
}

// -------------------------------------------------------------------------------------------------
// Live events

/**
 * GET /api/events (session) → text/event-stream. The server polls the database about once a second
 * (it may be written by another process, the daemon) and sends:
 *   event: status   data: StatusResponse   (on connect, then when it changes)
 *   event: finding  data: FindingItem      (a finding inserted or updated since the previous poll)
 *   event: device-deleted  data: { device: string }   (after DELETE /api/devices/:id)
 * plus a comment line (": ping") every 15 s. EventSource reconnects by itself; on reconnect refetch.
 */
export interface ServerEvents {
  status: StatusResponse;
  finding: FindingItem;
  'device-deleted': { device: string };
}
