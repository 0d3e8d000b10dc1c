/**
 * The capture stage's output: one raw link-layer frame at a time.
 *
 * A source reuses ONE RawFrame object for every packet and points `data` at its
 * own read buffer, so a consumer must finish with the frame (or copy what it
 * keeps) before returning. This keeps the hot path free of per-packet objects.
 */
export interface RawFrame {
  /** Capture timestamp in microseconds since the Unix epoch (fractional for ns captures). */
  tsUs: number;
  /** LINKTYPE_* value of the interface the frame came from. */
  linkType: number;
  /** Bytes captured (may be less than origLen when a snaplen cut the packet). */
  caplen: number;
  /** Length of the packet on the wire. */
  origLen: number;
  /** Buffer holding the frame; the frame is data[offset, offset + caplen). */
  data: Buffer;
  offset: number;
  /** Index of the input file (analyze with several files) or interface. */
  sourceIndex: number;
}

export type FrameSink = (frame: RawFrame) => void;

/** A problem with the input that does not stop the run (cut file, bad record). */
export interface CaptureWarning {
  file: string;
  /** Byte offset in the (decompressed) capture stream where the problem starts. */
  offset: number;
  message: string;
}

/** A warning as one line for the user (and the capture record's warnings). */
export function formatWarning(w: CaptureWarning): string {
  return `${w.file}: ${w.message}`;
}

/** A fatal problem with an input (not a capture, unknown link type): one clear line for the user. */
export class CaptureError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'CaptureError';
  }
}

/** LINKTYPE values we decode (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** Some pcap writers use the DLT value instead of the LINKTYPE for raw IP. */
export const DLT_RAW_ALIASES = [12, 14];

export function isSupportedLinkType(lt: number): boolean {
  return (
    lt === LinkType.NULL ||
    lt === LinkType.ETHERNET ||
    lt === LinkType.RAW ||
    lt === LinkType.LOOP ||
    lt === LinkType.LINUX_SLL ||
    lt === LinkType.IPV4 ||
    lt === LinkType.IPV6 ||
    lt === LinkType.LINUX_SLL2 ||
    DLT_RAW_ALIASES.includes(lt)
  );
}

/**
 * Names of common LINKTYPE values, so an "unsupported link type" message tells the user what the
 * capture is (Wi-Fi radiotap, USB, Bluetooth…) rather than a bare number.
 */
const LINK_TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'ETHERNET',
  3: 'AX25',
  6: 'IEEE802_5',
  7: 'ARCNET_BSD',
  8: 'SLIP',
  9: 'PPP',
  10: 'FDDI',
  12: 'RAW (DLT 12)',
  14: 'RAW (DLT 14)',
  50: 'PPP_HDLC',
  51: 'PPP_ETHER',
  101: 'RAW',
  104: 'C_HDLC',
  105: 'IEEE802_11',
  107: 'FRELAY',
  108: 'LOOP',
  113: 'LINUX_SLL',
  117: 'PFLOG',
  119: 'IEEE802_11_PRISM',
  127: 'IEEE802_11_RADIOTAP',
  138: 'APPLE_IP_OVER_IEEE1394',
  143: 'DOCSIS',
  163: 'IEEE802_11_AVS',
  187: 'BLUETOOTH_HCI_H4',
  189: 'USB_LINUX',
  192: 'PPI',
  195: 'IEEE802_15_4_WITHFCS',
  197: 'ERF',
  201: 'BLUETOOTH_HCI_H4_WITH_PHDR',
  220: 'USB_LINUX_MMAPPED',
  227: 'CAN_SOCKETCAN',
  228: 'IPV4',
  229: 'IPV6',
  230: 'IEEE802_15_4_NOFCS',
  239: 'NFLOG',
  249: 'USBPCAP',
  251: 'BLUETOOTH_LE_LL',
  252: 'WIRESHARK_UPPER_PDU',
  253: 'NETLINK',
  254: 'BLUETOOTH_LINUX_MONITOR',
  256: 'BLUETOOTH_LE_LL_WITH_PHDR',
  258: 'PKTAP',
  266: 'USB_DARWIN',
  274: 'ETHERNET_MPACKET',
  276: 'LINUX_SLL2',
  283: 'IEEE802_15_4_TAP',
};

/** LINKTYPE name (e.g. 'IEEE802_11_RADIOTAP'), or undefined when we do not know it. */
export function linkTypeName(lt: number): string | undefined {
  if (lt >= 147 && lt <= 162) return `USER${lt - 147}`;
  return LINK_TYPE_NAMES[lt];
}
