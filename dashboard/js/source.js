/**
 * Where the pages get their data. Two sources with the same methods:
 * - apiSource(): the dashboard's server (src/server/api-types.ts documents every route);
 * - embeddedSource(bundle): the data written into a self-contained HTML report
 *   (src/report/html.ts), answering the same questions offline.
 * The views only ever talk to one of these, so the report and the dashboard share every renderer.
 */

const CSRF_HEADER = 'X-Notcreepy-Request';

/** An error answer of the API, with its ApiError body. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed (${status})`);
    this.status = status;
    this.reasons = (body && Array.isArray(body.reasons) && body.reasons) || [];
    this.retryAfter = null;
  }
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.set(key, String(value));
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

export function apiSource() {
  async function call(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') init.headers[CSRF_HEADER] = '1';
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      err.retryAfter = res.headers.get('Retry-After');
      if (res.status === 401 && source.onUnauthorized && !path.startsWith('/api/login') && !path.startsWith('/api/setup')) {
        source.onUnauthorized();
      }
      throw err;
    }
    return data;
  }
  const get = (path, query) => call('GET', `${path}${queryString(query)}`);

  const source = {
    kind: 'api',
    /** Called when a request finds the session gone (set by the app). */
    onUnauthorized: null,
    auth: () => get('/api/auth'),
    setup: (token, password) => call('POST', '/api/setup', { token, password }),
    login: (password) => call('POST', '/api/login', { password }),
    logout: () => call('POST', '/api/logout'),
    changePassword: (current, password) => call('POST', '/api/password', { current, password }),
    summary: () => get('/api/summary'),
    devices: () => get('/api/devices'),
    device: (id) => get(`/api/devices/${encodeURIComponent(id)}`),
    deleteDevice: (id) => call('DELETE', `/api/devices/${encodeURIComponent(id)}`),
    findings: (query) => get('/api/findings', query),
    flows: (query) => get('/api/flows', query),
    traffic: (query) => get('/api/traffic', query),
    trackers: (query) => get('/api/trackers', query),
    status: () => get('/api/status'),
    settings: () => get('/api/settings'),
    saveSettings: (settings) => call('PUT', '/api/settings', settings),
    exportUrl: (format, query) => `/api/export/findings.${format}${queryString(query)}`,
    /**
     * Server-sent events: handlers.finding(item), handlers.status(status),
     * handlers.deviceDeleted({device}), handlers.connection(open: boolean). Returns a stop function.
     */
    subscribe(handlers) {
      if (typeof EventSource === 'undefined') return () => {};
      const events = new EventSource('/api/events');
      const parse = (fn) => (e) => {
        try {
          fn(JSON.parse(e.data));
        } catch {
          // a malformed event is dropped; the next refresh shows the truth
        }
      };
      if (handlers.finding) events.addEventListener('finding', parse(handlers.finding));
      if (handlers.status) events.addEventListener('status', parse(handlers.status));
      if (handlers.deviceDeleted) events.addEventListener('device-deleted', parse(handlers.deviceDeleted));
      events.addEventListener('open', () => handlers.connection?.(true));
      events.addEventListener('error', () => handlers.connection?.(false));
      return () => events.close();
    },
  };
  return source;
}

const SEVERITY_ORDER = ['info', 'low', 'medium', 'high', 'critical'];

function page(list, query, key) {
  const limit = Math.min(Math.max(Number(query?.limit) || 100, 1), 500);
  const offset = Math.max(Number(query?.offset) || 0, 0);
  return { total: list.length, limit, offset, [key]: list.slice(offset, offset + limit) };
}

function overlaps(item, query) {
  if (query?.since && item.last_seen < new Date(query.since).toISOString()) return false;
  if (query?.until && item.first_seen > new Date(query.until).toISOString()) return false;
  return true;
}

/**
 * The report's data: everything the API would answer, computed when the report was written.
 * Filters and pages follow the API's rules (same order, same meaning of each parameter).
 */
export function embeddedSource(bundle) {
  const copy = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));
  const notHere = () => Promise.reject(new ApiError(404, { message: 'Not available in a saved report.' }));
  return {
    kind: 'embedded',
    meta: bundle.meta,
    onUnauthorized: null,
    auth: async () => ({ setup_required: false, authenticated: true, https: false, session_expires_at: null, password_rules: '' }),
    summary: async () => copy(bundle.summary),
    devices: async () => copy(bundle.devices),
    async device(id) {
      const d = bundle.details[id];
      if (!d) throw new ApiError(404, { message: `No device ${id} in this report.` });
      return copy(d);
    },
    deleteDevice: notHere,
    async findings(query = {}) {
      const min = query.min_severity ? SEVERITY_ORDER.indexOf(query.min_severity) : -1;
      const list = bundle.findings.filter(
        (f) =>
          (!query.device || f.device_id === query.device) &&
          (!query.standard || f.standard === Number(query.standard)) &&
          (!query.severity || f.severity === query.severity) &&
          (min < 0 || SEVERITY_ORDER.indexOf(f.severity) >= min) &&
          (!query.code || f.code === query.code) &&
          overlaps(f, query),
      );
      return copy(page(list, query, 'findings'));
    },
    async flows(query = {}) {
      const ids = query.id === undefined ? null : new Set([].concat(query.id).map(Number));
      const remote = query.remote ? String(query.remote).toLowerCase() : null;
      const list = bundle.flows.filter(
        (f) =>
          (!ids || ids.has(f.id)) &&
          (!query.device || f.device === query.device || f.peer_device === query.device) &&
          (!query.encryption || (f.encryption ?? 'unknown') === query.encryption) &&
          (!query.app || f.app === query.app) &&
          (!query.proto || f.proto === query.proto) &&
          (!remote || `${f.src} ${f.dst} ${f.server_name ?? ''}`.toLowerCase().includes(remote)) &&
          overlaps(f, query),
      );
      return copy(page(list, query, 'flows'));
    },
    async traffic(query = {}) {
      const series = query.device ? bundle.device_traffic?.[query.device] : bundle.traffic;
      return copy(series ?? { bucket_seconds: 0, from: null, to: null, points: [] });
    },
    async trackers(query = {}) {
      const all = bundle.trackers.trackers;
      return copy({ trackers: query.device ? all.filter((t) => t.devices.includes(query.device)) : all });
    },
    status: async () => copy(bundle.status),
    settings: notHere,
    saveSettings: notHere,
    exportUrl: () => null,
    subscribe: () => () => {},
  };
}
