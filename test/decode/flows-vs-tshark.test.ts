/**
 * The decoder and flow table against an independent reader: every TCP/UDP conversation tshark
 * finds in a capture is one of our flows, and we find none that tshark does not.
 * Covers each link type and block type in captures/ and, when present, the public corpus.
 */
import { describe, expect, it } from 'vitest';
import { analyze, bundledCaptures, corpusAvailable, corpusFile, hasTool, ourConversations, tsharkConversations } from '../helpers/analysis.js';

const CORPUS_CASES: [string, string][] = [
  ['rtsp.pcap', 'pcapng, Linux cooked SLL'],
  ['quic-v2.pcapng', 'pcapng, Linux cooked SLL'],
  ['sv_decode-sll2-02.pcap', 'pcap, Linux cooked SLL2'],
  ['selfsigned.pcap', 'pcap, BSD null/loopback'],
  ['sites.pcapng', 'pcapng with 22 interfaces'],
  ['vxlan.pcap', 'VXLAN-encapsulated Ethernet'],
  ['http_ipv6.pcap', 'IPv6'],
  ['dns_fragmented.pcap', 'IPv4 fragments'],
  ['1kxun.pcap', 'large mixed LAN'],
];

describe.skipIf(!hasTool('tshark'))('flows agree with tshark', () => {
  for (const file of bundledCaptures()) {
    it(`captures/${file.split('/').pop()}`, async () => {
      const a = await analyze([file]);
      try {
        expect([...ourConversations(a)].sort()).toEqual([...tsharkConversations(file)].sort());
      } finally {
        a.close();
      }
    });
  }
  for (const [name, what] of CORPUS_CASES) {
    it.skipIf(!corpusAvailable)(`corpus ${name} (${what})`, async () => {
      const file = corpusFile(name);
      const a = await analyze([file]);
      try {
        const ours = ourConversations(a);
        const theirs = tsharkConversations(file);
        expect([...theirs].filter((k) => !ours.has(k))).toEqual([]);
        expect([...ours].filter((k) => !theirs.has(k))).toEqual([]);
        expect(a.store.capture(a.captureId)!.malformed).toBe(0);
      } finally {
        a.close();
      }
    });
  }
});
