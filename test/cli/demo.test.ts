/**
 * `npm start` runs `notcreepy demo`: the bundled capture analysed into a demo database and its
 * dashboard served over HTTPS on localhost, with the address and the one-time setup token printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { REPO } from '../helpers/analysis.js';
import { exited, waitFor } from '../helpers/netns.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // The demo's certificate is self-signed and generated on first start.
    request(url, { rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });
}

it('analyses the demo capture once and serves its dashboard, printing the address and setup token', async () => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-demo-'));
  const child = spawn(process.execPath, [join(REPO, 'dist/cli/main.js'), 'demo', '--port', '0'], {
    env: { ...process.env, XDG_STATE_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.resume();
  try {
    const [, url, token] = await waitFor('the demo dashboard', 30_000, () => {
      if (child.exitCode !== null) throw new Error(`demo exited ${child.exitCode}: ${out}`);
      return /notcreepy dashboard: (https:\/\/127\.0\.0\.1:\d+\/)[\s\S]*setup token ([A-Z0-9-]+)/.exec(out) ?? undefined;
    });
    expect(out).toContain(join(dir, 'notcreepy', 'demo.db'));
    expect(out).toMatch(/certificate SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
    expect(token.length).toBeGreaterThan(10);
    expect(await getJson(`${url}api/auth`)).toMatchObject({ setup_required: true, https: true });
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }
});
