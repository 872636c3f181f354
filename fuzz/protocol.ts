/** Messages and shared memory between fuzz/run.ts and its worker threads (fuzz/worker.ts). */
import type { Finding, TargetStats } from './harness.ts';

export interface PlanItem {
  readonly target: string;
  /** First iteration to run. */
  readonly start: number;
  /** Iterations to run from there. */
  readonly count: number;
}

export interface WorkerInput {
  readonly plan: readonly PlanItem[];
  readonly seed: number;
  /** Date.now() value after which no new slice starts (Infinity: none). */
  readonly deadline: number;
  readonly outDir: string;
  readonly shared: SharedArrayBuffer;
}

export type WorkerMessage =
  | { readonly type: 'progress'; readonly target: string; readonly next: number; readonly stats: TargetStats }
  | { readonly type: 'finding'; readonly finding: Finding }
  | { readonly type: 'target-done'; readonly target: string; readonly next: number; readonly stats: TargetStats; readonly signatures: [string, number][] }
  | { readonly type: 'end' };

/** Shared memory: Int32 [heartbeat, plan index, iteration, input length], then the input bytes. */
export const SHARED_HEADER = 16;
export const SHARED_CAPACITY = 1 << 20;

