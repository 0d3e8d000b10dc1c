/**
 * Seeded fuzzing for dissectors: random buffers and mutations of real payloads, reproducible
 * from the seed printed on failure.
 */
import { expect } from 'vitest';
import type { DissectContext, Dissector } from '../../src/dissect/types.js';

/** Mulberry32: small, fast, seedable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(next: () => number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = Math.floor(next() * 256);
  return b;
}

/** A mutated copy: flipped bytes, inserted/removed runs, truncation, extreme length-like values. */
export function mutate(next: () => number, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + Math.floor(next() * 6);
  for (let r = 0; r < rounds && b.length > 0; r++) {
    const at = Math.floor(next() * b.length);
    switch (Math.floor(next() * 6)) {
      case 0:
        b[at] ^= 1 << Math.floor(next() * 8);
        break;
      case 1:
        b[at] = [0x00, 0xff, 0x7f, 0x80, 0x01][Math.floor(next() * 5)];
        break;
      case 2:
        b = b.subarray(0, at);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), randomBytes(next, 1 + Math.floor(next() * 16)), b.subarray(at)]);
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + Math.floor(next() * 16)))]);
        break;
      case 5:
        if (at + 1 < b.length) b.writeUInt16BE(0xffff, at);
        break;
    }
  }
  return b;
}

const CONTEXTS: DissectContext[] = [
  { proto: 6, clientPort: 50000, serverPort: 443, tsUs: 1.7e15 },
  { proto: 17, clientPort: 50000, serverPort: 53, tsUs: 1.7e15 },
];

/**
 * Feed a dissector random and mutated inputs: probe, start and feed must never throw, and facts()
 * must stay JSON-serialisable. `seeds` are real payloads to mutate (first bytes of a direction).
 */
export function fuzzDissector<F>(dissector: Dissector<F>, seeds: Buffer[], iterations = 2000, seed = 12345): void {
  const next = rng(seed);
  for (let i = 0; i < iterations; i++) {
    const base = seeds.length > 0 && next() < 0.8 ? seeds[Math.floor(next() * seeds.length)] : randomBytes(next, Math.floor(next() * 600));
    const input = mutate(next, base);
    const ctx = CONTEXTS[Math.floor(next() * CONTEXTS.length)];
    const fromClient = next() < 0.7;
    // Embed at a random offset in a larger buffer: dissectors must respect offset and length.
    const pad = Math.floor(next() * 8);
    const buf = Buffer.concat([randomBytes(next, pad), input, randomBytes(next, 8)]);
    try {
      dissector.probe(buf, pad, input.length, fromClient, ctx);
      const state = dissector.start(ctx);
      state.feed(buf, pad, input.length, fromClient, ctx);
      state.feed(buf, pad, input.length, !fromClient, ctx);
      JSON.stringify(state.facts());
    } catch (err) {
      expect.fail(`${dissector.name} threw on fuzz input #${i} (seed ${seed}): ${(err as Error).stack}\ninput: ${input.toString('hex')}`);
    }
  }
}
