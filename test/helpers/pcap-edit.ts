/**
 * Small edits of real classic-pcap files (little-endian, as tcpdump writes them) for bad-input
 * tests: where each record starts, and copies with a field patched or the file cut.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const PCAP_HEADER = 24;
export const RECORD_HEADER = 16;

export interface PcapRecord {
  offset: number;
  caplen: number;
  /** Offset of the frame's first byte. */
  data: number;
}

/** Every record of a little-endian classic pcap, walked from the headers. */
export function pcapRecords(bytes: Buffer): PcapRecord[] {
  if (bytes.readUInt32LE(0) !== 0xa1b2c3d4 && bytes.readUInt32LE(0) !== 0xa1b23c4d) {
    throw new Error('not a little-endian classic pcap');
  }
  const records: PcapRecord[] = [];
  let p = PCAP_HEADER;
  while (p + RECORD_HEADER <= bytes.length) {
    const caplen = bytes.readUInt32LE(p + 8);
    if (p + RECORD_HEADER + caplen > bytes.length) break;
    records.push({ offset: p, caplen, data: p + RECORD_HEADER });
    p += RECORD_HEADER + caplen;
  }
  return records;
}

export function writeVariant(from: string, to: string, edit: (bytes: Buffer) => Buffer): Buffer {
  const out = edit(Buffer.from(readFileSync(from)));
  writeFileSync(to, out);
  return out;
}
