/**
 * Lab 01 (docs/labs/01-natd-by-hand.md): runs fixtures/labs/01-natd-by-hand.yaml and
 * the lab's step commands, recomputes every NAT-D hash from the SPIs and the
 * addresses in the captures, and proves each answer of the key with those values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLab, type LabDoc } from '../lab-key.ts';
import { captures } from '../../sim/sim-kit.ts';
import type { Simulation } from '../../../src/sim/simulation.ts';
import { answerText, decodeFrames, dstOf, expectKeyComplete, expectResults, expectStepsOk, natdInput, natdOf, removeDir, runLabScenario, runStepsFilling, sha1OfHex, srcOf, stepCommands, tempDir, type DecodedFrame, type StepRun } from './lab-steps.ts';

const NAME = '01-natd-by-hand';

let dir: string;
let lab: LabDoc;
let sim: Simulation;
let steps: StepRun[];
let lan: DecodedFrame[];
let wan: DecodedFrame[];

beforeAll(async () => {
  dir = tempDir('lab01');
  lab = readLab(`${NAME}.md`);
  sim = runLabScenario(NAME);
  steps = await runStepsFilling(stepCommands(lab), dir, 1, async () => {
    lan = await decodeFrames(join(dir, 'lab01/lan.pcapng'));
    wan = await decodeFrames(join(dir, 'lab01/wan.pcapng'));
    return { SPIi: lan[0]!.ike!.spiI, SPIr: lan[1]!.ike!.spiR, NAT_PORT: String(wan[0]!.srcPort) };
  });
});
afterAll(() => removeDir(dir));

describe('lab 01: the scenario and the steps', () => {
  it('meets every expectation of the scenario', () => {
    expectResults(sim, 7);
  });

  it('runs every step command with exit 0; the CLI run writes the same captures as the in-process run', () => {
    expect(steps.map((s) => s.command)).toEqual([
      'simulate fixtures/labs/01-natd-by-hand.yaml --out lab01',
      'decode -v lab01/lan.pcapng',
      'decode -v lab01/wan.pcapng',
      'natd --spi-i <SPIi> --spi-r 0 --addr 10.0.0.2:500',
      'natd --spi-i <SPIi> --spi-r 0 --addr 198.51.100.10:500',
      'natd --spi-i <SPIi> --spi-r 0 --addr 203.0.113.2:<NAT_PORT>',
      'natd --spi-i <SPIi> --spi-r <SPIr> --addr 198.51.100.10:500',
      'natd --spi-i <SPIi> --spi-r <SPIr> --addr 203.0.113.2:<NAT_PORT>',
      'natd --spi-i <SPIi> --spi-r <SPIr> --addr 10.0.0.2:500',
      'simulate fixtures/labs/01-natd-by-hand.yaml --out lab01 --explain',
      'analyze lab01/lan.pcapng lab01/wan.pcapng --explain',
    ]);
    expectStepsOk(steps);
    expect(steps[0]!.out).toContain('expectations: 7 passed, 0 failed');
    for (const [tap, bytes] of captures(sim)) expect(new Uint8Array(readFileSync(join(dir, 'lab01', `${tap}.pcapng`)))).toEqual(bytes);
  });

  it('the natd steps print the hashes computed here from the same inputs', () => {
    for (const s of steps.filter((x) => x.argv[0] === 'natd')) {
      const spiR = s.argv[4] === '0' ? '0000000000000000' : s.argv[4]!;
      const input = natdInput(s.argv[2]!, spiR, s.argv[6]!);
      expect(s.out).toContain(`hash   ${sha1OfHex(input)}`);
      expect(s.out).toContain(`printf '${input}' | xxd -r -p | sha1sum`);
    }
  });

  it('decode -v shows the NAT-D values of both IKE_SA_INIT messages', () => {
    for (const [i, f] of [lan[0]!, lan[1]!].entries()) {
      expect(steps[1]!.out).toContain(`N(NAT_DETECTION_SOURCE_IP=${natdOf(f, 'source')})`);
      expect(steps[1]!.out).toContain(`N(NAT_DETECTION_DESTINATION_IP=${natdOf(f, 'destination')})`);
      expect(f.ike!.exchange).toBe('IKE_SA_INIT');
      expect(f.ike!.response).toBe(i === 1);
    }
  });
});

describe('lab 01: the answer key', () => {
  it('A1: the SPIs and endpoints of the request before the NAT', () => {
    const req = lan[0]!;
    expect(req.ike!.spiR).toBe('0000000000000000');
    const a = answerText(lab, 'A1');
    for (const v of [req.ike!.spiI, req.ike!.spiR, srcOf(req), dstOf(req)]) expect(a).toContain(v);
    expect(srcOf(req)).toBe('10.0.0.2:500');
  });

  it("A2: the initiator's SOURCE hash, input and value", () => {
    const req = lan[0]!;
    const input = natdInput(req.ike!.spiI, req.ike!.spiR, srcOf(req));
    expect(sha1OfHex(input)).toBe(natdOf(req, 'source'));
    expect(answerText(lab, 'A2')).toContain(input);
    expect(answerText(lab, 'A2')).toContain(sha1OfHex(input));
  });

  it("A3: the initiator's DESTINATION hash, input and value", () => {
    const req = lan[0]!;
    const input = natdInput(req.ike!.spiI, req.ike!.spiR, dstOf(req));
    expect(sha1OfHex(input)).toBe(natdOf(req, 'destination'));
    expect(answerText(lab, 'A3')).toContain(input);
    expect(answerText(lab, 'A3')).toContain(sha1OfHex(input));
  });

  it('A4: the translated source, the hash the server computes over it, the failed SOURCE hash, NAT_THERE', () => {
    const req = wan[0]!;
    expect(req.ike!.spiI).toBe(lan[0]!.ike!.spiI);
    const seen = srcOf(req);
    const input = natdInput(req.ike!.spiI, req.ike!.spiR, seen);
    const computed = sha1OfHex(input);
    expect(computed).not.toBe(natdOf(req, 'source'));
    expect(sha1OfHex(natdInput(req.ike!.spiI, req.ike!.spiR, dstOf(req)))).toBe(natdOf(req, 'destination'));
    const server = sim.report().peers.find((p) => p.name === 'server')!;
    expect(server.conditions).toMatchObject({ natHere: false, natThere: true });
    const a = answerText(lab, 'A4');
    for (const v of [seen, input, computed, natdOf(req, 'source'), natdOf(req, 'destination'), 'SOURCE hash fails', 'NAT_THERE']) expect(a).toContain(v);
  });

  it("A5: the responder's SPIr and the two hashes of the response, with the endpoints they cover", () => {
    const rsp = lan[1]!;
    const spiI = rsp.ike!.spiI;
    const spiR = rsp.ike!.spiR;
    const server = srcOf(wan[1]!);
    const client = dstOf(wan[1]!);
    expect(sha1OfHex(natdInput(spiI, spiR, server))).toBe(natdOf(rsp, 'source'));
    expect(sha1OfHex(natdInput(spiI, spiR, client))).toBe(natdOf(rsp, 'destination'));
    const a = answerText(lab, 'A5');
    for (const v of [spiR, server, client, natdOf(rsp, 'source'), natdOf(rsp, 'destination')]) expect(a).toContain(v);
  });

  it('A6: what the client computes for the DESTINATION hash, the mismatch, NAT_HERE, and the matching SOURCE hash', () => {
    const rsp = lan[1]!;
    const own = dstOf(rsp);
    expect(own).toBe('10.0.0.2:500');
    const input = natdInput(rsp.ike!.spiI, rsp.ike!.spiR, own);
    const computed = sha1OfHex(input);
    expect(computed).not.toBe(natdOf(rsp, 'destination'));
    expect(sha1OfHex(natdInput(rsp.ike!.spiI, rsp.ike!.spiR, srcOf(rsp)))).toBe(natdOf(rsp, 'source'));
    const client = sim.report().peers.find((p) => p.name === 'client')!;
    expect(client.conditions).toMatchObject({ natHere: true, natThere: false });
    expect(client.keepalives.sent).toBeGreaterThan(0);
    const a = answerText(lab, 'A6');
    for (const v of [own, input, computed, natdOf(rsp, 'destination'), natdOf(rsp, 'source'), 'NAT_HERE']) expect(a).toContain(v);
  });

  it('A7: the float: the first frame on port 4500 after the NAT and its new source port', () => {
    const first = wan.find((f) => f.dstPort === 4500)!;
    expect(first.ike?.exchange).toBe('IKE_AUTH');
    expect(first.srcPort).not.toBe(wan[0]!.srcPort);
    const report = sim.report();
    expect(report.peers.every((p) => p.floated && p.children.every((c) => c.encap === 'udp'))).toBe(true);
    const a = answerText(lab, 'A7');
    for (const v of [`frame ${first.frame}`, srcOf(first), `port ${wan[0]!.srcPort}`]) expect(a).toContain(v);
  });

  it('has no answer the test does not check', () => {
    expectKeyComplete(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']);
  });
});
