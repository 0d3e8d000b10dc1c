/**
 * Standard 3 (strong passwords) on real captures: lan-standards (the camera's HTTP Basic
 * admin:admin, MQTT gardencam/123456789, and the telnet login root/xc3511 it accepts from the
 * WAN), lan-basic (no login at all), and nDPI's "Clear-Text Credentials" flows in the corpus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, CAPTURES, corpusAvailable, type Analysis } from '../helpers/analysis.js';
import {
  CAM,
  compareWithNdpi,
  evidenceFlows,
  expectedNdpiDifferences,
  findingsOfStandard as findings,
  SPEAKER,
  summary,
  TV,
  type FindingRow,
} from '../helpers/standards.js';

describe('passwords on lan-standards', () => {
  let a: Analysis;
  let rows: FindingRow[];
  const find = (code: string, remote: string) => rows.find((f) => f.code === code && f.remote === remote)!;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
    rows = findings(a, 3);
  });
  afterAll(() => a.close());

  it('finds exactly the camera logins: in clear, defaults, and the weak MQTT password', () => {
    expect(summary(rows)).toEqual([
      // telnet root/xc3511 from the WAN scanner, accepted by the camera: a Mirai default.
      `${CAM} cleartext-credentials high 203.0.113.99`,
      // HTTP Basic admin:admin to the cloud, twice.
      `${CAM} cleartext-credentials high cam-cloud.example.test:80`,
      // MQTT gardencam / 123456789.
      `${CAM} cleartext-credentials high mqtt.example.test:1883`,
      `${CAM} default-credentials critical 203.0.113.99`,
      `${CAM} default-credentials critical cam-cloud.example.test:80`,
      // 123456789 is common and all digits, but not a factory default; the defaults are not
      // reported again as weak.
      `${CAM} weak-password medium mqtt.example.test:1883`,
    ]);
    expect(rows.filter((f) => f.device_id === SPEAKER || f.device_id === TV)).toEqual([]);
  });

  it('says what was sent where, and counts both Basic requests', () => {
    const basic = find('cleartext-credentials', 'cam-cloud.example.test:80');
    expect(basic.detail).toMatch(/^HTTP Basic login for user ".*" sent unencrypted to cam-cloud\.example\.test:80 \(password \*{5}, 5 characters\)/);
    expect(basic.count).toBe(2);
    const flows = evidenceFlows(a, basic.evidence);
    expect(flows).toHaveLength(2);
    for (const f of flows) expect(f).toMatchObject({ client_ip: '192.168.50.101', server_ip: '203.0.113.50', server_port: 80 });

    const telnet = find('default-credentials', '203.0.113.99');
    expect(telnet.detail).toContain('telnet login for user "root" accepted from 203.0.113.99');
    expect(evidenceFlows(a, telnet.evidence)).toEqual([
      expect.objectContaining({ proto: 'tcp', client_ip: '203.0.113.99', server_ip: '192.168.50.101', server_port: 23 }),
    ]);

    const mqtt = find('weak-password', 'mqtt.example.test:1883');
    expect(mqtt.detail).toContain('MQTT CONNECT login for user "gardencam"');
    expect(mqtt.detail).toContain('one of the most common passwords');
    expect(mqtt.detail).toContain('only digits');
    const ev = JSON.parse(mqtt.evidence) as { detail: { password: Record<string, unknown> } };
    expect(ev.detail.password).toMatchObject({ masked: '1*******9', length: 9, classes: ['digit'], common: true, matches_default: false });
  });

  it('keeps every captured password out of what it stores', () => {
    const secrets = readFileSync(join(CAPTURES, 'lan-standards.secrets'), 'utf8').split('\n').slice(1).filter((l) => l !== '');
    expect(secrets).toEqual(['admin', '123456789', 'xc3511']);
    const stored = a.store.db
      .prepare(`SELECT title || detail || remote || evidence AS text FROM findings WHERE standard IN (2, 3)
                UNION ALL SELECT detail || remote || evidence FROM observations WHERE standard IN (2, 3)`)
      .all() as { text: string }[];
    expect(stored.length).toBeGreaterThan(0);
    for (const { text } of stored) for (const s of secrets) expect(text.includes(s), `${s} in ${text}`).toBe(false);
  });

  it('sees no login travelling encrypted (the speaker only uses HTTPS on 443)', () => {
    expect(a.store.db.prepare(`SELECT COUNT(*) AS n FROM observations WHERE kind = 'login-encrypted'`).get()).toEqual({ n: 0 });
  });
});

describe('passwords on lan-basic', () => {
  it('finds no login (captures/README.md: plaintext credentials none)', async () => {
    const a = await analyze([join(CAPTURES, 'lan-basic.pcap')]);
    try {
      expect(findings(a, 3)).toEqual([]);
    } finally {
      a.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// nDPI's "Clear-Text Credentials" risk against our cleartext-credentials. The expected differences,
// with their reasons, are in test/standards/ndpi-differences.tsv (shared with updates.test.ts).

describe.skipIf(!corpusAvailable)('corpus: nDPI Clear-Text Credentials', () => {
  it('flags the same flows, apart from the listed differences', async () => {
    const risk = 'Clear-Text Credentials';
    const { agreed, missed, extra } = await compareWithNdpi(risk, ['cleartext-credentials']);
    expect(missed).toEqual(expectedNdpiDifferences(risk, 'missed'));
    expect(extra).toEqual(expectedNdpiDifferences(risk, 'extra'));
    expect(agreed).toBeGreaterThanOrEqual(1);
  });
});
