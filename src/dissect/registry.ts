/**
 * Every dissector, in the order they are asked: more specific probes first, so that a protocol
 * carried on a neighbour's port (TLS on 80, HTTP on 8443) is still named by its own dissector,
 * and the loosest structural probes (tunnels, discovery) come last.
 */
import { coapDissector } from './coap.js';
import { dhcpDissector } from './dhcp.js';
import { dhcpv6Dissector } from './dhcpv6.js';
import { dnsDissector, llmnrDissector, mdnsDissector } from './dns.js';
import { ftpDissector } from './ftp.js';
import { httpDissector } from './http.js';
import { tuyaDissector, ubntDiscoveryDissector } from './iot-discovery.js';
import { ipsecDissector } from './ipsec.js';
import { imapDissector, pop3Dissector, smtpDissector } from './mail.js';
import { mqttDissector } from './mqtt.js';
import { netbiosDissector } from './netbios.js';
import { ntpDissector } from './ntp.js';
import { openvpnDissector } from './openvpn.js';
import { quicDissector } from './quic.js';
import { rtspDissector } from './rtsp.js';
import { smbDissector } from './smb.js';
import { snmpDissector } from './snmp.js';
import { ssdpDissector } from './ssdp.js';
import { sshDissector } from './ssh.js';
import { stunDissector } from './stun.js';
import { telnetDissector } from './telnet.js';
import { tftpDissector } from './tftp.js';
import { dtlsDissector, tlsDissector } from './tls.js';
import type { Dissector } from './types.js';
import { wireguardDissector } from './wireguard.js';

export const DISSECTORS = [
  // TCP and UDP with strong signatures.
  tlsDissector,
  dtlsDissector,
  quicDissector,
  sshDissector,
  rtspDissector,
  httpDissector,
  smtpDissector,
  pop3Dissector,
  imapDissector,
  ftpDissector,
  mqttDissector,
  smbDissector,
  telnetDissector,
  // UDP services on their ports, checked by structure.
  dnsDissector,
  mdnsDissector,
  llmnrDissector,
  dhcpDissector,
  dhcpv6Dissector,
  ssdpDissector,
  ntpDissector,
  snmpDissector,
  coapDissector,
  tftpDissector,
  netbiosDissector,
  tuyaDissector,
  ubntDiscoveryDissector,
  // Tunnels and NAT traversal, recognised by message structure.
  stunDissector,
  wireguardDissector,
  openvpnDissector,
  ipsecDissector,
] as Dissector<unknown>[];
