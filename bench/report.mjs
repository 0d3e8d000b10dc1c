// Reads bench/out/runs.tsv (written by bench/run.sh) and the tools' outputs,
// prints the comparison table and writes bench/out/results.json.
// All inputs come from environment variables set by run.sh.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const env = process.env;
const packets = Number(env.BENCH_PACKETS);
const bytes = Number(env.BENCH_BYTES);
const root = env.BENCH_ROOT ?? process.cwd();
const rel = (p) => (p && p.startsWith(root + '/') ? path.relative(root, p) : p);

const COMMANDS = {
  notcreepy: env.NOTCREEPY_DESC,
  ndpiReader: `ndpiReader -i ${rel(env.BENCH_FILE)} > ${rel(env.NDPI_OUT)}`,
  tshark: `tshark -r ${rel(env.BENCH_FILE)} -q -z conv,tcp > ${rel(env.TSHARK_OUT)}`,
};

// ---- runs ---------------------------------------------------------------
const lines = readFileSync(env.BENCH_RUNS_TSV, 'utf8').trim().split('\n');
const header = lines.shift().split('\t');
const runs = lines.map((l) => {
  const o = Object.fromEntries(l.split('\t').map((v, i) => [header[i], v]));
  const wall = Number(o.wall_s);
  const user = Number(o.user_s);
  const sys = Number(o.sys_s);
  return {
    tool: o.tool,
    rep: Number(o.rep),
    rc: Number(o.rc),
    wall_s: wall,
    user_s: user,
    sys_s: sys,
    cpu_s: round(user + sys, 2),
    packets_per_s: Math.round(packets / wall),
    mb_per_s: round(bytes / 1e6 / wall, 2),
    peak_rss_mb: round((Number(o.maxrss_kb) * 1024) / 1e6, 1),
  };
});

function round(x, d) {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

// ---- flow counts (best effort) ------------------------------------------
function ndpiFlows() {
  if (!existsSync(env.NDPI_OUT)) return { flows: null };
  const out = readFileSync(env.NDPI_OUT, 'utf8');
  const m = out.match(/Unique flows:\s+(\d+)/);
  const ip = out.match(/IP packets:\s+(\d+)\s+of\s+(\d+) packets total/);
  return {
    flows: m ? Number(m[1]) : null,
    note: 'ndpiReader "Unique flows" (IP 5-tuple flows, all protocols)',
    ip_packets: ip ? Number(ip[1]) : null,
    packets_seen: ip ? Number(ip[2]) : null,
  };
}

function tsharkFlows() {
  if (!existsSync(env.TSHARK_OUT)) return { flows: null };
  const out = readFileSync(env.TSHARK_OUT, 'utf8');
  const n = out.split('\n').filter((l) => l.includes(' <-> ')).length;
  return { flows: n, note: 'tshark TCP conversations (conv,tcp rows)' };
}

async function notcreepyDb() {
  if (env.NOTCREEPY_STANDIN) return { flows: null, note: 'stand-in command, no database' };
  const db = env.NOTCREEPY_DB;
  if (!db || !existsSync(db)) return { flows: null, note: 'no database written' };
  try {
    const require = createRequire(path.join(root, 'package.json'));
    const Database = require('better-sqlite3');
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    const tables = conn
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all()
      .map((r) => r.name);
    const rows = {};
    for (const t of tables) rows[t] = conn.prepare(`SELECT count(*) AS n FROM "${t.replaceAll('"', '""')}"`).get().n;
    conn.close();
    const flowTable = tables.find((t) => /^flows?$/i.test(t)) ?? tables.find((t) => /flow/i.test(t));
    return {
      flows: flowTable ? rows[flowTable] : null,
      note: flowTable ? `rows in table "${flowTable}" of ${rel(db)}` : `no flow table in ${rel(db)}`,
      db_rows: rows,
    };
  } catch (e) {
    return { flows: null, note: `could not read ${rel(db)}: ${e.message}` };
  }
}

const flowInfo = {
  notcreepy: await notcreepyDb(),
  ndpiReader: ndpiFlows(),
  tshark: tsharkFlows(),
};

// ---- aggregate -----------------------------------------------------------
const toolOrder = [...new Set(runs.map((r) => r.tool))];
const tools = toolOrder.map((name) => {
  const all = runs.filter((r) => r.tool === name);
  const ok = all.filter((r) => r.rc === 0);
  const best = ok.length ? ok.reduce((a, b) => (b.wall_s < a.wall_s ? b : a)) : null;
  const strip = ({ tool, ...r }) => r;
  return {
    name,
    label: name === 'notcreepy' ? env.NOTCREEPY_LABEL || name : name,
    command: COMMANDS[name],
    ok: ok.length === all.length,
    best: best ? strip(best) : null,
    runs: all.map(strip),
    ...flowInfo[name],
  };
});

const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
function ratio(a, b) {
  const x = byName[a]?.best;
  const y = byName[b]?.best;
  return x && y ? round(x.packets_per_s / y.packets_per_s, 3) : null;
}
const ratios = {
  notcreepy_over_ndpiReader: ratio('notcreepy', 'ndpiReader'),
  notcreepy_over_tshark: ratio('notcreepy', 'tshark'),
};

const results = {
  generated_at: new Date().toISOString(),
  host: {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    ndpi: env.NDPI_VERSION || null,
    tshark: env.TSHARK_VERSION || null,
  },
  capture: {
    file: rel(env.BENCH_FILE),
    copies: Number(env.BENCH_COPIES),
    packets,
    bytes,
    mb: round(bytes / 1e6, 1),
  },
  method: {
    pinning: `taskset -c ${env.BENCH_CORE}`,
    page_cache: 'warm (file read to /dev/null before every run)',
    repeat: Number(env.BENCH_REPEAT),
    reported: 'fastest successful run per tool',
    units: 'MB = 10^6 bytes; MB/s = capture file bytes / wall s; peak RSS from GNU time -v',
  },
  tools,
  throughput_ratios: ratios,
};
writeFileSync(env.BENCH_RESULTS_JSON, JSON.stringify(results, null, 2) + '\n');

// ---- table ---------------------------------------------------------------
const fmtInt = (n) => n.toLocaleString('en-US');
const cols = [
  ['tool', 12, 'l'],
  ['wall s', 9],
  ['packets/s', 12],
  ['MB/s', 9],
  ['peak RSS MB', 12],
  ['cpu s', 8],
  ['flows', 9],
];
const row = (vals) =>
  vals.map((v, i) => (cols[i][2] === 'l' ? String(v).padEnd(cols[i][1]) : String(v).padStart(cols[i][1]))).join(' ');

console.log('');
console.log(
  `capture: ${rel(env.BENCH_FILE)}  (${env.BENCH_COPIES} copies, ${fmtInt(packets)} packets, ${round(bytes / 1e6, 1)} MB)`,
);
console.log(
  `each tool pinned with taskset -c ${env.BENCH_CORE}, warm page cache, best of ${env.BENCH_REPEAT} run(s)`,
);
console.log('');
console.log(row(cols.map((c) => c[0])));
console.log(row(cols.map((c) => '-'.repeat(c[1]))));
for (const t of tools) {
  if (!t.best) {
    const rc = t.runs.map((r) => r.rc).join(',');
    console.log(`${t.label.padEnd(12)} FAILED (exit status ${rc}; see ${rel(path.join(path.dirname(env.BENCH_RUNS_TSV), t.name + '.err'))})`);
    continue;
  }
  const b = t.best;
  console.log(
    row([
      t.label,
      b.wall_s.toFixed(2),
      fmtInt(b.packets_per_s),
      b.mb_per_s.toFixed(1),
      b.peak_rss_mb.toFixed(1),
      b.cpu_s.toFixed(2),
      t.flows == null ? '-' : fmtInt(t.flows),
    ]),
  );
}
console.log('');
const describe = (r, other) => {
  if (r == null) return 'n/a';
  const s = `${r.toFixed(2)}x`;
  return r >= 1 ? `${s}  (notcreepy ${r.toFixed(2)}x faster than ${other})` : `${s}  (notcreepy ${(1 / r).toFixed(2)}x slower than ${other})`;
};
console.log(`throughput notcreepy/ndpiReader: ${describe(ratios.notcreepy_over_ndpiReader, 'ndpiReader')}`);
console.log(`throughput notcreepy/tshark:     ${describe(ratios.notcreepy_over_tshark, 'tshark')}`);
console.log('');
console.log('flows: notcreepy = rows in its flow table; ndpiReader = "Unique flows"; tshark = TCP conversations only');
if (env.NOTCREEPY_STANDIN) console.log(`NOTE: notcreepy* is a STAND-IN: ${env.NOTCREEPY_DESC.replace(/^STAND-IN: /, '')}`);
if (byName.notcreepy?.db_rows) {
  console.log(
    'notcreepy db rows: ' +
      Object.entries(byName.notcreepy.db_rows)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
  );
}
console.log(`results: ${rel(env.BENCH_RESULTS_JSON)}`);

process.exitCode = tools.every((t) => t.ok) ? 0 : 1;
