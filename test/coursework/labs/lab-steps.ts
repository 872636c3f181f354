/**
 * Shared by the tests of labs 01–05: runs a lab scenario in-process, runs the exact
 * `npx natt-sim ...` commands a lab's `## Steps` give (through the CLI, in-process),
 * and reads frames out of the captures a run wrote, so each answer in the key can be
 * computed from the run.
 *
 * A step command may name an output directory or file relative to the working
 * directory (`--out lab01`, `lab01/wan.pcapng`, `k31.yaml`); those are placed in the
 * test's temporary directory. `fixtures/...` paths are taken from the repository.
 * Values the student reads off an earlier step are written `<NAME>` in the command;
 * the test supplies them, and a placeholder left unfilled fails the test.
 */
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import { expect } from 'vitest';
import type { Simulation } from '../../../src/sim/simulation.ts';
import { readCapture } from '../../../src/pcap/reader.ts';
import { isPacket } from '../../../src/pcap/format.ts';
import { uncheckedAnswers, type LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';
import { parseDecoded, runLabSimulation, type DecodedFrame } from './lab-run.ts';

export { answerText, LAB_FIXTURES, labFixtureText, removeDir, tempDir, type DecodedFrame } from './lab-run.ts';

/** Loads, prepares and runs fixtures/labs/<name>.yaml (or the given YAML text). */
export function runLabScenario(name: string, text?: string): Simulation {
  return runLabSimulation(name, text === undefined ? {} : { text });
}

/** The `npx natt-sim ...` command lines of the lab's `## Steps` section, in order, without `npx natt-sim`. */
export function stepCommands(lab: LabDoc): string[] {
  const lines = lab.text.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Steps');
  if (start < 0) throw new Error(`${lab.file}: no "## Steps" section`);
  const out: string[] = [];
  let fenced = false;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^## /.test(l)) break;
    if (/^\s*```/.test(l)) {
      fenced = !fenced;
      continue;
    }
    const m = fenced ? /^\s*(?:\$\s+)?npx natt-sim\s+(.*)$/.exec(l) : null;
    if (m) out.push(m[1]!.trim());
  }
  return out;
}

export interface StepRun {
  readonly command: string;
  readonly argv: string[];
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** The argv of a step command: placeholders filled, working-directory paths moved into `dir`. */
export function stepArgv(command: string, dir: string, values: Readonly<Record<string, string>> = {}): string[] {
  const filled = command.replace(/<([A-Za-z0-9_-]+)>/g, (whole, k: string) => values[k] ?? whole);
  const left = /<[A-Za-z0-9_-]+>/.exec(filled);
  if (left) throw new Error(`step "${command}": no value for ${left[0]}`);
  const argv = filled.split(/\s+/).filter((t) => t.length > 0);
  return argv.map((t, i) => {
    if (t.startsWith('-')) return t;
    if (t.startsWith('fixtures/')) return join(ROOT, t);
    const prev = argv[i - 1];
    const isPath = prev === '--out' || prev === '--diagram' || (!isAbsolute(t) && /\.(ya?ml|pcapng|pcap|svg|mmd)$/.test(t));
    return isPath && !isAbsolute(t) ? join(dir, t) : t;
  });
}

/** Runs one step command through the CLI, in-process. */
export async function runStep(command: string, dir: string, values: Readonly<Record<string, string>> = {}): Promise<StepRun> {
  const argv = stepArgv(command, dir, values);
  const r = await runCli(argv);
  return { command, argv, ...r };
}

/** Runs step commands one after another (see `runStep`). */
export async function runSteps(commands: readonly string[], dir: string, values: Readonly<Record<string, string>> = {}): Promise<StepRun[]> {
  const out: StepRun[] = [];
  for (const c of commands) out.push(await runStep(c, dir, values));
  return out;
}

/**
 * Runs the lab's step commands: the first `first` of them, then `fill` (which reads
 * what those steps wrote and returns the values of the `<NAME>` placeholders), then
 * the rest with those values.
 */
export async function runStepsFilling(
  commands: readonly string[],
  dir: string,
  first: number,
  fill: () => Promise<Readonly<Record<string, string>>>,
): Promise<StepRun[]> {
  const steps = await runSteps(commands.slice(0, first), dir);
  const values = await fill();
  steps.push(...(await runSteps(commands.slice(first), dir, values)));
  return steps;
}

/** The scenario run made exactly `count` checks of its expectations, and every one held. */
export function expectResults(sim: Simulation, count: number): void {
  expect(sim.results.length).toBe(count);
  expect(sim.results.filter((r) => !r.ok)).toEqual([]);
}

/** Every step command exited 0 with nothing on stderr. */
export function expectStepsOk(steps: readonly StepRun[]): void {
  for (const s of steps) expect([s.command, s.code, s.err]).toEqual([s.command, 0, '']);
}

/** The key has exactly the answers the test checked, and a question for each (Q1 for A1, ...). */
export function expectKeyComplete(lab: LabDoc, checked: readonly string[]): void {
  expect(uncheckedAnswers(lab, checked)).toEqual({ unchecked: [], missing: [] });
  expect([...lab.questions.keys()]).toEqual([...lab.answers.keys()].map((k) => k.replace('A', 'Q')));
}

/** `natt-sim decode --json FILE`, parsed. */
export async function decodeFrames(file: string): Promise<DecodedFrame[]> {
  const r = await runCli(['decode', '--json', file]);
  if (r.code !== 0) throw new Error(`decode ${file}: exit ${r.code}: ${r.err}`);
  return parseDecoded(r.out);
}

/** The hash of a frame's NAT_DETECTION_SOURCE_IP or _DESTINATION_IP notify. */
export function natdOf(f: DecodedFrame, kind: 'source' | 'destination'): string {
  const h = f.ike?.natd?.find((n) => n.kind === kind)?.hash;
  if (h === undefined) throw new Error(`frame ${f.frame}: no NAT-D ${kind}`);
  return h;
}

/** "a.b.c.d:port" of a frame's source / destination. */
export const srcOf = (f: DecodedFrame): string => `${f.src}:${f.srcPort}`;
export const dstOf = (f: DecodedFrame): string => `${f.dst}:${f.dstPort}`;

/** Seconds since the capture's first frame, as `natt-sim decode` prints them (6 decimals). */
export function relTime(frames: readonly DecodedFrame[], f: DecodedFrame): string {
  return ((f.timeUs - frames[0]!.timeUs) / 1e6).toFixed(6);
}

/** The raw packets (LINKTYPE_RAW IPv4) of a pcapng, by frame number. */
export async function rawPackets(bytes: Uint8Array): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  for await (const e of readCapture([bytes])) if (isPacket(e)) out.set(e.index, e.data);
  return out;
}

/** The UDP header fields and payload of an IPv4 packet. */
export function udpOf(ip: Uint8Array): { srcPort: number; dstPort: number; length: number; payload: Uint8Array } {
  if (ip[0]! >> 4 !== 4 || ip[9] !== 17) throw new Error('not IPv4/UDP');
  const ihl = (ip[0]! & 0x0f) * 4;
  const u = ip.subarray(ihl);
  const length = (u[4]! << 8) | u[5]!;
  return { srcPort: (u[0]! << 8) | u[1]!, dstPort: (u[2]! << 8) | u[3]!, length, payload: u.subarray(8, length) };
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Virtual time in µs as seconds with up to 6 decimals, trailing zeros dropped ("35.013001", "45.012", "30"). */
export function seconds(us: number): string {
  return (us / 1e6).toFixed(6).replace(/\.?0+$/, '');
}

/** The IKEv2 NAT-D hash input, SPIi | SPIr | IPv4 | port, in hex (RFC 7296 §2.23), built here independently of src/. */
export function natdInput(spiI: string, spiR: string, endpoint: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+):(\d+)$/.exec(endpoint);
  if (!m) throw new Error(`not an IPv4 endpoint: ${endpoint}`);
  const ip = m.slice(1, 5).map((x) => Number(x).toString(16).padStart(2, '0')).join('');
  return `${spiI}${spiR}${ip}${Number(m[5]).toString(16).padStart(4, '0')}`;
}

/** SHA-1 of the bytes a hex string stands for (what `printf HEX | xxd -r -p | sha1sum` prints). */
export function sha1OfHex(h: string): string {
  return createHash('sha1').update(Buffer.from(h, 'hex')).digest('hex');
}
