/**
 * The dashboard in real headless Chromium against the real server (startDashboard over HTTPS on
 * 127.0.0.1) and a real database made by analysing captures/lan-standards.pcap: first start,
 * login, the overview's verdicts, the evidence on the device page, live findings, delete, a
 * phone's screen, hostile names, and no request to any other origin.
 *
 * The steps share one browser session and run in order (a later step builds on an earlier one,
 * as a user's visit would).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startDashboard, type RunningDashboard } from '../../src/server/index.js';
import type { DaemonStatus, DeviceList } from '../../src/server/api-types.js';
import { deviceList } from '../../src/store/queries.js';
import { Store } from '../../src/store/store.js';
import { analyze, CAPTURES, type Analysis } from '../helpers/analysis.js';
import { CAM, GATEWAY, SPEAKER, TV } from '../helpers/standards.js';
import { expectHostileInert, expectNoSecrets, HOSTILE, insertHostileDevice, launchChromium, screenshot } from './browser.js';

const PASSWORD = 'plum kettle orbit seventeen';
const VERDICT_WORDS: Record<string, string> = {
  creepy: 'Creepy',
  questionable: 'Questionable',
  'not-creepy': 'Not creepy',
  'not-enough-seen': 'Not enough seen',
};
const deviceHash = (id: string): string => `#/device/${encodeURIComponent(id)}`;

describe('the dashboard in Chromium', () => {
  let analysis: Analysis;
  let dbPath: string;
  let server: RunningDashboard;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  /** Every URL any page of the test asked for. */
  const requested: string[] = [];
  const pageErrors: string[] = [];

  const watch = (ctx: BrowserContext): void => {
    ctx.on('request', (r) => requested.push(r.url()));
    ctx.on('page', (p) => p.on('pageerror', (e) => pageErrors.push(e.message)));
  };

  /** The verdict the analyzer gave each device, read from the database by the queries the API uses. */
  const storedVerdicts = (): Map<string, string> => {
    const store = new Store(dbPath);
    try {
      return new Map(deviceList(store).map((d) => [d.id, d.report.verdict]));
    } finally {
      store.close();
    }
  };

  const card = (id: string) => page.locator(`.device-card[data-device="${id}"]`);

  beforeAll(async () => {
    analysis = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
    analysis.store.close();
    dbPath = join(analysis.dir, 'test.db');
    insertHostileDevice(dbPath);
    server = await startDashboard({ db: dbPath, host: '127.0.0.1', port: 0, logger: createLogger('silent'), pollIntervalMs: 300 });
    origin = new URL(server.url).origin;
    browser = await launchChromium();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    watch(context);
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    analysis?.close();
  });

  it('is served over HTTPS and asks for a password on first start', async () => {
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    expect(server.setupToken).not.toBeNull();
    // The link the server logs carries the token in the fragment: the form takes it, the address bar loses it.
    await page.goto(`${server.url}#setup=${server.setupToken}`);
    await page.locator('#setup-form').waitFor();
    expect(await page.locator('h1').textContent()).toContain('Welcome');
    expect(await page.getByLabel('Setup token').inputValue()).toBe(server.setupToken);
    expect(page.url()).not.toContain(server.setupToken as string);
  });

  it('refuses a weak password on the page, with the server reasons', async () => {
    await page.getByLabel('New password', { exact: true }).fill('password');
    await page.getByLabel('New password again').fill('password');
    await page.getByRole('button', { name: 'Set the password' }).click();
    const alert = page.locator('#setup-form [role="alert"]');
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('refused');
    expect(text).toMatch(/short|common/i);
    await screenshot(page, '01-setup-weak-password');
    // Still not in: the API says so too.
    const auth = (await (await page.request.get(`${origin}/api/auth`)).json()) as { authenticated: boolean; setup_required: boolean };
    expect(auth).toMatchObject({ authenticated: false, setup_required: true });
  });

  it('sets a strong password with the setup token and lands on the overview', async () => {
    await page.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('New password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set the password' }).click();
    await card(CAM).waitFor();
    const cookies = await context.cookies(origin);
    const session = cookies.find((c) => c.name.includes('notcreepy_session'));
    expect(session?.httpOnly).toBe(true);
    expect(session?.secure).toBe(true);
  });

  it('logs out, refuses a wrong password, and logs in', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('#login-form').waitFor();
    expect((await page.request.get(`${origin}/api/summary`)).status()).toBe(401);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#login-form [role="alert"]').waitFor();
    await screenshot(page, '02-login-refused');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await card(CAM).waitFor();
  });

  it('shows every device with the verdict the analyzer gave it, as icon and word, worst first', async () => {
    const verdicts = storedVerdicts();
    // What the capture is known to hold (captures/README.md), so the comparison below is not vacuous.
    expect(verdicts.get(CAM)).toBe('creepy');
    expect(verdicts.get(SPEAKER)).toBe('not-creepy');
    expect(['creepy', 'questionable']).toContain(verdicts.get(TV));
    expect(verdicts.has(GATEWAY)).toBe(true);
    // The API answers the same.
    const api = (await (await page.request.get(`${origin}/api/devices`)).json()) as DeviceList;
    expect(new Map(api.devices.map((d) => [d.id, d.report.verdict]))).toEqual(verdicts);

    await page.waitForFunction(() => document.querySelectorAll('canvas').length >= 1);
    await screenshot(page, '03-overview');
    const shown = await page.locator('.device-card').evaluateAll((cards) =>
      cards.map((c) => ({
        id: (c as HTMLElement).dataset.device as string,
        verdict: c.querySelector('.badge.verdict')?.textContent?.replace(/\s+/g, ' ').trim() ?? '',
        states: [...c.querySelectorAll('.standard-state')].map((s) => s.textContent?.replace(/\s+/g, ' ').trim() ?? ''),
      })),
    );
    expect(shown.map((s) => s.id).sort()).toEqual([...verdicts.keys()].sort());
    for (const s of shown) {
      // Icon and word, never colour alone: "✗ Creepy", and a word for each of the five standards.
      expect(s.verdict).toMatch(new RegExp(`^\\S ${VERDICT_WORDS[verdicts.get(s.id) as string]}$`));
      expect(s.states).toHaveLength(5);
      for (const state of s.states) expect(state).toMatch(/^\S (Fail|Warn|Pass|Not seen)$/);
    }
    const rank = (id: string): number => ['creepy', 'questionable', 'not-creepy', 'not-enough-seen'].indexOf(verdicts.get(id) as string);
    const ranks = shown.map((s) => rank(s.id));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    // garden-cam fails all five standards in this capture.
    expect(shown.find((s) => s.id === CAM)?.states).toEqual(['✗ Fail', '✗ Fail', '✗ Fail', '✗ Fail', '✗ Fail']);
    // Counters, the traffic chart and the trackers (the camera talks to Google's analytics).
    expect(await page.locator('.counter.verdict-creepy .counter-value').textContent()).toBe(String([...verdicts.values()].filter((v) => v === 'creepy').length));
    expect(await page.locator('#trackers-heading + div').textContent()).toContain('Google');
    expectNoSecrets(await page.content(), 'overview');
  });

  it('renders a hostile host name as text, never as markup', async () => {
    const hostile = card(HOSTILE.id);
    await hostile.waitFor();
    expect(await hostile.locator('.device-name').textContent()).toBe(HOSTILE.hostname);
    await expectHostileInert(page);
    await page.goto(`${origin}/${deviceHash(HOSTILE.id)}`);
    await page.locator('.finding').first().waitFor();
    expect(await page.locator('h1').textContent()).toBe(HOSTILE.hostname);
    expect(await page.locator('.finding-title').first().textContent()).toBe(HOSTILE.title);
    expect(await page.locator('.finding-detail').first().textContent()).toBe(HOSTILE.detail);
    await page.locator('.finding summary').first().click();
    await expectHostileInert(page);
    // The remote is text, not a javascript: link.
    expect(await page.locator('a[href^="javascript"]').count()).toBe(0);
    // Nothing asked for the "x" image.
    expect(requested.some((u) => new URL(u).pathname === '/x')).toBe(false);
    await screenshot(page, '04-hostile-device');
  });

  it("shows the camera's report card with the evidence: masked logins, the flows behind them", async () => {
    await page.goto(`${origin}/${deviceHash(CAM)}`);
    await page.locator('.report-cell').first().waitFor();
    expect(await page.locator('h1').textContent()).toBe('garden-cam');
    expect(await page.locator('.device-title .badge').textContent()).toContain('Creepy');
    const facts = (await page.locator('section[aria-labelledby="about-heading"] dl').textContent()) ?? '';
    expect(facts).toContain('Raspberry Pi');
    expect(facts).toContain('192.168.50.101');
    // The card: five standards, each an icon and a word, and its sentence.
    expect(await page.locator('.report-cell').count()).toBe(5);
    for (const text of await page.locator('.report-cell .badge.state').allTextContents()) expect(text).toMatch(/^\S (Fail|Warn|Pass|Not seen)$/);
    // Standard 3's evidence lists the cleartext-credentials findings; the detail shows the password masked.
    const passwords = page.locator('#evidence-3');
    expect(await passwords.locator('.sentence').first().textContent()).toMatch(/password/i);
    const credentials = passwords.locator('.finding[data-code="cleartext-credentials"]');
    expect(await credentials.count()).toBeGreaterThanOrEqual(3);
    const details = (await credentials.locator('.finding-detail').allTextContents()).join('\n');
    expect(details).toMatch(/HTTP Basic/);
    expect(details).toMatch(/password \*+/);
    expect(details).toContain('1*******9');
    // Open every finding's evidence: the flows behind it load.
    for (const summary of await page.locator('.finding details.evidence summary').all()) await summary.click();
    await page.waitForFunction(() => [...document.querySelectorAll('.evidence-flows')].every((b) => b.querySelector('table') !== null));
    const telnet = passwords.locator('.finding[data-code="cleartext-credentials"]', { hasText: 'telnet' });
    expect(await telnet.locator('.evidence-flows tbody tr').count()).toBe(1);
    expect(await telnet.locator('.evidence-flows').textContent()).toContain(':23');
    // Where its traffic goes, the timeline.
    expect(await page.locator('#where-heading + div + .table-scroll, #where-heading ~ .table-scroll').first().textContent()).toContain('firmware.example.test');
    expect(await page.locator('.timeline li').count()).toBe(await page.locator('.evidence-section .finding').count());
    await screenshot(page, '05-device-garden-cam');
    expectNoSecrets(await page.content(), 'garden-cam page');
  });

  it('shows no secret on any page', async () => {
    for (const id of [SPEAKER, TV, GATEWAY]) {
      await page.goto(`${origin}/${deviceHash(id)}`);
      await page.locator('.report-cell').first().waitFor();
      for (const summary of await page.locator('details summary').all()) await summary.click();
      await page.waitForTimeout(200);
      expectNoSecrets(await page.content(), `device page of ${id}`);
    }
    await page.goto(`${origin}/#/flows`);
    await page.locator('#flow-results table').waitFor();
    expectNoSecrets(await page.content(), 'flows page');
  });

  it('filters findings by device, standard and severity', async () => {
    await page.goto(`${origin}/#/findings`);
    await page.locator('#finding-results .finding').first().waitFor();
    const all = await page.locator('#finding-results .finding').count();
    await page.getByLabel('Device').selectOption(CAM);
    await page.getByLabel('Standard').selectOption('3');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/standard=3/);
    await page.waitForFunction(() => document.querySelector('#finding-results p')?.textContent?.includes('match'));
    const codes = await page.locator('#finding-results .finding').evaluateAll((l) => l.map((e) => (e as HTMLElement).dataset.code));
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.length).toBeLessThan(all);
    for (const code of codes) expect(['cleartext-credentials', 'default-credentials', 'weak-password', 'snmp-default-community']).toContain(code);
    // The same filter through the API gives the same list.
    const api = (await (await page.request.get(`${origin}/api/findings?device=${encodeURIComponent(CAM)}&standard=3`)).json()) as { findings: { code: string }[] };
    expect(codes).toEqual(api.findings.map((f) => f.code));
    // The download links carry the same filters.
    const csvHref = await page.getByRole('link', { name: 'CSV' }).getAttribute('href');
    expect(csvHref).toBe(`/api/export/findings.csv?device=${encodeURIComponent(CAM)}&standard=3`);
    const csv = await page.request.get(`${origin}${csvHref}`);
    expect(csv.status()).toBe(200);
    expect((await csv.text()).trim().split('\n')).toHaveLength(codes.length + 1);
    await screenshot(page, '06-findings-filtered');
    expectNoSecrets(await page.content(), 'findings page');
  });

  it('pages through the flows, newest first, as the API orders them', async () => {
    await page.goto(`${origin}/#/flows?limit=10`);
    await page.locator('#flow-results tbody tr').first().waitFor();
    const ids = async (): Promise<number[]> => (await page.locator('#flow-results tbody tr').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.flow))));
    const first = await ids();
    expect(first).toHaveLength(10);
    expect(await page.locator('.pager').textContent()).toMatch(/1–10 of \d+/);
    await page.getByRole('link', { name: 'Next →' }).click();
    await page.waitForFunction(() => document.querySelector('.pager')?.textContent?.includes('11–20'));
    const second = await ids();
    expect(second).toHaveLength(10);
    expect(second.some((id) => first.includes(id))).toBe(false);
    const api = (await (await page.request.get(`${origin}/api/flows?limit=20`)).json()) as { flows: { id: number }[] };
    expect([...first, ...second]).toEqual(api.flows.map((f) => f.id));
    // A filter: only plaintext flows, each labelled so in words.
    await page.getByLabel('Encryption').selectOption('plaintext');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/encryption=plaintext/);
    await page.waitForFunction(() => document.querySelector('#flow-results p')?.textContent?.includes('flows'));
    const labels = await page.locator('#flow-results tbody .enc').allTextContents();
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) expect(l).toContain('Readable');
  });

  it('shows a finding written by another process without a reload', async () => {
    await page.goto(`${origin}/#/`);
    await card(SPEAKER).waitFor();
    expect(await card(SPEAKER).locator('.badge.verdict').textContent()).toContain('Not creepy');
    const marker = await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
      return true;
    });
    expect(marker).toBe(true);
    // Another connection (as the daemon would be) writes a new finding for the speaker.
    const db = new Database(dbPath);
    try {
      const now = Date.now() / 1000;
      db.prepare(
        `INSERT INTO findings (device_id, standard, code, severity, title, detail, remote, evidence, first_seen, last_seen, count)
         VALUES (?, 5, 'tracker-contact', 'medium', ?, ?, 'ads.live-test.example', ?, ?, ?, 1)`,
      ).run(
        SPEAKER,
        'Talks to an advertising service (Live Test Org)',
        'Looked up ads.live-test.example, listed as advertising of Live Test Org.',
        JSON.stringify({ flows: [], bytes_sent: 0, bytes_received: 0, detail: { organisation: 'Live Test Org', category: 'advertising' } }),
        now,
        now,
      );
    } finally {
      db.close();
    }
    await page.locator('.toast', { hasText: 'Live Test Org' }).waitFor({ timeout: 15_000 });
    await page.waitForFunction((id) => document.querySelector(`.device-card[data-device="${id}"] .badge.verdict`)?.textContent?.includes('Questionable'), SPEAKER, { timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await screenshot(page, '07-live-finding');
    // A daemon's status appears in the capture status panel, also without a reload.
    const status: DaemonStatus = {
      mode: 'watch',
      version: 'test',
      pid: 4242,
      started_at: new Date(Date.now() - 3_600_000).toISOString(),
      updated_at: new Date().toISOString(),
      running: true,
      interfaces: ['br-lan'],
      filter: null,
      packets: 1_234_567,
      bytes: 987_654_321,
      malformed: 3,
      drops_kernel: 17,
      drops_interface: 0,
      drops_queue: 5,
      packets_per_second: 321.5,
      bytes_per_second: 250_000,
      flows_live: 42,
      flows_stored: 4_200,
      findings: 33,
      warnings: [],
    };
    const writer = new Database(dbPath);
    try {
      writer.prepare(`INSERT OR REPLACE INTO status (key, value, updated_at) VALUES ('daemon', ?, ?)`).run(JSON.stringify(status), status.updated_at);
    } finally {
      writer.close();
    }
    const panel = page.locator('section[aria-labelledby="status-heading"]');
    await panel.getByText('capturing').waitFor({ timeout: 15_000 });
    const panelText = (await panel.textContent()) ?? '';
    expect(panelText).toContain('1,234,567');
    expect(panelText).toContain('br-lan');
    expect(panelText).toContain('22 (kernel 17, interface 0, queue 5)');
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await screenshot(page, '07-live-status');
    // And on the device page, which is also live.
    await page.goto(`${origin}/${deviceHash(SPEAKER)}`);
    await page.locator('.finding', { hasText: 'Live Test Org' }).waitFor();
  });

  it('fits a phone screen (375 px) without sideways scrolling', async () => {
    const phone = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      storageState: await context.storageState(),
    });
    watch(phone);
    try {
      const p = await phone.newPage();
      const pages: [string, string, string][] = [
        ['#/', '.device-card', 'phone-overview'],
        [deviceHash(CAM), '.report-cell', 'phone-device'],
        ['#/findings', '#finding-results .finding', 'phone-findings'],
        ['#/flows', '#flow-results table', 'phone-flows'],
        ['#/settings', '#retention-heading', 'phone-settings'],
        [deviceHash(HOSTILE.id), '.report-cell', 'phone-hostile'],
      ];
      for (const [hash, ready, name] of pages) {
        await p.goto(`${origin}/${hash}`);
        await p.locator(ready).first().waitFor();
        await p.waitForTimeout(300);
        const widths = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
        expect(widths.client, hash).toBe(375);
        expect(widths.scroll, `${hash} scrolls sideways`).toBeLessThanOrEqual(widths.client);
        await screenshot(p, `08-${name}`);
      }
    } finally {
      await phone.close();
    }
  });

  it("deletes a device's data after confirmation: gone from the page and from the database", async () => {
    await page.goto(`${origin}/${deviceHash(TV)}`);
    await page.locator('.report-cell').first().waitFor();
    // Cancel first: nothing happens.
    await page.getByRole('button', { name: "Delete this device's data" }).click();
    await page.locator('dialog[open]').waitFor();
    await screenshot(page, '09-delete-confirm');
    await page.locator('dialog[open]').getByRole('button', { name: 'Cancel' }).click();
    expect((await page.request.get(`${origin}/api/devices/${encodeURIComponent(TV)}`)).status()).toBe(200);
    // Then for real.
    await page.getByRole('button', { name: "Delete this device's data" }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'Delete its data' }).click();
    await page.waitForURL((u) => u.hash === '#/');
    await card(CAM).waitFor();
    expect(await card(TV).count()).toBe(0);
    expect((await page.request.get(`${origin}/api/devices/${encodeURIComponent(TV)}`)).status()).toBe(404);
    const db = new Database(dbPath, { readonly: true });
    try {
      const count = (sql: string): number => (db.prepare(sql).get(TV, TV) as { n: number }).n;
      expect(count('SELECT count(*) AS n FROM devices WHERE id = ? OR id = ?')).toBe(0);
      expect(count('SELECT count(*) AS n FROM findings WHERE device_id = ? OR device_id = ?')).toBe(0);
      expect(count('SELECT count(*) AS n FROM flows WHERE device_id = ? OR peer_device_id = ?')).toBe(0);
      expect(count('SELECT count(*) AS n FROM device_ips WHERE device_id = ? OR device_id = ?')).toBe(0);
      // The others are still there.
      expect((db.prepare('SELECT count(*) AS n FROM devices WHERE id = ?').get(CAM) as { n: number }).n).toBe(1);
    } finally {
      db.close();
    }
    await screenshot(page, '10-after-delete');
  });

  it('saves the retention setting', async () => {
    await page.goto(`${origin}/#/settings`);
    await page.getByLabel('Keep flows and findings for (days)').waitFor();
    await page.getByLabel('Keep everything (no automatic deletion)').uncheck();
    await page.getByLabel('Keep flows and findings for (days)').fill('45');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.form-result .ok').waitFor();
    const settings = (await (await page.request.get(`${origin}/api/settings`)).json()) as { retain_days: number | null };
    expect(settings.retain_days).toBe(45);
    await screenshot(page, '11-settings');
  });

  it('asked nothing of any other origin, and raised no script error', async () => {
    expect(requested.length).toBeGreaterThan(10);
    // The chart library came from the dashboard itself.
    expect(requested).toContain(`${origin}/vendor/chart.umd.js`);
    const elsewhere = requested.filter((u) => new URL(u).origin !== origin && !u.startsWith('data:'));
    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
