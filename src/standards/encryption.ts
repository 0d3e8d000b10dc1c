/**
 * Standard 1, encrypted communications: "the product must use encryption for all of its network
 * communications". Flags application data in clear (worse when it carried a login), plain DNS,
 * and TLS/SSH that is encrypted in name only: obsolete versions, weak ciphers, and certificates a
 * client should have refused (self-signed, expired, for another name) but went on with.
 */
import { match, P } from 'ts-pattern';
import type { SshFacts } from '../dissect/ssh.js';
import type { TlsCertificateFacts, TlsFacts } from '../dissect/tls.js';
import { credentialsOf } from './credentials.js';
import type { Detector, Emitter, FlowContext, Severity } from './types.js';

/** Local discovery and infrastructure protocols: in clear by design, judged by other standards. */
const INFRASTRUCTURE = new Set(['dhcp', 'dhcpv6', 'mdns', 'llmnr', 'ssdp', 'netbios', 'ntp', 'ubnt-discovery']);

/** SSH-2 algorithms that no longer protect a session (RFC 9142, RFC 8758, OpenSSH's removals). */
const OBSOLETE_SSH = new Set([
  'diffie-hellman-group1-sha1', 'diffie-hellman-group-exchange-sha1', 'arcfour', 'arcfour128', 'arcfour256',
  '3des-cbc', 'blowfish-cbc', 'cast128-cbc', 'des-cbc', 'none',
]);

function plaintext(ctx: FlowContext, out: Emitter, deviceId: string): void {
  const app = ctx.verdict.app;
  if (app !== null && INFRASTRUCTURE.has(app)) return;
  const creds = credentialsOf(app, ctx.facts).filter((c) => c.readable);
  const what = app === null ? 'unrecognised data that looks readable' : app.toUpperCase();
  match({ app, creds: creds.length })
    .with({ app: 'dns' }, () => {
      // Only the asking device: a resolver on the LAN answering is not its choice.
      if (!ctx.flow.deviceIsClient) return;
      out.finding(deviceId, {
        code: 'plaintext-dns',
        severity: 'low',
        title: 'Looks up names in plain DNS',
        detail: `DNS queries to ${ctx.remote} travel unencrypted: anyone on the path sees which services the device uses.`,
        remote: ctx.remote,
        evidence: { protocol: 'dns' },
      });
    })
    .with({ creds: P.number.gt(0) }, () => {
      out.finding(deviceId, {
        code: 'plaintext-flow',
        severity: 'high',
        title: `Sends a login in clear text (${what})`,
        detail: `${what} with ${ctx.remote} is unencrypted and carried ${creds.map((c) => c.method).join(', ')}.`,
        remote: ctx.remote,
        evidence: { protocol: app, reason: ctx.verdict.reason, credentials: creds.length },
      });
    })
    .with({ app: 'telnet' }, () => {
      out.finding(deviceId, {
        code: 'plaintext-flow',
        severity: 'high',
        title: 'Remote shell in clear text (telnet)',
        detail: `A telnet session with ${ctx.remote}: every keystroke, including logins, can be read on the path.`,
        remote: ctx.remote,
        evidence: { protocol: app, reason: ctx.verdict.reason },
      });
    })
    .otherwise(() => {
      out.finding(deviceId, {
        code: 'plaintext-flow',
        severity: 'medium',
        title: `Sends data in clear text (${what})`,
        detail: `${ctx.verdict.reason} with ${ctx.remote}: anyone on the path can read and change it.`,
        remote: ctx.remote,
        evidence: { protocol: app, reason: ctx.verdict.reason },
      });
    });
}

/**
 * A certificate problem matters most when the client carried on regardless: a client that rejects
 * the certificate sends a fatal alert instead of finishing the handshake.
 */
function clientWentOn(t: TlsFacts): boolean {
  return (t.handshake_complete || t.application_data_seen) && !t.alerts.some((a) => a.from === 'client' && a.level === 2);
}

function certificateProblems(ctx: FlowContext, out: Emitter, deviceId: string, t: TlsFacts, leaf: TlsCertificateFacts): void {
  const wentOn = clientWentOn(t);
  const asClient = ctx.flow.deviceIsClient;
  // The device as client accepted a bad certificate (anyone can impersonate the server): high.
  // The device as server presents one (its clients learn to accept anything): medium.
  const severity: Severity = asClient ? (wentOn ? 'high' : 'low') : 'medium';
  const accepted = asClient ? (wentOn ? ' and the device went on to send data anyway' : ', and the device stopped') : '';
  const name = t.client_hello?.sni ?? ctx.remoteName;
  const evidence = {
    protocol: 'tls',
    subject: leaf.subject,
    issuer: leaf.issuer,
    san_dns: leaf.san_dns,
    valid_from: leaf.valid_from,
    valid_to: leaf.valid_to,
    fingerprint256: leaf.fingerprint256,
    client_went_on: wentOn,
  };
  if (leaf.self_signed) {
    out.finding(deviceId, {
      code: 'tls-self-signed',
      severity,
      title: asClient ? 'Trusts a self-signed certificate' : 'Serves a self-signed certificate',
      detail: `${name} presented a self-signed certificate (${leaf.subject})${accepted}.`,
      remote: ctx.remote,
      evidence,
    });
  }
  if (leaf.expired || leaf.not_yet_valid) {
    out.finding(deviceId, {
      code: 'tls-expired-certificate',
      severity,
      title: asClient ? 'Trusts an expired certificate' : 'Serves an expired certificate',
      detail: `${name} presented a certificate valid ${leaf.valid_from ?? '?'} to ${leaf.valid_to ?? '?'}, outside that period at the time of the capture${accepted}.`,
      remote: ctx.remote,
      evidence,
    });
  }
  if (t.sni_matches_certificate === false) {
    out.finding(deviceId, {
      code: 'tls-hostname-mismatch',
      severity,
      title: asClient ? 'Trusts a certificate issued for another name' : 'Serves a certificate for another name',
      detail: `The device asked for ${t.client_hello?.sni ?? '?'} but the certificate names ${leaf.san_dns.length > 0 ? leaf.san_dns.join(', ') : leaf.subject}${accepted}.`,
      remote: ctx.remote,
      evidence,
    });
  }
}

function tls(ctx: FlowContext, out: Emitter, deviceId: string, t: TlsFacts): void {
  const version = t.version;
  if (t.obsolete_version && version !== null) {
    const name = t.version_name ?? `0x${version.toString(16)}`;
    // SSL 2/3 are broken outright (POODLE, DROWN); TLS 1.0/1.1 were deprecated by RFC 8996.
    const severity: Severity = version <= 0x0300 ? 'high' : 'medium';
    out.finding(deviceId, {
      code: 'tls-obsolete-version',
      severity,
      title: `Uses an obsolete TLS version (${name})`,
      detail: `${name} was negotiated with ${ctx.remote}; versions before TLS 1.2 are deprecated (RFC 8996).`,
      remote: ctx.remote,
      evidence: { protocol: 'tls', version: name, cipher: t.server_hello?.cipher_name ?? null },
    });
  }
  const ch = t.client_hello;
  if (version === null && ch !== null && ch.max_version !== null && ch.max_version < 0x0303 && t.transport === 'tcp') {
    // No version negotiated (the server refused, or the answer was not seen), but the client
    // offered nothing newer than TLS 1.1: it cannot speak a current version.
    const name = ch.max_version_name ?? `0x${ch.max_version.toString(16)}`;
    out.finding(deviceId, {
      code: 'tls-obsolete-version',
      severity: ch.max_version <= 0x0300 ? 'high' : 'medium',
      title: `Offers only an obsolete TLS version (${name})`,
      detail: `The device offered ${ctx.remote} nothing newer than ${name}; versions before TLS 1.2 are deprecated (RFC 8996).`,
      remote: ctx.remote,
      evidence: { protocol: 'tls', offered_max: name },
    });
  }
  const sh = t.server_hello;
  if (sh !== null && sh.weak_cipher) {
    const classes = sh.weak_cipher_classes;
    // No encryption, no authentication or 40-bit keys: readable or forgeable. RC4/DES/3DES: breakable.
    const severity: Severity = classes.some((c) => c === 'null' || c === 'export' || c === 'anon') ? 'high' : 'medium';
    out.finding(deviceId, {
      code: 'tls-weak-cipher',
      severity,
      title: `Uses a weak cipher (${classes.join(', ').toUpperCase()})`,
      detail: `${sh.cipher_name ?? 'A weak cipher suite'} was negotiated with ${ctx.remote}.`,
      remote: ctx.remote,
      evidence: { protocol: 'tls', cipher: sh.cipher_name, classes },
    });
  }
  const leaf = t.certificates[0];
  if (leaf !== undefined && !leaf.unparsed) certificateProblems(ctx, out, deviceId, t, leaf);
}

function ssh(ctx: FlowContext, out: Emitter, deviceId: string, s: SshFacts): void {
  const software = (ctx.flow.deviceIsClient ? s.client : s.server)?.software ?? null;
  if (s.version === 1) {
    out.finding(deviceId, {
      code: 'ssh-obsolete',
      severity: 'high',
      title: 'Uses SSH version 1',
      detail: `SSH-1 with ${ctx.remote}: the protocol is broken and was withdrawn.`,
      remote: ctx.remote,
      evidence: { protocol: 'ssh', software },
    });
    return;
  }
  const c = s.clientKex;
  const sv = s.serverKex;
  if (c === null || sv === null) return;
  // RFC 4253 7.1: the first algorithm of the client's list that the server also offers is used.
  const chosen = (client: string[], server: string[]) => client.find((a) => server.includes(a)) ?? null;
  const used = [chosen(c.kex, sv.kex), chosen(c.ciphersClientToServer, sv.ciphersClientToServer), chosen(c.ciphersServerToClient, sv.ciphersServerToClient)];
  const obsolete = [...new Set(used.filter((a): a is string => a !== null && OBSOLETE_SSH.has(a)))];
  if (obsolete.length === 0) {
    // Still offering them invites a downgrade by a server (or an attacker posing as one).
    const own = ctx.flow.deviceIsClient ? c : sv;
    const offered = [...new Set([...own.kex, ...own.ciphersClientToServer, ...own.ciphersServerToClient].filter((a) => OBSOLETE_SSH.has(a)))];
    if (offered.length === 0) return;
    out.finding(deviceId, {
      code: 'ssh-obsolete',
      severity: 'low',
      title: 'Offers obsolete SSH algorithms',
      detail: `SSH with ${ctx.remote}: the device still offers ${offered.join(', ')} (not used this time).`,
      remote: ctx.remote,
      evidence: { protocol: 'ssh', offered, software },
    });
    return;
  }
  out.finding(deviceId, {
    code: 'ssh-obsolete',
    severity: 'medium',
    title: 'Uses obsolete SSH algorithms',
    detail: `SSH with ${ctx.remote} negotiated ${obsolete.join(', ')}.`,
    remote: ctx.remote,
    evidence: { protocol: 'ssh', algorithms: obsolete, software },
  });
}

export const encryptionDetector: Detector = {
  standard: 1,
  inspected(ctx, out) {
    const deviceId = ctx.flow.deviceId;
    if (deviceId === null) return;
    const v = ctx.verdict;
    if (v.encryption === 'plaintext') {
      plaintext(ctx, out, deviceId);
      return;
    }
    if (v.encryption !== 'encrypted') return;
    out.observe(deviceId, { kind: 'encrypted-traffic', remote: '', detail: 'Application data sent encrypted' });
    if (ctx.facts === null) return;
    if (v.app === 'tls' || v.app === 'dtls') tls(ctx, out, deviceId, ctx.facts as TlsFacts);
    else if (v.app === 'ssh') ssh(ctx, out, deviceId, ctx.facts as SshFacts);
  },
};
