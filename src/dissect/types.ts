/**
 * The interface between the flow stage and the protocol dissectors.
 *
 * A flow is inspected only while it is undecided. The inspector (src/dissect/inspector.ts) hands
 * each candidate dissector the first payload of the flow through `probe`; the one that claims it
 * gets a per-flow state from `start` and is then fed, in order, the bytes of each direction:
 * for TCP the reassembled stream (first bytes only, bounded), for UDP one datagram at a time.
 * When `feed` returns true the flow is decided and no more payload is looked at.
 *
 * Rules for every dissector:
 * - never throw on packet contents (a lie in a length field, truncation, random bytes) and never
 *   loop without consuming: bound every loop by the bytes available;
 * - never keep a reference to `data` after returning (the buffer is reused): copy what you keep;
 * - no regular expressions on binary data in probe() (it runs per undecided flow);
 * - secrets (passwords, community strings, tokens) are never kept in clear in facts: keep only
 *   `maskSecret()` of them (src/dissect/secret.ts).
 */

export const Probe = {
  /** Not this protocol. */
  NO: 0,
  /** Could be: ask again with more bytes. */
  MAYBE: 1,
  /** This protocol, certainly. */
  YES: 2,
} as const;
export type Probe = (typeof Probe)[keyof typeof Probe];

export interface DissectContext {
  /** 6 (TCP) or 17 (UDP). */
  readonly proto: number;
  readonly clientPort: number;
  readonly serverPort: number;
  /** Capture time of the packet being handed over, in microseconds. */
  readonly tsUs: number;
}

export interface Dissector<F> {
  /** Protocol name as users see it in `app`: 'tls', 'http', 'dns', … */
  readonly name: string;
  readonly transports: readonly ('tcp' | 'udp')[];
  /**
   * Packets of a flow inspected once this dissector has claimed it, when the inspector's default
   * (InspectionLimits.packets) is too few: a telnet login comes after a long option negotiation,
   * and may be typed one keystroke per packet, each echoed and acknowledged. The byte budget
   * still applies.
   */
  readonly packets?: number;
  /**
   * Decide from the first payload bytes of a direction whether the flow speaks this protocol.
   * `fromClient` tells whose bytes they are (servers speak first in SSH, FTP, SMTP, telnet…).
   */
  probe(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): Probe;
  /** Per-flow parser state, created once the dissector has claimed the flow. */
  start(ctx: DissectContext): DissectorState<F>;
}

export interface DissectorState<F> {
  /**
   * In-order bytes of one direction (TCP: the next piece of the reassembled stream; UDP: one
   * datagram). Returns true when the facts are final and inspection can stop.
   */
  feed(data: Buffer, offset: number, length: number, fromClient: boolean, ctx: DissectContext): boolean;
  /** The facts learned so far: a plain, JSON-serialisable object. */
  facts(): F;
}

/** A password or other secret as it may be stored and shown (DESIGN.md): never the secret itself. */
export interface MaskedSecret {
  /** e.g. "a****n": first and last character only for secrets of 8 or more characters, else all stars. */
  masked: string;
  length: number;
  /** Character classes present. */
  classes: ('lower' | 'upper' | 'digit' | 'symbol')[];
  /** The user/secret pair is a well-known factory default (src/intel/default-credentials.ts). */
  matches_default: boolean;
  /**
   * The secret equals the user name: the user name is then stored and shown masked too
   * (`userShown`), since showing it would show the password.
   */
  same_as_user: boolean;
  /** The secret alone is one of the most common passwords. */
  common: boolean;
  /** 0 (trivial) to 4 (strong), from length, classes and the lists above. */
  score: number;
}
