/**
 * Device attribution on the bundled LAN capture, checked against the facts that
 * captures/record.sh drove and captures/README.md lists (MACs, DHCP names, addresses, connections).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceReports, flowReports, type DeviceReport } from '../../src/store/report.js';
import { analyze, CAPTURES, type Analysis } from '../helpers/analysis.js';
import { join } from 'node:path';

let a: Analysis;
let devices: Map<string, DeviceReport>;
beforeAll(async () => {
  a = await analyze([join(CAPTURES, 'lan-basic.pcap')]);
  devices = new Map(deviceReports(a.store, a.captureId).map((d) => [d.id, d]));
});
afterAll(() => a.close());

const EXPECTED = [
  {
    mac: 'b8:27:eb:12:34:56',
    hostname: 'garden-cam',
    vendorClass: 'dhcpcd-9.4.1:Linux-6.1.21-v8+:aarch64:BCM2835',
    vendor: /Raspberry Pi/,
    locallyAdministered: false,
    ips: ['192.168.50.101'],
    tcpConnections: 4,
  },
  {
    mac: '02:42:ac:11:00:02',
    hostname: 'kitchen-speaker',
    vendorClass: 'acme-speaker-fw-2.3',
    vendor: null,
    locallyAdministered: true,
    ips: ['192.168.50.102'],
    tcpConnections: 3,
  },
  {
    mac: '00:1a:11:5c:7e:01',
    hostname: 'living-room-tv',
    vendorClass: 'android-dhcp-13',
    vendor: /Google/,
    locallyAdministered: false,
    ips: ['192.168.50.103', 'fd00:50::30', 'fe80::21a:11ff:fe5c:7e01'],
    tcpConnections: 2,
  },
];

describe('devices in captures/lan-basic.pcap', () => {
  for (const e of EXPECTED) {
    it(`${e.hostname}: identity from DHCP, OUI and traffic`, () => {
      const d = devices.get(e.mac);
      expect(d, `device ${e.mac}`).toBeDefined();
      expect(d!.mac).toBe(e.mac);
      expect(d!.hostname).toBe(e.hostname);
      expect(d!.vendor_class).toBe(e.vendorClass);
      expect(d!.locally_administered).toBe(e.locallyAdministered);
      if (e.vendor === null) expect(d!.vendor).toBeNull();
      else expect(d!.vendor).toMatch(e.vendor);
      expect([...d!.ips].sort()).toEqual([...e.ips].sort());
    });

    it(`${e.hostname}: every TCP connection it opened is its flow`, () => {
      const tcp = [...flowReports(a.store, a.captureId)].filter((f) => f.proto === 'tcp' && f.device === e.mac);
      expect(tcp).toHaveLength(e.tcpConnections);
      // It is the client of each, and each was a full handshake.
      const ips = devices.get(e.mac)!.ips;
      for (const f of tcp) {
        expect(ips.some((ip) => f.src.startsWith(ip.includes(':') ? `[${ip}]` : `${ip}:`))).toBe(true);
        expect(['closed', 'established', 'half-closed', 'reset']).toContain(f.tcp_state);
      }
    });
  }

  it('the gateway is a device of its own, and no remote server is one', () => {
    const gw = devices.get('02:50:00:00:00:01');
    expect(gw?.ips).toEqual(expect.arrayContaining(['192.168.50.1', 'fd00:50::1']));
    for (const d of devices.values()) {
      for (const ip of d.ips) expect(ip).not.toMatch(/^(203\.0\.113\.|198\.51\.100\.|2001:db8:)/);
    }
    expect(devices.size).toBe(4);
  });

  it('every flow with a LAN address on one end belongs to a device', () => {
    for (const f of flowReports(a.store, a.captureId)) {
      if (/^(192\.168\.|\[fd00:|\[fe80:|fe80:|fd00:)/.test(f.src) || /^(192\.168\.|\[fd00:|\[fe80:)/.test(f.dst)) {
        expect(f.device, `${f.proto} ${f.src} -> ${f.dst}`).not.toBeNull();
      }
    }
  });
});
