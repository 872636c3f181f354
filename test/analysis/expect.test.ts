/**
 * The expectation language of `verify` (docs/verify.md) on a real report: equality,
 * operators, list entries selected by index / match / position, array quantifiers,
 * maps, and the static checks that turn a bad file into an error with its line.
 */
import { describe, expect, it } from 'vitest';
import { LAB, analyze } from './support.ts';
import { ExpectationError, compileExpectations, failureText } from '../../src/analysis/expect.ts';

const report = analyze([`${LAB}a-nat-keepalive/outside.pcap`]);

function failures(yaml: string): string[] {
  return compileExpectations(yaml)
    .evaluate(report)
    .map((f) => `${f.line}: ${failureText(f)}`);
}

/** Expects the file to be rejected with these properties of the ExpectationError. */
function rejected(yaml: string, e: { line?: number; path?: string; problem?: string | RegExp }): void {
  const problem = e.problem instanceof RegExp ? expect.stringMatching(e.problem) : e.problem;
  expect(() => compileExpectations(yaml)).toThrow(expect.objectContaining({ name: 'ExpectationError', ...e, ...(problem !== undefined ? { problem } : {}) }));
}

describe('assertions that hold', () => {
  it('the example of docs/verify.md', () => {
    const c = compileExpectations(`
ikeSas:
  - match: { spiI: 8391f754f1670e3d }
    natDetection: { initiatorBehindNat: true, responderBehindNat: false, fake: false, fakeSenders: [] }
    floatedTo4500: true
    firstMessageOn4500: IKE_AUTH
    exchanges: { IKE_AUTH request: 1, CREATE_CHILD_SA request: 0 }
    keepalives:
      - { from: initiator, count: { min: 5 }, maxIntervalS: { max: 6 } }
espSas: { count: 2, each: { encapsulation: udp, gaps: 0, spi: { matches: '^[0-9a-f]{8}$' } } }
findings: { none: { severity: error }, some: { code: NAT_DETECTED } }
captures: [{ file: { contains: outside.pcap }, format: pcap, linktypes: [1] }]
summary: { errors: 0, ikeSas: { in: [1, 2] } }
`);
    expect(c.evaluate(report)).toEqual([]);
    expect(c.assertions).toBe(25);
  });

  it('index and positional entries, exists, ne, contains on arrays of values', () => {
    expect(
      failures(`
ikeSas:
  - index: 0
    natDetection:
      hashes:
        - { kind: source, status: unverified }
        - { kind: destination, status: match }
      fakeSenders: { count: 0 }
    firstMessageOn4500Detail: { exchange: IKE_AUTH, response: false }
    decryption: null
    responder: { ne: '198.51.100.1:500', exists: true }
  - { index: 1 }
`),
    ).toEqual(['12: ikeSas[1]: expected an element, got only 1']);
  });
});

describe('failed assertions: one line each, with the path and expected vs actual', () => {
  it('names the element found by match:, the field, and both values', () => {
    expect(
      failures(`ikeSas:
  - match: { spiI: 8391f754f1670e3d }
    natDetection: { responderBehindNat: true }
    keepalives: [{ count: { min: 6 }, meanIntervalS: { max: 5 } }]
espSas: { count: 3 }
findings: { some: { code: MARKER_MISSING }, none: { code: NAT_DETECTED } }
`),
    ).toEqual([
      '3: ikeSas[0].natDetection.responderBehindNat: expected true, got false',
      '4: ikeSas[0].keepalives[0].count: expected >= 6, got 5',
      '4: ikeSas[0].keepalives[0].meanIntervalS: expected <= 5, got 5.001618',
      '5: espSas.count: expected 3, got 2',
      '6: findings: expected some element with {"code":"MARKER_MISSING"}, got none of 1',
      '6: findings[0]: expected no element with {"code":"NAT_DETECTED"}, got code "NAT_DETECTED"',
    ]);
  });

  it('a match: that selects nothing', () => {
    expect(failures('espSas:\n  - match: { spi: deadbeef }\n    packets: 1\n')).toEqual(['2: espSas[match spi="deadbeef"]: expected an element that matches, got none of 2']);
  });

  it('maps: an absent count is 0; lists of values compare in any order', () => {
    expect(failures('ikeSas:\n  - exchanges: { IKE_AUTH response: 2, CREATE_CHILD_SA response: 0 }\n    captures: [1]\n')).toEqual([
      '2: ikeSas[0].exchanges["IKE_AUTH response"]: expected 2, got 1',
      '3: ikeSas[0].captures: expected [1] (any order), got [0]',
    ]);
  });
});

describe('a bad expectation file: the line and the key', () => {
  it('an unknown field', () => {
    rejected('ikeSas:\n  - natDetection:\n      behindNat: true\n', { line: 3, path: 'ikeSas[0].natDetection.behindNat', problem: /^unknown field \(fields: consistent, initiatorBehindNat/ });
  });
  it('a value of the wrong type (YAML 1.2 reads yes as a string)', () => {
    rejected('ikeSas:\n  - floatedTo4500: yes\n', { line: 2, path: 'ikeSas[0].floatedTo4500', problem: 'expected boolean, got string "yes"' });
  });
  it('a value outside an enumeration', () => {
    rejected('espSas: { each: { encapsulation: esp-in-udp } }\n', { line: 1, path: 'espSas[*].encapsulation', problem: 'expected one of "udp", "none", got "esp-in-udp"' });
  });
  it('an unknown operator or quantifier', () => {
    rejected('summary: { errors: { atMost: 1 } }', { path: 'summary.errors.atMost', problem: /^unknown operator/ });
    rejected('findings: { all: { severity: info } }', { path: 'findings.all', problem: /^unknown array check/ });
  });
  it('a YAML syntax error', () => {
    rejected('ikeSas:\n  - natDetection: {\n      fake: true\n', { line: 4, problem: /^YAML: / });
  });
  it('not a mapping at the top', () => {
    rejected('- a\n- b\n', { line: 1, problem: /must be a mapping/ });
  });
  it('a duplicate key', () => {
    rejected('summary: { errors: 0 }\nsummary: { errors: 1 }\n', { line: 2, problem: /^YAML: .*unique/i });
  });
  it('ExpectationError carries its line in the message too', () => {
    expect(new ExpectationError(7, 'espSas.count', 'takes a number').message).toBe('7: espSas.count: takes a number');
  });
});
