/**
 * The flow table on real captures: every IP packet lands in exactly one flow, the live-flow bound
 * holds (a scan or flood cannot grow memory), and idle flows end in capture time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/reader.js';
import { DEFAULT_PIPELINE_OPTIONS, Pipeline, type PipelineOptions } from '../../src/pipeline.js';
import { Store } from '../../src/store/store.js';
import { CAPTURES, corpusAvailable, corpusFile } from '../helpers/analysis.js';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'notcreepy-flow-'));
  store = new Store(join(dir, 'f.db'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(file: string, flowTable: Partial<PipelineOptions['flowTable']> = {}) {
  const id = store.beginCapture('analyze', [file]);
  const p = new Pipeline(store, id, { ...DEFAULT_PIPELINE_OPTIONS, flowTable: { ...DEFAULT_PIPELINE_OPTIONS.flowTable, ...flowTable } });
  await readCapture(file, p.handleFrame, { sourceIndex: 0, onWarning: () => {} });
  p.finish([]);
  const totals = store.db
    .prepare(`SELECT count(*) AS flows, sum(packets_c2s + packets_s2c) AS packets, sum(bytes_c2s + bytes_s2c) AS bytes FROM flows WHERE capture_id = ?`)
    .get(id) as { flows: number; packets: number; bytes: number };
  return { p, id, totals };
}

/** Packets that belong in a flow: IP packets, less those that could not be attributed. */
function ipPackets(p: Pipeline): number {
  const c = p.counters;
  return c.packets - c.arp - c.nonIp - c.malformed - c.unattributedFragments;
}

const files = [join(CAPTURES, 'lan-basic.pcap'), ...(corpusAvailable ? [corpusFile('1kxun.pcap'), corpusFile('dns_fragmented.pcap')] : [])];

describe('flow table', () => {
  for (const file of files) {
    it(`accounts every IP packet to one flow: ${file.split('/').pop()}`, async () => {
      const { p, totals } = await run(file);
      expect(totals.packets).toBe(ipPackets(p));
      expect(totals.flows).toBe(p.counters.flows);
      expect(p.flows.size).toBe(0); // all ended at the end of the capture
    });

    it(`never holds more flows than its bound, losing no packet: ${file.split('/').pop()}`, async () => {
      const unbounded = await run(file);
      const bound = Math.max(2, Math.floor(unbounded.p.flows.peakSize / 4));
      const bounded = await run(file, { maxFlows: bound });
      expect(bounded.p.flows.peakSize).toBeLessThanOrEqual(bound);
      expect(bounded.p.flows.evicted).toBeGreaterThan(0);
      expect(bounded.totals.packets).toBe(unbounded.totals.packets);
      expect(bounded.totals.bytes).toBe(unbounded.totals.bytes);
      const evictedRows = store.db.prepare(`SELECT count(*) AS n FROM flows WHERE capture_id = ? AND end_reason = 'evicted'`).get(bounded.id) as { n: number };
      expect(evictedRows.n).toBe(bounded.p.flows.evicted);
    });
  }

  it('ends idle flows by capture time: a zero timeout gives one flow per burst', async () => {
    const file = files[0];
    const normal = await run(file);
    const eager = await run(file, { udpIdleSeconds: 0, tcpIdleSeconds: 0, otherIdleSeconds: 0, tcpClosedSeconds: 0 });
    expect(eager.totals.packets).toBe(normal.totals.packets);
    expect(eager.totals.flows).toBeGreaterThan(normal.totals.flows);
    const idle = store.db.prepare(`SELECT count(*) AS n FROM flows WHERE capture_id = ? AND end_reason IN ('idle', 'closed')`).get(eager.id) as { n: number };
    expect(idle.n).toBeGreaterThan(0);
  });
});
