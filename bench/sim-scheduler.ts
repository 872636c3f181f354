/**
 * Scheduler throughput: self-rearming timers (one shared callback, the period as the
 * event argument, no closures) over 24 virtual hours.
 * Run: npx tsx bench/sim-scheduler.ts [target-events=10000000] [timers=1000]
 */
import { Scheduler } from '../src/sim/scheduler.ts';

const target = Number(process.argv[2] ?? 10_000_000);
const timers = Number(process.argv[3] ?? 1000);
const DAY = 86_400_000_000;
const s = new Scheduler();
// Periods spread over 0.5..1.5 of the mean that yields about `target` events in a day.
const mean = Math.floor((DAY * timers) / target);
const tick = (now: number, period: number): void => {
  s.at(now + period, tick, period);
};
for (let i = 0; i < timers; i++) s.at(i, tick, Math.max(1, Math.floor(mean * (0.5 + (i % 101) / 100))));
const t0 = performance.now();
s.run(DAY);
const ms = performance.now() - t0;
console.log(
  `${s.eventsRun.toLocaleString('en-US')} events from ${timers} timers over 24 virtual hours in ${ms.toFixed(0)} ms: ` +
    `${Math.round(s.eventsRun / (ms / 1000)).toLocaleString('en-US')} events/s`,
);
