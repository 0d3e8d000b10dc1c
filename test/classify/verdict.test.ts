/**
 * The verdict for every application flow of the bundled LAN capture, against what
 * captures/record.sh drove (captures/README.md): TLS 1.2 and 1.3 with their SNI, HTTP in clear
 * with its Host, DNS and DHCP in clear, and flows without payload not counted as plaintext.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceReports, flowReports, type FlowReport } from '../../src/store/report.js';
import { analyze, CAPTURES, type Analysis } from '../helpers/analysis.js';

let a: Analysis;
let flows: FlowReport[];
beforeAll(async () => {
  a = await analyze([join(CAPTURES, 'lan-basic.pcap')]);
  flows = [...flowReports(a.store, a.captureId)];
});
afterAll(() => a.close());

const CAM = 'b8:27:eb:12:34:56';
const SPEAKER = '02:42:ac:11:00:02';
const TV = '00:1a:11:5c:7e:01';

function of(device: string, port: number, proto = 'tcp'): FlowReport[] {
  return flows.filter((f) => f.device === device && f.proto === proto && f.dst.endsWith(`:${port}`));
}

describe('verdicts on captures/lan-basic.pcap', () => {
  it('TLS: encrypted, with the negotiated version and the SNI', () => {
    for (const [device, sni] of [[CAM, 'api.example.test'], [SPEAKER, 'stream.example.test']]) {
      const tls = of(device, 443);
      expect(tls).toHaveLength(2);
      expect(tls.map((f) => f.reason).sort()).toEqual(['TLS 1.2', 'TLS 1.3']);
      for (const f of tls) expect(f).toMatchObject({ app: 'tls', encryption: 'encrypted', server_name: sni });
    }
    expect(of(TV, 443)).toHaveLength(0);
  });

  it('HTTP: plaintext, named by its Host header', () => {
    const expected: [string, number, string][] = [[CAM, 2, 'firmware.example.test'], [SPEAKER, 1, 'tracker.example.test'], [TV, 2, 'firmware.example.test']];
    for (const [device, count, host] of expected) {
      const http = of(device, 80);
      expect(http).toHaveLength(count);
      for (const f of http) expect(f).toMatchObject({ app: 'http', encryption: 'plaintext', reason: 'HTTP in clear', server_name: host });
    }
  });

  it('DNS and DHCP: plaintext', () => {
    for (const device of [CAM, SPEAKER, TV]) {
      const dns = of(device, 53, 'udp');
      expect(dns.length).toBeGreaterThan(0);
      for (const f of dns) expect(f).toMatchObject({ app: 'dns', encryption: 'plaintext' });
    }
    const dhcp = flows.filter((f) => f.dst.endsWith(':67') || f.dst.endsWith(':68'));
    expect(dhcp.length).toBeGreaterThanOrEqual(4);
    for (const f of dhcp) expect(f).toMatchObject({ app: 'dhcp', encryption: 'plaintext' });
  });

  it("names a flow without SNI or Host from the device's own DNS answer", () => {
    // The NTP exchange with 203.0.113.40 follows the device's lookup of time.example.test.
    for (const device of [CAM, SPEAKER]) {
      expect(of(device, 123, 'udp').map((f) => f.server_name)).toEqual(['time.example.test']);
    }
  });

  it('ICMP and payload-less flows are never counted as plaintext', () => {
    for (const f of flows.filter((f) => f.proto === 'icmp' || f.proto === 'icmpv6')) {
      expect(f.encryption).toBe('unknown');
      expect(f.reason).toMatch(/no application data/);
    }
    for (const f of flows.filter((f) => f.reason?.startsWith('no payload'))) expect(f.encryption).toBe('unknown');
  });

  it('lists each device\'s readable flows with the remote written as in the flows (IPv6 in brackets)', () => {
    const tv = deviceReports(a.store, a.captureId).find((d) => d.id === TV)!;
    const remotes = tv.plaintext_flows.map((f) => f.remote);
    expect(remotes).toContain('[2001:db8:100::10]:80');
    expect(remotes).toContain('203.0.113.10:80');
    const dsts = new Set(flows.filter((f) => f.device === TV && f.encryption === 'plaintext').map((f) => f.dst));
    for (const r of remotes) expect(dsts.has(r)).toBe(true);
  });

  it('every flow has a verdict and a reason', () => {
    for (const f of flows) {
      expect(['encrypted', 'plaintext', 'unknown']).toContain(f.encryption);
      expect(f.reason).toBeTruthy();
    }
  });
});
