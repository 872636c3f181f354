import { describe, expect, it } from 'vitest';
import { Network, type LinkFaults, type NetworkEvent } from '../../src/sim/network.ts';
import { RecordingApp, udp } from './lab-kit.ts';

/** a (10.0.0.1) ── link "ab" ── b (10.0.0.2); optionally a spare link created first. */
function pair(seed: number, faults: LinkFaults, spareLinkFirst = false) {
  const net = new Network({ seed });
  net.addHost('a', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.1/24'] }, { name: 'eth1', addresses: ['10.9.0.1/24'] }] });
  net.addHost('b', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.2/24'] }] });
  if (spareLinkFirst) {
    net.addHost('c', { interfaces: [{ name: 'eth0', addresses: ['10.9.0.2/24'] }] });
    net.connect('spare', 'a.eth1', 'c.eth0', { latency: 3, loss: 0.5, jitter: 100 });
  }
  const link = net.connect('ab', 'a.eth0', 'b.eth0', faults);
  const app = new RecordingApp();
  net.attach('b', app);
  return { net, link, app };
}

/** Sends `n` numbered datagrams, one per ms, and returns "seq@time" in arrival order. */
function deliveryLog(seed: number, faults: LinkFaults, n = 200, spareLinkFirst = false): { log: string[]; net: Network; link: ReturnType<typeof pair>['link'] } {
  const { net, link, app } = pair(seed, faults, spareLinkFirst);
  for (let i = 0; i < n; i++) {
    net.scheduler.at(i * 1000, (now) => net.host('a').send(udp('10.0.0.1:5000', '10.0.0.2:6000', Uint8Array.of(i >> 8, i & 0xff)), now));
  }
  net.run();
  const log = app.received.map((r) => {
    const p = r.packet;
    if (p.kind !== 'udp') throw new Error('expected udp');
    return `${(p.payload[0]! << 8) | p.payload[1]!}@${r.at}`;
  });
  return { log, net, link };
}

describe('links', () => {
  it('delivers after exactly the latency, in order, with the bytes sent', () => {
    const { net, app } = pair(1, { latency: 2_500 });
    const events: NetworkEvent[] = [];
    net.observe((e) => events.push(e));
    net.send('a', udp('10.0.0.1:5000', '10.0.0.2:6000', Uint8Array.of(1, 2, 3)));
    net.scheduler.at(10, (now) => net.host('a').send(udp('10.0.0.1:5000', '10.0.0.2:6000', Uint8Array.of(4)), now));
    net.run();
    expect(app.received.map((r) => r.at)).toEqual([2_500, 2_510]);
    const first = app.received[0]!.packet;
    expect(first.kind).toBe('udp');
    if (first.kind !== 'udp') return;
    expect([...first.payload]).toEqual([1, 2, 3]);
    expect(first.src.port).toBe(5000);
    expect(first.checksum).toBe('valid');
    // 20-byte IPv4 header + 8-byte UDP header + 3 bytes
    expect(first.ip.length).toBe(31);
    expect(events.filter((e) => e.type === 'send').map((e) => e.at)).toEqual([0, 10]);
  });

  it('jitter stays within bounds and keeps FIFO order; the same seed gives the same log', () => {
    const faults = { latency: 10_000, jitter: 5_000 };
    const a = deliveryLog(11, faults).log;
    const b = deliveryLog(11, faults).log;
    const c = deliveryLog(12, faults).log;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toHaveLength(200);
    const seqs = a.map((s) => Number(s.split('@')[0]));
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i));
    a.forEach((s, i) => {
      const t = Number(s.split('@')[1]);
      expect(t).toBeGreaterThanOrEqual(i * 1000 + 10_000);
      expect(t).toBeLessThanOrEqual(i * 1000 + 15_000);
    });
    const times = a.map((s) => Number(s.split('@')[1]));
    expect(new Set(times.map((t, i) => t - i * 1000)).size).toBeGreaterThan(20);
  });

  it('loss drops a seeded share of packets, reproducibly', () => {
    const faults = { latency: 1_000, loss: 0.3 };
    const r1 = deliveryLog(5, faults, 1000);
    const r2 = deliveryLog(5, faults, 1000);
    const r3 = deliveryLog(6, faults, 1000);
    expect(r1.log).toEqual(r2.log);
    expect(r1.log).not.toEqual(r3.log);
    const c = r1.link.counters[0];
    expect(c.sent).toBe(1000);
    expect(c.lost + c.delivered).toBe(1000);
    expect(c.delivered).toBe(r1.log.length);
    expect(c.lost).toBeGreaterThan(240);
    expect(c.lost).toBeLessThan(360);
  });

  it('duplication delivers a second copy right after the original', () => {
    const r = deliveryLog(9, { latency: 1_000, duplicate: 0.2 }, 500);
    const c = r.link.counters[0];
    expect(c.duplicated).toBeGreaterThan(60);
    expect(r.log).toHaveLength(500 + c.duplicated);
    const seqs = r.log.map((s) => Number(s.split('@')[0]));
    let dups = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i] === seqs[i - 1]) dups++;
    expect(dups).toBe(c.duplicated);
    expect(r.log).toEqual(deliveryLog(9, { latency: 1_000, duplicate: 0.2 }, 500).log);
  });

  it('reordering holds packets back so later ones overtake them', () => {
    const r = deliveryLog(3, { latency: 1_000, reorder: 0.1, reorderDelay: 2_500 }, 500);
    const c = r.link.counters[0];
    expect(c.reordered).toBeGreaterThan(25);
    const seqs = r.log.map((s) => Number(s.split('@')[0]));
    expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    let inversions = 0;
    for (let i = 1; i < seqs.length; i++) if (seqs[i]! < seqs[i - 1]!) inversions++;
    expect(inversions).toBeGreaterThan(0);
    // a held-back packet arrives exactly reorderDelay after its FIFO slot
    const held = r.log.find((s) => {
      const [q, t] = s.split('@').map(Number);
      return t! - q! * 1000 === 3_500;
    });
    expect(held).toBeDefined();
    expect(r.log).toEqual(deliveryLog(3, { latency: 1_000, reorder: 0.1, reorderDelay: 2_500 }, 500).log);
  });

  it('a seeded run is pinned to the microsecond (draw order: loss, duplicate, reorder, jitter)', () => {
    const faults = { latency: 1_000, jitter: 500, loss: 0.2, duplicate: 0.1, reorder: 0.1, reorderDelay: 1_500 };
    const r = deliveryLog(5, faults, 16);
    expect(r.log).toEqual([
      '2@3289', '1@3633', '3@4020', '5@6256', '4@6928', '7@8080', '8@9448', '10@11143',
      '11@12271', '12@13318', '13@14330', '14@15259', '15@16061',
    ]);
    expect(r.link.counters[0]).toMatchObject({ sent: 16, delivered: 13, lost: 3, reordered: 2, duplicated: 0 });
  });

  it("adding another link does not change this link's draws", () => {
    const faults = { latency: 1_000, jitter: 3_000, loss: 0.2, duplicate: 0.05, reorder: 0.05 };
    expect(deliveryLog(21, faults, 300, true).log).toEqual(deliveryLog(21, faults, 300, false).log);
  });

  it('changing one fault does not move the other draws', () => {
    // The same packets are lost whether or not jitter is on.
    const lost = (jitter: number) => {
      const r = deliveryLog(4, { latency: 1_000, loss: 0.25, jitter }, 300);
      return r.log.map((s) => Number(s.split('@')[0]));
    };
    expect(lost(0)).toEqual(lost(2_000).sort((a, b) => a - b));
  });

  it('a link going down loses packets in flight and drops new ones until it is up again', () => {
    const { net, link, app } = pair(1, { latency: 10_000 });
    const drops: string[] = [];
    net.observe((e) => {
      if (e.type === 'drop') drops.push(`${e.at} ${e.where} ${e.reason}`);
      if (e.type === 'link-state') drops.push(`${e.at} ${e.link} ${e.up ? 'up' : 'down'}`);
    });
    const send = (t: number) => net.scheduler.at(t, (now) => net.host('a').send(udp('10.0.0.1:1', '10.0.0.2:2', 1), now));
    send(0);
    net.scheduler.at(5_000, () => net.setLinkUp('ab', false));
    send(6_000);
    net.scheduler.at(7_000, () => net.setLinkUp('ab', true));
    send(8_000);
    net.run();
    expect(drops).toEqual(['5000 ab down', '6000 ab link-down', '7000 ab up', '10000 ab link-down']);
    expect(app.received.map((r) => r.at)).toEqual([18_000]);
    expect(link.counters[0]).toMatchObject({ sent: 3, delivered: 1, droppedDown: 2 });
  });
});
