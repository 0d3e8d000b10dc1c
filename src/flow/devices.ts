/**
 * Devices: a device is a MAC address seen on the LAN side (DESIGN.md). Where a capture has no
 * LAN MAC (raw IP, some cooked captures), the local IP stands in for the device.
 *
 * The table is touched per flow and per ARP/DHCP packet, never per ordinary packet.
 */
import { formatIPv4, formatIp, isGroupOrUnspecified, isUnspecified, type LanMatcher } from '../decode/address.js';
import { formatMac, isGroupMac, isLocallyAdministeredMac } from '../decode/packet.js';
import type { DhcpFacts } from '../dissect/dhcp.js';
import { vendorOf } from '../intel/oui.js';

export type IpSource = 'arp' | 'dhcp' | 'traffic';

export interface DeviceIp {
  source: IpSource;
  firstSeenUs: number;
  lastSeenUs: number;
}

export class Device {
  readonly ips = new Map<string, DeviceIp>();
  vendor: string | null = null;
  locallyAdministered = false;
  hostname: string | null = null;
  vendorClass: string | null = null;
  dhcpFingerprint: string | null = null;
  firstSeenUs = Infinity;
  lastSeenUs = 0;
  /** Changed since last written to the store. */
  dirty = true;

  constructor(
    /** "aa:bb:cc:dd:ee:ff", or the IP text when no MAC is known. */
    readonly id: string,
    readonly mac: number,
  ) {
    if (mac >= 0) {
      this.locallyAdministered = isLocallyAdministeredMac(mac);
      this.vendor = this.locallyAdministered ? null : vendorOf(mac);
    }
  }

  seen(tsUs: number): void {
    if (tsUs < this.firstSeenUs) {
      this.firstSeenUs = tsUs;
      this.dirty = true;
    }
    if (tsUs > this.lastSeenUs) {
      this.lastSeenUs = tsUs;
      this.dirty = true;
    }
  }

  addIp(ip: string, source: IpSource, tsUs: number): void {
    const known = this.ips.get(ip);
    if (known === undefined) {
      this.ips.set(ip, { source, firstSeenUs: tsUs, lastSeenUs: tsUs });
      this.dirty = true;
      return;
    }
    // DHCP and ARP are stronger evidence than traffic: keep the strongest source seen.
    if (known.source === 'traffic' && source !== 'traffic') {
      known.source = source;
      this.dirty = true;
    }
    if (tsUs < known.firstSeenUs) known.firstSeenUs = tsUs;
    if (tsUs > known.lastSeenUs) known.lastSeenUs = tsUs;
  }
}

export class DeviceTable {
  readonly devices = new Map<string, Device>();
  /** The same devices by MAC as a number, so ARP and DHCP packets need no string formatting. */
  private readonly byMacNumber = new Map<number, Device>();
  /** IPv4 address (as integer) -> MAC, learned from ARP, DHCP and Ethernet traffic. */
  private readonly macOfIPv4 = new Map<number, number>();
  /** IPv6 address text -> MAC. */
  private readonly macOfIPv6 = new Map<string, number>();

  constructor(private readonly lan: LanMatcher) {}

  /** Drop a device and the addresses learned for it (`forget`); it is new if seen again. */
  forget(id: string): void {
    const d = this.devices.get(id);
    if (d === undefined) return;
    this.devices.delete(id);
    if (d.mac >= 0) {
      this.byMacNumber.delete(d.mac);
      for (const [ip, mac] of this.macOfIPv4) if (mac === d.mac) this.macOfIPv4.delete(ip);
      for (const [ip, mac] of this.macOfIPv6) if (mac === d.mac) this.macOfIPv6.delete(ip);
    }
  }

  isLocal(version: number, words: ArrayLike<number>): boolean {
    return this.lan.isLocal(version, words) && !isGroupOrUnspecified(version, words);
  }

  private byMac(mac: number, tsUs: number): Device {
    let d = this.byMacNumber.get(mac);
    if (d === undefined) {
      const id = formatMac(mac);
      d = new Device(id, mac);
      this.devices.set(id, d);
      this.byMacNumber.set(mac, d);
    }
    d.seen(tsUs);
    return d;
  }

  private byIp(ip: string, tsUs: number): Device {
    let d = this.devices.get(ip);
    if (d === undefined) {
      d = new Device(ip, -1);
      this.devices.set(ip, d);
    }
    d.seen(tsUs);
    return d;
  }

  /** ARP: the sender's MAC owns the sender's IP (gratuitous ARP and probes included). */
  learnArp(senderMac: number, senderIp: number, tsUs: number): void {
    if (senderMac <= 0 || isGroupMac(senderMac) || senderIp === 0) return;
    if (this.macOfIPv4.get(senderIp) === senderMac) {
      // Known pair (the common case: periodic ARP): only refresh times.
      const d = this.byMacNumber.get(senderMac);
      if (d !== undefined) {
        d.seen(tsUs);
        return;
      }
    }
    this.macOfIPv4.set(senderIp, senderMac);
    const words = [senderIp, 0, 0, 0];
    if (!this.isLocal(4, words)) return;
    this.byMac(senderMac, tsUs).addIp(formatIPv4(senderIp), 'arp', tsUs);
  }

  /** DHCP: the client's names, and the address the server gave it. */
  learnDhcp(facts: DhcpFacts, tsUs: number): void {
    if (facts.clientMac <= 0 || isGroupMac(facts.clientMac)) return;
    const d = this.byMac(facts.clientMac, tsUs);
    if (facts.op === 1) {
      // Names come from what the client says about itself (requests), not from server replies.
      if (facts.hostname && facts.hostname !== d.hostname) {
        d.hostname = facts.hostname;
        d.dirty = true;
      }
      if (facts.vendorClass && facts.vendorClass !== d.vendorClass) {
        d.vendorClass = facts.vendorClass;
        d.dirty = true;
      }
      if (facts.parameterRequestList && facts.parameterRequestList !== d.dhcpFingerprint) {
        d.dhcpFingerprint = facts.parameterRequestList;
        d.dirty = true;
      }
      if (!d.hostname && facts.clientFqdn) {
        d.hostname = facts.clientFqdn;
        d.dirty = true;
      }
    }
    const assigned = facts.op === 2 && facts.messageType === 5 ? facts.yourIp : facts.clientIp;
    if (assigned !== 0) {
      this.macOfIPv4.set(assigned, facts.clientMac);
      d.addIp(formatIPv4(assigned), 'dhcp', tsUs);
    }
  }

  /**
   * The device behind one endpoint of a new flow, if that endpoint is on the LAN.
   * `mac` is the MAC the frame showed for that endpoint (-1 if none or not trustworthy).
   */
  deviceFor(version: number, words: ArrayLike<number>, mac: number, tsUs: number): Device | null {
    if (isUnspecified(version, words)) {
      // A host without an address yet (DHCP discover, DAD): known by its MAC alone.
      return mac > 0 && !isGroupMac(mac) ? this.byMac(mac, tsUs) : null;
    }
    if (!this.isLocal(version, words)) return null;
    const ip = formatIp(version, words);
    if (mac > 0 && !isGroupMac(mac)) {
      if (version === 4) this.macOfIPv4.set(words[0] >>> 0, mac);
      else this.macOfIPv6.set(ip, mac);
    } else {
      mac = (version === 4 ? this.macOfIPv4.get(words[0] >>> 0) : this.macOfIPv6.get(ip)) ?? -1;
    }
    const d = mac > 0 ? this.byMac(mac, tsUs) : this.byIp(ip, tsUs);
    d.addIp(ip, 'traffic', tsUs);
    return d;
  }
}
