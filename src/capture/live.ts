/**
 * Live capture, one libpcap handle per interface (promiscuous, snaplen 65535), on the main
 * thread, into the bounded FrameQueue. Two bindings:
 *
 * - the project's own (src/capture/pcap-batch.ts): libpcap buffered, every waiting packet handed
 *   over in one call, with kernel timestamps and pcap_stats;
 * - `cap`, the fallback when that one is not built. What it gives and does not (checked against
 *   its source, 0.2.1): a `packet` event per packet with the captured length only, the bytes in
 *   ONE buffer we supply, no timestamp (stamped here on receipt with a monotonic clock anchored to
 *   wall time), no pcap_stats (drops are estimated from the interface's counters). It registers
 *   its poll on the default event loop, so it cannot run in a worker thread.
 *
 * Opening needs root or CAP_NET_RAW; both bindings are optional native modules, loaded lazily.
 *
 * libpcap's ring is what absorbs the main thread's pauses (a database write, a garbage
 * collection). It is sized in frames of the interface's largest packet: with segmentation
 * offloads on (GRO/GSO/TSO) that is 64 KiB, and a 32 MiB ring holds only ~500 packets; with them
 * off, ~20,000. The README says to turn them off on the capture interface.
 */
import { existsSync, readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { pcapBatch, RECORD_HEADER, type PcapBatchBinding } from './pcap-batch.js';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { FrameQueue } from './queue.js';
import { CaptureError, isSupportedLinkType, LinkType, linkTypeName } from './types.js';

/** The part of cap's API we use (it ships no types). */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}
interface CapModule {
  Cap: { new (): CapHandle; deviceList(): { name: string; addresses: { addr: string }[] }[] };
}

/** cap reports the link type as a name. */
const CAP_LINK_TYPES: Record<string, number> = {
  ETHERNET: LinkType.ETHERNET,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  RAW: LinkType.RAW,
  NULL: LinkType.NULL,
};

export interface LiveCaptureOptions {
  interfaces: string[];
  /** BPF filter ('' for everything). */
  filter: string;
  /** libpcap's kernel buffer per interface, bytes. */
  bufferBytes: number;
}

export const DEFAULT_CAPTURE_BUFFER_BYTES = 32 * 1024 * 1024;

/** The batch Buffer of the project's binding, and how long libpcap holds packets back at most. */
const BATCH_BYTES = 4 * 1024 * 1024;
const BATCH_TIMEOUT_MS = 50;

/** Queued packets at which the read loop hands the thread to the analysis (at most half the queue). */
const BACKLOG_FRAMES = 256;

let capModule: CapModule | null = null;

/**
 * Handles whose open() failed. cap 0.2.1 leaves such a handle half set up, and its destructor
 * then stops a poll handle that was never started (a crash when the garbage collector gets to
 * it), so they are kept referenced for the life of the process.
 */
const failedHandles: CapHandle[] = [];

const CAP_NET_RAW_BIT = 13;

/** Does this process hold CAP_NET_RAW (Linux /proc)? null when it cannot tell. */
export function hasNetRaw(): boolean | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? null : (BigInt(`0x${m[1]}`) >> BigInt(CAP_NET_RAW_BIT)) % 2n === 1n;
  } catch {
    return null;
  }
}

const NEEDS_NET_RAW =
  'notcreepy needs CAP_NET_RAW (not root): run it from the systemd unit (AmbientCapabilities=CAP_NET_RAW), ' +
  'or "setcap cap_net_raw+ep" on a node binary used only for it, or docker run --cap-add NET_RAW';

function loadCap(): CapModule {
  if (capModule !== null) return capModule;
  try {
    capModule = createRequire(import.meta.url)('cap') as CapModule;
  } catch (err) {
    throw new CaptureError(
      'live capture',
      `the optional native module "cap" is not available (${(err as Error).message.split('\n')[0]}); ` +
        'install libpcap-dev and run "npm rebuild cap"',
    );
  }
  return capModule;
}

/** Explains a failed open in terms of its usual fix. */
function openError(iface: string, err: Error): CaptureError {
  const msg = err.message;
  if (/permission|not permitted|EPERM|EACCES/i.test(msg)) return new CaptureError(iface, `cannot capture: ${msg}. ${NEEDS_NET_RAW}`);
  if (/no such device|doesn't exist|No such/i.test(msg)) return new CaptureError(iface, `no such interface (${msg})`);
  return new CaptureError(iface, `cannot capture: ${msg}`);
}

/** Microseconds since the epoch, from a monotonic clock anchored to the wall clock once. */
export class CaptureClock {
  private readonly anchorUs = Date.now() * 1000 - performance.now() * 1000;
  nowUs(): number {
    return this.anchorUs + performance.now() * 1000;
  }
}

/** An interface name safe to put in a /sys/class/net path. */
const SYSFS_NAME = /^[\w.@:-]+$/;

/** An interface's receive counter from sysfs (rx_packets, rx_dropped), or null where not readable. */
export function interfaceCounter(iface: string, counter: 'rx_packets' | 'rx_dropped'): number | null {
  if (!SYSFS_NAME.test(iface)) return null;
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/statistics/${counter}`, 'utf8').trim());
  } catch {
    return null;
  }
}

export class LiveCapture {
  private readonly handles: CapHandle[] = [];
  private readonly rxPacketsAtStart: (number | null)[] = [];
  /** Packets libpcap handed over, per interface (queued or dropped by the queue). */
  private readonly receivedBy: number[] = [];
  /** Queued packets at which the read loop hands the thread to the analysis. */
  private readonly backlog: number;
  private readonly rxDroppedAtStart: (number | null)[] = [];
  readonly clock = new CaptureClock();

  constructor(
    private readonly options: LiveCaptureOptions,
    private readonly queue: FrameQueue,
    /**
     * Called from the read loop once BACKLOG_FRAMES wait: cap reads the socket until it is empty,
     * so under load nothing else gets the thread unless the consumer runs from here.
     */
    private readonly onBacklog: () => void,
  ) {
    this.backlog = Math.min(BACKLOG_FRAMES, queue.capacityFrames >> 1);
  }

  /** Opens every interface; throws CaptureError with the fix when one cannot be opened. */
  start(): void {
    // Checked before cap is asked, which fails in ways that crash later (see failedHandles).
    if (hasNetRaw() === false) {
      throw new CaptureError(this.options.interfaces.join(', '), `cannot capture without CAP_NET_RAW. ${NEEDS_NET_RAW}`);
    }
    for (const iface of this.options.interfaces) {
      if (process.platform === 'linux' && SYSFS_NAME.test(iface) && !existsSync(`/sys/class/net/${iface}`)) {
        throw new CaptureError(iface, 'no such network interface (see "ip link")');
      }
    }
    const native = pcapBatch();
    this.backend = native === null ? 'cap' : 'pcap-batch';
    const Cap = native === null ? loadCap().Cap : null;
    try {
      this.options.interfaces.forEach((iface, index) => {
        this.rxDroppedAtStart.push(interfaceCounter(iface, 'rx_dropped'));
        this.rxPacketsAtStart.push(interfaceCounter(iface, 'rx_packets'));
        this.receivedBy.push(0);
        if (native !== null) this.openBatched(native, iface, index);
        else this.open(Cap as CapModule['Cap'], iface, index);
      });
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** Which binding captures: the project's batched one when built, else cap. */
  backend: 'pcap-batch' | 'cap' = 'cap';
  private readonly batchHandles: { native: PcapBatchBinding; handle: unknown }[] = [];

  /**
   * The project's binding: libpcap delivers everything available at once (its ring absorbs the
   * analysis' pauses), with kernel timestamps; one JavaScript call per batch.
   */
  private openBatched(native: PcapBatchBinding, iface: string, index: number): void {
    const batch = Buffer.allocUnsafe(BATCH_BYTES);
    const queue = this.queue;
    const onBacklog = this.onBacklog;
    const backlog = this.backlog;
    const receivedBy = this.receivedBy;
    const le = endianness() === 'LE';
    let linkType = 0;
    const onBatch = (count: number): void => {
      let off = 0;
      for (let i = 0; i < count; i++) {
        const sec = le ? batch.readUInt32LE(off) : batch.readUInt32BE(off);
        const usec = le ? batch.readUInt32LE(off + 4) : batch.readUInt32BE(off + 4);
        const caplen = le ? batch.readUInt32LE(off + 8) : batch.readUInt32BE(off + 8);
        const len = le ? batch.readUInt32LE(off + 12) : batch.readUInt32BE(off + 12);
        queue.push(sec * 1e6 + usec, linkType, batch, off + RECORD_HEADER, caplen, len, index);
        off += RECORD_HEADER + ((caplen + 3) & ~3);
      }
      receivedBy[index] += count;
      if (queue.length >= backlog) onBacklog();
    };
    let handle: unknown;
    try {
      handle = native.open(iface, this.options.filter, 65535, this.options.bufferBytes, BATCH_TIMEOUT_MS, batch, onBatch);
    } catch (err) {
      throw openError(iface, err as Error);
    }
    this.batchHandles.push({ native, handle });
    linkType = native.linkType(handle);
    if (!isSupportedLinkType(linkType)) {
      throw new CaptureError(iface, `unsupported link type ${linkTypeName(linkType) ?? linkType}`);
    }
  }

  private open(Cap: CapModule['Cap'], iface: string, index: number): void {
    const handle = new Cap();
    // cap keeps only a raw pointer to this buffer: it must stay referenced (the packet handler
    // below does) or libpcap writes into freed memory.
    const buffer = Buffer.alloc(65535);
    let linkName: string;
    try {
      linkName = handle.open(iface, this.options.filter, this.options.bufferBytes, buffer);
    } catch (err) {
      failedHandles.push(handle);
      throw openError(iface, err as Error);
    }
    const linkType = CAP_LINK_TYPES[linkName];
    if (linkType === undefined) {
      handle.close();
      throw new CaptureError(iface, `unsupported link type ${linkName}`);
    }
    this.handles.push(handle);
    const queue = this.queue;
    const clock = this.clock;
    const onBacklog = this.onBacklog;
    const backlog = this.backlog;
    // The hot path: stamp, copy into the ring (or count the drop), let the consumer catch up.
    const receivedBy = this.receivedBy;
    handle.on('packet', (nbytes: number) => {
      receivedBy[index]++;
      queue.push(clock.nowUs(), linkType, buffer, 0, nbytes, nbytes, index);
      if (queue.length >= backlog) onBacklog();
    });
  }

  /** Receive drops of the interfaces (driver, backlog) since start, or null when none is readable. */
  interfaceDrops(): number | null {
    let total: number | null = null;
    this.options.interfaces.forEach((iface, i) => {
      const now = interfaceCounter(iface, 'rx_dropped');
      const start = this.rxDroppedAtStart[i];
      if (now !== null && start !== null && start !== undefined) total = (total ?? 0) + Math.max(0, now - start);
    });
    return total;
  }

  /**
   * Packets the interfaces received since start that never reached us: lost in libpcap's ring
   * (cap exposes no pcap_stats, so this is estimated from the interfaces' own counters), or null
   * when they are not readable.
   */
  missedPackets(): number | null {
    if (this.backend === 'pcap-batch') {
      // Exact: libpcap's own count of packets the kernel dropped for want of room in the ring.
      let dropped = 0;
      for (const { native, handle } of this.batchHandles) dropped += native.stats(handle)[1] ?? 0;
      return dropped;
    }
    let total: number | null = null;
    this.options.interfaces.forEach((iface, i) => {
      const now = interfaceCounter(iface, 'rx_packets');
      const start = this.rxPacketsAtStart[i];
      if (now !== null && start !== null && start !== undefined) total = (total ?? 0) + Math.max(0, now - start - this.receivedBy[i]);
    });
    return total;
  }

  stop(): void {
    for (const { native, handle } of this.batchHandles.splice(0)) native.close(handle);
    for (const h of this.handles.splice(0)) {
      h.removeAllListeners('packet');
      h.close();
    }
  }
}
