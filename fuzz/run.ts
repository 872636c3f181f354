/**
 * natt-sim fuzzing.
 *
 *   npx tsx fuzz/run.ts --iterations N [--seed S] [--target NAME[,NAME...]] [--time-budget 60s]
 *                       [--jobs J] [--out DIR] [--hang-timeout 30s] [--json FILE]
 *   npx tsx fuzz/run.ts --target NAME --replay FILE
 *   npx tsx fuzz/run.ts --list
 *
 * --iterations is the total over the selected targets, shared by their weights (all
 * of it for a single target). Every input is a function of (seed, target, iteration),
 * so a finding reproduces from its file (--replay) or by rerunning the stream with
 * --target T --seed S --iterations I+1. Inputs that break a rule are written to
 * fuzz/crashes/<target>-<seed>-<iteration>.bin (or .batch: the inputs between two
 * periodic checks) and printed in hex.
 *
 * Targets run in worker threads (--jobs of them) under a watchdog: an input that does
 * not return within --hang-timeout is reported as a hang with its bytes, the worker is
 * replaced and the run goes on after it; a worker that runs out of heap is reported the
 * same way (oom). Exit status: 0 without findings, 1 with findings, 2 on a usage error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { formatFinding, replay, saveFinding, decodeCrashFile, type Finding, type TargetStats } from './harness.ts';
import { TARGETS, targetByName } from './targets/index.ts';
import { SHARED_CAPACITY, SHARED_HEADER, type PlanItem, type WorkerInput, type WorkerMessage } from './protocol.ts';
import { hex } from './util.ts';

interface Args {
  iterations: number;
  seed: number;
  targets: string[];
  budgetMs: number;
  jobs: number;
  outDir: string;
  hangMs: number;
  json?: string;
  replay?: string;
  list: boolean;
}

class UsageError extends Error {}

function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: "${text}" is not a duration (e.g. 60s, 10m, 500ms)`);
  const v = Number(m[1]);
  const unit = m[2] ?? 's';
  return v * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { iterations: 10_000, seed: 1, targets: [], budgetMs: Infinity, jobs: 1, outDir: new URL('./crashes/', import.meta.url).pathname, hangMs: 30_000, list: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    const int = (v: string): number => {
      if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: "${v}" is not a non-negative integer`);
      return Number(v);
    };
    switch (flag) {
      case '--iterations':
        a.iterations = int(value());
        break;
      case '--seed':
        a.seed = int(value()) >>> 0;
        break;
      case '--target':
        a.targets.push(...value().split(',').filter((s) => s !== ''));
        break;
      case '--time-budget':
        a.budgetMs = parseDurationMs(value(), flag);
        break;
      case '--jobs':
        a.jobs = Math.max(1, int(value()));
        break;
      case '--out':
        a.outDir = value();
        break;
      case '--hang-timeout':
        a.hangMs = parseDurationMs(value(), flag);
        break;
      case '--json':
        a.json = value();
        break;
      case '--replay':
        a.replay = value();
        break;
      case '--list':
        a.list = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  for (const t of a.targets) if (!targetByName(t)) throw new UsageError(`--target: no target "${t}" (see --list)`);
  if (a.replay && a.targets.length !== 1) throw new UsageError('--replay needs exactly one --target');
  return a;
}

/** Splits a total iteration count over targets by weight (exact total). */
export function splitIterations(names: readonly string[], total: number): Map<string, number> {
  const ts = names.map((n) => targetByName(n)!);
  const sum = ts.reduce((s, t) => s + t.weight, 0);
  const out = new Map<string, number>();
  let given = 0;
  ts.forEach((t) => {
    const n = Math.floor((total * t.weight) / sum);
    out.set(t.name, n);
    given += n;
  });
  for (let i = 0; given < total; i = (i + 1) % ts.length, given++) out.set(ts[i]!.name, out.get(ts[i]!.name)! + 1);
  return out;
}

/** Rough cost per input, to spread targets over jobs. */
const COST_MS: Record<string, number> = { 'ike-initiator': 12, 'ike-sealed': 15, analyze: 2.5, frames: 2, dissector: 1.5, 'pcap-reader': 1.3, esp: 1, 'esp-sealed': 0.8, 'ike-responder': 0.8 };

function partition(plan: PlanItem[], jobs: number): PlanItem[][] {
  const groups: { items: PlanItem[]; cost: number }[] = Array.from({ length: Math.min(jobs, Math.max(1, plan.length)) }, () => ({ items: [], cost: 0 }));
  const sorted = [...plan].sort((x, y) => y.count * (COST_MS[y.target] ?? 0.15) - x.count * (COST_MS[x.target] ?? 0.15));
  for (const p of sorted) {
    const g = groups.reduce((m, x) => (x.cost < m.cost ? x : m));
    g.items.push(p);
    g.cost += p.count * (COST_MS[p.target] ?? 0.15);
  }
  return groups.map((g) => g.items.sort((x, y) => TARGETS.findIndex((t) => t.name === x.target) - TARGETS.findIndex((t) => t.name === y.target)));
}

interface JobState {
  worker: Worker;
  shared: SharedArrayBuffer;
  plan: PlanItem[];
  /** Next iteration per target, as last reported. */
  next: Map<string, number>;
  /** Stats of this worker's runs, as last reported. */
  current: Map<string, TargetStats>;
  lastBeat: number;
  beatAt: number;
  ended: boolean;
}

function bootstrap(): string {
  // Workers do not inherit tsx's loader: register it, then load the worker module.
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL('./worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`;
}

async function campaign(a: Args): Promise<number> {
  const names = a.targets.length > 0 ? a.targets : TARGETS.map((t) => t.name);
  const counts = splitIterations(names, a.iterations);
  const plan: PlanItem[] = names.map((n) => ({ target: n, start: 0, count: counts.get(n)! }));
  const started = Date.now();
  const deadline = Number.isFinite(a.budgetMs) ? started + a.budgetMs : Infinity;
  const stats = new Map<string, TargetStats>();
  const signatures = new Map<string, number>();
  const findings: Finding[] = [];
  /** Work of workers replaced after a hang or a crash. */
  const carried = new Map<string, { iterations: number; ms: number; wallMs: number; findings: number }>();
  const merged = (target: string, cur: TargetStats): TargetStats => {
    const c = carried.get(target);
    return c ? { ...cur, iterations: c.iterations + cur.iterations, ms: c.ms + cur.ms, wallMs: c.wallMs + cur.wallMs, findings: c.findings + cur.findings } : cur;
  };
  let peakRss = process.memoryUsage().rss;
  let workerPeakMb = 0;

  console.log(`fuzz: seed ${a.seed}, ${a.iterations} iterations over ${names.length} target(s), ${a.jobs} job(s)${Number.isFinite(a.budgetMs) ? `, time budget ${a.budgetMs / 1000} s` : ''}`);
  for (const p of plan) console.log(`  ${p.target.padEnd(14)} ${p.count}`);

  const report = (f: Finding): void => {
    const seen = signatures.get(f.signature) ?? 0;
    signatures.set(f.signature, seen + 1);
    // A worker replaced after a hang starts its own count: print a group only a few times.
    if (seen >= 3) return;
    findings.push(f);
    console.log(formatFinding(f));
  };

  const startJob = (items: PlanItem[]): Promise<void> =>
    new Promise((resolve) => {
      const shared = new SharedArrayBuffer(SHARED_HEADER + SHARED_CAPACITY);
      const input: WorkerInput = { plan: items, seed: a.seed, deadline, outDir: a.outDir, shared };
      const worker = new Worker(bootstrap(), { eval: true, workerData: input, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
      const job: JobState = { worker, shared, plan: items, next: new Map(items.map((p) => [p.target, p.start])), current: new Map(), lastBeat: -1, beatAt: Date.now(), ended: false };
      const header = new Int32Array(shared, 0, 4);
      const restart = (kind: 'hang' | 'oom' | 'crash', why: string): void => {
        const index = Atomics.load(header, 1);
        const iteration = Atomics.load(header, 2);
        const len = Atomics.load(header, 3);
        const item = items[index]!;
        const bytes = new Uint8Array(shared, SHARED_HEADER, Math.min(len, SHARED_CAPACITY)).slice();
        const f: Finding = { target: item.target, seed: a.seed, iteration, kind, message: why, signature: `${item.target}:${kind}`, input: bytes };
        saveFinding(f, a.outDir);
        report(f);
        // What the abandoned worker did is kept: its last report, and the hung target up to the hang.
        for (const p of items) {
          const cur = job.current.get(p.target);
          const hung = p.target === item.target;
          if (!cur && !hung) continue;
          const c = carried.get(p.target) ?? { iterations: 0, ms: 0, wallMs: 0, findings: 0 };
          const its = hung ? Math.max(cur?.iterations ?? 0, iteration + 1 - p.start) : cur!.iterations;
          const now = { iterations: c.iterations + its, ms: c.ms + (cur?.ms ?? 0), wallMs: c.wallMs + (cur?.wallMs ?? 0), findings: c.findings + (cur?.findings ?? 0) + (hung ? 1 : 0) };
          carried.set(p.target, now);
          const shown = stats.get(p.target);
          if (shown) stats.set(p.target, { ...shown, ...now });
        }
        const rest = items
          .map((p) => {
            const from = p.target === item.target ? iteration + 1 : (job.next.get(p.target) ?? p.start);
            return { target: p.target, start: from, count: Math.max(0, p.start + p.count - from) };
          })
          .filter((p) => p.count > 0);
        job.ended = true;
        clearInterval(timer);
        void worker.terminate().then(() => (rest.length > 0 ? startJob(rest) : Promise.resolve()).then(resolve));
      };
      const timer = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const beat = Atomics.load(header, 0);
        if (beat !== job.lastBeat) {
          job.lastBeat = beat;
          job.beatAt = Date.now();
        } else if (!job.ended && Date.now() - job.beatAt > a.hangMs && beat > 0) {
          restart('hang', `one input did not return within ${a.hangMs / 1000} s (watchdog)`);
        }
      }, 500);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'finding') report(m.finding);
        else if (m.type === 'progress' || m.type === 'target-done') {
          job.next.set(m.target, m.next);
          job.current.set(m.target, m.stats);
          stats.set(m.target, merged(m.target, m.stats));
          workerPeakMb = Math.max(workerPeakMb, m.stats.peakMb);
          if (m.type === 'target-done') for (const [sig, n] of m.signatures) if (!signatures.has(sig)) signatures.set(sig, n);
        } else if (m.type === 'end') {
          job.ended = true;
          clearInterval(timer);
          void worker.terminate().then(() => resolve());
        }
      });
      worker.on('error', (e: Error & { code?: string }) => {
        if (job.ended) return;
        restart(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crash', `worker failed: ${e.code ?? ''} ${e.message}`);
      });
      worker.on('exit', (code) => {
        if (!job.ended) restart('crash', `worker exited with code ${code}`);
      });
    });

  const progress = setInterval(() => {
    const total = [...stats.values()].reduce((s, x) => s + x.iterations, 0);
    const secs = (Date.now() - started) / 1000;
    console.log(`[${secs.toFixed(0)} s] ${total} iterations (${(total / Math.max(secs, 0.001)).toFixed(0)}/s), ${findings.length} finding(s)`);
  }, 30_000);
  await Promise.all(partition(plan, a.jobs).map((items) => startJob(items)));
  clearInterval(progress);

  const wallS = (Date.now() - started) / 1000;
  const rows = names.map((n) => stats.get(n)).filter((s): s is TargetStats => s !== undefined);
  const total = rows.reduce((s, x) => s + x.iterations, 0);
  console.log('\ntarget          iterations    rate/s   max ms (iteration)   heap growth MB   findings');
  for (const s of rows) {
    const rate = s.wallMs > 0 ? (s.iterations / s.wallMs) * 1000 : 0;
    console.log(
      `${s.target.padEnd(14)} ${String(s.iterations).padStart(11)} ${rate.toFixed(0).padStart(9)}   ${s.maxMs.toFixed(1).padStart(7)} (${s.maxMsIteration})`.padEnd(58) +
        `${(s.peakMb - s.baselineMb).toFixed(1).padStart(8)}   ${String(s.findings).padStart(8)}`,
    );
  }
  console.log(`\n${total} iterations in ${wallS.toFixed(1)} s (${(total / wallS).toFixed(0)}/s wall), seed ${a.seed}, peak RSS ${(peakRss / 1048576).toFixed(0)} MB, peak worker heap+external ${workerPeakMb.toFixed(0)} MB`);
  const occurrences = [...signatures.values()].reduce((x, y) => x + y, 0);
  console.log(occurrences === 0 ? 'no findings' : `${occurrences} finding(s) in ${signatures.size} group(s); each group printed at most 3 times`);
  if (a.json) {
    writeFileSync(
      a.json,
      JSON.stringify(
        {
          seed: a.seed,
          requestedIterations: a.iterations,
          iterations: total,
          wallSeconds: wallS,
          peakRssMb: Math.round(peakRss / 1048576),
          peakWorkerHeapMb: Math.round(workerPeakMb),
          targets: rows.map((s) => ({ ...s, rate: s.wallMs > 0 ? (s.iterations / s.wallMs) * 1000 : 0 })),
          findings: findings.map((f) => ({ target: f.target, seed: f.seed, iteration: f.iteration, kind: f.kind, message: f.message, file: f.file, input: f.input ? hex(f.input, 4096) : undefined })),
          groups: [...signatures],
        },
        null,
        2,
      ),
    );
  }
  return occurrences === 0 ? 0 : 1;
}

function runReplay(a: Args): number {
  const t = targetByName(a.targets[0]!)!;
  const inputs = decodeCrashFile(new Uint8Array(readFileSync(a.replay!)));
  console.log(`replaying ${inputs.length} input(s) from ${a.replay} into ${t.name}`);
  const r = replay(t, inputs);
  if (r.ok) {
    console.log(`ok: no finding (${r.ms.toFixed(1)} ms)`);
    return 0;
  }
  console.log(`FINDING [${r.kind}] ${r.message}`);
  return 1;
}

async function main(argv: readonly string[]): Promise<number> {
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`fuzz: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (a.list) {
    for (const t of TARGETS) console.log(`${t.name.padEnd(14)} weight ${String(t.weight).padStart(2)}  ${t.description}`);
    return 0;
  }
  if (a.replay) return runReplay(a);
  return campaign(a);
}

process.exitCode = await main(process.argv.slice(2));
