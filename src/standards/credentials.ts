/**
 * Every login a flow's facts show, in one shape, for the detectors that judge them (standard 1
 * raises a plaintext flow's severity when it carried one; standard 3 judges the password).
 * Passwords are only ever the dissectors' masked summaries (DESIGN.md): nothing here sees a secret.
 */
import type { FtpFacts } from '../dissect/ftp.js';
import type { HttpAuthFacts, HttpFacts } from '../dissect/http.js';
import type { ImapFacts, Pop3Facts, SmtpFacts } from '../dissect/mail.js';
import type { MqttFacts } from '../dissect/mqtt.js';
import type { RtspFacts } from '../dissect/rtsp.js';
import type { SnmpFacts } from '../dissect/snmp.js';
import type { TelnetFacts } from '../dissect/telnet.js';
import type { MaskedSecret } from '../dissect/types.js';

export interface Credential {
  /** Protocol and method as a person would say it: "HTTP Basic", "telnet login", "MQTT CONNECT"… */
  method: string;
  user: string | null;
  /** Masked password; null when the method sends none readable (challenge-response, no password). */
  password: MaskedSecret | null;
  /** The server accepted it (null when the answer was not seen). */
  accepted: boolean | null;
  /** A readable secret crossed the wire (a password, a community, a Basic header). */
  readable: boolean;
}

function httpAuth(method: string, a: HttpAuthFacts | null, out: Credential[], status: number | null): void {
  if (a === null) return;
  // Digest, NTLM and Negotiate send no reusable password; Bearer tokens are secrets in clear.
  const readable = a.password !== null || /^(basic|bearer|userinfo)$/i.test(a.scheme);
  out.push({
    method: `${method} ${a.scheme}`,
    user: a.user,
    password: a.password,
    accepted: status === null ? null : status < 400,
    readable,
  });
}

export function credentialsOf(app: string | null, facts: unknown): Credential[] {
  if (app === null || facts === null || typeof facts !== 'object') return [];
  const out: Credential[] = [];
  switch (app) {
    case 'http': {
      for (const x of (facts as HttpFacts).exchanges) {
        const r = x.request;
        if (r === null) continue;
        const status = x.response?.status ?? null;
        httpAuth('HTTP', r.authorization, out, status);
        httpAuth('HTTP proxy', r.proxyAuthorization, out, status);
        httpAuth('HTTP URL', r.uriCredentials, out, status);
        for (const q of r.querySecrets) {
          out.push({ method: `HTTP query parameter "${q.field}"`, user: null, password: q.secret, accepted: null, readable: true });
        }
        const form = r.form;
        if (form !== null) {
          for (const f of form.secrets) {
            out.push({
              method: `HTTP ${form.kind} form field "${f.field}"`,
              user: form.user,
              password: f.secret,
              accepted: status === null ? null : status < 400,
              readable: true,
            });
          }
        }
      }
      break;
    }
    case 'rtsp': {
      const f = facts as RtspFacts;
      for (const r of f.requests) {
        httpAuth('RTSP', r.authorization, out, null);
        httpAuth('RTSP URL', r.urlCredentials, out, null);
      }
      break;
    }
    case 'telnet': {
      for (const l of (facts as TelnetFacts).logins) {
        out.push({ method: 'telnet login', user: l.user, password: l.password, accepted: resultOf(l.result), readable: l.password !== null });
      }
      break;
    }
    case 'ftp': {
      for (const l of (facts as FtpFacts).logins) {
        if (l.anonymous) continue;
        out.push({ method: 'FTP USER/PASS', user: l.user, password: l.password, accepted: resultOf(l.result), readable: l.password !== null });
      }
      break;
    }
    case 'smtp':
    case 'pop3':
    case 'imap': {
      const f = facts as SmtpFacts | Pop3Facts | ImapFacts;
      if (f.encrypted) break; // AUTH after STARTTLS is inside TLS: the dissector saw none in clear
      for (const a of f.auth) {
        out.push({
          method: `${app.toUpperCase()} ${a.mechanism}`,
          user: a.user,
          password: a.password,
          accepted: resultOf(a.result),
          readable: a.password !== null,
        });
      }
      break;
    }
    case 'mqtt': {
      const c = (facts as MqttFacts).connect;
      if (c !== null && (c.username !== null || c.passwordPresent)) {
        const ack = (facts as MqttFacts).connack;
        out.push({
          method: 'MQTT CONNECT',
          user: c.username,
          password: c.password,
          accepted: ack === null ? null : ack.accepted,
          readable: c.password !== null,
        });
      }
      break;
    }
    case 'snmp': {
      const f = facts as SnmpFacts;
      if (f.community !== null) {
        out.push({ method: 'SNMP community', user: null, password: f.community, accepted: null, readable: true });
      }
      break;
    }
  }
  return out;
}

function resultOf(r: 'success' | 'failure' | null): boolean | null {
  return r === null ? null : r === 'success';
}
