/**
 * In-order delivery of the first bytes of one direction of a TCP connection.
 *
 * In-order segments (the common case) are handed over straight from the packet buffer, without
 * copying; only out-of-order segments are copied, into a small bounded queue. Retransmissions
 * and overlaps deliver each stream byte once (first copy wins, as most stacks do). A gap that
 * does not fill (a segment the capture missed) is skipped once the queue holds enough data after
 * it, and counted. Delivery stops for good after `limit` bytes.
 */

export type StreamSink = (data: Buffer, offset: number, length: number) => void;

interface Pending {
  seq: number;
  data: Buffer;
}

/** Signed distance a - b in 32-bit sequence space. */
function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

export class StreamReassembler {
  /** Next expected sequence number; null until the first SYN or data segment. */
  private next: number | null = null;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** Bytes handed to the sink so far. */
  delivered = 0;
  /** Holes skipped because the capture never showed the missing bytes. */
  gaps = 0;
  /** True once `limit` bytes were delivered: later segments are ignored. */
  full = false;

  constructor(
    private readonly limit: number,
    private readonly maxPendingBytes: number = Math.min(limit, 16 * 1024),
  ) {}

  /** The SYN (or SYN-ACK) of this direction: data starts at seq + 1. */
  syn(seq: number): void {
    if (this.next === null) this.next = (seq + 1) >>> 0;
  }

  /** One segment's payload, b[offset, offset + length), at sequence number `seq`. */
  segment(seq: number, b: Buffer, offset: number, length: number, sink: StreamSink): void {
    if (this.full || length <= 0) return;
    if (this.next === null) this.next = seq;
    const rel = seqDiff(seq, this.next);
    if (rel > 0) {
      this.queue(seq, b, offset, length);
      if (this.pendingBytes >= this.maxPendingBytes || this.pending.length > 32) this.skipGap(sink);
      return;
    }
    // rel <= 0: starts at or before what we expect; drop the part already delivered.
    const skip = -rel;
    if (skip >= length) return; // a pure retransmission
    this.deliver(b, offset + skip, length - skip, sink);
    this.drainPending(sink);
  }

  private deliver(b: Buffer, offset: number, length: number, sink: StreamSink): void {
    const room = this.limit - this.delivered;
    const n = length < room ? length : room;
    if (n > 0) {
      this.delivered += n;
      this.next = ((this.next as number) + n) >>> 0;
      sink(b, offset, n);
    }
    if (this.delivered >= this.limit) {
      this.full = true;
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  private queue(seq: number, b: Buffer, offset: number, length: number): void {
    // Keep the queue sorted by sequence number; duplicates of a queued segment are dropped.
    let i = this.pending.length;
    while (i > 0 && seqDiff(this.pending[i - 1].seq, seq) > 0) i--;
    if (i > 0 && this.pending[i - 1].seq === seq && this.pending[i - 1].data.length >= length) return;
    const copy = Buffer.allocUnsafe(length);
    b.copy(copy, 0, offset, offset + length);
    this.pending.splice(i, 0, { seq, data: copy });
    this.pendingBytes += length;
  }

  /** Deliver queued segments that now start at or before the expected sequence number. */
  private drainPending(sink: StreamSink): void {
    while (!this.full && this.pending.length > 0) {
      const first = this.pending[0];
      const rel = seqDiff(first.seq, this.next as number);
      if (rel > 0) return;
      this.pending.shift();
      this.pendingBytes -= first.data.length;
      const skip = -rel;
      if (skip < first.data.length) this.deliver(first.data, skip, first.data.length - skip, sink);
    }
  }

  /** Give up on the missing bytes before the first queued segment. */
  private skipGap(sink: StreamSink): void {
    if (this.pending.length === 0) return;
    this.gaps++;
    this.next = this.pending[0].seq;
    this.drainPending(sink);
  }

  /** End of the flow: deliver what is queued behind a gap that never filled. */
  flush(sink: StreamSink): void {
    while (!this.full && this.pending.length > 0) this.skipGap(sink);
  }
}
