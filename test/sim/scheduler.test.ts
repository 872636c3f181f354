import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../src/sim/scheduler.ts';

describe('Scheduler', () => {
  it('runs events in time order and sets the clock to each event time', () => {
    const s = new Scheduler();
    const log: string[] = [];
    s.at(30, (now) => log.push(`c@${now}`));
    s.at(10, (now) => log.push(`a@${now}`));
    s.at(20, (now) => log.push(`b@${now}`));
    expect(s.pending).toBe(3);
    expect(s.nextTime()).toBe(10);
    const r = s.run();
    expect(r).toEqual({ events: 3, truncated: false });
    expect(log).toEqual(['a@10', 'b@20', 'c@30']);
    expect(s.now).toBe(30);
    expect(s.eventsRun).toBe(3);
  });

  it('breaks ties by insertion order (FIFO), also for events scheduled while running', () => {
    const s = new Scheduler();
    const log: number[] = [];
    for (let i = 0; i < 50; i++) s.at(100, (_now, n: number) => log.push(n), i);
    s.at(100, () => {
      // scheduled at the current instant while running: runs after everything already queued for 100
      s.at(100, () => log.push(999));
    });
    s.run();
    expect(log).toEqual([...Array.from({ length: 50 }, (_, i) => i), 999]);
  });

  it('passes the argument instead of needing a closure', () => {
    const s = new Scheduler();
    const seen: [number, { id: number }][] = [];
    const fn = (now: number, arg: { id: number }) => seen.push([now, arg]);
    s.at(5, fn, { id: 1 });
    s.after(7, fn, { id: 2 });
    s.run();
    expect(seen).toEqual([
      [5, { id: 1 }],
      [7, { id: 2 }],
    ]);
  });

  it('after() is relative to the current time', () => {
    const s = new Scheduler(1_000);
    const log: number[] = [];
    s.after(500, (now) => {
      log.push(now);
      s.after(250, (t) => log.push(t));
    });
    s.run();
    expect(log).toEqual([1_500, 1_750]);
  });

  it('cancels by handle; a stale or repeated cancel returns false', () => {
    const s = new Scheduler();
    const log: string[] = [];
    const a = s.at(10, () => log.push('a'));
    const b = s.at(10, () => log.push('b'));
    const c = s.at(20, () => log.push('c'));
    expect(s.isPending(b)).toBe(true);
    expect(s.cancel(b)).toBe(true);
    expect(s.cancel(b)).toBe(false);
    expect(s.isPending(b)).toBe(false);
    // the freed slot is reused by a new event; the old handle must not reach it
    const d = s.at(15, () => log.push('d'));
    expect(s.cancel(b)).toBe(false);
    expect(s.isPending(d)).toBe(true);
    s.run();
    expect(log).toEqual(['a', 'd', 'c']);
    expect(s.cancel(a)).toBe(false);
    expect(s.cancel(c)).toBe(false);
    expect(s.cancel(-1)).toBe(false);
    expect(s.cancel(1.5)).toBe(false);
  });

  it('cancelling from the middle of a large heap keeps the order', () => {
    const s = new Scheduler(0, 16);
    const handles: number[] = [];
    const out: number[] = [];
    for (let i = 0; i < 1000; i++) handles.push(s.at((i * 7919) % 1000, (now) => out.push(now)));
    for (let i = 0; i < 1000; i += 3) s.cancel(handles[i]!);
    s.run();
    const expected = Array.from({ length: 1000 }, (_, i) => i)
      .filter((i) => i % 3 !== 0)
      .map((i) => (i * 7919) % 1000)
      .sort((x, y) => x - y);
    expect(out).toEqual(expected);
  });

  it('run(until) stops at the bound, includes events at it, and leaves the clock there', () => {
    const s = new Scheduler();
    const log: number[] = [];
    for (const t of [5, 10, 15, 20]) s.at(t, (now) => log.push(now));
    expect(s.run(15)).toEqual({ events: 3, truncated: false });
    expect(log).toEqual([5, 10, 15]);
    expect(s.now).toBe(15);
    expect(s.run(17)).toEqual({ events: 0, truncated: false });
    expect(s.now).toBe(17);
    expect(() => s.at(16, () => undefined)).toThrow(RangeError);
    expect(() => s.run(16)).toThrow(RangeError);
    s.run(100);
    expect(log).toEqual([5, 10, 15, 20]);
    expect(s.now).toBe(100);
  });

  it('run(until, maxEvents) reports truncation and keeps the clock at the last event', () => {
    const s = new Scheduler();
    for (const t of [1, 2, 3, 4]) s.at(t, () => undefined);
    expect(s.run(10, 2)).toEqual({ events: 2, truncated: true });
    expect(s.now).toBe(2);
    expect(s.run(10, 2)).toEqual({ events: 2, truncated: false });
    expect(s.now).toBe(10);
  });

  it('step() runs exactly one event', () => {
    const s = new Scheduler();
    const log: number[] = [];
    s.at(3, () => log.push(3));
    s.at(1, () => log.push(1));
    expect(s.step()).toBe(true);
    expect(log).toEqual([1]);
    expect(s.now).toBe(1);
    expect(s.step()).toBe(true);
    expect(s.step()).toBe(false);
    expect(log).toEqual([1, 3]);
  });

  it('rejects non-integer and past times', () => {
    const s = new Scheduler(10);
    expect(() => s.at(9, () => undefined)).toThrow(/already at 10/);
    expect(() => s.at(10.5, () => undefined)).toThrow(/integer/);
    expect(() => s.after(-1, () => undefined)).toThrow(RangeError);
    expect(() => s.advanceTo(5)).toThrow(RangeError);
    s.at(20, () => undefined);
    expect(() => s.advanceTo(25)).toThrow(/due at 20/);
    s.advanceTo(20);
    expect(s.now).toBe(20);
  });

  it('runs a million self-rearming timers quickly', () => {
    const s = new Scheduler();
    const timers = 1000;
    let fired = 0;
    let scheduled = timers;
    const tick = (now: number, period: number): void => {
      fired++;
      if (scheduled < 1_000_000) {
        scheduled++;
        s.at(now + period, tick, period);
      }
    };
    for (let i = 0; i < timers; i++) s.at(i, tick, 20_000_000 + i * 1_000);
    const t0 = performance.now();
    s.run();
    const ms = performance.now() - t0;
    expect(fired).toBe(1_000_000);
    expect(s.eventsRun).toBe(1_000_000);
    expect(s.pending).toBe(0);
    expect(ms).toBeLessThan(3_000);
  });
});
