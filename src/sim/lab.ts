/**
 * Builds a runnable Network from a validated Scenario: nodes, NATs (with `address: auto`
 * interfaces given subscriber addresses by the CGN they are linked to), links and their
 * faults, firewalls, taps, the timed events, and the built-in traffic (pings and UDP
 * flows sent from the hosts). Peers are not started here: an engine adapter attaches to
 * `lab.network` through the HostApplication seam, and may claim a host's traffic with
 * `setTunnel` (its security policy: matching packets go into the tunnel instead of
 * out in the clear).
 */
import { formatIp, type IpAddress, type Prefix } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { Firewall } from './firewall.ts';
import type { HostReceived, HostTransmit } from './host-app.ts';
import { Network, type InterfaceSpec, type NatRouter, type RouteSpec } from './network.ts';
import { ICMP_TYPE, icmpMessage, icmpv6Message, ICMPV6_TYPE } from './packet.ts';
import type { Scenario, ScenarioInterface, ScenarioNat, ScenarioRoute, ScenarioTraffic } from './scenario.ts';
import type { Tap } from './tap.ts';

export const DEFAULT_UDP_SOURCE_PORT = 40000;

export interface TrafficStats {
  sent: number;
  /** ping: echo replies back at the sender; udp: datagrams arrived at the destination port. */
  delivered: number;
}

/** What a traffic flow's packets look like, to recognise them on the wire. */
export interface FlowKey {
  readonly name: string;
  readonly kind: 'ping' | 'udp';
  readonly from: string;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** ping: the ICMP echo identifier. */
  readonly echoId: number;
  /** udp: source and destination ports. */
  readonly srcPort: number;
  readonly dstPort: number;
}

/** Something on a host that may carry its test traffic (an IPsec peer's security policy). */
export interface TrafficTunnel {
  /**
   * Offers one packet the host is about to send (the whole IP packet). True when the
   * tunnel took it: it was protected and queued, or dropped for want of an SA.
   */
  offer(packet: Uint8Array, now: Micros, flow: string, note: string): boolean;
}

export interface Lab {
  readonly scenario: Scenario;
  readonly network: Network;
  /** Taps by name, in scenario order. */
  readonly taps: ReadonlyMap<string, Tap>;
  readonly traffic: ReadonlyMap<string, TrafficStats>;
  /** Interface addresses handed out for `address: auto`, by "node.interface". */
  readonly allocated: ReadonlyMap<string, Prefix>;
  /** How each traffic flow's packets are recognised, by traffic name. */
  readonly flows: ReadonlyMap<string, FlowKey>;
  /** Lets `tunnel` claim the traffic `host` sends from now on. */
  setTunnel(host: string, tunnel: TrafficTunnel): void;
  /** Runs to the scenario's duration (or `until`). */
  run(until?: Micros): void;
}

export function buildLab(s: Scenario): Lab {
  const net = new Network({ seed: s.seed });
  const t = s.topology;
  const allocated = new Map<string, Prefix>();
  const autoFrom = new Map<string, { nat: string; iface: string }>();
  for (const l of t.links) {
    for (const [mine, other] of [
      [l.a, l.b],
      [l.b, l.a],
    ] as const) {
      const nat = t.nats.find((n) => n.name === other.node);
      if (nat?.kind === 'cgnat' && nat.inside.includes(other.iface)) autoFrom.set(`${mine.node}.${mine.iface}`, { nat: nat.name, iface: other.iface });
    }
  }
  const ifaces = (node: string, list: readonly ScenarioInterface[]): InterfaceSpec[] =>
    list.map((i) => {
      if (!i.auto) return { name: i.name, addresses: i.addresses };
      const src = autoFrom.get(`${node}.${i.name}`);
      if (!src) throw new RangeError(`${node}.${i.name}: address auto needs a link to a cgnat inside interface`);
      const cgn = net.natRouter(src.nat);
      const len = cgn.iface(src.iface).address(4) ? cgn.iface(src.iface).addresses.find((p) => p.addr.family === 4)!.length : cgn.nat.subscriberSpace.length;
      const p: Prefix = { addr: cgn.nat.allocateSubscriberAddress(), length: len };
      allocated.set(`${node}.${i.name}`, p);
      return { name: i.name, addresses: [p] };
    });
  const routes = (list: readonly ScenarioRoute[]): RouteSpec[] =>
    list.flatMap((r) => r.to.map((to) => ({ to, ...(r.via ? { via: r.via } : {}), ...(r.iface ? { iface: r.iface } : {}) })));
  const addNat = (n: ScenarioNat): NatRouter =>
    net.addNat(n.name, {
      interfaces: ifaces(n.name, n.interfaces),
      routes: routes(n.routes),
      icmpErrors: n.icmpErrors,
      inside: n.inside,
      outside: n.outside,
      nat: {
        kind: n.kind,
        ...(n.external.length > 0 ? { external: n.external } : {}),
        mapping: n.mapping,
        filtering: n.filtering,
        portAssignment: n.ports.assignment,
        portRange: n.ports.range,
        portParity: n.ports.parity,
        timeouts: n.timeouts,
        refresh: n.refresh,
        hairpinning: n.hairpinning,
        ...(n.maxMappings === undefined ? {} : { maxMappings: n.maxMappings }),
        ...(n.maxMappingsPerHost === undefined ? {} : { maxMappingsPerHost: n.maxMappingsPerHost }),
        espAlg: n.espAlg,
        static: n.static,
        forwards: n.forwards.map((f) => ({ port: f.port, inside: f.to, ...(f.external ? { externalAddress: f.external } : {}) })),
        destinations: n.destinations,
        ...(n.subscribers ? { subscriberPrefix: n.subscribers } : {}),
      },
    });
  // CGNs first: the others may take their WAN address from one.
  for (const n of t.nats) if (n.kind === 'cgnat') addNat(n);
  for (const h of t.hosts) {
    net.addHost(h.name, { interfaces: ifaces(h.name, h.interfaces), routes: routes(h.routes), icmpErrors: h.icmpErrors, dontFragment: h.dontFragment });
  }
  for (const r of t.routers) net.addRouter(r.name, { interfaces: ifaces(r.name, r.interfaces), routes: routes(r.routes), icmpErrors: r.icmpErrors });
  for (const n of t.nats) if (n.kind !== 'cgnat') addNat(n);
  for (const l of t.links) {
    net.connect(l.name, `${l.a.node}.${l.a.iface}`, `${l.b.node}.${l.b.iface}`, {
      latency: l.latency,
      mtu: l.mtu,
      up: l.up,
      jitter: l.faults.jitter,
      loss: l.faults.loss,
      duplicate: l.faults.duplicate,
      reorder: l.faults.reorder,
      ...(l.faults.reorderDelay === undefined ? {} : { reorderDelay: l.faults.reorderDelay }),
    });
  }
  for (const f of t.firewalls) net.setFirewall(f.on, new Firewall(f.name, f.rules, f.defaultAction), f.inside);
  const taps = new Map<string, Tap>();
  for (const tp of s.taps) taps.set(tp.name, 'link' in tp ? net.tapLink(tp.link, tp.name) : net.tapNat(tp.nat, tp.side, tp.name));

  const sched = net.scheduler;
  for (const e of s.events) {
    sched.at(e.at, () => {
      switch (e.action) {
        case 'nat-reboot':
          net.natRouter(e.nat).reboot(net.now, e.downFor);
          break;
        case 'nat-flush':
          net.natRouter(e.nat).flush(net.now);
          break;
        case 'nat-timeout':
          net.natRouter(e.nat).setMappingTimeout(e.protocol, e.timeout, net.now);
          break;
        case 'link-down':
        case 'link-up':
          net.setLinkUp(e.link, e.action === 'link-up');
          break;
      }
    });
  }

  const traffic = new Map<string, TrafficStats>();
  const flows = new Map<string, FlowKey>();
  const tunnels = new Map<string, TrafficTunnel>();
  s.traffic.forEach((tr, index) => scheduleTraffic(net, tr, index, traffic, flows, tunnels));

  return {
    scenario: s,
    network: net,
    taps,
    traffic,
    allocated,
    flows,
    setTunnel(host, tunnel) {
      net.host(host);
      tunnels.set(host, tunnel);
    },
    run(until = s.duration) {
      net.run(until);
    },
  };
}

function scheduleTraffic(
  net: Network,
  tr: ScenarioTraffic,
  index: number,
  stats: Map<string, TrafficStats>,
  flows: Map<string, FlowKey>,
  tunnels: ReadonlyMap<string, TrafficTunnel>,
): void {
  const st: TrafficStats = { sent: 0, delivered: 0 };
  stats.set(tr.name, st);
  const from = net.host(tr.from);
  const dst: IpAddress | undefined =
    'addr' in tr.to
      ? tr.to.addr
      : (() => {
          const h = net.host(tr.to.host);
          return from.primaryAddress(4) && h.primaryAddress(4) ? h.primaryAddress(4) : h.primaryAddress(6);
        })();
  if (!dst) throw new RangeError(`traffic ${tr.name}: no destination address`);
  const src = from.primaryAddress(dst.family);
  if (!src) throw new RangeError(`traffic ${tr.name}: ${tr.from} has no IPv${dst.family} address`);
  const id = (index + 1) & 0xffff;
  const payload = new Uint8Array(tr.size).map((_, i) => i & 0xff);
  const srcPort = tr.srcPort ?? DEFAULT_UDP_SOURCE_PORT + index;
  const toHost = 'host' in tr.to ? tr.to.host : undefined;
  flows.set(tr.name, { name: tr.name, kind: tr.kind, from: tr.from, src, dst, echoId: id, srcPort, dstPort: tr.port ?? 0 });
  net.observe((e) => {
    if (e.type !== 'deliver') return;
    if (tr.kind === 'ping' && e.host === tr.from && isEchoReply(e.packet, id)) st.delivered++;
    if (tr.kind === 'udp' && (toHost === undefined || e.host === toHost) && e.packet.kind === 'udp' && e.packet.dst.port === tr.port && e.packet.src.port !== tr.port) {
      // In the clear a NAT may change the source port, so the note that travels with the
      // packet names the flow; out of a tunnel the inner packet is untouched.
      const ours = e.tunnel !== undefined ? e.packet.src.port === srcPort : e.packet.comment === `traffic ${tr.name}`;
      if (e.packet.payload.length === tr.size && ours) st.delivered++;
    }
  }, { types: ['deliver'] });
  for (let k = 0; k < tr.count; k++) {
    net.scheduler.at(tr.at + k * tr.interval, (now) => {
      st.sent++;
      let tx: HostTransmit;
      if (tr.kind === 'ping') {
        const rest = ((id << 16) | ((k + 1) & 0xffff)) >>> 0;
        const message = dst.family === 4 ? icmpMessage(ICMP_TYPE.ECHO_REQUEST, 0, rest, payload) : icmpv6Message(src, dst, ICMPV6_TYPE.ECHO_REQUEST, 0, rest, payload);
        tx = { kind: 'icmp', src, dst, message, comment: `traffic ${tr.name}: echo request ${k + 1}/${tr.count} to ${formatIp(dst)}` };
      } else {
        tx = { kind: 'udp', src: { addr: src, port: srcPort }, dst: { addr: dst, port: tr.port! }, payload, comment: `traffic ${tr.name}` };
      }
      const bytes = from.buildPacket(tx, now);
      if (!bytes) return;
      const tunnel = tunnels.get(tr.from);
      if (tunnel?.offer(bytes, now, tr.name, tx.comment!)) {
        from.service(now);
        return;
      }
      from.sendPacket(bytes, now, tx.comment);
    });
  }
}

function isEchoReply(p: HostReceived, id: number): boolean {
  if (p.kind !== 'icmp' || p.message.length < 8) return false;
  const v4 = p.src.family === 4 && p.message[0] === ICMP_TYPE.ECHO_REPLY;
  const v6 = p.src.family === 6 && p.message[0] === ICMPV6_TYPE.ECHO_REPLY;
  return (v4 || v6) && ((p.message[4]! << 8) | p.message[5]!) === id;
}
