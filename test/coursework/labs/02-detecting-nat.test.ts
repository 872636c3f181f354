/**
 * Lab 02 (docs/labs/02-detecting-nat.md): the same exchange without a NAT
 * (fixtures/labs/02-detecting-nat-nonat.yaml) and through a home PAT
 * (fixtures/labs/02-detecting-nat.yaml). Runs both scenarios and the lab's step
 * commands, and proves every answer of the key from the runs and their captures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readLab, type LabDoc } from '../lab-key.ts';
import type { Simulation } from '../../../src/sim/simulation.ts';
import type { PeerReport } from '../../../src/sim/report.ts';
import { answerText, decodeFrames, dstOf, expectKeyComplete, expectStepsOk, natdInput, natdOf, relTime, removeDir, runLabScenario, runStepsFilling, sha1OfHex, srcOf, stepCommands, tempDir, type DecodedFrame, type StepRun } from './lab-steps.ts';

let dir: string;
let lab: LabDoc;
const sims: Record<'nonat' | 'nat', Simulation> = {} as Record<'nonat' | 'nat', Simulation>;
const frames: Record<'nonat' | 'nat', DecodedFrame[]> = { nonat: [], nat: [] };
let steps: StepRun[];

const peer = (run: 'nonat' | 'nat', name: string): PeerReport => sims[run].report().peers.find((p) => p.name === name)!;

beforeAll(async () => {
  dir = tempDir('lab02');
  lab = readLab('02-detecting-nat.md');
  sims.nonat = runLabScenario('02-detecting-nat-nonat');
  sims.nat = runLabScenario('02-detecting-nat');
  steps = await runStepsFilling(stepCommands(lab), dir, 2, async () => {
    frames.nonat = await decodeFrames(join(dir, 'lab02-nonat/uplink.pcapng'));
    frames.nat = await decodeFrames(join(dir, 'lab02-nat/uplink.pcapng'));
    return { SPIi: frames.nat[0]!.ike!.spiI, NAT_PORT: String(frames.nat[0]!.srcPort) };
  });
});
afterAll(() => removeDir(dir));

describe('lab 02: the scenarios and the steps', () => {
  it('meets every expectation of both scenarios', () => {
    expect(sims.nonat.results.length).toBe(10);
    expect(sims.nat.results.length).toBe(12);
    expect([...sims.nonat.results, ...sims.nat.results].filter((r) => !r.ok)).toEqual([]);
  });

  it('runs every step command with exit 0', () => {
    expect(steps.map((s) => s.argv[0])).toEqual(['simulate', 'simulate', 'decode', 'decode', 'natd', 'natd', 'analyze', 'analyze']);
    expectStepsOk(steps);
    expect(steps[0]!.out).toContain('expectations: 10 passed, 0 failed');
    expect(steps[1]!.out).toContain('expectations: 12 passed, 0 failed');
    expect(steps[6]!.out).toContain('NAT detection result: no NAT between the peers');
    expect(steps[7]!.out).toContain('NAT detection result: the initiator is behind NAT, the responder is not.');
  });

  it('both runs use the same SPIs (same seed), so only the network differs', () => {
    expect(frames.nonat[1]!.ike!.spiI).toBe(frames.nat[1]!.ike!.spiI);
    expect(frames.nonat[1]!.ike!.spiR).toBe(frames.nat[1]!.ike!.spiR);
  });
});

describe('lab 02: the answer key', () => {
  it('A1: the source of the request as the server sees it, in each run', () => {
    const a = answerText(lab, 'A1');
    expect(frames.nonat[0]!.src).toBe(frames.nat[0]!.src);
    expect(frames.nonat[0]!.srcPort).toBe(500);
    expect(frames.nat[0]!.srcPort).not.toBe(500);
    for (const run of ['nonat', 'nat'] as const) expect(a).toContain(srcOf(frames[run][0]!));
  });

  it("A2: the initiator's SOURCE hash and the server's computation, in each run", () => {
    const a = answerText(lab, 'A2');
    for (const run of ['nonat', 'nat'] as const) {
      const req = frames[run][0]!;
      const computed = sha1OfHex(natdInput(req.ike!.spiI, req.ike!.spiR, srcOf(req)));
      expect(computed === natdOf(req, 'source')).toBe(run === 'nonat');
      expect(a).toContain(natdOf(req, 'source'));
      expect(a).toContain(computed);
    }
    expect(natdOf(frames.nat[0]!, 'source')).toBe(sha1OfHex(natdInput(frames.nat[0]!.ike!.spiI, '0000000000000000', '10.0.0.2:500')));
  });

  it('A3: the hashes that cover the server are the same in both runs', () => {
    const a = answerText(lab, 'A3');
    expect(natdOf(frames.nonat[0]!, 'destination')).toBe(natdOf(frames.nat[0]!, 'destination'));
    expect(natdOf(frames.nonat[1]!, 'source')).toBe(natdOf(frames.nat[1]!, 'source'));
    expect(natdOf(frames.nonat[0]!, 'source')).not.toBe(natdOf(frames.nat[0]!, 'source'));
    expect(natdOf(frames.nonat[1]!, 'destination')).not.toBe(natdOf(frames.nat[1]!, 'destination'));
    for (const v of [natdOf(frames.nat[0]!, 'destination'), natdOf(frames.nat[1]!, 'source'), dstOf(frames.nat[0]!)]) expect(a).toContain(v);
  });

  it('A4: natHere and natThere of each peer in each run', () => {
    const a = answerText(lab, 'A4');
    for (const run of ['nonat', 'nat'] as const) {
      const c = peer(run, 'client').conditions;
      const s = peer(run, 'server').conditions;
      expect(a).toContain(`client natHere=${c.natHere} natThere=${c.natThere}; server natHere=${s.natHere} natThere=${s.natThere}`);
    }
    expect(peer('nat', 'client').conditions.natHere).toBe(true);
    expect(peer('nat', 'server').conditions.natThere).toBe(true);
  });

  it('A5: the float happens only through the NAT; the ports of IKE_AUTH', () => {
    const a = answerText(lab, 'A5');
    expect(peer('nonat', 'client').floated).toBe(false);
    expect(peer('nat', 'client').floated).toBe(true);
    expect(peer('nat', 'server').floated).toBe(true);
    for (const run of ['nonat', 'nat'] as const) {
      const auth = frames[run][2]!;
      expect(auth.ike!.exchange).toBe('IKE_AUTH');
      expect(auth.encap).toBe(run === 'nat' ? 'nonesp' : 'none');
      expect(a).toContain(srcOf(auth));
      expect(a).toContain(dstOf(auth));
    }
    expect(frames.nat[2]!.srcPort).not.toBe(frames.nat[0]!.srcPort);
  });

  it('A6: raw ESP against ESP in UDP, and the 8 bytes the UDP header adds', () => {
    const a = answerText(lab, 'A6');
    const raw = frames.nonat.find((f) => f.kind === 'esp')!;
    const udp = frames.nat.find((f) => f.kind === 'esp')!;
    expect([raw.encap, raw.srcPort]).toEqual(['none', undefined]);
    expect([udp.encap, udp.dstPort]).toEqual(['udp', 4500]);
    expect(peer('nonat', 'client').children[0]!.encap).toBe('none');
    expect(peer('nat', 'client').children[0]!.encap).toBe('udp');
    expect(udp.length - raw.length).toBe(8);
    expect(raw.esp!.length).toBe(udp.esp!.length);
    for (const v of [`${raw.length} bytes`, `${udp.length} bytes`, `${udp.length - raw.length} bytes more`, `${raw.esp!.length} bytes`]) expect(a).toContain(v);
  });

  it('A7: who sends keepalives, how many, which frames and when', () => {
    const a = answerText(lab, 'A7');
    expect(frames.nonat.filter((f) => f.kind === 'keepalive')).toEqual([]);
    expect(peer('nonat', 'client').keepalives.sent).toBe(0);
    expect(peer('nat', 'server').keepalives.sent).toBe(0);
    const nat = frames.nat;
    const ka = nat.filter((f) => f.kind === 'keepalive');
    expect(ka.length).toBe(peer('nat', 'client').keepalives.sent);
    expect(ka.every((f) => f.src === '203.0.113.2' && f.dstPort === 4500)).toBe(true);
    const lastBefore = nat.filter((f) => f.frame < ka[0]!.frame && f.src === '203.0.113.2').at(-1)!;
    expect(lastBefore.kind).toBe('esp');
    expect(ka[0]!.timeUs - lastBefore.timeUs).toBe(20_000_000);
    expect(ka[1]!.timeUs - ka[0]!.timeUs).toBe(20_000_000);
    for (const v of [`${ka.length}, at frames ${ka[0]!.frame} and ${ka[1]!.frame}`, `${relTime(nat, ka[0]!)} s`, `${relTime(nat, ka[1]!)} s`, `frame ${lastBefore.frame}`, `${relTime(nat, lastBefore)} s`, '(0)', 'sends 0']) {
      expect(a).toContain(v);
    }
  });

  it('has no answer the test does not check', () => {
    expectKeyComplete(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']);
  });
});
