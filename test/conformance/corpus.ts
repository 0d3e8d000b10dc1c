/**
 * Helpers for conformance runs over the public corpus (../shared/corpus or $NOTCREEPY_CORPUS).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { analyzeInto } from '../../src/cli/analyze.js';
import { Store } from '../../src/store/store.js';

export const CORPUS = resolve(process.env.NOTCREEPY_CORPUS ?? join(import.meta.dirname, '../../../shared/corpus'));
export const corpusAvailable = existsSync(join(CORPUS, 'MANIFEST.tsv'));

export interface CorpusEntry {
  file: string;
  path: string;
  packets: number;
  ndpiOut: string | null;
}

function readTsv(path: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split('\t');
  return rows.map((r) => Object.fromEntries(r.split('\t').map((v, i) => [cols[i], v])));
}

export function corpusEntries(): CorpusEntry[] {
  const expected = new Map<string, string>();
  for (const r of readTsv(join(CORPUS, 'EXPECTED_OUTPUTS.tsv'))) {
    if (r.expected_output_file?.endsWith('.ndpi.out')) expected.set(r.capture, join(CORPUS, r.expected_output_file));
  }
  return readTsv(join(CORPUS, 'MANIFEST.tsv')).map((r) => ({
    file: r.file,
    path: join(CORPUS, r.file),
    packets: Number(r.packets),
    ndpiOut: expected.get(r.file) ?? null,
  }));
}

/** capinfos' packet count for a file. */
export function capinfosPackets(path: string): number {
  const out = execFileSync('capinfos', ['-c', '-M', '-T', '-r', path], { encoding: 'utf8' });
  return Number(out.trim().split('\t').pop());
}

/** One nDPI flow from ndpiReader's `-v 2` listing. */
export interface NdpiFlow {
  l4: string;
  a: string;
  b: string;
  proto: string;
  encryption: 'encrypted' | 'plaintext' | null;
  hostname: string | null;
  /** nDPI's confidence: "DPI", "DPI (cache)", "Match by port", "Unknown"… */
  confidence: string | null;
  line: string;
}

export function parseNdpiFlows(path: string): NdpiFlow[] {
  const flows: NdpiFlow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s+\d+\s+(TCP|UDP|ICMP|ICMPV6|IGMP|\S+)\s+(\S+)\s+<?->\s+(\S+)\s+\[/.exec(line);
    if (!m) continue;
    const proto = /\[proto: ([^\]]+)\]/.exec(line)?.[1] ?? '';
    const host = /\[Hostname\/SNI: ([^\]]+)\]/.exec(line)?.[1] ?? null;
    flows.push({
      l4: m[1],
      a: m[2],
      b: m[3],
      proto,
      encryption: line.includes('[Encrypted]') ? 'encrypted' : line.includes('[ClearText]') ? 'plaintext' : null,
      hostname: host,
      confidence: /\[Confidence: ([^\]]+)\]/.exec(line)?.[1] ?? null,
      line,
    });
  }
  return flows;
}

export const devNull = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;

/** Analyse one capture into a fresh temporary database; the callback reads it. */
export async function withAnalysis<T>(path: string, read: (store: Store, captureId: number) => T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-conf-'));
  const store = new Store(join(dir, 'c.db'));
  try {
    const { captureId } = await analyzeInto(store, [path], undefined, devNull);
    return read(store, captureId);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
