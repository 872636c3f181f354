/**
 * `natt-sim verify`: exit 0 when every assertion holds, 1 with the exact failure
 * lines, 2 for a bad expectation file (file:line and key) or bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.ts';

/** Runs the CLI in-process, collecting what it prints. */
async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

const ROOT = resolve(import.meta.dirname, '../..');
const LAB = resolve(ROOT, '../shared/captures/strongswan-lab');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-verify-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function yaml(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const PASSING = `# a-nat-keepalive, seen from the responder's side of the NAT
ikeSas:
  - match: { spiI: 8391f754f1670e3d }
    natDetection: { initiatorBehindNat: true, responderBehindNat: false, fake: false }
    initiatorEndpoints: { on500: [198.51.100.1:29396], on4500: [198.51.100.1:26329] }
    floatedTo4500: true
    firstMessageOn4500: IKE_AUTH
    keepalives:
      - { from: initiator, count: { min: 5 }, maxIntervalS: { max: 6 } }
espSas: { count: 2, each: { encapsulation: udp, packets: 10, gaps: 0, replays: 0 } }
findings: { none: { severity: error } }
`;

describe('natt-sim verify', () => {
  it('exit 0 when all assertions hold', async () => {
    const r = await runCli(['verify', join(LAB, 'a-nat-keepalive/outside.pcap'), '--expect', yaml('pass.yaml', PASSING)]);
    expect(r).toEqual({ code: 0, out: 'natt-sim verify: all 18 assertion(s) hold\n', err: '' });
  });

  it('exit 1 and one line per failed assertion: file:line, path, expected, got', async () => {
    const f = yaml('fail.yaml', PASSING);
    const r = await runCli(['verify', join(LAB, 'b-nonat/outside.pcap'), '--expect', f]);
    expect(r.code).toBe(1);
    expect(r.out.split('\n').filter(Boolean)).toEqual([
      `${f}:3: ikeSas[match spiI="8391f754f1670e3d"]: expected an element that matches, got none of 1`,
      `${f}:10: espSas[0].encapsulation: expected "udp", got "none"`,
      `${f}:10: espSas[1].encapsulation: expected "udp", got "none"`,
    ]);
    expect(r.err).toBe('natt-sim verify: 3 failed assertion(s) of 18\n');
  });

  it('the same expectations with the right SPI fail on the NAT verdict of b-nonat', async () => {
    const f = yaml('nonat.yaml', PASSING.replace('8391f754f1670e3d', '24d3fa9efe328484'));
    const r = await runCli(['verify', join(LAB, 'b-nonat/outside.pcap'), '--expect', f]);
    expect(r.code).toBe(1);
    expect(r.out.split('\n').filter(Boolean)).toEqual([
      `${f}:4: ikeSas[0].natDetection.initiatorBehindNat: expected true, got false`,
      `${f}:5: ikeSas[0].initiatorEndpoints.on500: expected ["198.51.100.1:29396"] (any order), got ["203.0.113.2:500"]`,
      `${f}:5: ikeSas[0].initiatorEndpoints.on4500: expected ["198.51.100.1:26329"] (any order), got []`,
      `${f}:6: ikeSas[0].floatedTo4500: expected true, got false`,
      `${f}:7: ikeSas[0].firstMessageOn4500: expected "IKE_AUTH", got null`,
      `${f}:9: ikeSas[0].keepalives[0]: expected an element, got only 0`,
      `${f}:10: espSas[0].encapsulation: expected "udp", got "none"`,
      `${f}:10: espSas[1].encapsulation: expected "udp", got "none"`,
    ]);
  });

  it('a bad expectation file: exit 2 with file:line and the key', async () => {
    const cap = join(LAB, 'a-nat-keepalive/outside.pcap');
    const unknown = yaml('unknown.yaml', 'ikeSas:\n  - natDetection:\n      behindNat: true\n');
    expect(await runCli(['verify', cap, '--expect', unknown])).toEqual({
      code: 2,
      out: '',
      err: `natt-sim: ${unknown}:3: ikeSas[0].natDetection.behindNat: unknown field (fields: consistent, initiatorBehindNat, responderBehindNat, fake, fakeSenders, hashAlgorithm, hashes, hashesOmitted, explanation)\n`,
    });
    const syntax = yaml('syntax.yaml', 'findings:\n  none: { severity: error\n');
    const s = await runCli(['verify', cap, '--expect', syntax]);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(new RegExp(`^natt-sim: ${syntax.replace(/[.\\/]/g, '\\$&')}:3: YAML: `));
    const type = yaml('type.yaml', 'espSas:\n  count: two\n');
    expect((await runCli(['verify', cap, '--expect', type])).err).toBe(`natt-sim: ${type}:2: espSas.count: expected number, got string "two"\n`);
    expect((await runCli(['verify', cap, '--expect', join(dir, 'none.yaml')])).err).toBe(`natt-sim: ${join(dir, 'none.yaml')}: no such file\n`);
  });

  it('a cut capture is bad input (exit 2), not a verdict', async () => {
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, readFileSync(join(LAB, 'a-nat-keepalive/outside.pcap')).subarray(0, 2000));
    const r = await runCli(['verify', cut, '--expect', yaml('p2.yaml', PASSING)]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cut\.pcap: pcap: .* truncated/);
  });

  it('--expect is required', async () => {
    const r = await runCli(['verify', join(LAB, 'a-nat-keepalive/outside.pcap')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/expect/);
  });
});
