// Where notcreepy's offline time goes: the bench capture analysed with parts of the pipeline
// switched off, and the time each dissector spends, so that figures about the cost of
// dissection come from a command anyone can run.
//
//   npm run build && node bench/stages.mjs [FILE] [--repeat N]
//
// FILE defaults to the bench capture (bench/out/bench-<N>x.pcap, made by `npm run bench`).
// Each configuration runs in a fresh process pinned to core 0 (taskset), N times (default 3);
// the fastest run is reported. Times are in-process (store opened to report written), so
// node's start-up is left out. The per-dissector times come from one extra run with every
// dissector's probe/feed/facts wrapped in a timer (which adds its own overhead).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');

const CONFIGS = {
  'flows only (no payload inspection, no detectors)': { inspect: false, detectors: false },
  'dissectors, no detectors': { inspect: true, detectors: false },
  'everything (the default)': { inspect: true, detectors: true },
};

async function runOnce(file, configName, timeDissectors) {
  const { Store } = await import(join(DIST, 'store/store.js'));
  const { analyzeInto } = await import(join(DIST, 'cli/analyze.js'));
  const { DEFAULT_PIPELINE_OPTIONS } = await import(join(DIST, 'pipeline.js'));
  const { DISSECTORS } = await import(join(DIST, 'dissect/registry.js'));
  const config = CONFIGS[configName];
  const options = { ...DEFAULT_PIPELINE_OPTIONS };
  if (!config.inspect) options.inspection = { ...options.inspection, packets: 0 };
  if (!config.detectors) options.detectors = [];
  const times = new Map();
  if (timeDissectors) options.dissectors = DISSECTORS.map((d) => timed(d, times));
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-stages-'));
  const quiet = { write: () => true };
  try {
    const store = new Store(join(dir, 'stages.db'));
    const started = performance.now();
    await analyzeInto(store, [file], options, quiet);
    const seconds = (performance.now() - started) / 1000;
    const flows = store.db.prepare('SELECT count(*) AS n FROM flows').get().n;
    store.close();
    return { seconds, flows, dissectors: Object.fromEntries(times) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A dissector whose probe, feed and facts add their time (ms) and flow count to `times`. */
function timed(d, times) {
  const add = (ms, flows = 0) => {
    const t = times.get(d.name) ?? { ms: 0, flows: 0 };
    t.ms += ms;
    t.flows += flows;
    times.set(d.name, t);
  };
  const clock = (f) => (...args) => {
    const s = performance.now();
    try {
      return f(...args);
    } finally {
      add(performance.now() - s);
    }
  };
  return {
    ...d,
    probe: clock(d.probe),
    start: (ctx) => {
      const state = d.start(ctx);
      add(0, 1);
      return { feed: clock(state.feed.bind(state)), facts: clock(state.facts.bind(state)) };
    },
  };
}

if (process.argv[2] === '--child') {
  const [, , , file, configName, timeDissectors] = process.argv;
  const result = await runOnce(file, configName, timeDissectors === '1');
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}

const args = process.argv.slice(2);
let repeat = 3;
let file = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--repeat') repeat = Number(args[++i]);
  else file = resolve(args[i]);
}
if (file === null) {
  const out = join(ROOT, 'bench/out');
  const found = existsSync(out) ? readdirSync(out).filter((f) => /^bench-\d+x\.pcap$/.test(f)) : [];
  if (found.length === 0) {
    console.error('no capture given and no bench/out/bench-<N>x.pcap: run `npm run bench` first, or name a file');
    process.exit(2);
  }
  file = join(out, found[0]);
}
if (!existsSync(file)) {
  console.error(`${file}: no such file`);
  process.exit(2);
}
if (!existsSync(join(DIST, 'cli/analyze.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}

function child(configName, timeDissectors) {
  const out = execFileSync('taskset', ['-c', '0', process.execPath, fileURLToPath(import.meta.url), '--child', file, configName, timeDissectors ? '1' : '0'], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out);
}

console.log(`capture: ${file}`);
console.log(`each configuration: fresh process pinned to core 0, fastest of ${repeat}, time from store open to report\n`);
const rows = [];
for (const name of Object.keys(CONFIGS)) {
  let best = null;
  for (let r = 0; r < repeat; r++) {
    const res = child(name, false);
    if (best === null || res.seconds < best.seconds) best = res;
  }
  rows.push([name, best.seconds, best.flows]);
}
const base = rows[0][1];
console.log('configuration'.padEnd(52), 'seconds'.padStart(8), 'x flows-only'.padStart(13), 'flows'.padStart(8));
for (const [name, s, flows] of rows) console.log(name.padEnd(52), s.toFixed(2).padStart(8), (s / base).toFixed(2).padStart(13), String(flows).padStart(8));

const timedRun = child('everything (the default)', true);
console.log(`\ntime inside each dissector (probe + feed + facts; one timed run of the default configuration, ${timedRun.seconds.toFixed(2)} s with the timers):`);
console.log('dissector'.padEnd(16), 'ms'.padStart(8), 'flows'.padStart(8), 'µs/flow'.padStart(9));
const entries = Object.entries(timedRun.dissectors).sort((a, b) => b[1].ms - a[1].ms);
let total = 0;
for (const [name, t] of entries) {
  total += t.ms;
  if (t.flows === 0 && t.ms < 5) continue; // probes only, and cheap
  console.log(name.padEnd(16), t.ms.toFixed(0).padStart(8), String(t.flows).padStart(8), (t.flows > 0 ? ((1000 * t.ms) / t.flows).toFixed(1) : '-').padStart(9));
}
console.log('all dissectors'.padEnd(16), total.toFixed(0).padStart(8));
