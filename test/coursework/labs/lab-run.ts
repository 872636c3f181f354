/**
 * Shared by the lab tests (docs/labs/NN-*.md): runs a lab's scenario in-process and
 * through the CLI exactly as the lab's steps do, and reads the captures it wrote, so a
 * test can compute each answer of the key from the run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { loadScenario } from '../../../src/sim/scenario.ts';
import { Simulation } from '../../../src/sim/simulation.ts';
import type { SimulationReport } from '../../../src/sim/report.ts';
import { readLab, uncheckedAnswers, type LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';

export const LAB_FIXTURES = resolve(ROOT, 'fixtures/labs');

/** `fixtures/labs/<name>.yaml`, relative to the repository (as the labs' steps write it). */
export const labScenario = (name: string): string => `fixtures/labs/${name}.yaml`;

export type PeerReport = SimulationReport['peers'][number];
export type TrafficReport = SimulationReport['traffic'][number];
export type NatReport = SimulationReport['nats'][number];

export interface LabRun {
  readonly sim: Simulation;
  readonly report: SimulationReport;
  peer(name: string): PeerReport;
  traffic(name: string): TrafficReport;
  nat(name: string): NatReport;
}

/** The text of fixtures/labs/<name>.yaml. */
export function labFixtureText(name: string): string {
  return readFileSync(join(LAB_FIXTURES, `${name}.yaml`), 'utf8');
}

/**
 * Loads, prepares and runs fixtures/labs/<name>.yaml in-process, or the given YAML text
 * under that name, optionally with another seed.
 */
export function runLabSimulation(name: string, opts: { readonly text?: string; readonly seed?: number } = {}): Simulation {
  const file = `${name}.yaml`;
  const scenario = loadScenario(opts.text ?? labFixtureText(name), file);
  const p = Simulation.prepare(scenario, opts.seed === undefined ? {} : { seed: opts.seed });
  if (!p.ok) throw new Error(p.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`).join('\n'));
  p.sim.run();
  return p.sim;
}

/** Loads and runs fixtures/labs/<name>.yaml in-process (optionally with another seed). */
export function runLab(name: string, seed?: number): LabRun {
  const sim = runLabSimulation(name, seed === undefined ? {} : { seed });
  const report = sim.report();
  const find = <T extends { name: string }>(list: readonly T[], n: string, what: string): T => {
    const x = list.find((e) => e.name === n);
    if (x === undefined) throw new Error(`${name}: no ${what} ${n}`);
    return x;
  };
  return {
    sim,
    report,
    peer: (n) => find(report.peers, n, 'peer'),
    traffic: (n) => find(report.traffic, n, 'traffic'),
    nat: (n) => find(report.nats, n, 'NAT'),
  };
}

/** Every expectation of the run held; on failure the message lists the ones that did not. */
export function expectAllPass(run: LabRun): void {
  const failed = run.sim.results.filter((r) => !r.ok).map((r) => `${r.text}: ${r.explanation}`);
  expect(failed).toEqual([]);
  expect(run.sim.results.length).toBeGreaterThan(0);
}

/** An answer's text with every run of white space (line breaks, indentation) made one space. */
export const answerText = (lab: LabDoc, id: string): string => lab.answer(id).replace(/\s+/g, ' ');

/** The key has exactly the answers the test checked. */
export function expectKeyChecked(lab: LabDoc, checked: readonly string[]): void {
  expect(uncheckedAnswers(lab, checked)).toEqual({ unchecked: [], missing: [] });
  expect(lab.questions.size).toBe(lab.answers.size);
}

/** The lab's text gives this command (a step), so the test runs what students type. */
export function expectStep(lab: LabDoc, command: string): void {
  expect(lab.text, `${lab.file} gives the step "${command}"`).toContain(command);
}

/** A fresh directory under the OS temp directory; remove it with `removeDir`. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), `natt-sim-${prefix}-`));
export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true });

/** `natt-sim simulate fixtures/labs/<name>.yaml --out DIR --explain [...]`, run in-process from the repository root. */
export async function simulateCli(name: string, out: string, extra: string[] = []): Promise<{ code: number; out: string; err: string }> {
  return runCli(['simulate', join(ROOT, labScenario(name)), '--out', out, '--explain', ...extra]);
}

export interface LabSetup {
  readonly lab: LabDoc;
  readonly run: LabRun;
  /** The test's temporary directory; remove it with `removeDir`. */
  readonly dir: string;
  /** `<dir>/out`, where the CLI run wrote its captures. */
  readonly out: string;
  /** What `natt-sim simulate ... --explain` printed. */
  readonly explain: string;
}

/**
 * The common start of a lab test: reads docs/labs/<name>.md, runs the lab's scenario
 * in-process, and runs its simulate step through the CLI into `<dir>/out` (a fresh
 * `labNN` temporary directory), which must exit 0 with nothing on stderr.
 */
export async function setUpLab(name: string): Promise<LabSetup> {
  const lab = readLab(`${name}.md`);
  const run = runLab(name);
  const dir = tempDir(`lab${name.slice(0, 2)}`);
  const out = join(dir, 'out');
  const r = await simulateCli(name, out);
  expect([r.code, r.err]).toEqual([0, '']);
  return { lab, run, dir, out, explain: r.out };
}

/** Every expectation of the run held, the lab's text gives their number, and it gives the simulate step into /tmp/labNN. */
export function expectLabPasses(lab: LabDoc, run: LabRun, name: string): void {
  expectAllPass(run);
  expect(lab.text).toContain(`All ${run.sim.results.length} expectations pass`);
  expectStep(lab, `npx natt-sim simulate fixtures/labs/${name}.yaml --out /tmp/lab${name.slice(0, 2)} --explain`);
}

/** One frame of `natt-sim decode --json` (the fields the lab tests read). */
export interface DecodedFrame {
  readonly frame: number;
  readonly timeUs: number;
  readonly length: number;
  readonly kind: string;
  readonly src: string;
  readonly dst: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly encap?: string;
  readonly ike?: {
    readonly spiI: string;
    readonly spiR: string;
    readonly exchange: string;
    readonly initiator: boolean;
    readonly response: boolean;
    readonly messageId: number;
    readonly length: number;
    /** Present where the IKEv2 payloads were decoded. */
    readonly natd?: readonly { readonly kind: 'source' | 'destination'; readonly hash: string }[];
  };
  readonly esp?: { readonly spi: string; readonly sequence: number; readonly length: number };
}

/** The frames of `natt-sim decode --json` output, one JSON record a line. */
export function parseDecoded(out: string): DecodedFrame[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DecodedFrame);
}

/** `natt-sim decode FILE --json`, parsed. */
export async function decodeJson(file: string): Promise<DecodedFrame[]> {
  const r = await runCli(['decode', file, '--json']);
  expect([r.code, r.err]).toEqual([0, '']);
  return parseDecoded(r.out);
}

/** Seconds as the labs write them: "4.798 s" from 4_798_000 µs, "60 s" from 60_000_000 (millisecond precision, trailing zeros dropped). */
export function seconds(us: number): string {
  const s = (us / 1e6).toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return `${s} s`;
}

/** A time as the simulator's narrative writes it: "48 ms" below one second, else as `seconds`. */
export const timeText = (us: number): string => (us < 1_000_000 ? `${Math.round(us / 1000)} ms` : seconds(us));
