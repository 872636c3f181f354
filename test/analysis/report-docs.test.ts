/**
 * The report contract stays documented: docs/report.schema.json is REPORT_SCHEMA,
 * docs/report-json.md names every field and finding code, and the YAML examples of
 * docs/verify.md are valid expectations (the first one holds on its capture).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORT_SCHEMA, type Json } from '../../src/analysis/report-schema.ts';
import { FINDING } from '../../src/analysis/findings.ts';
import { compileExpectations } from '../../src/analysis/expect.ts';
import { LAB, analyze } from './support.ts';

const DOCS = resolve(import.meta.dirname, '../../docs');
const md = readFileSync(`${DOCS}/report-json.md`, 'utf8');

function propertyNames(s: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(s)) s.forEach((x) => propertyNames(x, out));
  else if (s && typeof s === 'object') {
    for (const [k, v] of Object.entries(s)) {
      if (k === 'properties' && v && typeof v === 'object' && !Array.isArray(v)) for (const name of Object.keys(v)) out.add(name);
      propertyNames(v, out);
    }
  }
  return out;
}

describe('report documentation', () => {
  it('docs/report.schema.json is the schema the code uses', () => {
    expect(JSON.parse(readFileSync(`${DOCS}/report.schema.json`, 'utf8'))).toEqual(REPORT_SCHEMA);
  });
  it('docs/report-json.md describes every field', () => {
    const names = [...propertyNames(REPORT_SCHEMA as Json)];
    expect(names.length).toBeGreaterThan(100);
    // As `name`, `parent.name`, `name.child` or in a list `a`, `b` / `{ a, b }`.
    expect(names.filter((n) => !new RegExp(`[\`. {]${n}[\`.,}: ]`).test(md))).toEqual([]);
  });
  it('docs/report-json.md lists every finding code', () => {
    expect(Object.values(FINDING).filter((c) => !md.includes(`| \`${c}\` |`))).toEqual([]);
  });
  it('the YAML examples of docs/verify.md are valid; the first holds on a-nat-keepalive/outside.pcap', () => {
    const blocks = [...readFileSync(`${DOCS}/verify.md`, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    const compiled = blocks.map((b) => compileExpectations(b));
    expect(compiled[0]!.evaluate(analyze([`${LAB}a-nat-keepalive/outside.pcap`]))).toEqual([]);
  });
});
