/**
 * SQLite storage (better-sqlite3, WAL). The pipeline hands rows over in batches; each batch is one
 * transaction, so nothing here runs per packet. The schema is versioned with PRAGMA user_version
 * and migrated forward on open.
 */
import type { AggregateRow, StandardsStore } from '../standards/engine.js';
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { MIGRATIONS } from './schema.js';

export interface FlowRow {
  capture_id: number;
  device_id: string | null;
  peer_device_id: string | null;
  device_is_client: number;
  proto: string;
  ip_version: number;
  vlan: number;
  client_ip: string;
  client_port: number;
  server_ip: string;
  server_port: number;
  client_mac: string | null;
  server_mac: string | null;
  packets_c2s: number;
  packets_s2c: number;
  bytes_c2s: number;
  bytes_s2c: number;
  payload_c2s: number;
  payload_s2c: number;
  first_seen: number;
  last_seen: number;
  tcp_state: string | null;
  end_reason: string;
  app: string | null;
  encryption: string | null;
  reason: string | null;
  server_name: string | null;
  /** The flow's number within its capture run (joins flow_facts). */
  seq: number;
}

export interface FactsRow {
  capture_id: number;
  flow_seq: number;
  app: string;
  facts: string;
}

export interface DeviceRow {
  id: string;
  mac: string | null;
  locally_administered: number;
  vendor: string | null;
  hostname: string | null;
  vendor_class: string | null;
  dhcp_fingerprint: string | null;
  first_seen: number;
  last_seen: number;
  ips: { ip: string; source: string; first_seen: number; last_seen: number }[];
}

export interface CaptureStats {
  packets: number;
  bytes: number;
  flows: number;
  malformed: number;
  warnings: string[];
}

export interface CaptureRow extends CaptureStats {
  id: number;
  mode: string;
  files: string[];
  started_at: string;
  finished_at: string | null;
}

/** What a running daemon (watch / replay) last reported; the dashboard shows it. */
export interface DaemonStatus {
  mode: 'watch' | 'replay';
  version: string;
  pid: number;
  started_at: string;
  updated_at: string;
  /** false once the daemon stopped cleanly (a crashed one stays true with an old updated_at). */
  running: boolean;
  interfaces: string[];
  filter: string | null;
  packets: number;
  bytes: number;
  malformed: number;
  /**
   * Received by the interfaces but never handed to notcreepy (libpcap's ring overflowed), from
   * the interfaces' counters since start (cap exposes no pcap_stats); null where not readable.
   */
  drops_kernel: number | null;
  /** Dropped by the interface or driver (ps_ifdrop); null where the platform does not say. */
  drops_interface: number | null;
  /** Dropped by notcreepy's own bounded queue under overload. */
  drops_queue: number;
  packets_per_second: number;
  bytes_per_second: number;
  flows_live: number;
  flows_stored: number;
  findings: number;
  warnings: string[];
}

/** Rows removed by forgetDevice or prune. */
export interface DeletedCounts {
  devices: number;
  flows: number;
  findings: number;
  observations: number;
}

/**
 * Devices forgotten through any Store of this process, as ('forgotten', dbPath, deviceId): the
 * daemon drops what it still holds in memory about them, so nothing comes back on its next write.
 */
export const storeEvents = new EventEmitter();

export class StoreError extends Error {
  override name = 'StoreError';
}

export class Store implements StandardsStore {
  readonly db: Database.Database;
  private readonly insertFlowStmt: Database.Statement;
  private readonly upsertDeviceStmt: Database.Statement;
  private readonly upsertDeviceIpStmt: Database.Statement;
  private readonly insertFlowsTx: (rows: FlowRow[]) => void;
  private readonly insertFactsStmt: Database.Statement;
  private readonly insertFactsTx: (rows: FactsRow[]) => void;
  private readonly upsertDevicesTx: (rows: DeviceRow[]) => void;
  private readonly upsertFindingsTx: (rows: AggregateRow[]) => void;
  private readonly upsertObservationsTx: (rows: AggregateRow[]) => void;
  private readonly loadFindingStmt: Database.Statement;
  private readonly loadObservationStmt: Database.Statement;

  constructor(readonly path: string) {
    try {
      this.db = new Database(path);
    } catch (err) {
      throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`);
    }
    try {
      this.db.pragma('journal_mode = WAL');
      // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      this.migrate();
    } catch (err) {
      this.db.close();
      if (err instanceof StoreError) throw err;
      throw new StoreError(`cannot use database ${path}: ${(err as Error).message}`);
    }

    // Positional parameters: binding 28 named ones per row cost a quarter of the insert time.
    this.insertFlowStmt = this.db.prepare(`INSERT INTO flows (
      capture_id, device_id, peer_device_id, device_is_client, proto, ip_version, vlan, client_ip, client_port, server_ip, server_port,
      client_mac, server_mac, packets_c2s, packets_s2c, bytes_c2s, bytes_s2c, payload_c2s, payload_s2c,
      first_seen, last_seen, tcp_state, end_reason, app, encryption, reason, server_name, seq
    ) VALUES (${new Array(28).fill('?').join(', ')})`);
    this.upsertDeviceStmt = this.db.prepare(`INSERT INTO devices
      (id, mac, locally_administered, vendor, hostname, vendor_class, dhcp_fingerprint, first_seen, last_seen)
      VALUES (@id, @mac, @locally_administered, @vendor, @hostname, @vendor_class, @dhcp_fingerprint, @first_seen, @last_seen)
      ON CONFLICT(id) DO UPDATE SET
        vendor = coalesce(excluded.vendor, devices.vendor),
        hostname = coalesce(excluded.hostname, devices.hostname),
        vendor_class = coalesce(excluded.vendor_class, devices.vendor_class),
        dhcp_fingerprint = coalesce(excluded.dhcp_fingerprint, devices.dhcp_fingerprint),
        first_seen = min(devices.first_seen, excluded.first_seen),
        last_seen = max(devices.last_seen, excluded.last_seen)`);
    this.upsertDeviceIpStmt = this.db.prepare(`INSERT INTO device_ips (device_id, ip, source, first_seen, last_seen)
      VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(device_id, ip) DO UPDATE SET
        source = CASE WHEN device_ips.source = 'traffic' THEN excluded.source ELSE device_ips.source END,
        first_seen = min(device_ips.first_seen, excluded.first_seen),
        last_seen = max(device_ips.last_seen, excluded.last_seen)`);
    this.insertFlowsTx = this.db.transaction((rows: FlowRow[]) => {
      const st = this.insertFlowStmt;
      for (const r of rows) {
        st.run(
          r.capture_id, r.device_id, r.peer_device_id, r.device_is_client, r.proto, r.ip_version, r.vlan, r.client_ip, r.client_port, r.server_ip, r.server_port,
          r.client_mac, r.server_mac, r.packets_c2s, r.packets_s2c, r.bytes_c2s, r.bytes_s2c, r.payload_c2s, r.payload_s2c,
          r.first_seen, r.last_seen, r.tcp_state, r.end_reason, r.app, r.encryption, r.reason, r.server_name, r.seq,
        );
      }
    });
    this.insertFactsStmt = this.db.prepare(
      `INSERT OR REPLACE INTO flow_facts (capture_id, flow_seq, app, facts) VALUES (@capture_id, @flow_seq, @app, @facts)`,
    );
    this.insertFactsTx = this.db.transaction((rows: FactsRow[]) => {
      for (const r of rows) this.insertFactsStmt.run(r);
    });
    this.upsertDevicesTx = this.db.transaction((rows: DeviceRow[]) => {
      for (const d of rows) {
        this.upsertDeviceStmt.run(d);
        for (const ip of d.ips) this.upsertDeviceIpStmt.run(d.id, ip.ip, ip.source, ip.first_seen, ip.last_seen);
      }
    });
    // Standards: rows carry running totals (the engine starts from the stored row), so they replace.
    const upsertFinding = this.db.prepare(`INSERT INTO findings
      (device_id, standard, code, severity, title, detail, remote, evidence, first_seen, last_seen, count)
      VALUES (@device_id, @standard, @code, @severity, @title, @detail, @remote, @evidence, @first_seen, @last_seen, @count)
      ON CONFLICT(device_id, code, remote) DO UPDATE SET
        severity = excluded.severity, title = excluded.title, detail = excluded.detail, evidence = excluded.evidence,
        first_seen = excluded.first_seen, last_seen = excluded.last_seen, count = excluded.count`);
    const upsertObservation = this.db.prepare(`INSERT INTO observations
      (device_id, standard, kind, detail, remote, evidence, first_seen, last_seen, count)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(device_id, kind, remote) DO UPDATE SET
        detail = excluded.detail, evidence = excluded.evidence,
        first_seen = excluded.first_seen, last_seen = excluded.last_seen, count = excluded.count`);
    this.upsertFindingsTx = this.db.transaction((rows: AggregateRow[]) => {
      for (const r of rows) upsertFinding.run(r);
    });
    this.upsertObservationsTx = this.db.transaction((rows: AggregateRow[]) => {
      for (const r of rows) upsertObservation.run(r.device_id, r.standard, r.code, r.detail, r.remote, r.evidence, r.first_seen, r.last_seen, r.count);
    });
    this.loadFindingStmt = this.db.prepare(
      `SELECT device_id, standard, code, severity, title, detail, remote, evidence, first_seen, last_seen, count
       FROM findings WHERE device_id = ? AND code = ? AND remote = ?`,
    );
    this.loadObservationStmt = this.db.prepare(
      `SELECT device_id, standard, kind AS code, NULL AS severity, '' AS title, detail, remote, evidence, first_seen, last_seen, count
       FROM observations WHERE device_id = ? AND kind = ? AND remote = ?`,
    );
  }


  loadFinding(deviceId: string, code: string, remote: string): AggregateRow | null {
    return (this.loadFindingStmt.get(deviceId, code, remote) as AggregateRow | undefined) ?? null;
  }

  loadObservation(deviceId: string, kind: string, remote: string): AggregateRow | null {
    return (this.loadObservationStmt.get(deviceId, kind, remote) as AggregateRow | undefined) ?? null;
  }

  upsertFindings(rows: AggregateRow[]): void {
    if (rows.length === 0) return;
    this.upsertFindingsTx(rows);
  }

  upsertObservations(rows: AggregateRow[]): void {
    if (rows.length === 0) return;
    this.upsertObservationsTx(rows);
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new StoreError(
        `database ${this.path} has schema version ${current}, newer than this notcreepy (${MIGRATIONS.length}); upgrade notcreepy`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  beginCapture(mode: string, files: string[]): number {
    const r = this.db
      .prepare(`INSERT INTO captures (mode, files, started_at) VALUES (?, ?, ?)`)
      .run(mode, JSON.stringify(files), new Date().toISOString());
    return Number(r.lastInsertRowid);
  }

  finishCapture(id: number, stats: CaptureStats): void {
    this.db
      .prepare(
        `UPDATE captures SET packets = ?, bytes = ?, flows = ?, malformed = ?, warnings = ?, finished_at = ? WHERE id = ?`,
      )
      .run(stats.packets, stats.bytes, stats.flows, stats.malformed, JSON.stringify(stats.warnings), new Date().toISOString(), id);
  }

  linkCaptureDevices(captureId: number, deviceIds: string[]): void {
    const stmt = this.db.prepare(`INSERT OR IGNORE INTO capture_devices (capture_id, device_id) VALUES (?, ?)`);
    this.db.transaction(() => {
      for (const id of deviceIds) stmt.run(captureId, id);
    })();
  }

  insertFlows(rows: FlowRow[]): void {
    if (rows.length > 0) this.insertFlowsTx(rows);
  }

  /** Rows of flows stored earlier (snapshots of live flows): the stored row of each (capture, seq) is replaced. */
  replaceFlows(rows: FlowRow[]): void {
    if (rows.length === 0) return;
    const remove = this.db.prepare(`DELETE FROM flows WHERE capture_id = ? AND seq = ?`);
    this.db.transaction(() => {
      for (const r of rows) remove.run(r.capture_id, r.seq);
      this.insertFlowsTx(rows);
    })();
  }

  insertFacts(rows: FactsRow[]): void {
    if (rows.length > 0) this.insertFactsTx(rows);
  }

  upsertDevices(rows: DeviceRow[]): void {
    if (rows.length > 0) this.upsertDevicesTx(rows);
  }

  capture(id: number): CaptureRow | null {
    const r = this.db.prepare(`SELECT * FROM captures WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    if (!r) return null;
    return {
      id: r.id as number,
      mode: r.mode as string,
      files: JSON.parse(r.files as string) as string[],
      started_at: r.started_at as string,
      finished_at: (r.finished_at as string | null) ?? null,
      packets: r.packets as number,
      bytes: r.bytes as number,
      flows: r.flows as number,
      malformed: r.malformed as number,
      warnings: JSON.parse((r.warnings as string | null) ?? '[]') as string[],
    };
  }

  getSetting<T>(key: string): T | null {
    const r = this.db.prepare(`SELECT value FROM settings WHERE key = ?`).get(key) as { value: string } | undefined;
    return r === undefined ? null : (JSON.parse(r.value) as T);
  }

  setSetting(key: string, value: unknown): void {
    this.db
      .prepare(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`)
      .run(key, JSON.stringify(value));
  }

  hasSetting(key: string): boolean {
    return this.db.prepare(`SELECT 1 FROM settings WHERE key = ?`).get(key) !== undefined;
  }

  /**
   * Days of data to keep: the dashboard's choice ('retain_days', where null means keep
   * everything) once made, else the daemon's configured value ('retain_days_configured', written
   * by the daemon at start and on SIGHUP), else null (a database made by analyze: nothing prunes it).
   */
  retentionDays(): number | null {
    if (this.hasSetting('retain_days')) return this.getSetting<number | null>('retain_days');
    return this.getSetting<number>('retain_days_configured');
  }

  writeStatus(status: DaemonStatus): void {
    this.db
      .prepare(
        `INSERT INTO status (key, value, updated_at) VALUES ('daemon', ?, ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(JSON.stringify(status), status.updated_at);
  }

  readStatus(): DaemonStatus | null {
    const r = this.db.prepare(`SELECT value FROM status WHERE key = 'daemon'`).get() as { value: string } | undefined;
    return r === undefined ? null : (JSON.parse(r.value) as DaemonStatus);
  }

  /**
   * Deletes everything stored about one device: the device, its addresses, its flows (either
   * side), their facts, its findings and observations, then rewrites the file (VACUUM) and
   * truncates the WAL so no trace lingers in free space. devices is 0 when the id is unknown.
   */
  forgetDevice(deviceId: string): DeletedCounts {
    const db = this.db;
    const counts = this.withSecureDelete(() =>
      db.transaction((): DeletedCounts => {
        const where = `device_id = @id OR peer_device_id = @id`;
        db.prepare(
          `DELETE FROM flow_facts WHERE (capture_id, flow_seq) IN (SELECT capture_id, seq FROM flows WHERE ${where})`,
        ).run({ id: deviceId });
        const flows = db.prepare(`DELETE FROM flows WHERE ${where}`).run({ id: deviceId }).changes;
        const findings = db.prepare(`DELETE FROM findings WHERE device_id = ?`).run(deviceId).changes;
        const observations = db.prepare(`DELETE FROM observations WHERE device_id = ?`).run(deviceId).changes;
        // device_ips and capture_devices go with the device (ON DELETE CASCADE).
        const devices = db.prepare(`DELETE FROM devices WHERE id = ?`).run(deviceId).changes;
        if (devices > 0) {
          db.prepare(`INSERT INTO forget_log (device_hash, at) VALUES (?, ?)`).run(this.deviceHash(deviceId), new Date().toISOString());
          // A day is far longer than any daemon takes to read it.
          db.prepare(`DELETE FROM forget_log WHERE at < ?`).run(new Date(Date.now() - 86400_000).toISOString());
        }
        return { devices, flows, findings, observations };
      })(),
    );
    // Earlier versions of updated rows (a device's last_seen, a finding's count) linger in the
    // free space of pages; only rewriting the file removes every trace. Rare and user-asked, so
    // the cost (seconds on a large database) is worth it.
    if (counts.devices > 0) {
      db.exec('VACUUM');
      db.pragma('wal_checkpoint(TRUNCATE)');
      storeEvents.emit('forgotten', resolve(this.path), deviceId);
    }
    return counts;
  }

  /** Salted hash of a device id, as kept in forget_log. */
  deviceHash(deviceId: string): string {
    let salt = this.getSetting<string>('forget_salt');
    if (salt === null) {
      salt = randomBytes(16).toString('hex');
      this.setSetting('forget_salt', salt);
    }
    return createHash('sha256').update(salt).update(deviceId).digest('hex');
  }

  /** forget_log entries after `afterId`: [newest id, hashes]. */
  forgottenSince(afterId: number): { lastId: number; hashes: string[] } {
    const rows = this.db.prepare(`SELECT id, device_hash FROM forget_log WHERE id > ? ORDER BY id`).all(afterId) as { id: number; device_hash: string }[];
    return { lastId: rows.length === 0 ? afterId : rows[rows.length - 1].id, hashes: rows.map((r) => r.device_hash) };
  }

  /**
   * Retention. olderThan (epoch seconds): flows, findings, observations and devices last seen
   * before it are deleted. maxBytes: then, while the live data is larger, the oldest flows are
   * deleted (findings are kept: they are small and they are the point). Deletes run in chunks
   * so a daemon's capture is never held up for long.
   */
  prune(options: { olderThan?: number; maxBytes?: number }): DeletedCounts {
    const db = this.db;
    const total: DeletedCounts = { devices: 0, flows: 0, findings: 0, observations: 0 };
    if (options.olderThan === undefined && options.maxBytes === undefined) return total;
    return this.withSecureDelete(() => {
      if (options.olderThan !== undefined) {
        const t = options.olderThan;
        total.flows += this.deleteFlowsChunked(`last_seen < ?`, [t]);
        total.findings += db.prepare(`DELETE FROM findings WHERE last_seen < ?`).run(t).changes;
        total.observations += db.prepare(`DELETE FROM observations WHERE last_seen < ?`).run(t).changes;
        const stale = `last_seen < @t AND NOT EXISTS (SELECT 1 FROM flows f WHERE f.device_id = devices.id OR f.peer_device_id = devices.id)
          AND NOT EXISTS (SELECT 1 FROM findings x WHERE x.device_id = devices.id)`;
        total.devices += db.prepare(`DELETE FROM devices WHERE ${stale}`).run({ t }).changes;
      }
      if (options.maxBytes !== undefined) {
        const limit = options.maxBytes;
        for (let used = this.usedBytes(); used > limit; used = this.usedBytes()) {
          const flows = (db.prepare(`SELECT count(*) AS n FROM flows`).get() as { n: number }).n;
          if (flows === 0) break;
          // Delete a share of the oldest flows in proportion to how far over the cap we are.
          const share = Math.min(1, (used - limit) / used + 0.05);
          const n = Math.max(1000, Math.ceil(flows * share));
          const edge = db.prepare(`SELECT last_seen FROM flows ORDER BY last_seen LIMIT 1 OFFSET ?`).get(Math.min(n, flows) - 1) as { last_seen: number };
          total.flows += this.deleteFlowsChunked(`last_seen <= ?`, [edge.last_seen]);
        }
      }
      return total;
    });
  }

  /** Bytes of the database file in use (free pages excluded: SQLite reuses them). */
  usedBytes(): number {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  private deleteFlowsChunked(where: string, params: unknown[]): number {
    const db = this.db;
    const chunk = db.transaction((): number => {
      const ids = `SELECT id FROM flows WHERE ${where} LIMIT 5000`;
      db.prepare(
        `DELETE FROM flow_facts WHERE (capture_id, flow_seq) IN (SELECT capture_id, seq FROM flows WHERE id IN (${ids}))`,
      ).run(...params);
      return db.prepare(`DELETE FROM flows WHERE id IN (${ids})`).run(...params).changes;
    });
    let deleted = 0;
    for (let n = chunk(); n > 0; n = chunk()) deleted += n;
    return deleted;
  }

  private withSecureDelete<T>(work: () => T): T {
    this.db.pragma('secure_delete = ON');
    try {
      return work();
    } finally {
      this.db.pragma('secure_delete = OFF');
      // Old page images of the deleted rows stay in the WAL until it is checkpointed.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
