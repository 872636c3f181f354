/**
 * A short fuzz run as part of `npm test`: every target of fuzz/ for a fixed number
 * of iterations under a fixed seed (so a failure here reproduces with
 * `npx tsx fuzz/run.ts --target T --seed 20241125 --iterations N`), expecting no
 * finding: no exception other than the contract allows, no broken invariant, no
 * input over a second, no memory growth over 200 MB. Then fast-check properties
 * feed plain random bytes (and random pcap records) to the decoders.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TARGETS, targetByName } from '../../fuzz/targets/index.ts';
import { formatFinding, runTarget } from '../../fuzz/harness.ts';

const SEED = 20241125;

/** Iterations per target: a few thousand where inputs are cheap, fewer where each one runs a handshake. */
const ITERATIONS: Readonly<Record<string, number>> = {
  'pcap-reader': 1200,
  frames: 1000,
  dissector: 1000,
  analyze: 600,
  esp: 2000,
  'esp-sealed': 2000,
  'ike-responder': 1500,
  'ike-initiator': 150,
  'ike-sealed': 150,
};
const DEFAULT_ITERATIONS = 3000;

describe(`short fuzz run, seed ${SEED}`, () => {
  it('covers every target', () => {
    expect(TARGETS.length).toBeGreaterThanOrEqual(19);
    expect(new Set(TARGETS.map((t) => t.name)).size).toBe(TARGETS.length);
  });

  for (const t of TARGETS) {
    const n = ITERATIONS[t.name] ?? DEFAULT_ITERATIONS;
    it(`${t.name}: ${n} inputs, no findings`, () => {
      expect(t.seeds().length).toBeGreaterThan(0);
      const r = runTarget(t, { seed: SEED, iterations: n });
      expect(r.stats.iterations).toBe(n);
      expect(r.findings.map(formatFinding)).toEqual([]);
      expect(r.stats.findings).toBe(0);
    });
  }
});

describe('fast-check: random bytes into the decoders', () => {
  const bytesTargets = ['ipv4', 'ipv6', 'udp', 'esp-header', 'link', 'udp-encap', 'ikev2', 'ikev1', 'ip-reassembly', 'sk-decrypt', 'esp'];
  for (const name of bytesTargets) {
    it(`${name}: arbitrary byte strings`, () => {
      const t = targetByName(name)!;
      const state = t.setup();
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
          t.exec(state, b);
        }),
        { seed: SEED, numRuns: 400 },
      );
    });
  }

  /** A classic pcap header (little-endian, the given link type) and records of random contents and lengths. */
  const pcap = fc
    .record({
      linktype: fc.constantFrom(0, 1, 12, 101, 108, 113, 228, 229, 276, 7),
      records: fc.array(fc.record({ data: fc.uint8Array({ maxLength: 200 }), inflate: fc.constantFrom(0, 0, 0, 1, 0xffffffff, 0x7fffffff) }), { maxLength: 6 }),
    })
    .map(({ linktype, records }) => {
      const parts: number[] = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, linktype & 0xff, linktype >> 8, 0, 0];
      const u32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
      for (const r of records) {
        const incl = r.inflate === 0 ? r.data.length : r.inflate === 1 ? r.data.length + 1 : r.inflate;
        parts.push(...u32(1), ...u32(0), ...u32(incl), ...u32(r.data.length), ...r.data);
      }
      return Uint8Array.from(parts);
    });

  for (const name of ['pcap-reader', 'frames', 'dissector', 'analyze']) {
    it(`${name}: random pcap records, some with inflated lengths`, () => {
      const t = targetByName(name)!;
      const state = t.setup();
      fc.assert(
        fc.property(pcap, (b) => {
          t.exec(state, b);
        }),
        { seed: SEED, numRuns: 300 },
      );
    });
  }
});
