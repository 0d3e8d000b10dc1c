#!/usr/bin/env node
/**
 * notcreepy command line. Errors a user can fix are one line on stderr and a non-zero exit;
 * a stack trace only with --debug.
 */
import { CaptureError } from '../capture/types.js';
import { DEFAULT_LAN_PREFIXES } from '../decode/address.js';
import { DEFAULT_PIPELINE_OPTIONS } from '../pipeline.js';
import { StoreError } from '../store/store.js';
import { packageVersion } from '../version.js';
import { runAnalyze } from './analyze.js';
import { parseArgsOrUsage, UsageError, UserError } from './args.js';
import { ConfigError } from '../daemon/config.js';

/**
 * The daemon, dashboard and demo commands load on demand: they bring Fastify and the server
 * (0.3 s of start-up) that `analyze` does not need.
 */
const daemonCommands = () => import('./daemon.js');
const serveCommands = () => import('./serve.js');

async function usage(): Promise<string> {
  const [{ WATCH_USAGE }, { DASHBOARD_USAGE }] = await Promise.all([daemonCommands(), serveCommands()]);
  return `usage: notcreepy <command> [options]

commands:
  analyze FILE…     analyse pcap/pcapng files (.gz too; "-" reads standard input)
      --json          print one JSON document instead of the readable summary
      --html OUT      also write a self-contained HTML report (one file, opens offline)
      --db PATH       keep the results in this SQLite database (default: a temporary one)
      --lan PREFIX    an extra LAN prefix (CIDR), repeatable; defaults: ${DEFAULT_LAN_PREFIXES.join(' ')}
      --max-flows N   bound on live flows (default ${DEFAULT_PIPELINE_OPTIONS.flowTable.maxFlows})
      --store-facts   also keep every flow's dissected facts as JSON (table flow_facts)
      --verbose       log the run's figures (pino JSON lines) on stderr
  serve --db PATH      the dashboard over a database (HTTPS; see the dashboard options below)
  demo                analyse the bundled demo capture and serve its dashboard on https://localhost:8443
${WATCH_USAGE}
${DASHBOARD_USAGE}
options for every command:
  --debug           show stack traces
  -h, --help        this help
`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(await usage());
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`notcreepy ${packageVersion()}\n`);
    return 0;
  }
  switch (command) {
    case 'analyze': {
      const { values, positionals } = parseArgsOrUsage(rest, {
        json: { type: 'boolean', default: false },
        html: { type: 'string' },
        db: { type: 'string' },
        lan: { type: 'string', multiple: true },
        'max-flows': { type: 'string' },
        'store-facts': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        debug: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      });
      if (values.help) {
        process.stdout.write(await usage());
        return 0;
      }
      if (positionals.length === 0) throw new UsageError('analyze needs at least one capture file (or "-" for standard input)');
      const maxFlows = values['max-flows'] === undefined ? undefined : Number(values['max-flows'] as string);
      if (maxFlows !== undefined && (!Number.isInteger(maxFlows) || maxFlows < 1)) {
        throw new UsageError('--max-flows must be a positive integer');
      }
      const lan = (values.lan as string[] | undefined) ?? [];
      await runAnalyze({
        files: positionals,
        db: (values.db as string | undefined) ?? null,
        json: values.json as boolean,
        html: (values.html as string | undefined) ?? null,
        logLevel: values.verbose ? 'info' : undefined,
        pipeline: {
          ...DEFAULT_PIPELINE_OPTIONS,
          lanPrefixes: [...DEFAULT_LAN_PREFIXES, ...lan],
          flowTable: { ...DEFAULT_PIPELINE_OPTIONS.flowTable, ...(maxFlows ? { maxFlows } : {}) },
          storeFacts: values['store-facts'] as boolean,
        },
      });
      return 0;
    }
    case 'serve':
      return (await serveCommands()).serveCommand(rest);
    case 'demo':
      return (await import('./demo.js')).demoCommand(rest);
    case 'watch':
      return (await daemonCommands()).watchCommand(rest);
    case 'replay':
      return (await daemonCommands()).replayCommand(rest);
    case 'forget':
      return (await daemonCommands()).forgetCommand(rest);
    case 'health':
      return (await daemonCommands()).healthCommand(rest);
    case 'systemd-unit':
      return (await daemonCommands()).systemdUnitCommand(rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const debug = process.argv.includes('--debug');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`notcreepy: ${err.message}\n(run "notcreepy --help" for usage)\n`);
      process.exitCode = 2;
    } else if (err instanceof CaptureError || err instanceof StoreError || err instanceof UserError) {
      process.stderr.write(`notcreepy: error: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      const e = err as Error;
      process.stderr.write(`notcreepy: internal error: ${e?.message ?? String(err)}\n`);
      if (debug) process.stderr.write(`${e?.stack ?? ''}\n`);
      else process.stderr.write('(run again with --debug for details, and please report it)\n');
      process.exitCode = 70;
    }
  },
);
