import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNMP_PDU_NAMES, oidText, parseSnmp, snmpDissector } from '../../src/dissect/snmp.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const CTX: DissectContext = { proto: 17, clientPort: 40000, serverPort: 161, tsUs: 0 };

// --- BER builders --------------------------------------------------------------------------------

function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, value]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const int = (v: number) => tlv(0x02, Buffer.from([v]));
const str = (s: string | Buffer) => tlv(0x04, Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const a of arcs.slice(2)) {
    const bytes = [a & 0x7f];
    for (let v = Math.floor(a / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift((v & 0x7f) | 0x80);
    out.push(...bytes);
  }
  return tlv(0x06, Buffer.from(out));
}
const varbind = (o: string) => seq(oid(o), tlv(0x05, Buffer.alloc(0)));

function v2c(community: string, pduTag = 0xa0, oids = ['1.3.6.1.2.1.1.5.0'], version = 1): Buffer {
  return seq(int(version), str(community), tlv(pduTag, Buffer.concat([int(7), int(0), int(0), seq(...oids.map(varbind))])));
}

function v3(user: string, flags: number, encrypted = false, pduTag = 0xa0, oids = ['1.3.6.1.2.1.1.1.0']): Buffer {
  const usm = seq(str(Buffer.from('800000090300aabbcc000100', 'hex')), int(1), int(2), str(user), str(Buffer.alloc(flags & 1 ? 12 : 0)), str(Buffer.alloc(flags & 2 ? 8 : 0)));
  const global = seq(int(5), tlv(0x02, Buffer.from([0x05, 0xdc])), str(Buffer.from([flags])), int(3));
  const data = encrypted ? str(Buffer.alloc(40, 0x5a)) : seq(str(Buffer.alloc(0)), str(''), tlv(pduTag, Buffer.concat([int(9), int(0), int(0), seq(...oids.map(varbind))])));
  return seq(int(3), global, str(usm), data);
}

describe('snmp parsing', () => {
  it('decodes OIDs including multi-byte arcs', () => {
    const o = oid('1.3.6.1.4.1.5875.91.1');
    expect(oidText(o, 2, o.length)).toBe('1.3.6.1.4.1.5875.91.1');
    expect(oidText(Buffer.from([0x2b, 0x86]), 0, 2)).toBeNull(); // unterminated arc
  });

  it('v1/v2c: community is masked, default flagged, never in clear in facts', () => {
    const s = snmpDissector.start(CTX);
    const req = v2c('private', 0xa3, ['1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.1.6.0']);
    expect(snmpDissector.probe(req, 0, req.length, true, CTX)).toBe(Probe.YES);
    s.feed(req, 0, req.length, true, CTX);
    const resp = v2c('private', 0xa2);
    expect(s.feed(resp, 0, resp.length, false, CTX)).toBe(true);
    const f = s.facts();
    expect(f).toMatchObject({ version: 'v2c', community_is_default: true, communities: 1, pdu_type: 'set-request', pdu_types: ['set-request', 'get-response'], error_status: 0 });
    expect(f.oids).toEqual(['1.3.6.1.2.1.1.5.0', '1.3.6.1.2.1.1.6.0']);
    expect(f.community).toMatchObject({ masked: '*******', length: 7, common: true });
    expect(f.readable_pdus).toBe(2);
    expect(JSON.stringify(f)).not.toContain('private');

    const t = snmpDissector.start(CTX);
    const secret = v2c('S3cr3t-Community!', 0xa0, undefined, 0);
    t.feed(secret, 0, secret.length, true, CTX);
    expect(t.facts().version).toBe('v1');
    expect(t.facts().community_is_default).toBe(false);
    expect(t.facts().community!.masked).toBe('S***************!');
    expect(JSON.stringify(t.facts())).not.toContain('3cr3t');
  });

  it('counts distinct communities (a scanner guessing) without keeping them', () => {
    const s = snmpDissector.start(CTX);
    for (const c of ['public', 'private', 'cisco', 'public']) {
      const m = v2c(c);
      s.feed(m, 0, m.length, true, CTX);
    }
    expect(s.facts().communities).toBe(3);
    expect(s.facts().community_is_default).toBe(true);
  });

  it('v3: user name and security level; the engine-discovery probe does not set the level', () => {
    const s = snmpDissector.start(CTX);
    // Engine discovery: an empty get-request, answered by a Report of usmStatsUnknownEngineIDs.
    const discovery = v3('', 0x04, false, 0xa0, []);
    s.feed(discovery, 0, discovery.length, true, CTX);
    const report = v3('', 0x00, false, 0xa8, ['1.3.6.1.6.3.15.1.1.4.0']);
    s.feed(report, 0, report.length, false, CTX);
    const authPriv = v3('monitor', 0x07, true);
    expect(s.feed(authPriv, 0, authPriv.length, true, CTX)).toBe(true);
    expect(s.facts()).toMatchObject({ version: 'v3', usm_user: 'monitor', security_level: 'authPriv', authenticated: true, encrypted: true, security_model: 3, engine_id: '800000090300aabbcc000100', community: null });
    // Discovery carries no data; the real request is encrypted: nothing readable.
    expect(s.facts().readable_pdus).toBe(0);
    const n = snmpDissector.start(CTX);
    const noAuth = v3('admin', 0x04);
    n.feed(noAuth, 0, noAuth.length, true, CTX);
    expect(n.facts()).toMatchObject({ usm_user: 'admin', security_level: 'noAuthNoPriv', encrypted: false, pdu_type: 'get-request', oids: ['1.3.6.1.2.1.1.1.0'], readable_pdus: 1 });
  });

  it('probe: structure on other ports, not other BER protocols', () => {
    const m = v2c('public');
    expect(snmpDissector.probe(m, 0, m.length, true, { ...CTX, serverPort: 10161 })).toBe(Probe.YES);
    // LDAP bindRequest: 30 xx 02 01 01 60 …
    const ldap = seq(int(1), tlv(0x60, Buffer.concat([int(3), str('cn=x'), tlv(0x80, Buffer.from('pw'))])));
    expect(snmpDissector.probe(ldap, 0, ldap.length, true, { ...CTX, serverPort: 389 })).toBe(Probe.NO);
    expect(snmpDissector.probe(m, 0, m.length, true, { ...CTX, proto: 6 })).toBe(Probe.NO);
  });

  it('survives fuzzing', () => {
    const seeds = [v2c('public'), v2c('private', 0xa4), v3('user', 0x07, true), v3('', 0x04)];
    fuzzDissector(snmpDissector, seeds);
    fuzzWithContext(snmpDissector, seeds, CTX);
  });
});

describe.skipIf(!haveCorpus || !hasTool('tshark'))('SNMP on snmp.pcap vs tshark', () => {
  it('version, community, PDU type, OIDs, USM user and flags of every message agree', async () => {
    const file = join(corpus, 'snmp.pcap');
    const rows = tsharkFields(file, 'snmp', ['frame.number', 'snmp.version', 'snmp.community', 'snmp.data', 'snmp.name', 'snmp.msgUserName', 'snmp.msgFlags', 'snmp.error_status']);
    const theirs = new Map(rows.map((r) => [Number(r[0]), r]));
    let compared = 0;
    const bad: number[] = [];
    for (const p of await packetsOf(file)) {
      const t = theirs.get(p.frame);
      if (!t) continue;
      compared++;
      const m = parseSnmp(p.payload, 0, p.payload.length)!;
      const ver = m.version === 'v1' ? '0' : m.version === 'v2c' ? '1' : '';
      const ok =
        ver === t[1] &&
        (m.community ?? '') === t[2] && // compared, never printed
        (m.pdu === null ? '' : String(m.pdu)) === t[3] &&
        m.oids.join('|') === t[4].split('|').slice(0, 8).join('|') &&
        (m.user ?? '') === t[5] &&
        (m.flags === null ? '' : m.flags.toString(16).padStart(2, '0')) === t[6] &&
        (m.errorStatus === null || m.pdu === 4 ? '' : String(m.errorStatus)) === t[7];
      if (!ok) bad.push(p.frame);
    }
    console.log(`SNMP per-message agreement with tshark: ${compared - bad.length}/${compared}`);
    expect(compared).toBe(72);
    expect(bad).toEqual([]);
  });

  it('flow facts: defaults flagged, v3 levels, no community in clear, all 17 nDPI flows claimed', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'snmp.pcap')));
    const results = flows.map((f) => runFlow(snmpDissector, f));
    expect(results.filter((r) => r.probe === Probe.YES)).toHaveLength(17);
    for (const r of results) {
      const json = JSON.stringify(r.facts);
      for (const c of ['public', 'public2c', 'adsl']) expect(json).not.toContain(`"${c}"`);
    }
    // authPriv flows: only the discovery exchange is in clear, and it carries nothing.
    for (const r of results.filter((x) => x.facts.security_level === 'authPriv')) expect(r.facts.readable_pdus).toBe(0);
    for (const r of results.filter((x) => x.facts.security_level === 'authNoPriv' || x.facts.community !== null)) expect(r.facts.readable_pdus).toBeGreaterThan(0);
    const levels = new Set(results.map((r) => r.facts.security_level).filter((l) => l !== null));
    expect(levels).toEqual(new Set(['noAuthNoPriv', 'authNoPriv', 'authPriv']));
    const users = new Set(results.map((r) => r.facts.usm_user).filter((u) => u !== null));
    expect(users).toEqual(new Set(['NOAUTHNOPRIV', 'SHA1NOPRIV', 'SHA1AES128']));
    const v1v2 = results.filter((r) => r.facts.community !== null);
    expect(v1v2.filter((r) => r.facts.community_is_default)).toHaveLength(6); // "public" flows
    expect(v1v2.filter((r) => !r.facts.community_is_default).map((r) => r.facts.community!.length).sort()).toEqual([4, 8]); // adsl, public2c
    expect(results.some((r) => r.facts.pdu_types.includes('trap'))).toBe(true);
    expect(SNMP_PDU_NAMES[7]).toBe('snmpV2-trap');
  });

  it('fuzzing with real messages as seeds', async () => {
    fuzzDissector(snmpDissector, seedsFrom(flowsOf(await packetsOf(join(corpus, 'snmp.pcap'))), 72), 2000, 161);
  });
});
