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
import { analyze, CAPTURES, conversationKey, corpusAvailable, hasTool, type Analysis } from '../helpers/analysis.js';
import { pcapRecords, writeVariant } from '../helpers/pcap-edit.js';
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

function findings(a: Analysis, standard: number): FindingRow[] {
  return a.store.db
    .prepare(`SELECT device_id, code, severity, remote, title, detail, evidence, count FROM findings WHERE standard = ? ORDER BY device_id, code, remote`)
    .all(standard) as FindingRow[];
}

function observations(a: Analysis, kind: string): { device_id: string; remote: string; detail: string }[] {
  return a.store.db.prepare(`SELECT device_id, remote, detail FROM observations WHERE kind = ? ORDER BY device_id, remote`).all(kind) as {
    device_id: string;
    remote: string;
    detail: string;
  }[];
}

/** The flows named in a finding's evidence, as stored. */
function evidenceFlows(a: Analysis, f: FindingRow): { client_ip: string; server_ip: string; server_port: number; proto: string; client_port: number }[] {
  const ev = JSON.parse(f.evidence) as { flows: { capture_id: number; seq: number }[] };
  const q = a.store.db.prepare(`SELECT proto, client_ip, client_port, server_ip, server_port FROM flows WHERE capture_id = ? AND seq = ?`);
  return ev.flows.map((r) => q.get(r.capture_id, r.seq) as { proto: string; client_ip: string; client_port: number; server_ip: string; server_port: number });
}

const summary = (rows: FindingRow[]) => rows.map((r) => `${r.device_id} ${r.code} ${r.severity} ${r.remote}`);

describe('updates on lan-standards', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
  });
  afterAll(() => a.close());

  it('finds exactly the camera manifest, image and missing signature', () => {
    expect(summary(findings(a, 2))).toEqual([
      `${CAM} update-manifest-plaintext medium firmware.example.test:80`,
      `${CAM} update-over-plaintext high firmware.example.test:80`,
      `${CAM} update-unsigned medium firmware.example.test:80`,
    ]);
  });

  it('names the uImage, its URL and the flow it came on', () => {
    const img = findings(a, 2).find((f) => f.code === 'update-over-plaintext')!;
    expect(img.detail).toContain('http://firmware.example.test/cam/gardencam-1.4.3.bin');
    expect(img.detail).toContain('uImage');
    expect(img.detail).toContain('firmware');
    const ev = JSON.parse(img.evidence) as { detail: Record<string, unknown> };
    expect(ev.detail).toMatchObject({ protocol: 'http', host: 'firmware.example.test', path: '/cam/gardencam-1.4.3.bin', status: 200, format: 'uimage' });
    expect(ev.detail.content_type).toBe('application/octet-stream');
    expect(ev.detail.content_length).toBe(5400);
    const flows = evidenceFlows(a, img);
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ proto: 'tcp', client_ip: '192.168.50.101', server_ip: '203.0.113.10', server_port: 80 });
    // update-unsigned points at the same flow, and says how sure it is.
    const unsigned = findings(a, 2).find((f) => f.code === 'update-unsigned')!;
    expect(evidenceFlows(a, unsigned)).toEqual(flows);
    expect(unsigned.detail).toContain('no signature was fetched alongside it and the image format carries none that we recognise');
    expect(unsigned.detail).toContain('a signature inside the image cannot be ruled out');
  });

  it('reports the manifest on its own flow, not the image', () => {
    const m = findings(a, 2).find((f) => f.code === 'update-manifest-plaintext')!;
    expect(m.detail).toContain('http://firmware.example.test/cam/manifest.json');
    expect(m.detail).toContain('application/json');
    const img = findings(a, 2).find((f) => f.code === 'update-over-plaintext')!;
    const [mf] = evidenceFlows(a, m);
    const [imf] = evidenceFlows(a, img);
    expect(mf).toMatchObject({ server_ip: '203.0.113.10', server_port: 80 });
    expect(mf.client_port).not.toBe(imf.client_port);
  });

  it('counts the speaker update over TLS as evidence, and nothing against it or the TV', () => {
    expect(observations(a, 'update-over-tls')).toEqual([
      { device_id: SPEAKER, remote: 'updates.example.test', detail: expect.stringContaining('updates.example.test') },
    ]);
    const others = findings(a, 2).filter((f) => f.device_id === SPEAKER || f.device_id === TV);
    expect(others).toEqual([]);
  });

  it('does not take the tracker "ok" typed application/octet-stream for a download', () => {
    expect(findings(a, 2).filter((f) => f.remote.startsWith('www.google-analytics.com'))).toEqual([]);
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
    expect(summary(findings(a, 2))).toEqual([
      `${TV} update-manifest-plaintext medium firmware.example.test:80`,
      `${CAM} update-over-plaintext high firmware.example.test:80`,
      `${CAM} update-unsigned medium firmware.example.test:80`,
    ]);
    const img = findings(a, 2).find((f) => f.code === 'update-over-plaintext')!;
    expect(img.detail).toContain('http://firmware.example.test/firmware/garden-cam-1.4.3.bin');
    expect(JSON.parse(img.evidence).detail).toMatchObject({ format: null, content_length: 4096 });
    const unsigned = findings(a, 2).find((f) => f.code === 'update-unsigned')!;
    expect(unsigned.detail).toContain('its format could not be checked for one');
    expect(findings(a, 2).find((f) => f.code === 'update-manifest-plaintext')!.detail).toContain('/tv/manifest.json');
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
    const rows = findings(a, 2);
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
    expect(summary(findings(a, 2))).toEqual([`${CAM} update-over-plaintext high firmware.example.test:80`]);
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
// nDPI's "Binary App Transfer" risk against our update-over-plaintext / executable-over-plaintext.

interface NdpiDifference {
  capture: string;
  risk: string;
  /** missed: nDPI flags the flow and we do not; extra: the other way round. */
  side: 'missed' | 'extra';
  conversation: string;
  reason: string;
}

/** test/standards/ndpi-differences.tsv: the expected differences, each with its reason. */
function expectedDifferences(risk: string): NdpiDifference[] {
  const [header, ...rows] = readFileSync(join(import.meta.dirname, 'ndpi-differences.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const cols = header.split('\t');
  return rows
    .map((r) => Object.fromEntries(r.split('\t').map((v, i) => [cols[i], v])) as unknown as NdpiDifference)
    .filter((d) => d.risk === risk);
}

/** Captures whose nDPI output has either risk are checked for both (so false positives show too). */
const NDPI_RISKS = ['Clear-Text Credentials', 'Binary App Transfer'];

/** "10.0.0.1:80" or "[2001:db8::1]:80" as nDPI prints an endpoint. */
function endpoint(s: string): [string, number] {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(s);
  if (m === null) throw new Error(`endpoint ${s}`);
  return [m[1], Number(m[2])];
}

/** Compare the flows nDPI gives `risk` with the flows behind our findings of `codes`. */
async function compareWithNdpi(risk: string, codes: string[]): Promise<{ agreed: number; missed: string[]; extra: string[] }> {
  const files = corpusEntries().filter((e) => e.ndpiOut !== null && NDPI_RISKS.some((r) => readFileSync(e.ndpiOut!, 'utf8').includes(r)));
  expect(files.length).toBeGreaterThan(0);
  let agreed = 0;
  const missed: string[] = [];
  const extra: string[] = [];
  for (const e of files) {
    const theirs = new Set(
      parseNdpiFlows(e.ndpiOut!)
        .filter((f) => f.line.includes(risk))
        .map((f) => {
          const [a, ap] = endpoint(f.a);
          const [b, bp] = endpoint(f.b);
          return conversationKey(f.l4.toLowerCase(), a, ap, b, bp);
        }),
    );
    const a = await analyze([e.path]);
    try {
      const ours = new Set<string>();
      const rows = a.store.db
        .prepare(`SELECT evidence FROM findings WHERE code IN (${codes.map(() => '?').join(',')})`)
        .all(...codes) as { evidence: string }[];
      const q = a.store.db.prepare(`SELECT proto, client_ip, client_port, server_ip, server_port FROM flows WHERE capture_id = ? AND seq = ?`);
      for (const r of rows) {
        for (const ref of (JSON.parse(r.evidence) as { flows: { capture_id: number; seq: number }[] }).flows) {
          const f = q.get(ref.capture_id, ref.seq) as { proto: string; client_ip: string; client_port: number; server_ip: string; server_port: number };
          ours.add(conversationKey(f.proto, f.client_ip, f.client_port, f.server_ip, f.server_port));
        }
      }
      for (const k of theirs) if (ours.has(k)) agreed++;
      else missed.push(`${e.file}\t${k}`);
      for (const k of ours) if (!theirs.has(k)) extra.push(`${e.file}\t${k}`);
    } finally {
      a.close();
    }
  }
  return { agreed, missed: missed.sort(), extra: extra.sort() };
}

describe.skipIf(!corpusAvailable)('corpus: nDPI Binary App Transfer', () => {
  it('flags the same flows, apart from the listed differences', async () => {
    const risk = 'Binary App Transfer';
    const r = await compareWithNdpi(risk, ['update-over-plaintext', 'executable-over-plaintext']);
    const expected = expectedDifferences(risk);
    expect(r.missed).toEqual(expected.filter((d) => d.side === 'missed').map((d) => `${d.capture}\t${d.conversation}`).sort());
    expect(r.extra).toEqual(expected.filter((d) => d.side === 'extra').map((d) => `${d.capture}\t${d.conversation}`).sort());
    expect(r.agreed).toBeGreaterThanOrEqual(3);
  });
});
