import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coapDissector, parseCoap } from '../../src/dissect/coap.js';
import { Probe, type DissectContext } from '../../src/dissect/types.js';
import { CORPUS, corpusAvailable, hasTool } from '../helpers/analysis.js';
import { fuzzDissector } from '../helpers/fuzz.js';
import { flowsOf, packetsOf, runFlow, seedsFrom, tsharkFields, writeSyntheticPcap, fuzzWithContext } from './corpus-flows.js';

// The public corpus (NOTCREEPY_CORPUS overrides ../shared/corpus); corpus tests skip without it.
const corpus = CORPUS;
const haveCorpus = corpusAvailable;
const haveTshark = hasTool('tshark');
const CTX: DissectContext = { proto: 17, clientPort: 40000, serverPort: 5683, tsUs: 0 };

/** A CoAP message; options as [number, value] in ascending order. */
function coap(type: number, code: number, mid: number, token: Buffer, options: [number, Buffer][], payload?: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x40 | (type << 4) | token.length, code, mid >> 8, mid & 0xff]), token];
  let last = 0;
  for (const [num, val] of options) {
    const delta = num - last;
    last = num;
    const ext: number[] = [];
    const nib = (v: number) => (v < 13 ? v : v < 269 ? 13 : 14);
    const extOf = (v: number) => (v < 13 ? [] : v < 269 ? [v - 13] : [(v - 269) >> 8, (v - 269) & 0xff]);
    ext.push((nib(delta) << 4) | nib(val.length), ...extOf(delta), ...extOf(val.length));
    parts.push(Buffer.from(ext), val);
  }
  if (payload) parts.push(Buffer.from([0xff]), payload);
  return Buffer.concat(parts);
}
const s = (x: string) => Buffer.from(x);

const GET = coap(0, 1, 0x1234, Buffer.from([1, 2]), [
  [3, s('sensor.local')],
  [11, s('.well-known')],
  [11, s('core')],
  [15, s('rt=temperature')],
  [15, s('key=SECRETVALUE')],
]);
const CONTENT = coap(2, 0x45, 0x1234, Buffer.from([1, 2]), [[12, Buffer.from([40])]], s('</temp>;rt="temperature"'));

describe('coapDissector', () => {
  it('parses a request and its answer; query values are not kept', () => {
    expect(coapDissector.probe(GET, 0, GET.length, true, CTX)).toBe(Probe.YES);
    const st = coapDissector.start(CTX);
    expect(st.feed(GET, 0, GET.length, true, CTX)).toBe(false);
    expect(st.feed(CONTENT, 0, CONTENT.length, false, CTX)).toBe(true);
    const f = st.facts();
    expect(f).toMatchObject({
      scheme: 'coap',
      encrypted: false,
      dtls_needed: true,
      type: 'CON',
      code: '0.01',
      method: 'GET',
      message_id: 0x1234,
      uri_host: 'sensor.local',
      uri_path: '/.well-known/core',
      uri_query_keys: ['rt', 'key'],
      response_codes: ['2.05'],
      content_format: 40,
      malformed: 0,
    });
    expect(JSON.stringify(f)).not.toContain('SECRETVALUE');
  });

  it('extended option deltas and lengths (13/14), Proxy-Uri without its query', () => {
    const long = 'x'.repeat(300);
    const m = coap(1, 2, 7, Buffer.alloc(0), [
      [11, s(long)],
      [35, s('coap://cloud.example/upload?token=abc')],
      [258, Buffer.from([2])],
    ]);
    const p = parseCoap(m, 0, m.length)!;
    expect(p.complete).toBe(true);
    expect(p.path[0].length).toBe(256);
    expect(p.proxyUri).toBe('coap://cloud.example/upload');
  });

  it('OSCORE-protected messages count as encrypted even on 5683', () => {
    const st = coapDissector.start(CTX);
    const m = coap(0, 2, 9, Buffer.from([7]), [[9, Buffer.from([0x09, 0x01])]], Buffer.alloc(20, 0x33));
    st.feed(m, 0, m.length, true, CTX);
    expect(st.facts()).toMatchObject({ oscore: true, encrypted: true, dtls_needed: false });
  });

  it('coaps (5684): DTLS records are claimed as encrypted CoAP, plain CoAP there is not', () => {
    const ctx = { ...CTX, serverPort: 5684 };
    const hello = Buffer.concat([Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40]), Buffer.alloc(40)]);
    expect(coapDissector.probe(hello, 0, hello.length, true, ctx)).toBe(Probe.YES);
    expect(coapDissector.probe(GET, 0, GET.length, true, ctx)).toBe(Probe.NO);
    const st = coapDissector.start(ctx);
    expect(st.feed(hello, 0, hello.length, true, ctx)).toBe(true);
    expect(st.facts()).toMatchObject({ scheme: 'coaps', encrypted: true, dtls_needed: false });
  });

  it('probe rejects non-CoAP on 5683 and everything elsewhere', () => {
    const bad = Buffer.from(GET);
    bad[0] = 0x80 | (bad[0] & 0x3f); // version 2
    expect(coapDissector.probe(bad, 0, bad.length, true, CTX)).toBe(Probe.NO);
    const tkl9 = Buffer.from([0x49, 1, 0, 0, ...Array(9).fill(0)]);
    expect(coapDissector.probe(tkl9, 0, tkl9.length, true, CTX)).toBe(Probe.NO);
    expect(coapDissector.probe(GET, 0, GET.length, true, { ...CTX, serverPort: 8080 })).toBe(Probe.NO);
    const ping = Buffer.from([0x40, 0, 0, 1]);
    expect(coapDissector.probe(ping, 0, 4, true, CTX)).toBe(Probe.YES);
  });

  it('synthetic messages agree with tshark', () => {
    if (!haveTshark) return;
    const { file, cleanup } = writeSyntheticPcap([
      { payload: GET, srcPort: 40000, dstPort: 5683 },
      { payload: CONTENT, srcPort: 5683, dstPort: 40000 },
    ]);
    try {
      const rows = tsharkFields(file, 'coap', ['coap.type', 'coap.code', 'coap.mid', 'coap.opt.uri_host', 'coap.opt.uri_path_recon']);
      // tshark rebuilds the URI from Uri-Host and the Uri-Path options.
      expect(rows[0]).toEqual(['0', '1', String(0x1234), 'sensor.local', 'coap://sensor.local/.well-known/core']);
      expect(rows[1].slice(0, 3)).toEqual(['2', '69', String(0x1234)]);
    } finally {
      cleanup();
    }
  });

  it('survives fuzzing', () => {
    fuzzDissector(coapDissector, [GET, CONTENT, Buffer.from([0x40, 0, 0, 1])]);
    fuzzWithContext(coapDissector, [GET, CONTENT], CTX);
    fuzzWithContext(coapDissector, [GET, Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), Buffer.alloc(20)])], { ...CTX, serverPort: 5684 });
  });
});

describe.skipIf(!haveCorpus || !haveTshark)('CoAP on coap_mqtt.pcap vs tshark and nDPI', () => {
  it('type, code, message id, Uri-Path of every message agree; all 8 nDPI flows claimed', async () => {
    const file = join(corpus, 'coap_mqtt.pcap');
    const rows = tsharkFields(file, 'coap', ['frame.number', 'coap.type', 'coap.code', 'coap.mid', 'coap.opt.uri_path']);
    const theirs = new Map(rows.map((r) => [Number(r[0]), r]));
    let compared = 0;
    const bad: string[] = [];
    for (const p of await packetsOf(file)) {
      const t = theirs.get(p.frame);
      if (!t) continue;
      compared++;
      const m = parseCoap(p.payload, 0, p.payload.length)!;
      const code = (m.codeClass << 5) | m.codeDetail;
      if (!(String(m.type) === t[1] && String(code) === t[2] && String(m.messageId) === t[3] && m.path.join('|') === t[4])) bad.push(`#${p.frame} ${JSON.stringify(m)} vs ${t.join(' ')}`);
    }
    console.log(`CoAP per-message agreement with tshark: ${compared - bad.length}/${compared}`);
    expect(compared).toBe(19);
    expect(bad).toEqual([]);
    const flows = flowsOf(await packetsOf(file)).filter((f) => f.proto === 17 && (f.serverPort === 5683 || f.clientPort === 5683));
    const results = flows.map((f) => runFlow(coapDissector, f));
    expect(results).toHaveLength(8);
    expect(results.every((r) => r.probe === Probe.YES && !r.facts.encrypted && r.facts.dtls_needed)).toBe(true);
    const paths = results.map((r) => `${r.facts.method} ${r.facts.uri_path}`).sort();
    expect(paths).toContain('PUT /storage/myresource');
    expect(paths).toContain('GET /separate');
    expect(results.flatMap((r) => r.facts.response_codes).sort()).toEqual(['2.01', '2.04', '2.05']);
    // The Dropbox LAN-sync flows on 17500 are not CoAP.
    const others = flowsOf(await packetsOf(file)).filter((f) => f.proto === 17 && f.serverPort === 17500);
    expect(others.every((f) => runFlow(coapDissector, f).probe === Probe.NO)).toBe(true);
  });

  it('fuzzing with real messages as seeds', async () => {
    const flows = flowsOf(await packetsOf(join(corpus, 'coap_mqtt.pcap'))).filter((f) => f.serverPort === 5683);
    fuzzDissector(coapDissector, seedsFrom(flows), 1500, 5683);
  });
});
