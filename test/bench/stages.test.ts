/**
 * bench/stages.mjs on a small bundled capture: it runs every configuration and reports the
 * dissectors that claimed flows, with the same flow count in each configuration.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPTURES, REPO } from '../helpers/analysis.js';

describe('bench/stages.mjs', () => {
  it('times flows-only, dissectors and everything, and lists time per dissector', { timeout: 120_000 }, () => {
    const out = execFileSync(process.execPath, [join(REPO, 'bench/stages.mjs'), join(CAPTURES, 'lan-standards.pcap'), '--repeat', '1'], {
      encoding: 'utf8',
    });
    const rows = out.split('\n').filter((l) => /^(flows only|dissectors, no detectors|everything)/.test(l));
    expect(rows).toHaveLength(3);
    const flowCounts = rows.map((r) => Number(r.trim().split(/\s+/).at(-1)));
    expect(flowCounts[0]).toBeGreaterThan(10);
    expect(new Set(flowCounts).size).toBe(1);
    // The capture has TLS and HTTP flows (recorded with curl and openssl): both dissectors show up.
    expect(out).toMatch(/^tls\s+\d+\s+[1-9]\d*\s/m);
    expect(out).toMatch(/^http\s+\d+\s+[1-9]\d*\s/m);
    expect(out).toMatch(/^all dissectors\s+\d+/m);
  });

  it('refuses a missing capture with a clear error', () => {
    let err = '';
    try {
      execFileSync(process.execPath, [join(REPO, 'bench/stages.mjs'), join(CAPTURES, 'no-such.pcap'), '--repeat', '1'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as { stderr?: string }).stderr);
    }
    expect(err).toContain('no-such.pcap');
  });
});
