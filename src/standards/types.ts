/**
 * The interface between classification and the five standards' detectors.
 *
 * Detectors look at each flow twice: when its inspection is over (`inspected`: the dissector's
 * facts and the verdict are there, and are dropped right after) and when it ends (`ended`: the
 * final counters). They report through an Emitter:
 * - a finding: something that falls short of a standard (DESIGN.md's stable codes below);
 * - an observation: positive evidence that the traffic a standard is about was seen and was fine
 *   (an update fetched over TLS, a banner that is current), which turns a card cell from
 *   not-observed into pass.
 * Both are deduplicated per (device, code or kind, remote) and counted (src/standards/engine.ts).
 */
import type { Verdict } from '../classify/verdict.js';
import type { Device } from '../flow/devices.js';
import type { Flow } from '../flow/flow.js';

export const STANDARDS = {
  1: 'Encrypted communications',
  2: 'Security updates',
  3: 'Strong passwords',
  4: 'Vulnerability management',
  5: 'Privacy practices',
} as const;
export type Standard = keyof typeof STANDARDS;
export const STANDARD_NUMBERS: readonly Standard[] = [1, 2, 3, 4, 5];

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Every finding code, with the standard it belongs to (DESIGN.md; documented in the README). */
export const FINDING_CODES = {
  'plaintext-flow': 1,
  'plaintext-dns': 1,
  'tls-obsolete-version': 1,
  'tls-weak-cipher': 1,
  'tls-self-signed': 1,
  'tls-expired-certificate': 1,
  'tls-hostname-mismatch': 1,
  'ssh-obsolete': 1,
  'update-over-plaintext': 2,
  'update-unsigned': 2,
  'update-manifest-plaintext': 2,
  'executable-over-plaintext': 2,
  'cleartext-credentials': 3,
  'default-credentials': 3,
  'weak-password': 3,
  'snmp-default-community': 3,
  'outdated-software': 4,
  'risky-service-exposed': 4,
  'upnp-port-mapping': 4,
  'tracker-contact': 5,
  'pii-in-plaintext': 5,
} as const satisfies Record<string, Standard>;
export type FindingCode = keyof typeof FINDING_CODES;

/** Kinds of positive evidence, with their standard. */
export const OBSERVATION_KINDS = {
  /** Application data sent encrypted. */
  'encrypted-traffic': 1,
  /** An update or firmware fetched over TLS (name or path says so). */
  'update-over-tls': 2,
  /** A login that travelled only inside an encrypted channel (SSH, STARTTLS before AUTH, TLS ports of login protocols). */
  'login-encrypted': 3,
  /** A software version seen in a banner or agent, not past its end of life. */
  'software-current': 4,
  /** Named remote endpoints the device talked to (none of them a known tracker on their own). */
  'endpoint-contacted': 5,
} as const satisfies Record<string, Standard>;
export type ObservationKind = keyof typeof OBSERVATION_KINDS;

/** Evidence attached to a finding or observation: plain JSON, never a secret in clear. */
export type EvidenceDetail = Record<string, unknown>;

export interface FindingInput {
  code: FindingCode;
  severity: Severity;
  /** One line a non-expert understands. */
  title: string;
  /** What exactly was seen. */
  detail: string;
  /** The other end (host name or address, with port where it matters); '' when not about one. */
  remote: string;
  evidence?: EvidenceDetail;
}

export interface ObservationInput {
  kind: ObservationKind;
  detail: string;
  remote: string;
  evidence?: EvidenceDetail;
}

export interface Emitter {
  finding(deviceId: string, f: FindingInput): void;
  observe(deviceId: string, o: ObservationInput): void;
}

/** A flow as detectors see it. */
export interface FlowContext {
  readonly flow: Flow;
  readonly verdict: Verdict;
  /** The dissector's facts (only in `inspected`; typed by `verdict.app`). */
  readonly facts: unknown;
  /** The LAN device on each side, if any. */
  readonly client: Device | null;
  readonly server: Device | null;
  /** The side that is not `flow.deviceId`: its name (SNI, Host, DNS) or address. */
  readonly remoteName: string;
  /** remoteName with the server port ("host:443"); when the device is the server, "client to port 23". */
  readonly remote: string;
  readonly clientIp: string;
  readonly serverIp: string;
  /** Capture time in microseconds. */
  readonly tsUs: number;
}

export interface Detector {
  readonly standard: Standard;
  inspected?(ctx: FlowContext, out: Emitter): void;
  ended?(ctx: FlowContext, out: Emitter): void;
}

/** The typed facts of an app, for detectors: `factsOf(ctx, 'http')` is HttpFacts or null. */
export function isApp(ctx: FlowContext, app: string): boolean {
  return ctx.verdict.app === app && ctx.facts !== null && ctx.facts !== undefined;
}
