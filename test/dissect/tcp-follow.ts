/**
 * Test helpers for stream dissectors: real reassembled TCP streams from a capture (tshark's
 * `-z follow,tcp,raw,N`), and a driver that hands them to a dissector the way the inspector does
 * (probe on the first bytes of each direction, then replay and feed, each direction capped at
 * 16 KiB), optionally re-cut at other boundaries and through a reused buffer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Probe, type DissectContext, type Dissector } from '../../src/dissect/types.js';
import { rng } from '../helpers/fuzz.js';

export const CORPUS = resolve(process.env.NOTCREEPY_CORPUS ?? join(import.meta.dirname, '../../../shared/corpus'));
export const corpusAvailable = existsSync(join(CORPUS, 'MANIFEST.tsv'));

export function corpusFile(name: string): string {
  return join(CORPUS, name);
}

export function hasTshark(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v tshark'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Corpus tests need both the captures and tshark. */
export const canFollow = corpusAvailable && hasTshark();

export interface Piece {
  fromClient: boolean;
  data: Buffer;
}

export interface FollowedStream {
  index: number;
  clientPort: number;
  serverPort: number;
  pieces: Piece[];
}

export function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** tshark -T fields output rows (tab-separated), for a display filter. */
export function tsharkFields(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const occurrence = extra.some((e) => e.startsWith('occurrence=')) ? [] : ['-E', 'occurrence=f'];
  const out = tshark(['-r', file, ...extra, ...occurrence, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])]);
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

/** TCP stream indices with at least one packet matching a display filter. */
export function streamsMatching(file: string, filter: string, extra: string[] = []): number[] {
  const set = new Set(tsharkFields(file, filter, ['tcp.stream'], extra).map((r) => Number(r[0])));
  return [...set].sort((a, b) => a - b);
}

function portOf(node: string): number {
  const i = node.lastIndexOf(':');
  return i < 0 ? 0 : Number(node.slice(i + 1));
}

/** Stream index -> source port of its SYN, for the streams whose SYN was captured. */
export type SynPorts = Map<number, number>;

function synPorts(file: string): SynPorts {
  const m: SynPorts = new Map();
  for (const [stream, port] of tsharkFields(file, 'tcp.flags.syn==1 && tcp.flags.ack==0', ['tcp.stream', 'tcp.srcport'])) {
    if (!m.has(Number(stream))) m.set(Number(stream), Number(port));
  }
  return m;
}

/**
 * The TCP streams with a packet matching `filter`, followed (one tshark pass to find them and
 * their SYNs, one per 100 streams to follow them).
 */
export function followMatching(file: string, filter: string, serverPorts: number[] = [], extra: string[] = []): FollowedStream[] {
  const syn: SynPorts = new Map();
  const matching = new Set<number>();
  const rows = tsharkFields(file, `tcp && ((${filter}) || (tcp.flags.syn==1 && tcp.flags.ack==0))`, ['tcp.stream', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.srcport'], extra);
  for (const [stream, s, a, port] of rows) {
    const n = Number(stream);
    if (s === '1' && a === '0') {
      if (!syn.has(n)) syn.set(n, Number(port));
    } else matching.add(n);
  }
  return followTcp(file, [...matching].sort((x, y) => x - y), serverPorts, syn);
}

const GAP = /^\[\d+ bytes missing in capture file\]\0?/;

/**
 * The reassembled bytes of TCP streams, in order of arrival, direction told by the SYN (or, without
 * one, by `serverPorts`, or else tshark's node 0 is taken as the client). tshark's gap markers
 * ("[N bytes missing in capture file]") are dropped.
 */
export function followTcp(file: string, indices: number[], serverPorts: number[] = [], syn: SynPorts = synPorts(file)): FollowedStream[] {
  const result: FollowedStream[] = [];
  for (let i = 0; i < indices.length; i += 100) {
    const batch = indices.slice(i, i + 100);
    const out = tshark(['-r', file, '-q', ...batch.flatMap((n) => ['-z', `follow,tcp,raw,${n}`])]);
    let cur: { index: number; node0: number; node1: number; raw: { node: 0 | 1; data: Buffer }[] } | null = null;
    const flush = () => {
      if (cur === null) return;
      let clientIsNode0 = true;
      const synPort = syn.get(cur.index);
      if (synPort !== undefined && cur.node0 !== cur.node1) clientIsNode0 = synPort === cur.node0;
      else if (serverPorts.includes(cur.node0) && !serverPorts.includes(cur.node1)) clientIsNode0 = false;
      result.push({
        index: cur.index,
        clientPort: clientIsNode0 ? cur.node0 : cur.node1,
        serverPort: clientIsNode0 ? cur.node1 : cur.node0,
        pieces: cur.raw.map((r) => ({ fromClient: (r.node === 0) === clientIsNode0, data: r.data })).filter((p) => p.data.length > 0),
      });
      cur = null;
    };
    for (const line of out.split('\n')) {
      const f = /^Filter: tcp\.stream eq (\d+)/.exec(line);
      if (f !== null) {
        flush();
        cur = { index: Number(f[1]), node0: 0, node1: 0, raw: [] };
        continue;
      }
      if (cur === null) continue;
      const n = /^Node ([01]): (.*)$/.exec(line);
      if (n !== null) {
        if (n[1] === '0') cur.node0 = portOf(n[2]);
        else cur.node1 = portOf(n[2]);
        continue;
      }
      const h = /^(\t?)([0-9a-f]+)$/.exec(line);
      if (h !== null) {
        let data = Buffer.from(h[2], 'hex');
        const head = data.toString('latin1', 0, 48);
        const g = GAP.exec(head);
        if (g !== null) data = data.subarray(g[0].length);
        cur.raw.push({ node: h[1] === '\t' ? 1 : 0, data });
      }
    }
    flush();
  }
  const order = new Map(indices.map((n, i) => [n, i]));
  return result.sort((a, b) => (order.get(a.index) ?? 0) - (order.get(b.index) ?? 0));
}

export function ctxOf(s: { clientPort: number; serverPort: number }): DissectContext {
  return { proto: 6, clientPort: s.clientPort, serverPort: s.serverPort, tsUs: 0 };
}

/** Cut every piece at random boundaries (1-byte pieces included); order is kept. */
export function rechunk(pieces: Piece[], seed: number): Piece[] {
  const next = rng(seed);
  const out: Piece[] = [];
  for (const p of pieces) {
    let at = 0;
    while (at < p.data.length) {
      const n = next() < 0.3 ? 1 : 1 + Math.floor(next() * Math.max(1, p.data.length / 3));
      out.push({ fromClient: p.fromClient, data: p.data.subarray(at, at + n) });
      at += n;
    }
  }
  return out;
}

/** Cap each direction at `limit` bytes, like the inspector's reassembly budget. */
export function capDirections(pieces: Piece[], limit = 16 * 1024): Piece[] {
  const used = [0, 0];
  const out: Piece[] = [];
  for (const p of pieces) {
    const d = p.fromClient ? 0 : 1;
    const n = Math.min(p.data.length, limit - used[d]);
    if (n <= 0) continue;
    used[d] += n;
    out.push({ fromClient: p.fromClient, data: p.data.subarray(0, n) });
  }
  return out;
}

export interface RunResult<F> {
  probe: Probe;
  facts: F | null;
  /** feed() returned true. */
  decided: boolean;
}

export interface RunOptions {
  /** Per-direction budget (default 16 KiB). */
  limit?: number;
  /** Re-cut pieces at random boundaries with this seed. */
  rechunkSeed?: number;
  /** Hand pieces over through one reused scratch buffer, scribbled over after each call. */
  reuse?: boolean;
  /** Skip probing (start directly). */
  noProbe?: boolean;
}

/**
 * Drive a dissector over a stream as the inspector does: the first bytes of the direction that
 * just spoke (up to 2 KiB) are probed after each arrival until YES or NO; on YES everything that
 * arrived is replayed in order, then the rest is fed until feed() returns true.
 */
export function runStream<F>(d: Dissector<F>, s: { clientPort: number; serverPort: number; pieces: Piece[] }, opts: RunOptions = {}): RunResult<F> {
  const ctx = ctxOf(s);
  let pieces = capDirections(s.pieces, opts.limit ?? 16 * 1024);
  if (opts.rechunkSeed !== undefined) pieces = rechunk(pieces, opts.rechunkSeed);
  const scratch = Buffer.alloc(70000);
  const hand = (p: Piece, fn: (b: Buffer, o: number, n: number) => void) => {
    if (!opts.reuse) return fn(p.data, 0, p.data.length);
    const off = 7;
    p.data.copy(scratch, off);
    fn(scratch, off, p.data.length);
    scratch.fill(0xa5, 0, off + p.data.length + 8);
  };
  let verdict: Probe = Probe.MAYBE;
  let start = 0;
  if (!opts.noProbe) {
    const first: [Buffer, Buffer] = [Buffer.alloc(0), Buffer.alloc(0)];
    for (; start < pieces.length; start++) {
      const p = pieces[start];
      const dir = p.fromClient ? 0 : 1;
      first[dir] = Buffer.concat([first[dir], p.data]).subarray(0, 2048);
      verdict = d.probe(first[dir], 0, first[dir].length, p.fromClient, ctx);
      if (verdict !== Probe.MAYBE) break;
    }
    if (verdict !== Probe.YES) return { probe: verdict, facts: null, decided: false };
  } else verdict = Probe.YES;
  const state = d.start(ctx);
  let decided = false;
  for (const p of pieces) {
    let r = false;
    hand(p, (b, o, n) => {
      r = state.feed(b, o, n, p.fromClient, ctx);
    });
    if (r) {
      decided = true;
      break;
    }
  }
  return { probe: verdict, facts: state.facts(), decided };
}

/** Facts as plain data (to compare runs). */
export function plain<T>(x: T): unknown {
  return JSON.parse(JSON.stringify(x));
}

/**
 * Every string leaf of a facts object with its path, for "no secret in clear" checks.
 */
export function stringLeaves(x: unknown, path = '$', out: [string, string][] = []): [string, string][] {
  if (typeof x === 'string') out.push([path, x]);
  else if (Array.isArray(x)) x.forEach((v, i) => stringLeaves(v, `${path}[${i}]`, out));
  else if (x !== null && typeof x === 'object') for (const [k, v] of Object.entries(x)) stringLeaves(v, `${path}.${k}`, out);
  return out;
}

/**
 * Where a secret appears in facts, in clear, hex or base64: the paths of the leaves that contain it.
 * Short secrets (under 6 characters, e.g. "pass") are looked for as whole words only (their hex
 * form anywhere), since they
 * occur by chance inside other words ("myvoiceismypassport"). `allow` filters out legitimate places
 * (e.g. a field name that happens to equal the password).
 */
export function secretLeaks(facts: unknown, secret: string, allow: (path: string, value: string) => boolean = () => false): string[] {
  const forms = [secret, Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64').replace(/=+$/, '')];
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const short = secret.length < 6;
  const found = (v: string, f: string, i: number) => (short && i !== 1 ? new RegExp(`(^|[^A-Za-z0-9])${esc(f)}($|[^A-Za-z0-9])`).test(v) : v.includes(f));
  return stringLeaves(facts)
    .filter(([p, v]) => !allow(p, v) && forms.some((f, i) => found(v, f, i)))
    .map(([p]) => p);
}
