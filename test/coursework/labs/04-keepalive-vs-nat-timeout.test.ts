/**
 * Lab 04 (docs/labs/04-keepalive-vs-nat-timeout.md): the broken run (keepalive 40 s,
 * NAT UDP timeout 30 s), the fixed run (30 s), the 31 s variant the steps make with
 * sed, and a sweep of keepalive intervals proving that 30 s is the largest that works.
 * Every answer of the key is computed from these runs and their captures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLab, type LabDoc } from '../lab-key.ts';
import type { Simulation } from '../../../src/sim/simulation.ts';
import type { NatRecord } from '../../../src/sim/nat.ts';
import { answerText, decodeFrames, dstOf, expectKeyComplete, expectStepsOk, labFixtureText, relTime, removeDir, runLabScenario, runSteps, seconds, srcOf, stepCommands, tempDir, type DecodedFrame, type StepRun } from './lab-steps.ts';

const BROKEN = '04-keepalive-vs-nat-timeout';
const FIXED = '04-keepalive-vs-nat-timeout-fixed';
const SED = "sed 's/keepalive: 30s/keepalive: 31s/' fixtures/labs/04-keepalive-vs-nat-timeout-fixed.yaml > k31.yaml";

let dir: string;
let lab: LabDoc;
let broken: Simulation;
let fixed: Simulation;
let k31: Simulation;
let steps: StepRun[];
const frames: Record<'lan' | 'wan' | 'fixedWan', DecodedFrame[]> = { lan: [], wan: [], fixedWan: [] };

/** The fixed lab with another keepalive interval, as the sed step makes it. */
const withKeepalive = (s: number): string => {
  const text = labFixtureText(FIXED);
  expect(text).toContain('keepalive: 30s');
  return text.replace('keepalive: 30s', `keepalive: ${s}s`);
};

const created = (sim: Simulation, internal: string): { at: number; external: string }[] =>
  sim.natEvents
    .filter((e) => e.nat === 'home-router' && e.kind === 'created' && e.mapping?.startsWith(`udp ${internal} ⇄ `))
    .map((e) => ({ at: e.at, external: /⇄ (\S+)/.exec(e.mapping!)![1]! }));
const expired = (sim: Simulation, internal: string): NatRecord[] => (sim.expiries.get('home-router') ?? []).filter((r) => r.mapping?.internal === internal);

beforeAll(async () => {
  dir = tempDir('lab04');
  lab = readLab(`${BROKEN}.md`);
  broken = runLabScenario(BROKEN);
  fixed = runLabScenario(FIXED);
  k31 = runLabScenario('k31', withKeepalive(31));
  writeFileSync(join(dir, 'k31.yaml'), withKeepalive(31));
  steps = await runSteps(stepCommands(lab), dir);
  frames.lan = await decodeFrames(join(dir, 'lab04/lan.pcapng'));
  frames.wan = await decodeFrames(join(dir, 'lab04/wan.pcapng'));
  frames.fixedWan = await decodeFrames(join(dir, 'lab04-fixed/wan.pcapng'));
});
afterAll(() => removeDir(dir));

describe('lab 04: the scenarios and the steps', () => {
  it('both lab scenarios meet all their expectations; the 31 s copy fails two', () => {
    expect(broken.results.length).toBe(6);
    expect(fixed.results.length).toBe(8);
    expect([...broken.results, ...fixed.results].filter((r) => !r.ok)).toEqual([]);
    expect(k31.results.filter((r) => !r.ok).map((r) => r.expect)).toEqual(['mapping-expired', 'delivered']);
  });

  it('runs every step command: exit 0, and exit 1 for the 31 s copy', () => {
    expect(lab.text).toContain(SED);
    expect(steps.map((s) => s.command)).toEqual([
      `simulate fixtures/labs/${BROKEN}.yaml --out lab04 --explain`,
      'decode lab04/lan.pcapng',
      'decode lab04/wan.pcapng',
      'analyze lab04/lan.pcapng lab04/wan.pcapng --nat-timeout 30s',
      `simulate fixtures/labs/${FIXED}.yaml --out lab04-fixed --explain`,
      'decode lab04-fixed/wan.pcapng',
      'simulate k31.yaml --out lab04-k31 --explain',
    ]);
    expectStepsOk(steps.slice(0, -1));
    const last = steps.at(-1)!;
    expect([last.code, last.err]).toEqual([1, '']);
    expect(last.out).toContain('expectations: 6 passed, 2 failed');
    expect(last.out.split('\n').filter((l) => l.startsWith('FAIL ')).length).toBe(2);
  });
});

describe('lab 04: the answer key', () => {
  it("A1: the client's last packet before the break, its mapping, and the expiry at last use + 30 s + 1 µs", () => {
    const a = answerText(lab, 'A1');
    const [exp] = expired(broken, '10.0.0.2:4500');
    const m = exp!.mapping!;
    const last = frames.lan.filter((f) => f.src === '10.0.0.2' && f.timeUs <= m.lastUsedAt).at(-1)!;
    expect(last.kind).toBe('esp');
    expect(last.timeUs).toBe(m.lastUsedAt);
    const latency = broken.scenario.topology.links.find((l) => l.name === 'home-lan')!.latency;
    expect(exp!.at).toBe(m.lastUsedAt + 30_000_000 + 1);
    expect(frames.wan.filter((f) => f.src === '198.51.100.10' && f.timeUs > m.lastUsedAt && f.timeUs < exp!.at)).toEqual([]);
    for (const v of [`sent at ${seconds(last.timeUs - latency)} s`, `NAT at ${seconds(m.lastUsedAt)} s`, `${m.internal} ⇄ ${m.external}`, `at ${seconds(exp!.at)} s`, '1 µs', 'refresh: outbound']) expect(a).toContain(v);
  });

  it('A2: the first keepalive, 40 s after the reply, makes a new mapping on another port', () => {
    const a = answerText(lab, 'A2');
    const client = broken.report().peers.find((p) => p.name === 'client')!;
    const sent = client.keepalives.sentAt[0]!;
    const expiry = expired(broken, '10.0.0.2:4500')[0]!;
    const fresh = created(broken, '10.0.0.2:4500')[1]!;
    expect(fresh.at).toBeGreaterThan(expiry.at);
    expect(fresh.external).not.toBe(expiry.mapping!.external);
    const ka = frames.wan.find((f) => f.kind === 'keepalive')!;
    expect(srcOf(ka)).toBe(fresh.external);
    for (const v of [`At ${seconds(sent)} s`, `10.0.0.2:4500 → ${fresh.external}`, `from \`${fresh.external}\``]) expect(a).toContain(v);
  });

  it('A3: ping-late goes to the old port and dies at the NAT with no-mapping; the server never moved', () => {
    const a = answerText(lab, 'A3');
    const report = broken.report();
    const late = report.traffic.find((t) => t.name === 'ping-late')!;
    expect([late.sent, late.delivered]).toEqual([1, 0]);
    expect(late.losses.map((l) => [l.where, l.reason])).toEqual([['home-router', 'no-mapping']]);
    const old = expired(broken, '10.0.0.2:4500')[0]!.mapping!.external;
    const esp = frames.wan.filter((f) => f.src === '198.51.100.10' && f.kind === 'esp').at(-1)!;
    expect(dstOf(esp)).toBe(old);
    expect(frames.lan.filter((f) => f.timeUs >= esp.timeUs && f.src === '198.51.100.10')).toEqual([]);
    const server = report.peers.find((p) => p.name === 'server')!;
    expect(server.ikeSas.map((s) => s.remote)).toEqual([old]);
    expect(server.peerAddressUpdates).toEqual([]);
    for (const v of [`\`${old}\` at ${relTime(frames.wan, esp)} s`, `\`wan\` frame ${esp.frame}`, '`no-mapping`', `${late.delivered} of ${late.sent} delivered`, 'RFC 7296 §2.23']) expect(a).toContain(v);
  });

  it("A4: the NAT's mappings for 10.0.0.2:4500, the expiries, and the analyser's warning", () => {
    const a = answerText(lab, 'A4');
    const made = created(broken, '10.0.0.2:4500');
    const ports = made.map((m) => m.external.split(':')[1]!);
    const gone = expired(broken, '10.0.0.2:4500');
    expect(made.length).toBe(3);
    expect(new Set(ports).size).toBe(3);
    expect(frames.wan.filter((f) => f.kind === 'keepalive').map((f) => srcOf(f))).toEqual(made.slice(1).map((m) => m.external));
    const analyze = steps[3]!.out;
    const warning = analyze.split('\n').find((l) => l.includes('KEEPALIVE_INTERVAL_TOO_LONG'))!;
    expect(warning).toContain('up to 40.000 s apart, longer than the NAT timeout of 30 s');
    for (const v of [`${made.length} mappings`, `external ports ${ports[0]}, ${ports[1]} and ${ports[2]}`, `${gone.length} of them expired`, 'KEEPALIVE_INTERVAL_TOO_LONG', 'up to 40.000 s apart']) expect(a).toContain(v);
  });

  it('A5: with 30 s the keepalives reach the NAT exactly at the last valid instant and the mapping survives', () => {
    const a = answerText(lab, 'A5');
    const report = fixed.report();
    const client = report.peers.find((p) => p.name === 'client')!;
    const nat = report.nats.find((n) => n.name === 'home-router')!;
    expect(expired(fixed, '10.0.0.2:4500')).toEqual([]);
    const m = nat.mappings.find((x) => x.internal === '10.0.0.2:4500')!;
    const fromClient = frames.fixedWan.filter((f) => f.src === '203.0.113.2' && f.dstPort === 4500);
    expect(new Set(fromClient.map((f) => srcOf(f)))).toEqual(new Set([m.external]));
    const late = report.traffic.find((t) => t.name === 'ping-late')!;
    expect(late.delivered).toBe(1);
    expect(client.keepalives.sentAt.length).toBe(2);
    const latency = fixed.scenario.topology.links.find((l) => l.name === 'home-lan')!.latency;
    expect(created(fixed, '10.0.0.2:4500').length).toBe(1);
    for (const at of client.keepalives.sentAt) {
      expect(a).toContain(`${seconds(at)} s`);
      expect(a).toContain(`${seconds(at + latency)} s`);
    }
    // each keepalive reaches the NAT exactly one timeout after the client's previous packet did
    const sent = client.keepalives.sentAt;
    const prevUse = frames.fixedWan.filter((f) => f.src === '203.0.113.2' && f.timeUs < sent[0]! + latency).at(-1)!;
    const wanLatency = fixed.scenario.topology.links.find((l) => l.name === 'uplink')!.latency;
    expect(sent[0]! + latency - (prevUse.timeUs - wanLatency)).toBe(30_000_000);
    expect(sent[1]! - sent[0]!).toBe(30_000_000);
    for (const v of ['exactly 30 s', 'never expires', `\`${m.external}\``, `(${late.delivered} of ${late.sent})`]) expect(a).toContain(v);
  });

  it('A6: 30 s is the largest interval that works; 31 s loses the mapping and ping-late', () => {
    const a = answerText(lab, 'A6');
    const works: number[] = [];
    for (let s = 20; s <= 40; s++) if (runLabScenario(`k${s}`, withKeepalive(s)).ok) works.push(s);
    expect(works).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    const exp = expired(k31, '10.0.0.2:4500')[0]!;
    const fresh = created(k31, '10.0.0.2:4500')[1]!;
    const client = k31.report().peers.find((p) => p.name === 'client')!;
    const late = k31.report().traffic.find((t) => t.name === 'ping-late')!;
    expect(late.losses.map((l) => [l.where, l.reason])).toEqual([['home-router', 'no-mapping']]);
    const failed = k31.results.filter((r) => !r.ok).length;
    for (const v of [`${Math.max(...works)} s, the NAT timeout`, `expires at ${seconds(exp.at)} s`, `keepalive at ${seconds(client.keepalives.sentAt[0]!)} s`, `\`${fresh.external}\``, '`no-mapping`', `exits 1 with ${failed} failed`]) expect(a).toContain(v);
  });

  it('has no answer the test does not check', () => {
    expectKeyComplete(lab, ['A1', 'A2', 'A3', 'A4', 'A5', 'A6']);
  });
});
