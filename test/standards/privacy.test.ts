/**
 * Standard 5 (privacy) on real captures: the lab's lan-standards and lan-basic (facts from
 * captures/README.md), and corpus captures whose tracker host names come from nDPI's output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LAN_PREFIXES, LanMatcher, parseIp } from '../../src/decode/address.js';
import { analyze, CAPTURES, corpusAvailable, corpusFile, type Analysis } from '../helpers/analysis.js';
import { CAM, SPEAKER, TV, type FindingRow } from '../helpers/standards.js';


interface Evidence {
  flows: { seq: number }[];
  bytes_sent: number;
  detail: Record<string, unknown>;
}

function findings(a: Analysis, code: string): FindingRow[] {
  return a.store.db
    .prepare(`SELECT device_id, code, severity, remote, title, detail, count, evidence FROM findings WHERE code = ? ORDER BY device_id, remote`)
    .all(code) as FindingRow[];
}

function endpoints(a: Analysis): Map<string, { count: number; names: string[] }> {
  const rows = a.store.db
    .prepare(`SELECT device_id, remote, count, evidence FROM observations WHERE kind = 'endpoint-contacted'`)
    .all() as { device_id: string; remote: string; count: number; evidence: string }[];
  const out = new Map<string, { count: number; names: string[] }>();
  for (const r of rows) {
    expect(r.remote).toBe('');
    out.set(r.device_id, { count: r.count, names: (evidence(r).detail.names as string[]) ?? [] });
  }
  return out;
}

function evidence(row: { evidence: string }): Evidence {
  return JSON.parse(row.evidence) as Evidence;
}

function serverPortOf(a: Analysis, seq: number): number {
  return (a.store.db.prepare(`SELECT server_port FROM flows WHERE capture_id = ? AND seq = ?`).get(a.captureId, seq) as { server_port: number }).server_port;
}

const key = (r: FindingRow): string => `${r.device_id} ${r.severity} ${r.remote}`;

describe('lan-standards.pcap', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
  });
  afterAll(() => a.close());

  it('finds the camera\'s two tracker hosts, each looked up and then contacted (count 2)', () => {
    const rows = findings(a, 'tracker-contact');
    expect(rows.map(key)).toEqual([`${CAM} medium app-measurement.com`, `${CAM} medium www.google-analytics.com`]);
    const [firebase, ga] = rows;

    expect(ga.count).toBe(2);
    const gaEv = evidence(ga);
    expect(gaEv.detail).toMatchObject({
      organisation: 'Google',
      category: 'site_analytics',
      matched_domain: 'google-analytics.com',
      source: 'trackerdb',
      via: ['dns', 'http'],
    });
    // The DNS query (port 53) and the HTTP request (port 80).
    expect(gaEv.flows.map((f) => serverPortOf(a, f.seq)).sort((x, y) => x - y)).toEqual([53, 80]);
    expect(gaEv.bytes_sent).toBeGreaterThan(0);

    expect(firebase.count).toBe(2);
    const fbEv = evidence(firebase);
    expect(fbEv.detail).toMatchObject({ matched_domain: 'app-measurement.com', source: 'device-telemetry', via: ['dns', 'tls'] });
    expect(fbEv.flows.map((f) => serverPortOf(a, f.seq)).sort((x, y) => x - y)).toEqual([53, 443]);
  });

  it('finds the camera\'s MAC and e-mail in clear, per destination, with masked samples only', () => {
    const rows = findings(a, 'pii-in-plaintext');
    expect(rows.map(key)).toEqual([
      // POST /api/v1/register: JSON body {"mac":"b8:27:eb:12:34:56",...}.
      `${CAM} high cam-cloud.example.test:80`,
      // MQTT client id gardencam-b827eb123456, topic gardencam/b8:27:eb:12:34:56/status, payload {"mac":...}.
      `${CAM} high mqtt.example.test:1883`,
      // GET /collect?...&mac=b8:27:eb:12:34:56&email=owner@example.com.
      `${CAM} high www.google-analytics.com:80`,
    ]);
    const [cloud, mqtt, ga] = rows.map((r) => evidence(r).detail);
    expect(cloud).toMatchObject({ protocol: 'http', kinds: ['mac-address'], found_in: ['body'] });
    expect(mqtt).toMatchObject({ protocol: 'mqtt', kinds: ['mac-address'] });
    expect(mqtt.found_in).toEqual(expect.arrayContaining(['mqtt client id', 'mqtt topic', 'mqtt payload']));
    expect(ga).toMatchObject({ protocol: 'http', kinds: ['mac-address', 'email'], found_in: ['url'] });
    expect(ga.samples).toEqual({ 'mac-address': 'b8:27:…:56', email: 'o…@….com' });
    for (const r of rows) {
      const text = `${r.title} ${r.detail} ${r.evidence}`.toLowerCase();
      for (const personal of ['owner@example.com', 'owner', 'b8:27:eb:12:34:56', 'b827eb123456', '12:34:56']) expect(text).not.toContain(personal);
    }
  });

  it('gives the speaker (TLS 1.3 only) and the TV no privacy finding', () => {
    for (const device of [SPEAKER, TV]) {
      const codes = a.store.db.prepare(`SELECT code FROM findings WHERE device_id = ? AND standard = 5`).all(device);
      expect(codes).toEqual([]);
    }
  });

  it('observes the named endpoints that are not trackers, per device', () => {
    const e = endpoints(a);
    // The speaker's three TLS connections (SNI api, stream, updates.example.test).
    expect(e.get(SPEAKER)).toEqual({ count: 3, names: ['api.example.test', 'stream.example.test', 'updates.example.test'] });
    // The TV's DNS query and TLS 1.0 connection to tv-api.example.test.
    expect(e.get(TV)).toEqual({ count: 2, names: ['tv-api.example.test'] });
    // The camera: its non-tracker names only.
    expect(e.get(CAM)?.names.sort()).toEqual(['cam-cloud.example.test', 'firmware.example.test', 'mqtt.example.test']);
  });
});

describe('lan-basic.pcap', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-basic.pcap')]);
  });
  afterAll(() => a.close());

  it('does not call tracker.example.test a tracker: it is on no list', () => {
    expect(findings(a, 'tracker-contact')).toEqual([]);
    // The speaker did ask for it and fetch /collect from it: the name was seen and judged.
    expect(endpoints(a).get(SPEAKER)?.names).toContain('tracker.example.test');
  });

  it('finds no personal data: the speaker\'s query string only names the device model', () => {
    // GET /collect?device=kitchen-speaker&event=boot, in clear.
    const http = a.store.db
      .prepare(`SELECT COUNT(*) AS n FROM flows WHERE capture_id = ? AND server_name = 'tracker.example.test' AND encryption = 'plaintext'`)
      .get(a.captureId) as { n: number };
    expect(http.n).toBe(1);
    expect(findings(a, 'pii-in-plaintext')).toEqual([]);
  });
});

/** Host names nDPI saw (Hostname/SNI) that belong to well-known trackers. */
const TRACKER_HOSTS = /Hostname\/SNI: ([\w.-]*(?:doubleclick\.net|google-analytics\.com|app-measurement\.com|crashlytics\.com|googlesyndication\.com))\]/;
/** nDPI's client address: "TCP 192.168.1.7:53859 <-> …", "UDP [2a01::1]:5000 -> …". */
const NDPI_CLIENT = /^\t\d+\t(?:TCP|UDP) \[?([0-9a-fA-F.:]+?)\]?:\d+ /;

/** Tracker names nDPI reports for flows a LAN device opened (others are not anyone's device). */
function ndpiTrackerHosts(ndpiOut: string, lanPrefixes: string[]): string[] {
  const lan = new LanMatcher(lanPrefixes);
  const names = new Set<string>();
  for (const line of readFileSync(corpusFile(ndpiOut), 'utf8').split('\n')) {
    const m = TRACKER_HOSTS.exec(line);
    const client = parseIp(NDPI_CLIENT.exec(line)?.[1] ?? '');
    if (m !== null && client !== null && lan.isLocal(client.version, client.words)) names.add(m[1].toLowerCase());
  }
  return [...names].sort();
}

describe.skipIf(!corpusAvailable)('corpus: tracker host names nDPI reports', () => {
  const cases: { pcap: string; ndpi: string; lan?: string[] }[] = [
    { pcap: 'tls_alert.pcap', ndpi: 'tls_alert.ndpi.out' },
    { pcap: 'youtube_quic.pcap', ndpi: 'youtube_quic.ndpi.out' },
    { pcap: 'quic_frags_ch_out_of_order_same_packet_craziness.pcapng', ndpi: 'quic_frags_ch_out_of_order_same_packet_craziness.ndpi.out' },
    { pcap: '1kxun.pcap', ndpi: '1kxun.ndpi.out' },
    // A home network with a global IPv6 prefix: it has to be named as the LAN.
    { pcap: 'reddit.pcap', ndpi: 'reddit.ndpi.out', lan: ['2a01:cb01:2049:8b07::/64'] },
  ];
  for (const c of cases) {
    it(`${c.pcap}: a medium tracker-contact finding for each`, async () => {
      const lanPrefixes = [...DEFAULT_LAN_PREFIXES, ...(c.lan ?? [])];
      const expected = ndpiTrackerHosts(c.ndpi, lanPrefixes);
      expect(expected.length).toBeGreaterThan(0);
      const a = await analyze([corpusFile(c.pcap)], { lanPrefixes });
      try {
        const rows = findings(a, 'tracker-contact');
        const byName = new Map(rows.map((r) => [r.remote, r]));
        for (const name of expected) {
          expect(byName.get(name), name).toMatchObject({ severity: 'medium' });
          const detail = evidence(byName.get(name)!).detail;
          expect(detail.source).toBe('trackerdb');
          expect(['advertising', 'site_analytics']).toContain(detail.category);
        }
      } finally {
        a.close();
      }
    });
  }
});
