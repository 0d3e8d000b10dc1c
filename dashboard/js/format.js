/** Numbers, sizes and times as people read them. Times are the capture's clock, shown in UTC. */

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 10240 -> "10 kB" (SI units, like the command line report). */
export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

export function count(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US');
}

/** "1 flow", "3 flows". */
export function plural(n, word, many = `${word}s`) {
  return `${count(n)} ${n === 1 ? word : many}`;
}

/** ISO time -> "2026-11-22 07:49:40 UTC" (one reading, wherever the report is opened). */
export function time(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A shorter time for chart axes: "07:49:40" within a day, else "2026-11-22 07:49". */
export function axisTime(iso, spanSeconds) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const s = d.toISOString();
  return spanSeconds < 86400 ? s.slice(11, 19) : `${s.slice(0, 10)} ${s.slice(11, 16)}`;
}

export function percent(part, whole) {
  if (!whole) return '0%';
  const p = (100 * part) / whole;
  return p > 0 && p < 1 ? '<1%' : `${Math.round(p)}%`;
}

/** Packets per second and the like. */
export function rate(n, unit) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return `${n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)} ${unit}`;
}
