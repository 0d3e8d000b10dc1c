/**
 * The dashboard's Fastify application: security plugins and hooks first (headers, session check,
 * CSRF check, rate limits), then the JSON API, the event stream and the static pages. Built by
 * startDashboard (src/server/index.ts); tests build it the same way.
 */
import { packageVersion } from '../version.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { Logger } from 'pino';
import { trackerIntel } from '../intel/trackers.js';
import {
  allFindings,
  databaseCounts,
  deviceDetail,
  deviceList,
  findingsPage,
  flowsPage,
  summary,
  trackerOrganisations,
  trafficSeries,
  type FindingFilter,
} from '../store/queries.js';
import type { Store } from '../store/store.js';
import type { Severity, Standard } from '../standards/types.js';
import {
  CHART_JS_PATH,
  EVENTS_PATH,
  SESSION_COOKIE,
  type AuthState,
  type FindingItem,
  type FindingsExport,
  type ForgetResult,
  type Settings,
  type StatusResponse,
} from './api-types.js';
import { Sessions, apiError, csrfProblem, PASSWORD_SETTING, setupTokenMatches, storedPasswordHash } from './auth.js';
import { EventHub } from './events.js';
import { hashPassword, passwordProblems, PASSWORD_RULES, verifyPassword, type PasswordHash } from './password.js';
import * as S from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answers without a session (auth state, setup, login, static assets). */
    public?: boolean;
  }
}

/** The package root: src/server or dist/server, two levels up. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_DASHBOARD_DIR = join(PACKAGE_ROOT, 'dashboard');
export const RETAIN_DAYS_SETTING = 'retain_days';
/** A running daemon that has not written its status for this long has probably died. */
const STALE_STATUS_MS = 30_000;

export interface AppOptions {
  store: Store;
  logger: Logger;
  /** Certificate and key (PEM) to serve HTTPS; absent for plain HTTP (loopback only, checked by the caller). */
  tls?: { cert: string; key: string } | null;
  /** The one-time setup token while no password is set (null once one is). */
  setupToken: string | null;
  dashboardDir?: string;
  /** How often the event stream polls the database. */
  pollIntervalMs?: number;
  /** Failed logins (or setup tokens) allowed per client address and window before 429. */
  authFailures?: { max: number; windowMs: number };
  version?: string;
}

export interface DashboardApp {
  app: FastifyInstance;
  /** Every route registered (method and URL pattern), for tests and documentation. */
  routes: { method: string; url: string; public: boolean }[];
  sessions: Sessions;
  events: EventHub;
  /** The current setup token (null once a password is set). */
  setupToken(): string | null;
}

function chartJsFile(): string {
  // chart.js exports only its module entry points; its UMD build sits beside them in dist/.
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('chart.js'));
  return join(dir, 'chart.umd.min.js');
}

/** ISO 8601 (UTC when no offset is given) to epoch seconds; null when not a real date. */
export function parseTime(text: string | undefined): number | null | undefined {
  if (text === undefined) return undefined;
  const withZone = /T|\s/.test(text) && !/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T');
  const ms = Date.parse(withZone);
  return Number.isNaN(ms) ? null : ms / 1000;
}

interface FindingQuery {
  device?: string;
  standard?: Standard;
  severity?: Severity;
  min_severity?: Severity;
  code?: string;
  since?: string;
  until?: string;
  limit?: number;
  offset?: number;
}

/** Query to filter, or the message of a 400. */
function findingFilter(q: FindingQuery): FindingFilter | string {
  const since = parseTime(q.since);
  const until = parseTime(q.until);
  if (since === null) return 'querystring/since is not a valid date';
  if (until === null) return 'querystring/until is not a valid date';
  if (since !== undefined && until !== undefined && until < since) return 'querystring/until is before since';
  return {
    device: q.device,
    standard: q.standard,
    severity: q.severity,
    minSeverity: q.min_severity,
    code: q.code,
    since,
    until,
    limit: q.limit,
    offset: q.offset,
  };
}

/** One CSV cell; cells that a spreadsheet would run as a formula are defused with a quote. */
function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CSV_COLUMNS: (keyof FindingItem)[] = [
  'id', 'device_id', 'device_name', 'standard', 'code', 'severity', 'title', 'detail', 'remote', 'first_seen', 'last_seen', 'count', 'evidence',
];

export async function buildApp(options: AppOptions): Promise<DashboardApp> {
  const { store, logger } = options;
  const https = (options.tls ?? null) !== null;
  const sessions = new Sessions();
  let setupToken = options.setupToken;
  const startedAt = new Date().toISOString();
  const version = options.version ?? packageVersion();
  const cookieName = https ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
  const intel = trackerIntel();
  const routes: DashboardApp['routes'] = [];

  const serverOptions: FastifyServerOptions & { https?: HttpsServerOptions } = {
    loggerInstance: logger,
    // Request lines are logged by the hook below at debug level: the event stream and the
    // dashboard's polling would otherwise fill a daemon's log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
    trustProxy: false,
    // Unknown query parameters are an error, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    return503OnClosing: true,
    forceCloseConnections: true,
  };
  if (options.tls) serverOptions.https = { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' };
  // With `https` Fastify builds an https.Server; the routes and hooks are the same either way.
  const app = Fastify(serverOptions) as unknown as FastifyInstance;

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) routes.push({ method, url: route.url, public: route.config?.public === true || !route.url.startsWith('/api') });
  });

  await app.register(fastifyCookie);
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // HSTS would hold for every port of this host (a router's own admin page included) and is
    // ignored anyway for a certificate the browser does not trust: left off.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
  });

  const failures = app.createRateLimit({
    max: options.authFailures?.max ?? 5,
    timeWindow: options.authFailures?.windowMs ?? 60_000,
    keyGenerator: (req) => `auth-failure:${req.ip}`,
  });
  /** Every attempt (right or wrong) is bounded too: scrypt costs CPU. */
  const attemptLimit = { max: 30, timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => `auth-attempt:${req.ip}` };

  const sessionToken = (req: FastifyRequest): string | undefined => req.cookies[cookieName];

  app.addHook('onRequest', async (req, reply) => {
    const config = req.routeOptions.config;
    let path = req.url.split('?')[0];
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path
    }
    const api = (req.routeOptions.url ?? '').startsWith('/api') || /^\/+api(\/|$)/i.test(path);
    if (api && config?.public !== true && sessions.check(sessionToken(req)) === null) {
      return apiError(reply, 401, 'log in first');
    }
    const csrf = csrfProblem(req);
    if (csrf !== null) return apiError(reply, 403, csrf);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/api')) reply.header('Cache-Control', 'no-store');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const entry = { method: req.method, url: req.url.split('?')[0], status: reply.statusCode, ip: req.ip, ms: Math.round(reply.elapsedTime) };
    if (reply.statusCode === 401 || reply.statusCode === 403 || reply.statusCode === 429) req.log.warn(entry, 'request refused');
    else req.log.debug(entry, 'request');
  });

  app.setErrorHandler((err: { statusCode?: number; message: string; validation?: unknown }, req, reply) => {
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
      return apiError(reply, status, 'internal error (see the server log)');
    }
    return apiError(reply, status, err.message);
  });

  app.setNotFoundHandler((req, reply) => apiError(reply, 404, `no such page: ${req.method} ${req.url.split('?')[0].slice(0, 200)}`));

  // -----------------------------------------------------------------------------------------------
  // Authentication

  const authState = (req: FastifyRequest, expires: number | null = sessions.check(sessionToken(req), false)): AuthState => ({
    setup_required: storedPasswordHash(store) === null,
    authenticated: expires !== null,
    https,
    session_expires_at: expires === null ? null : new Date(expires).toISOString(),
    password_rules: PASSWORD_RULES,
  });

  const startSession = (reply: FastifyReply): number => {
    const { token, expiresAt } = sessions.create();
    reply.setCookie(cookieName, token, {
      httpOnly: true,
      secure: https,
      sameSite: 'strict',
      path: '/',
      maxAge: Math.floor((expiresAt - Date.now()) / 1000),
    });
    return expiresAt;
  };

  /** 429 when this address has used up its failures; null to go on. */
  const tooManyFailures = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | null> => {
    const state = await failures(req, { increment: false });
    if (!state.isAllowed && state.remaining <= 0 && state.ttl > 0) {
      reply.header('Retry-After', String(state.ttlInSeconds));
      return apiError(reply, 429, `too many failed attempts: try again in ${state.ttlInSeconds} s`);
    }
    return null;
  };

  /**
   * The password check of login and password change: refused (429) while this client has failed
   * too often, else `given` against the stored hash, a wrong one counted as a failure. Null when
   * the password is right, else the error reply.
   */
  const passwordRefused = async (req: FastifyRequest, reply: FastifyReply, given: string, stored: PasswordHash, wrong: string): Promise<FastifyReply | null> => {
    const limited = await tooManyFailures(req, reply);
    if (limited !== null) return limited;
    if (await verifyPassword(given, stored)) return null;
    await failures(req);
    return apiError(reply, 401, wrong);
  };

  app.get('/api/auth', { config: { public: true }, schema: { querystring: S.noQuery, response: { 200: S.authStateResponse } } }, async (req) => authState(req));

  app.post<{ Body: { token: string; password: string } }>(
    '/api/setup',
    { config: { public: true, rateLimit: attemptLimit }, schema: { body: S.setupBody, response: { 200: S.authStateResponse } } },
    async (req, reply) => {
      if (storedPasswordHash(store) !== null || setupToken === null) return apiError(reply, 409, 'a password is already set: log in');
      const limited = await tooManyFailures(req, reply);
      if (limited !== null) return limited;
      if (!setupTokenMatches(req.body.token, setupToken)) {
        await failures(req);
        return apiError(reply, 403, 'wrong setup token (it is in the server log, on the line that starts the dashboard)');
      }
      const problems = passwordProblems(req.body.password);
      if (problems.length > 0) return apiError(reply, 400, `password refused: ${problems[0]}`, { reasons: problems });
      const hash = await hashPassword(req.body.password);
      // Another request may have finished setup while this one was hashing.
      if (storedPasswordHash(store) !== null || setupToken === null) return apiError(reply, 409, 'a password is already set: log in');
      store.setSetting(PASSWORD_SETTING, hash);
      setupToken = null;
      req.log.info({ ip: req.ip }, 'dashboard password set; the setup token is no longer valid');
      return authState(req, startSession(reply));
    },
  );

  app.post<{ Body: { password: string } }>(
    '/api/login',
    { config: { public: true, rateLimit: attemptLimit }, schema: { body: S.loginBody, response: { 200: S.authStateResponse } } },
    async (req, reply) => {
      const stored = storedPasswordHash(store);
      if (stored === null) return apiError(reply, 409, 'no password is set yet: set one with the setup token from the server log');
      const refused = await passwordRefused(req, reply, req.body.password, stored, 'wrong password');
      if (refused !== null) return refused;
      req.log.info({ ip: req.ip }, 'logged in');
      return authState(req, startSession(reply));
    },
  );

  app.post('/api/logout', { schema: { response: { 204: { type: 'null' } } } }, async (req, reply) => {
    sessions.end(sessionToken(req));
    reply.clearCookie(cookieName, { path: '/', httpOnly: true, secure: https, sameSite: 'strict' });
    return reply.code(204).send();
  });

  app.post<{ Body: { current: string; password: string } }>(
    '/api/password',
    { config: { rateLimit: attemptLimit }, schema: { body: S.changePasswordBody } },
    async (req, reply) => {
      const stored = storedPasswordHash(store);
      if (stored === null) return apiError(reply, 409, 'no password is set yet');
      const refused = await passwordRefused(req, reply, req.body.current, stored, 'the current password is wrong');
      if (refused !== null) return refused;
      const problems = passwordProblems(req.body.password);
      if (problems.length > 0) return apiError(reply, 400, `password refused: ${problems[0]}`, { reasons: problems });
      store.setSetting(PASSWORD_SETTING, await hashPassword(req.body.password));
      // Whoever else was logged in with the old password is logged out.
      sessions.endAll();
      startSession(reply);
      req.log.info({ ip: req.ip }, 'dashboard password changed; other sessions ended');
      return reply.code(204).send();
    },
  );

  // -----------------------------------------------------------------------------------------------
  // Data

  const statusOf = (): StatusResponse => {
    const daemon = store.readStatus();
    const stale = daemon !== null && daemon.running && Date.now() - Date.parse(daemon.updated_at) > STALE_STATUS_MS;
    return { daemon, daemon_stale: stale, database: databaseCounts(store), server: { version, started_at: startedAt, https } };
  };
  const events = new EventHub(store, statusOf, logger, options.pollIntervalMs ?? 1000);

  app.get('/api/summary', { schema: { querystring: S.noQuery, response: { 200: S.summaryResponse } } }, async () => summary(store));

  app.get('/api/devices', { schema: { querystring: S.noQuery, response: { 200: S.deviceListResponse } } }, async () => ({ devices: deviceList(store) }));

  app.get<{ Params: { id: string } }>(
    '/api/devices/:id',
    { schema: { params: S.deviceParams, querystring: S.noQuery, response: { 200: S.deviceDetailResponse } } },
    async (req, reply) => deviceDetail(store, req.params.id, intel) ?? apiError(reply, 404, `no device with id ${req.params.id}`),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/devices/:id',
    { schema: { params: S.deviceParams, querystring: S.noQuery, response: { 200: S.forgetResponse } } },
    async (req, reply) => {
      const deleted = store.forgetDevice(req.params.id);
      if (deleted.devices === 0) return apiError(reply, 404, `no device with id ${req.params.id}`);
      req.log.info({ device: req.params.id, deleted, ip: req.ip }, 'device data deleted');
      events.broadcast('device-deleted', { device: req.params.id });
      const result: ForgetResult = { device: req.params.id, deleted };
      return result;
    },
  );

  app.get<{ Querystring: FindingQuery }>(
    '/api/findings',
    { schema: { querystring: S.findingsQuery, response: { 200: S.findingPageResponse } } },
    async (req, reply) => {
      const filter = findingFilter(req.query);
      return typeof filter === 'string' ? apiError(reply, 400, filter) : findingsPage(store, filter);
    },
  );

  app.get<{ Querystring: FindingQuery }>('/api/export/findings.csv', { schema: { querystring: S.exportQuery } }, async (req, reply) => {
    const filter = findingFilter(req.query);
    if (typeof filter === 'string') return apiError(reply, 400, filter);
    const lines = [CSV_COLUMNS.join(',')];
    for (const f of allFindings(store, filter)) lines.push(CSV_COLUMNS.map((c) => csvCell(f[c])).join(','));
    return reply
      .type('text/csv; charset=utf-8')
      .header('Content-Disposition', 'attachment; filename="notcreepy-findings.csv"')
      .send(`${lines.join('\r\n')}\r\n`);
  });

  app.get<{ Querystring: FindingQuery }>('/api/export/findings.json', { schema: { querystring: S.exportQuery } }, async (req, reply) => {
    const filter = findingFilter(req.query);
    if (typeof filter === 'string') return apiError(reply, 400, filter);
    const filters: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(req.query)) if (v !== undefined) filters[k] = v as string | number;
    const doc: FindingsExport = { generated_at: new Date().toISOString(), filters, findings: [...allFindings(store, filter)] };
    return reply
      .type('application/json; charset=utf-8')
      .header('Content-Disposition', 'attachment; filename="notcreepy-findings.json"')
      .send(JSON.stringify(doc, null, 2));
  });

  app.get<{ Querystring: { id?: number[]; device?: string; encryption?: 'encrypted' | 'plaintext' | 'unknown'; app?: string; proto?: string; remote?: string; since?: string; until?: string; limit?: number; offset?: number } }>(
    '/api/flows',
    { schema: { querystring: S.flowsQuery, response: { 200: S.flowPageResponse } } },
    async (req, reply) => {
      const q = req.query;
      const since = parseTime(q.since);
      const until = parseTime(q.until);
      if (since === null || until === null) return apiError(reply, 400, 'querystring/since or until is not a valid date');
      return flowsPage(store, { ids: q.id, device: q.device, encryption: q.encryption, app: q.app, proto: q.proto, remote: q.remote, since, until, limit: q.limit, offset: q.offset });
    },
  );

  app.get<{ Querystring: { device?: string; since?: string; until?: string; buckets?: number } }>(
    '/api/traffic',
    { schema: { querystring: S.trafficQuery, response: { 200: S.trafficResponse } } },
    async (req, reply) => {
      const since = parseTime(req.query.since);
      const until = parseTime(req.query.until);
      if (since === null || until === null) return apiError(reply, 400, 'querystring/since or until is not a valid date');
      if (since !== undefined && until !== undefined && until < since) return apiError(reply, 400, 'querystring/until is before since');
      return trafficSeries(store, { device: req.query.device, since, until, buckets: req.query.buckets });
    },
  );

  app.get<{ Querystring: { device?: string } }>(
    '/api/trackers',
    { schema: { querystring: S.trackersQuery, response: { 200: S.trackerListResponse } } },
    async (req) => ({ trackers: trackerOrganisations(store, { device: req.query.device }) }),
  );

  app.get('/api/status', { schema: { querystring: S.noQuery, response: { 200: S.statusResponse } } }, async () => statusOf());

  const settings = (): Settings => {
    // What the daemon actually applies: this setting once saved here, else its configured value.
    return { retain_days: store.retentionDays() };
  };
  app.get('/api/settings', { schema: { querystring: S.noQuery, response: { 200: S.settingsResponse } } }, async () => settings());
  app.put<{ Body: { retain_days: number | null } }>(
    '/api/settings',
    { schema: { body: S.settingsBody, response: { 200: S.settingsResponse } } },
    async (req) => {
      store.setSetting(RETAIN_DAYS_SETTING, req.body.retain_days);
      req.log.info({ retain_days: req.body.retain_days, ip: req.ip }, 'retention changed');
      return settings();
    },
  );

  app.get(EVENTS_PATH, { schema: { querystring: S.noQuery } }, async (req, reply) => {
    const token = sessionToken(req);
    reply.hijack();
    if (!events.add(reply.raw, () => sessions.check(token, false) !== null)) {
      reply.raw.writeHead(503, { 'Content-Type': 'application/json; charset=utf-8', 'Retry-After': '10' });
      reply.raw.end(JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'too many open event streams' }));
    }
  });

  app.addHook('preClose', async () => events.close());

  // -----------------------------------------------------------------------------------------------
  // Static files: the dashboard's pages and chart.js, both from this machine (no CDN).

  const chartJs = readFileSync(chartJsFile());
  app.get(CHART_JS_PATH, { config: { public: true } }, async (_req, reply) =>
    reply.type('application/javascript; charset=utf-8').header('Cache-Control', 'public, max-age=86400').send(chartJs),
  );

  await app.register(fastifyStatic, {
    root: options.dashboardDir ?? DEFAULT_DASHBOARD_DIR,
    prefix: '/',
    index: ['index.html'],
    dotfiles: 'deny',
    cacheControl: true,
    maxAge: 0,
  });

  await app.ready();
  return { app, routes, sessions, events, setupToken: () => setupToken };
}
