/**
 * Rewrites the golden captures in pcaps/golden/<scenario>/<tap>.pcapng from fresh runs
 * of the scenarios in GOLDEN_SCENARIOS. The golden test compares new runs with these
 * files byte for byte, so run this only when a change to the captures is intended:
 *
 *   npx tsx test/sim/update-golden.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GOLDEN_DIR, GOLDEN_SCENARIOS, captures, simulateFixture } from './sim-kit.ts';

for (const name of GOLDEN_SCENARIOS) {
  const dir = join(GOLDEN_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [tap, bytes] of captures(simulateFixture(name))) {
    writeFileSync(join(dir, `${tap}.pcapng`), bytes);
    process.stdout.write(`${join('pcaps/golden', name, `${tap}.pcapng`)}: ${bytes.length} bytes\n`);
  }
}
