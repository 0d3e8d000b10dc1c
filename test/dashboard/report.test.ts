/**
 * The self-contained HTML report (src/report/html.ts): written from a real database made by
 * analysing captures/lan-standards.pcap, opened from file:// in real headless Chromium with the
 * network switched off. It must show the same cards and evidence as the dashboard, request
 * nothing, keep hostile names as text, and hold no captured secret.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleModules, BundleError } from '../../src/report/bundle.js';
import { reportBundle, writeHtmlReport } from '../../src/report/html.js';
import { deviceList } from '../../src/store/queries.js';
import { analyze, CAPTURES, type Analysis } from '../helpers/analysis.js';
import { CAM, SPEAKER, TV } from '../helpers/standards.js';
import { expectHostileInert, expectNoSecrets, HOSTILE, insertHostileDevice, launchChromium, screenshot } from './browser.js';

const VERDICT_WORDS: Record<string, string> = {
  creepy: 'Creepy',
  questionable: 'Questionable',
  'not-creepy': 'Not creepy',
  'not-enough-seen': 'Not enough seen',
};

describe('the HTML report', () => {
  let analysis: Analysis;
  let out: string;
  let html: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    analysis = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
    insertHostileDevice(join(analysis.dir, 'test.db'));
    out = join(analysis.dir, 'report.html');
    await writeHtmlReport(analysis.store, out, { files: [join(CAPTURES, 'lan-standards.pcap')] });
    html = readFileSync(out, 'utf8');
    browser = await launchChromium();
    // Offline: a report must open with no network at all.
    context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
    context.on('request', (r) => requested.push(r.url()));
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    analysis?.close();
  });

  it('is one file: stylesheet, chart.js, scripts and data inlined, every request forbidden', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Nothing that would load from elsewhere.
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(?:https?:)?\/\//i);
    expect(html).toContain('Chart.js v4');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
    // The data cannot close its <script> element early.
    const data = /<script type="application\/json" id="notcreepy-data">([\s\S]*?)<\/script>/.exec(html);
    expect(data).not.toBeNull();
    expect(data?.[1]).not.toContain('<');
    expect(JSON.parse(data?.[1] as string).devices.devices.length).toBe(deviceList(analysis.store).length);
  });

  it('holds no captured secret', () => {
    expectNoSecrets(html, 'the report file');
  });

  it('opens from file:// offline and shows every device with the analyzer verdict', async () => {
    await page.goto(pathToFileURL(out).href);
    await page.locator('.device-card').first().waitFor();
    await page.waitForFunction(() => document.querySelectorAll('canvas').length >= 2);
    await screenshot(page, 'report-01-overview');
    const verdicts = new Map(deviceList(analysis.store).map((d) => [d.id, d.report.verdict]));
    expect(verdicts.get(CAM)).toBe('creepy');
    expect(verdicts.get(SPEAKER)).toBe('not-creepy');
    expect(['creepy', 'questionable']).toContain(verdicts.get(TV));
    const shown = await page.locator('.device-card').evaluateAll((cards) =>
      cards.map((c) => [(c as HTMLElement).dataset.device, c.querySelector('.badge.verdict')?.textContent?.replace(/\s+/g, ' ').trim()]),
    );
    expect(shown.map(([id]) => id).sort()).toEqual([...verdicts.keys()].sort());
    for (const [id, text] of shown) expect(text).toBe(`${['✗', '!', '✓', '?'][['creepy', 'questionable', 'not-creepy', 'not-enough-seen'].indexOf(verdicts.get(id as string) as string)]} ${VERDICT_WORDS[verdicts.get(id as string) as string]}`);
    expect(await page.locator('.report-banner').textContent()).toContain('lan-standards.pcap');
    // Charts were drawn by chart.js (a chart instance is attached to the canvas).
    expect(await page.evaluate(() => [...document.querySelectorAll('canvas')].filter((c) => (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): unknown } }).Chart.getChart(c) !== undefined).length)).toBeGreaterThanOrEqual(2);
  });

  it('shows the evidence on the device page, the flows behind a finding included', async () => {
    await page.goto(`${pathToFileURL(out).href}#/device/${encodeURIComponent(CAM)}`);
    await page.locator('.report-cell').first().waitFor();
    expect(await page.locator('h1').textContent()).toBe('garden-cam');
    const credentials = page.locator('#evidence-3 .finding[data-code="cleartext-credentials"]');
    expect(await credentials.count()).toBeGreaterThanOrEqual(3);
    const telnet = credentials.filter({ hasText: 'telnet' });
    await telnet.locator('summary').click();
    await telnet.locator('.evidence-flows tbody tr').first().waitFor();
    expect(await telnet.locator('.evidence-flows').textContent()).toContain(':23');
    // No delete button in a saved report: it has no server.
    expect(await page.getByRole('button', { name: /Delete/ }).count()).toBe(0);
    await screenshot(page, 'report-02-device');
    expectNoSecrets(await page.content(), 'report device page');
  });

  it('filters findings and pages flows from the embedded data', async () => {
    await page.goto(`${pathToFileURL(out).href}#/findings?device=${encodeURIComponent(CAM)}&standard=3`);
    await page.locator('#finding-results .finding').first().waitFor();
    const codes = await page.locator('#finding-results .finding').evaluateAll((l) => l.map((e) => (e as HTMLElement).dataset.code));
    const expected = (analysis.store.db.prepare(`SELECT code FROM findings WHERE device_id = ? AND standard = 3`).all(CAM) as { code: string }[]).map((r) => r.code);
    expect([...codes].sort()).toEqual(expected.sort());
    await page.goto(`${pathToFileURL(out).href}#/flows?encryption=plaintext`);
    await page.locator('#flow-results table').waitFor();
    const plaintext = (analysis.store.db.prepare(`SELECT count(*) AS n FROM flows WHERE encryption = 'plaintext'`).get() as { n: number }).n;
    expect(await page.locator('#flow-results tbody tr').count()).toBe(Math.min(plaintext, 50));
    expect(await page.locator('#flow-results').textContent()).toContain(`${plaintext} flows`);
  });

  it('keeps a hostile host name as text', async () => {
    await page.goto(`${pathToFileURL(out).href}#/`);
    await page.locator(`.device-card[data-device="${HOSTILE.id}"]`).waitFor();
    expect(await page.locator(`.device-card[data-device="${HOSTILE.id}"] .device-name`).textContent()).toBe(HOSTILE.hostname);
    await page.goto(`${pathToFileURL(out).href}#/device/${encodeURIComponent(HOSTILE.id)}`);
    await page.locator('.finding').first().waitFor();
    expect(await page.locator('.finding-detail').first().textContent()).toBe(HOSTILE.detail);
    await expectHostileInert(page);
  });

  it('fits a phone screen', async () => {
    const phone = await browser.newContext({ offline: true, viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    phone.on('request', (r) => requested.push(r.url()));
    try {
      const p = await phone.newPage();
      await p.goto(pathToFileURL(out).href);
      await p.locator('.device-card').first().waitFor();
      const widths = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      await screenshot(p, 'report-03-phone');
    } finally {
      await phone.close();
    }
  });

  it('requested nothing but the file itself, and raised no script error', () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => !u.startsWith(pathToFileURL(out).href))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('caps the flows it embeds but keeps every flow a finding names', () => {
    const bundle = reportBundle(analysis.store, { maxFlows: 3 });
    const evidence = new Set(bundle.findings.flatMap((f) => f.evidence.flows));
    expect(evidence.size).toBeGreaterThan(3);
    const ids = new Set(bundle.flows.map((f) => f.id));
    for (const id of evidence) expect(ids.has(id), `flow ${id}`).toBe(true);
    expect(bundle.meta.flows_note).toMatch(/of the \d+ flows/);
  });
});

describe('the module joiner behind the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): void => {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  };

  it('runs modules once each, dependencies first, with renamed imports', () => {
    write('a.js', "import { b as bee } from './lib/b.js';\nimport { c } from './c.js';\nexport const a = () => `${bee()}${c}`;\nglobalThis.result = a();\n");
    write('lib/b.js', "import { c } from '../c.js';\nexport function b() { return `b${c}`; }\n");
    write('c.js', 'globalThis.runs = (globalThis.runs ?? 0) + 1;\nexport const c = "c";\n');
    const code = bundleModules(dir, 'a.js');
    const scope = {} as { result?: string; runs?: number };
    new Function('globalThis', code)(scope);
    expect(scope.result).toBe('bcc');
    expect(scope.runs).toBe(1);
  });

  it('refuses what it cannot rewrite safely', () => {
    write('default.js', 'export default function () {}\n');
    expect(() => bundleModules(dir, 'default.js')).toThrow(BundleError);
    write('star.js', "import * as x from './c.js';\n");
    expect(() => bundleModules(dir, 'star.js')).toThrow(BundleError);
    write('cycle1.js', "import { y } from './cycle2.js';\nexport const x = 1;\n");
    write('cycle2.js', "import { x } from './cycle1.js';\nexport const y = 2;\n");
    expect(() => bundleModules(dir, 'cycle1.js')).toThrow(/cycle/);
    write('closes.js', 'export const s = "</script>";\n');
    expect(() => bundleModules(dir, 'closes.js')).toThrow(/script/);
  });

  it('joins the real dashboard modules', () => {
    const code = bundleModules(join(import.meta.dirname, '../../dashboard/js'), 'report-main.js');
    expect(code).toContain('__modules["shell.js"]');
    expect(code).not.toMatch(/^\s*(import|export)\s/m);
  });
});
