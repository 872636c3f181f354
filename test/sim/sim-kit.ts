/**
 * Shared by the simulation tests and the golden-capture update script: loading fixture
 * scenarios, running them, and the list of scenarios whose captures are kept in
 * pcaps/golden/.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadScenario, type Scenario } from '../../src/sim/scenario.ts';
import { Simulation, type SimulationOptions } from '../../src/sim/simulation.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURES = join(ROOT, 'fixtures/scenarios');
export const GOLDEN_DIR = join(ROOT, 'pcaps/golden');

/** Small scenarios whose captures are compared byte for byte with pcaps/golden/<name>/. */
export const GOLDEN_SCENARIOS = ['no-nat', 'nat-t-disabled', 'force-encap'] as const;

export const fixtureNames = (): string[] =>
  readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();

export function loadFixture(name: string): Scenario {
  const file = `${name}.yaml`;
  return loadScenario(readFileSync(join(FIXTURES, file), 'utf8'), file);
}

/** Prepares and runs a fixture; throws on scenario issues. */
export function simulateFixture(name: string, opts: SimulationOptions = {}): Simulation {
  const p = Simulation.prepare(loadFixture(name), opts);
  if (!p.ok) throw new Error(p.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`).join('\n'));
  p.sim.run();
  return p.sim;
}

/** The pcapng outputs of a run, by tap name. */
export function captures(sim: Simulation): Map<string, Uint8Array> {
  return new Map(sim.outputs().filter((o) => o.path.endsWith('.pcapng')).map((o) => [o.path.slice(0, -'.pcapng'.length), o.bytes]));
}
