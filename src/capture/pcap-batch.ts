/**
 * The project's own libpcap binding (src/capture/native/pcap_batch.c): packets handed over in
 * batches with kernel timestamps and pcap_stats, where `cap` wakes JavaScript once per packet.
 * Built by `npm run build:native` (needs libpcap-dev); when it is not built, live capture falls
 * back to `cap`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface PcapBatchBinding {
  open(
    device: string,
    filter: string,
    snaplen: number,
    bufferBytes: number,
    timeoutMs: number,
    batch: Buffer,
    onBatch: (count: number, bytes: number) => void,
  ): unknown;
  linkType(handle: unknown): number;
  /** [received, dropped by the kernel, dropped by the interface] since open. */
  stats(handle: unknown): [number, number, number] | [];
  close(handle: unknown): void;
}

/** Bytes before each packet in a batch: ts_sec, ts_usec, caplen, len (u32, host order). */
export const RECORD_HEADER = 16;

// From dist/capture/ or src/capture/ alike.
const CANDIDATES = ['./native/build/Release/pcap_batch.node', '../../src/capture/native/build/Release/pcap_batch.node'];

let binding: PcapBatchBinding | null | undefined;

/** The binding, or null when it was not built (or cannot load here). */
export function pcapBatch(): PcapBatchBinding | null {
  if (binding !== undefined) return binding;
  binding = null;
  // NOTCREEPY_CAPTURE=cap forces the fallback (tests run both).
  if (process.env.NOTCREEPY_CAPTURE === 'cap') return binding;
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      binding = createRequire(import.meta.url)(path) as PcapBatchBinding;
      break;
    } catch {
      // Built for another Node version or platform: fall back to cap.
    }
  }
  return binding;
}
