/**
 * Who plays whom in a replay: which scenario host stands in for each captured
 * address, and on which side of the scenario's NATs each host sits.
 *
 * Sides come from the topology, not from addresses: a host is *inside* when the
 * route from it to some other host enters a NAT through one of the NAT's inside
 * interfaces; every other host is *outside*. Routes are followed statically (the
 * hosts' and routers' own tables, the same next-hop choice the network makes).
 *
 * The mapping rule, applied to captured addresses in order of first appearance:
 *   1. `--map ADDR=HOST[.IFACE]` on the command line, then the scenario's `replay.map`;
 *   2. an address a scenario host owns → that host;
 *   3. an address of a NAT (an external address or an interface address) → the first
 *      free host behind that NAT;
 *   4. a private address (RFC 1918, 100.64.0.0/10, 169.254.0.0/16, fc00::/7,
 *      fe80::/10) → the first free inside host; any other address → the first free
 *      outside host.
 * "Free" means not yet playing another captured address; hosts without an address of
 * the captured family are passed over. An address no rule can place is an error that
 * names it and suggests --map.
 */
import { formatIp, ipEquals, parsePrefix, prefixContains, type IpAddress, type Prefix } from '../core/addr.ts';
import { Host, NatRouter, type Iface, type Link, type Network, type Node } from './network.ts';
import type { Scenario } from './scenario.ts';

export const REPLAY_SIDE = { INSIDE: 'inside', OUTSIDE: 'outside' } as const;
export type ReplaySide = (typeof REPLAY_SIDE)[keyof typeof REPLAY_SIDE];

export const MAP_RULE = {
  OPTION: 'option',
  SCENARIO: 'scenario',
  SAME_ADDRESS: 'same-address',
  NAT_ADDRESS: 'behind-nat-address',
  PRIVATE_INSIDE: 'private-to-inside',
  PUBLIC_OUTSIDE: 'public-to-outside',
} as const;
export type MapRule = (typeof MAP_RULE)[keyof typeof MAP_RULE];

const PRIVATE_PREFIXES: readonly Prefix[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'].map(parsePrefix);

export function isPrivateAddress(a: IpAddress): boolean {
  return PRIVATE_PREFIXES.some((p) => prefixContains(p, a));
}

/** A static walk along the routes from a host towards an address. */
export interface PathWalk {
  /** Node names visited, starting with the source host. */
  readonly nodes: readonly string[];
  /** NATs entered through an inside interface, in path order. */
  readonly natsInside: readonly NatRouter[];
  /** The link the first hop takes. */
  readonly firstLink?: Link;
  /** The node that owns the address, when the walk got there. */
  readonly reached?: Node;
}

const MAX_HOPS = 64;

/** The link on `iface` that reaches `nextHop` (the network's own choice). */
function linkTowards(iface: Iface, nextHop: IpAddress): Link | undefined {
  if (iface.links.length === 1) return iface.links[0];
  return iface.links.find((l) => l.other(iface).node.owns(nextHop));
}

export function walkPath(from: Host, dst: IpAddress): PathWalk {
  const nodes: string[] = [from.name];
  const natsInside: NatRouter[] = [];
  let firstLink: Link | undefined;
  let node: Node = from;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    if (hop > 0 && (node.hasAddress(dst) || node.owns(dst))) return { nodes, natsInside, ...(firstLink ? { firstLink } : {}), reached: node };
    if (hop > 0 && node instanceof Host) break;
    const route = node.lookupRoute(dst);
    if (!route) break;
    const link = linkTowards(route.iface, route.nextHop);
    if (!link) break;
    firstLink ??= link;
    const arrive = link.other(route.iface);
    node = arrive.node;
    nodes.push(node.name);
    if (node instanceof NatRouter && node.inside.has(arrive.name) && !natsInside.includes(node)) natsInside.push(node);
  }
  return { nodes, natsInside, ...(firstLink ? { firstLink } : {}) };
}

export interface HostInfo {
  readonly host: Host;
  readonly side: ReplaySide;
  /** NATs this host sits behind (entered from inside on its way to other hosts). */
  readonly nats: readonly NatRouter[];
}

/** Every scenario host with its side, in scenario order. */
export function hostSides(net: Network, s: Scenario): HostInfo[] {
  const hosts = s.topology.hosts.map((h) => net.host(h.name));
  return hosts.map((h) => {
    const nats: NatRouter[] = [];
    for (const other of hosts) {
      if (other === h) continue;
      for (const fam of [4, 6] as const) {
        const a = other.primaryAddress(fam);
        if (!a || !h.primaryAddress(fam)) continue;
        for (const n of walkPath(h, a).natsInside) if (!nats.includes(n)) nats.push(n);
      }
    }
    return { host: h, side: nats.length > 0 ? REPLAY_SIDE.INSIDE : REPLAY_SIDE.OUTSIDE, nats };
  });
}

/** A captured address someone asked to map (command line or scenario). */
export interface MapRequest {
  readonly captured: IpAddress;
  readonly host: string;
  readonly iface?: string;
  readonly rule: 'option' | 'scenario';
}

export interface ResolvedMapping {
  readonly captured: IpAddress;
  readonly host: string;
  /** The host address that plays the captured one. */
  readonly address: IpAddress;
  readonly side: ReplaySide;
  readonly rule: MapRule;
}

export class ReplayMappingError extends Error {
  override readonly name = 'ReplayMappingError';
}

function hostAddress(h: Host, family: 4 | 6, iface?: string): IpAddress | undefined {
  if (iface === undefined) return h.primaryAddress(family);
  return h.interfaces.get(iface)?.address(family);
}

/** Applies the mapping rule (see the top of this file) to the captured addresses, in the order given. */
export function resolveMapping(net: Network, infos: readonly HostInfo[], captured: readonly IpAddress[], requests: readonly MapRequest[]): ResolvedMapping[] {
  const out: ResolvedMapping[] = [];
  const used = new Set<string>();
  const sideOf = (name: string): ReplaySide => infos.find((i) => i.host.name === name)?.side ?? REPLAY_SIDE.OUTSIDE;
  const byOption = (a: IpAddress) => requests.find((r) => r.rule === 'option' && ipEquals(r.captured, a)) ?? requests.find((r) => r.rule === 'scenario' && ipEquals(r.captured, a));
  const free = (cands: readonly HostInfo[], family: 4 | 6) => cands.find((i) => !used.has(i.host.name) && i.host.primaryAddress(family) !== undefined);
  const nats = [...net.nodes.values()].filter((n): n is NatRouter => n instanceof NatRouter);
  for (const a of captured) {
    const family = a.family;
    const req = byOption(a);
    let pick: { host: Host; address: IpAddress; rule: MapRule } | undefined;
    if (req) {
      const n = net.nodes.get(req.host);
      if (!(n instanceof Host)) throw new ReplayMappingError(`${formatIp(a)}=${req.host}: no host named ${req.host}`);
      const address = hostAddress(n, family, req.iface);
      if (!address) throw new ReplayMappingError(`${formatIp(a)}=${req.host}${req.iface ? `.${req.iface}` : ''}: no IPv${family} address there`);
      pick = { host: n, address, rule: req.rule };
    } else {
      const owner = infos.find((i) => i.host.hasAddress(a));
      const nat = nats.find((n) => n.hasAddress(a) || n.nat.ownsAddress(a));
      const behind = nat ? free(infos.filter((i) => i.nats.includes(nat)), family) : undefined;
      const bySide = free(
        infos.filter((i) => i.side === (isPrivateAddress(a) ? REPLAY_SIDE.INSIDE : REPLAY_SIDE.OUTSIDE)),
        family,
      );
      if (owner) pick = { host: owner.host, address: a, rule: MAP_RULE.SAME_ADDRESS };
      else if (behind) pick = { host: behind.host, address: behind.host.primaryAddress(family)!, rule: MAP_RULE.NAT_ADDRESS };
      else if (bySide) {
        pick = { host: bySide.host, address: bySide.host.primaryAddress(family)!, rule: isPrivateAddress(a) ? MAP_RULE.PRIVATE_INSIDE : MAP_RULE.PUBLIC_OUTSIDE };
      }
    }
    if (!pick) {
      const kind = isPrivateAddress(a) ? 'private, so an inside host' : 'public, so an outside host';
      throw new ReplayMappingError(
        `no scenario host left to play captured address ${formatIp(a)} (${kind} with an IPv${family} address was needed); map it with --map ${formatIp(a)}=HOST or replay.map`,
      );
    }
    used.add(pick.host.name);
    out.push({ captured: a, host: pick.host.name, address: pick.address, side: sideOf(pick.host.name), rule: pick.rule });
  }
  return out;
}
