/**
 * The SPIs a peer records for an IKE SA follow the engine: an initiator that received the
 * IKE_SA_INIT response knows the responder's SPI even when IKE_AUTH never gets through
 * (fixtures/labs/11-lossy-link.yaml with the uplink down from 30 ms, as in step 5 of
 * docs/labs/11-lossy-link.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/sim/scenario.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { ROOT } from './sim-kit.ts';

function runDown(): Simulation {
  const file = '11-lossy-link.yaml';
  const base = loadScenario(readFileSync(join(ROOT, 'fixtures/labs', file), 'utf8'), file);
  const s = { ...base, events: [{ at: 30_000, action: 'link-down' as const, link: 'uplink' }] };
  const p = Simulation.prepare(s);
  if (!p.ok) throw new Error(p.issues.map((i) => i.message).join('; '));
  p.sim.run();
  return p.sim;
}

describe('IKE SA records when IKE_AUTH never gets through', () => {
  const sim = runDown();
  const client = sim.peers.get('client')!;
  const server = sim.peers.get('server')!;
  const c = [...client.sas.values()][0]!;
  const s = [...server.sas.values()][0]!;

  it('the client had the IKE_SA_INIT response and floated, and never established', () => {
    expect(c.floated).toBe(true);
    expect(c.establishedAt).toBeUndefined();
    expect(c.deleteReason).toBe('timeout');
    expect(s.deleteReason).toBe('half-open-timeout');
  });

  it('the client records the responder SPI it received, the same as the server', () => {
    expect(s.spiR).toMatch(/^[0-9a-f]{16}$/);
    expect(s.spiR).not.toBe('0000000000000000');
    expect(c.spiI).toBe(s.spiI);
    expect(c.spiR).toBe(s.spiR);
  });

  it('the report and the deletion text show that SPI', () => {
    const report = sim.report();
    const rc = report.peers.find((p) => p.name === 'client')!;
    expect(rc.ikeSas.map((x) => `${x.spiI}/${x.spiR}`)).toEqual([`${s.spiI}/${s.spiR}`]);
    const deleted = client.log.find((l) => l.kind === 'sa-deleted')!;
    expect(deleted.text).toContain(`IKE SA ${s.spiI}/${s.spiR} deleted (timeout`);
  });
});
