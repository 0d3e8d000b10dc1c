/**
 * A bounded queue of frames between a capture source and the pipeline: one preallocated byte
 * ring plus typed arrays for each frame's metadata, so queueing a packet allocates nothing.
 *
 * Live capture pushes every packet as it arrives (libpcap's buffer is reused for the next one);
 * the daemon drains the queue in slices. When the pipeline falls behind, push() refuses and
 * counts the drop instead of growing without bound or stalling the capture.
 */
import type { RawFrame } from './types.js';

export interface FrameQueueOptions {
  /** Bytes of frame data the ring holds. */
  capacityBytes: number;
  /** Frames the ring holds, whatever their size. */
  capacityFrames: number;
}

export const DEFAULT_FRAME_QUEUE_OPTIONS: FrameQueueOptions = {
  capacityBytes: 32 * 1024 * 1024,
  capacityFrames: 131072,
};

export class FrameQueue {
  /** Frames refused because the queue was full, and their bytes on the wire. */
  dropped = 0;
  droppedBytes = 0;
  /** Most frames ever queued at once (how close to overload we came). */
  peakFrames = 0;

  private readonly slab: Buffer;
  private readonly ts: Float64Array;
  private readonly start: Uint32Array;
  private readonly caplen: Uint32Array;
  private readonly origLen: Uint32Array;
  private readonly linkType: Uint32Array;
  private readonly source: Uint16Array;
  private head = 0;
  private count = 0;
  /** Where the next frame's bytes go. */
  private writePos = 0;

  constructor(options: FrameQueueOptions = DEFAULT_FRAME_QUEUE_OPTIONS) {
    this.slab = Buffer.allocUnsafe(options.capacityBytes);
    const n = options.capacityFrames;
    this.ts = new Float64Array(n);
    this.start = new Uint32Array(n);
    this.caplen = new Uint32Array(n);
    this.origLen = new Uint32Array(n);
    this.linkType = new Uint32Array(n);
    this.source = new Uint16Array(n);
  }

  get length(): number {
    return this.count;
  }

  /** Fraction of the frame slots or bytes in use, whichever is fuller (0..1). */
  get fill(): number {
    if (this.count === 0) return 0;
    const readPos = this.start[this.head];
    const used = this.writePos >= readPos ? this.writePos - readPos : this.slab.length - readPos + this.writePos;
    return Math.max(this.count / this.ts.length, used / this.slab.length);
  }

  /** Copies one frame in; false (and counted as dropped) when there is no room. */
  push(tsUs: number, linkType: number, data: Buffer, offset: number, caplen: number, origLen: number, sourceIndex: number): boolean {
    const slots = this.ts.length;
    const cap = this.slab.length;
    if (this.count === slots || caplen > cap) return this.drop(origLen);
    let at: number;
    if (this.count === 0) {
      at = 0;
    } else {
      const readPos = this.start[this.head];
      if (this.writePos >= readPos) {
        // Not wrapped: room at the end, or else at the start before the oldest frame.
        if (this.writePos + caplen <= cap) at = this.writePos;
        else if (caplen < readPos) at = 0;
        else return this.drop(origLen);
      } else {
        // Wrapped: room only between the write position and the oldest frame.
        if (this.writePos + caplen < readPos) at = this.writePos;
        else return this.drop(origLen);
      }
    }
    data.copy(this.slab, at, offset, offset + caplen);
    const i = (this.head + this.count) % slots;
    this.ts[i] = tsUs;
    this.start[i] = at;
    this.caplen[i] = caplen;
    this.origLen[i] = origLen;
    this.linkType[i] = linkType;
    this.source[i] = sourceIndex;
    this.writePos = at + caplen;
    this.count++;
    if (this.count > this.peakFrames) this.peakFrames = this.count;
    return true;
  }

  /** Capture time of the oldest frame, or NaN when empty. */
  peekTsUs(): number {
    return this.count === 0 ? NaN : this.ts[this.head];
  }

  /**
   * Points `frame` at the oldest frame and removes it from the queue. Its bytes stay valid until
   * the next push, so the consumer must finish with the frame before yielding to the event loop.
   */
  shift(frame: RawFrame): boolean {
    if (this.count === 0) return false;
    const i = this.head;
    frame.tsUs = this.ts[i];
    frame.linkType = this.linkType[i];
    frame.caplen = this.caplen[i];
    frame.origLen = this.origLen[i];
    frame.data = this.slab;
    frame.offset = this.start[i];
    frame.sourceIndex = this.source[i];
    this.head = (i + 1) % this.ts.length;
    this.count--;
    // Empty: start again at the beginning (keeps frames contiguous and the ring unfragmented).
    if (this.count === 0) this.writePos = 0;
    return true;
  }

  private drop(origLen: number): false {
    this.dropped++;
    this.droppedBytes += origLen;
    return false;
  }
}
