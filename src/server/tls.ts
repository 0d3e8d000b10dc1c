/**
 * The dashboard's TLS certificate: the user's own (--cert/--key), or one generated on first start
 * with `selfsigned` and kept next to the database so the fingerprint a user checked once stays
 * the same. A plain-HTTP request to the HTTPS port gets a redirect instead of a TLS error.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { isIP, type Server, type Socket } from 'node:net';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the certificate (DER), as colon-separated hex: what browsers show. */
  fingerprint: string;
  certFile: string;
  keyFile: string;
  /** Whether this start created the certificate. */
  generated: boolean;
  validTo: string;
}

export class TlsSetupError extends Error {
  override name = 'TlsSetupError';
}

const CERT_NAME = 'notcreepy-dashboard.crt';
const KEY_NAME = 'notcreepy-dashboard.key';
const VALID_DAYS = 825;
/** Renew a generated certificate this long before it expires. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

export function generatedCertificatePaths(dbPath: string): { certFile: string; keyFile: string } {
  const dir = dirname(dbPath);
  return { certFile: join(dir, CERT_NAME), keyFile: join(dir, KEY_NAME) };
}

/** The names a generated certificate covers: loopback, this host's name, and the bound address (all of this machine's for a wildcard bind). */
export function certificateNames(bindHost: string): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost']);
  const ips = new Set(['127.0.0.1', '::1']);
  const own = hostname();
  if (own !== '' && isIP(own) === 0) {
    dns.add(own);
    if (!own.includes('.')) dns.add(`${own}.local`);
  }
  if (bindHost === '0.0.0.0' || bindHost === '::') {
    // Every interface: the addresses a phone on the LAN would use.
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80')) ips.add(a.address);
    }
  } else if (isIP(bindHost) !== 0) ips.add(bindHost);
  else if (bindHost !== '') dns.add(bindHost);
  return { dns: [...dns], ips: [...ips] };
}

function describe(cert: X509Certificate, certFile: string, keyFile: string, key: string, pem: string, generated: boolean): TlsMaterial {
  return { cert: pem, key, fingerprint: cert.fingerprint256, certFile, keyFile, generated, validTo: new Date(cert.validTo).toISOString() };
}

/** Does this certificate still serve: valid for a while yet, and naming the bound address? */
function stillGood(cert: X509Certificate, bindHost: string): boolean {
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  if (isIP(bindHost) !== 0 && bindHost !== '0.0.0.0' && bindHost !== '::') {
    return cert.checkIP(bindHost) !== undefined;
  }
  if (isIP(bindHost) === 0 && bindHost !== '') return cert.checkHost(bindHost) !== undefined;
  return true;
}

async function generateCertificate(bindHost: string): Promise<{ cert: string; key: string }> {
  const names = certificateNames(bindHost);
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'notcreepy dashboard' }, { name: 'organizationName', value: 'notcreepy' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 3_600_000),
    notAfterDate: new Date(now.getTime() + VALID_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** Write a file readable by its owner only, atomically (no moment where it is world-readable). */
function writePrivate(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * The certificate to serve: the user's files when given, else the generated one next to the
 * database (created, or renewed when about to expire or when it does not name the bound address).
 */
export async function loadOrCreateTls(options: { dbPath: string; bindHost: string; certFile?: string | null; keyFile?: string | null }): Promise<TlsMaterial> {
  if ((options.certFile ?? null) !== null || (options.keyFile ?? null) !== null) {
    if (!options.certFile || !options.keyFile) throw new TlsSetupError('--cert and --key go together: give both PEM files');
    let pem: string;
    let key: string;
    try {
      pem = readFileSync(options.certFile, 'utf8');
      key = readFileSync(options.keyFile, 'utf8');
    } catch (err) {
      throw new TlsSetupError(`cannot read the certificate or key: ${(err as Error).message}`);
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
      if (!cert.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
    } catch (err) {
      throw new TlsSetupError(`${options.certFile}: ${(err as Error).message}`);
    }
    return describe(cert, options.certFile, options.keyFile, key, pem, false);
  }
  const { certFile, keyFile } = generatedCertificatePaths(options.dbPath);
  if (existsSync(certFile) && existsSync(keyFile)) {
    try {
      const pem = readFileSync(certFile, 'utf8');
      const key = readFileSync(keyFile, 'utf8');
      const cert = new X509Certificate(pem);
      if (cert.checkPrivateKey(createPrivateKey(key)) && stillGood(cert, options.bindHost)) {
        return describe(cert, certFile, keyFile, key, pem, false);
      }
    } catch {
      // damaged files: make new ones below
    }
  }
  const made = await generateCertificate(options.bindHost);
  writePrivate(keyFile, made.key);
  writeFileSync(certFile, made.cert, { mode: 0o644 });
  return describe(new X509Certificate(made.cert), certFile, keyFile, made.key, made.cert, true);
}

/** The first byte of a TLS connection: a handshake record. */
const TLS_HANDSHAKE = 0x16;
const HOST_HEADER = /^host:[ \t]*([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?[ \t]*$/im;
const REQUEST_LINE = /^[A-Z]{3,7} (\/[^\s]{0,2048}) HTTP\/1\.[01]\r?\n/;

/**
 * Make the HTTPS server answer a plain-HTTP request on its port with a redirect to the same
 * address over HTTPS (browsers try http:// when a user types "192.168.1.5:8443"), instead of a
 * TLS error. The first byte of each connection decides; TLS connections go on untouched.
 */
export function redirectPlainHttp(server: Server, port: () => number): void {
  const tlsListeners = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    // A connection that never says anything is not kept open.
    socket.setTimeout(10_000, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      if (first[0] === TLS_HANDSHAKE) {
        // The TLS socket reads what was put back when it starts (node's TLSSocket takes buffered data first).
        socket.unshift(first);
        for (const listener of tlsListeners) listener.call(server, socket);
        return;
      }
      answerPlainHttp(socket, first, port());
    });
    socket.on('error', () => socket.destroy());
  });
}

function answerPlainHttp(socket: Socket, head: Buffer, port: number): void {
  const text = head.toString('latin1', 0, Math.min(head.length, 8192));
  const line = REQUEST_LINE.exec(text);
  const host = HOST_HEADER.exec(text);
  let response: string;
  if (line !== null && host !== null) {
    const location = `https://${host[1]}:${port}${line[1]}`;
    const body = `This is an HTTPS port. Go to ${location}\n`;
    response =
      `HTTP/1.1 301 Moved Permanently\r\nLocation: ${location}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  } else {
    const body = 'This is an HTTPS port: use https://\n';
    response = `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  }
  socket.end(response);
  socket.setTimeout(2000, () => socket.destroy());
}
