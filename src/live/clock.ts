/**
 * Time for live runs. The engine gets integer microseconds from a monotonic clock
 * (process.hrtime), never the wall clock, so a clock step cannot fire or starve a
 * timer; captures get wall-clock timestamps anchored once at start and advanced by
 * the same monotonic source.
 */
import type { Micros } from '../core/index.ts';

export interface LiveClock {
  /** Monotonic µs since the clock was created. */
  now(): Micros;
  /** Wall-clock µs since the Unix epoch for a monotonic instant (pcap timestamps). */
  wallAt(at: Micros): Micros;
}

export function monotonicClock(): LiveClock {
  const t0 = process.hrtime.bigint();
  const wall0 = Date.now() * 1000;
  return {
    now: () => Number((process.hrtime.bigint() - t0) / 1000n),
    wallAt: (at) => wall0 + at,
  };
}
