/**
 * Every dissector, in the order they are asked: more specific probes first, so that a protocol
 * carried on a neighbour's port (TLS on 80, HTTP on 8443) is still named by its own dissector.
 */
import { dhcpDissector } from './dhcp.js';
import { dnsDissector, llmnrDissector, mdnsDissector } from './dns.js';
import { ftpDissector } from './ftp.js';
import { httpDissector } from './http.js';
import { quicDissector } from './quic.js';
import { sshDissector } from './ssh.js';
import { dtlsDissector, tlsDissector } from './tls.js';
import type { Dissector } from './types.js';

export const DISSECTORS = [
  tlsDissector,
  dtlsDissector,
  quicDissector,
  httpDissector,
  sshDissector,
  ftpDissector,
  dnsDissector,
  mdnsDissector,
  llmnrDissector,
  dhcpDissector,
] as Dissector<unknown>[];
