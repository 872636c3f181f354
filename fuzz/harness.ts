/**
 * The fuzzing loop, synchronous and deterministic. For iteration i of target T under
 * seed S, the input is a function of (S, T, i) only: a corpus entry mutated by
 * fuzz/mutate.ts, or (sometimes) plain random bytes. Each input is run through the
 * target with:
 *  - exception check: anything escaping `exec` is a finding (targets let through
 *    nothing but what their contract allows, e.g. DecodeError from a decoder);
 *  - time check: performance.now() around the call, an input over SLOW_MS is a finding;
 *  - memory check: heap + external memory measured around every input; growth over
 *    MEMORY_LIMIT_MB within one input, or above the post-warm-up baseline (after a
 *    GC), is a finding.
 * Stateful targets (a long-lived responder) also run a periodic check (can a fresh
 * initiator still connect?) every `periodEvery` inputs and at the end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Rng } from '../src/core/rng.ts';
import type { Layout } from './locate.ts';
import { Mutator } from './mutate.ts';
import { InvariantFailure, describeError, errorSignature, hex, iterationRng } from './util.ts';

export const SLOW_MS = 1000;
export const MEMORY_LIMIT_MB = 200;
const MB = 1024 * 1024;

export interface FuzzTarget<S = unknown> {
  readonly name: string;
  readonly description: string;
  /** Share of a total iteration budget (relative to the other targets). */
  readonly weight: number;
  /** Inputs are cut to this length. */
  readonly maxLen: number;
  /** Share of inputs (0..1) that are random bytes rather than mutated seeds. */
  readonly randomShare: number;
  /** Longest random input. */
  readonly randomMaxLen?: number;
  /** See MutatorConfig.lengthBias. */
  readonly lengthBias?: number;
  /** The corpus (built once per process). */
  seeds(): readonly Uint8Array[];
  layout?(b: Uint8Array): Layout;
  /** Fresh state for a run. */
  setup(): S;
  /** Runs one input. Throws InvariantFailure for a broken invariant; anything else escaping is a crash. */
  exec(state: S, input: Uint8Array): void;
  /** A check of the state that should hold after any inputs (e.g. the responder still accepts a legitimate initiator). */
  periodic?(state: S): void;
  readonly periodEvery?: number;
}

export type FindingKind = 'crash' | 'invariant' | 'slow' | 'memory' | 'hang' | 'oom';

export interface Finding {
  readonly target: string;
  readonly seed: number;
  readonly iteration: number;
  readonly kind: FindingKind;
  readonly message: string;
  readonly signature: string;
  readonly input?: Uint8Array;
  /** Several inputs (a periodic check failed after them); written as a batch file. */
  readonly batch?: readonly Uint8Array[];
  readonly ops?: readonly string[];
  readonly ms?: number;
  /** Where the input was written. */
  file?: string;
}

export interface TargetStats {
  readonly target: string;
  iterations: number;
  /** Time inside the target's exec. */
  ms: number;
  /** Time of the whole loop (input generation included). */
  wallMs: number;
  findings: number;
  maxMs: number;
  maxMsIteration: number;
  baselineMb: number;
  peakMb: number;
  /** Largest heap + external growth seen within one input. */
  maxInputGrowthMb: number;
}

type GcFn = () => void;
let gcFn: GcFn | undefined | null = null;

/** V8's gc(), enabled at run time (fuzz/ only; not available in src/). */
export function gc(): void {
  if (gcFn === null) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as GcFn;
    } catch {
      gcFn = undefined;
    }
  }
  gcFn?.();
}

function memoryMb(): number {
  const m = process.memoryUsage();
  return (m.heapUsed + m.external) / MB;
}

/** Input of one iteration (deterministic in seed, target and iteration). */
export function inputFor<S>(t: FuzzTarget<S>, mutator: Mutator, seed: number, iteration: number): { input: Uint8Array; ops: string[] } {
  const rng: Rng = iterationRng(seed, t.name, iteration);
  const seeds = t.seeds();
  if (seeds.length === 0 || rng.float() < t.randomShare) {
    const n = rng.int(0, t.randomMaxLen ?? Math.min(t.maxLen, 2048));
    return { input: rng.bytes(n), ops: [`random ${n} bytes`] };
  }
  const k = rng.int(0, seeds.length - 1);
  const m = mutator.mutate(rng, seeds[k]!);
  return { input: m.bytes, ops: [`seed #${k}`, ...m.ops] };
}

export interface RunOptions {
  readonly seed: number;
  /** Called with every input before it runs (the watchdog keeps a copy). */
  readonly onInput?: (iteration: number, input: Uint8Array) => void;
  /** Called with every finding as it is found. */
  readonly onFinding?: (f: Finding) => void;
  /** Keep at most this many findings per signature (default 3); the rest are only counted. */
  readonly perSignature?: number;
}

/** One target under one seed, run in slices (so several targets can share a time budget). */
export class TargetRun<S = unknown> {
  readonly stats: TargetStats;
  readonly findings: Finding[] = [];
  readonly signatures = new Map<string, number>();
  private state: S;
  private readonly mutator: Mutator;
  private next: number;
  private readonly recent: Uint8Array[] = [];
  private baselineTaken = false;

  constructor(
    readonly target: FuzzTarget<S>,
    readonly opts: RunOptions,
    /** First iteration to run (a run resumed after a hang starts past it). */
    start = 0,
  ) {
    this.next = start;
    this.mutator = new Mutator({
      donors: target.seeds(),
      maxLen: target.maxLen,
      ...(target.lengthBias !== undefined ? { lengthBias: target.lengthBias } : {}),
      ...(target.layout ? { layout: (b: Uint8Array) => target.layout!(b) } : {}),
    });
    this.state = target.setup();
    gc();
    const base = memoryMb();
    this.stats = { target: target.name, iterations: 0, ms: 0, wallMs: 0, findings: 0, maxMs: 0, maxMsIteration: -1, baselineMb: base, peakMb: base, maxInputGrowthMb: 0 };
  }

  get nextIteration(): number {
    return this.next;
  }

  private record(f: Finding): void {
    this.stats.findings++;
    const seen = this.signatures.get(f.signature) ?? 0;
    this.signatures.set(f.signature, seen + 1);
    if (seen >= (this.opts.perSignature ?? 3)) return;
    this.findings.push(f);
    this.opts.onFinding?.(f);
  }

  private finding(kind: Finding['kind'], iteration: number, e: unknown, extra: Partial<Finding>): void {
    const message = kind === 'crash' || kind === 'invariant' ? describeError(e, true) : String(e);
    const cause = e instanceof InvariantFailure && e.cause instanceof Error ? e.cause : e;
    const signature = `${this.target.name}:${kind}:${kind === 'crash' || kind === 'invariant' ? errorSignature(cause) : ''}`;
    this.record({ target: this.target.name, seed: this.opts.seed, iteration, kind, message, signature, ...extra });
  }

  /** Runs up to n iterations, stopping early at `deadline` (performance.now() value). */
  runSlice(n: number, deadline = Infinity): number {
    const t = this.target;
    let done = 0;
    const sliceStart = performance.now();
    while (done < n && performance.now() < deadline) {
      const i = this.next++;
      const { input, ops } = inputFor(t, this.mutator, this.opts.seed, i);
      this.opts.onInput?.(i, input);
      const before = memoryMb();
      const t0 = performance.now();
      let error: unknown;
      let threw = false;
      try {
        t.exec(this.state, input);
      } catch (e) {
        threw = true;
        error = e;
      }
      const ms = performance.now() - t0;
      this.stats.ms += ms;
      this.stats.iterations++;
      done++;
      if (ms > this.stats.maxMs) {
        this.stats.maxMs = ms;
        this.stats.maxMsIteration = i;
      }
      if (threw) {
        this.finding(error instanceof InvariantFailure ? 'invariant' : 'crash', i, error, { input, ops, ms });
        // The state may be broken now: start from a fresh one.
        this.state = t.setup();
        this.recent.length = 0;
      } else if (t.periodic) {
        this.recent.push(input);
      }
      if (ms > SLOW_MS) this.finding('slow', i, `one input took ${ms.toFixed(0)} ms (limit ${SLOW_MS} ms)`, { input, ops, ms });
      {
        const after = memoryMb();
        if (after > this.stats.peakMb) this.stats.peakMb = after;
        const grew = after - before;
        if (grew > this.stats.maxInputGrowthMb) this.stats.maxInputGrowthMb = grew;
        if (grew > MEMORY_LIMIT_MB) this.finding('memory', i, `heap + external memory grew by ${grew.toFixed(0)} MB during one input`, { input, ops });
        if (!this.baselineTaken && this.stats.iterations >= 200) {
          // Warm-up done (JIT, lazily built corpora): this is the baseline growth is measured from.
          gc();
          this.stats.baselineMb = memoryMb();
          this.stats.peakMb = this.stats.baselineMb;
          this.baselineTaken = true;
        } else if (this.baselineTaken && after - this.stats.baselineMb > MEMORY_LIMIT_MB) {
          gc();
          const settled = memoryMb();
          if (settled - this.stats.baselineMb > MEMORY_LIMIT_MB) {
            this.finding('memory', i, `heap + external memory is ${(settled - this.stats.baselineMb).toFixed(0)} MB above the baseline after a GC`, { input, ops });
            this.stats.baselineMb = settled;
          }
        }
      }
      if (t.periodic && this.recent.length >= (t.periodEvery ?? 100)) this.check(i);
    }
    this.stats.wallMs += performance.now() - sliceStart;
    return done;
  }

  private check(iteration: number): void {
    const batch = this.recent.splice(0);
    const t0 = performance.now();
    try {
      this.target.periodic!(this.state);
    } catch (e) {
      this.finding(e instanceof InvariantFailure ? 'invariant' : 'crash', iteration, e, { batch, ms: performance.now() - t0 });
      this.state = this.target.setup();
    }
  }

  /** Final periodic check and memory figure. */
  finish(): TargetStats {
    if (this.target.periodic) this.check(this.next - 1);
    gc();
    const end = memoryMb();
    if (end > this.stats.peakMb) this.stats.peakMb = end;
    return this.stats;
  }
}

/** Runs `count` iterations of a target from iteration `start` in one go. */
export function runTarget<S>(t: FuzzTarget<S>, opts: RunOptions & { readonly iterations: number; readonly start?: number; readonly deadline?: number }): { stats: TargetStats; findings: Finding[]; signatures: Map<string, number> } {
  const run = new TargetRun(t, opts, opts.start ?? 0);
  run.runSlice(opts.iterations, opts.deadline ?? Infinity);
  const stats = run.finish();
  return { stats, findings: run.findings, signatures: run.signatures };
}

/** Replays one input (or a batch) into fresh state, then runs the periodic check. */
export function replay<S>(t: FuzzTarget<S>, inputs: readonly Uint8Array[]): { ok: true; ms: number } | { ok: false; kind: FindingKind; message: string; ms: number } {
  const state = t.setup();
  const t0 = performance.now();
  for (const input of inputs) {
    const s = performance.now();
    try {
      t.exec(state, input);
    } catch (e) {
      return { ok: false, kind: e instanceof InvariantFailure ? 'invariant' : 'crash', message: describeError(e, true), ms: performance.now() - t0 };
    }
    const ms = performance.now() - s;
    if (ms > SLOW_MS) return { ok: false, kind: 'slow', message: `one input took ${ms.toFixed(0)} ms`, ms: performance.now() - t0 };
  }
  if (t.periodic) {
    try {
      t.periodic(state);
    } catch (e) {
      return { ok: false, kind: e instanceof InvariantFailure ? 'invariant' : 'crash', message: describeError(e, true), ms: performance.now() - t0 };
    }
  }
  return { ok: true, ms: performance.now() - t0 };
}

// ---------------------------------------------------------------- crash files

const BATCH_MAGIC = Uint8Array.of(0x46, 0x5a, 0x42, 0x31); // "FZB1"

export function encodeBatch(inputs: readonly Uint8Array[]): Uint8Array {
  let n = 4;
  for (const b of inputs) n += 4 + b.length;
  const out = new Uint8Array(n);
  out.set(BATCH_MAGIC, 0);
  let o = 4;
  for (const b of inputs) {
    new DataView(out.buffer).setUint32(o, b.length);
    out.set(b, o + 4);
    o += 4 + b.length;
  }
  return out;
}

/** The inputs of a crash file: one input, or a batch written after a failed periodic check. */
export function decodeCrashFile(bytes: Uint8Array): Uint8Array[] {
  if (bytes.length < 4 || !BATCH_MAGIC.every((v, i) => bytes[i] === v)) return [bytes];
  const out: Uint8Array[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 4;
  while (o + 4 <= bytes.length) {
    const n = dv.getUint32(o);
    out.push(bytes.slice(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/** Writes the finding's input to dir/<target>-<seed>-<iteration>.bin (or .batch). */
export function saveFinding(f: Finding, dir: string): string | undefined {
  const bytes = f.input ?? (f.batch ? encodeBatch(f.batch) : undefined);
  if (!bytes) return undefined;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${f.target}-${f.seed}-${f.iteration}.${f.input ? 'bin' : 'batch'}`);
  writeFileSync(file, bytes);
  f.file = file;
  return file;
}

const HEX_PRINT_LIMIT = 4096;

/** The report printed for a finding. */
export function formatFinding(f: Finding): string {
  const lines = [
    `FINDING [${f.kind}] target=${f.target} seed=${f.seed} iteration=${f.iteration}${f.ms !== undefined ? ` (${f.ms.toFixed(1)} ms)` : ''}`,
    `  ${f.message.replace(/\n/g, '\n  ')}`,
  ];
  if (f.ops) lines.push(`  mutations: ${f.ops.join('; ')}`);
  if (f.input) {
    const more = f.input.length > HEX_PRINT_LIMIT ? ` … (${f.input.length} bytes in all; the file has them)` : '';
    lines.push(`  input (${f.input.length} bytes): ${hex(f.input, HEX_PRINT_LIMIT)}${more}`);
  } else if (f.batch) {
    lines.push(`  after a batch of ${f.batch.length} input(s) since the previous check`);
  }
  if (f.file) lines.push(`  written to ${f.file}; reproduce: npx tsx fuzz/run.ts --target ${f.target} --replay ${f.file}`);
  lines.push(`  or rerun the stream: npx tsx fuzz/run.ts --target ${f.target} --seed ${f.seed} --iterations ${f.iteration + 1}`);
  return lines.join('\n');
}
