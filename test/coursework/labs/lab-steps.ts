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
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { loadScenario } from '../../../src/sim/scenario.ts';
import { Simulation } from '../../../src/sim/simulation.ts';
import { readCapture } from '../../../src/pcap/reader.ts';
import { isPacket } from '../../../src/pcap/format.ts';
import type { LabDoc } from '../lab-key.ts';
import { ROOT, runCli } from '../support.ts';

export const LAB_FIXTURES = resolve(ROOT, 'fixtures/labs');

/** Loads, prepares and runs fixtures/labs/<name>.yaml (or the given YAML text). */
export function runLabScenario(name: string, text?: string): Simulation {
  const file = `${name}.yaml`;
  const yaml = text ?? readFileSync(join(LAB_FIXTURES, file), 'utf8');
  const p = Simulation.prepare(loadScenario(yaml, file));
  if (!p.ok) throw new Error(p.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`).join('\n'));
  p.sim.run();
  return p.sim;
}

export function labFixtureText(name: string): string {
  return readFileSync(join(LAB_FIXTURES, `${name}.yaml`), 'utf8');
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
    readonly length: number;
    readonly natd?: readonly { readonly kind: 'source' | 'destination'; readonly hash: string }[];
  };
  readonly esp?: { readonly spi: string; readonly sequence: number; readonly length: number };
}

/** `natt-sim decode --json FILE`, parsed. */
export async function decodeFrames(file: string): Promise<DecodedFrame[]> {
  const r = await runCli(['decode', '--json', file]);
  if (r.code !== 0) throw new Error(`decode ${file}: exit ${r.code}: ${r.err}`);
  return r.out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as DecodedFrame);
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

/** An answer's text with its line breaks and indentation folded to single spaces, so values may wrap in the Markdown. */
export function answerText(lab: LabDoc, id: string): string {
  return lab.answer(id).replace(/\s+/g, ' ');
}
