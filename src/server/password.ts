/**
 * The dashboard password: a strength check (the project's own standard 3, applied to itself),
 * scrypt hashing with the parameters stored beside the hash, and a constant-time comparison.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { dictionary } from '@zxcvbn-ts/language-common';
import { COMMON_PASSWORDS } from '../intel/default-credentials.js';

export const PASSWORD_RULES =
  'At least 12 characters, or a passphrase of at least 4 words; not a common password, and not one character, a sequence or a short pattern repeated.';

export const MAX_PASSWORD_LENGTH = 1024;
const MIN_LENGTH = 12;
const MIN_PASSPHRASE_WORDS = 4;

/**
 * ~49,000 passwords from public breach lists, as bundled (offline) by @zxcvbn-ts/language-common,
 * plus the project's own list of device defaults. Compared in lower case.
 */
let commonPasswords: Set<string> | null = null;
function common(): Set<string> {
  commonPasswords ??= new Set([...dictionary['passwords-common'], ...COMMON_PASSWORDS].map((p) => p.toLowerCase()));
  return commonPasswords;
}

/** Words of a passphrase: runs of letters or digits between spaces, hyphens, dots, underscores. */
function passphraseWords(password: string): string[] {
  return password.split(/[\s\-_.,+]+/u).filter((w) => [...w].length >= 2);
}

/** "abcabcabcabc", "aaaaaaaaaaaaa", "owl owl owl owl": the whole string is a unit repeated (at least twice). */
function isRepeatedPattern(chars: string[]): boolean {
  for (let unit = 1; unit <= chars.length / 2; unit++) {
    let repeats = true;
    for (let i = unit; i < chars.length && repeats; i++) repeats = chars[i] === chars[i % unit];
    if (repeats) return true;
  }
  return false;
}

/** "123456789012", "abcdefghijkl", "zyxwvutsrqpo": each character one step from the previous. */
function isSequence(chars: string[]): boolean {
  if (chars.length < 3) return false;
  const step = (i: number): number => (chars[i].codePointAt(0) ?? 0) - (chars[i - 1].codePointAt(0) ?? 0);
  const first = step(1);
  if (Math.abs(first) !== 1) {
    // digits wrap: 7890123...
    return chars.every((c) => /[0-9]/.test(c)) && chars.every((c, i) => i === 0 || (Number(c) - Number(chars[i - 1]) + 10) % 10 === 1);
  }
  for (let i = 2; i < chars.length; i++) {
    const s = step(i);
    if (s !== first && !(chars[i] === '0' && chars[i - 1] === '9')) return false;
  }
  return true;
}

/** Why the password is refused (empty when it is acceptable). */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const chars = [...password];
  if (chars.length > MAX_PASSWORD_LENGTH) return [`It is longer than ${MAX_PASSWORD_LENGTH} characters.`];
  const words = passphraseWords(password);
  const distinctWords = new Set(words.map((w) => w.toLowerCase())).size;
  const longEnough = chars.length >= MIN_LENGTH || (words.length >= MIN_PASSPHRASE_WORDS && distinctWords >= MIN_PASSPHRASE_WORDS);
  if (!longEnough) {
    problems.push(`It is too short: use at least ${MIN_LENGTH} characters (it has ${chars.length}), or a passphrase of at least ${MIN_PASSPHRASE_WORDS} different words.`);
  }
  const lower = password.toLowerCase();
  // The list holds passwords as people type them; also catch them with the usual decorations.
  const undecorated = lower.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').replace(/[0-9!@#$%^&*]+$/, '');
  if (common().has(lower) || (undecorated.length >= 4 && common().has(undecorated))) {
    problems.push('It is one of the most common passwords (from public breach lists), tried first by attackers.');
  }
  if (chars.length > 0 && (new Set(chars).size <= 2 || isRepeatedPattern(chars))) {
    problems.push('It is one character or a short pattern repeated.');
  } else if (isSequence(chars)) {
    problems.push('It is a run of consecutive characters (like 123456789 or abcdef).');
  }
  if (/^\s|\s$/.test(password)) problems.push('It starts or ends with a space, which is easy to get wrong when typing it.');
  return problems;
}

// -------------------------------------------------------------------------------------------------
// Hashing

/** What is stored in the settings table (key dashboard.password_hash). */
export interface PasswordHash {
  algorithm: 'scrypt';
  /** CPU/memory cost (a power of two), block size, parallelism: as in RFC 7914. */
  N: number;
  r: number;
  p: number;
  keylen: number;
  salt: string;
  hash: string;
  created_at: string;
}

/** 2^15 × 8 × 128 bytes = 32 MiB and ~100 ms per hash on this project's machines. */
const SCRYPT_N = 1 << 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEYLEN = 64;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function scryptOptions(h: { N: number; r: number; p: number }): ScryptOptions {
  // maxmem must exceed 128·N·r; allow twice that.
  return { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 };
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const params = { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P };
  const key = await scrypt(password, salt, KEYLEN, scryptOptions(params));
  return { algorithm: 'scrypt', ...params, keylen: KEYLEN, salt: salt.toString('base64'), hash: key.toString('base64'), created_at: new Date().toISOString() };
}

/** Whether the password matches; false (never an exception) for a damaged or foreign hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.algorithm !== 'scrypt' || !Number.isInteger(stored.N) || stored.N < 2 || stored.N > 1 << 22) return false;
  if (!Number.isInteger(stored.r) || !Number.isInteger(stored.p) || stored.r < 1 || stored.r > 32 || stored.p < 1 || stored.p > 16) return false;
  const expected = Buffer.from(stored.hash, 'base64');
  if (expected.length < 16 || expected.length > 256) return false;
  const key = await scrypt(password, Buffer.from(stored.salt, 'base64'), expected.length, scryptOptions(stored));
  return timingSafeEqual(key, expected);
}

/** Constant-time comparison of two strings of possibly different length. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Compare equal-length buffers always, so the time does not tell the length of the secret.
  const padded = Buffer.alloc(y.length);
  x.copy(padded, 0, 0, Math.min(x.length, y.length));
  return timingSafeEqual(padded, y) && x.length === y.length;
}
