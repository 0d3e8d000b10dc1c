/**
 * Standard 1 against nDPI's flow risks: wherever nDPI reports a self-signed, expired or
 * mismatched certificate, an obsolete TLS version or obsolete SSH, we must report the same
 * finding for that flow's device. Differences are printed with their reasons; only those with a
 * reason we can state pass. (Credentials, binary transfers and trackers are compared in
 * test/standards/*.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { deviceReports, flowReports } from '../../src/store/report.js';
import { corpusAvailable, corpusEntries, parseNdpiFlows, withAnalysis } from './corpus.js';

const RISKS: [RegExp, string][] = [
  [/\*\* Self-signed Cert \*\*/, 'tls-self-signed'],
  [/\*\* TLS Cert Expired \*\*/, 'tls-expired-certificate'],
  [/\*\* TLS Cert Mismatch \*\*/, 'tls-hostname-mismatch'],
  [/\*\* Obsolete TLS[^*]*\*\*/, 'tls-obsolete-version'],
  [/\*\* SSH Obsolete [^*]*\*\*/, 'ssh-obsolete'],
];

/** Flows we knowingly do not judge like nDPI, with the reason. */
const EXCUSED: Record<string, string> = {
  'ja3_lots_of_cipher_suites_2_anon.pcap\tTCP 192.168.147.177:58496 <-> 151.121.193.160:443\ttls-self-signed':
    'GTP-U encapsulated: the inner TCP is not decoded (GTP is not supported)',
  'smtp-starttls.pcap\tTCP 10.0.0.1:57406 <-> 173.194.68.26:25\ttls-obsolete-version':
    'the TLS handshake after STARTTLS is not dissected: the SMTP dissector stops at the upgrade',
};

function key(l4: string, a: string, b: string): string {
  return `${l4.toLowerCase()} ${[a, b].sort().join(' ')}`;
}

describe.skipIf(!corpusAvailable)('corpus conformance: standard 1 findings vs nDPI risks', () => {
  it('reports the certificate, TLS and SSH problems nDPI reports', async () => {
    let expected = 0;
    let found = 0;
    let noDevice = 0;
    const missing: string[] = [];
    const excused: string[] = [];
    for (const entry of corpusEntries()) {
      if (!entry.ndpiOut) continue;
      const risky = parseNdpiFlows(entry.ndpiOut).flatMap((f) =>
        RISKS.filter(([re]) => re.test(f.line)).map(([, code]) => ({ flow: f, code })),
      );
      if (risky.length === 0) continue;
      await withAnalysis(entry.path, (store, id) => {
        const flows = new Map<string, { id: number; device: string | null }[]>();
        for (const f of flowReports(store, id)) {
          const k = key(f.proto, f.src, f.dst);
          flows.set(k, [...(flows.get(k) ?? []), { id: f.id, device: f.device }]);
        }
        const codesByFlow = new Map<number, Set<string>>();
        for (const d of deviceReports(store, id)) {
          for (const finding of d.findings) {
            for (const fid of finding.evidence.flows) {
              const s = codesByFlow.get(fid) ?? new Set<string>();
              s.add(finding.code);
              codesByFlow.set(fid, s);
            }
          }
        }
        for (const { flow, code } of risky) {
          expected++;
          const ours = flows.get(key(flow.l4, flow.a, flow.b)) ?? [];
          if (ours.length > 0 && ours.every((o) => o.device === null)) {
            // Both ends are public addresses: no LAN device to hold a finding.
            noDevice++;
            continue;
          }
          if (ours.some((o) => codesByFlow.get(o.id)?.has(code))) found++;
          else {
            const line = `${entry.file}\t${flow.l4} ${flow.a} <-> ${flow.b}\t${code}`;
            if (EXCUSED[line] !== undefined) excused.push(`${line}\t${EXCUSED[line]}`);
            else missing.push(line);
          }
        }
      });
    }
    console.log(
      `standard 1 vs nDPI risks: ${expected} risky flows, ${found} with the same finding, ${noDevice} without a LAN device (public addresses only), ${excused.length} excused` +
        (excused.length > 0 ? `\nexcused:\n${excused.join('\n')}` : '') +
        (missing.length > 0 ? `\nmissing:\n${missing.join('\n')}` : ''),
    );
    expect(expected).toBeGreaterThan(0);
    expect(missing).toEqual([]);
  });
});
