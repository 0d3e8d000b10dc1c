/**
 * Every card cell of the three lan-standards devices, from what captures/record.sh drove
 * (captures/README.md, "lan-standards: facts to assert"), and no unexpected high finding.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceReports } from '../../src/store/report.js';
import { analyze, CAPTURES, type Analysis } from '../helpers/analysis.js';
import { CAM, SPEAKER, TV } from '../helpers/standards.js';


const EXPECTED: Record<string, { verdict: string; cells: string[] }> = {
  // Basic auth admin:admin, telnet root/xc3511, MQTT in clear; uImage over HTTP after a plain
  // manifest, no signature; Boa banner, telnet open to the WAN; MAC and e-mail to Google Analytics.
  [CAM]: { verdict: 'creepy', cells: ['fail', 'fail', 'fail', 'fail', 'fail'] },
  // TLS 1.3 only, update over HTTPS, no login, no banner, named services none a tracker.
  [SPEAKER]: { verdict: 'not-creepy', cells: ['pass', 'pass', 'not-observed', 'not-observed', 'pass'] },
  // TLS 1.0 to an expired self-signed certificate it accepted; no update, no login;
  // Linux 2.6.36 / MiniUPnPd 1.4 in its SSDP NOTIFY and an AddPortMapping; no tracker.
  [TV]: { verdict: 'creepy', cells: ['fail', 'not-observed', 'not-observed', 'fail', 'pass'] },
};

/** High or critical findings each device must have, and no others. */
const HIGH: Record<string, string[]> = {
  [CAM]: [
    'plaintext-flow', 'update-over-plaintext', 'cleartext-credentials', 'default-credentials',
    'outdated-software', 'risky-service-exposed', 'pii-in-plaintext',
  ],
  [SPEAKER]: [],
  [TV]: ['tls-self-signed', 'tls-expired-certificate', 'upnp-port-mapping'],
};

describe('report cards on lan-standards.pcap', () => {
  let a: Analysis;
  let devices: ReturnType<typeof deviceReports>;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
    devices = deviceReports(a.store, a.captureId);
  });
  afterAll(() => a.close());

  it.each(Object.keys(EXPECTED))('%s: every cell and the overall verdict', (id) => {
    const d = devices.find((x) => x.id === id);
    expect(d).toBeDefined();
    expect(d!.report.standards.map((c) => c.state)).toEqual(EXPECTED[id].cells);
    expect(d!.report.verdict).toBe(EXPECTED[id].verdict);
    for (const c of d!.report.standards) {
      expect(c.sentence.length).toBeGreaterThan(10);
      // A failing or warning cell names the findings behind it, and they exist.
      if (c.state === 'fail' || c.state === 'warn') {
        for (const code of c.because) expect(d!.findings.some((f) => f.code === code && f.standard === c.standard)).toBe(true);
      }
    }
  });

  it.each(Object.keys(HIGH))('%s: exactly the expected high and critical findings', (id) => {
    const d = devices.find((x) => x.id === id)!;
    const high = [...new Set(d.findings.filter((f) => f.severity === 'high' || f.severity === 'critical').map((f) => f.code))].sort();
    expect(high).toEqual([...HIGH[id]].sort());
  });

  it('the default credentials are the camera\'s: HTTP Basic admin/admin and telnet root/xc3511, masked', () => {
    const d = devices.find((x) => x.id === CAM)!;
    const defaults = d.findings.filter((f) => f.code === 'default-credentials');
    expect(defaults.map((f) => f.remote).sort()).toEqual(['203.0.113.99', 'cam-cloud.example.test:80']);
    expect(defaults.every((f) => f.severity === 'critical')).toBe(true);
  });

  it('the TV accepted the expired self-signed certificate of tv-api.example.test over TLS 1.0', () => {
    const d = devices.find((x) => x.id === TV)!;
    const byCode = new Map(d.findings.map((f) => [f.code, f]));
    expect(byCode.get('tls-obsolete-version')?.remote).toBe('tv-api.example.test:443');
    expect(byCode.get('tls-expired-certificate')?.evidence).toMatchObject({ valid_to: '2021-01-01T00:00:00.000Z', client_went_on: true });
    expect(byCode.get('tls-self-signed')?.remote).toBe('tv-api.example.test:443');
  });
});
