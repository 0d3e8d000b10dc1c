/**
 * Who may use the dashboard: no default password (a one-time setup token printed at start lets
 * the owner choose one), sessions as random tokens kept server-side with idle and absolute
 * expiry, and a CSRF check on every request that changes something.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_HEADER, CSRF_HEADER_VALUE } from './api-types.js';
import { safeEqual, type PasswordHash } from './password.js';
import type { Store } from '../store/store.js';

export const PASSWORD_SETTING = 'dashboard.password_hash';

/** Sessions end after this long without a request… */
export const SESSION_IDLE_MS = 12 * 3_600_000;
/** …and this long after login whatever happens. */
export const SESSION_MAX_MS = 7 * 86_400_000;
const MAX_SESSIONS = 1000;

interface Session {
  createdAt: number;
  lastSeen: number;
}

/**
 * Sessions live in memory, keyed by a hash of the token (so the table itself holds nothing that
 * opens a session). A restart logs everyone out, which is the safe direction.
 */
export class Sessions {
  private readonly byHash = new Map<string, Session>();

  constructor(
    private readonly idleMs = SESSION_IDLE_MS,
    private readonly maxMs = SESSION_MAX_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private static hash(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  create(): { token: string; expiresAt: number } {
    this.sweep();
    if (this.byHash.size >= MAX_SESSIONS) {
      // Drop the least recently used session rather than grow without bound.
      let oldest: [string, Session] | null = null;
      for (const entry of this.byHash) if (oldest === null || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
      if (oldest !== null) this.byHash.delete(oldest[0]);
    }
    const token = randomBytes(32).toString('base64url');
    const t = this.now();
    this.byHash.set(Sessions.hash(token), { createdAt: t, lastSeen: t });
    return { token, expiresAt: t + this.maxMs };
  }

  /** The session's absolute end, or null when the token opens none (and the stale entry goes). */
  check(token: string | undefined, touch = true): number | null {
    if (token === undefined || token.length === 0 || token.length > 100) return null;
    const key = Sessions.hash(token);
    const s = this.byHash.get(key);
    if (s === undefined) return null;
    const t = this.now();
    if (t - s.lastSeen > this.idleMs || t - s.createdAt > this.maxMs) {
      this.byHash.delete(key);
      return null;
    }
    if (touch) s.lastSeen = t;
    return s.createdAt + this.maxMs;
  }

  end(token: string | undefined): void {
    if (token !== undefined) this.byHash.delete(Sessions.hash(token));
  }

  endAll(): void {
    this.byHash.clear();
  }

  get size(): number {
    return this.byHash.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [key, s] of this.byHash) {
      if (t - s.lastSeen > this.idleMs || t - s.createdAt > this.maxMs) this.byHash.delete(key);
    }
  }
}

/** Crockford's base32 without look-alikes (no I, L, O, U): easy to read out of a log and type on a phone. */
const TOKEN_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A one-time setup token: 20 characters (100 bits) in groups of 5, e.g. "7K2QD-…". */
export function newSetupToken(): string {
  const chars = Array.from({ length: 20 }, () => TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)]);
  return [0, 5, 10, 15].map((i) => chars.slice(i, i + 5).join('')).join('-');
}

/** Tokens typed by hand: case, spaces and dashes do not matter. */
export function normaliseToken(token: string): string {
  return token.toUpperCase().replace(/[\s-]+/g, '');
}

export function setupTokenMatches(given: string, expected: string): boolean {
  return safeEqual(normaliseToken(given), normaliseToken(expected));
}

export function storedPasswordHash(store: Store): PasswordHash | null {
  return store.getSetting<PasswordHash>(PASSWORD_SETTING);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF: the session cookie is SameSite=Strict already; on top of it every state-changing request
 * must carry a custom header (which a cross-site form or image cannot send, and cross-site fetch
 * cannot without a CORS preflight we never grant) and, when the browser says where it comes from,
 * come from the dashboard's own origin. Returns the reason to refuse, or null.
 */
export function csrfProblem(request: FastifyRequest): string | null {
  if (SAFE_METHODS.has(request.method)) return null;
  if (request.headers[CSRF_HEADER] !== CSRF_HEADER_VALUE) {
    return `missing the ${CSRF_HEADER}: ${CSRF_HEADER_VALUE} header that the dashboard sends with every change`;
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site request refused';
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    const host = request.headers.host;
    const expected = `${request.protocol}://${host ?? ''}`;
    if (host === undefined || origin.toLowerCase() !== expected.toLowerCase()) return 'request from another origin refused';
  } else if (origin === 'null') {
    return 'request from an opaque origin refused';
  }
  return null;
}

/** Send an ApiError. */
export function apiError(reply: FastifyReply, statusCode: number, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    429: 'Too Many Requests',
    503: 'Service Unavailable',
  };
  return reply.code(statusCode).type('application/json; charset=utf-8').send({ statusCode, error: reasons[statusCode] ?? 'Error', message, ...extra });
}
