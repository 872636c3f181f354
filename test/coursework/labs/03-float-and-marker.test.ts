/**
 * Lab 03 (docs/labs/03-float-and-marker.md): runs fixtures/labs/03-float-and-marker.yaml
 * and the lab's step commands, reads the float, the non-ESP marker, the ESP-in-UDP
 * header and the keepalive byte out of the captures' raw bytes, and proves every
 * answer of the key with them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLab, type LabDoc } from '../lab-key.ts';
import type { Simulation } from '../../../src/sim/simulation.ts';
import { answerText, decodeFrames, dstOf, expectKeyComplete, expectResults, expectStepsOk, hex, rawPackets, relTime, removeDir, runLabScenario, runSteps, srcOf, stepCommands, tempDir, udpOf, type DecodedFrame, type StepRun } from './lab-steps.ts';

let dir: string;
let lab: LabDoc;
let sim: Simulation;
let steps: StepRun[];
const frames: Record<'lan' | 'wan', DecodedFrame[]> = { lan: [], wan: [] };
const raw: Record<'lan' | 'wan', Map<number, Uint8Array>> = { lan: new Map(), wan: new Map() };

beforeAll(async () => {
  dir = tempDir('lab03');
  lab = readLab('03-float-and-marker.md');
  sim = runLabScenario('03-float-and-marker');
  steps = await runSteps(stepCommands(lab), dir);
  for (const tap of ['lan', 'wan'] as const) {
    frames[tap] = await decodeFrames(join(dir, `lab03/${tap}.pcapng`));
    raw[tap] = await rawPackets(new Uint8Array(readFileSync(join(dir, `lab03/${tap}.pcapng`))));
  }
});
afterAll(() => removeDir(dir));

const firstOn4500 = (tap: 'lan' | 'wan') => frames[tap].find((f) => f.dstPort === 4500 || f.srcPort === 4500)!;

describe('lab 03: the scenario and the steps', () => {
  it('meets every expectation of the scenario', () => {
    expectResults(sim, 7);
  });

  it('runs every step command with exit 0', () => {
    expect(steps.map((s) => s.command)).toEqual([
      'simulate fixtures/labs/03-float-and-marker.yaml --out lab03 --explain',
      'decode lab03/lan.pcapng',
      'decode lab03/wan.pcapng',
      'analyze lab03/lan.pcapng lab03/wan.pcapng --explain',
    ]);
    expectStepsOk(steps);
    for (const m of sim.report().nats[0]!.mappings) expect(steps[0]!.out).toContain(`${m.internal} → ${m.external}`);
    expect(steps[0]!.out.match(/floats IKE/g)?.length).toBe(2);
  });
});

describe('lab 03: the answer key', () => {
  it('A1: the first frame on 4500 at each tap, what it carries, and when', () => {
    const a = answerText(lab, 'A1');
    const lan = firstOn4500('lan');
    const wan = firstOn4500('wan');
    expect(lan.frame).toBe(wan.frame);
    for (const f of [lan, wan]) expect([f.ike?.exchange, f.ike?.response, f.encap]).toEqual(['IKE_AUTH', false, 'nonesp']);
    expect(relTime(frames.lan, lan)).toBe(relTime(frames.wan, wan));
    for (const v of [`Frame ${lan.frame} in both`, 'IKE_AUTH request', `${relTime(frames.lan, lan)} s`]) expect(a).toContain(v);
  });

  it('A2: the ports before and after the float at each tap', () => {
    const a = answerText(lab, 'A2');
    for (const tap of ['lan', 'wan'] as const) {
      const before = frames[tap][0]!;
      const after = firstOn4500(tap);
      expect(before.ike?.exchange).toBe('IKE_SA_INIT');
      expect(a).toContain(`\`${tap}\`: before \`${srcOf(before)}\` → \`${dstOf(before)}\`, after \`${srcOf(after)}\` → \`${dstOf(after)}\``);
    }
    expect(frames.wan[0]!.srcPort).not.toBe(firstOn4500('wan').srcPort);
  });

  it("A3: the NAT's two mappings for the client, and the 120 s timeout of the idle one", () => {
    const a = answerText(lab, 'A3');
    const nat = sim.report().nats.find((n) => n.name === 'home-router')!;
    expect(nat.mappings.map((m) => m.internal)).toEqual(['10.0.0.2:500', '10.0.0.2:4500']);
    for (const m of nat.mappings) expect(a).toContain(`${m.internal} ⇄ ${m.external}`);
    const [m500, m4500] = nat.mappings;
    expect(m4500!.external).toBe(srcOf(firstOn4500('wan')));
    expect(frames.wan.filter((f) => f.frame >= firstOn4500('wan').frame && f.src === '203.0.113.2').every((f) => srcOf(f) === m4500!.external)).toBe(true);
    expect(m500!.lastUsedAt).toBeLessThan(firstOn4500('wan').timeUs);
    expect(a).toContain(`(${(m500!.expiresAt! - m500!.lastUsedAt) / 1e6} s)`);
  });

  it('A4: the non-ESP marker and SPIi at the start of the UDP payload; UDP length = 8 + 4 + IKE length', () => {
    const a = answerText(lab, 'A4');
    const f = firstOn4500('lan');
    const u = udpOf(raw.lan.get(f.frame)!);
    expect(hex(u.payload.subarray(0, 4))).toBe('00000000');
    expect(hex(u.payload.subarray(4, 12))).toBe(f.ike!.spiI);
    expect(u.length).toBe(8 + 4 + f.ike!.length);
    for (const v of [`${hex(u.payload.subarray(0, 4))} ${hex(u.payload.subarray(4, 12))}`, `SPIi \`${f.ike!.spiI}\``, `UDP length ${u.length} = 8 (UDP header) + 4 (marker) + ${f.ike!.length}`]) expect(a).toContain(v);
  });

  it('A5: the first ESP-in-UDP packet: SPI and sequence number right after the UDP header, length, zero checksum', () => {
    const a = answerText(lab, 'A5');
    const f = frames.wan.find((x) => x.kind === 'esp')!;
    const ip = raw.wan.get(f.frame)!;
    const u = udpOf(ip);
    const checksum = (ip[26]! << 8) | ip[27]!;
    expect(hex(u.payload.subarray(0, 4))).toBe(f.esp!.spi.slice(2));
    expect(f.esp!.sequence).toBe(1);
    expect(u.length).toBe(8 + f.esp!.length);
    expect(checksum).toBe(0);
    expect(frames.lan.find((x) => x.kind === 'esp')!.frame).toBe(f.frame);
    for (const v of [`Frame ${f.frame} (${relTime(frames.wan, f)} s)`, `\`${hex(u.payload.subarray(0, 4))} ${hex(u.payload.subarray(4, 8))}\``, `UDP length ${u.length} = 8 + ${f.esp!.length}`, `UDP checksum ${checksum}`]) expect(a).toContain(v);
  });

  it('A6: the first keepalive: frame, send time, one byte 0xff, 20 s after the last ESP', () => {
    const a = answerText(lab, 'A6');
    const lan = frames.lan;
    const ka = lan.find((x) => x.kind === 'keepalive')!;
    const u = udpOf(raw.lan.get(ka.frame)!);
    expect([u.length, hex(u.payload)]).toEqual([9, 'ff']);
    const client = sim.report().peers.find((p) => p.name === 'client')!;
    const sentAt = client.keepalives.sentAt[0]!;
    expect((sentAt / 1e6).toFixed(6)).toBe(relTime(lan, ka));
    const last = lan.filter((x) => x.frame < ka.frame && x.src === '10.0.0.2').at(-1)!;
    expect(last.kind).toBe('esp');
    expect(ka.timeUs - last.timeUs).toBe(20_000_000);
    expect(frames.wan.find((x) => x.kind === 'keepalive')!.frame).toBe(ka.frame);
    for (const v of [`Frame ${ka.frame}`, `${(sentAt / 1e6).toFixed(6)} s`, `UDP length ${u.length}`, `byte \`${hex(u.payload)}\``, `frame ${last.frame} at ${relTime(lan, last)} s`, '20 s']) expect(a).toContain(v);
  });

  it("A7: the server sends to the NAT's external address:port of the client's 4500 flow", () => {
    const a = answerText(lab, 'A7');
    const server = sim.report().peers.find((p) => p.name === 'server')!;
    const ext = srcOf(firstOn4500('wan'));
    expect(server.ikeSas[0]!.remote).toBe(ext);
    expect(server.children[0]!.encapEndpoints?.remote).toBe(ext);
    expect(frames.wan.filter((f) => f.src === '198.51.100.10' && f.frame > 2).every((f) => dstOf(f) === ext)).toBe(true);
    expect(frames.lan.filter((f) => f.src === '198.51.100.10' && f.frame > 2).every((f) => dstOf(f) === '10.0.0.2:4500')).toBe(true);
    for (const v of [ext, '10.0.0.2:4500']) expect(a).toContain(v);
  });

  it('has no answer the test does not check', () => {
    expectKeyComplete(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']);
  });
});
