/**
 * A guess at whether unrecognised payload is readable: byte entropy and the share of printable
 * text in the first bytes of each direction. Encrypted or compressed data sits near 8 bits per
 * byte; text protocols are mostly printable with low entropy. The verdict says it is a guess.
 */
export interface PayloadStats {
  bytes: number;
  /** Shannon entropy in bits per byte (0..8). */
  entropy: number;
  /** Share of bytes that are printable ASCII, tab, CR or LF (0..1). */
  printable: number;
}

/** Byte counts, reused by every call (one flow at a time). */
const counts = new Uint32Array(256);

export function payloadStats(b: Buffer, offset: number, length: number): PayloadStats {
  if (length <= 0) return { bytes: 0, entropy: 0, printable: 0 };
  counts.fill(0);
  let printable = 0;
  for (let i = offset; i < offset + length; i++) {
    const c = b[i];
    counts[c]++;
    if ((c >= 0x20 && c < 0x7f) || c === 0x09 || c === 0x0a || c === 0x0d) printable++;
  }
  let entropy = 0;
  for (let i = 0; i < 256; i++) {
    if (counts[i] === 0) continue;
    const p = counts[i] / length;
    entropy -= p * Math.log2(p);
  }
  return { bytes: length, entropy, printable: printable / length };
}

/** Below this many bytes a guess is worthless: a few random bytes have low measured entropy. */
export const MIN_BYTES_TO_GUESS = 32;

export type PayloadGuess = 'high-entropy' | 'printable' | 'low-entropy' | 'binary' | 'too-little';

/**
 * Entropy estimated from n bytes is capped by log2(n): for short samples compare with what random
 * bytes of that length would give, not with 8 bits.
 */
export function guessPayload(s: PayloadStats): PayloadGuess {
  if (s.bytes < MIN_BYTES_TO_GUESS) return 'too-little';
  if (s.printable >= 0.9) return 'printable';
  const ceiling = Math.min(8, Math.log2(s.bytes));
  if (s.entropy >= ceiling * 0.85 && s.printable < 0.6) return 'high-entropy';
  // Ciphertext cannot be this regular: structured binary, readable by anyone who knows the format.
  if (s.entropy < ceiling * 0.6) return 'low-entropy';
  return 'binary';
}
