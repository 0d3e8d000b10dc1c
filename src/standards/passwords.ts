/**
 * Standard 3, strong passwords: "the product must not use universal default passwords, and must
 * make users choose strong ones". What the wire shows is the logins themselves:
 * - cleartext-credentials: a readable login (password, community, Basic header, token) in a
 *   plaintext flow;
 * - default-credentials: the user/password pair is a well-known factory default (the dissectors
 *   compared it, with the user, against src/intel/default-credentials.ts);
 * - weak-password: common, shorter than 8, or of one character class (not repeated for a login
 *   already reported as a default);
 * - snmp-default-community: SNMP v1/v2c with the factory community "public" or "private";
 * - the login-encrypted observation: logins that only travelled inside encryption (SSH, STARTTLS
 *   or AUTH TLS before any login, TLS on the ports of login protocols).
 *
 * A login concerns both ends on the LAN: the device that sent it (it is configured with that
 * password) and the device that accepted it (it has that password). Each is told, with the other
 * end as the remote. A device that refused the login is not said to have that password.
 *
 * Passwords are only ever the dissectors' MaskedSecret (masked form, length, classes, flags).
 */
import { match, P } from 'ts-pattern';
import type { FtpFacts } from '../dissect/ftp.js';
import type { ImapFacts, Pop3Facts, SmtpFacts } from '../dissect/mail.js';
import type { SnmpFacts } from '../dissect/snmp.js';
import type { MaskedSecret } from '../dissect/types.js';
import { credentialsOf, type Credential } from './credentials.js';
import type { Detector, Emitter, FlowContext } from './types.js';

/** Apps whose facts can carry a login, and those that can only show one travelling encrypted. */
const LOGIN_APPS = new Set(['http', 'rtsp', 'telnet', 'ftp', 'smtp', 'pop3', 'imap', 'mqtt', 'snmp']);
const ENCRYPTED_LOGIN_APPS = new Set(['ssh', 'tls']);
/** TLS on these server ports carries logins: IMAPS, POP3S, SMTPS, MQTTS, FTPS, WinRM-HTTPS, (TLS on) 22. */
const LOGIN_TLS_PORTS: ReadonlyMap<number, string> = new Map([
  [993, 'IMAP'], [995, 'POP3'], [465, 'SMTP'], [8883, 'MQTT'], [990, 'FTP'], [5986, 'WinRM'], [22, 'SSH port'],
]);
const MIN_LENGTH = 8;

/** A LAN end of the flow and what it did with the login. */
interface Side {
  deviceId: string;
  role: 'sent' | 'accepted';
  /** The other end: "host:port" for the server, the address for a client. */
  remote: string;
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The LAN devices on each side, each with the other side as its remote. */
function sidesOf(ctx: FlowContext): Side[] {
  const sides: Side[] = [];
  // ctx.remote is the server ("name:port") when the flow's device is the client, else the client.
  const serverRemote = ctx.flow.deviceIsClient ? ctx.remote : `${bracketed(ctx.serverIp)}:${ctx.flow.serverPort}`;
  if (ctx.client !== null) sides.push({ deviceId: ctx.client.id, role: 'sent', remote: serverRemote });
  if (ctx.server !== null && ctx.server.id !== ctx.client?.id) sides.push({ deviceId: ctx.server.id, role: 'accepted', remote: bracketed(ctx.clientIp) });
  return sides;
}

/** "telnet login for user "root"", "MQTT CONNECT login for user "cam"", "SNMP community". */
function login(c: Credential): string {
  const what = /login$|community$/.test(c.method) ? c.method : `${c.method} login`;
  return c.user === null ? what : `${what} for user "${c.user}"`;
}

/** The masked form, shortened for long tokens (it shows no more than the first and last character). */
function shown(p: MaskedSecret): string {
  return p.masked.length > 24 ? `${p.masked.slice(0, 12)}…${p.masked.slice(-1)}` : p.masked;
}

function secretSummary(c: Credential, p: MaskedSecret): string {
  const noun = c.method === 'SNMP community' ? 'community' : 'password';
  return `${noun} ${shown(p)}, ${p.length} character${p.length === 1 ? '' : 's'}`;
}

function secretEvidence(c: Credential, protocol: string | null): Record<string, unknown> {
  return { protocol, method: c.method, user: c.user, password: c.password, accepted: c.accepted };
}

/** Why a password is weak, in words; null when it is not. */
function weakness(p: MaskedSecret): string | null {
  const why: string[] = [];
  if (p.common) why.push('one of the most common passwords');
  if (p.length < MIN_LENGTH) why.push(p.length === 0 ? 'empty' : `only ${p.length} character${p.length === 1 ? '' : 's'} long`);
  if (p.classes.length === 1) why.push(`only ${p.classes[0] === 'digit' ? 'digits' : p.classes[0] === 'symbol' ? 'symbols' : `${p.classes[0]}-case letters`}`);
  return why.length === 0 ? null : why.join(', ');
}

function judge(ctx: FlowContext, out: Emitter, side: Side, c: Credential, snmpDefault: boolean): void {
  const app = ctx.verdict.app;
  const plaintext = ctx.verdict.encryption === 'plaintext';
  const p = c.password;
  const sent = side.role === 'sent';
  const verb = `${sent ? 'sent' : c.accepted === true ? 'accepted' : 'received'} unencrypted ${sent ? 'to' : 'from'} ${side.remote}`;
  const secret = p === null ? '' : ` (${secretSummary(c, p)})`;
  if (plaintext && c.readable) {
    out.finding(side.deviceId, {
      code: 'cleartext-credentials',
      severity: 'high',
      title: sent ? `Sends a password in clear text (${c.method})` : `Accepts a password in clear text (${c.method})`,
      detail: `${login(c)} ${verb}${secret}: anyone on the path can read and reuse it.`,
      remote: side.remote,
      evidence: secretEvidence(c, app),
    });
  }
  if (p === null) return;
  // The device that refused a login does not have that password.
  const itsOwn = sent || c.accepted !== false;
  if (!itsOwn) return;
  const isDefault = app === 'snmp' ? snmpDefault : p.matches_default;
  const whose = sent
    ? `sent to ${side.remote}`
    : c.accepted === true
      ? `accepted from ${side.remote}`
      : `received from ${side.remote} (whether it was accepted was not seen)`;
  match({ app, isDefault, weak: weakness(p) })
    .with({ app: 'snmp', isDefault: true }, () => {
      out.finding(side.deviceId, {
        code: 'snmp-default-community',
        severity: 'high',
        title: 'Uses the factory SNMP community',
        detail: `SNMP community ${shown(p)} (${p.length} characters) ${whose} is the factory default ("public" or "private"): ${sent ? 'the device it manages answers anyone who sends it' : "anyone on the network can read, and perhaps change, this device's settings"}.`,
        remote: side.remote,
        evidence: secretEvidence(c, app),
      });
    })
    .with({ isDefault: true }, () => {
      out.finding(side.deviceId, {
        code: 'default-credentials',
        severity: 'critical',
        title: 'Uses a factory-default password',
        detail: `${login(c)} ${whose} uses a well-known factory default (${secretSummary(c, p)}): attackers and botnets such as Mirai try it first.`,
        remote: side.remote,
        evidence: secretEvidence(c, app),
      });
    })
    .with({ weak: P.string }, ({ weak }) => {
      out.finding(side.deviceId, {
        code: 'weak-password',
        severity: 'medium',
        title: 'Uses a weak password',
        detail: `${login(c)} ${whose}: the ${c.method === 'SNMP community' ? 'community' : 'password'} (${shown(p)}) is ${weak}.`,
        remote: side.remote,
        evidence: secretEvidence(c, app),
      });
    })
    .otherwise(() => {});
}

/** Does this flow carry logins only inside encryption? A short description of how, or null. */
function encryptedLogin(ctx: FlowContext): string | null {
  const app = ctx.verdict.app;
  const f = ctx.facts;
  return match(app)
    // Every SSH login (password or key) is inside the encrypted transport.
    .with('ssh', () => 'SSH')
    .with(P.union('tls', 'quic'), () => {
      const what = LOGIN_TLS_PORTS.get(ctx.flow.serverPort);
      return what !== undefined && ctx.verdict.encryption === 'encrypted' ? `${what} over TLS` : null;
    })
    .with(P.union('smtp', 'pop3', 'imap'), (mail) => {
      const m = f as SmtpFacts | Pop3Facts | ImapFacts | null;
      return m !== null && m.encrypted && m.auth.length === 0 ? `${mail.toUpperCase()} with STARTTLS before any login` : null;
    })
    .with('ftp', () => {
      const ftp = f as FtpFacts | null;
      return ftp !== null && ftp.encrypted && ftp.logins.length === 0 ? 'FTP with AUTH TLS before any login' : null;
    })
    .otherwise(() => null);
}

export const passwordsDetector: Detector = {
  standard: 3,
  inspected(ctx, out) {
    const app = ctx.verdict.app;
    if (app === null || (!LOGIN_APPS.has(app) && !ENCRYPTED_LOGIN_APPS.has(app))) return;
    if (ctx.client === null && ctx.server === null) return;
    const how = encryptedLogin(ctx);
    if (how !== null) {
      for (const side of sidesOf(ctx)) {
        out.observe(side.deviceId, {
          kind: 'login-encrypted',
          remote: side.remote,
          detail: `${how} with ${side.remote}: logins travel encrypted.`,
          evidence: { protocol: app, reason: ctx.verdict.reason },
        });
      }
      return;
    }
    if (!LOGIN_APPS.has(app) || ctx.facts === null) return;
    const creds = credentialsOf(app, ctx.facts);
    if (creds.length === 0) return;
    const snmpDefault = app === 'snmp' && (ctx.facts as SnmpFacts).community_is_default === true;
    const sides = sidesOf(ctx);
    for (const c of creds) for (const side of sides) judge(ctx, out, side, c, snmpDefault);
  },
};
