/**
 * The encryption verdict for a flow: can anyone on the path read what this device says?
 * Every case is matched exhaustively with ts-pattern: a new protocol or evidence kind that is not
 * handled here is a compile error, not a silent "unknown".
 */
import { match } from 'ts-pattern';
import { IpProto } from '../decode/packet.js';
import type { FirstBytes } from '../dissect/inspector.js';
import type { Flow } from '../flow/flow.js';
import { guessPayload, payloadStats, type PayloadStats } from './payload-guess.js';

export type Encryption = 'encrypted' | 'plaintext' | 'unknown';

export interface Verdict {
  app: string | null;
  encryption: Encryption;
  /** A short human reason: "TLS 1.3", "HTTP in clear", "unrecognised, high-entropy payload (a guess)". */
  reason: string;
  serverName: string | null;
}

/** Every protocol a dissector can claim a flow for. */
export const APP_NAMES = [
  'tls', 'dtls', 'quic', 'ssh', 'http', 'telnet', 'ftp', 'smtp', 'pop3', 'imap', 'mqtt', 'rtsp', 'smb',
  'dns', 'mdns', 'llmnr', 'dhcp', 'dhcpv6', 'ssdp', 'ntp', 'snmp', 'coap', 'tftp', 'netbios',
  'wireguard', 'openvpn', 'ipsec', 'stun',
] as const;
export type AppName = (typeof APP_NAMES)[number];

export function isAppName(name: string | null): name is AppName {
  return name !== null && (APP_NAMES as readonly string[]).includes(name);
}

/** What we know about a flow, from the strongest evidence down. */
export type Evidence =
  | { kind: 'other-transport'; proto: number }
  | { kind: 'no-payload'; tcp: boolean; answered: boolean }
  | { kind: 'payload-not-captured' }
  | { kind: 'claimed'; app: AppName; facts: Facts }
  | { kind: 'unclaimed'; client: PayloadStats | null; server: PayloadStats | null };

/** Dissector facts, read defensively: each dissector defines its own shape. */
type Facts = Record<string, unknown>;

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function get(facts: Facts, ...path: string[]): unknown {
  let v: unknown = facts;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

export function evidenceOf(flow: Flow): Evidence {
  if (flow.proto !== IpProto.TCP && flow.proto !== IpProto.UDP) return { kind: 'other-transport', proto: flow.proto };
  if (isAppName(flow.app)) return { kind: 'claimed', app: flow.app, facts: (flow.facts ?? {}) as Facts };
  if (flow.payloadC2S + flow.payloadS2C === 0) {
    return { kind: 'no-payload', tcp: flow.proto === IpProto.TCP, answered: flow.packetsS2C > 0 };
  }
  const ins = flow.inspection;
  if (ins === null) return { kind: 'payload-not-captured' };
  const stats = (first: FirstBytes | null) => (first === null || first.length === 0 ? null : payloadStats(first.data, 0, first.length));
  const [client, server] = [stats(ins.first[0]), stats(ins.first[1])];
  if (client === null && server === null) return { kind: 'payload-not-captured' };
  return { kind: 'unclaimed', client, server };
}

/**
 * The guess for unrecognised payload: readable if either direction is readable (a printable
 * request next to a random download is still a readable request); encrypted only if every
 * direction with enough bytes looks random.
 */
function guessBoth(client: PayloadStats | null, server: PayloadStats | null): 'printable' | 'low-entropy' | 'high-entropy' | 'unsure' | 'too-little' {
  const sides = [client, server].filter((x): x is PayloadStats => x !== null);
  const guesses = sides.map((x) => ({ x, g: guessPayload(x) }));
  if (guesses.some(({ g }) => g === 'printable')) return 'printable';
  if (guesses.some(({ x, g }) => g === 'binary' && x.entropy < 0.6 * Math.min(8, Math.log2(x.bytes)))) return 'low-entropy';
  const judged = guesses.filter(({ g }) => g !== 'too-little');
  if (judged.length === 0) return 'too-little';
  return judged.every(({ g }) => g === 'high-entropy') ? 'high-entropy' : 'unsure';
}

export function classifyFlow(flow: Flow): Verdict {
  const evidence = evidenceOf(flow);
  const v = verdictOf(evidence);
  return { ...v, serverName: serverNameOf(evidence, flow) };
}

/** Server name in order of trust: TLS/QUIC SNI, HTTP Host, the device's own DNS answer, certificate subject. */
function serverNameOf(e: Evidence, flow: Flow): string | null {
  if (e.kind === 'claimed') {
    const f = e.facts;
    const sni = str(get(f, 'sni')) ?? str(get(f, 'client_hello', 'sni'));
    if (sni) return sni.toLowerCase();
    const host = str(get(f, 'host')) ?? str(get(f, 'requests', '0', 'host'));
    if (host) return host.toLowerCase().replace(/:\d+$/, '');
  }
  return flow.dnsName;
}

function tlsVersionName(v: unknown): string {
  return typeof v === 'string' ? v : 'TLS';
}

export function verdictOf(e: Evidence): Omit<Verdict, 'serverName'> {
  return match(e)
    .returnType<Omit<Verdict, 'serverName'>>()
    .with({ kind: 'other-transport' }, ({ proto }) =>
      match(proto)
        .with(IpProto.ESP, () => ({ app: 'ipsec', encryption: 'encrypted' as const, reason: 'IPsec ESP' }))
        .with(IpProto.ICMP, IpProto.ICMPV6, () => ({ app: 'icmp', encryption: 'unknown' as const, reason: 'ICMP control traffic (no application data)' }))
        .with(IpProto.GRE, () => ({ app: 'gre', encryption: 'unknown' as const, reason: 'GRE tunnel (inner traffic not inspected)' }))
        .otherwise((p) => ({ app: null, encryption: 'unknown' as const, reason: `IP protocol ${p} (not inspected)` })),
    )
    .with({ kind: 'no-payload' }, ({ tcp, answered }) => ({
      app: null,
      encryption: 'unknown' as const,
      reason: tcp ? (answered ? 'no payload (TCP handshake only)' : 'no payload (connection attempt, no answer)') : 'no payload',
    }))
    .with({ kind: 'payload-not-captured' }, () => ({
      app: null,
      encryption: 'unknown' as const,
      reason: 'payload not captured (snaplen cut it off)',
    }))
    .with({ kind: 'unclaimed' }, ({ client, server }) =>
      match(guessBoth(client, server))
        .with('high-entropy', () => ({ app: null, encryption: 'encrypted' as const, reason: 'unrecognised, high-entropy payload (a guess)' }))
        .with('printable', () => ({ app: null, encryption: 'plaintext' as const, reason: 'unrecognised, printable payload (a guess)' }))
        .with('low-entropy', () => ({ app: null, encryption: 'plaintext' as const, reason: 'unrecognised, low-entropy binary payload (a guess)' }))
        .with('unsure', () => ({ app: null, encryption: 'unknown' as const, reason: 'unrecognised binary payload' }))
        .with('too-little', () => ({ app: null, encryption: 'unknown' as const, reason: 'unrecognised, too little payload to judge' }))
        .exhaustive(),
    )
    .with({ kind: 'claimed' }, ({ app, facts }) => claimedVerdict(app, facts))
    .exhaustive();
}

function claimedVerdict(app: AppName, f: Facts): Omit<Verdict, 'serverName'> {
  const enc = (reason: string) => ({ app, encryption: 'encrypted' as const, reason });
  const clear = (reason: string) => ({ app, encryption: 'plaintext' as const, reason });
  return match(app)
    .with('tls', () => enc(tlsVersionName(get(f, 'version_name') ?? get(f, 'server_hello', 'version_name'))))
    .with('dtls', () => enc('DTLS'))
    .with('quic', () => enc(str(get(f, 'version_name')) ? `QUIC ${str(get(f, 'version_name'))}` : 'QUIC'))
    .with('ssh', () => enc(str(get(f, 'protocol')) ? `SSH-${str(get(f, 'protocol'))}` : 'SSH'))
    .with('wireguard', () => enc('WireGuard'))
    .with('openvpn', () => enc('OpenVPN'))
    .with('ipsec', () => enc('IPsec'))
    .with('http', () => (get(f, 'connect') ? enc('HTTP CONNECT tunnel') : clear('HTTP in clear')))
    .with('smtp', 'pop3', 'imap', 'ftp', (a) =>
      get(f, 'starttls_accepted') === true || get(f, 'tls_upgrade') === true
        ? enc(`${a.toUpperCase()} with STARTTLS upgrade`)
        : clear(`${a.toUpperCase()} in clear`),
    )
    .with('snmp', () => (get(f, 'privacy') === true ? enc('SNMPv3 with privacy') : clear('SNMP in clear')))
    .with('telnet', 'mqtt', 'rtsp', 'coap', 'tftp', 'ssdp', 'netbios', 'smb', (a) => clear(`${a.toUpperCase()} in clear`))
    .with('dns', 'mdns', 'llmnr', (a) => clear(`${a.toUpperCase()} in clear`))
    .with('dhcp', 'dhcpv6', 'ntp', 'stun', (a) => clear(`${a.toUpperCase()} in clear`))
    .exhaustive();
}
