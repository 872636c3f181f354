import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';
import { Network } from '../../src/sim/network.ts';
import { RecordingApp, udp } from './lab-kit.ts';

/**
 * A link with no random faults takes no draws per packet; the draws it skipped are
 * taken before the first packet that needs them, so the stream is the one of four
 * draws (loss, duplicate, reorder, jitter) per packet sent since the start.
 */
describe('link draws on a link without faults', () => {
  function run(seed: number, clean: number, faulty: number) {
    const net = new Network({ seed });
    net.addHost('a', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.1/24'] }] });
    net.addHost('b', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.2/24'] }] });
    const link = net.connect('ab', 'a.eth0', 'b.eth0', { latency: 1_000 });
    const app = new RecordingApp();
    net.attach('b', app);
    for (let i = 0; i < clean + faulty; i++) {
      net.scheduler.at(i * 1000, (now) => {
        if (i === clean) link.setFaults({ loss: 0.5, jitter: 700 });
        net.host('a').send(udp('10.0.0.1:5000', '10.0.0.2:6000', Uint8Array.of(i >> 8, i & 0xff)), now);
      });
    }
    net.run();
    const got = app.received.map((r) => {
      const p = r.packet;
      if (p.kind !== 'udp') throw new Error('expected udp');
      return `${(p.payload[0]! << 8) | p.payload[1]!}@${r.at}`;
    });
    return { got, link };
  }

  /** What the link's own stream gives when every packet takes its four draws. */
  function expected(seed: number, clean: number, faulty: number): string[] {
    const rng = new SeededRng(seed).fork('link:ab').fork('a>b');
    const out: string[] = [];
    let last = 0;
    for (let i = 0; i < clean + faulty; i++) {
      const loss = rng.float();
      rng.float();
      rng.float();
      const jitterDraw = rng.u32();
      const now = i * 1000;
      if (i < clean) {
        last = Math.max(now + 1_000, last);
        out.push(`${i}@${last}`);
        continue;
      }
      if (loss < 0.5) continue;
      last = Math.max(now + 1_000 + (jitterDraw % 701), last);
      out.push(`${i}@${last}`);
    }
    return out;
  }

  it('faults switched on mid-run see the same draws as if every packet had drawn', () => {
    const { got, link } = run(77, 40, 120);
    const want = expected(77, 40, 120);
    expect(got).toEqual(want);
    // Some of the 120 are lost and some delayed by jitter: the draws are really used.
    expect(link.counters[0].lost).toBe(160 - want.length);
    expect(link.counters[0].lost).toBeGreaterThan(20);
    expect(want.slice(40).some((s) => Number(s.split('@')[1]) % 1000 !== 0)).toBe(true);
  });

  it('a link with faults from the start draws for every packet', () => {
    expect(run(5, 0, 80).got).toEqual(expected(5, 0, 80));
  });
});
