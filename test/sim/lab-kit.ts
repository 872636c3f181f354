/**
 * Small pieces shared by the lab tests: a recording host application, and a
 * client - NAT - server topology builder.
 */
import { parseEndpoint, parseIp, type Endpoint, type IpAddress } from '../../src/core/addr.ts';
import type { Micros } from '../../src/core/time.ts';
import type { HostApplication, HostReceived, HostTransmit } from '../../src/sim/host-app.ts';
import { Network, type LinkFaults, type NatSpec } from '../../src/sim/network.ts';

/** Sends what it is told to, records what arrives, and wakes at the instants it is given. */
export class RecordingApp implements HostApplication {
  readonly received: { at: Micros; packet: HostReceived }[] = [];
  readonly timeouts: Micros[] = [];
  private readonly queue: HostTransmit[] = [];
  private wakeups: Micros[] = [];
  /** Called on every timeout; may queue packets. */
  onTimeout: ((now: Micros, app: RecordingApp) => void) | undefined;
  /** Called on every packet; may queue packets. */
  onPacket: ((p: HostReceived, now: Micros, app: RecordingApp) => void) | undefined;

  queueSend(tx: HostTransmit): void {
    this.queue.push(tx);
  }
  wakeAt(t: Micros): void {
    this.wakeups.push(t);
    this.wakeups.sort((a, b) => a - b);
  }
  handlePacket(packet: HostReceived, now: Micros): void {
    this.received.push({ at: now, packet: { ...packet, ip: packet.ip.slice() } as HostReceived });
    this.onPacket?.(packet, now, this);
  }
  handleTimeout(now: Micros): void {
    this.timeouts.push(now);
    this.wakeups = this.wakeups.filter((t) => t > now);
    this.onTimeout?.(now, this);
  }
  pollTransmit(): HostTransmit | undefined {
    return this.queue.shift();
  }
  pollTimeout(): Micros | undefined {
    return this.wakeups[0];
  }
}

export function udp(src: Endpoint | string, dst: Endpoint | string, payload: Uint8Array | number = 8, comment?: string): HostTransmit {
  const p = typeof payload === 'number' ? new Uint8Array(payload).fill(0x61) : payload;
  const s = typeof src === 'string' ? ep(src) : src;
  const d = typeof dst === 'string' ? ep(dst) : dst;
  return { kind: 'udp', src: s, dst: d, payload: p, ...(comment ? { comment } : {}) };
}

export function ep(s: string): Endpoint {
  return parseEndpoint(s);
}

export const ip = (s: string): IpAddress => parseIp(s);

export interface NatLab {
  readonly net: Network;
  readonly apps: Record<string, RecordingApp>;
}

/**
 * clients c1..cN (10.0.0.2..) on lan ─ nat (10.0.0.1 | 203.0.113.1) ─ wan ─ isp router
 * (203.0.113.254 | 198.51.100.254) ─ servers s1 (198.51.100.1), s2 (198.51.100.2) on dc.
 */
export function natLab(
  nat: NatSpec['nat'],
  opts: { clients?: number; seed?: number; lan?: LinkFaults; wan?: LinkFaults; externals?: string[] } = {},
): NatLab {
  const net = new Network({ seed: opts.seed ?? 7 });
  const apps: Record<string, RecordingApp> = {};
  const n = opts.clients ?? 1;
  for (let i = 1; i <= n; i++) {
    net.addHost(`c${i}`, { interfaces: [{ name: 'eth0', addresses: [`10.0.0.${i + 1}/24`] }], routes: [{ to: 'default', via: '10.0.0.1' }] });
  }
  net.addNat('nat', {
    interfaces: [
      { name: 'lan', addresses: ['10.0.0.1/24'] },
      { name: 'wan', addresses: ['203.0.113.1/24', ...(opts.externals ?? []).map((a) => `${a}/32`)] },
    ],
    routes: [{ to: 'default', via: '203.0.113.254' }],
    inside: ['lan'],
    outside: 'wan',
    nat: opts.externals ? { ...nat, external: opts.externals.map(ip) } : nat,
  });
  net.addRouter('isp', {
    interfaces: [
      { name: 'cpe', addresses: ['203.0.113.254/24'] },
      { name: 'dc', addresses: ['198.51.100.254/24'] },
    ],
  });
  for (const s of [1, 2]) {
    net.addHost(`s${s}`, { interfaces: [{ name: 'eth0', addresses: [`198.51.100.${s}/24`] }], routes: [{ to: 'default', via: '198.51.100.254' }] });
  }
  for (let i = 1; i <= n; i++) net.connect(`lan${i}`, `c${i}.eth0`, 'nat.lan', { latency: 1000, ...opts.lan });
  net.connect('wan', 'nat.wan', 'isp.cpe', { latency: 5000, ...opts.wan });
  net.connect('dc1', 's1.eth0', 'isp.dc', { latency: 1000 });
  net.connect('dc2', 's2.eth0', 'isp.dc', { latency: 1000 });
  for (const h of [...Array.from({ length: n }, (_, i) => `c${i + 1}`), 's1', 's2']) {
    const app = new RecordingApp();
    apps[h] = app;
    net.attach(h, app);
  }
  return { net, apps };
}
