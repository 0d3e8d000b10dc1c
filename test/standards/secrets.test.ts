/**
 * No captured secret is stored or shown anywhere: not in the SQLite file (even with every flow's
 * facts kept), not in the JSON document, not in the printed report. The passwords are the ones
 * captures/record.sh typed into real clients (captures/lan-standards.secrets).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURES, REPO } from '../helpers/analysis.js';

const CAPTURE = join(CAPTURES, 'lan-standards.pcap');
const SECRETS = readFileSync(join(CAPTURES, 'lan-standards.secrets'), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

function run(args: string[]): string {
  return execFileSync(process.execPath, [join(REPO, 'dist/cli/main.js'), 'analyze', CAPTURE, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** Every way the secret could appear in a byte dump: as is, base64, hex, UTF-16. */
function spellings(secret: string): string[] {
  return [secret, Buffer.from(secret).toString('base64').replace(/=+$/, ''), Buffer.from(secret).toString('hex'), Buffer.from(secret, 'utf16le').toString('latin1')];
}

describe('captured secrets', () => {
  let dir: string;
  let json: string;
  let text: string;
  let dbBytes: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-secrets-'));
    const db = join(dir, 'all.db');
    json = run(['--json', '--db', db, '--store-facts']);
    text = run(['--db', db]);
    // The database and its WAL/SHM files, as bytes.
    dbBytes = readdirSync(dir)
      .map((f) => readFileSync(join(dir, f)).toString('latin1'))
      .join('\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the capture really holds the passwords (the test can fail)', () => {
    const raw = readFileSync(CAPTURE).toString('latin1');
    expect(SECRETS.length).toBeGreaterThanOrEqual(3);
    for (const s of SECRETS) expect(spellings(s).some((x) => raw.includes(x)), s).toBe(true);
    // The word test below would find them in the capture itself.
    expect(/(?<![A-Za-z0-9])xc3511(?![A-Za-z0-9])/.test(raw)).toBe(true);
    // And the analysis saw the logins they belong to.
    expect(json).toContain('cleartext-credentials');
  });

  it.each(SECRETS)('%s appears in no output and nowhere in the database', (secret) => {
    for (const x of spellings(secret)) {
      // As a word of its own: "admin" inside "locally_administered" is not the password.
      const word = new RegExp(`(?<![A-Za-z0-9])${x.replace(/[^A-Za-z0-9]/g, '\\$&')}(?![A-Za-z0-9])`);
      expect(word.test(json), `JSON contains ${x}`).toBe(false);
      expect(word.test(text), `report contains ${x}`).toBe(false);
      expect(word.test(dbBytes), `database contains ${x}`).toBe(false);
    }
  });
});
