/**
 * Streaming reader for pcap and pcapng capture files (optionally gzip-compressed, or on stdin).
 *
 * Design: CaptureParser is a synchronous push parser. It parses records in place in whatever
 * chunk it is fed and keeps only the unparsed tail of a chunk (at most one record) between
 * calls, so memory stays flat whatever the file size. Every packet is delivered through ONE
 * reused RawFrame whose `data` points into the chunk (or, for a record that straddled two
 * chunks, into a small reused carry buffer): no Buffer or object is created per packet.
 *
 * readCapture() wires a file (or stdin) to the parser, adding gzip detection by magic bytes.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  CaptureError,
  isSupportedLinkType,
  linkTypeName,
  type CaptureWarning,
  type FrameSink,
  type RawFrame,
} from './types.js';

export interface ReadOptions {
  /** Goes into RawFrame.sourceIndex. */
  sourceIndex: number;
  onWarning: (w: CaptureWarning) => void;
  /**
   * Called at most once per chunk read: compressed bytes of the file read so far, and the file
   * size (null when unknown, e.g. stdin).
   */
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /**
   * Awaited before each chunk is parsed: back-pressure for a consumer that queues frames (replay
   * waits here while its queue is full, so a paced or fast replay loses nothing).
   */
  beforeChunk?: () => Promise<void>;
}

export interface ReadResult {
  /** Packets delivered to the sink. */
  packets: number;
  /** Sum of origLen of the delivered packets. */
  bytes: number;
  /** Distinct supported link types declared by the file (pcap header / pcapng IDBs), in order of appearance. */
  linkTypes: number[];
  /** Packets not delivered: interface with an unsupported link type, or an undeclared interface. */
  skipped: number;
}

/** Largest caplen libpcap accepts for the link types we decode; above it a record is corrupt. */
export const MAX_CAPLEN = 262144;
/** Largest pcapng block we buffer (Wireshark uses the same order of magnitude); bounds memory. */
const MAX_BLOCK_LEN = 16 * 1024 * 1024;
/** Read size for files: large chunks mean few straddling records and few async turns. */
const READ_CHUNK = 1 << 20;
/** gunzip output chunk size (zlib's default of 16 KiB means many more async turns). */
const GUNZIP_CHUNK = 256 * 1024;

const PCAP_HEADER_LEN = 24;
const PCAP_RECORD_HEADER_LEN = 16;

// pcapng block types (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html).
const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_OPB = 0x00000002;
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BOM = 0x1a2b3c4d;
const BOM_SWAPPED = 0x4d3c2b1a;

// Parser states.
const S_DETECT = 0;
const S_PCAP_HEADER = 1;
const S_PCAP = 2;
const S_PCAPNG = 3;
/** A corrupt record ended parsing of this input (a warning was given); later bytes are ignored. */
const S_STOPPED = 4;

// How a pcapng interface's timestamp ticks become microseconds.
/** 1 tick = 1 µs: the tick count is the answer (exact while below 2^53). */
const TS_MICRO = 0;
/** Integer ticks/second ≤ 2^32: exact 64-bit division in 16-bit digits (ns ticks exceed 2^53). */
const TS_DIV = 1;
/** Anything else (sub-ns powers of ten, 2^-k for k > 32): floating-point scaling. */
const TS_FLOAT = 2;

interface Iface {
  linkType: number;
  supported: boolean;
  /** 0 = no limit. */
  snaplen: number;
  tsKind: number;
  ticksPerSec: number;
  /** if_tsoffset, already in µs. */
  offsetUs: number;
}

function u16le(b: Buffer, p: number): number {
  return b[p] | (b[p + 1] << 8);
}
function u16be(b: Buffer, p: number): number {
  return (b[p] << 8) | b[p + 1];
}
// Hand-written reads: the callers have already checked the bounds, and these inline to a few
// loads, unlike Buffer.readUInt32LE's range checks.
function u32le(b: Buffer, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
}
function u32be(b: Buffer, p: number): number {
  return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
}

function hex32(v: number): string {
  return '0x' + (v >>> 0).toString(16).padStart(8, '0');
}

function describeLinkType(lt: number): string {
  const name = linkTypeName(lt);
  return name ? `${lt} (${name})` : `${lt}`;
}

/** 64-bit tick count (hi:lo) of an interface → µs since the epoch. */
function ticksToUs(iface: Iface, hi: number, lo: number): number {
  if (iface.tsKind === TS_MICRO && hi < 0x200000) return hi * 4294967296 + lo + iface.offsetUs;
  if (iface.tsKind === TS_FLOAT) return (hi * 4294967296 + lo) * (1e6 / iface.ticksPerSec) + iface.offsetUs;
  // Long division of the 64-bit count by ticksPerSec, one 16-bit digit at a time: every
  // intermediate stays below 2^53, so seconds and the remainder are exact, and a nanosecond
  // pcapng gives the very same number as the same packet in a nanosecond pcap.
  const t = iface.ticksPerSec;
  let cur = hi >>> 16;
  let q = Math.floor(cur / t);
  let r = cur - q * t;
  let sec = q;
  cur = r * 65536 + (hi & 0xffff);
  q = Math.floor(cur / t);
  r = cur - q * t;
  sec = sec * 65536 + q;
  cur = r * 65536 + (lo >>> 16);
  q = Math.floor(cur / t);
  r = cur - q * t;
  sec = sec * 65536 + q;
  cur = r * 65536 + (lo & 0xffff);
  q = Math.floor(cur / t);
  r = cur - q * t;
  sec = sec * 65536 + q;
  const frac = t >= 1e6 ? r / (t / 1e6) : r * (1e6 / t);
  return sec * 1e6 + frac + iface.offsetUs;
}

/**
 * Synchronous push parser for a pcap or pcapng byte stream (already decompressed).
 * feed() the bytes in any chunking, then end(). Throws CaptureError for inputs that are not a
 * usable capture at all; reports recoverable problems through opts.onWarning.
 */
export class CaptureParser {
  private readonly frame: RawFrame;
  private readonly sink: FrameSink;
  private readonly onWarning: (w: CaptureWarning) => void;

  private state = S_DETECT;
  private ended = false;
  /** Byte order of the pcap file or the current pcapng section. */
  private le = true;
  /** pcap: timestamps' fraction is in ns (magic 0xa1b23c4d). */
  private nano = false;
  private pcapLinkType = 0;
  /** pcapng: interfaces of the current section, by id. */
  private ifaces: Iface[] = [];
  private sawSection = false;
  private warnedBadIface = false;
  /** Timestamp of the previous packet: a pcapng Simple Packet Block has none of its own. */
  private lastTsUs = 0;

  /** Decompressed stream offset of index 0 of the buffer being parsed (for warning offsets). */
  private base = 0;
  /** Bytes fed so far. */
  private total = 0;
  /** Unparsed tail of the previous chunk: the start of a record that straddles chunks. */
  private carry: Buffer = Buffer.allocUnsafe(64 * 1024);
  private carryLen = 0;
  private carryBase = 0;

  private packets = 0;
  private bytes = 0;
  private skipped = 0;
  private readonly linkTypes: number[] = [];

  constructor(
    readonly fileLabel: string,
    sink: FrameSink,
    opts: ReadOptions,
  ) {
    this.sink = sink;
    this.onWarning = opts.onWarning;
    // All fields set up front so the object keeps one shape for its whole life.
    this.frame = {
      tsUs: 0,
      linkType: 0,
      caplen: 0,
      origLen: 0,
      data: this.carry,
      offset: 0,
      sourceIndex: opts.sourceIndex,
    };
  }

  /** True once a corrupt record has ended parsing: the caller may stop reading the input. */
  get stopped(): boolean {
    return this.state === S_STOPPED;
  }

  /** Bytes fed so far (the decompressed stream offset). */
  get bytesFed(): number {
    return this.total;
  }

  feed(chunk: Buffer): void {
    if (this.ended) throw new Error('CaptureParser.feed() after end()');
    const chunkBase = this.total;
    this.total += chunk.length;
    if (this.state === S_STOPPED) return;
    let pos = 0;

    if (this.carryLen > 0) {
      // Complete the straddling record by copying just its missing bytes into the carry, so
      // the chunk itself is never copied or concatenated.
      this.base = this.carryBase;
      for (;;) {
        const need = this.needed(this.carry, 0, this.carryLen);
        if (need < 0) return;
        if (this.carryLen >= need) break;
        const take = Math.min(need - this.carryLen, chunk.length - pos);
        this.growCarry(need);
        chunk.copy(this.carry, this.carryLen, pos, pos + take);
        this.carryLen += take;
        pos += take;
        if (this.carryLen < need) return; // the whole chunk went into the carry
      }
      this.parse(this.carry, 0, this.carryLen);
      this.carryLen = 0;
      if (this.state === S_STOPPED) return;
    }

    this.base = chunkBase;
    pos = this.parse(chunk, pos, chunk.length);
    if (this.state !== S_STOPPED && pos < chunk.length) {
      const tail = chunk.length - pos;
      this.growCarry(tail);
      chunk.copy(this.carry, 0, pos);
      this.carryLen = tail;
      this.carryBase = chunkBase + pos;
    }
  }

  /** Finishes the input: reports a record cut by the end of the input. */
  end(): ReadResult {
    if (!this.ended) {
      this.ended = true;
      const st = this.state;
      if (st === S_DETECT) {
        if (this.total === 0) throw new CaptureError(this.fileLabel, 'empty file (no capture header)');
        throw new CaptureError(
          this.fileLabel,
          `not a pcap or pcapng capture (only ${this.total} byte${this.total === 1 ? '' : 's'})`,
        );
      }
      if (st === S_PCAP_HEADER) {
        throw new CaptureError(this.fileLabel, `truncated pcap file header (${this.total} of ${PCAP_HEADER_LEN} bytes)`);
      }
      if (st === S_PCAPNG && !this.sawSection) {
        throw new CaptureError(this.fileLabel, `truncated pcapng section header block (${this.total} bytes)`);
      }
      if (st !== S_STOPPED && this.carryLen > 0) {
        let what = 'a packet record';
        if (st === S_PCAPNG && this.carryLen >= 4) {
          const type = this.le ? u32le(this.carry, 0) : u32be(this.carry, 0);
          if (type !== BT_EPB && type !== BT_SPB && type !== BT_OPB) what = `a pcapng block (type ${hex32(type)})`;
        }
        this.warn(this.carryBase, `truncated: file ends inside ${what} at byte offset ${this.carryBase}`);
        this.carryLen = 0;
      }
    }
    return { packets: this.packets, bytes: this.bytes, linkTypes: this.linkTypes.slice(), skipped: this.skipped };
  }

  /** Reports a problem at a decompressed stream offset (used by readCapture for gzip errors too). */
  warn(offset: number, message: string): void {
    this.onWarning({ file: this.fileLabel, offset, message });
  }

  private stop(offset: number, message: string): void {
    this.state = S_STOPPED;
    this.carryLen = 0;
    this.warn(offset, message);
  }

  private growCarry(n: number): void {
    if (this.carry.length >= n) return;
    const bigger = Buffer.allocUnsafe(Math.max(n, this.carry.length * 2));
    this.carry.copy(bigger, 0, 0, this.carryLen);
    this.carry = bigger;
  }

  /**
   * Length of the record starting at buf[pos] when its header is available; otherwise the
   * number of header bytes needed to learn it. -1 when the record is corrupt (parsing stopped).
   */
  private needed(buf: Buffer, pos: number, avail: number): number {
    switch (this.state) {
      case S_DETECT:
        if (avail < 4) return 4;
        this.detect(buf, pos);
        return this.needed(buf, pos, avail);
      case S_PCAP_HEADER:
        return PCAP_HEADER_LEN;
      case S_PCAP:
        return this.pcapRecordLen(buf, pos, avail);
      case S_PCAPNG:
        return this.blockLen(buf, pos, avail);
      default:
        return -1;
    }
  }

  /** Parses every complete record in buf[pos, end); returns where the first incomplete one starts. */
  private parse(buf: Buffer, pos: number, end: number): number {
    for (;;) {
      switch (this.state) {
        case S_DETECT:
          if (end - pos < 4) return pos;
          this.detect(buf, pos);
          continue;
        case S_PCAP_HEADER:
          if (end - pos < PCAP_HEADER_LEN) return pos;
          this.pcapHeader(buf, pos);
          pos += PCAP_HEADER_LEN;
          continue;
        case S_PCAP:
          return this.pcapRecords(buf, pos, end);
        case S_PCAPNG:
          return this.pcapngBlocks(buf, pos, end);
        default:
          return pos;
      }
    }
  }

  private detect(buf: Buffer, pos: number): void {
    const magic = u32be(buf, pos);
    switch (magic) {
      case 0xa1b2c3d4:
      case 0xa1b23c4d:
        this.le = false;
        this.nano = magic === 0xa1b23c4d;
        this.state = S_PCAP_HEADER;
        return;
      case 0xd4c3b2a1:
      case 0x4d3cb2a1:
        this.le = true;
        this.nano = magic === 0x4d3cb2a1;
        this.state = S_PCAP_HEADER;
        return;
      case BT_SHB:
        this.state = S_PCAPNG;
        return;
      case 0xa1b2cd34:
      case 0x34cdb2a1:
        throw new CaptureError(this.fileLabel, `unsupported pcap variant (modified/Kuznetzov pcap, magic ${hex32(magic)})`);
    }
    if (magic >>> 16 === 0x1f8b) {
      throw new CaptureError(this.fileLabel, 'gzip-compressed data where a capture was expected (compressed twice?)');
    }
    throw new CaptureError(this.fileLabel, `not a pcap or pcapng capture (magic ${hex32(magic)})`);
  }

  // ---- pcap ----

  private pcapHeader(buf: Buffer, pos: number): void {
    const raw = this.le ? u32le(buf, pos + 20) : u32be(buf, pos + 20);
    // The upper bits may carry FCS information; libpcap's LT_LINKTYPE() keeps the low 26 bits.
    const lt = raw & 0x03ffffff;
    if (!isSupportedLinkType(lt)) {
      throw new CaptureError(this.fileLabel, `unsupported link type ${describeLinkType(lt)}`);
    }
    this.pcapLinkType = lt;
    this.linkTypes.push(lt);
    this.state = S_PCAP;
  }

  private pcapRecordLen(buf: Buffer, pos: number, avail: number): number {
    if (avail < PCAP_RECORD_HEADER_LEN) return PCAP_RECORD_HEADER_LEN;
    const caplen = this.le ? u32le(buf, pos + 8) : u32be(buf, pos + 8);
    if (caplen > MAX_CAPLEN) {
      // pcap records have no framing to resynchronise on, so nothing after this can be trusted.
      this.stop(
        this.base + pos,
        `corrupt packet record at byte offset ${this.base + pos}: captured length ${caplen} exceeds ${MAX_CAPLEN}; stopped reading this file`,
      );
      return -1;
    }
    return PCAP_RECORD_HEADER_LEN + caplen;
  }

  /** The hot loop for pcap: one record header read and one sink call per packet. */
  private pcapRecords(buf: Buffer, pos: number, end: number): number {
    const f = this.frame;
    const sink = this.sink;
    const le = this.le;
    const fracDiv = this.nano ? 1000 : 1;
    f.data = buf;
    f.linkType = this.pcapLinkType;
    let packets = 0;
    let bytes = 0;
    let ts = this.lastTsUs;
    while (end - pos >= PCAP_RECORD_HEADER_LEN) {
      const len = this.pcapRecordLen(buf, pos, end - pos);
      if (len < 0 || end - pos < len) break;
      const sec = le ? u32le(buf, pos) : u32be(buf, pos);
      const frac = le ? u32le(buf, pos + 4) : u32be(buf, pos + 4);
      const orig = le ? u32le(buf, pos + 12) : u32be(buf, pos + 12);
      ts = sec * 1e6 + frac / fracDiv;
      f.tsUs = ts;
      f.caplen = len - PCAP_RECORD_HEADER_LEN;
      f.origLen = orig;
      f.offset = pos + PCAP_RECORD_HEADER_LEN;
      packets++;
      bytes += orig;
      pos += len;
      sink(f);
    }
    this.lastTsUs = ts;
    this.packets += packets;
    this.bytes += bytes;
    return pos;
  }

  // ---- pcapng ----

  /** Total length of the block at buf[pos] (validated), header bytes still needed, or -1 if corrupt. */
  private blockLen(buf: Buffer, pos: number, avail: number): number {
    if (avail < 8) return 8;
    let le = this.le;
    const type = le ? u32le(buf, pos) : u32be(buf, pos);
    if (type === BT_SHB) {
      // The type is a palindrome; the byte-order magic that follows tells how to read the rest.
      if (avail < 12) return 12;
      const bom = u32le(buf, pos + 8);
      if (bom === BOM) le = true;
      else if (bom === BOM_SWAPPED) le = false;
      else {
        if (!this.sawSection) {
          throw new CaptureError(this.fileLabel, `not a pcapng capture (bad byte-order magic ${hex32(u32be(buf, pos + 8))})`);
        }
        this.stop(this.base + pos, `corrupt section header block at byte offset ${this.base + pos} (bad byte-order magic); stopped reading this file`);
        return -1;
      }
    }
    const len = le ? u32le(buf, pos + 4) : u32be(buf, pos + 4);
    if (len < 12 || (len & 3) !== 0 || len > MAX_BLOCK_LEN || (type === BT_SHB && len < 28)) {
      if (!this.sawSection) {
        throw new CaptureError(this.fileLabel, `not a valid pcapng capture (section header block length ${len})`);
      }
      this.stop(
        this.base + pos,
        `corrupt pcapng block at byte offset ${this.base + pos}: bad block length ${len}; stopped reading this file`,
      );
      return -1;
    }
    return len;
  }

  private pcapngBlocks(buf: Buffer, pos: number, end: number): number {
    const f = this.frame;
    f.data = buf;
    while (end - pos >= 8) {
      const len = this.blockLen(buf, pos, end - pos);
      if (len < 0 || end - pos < len) break;
      const le = this.le; // before an SHB switches it: the SHB's own type reads the same either way
      const type = le ? u32le(buf, pos) : u32be(buf, pos);
      if (type === BT_SHB) {
        if (!this.sectionHeader(buf, pos, len)) break;
        pos += len;
        continue;
      }
      const trailer = le ? u32le(buf, pos + len - 4) : u32be(buf, pos + len - 4);
      if (trailer !== len) {
        this.stop(
          this.base + pos,
          `corrupt pcapng block at byte offset ${this.base + pos}: trailing length ${trailer} does not match block length ${len}; stopped reading this file`,
        );
        break;
      }
      if (type === BT_EPB || type === BT_OPB) {
        if (len < 32) {
          this.stop(this.base + pos, `corrupt packet block at byte offset ${this.base + pos}: block length ${len} too short; stopped reading this file`);
          break;
        }
        const id = type === BT_EPB ? (le ? u32le(buf, pos + 8) : u32be(buf, pos + 8)) : le ? u16le(buf, pos + 8) : u16be(buf, pos + 8);
        const hi = le ? u32le(buf, pos + 12) : u32be(buf, pos + 12);
        const lo = le ? u32le(buf, pos + 16) : u32be(buf, pos + 16);
        const caplen = le ? u32le(buf, pos + 20) : u32be(buf, pos + 20);
        const orig = le ? u32le(buf, pos + 24) : u32be(buf, pos + 24);
        if (caplen > MAX_CAPLEN || caplen > len - 32) {
          this.stop(
            this.base + pos,
            `corrupt packet block at byte offset ${this.base + pos}: captured length ${caplen} exceeds ${caplen > MAX_CAPLEN ? MAX_CAPLEN : `the block's room (${len - 32})`}; stopped reading this file`,
          );
          break;
        }
        const iface = this.iface(id, pos);
        if (iface === undefined || !iface.supported) {
          this.skipped++;
        } else {
          const ts = ticksToUs(iface, hi, lo);
          this.lastTsUs = ts;
          f.tsUs = ts;
          f.linkType = iface.linkType;
          f.caplen = caplen;
          f.origLen = orig;
          f.offset = pos + 28;
          this.packets++;
          this.bytes += orig;
          this.sink(f);
        }
      } else if (type === BT_SPB) {
        if (len < 16) {
          this.stop(this.base + pos, `corrupt simple packet block at byte offset ${this.base + pos}: block length ${len} too short; stopped reading this file`);
          break;
        }
        const orig = le ? u32le(buf, pos + 8) : u32be(buf, pos + 8);
        const iface = this.iface(0, pos);
        if (iface === undefined || !iface.supported) {
          this.skipped++;
        } else {
          // An SPB records no captured length: it is what fits in the block, cut by the snaplen.
          let caplen = Math.min(orig, len - 16);
          if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
          f.tsUs = this.lastTsUs; // SPBs carry no timestamp
          f.linkType = iface.linkType;
          f.caplen = caplen;
          f.origLen = orig;
          f.offset = pos + 12;
          this.packets++;
          this.bytes += orig;
          this.sink(f);
        }
      } else if (type === BT_IDB) {
        if (!this.interfaceDescription(buf, pos, len)) break;
      }
      // Every other block type (NRB, ISB, DSB, custom…) carries nothing we need: skip it whole.
      pos += len;
    }
    return pos;
  }

  /** Interface `id` of the current section; warns once per section when it was never declared. */
  private iface(id: number, pos: number): Iface | undefined {
    const iface = this.ifaces[id];
    if (iface === undefined && !this.warnedBadIface) {
      this.warnedBadIface = true;
      this.warn(
        this.base + pos,
        `packet block at byte offset ${this.base + pos} refers to interface ${id}, but the section declares ${this.ifaces.length}; skipping such packets`,
      );
    }
    return iface;
  }

  private sectionHeader(buf: Buffer, pos: number, len: number): boolean {
    const le = u32le(buf, pos + 8) === BOM;
    const trailer = le ? u32le(buf, pos + len - 4) : u32be(buf, pos + len - 4);
    const major = le ? u16le(buf, pos + 12) : u16be(buf, pos + 12);
    if (trailer !== len || major !== 1) {
      const why = trailer !== len ? `trailing length ${trailer} does not match block length ${len}` : `unsupported pcapng version ${major}`;
      if (!this.sawSection) throw new CaptureError(this.fileLabel, `not a valid pcapng capture (${why})`);
      this.stop(this.base + pos, `corrupt section header block at byte offset ${this.base + pos}: ${why}; stopped reading this file`);
      return false;
    }
    // A new section starts afresh: its own byte order and its own interface list.
    this.le = le;
    this.ifaces = [];
    this.warnedBadIface = false;
    this.sawSection = true;
    return true;
  }

  private interfaceDescription(buf: Buffer, pos: number, len: number): boolean {
    const le = this.le;
    if (len < 20) {
      this.stop(this.base + pos, `corrupt interface description block at byte offset ${this.base + pos}: block length ${len} too short; stopped reading this file`);
      return false;
    }
    const linkType = le ? u16le(buf, pos + 8) : u16be(buf, pos + 8);
    const snaplen = le ? u32le(buf, pos + 12) : u32be(buf, pos + 12);
    let ticksPerSec = 1e6;
    let offsetUs = 0;
    // Options: code(2) length(2) value padded to 4 bytes, up to opt_endofopt or the trailer.
    const optEnd = pos + len - 4;
    let p = pos + 16;
    while (optEnd - p >= 4) {
      const code = le ? u16le(buf, p) : u16be(buf, p);
      const olen = le ? u16le(buf, p + 2) : u16be(buf, p + 2);
      if (code === 0 || p + 4 + olen > optEnd) break;
      if (code === 9 && olen >= 1) {
        // if_tsresol: high bit clear = 10^-n s per tick, set = 2^-n s per tick.
        const v = buf[p + 4];
        ticksPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
      } else if (code === 14 && olen >= 8) {
        // if_tsoffset: signed 64-bit seconds added to every timestamp of the interface.
        const hi = le ? u32le(buf, p + 8) : u32be(buf, p + 4);
        const lo = le ? u32le(buf, p + 4) : u32be(buf, p + 8);
        offsetUs = ((hi | 0) * 4294967296 + lo) * 1e6;
      }
      p += 4 + ((olen + 3) & ~3);
    }
    const tsKind =
      ticksPerSec === 1e6 ? TS_MICRO : Number.isInteger(ticksPerSec) && ticksPerSec <= 4294967296 ? TS_DIV : TS_FLOAT;
    const supported = isSupportedLinkType(linkType);
    this.ifaces.push({ linkType, supported, snaplen, tsKind, ticksPerSec, offsetUs });
    if (supported) {
      if (!this.linkTypes.includes(linkType)) this.linkTypes.push(linkType);
    } else {
      this.warn(
        this.base + pos,
        `interface ${this.ifaces.length - 1} has unsupported link type ${describeLinkType(linkType)}; skipping its packets`,
      );
    }
    return true;
  }
}

function fsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Reads a capture file; path '-' means standard input. Throws CaptureError (one clear line) when
 * the input cannot be read or is not a usable capture; recoverable problems go to opts.onWarning.
 */
export async function readCapture(path: string, sink: FrameSink, opts: ReadOptions): Promise<ReadResult> {
  if (path === '-') return readCaptureStream('stdin', process.stdin, sink, opts, null);
  let total: number | null;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new CaptureError(path, 'is a directory, not a capture file');
    // Only a regular file's size is meaningful (a FIFO or /dev/stdin reports 0).
    total = st.isFile() ? st.size : null;
  } catch (e) {
    if (e instanceof CaptureError) throw e;
    throw new CaptureError(path, `cannot read: ${fsErrorText(e)}`);
  }
  if (total === 0) throw new CaptureError(path, 'empty file (no capture header)');
  if (total !== null) {
    const result = await readPlainFile(path, sink, opts, total);
    if (result !== null) return result;
  }
  return readCaptureStream(path, createReadStream(path, { highWaterMark: READ_CHUNK }), sink, opts, total);
}

/**
 * The common case, an uncompressed regular file, read into ONE reused buffer: a stream would
 * allocate a fresh chunk per read, and those wait for the garbage collector (tens of MB of RSS on
 * a large file). Safe because the parser copies an unfinished record out before feed() returns.
 * Returns null for a gzip file, which goes through the stream path.
 */
async function readPlainFile(path: string, sink: FrameSink, opts: ReadOptions, total: number): Promise<ReadResult | null> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new CaptureError(path, `cannot read: ${fsErrorText(e)}`);
  }
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    const parser = new CaptureParser(path, sink, opts);
    let offset = 0;
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await fh.read(buf, 0, buf.length, offset));
      } catch (e) {
        throw new CaptureError(path, `cannot read: ${fsErrorText(e)}`);
      }
      if (offset === 0 && bytesRead >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return null;
      if (bytesRead === 0) break;
      offset += bytesRead;
      if (opts.beforeChunk !== undefined) await opts.beforeChunk();
      parser.feed(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      opts.onProgress?.(offset, total);
      if (parser.stopped) break;
    }
    return parser.end();
  } finally {
    await fh.close();
  }
}

/**
 * Reads a capture from any byte stream (gzip detected by its magic). Exported for stdin-like
 * sources and tests; `label` names the input in errors and warnings. Destroys `input` when done.
 */
export async function readCaptureStream(
  label: string,
  input: Readable,
  sink: FrameSink,
  opts: ReadOptions,
  totalBytes: number | null,
): Promise<ReadResult> {
  const parser = new CaptureParser(label, sink, opts);
  const onProgress = opts.onProgress;
  const it: AsyncIterator<Buffer> = input[Symbol.asyncIterator]();
  let compressed = 0;
  let reported = -1;
  const progress = (): void => {
    if (onProgress !== undefined && compressed !== reported) {
      reported = compressed;
      onProgress(compressed, totalBytes);
    }
  };
  // Read errors become one-line CaptureErrors here, so that an exception thrown by the sink
  // (a consumer bug) is never mistaken for an I/O problem below.
  const next = async (): Promise<Buffer | undefined> => {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (e) {
      throw new CaptureError(label, `cannot read: ${fsErrorText(e)}`);
    }
    if (r.done) return undefined;
    compressed += r.value.length;
    return r.value;
  };
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  try {
    // Sniff the first two bytes for the gzip magic (a pipe may deliver a 1-byte first chunk).
    let first: Buffer = Buffer.alloc(0);
    while (first.length < 2) {
      const c = await next();
      if (c === undefined) break;
      first = first.length === 0 ? c : Buffer.concat([first, c]);
    }
    if (first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b) {
      gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
      const z = gunzip;
      const raw = async function* (): AsyncGenerator<Buffer> {
        yield first;
        for (let c = await next(); c !== undefined; c = await next()) yield c;
      };
      // Errors of either stream surface in the loop below (pipeline destroys the gunzip with them).
      pipeline(Readable.from(raw(), { objectMode: false }), z, () => {});
      try {
        for await (const chunk of z as AsyncIterable<Buffer>) {
          if (opts.beforeChunk !== undefined) await opts.beforeChunk();
          parser.feed(chunk);
          progress();
          if (parser.stopped) break;
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException)?.code;
        if (e instanceof CaptureError || typeof code !== 'string' || !code.startsWith('Z_')) throw e;
        const out = parser.bytesFed;
        const what = code === 'Z_BUF_ERROR' ? 'truncated gzip stream' : 'corrupt gzip stream';
        const msg = (e as Error).message;
        if (out === 0) throw new CaptureError(label, `${what} (${msg})`);
        parser.warn(out, `${what} (${msg}) after ${out} decompressed bytes; keeping what was decompressed`);
      }
    } else {
      if (first.length > 0) {
        if (opts.beforeChunk !== undefined) await opts.beforeChunk();
        parser.feed(first);
        progress();
      }
      while (!parser.stopped) {
        const c = await next();
        if (c === undefined) break;
        if (opts.beforeChunk !== undefined) await opts.beforeChunk();
        parser.feed(c);
        progress();
      }
    }
    return parser.end();
  } finally {
    // Stop reading (and close the file) when we finish early or fail.
    gunzip?.destroy();
    input.destroy();
  }
}
