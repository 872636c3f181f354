/**
 * One fuzzing job in a worker thread (started by fuzz/run.ts). Runs its targets in
 * round-robin slices of about a quarter second, so a time budget is shared fairly,
 * and before every input copies (target, iteration, input) into shared memory: if an
 * input never returns, the main thread's watchdog still knows which one it was.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TargetRun, saveFinding } from './harness.ts';
import { targetByName } from './targets/index.ts';
import { SHARED_CAPACITY, SHARED_HEADER, type WorkerInput, type WorkerMessage } from './protocol.ts';

function main(): void {
  const input = workerData as WorkerInput;
  const port = parentPort!;
  const header = new Int32Array(input.shared, 0, 4);
  const data = new Uint8Array(input.shared, SHARED_HEADER);
  const post = (m: WorkerMessage): void => port.postMessage(m);
  const runs = input.plan.map((p, index) => {
    const t = targetByName(p.target);
    if (!t) throw new Error(`unknown target ${p.target}`);
    const run = new TargetRun(
      t,
      {
        seed: input.seed,
        onInput(iteration, bytes) {
          Atomics.store(header, 1, index);
          Atomics.store(header, 2, iteration);
          const n = Math.min(bytes.length, SHARED_CAPACITY);
          data.set(bytes.subarray(0, n));
          Atomics.store(header, 3, bytes.length);
          Atomics.add(header, 0, 1);
        },
        onFinding(f) {
          saveFinding(f, input.outDir);
          post({ type: 'finding', finding: f });
        },
      },
      p.start,
    );
    return { plan: p, run, end: p.start + p.count, perSlice: 16, done: p.count === 0 };
  });
  const perfDeadline = Number.isFinite(input.deadline) ? performance.now() + (input.deadline - Date.now()) : Infinity;
  for (;;) {
    const active = runs.filter((r) => !r.done);
    if (active.length === 0) break;
    if (performance.now() >= perfDeadline) {
      for (const r of active) r.done = true;
    }
    for (const r of active) {
      if (r.done) continue;
      const t0 = performance.now();
      const left = r.end - r.run.nextIteration;
      r.run.runSlice(Math.min(left, r.perSlice), perfDeadline);
      const ms = performance.now() - t0;
      // Aim at slices of about 250 ms.
      r.perSlice = Math.max(1, Math.min(100_000, Math.round(r.perSlice * (ms > 1 ? 250 / ms : 4))));
      post({ type: 'progress', target: r.plan.target, next: r.run.nextIteration, stats: r.run.stats });
      if (r.run.nextIteration >= r.end || performance.now() >= perfDeadline) r.done = true;
    }
  }
  for (const r of runs) {
    const stats = r.run.finish();
    post({ type: 'target-done', target: r.plan.target, next: r.run.nextIteration, stats, signatures: [...r.run.signatures] });
  }
  post({ type: 'end' });
}

main();
