/**
 * `natt-sim simulate [scenario.yaml] [--out DIR] [--seed N] [--explain] [--diagram FILE]`:
 * runs a lab scenario (or the built-in default), writes one pcapng per tap, Wireshark
 * key tables, report.json and summary.txt into the output directory, and prints a short
 * summary. --explain adds the numbered narrative and --diagram writes a ladder diagram
 * (.svg or .mmd), both built from the taps by the same code as `analyze --explain` and
 * `analyze --diagram`, with what only the simulator knows added (sim/run-explain.ts).
 * Exit 0 when every expectation holds, 1 when one fails, 2 for a bad scenario.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { DEFAULT_SCENARIO_FILE, DEFAULT_SCENARIO_YAML } from '../sim/default-scenario.ts';
import { formatSpan } from '../sim/packet.ts';
import { formatIssue, parseScenario, type Scenario, type ScenarioIssue } from '../sim/scenario.ts';
import { explainRun, RunRecorder } from '../sim/run-explain.ts';
import { Simulation } from '../sim/simulation.ts';
import { diagramFormat, writeDiagram } from './diagram/index.ts';
import { CliError } from './errors.ts';
import { readTextInput } from './capture-input.ts';
import { renderNarrative } from './explain.ts';
import { registerCommand, type Io } from './main.ts';

export interface SimulateOptions {
  /** Scenario file; undefined runs the built-in default. */
  readonly scenario?: string | undefined;
  readonly out?: string | undefined;
  readonly seed?: number | undefined;
  readonly explain?: boolean | undefined;
  /** Ladder diagram file: .svg (SVG) or .mmd (Mermaid). */
  readonly diagram?: string | undefined;
  /** Where a default output directory is made (default: the working directory). */
  readonly cwd?: string | undefined;
}

export interface SimulateRun {
  readonly code: number;
  readonly outDir: string;
  readonly wallMs: number;
  readonly sim: Simulation;
}

function issueLine(issues: readonly ScenarioIssue[]): string {
  const first = formatIssue(issues[0]!);
  return issues.length > 1 ? `${first} (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : first;
}

async function loadText(path: string | undefined): Promise<{ text: string; file: string }> {
  if (path === undefined) return { text: DEFAULT_SCENARIO_YAML, file: `(built-in) ${DEFAULT_SCENARIO_FILE}` };
  return { text: readTextInput(path, 'a scenario file'), file: path };
}

/** A directory name that does not exist yet: base, base-2, base-3, ... */
function freshDir(base: string): string {
  if (!existsSync(base)) return base;
  for (let i = 2; ; i++) if (!existsSync(`${base}-${i}`)) return `${base}-${i}`;
}

function seedOf(v: number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new CliError(`--seed must be an integer 0..4294967295, got ${v}`);
  return v;
}

function shortSummary(sim: Simulation, outDir: string, wallMs: number): string {
  const s = sim.scenario;
  const lines: string[] = [];
  const vt = sim.lab.network.now;
  lines.push(`${s.name} (seed ${s.seed}): ${formatSpan(vt)} of virtual time in ${(wallMs / 1000).toFixed(2)} s wall, ${sim.eventsRun} events`);
  for (const p of sim.peers.values()) {
    const sa = p.currentSa();
    const conds = sa ? [sa.natHere && 'NAT_HERE', sa.natThere && 'NAT_THERE', sa.natFake && 'NAT_FAKE'].filter(Boolean).join(' ') || 'no NAT' : 'no IKE SA';
    const child = [...p.children.values()].at(-1);
    const est = sa?.establishedAt !== undefined ? `established at ${formatSpan(sa.establishedAt)}` : 'not established';
    lines.push(
      `  ${p.name}: ${est}, ${conds}${sa?.floated ? ', floated to 4500' : ''}${child ? `, ${child.encap ? 'ESP-in-UDP' : 'plain ESP'}` : ''}, ${p.keepalives.length} keepalives`,
    );
  }
  for (const t of s.traffic) {
    const st = sim.lab.traffic.get(t.name);
    lines.push(`  traffic ${t.name}: ${st?.delivered ?? 0}/${st?.sent ?? 0} delivered`);
  }
  const failed = sim.results.filter((r) => !r.ok);
  lines.push(`expectations: ${sim.results.length - failed.length} passed, ${failed.length} failed`);
  for (const r of failed) lines.push(`FAIL ${s.file}${r.line !== undefined ? `:${r.line}` : ''}: ${r.text}: ${r.explanation}`);
  lines.push(`output: ${outDir}`);
  return `${lines.join('\n')}\n`;
}

export async function runSimulate(o: SimulateOptions, io: Io, clock: () => number = () => performance.now()): Promise<SimulateRun> {
  const seed = seedOf(o.seed);
  if (o.diagram !== undefined) diagramFormat(o.diagram);
  const { text, file } = await loadText(o.scenario);
  const parsed = parseScenario(text, file);
  if (!parsed.ok) throw new CliError(issueLine(parsed.issues));
  const scenario: Scenario = parsed.scenario;
  let prepared;
  try {
    prepared = Simulation.prepare(scenario, seed === undefined ? {} : { seed });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`${file}: ${e.message}`);
    throw e;
  }
  if (!prepared.ok) throw new CliError(issueLine(prepared.issues));
  const sim = prepared.sim;
  const recorder = o.explain || o.diagram !== undefined ? new RunRecorder(sim) : undefined;
  const t0 = clock();
  sim.run();
  const wallMs = clock() - t0;
  const cwd = o.cwd ?? process.cwd();
  const outDir = o.out !== undefined ? resolve(cwd, o.out) : freshDir(join(cwd, `natt-sim-out-${sim.scenario.name.replace(/[^A-Za-z0-9_-]+/g, '_')}-${sim.scenario.seed}`));
  for (const f of sim.outputs()) {
    const path = join(outDir, f.path);
    const code = (e: NodeJS.ErrnoException) => e.code ?? e.message;
    await mkdir(dirname(path), { recursive: true }).catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`${e.path ?? dirname(path)}: cannot create the output directory: ${code(e)}`);
    });
    await writeFile(path, f.bytes).catch((e: NodeJS.ErrnoException) => {
      throw new CliError(`${path}: cannot write: ${code(e)}`);
    });
  }
  io.out(shortSummary(sim, outDir, wallMs));
  if (recorder) {
    const views = explainRun(sim, recorder);
    if (o.diagram !== undefined) writeDiagram(resolve(cwd, o.diagram), views.ladder);
    if (o.explain) io.out(`\n${renderNarrative(views.narrative)}`);
  }
  return { code: sim.ok ? 0 : 1, outDir, wallMs, sim };
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'simulate [scenario]',
    'run a lab scenario (default: an initiator behind a PAT router) and write captures, keys and a report',
    (c) =>
      c
        .positional('scenario', { type: 'string', describe: 'scenario YAML file (see docs/scenario-reference.md); none runs the built-in default' })
        .option('out', { type: 'string', describe: 'output directory (default: a fresh natt-sim-out-<scenario>-<seed> here)' })
        .option('seed', { type: 'number', describe: 'seed for every random draw (overrides the scenario)' })
        .option('explain', { type: 'boolean', default: false, describe: 'print a numbered narrative of what happened and why' })
        .option('diagram', { type: 'string', describe: 'write a ladder diagram of the run: FILE.svg (SVG) or FILE.mmd (Mermaid)' }),
    async (a) => {
      const r = await runSimulate(
        { scenario: a.scenario as string | undefined, out: a.out as string | undefined, seed: a.seed as number | undefined, explain: a.explain as boolean, diagram: a.diagram as string | undefined },
        io,
      );
      (a as { __exitCode?: number }).__exitCode = r.code;
    },
  ),
);
