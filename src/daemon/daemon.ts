/**
 * The always-on daemon behind `watch` (live capture) and `replay` (capture files at their pace):
 * source -> bounded FrameQueue -> the same Pipeline as `analyze`, with what a long run needs on
 * top: periodic flushes (findings reach the store within seconds), idle-flow expiry by the clock
 * even when no packet arrives, snapshots of long-lived flows, a status row, retention, and a
 * clean stop.
 *
 * The queue decouples capture from analysis: packets are copied in as they arrive and drained
 * in slices of a few milliseconds, so a slow moment in the pipeline fills the queue (and, when it
 * is full, drops are counted) instead of stalling libpcap.
 */
import type { Logger } from 'pino';
import { DEFAULT_CAPTURE_BUFFER_BYTES, LiveCapture } from '../capture/live.js';
import { DEFAULT_FRAME_QUEUE_OPTIONS, FrameQueue, type FrameQueueOptions } from '../capture/queue.js';
import { ReplayPacer, ReplaySource, type ReplaySpeed } from '../capture/replay.js';
import { formatWarning, type CaptureWarning, type RawFrame } from '../capture/types.js';
import { DEFAULT_PIPELINE_OPTIONS, Pipeline, type PipelineOptions } from '../pipeline.js';
import { resolve } from 'node:path';
import { Store, storeEvents, type DaemonStatus, type DeletedCounts } from '../store/store.js';

export type DaemonSource =
  | { kind: 'live'; interfaces: string[]; filter: string; bufferBytes?: number }
  | { kind: 'replay'; files: string[]; speed: ReplaySpeed };

export interface DaemonOptions {
  db: string;
  source: DaemonSource;
  pipeline?: PipelineOptions;
  queue?: FrameQueueOptions;
  /** Decided flows, findings and devices are written at least this often. */
  flushIntervalMs?: number;
  /** A live flow's row is (re)written at most this often once it is older than this. */
  liveFlowSnapshotMs?: number;
  statusIntervalMs?: number;
  /** Retention: data last seen longer ago than this is deleted (the dashboard's setting wins). */
  retainDays?: number;
  /** Cap on the database's live data; oldest flows go first. null: no cap. */
  maxDbBytes?: number | null;
  pruneIntervalMs?: number;
  version: string;
  log: Logger;
  /**
   * Called once the capture is open and before the database is opened: where a daemon started
   * as root drops to its own user, so that every file it creates belongs to that user.
   */
  afterCaptureOpen?: () => void;
}

export const DEFAULT_DAEMON_TIMING = {
  flushIntervalMs: 2000,
  liveFlowSnapshotMs: 60_000,
  /** A live flow's payload is judged at most this long after it began (findings wait no longer). */
  inspectionMaxAgeMs: 30_000,
  statusIntervalMs: 5000,
  pruneIntervalMs: 3600_000,
  retainDays: 30,
};

/** Longest a drain slice holds the event loop before letting libpcap's callback run again. */
const DRAIN_SLICE_MS = 8;
/** How often the status figures also go to the log. */
const STATUS_LOG_INTERVAL_MS = 300_000;
/** Queue fill above which a warning is logged (once per status interval). */
const QUEUE_WARN_FILL = 0.8;

export class Daemon {
  // Opened by start(), after the capture (see afterCaptureOpen).
  store!: Store;
  pipeline!: Pipeline;
  captureId = 0;
  private readonly queue: FrameQueue;
  private readonly frame: RawFrame = { tsUs: 0, linkType: 0, caplen: 0, origLen: 0, data: Buffer.alloc(0), offset: 0, sourceIndex: 0 };
  private live: LiveCapture | null = null;
  private replay: ReplaySource | null = null;
  private readonly pacer: ReplayPacer | null;
  private replayDone: Promise<void> | null = null;
  private drainScheduled = false;
  private paceTimer: NodeJS.Timeout | null = null;
  /** Asleep in waitForData (the producer wakes us). */
  private waiting = false;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private readonly startedAt = new Date();
  private lastFrameTsUs = 0;
  private lastStatus = { atMs: Date.now(), packets: 0, bytes: 0 };
  private rates = { packets: 0, bytes: 0 };
  private lastFlushMs = Date.now();
  private lastTickMs = 0;
  private lastStatusMs = Date.now();
  private lastPruneMs = Date.now();
  private inlineDraining = false;
  private warnings: string[] = [];
  private readonly timing: typeof DEFAULT_DAEMON_TIMING;
  private maxDbBytes: number | null;
  private idleResolvers: (() => void)[] = [];

  constructor(private readonly options: DaemonOptions) {
    this.timing = {
      flushIntervalMs: options.flushIntervalMs ?? DEFAULT_DAEMON_TIMING.flushIntervalMs,
      liveFlowSnapshotMs: options.liveFlowSnapshotMs ?? DEFAULT_DAEMON_TIMING.liveFlowSnapshotMs,
      inspectionMaxAgeMs: DEFAULT_DAEMON_TIMING.inspectionMaxAgeMs,
      statusIntervalMs: options.statusIntervalMs ?? DEFAULT_DAEMON_TIMING.statusIntervalMs,
      pruneIntervalMs: options.pruneIntervalMs ?? DEFAULT_DAEMON_TIMING.pruneIntervalMs,
      retainDays: options.retainDays ?? DEFAULT_DAEMON_TIMING.retainDays,
    };
    this.maxDbBytes = options.maxDbBytes ?? null;
    this.queue = new FrameQueue(options.queue ?? DEFAULT_FRAME_QUEUE_OPTIONS);
    this.pacer = options.source.kind === 'replay' ? new ReplayPacer(options.source.speed) : null;
  }

  /**
   * Opens the source, then the database, and starts processing. Throws CaptureError (with the
   * fix) if capture cannot start, StoreError if the database cannot be used.
   */
  async start(): Promise<void> {
    const src = this.options.source;
    if (src.kind === 'live') {
      // Packets queue up (bounded) until the pipeline exists a moment later.
      this.live = new LiveCapture(
        { interfaces: src.interfaces, filter: src.filter, bufferBytes: src.bufferBytes ?? DEFAULT_CAPTURE_BUFFER_BYTES },
        this.queue,
        this.onBacklog,
      );
      this.live.start();
    }
    try {
      this.options.afterCaptureOpen?.();
      this.store = new Store(this.options.db);
    } catch (err) {
      this.live?.stop();
      throw err;
    }
    storeEvents.on('forgotten', this.onForgotten);
    // Only deletions from now on concern this run.
    this.forgetLogId = this.store.forgottenSince(0).lastId;
    this.store.setSetting('retain_days_configured', this.timing.retainDays);
    this.captureId = this.store.beginCapture(src.kind === 'live' ? 'watch' : 'replay', src.kind === 'live' ? src.interfaces : src.files);
    this.pipeline = new Pipeline(this.store, this.captureId, this.options.pipeline ?? DEFAULT_PIPELINE_OPTIONS);
    if (src.kind === 'replay') {
      this.replay = new ReplaySource(src.files, this.queue, (w: CaptureWarning) => {
        this.warnings.push(formatWarning(w));
        this.options.log.warn({ file: w.file, offset: w.offset }, w.message);
      });
      this.replayDone = this.replay.run();
    }
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(Math.min(1000, this.timing.flushIntervalMs), () => this.maintain());
    this.writeStatus(true);
    this.prune();
    this.scheduleDrain();
  }

  /**
   * Replay: resolves when every frame of the files has been processed (then call stop()).
   * Live capture never ends by itself.
   */
  async finished(): Promise<void> {
    if (this.replayDone === null) return new Promise(() => {});
    await this.replayDone;
    while (this.queue.length > 0) await new Promise<void>((resolve) => this.idleResolvers.push(resolve));
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.paceTimer !== null || this.waiting || this.pipeline === undefined || this.stopping) return;
    this.drainScheduled = true;
    setImmediate(this.drain);
  }

  /**
   * Processes queued frames for at most DRAIN_SLICE_MS, then yields (timers, the dashboard);
   * when the queue is empty, sleeps until the producer writes.
   */
  private readonly drain = (): void => {
    this.drainScheduled = false;
    if (this.stopping) return;
    if (this.drainSlice() === 'paced') return;
    if (this.queue.length > 0) {
      this.scheduleDrain();
      return;
    }
    for (const resolve of this.idleResolvers.splice(0)) resolve();
    // Empty: sleep until the producer writes (it notifies only a sleeping consumer, so a batch
    // wakes us once). Polling on a 5 ms timer instead cost 4% of a core on an idle network.
    this.waiting = true;
    void this.queue.waitForData().then(this.wakeFromIdle);
  };

  /**
   * Devices forgotten by another process (`notcreepy forget`, a separate `serve`): the store's
   * forget_log has their salted hashes; drop what this run still holds about them before writing.
   */
  private applyForgets(): void {
    const { lastId, hashes } = this.store.forgottenSince(this.forgetLogId);
    this.forgetLogId = lastId;
    if (hashes.length === 0) return;
    const ids = this.pipeline.devicesWithHashes(new Set(hashes), (id) => this.store.deviceHash(id));
    for (const id of ids) this.pipeline.forgetDevice(id);
    if (ids.length > 0) this.options.log.info({ devices: ids.length }, 'forgot devices deleted by another process');
  }
  private forgetLogId = 0;

  /** A device deleted through another Store of this process (the dashboard): forget it here too. */
  private readonly onForgotten = (dbPath: string, deviceId: string): void => {
    if (dbPath === resolve(this.options.db) && this.pipeline !== undefined && !this.stopping) this.pipeline.forgetDevice(deviceId);
  };

  /** Handles queued frames for at most DRAIN_SLICE_MS; 'paced' when a replay frame is not due yet. */
  private drainSlice(): 'paced' | 'done' {
    const queue = this.queue;
    const frame = this.frame;
    const handle = this.pipeline.handleFrame;
    const pacer = this.pacer;
    const deadline = performance.now() + DRAIN_SLICE_MS;
    let n = 0;
    while (queue.peek(frame)) {
      if (pacer !== null) {
        const wait = pacer.dueInMs(frame.tsUs, Date.now());
        if (wait > 1) {
          this.paceTimer = setTimeout(() => {
            this.paceTimer = null;
            this.scheduleDrain();
          }, wait);
          return 'paced';
        }
      }
      this.lastFrameTsUs = frame.tsUs;
      handle(frame);
      queue.release();
      // Checking the clock every 64 frames keeps its cost off the per-packet path.
      if ((++n & 63) === 0 && performance.now() > deadline) break;
    }
    return 'done';
  }

  private readonly wakeFromIdle = (): void => {
    this.waiting = false;
    this.scheduleDrain();
  };

  /** The time the pipeline should consider "now": the wall clock live, the replay's clock otherwise. */
  private clockUs(): number {
    if (this.live !== null) return this.live.clock.nowUs();
    return this.pacer?.clockUs(Date.now(), this.lastFrameTsUs) ?? this.lastFrameTsUs;
  }

  /**
   * Everything periodic, each part when its interval has passed. Called by a timer, and also
   * from the capture path while it holds the thread (see onBacklog), since under a packet flood
   * cap's read loop does not return to the event loop and timers would never fire.
   */
  private maintain(): void {
    if (this.stopping) return;
    const nowMs = Date.now();
    if (nowMs - this.lastTickMs < 1000) return;
    this.lastTickMs = nowMs;
    const now = this.clockUs();
    // Live: flows idle past their timeout end even when no packet comes to trigger expiry.
    if (this.live !== null) this.pipeline.flows.expireIdle(now);
    if (nowMs - this.lastFlushMs >= this.timing.flushIntervalMs) this.flush(now);
    if (nowMs - this.lastStatusMs >= this.timing.statusIntervalMs) {
      this.lastStatusMs = nowMs;
      const status = this.writeStatus(true);
      if (nowMs - this.lastStatusLogMs >= STATUS_LOG_INTERVAL_MS) {
        this.lastStatusLogMs = nowMs;
        this.logStatus(status);
      }
    }
    if (nowMs - this.lastPruneMs >= this.timing.pruneIntervalMs) {
      this.lastPruneMs = nowMs;
      this.prune();
    }
  }

  /**
   * Live capture calls this from inside cap's read loop when the queue holds a backlog: that loop
   * keeps the thread as long as packets keep arriving, so under load the analysis (and the
   * periodic work) must run from here or not at all.
   */
  private readonly onBacklog = (): void => {
    if (this.inlineDraining || this.stopping || this.pipeline === undefined) return;
    this.inlineDraining = true;
    try {
      this.drainSlice();
      this.maintain();
    } finally {
      this.inlineDraining = false;
    }
  };

  private flush(nowUs: number): void {
    this.lastFlushMs = Date.now();
    this.applyForgets();
    this.pipeline.finishStaleInspections(nowUs - this.timing.inspectionMaxAgeMs * 1000, nowUs);
    this.pipeline.snapshotLiveFlows(nowUs, this.timing.liveFlowSnapshotMs * 1000);
    try {
      this.pipeline.flushAll();
    } catch (err) {
      // A device deleted by another process between applyForgets and this write: forget it, retry.
      this.options.log.warn({ err: (err as Error).message }, 'write failed; re-reading forgotten devices and retrying');
      this.applyForgets();
      this.pipeline.flushAll();
    }
  }

  /** Writes the status row (and logs queue pressure and drops) from the counters. */
  private writeStatus(running: boolean): DaemonStatus {
    const c = this.pipeline.counters;
    const nowMs = Date.now();
    const dt = (nowMs - this.lastStatus.atMs) / 1000;
    if (dt >= 1) {
      this.rates = { packets: (c.packets - this.lastStatus.packets) / dt, bytes: (c.bytes - this.lastStatus.bytes) / dt };
      this.lastStatus = { atMs: nowMs, packets: c.packets, bytes: c.bytes };
    }
    const src = this.options.source;
    const status: DaemonStatus = {
      mode: src.kind === 'live' ? 'watch' : 'replay',
      version: this.options.version,
      pid: process.pid,
      started_at: this.startedAt.toISOString(),
      updated_at: new Date(nowMs).toISOString(),
      running,
      interfaces: src.kind === 'live' ? src.interfaces : src.files,
      filter: src.kind === 'live' ? src.filter || null : null,
      packets: c.packets,
      bytes: c.bytes,
      malformed: c.malformed,
      drops_kernel: this.live?.missedPackets() ?? null,
      drops_interface: this.live?.interfaceDrops() ?? null,
      drops_queue: this.queueDrops,
      packets_per_second: Math.round(this.rates.packets),
      bytes_per_second: Math.round(this.rates.bytes),
      flows_live: this.pipeline.flows.size,
      flows_stored: c.flows,
      findings: (this.store.db.prepare(`SELECT count(*) AS n FROM findings`).get() as { n: number }).n,
      warnings: this.warnings.slice(-20),
    };
    this.store.writeStatus(status);
    const log = this.options.log;
    const drops = this.queueDrops + (status.drops_kernel ?? 0);
    const fill = this.queue.length / this.queue.capacityFrames;
    if (drops > this.reportedDrops) {
      log.warn(
        { dropped: drops - this.reportedDrops, queue: this.queueDrops, kernel: status.drops_kernel },
        'analysis fell behind the capture: packets dropped',
      );
      this.reportedDrops = drops;
    } else if (fill > QUEUE_WARN_FILL) {
      log.warn({ fill: Math.round(fill * 100) }, 'capture queue nearly full');
    }
    return status;
  }
  private reportedDrops = 0;

  /** The live capture's binding ('pcap-batch' or 'cap'), null for a replay. */
  get captureBackend(): string | null {
    return this.live?.backend ?? null;
  }

  /** SIGHUP: new retention settings from the config file (the dashboard's setting still wins). */
  setRetention(retainDays: number, maxDbBytes: number | null): void {
    this.timing.retainDays = retainDays;
    this.maxDbBytes = maxDbBytes;
    this.store.setSetting('retain_days_configured', retainDays);
  }

  /** The status figures as one log line (every few minutes, and at stop). */
  private logStatus(s: DaemonStatus): void {
    const { packets, bytes, packets_per_second, bytes_per_second, flows_live, flows_stored, findings, drops_queue, drops_kernel } = s;
    this.options.log.info(
      { packets, bytes, packets_per_second, bytes_per_second, flows_live, flows_stored, findings, drops_queue, drops_kernel },
      'status',
    );
  }
  private lastStatusLogMs = Date.now();

  /** Retention by age (the dashboard's retain_days setting wins over the option) and size cap. */
  prune(): DeletedCounts {
    const days = this.store.retentionDays();
    // The daemon's data is stamped with capture time: live, that is the wall clock; a replay
    // keeps recorded times, so age is measured from the newest data, not from today.
    const newest = this.live !== null ? Date.now() / 1000 : this.newestDataSeconds();
    const olderThan = newest === null || days === null ? undefined : newest - days * 86400;
    const maxBytes = this.maxDbBytes ?? undefined;
    const deleted = this.store.prune({ olderThan, maxBytes });
    if (deleted.flows + deleted.findings + deleted.devices + deleted.observations > 0) {
      this.options.log.info({ ...deleted, retainDays: days, maxDbBytes: maxBytes ?? null }, 'pruned old data');
    }
    if (maxBytes !== undefined && this.store.usedBytes() > maxBytes) {
      this.options.log.warn({ usedBytes: this.store.usedBytes(), maxDbBytes: maxBytes }, 'database above its size cap even without flows (findings are kept)');
    }
    return deleted;
  }

  private newestDataSeconds(): number | null {
    const r = this.store.db.prepare(`SELECT max(last_seen) AS t FROM flows`).get() as { t: number | null };
    return r.t;
  }

  /**
   * Clean stop: close the capture, process what is queued, end every live flow, write
   * everything, mark the status stopped, close the database. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    if (this.paceTimer !== null) clearTimeout(this.paceTimer);
    this.live?.stop();
    this.queue.wake();
    storeEvents.off('forgotten', this.onForgotten);
    if (this.pipeline === undefined) return;
    if (this.pacer === null || this.pacer.speed === 'max') {
      const frame = this.frame;
      while (this.queue.peek(frame)) {
        this.pipeline.handleFrame(frame);
        this.queue.release();
      }
    }
    // The last write too must not bring back a device another process just deleted.
    this.applyForgets();
    this.pipeline.finish(this.warnings);
    this.logStatus(this.writeStatus(false));
    this.store.close();
  }

  /** Packets our queue refused (the analysis fell behind the capture). */
  get queueDrops(): number {
    return this.queue.dropped;
  }
}
