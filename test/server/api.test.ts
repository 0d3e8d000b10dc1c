/**
 * The JSON API against the facts of captures/lan-standards.pcap (captures/README.md): a real
 * database made by the analyzer, a real HTTPS server on 127.0.0.1, a logged-in client.
 */
import Database from 'better-sqlite3';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DeviceDetail,
  DeviceList,
  FindingItem,
  FindingPage,
  FindingsExport,
  FlowPage,
  StatusResponse,
  Summary,
  TrafficSeries,
} from '../../src/server/api-types.js';
import type { RunningDashboard } from '../../src/server/index.js';
import { Store, type DaemonStatus } from '../../src/store/store.js';
import { FINDING_CODES } from '../../src/standards/types.js';
import { BASIC_PCAP, CAM, Client, GATEWAY, SECRETS, SPEAKER, STANDARDS_PCAP, TV, makeDatabase, secretPatterns, startTestDashboard } from './helpers.js';

const dev = (id: string): string => `/api/devices/${encodeURIComponent(id)}`;

describe('API over lan-standards', () => {
  let db: Awaited<ReturnType<typeof makeDatabase>>;
  let server: RunningDashboard;
  let client: Client;
  /** Every response body this suite saw, for the secrets check at the end. */
  const seen: string[] = [];
  const get = async (path: string) => {
    const res = await client.request(path);
    seen.push(res.text);
    return res;
  };

  beforeAll(async () => {
    db = await makeDatabase([STANDARDS_PCAP]);
    server = await startTestDashboard(db.db);
    client = new Client(server);
    await client.setupAndLogin();
  });
  afterAll(async () => {
    client?.close();
    await server?.close();
    db?.cleanup();
  });

  it('summary: who is creepy, findings by standard and severity, encrypted vs plaintext, trackers', async () => {
    const res = await get('/api/summary');
    expect(res.status).toBe(200);
    const s = res.json as Summary;
    expect(s.devices).toBe(4);
    // garden-cam and living-room-tv fail standards; kitchen-speaker does not.
    expect(s.verdicts.creepy).toBe(2);
    expect(s.verdicts.questionable).toBe(0);
    expect(s.verdicts['not-creepy']).toBe(2);
    expect(s.findings.by_standard.map((x) => x.standard)).toEqual([1, 2, 3, 4, 5]);
    expect(s.findings.by_standard.reduce((n, x) => n + x.total, 0)).toBe(s.findings.total);
    expect(Object.values(s.findings.by_severity).reduce((n, x) => n + x, 0)).toBe(s.findings.total);
    // two factory-default logins (HTTP Basic admin/admin, telnet root/xc3511)
    expect(s.findings.by_severity.critical).toBe(2);
    const raw = new Database(db.db, { readonly: true });
    const flows = raw.prepare(`SELECT coalesce(encryption,'unknown') AS e, count(*) AS n, sum(bytes_c2s + bytes_s2c) AS b FROM flows GROUP BY 1`).all() as { e: 'encrypted' | 'plaintext' | 'unknown'; n: number; b: number }[];
    const findingCount = (raw.prepare(`SELECT count(*) AS n FROM findings`).get() as { n: number }).n;
    raw.close();
    expect(s.findings.total).toBe(findingCount);
    for (const f of flows) expect(s.traffic[f.e]).toEqual({ flows: f.n, bytes: f.b });
    expect(s.traffic.encrypted.bytes).toBeGreaterThan(0);
    expect(s.traffic.plaintext.bytes).toBeGreaterThan(0);
    const orgs = s.top_trackers.map((t) => t.organisation);
    expect(orgs).toContain('Google');
    const google = s.top_trackers.find((t) => t.organisation === 'Google');
    expect(google?.domains).toContain('www.google-analytics.com');
    expect(google?.devices).toEqual([CAM]);
    expect(s.top_trackers.every((t) => t.devices.every((d) => d === CAM))).toBe(true);
    expect(s.captures).toBe(1);
  });

  it('devices: every device with its report card, worst first', async () => {
    const res = await get('/api/devices');
    const list = (res.json as DeviceList).devices;
    expect(list.map((d) => d.id).sort()).toEqual([CAM, SPEAKER, TV, GATEWAY].sort());
    const byId = new Map(list.map((d) => [d.id, d]));
    expect(byId.get(CAM)?.report.verdict).toBe('creepy');
    expect(byId.get(TV)?.report.verdict).toBe('creepy');
    expect(byId.get(SPEAKER)?.report.verdict).toBe('not-creepy');
    // The camera has the worst findings (critical): first.
    expect(list[0].id).toBe(CAM);
    expect(list[1].id).toBe(TV);
    const rank = { creepy: 0, questionable: 1, 'not-creepy': 2, 'not-enough-seen': 3 };
    for (let i = 1; i < list.length; i++) expect(rank[list[i - 1].report.verdict]).toBeLessThanOrEqual(rank[list[i].report.verdict]);
    const cam = byId.get(CAM)!;
    expect(cam.name).toBe('garden-cam');
    expect(cam.hostname).toBe('garden-cam');
    expect(cam.vendor).toMatch(/Raspberry Pi/);
    expect(cam.ips).toContain('192.168.50.101');
    expect(cam.report.standards.map((c) => c.standard)).toEqual([1, 2, 3, 4, 5]);
    expect(cam.report.standards.find((c) => c.standard === 3)?.state).toBe('fail');
    expect(cam.findings.by_severity.critical).toBe(2);
    const speaker = byId.get(SPEAKER)!;
    expect(speaker.name).toBe('kitchen-speaker');
    expect(speaker.locally_administered).toBe(true);
    expect(speaker.findings.total).toBe(0);
    expect(speaker.report.standards.find((c) => c.standard === 1)?.state).toBe('pass');
    expect(byId.get(TV)?.vendor).toMatch(/Google/);
  });

  it('one device: names, vendor, IPs, card, findings with evidence, remotes with organisation and category, flows', async () => {
    const res = await get(dev(CAM));
    expect(res.status).toBe(200);
    const cam = res.json as DeviceDetail;
    expect(cam.name).toBe('garden-cam');
    expect(cam.vendor_class).toBe('dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835');
    const codes = new Set(cam.findings_list.map((f) => f.code));
    for (const code of ['default-credentials', 'cleartext-credentials', 'update-over-plaintext', 'update-unsigned', 'tracker-contact', 'pii-in-plaintext', 'risky-service-exposed', 'outdated-software', 'plaintext-flow']) {
      expect(codes, code).toContain(code);
    }
    // Worst first.
    expect(cam.findings_list[0].severity).toBe('critical');
    const basic = cam.findings_list.find((f) => f.code === 'default-credentials' && f.remote.startsWith('cam-cloud.example.test'))!;
    expect(basic.device_id).toBe(CAM);
    expect(basic.device_name).toBe('garden-cam');
    expect(basic.evidence.flows.length).toBeGreaterThan(0);
    // The evidence flows are real flow ids of this device.
    const evidenceFlows = (await get(`/api/flows?${basic.evidence.flows.map((id) => `id=${id}`).join('&')}`)).json as FlowPage;
    expect(evidenceFlows.total).toBe(basic.evidence.flows.length);
    for (const f of evidenceFlows.flows) {
      expect(f.device).toBe(CAM);
      expect(f.dst).toBe('203.0.113.50:80');
    }
    const ga = cam.remotes.find((r) => r.server_name === 'www.google-analytics.com')!;
    expect(ga.ip).toBe('203.0.113.30');
    expect(ga.organisation).toBe('Google');
    expect(ga.category).toBe('site_analytics');
    expect(ga.tracker).toBe(true);
    expect(ga.local).toBe(false);
    expect(ga.plaintext_bytes).toBeGreaterThan(0);
    const firmware = cam.remotes.find((r) => r.server_name === 'firmware.example.test')!;
    expect(firmware.tracker).toBe(false);
    expect(firmware.organisation).toBeNull();
    expect(firmware.services).toEqual(['tcp/80']);
    expect(firmware.encrypted_bytes).toBe(0);
    // The WAN scanner that logged in over telnet is a remote too, not named after the camera itself.
    const scanner = cam.remotes.find((r) => r.ip === '203.0.113.99')!;
    expect(scanner.server_name).toBeNull();
    expect(scanner.services).toEqual(['tcp/23', 'tcp/80']);
    const gateway = cam.remotes.find((r) => r.ip === '192.168.50.1')!;
    expect(gateway.local).toBe(true);
    expect(cam.flows_total).toBe(cam.flows);
    expect(cam.recent_flows.length).toBe(Math.min(100, cam.flows_total));
    expect(cam.observations.every((o) => typeof o.kind === 'string')).toBe(true);

    const tv = (await get(dev(TV))).json as DeviceDetail;
    const tvCodes = tv.findings_list.map((f) => f.code);
    for (const code of ['tls-obsolete-version', 'tls-expired-certificate', 'tls-self-signed', 'upnp-port-mapping']) expect(tvCodes).toContain(code);
    expect(tv.remotes.find((r) => r.server_name === 'tv-api.example.test')?.encrypted_bytes).toBeGreaterThan(0);

    const speaker = (await get(dev(SPEAKER))).json as DeviceDetail;
    expect(speaker.findings_list).toEqual([]);
    expect(speaker.report.verdict).toBe('not-creepy');
    expect(speaker.observations.map((o) => o.kind)).toContain('update-over-tls');
    const named = speaker.remotes.filter((r) => r.server_name !== null);
    expect(named.map((r) => r.server_name).sort()).toEqual(['stream.example.test', 'updates.example.test']);
    for (const r of named) {
      expect(r.plaintext_bytes).toBe(0);
      expect(r.encrypted_bytes).toBeGreaterThan(0);
      expect(r.services).toEqual(['tcp/443']);
    }
  });

  it('404 for an unknown device, 400 for an id that cannot be one', async () => {
    const unknown = await get(dev('aa:bb:cc:dd:ee:ff'));
    expect(unknown.status).toBe(404);
    expect(unknown.json.message).toMatch(/no device/);
    expect((await get(dev("x' OR '1'='1"))).status).toBe(400);
    expect((await get(dev('a'.repeat(65)))).status).toBe(400);
    expect((await get(`${dev(CAM)}?extra=1`)).status).toBe(400);
  });

  it('findings: filters by device, standard, severity, code and time', async () => {
    const all = (await get('/api/findings?limit=500')).json as FindingPage;
    expect(all.total).toBe(all.findings.length);
    const mine = (await get(`/api/findings?device=${encodeURIComponent(TV)}&limit=500`)).json as FindingPage;
    expect(mine.total).toBe(all.findings.filter((f) => f.device_id === TV).length);
    expect(mine.findings.every((f) => f.device_id === TV && f.device_name === 'living-room-tv')).toBe(true);
    const std3 = (await get('/api/findings?standard=3')).json as FindingPage;
    expect(std3.total).toBe(all.findings.filter((f) => f.standard === 3).length);
    expect(std3.findings.every((f) => f.standard === 3)).toBe(true);
    const critical = (await get('/api/findings?severity=critical')).json as FindingPage;
    expect(critical.findings.map((f) => f.code)).toEqual(['default-credentials', 'default-credentials']);
    const high = (await get('/api/findings?min_severity=high&limit=500')).json as FindingPage;
    expect(high.total).toBe(all.findings.filter((f) => f.severity === 'high' || f.severity === 'critical').length);
    const trackers = (await get('/api/findings?code=tracker-contact')).json as FindingPage;
    expect(trackers.findings.map((f) => f.remote).sort()).toEqual(['app-measurement.com', 'www.google-analytics.com']);
    expect(trackers.findings.every((f) => FINDING_CODES[f.code as keyof typeof FINDING_CODES] === 5)).toBe(true);
    // Time: everything lies inside the capture's own span, nothing after it.
    const first = all.findings.map((f) => f.first_seen).sort()[0];
    const last = all.findings.map((f) => f.last_seen).sort().at(-1)!;
    expect(((await get(`/api/findings?since=${first}&until=${last}&limit=500`)).json as FindingPage).total).toBe(all.total);
    const later = new Date(Date.parse(last) + 1000).toISOString();
    expect(((await get(`/api/findings?since=${later}`)).json as FindingPage).total).toBe(0);
    const before = new Date(Date.parse(first) - 1000).toISOString();
    expect(((await get(`/api/findings?until=${before}`)).json as FindingPage).total).toBe(0);
    // Combined filters intersect.
    const camHigh = (await get(`/api/findings?device=${encodeURIComponent(CAM)}&standard=1&min_severity=high`)).json as FindingPage;
    expect(camHigh.total).toBe(all.findings.filter((f) => f.device_id === CAM && f.standard === 1 && ['high', 'critical'].includes(f.severity)).length);
    expect(camHigh.total).toBeGreaterThan(0);
  });

  it('findings: pages are disjoint and cover the whole list in order', async () => {
    const all = (await get('/api/findings?limit=500')).json as FindingPage;
    const ids: number[] = [];
    for (let offset = 0; offset < all.total; offset += 7) {
      const page = (await get(`/api/findings?limit=7&offset=${offset}`)).json as FindingPage;
      expect(page.total).toBe(all.total);
      expect(page.limit).toBe(7);
      expect(page.offset).toBe(offset);
      ids.push(...page.findings.map((f) => f.id));
    }
    expect(ids).toEqual(all.findings.map((f) => f.id));
    const beyond = (await get(`/api/findings?offset=${all.total + 10}`)).json as FindingPage;
    expect(beyond.findings).toEqual([]);
  });

  it('flows: filters and pagination', async () => {
    const all = (await get('/api/flows?limit=500')).json as FlowPage;
    expect(all.total).toBe(all.flows.length);
    const raw = new Database(db.db, { readonly: true });
    expect(all.total).toBe((raw.prepare(`SELECT count(*) AS n FROM flows`).get() as { n: number }).n);
    raw.close();
    const plain = (await get('/api/flows?encryption=plaintext&limit=500')).json as FlowPage;
    expect(plain.total).toBe(all.flows.filter((f) => f.encryption === 'plaintext').length);
    expect(plain.flows.every((f) => f.encryption === 'plaintext')).toBe(true);
    const speaker = (await get(`/api/flows?device=${encodeURIComponent(SPEAKER)}&limit=500`)).json as FlowPage;
    expect(speaker.total).toBe(all.flows.filter((f) => f.device === SPEAKER || f.peer_device === SPEAKER).length);
    const tls = (await get(`/api/flows?device=${encodeURIComponent(SPEAKER)}&app=tls`)).json as FlowPage;
    // kitchen-speaker: three TLS 1.3 connections, all encrypted
    expect(tls.total).toBe(3);
    expect(tls.flows.every((f) => f.encryption === 'encrypted' && f.dst.endsWith(':443'))).toBe(true);
    const telnet = (await get('/api/flows?remote=203.0.113.99&proto=tcp')).json as FlowPage;
    expect(telnet.flows.map((f) => f.dst).sort()).toEqual(['192.168.50.101:23', '192.168.50.101:80']);
    const byName = (await get('/api/flows?remote=mqtt.example')).json as FlowPage;
    expect(byName.flows.map((f) => f.server_name)).toEqual(['mqtt.example.test']);
    // Pages
    const ids: number[] = [];
    for (let offset = 0; offset < all.total; offset += 10) ids.push(...((await get(`/api/flows?limit=10&offset=${offset}`)).json as FlowPage).flows.map((f) => f.id));
    expect(ids).toEqual(all.flows.map((f) => f.id));
    // Newest first
    for (let i = 1; i < all.flows.length; i++) expect(all.flows[i - 1].first_seen >= all.flows[i].first_seen).toBe(true);
  });

  it('traffic over time adds up to the totals', async () => {
    const s = (await get('/api/summary')).json as Summary;
    const t = (await get('/api/traffic?buckets=10')).json as TrafficSeries;
    expect(t.points.length).toBeGreaterThan(0);
    expect(t.points.length).toBeLessThanOrEqual(11);
    for (const key of ['encrypted', 'plaintext', 'unknown'] as const) {
      const sum = t.points.reduce((n, p) => n + p[key], 0);
      expect(Math.abs(sum - s.traffic[key].bytes)).toBeLessThanOrEqual(t.points.length);
    }
    // Buckets follow each other at the stated size.
    for (let i = 1; i < t.points.length; i++) expect(Date.parse(t.points[i].start) - Date.parse(t.points[i - 1].start)).toBe(t.bucket_seconds * 1000);
    const speaker = (await get(`/api/traffic?device=${encodeURIComponent(SPEAKER)}`)).json as TrafficSeries;
    const enc = speaker.points.reduce((n, p) => n + p.encrypted, 0);
    expect(enc).toBeGreaterThan(0);
  });

  it('status: no daemon for an analysed file; what a daemon writes from another connection shows up', async () => {
    const before = (await get('/api/status')).json as StatusResponse;
    expect(before.daemon).toBeNull();
    expect(before.database.captures).toBe(1);
    expect(before.database.last_capture?.mode).toBe('analyze');
    expect(before.database.last_capture?.packets).toBe(290);
    expect(before.server.https).toBe(true);
    const other = new Store(db.db);
    const now = new Date().toISOString();
    const status: DaemonStatus = {
      mode: 'watch', version: 'test', pid: 4242, started_at: now, updated_at: now, running: true, interfaces: ['br-lan'], filter: null,
      packets: 1234, bytes: 567890, malformed: 1, drops_kernel: 3, drops_interface: null, drops_queue: 0,
      packets_per_second: 12.5, bytes_per_second: 3000, flows_live: 7, flows_stored: 35, findings: 32, warnings: [],
    };
    other.writeStatus(status);
    const after = (await get('/api/status')).json as StatusResponse;
    expect(after.daemon).toEqual(status);
    expect(after.daemon_stale).toBe(false);
    const old = new Date(Date.now() - 120_000).toISOString();
    other.writeStatus({ ...status, updated_at: old });
    expect(((await get('/api/status')).json as StatusResponse).daemon_stale).toBe(true);
    other.db.prepare(`DELETE FROM status`).run();
    other.close();
  });

  it('settings: retention read and written, out-of-range values refused', async () => {
    // A database made by analyze: nothing prunes it.
    expect((await get('/api/settings')).json).toEqual({ retain_days: null });
    // A daemon configured for 21 days: that is what the page shows until the user chooses.
    const daemon = new Store(db.db);
    daemon.setSetting('retain_days_configured', 21);
    expect((await get('/api/settings')).json).toEqual({ retain_days: 21 });
    const put = (body: unknown) => client.request('/api/settings', { method: 'PUT', body });
    expect((await put({ retain_days: 30 })).json).toEqual({ retain_days: 30 });
    expect((await get('/api/settings')).json).toEqual({ retain_days: 30 });
    for (const bad of [{ retain_days: 0 }, { retain_days: 3651 }, { retain_days: 1.5 }, { retain_days: 'x' }, {}, { retain_days: 5, other: 1 }]) {
      const res = await put(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect((await put({ retain_days: null })).json).toEqual({ retain_days: null });
    const other = new Store(db.db);
    expect(other.getSetting('retain_days')).toBeNull();
    expect(other.hasSetting('retain_days')).toBe(true);
    expect(other.retentionDays()).toBeNull();
    other.close();
    daemon.db.prepare(`DELETE FROM settings WHERE key = 'retain_days_configured'`).run();
    daemon.close();
  });

  it('exports findings as CSV and JSON downloads', async () => {
    const all = (await get('/api/findings?limit=500')).json as FindingPage;
    const csv = await get('/api/export/findings.csv');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="notcreepy-findings.csv"');
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('id,device_id,device_name,standard,code,severity,title,detail,remote,first_seen,last_seen,count,evidence');
    // One line per finding (no field holds a raw line break).
    expect(lines.length - 1).toBe(all.total);
    expect(csv.text).toMatch(/garden-cam,3,default-credentials,critical/);
    const json = await get('/api/export/findings.json?device=' + encodeURIComponent(CAM));
    expect(json.headers['content-disposition']).toBe('attachment; filename="notcreepy-findings.json"');
    const doc = JSON.parse(json.text) as FindingsExport;
    expect(doc.filters).toEqual({ device: CAM });
    expect(doc.findings.length).toBe(all.findings.filter((f) => f.device_id === CAM).length);
    expect(doc.findings.every((f: FindingItem) => f.device_id === CAM)).toBe(true);
    const critical = await get('/api/export/findings.csv?severity=critical');
    expect(critical.text.trimEnd().split('\r\n').length).toBe(3);
    expect((await get('/api/export/findings.csv?limit=5')).status).toBe(400);
  });

  it('400 with a clear message on bad, oversized and SQL-ish parameters', async () => {
    const cases: [string, RegExp][] = [
      ['/api/findings?limit=0', /limit/],
      ['/api/findings?limit=501', /limit/],
      ['/api/findings?limit=ten', /limit/],
      ['/api/findings?offset=-1', /offset/],
      ['/api/findings?standard=6', /standard/],
      ['/api/findings?severity=catastrophic', /severity/],
      ['/api/findings?code=not-a-code', /code/],
      [`/api/findings?code=${encodeURIComponent("x' OR 1=1; DROP TABLE findings;--")}`, /code/],
      [`/api/findings?device=${encodeURIComponent("' UNION SELECT * FROM settings--")}`, /device/],
      [`/api/findings?device=${'a'.repeat(100)}`, /device/],
      ['/api/findings?since=yesterday', /since/],
      ['/api/findings?since=2024-13-45T99:99:99Z', /since/],
      ['/api/findings?since=2025-01-02&until=2025-01-01', /until/],
      ['/api/findings?sort=id', /additional/],
      [`/api/flows?remote=${encodeURIComponent("a%' OR '1'='1")}`, /remote/],
      [`/api/flows?remote=${'x'.repeat(300)}`, /remote/],
      ['/api/flows?app=TLS;', /app/],
      ['/api/flows?encryption=maybe', /encryption/],
      [`/api/flows?${Array.from({ length: 51 }, (_, i) => `id=${i + 1}`).join('&')}`, /id/],
      ['/api/traffic?buckets=100000', /buckets/],
      ['/api/summary?x=1', /additional/],
    ];
    for (const [path, message] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.json.message, path).toMatch(message);
    }
    // Oversized bodies are refused before they are read.
    const big = await client.request('/api/settings', { method: 'PUT', body: { retain_days: 30, pad: 'x'.repeat(20_000) } });
    expect(big.status).toBe(413);
    // And nothing was dropped or changed.
    expect(((await get('/api/findings?limit=1')).json as FindingPage).total).toBeGreaterThan(0);
  });

  it('the captured passwords appear in no response', () => {
    expect(seen.length).toBeGreaterThan(40);
    const text = seen.join('\n');
    // The test can fail: the responses do talk about these logins.
    expect(text).toContain('cleartext-credentials');
    for (const secret of SECRETS) for (const re of secretPatterns(secret)) expect(re.test(text), `${secret} (${re})`).toBe(false);
  });
});

describe('deleting a device', () => {
  it('removes it, its findings and its flows from the SQLite file, and tells live views', async () => {
    const db = await makeDatabase([STANDARDS_PCAP]);
    const server = await startTestDashboard(db.db);
    const client = new Client(server);
    try {
      await client.setupAndLogin();
      const before = (await client.request(dev(CAM))).json as DeviceDetail;
      expect(before.flows_total).toBeGreaterThan(0);
      const res = await client.request(dev(CAM), { method: 'DELETE' });
      expect(res.status).toBe(200);
      expect(res.json.device).toBe(CAM);
      expect(res.json.deleted.devices).toBe(1);
      expect(res.json.deleted.findings).toBe(before.findings_list.length);
      expect(res.json.deleted.flows).toBe(before.flows_total);
      expect((await client.request(dev(CAM))).status).toBe(404);
      expect((await client.request(dev(CAM), { method: 'DELETE' })).status).toBe(404);
      const list = (await client.request('/api/devices')).json as DeviceList;
      expect(list.devices.map((d) => d.id)).not.toContain(CAM);
      expect(((await client.request(`/api/findings?device=${encodeURIComponent(CAM)}`)).json as FindingPage).total).toBe(0);
      // The other devices are untouched.
      expect(((await client.request(dev(TV))).json as DeviceDetail).findings_list.length).toBeGreaterThan(0);
      // In the file itself: no row left anywhere.
      const raw = new Database(db.db, { readonly: true });
      const count = (sql: string) => (raw.prepare(sql).get(CAM, CAM) as { n: number }).n;
      expect(count(`SELECT count(*) AS n FROM flows WHERE device_id = ? OR peer_device_id = ?`)).toBe(0);
      expect(count(`SELECT count(*) AS n FROM findings WHERE device_id = ? OR device_id = ?`)).toBe(0);
      expect(count(`SELECT count(*) AS n FROM observations WHERE device_id = ? OR device_id = ?`)).toBe(0);
      expect(count(`SELECT count(*) AS n FROM devices WHERE id = ? OR mac = ?`)).toBe(0);
      expect(count(`SELECT count(*) AS n FROM device_ips WHERE device_id = ? OR device_id = ?`)).toBe(0);
      expect((raw.prepare(`SELECT count(*) AS n FROM flows WHERE client_ip = '192.168.50.101' OR server_ip = '192.168.50.101'`).get() as { n: number }).n).toBe(0);
      raw.close();
      // Nor in the bytes of the database and its WAL: the camera's hostname and its cloud are gone.
      const bytes = readdirSync(db.dir)
        .filter((f) => f.startsWith('notcreepy.db'))
        .map((f) => readFileSync(join(db.dir, f)).toString('latin1'))
        .join('\n');
      expect(bytes).not.toContain('garden-cam');
      expect(bytes).not.toContain('cam-cloud.example.test');
      expect(bytes).toContain('living-room-tv');
    } finally {
      client.close();
      await server.close();
      db.cleanup();
    }
  });
});

describe('a database of several capture runs', () => {
  it('answers over all of them', async () => {
    const db = await makeDatabase([BASIC_PCAP, STANDARDS_PCAP]);
    const server = await startTestDashboard(db.db);
    const client = new Client(server);
    try {
      await client.setupAndLogin();
      const s = (await client.request('/api/summary')).json as Summary;
      expect(s.captures).toBe(2);
      const status = (await client.request('/api/status')).json as StatusResponse;
      expect(status.database.captures).toBe(2);
      expect(status.database.last_capture?.files[0]).toMatch(/lan-standards\.pcap$/);
      const raw = new Database(db.db, { readonly: true });
      const perRun = raw.prepare(`SELECT capture_id, count(*) AS n FROM flows GROUP BY 1 ORDER BY 1`).all() as { capture_id: number; n: number }[];
      raw.close();
      expect(perRun.length).toBe(2);
      const flows = (await client.request('/api/flows?limit=1')).json as FlowPage;
      expect(flows.total).toBe(perRun[0].n + perRun[1].n);
      // The speaker fetched http://tracker.example.test in lan-basic: its history now has a finding.
      const speaker = (await client.request(dev(SPEAKER))).json as DeviceDetail;
      expect(speaker.findings_list.length).toBeGreaterThan(0);
      expect(speaker.flows_total).toBe(speaker.flows);
      const cam = (await client.request(dev(CAM))).json as DeviceDetail;
      expect(cam.report.verdict).toBe('creepy');
    } finally {
      client.close();
      await server.close();
      db.cleanup();
    }
  });
});
