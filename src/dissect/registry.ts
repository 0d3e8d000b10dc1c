/**
 * Every dissector, in the order they are asked: more specific probes first, so that a protocol
 * carried on a neighbour's port (TLS on 80, HTTP on 8443) is still named by its own dissector.
 */
import { dhcpDissector } from './dhcp.js';
import type { Dissector } from './types.js';

export const DISSECTORS: Dissector<unknown>[] = [dhcpDissector as Dissector<unknown>];
