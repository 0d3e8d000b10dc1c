/**
 * Tracker and telemetry endpoints: is this hostname, or a domain above it, a known tracker?
 *
 * Three sources, in order of precedence:
 * 1. user lists (hosts files, adblock/EasyPrivacy filter lists) given to TrackerIntel.load;
 * 2. our device-telemetry list (data/device-telemetry.ts): IoT, TV and app-SDK hosts;
 * 3. Ghostery's tracker database (package @ghostery/trackerdb, its dist/trackerdb.json), whose data
 *    is licensed CC BY-NC-SA 4.0 (non-commercial, share-alike): pass { trackerdb: false } to leave it out.
 *
 * trackerdb's own matchDomain parses a filter per suffix (~280k lookups/s); we read its domain table
 * once into a Map and walk the hostname's suffixes ourselves. Its "hosting" category (CDNs and clouds
 * such as cloudfront.net or amazonaws.com, which by trackerdb's own definition only see server logs)
 * is left out: on a LAN it would mark every firmware download as tracking.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { DEVICE_TELEMETRY } from './data/device-telemetry.js';

export interface TrackerMatch {
  /** The list entry that matched: the hostname itself or a parent domain. */
  domain: string;
  organisation: string;
  /** trackerdb's category key (advertising, site_analytics, ...), telemetry, acr, or "user list". */
  category: string;
  /** 'trackerdb', 'device-telemetry', or the path of the user list. */
  source: string;
  /** trackerdb's name for the service (e.g. "Google Analytics"); absent for other sources. */
  pattern?: string;
}

export interface UserListSpec {
  path: string;
  format: 'hosts' | 'adblock';
}

export interface LoadOptions {
  userLists?: UserListSpec[];
  /** Include Ghostery's trackerdb (default true). */
  trackerdb?: boolean;
}

/** A user list as read from disk. */
export interface UserList {
  path: string;
  domains: string[];
  /** Lines that were not blank, not comments and gave no usable domain. */
  skipped: number;
}

interface Entry {
  /** 0 user lists, 1 device telemetry, 2 trackerdb: lower wins. */
  rank: number;
  match: TrackerMatch;
}

const TRACKERDB_EXCLUDED_CATEGORIES = new Set(['hosting']);

// Compiled once; used only while loading lists.
const DOMAIN = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const WHITESPACE = /\s+/;
const LETTER = /[a-z]/;
/** Names every hosts file maps to itself; not entries, not errors. */
const HOSTS_BOILERPLATE = new Set([
  'localhost', 'localhost.localdomain', 'local', 'broadcasthost', 'ip6-localhost', 'ip6-loopback',
  'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters', 'ip6-allhosts', '0.0.0.0',
]);
/**
 * Adblock options that keep a `||domain^` rule about the whole domain. Others (resource types,
 * domain=, redirect=, csp=, ...) limit it to some requests, which a network monitor cannot tell apart.
 */
const DOMAIN_WIDE_OPTIONS = new Set([
  'third-party', '3p', '~third-party', 'first-party', '1p', '~first-party', 'important', 'all', 'document', 'doc',
]);

function isDomain(name: string): boolean {
  // The last label must hold a letter: "1.2.3.4" is an address, not a domain.
  return name.length <= 253 && DOMAIN.test(name) && LETTER.test(name.slice(name.lastIndexOf('.') + 1));
}

function normaliseListName(raw: string): string {
  const lower = raw.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function readList(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`tracker list ${path}: cannot read it (${code ?? String(err)})`);
  }
  return text.split(/\r?\n/);
}

/** A hosts file: `0.0.0.0 domain [domain...]`, `127.0.0.1 domain`, or a bare domain a line; `#` comments. */
export function loadHostsList(path: string): UserList {
  const domains: string[] = [];
  let skipped = 0;
  for (const line of readList(path)) {
    const hash = line.indexOf('#');
    const content = (hash < 0 ? line : line.slice(0, hash)).trim();
    if (content === '') continue;
    const tokens = content.split(WHITESPACE);
    const first = tokens[0];
    const isAddress = IPV4.test(first) || first.includes(':');
    const names = isAddress ? tokens.slice(1) : tokens.length === 1 ? tokens : [];
    if (names.length === 0) {
      skipped++;
      continue;
    }
    for (const raw of names) {
      const name = normaliseListName(raw);
      if (HOSTS_BOILERPLATE.has(name)) continue;
      if (isDomain(name)) domains.push(name);
      else skipped++;
    }
  }
  return { path, domains, skipped };
}

/**
 * An adblock filter list (EasyPrivacy and the like). Only rules about a whole domain are taken:
 * `||domain^`, optionally with `$third-party`-like options. Rules with paths or wildcards, element
 * hiding (`##`), exceptions (`@@`) and type-limited rules are skipped; `!` lines and `[Adblock ...]`
 * headers are comments.
 */
export function loadAdblockList(path: string): UserList {
  const domains: string[] = [];
  let skipped = 0;
  for (const line of readList(path)) {
    const rule = line.trim();
    if (rule === '' || rule.startsWith('!') || rule.startsWith('[')) continue;
    const domain = domainOfAdblockRule(rule);
    if (domain === null) skipped++;
    else domains.push(domain);
  }
  return { path, domains, skipped };
}

function domainOfAdblockRule(rule: string): string | null {
  if (!rule.startsWith('||')) return null;
  const caret = rule.indexOf('^');
  if (caret < 0) return null;
  const rest = rule.slice(caret + 1);
  if (rest !== '' && rest !== '|') {
    if (!rest.startsWith('$')) return null;
    for (const option of rest.slice(1).split(',')) {
      if (!DOMAIN_WIDE_OPTIONS.has(option.trim().toLowerCase())) return null;
    }
  }
  const domain = normaliseListName(rule.slice(2, caret));
  return isDomain(domain) ? domain : null;
}

interface TrackerDbJson {
  organizations: Record<string, { name: string }>;
  patterns: Record<string, { name: string; category: string; organization: string | null }>;
  domains: Record<string, string>;
}

function trackerDbPath(): string {
  // The package exports only its JS entry point; its data files sit beside it in dist/.
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ghostery/trackerdb')), '..', 'trackerdb.json');
}

export class TrackerIntel {
  /** Per list: how many domains it gave and how many lines were skipped. */
  readonly lists: { source: string; domains: number; skipped: number }[] = [];
  /**
   * Entries in an open-addressing table keyed by the hash of their domain (suffixHash): lookup
   * hashes a hostname's suffixes in one backward pass and never builds a substring.
   */
  private readonly entries: Entry[] = [];
  private hashes = new Int32Array(0);
  /** Index + 1 into entries, 0 for an empty slot; the length is a power of two, at most half full. */
  private slots = new Int32Array(0);

  private constructor() {}

  static load(options: LoadOptions = {}): TrackerIntel {
    const intel = new TrackerIntel();
    for (const spec of options.userLists ?? []) {
      const list = spec.format === 'hosts' ? loadHostsList(spec.path) : loadAdblockList(spec.path);
      const organisation = basename(spec.path);
      for (const domain of list.domains) {
        intel.add(0, { domain, organisation, category: 'user list', source: spec.path });
      }
      intel.lists.push({ source: spec.path, domains: list.domains.length, skipped: list.skipped });
    }
    for (const [domain, organisation, category] of DEVICE_TELEMETRY) {
      intel.add(1, { domain, organisation, category, source: 'device-telemetry' });
    }
    intel.lists.push({ source: 'device-telemetry', domains: DEVICE_TELEMETRY.length, skipped: 0 });
    if (options.trackerdb !== false) intel.addTrackerDb();
    return intel;
  }

  private add(rank: number, match: TrackerMatch): void {
    const hash = suffixHash(match.domain, 0, match.domain.length);
    const found = this.find(hash, match.domain, 0, match.domain.length);
    if (found !== undefined) {
      // The first list of a rank wins a tie: user lists come in order of preference.
      if (rank < found.rank) {
        found.rank = rank;
        found.match = Object.freeze(match);
      }
      return;
    }
    if ((this.entries.length + 1) * 2 > this.slots.length) this.grow();
    this.entries.push({ rank, match: Object.freeze(match) });
    this.place(hash, this.entries.length);
  }

  private grow(): void {
    const entries = this.entries;
    this.slots = new Int32Array(Math.max(1024, this.slots.length * 2));
    const hashes = new Int32Array(this.slots.length / 2);
    hashes.set(this.hashes.subarray(0, entries.length));
    this.hashes = hashes;
    for (let i = 0; i < entries.length; i++) this.place(hashes[i], i + 1);
  }

  private place(hash: number, ref: number): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = ref;
    this.hashes[ref - 1] = hash;
  }

  /** The entry whose domain is host[start, end) (already lower-case). */
  private find(hash: number, host: string, start: number, end: number): Entry | undefined {
    const slots = this.slots;
    const mask = slots.length - 1;
    if (mask < 0) return undefined;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const ref = slots[slot];
      if (ref === 0) return undefined;
      if (this.hashes[ref - 1] !== hash) continue;
      const entry = this.entries[ref - 1];
      const d = entry.match.domain;
      if (d.length === end - start && host.endsWith(d, end)) return entry;
    }
  }

  private addTrackerDb(): void {
    const db = JSON.parse(readFileSync(trackerDbPath(), 'utf8')) as TrackerDbJson;
    let count = 0;
    for (const domain in db.domains) {
      const pattern = db.patterns[db.domains[domain]];
      if (pattern === undefined || TRACKERDB_EXCLUDED_CATEGORIES.has(pattern.category)) continue;
      const organisation = (pattern.organization !== null ? db.organizations[pattern.organization]?.name : undefined) ?? pattern.name;
      this.add(2, { domain, organisation, category: pattern.category, source: 'trackerdb', pattern: pattern.name });
      count++;
    }
    this.lists.push({ source: 'trackerdb', domains: count, skipped: 0 });
  }

  /**
   * The best entry for a hostname: the highest-precedence list that has the hostname or a parent
   * domain, and within it the longest entry. Case-insensitive, trailing dot ignored; IP literals and
   * single-label names never match. One backward pass over the characters; allocates nothing unless
   * the hostname has capitals.
   */
  lookup(hostname: string): TrackerMatch | null {
    let end = hostname.length;
    if (end > 0 && hostname.charCodeAt(end - 1) === 0x2e) end--;
    if (end === 0) return null;
    // No top-level domain ends in a digit: this drops IPv4 literals, and bracketed IPv6 with ']'.
    const last = hostname.charCodeAt(end - 1);
    if ((last >= 0x30 && last <= 0x39) || last === 0x5d) return null;
    let best: Entry | undefined;
    let hash = FNV_OFFSET;
    let sawDot = false; // a single label (a TLD) is never an entry
    // Right to left: at each label boundary `hash` covers the suffix hostname[i, end).
    for (let i = end - 1; i >= 0; i--) {
      const c = hostname.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) return this.lookup(hostname.toLowerCase());
      if (c === 0x3a) return null; // IPv6
      hash = Math.imul(hash ^ c, FNV_PRIME);
      if (c === 0x2e) {
        sawDot = true;
        continue;
      }
      if (!sawDot || (i > 0 && hostname.charCodeAt(i - 1) !== 0x2e)) continue;
      const e = this.find(hash, hostname, i, end);
      // Longer suffixes come later: they win unless a list of higher precedence already matched.
      if (e !== undefined && (best === undefined || e.rank <= best.rank)) best = e;
    }
    return best === undefined ? null : best.match;
  }

  /** Number of distinct domains known. */
  get size(): number {
    return this.entries.length;
  }
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a over s[start, end) taken right to left, the order lookup walks a hostname. */
function suffixHash(s: string, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = end - 1; i >= start; i--) hash = Math.imul(hash ^ s.charCodeAt(i), FNV_PRIME);
  return hash;
}

let defaultIntel: TrackerIntel | null = null;

/** The default intelligence (trackerdb and device telemetry, no user lists), loaded on first use. */
export function trackerIntel(): TrackerIntel {
  if (defaultIntel === null) defaultIntel = TrackerIntel.load();
  return defaultIntel;
}
