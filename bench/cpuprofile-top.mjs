// Summarise V8 .cpuprofile files (from `node --cpu-prof`): top functions by self time.
//
//   node bench/cpuprofile-top.mjs [--top N] [--root DIR] FILE.cpuprofile...
//
// Self time of a function = sum of the sampling intervals whose sample landed in
// it (interval i = timestamp[i+1] - timestamp[i], timestamps being the running
// sum of timeDeltas from startTime; the last sample runs until endTime).
// Functions are keyed by name + url + line, so two anonymous functions in one
// file stay apart. "total" is inclusive time (each function counted once per
// sample even when recursive).
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
let top = 25;
let root = process.cwd();
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i]);
  else if (args[i] === '--root') root = path.resolve(args[++i]);
  else files.push(args[i]);
}
if (!files.length) {
  console.error('usage: node bench/cpuprofile-top.mjs [--top N] [--root DIR] FILE.cpuprofile...');
  process.exit(2);
}

function shortUrl(url) {
  if (!url) return '';
  let u = url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
  if (u.startsWith(root + '/')) u = path.relative(root, u);
  return u;
}

function origin(cf) {
  const u = shortUrl(cf.url);
  if (!u) return cf.functionName.startsWith('(') ? cf.functionName : '(native / VM)';
  if (u.startsWith('node:')) return 'node: internals';
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return 'node_modules/' + (rest[0].startsWith('@') ? rest.slice(0, 2).join('/') : rest[0]);
  }
  if (u.startsWith('dist/')) return 'project ' + u.split('/').slice(0, 2).join('/');
  return u;
}

const ms = (us) => (us / 1000).toFixed(1);
const pct = (x, t) => (t ? ((100 * x) / t).toFixed(1) : '0.0');

for (const file of files) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const { nodes, samples = [], timeDeltas = [], startTime, endTime } = prof;

  const byId = new Map();
  const parent = new Map();
  for (const n of nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = (n) => {
    const cf = n.callFrame;
    return `${cf.functionName || '(anonymous)'}\u0000${cf.url}\u0000${cf.lineNumber}`;
  };

  // Sample durations.
  const ts = new Array(samples.length);
  let t = startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    ts[i] = t;
  }
  const selfByKey = new Map();
  const totalByKey = new Map();
  const byOrigin = new Map();
  const info = new Map();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const next = i + 1 < samples.length ? ts[i + 1] : endTime;
    const d = Math.max(0, next - ts[i]);
    total += d;
    const leaf = byId.get(samples[i]);
    if (!leaf) continue;
    const k = keyOf(leaf);
    selfByKey.set(k, (selfByKey.get(k) ?? 0) + d);
    info.set(k, leaf.callFrame);
    const o = origin(leaf.callFrame);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + d);
    // inclusive: every distinct function on the stack
    const seen = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id);
      const kk = keyOf(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      info.set(kk, n.callFrame);
      totalByKey.set(kk, (totalByKey.get(kk) ?? 0) + d);
    }
  }

  console.log(`\n${file}: ${samples.length} samples, ${ms(total)} ms sampled (${ms(endTime - startTime)} ms profile)`);
  console.log(`\ntop ${top} functions by self time`);
  console.log(`${'self ms'.padStart(10)} ${'self%'.padStart(6)} ${'total%'.padStart(7)}  function  (location)`);
  const rows = [...selfByKey.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, self] of rows) {
    const cf = info.get(k);
    const loc = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    console.log(
      `${ms(self).padStart(10)} ${pct(self, total).padStart(6)} ${pct(totalByKey.get(k) ?? 0, total).padStart(7)}  ${cf.functionName || '(anonymous)'}${loc ? `  (${loc})` : ''}`,
    );
  }

  console.log('\nself time by origin');
  for (const [o, v] of [...byOrigin.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`${ms(v).padStart(10)} ${pct(v, total).padStart(6)}  ${o}`);
  }
}
