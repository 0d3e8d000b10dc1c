/**
 * Schema migrations, applied in order; the database's PRAGMA user_version is how many have run.
 * Never edit a released migration: add a new one.
 * Times are Unix epoch seconds (REAL, microsecond precision) of the capture clock.
 */
export const MIGRATIONS: string[] = [
  // 1: captures, devices, flows, findings
  `
  CREATE TABLE captures (
    id INTEGER PRIMARY KEY,
    mode TEXT NOT NULL,                 -- analyze | watch | replay
    files TEXT NOT NULL,                -- JSON array of inputs (files or interfaces)
    started_at TEXT NOT NULL,
    finished_at TEXT,
    packets INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    flows INTEGER NOT NULL DEFAULT 0,
    malformed INTEGER NOT NULL DEFAULT 0,
    warnings TEXT NOT NULL DEFAULT '[]'
  );

  CREATE TABLE devices (
    id TEXT PRIMARY KEY,                -- MAC (aa:bb:..) or, without a LAN MAC, the local IP
    mac TEXT,
    locally_administered INTEGER NOT NULL DEFAULT 0,
    vendor TEXT,
    hostname TEXT,
    vendor_class TEXT,
    dhcp_fingerprint TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
  );

  CREATE TABLE device_ips (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    source TEXT NOT NULL,               -- arp | dhcp | traffic
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (device_id, ip)
  );

  CREATE TABLE capture_devices (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (capture_id, device_id)
  );

  CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    device_id TEXT REFERENCES devices(id) ON DELETE CASCADE,
    peer_device_id TEXT,
    device_is_client INTEGER NOT NULL DEFAULT 1, -- 1: device_id is the client side, 0: the server side
    proto TEXT NOT NULL,
    ip_version INTEGER NOT NULL,
    vlan INTEGER NOT NULL DEFAULT 0,
    client_ip TEXT NOT NULL,
    client_port INTEGER NOT NULL,
    server_ip TEXT NOT NULL,
    server_port INTEGER NOT NULL,
    client_mac TEXT,
    server_mac TEXT,
    packets_c2s INTEGER NOT NULL,
    packets_s2c INTEGER NOT NULL,
    bytes_c2s INTEGER NOT NULL,
    bytes_s2c INTEGER NOT NULL,
    payload_c2s INTEGER NOT NULL,
    payload_s2c INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    tcp_state TEXT,
    end_reason TEXT NOT NULL,
    app TEXT,
    encryption TEXT,                    -- encrypted | plaintext | unknown (filled by classify/)
    reason TEXT,
    server_name TEXT
  );
  CREATE INDEX flows_capture ON flows(capture_id);
  CREATE INDEX flows_device ON flows(device_id, first_seen);
  CREATE INDEX flows_last_seen ON flows(last_seen);

  CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    standard INTEGER NOT NULL CHECK (standard BETWEEN 1 AND 5),
    code TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    title TEXT NOT NULL,
    detail TEXT NOT NULL,
    remote TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '{}', -- JSON: flow ids, protocol, counts…
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    UNIQUE (device_id, code, remote)
  );
  `,
  // 2: what the protocol dissector learned about each flow, written as soon as it is final
  // (JSON; secrets only masked), joined to the flow by its number within the capture run.
  `
  ALTER TABLE flows ADD COLUMN seq INTEGER;
  CREATE INDEX flows_seq ON flows(capture_id, seq);
  CREATE TABLE flow_facts (
    capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,
    flow_seq INTEGER NOT NULL,
    app TEXT NOT NULL,
    facts TEXT NOT NULL,
    PRIMARY KEY (capture_id, flow_seq)
  ) WITHOUT ROWID;
  `,
  // 3: the standards. Findings gain an index per device and standard; observations are the
  // positive evidence that turns a report-card cell from not-observed into pass. flows_capture
  // is dropped: flows_seq (capture_id, seq) serves the same queries and each index slows inserts.
  `
  DROP INDEX flows_capture;
  CREATE INDEX findings_device ON findings(device_id, standard);
  CREATE TABLE observations (
    id INTEGER PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    standard INTEGER NOT NULL CHECK (standard BETWEEN 1 AND 5),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    remote TEXT NOT NULL DEFAULT '',
    evidence TEXT NOT NULL DEFAULT '{}',
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    UNIQUE (device_id, kind, remote)
  );
  `,
  // 4: the daemon and the dashboard. settings: user choices that outlive a run (retention, the
  // dashboard's password hash), JSON values. status: what a running daemon last reported
  // (packets, drops, rates), so the dashboard of another process can show it.
  `
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE status (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX findings_last_seen ON findings(last_seen);
  CREATE INDEX observations_last_seen ON observations(last_seen);
  `,
  // 5: forgotten devices, so that a daemon running in another process drops what it still holds
  // about them. Only a salted hash of the id is kept (the salt is in settings), never the id.
  `
  CREATE TABLE forget_log (
    id INTEGER PRIMARY KEY,
    device_hash TEXT NOT NULL,
    at TEXT NOT NULL
  );
  `,
];
