/**
 * Lab 05 (docs/labs/05-cgnat.md): NAT444, a home PAT behind a carrier-grade NAT. Runs
 * fixtures/labs/05-cgnat.yaml and the lab's step commands, follows the client's flows
 * through the four taps, recomputes the NAT-D hashes, and proves every answer of the
 * key from the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readLab, type LabDoc } from '../lab-key.ts';
import type { Simulation } from '../../../src/sim/simulation.ts';
import type { NatRecord } from '../../../src/sim/nat.ts';
import { answerText, decodeFrames, expectKeyComplete, expectResults, expectStepsOk, natdInput, natdOf, removeDir, runLabScenario, runStepsFilling, seconds, sha1OfHex, srcOf, stepCommands, tempDir, type DecodedFrame, type StepRun } from './lab-steps.ts';

const TAPS = ['home-inside', 'home-outside', 'carrier-inside', 'carrier-outside'] as const;
type Tap = (typeof TAPS)[number];

let dir: string;
let lab: LabDoc;
let sim: Simulation;
let steps: StepRun[];
const frames = {} as Record<Tap, DecodedFrame[]>;

const expiredOf = (nat: string, internal: string): NatRecord[] => (sim.expiries.get(nat) ?? []).filter((r) => r.mapping?.internal === internal);
const u32 = (ip: string): number => ip.split('.').reduce((a, x) => a * 256 + Number(x), 0);

beforeAll(async () => {
  dir = tempDir('lab05');
  lab = readLab('05-cgnat.md');
  sim = runLabScenario('05-cgnat');
  steps = await runStepsFilling(stepCommands(lab), dir, 1, async () => {
    for (const t of TAPS) frames[t] = await decodeFrames(join(dir, `lab05/${t}.pcapng`));
    const out = frames['carrier-outside'];
    return { SPIi: out[0]!.ike!.spiI, SPIr: out[1]!.ike!.spiR, CGN_PORT: String(out[0]!.srcPort) };
  });
});
afterAll(() => removeDir(dir));

describe('lab 05: the scenario and the steps', () => {
  it('meets every expectation of the scenario', () => {
    expectResults(sim, 13);
  });

  it('runs every step command with exit 0', () => {
    expect(steps.map((s) => s.argv[0])).toEqual(['simulate', 'decode', 'decode', 'decode', 'decode', 'natd', 'natd', 'analyze']);
    expectStepsOk(steps);
    expect(steps[0]!.out).toContain('expectations: 13 passed, 0 failed');
  });
});

describe('lab 05: the answer key', () => {
  it("A1: the home router's WAN address from the CGN's subscriber prefix", () => {
    const a = answerText(lab, 'A1');
    const wan = frames['home-outside'][0]!.src;
    const carrier = sim.scenario.topology.nats.find((n) => n.name === 'carrier')!;
    expect(carrier.kind).toBe('cgnat');
    expect(u32(wan) >>> 22).toBe(u32('100.64.0.0') >>> 22);
    expect(frames['carrier-inside'][0]!.src).toBe(wan);
    for (const v of [`\`${wan}\``, '`100.64.0.0/10`', 'RFC 6598', '100.64.0.1']) expect(a).toContain(v);
  });

  it('A2: the port 500 and 4500 flows at the client, between the NATs and on the Internet', () => {
    const a = answerText(lab, 'A2');
    for (const n of [0, 2]) {
      const [inner, middle, middle2, outer] = TAPS.map((t) => frames[t][n]!);
      expect(srcOf(middle!)).toBe(srcOf(middle2!));
      expect(inner!.ike!.spiI).toBe(outer!.ike!.spiI);
      for (const f of [inner!, middle!, outer!]) expect(a).toContain(`\`${srcOf(f)}\``);
      if (n === 2) expect(a).toContain(`\`${srcOf(inner!)}\` → \`${srcOf(middle!)}\` → \`${srcOf(outer!)}\``);
    }
    expect(new Set(frames['carrier-outside'].filter((f) => f.dst === '198.51.100.10').map((f) => f.src))).toEqual(new Set(['203.0.113.2']));
  });

  it('A3: the mismatching hashes at each end, and one NAT as far as the peers and the analysis can tell', () => {
    const a = answerText(lab, 'A3');
    const req = frames['carrier-outside'][0]!;
    const rsp = frames['home-inside'][1]!;
    const atServer = sha1OfHex(natdInput(req.ike!.spiI, req.ike!.spiR, srcOf(req)));
    const atClient = sha1OfHex(natdInput(rsp.ike!.spiI, rsp.ike!.spiR, `${rsp.dst}:${rsp.dstPort}`));
    expect(atServer).not.toBe(natdOf(req, 'source'));
    expect(atClient).not.toBe(natdOf(rsp, 'destination'));
    expect(natdOf(req, 'source')).toBe(sha1OfHex(natdInput(req.ike!.spiI, req.ike!.spiR, srcOf(frames['home-inside'][0]!))));
    expect(natdOf(rsp, 'destination')).toBe(sha1OfHex(natdInput(rsp.ike!.spiI, rsp.ike!.spiR, srcOf(req))));
    const middle = frames['home-outside'][0]!.src;
    for (const spiR of [req.ike!.spiR, rsp.ike!.spiR]) {
      for (const h of [natdOf(req, 'source'), natdOf(rsp, 'destination')]) expect(sha1OfHex(natdInput(req.ike!.spiI, spiR, `${middle}:500`))).not.toBe(h);
    }
    const peers = sim.report().peers;
    expect(peers.find((p) => p.name === 'server')!.conditions.natThere).toBe(true);
    expect(peers.find((p) => p.name === 'client')!.conditions.natHere).toBe(true);
    for (const s of steps.filter((x) => x.argv[0] === 'natd')) expect([atServer, atClient].some((h) => s.out.includes(`hash   ${h}`))).toBe(true);
    const analysis = steps.at(-1)!.out;
    const rewrite = `rewrote the source ${srcOf(frames['home-inside'][0]!)} to ${srcOf(req)}`;
    expect(analysis).toContain(rewrite);
    expect(analysis).not.toContain(middle);
    for (const v of [natdOf(req, 'source'), `\`${srcOf(req)}\``, atServer, natdOf(rsp, 'destination'), `\`${srcOf(frames['home-inside'][0]!)}\``, atClient, 'natThere', 'natHere', `one NAT that ${rewrite.replace('the source ', '')}`]) {
      expect(a).toContain(v);
    }
  });

  it("A4: paired pooling, sequential ports, and the subscriber's quota", () => {
    const a = answerText(lab, 'A4');
    const carrier = sim.scenario.topology.nats.find((n) => n.name === 'carrier')!;
    const made = sim.natEvents.filter((e) => e.nat === 'carrier' && e.kind === 'created').map((e) => /⇄ (\S+):(\d+)/.exec(e.mapping!)!);
    expect(made.length).toBe(2);
    expect(new Set(made.map((m) => m[1]))).toEqual(new Set(['203.0.113.2']));
    const ports = made.map((m) => Number(m[2]));
    expect(ports).toEqual([1024, 1025]);
    const end = sim.report().nats.find((n) => n.name === 'carrier')!.mappings;
    const quota = carrier.maxMappingsPerHost!;
    expect(end.length).toBe(1);
    for (const v of [`Both on \`${made[0]![1]}\``, `ports ${ports[0]} and then ${ports[1]}`, `holds ${end.length} mapping`, `\`${end[0]!.internal} ⇄ ${end[0]!.external}\``, `quota of ${quota}`, `open ${quota - end.length} more`, 'RFC 6888 REQ-2']) {
      expect(a).toContain(v);
    }
  });

  it('A5: the port 500 mappings expire after the float, 30 s at the CGN and 120 s at home', () => {
    const a = answerText(lab, 'A5');
    const cgn = expiredOf('carrier', '100.64.0.2:500');
    const home = expiredOf('home-router', '192.168.1.10:500');
    expect([cgn.length, home.length]).toEqual([1, 1]);
    expect(cgn[0]!.at).toBe(cgn[0]!.mapping!.lastUsedAt + 30_000_000 + 1);
    expect(home[0]!.at).toBe(home[0]!.mapping!.lastUsedAt + 120_000_000 + 1);
    const floatAt = sim.report().peers.find((p) => p.name === 'client')!.floats[0]!.at;
    expect(cgn[0]!.mapping!.lastUsedAt).toBeLessThan(floatAt);
    for (const v of [`\`${cgn[0]!.mapping!.internal} ⇄ ${cgn[0]!.mapping!.external}\` at ${seconds(cgn[0]!.at)} s`, `last use at ${cgn[0]!.mapping!.lastUsedAt / 1000} ms`, `\`${home[0]!.mapping!.internal} ⇄ ${home[0]!.mapping!.external}\` at ${seconds(home[0]!.at)} s`]) {
      expect(a).toContain(v);
    }
  });

  it('A6: keepalives beat the tighter timeout at both NATs; the late ping arrives', () => {
    const a = answerText(lab, 'A6');
    const report = sim.report();
    const ka = report.peers.find((p) => p.name === 'client')!.keepalives;
    expect(ka.interval).toEqual({ min: 20_000_000, max: 20_000_000 });
    expect(expiredOf('carrier', '100.64.0.2:4500')).toEqual([]);
    expect(expiredOf('home-router', '192.168.1.10:4500')).toEqual([]);
    expect(frames['carrier-outside'].filter((f) => f.kind === 'keepalive').length).toBe(ka.sent);
    const late = report.traffic.find((t) => t.name === 'ping-late')!;
    expect(late.from).toBe('server');
    expect(late.delivered).toBe(late.sent);
    for (const v of [`${ka.sent} of them, ${ka.interval!.max / 1e6} s apart`, "CGN's 30 s", `${late.delivered} of ${late.sent}`]) expect(a).toContain(v);
  });

  it('has no answer the test does not check', () => {
    expectKeyComplete(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6']);
  });
});
