/**
 * Standard 3 (strong passwords) on real captures: lan-standards (the camera's HTTP Basic
 * admin:admin, MQTT gardencam/123456789, and the telnet login root/xc3511 it accepts from the
 * WAN), lan-basic (no login at all), and nDPI's "Clear-Text Credentials" flows in the corpus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, CAPTURES, conversationKey, corpusAvailable, type Analysis } from '../helpers/analysis.js';
import { corpusEntries, parseNdpiFlows } from '../conformance/corpus.js';

const CAM = 'b8:27:eb:12:34:56';
const SPEAKER = '02:42:ac:11:00:02';
const TV = '00:1a:11:5c:7e:01';

interface FindingRow {
  device_id: string;
  code: string;
  severity: string;
  remote: string;
  title: string;
  detail: string;
  evidence: string;
  count: number;
}

interface FlowRow {
  proto: string;
  client_ip: string;
  client_port: number;
  server_ip: string;
  server_port: number;
}

function findings(a: Analysis, standard: number): FindingRow[] {
  return a.store.db
    .prepare(`SELECT device_id, code, severity, remote, title, detail, evidence, count FROM findings WHERE standard = ? ORDER BY device_id, code, remote`)
    .all(standard) as FindingRow[];
}

function evidenceFlows(a: Analysis, evidence: string): FlowRow[] {
  const q = a.store.db.prepare(`SELECT proto, client_ip, client_port, server_ip, server_port FROM flows WHERE capture_id = ? AND seq = ?`);
  return (JSON.parse(evidence) as { flows: { capture_id: number; seq: number }[] }).flows.map((r) => q.get(r.capture_id, r.seq) as FlowRow);
}

const summary = (rows: FindingRow[]) => rows.map((r) => `${r.device_id} ${r.code} ${r.severity} ${r.remote}`);

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

function expectedDifferences(risk: string, side: 'missed' | 'extra'): string[] {
  const [header, ...lines] = readFileSync(join(import.meta.dirname, 'ndpi-differences.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const cols = header.split('\t');
  return lines
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])) as Record<string, string>)
    .filter((d) => d.risk === risk && d.side === side)
    .map((d) => `${d.capture}\t${d.conversation}`)
    .sort();
}

/** Captures whose nDPI output has either risk are checked for both (so false positives show too). */
const NDPI_RISKS = ['Clear-Text Credentials', 'Binary App Transfer'];

function endpoint(s: string): [string, number] {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(s);
  if (m === null) throw new Error(`endpoint ${s}`);
  return [m[1], Number(m[2])];
}

describe.skipIf(!corpusAvailable)('corpus: nDPI Clear-Text Credentials', () => {
  it('flags the same flows, apart from the listed differences', async () => {
    const risk = 'Clear-Text Credentials';
    const files = corpusEntries().filter((e) => e.ndpiOut !== null && NDPI_RISKS.some((r) => readFileSync(e.ndpiOut!, 'utf8').includes(r)));
    expect(files.length).toBeGreaterThan(0);
    let agreed = 0;
    const missed: string[] = [];
    const extra: string[] = [];
    for (const e of files) {
      const theirs = new Set(
        parseNdpiFlows(e.ndpiOut!)
          .filter((f) => f.line.includes(risk))
          .map((f) => conversationKey(f.l4.toLowerCase(), ...endpoint(f.a), ...endpoint(f.b))),
      );
      const a = await analyze([e.path]);
      try {
        const ours = new Set<string>();
        const rows = a.store.db.prepare(`SELECT evidence FROM findings WHERE code = 'cleartext-credentials'`).all() as { evidence: string }[];
        for (const r of rows) for (const f of evidenceFlows(a, r.evidence)) ours.add(conversationKey(f.proto, f.client_ip, f.client_port, f.server_ip, f.server_port));
        for (const k of theirs) if (ours.has(k)) agreed++;
        else missed.push(`${e.file}\t${k}`);
        for (const k of ours) if (!theirs.has(k)) extra.push(`${e.file}\t${k}`);
      } finally {
        a.close();
      }
    }
    expect(missed.sort()).toEqual(expectedDifferences(risk, 'missed'));
    expect(extra.sort()).toEqual(expectedDifferences(risk, 'extra'));
    expect(agreed).toBeGreaterThanOrEqual(1);
  });
});
