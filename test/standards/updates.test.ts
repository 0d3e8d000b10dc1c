/**
 * Standard 2 (security updates) on real captures: lan-standards (the camera's manifest and uImage
 * over HTTP, the speaker's update over TLS), lan-basic (a .bin and a manifest over HTTP), a copy of
 * lan-standards in which the manifest request asks for a detached signature instead, and nDPI's
 * "Binary App Transfer" flows in the corpus.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUpdateHost } from '../../src/standards/updates.js';
import { analyze, CAPTURES, corpusAvailable, hasTool, type Analysis } from '../helpers/analysis.js';
import { pcapRecords, writeVariant } from '../helpers/pcap-edit.js';
import { CAM, compareWithNdpi, evidenceFlows, expectedNdpiDifferences, findingsOfStandard, SPEAKER, summary, TV } from '../helpers/standards.js';

function observations(a: Analysis, kind: string): { device_id: string; remote: string; detail: string }[] {
  return a.store.db.prepare(`SELECT device_id, remote, detail FROM observations WHERE kind = ? ORDER BY device_id, remote`).all(kind) as {
    device_id: string;
    remote: string;
    detail: string;
  }[];
}

describe('updates on lan-standards', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
  });
  afterAll(() => a.close());

  it('finds exactly the camera manifest, image and missing signature', () => {
    expect(summary(findingsOfStandard(a, 2))).toEqual([
      `${CAM} update-manifest-plaintext medium firmware.example.test:80`,
      `${CAM} update-over-plaintext high firmware.example.test:80`,
      `${CAM} update-unsigned medium firmware.example.test:80`,
    ]);
  });

  it('names the uImage, its URL and the flow it came on', () => {
    const img = findingsOfStandard(a, 2).find((f) => f.code === 'update-over-plaintext')!;
    expect(img.detail).toContain('http://firmware.example.test/cam/gardencam-1.4.3.bin');
    expect(img.detail).toContain('uImage');
    expect(img.detail).toContain('firmware');
    const ev = JSON.parse(img.evidence) as { detail: Record<string, unknown> };
    expect(ev.detail).toMatchObject({ protocol: 'http', host: 'firmware.example.test', path: '/cam/gardencam-1.4.3.bin', status: 200, format: 'uimage' });
    expect(ev.detail.content_type).toBe('application/octet-stream');
    expect(ev.detail.content_length).toBe(5400);
    const flows = evidenceFlows(a, img.evidence);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ proto: 'tcp', client_ip: '192.168.50.101', server_ip: '203.0.113.10', server_port: 80 });
    // update-unsigned points at the same flow, and says how sure it is.
    const unsigned = findingsOfStandard(a, 2).find((f) => f.code === 'update-unsigned')!;
    expect(evidenceFlows(a, unsigned.evidence)).toEqual(flows);
    expect(unsigned.detail).toContain('no signature was fetched alongside it and the image format carries none that we recognise');
    expect(unsigned.detail).toContain('a signature inside the image cannot be ruled out');
  });

  it('reports the manifest on its own flow, not the image', () => {
    const m = findingsOfStandard(a, 2).find((f) => f.code === 'update-manifest-plaintext')!;
    expect(m.detail).toContain('http://firmware.example.test/cam/manifest.json');
    expect(m.detail).toContain('application/json');
    const img = findingsOfStandard(a, 2).find((f) => f.code === 'update-over-plaintext')!;
    const [mf] = evidenceFlows(a, m.evidence);
    const [imf] = evidenceFlows(a, img.evidence);
    expect(mf).toMatchObject({ server_ip: '203.0.113.10', server_port: 80 });
    expect(mf.client_port).not.toBe(imf.client_port);
  });

  it('counts the speaker update over TLS as evidence, and nothing against it or the TV', () => {
    expect(observations(a, 'update-over-tls')).toEqual([
      { device_id: SPEAKER, remote: 'updates.example.test', detail: expect.stringContaining('updates.example.test') },
    ]);
    const others = findingsOfStandard(a, 2).filter((f) => f.device_id === SPEAKER || f.device_id === TV);
    expect(others).toEqual([]);
  });

  it('does not take the tracker "ok" typed application/octet-stream for a download', () => {
    expect(findingsOfStandard(a, 2).filter((f) => f.remote.startsWith('www.google-analytics.com'))).toEqual([]);
  });
});

describe('updates on lan-basic', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-basic.pcap')]);
  });
  afterAll(() => a.close());

  it('finds the camera .bin and the TV manifest over HTTP, nothing else', () => {
    // captures/README.md: the camera GETs /firmware/garden-cam-1.4.3.bin (4096 random bytes,
    // application/octet-stream: no format to recognise), the TV /tv/manifest.json (application/json),
    // and both GET / (a text/html listing); the speaker's /collect answer is "ok" typed octet-stream.
    expect(summary(findingsOfStandard(a, 2))).toEqual([
      `${TV} update-manifest-plaintext medium firmware.example.test:80`,
      `${CAM} update-over-plaintext high firmware.example.test:80`,
      `${CAM} update-unsigned medium firmware.example.test:80`,
    ]);
    const img = findingsOfStandard(a, 2).find((f) => f.code === 'update-over-plaintext')!;
    expect(img.detail).toContain('http://firmware.example.test/firmware/garden-cam-1.4.3.bin');
    expect(JSON.parse(img.evidence).detail).toMatchObject({ format: null, content_length: 4096 });
    const unsigned = findingsOfStandard(a, 2).find((f) => f.code === 'update-unsigned')!;
    expect(unsigned.detail).toContain('its format could not be checked for one');
    expect(findingsOfStandard(a, 2).find((f) => f.code === 'update-manifest-plaintext')!.detail).toContain('/tv/manifest.json');
    expect(observations(a, 'update-over-tls')).toEqual([]);
  });

  it.skipIf(!hasTool('tshark'))('agrees with tshark on what was downloaded', () => {
    const out = execFileSync(
      'tshark',
      ['-r', join(CAPTURES, 'lan-basic.pcap'), '-Y', 'http.response', '-T', 'fields', '-E', 'separator=\t', '-e', 'http.response_for.uri', '-e', 'http.content_type'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const responses = out.trim().split('\n').map((l) => l.split('\t'));
    // Two binary answers: the image, and the tracker's "ok" (not an update).
    const binary = responses.filter(([, type]) => type === 'application/octet-stream').map(([uri]) => uri);
    expect(binary).toEqual(['http://firmware.example.test/firmware/garden-cam-1.4.3.bin', 'http://tracker.example.test/collect?device=kitchen-speaker&event=boot']);
    const json = responses.filter(([, type]) => type === 'application/json').map(([uri]) => uri);
    expect(json).toEqual(['http://firmware.example.test/tv/manifest.json']);
    const rows = findingsOfStandard(a, 2);
    expect(rows.find((f) => f.code === 'update-over-plaintext')!.detail).toContain(binary[0]);
    expect(rows.find((f) => f.code === 'update-manifest-plaintext')!.detail).toContain(json[0]);
    expect(rows.some((f) => f.detail.includes('tracker.example.test'))).toBe(false);
  });
});

/** Recompute the TCP checksum of an IPv4/TCP frame after an edit (Ethernet, no VLAN). */
function fixTcpChecksum(b: Buffer, frame: number, caplen: number): void {
  const ip = frame + 14;
  const ihl = (b[ip] & 0x0f) * 4;
  const total = b.readUInt16BE(ip + 2);
  const tcp = ip + ihl;
  const len = total - ihl;
  expect(tcp + len).toBeLessThanOrEqual(frame + caplen);
  b.writeUInt16BE(0, tcp + 16);
  let sum = 0;
  for (let i = 0; i < 8; i += 2) sum += b.readUInt16BE(ip + 12 + i); // source and destination
  sum += 6 + len;
  for (let i = 0; i < len; i += 2) sum += i + 1 < len ? b.readUInt16BE(tcp + i) : b[tcp + i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, tcp + 16);
}

describe('a detached signature fetched before the image', () => {
  let a: Analysis;
  let dir: string;
  beforeAll(async () => {
    // The same capture, with the camera's "GET /cam/manifest.json" turned into "GET /cam/gardencam.sig"
    // (same length; the server's answer is left as it was): a signature request to the same host.
    dir = mkdtempSync(join(tmpdir(), 'notcreepy-sig-'));
    const variant = join(dir, 'lan-standards-sig.pcap');
    let edited = 0;
    writeVariant(join(CAPTURES, 'lan-standards.pcap'), variant, (b) => {
      const from = Buffer.from('GET /cam/manifest.json ');
      const to = Buffer.from('GET /cam/gardencam.sig ');
      for (const r of pcapRecords(b)) {
        const at = b.indexOf(from, r.data);
        if (at < 0 || at >= r.data + r.caplen) continue;
        to.copy(b, at);
        fixTcpChecksum(b, r.data, r.caplen);
        edited++;
      }
      return b;
    });
    expect(edited).toBe(1);
    expect(readFileSync(variant).includes('/cam/manifest.json HTTP')).toBe(false);
    a = await analyze([variant]);
  });
  afterAll(() => {
    a.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('still reports the image in clear, but not as unsigned', () => {
    expect(summary(findingsOfStandard(a, 2))).toEqual([`${CAM} update-over-plaintext high firmware.example.test:80`]);
  });
});

describe('update host names', () => {
  it('recognises update servers conservatively', () => {
    for (const n of ['updates.example.test', 'firmware.example.test', 'ota.vendor.test', 'fw2.vendor.test', 'download.windowsupdate.com', 'swupdate.vendor.test', 'dl.vendor.test']) {
      expect(isUpdateHost(n), n).toBe(true);
    }
    for (const n of ['api.example.test', 'stream.example.test', 'app-measurement.com', 'www.google-analytics.com', 'otago.ac.nz', 'fwd.example.test', 'update', 'mqtt.example.test']) {
      expect(isUpdateHost(n), n).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// nDPI's "Binary App Transfer" risk against our update-over-plaintext / executable-over-plaintext
// (expected differences, with their reasons, in test/standards/ndpi-differences.tsv).

describe.skipIf(!corpusAvailable)('corpus: nDPI Binary App Transfer', () => {
  it('flags the same flows, apart from the listed differences', async () => {
    const risk = 'Binary App Transfer';
    const r = await compareWithNdpi(risk, ['update-over-plaintext', 'executable-over-plaintext']);
    expect(r.missed).toEqual(expectedNdpiDifferences(risk, 'missed'));
    expect(r.extra).toEqual(expectedNdpiDifferences(risk, 'extra'));
    expect(r.agreed).toBeGreaterThanOrEqual(3);
  });
});
