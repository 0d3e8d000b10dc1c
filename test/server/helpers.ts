/**
 * For the dashboard server tests: a real database made by the real analyzer from captures/, a
 * real server on 127.0.0.1 (HTTPS with the certificate it generates), and an HTTPS client that
 * trusts exactly that certificate.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { analyzeInto } from '../../src/cli/analyze.js';
import { DEFAULT_PIPELINE_OPTIONS } from '../../src/pipeline.js';
import { Store } from '../../src/store/store.js';
import { CSRF_HEADER, CSRF_HEADER_VALUE } from '../../src/server/api-types.js';
import { startDashboard, type DashboardOptions, type RunningDashboard } from '../../src/server/index.js';
import { CAPTURES, silentStream } from '../helpers/analysis.js';

export { CAM, SPEAKER, TV, GATEWAY } from '../helpers/standards.js';

export const STANDARDS_PCAP = join(CAPTURES, 'lan-standards.pcap');
export const BASIC_PCAP = join(CAPTURES, 'lan-basic.pcap');
export const SECRETS = readFileSync(join(CAPTURES, 'lan-standards.secrets'), 'utf8')
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#'));

/** A strong password for tests (long, not common, not a pattern). */
export const GOOD_PASSWORD = 'plum-tractor-velvet-harbour-42';

/** Analyse the captures (one run each) into a new SQLite file in a temp dir. */
export async function makeDatabase(captures: string[]): Promise<{ dir: string; db: string; cleanup(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'notcreepy-server-'));
  const db = join(dir, 'notcreepy.db');
  const store = new Store(db);
  try {
    for (const file of captures) await analyzeInto(store, [file], DEFAULT_PIPELINE_OPTIONS, silentStream);
  } finally {
    store.close();
  }
  return { dir, db, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A pino logger that keeps every line it writes (to check what the log says and does not say). */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  cookie?: string | null;
  headers?: Record<string, string>;
  /** Leave out the CSRF header that the dashboard sends with every change. */
  noCsrfHeader?: boolean;
}

/** A client for one running dashboard: HTTPS trusting its certificate (or plain HTTP). */
export class Client {
  cookie: string | null = null;
  private readonly agent: Agent | null;

  constructor(readonly server: RunningDashboard) {
    this.agent = server.tls === null ? null : new Agent({ ca: server.tls.cert, keepAlive: false });
  }

  get base(): string {
    return `${this.server.tls === null ? 'http' : 'https'}://127.0.0.1:${this.server.port}`;
  }

  request(path: string, options: RequestOptions = {}): Promise<Response> {
    const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    const cookie = options.cookie === undefined ? this.cookie : options.cookie;
    if (cookie !== null) headers.cookie = cookie;
    let payload: string | undefined;
    if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (method !== 'GET' && method !== 'HEAD' && !options.noCsrfHeader) headers[CSRF_HEADER] = CSRF_HEADER_VALUE;
    const url = new URL(path, this.base);
    const send = this.agent === null ? httpRequest : httpsRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method, headers, ...(this.agent === null ? {} : { agent: this.agent }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          if ((res.headers['content-type'] ?? '').includes('json') && text !== '') json = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error(`timeout on ${method} ${path}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Remember the session cookie a response set. */
  keepCookie(res: Response): void {
    const set = res.headers['set-cookie']?.find((c) => c.includes('notcreepy_session='));
    if (set !== undefined) this.cookie = set.split(';')[0];
  }

  async setupAndLogin(password = GOOD_PASSWORD): Promise<void> {
    const token = this.server.setupToken;
    if (token === null) throw new Error('no setup token: the password is already set');
    const res = await this.request('/api/setup', { body: { token, password } });
    if (res.status !== 200) throw new Error(`setup failed: ${res.status} ${res.text}`);
    this.keepCookie(res);
  }

  close(): void {
    this.agent?.destroy();
  }
}

export async function startTestDashboard(db: string, options: Partial<DashboardOptions> = {}): Promise<RunningDashboard> {
  return startDashboard({ db, host: '127.0.0.1', port: 0, logger: memoryLogger('silent').logger, pollIntervalMs: 200, ...options });
}

/** "admin" as a word of its own (not inside "locally_administered"), in any common encoding. */
export function secretPatterns(secret: string): RegExp[] {
  const spellings = [secret, Buffer.from(secret).toString('base64').replace(/=+$/, ''), Buffer.from(secret).toString('hex')];
  return spellings.map((x) => new RegExp(`(?<![A-Za-z0-9])${x.replace(/[^A-Za-z0-9]/g, '\\$&')}(?![A-Za-z0-9])`));
}
