import { describe, expect, it } from 'vitest';
import { tuyaDissector, ubntDiscoveryDissector } from '../../src/dissect/iot-discovery.js';
import { analyze, corpusAvailable, corpusFile } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { parseNdpiFlows } from '../conformance/corpus.js';

async function claimed(capture: string, ndpiProto: string, app: string) {
  const a = await analyze([corpusFile(capture)], { storeFacts: true });
  try {
    const ours = new Map<string, { app: string | null; reason: string | null; facts: unknown }>();
    const rows = a.store.db.prepare(`SELECT f.client_ip, f.client_port, f.server_ip, f.server_port, f.app, f.reason, ff.facts FROM flows f LEFT JOIN flow_facts ff ON ff.capture_id = f.capture_id AND ff.flow_seq = f.seq WHERE f.capture_id = ?`).all(a.captureId) as Record<string, unknown>[];
    for (const r of rows) {
      const k = [`${r.client_ip}:${r.client_port}`, `${r.server_ip}:${r.server_port}`].sort().join(' ');
      ours.set(k, { app: r.app as string | null, reason: r.reason as string | null, facts: r.facts ? JSON.parse(r.facts as string) : null });
    }
    const theirs = parseNdpiFlows(corpusFile(capture.replace(/\.pcap$/, '.ndpi.out'))).filter((f) => f.proto.includes(ndpiProto));
    expect(theirs.length).toBeGreaterThan(0);
    const matched = theirs.map((f) => ours.get([f.a, f.b].sort().join(' ')));
    for (const m of matched) expect(m?.app).toBe(app);
    return matched.map((m) => m!);
  } finally {
    a.close();
  }
}

describe.skipIf(!corpusAvailable)('IoT discovery on the corpus', () => {
  it('Tuya: every flow nDPI calls TuyaLP, decrypted with the public discovery key', async () => {
    const flows = await claimed('tuya_lp.pcap', 'TuyaLP', 'tuya');
    for (const f of flows) {
      const facts = f.facts as { encrypted_with_public_key: boolean; gw_id: string | null; version: string | null };
      expect(facts.encrypted_with_public_key).toBe(true);
      expect(facts.gw_id).toMatch(/^[0-9a-z]{16,24}$/);
      expect(facts.version).toMatch(/^3\.\d$/);
      expect(f.reason).toMatch(/readable by anyone/);
    }
  });

  it('Ubiquiti: every flow nDPI calls UBNTAC2, with the name and model it broadcasts', async () => {
    const flows = await claimed('ubntac2.pcap', 'UBNTAC2', 'ubnt-discovery');
    const facts = flows.map((f) => f.facts as { hostname: string | null; model: string | null });
    expect(facts.some((x) => x.hostname !== null && x.model !== null)).toBe(true);
  });
});

describe('IoT discovery dissectors are defensive', () => {
  it('survive random and mutated input', () => {
    const tuyaFrame = Buffer.from('000055aa00000000000000130000001c00000000' + '7b2267774964223a2261626364227d' + '0000000000000000aa55', 'hex');
    fuzzDissector(tuyaDissector, [tuyaFrame]);
    const ubnt = Buffer.from('020600110b0004756e6e740c000455475333', 'hex');
    fuzzDissector(ubntDiscoveryDissector, [ubnt]);
  });
});
