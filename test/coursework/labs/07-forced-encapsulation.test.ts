/**
 * Lab 07 (docs/labs/07-forced-encapsulation.md): UDP encapsulation forced without a
 * NAT, next to a plain ESP tunnel. Runs the scenario and the steps (simulate, analyze,
 * natd, decode) and proves every answer of the key from the run and its capture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { AnalysisReport } from '../../../src/analysis/report.ts';
import type { LabDoc } from '../lab-key.ts';
import { runCli } from '../support.ts';
import { answerText, decodeJson, expectKeyChecked, expectLabPasses, expectStep, removeDir, setUpLab, timeText, type DecodedFrame, type LabRun } from './lab-run.ts';

const NAME = '07-forced-encapsulation';

let lab: LabDoc;
const answer = (id: string) => answerText(lab, id);
let run: LabRun;
let dir: string;
let gw: string;
let frames: DecodedFrame[];
let analysis: AnalysisReport;

beforeAll(async () => {
  ({ lab, run, dir } = await setUpLab(NAME));
  gw = join(dir, 'out', 'gw.pcapng');
  frames = await decodeJson(gw);
  const a = await runCli(['analyze', gw, '--json']);
  expect([a.code, a.err]).toEqual([0, '']);
  analysis = JSON.parse(a.out) as AnalysisReport;
});
afterAll(() => removeDir(dir));

const forcedSa = () => analysis.ikeSas.find((s) => s.initiator === '192.0.2.10:500')!;
const sourceHash = () => forcedSa().natDetection.hashes.find((h) => h.sender === 'initiator' && h.kind === 'source')!;

describe('lab 07: the scenario and the steps', () => {
  it('passes every expectation', () => {
    expectLabPasses(lab, run, NAME);
    expectStep(lab, 'npx natt-sim analyze /tmp/lab07/gw.pcapng --explain');
    expectStep(lab, 'npx natt-sim natd --spi-i SPIi --spi-r 0000000000000000 --addr 192.0.2.10:500');
    expectStep(lab, 'npx natt-sim decode /tmp/lab07/gw.pcapng');
  });

  it('analyze --explain shows the fake hash as step 2 of the narrative', async () => {
    const r = await runCli(['analyze', gw, '--explain']);
    expect(r.code).toBe(0);
    const step2 = r.out.split('\n').find((l) => l.startsWith(' 2. '));
    expect(step2).toContain(`NAT_DETECTION_SOURCE_IP = ${sourceHash().hash}`);
    expect(step2).toContain('initiator [SA #0]');
  });

  it('has a question for every answer', () => expectKeyChecked(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']));
});

describe('lab 07: the answer key', () => {
  it('A1: forced has NAT_FAKE, the gateway NAT_THERE; the plain tunnel has no NAT condition', () => {
    const forced = run.peer('forced');
    const plain = run.peer('plain');
    expect(forced.conditions).toEqual({ natHere: false, natThere: false, natFake: true });
    expect(plain.conditions).toEqual({ natHere: false, natThere: false, natFake: false });
    const gwSa = (spiI: string) => run.peer('gateway').ikeSas.find((s) => s.spiI === spiI)!;
    expect(gwSa(forced.ikeSas[0]!.spiI)).toMatchObject({ natHere: false, natThere: true, natFake: false });
    expect(gwSa(plain.ikeSas[0]!.spiI)).toMatchObject({ natHere: false, natThere: false, natFake: false });
    const a = answer('A1');
    expect(a).toContain('`NAT_FAKE` only');
    expect(a).toContain('The gateway sets `NAT_THERE`');
    expect(a).toContain('`no NAT` on either side');
  });

  it('A2: the fake hash, the honest one and its input, as natt-sim natd computes it', async () => {
    const h = sourceHash();
    const a = answer('A2');
    expect(a).toContain(`\`${h.hash}\``);
    expect(a).toContain(`\`${h.expected!.hash}\``);
    expect(a).toContain(`\`${h.expected!.input}\``);
    expect(a).toContain(`SPIi \`${h.expected!.spiI}\``);
    expect(h.expected!.spiI).toBe(run.peer('forced').ikeSas[0]!.spiI);
    const r = await runCli(['natd', '--spi-i', h.expected!.spiI, '--spi-r', '0000000000000000', '--addr', '192.0.2.10:500']);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`hash   ${h.expected!.hash}`);
    expect(r.out).toContain('c000020a');
    expect(a).toContain('`c000020a`');
    expect(a).toContain('`01f4`');
  });

  it('A3: analyze calls it fake and raises NATD_FAKE_SOURCE', () => {
    const a = answer('A3');
    expect(a).toContain(`Status \`${sourceHash().status}\``);
    expect(sourceHash().status).toBe('fake');
    const f = analysis.findings.find((x) => x.code === 'NATD_FAKE_SOURCE')!;
    expect(a).toContain(`\`${f.code}\` (severity \`${f.severity}\`)`);
    expect(analysis.findings.filter((x) => x.code === 'ESP_UDP_WITHOUT_NAT').length).toBe(2);
    expect(a).toContain('`ESP_UDP_WITHOUT_NAT`');
  });

  it('A4: forced floats after IKE_SA_INIT and starts 4500 with IKE_AUTH; plain stays on 500', () => {
    const forced = run.peer('forced');
    const a = answer('A4');
    expect(a).toContain(`floats at \`${timeText(forced.floats[0]!.at)}\``);
    expect(forcedSa().firstMessageOn4500).toBe('IKE_AUTH');
    expect(a).toContain(`the \`${forcedSa().firstMessageOn4500}\` request`);
    expect(run.peer('plain').floated).toBe(false);
    expect(a).toContain(`stays on \`${run.peer('plain').ikeSas[0]!.local}\``);
  });

  it('A5: the same ESP, 8 bytes more on the wire in UDP', () => {
    const forcedSpi = `0x${run.peer('forced').children[0]!.spiOut}`;
    const plainSpi = `0x${run.peer('plain').children[0]!.spiOut}`;
    const of = (spi: string) => frames.filter((f) => f.kind === 'esp' && f.esp!.spi === spi);
    const udp = of(forcedSpi);
    const raw = of(plainSpi);
    expect(udp).toHaveLength(3);
    expect(raw).toHaveLength(3);
    expect(new Set([...udp, ...raw].map((f) => f.esp!.length)).size).toBe(1);
    expect(new Set(udp.map((f) => f.encap))).toEqual(new Set(['udp']));
    expect(new Set(raw.map((f) => f.encap))).toEqual(new Set(['none']));
    const espLen = udp[0]!.esp!.length;
    const a = answer('A5');
    expect(a).toContain(`ESP is \`${espLen}\` bytes`);
    expect(a).toContain(`\`${udp[0]!.length}\` bytes in UDP`);
    expect(a).toContain(`\`${raw[0]!.length}\` bytes as raw ESP`);
    const extra = udp[0]!.length - raw[0]!.length;
    expect(extra).toBe(8);
    expect(a).toContain(`adds \`${extra}\` bytes`);
    const inner = 20 + 8 + run.sim.scenario.traffic.find((t) => t.name === 'ping-forced')!.size;
    expect(a).toContain(`this ${inner}-byte inner ping`);
    expect(a).toContain(`\`${((extra / raw[0]!.length) * 100).toFixed(1)} %\``);
  });

  it('A6: IKE on 4500 carries the 4-byte non-ESP marker', () => {
    const extra = (f: DecodedFrame) => f.length - 20 - 8 - f.ike!.length;
    const ike = frames.filter((f) => f.kind === 'ikev2');
    const on4500 = ike.filter((f) => f.dstPort === 4500 || f.srcPort === 4500);
    const on500 = ike.filter((f) => f.dstPort === 500 && f.srcPort === 500);
    expect(on4500.length).toBeGreaterThan(0);
    expect(new Set(on4500.map(extra))).toEqual(new Set([4]));
    expect(new Set(on500.map(extra))).toEqual(new Set([0]));
    expect(on4500.every((f) => f.encap === 'nonesp')).toBe(true);
    expect(answer('A6')).toContain('By `4` bytes');
  });

  it('A7: nobody sends keepalives', () => {
    const a = answer('A7');
    for (const p of ['forced', 'plain', 'gateway']) expect(run.peer(p).keepalives.sent).toBe(0);
    expect(frames.filter((f) => f.kind === 'keepalive')).toHaveLength(0);
    expect(a).toContain('`0` each');
  });
});
