/**
 * `notcreepy demo` (what `npm start` runs): analyse the capture bundled in captures/ into a demo
 * database, once, and serve its dashboard on https://localhost:8443, so a newcomer sees real
 * report cards a minute after cloning. The database is kept (with the password set on first
 * visit) under the user's state directory; `--fresh` starts over.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { analyzeInto } from './analyze.js';
import { serveCommand } from './serve.js';
import { DEFAULT_PIPELINE_OPTIONS } from '../pipeline.js';
import { Store } from '../store/store.js';

export const DEMO_CAPTURE = fileURLToPath(new URL('../../captures/lan-standards.pcap', import.meta.url));

function demoDir(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'notcreepy');
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string', default: '8443' }, fresh: { type: 'boolean', default: false }, debug: { type: 'boolean' } },
    strict: true,
  });
  const dir = demoDir();
  const db = join(dir, 'demo.db');
  if (values.fresh) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  if (!existsSync(db)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const store = new Store(db);
    try {
      process.stdout.write(`analysing the demo capture ${DEMO_CAPTURE} into ${db}\n`);
      await analyzeInto(store, [DEMO_CAPTURE], DEFAULT_PIPELINE_OPTIONS);
    } finally {
      store.close();
    }
  }
  return serveCommand(['--db', db, '--host', '127.0.0.1', '--port', values.port as string]);
}
