/**
 * A bounded queue of frames between a capture source and the pipeline: one preallocated byte
 * ring plus typed arrays for each frame's metadata, so that queueing a packet allocates nothing.
 *
 * One producer (the capture or the replay reader), one consumer (the daemon's drain), both on
 * the main thread. The consumer peeks a frame, handles it, then releases it: the frame's bytes
 * stay in place until released, and it sleeps in waitForData when the queue is empty (the
 * control words are in a SharedArrayBuffer because Atomics.waitAsync needs one). When the ring is
 * full, push() refuses and counts the drop instead of growing without bound or stalling the
 * capture.
 */
import type { RawFrame } from './types.js';

export interface FrameQueueOptions {
  /** Bytes of frame data the ring holds. */
  capacityBytes: number;
  /** Frames the ring holds, whatever their size (rounded up to a power of two). */
  capacityFrames: number;
}

export const DEFAULT_FRAME_QUEUE_OPTIONS: FrameQueueOptions = {
  capacityBytes: 32 * 1024 * 1024,
  capacityFrames: 131072,
};

// control: Int32 slots. WRITTEN and READ count frames forever (wrapping); SLEEPING is set by a
// consumer waiting for data, so the producer notifies only then.
const WRITTEN = 0;
const READ = 1;
const SLEEPING = 2;
const CONTROL_SLOTS = 4;

// meta, per frame: ts (float64) | start, caplen, origLen, linkType<<16 | source (uint32 each).
const META_BYTES = 8 + 4 * 4;

/** Atomics.waitAsync (in Node since 16; typed from ES2024 on, beyond our lib setting). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

export class FrameQueue {
  /** Frames refused because the queue was full. */
  dropped = 0;

  private readonly control: Int32Array;
  private readonly slab: Buffer;
  private readonly ts: Float64Array;
  private readonly start: Uint32Array;
  private readonly caplen: Uint32Array;
  private readonly origLen: Uint32Array;
  private readonly linkSource: Uint32Array;
  private readonly mask: number;
  /** Producer-local: where the next frame's bytes go. */
  private writePos = 0;
  /** Consumer-local: frames peeked and not yet released. */
  private held = 0;

  constructor(options: FrameQueueOptions = DEFAULT_FRAME_QUEUE_OPTIONS) {
    let n = 1;
    while (n < options.capacityFrames) n *= 2;
    this.mask = n - 1;
    this.control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
    this.slab = Buffer.allocUnsafeSlow(options.capacityBytes);
    const meta = new ArrayBuffer(n * META_BYTES);
    this.ts = new Float64Array(meta, 0, n);
    this.start = new Uint32Array(meta, n * 8, n);
    this.caplen = new Uint32Array(meta, n * 12, n);
    this.origLen = new Uint32Array(meta, n * 16, n);
    this.linkSource = new Uint32Array(meta, n * 20, n);
  }

  /** Frames waiting (including one peeked and not yet released). */
  get length(): number {
    return (Atomics.load(this.control, WRITTEN) - Atomics.load(this.control, READ)) | 0;
  }

  get capacityFrames(): number {
    return this.mask + 1;
  }

  /**
   * Producer side (it alone knows where it writes): fraction of the frame slots or bytes in
   * use, whichever is fuller (0..1).
   */
  get fill(): number {
    const count = this.length;
    if (count === 0) return 0;
    const readPos = this.start[Atomics.load(this.control, READ) & this.mask];
    const writePos = this.writePos;
    const used = writePos >= readPos ? writePos - readPos : this.slab.length - readPos + writePos;
    return Math.max(count / (this.mask + 1), used / this.slab.length);
  }

  // ---- producer ----

  /** Copies one frame in; false (and counted as dropped) when there is no room. */
  push(tsUs: number, linkType: number, data: Buffer, offset: number, caplen: number, origLen: number, sourceIndex: number): boolean {
    const control = this.control;
    const written = Atomics.load(control, WRITTEN);
    const read = Atomics.load(control, READ);
    const count = (written - read) | 0;
    const cap = this.slab.length;
    if (count > this.mask || caplen > cap) return this.drop();
    let at: number;
    if (count === 0) {
      at = 0;
    } else {
      const readPos = this.start[read & this.mask];
      if (this.writePos >= readPos) {
        // Not wrapped: room at the end, or else at the start before the oldest frame.
        if (this.writePos + caplen <= cap) at = this.writePos;
        else if (caplen < readPos) at = 0;
        else return this.drop();
      } else if (this.writePos + caplen < readPos) {
        // Wrapped: room only between the write position and the oldest frame.
        at = this.writePos;
      } else {
        return this.drop();
      }
    }
    data.copy(this.slab, at, offset, offset + caplen);
    const i = written & this.mask;
    this.ts[i] = tsUs;
    this.start[i] = at;
    this.caplen[i] = caplen;
    this.origLen[i] = origLen;
    this.linkSource[i] = (linkType << 16) | (sourceIndex & 0xffff);
    this.writePos = at + caplen;
    // Publish the frame only once its bytes and metadata are in place.
    Atomics.store(control, WRITTEN, (written + 1) | 0);
    if (Atomics.load(control, SLEEPING) !== 0) {
      Atomics.store(control, SLEEPING, 0);
      Atomics.notify(control, WRITTEN);
    }
    return true;
  }

  private drop(): false {
    this.dropped++;
    return false;
  }

  // ---- consumer ----

  /**
   * Points `frame` at the oldest frame without removing it: its bytes stay valid until release().
   * One frame at a time: peek, handle, release.
   */
  peek(frame: RawFrame): boolean {
    if (this.length === 0) return false;
    const i = Atomics.load(this.control, READ) & this.mask;
    frame.tsUs = this.ts[i];
    const ls = this.linkSource[i];
    frame.linkType = ls >>> 16;
    frame.sourceIndex = ls & 0xffff;
    frame.caplen = this.caplen[i];
    frame.origLen = this.origLen[i];
    frame.data = this.slab;
    frame.offset = this.start[i];
    this.held = 1;
    return true;
  }

  /** The peeked frame is handled: its slot and bytes go back to the producer. */
  release(): void {
    if (this.held === 0) return;
    this.held = 0;
    Atomics.add(this.control, READ, 1);
  }

  /** Wakes a consumer waiting in waitForData (at shutdown, so nothing waits forever). */
  wake(): void {
    Atomics.store(this.control, SLEEPING, 0);
    Atomics.notify(this.control, WRITTEN);
  }

  /** Resolves when the producer has written something (at once if something is waiting). */
  async waitForData(): Promise<void> {
    const control = this.control;
    const written = Atomics.load(control, WRITTEN);
    Atomics.store(control, SLEEPING, 1);
    if (((written - Atomics.load(control, READ)) | 0) !== 0) {
      Atomics.store(control, SLEEPING, 0);
      return;
    }
    const w = waitAsync(control, WRITTEN, written);
    if (w.async) await w.value;
  }
}
