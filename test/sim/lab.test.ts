import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPrefix } from '../../src/core/addr.ts';
import { buildLab } from '../../src/sim/lab.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { concatAll } from '../../src/core/bytes.ts';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/scenarios');
const load = (f: string) => loadScenario(readFileSync(join(FIXTURES, f), 'utf8'), f);

describe('labs built from the fixture scenarios', () => {
  for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.yaml'))) {
    it(`${f} builds and sends all its traffic (in the clear, no peers) to the end`, () => {
      const s = load(f);
      const lab = buildLab(s);
      expect([...lab.taps.keys()]).toEqual(s.taps.map((t) => t.name));
      lab.run();
      expect(lab.network.now).toBe(s.duration);
      for (const t of s.traffic) expect(lab.traffic.get(t.name)!.sent, t.name).toBe(t.count);
    });
  }

  it('cgnat: the home router WAN address comes from 100.64.0.0/10, after the CGN own address', () => {
    const lab = buildLab(load('cgnat.yaml'));
    expect([...lab.allocated].map(([k, p]) => `${k} ${formatPrefix(p)}`)).toEqual(['home-router.wan 100.64.0.2/10']);
    expect(lab.network.natRouter('home-router').nat.external.map((a) => a.bytes.join('.'))).toEqual(['100.64.0.2']);
  });

  it('nat-reboot: events run at their times', () => {
    const lab = buildLab(load('nat-reboot.yaml'));
    const seen: string[] = [];
    lab.network.observe((e) => {
      if (e.type === 'nat' && e.record.kind === 'reboot') seen.push(`${e.at} ${e.record.nat} reboot`);
    });
    lab.run();
    expect(seen).toEqual(['60000000 home-router reboot']);
  });

  it('in the clear, a ping through a PAT is answered and a ping into it is not', () => {
    const nat = buildLab(load('nat-rw.yaml'));
    nat.run();
    expect(nat.traffic.get('ping-server')).toEqual({ sent: 5, delivered: 5 });
    const inward = buildLab(load('keepalive-slower-than-nat-timeout.yaml'));
    inward.run();
    expect(inward.traffic.get('ping-client')).toEqual({ sent: 5, delivered: 0 });
  });

  it('nat-rw: the same seed gives byte-identical captures; the NAT taps explain each ping', () => {
    const run = () => {
      const lab = buildLab(load('nat-rw.yaml'));
      lab.run();
      return lab;
    };
    const a = run();
    const b = run();
    for (const name of a.taps.keys()) expect(concatAll(b.taps.get(name)!.chunks)).toEqual(concatAll(a.taps.get(name)!.chunks));
    const outside = a.taps.get('home-outside')!;
    expect(outside.count).toBe(10);
    expect(outside.comments()[0]).toMatch(/^NAT home-router: 10\.0\.0\.2 id 1 → 203\.0\.113\.2 id \d+ \(new mapping, endpoint-independent, expires in 60 s\)$/);
    expect(a.taps.get('wan')!.records[0]!.timeUs).toBeGreaterThanOrEqual(10_000_000 + 1_000 + 10_000);
    expect(a.taps.get('wan')!.records[0]!.timeUs).toBeLessThanOrEqual(10_000_000 + 1_000 + 12_000);
  });
});
