/**
 * The text helpers every dissector uses to turn wire bytes into report text. Compared with
 * straightforward per-character reference versions over random and edge-case inputs, so the fast
 * paths (no copy when nothing needs replacing) cannot change what reports show.
 */
import { describe, expect, it } from 'vitest';
import { asciiOfBytes, asciiText, cleanText, utf8OfLatin1 } from '../../src/dissect/plaintext.js';
import { rng } from '../helpers/fuzz.js';

function refClean(s: string, max: number): string {
  let out = '';
  for (let i = 0; i < Math.min(s.length, max); i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? '?' : s[i];
  }
  return out;
}

function refAscii(s: string, max: number): string {
  let out = '';
  for (let i = 0; i < Math.min(s.length, max); i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f ? s[i] : '?';
  }
  return out;
}

function refAsciiBytes(b: Buffer, from: number, to: number, max: number, stopAtNul: boolean): string {
  let out = '';
  for (let i = from; i < Math.min(to, b.length) && out.length < max; i++) {
    const c = b[i];
    if (stopAtNul && c === 0) break;
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '?';
  }
  return out;
}

describe('plaintext: report text from wire bytes', () => {
  const next = rng(20261122);
  const samples: Buffer[] = [Buffer.alloc(0), Buffer.from('GET /index.html HTTP/1.1'), Buffer.from('caf\u00e9 \u2603 \ud83d\ude00', 'utf8')];
  for (let n = 0; n < 300; n++) {
    const len = Math.floor(next() * 80);
    const printableOnly = n % 3 === 0;
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) b[i] = printableOnly ? 0x20 + Math.floor(next() * 95) : Math.floor(next() * 256);
    samples.push(b);
  }

  it('cleanText and asciiText equal the per-character definitions, truncation included', () => {
    for (const b of samples) {
      for (const s of [b.toString('latin1'), b.toString('utf8')]) {
        for (const max of [0, 5, 40, 256]) {
          expect(cleanText(s, max)).toBe(refClean(s, max));
          expect(asciiText(s, max)).toBe(refAscii(s, max));
        }
      }
    }
  });

  it('asciiOfBytes equals the per-byte definition, with NUL stop, bounds and a short buffer', () => {
    for (const b of samples) {
      for (const [from, to] of [
        [0, b.length],
        [3, b.length - 2],
        [0, b.length + 10],
        [b.length, b.length],
      ]) {
        for (const max of [0, 7, 255]) {
          for (const nul of [false, true]) expect(asciiOfBytes(b, from, to, max, nul)).toBe(refAsciiBytes(b, from, to, max, nul));
        }
      }
    }
  });

  it('utf8OfLatin1 re-reads UTF-8 bytes, and leaves ASCII as it is', () => {
    const utf8 = Buffer.from('Køge \u2603', 'utf8');
    expect(utf8OfLatin1(utf8.toString('latin1'))).toBe('Køge \u2603');
    expect(utf8OfLatin1('plain ascii')).toBe('plain ascii');
    for (const b of samples) expect(utf8OfLatin1(b.toString('latin1'))).toBe(b.toString('utf8'));
  });
});
