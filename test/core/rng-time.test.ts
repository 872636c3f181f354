import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';
import { parseDuration, formatSeconds, seconds } from '../../src/core/time.ts';

describe('SeededRng', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = new SeededRng(42).bytes(32);
    const b = new SeededRng(42).bytes(32);
    const c = new SeededRng(43).bytes(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('forks are stable and independent of how much the parent consumed', () => {
    const p1 = new SeededRng(7);
    const p2 = new SeededRng(7);
    p2.bytes(100);
    expect(Array.from(p1.fork('nat').bytes(8))).toEqual(Array.from(p2.fork('nat').bytes(8)));
    expect(Array.from(p1.fork('nat').bytes(8))).not.toEqual(Array.from(p1.fork('peer').bytes(8)));
  });

  it('int() stays in range and covers it roughly uniformly', () => {
    const r = new SeededRng(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) {
      const v = r.int(1, 6);
      expect(v >= 1 && v <= 6).toBe(true);
      counts[v - 1]!++;
    }
    for (const n of counts) expect(Math.abs(n - 10_000)).toBeLessThan(500);
  });

  it('float() is in [0, 1)', () => {
    const r = new SeededRng(3);
    for (let i = 0; i < 10_000; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });
});

describe('time', () => {
  it('parses durations into integer microseconds', () => {
    expect(parseDuration('20s')).toBe(20_000_000);
    expect(parseDuration('250ms')).toBe(250_000);
    expect(parseDuration('1.5m')).toBe(90_000_000);
    expect(parseDuration('2h')).toBe(7_200_000_000);
    expect(parseDuration('90')).toBe(90_000_000);
    expect(parseDuration(5)).toBe(5_000_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('-3s')).toBeUndefined();
  });
  it('formats seconds with microsecond precision', () => {
    expect(formatSeconds(seconds(1.5))).toBe('1.500000');
    expect(formatSeconds(1_234_567_890_123)).toBe('1234567.890123');
  });
});
