import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { namesOf, scanNames, vendorOf } from '../../src/intel/oui.js';

const text = readFileSync(createRequire(import.meta.url).resolve('oui-data'), 'utf8');

describe('oui: vendor names', () => {
  it('the fast line scan reads exactly the names JSON.parse gives, for every registration', () => {
    const scanned = scanNames(text);
    expect(scanned).not.toBeNull();
    const parsed = namesOf(JSON.parse(text) as Record<string, string>);
    expect(parsed.size).toBeGreaterThan(40_000);
    expect(scanned!.size).toBe(parsed.size);
    for (const [prefix, name] of parsed) expect(scanned!.get(prefix), prefix).toBe(name);
  });

  it('decodes escaped names exactly', () => {
    expect(scanNames('{\n "000000": "A \\"quoted\\" name\\nStreet",\n "000001": "A\\\\S\\nKøge"\n}')).toEqual(
      new Map([
        ['000000', 'A "quoted" name'],
        ['000001', 'A\\S'],
      ]),
    );
  });

  it('refuses text of another shape (the caller then parses the JSON)', () => {
    expect(scanNames('{"000000":"A","000001":"B"}')).toBeNull();
    expect(scanNames('[\n "000000"\n]')).toBeNull();
    expect(scanNames('')).toBeNull();
  });

  it('looks up the longest registered prefix', () => {
    const parsed = namesOf(JSON.parse(text) as Record<string, string>);
    // An MA-S block (36-bit prefix) inside an MA-L prefix registered to someone else.
    const mas = [...parsed.keys()].find((k) => k.length === 9 && parsed.has(k.slice(0, 6)) && parsed.get(k.slice(0, 6)) !== parsed.get(k));
    expect(mas).toBeDefined();
    const mac = parseInt(mas! + '000', 16);
    expect(vendorOf(mac)).toBe(parsed.get(mas!));
    expect(vendorOf(-1)).toBeNull();
  });
});
