/**
 * Foundation conformance: for every capture in the corpus, our packet count equals capinfos',
 * and where nDPI's flow listing exists, our TCP/UDP flow count agrees with it within 2%.
 * Captures that differ for a reason we accept are listed in flow-count-exceptions.tsv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capinfosPackets, corpusAvailable, corpusEntries, parseNdpiFlows, withAnalysis } from './corpus.js';

const TOLERANCE = 0.02;

function exceptions(): Map<string, string> {
  const m = new Map<string, string>();
  const text = readFileSync(join(import.meta.dirname, 'flow-count-exceptions.tsv'), 'utf8');
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [file, ...reason] = line.split('\t');
    m.set(file, reason.join(' '));
  }
  return m;
}

describe.skipIf(!corpusAvailable)('corpus conformance: packets and flows', () => {
  it('counts every packet as capinfos does and finds the flows nDPI finds', async () => {
    const allowed = exceptions();
    const rows: string[] = [];
    const packetMismatches: string[] = [];
    const flowMismatches: string[] = [];
    let compared = 0;
    let agreeing = 0;
    for (const entry of corpusEntries()) {
      const expectedPackets = capinfosPackets(entry.path);
      const ours = await withAnalysis(entry.path, (store, id) => {
        const c = store.capture(id)!;
        const tcpUdp = store.db
          .prepare(`SELECT count(*) AS n FROM flows WHERE capture_id = ? AND proto IN ('tcp', 'udp')`)
          .get(id) as { n: number };
        return { packets: c.packets, flows: tcpUdp.n, malformed: c.malformed, warnings: c.warnings };
      });
      if (ours.packets !== expectedPackets) {
        packetMismatches.push(`${entry.file}: ${ours.packets} packets, capinfos ${expectedPackets} ${ours.warnings.join('; ')}`);
      }
      let flowCell = '';
      if (entry.ndpiOut) {
        const ndpi = parseNdpiFlows(entry.ndpiOut).filter((f) => f.l4 === 'TCP' || f.l4 === 'UDP').length;
        const diff = Math.abs(ours.flows - ndpi) / Math.max(ndpi, 1);
        const ok = diff <= TOLERANCE || ours.flows === ndpi;
        compared++;
        if (ok) agreeing++;
        flowCell = `${ours.flows} vs nDPI ${ndpi}${ok ? '' : allowed.has(entry.file) ? ' (accepted: see exceptions)' : ' MISMATCH'}`;
        if (!ok && !allowed.has(entry.file)) flowMismatches.push(`${entry.file}: ours ${ours.flows}, nDPI ${ndpi}`);
      }
      rows.push(`${entry.file.padEnd(52)} packets ${String(ours.packets).padStart(7)} ${ours.packets === expectedPackets ? 'ok' : 'MISMATCH'}  ${flowCell}`);
    }
    console.log(
      `\n${rows.join('\n')}\n\nflow counts within ${TOLERANCE * 100}% of nDPI: ${agreeing}/${compared}; ` +
        `accepted exceptions: ${[...allowed.keys()].join(', ') || 'none'}\n`,
    );
    expect(packetMismatches).toEqual([]);
    expect(flowMismatches).toEqual([]);
  });
});
