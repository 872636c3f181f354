/**
 * The lab at scale: `tunnels` inside hosts behind one CGNAT, each sending a one-byte
 * NAT-keepalive (0xFF, UDP 4500 → 4500, RFC 3948 §2.3) to one gateway every 20 s,
 * for `virtualSeconds` of virtual time.
 *
 *   npx tsx bench/sim.ts [tunnels=10000] [virtualSeconds=3600] [wallCapSeconds=∞] [peers]
 *
 * With `peers`, runSimPeers: the same topology as a lab scenario with an IKE peer on
 * every host (see there).
 *
 * What runs: src/sim's Scheduler, Network (hosts, links, the NAT router, IPv4 packets
 * as real bytes with checksums) and NatDevice (kind cgnat, endpoint-independent
 * mapping, UDP timeout 120 s, so each mapping is created once and then refreshed).
 * Each inside host runs a small HostApplication that asks to be woken every 20 s
 * (first wake spread evenly over the first 20 s) and sends the keepalive; the gateway
 * counts what arrives. Links have 1 ms latency and no faults. The IKE engines are not
 * in this run: the workload is the keepalive traffic of 10,000 established tunnels.
 *
 * The run goes in 10-virtual-second slices and stops early at the wall-clock cap;
 * then the virtual time covered and the projected wall time of the whole run are
 * reported with the events/s of the part that ran.
 * Prints one JSON line: scheduler events, wall time, events/s, keepalives sent and
 * delivered, NAT mappings, peak RSS of this process.
 */
import { endpoint, parseIp, type Endpoint, type Micros } from '../src/core/index.ts';
import type { HostApplication, HostReceived, HostTransmit } from '../src/sim/host-app.ts';
import { Network } from '../src/sim/network.ts';
import { loadScenario } from '../src/sim/scenario.ts';
import { Simulation } from '../src/sim/simulation.ts';

/** Called around the timed part (after building the lab): the profiler starts and stops there. */
export interface RunHooks {
  beforeRun?(): void;
  afterRun?(): void;
}

export interface SimResult {
  readonly tunnels: number;
  readonly virtualSeconds: number;
  /** Virtual time actually run (less than virtualSeconds when the wall-clock cap stopped it). */
  readonly coveredVirtualSeconds: number;
  readonly events: number;
  readonly wallMs: number;
  /** wallMs scaled to the whole virtualSeconds. */
  readonly projectedWallMs: number;
  readonly buildMs: number;
  readonly eventsPerS: number;
  /** CPU time of this process during the run (user + system): on a loaded machine, wall time overstates the cost. */
  readonly cpuMs: number;
  /** events / cpuMs. */
  readonly eventsPerCpuS: number;
  readonly keepalivesSent: number;
  readonly keepalivesDelivered: number;
  readonly natMappings: number;
  readonly peakRssMB: number;
}

const KEEPALIVE_US = 20_000_000;
const KEEPALIVE = Uint8Array.of(0xff);

/** Sends a keepalive from `src` to `dst` every 20 s from `firstAt`. */
class KeepaliveApp implements HostApplication {
  private next: Micros;
  private due = false;
  sent = 0;
  constructor(
    private readonly src: Endpoint,
    private readonly dst: Endpoint,
    firstAt: Micros,
  ) {
    this.next = firstAt;
  }
  handlePacket(): void {}
  handleTimeout(now: Micros): void {
    if (now >= this.next) {
      this.due = true;
      this.next += KEEPALIVE_US;
    }
  }
  pollTransmit(): HostTransmit | undefined {
    if (!this.due) return undefined;
    this.due = false;
    this.sent++;
    return { kind: 'udp', src: this.src, dst: this.dst, payload: KEEPALIVE };
  }
  pollTimeout(): Micros | undefined {
    return this.next;
  }
}

class Sink implements HostApplication {
  received = 0;
  handlePacket(p: HostReceived): void {
    if (p.kind === 'udp' && p.payload.length === 1 && p.payload[0] === 0xff) this.received++;
  }
  handleTimeout(): void {}
  pollTransmit(): HostTransmit | undefined {
    return undefined;
  }
  pollTimeout(): Micros | undefined {
    return undefined;
  }
}

export function runSim(tunnels = 10_000, virtualSeconds = 3600, wallCapMs = Infinity, hooks: RunHooks = {}): SimResult {
  const t0 = performance.now();
  const net = new Network({ seed: 0x51a });
  const inside = Array.from({ length: tunnels }, (_, i) => ({ name: `in${i}`, addresses: [`${insideGw(i)}/30`] }));
  net.addNat('cgn', {
    interfaces: [{ name: 'wan', addresses: ['192.0.2.1/24'] }, ...inside],
    inside: inside.map((i) => i.name),
    outside: 'wan',
    nat: { kind: 'cgnat', mapping: 'endpoint-independent', filtering: 'endpoint-independent', timeouts: { udp: 120_000_000 } },
  });
  net.addHost('gw', { interfaces: [{ name: 'eth0', addresses: ['192.0.2.10/24'] }], routes: [{ to: 'default4', via: '192.0.2.1' }] });
  net.connect('wan', 'cgn.wan', 'gw.eth0', { latency: 1_000 });
  const sink = new Sink();
  net.attach('gw', sink);
  const gw = endpoint('192.0.2.10', 4500);
  const apps: KeepaliveApp[] = [];
  for (let i = 0; i < tunnels; i++) {
    const addr = hostAddr(i);
    net.addHost(`h${i}`, { interfaces: [{ name: 'eth0', addresses: [`${addr}/30`] }], routes: [{ to: 'default4', via: insideGw(i) }] });
    net.connect(`l${i}`, `h${i}.eth0`, `cgn.in${i}`, { latency: 1_000 });
    const app = new KeepaliveApp(endpoint(parseIp(addr), 4500), gw, Math.floor((i * KEEPALIVE_US) / tunnels));
    apps.push(app);
    net.attach(`h${i}`, app);
  }
  hooks.beforeRun?.();
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const before = net.scheduler.eventsRun;
  // In 10-virtual-second slices, stopping early when the wall-clock cap is reached.
  const end = virtualSeconds * 1_000_000;
  let at = 0;
  while (at < end && performance.now() - t1 < wallCapMs) {
    at = Math.min(end, at + 10_000_000);
    net.run(at);
  }
  const t2 = performance.now();
  const cpu = process.cpuUsage(c1);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  hooks.afterRun?.();
  const events = net.scheduler.eventsRun - before;
  const wallMs = t2 - t1;
  return {
    tunnels,
    virtualSeconds,
    coveredVirtualSeconds: at / 1_000_000,
    events,
    wallMs,
    projectedWallMs: (wallMs * end) / at,
    buildMs: t1 - t0,
    eventsPerS: (events / wallMs) * 1000,
    cpuMs,
    eventsPerCpuS: (events / cpuMs) * 1000,
    keepalivesSent: apps.reduce((n, a) => n + a.sent, 0),
    keepalivesDelivered: sink.received,
    natMappings: net.natRouter('cgn').nat.mappings().length,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

export interface SimPeersResult extends SimResult {
  /** Initiators with an IKE SA and a CHILD_SA at the end of the run. */
  readonly established: number;
  readonly ikeSent: number;
}

/**
 * The same topology as a lab scenario with real IKE peers (src/sim/ipsec-peer.ts): each
 * inside host runs an initiator (PSK, default proposals, keepalive 20 s, starts spread
 * over the first 60 s at 6 ms apart so the responder's half-open count stays under its
 * COOKIE threshold), the gateway one responder for "%any". Keepalives come from the
 * engines, only when nothing else went out for 20 s.
 */
export function runSimPeers(tunnels = 10_000, virtualSeconds = 3600, wallCapMs = Infinity, hooks: RunHooks = {}): SimPeersResult {
  const t0 = performance.now();
  const startSpacingMs = Math.max(1, Math.floor(60_000 / tunnels));
  const lines = [
    'name: bench-cgnat-peers',
    'seed: 4500',
    `duration: ${virtualSeconds}s`,
    'topology:',
    '  hosts:',
    '    - { name: gw, interfaces: [{ name: eth0, address: 192.0.2.10/24 }], routes: [{ to: default, via: 192.0.2.1 }] }',
  ];
  for (let i = 0; i < tunnels; i++) lines.push(`    - { name: h${i}, interfaces: [{ name: eth0, address: ${hostAddr(i)}/30 }], routes: [{ to: default, via: ${insideGw(i)} }] }`);
  lines.push('  nats:', '    - name: cgn', '      kind: cgnat', '      mapping: endpoint-independent', '      filtering: endpoint-independent', '      timeouts: { udp: 120s }', '      outside: wan', '      inside: [' + Array.from({ length: tunnels }, (_, i) => `in${i}`).join(', ') + ']', '      interfaces:', '        - { name: wan, address: 192.0.2.1/24 }');
  for (let i = 0; i < tunnels; i++) lines.push(`        - { name: in${i}, address: ${insideGw(i)}/30 }`);
  lines.push('  links:', '    - { name: wan, a: cgn.wan, b: gw.eth0, latency: 1ms }');
  for (let i = 0; i < tunnels; i++) lines.push(`    - { name: l${i}, a: h${i}.eth0, b: cgn.in${i}, latency: 1ms }`);
  lines.push('peers:');
  for (let i = 0; i < tunnels; i++) {
    lines.push(`  - { name: p${i}, host: h${i}, role: initiator, remote: gw, psk: bench-psk, ids: { local: p${i}@bench, remote: gw.bench }, keepalive: 20s, start: ${i * startSpacingMs}ms }`);
  }
  lines.push('  - { name: gw, host: gw, role: responder, remote: p0, psk: bench-psk, ids: { local: gw.bench, remote: "%any" } }');
  const prepared = Simulation.prepare(loadScenario(lines.join('\n') + '\n', 'bench-cgnat-peers.yaml'));
  if (!prepared.ok) throw new Error(`scenario: ${prepared.issues.map((i) => i.message).slice(0, 3).join('; ')}`);
  const sim = prepared.sim;
  const net = sim.lab.network;
  hooks.beforeRun?.();
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const before = net.scheduler.eventsRun;
  const end = virtualSeconds * 1_000_000;
  let at = 0;
  while (at < end && performance.now() - t1 < wallCapMs) {
    at = Math.min(end, at + 10_000_000);
    net.run(at);
  }
  const t2 = performance.now();
  const cpu = process.cpuUsage(c1);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  hooks.afterRun?.();
  const events = net.scheduler.eventsRun - before;
  const wallMs = t2 - t1;
  const peers = [...sim.peers.values()];
  const gw = sim.peers.get('gw')!;
  return {
    tunnels,
    virtualSeconds,
    coveredVirtualSeconds: at / 1_000_000,
    events,
    wallMs,
    projectedWallMs: (wallMs * end) / at,
    buildMs: t1 - t0,
    eventsPerS: (events / wallMs) * 1000,
    cpuMs,
    eventsPerCpuS: (events / cpuMs) * 1000,
    keepalivesSent: Number.NaN,
    keepalivesDelivered: gw.stats.keepalivesReceived,
    natMappings: net.natRouter('cgn').nat.mappings().length,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    established: peers.filter((p) => p !== gw && p.isEstablished()).length,
    ikeSent: peers.reduce((n, p) => n + p.stats.ikeSent, 0),
  };
}

/** 100.64.0.0/10 carved into /30s: the CGNAT's side is .1, the host .2 of each. */
function insideGw(i: number): string {
  const base = (100 << 24) + (64 << 16) + i * 4 + 1;
  return [base >>> 24, (base >>> 16) & 0xff, (base >>> 8) & 0xff, base & 0xff].join('.');
}
function hostAddr(i: number): string {
  const base = (100 << 24) + (64 << 16) + i * 4 + 2;
  return [base >>> 24, (base >>> 16) & 0xff, (base >>> 8) & 0xff, base & 0xff].join('.');
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[5] === 'peers') {
  console.log(JSON.stringify(runSimPeers(Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 3600), Number(process.argv[4] ?? Infinity) * 1000)));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(runSim(Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 3600), Number(process.argv[4] ?? Infinity) * 1000)));
}
