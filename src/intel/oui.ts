/**
 * MAC vendor names from the IEEE registries (package oui-data: MA-L, MA-M and MA-S assignments),
 * looked up by the longest registered prefix. Loaded once, on first use.
 */
import { createRequire } from 'node:module';

let table: Record<string, string> | null = null;

function load(): Record<string, string> {
  if (table === null) {
    const require = createRequire(import.meta.url);
    table = require('oui-data') as Record<string, string>;
  }
  return table;
}

/** Vendor of a MAC (48-bit integer), or null when unregistered or locally administered. */
export function vendorOf(mac: number): string | null {
  if (mac < 0) return null;
  const hex = mac.toString(16).padStart(12, '0').toUpperCase();
  const t = load();
  // MA-S (36 bits), then MA-M (28 bits), then MA-L (24 bits).
  const entry = t[hex.slice(0, 9)] ?? t[hex.slice(0, 7)] ?? t[hex.slice(0, 6)];
  if (entry === undefined) return null;
  const name = entry.split('\n', 1)[0].trim();
  return name === '' || name === 'Private' ? null : name;
}
