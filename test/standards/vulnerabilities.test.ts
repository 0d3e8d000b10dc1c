/**
 * Standard 4 (vulnerability management) on real captures: the lab's lan-standards and lan-basic
 * (facts from captures/README.md), and corpus captures whose facts come from nDPI or tshark.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze, CAPTURES, corpusAvailable, corpusFile, hasTool, type Analysis } from '../helpers/analysis.js';
import { CAM, GATEWAY, SPEAKER, TV, type FindingRow } from '../helpers/standards.js';

const CODES = ['outdated-software', 'risky-service-exposed', 'upnp-port-mapping'];

function findings(a: Analysis): FindingRow[] {
  return a.store.db
    .prepare(`SELECT device_id, code, severity, remote, title, detail, count, evidence FROM findings WHERE standard = 4 ORDER BY device_id, code, remote`)
    .all() as FindingRow[];
}

function observations(a: Analysis, kind: string): { device_id: string; remote: string; count: number; evidence: string }[] {
  return a.store.db
    .prepare(`SELECT device_id, remote, count, evidence FROM observations WHERE kind = ? ORDER BY device_id, remote`)
    .all(kind) as { device_id: string; remote: string; count: number; evidence: string }[];
}

function evidenceOf(row: { evidence: string }): { flows: { seq: number }[]; detail: Record<string, unknown> } {
  return JSON.parse(row.evidence) as { flows: { seq: number }[]; detail: Record<string, unknown> };
}

function flow(a: Analysis, seq: number): { client_ip: string; server_ip: string; server_port: number; proto: string } {
  return a.store.db
    .prepare(`SELECT client_ip, server_ip, server_port, proto FROM flows WHERE capture_id = ? AND seq = ?`)
    .get(a.captureId, seq) as { client_ip: string; server_ip: string; server_port: number; proto: string };
}

function deviceOfIp(a: Analysis, ip: string): string {
  const row = a.store.db
    .prepare(`SELECT device_id FROM flows WHERE capture_id = ? AND ((client_ip = ? AND device_is_client = 1) OR (server_ip = ? AND device_is_client = 0)) LIMIT 1`)
    .get(a.captureId, ip, ip) as { device_id: string } | undefined;
  const peer = a.store.db
    .prepare(`SELECT peer_device_id AS device_id FROM flows WHERE capture_id = ? AND server_ip = ? AND device_is_client = 1 AND peer_device_id IS NOT NULL LIMIT 1`)
    .get(a.captureId, ip) as { device_id: string } | undefined;
  const id = row?.device_id ?? peer?.device_id;
  if (id === undefined) throw new Error(`no device for ${ip}`);
  return id;
}

describe('lan-standards.pcap', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-standards.pcap')]);
  });
  afterAll(() => a.close());

  it('finds exactly the expected standard-4 findings', () => {
    const got = findings(a).map(({ device_id, code, severity, remote }) => ({ device_id, code, severity, remote }));
    expect(got).toEqual(
      [
        // Server: Boa/0.94.14rc21 on its web UI, answered to 203.0.113.99.
        { device_id: CAM, code: 'outdated-software', severity: 'high', remote: 'Boa/0.94.14rc21' },
        // busybox telnetd on :23, logged into from 203.0.113.99 (internet side).
        { device_id: CAM, code: 'risky-service-exposed', severity: 'high', remote: 'tcp/23 telnet' },
        // Its plain-HTTP web UI answered the same WAN host.
        { device_id: CAM, code: 'risky-service-exposed', severity: 'medium', remote: 'tcp/80 http' },
        // SSDP NOTIFY SERVER: Linux/2.6.36 UPnP/1.0 MiniUPnPd/1.4.
        { device_id: TV, code: 'outdated-software', severity: 'medium', remote: 'Linux kernel/2.6.36' },
        { device_id: TV, code: 'outdated-software', severity: 'medium', remote: 'MiniUPnPd/1.4' },
        // AddPortMapping TCP 8080 -> 192.168.50.103:8080.
        { device_id: TV, code: 'upnp-port-mapping', severity: 'high', remote: 'tcp/8080' },
      ].sort((x, y) => (x.device_id + x.code + x.remote < y.device_id + y.code + y.remote ? -1 : 1)),
    );
  });

  it('the kitchen speaker (TLS 1.3 only) and the gateway have no standard-4 finding', () => {
    const rows = findings(a);
    expect(rows.filter((r) => r.device_id === SPEAKER)).toEqual([]);
    expect(rows.filter((r) => r.device_id === GATEWAY)).toEqual([]);
    const speakerAny = a.store.db.prepare(`SELECT code FROM findings WHERE device_id = ?`).all(SPEAKER) as { code: string }[];
    expect(speakerAny.filter((r) => CODES.includes(r.code))).toEqual([]);
  });

  it('reports the Boa banner from the flow the camera served to the WAN scanner', () => {
    const boa = findings(a).find((r) => r.remote === 'Boa/0.94.14rc21');
    expect(boa).toBeDefined();
    const e = evidenceOf(boa!);
    expect(e.detail).toMatchObject({ product: 'Boa', version: '0.94.14rc21', banner: 'Boa/0.94.14rc21', seen_in: 'HTTP Server header' });
    expect(boa!.count).toBe(1);
    const f = flow(a, e.flows[0].seq);
    expect(f).toMatchObject({ client_ip: '203.0.113.99', server_ip: '192.168.50.101', server_port: 80 });
  });

  it('names the WAN client of the exposed telnet in the evidence, with the flow behind it', () => {
    const telnet = findings(a).find((r) => r.remote === 'tcp/23 telnet');
    expect(telnet).toBeDefined();
    const e = evidenceOf(telnet!);
    expect(e.detail).toMatchObject({ client: '203.0.113.99', from: 'internet', port: 23, service: 'telnet', handshake_complete: true });
    expect(e.flows).toHaveLength(1);
    expect(flow(a, e.flows[0].seq)).toMatchObject({ proto: 'tcp', client_ip: '203.0.113.99', server_ip: '192.168.50.101', server_port: 23 });
    expect(telnet!.detail).toContain('203.0.113.99');
  });

  it('describes the TV\'s port mapping as the SOAP request gave it', () => {
    const pm = findings(a).find((r) => r.code === 'upnp-port-mapping');
    expect(pm).toBeDefined();
    expect(pm!.detail).toContain('TCP 8080 from the internet to 192.168.50.103:8080 ("LivingRoomTV cast")');
    expect(pm!.detail).toContain('the router agreed');
    expect(evidenceOf(pm!).detail).toMatchObject({
      operation: 'AddPortMapping',
      gateway: '192.168.50.1:5000',
      external_port: 8080,
      protocol: 'TCP',
      internal_client: '192.168.50.103',
      internal_port: 8080,
      status: 200,
    });
  });

  it('observes the current software that LAN devices announce', () => {
    const current = observations(a, 'software-current').map((o) => `${o.device_id} ${o.remote}`);
    expect(current).toEqual(
      [
        // The gateway's IGD: "Linux/6.1 UPnP/1.1 MiniUPnPd/2.3.3" in its search answer and HTTP Server header.
        `${GATEWAY} Linux kernel/6.1`,
        `${GATEWAY} MiniUPnPd/2.3.3`,
        // The camera's telnet shell banner: "BusyBox v1.35.0 built-in shell (ash)".
        `${CAM} BusyBox/1.35.0`,
      ].sort(),
    );
    const busybox = observations(a, 'software-current').find((o) => o.remote === 'BusyBox/1.35.0');
    expect(evidenceOf(busybox!).detail.banner).toBe('BusyBox v1.35.0 built-in shell (ash)');
    // Two flows showed the gateway's banner: the SSDP answer and the IGD's HTTP responses.
    expect(observations(a, 'software-current').find((o) => o.remote === 'MiniUPnPd/2.3.3')!.count).toBe(2);
  });
});

describe('lan-basic.pcap', () => {
  let a: Analysis;
  beforeAll(async () => {
    a = await analyze([join(CAPTURES, 'lan-basic.pcap')]);
  });
  afterAll(() => a.close());

  it('has no standard-4 finding: no device serves, announces UPnP or maps a port there', () => {
    // The README's facts: only the devices' own agents (GardenCam/1.4.2, KitchenSpeaker/2.3,
    // LivingRoomTV/13) and python servers on the internet side.
    expect(findings(a)).toEqual([]);
    const agents = a.store.db
      .prepare(`SELECT COUNT(*) AS n FROM flows WHERE capture_id = ? AND encryption = 'plaintext' AND reason LIKE 'HTTP%'`)
      .get(a.captureId) as { n: number };
    expect(agents.n).toBeGreaterThan(0);
    expect(observations(a, 'software-current')).toEqual([]);
  });
});

/** Fields of nDPI's per-flow lines. */
function ndpiLines(file: string): string[] {
  return readFileSync(corpusFile(file), 'utf8').split('\n').filter((l) => /^\t\d+\t(TCP|UDP) /.test(l));
}

describe.skipIf(!corpusAvailable)('corpus', () => {
  it('telnet.pcap: a LAN host logs in to another over telnet (medium: LAN client)', async () => {
    const line = ndpiLines('telnet.ndpi.out').find((l) => l.includes('/Telnet]'));
    const m = /TCP ([\d.]+):\d+ <-> ([\d.]+):(\d+)/.exec(line ?? '');
    expect(m).not.toBeNull();
    const a = await analyze([corpusFile('telnet.pcap')]);
    try {
      const server = deviceOfIp(a, m![2]);
      const rows = findings(a).filter((r) => r.code === 'risky-service-exposed');
      expect(rows.map(({ device_id, severity, remote }) => ({ device_id, severity, remote }))).toEqual([
        { device_id: server, severity: 'medium', remote: `tcp/${m![3]} telnet` },
      ]);
      expect(evidenceOf(rows[0]).detail).toMatchObject({ client: m![1], from: 'lan' });
    } finally {
      a.close();
    }
  });

  it('ssh.pcap: the OpenSSH 5.3 server nDPI names is outdated', async () => {
    const line = ndpiLines('ssh.ndpi.out').find((l) => /172\.16\.238\.168:22 .*Hostname\/SNI: SSH-2\.0-OpenSSH_/.test(l));
    const version = /Hostname\/SNI: SSH-2\.0-OpenSSH_([\w.]+)/.exec(line ?? '')?.[1];
    expect(version).toBe('5.3');
    const a = await analyze([corpusFile('ssh.pcap')]);
    try {
      const server = deviceOfIp(a, '172.16.238.168');
      expect(findings(a).filter((r) => r.device_id === server).map(({ code, severity, remote }) => ({ code, severity, remote }))).toEqual([
        { code: 'outdated-software', severity: 'medium', remote: `OpenSSH/${version}` },
      ]);
    } finally {
      a.close();
    }
  });

  it('1kxun.pcap: the okhttp/3.10.0 agent nDPI reports is one finding however many flows', async () => {
    const agents = ndpiLines('1kxun.ndpi.out').filter((l) => l.includes('User-Agent: okhttp/3.10.0'));
    expect(agents.length).toBeGreaterThan(1);
    const a = await analyze([corpusFile('1kxun.pcap')]);
    try {
      const rows = findings(a).filter((r) => r.remote === 'OkHttp/3.10.0');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ code: 'outdated-software', severity: 'medium' });
      expect(rows[0].count).toBeGreaterThanOrEqual(agents.length);
    } finally {
      a.close();
    }
  });

  it.skipIf(!hasTool('tshark'))('ja4_http1.pcapng: the AddAnyPortMapping tshark shows becomes a finding', async () => {
    const out = execFileSync(
      'tshark',
      ['-r', corpusFile('ja4_http1.pcapng'), '-Y', 'http.request.method == "POST"', '-T', 'fields', '-e', 'ip.src', '-e', 'http.file_data'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const soap = out.split('\n').find((l) => l.includes('AddAnyPortMapping')) ?? '';
    const field = (name: string): string | undefined => new RegExp(`<${name}>([^<]*)</${name}>`).exec(soap)?.[1];
    const port = field('NewExternalPort');
    const protocol = field('NewProtocol');
    expect(port).toMatch(/^\d+$/);
    const a = await analyze([corpusFile('ja4_http1.pcapng')]);
    try {
      const client = deviceOfIp(a, soap.split('\t')[0]);
      const rows = findings(a).filter((r) => r.code === 'upnp-port-mapping');
      expect(rows.map(({ device_id, severity, remote }) => ({ device_id, severity, remote }))).toEqual([
        { device_id: client, severity: 'high', remote: `${protocol!.toLowerCase()}/${port}` },
      ]);
      expect(rows[0].detail).toContain(`to ${field('NewInternalClient')}:${field('NewInternalPort')} ("${field('NewPortMappingDescription')}")`);
    } finally {
      a.close();
    }
  });
});
