/**
 * Forgetting a device, retention and the size cap, settings and the daemon status, on a real
 * database made by analysing captures/lan-standards.pcap.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analyze, CAPTURES, type Analysis } from '../helpers/analysis.js';
import { CAM, SPEAKER, TV } from '../helpers/standards.js';
import { Store, type DaemonStatus } from '../../src/store/store.js';

let a: Analysis;
beforeEach(async () => {
  a = await analyze([join(CAPTURES, 'lan-standards.pcap')], { storeFacts: true });
});
afterEach(() => a.close());

const count = (sql: string, ...params: unknown[]): number => (a.store.db.prepare(sql).get(...params) as { n: number }).n;

function rowsMentioning(device: string): Record<string, number> {
  return {
    devices: count(`SELECT count(*) AS n FROM devices WHERE id = ?`, device),
    device_ips: count(`SELECT count(*) AS n FROM device_ips WHERE device_id = ?`, device),
    flows: count(`SELECT count(*) AS n FROM flows WHERE device_id = ? OR peer_device_id = ?`, device, device),
    findings: count(`SELECT count(*) AS n FROM findings WHERE device_id = ?`, device),
    observations: count(`SELECT count(*) AS n FROM observations WHERE device_id = ?`, device),
    capture_devices: count(`SELECT count(*) AS n FROM capture_devices WHERE device_id = ?`, device),
  };
}

describe('forgetDevice', () => {
  it('deletes every row about the device and nothing about the others', () => {
    const before = rowsMentioning(CAM);
    expect(before.flows).toBeGreaterThan(0);
    expect(before.findings).toBeGreaterThan(0);
    const others = [SPEAKER, TV].map(rowsMentioning);
    const facts = count(`SELECT count(*) AS n FROM flow_facts`);
    const camFacts = count(
      `SELECT count(*) AS n FROM flow_facts ff JOIN flows f ON f.capture_id = ff.capture_id AND f.seq = ff.flow_seq WHERE f.device_id = ? OR f.peer_device_id = ?`,
      CAM,
      CAM,
    );

    const deleted = a.store.forgetDevice(CAM);

    expect(deleted).toEqual({ devices: 1, flows: before.flows, findings: before.findings, observations: before.observations });
    expect(rowsMentioning(CAM)).toEqual({ devices: 0, device_ips: 0, flows: 0, findings: 0, observations: 0, capture_devices: 0 });
    expect([SPEAKER, TV].map(rowsMentioning)).toEqual(others);
    expect(count(`SELECT count(*) AS n FROM flow_facts`)).toBe(facts - camFacts);
    expect(a.store.db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('leaves none of the device\'s identifiers in the database file', () => {
    a.store.forgetDevice(CAM);
    a.store.close();
    const bytes = readFileSync(join(a.dir, 'test.db'));
    // The MAC as stored, and the camera's DHCP hostname (captures/README.md).
    expect(bytes.includes(Buffer.from(CAM))).toBe(false);
    expect(bytes.includes(Buffer.from('garden-cam'))).toBe(false);
  });

  it('says so when the device is unknown', () => {
    expect(a.store.forgetDevice('de:ad:be:ef:00:00')).toEqual({ devices: 0, flows: 0, findings: 0, observations: 0 });
  });
});

describe('prune', () => {
  it('deletes what was last seen before the cutoff and keeps the rest', () => {
    const times = a.store.db.prepare(`SELECT min(last_seen) AS lo, max(last_seen) AS hi FROM flows`).get() as { lo: number; hi: number };
    const cutoff = (times.lo + times.hi) / 2;
    const oldFlows = count(`SELECT count(*) AS n FROM flows WHERE last_seen < ?`, cutoff);
    const oldFindings = count(`SELECT count(*) AS n FROM findings WHERE last_seen < ?`, cutoff);
    const allFlows = count(`SELECT count(*) AS n FROM flows`);
    expect(oldFlows).toBeGreaterThan(0);
    expect(oldFlows).toBeLessThan(allFlows);

    const deleted = a.store.prune({ olderThan: cutoff });

    expect(deleted.flows).toBe(oldFlows);
    expect(deleted.findings).toBe(oldFindings);
    expect(count(`SELECT count(*) AS n FROM flows WHERE last_seen < ?`, cutoff)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM flows`)).toBe(allFlows - oldFlows);
    expect(count(`SELECT count(*) AS n FROM flow_facts ff WHERE NOT EXISTS
      (SELECT 1 FROM flows f WHERE f.capture_id = ff.capture_id AND f.seq = ff.flow_seq)`)).toBe(0);
  });

  it('prunes everything when the cutoff is after the capture, devices included', () => {
    const deleted = a.store.prune({ olderThan: Date.now() / 1000 });
    expect(deleted.devices).toBeGreaterThan(0);
    expect(count(`SELECT count(*) AS n FROM flows`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM findings`)).toBe(0);
    expect(count(`SELECT count(*) AS n FROM devices`)).toBe(0);
  });

  it('under a size cap deletes the oldest flows first and keeps every finding', () => {
    const findings = count(`SELECT count(*) AS n FROM findings`);
    const newest = a.store.db.prepare(`SELECT id FROM flows ORDER BY last_seen DESC LIMIT 1`).get() as { id: number };
    // Grow the flows table well past a small cap with copies of the capture's flows.
    for (let i = 0; i < 40; i++) {
      a.store.db.exec(`INSERT INTO flows (capture_id, device_id, peer_device_id, device_is_client, proto, ip_version, vlan, client_ip, client_port,
        server_ip, server_port, client_mac, server_mac, packets_c2s, packets_s2c, bytes_c2s, bytes_s2c, payload_c2s, payload_s2c,
        first_seen, last_seen, tcp_state, end_reason, app, encryption, reason, server_name, seq)
        SELECT capture_id, device_id, peer_device_id, device_is_client, proto, ip_version, vlan, client_ip, client_port,
        server_ip, server_port, client_mac, server_mac, packets_c2s, packets_s2c, bytes_c2s, bytes_s2c, payload_c2s, payload_s2c,
        first_seen - 86400, last_seen - 86400, tcp_state, end_reason, app, encryption, reason, server_name, NULL FROM flows WHERE seq IS NOT NULL`);
    }
    const used = a.store.usedBytes();
    const cap = Math.floor(used * 0.6);

    const deleted = a.store.prune({ maxBytes: cap });

    expect(deleted.flows).toBeGreaterThan(0);
    expect(a.store.usedBytes()).toBeLessThanOrEqual(cap);
    expect(count(`SELECT count(*) AS n FROM findings`)).toBe(findings);
    // The newest flow is still there: oldest first.
    expect(count(`SELECT count(*) AS n FROM flows WHERE id = ?`, newest.id)).toBe(1);
  });
});

describe('settings and status', () => {
  it('keeps settings as JSON values across reopen', () => {
    expect(a.store.getSetting<number>('retain_days')).toBeNull();
    a.store.setSetting('retain_days', 7);
    a.store.setSetting('retain_days', 14);
    a.store.close();
    const s = new Store(join(a.dir, 'test.db'));
    expect(s.getSetting('retain_days')).toBe(14);
    s.close();
  });

  it('applies the dashboard\'s retention once chosen (null: keep everything), else the configured one', () => {
    expect(a.store.retentionDays()).toBeNull();
    a.store.setSetting('retain_days_configured', 30);
    expect(a.store.retentionDays()).toBe(30);
    a.store.setSetting('retain_days', 7);
    expect(a.store.retentionDays()).toBe(7);
    a.store.setSetting('retain_days', null);
    expect(a.store.retentionDays()).toBeNull();
  });

  it('stores the daemon status and reads it back', () => {
    expect(a.store.readStatus()).toBeNull();
    const status: DaemonStatus = {
      mode: 'watch', version: '0.1.0', pid: 1, started_at: new Date(0).toISOString(), updated_at: new Date().toISOString(), running: true,
      interfaces: ['br-lan'], filter: null, packets: 10, bytes: 1000, malformed: 0, drops_kernel: 0, drops_interface: null, drops_queue: 3,
      packets_per_second: 1, bytes_per_second: 100, flows_live: 2, flows_stored: 5, findings: 1, warnings: [],
    };
    a.store.writeStatus(status);
    a.store.writeStatus({ ...status, packets: 20 });
    expect(a.store.readStatus()).toEqual({ ...status, packets: 20 });
  });
});
