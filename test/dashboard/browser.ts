/**
 * Shared by the dashboard's browser tests: real headless Chromium (Debian's, driven by
 * playwright-core), the captured secrets, a hostile device row, screenshots.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CAPTURES, REPO } from '../helpers/analysis.js';

export const SCREENSHOTS = join(REPO, 'test-output', 'dashboard');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The whole page, and what fits the first screen (what a user sees before scrolling). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.screen.png`) });
  return path;
}

/** The passwords record.sh typed into real clients in lan-standards.pcap. */
export const SECRETS = readFileSync(join(CAPTURES, 'lan-standards.secrets'), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

/** Every way a secret could show up: as is, base64, hex (as the secrets test of the analyzer). */
function spellings(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64').replace(/=+$/, ''), Buffer.from(secret).toString('hex')];
}

/** No captured password in `text`, as a word of its own ("admin" inside "administered" is not one). */
export function expectNoSecrets(text: string, where: string): void {
  expect(SECRETS.length).toBeGreaterThanOrEqual(3);
  for (const secret of SECRETS) {
    for (const x of spellings(secret)) {
      const word = new RegExp(`(?<![A-Za-z0-9])${x.replace(/[^A-Za-z0-9]/g, '\\$&')}(?![A-Za-z0-9])`);
      expect(word.test(text), `${where} contains ${x}`).toBe(false);
    }
  }
}

/**
 * A device whose names came off the network crafted to run script if a page ever treated them
 * as HTML, with a finding carrying more of the same. Written by a separate connection, as a
 * hostile DHCP hostname would be stored by the analyzer.
 */
export const HOSTILE = {
  id: 'aa:bb:cc:00:00:66',
  hostname: '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'">',
  vendor: '<script>window.__pwned=2</script>',
  title: 'Sends personal data in clear text <b onmouseover=alert(1)>bold</b>',
  detail: '"><svg onload="window.__pwned=3"> and </script><script>window.__pwned=4</script>',
  remote: 'javascript:window.__pwned=5//',
};

export function insertHostileDevice(dbPath: string): void {
  const db = new Database(dbPath);
  try {
    const now = Date.now() / 1000;
    db.prepare(
      `INSERT INTO devices (id, mac, locally_administered, vendor, hostname, vendor_class, first_seen, last_seen) VALUES (?, ?, 0, ?, ?, ?, ?, ?)`,
    ).run(HOSTILE.id, HOSTILE.id, HOSTILE.vendor, HOSTILE.hostname, '<i>class</i>', now - 60, now);
    db.prepare(`INSERT INTO device_ips (device_id, ip, source, first_seen, last_seen) VALUES (?, '192.168.50.166', 'dhcp', ?, ?)`).run(HOSTILE.id, now - 60, now);
    db.prepare(
      `INSERT INTO findings (device_id, standard, code, severity, title, detail, remote, evidence, first_seen, last_seen, count)
       VALUES (?, 5, 'pii-in-plaintext', 'medium', ?, ?, ?, ?, ?, ?, 1)`,
    ).run(
      HOSTILE.id,
      HOSTILE.title,
      HOSTILE.detail,
      HOSTILE.remote,
      JSON.stringify({ flows: [], bytes_sent: 10, bytes_received: 0, detail: { note: '<img src=x onerror="window.__pwned=6">' } }),
      now - 30,
      now - 30,
    );
  } finally {
    db.close();
  }
}

/** Nothing the hostile row carried ran, and no element it described exists. */
export async function expectHostileInert(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.title()).not.toBe('pwned');
  expect(await page.locator('main img, main svg, main b, main i, main script').count()).toBe(0);
}
