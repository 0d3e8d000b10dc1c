/**
 * MAC vendor names from the IEEE registries (package oui-data: MA-L, MA-M and MA-S assignments),
 * looked up by the longest registered prefix. Loaded once, on first use, keeping only the
 * names: the package's full records (with postal addresses) cost 30 MB of heap and 150 ms.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let names: Map<string, string> | null = null;

function load(): Map<string, string> {
  if (names === null) {
    const require = createRequire(import.meta.url);
    const text = readFileSync(require.resolve('oui-data'), 'utf8');
    names = scanNames(text) ?? namesOf(JSON.parse(text) as Record<string, string>);
  }
  return names;
}

/** The vendor name of a record: its first line ("Private" registrations name nobody). */
function nameOf(record: string): string | null {
  const name = record.split('\n', 1)[0].trim();
  return name === '' || name === 'Private' ? null : name;
}

export function namesOf(records: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const prefix in records) {
    const name = nameOf(records[prefix]);
    if (name !== null) out.set(prefix, name);
  }
  return out;
}

/**
 * The names read straight from the package's text, one record per line (` "PREFIX": "NAME\n…",`),
 * without building its 50,000 full records: a quarter of the time of JSON.parse, which every run
 * used to pay at start-up. Null when a line is not of that shape (the caller then parses the JSON).
 */
export function scanNames(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let p = text.indexOf('\n') + 1;
  if (p === 0 || text.slice(0, p).trim() !== '{') return null;
  while (p < text.length) {
    let end = text.indexOf('\n', p);
    if (end < 0) end = text.length;
    const line = text.slice(p, end).trim();
    p = end + 1;
    if (line === '}' || line === '') continue;
    // "KEY": "VALUE" with an optional trailing comma.
    const keyEnd = line.indexOf('": "');
    const valueEnd = line.endsWith('",') ? line.length - 2 : line.endsWith('"') ? line.length - 1 : -1;
    if (line.charCodeAt(0) !== 0x22 || keyEnd < 0 || valueEnd < keyEnd + 4) return null;
    const value = line.slice(keyEnd + 4, valueEnd);
    const nl = value.indexOf('\\n');
    const first = nl < 0 ? value : value.slice(0, nl);
    let name: string | null;
    if (!first.includes('\\') && !value.includes('\\\\')) name = nameOf(first);
    else {
      // Other escapes (a few names have them): decode this record exactly.
      try {
        name = nameOf(JSON.parse(`"${value}"`) as string);
      } catch {
        return null;
      }
    }
    if (name !== null) out.set(line.slice(1, keyEnd), name);
  }
  return out;
}

/** Vendor of a MAC (48-bit integer), or null when unregistered or private. */
export function vendorOf(mac: number): string | null {
  if (mac < 0) return null;
  const hex = mac.toString(16).padStart(12, '0').toUpperCase();
  const t = load();
  // MA-S (36 bits), then MA-M (28 bits), then MA-L (24 bits).
  return t.get(hex.slice(0, 9)) ?? t.get(hex.slice(0, 7)) ?? t.get(hex.slice(0, 6)) ?? null;
}
