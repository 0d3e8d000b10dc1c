import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import loadTrackerDB from '@ghostery/trackerdb';
import { loadAdblockList, loadHostsList, TrackerIntel, trackerIntel } from '../../src/intel/trackers.js';

const dir = mkdtempSync(join(tmpdir(), 'notcreepy-trackers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('default intelligence (trackerdb + device telemetry)', () => {
  const intel = trackerIntel();

  it('is loaded once', () => {
    expect(trackerIntel()).toBe(intel);
    expect(intel.size).toBeGreaterThan(4000);
  });

  it('knows Google Analytics from trackerdb', () => {
    expect(intel.lookup('www.google-analytics.com')).toEqual({
      domain: 'google-analytics.com',
      organisation: 'Google',
      category: 'site_analytics',
      source: 'trackerdb',
      pattern: 'Google Analytics',
    });
  });

  it('matches a doubleclick.net subdomain, ignoring case and a trailing dot', () => {
    const m = intel.lookup('Securepubads.G.DoubleClick.NET.');
    expect(m?.domain).toBe('doubleclick.net');
    expect(m?.category).toBe('advertising');
    expect(m?.source).toBe('trackerdb');
  });

  it('knows device and SDK telemetry that trackerdb misses', () => {
    expect(intel.lookup('app-measurement.com')).toMatchObject({
      organisation: 'Google (Firebase Analytics)',
      source: 'device-telemetry',
    });
    expect(intel.lookup('firebase-settings.crashlytics.com')).toMatchObject({
      domain: 'crashlytics.com',
      category: 'telemetry',
    });
    expect(intel.lookup('log-ingestion-eu.samsungacr.com')).toMatchObject({ organisation: 'Samsung', category: 'acr' });
    expect(intel.lookup('acr-eu-prd.samsungcloud.tv')?.category).toBe('acr');
    // trackerdb files amazon.com under "misc"; the more precise telemetry entry wins.
    expect(intel.lookup('device-metrics-us.amazon.com')).toMatchObject({ category: 'telemetry', source: 'device-telemetry' });
    expect(intel.lookup('www.amazon.com')?.source).toBe('trackerdb');
  });

  it('does not match ordinary hosts, CDNs, IP literals or bare labels', () => {
    for (const host of [
      'example.com', 'firmware.example.test', 'd1234.cloudfront.net', 'firmware.s3.amazonaws.com',
      'samsungcloud.tv', '142.250.74.14', '2a00:1450:4001:80b::200e', '[::1]', 'com', 'localhost', '', '.',
    ]) {
      expect(intel.lookup(host), host).toBeNull();
    }
  });

  it("agrees with trackerdb's own matchDomain", async () => {
    const require = createRequire(import.meta.url);
    const engineFile = join(dirname(require.resolve('@ghostery/trackerdb')), '..', 'trackerdb.engine');
    const db = await loadTrackerDB(readFileSync(engineFile));
    const domains = Object.keys(
      (JSON.parse(readFileSync(join(dirname(engineFile), 'trackerdb.json'), 'utf8')) as { domains: Record<string, string> }).domains,
    );
    let compared = 0;
    for (let i = 0; i < domains.length; i += 17) {
      const host = `x1.${domains[i]}`;
      const ours = intel.lookup(host);
      if (ours?.source === 'device-telemetry') continue;
      const theirs = db.matchDomain(host)[0];
      if (theirs?.category?.key === 'hosting') {
        expect(ours, host).toBeNull();
      } else {
        expect(ours?.pattern, host).toBe(theirs?.pattern.name);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(250);
  });

  it('looks up 100k hostnames in under 300 ms', () => {
    const hosts = [
      'www.google-analytics.com', 'a.b.c.example.com', 'firmware.vendor.example.test', 'app-measurement.com',
      'connectivitycheck.gstatic.com', '192.168.1.20', 'api.weather.example.org', 'log-ingestion.samsungacr.com',
    ];
    let hits = 0;
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) if (intel.lookup(hosts[i & 7]) !== null) hits++;
    const ms = performance.now() - t0;
    console.log(`trackers: 100k lookups in ${ms.toFixed(1)} ms (${Math.round(100_000 / (ms / 1000)).toLocaleString('en')}/s)`);
    expect(hits).toBe(37_500);
    expect(ms).toBeLessThan(300);
  });
});

describe('user lists', () => {
  it('reads a hosts file: addresses, bare names, several names a line, comments', () => {
    const path = write(
      'my-hosts.txt',
      [
        '# my blocklist',
        '127.0.0.1 localhost',
        '::1 localhost ip6-localhost',
        '0.0.0.0 telemetry.example.net   # phones home',
        '127.0.0.1 ads.example.org ADS2.Example.org.',
        'tracker.example.io',
        '',
        '0.0.0.0',
        '0.0.0.0 not_a*domain',
        'two words here',
      ].join('\n'),
    );
    const list = loadHostsList(path);
    expect(list.domains).toEqual(['telemetry.example.net', 'ads.example.org', 'ads2.example.org', 'tracker.example.io']);
    expect(list.skipped).toBe(3);
  });

  it('reads only whole-domain rules from an adblock list', () => {
    const path = write(
      'easyprivacy-part.txt',
      [
        '[Adblock Plus 2.0]',
        '! Title: EasyPrivacy (part)',
        '||stats.example.com^',
        '||metrics.example.net^$third-party',
        '||pixel.example.org^$important,3p',
        '||cdn.example.com/track.js',
        '||img.example.com^$image',
        '||ads.example.com^$domain=news.example',
        '@@||allowed.example.com^',
        'example.com##.ad-banner',
        '/tracker/*/beacon.gif',
        '||*.wild.example^',
      ].join('\n'),
    );
    const list = loadAdblockList(path);
    expect(list.domains).toEqual(['stats.example.com', 'metrics.example.net', 'pixel.example.org']);
    expect(list.skipped).toBe(7);
  });

  it('takes precedence over the built-in lists and is tagged with its file', () => {
    const hosts = write('family.hosts', '0.0.0.0 google-analytics.com\n0.0.0.0 iot.example.com\n');
    const adblock = write('easy.txt', '||crashlytics.com^\n');
    const intel = TrackerIntel.load({
      userLists: [
        { path: hosts, format: 'hosts' },
        { path: adblock, format: 'adblock' },
      ],
    });
    expect(intel.lookup('www.google-analytics.com')).toEqual({
      domain: 'google-analytics.com',
      organisation: 'family.hosts',
      category: 'user list',
      source: hosts,
    });
    expect(intel.lookup('sensor.iot.example.com')?.source).toBe(hosts);
    expect(intel.lookup('firebase-settings.crashlytics.com')?.organisation).toBe('easy.txt');
    expect(intel.lookup('example.com')).toBeNull();
    expect(intel.lists.map((l) => l.source)).toEqual([hosts, adblock, 'device-telemetry', 'trackerdb']);
  });

  it('can leave trackerdb out', () => {
    const intel = TrackerIntel.load({ trackerdb: false });
    expect(intel.lookup('www.google-analytics.com')).toBeNull();
    expect(intel.lookup('app-measurement.com')?.source).toBe('device-telemetry');
  });

  it('names the path of a missing file', () => {
    const missing = join(dir, 'nope.txt');
    expect(() => loadHostsList(missing)).toThrow(missing);
    expect(() => TrackerIntel.load({ userLists: [{ path: missing, format: 'adblock' }] })).toThrow(/ENOENT/);
  });
});
