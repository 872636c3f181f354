import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';
import { Scheduler } from '../../src/sim/scheduler.ts';

describe('scheduler order against a sorted reference', () => {
  it('many ties, events scheduled while running and cancels: (time, scheduling order) throughout', () => {
    const rng = new SeededRng(2024);
    const s = new Scheduler(0, 16);
    /** Every event scheduled: its time and scheduling number; cancelled ones are marked. */
    const scheduled: { time: number; n: number; cancelled: boolean }[] = [];
    const ran: number[] = [];
    const handles: number[] = [];
    const fire = (now: number, n: number): void => {
      ran.push(n);
      // Half of the events schedule one more, at the same instant or a little later.
      if (scheduled.length < 20_000 && rng.u32() % 2 === 0) add(now + rng.int(0, 3));
    };
    const add = (time: number): void => {
      const n = scheduled.length;
      scheduled.push({ time, n, cancelled: false });
      handles.push(s.at(time, fire, n));
    };
    for (let i = 0; i < 5000; i++) add(rng.int(0, 200));
    for (let i = 0; i < 5000; i += 7) {
      expect(s.cancel(handles[i]!)).toBe(true);
      scheduled[i]!.cancelled = true;
    }
    s.run();
    const want = scheduled
      .filter((e) => !e.cancelled)
      .sort((a, b) => a.time - b.time || a.n - b.n)
      .map((e) => e.n);
    expect(ran).toEqual(want);
    expect(ran.length).toBeGreaterThan(5000);
  });
});
