/**
 * Live updates: the event stream pushes findings and status that another connection (the
 * daemon, here a second Store on the same file) writes after the browser connected.
 */
import { request, Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FindingItem, StatusResponse } from '../../src/server/api-types.js';
import type { RunningDashboard } from '../../src/server/index.js';
import { Store, type DaemonStatus } from '../../src/store/store.js';
import { CAM, Client, STANDARDS_PCAP, TV, makeDatabase, startTestDashboard } from './helpers.js';

interface ServerEvent {
  event: string;
  data: unknown;
}

/** An EventSource-like reader of the stream: collects events, waits for one that matches. */
class EventReader {
  readonly events: ServerEvent[] = [];
  ended = false;
  private buffer = '';
  private waiters: (() => void)[] = [];
  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.buffer += chunk;
      let cut: number;
      while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, cut);
        this.buffer = this.buffer.slice(cut + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join('\n')) });
      }
      this.wake();
    });
    response.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  static open(server: RunningDashboard, cookie: string | null): Promise<EventReader | number> {
    const agent = new Agent({ ca: server.tls!.cert });
    return new Promise((resolve, reject) => {
      const req = request(
        `https://127.0.0.1:${server.port}/api/events`,
        { agent, headers: { accept: 'text/event-stream', ...(cookie === null ? {} : { cookie }) } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            resolve(res.statusCode ?? 0);
          } else resolve(new EventReader(res));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async waitFor(match: (e: ServerEvent) => boolean, ms = 8000): Promise<ServerEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      if (this.ended) throw new Error('stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching event in ${ms} ms; got ${this.events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitForEnd(ms = 8000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!this.ended) throw new Error('stream still open');
  }

  close(): void {
    this.response.destroy();
  }
}

describe('server-sent events', () => {
  let db: Awaited<ReturnType<typeof makeDatabase>>;
  let server: RunningDashboard;
  let client: Client;
  let daemon: Store;

  beforeAll(async () => {
    db = await makeDatabase([STANDARDS_PCAP]);
    server = await startTestDashboard(db.db, { pollIntervalMs: 200 });
    client = new Client(server);
    await client.setupAndLogin();
    daemon = new Store(db.db);
  });
  afterAll(async () => {
    daemon?.close();
    client?.close();
    await server?.close();
    db?.cleanup();
  });

  it('needs a session', async () => {
    expect(await EventReader.open(server, null)).toBe(401);
    expect(await EventReader.open(server, '__Host-notcreepy_session=nope')).toBe(401);
  });

  it('sends the status at once, then a finding another connection inserts after the browser connected', async () => {
    const stream = await EventReader.open(server, client.cookie);
    expect(typeof stream).not.toBe('number');
    const reader = stream as EventReader;
    try {
      expect(reader.response.headers['content-type']).toMatch(/^text\/event-stream/);
      const first = await reader.waitFor((e) => e.event === 'status');
      expect((first.data as StatusResponse).database.devices).toBe(4);
      // Nothing old is replayed as new.
      await new Promise((r) => setTimeout(r, 600));
      expect(reader.events.filter((e) => e.event === 'finding')).toEqual([]);

      const now = Date.now() / 1000;
      daemon.upsertFindings([
        {
          device_id: TV,
          standard: 5,
          code: 'tracker-contact',
          severity: 'medium',
          title: 'Talks to an advertising service (Example Ads)',
          detail: 'Looked up ads.example.test, listed as advertising of Example Ads (test).',
          remote: 'ads.example.test',
          evidence: JSON.stringify({ flows: [], bytes_sent: 0, bytes_received: 0, detail: { organisation: 'Example Ads', category: 'advertising' } }),
          first_seen: now,
          last_seen: now,
          count: 1,
        },
      ]);
      const added = await reader.waitFor((e) => e.event === 'finding' && (e.data as FindingItem).remote === 'ads.example.test');
      const f = added.data as FindingItem;
      expect(f.device_id).toBe(TV);
      expect(f.device_name).toBe('living-room-tv');
      expect(f.code).toBe('tracker-contact');
      expect(typeof f.id).toBe('number');
      // The counters moved too.
      await reader.waitFor((e) => e.event === 'status' && (e.data as StatusResponse).database.findings === 33);

      // Seen again later: the same finding comes again with its new count.
      daemon.upsertFindings([
        {
          device_id: TV, standard: 5, code: 'tracker-contact', severity: 'medium', title: f.title, detail: f.detail, remote: 'ads.example.test',
          evidence: JSON.stringify({ flows: [], bytes_sent: 10, bytes_received: 0 }), first_seen: now, last_seen: now + 5, count: 2,
        },
      ]);
      const updated = await reader.waitFor((e) => e.event === 'finding' && (e.data as FindingItem).id === f.id && (e.data as FindingItem).count === 2);
      expect((updated.data as FindingItem).evidence.bytes_sent).toBe(10);

      // The daemon's status.
      const at = new Date().toISOString();
      const status: DaemonStatus = {
        mode: 'watch', version: 'test', pid: 1, started_at: at, updated_at: at, running: true, interfaces: ['eth0'], filter: null,
        packets: 99, bytes: 9900, malformed: 0, drops_kernel: 0, drops_interface: 0, drops_queue: 0, packets_per_second: 1,
        bytes_per_second: 100, flows_live: 1, flows_stored: 35, findings: 33, warnings: [],
      };
      daemon.writeStatus(status);
      const pushed = await reader.waitFor((e) => e.event === 'status' && (e.data as StatusResponse).daemon?.packets === 99);
      expect((pushed.data as StatusResponse).daemon).toEqual(status);

      // A delete through the dashboard reaches the other open views.
      const del = await client.request(`/api/devices/${encodeURIComponent(CAM)}`, { method: 'DELETE' });
      expect(del.status).toBe(200);
      await reader.waitFor((e) => e.event === 'device-deleted' && (e.data as { device: string }).device === CAM);
    } finally {
      reader.close();
    }
  });

  it('ends the stream when the session ends', async () => {
    const other = new Client(server);
    const login = await other.request('/api/login', { body: { password: 'plum-tractor-velvet-harbour-42' } });
    other.keepCookie(login);
    const reader = (await EventReader.open(server, other.cookie)) as EventReader;
    await reader.waitFor((e) => e.event === 'status');
    expect((await other.request('/api/logout', { method: 'POST' })).status).toBe(204);
    await reader.waitForEnd();
    other.close();
  });
});
