/**
 * Golden captures: fresh runs of a few small scenarios must reproduce
 * pcaps/golden/<scenario>/<tap>.pcapng byte for byte. When a change to the captures is
 * intended, rewrite them with `npx tsx test/sim/update-golden.ts` (see pcaps/golden/README.md).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GOLDEN_DIR, GOLDEN_SCENARIOS, captures, simulateFixture } from './sim-kit.ts';

describe('golden captures', () => {
  for (const name of GOLDEN_SCENARIOS) {
    it(`${name}: every tap matches pcaps/golden/${name}/ byte for byte`, () => {
      const dir = join(GOLDEN_DIR, name);
      expect(existsSync(dir), `${dir} is missing: run npx tsx test/sim/update-golden.ts`).toBe(true);
      const fresh = captures(simulateFixture(name));
      const stored = readdirSync(dir).filter((f) => f.endsWith('.pcapng')).sort();
      expect(stored).toEqual([...fresh.keys()].map((t) => `${t}.pcapng`).sort());
      for (const [tap, bytes] of fresh) {
        const golden = readFileSync(join(dir, `${tap}.pcapng`));
        expect(bytes.length, `${name}/${tap}.pcapng length`).toBe(golden.length);
        const at = bytes.findIndex((b, i) => b !== golden[i]);
        expect(at, `${name}/${tap}.pcapng first differing byte`).toBe(-1);
      }
    });
  }
});
