/**
 * summary.txt under attack (fixtures/hostile/init-flood.yaml): the gateway's admission
 * line (COOKIE mode, half-open peak, Diffie-Hellman, COOKIEs, drops by reason) and the
 * `=== attackers ===` block (what each campaign sent and missed, what the peers
 * dropped), checked against the run's report.json; neither appears for a scenario
 * without attackers or a responder that never demanded a COOKIE nor dropped a request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/sim/report.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { buildSummary } from '../../src/sim/summary.ts';
import { ROOT, simulateFixture } from './sim-kit.ts';

const FLOOD_YAML = readFileSync(join(ROOT, 'fixtures/hostile/init-flood.yaml'), 'utf8');

function runYaml(text: string, file: string): Simulation {
  const prepared = Simulation.prepare(loadScenario(text, file));
  if (!prepared.ok) throw new Error(prepared.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`).join('\n'));
  prepared.sim.run();
  return prepared.sim;
}

/** The fixture with some of its text replaced; each replacement must hit. */
function variant(...edits: readonly (readonly [string, string])[]): string {
  let text = FLOOD_YAML;
  for (const [from, to] of edits) {
    expect(text, `fixture text ${from}`).toContain(from);
    text = text.replace(from, to);
  }
  return text;
}

const linesOf = (summary: string): string[] => summary.split('\n');
const admissionLines = (summary: string): string[] => linesOf(summary).filter((l) => l.startsWith('  admission: '));

/** The lines of a `=== name ===` block, up to the blank line that ends it. */
function block(summary: string, name: string): string[] {
  const lines = linesOf(summary);
  const start = lines.indexOf(`=== ${name} ===`);
  if (start < 0) return [];
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end);
}

describe('summary.txt of fixtures/hostile/init-flood.yaml', () => {
  const sim = runYaml(FLOOD_YAML, 'init-flood.yaml');
  const summary = buildSummary(sim);
  const report = buildReport(sim);

  it('the gateway has one admission line, in its peer block, with the counters of the run', () => {
    const gw = report.peers.find((p) => p.name === 'gateway')!;
    const a = gw.admission!;
    expect(a.cookieModeChanges).toEqual([{ at: 1_021_000, on: true, halfOpen: 30 }]);
    expect([a.halfOpenPeak, a.halfOpen, a.dhComputations, a.cookiesSent, a.cookiesAccepted, a.cookiesInvalid, a.blockedPerPeer, a.overLimit]).toEqual([
      31, 0, 31, 99_971, 1, 0, 0, 0,
    ]);
    expect(admissionLines(summary)).toEqual([
      '  admission: COOKIE mode on at 1.021 s (30 half-open); on at the end; half-open peak 31, 0 at the end; Diffie-Hellman 31; ' +
        'COOKIEs sent 99971, accepted 1, invalid 0; dropped 0 per peer (peer-half-open-limit), 0 over the limit (half-open-limit)',
    ]);
    const lines = linesOf(summary);
    const at = lines.findIndex((l) => l.startsWith('  admission: '));
    expect(lines[at - 1]).toMatch(/^ {2}keepalives sent \d+/);
    expect(lines.lastIndexOf('=== peer gateway (responder on host gateway) ===', at)).toBeGreaterThan(lines.indexOf('=== peer laptop (initiator on host laptop) ==='));
  });

  it('the attackers block says what each campaign sent and missed, and what the peers dropped', () => {
    expect(report.attackers.map((a) => [a.name, a.sent, a.missed])).toEqual([
      ['flood', 100_000, 0],
      ['init-replay', 1, 0],
      ['auth-replay', 1, 0],
      ['auth-response-replay', 1, 0],
      ['auth-bad-icv', 1, 0],
      ['auth-unknown-sa', 1, 0],
      ['esp-replay', 10, 0],
      ['esp-forge', 7, 0],
    ]);
    expect(block(summary, 'attackers')).toEqual([
      'flood: ike-init-flood from attacker (spoofing 198.18.0.0/15) to 198.51.100.1:500: 100000 sent from 1 s to 50.9995 s, 0 missed',
      'init-replay: ike-replay from attacker to gateway: 1 sent at 60 s, 0 missed',
      'auth-replay: ike-replay from attacker to gateway: 1 sent at 60.1 s, 0 missed',
      'auth-response-replay: ike-replay from attacker to gateway: 1 sent at 60.2 s, 0 missed',
      'auth-bad-icv: ike-forge from attacker to gateway: 1 sent at 60.3 s, 0 missed',
      'auth-unknown-sa: ike-forge from attacker to gateway: 1 sent at 60.4 s, 0 missed',
      'esp-replay: esp-replay from attacker to gateway: 10 sent from 60.41 s to 60.5 s, 0 missed',
      'esp-forge: esp-forge from attacker to gateway: 7 sent from 60.51 s to 60.57 s, 0 missed',
      '  laptop dropped (all causes): IKE unexpected-message-id 1',
      '  gateway dropped (all causes): IKE invalid-message-id 2, integrity 1, unknown-sa 1; ESP replay-duplicate 10, auth-failed 7',
    ]);
    const gw = report.peers.find((p) => p.name === 'gateway')!;
    expect(gw.ikeDrops).toEqual({ 'invalid-message-id': 2, integrity: 1, 'unknown-sa': 1 });
    expect(gw.espDrops).toEqual({ 'replay-duplicate': 10, 'auth-failed': 7 });
  });

  it('the attackers block comes after the traffic and before the expectations', () => {
    const lines = linesOf(summary);
    const traffic = lines.indexOf('=== traffic ===');
    const attackers = lines.indexOf('=== attackers ===');
    const expectations = lines.indexOf('=== expectations ===');
    expect(traffic).toBeGreaterThan(0);
    expect(attackers).toBeGreaterThan(traffic);
    expect(expectations).toBeGreaterThan(attackers);
    expect(lines[attackers - 1]).toBe('');
    expect(lines[expectations - 1]).toBe('');
  });
});

describe('summary.txt admission and attacker lines in other runs', () => {
  it('a responder that drops requests over its limit without COOKIE mode gets the line', () => {
    const sim = runYaml(variant(['count: 100000,', 'count: 300,'], ['cookieThreshold: 30,', 'cookieThreshold: 1000,']), 'over-limit.yaml');
    const st = sim.peers.get('gateway')!.engine.admissionStats;
    expect(st.overLimit).toBeGreaterThan(0);
    expect(admissionLines(buildSummary(sim))).toEqual([
      `  admission: COOKIE mode never on; half-open peak 40, 0 at the end; Diffie-Hellman ${st.dhComputations}; ` +
        `COOKIEs sent 0, accepted 0, invalid 0; dropped 0 per peer (peer-half-open-limit), ${st.overLimit} over the limit (half-open-limit)`,
    ]);
    expect(st.overLimit).toBe(262);
    expect(st.dhComputations).toBe(41);
  });

  it('COOKIE mode that ends is listed on and off', () => {
    const sim = runYaml(variant(['count: 100000,', 'count: 300,'], ['halfOpenTimeout: 30s', 'halfOpenTimeout: 5s']), 'calm.yaml');
    expect(sim.peers.get('gateway')!.cookieModes).toEqual([
      { at: 1_021_000, on: true, halfOpen: 30 },
      { at: 20_017_000, on: false, halfOpen: 0 },
    ]);
    expect(admissionLines(buildSummary(sim))).toEqual([
      '  admission: COOKIE mode on at 1.021 s (30 half-open), off at 20.017 s (0 half-open); off at the end; half-open peak 30, 0 at the end; ' +
        'Diffie-Hellman 31; COOKIEs sent 270, accepted 0, invalid 0; dropped 0 per peer (peer-half-open-limit), 0 over the limit (half-open-limit)',
    ]);
  });

  it('a replay scheduled before anything was recorded shows as missed', () => {
    const sim = runYaml(variant(['count: 100000,', 'count: 300,'], ['at: 60.41s', 'at: 0.5s']), 'early.yaml');
    const lines = block(buildSummary(sim), 'attackers');
    expect(lines).toContain('esp-replay: esp-replay from attacker to gateway: 0 sent, 10 missed');
    expect(lines).toContain('flood: ike-init-flood from attacker (spoofing 198.18.0.0/15) to 198.51.100.1:500: 300 sent from 1 s to 1.1495 s, 0 missed');
  });

  it.each(['nat-rw', 'two-clients-one-nat', 'nat-reboot'])('%s: no admission line and no attackers block', (name) => {
    const sim = simulateFixture(name);
    expect([...sim.peers.values()].some((p) => p.role === 'responder')).toBe(true);
    const summary = buildSummary(sim);
    expect(summary).toContain('=== expectations ===');
    expect(admissionLines(summary)).toEqual([]);
    expect(summary).not.toContain('=== attackers ===');
  });
});
