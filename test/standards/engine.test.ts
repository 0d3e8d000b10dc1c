/**
 * Findings and observations: deduplicated per (device, code, remote), counted, with the flows
 * behind them; accumulated across runs on one database; printed as report cards first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeInto } from '../../src/cli/analyze.js';
import { printSummary } from '../../src/cli/output.js';
import { DEFAULT_PIPELINE_OPTIONS } from '../../src/pipeline.js';
import { captureReport, deviceReports } from '../../src/store/report.js';
import { Store } from '../../src/store/store.js';
import { CAPTURES, silentStream } from '../helpers/analysis.js';

const CAPTURE = join(CAPTURES, 'lan-standards.pcap');

interface Row {
  device_id: string;
  code: string;
  remote: string;
  count: number;
  first_seen: number;
  last_seen: number;
  evidence: string;
}

describe('the standards engine on lan-standards.pcap', () => {
  let dir: string;
  let store: Store;
  let first: Row[];
  let second: Row[];
  let captureIds: number[];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-engine-'));
    store = new Store(join(dir, 'engine.db'));
    const a = await analyzeInto(store, [CAPTURE], DEFAULT_PIPELINE_OPTIONS, silentStream);
    first = store.db.prepare('SELECT * FROM findings ORDER BY device_id, code, remote').all() as Row[];
    const b = await analyzeInto(store, [CAPTURE], DEFAULT_PIPELINE_OPTIONS, silentStream);
    second = store.db.prepare('SELECT * FROM findings ORDER BY device_id, code, remote').all() as Row[];
    captureIds = [a.captureId, b.captureId];
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deduplicates: one row per (device, code, remote), counting the flows', () => {
    expect(first.length).toBeGreaterThan(5);
    const keys = first.map((r) => `${r.device_id} ${r.code} ${r.remote}`);
    expect(new Set(keys).size).toBe(keys.length);
    // garden-cam's five plain DNS queries (README: five names) are one finding counted five times.
    const dns = first.find((r) => r.device_id === 'b8:27:eb:12:34:56' && r.code === 'plaintext-dns');
    expect(dns?.count).toBe(5);
    expect(dns?.remote).toBe('192.168.50.1:53');
  });

  it('names the flows behind each finding, and they are the flows it is about', () => {
    for (const r of first) {
      const e = JSON.parse(r.evidence) as { flows: { capture_id: number; seq: number }[]; bytes_sent: number };
      expect(e.flows.length).toBeGreaterThan(0);
      for (const ref of e.flows) {
        const flow = store.db
          .prepare('SELECT device_id, peer_device_id, server_name, server_ip, client_ip FROM flows WHERE capture_id = ? AND seq = ?')
          .get(ref.capture_id, ref.seq) as Record<string, string | null> | undefined;
        expect(flow, `${r.code} ${r.remote}`).toBeDefined();
        expect([flow!.device_id, flow!.peer_device_id]).toContain(r.device_id);
      }
      expect(e.bytes_sent).toBeGreaterThan(0);
    }
  });

  it('a second run of the same capture adds up counts and keeps the first sighting', () => {
    expect(second.length).toBe(first.length);
    for (let i = 0; i < first.length; i++) {
      expect(second[i].code).toBe(first[i].code);
      expect(second[i].count).toBe(first[i].count * 2);
      expect(second[i].first_seen).toBe(first[i].first_seen);
      const flows = (JSON.parse(second[i].evidence) as { flows: { capture_id: number }[] }).flows;
      expect(new Set(flows.map((f) => f.capture_id))).toEqual(new Set(captureIds));
    }
  });

  it('prints the report cards before the detail, with words and icons, colour only when asked', () => {
    let text = '';
    const out = new Writable({
      write(chunk, _e, cb) {
        text += String(chunk);
        cb();
      },
    });
    const devices = deviceReports(store, captureIds[1]);
    printSummary(out, captureReport(store, captureIds[1]), devices, false);
    const cards = text.indexOf('Report cards');
    const detail = text.indexOf('Device b8:27:eb:12:34:56');
    expect(cards).toBe(0);
    expect(detail).toBeGreaterThan(cards);
    expect(text).toMatch(/b8:27:eb:12:34:56 {2}garden-cam — Raspberry Pi Foundation {3}CREEPY/);
    expect(text).toMatch(/✗ FAIL +1 Encrypted communications/);
    expect(text).not.toContain('\x1b[');
    text = '';
    printSummary(out, captureReport(store, captureIds[1]), devices, true);
    expect(text).toContain('\x1b[31m');
  });
});
