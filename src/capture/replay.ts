/**
 * Replay: capture files fed through the live pipeline (the daemon's queue, flushes and status),
 * with their original pacing, N times faster, or as fast as the pipeline goes. Frames keep their
 * recorded timestamps, so a lab gets the flows and findings the daemon would have stored had it
 * watched that traffic. Unlike live capture nothing is dropped: the reader waits while the queue
 * is half full.
 */
import { readCapture } from './reader.js';
import type { FrameQueue } from './queue.js';
import type { CaptureWarning, FrameSink } from './types.js';

/** Replay speed: a factor of the recorded pace, or 'max'. */
export type ReplaySpeed = number | 'max';

export function parseSpeed(text: string): ReplaySpeed | null {
  if (text === 'max') return 'max';
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** When each recorded timestamp is due on the wall clock at the chosen speed. */
export class ReplayPacer {
  private anchorTsUs = NaN;
  private anchorWallMs = 0;
  private lastTsUs = NaN;

  constructor(readonly speed: ReplaySpeed) {}

  /** Milliseconds until the frame recorded at tsUs is due (<= 0: now). */
  dueInMs(tsUs: number, nowMs: number): number {
    if (this.speed === 'max') return 0;
    // The first frame, or a jump back in time (the next file) or of over an hour: start afresh.
    if (Number.isNaN(this.anchorTsUs) || tsUs < this.lastTsUs || tsUs - this.lastTsUs > 3600e6) {
      this.anchorTsUs = tsUs;
      this.anchorWallMs = nowMs;
    }
    this.lastTsUs = tsUs;
    return this.anchorWallMs + (tsUs - this.anchorTsUs) / 1000 / this.speed - nowMs;
  }

  /** The recorded time the replay has reached at wall time nowMs (for idle-flow expiry). */
  clockUs(nowMs: number, lastFrameTsUs: number): number {
    if (this.speed === 'max' || Number.isNaN(this.anchorTsUs)) return lastFrameTsUs;
    return this.anchorTsUs + (nowMs - this.anchorWallMs) * 1000 * this.speed;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ReplaySource {
  /** Frames read from the files (all of them reach the queue). */
  read = 0;
  bytes = 0;

  constructor(
    private readonly files: string[],
    private readonly queue: FrameQueue,
    private readonly onWarning: (w: CaptureWarning) => void,
  ) {}

  /** Reads every file into the queue; resolves when the last frame is queued. */
  async run(): Promise<void> {
    const queue = this.queue;
    const sink: FrameSink = (f) => {
      this.read++;
      this.bytes += f.origLen;
      queue.push(f.tsUs, f.linkType, f.data, f.offset, f.caplen, f.origLen, f.sourceIndex);
    };
    for (let i = 0; i < this.files.length; i++) {
      await readCapture(this.files[i], sink, {
        sourceIndex: i,
        onWarning: this.onWarning,
        // A chunk (1 MiB) fits in half the queue: wait until half is free.
        beforeChunk: async () => {
          while (queue.fill > 0.5) await sleep(2);
        },
      });
    }
  }
}
