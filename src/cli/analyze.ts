/**
 * `notcreepy analyze FILE… [--db PATH] [--json]`: a report from capture files.
 * Every run is recorded in the store (a temporary database when --db is not given) and the
 * report is read back from it.
 */
import { UserError } from './args.js';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BundleError } from '../report/bundle.js';
import { writeHtmlReport } from '../report/html.js';
import { readCapture } from '../capture/reader.js';
import { CaptureError, formatWarning, type CaptureWarning } from '../capture/types.js';
import { DEFAULT_PIPELINE_OPTIONS, Pipeline, type PipelineOptions } from '../pipeline.js';
import { captureReport, deviceReports, flowReports } from '../store/report.js';
import { Store } from '../store/store.js';
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { Progress } from './progress.js';
import { printSummary, writeJsonReport } from './output.js';

export interface AnalyzeOptions {
  files: string[];
  db: string | null;
  json: boolean;
  /** Also write a self-contained HTML report here. */
  html?: string | null;
  pipeline?: PipelineOptions;
  /** Log level for the run's log lines on stderr (default: silent). */
  logLevel?: string;
  /** Where reports and warnings go (tests pass their own). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream;
}

export interface AnalyzeResult {
  captureId: number;
  warnings: CaptureWarning[];
}


/** Analyse the files into the store and return the run's id. */
export async function analyzeInto(
  store: Store,
  files: string[],
  pipelineOptions: PipelineOptions = DEFAULT_PIPELINE_OPTIONS,
  stderr: NodeJS.WriteStream = process.stderr,
  log: Logger = createLogger(),
): Promise<AnalyzeResult> {
  // Check every input before reading any, so a bad third file does not waste a long first one.
  const sizes = new Map<string, number>();
  for (const file of files) {
    if (file === '-') continue;
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new CaptureError(file, 'not a regular file');
      size = st.size;
    } catch (err) {
      if (err instanceof CaptureError) throw err;
      throw new CaptureError(file, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot be read');
    }
    if (size === 0) throw new CaptureError(file, 'empty file (no capture header)');
    sizes.set(file, size);
  }
  const captureId = store.beginCapture('analyze', files);
  log.info({ files, db: store.path, captureId }, 'analysis started');
  const started = Date.now();
  const pipeline = new Pipeline(store, captureId, pipelineOptions);
  const warnings: CaptureWarning[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const total = sizes.get(file) ?? null;
    const progress = new Progress(`analysing ${file}`, total, stderr);
    try {
      await readCapture(file, pipeline.handleFrame, {
        sourceIndex: i,
        onWarning: (w) => {
          warnings.push(w);
          stderr.write(`notcreepy: warning: ${formatWarning(w)}\n`);
        },
        onProgress: (read) => progress.update(read),
      });
    } finally {
      progress.done();
    }
  }
  const stats = pipeline.finish(warnings.map(formatWarning));
  const c = pipeline.counters;
  log.info(
    {
      packets: stats.packets,
      bytes: stats.bytes,
      flows: stats.flows,
      malformed: stats.malformed,
      arp: c.arp,
      nonIp: c.nonIp,
      unattributedFragments: c.unattributedFragments,
      evictedFlows: pipeline.flows.evicted,
      peakLiveFlows: pipeline.flows.peakSize,
      inspectedFlows: pipeline.inspector.inspectedFlows,
      inspectionsCutShort: pipeline.inspector.cutShort,
      devices: pipeline.devices.devices.size,
      seconds: (Date.now() - started) / 1000,
    },
    'analysis finished',
  );
  return { captureId, warnings };
}

/** The report could not be written where the user asked (a user error, one line). */
export class OutputError extends UserError {
  override name = 'OutputError';
}

export async function runAnalyze(options: AnalyzeOptions): Promise<void> {
  if (options.html && !existsSync(dirname(resolve(options.html)))) {
    // Checked before a long analysis, not after.
    throw new OutputError(`cannot write ${options.html}: no such directory ${dirname(resolve(options.html))}`);
  }
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const tempDir = options.db === null ? mkdtempSync(join(tmpdir(), 'notcreepy-')) : null;
  const store = new Store(options.db ?? join(tempDir as string, 'analysis.db'));
  try {
    const log = createLogger(options.logLevel);
    const { captureId } = await analyzeInto(store, options.files, options.pipeline, stderr, log);
    const capture = captureReport(store, captureId);
    const devices = deviceReports(store, captureId);
    if (options.json) writeJsonReport(stdout, capture, devices, flowReports(store, captureId));
    else printSummary(stdout, capture, devices);
    if (options.html) {
      try {
        await writeHtmlReport(store, options.html, { files: options.files });
      } catch (err) {
        if (err instanceof BundleError) throw err;
        throw new OutputError(`cannot write ${options.html}: ${(err as Error).message}`);
      }
      if (!options.json) stdout.write(`HTML report written to ${options.html}\n`);
    }
  } finally {
    store.close();
    if (tempDir !== null) rmSync(tempDir, { recursive: true, force: true });
  }
}
