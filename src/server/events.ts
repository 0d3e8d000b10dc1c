/**
 * Server-sent events: one poller per server reads the database about once a second (another
 * process, the daemon, may be writing it) and pushes new or updated findings and status changes
 * to every open stream. SQLite's data_version tells cheaply whether another connection wrote
 * anything since the last look, so an idle database costs one pragma per tick.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { findingCursor, findingsChangedSince, type FindingCursor } from '../store/queries.js';
import type { Store } from '../store/store.js';
import type { ServerEvents, StatusResponse } from './api-types.js';

interface Client {
  res: ServerResponse;
  /** Still allowed to listen (the session is alive)? */
  allowed: () => boolean;
}

export const MAX_EVENT_CLIENTS = 32;
const PING_MS = 15_000;
/** Re-read the status at least this often even without writes (daemon_stale depends on the clock). */
const STATUS_REFRESH_MS = 5_000;

export class EventHub {
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | null = null;
  private cursor: FindingCursor | null = null;
  private dataVersion = -1;
  private lastStatusJson = '';
  private lastStatusAt = 0;
  private lastPingAt = 0;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly statusOf: () => StatusResponse,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Start streaming to a response the caller has taken over (reply.hijack()). */
  add(res: ServerResponse, allowed: () => boolean): boolean {
    if (this.closed || this.clients.size >= MAX_EVENT_CLIENTS) return false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 3000\n\n');
    const client: Client = { res, allowed };
    this.clients.add(client);
    res.on('close', () => this.remove(client));
    if (this.cursor === null) this.cursor = findingCursor(this.store);
    // The newcomer gets the current status at once, the others only when it changes.
    const status = this.statusOf();
    this.send(client, 'status', status);
    this.start();
    return true;
  }

  /** Push an event to every stream (e.g. after a delete made through this server). */
  broadcast<K extends keyof ServerEvents>(event: K, data: ServerEvents[K]): void {
    for (const c of this.clients) this.send(c, event, data);
  }

  /** One poll; public so tests and callers can force one. */
  tick(): void {
    if (this.clients.size === 0) return;
    for (const c of [...this.clients]) {
      if (!c.allowed()) {
        c.res.end();
        this.remove(c);
      }
    }
    if (this.clients.size === 0) return;
    const now = Date.now();
    const version = this.store.db.pragma('data_version', { simple: true }) as number;
    const changed = version !== this.dataVersion;
    this.dataVersion = version;
    if (changed) {
      let cursor = this.cursor ?? findingCursor(this.store);
      // A burst of changes arrives in batches; keep going until this tick has seen them all.
      for (let batch = 0; batch < 50; batch++) {
        const { findings, cursor: next } = findingsChangedSince(this.store, cursor);
        cursor = next;
        for (const f of findings) this.broadcast('finding', f);
        if (findings.length < 200) break;
      }
      this.cursor = cursor;
    }
    if (changed || now - this.lastStatusAt >= STATUS_REFRESH_MS) {
      this.lastStatusAt = now;
      const status = this.statusOf();
      // The server block (start time) never changes; compare the rest.
      const json = JSON.stringify({ daemon: status.daemon, stale: status.daemon_stale, database: status.database });
      if (json !== this.lastStatusJson) {
        this.lastStatusJson = json;
        this.broadcast('status', status);
      }
    }
    if (now - this.lastPingAt >= PING_MS) {
      this.lastPingAt = now;
      for (const c of this.clients) c.res.write(': ping\n\n');
    }
  }

  close(): void {
    this.closed = true;
    this.stop();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private send(client: Client, event: string, data: unknown): void {
    // JSON.stringify escapes newlines inside strings, so one data line is always enough.
    client.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        // A busy or briefly locked database: try again next tick.
        this.log.warn({ err: (err as Error).message }, 'event poll failed');
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    // A later client starts from the database as it is then.
    this.cursor = null;
  }
}
