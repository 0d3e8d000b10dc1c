/**
 * Run the real pipeline on a capture into a real SQLite file in a temp dir, for tests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { analyzeInto } from '../../src/cli/analyze.js';
import { DEFAULT_PIPELINE_OPTIONS, type PipelineOptions } from '../../src/pipeline.js';
import { Store } from '../../src/store/store.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const CAPTURES = join(REPO, 'captures');
export const CORPUS = resolve(process.env.NOTCREEPY_CORPUS ?? join(REPO, '../shared/corpus'));
export const corpusAvailable = existsSync(join(CORPUS, 'MANIFEST.tsv'));

export function corpusFile(name: string): string {
  return join(CORPUS, name);
}

/** The capture files bundled in captures/. */
export function bundledCaptures(): string[] {
  return readdirSync(CAPTURES)
    .filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f))
    .map((f) => join(CAPTURES, f));
}

export const silentStream = new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WriteStream;

export interface Analysis {
  store: Store;
  captureId: number;
  dir: string;
  close(): void;
}

export async function analyze(files: string[], options: Partial<PipelineOptions> = {}): Promise<Analysis> {
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-test-'));
  const store = new Store(join(dir, 'test.db'));
  const { captureId } = await analyzeInto(store, files, { ...DEFAULT_PIPELINE_OPTIONS, ...options }, silentStream);
  return {
    store,
    captureId,
    dir,
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * tshark's view of a capture's TCP/UDP conversations, as unordered "proto a:port b:port" keys.
 * For tunnelled packets (VXLAN) the innermost header counts, as in our flows.
 */
export function tsharkConversations(file: string): Set<string> {
  const out = execFileSync(
    'tshark',
    ['-r', file, '-n', '-Y', 'tcp or udp', '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=l',
      '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst',
      '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'udp.srcport', '-e', 'udp.dstport',
      '-o', 'ip.defragment:TRUE'],
    { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const keys = new Set<string>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [s4, d4, s6, d6, ts, td, us, ud] = line.split('\t');
    const tcp = ts !== '';
    const src = s6 || s4;
    const dst = d6 || d4;
    const sp = tcp ? ts : us;
    const dp = tcp ? td : ud;
    if (!src || !dst || !sp) continue;
    keys.add(conversationKey(tcp ? 'tcp' : 'udp', src, Number(sp), dst, Number(dp)));
  }
  return keys;
}

export function conversationKey(proto: string, a: string, ap: number, b: string, bp: number): string {
  const x = `${a}|${ap}`;
  const y = `${b}|${bp}`;
  return `${proto} ${x < y ? `${x} ${y}` : `${y} ${x}`}`;
}

export function ourConversations(a: Analysis): Set<string> {
  const rows = a.store.db
    .prepare(`SELECT proto, client_ip, client_port, server_ip, server_port FROM flows WHERE capture_id = ? AND proto IN ('tcp','udp')`)
    .all(a.captureId) as { proto: string; client_ip: string; client_port: number; server_ip: string; server_port: number }[];
  return new Set(rows.map((r) => conversationKey(r.proto, r.client_ip, r.client_port, r.server_ip, r.server_port)));
}
