/**
 * Shared by the standards tests: the lab devices of captures/lan-*.pcap (captures/README.md),
 * reading findings and the flows behind them back from the store, and the comparison of our
 * findings with nDPI's flow risks on the corpus (expected differences in
 * test/standards/ndpi-differences.tsv, each with its reason).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { corpusEntries, parseNdpiFlows } from '../conformance/corpus.js';
import { analyze, conversationKey, REPO, type Analysis } from './analysis.js';

export const CAM = 'b8:27:eb:12:34:56';
export const SPEAKER = '02:42:ac:11:00:02';
export const TV = '00:1a:11:5c:7e:01';
export const GATEWAY = '02:50:00:00:00:01';

export interface FindingRow {
  device_id: string;
  code: string;
  severity: string;
  remote: string;
  title: string;
  detail: string;
  evidence: string;
  count: number;
}

export interface EvidenceFlow {
  proto: string;
  client_ip: string;
  client_port: number;
  server_ip: string;
  server_port: number;
}

/** One standard's findings, in a stable order. */
export function findingsOfStandard(a: Analysis, standard: number): FindingRow[] {
  return a.store.db
    .prepare(`SELECT device_id, code, severity, remote, title, detail, evidence, count FROM findings WHERE standard = ? ORDER BY device_id, code, remote`)
    .all(standard) as FindingRow[];
}

/** The stored flows a finding's evidence names. */
export function evidenceFlows(a: Analysis, evidence: string): EvidenceFlow[] {
  const q = a.store.db.prepare(`SELECT proto, client_ip, client_port, server_ip, server_port FROM flows WHERE capture_id = ? AND seq = ?`);
  return (JSON.parse(evidence) as { flows: { capture_id: number; seq: number }[] }).flows.map((r) => q.get(r.capture_id, r.seq) as EvidenceFlow);
}

/** "device code severity remote" per finding, for whole-list assertions. */
export const summary = (rows: FindingRow[]): string[] => rows.map((r) => `${r.device_id} ${r.code} ${r.severity} ${r.remote}`);

/** The listed differences for `risk` on one side (missed: nDPI flags and we do not; extra: the reverse). */
export function expectedNdpiDifferences(risk: string, side: 'missed' | 'extra'): string[] {
  const [header, ...lines] = readFileSync(join(REPO, 'test/standards/ndpi-differences.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const cols = header.split('\t');
  return lines
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])) as Record<string, string>)
    .filter((d) => d.risk === risk && d.side === side)
    .map((d) => `${d.capture}\t${d.conversation}`)
    .sort();
}

/** Captures whose nDPI output has either risk are checked for both (so false positives show too). */
const NDPI_RISKS = ['Clear-Text Credentials', 'Binary App Transfer'];

/** "10.0.0.1:80" or "[2001:db8::1]:80" as nDPI prints an endpoint. */
function endpoint(s: string): [string, number] {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(s);
  if (m === null) throw new Error(`endpoint ${s}`);
  return [m[1], Number(m[2])];
}

/** Compare the flows nDPI gives `risk` with the flows behind our findings of `codes`. */
export async function compareWithNdpi(risk: string, codes: string[]): Promise<{ agreed: number; missed: string[]; extra: string[] }> {
  const files = corpusEntries().filter((e) => e.ndpiOut !== null && NDPI_RISKS.some((r) => readFileSync(e.ndpiOut!, 'utf8').includes(r)));
  expect(files.length).toBeGreaterThan(0);
  let agreed = 0;
  const missed: string[] = [];
  const extra: string[] = [];
  for (const e of files) {
    const theirs = new Set(
      parseNdpiFlows(e.ndpiOut!)
        .filter((f) => f.line.includes(risk))
        .map((f) => conversationKey(f.l4.toLowerCase(), ...endpoint(f.a), ...endpoint(f.b))),
    );
    const a = await analyze([e.path]);
    try {
      const ours = new Set<string>();
      const rows = a.store.db
        .prepare(`SELECT evidence FROM findings WHERE code IN (${codes.map(() => '?').join(',')})`)
        .all(...codes) as { evidence: string }[];
      for (const r of rows) {
        for (const f of evidenceFlows(a, r.evidence)) ours.add(conversationKey(f.proto, f.client_ip, f.client_port, f.server_ip, f.server_port));
      }
      for (const k of theirs) if (ours.has(k)) agreed++;
      else missed.push(`${e.file}\t${k}`);
      for (const k of ours) if (!theirs.has(k)) extra.push(`${e.file}\t${k}`);
    } finally {
      a.close();
    }
  }
  return { agreed, missed: missed.sort(), extra: extra.sort() };
}
