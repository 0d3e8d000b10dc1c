/** `notcreepy analyze FILE --html OUT`: one self-contained file, from the real CLI. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CAPTURES, REPO } from '../helpers/analysis.js';

const CLI = join(REPO, 'dist/cli/main.js');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-html-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('writes a self-contained HTML report next to the printed summary', () => {
  const out = join(dir, 'report.html');
  const r = spawnSync(process.execPath, [CLI, 'analyze', join(CAPTURES, 'lan-standards.pcap'), '--html', out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toContain(`HTML report written to ${out}`);
  const html = readFileSync(out, 'utf8');
  expect(html).toMatch(/^<!doctype html>/i);
  expect(html).toContain('garden-cam');
  // Nothing is fetched from anywhere: no external script, stylesheet or image.
  expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
  for (const secret of readFileSync(join(CAPTURES, 'lan-standards.secrets'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'))) {
    // As a word of its own: "admin" inside "locally_administered", or 123456789 inside chart.js's
    // "0123456789ABCDEF", is not the password.
    const word = new RegExp(`(?<![A-Za-z0-9])${secret.trim()}(?![A-Za-z0-9])`);
    expect(word.test(html), `secret ${secret[0]}… in the report`).toBe(false);
  }
});

it('refuses an output folder that does not exist before analysing', () => {
  const r = spawnSync(process.execPath, [CLI, 'analyze', join(CAPTURES, 'lan-standards.pcap'), '--html', join(dir, 'no/such/report.html')], { encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/cannot write .*no such directory/);
  expect(r.stdout).toBe('');
});
