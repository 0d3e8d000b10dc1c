/**
 * MAC vendor names from the IEEE registries (package oui-data: MA-L, MA-M and MA-S assignments),
 * looked up by the longest registered prefix. Loaded once, on first use, keeping only the
 * names: the package's full records (with postal addresses) cost 30 MB of heap.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

let names: Map<string, string> | null = null;

function load(): Map<string, string> {
  if (names === null) {
    const require = createRequire(import.meta.url);
    const records = JSON.parse(readFileSync(require.resolve('oui-data'), 'utf8')) as Record<string, string>;
    names = new Map();
    for (const prefix in records) {
      const name = records[prefix].split('\n', 1)[0].trim();
      // "Private" registrations name nobody.
      if (name !== '' && name !== 'Private') names.set(prefix, name);
    }
  }
  return names;
}

/** Vendor of a MAC (48-bit integer), or null when unregistered or private. */
export function vendorOf(mac: number): string | null {
  if (mac < 0) return null;
  const hex = mac.toString(16).padStart(12, '0').toUpperCase();
  const t = load();
  // MA-S (36 bits), then MA-M (28 bits), then MA-L (24 bits).
  return t.get(hex.slice(0, 9)) ?? t.get(hex.slice(0, 7)) ?? t.get(hex.slice(0, 6)) ?? null;
}
