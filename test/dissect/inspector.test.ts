/**
 * The inspection engine on damaged real traffic: a TCP segment the capture missed must not stop
 * a flow from being dissected (the hole is skipped at the latest when the flow ends).
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSPECTION_LIMITS } from '../../src/dissect/inspector.js';
import { tlsDissector, type TlsFacts } from '../../src/dissect/tls.js';
import type { Dissector } from '../../src/dissect/types.js';
import { flowReports } from '../../src/store/report.js';
import { analyze, CAPTURES } from '../helpers/analysis.js';
import { pcapRecords, PCAP_HEADER } from '../helpers/pcap-edit.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-inspector-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the capture without the records for which `drop` returns true. */
function without(file: string, drop: (frame: Buffer, index: number) => boolean): string {
  const bytes = readFileSync(file);
  const kept = [bytes.subarray(0, PCAP_HEADER)];
  pcapRecords(bytes).forEach((r, i) => {
    if (!drop(bytes.subarray(r.data, r.data + r.caplen), i)) kept.push(bytes.subarray(r.offset, r.data + r.caplen));
  });
  const out = join(dir, `gap-${Math.random().toString(16).slice(2)}.pcap`);
  writeFileSync(out, Buffer.concat(kept));
  return out;
}

describe('inspection with a lost segment', () => {
  it('still names the firmware download and its server after the first data segment from the server is lost', async () => {
    const file = join(CAPTURES, 'lan-basic.pcap');
    // Drop the first server->client TCP segment with payload from port 80 after the HTTP response began.
    let dropped = 0;
    const damaged = without(file, (frame) => {
      if (dropped > 0 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) return false;
      const ihl = (frame[14] & 0x0f) * 4;
      const tcp = 14 + ihl;
      const sport = frame.readUInt16BE(tcp);
      const payload = frame.length - tcp - (frame[tcp + 12] >> 4) * 4;
      if (sport === 80 && payload > 1000) {
        dropped++;
        return true;
      }
      return false;
    });
    expect(dropped).toBe(1);
    const a = await analyze([damaged]);
    try {
      const http = [...flowReports(a.store, a.captureId)].filter((f) => f.dst.endsWith(':80') && f.proto === 'tcp');
      expect(http.length).toBeGreaterThan(0);
      for (const f of http) expect(f).toMatchObject({ app: 'http', encryption: 'plaintext' });
      expect(http.some((f) => f.server_name === 'firmware.example.test')).toBe(true);
    } finally {
      a.close();
    }
  });
});

describe('inspection bounds', () => {
  it('never inspects more flows at once than allowed, and every flow still gets a verdict', async () => {
    const { DEFAULT_PIPELINE_OPTIONS } = await import('../../src/pipeline.js');
    const a = await analyze([join(CAPTURES, 'lan-basic.pcap')], {
      inspection: { ...DEFAULT_PIPELINE_OPTIONS.inspection, concurrent: 1, packets: 4 },
    });
    try {
      const flows = [...flowReports(a.store, a.captureId)];
      expect(flows.length).toBeGreaterThan(10);
      for (const f of flows) {
        expect(['encrypted', 'plaintext', 'unknown']).toContain(f.encryption);
        expect(f.reason).toBeTruthy();
      }
      // Cut short, the TLS flows are still recognised from their first bytes.
      expect(flows.filter((f) => f.app === 'tls').every((f) => f.encryption === 'encrypted')).toBe(true);
    } finally {
      a.close();
    }
  });
});

describe("a dissector's own packet budget", () => {
  it('lets the dissector that claimed a flow see more packets than the default limit', async () => {
    // The bundled captures' flows are short, so the default is lowered to 8 packets: a TLS
    // dissector (made to never call its facts final) with a budget of 64 must be fed more.
    const file = join(CAPTURES, 'lan-basic.pcap');
    const fedWith = async (packets: number | undefined): Promise<number> => {
      let fed = 0;
      const counting: Dissector<unknown> = {
        ...tlsDissector,
        ...(packets === undefined ? {} : { packets }),
        start: (ctx) => {
          const state = tlsDissector.start(ctx);
          return {
            feed: (b, o, n, fromClient, c) => {
              fed++;
              state.feed(b, o, n, fromClient, c);
              return false;
            },
            facts: () => state.facts(),
          };
        },
      };
      const a = await analyze([file], { dissectors: [counting], inspection: { ...DEFAULT_INSPECTION_LIMITS, packets: 8 } });
      a.close();
      return fed;
    };
    const byDefault = await fedWith(undefined);
    const withBudget = await fedWith(64);
    expect(byDefault).toBeGreaterThan(0);
    expect(withBudget).toBeGreaterThan(byDefault);
  });
});

describe('the piece that decides a flow', () => {
  it('reaches the dissector whole, even when it is longer than the bytes kept for probing', async () => {
    // With only 64 bytes kept for probing, a ClientHello (hundreds of bytes, one segment) is
    // still parsed whole: the same SNIs and cipher lists as with the default limits.
    const file = join(CAPTURES, 'lan-basic.pcap');
    const names = async (probeBytes: number): Promise<string[]> => {
      const a = await analyze([file], { storeFacts: true, inspection: { ...DEFAULT_INSPECTION_LIMITS, probeBytes } });
      try {
        const rows = a.store.db.prepare("SELECT flow_seq, facts FROM flow_facts WHERE app = 'tls' ORDER BY flow_seq").all() as { flow_seq: number; facts: string }[];
        return rows.map((r) => {
          const ch = (JSON.parse(r.facts) as TlsFacts).client_hello;
          return `${r.flow_seq} ${ch?.sni} ${ch?.cipher_suites.length}`;
        });
      } finally {
        a.close();
      }
    };
    const normal = await names(DEFAULT_INSPECTION_LIMITS.probeBytes);
    expect(normal.length).toBeGreaterThan(0);
    expect(normal.every((n) => !n.includes(' undefined') && !n.includes(' null'))).toBe(true);
    expect(await names(64)).toEqual(normal);
  });
});
