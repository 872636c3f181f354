/**
 * The lab network: nodes (hosts, routers, NAT routers) with interfaces and addresses
 * (IPv4 and IPv6), point-to-point links with latency, jitter, loss, duplication,
 * reordering and an MTU, static routing, IP fragmentation and reassembly, firewalls,
 * NAT devices and capture taps, all driven by one Scheduler in virtual time.
 *
 * Packets are real bytes (IPv4/IPv6 header, then UDP, ESP or ICMP). Each hop decodes
 * what it needs and never mutates a buffer it was given (taps and duplicates share
 * them): a changed packet is a new array.
 *
 * Links. A link joins two interfaces; an interface may hold several links (a small
 * segment: the next hop is the link whose far node owns the next-hop address). Per
 * direction, every packet takes exactly four draws from the link's own seeded stream
 * (`rng.fork("link:" + name)`): loss, duplication, reordering, jitter. So adding a
 * link, or changing one fault, does not move any other draw. (While a link has none
 * of those four faults the draws change nothing: they are deferred and taken, in
 * order, before the next packet that needs them, which then sees the same stream.)
 * Delivery time is
 * now + latency + jitter (uniform 0..jitter), kept FIFO per direction (a packet never
 * overtakes an earlier one) unless it is picked for reordering, which holds it back
 * by `reorderDelay` past that FIFO bound. A duplicate arrives right after its
 * original. A link going down loses what is in flight. Link taps record packets as
 * they arrive at the far end (what a capture there would show), in both directions.
 *
 * MTU. A packet larger than the egress link's MTU: IPv4 with DF clear is split into
 * real fragments (the ipv4 codec; the receiving host reassembles with
 * wire/ip-reassembly, and NAT routers reassemble before translating); IPv4 with DF
 * set is dropped and counted ('df-too-big'), with an ICMP "fragmentation needed"
 * (type 3 code 4, RFC 1191) back to the source when the router has icmpErrors on;
 * IPv6 is fragmented only by the sending host (RFC 8200 §4.5), a router drops it
 * ('packet-too-big', ICMPv6 Packet Too Big with icmpErrors).
 *
 * Routing: longest prefix match over the connected prefixes of the node's interface
 * addresses and its static routes (a connected route wins a tie); "default" is
 * 0.0.0.0/0 or ::/0. Hosts never forward. Routers decrement the TTL.
 *
 * Applications plug into hosts through the HostApplication seam (host-app.ts).
 */
import {
  formatEndpoint,
  formatIp,
  ipEquals,
  parseIp,
  parsePrefix,
  prefixContains,
  type IpAddress,
  type Prefix,
} from '../core/addr.ts';
import type { Rng } from '../core/rng.ts';
import { SeededRng } from '../core/rng.ts';
import type { Micros } from '../core/time.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { Ipv4Reassembler, Ipv6Reassembler, type ReassemblyOptions, type ReassemblyResult } from '../wire/ip-reassembly.ts';
import { Ipv4Codec } from '../wire/ipv4.ts';
import { Ipv6Codec } from '../wire/ipv6.ts';
import { UdpCodec } from '../wire/udp.ts';
import { writeU16 } from './checksum.ts';
import { Firewall } from './firewall.ts';
import type { HostApplication, HostReceived, HostTransmit } from './host-app.ts';
import { NatDevice, type NatConfig, type NatRecord, type NatTimeouts } from './nat.ts';
import {
  buildIpPacket,
  buildUdpPacket,
  copyPacketBytes,
  describePacket,
  formatSpan,
  ICMP_CODE_FRAG_NEEDED,
  ICMP_TYPE,
  icmpMessage,
  icmpv6Message,
  ICMPV6_TYPE,
  ipv4HeaderChecksumAt,
  parsePacket,
  udpChecksumStatus,
  type PacketInfo,
} from './packet.ts';
import { Scheduler } from './scheduler.ts';
import { Tap, TapSequence } from './tap.ts';

export const DEFAULT_MTU = 1500;
export const IPV6_MIN_MTU = 1280;

export const DROP_REASON = {
  LINK_DOWN: 'link-down',
  LOSS: 'loss',
  MTU: 'mtu',
  NO_ROUTE: 'no-route',
  NO_NEIGHBOR: 'no-neighbor',
  TTL_EXCEEDED: 'ttl-exceeded',
  DF_TOO_BIG: 'df-too-big',
  PACKET_TOO_BIG: 'packet-too-big',
  NOT_MINE: 'not-mine',
  NOT_OWN_SOURCE: 'not-own-source',
  MALFORMED: 'malformed',
  BAD_CHECKSUM: 'bad-checksum',
  REASSEMBLY: 'reassembly',
  NO_APP: 'no-app',
  FIREWALL: 'firewall',
  NAT: 'nat',
  NAT_DOWN: 'nat-down',
  LOCAL: 'local',
} as const;
export type DropReason = (typeof DROP_REASON)[keyof typeof DROP_REASON];

export interface LinkFaults {
  /** One-way delay, default 0. */
  readonly latency?: Micros;
  /** Extra delay drawn uniformly in 0..jitter per packet, default 0. */
  readonly jitter?: Micros;
  /** Probability a packet is lost, 0..1. */
  readonly loss?: number;
  /** Probability a packet is delivered twice. */
  readonly duplicate?: number;
  /** Probability a packet is held back by reorderDelay (later packets overtake it). */
  readonly reorder?: number;
  /** Default: max(1 ms, latency). */
  readonly reorderDelay?: Micros;
  /** Default 1500. */
  readonly mtu?: number;
  /** Default true. */
  readonly up?: boolean;
}

export interface LinkDirectionCounters {
  sent: number;
  bytesSent: number;
  delivered: number;
  bytesDelivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  droppedDown: number;
  droppedMtu: number;
}

export interface NodeCounters {
  received: number;
  /** Packets this node originated (including ICMP it generated). */
  sent: number;
  forwarded: number;
  /** Packets handed to the application (hosts) or consumed locally. */
  delivered: number;
  fragmentsCreated: number;
  reassembled: number;
  icmpSent: number;
  dropped: number;
  readonly drops: Partial<Record<DropReason, number>>;
}

export type NetworkEvent =
  | { readonly type: 'drop'; readonly at: Micros; readonly where: string; readonly reason: DropReason; readonly detail: string; readonly bytes: Uint8Array }
  /**
   * A packet reached a host's stack (addressed to it, reassembled, checksum good), with or
   * without an application. `tunnel` is set for an inner packet an IPsec peer on the host
   * took out of ESP (it names the SA).
   */
  | { readonly type: 'deliver'; readonly at: Micros; readonly host: string; readonly packet: HostReceived; readonly tunnel?: string }
  | { readonly type: 'send'; readonly at: Micros; readonly host: string; readonly bytes: Uint8Array; readonly comment?: string }
  | { readonly type: 'nat'; readonly at: Micros; readonly record: NatRecord }
  | { readonly type: 'link-state'; readonly at: Micros; readonly link: string; readonly up: boolean }
  | { readonly type: 'firewall'; readonly at: Micros; readonly node: string; readonly comment: string; readonly permitted: boolean };

export type NetworkListener = (e: NetworkEvent) => void;

export interface ObserveOptions {
  /** Event types to receive (default: every type). */
  readonly types?: readonly NetworkEvent['type'][];
  /**
   * With 'nat' events: false leaves out the records of routine translations (through an
   * existing mapping: state 'refreshed', 'used' or 'static'); mappings created or lost,
   * conflicts, drops, passes, flushes and reboots still come. Default true.
   */
  readonly everyNatTranslation?: boolean;
}

const ALL_EVENT_TYPES: readonly NetworkEvent['type'][] = ['drop', 'deliver', 'send', 'nat', 'link-state', 'firewall'];

interface Subscription {
  readonly listener: NetworkListener;
  readonly types: ReadonlySet<NetworkEvent['type']> | undefined;
  readonly everyNatTranslation: boolean;
}

/** A NAT record of a translation through an existing mapping (nothing about the mapping changed). */
export function isRoutineTranslation(r: NatRecord): boolean {
  return r.kind === 'translate' && (r.mappingState === 'refreshed' || r.mappingState === 'used' || r.mappingState === 'static');
}

export interface InterfaceSpec {
  readonly name: string;
  /** "10.0.0.2/24", "2001:db8::1/64" (a bare address is a host prefix). */
  readonly addresses?: readonly (string | Prefix)[];
}

export interface RouteSpec {
  /** A prefix or "default" (both families) / "default4" / "default6". */
  readonly to: string | Prefix;
  readonly via?: string | IpAddress;
  /** Outgoing interface; default: the one whose connected prefix holds `via`. */
  readonly iface?: string;
}

export interface NodeSpec {
  readonly interfaces?: readonly InterfaceSpec[];
  readonly routes?: readonly RouteSpec[];
  /** Send ICMP errors (fragmentation needed, time exceeded, packet too big). Default false. */
  readonly icmpErrors?: boolean;
  readonly reassembly?: ReassemblyOptions;
}

export interface HostSpec extends NodeSpec {
  /** Default DF bit for IPv4 packets this host sends. Default false. */
  readonly dontFragment?: boolean;
  /** Answer ICMP echo requests (like a kernel). Default true. */
  readonly answerPings?: boolean;
}

export interface NatSpec extends NodeSpec {
  /** Inside interface names. */
  readonly inside: readonly string[];
  /** Outside interface name. */
  readonly outside: string;
  /** The device; `external` defaults to the outside interface's IPv4 addresses. */
  readonly nat: Omit<NatConfig, 'name' | 'external'> & { readonly external?: readonly IpAddress[] };
}

const asPrefix = (p: string | Prefix): Prefix => (typeof p === 'string' ? parsePrefix(p) : p);

/**
 * A Map / Set key for an address: a number for IPv4 (the 32 bits as a signed integer,
 * which V8 keeps unboxed), a 16-character string for IPv6.
 */
export function addressId(a: IpAddress): number | string {
  const b = a.bytes;
  if (a.family === 4) return (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/** The key of the `len`-bit prefix holding `a` (addressId of the masked address). */
function maskedId(a: IpAddress, len: number): number | string {
  const b = a.bytes;
  if (a.family === 4) {
    const v = (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!;
    return len === 0 ? 0 : len >= 32 ? v : v & (-1 << (32 - len));
  }
  let s = '';
  for (let i = 0, bits = len; i < 16; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    s += String.fromCharCode(b[i]! & mask);
  }
  return s;
}

/**
 * Longest-prefix match over a node's connected prefixes: per prefix length (longest
 * first) a map from the masked prefix to the first interface that has it.
 */
class ConnectedTable {
  private readonly byLength = new Map<number, Map<number | string, Iface>>();
  private lengths: number[] = [];

  add(p: Prefix, iface: Iface): void {
    let m = this.byLength.get(p.length);
    if (!m) {
      m = new Map();
      this.byLength.set(p.length, m);
      this.lengths = [...this.byLength.keys()].sort((x, y) => y - x);
    }
    const k = maskedId(p.addr, p.length);
    if (!m.has(k)) m.set(k, iface);
  }

  /** The interface of the longest connected prefix holding `a` (the first one on ties). */
  match(a: IpAddress): { iface: Iface; len: number } | undefined {
    for (const len of this.lengths) {
      const i = this.byLength.get(len)!.get(maskedId(a, len));
      if (i) return { iface: i, len };
    }
    return undefined;
  }
}

/** Route lookups a node keeps, at most this many (then it starts over). */
const ROUTE_CACHE_LIMIT = 1 << 16;

interface RouteResult {
  readonly iface: Iface;
  readonly nextHop: IpAddress;
}

function defaultPrefixes(to: string | Prefix): Prefix[] {
  if (typeof to !== 'string') return [to];
  if (to === 'default') return [parsePrefix('0.0.0.0/0'), parsePrefix('::/0')];
  if (to === 'default4') return [parsePrefix('0.0.0.0/0')];
  if (to === 'default6') return [parsePrefix('::/0')];
  return [parsePrefix(to)];
}

export class Iface {
  readonly links: Link[] = [];
  constructor(
    readonly node: Node,
    readonly name: string,
    /** Each address with its prefix length (the prefix's addr is the interface address). */
    readonly addresses: Prefix[],
  ) {}

  get fullName(): string {
    return `${this.node.name}.${this.name}`;
  }

  /** The first address of a family. */
  address(family: 4 | 6): IpAddress | undefined {
    return this.addresses.find((p) => p.addr.family === family)?.addr;
  }
}

interface Route {
  readonly prefix: Prefix;
  readonly via?: IpAddress;
  readonly iface?: string;
}

/**
 * A packet on a link, waiting for its arrival event. Entries are reused (a free list):
 * one is taken per scheduled delivery and given back once the arrival has run.
 */
class InFlight {
  link!: Link;
  to!: Iface;
  dir: 0 | 1 = 0;
  bytes!: Uint8Array;
  note: string | undefined = undefined;
  extra = '';
  epoch = 0;
}

const inFlightFree: InFlight[] = [];

function takeInFlight(link: Link, to: Iface, dir: 0 | 1, bytes: Uint8Array, note: string | undefined, extra: string, epoch: number): InFlight {
  const p = inFlightFree.pop() ?? new InFlight();
  p.link = link;
  p.to = to;
  p.dir = dir;
  p.bytes = bytes;
  p.note = note;
  p.extra = extra;
  p.epoch = epoch;
  return p;
}

export class Link {
  readonly counters: readonly [LinkDirectionCounters, LinkDirectionCounters];
  readonly taps: Tap[] = [];
  private faultsValue: Required<Omit<LinkFaults, 'reorderDelay'>> & { reorderDelay: Micros | undefined };
  private readonly rngs: readonly [Rng, Rng];
  private readonly lastArrival: [Micros, Micros] = [0, 0];
  /**
   * Per direction: packets sent while the link had no random faults, whose four draws
   * were not taken. They are taken (in the same order) before the next packet that
   * needs draws, so the stream a faulty packet sees does not depend on this shortcut.
   */
  private readonly undrawn: [number, number] = [0, 0];
  private epochValue = 0;

  constructor(
    private readonly net: Network,
    readonly name: string,
    readonly a: Iface,
    readonly b: Iface,
    faults: LinkFaults,
    rng: Rng,
  ) {
    this.faultsValue = normalizeFaults(faults);
    this.rngs = [rng.fork('a>b'), rng.fork('b>a')];
    const c = (): LinkDirectionCounters => ({ sent: 0, bytesSent: 0, delivered: 0, bytesDelivered: 0, lost: 0, duplicated: 0, reordered: 0, droppedDown: 0, droppedMtu: 0 });
    this.counters = [c(), c()];
  }

  get faults(): Readonly<LinkFaults> {
    return this.faultsValue;
  }

  get mtu(): number {
    return this.faultsValue.mtu;
  }

  get up(): boolean {
    return this.faultsValue.up;
  }

  /** Changes faults from now on (packets in flight keep their times). */
  setFaults(f: LinkFaults): void {
    this.faultsValue = normalizeFaults({ ...this.faultsValue, ...f, reorderDelay: f.reorderDelay ?? this.faultsValue.reorderDelay });
  }

  /** Brings the link down (losing what is in flight) or up. */
  setUp(up: boolean, now: Micros): void {
    if (up === this.faultsValue.up) return;
    this.faultsValue = { ...this.faultsValue, up };
    if (!up) this.epochValue++;
    this.net.emit({ type: 'link-state', at: now, link: this.name, up });
  }

  /** The interface at the other end. */
  other(i: Iface): Iface {
    return i === this.a ? this.b : this.a;
  }

  /** Puts a packet on the link from `from`. */
  transmit(from: Iface, bytes: Uint8Array, now: Micros, note: string | undefined): void {
    const dir: 0 | 1 = from === this.a ? 0 : 1;
    const c = this.counters[dir];
    const f = this.faultsValue;
    c.sent++;
    c.bytesSent += bytes.length;
    if (!f.up) {
      c.droppedDown++;
      this.net.drop(this.name, 'link-down', `link ${this.name} is down`, bytes, now);
      return;
    }
    if (bytes.length > f.mtu) {
      c.droppedMtu++;
      this.net.drop(this.name, 'mtu', `${bytes.length} bytes exceed the MTU ${f.mtu} of link ${this.name}`, bytes, now);
      return;
    }
    if (f.loss === 0 && f.duplicate === 0 && f.reorder === 0 && f.jitter === 0) {
      // No fault can fire: the draws would not change anything, so they wait (see `undrawn`).
      this.undrawn[dir]++;
      const arrive = Math.max(now + f.latency, this.lastArrival[dir]);
      this.lastArrival[dir] = arrive;
      this.net.scheduler.at(arrive, deliverInFlight, takeInFlight(this, dir === 0 ? this.b : this.a, dir, bytes, note, '', this.epochValue));
      return;
    }
    const rng = this.rngs[dir];
    for (let n = this.undrawn[dir]; n > 0; n--) {
      rng.float();
      rng.float();
      rng.float();
      rng.u32();
    }
    this.undrawn[dir] = 0;
    const lossDraw = rng.float();
    const dupDraw = rng.float();
    const reorderDraw = rng.float();
    const jitterDraw = rng.u32();
    if (lossDraw < f.loss) {
      c.lost++;
      this.net.drop(this.name, 'loss', `lost on link ${this.name} (loss ${f.loss * 100}%)`, bytes, now);
      return;
    }
    const jitter = f.jitter > 0 ? jitterDraw % (f.jitter + 1) : 0;
    let arrive = now + f.latency + jitter;
    let extra = '';
    if (reorderDraw < f.reorder) {
      const hold = f.reorderDelay ?? Math.max(1000, f.latency);
      arrive = Math.max(arrive, this.lastArrival[dir]) + hold;
      c.reordered++;
      extra = `; reordered on link ${this.name}: held back ${formatSpan(hold)}`;
    } else {
      arrive = Math.max(arrive, this.lastArrival[dir]);
      this.lastArrival[dir] = arrive;
    }
    const to = dir === 0 ? this.b : this.a;
    const sched = this.net.scheduler;
    sched.at(arrive, deliverInFlight, takeInFlight(this, to, dir, bytes, note, extra, this.epochValue));
    if (dupDraw < f.duplicate) {
      c.duplicated++;
      sched.at(arrive, deliverInFlight, takeInFlight(this, to, dir, bytes, note, `${extra}; duplicate copy made by link ${this.name}`, this.epochValue));
    }
  }

  /** @internal */
  arrive(to: Iface, dir: 0 | 1, bytes: Uint8Array, note: string | undefined, extra: string, epoch: number, now: Micros): void {
    const c = this.counters[dir];
    if (!this.faultsValue.up || epoch !== this.epochValue) {
      c.droppedDown++;
      this.net.drop(this.name, 'link-down', `link ${this.name} went down with the packet in flight`, bytes, now);
      return;
    }
    c.delivered++;
    c.bytesDelivered += bytes.length;
    if (this.taps.length > 0) {
      const comment = `${describePacket(bytes)}${note ? ` — ${note}` : ''}${extra}`;
      for (const t of this.taps) t.record(now, bytes, comment);
    }
    to.node.receive(to, bytes, now, note);
  }
}

function deliverInFlight(now: Micros, p: InFlight): void {
  const link = p.link;
  const to = p.to;
  const dir = p.dir;
  const bytes = p.bytes;
  const note = p.note;
  const extra = p.extra;
  const epoch = p.epoch;
  // Given back before the arrival runs: what it sends takes entries of its own.
  p.bytes = EMPTY_BYTES;
  p.note = undefined;
  inFlightFree.push(p);
  link.arrive(to, dir, bytes, note, extra, epoch, now);
}

const EMPTY_BYTES = new Uint8Array(0);

function normalizeFaults(f: LinkFaults): Required<Omit<LinkFaults, 'reorderDelay'>> & { reorderDelay: Micros | undefined } {
  const prob = (v: number | undefined, what: string): number => {
    const x = v ?? 0;
    if (!(x >= 0 && x <= 1)) throw new RangeError(`${what} must be a probability in 0..1, got ${x}`);
    return x;
  };
  const dur = (v: number | undefined, what: string): number => {
    const x = v ?? 0;
    if (!Number.isSafeInteger(x) || x < 0) throw new RangeError(`${what} must be a non-negative integer of µs, got ${x}`);
    return x;
  };
  const mtu = f.mtu ?? DEFAULT_MTU;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`MTU must be 68..65535, got ${mtu}`);
  return {
    latency: dur(f.latency, 'latency'),
    jitter: dur(f.jitter, 'jitter'),
    loss: prob(f.loss, 'loss'),
    duplicate: prob(f.duplicate, 'duplicate'),
    reorder: prob(f.reorder, 'reorder'),
    reorderDelay: f.reorderDelay === undefined ? undefined : dur(f.reorderDelay, 'reorderDelay'),
    mtu,
    up: f.up ?? true,
  };
}

function newCounters(): NodeCounters {
  return { received: 0, sent: 0, forwarded: 0, delivered: 0, fragmentsCreated: 0, reassembled: 0, icmpSent: 0, dropped: 0, drops: {} };
}

export abstract class Node {
  abstract readonly kind: 'host' | 'router' | 'nat';
  readonly interfaces = new Map<string, Iface>();
  readonly counters: NodeCounters = newCounters();
  readonly icmpErrors: boolean;
  firewall: { readonly fw: Firewall; readonly inside: ReadonlySet<string> } | undefined;
  private readonly routes: Route[] = [];
  private addressSet: Set<number | string> | undefined;
  private connected: ConnectedTable | undefined;
  private readonly routeCache = new Map<number | string, RouteResult | null>();
  /** The last hasAddress / lookupRoute question (by object: addresses are never changed in place) and its answer. */
  private lastOwnQuery: IpAddress | undefined;
  private lastOwnAnswer = false;
  private prevOwnQuery: IpAddress | undefined;
  private prevOwnAnswer = false;
  private lastRouteQuery: IpAddress | undefined;
  private lastRouteAnswer: RouteResult | undefined;
  protected readonly v4 = new Ipv4Reassembler();
  protected readonly v6 = new Ipv6Reassembler();
  private ipv4Id = 0;
  private ipv6Id = 0;

  constructor(
    protected readonly net: Network,
    readonly name: string,
    spec: NodeSpec,
  ) {
    this.icmpErrors = spec.icmpErrors ?? false;
    if (spec.reassembly) {
      this.v4 = new Ipv4Reassembler(spec.reassembly);
      this.v6 = new Ipv6Reassembler(spec.reassembly);
    }
    for (const i of spec.interfaces ?? []) this.addInterface(i);
    for (const r of spec.routes ?? []) this.addRoute(r);
  }

  addInterface(spec: InterfaceSpec): Iface {
    if (this.interfaces.has(spec.name)) throw new RangeError(`${this.name}: interface ${spec.name} exists`);
    const i = new Iface(this, spec.name, (spec.addresses ?? []).map(asPrefix));
    this.interfaces.set(spec.name, i);
    this.forgetRoutes();
    return i;
  }

  iface(name: string): Iface {
    const i = this.interfaces.get(name);
    if (!i) throw new RangeError(`${this.name} has no interface ${name}`);
    return i;
  }

  addRoute(r: RouteSpec): void {
    const via = r.via === undefined ? undefined : typeof r.via === 'string' ? parseIp(r.via) : r.via;
    for (const prefix of defaultPrefixes(r.to)) {
      if (via && via.family !== prefix.addr.family) continue;
      this.routes.push({ prefix, ...(via ? { via } : {}), ...(r.iface ? { iface: r.iface } : {}) });
    }
    this.forgetRoutes();
  }

  /** True for one of this node's interface addresses. */
  hasAddress(a: IpAddress): boolean {
    // Packets parsed in the lab share one IpAddress object per address, and a node
    // mostly sees one destination after another: the last answer is kept.
    // A host asks about its source and then its destination: the last two answers are kept.
    if (a === this.lastOwnQuery) return this.lastOwnAnswer;
    if (a === this.prevOwnQuery) return this.prevOwnAnswer;
    const r = this.ownAddresses().has(addressId(a));
    this.prevOwnQuery = this.lastOwnQuery;
    this.prevOwnAnswer = this.lastOwnAnswer;
    this.lastOwnQuery = a;
    this.lastOwnAnswer = r;
    return r;
  }

  /** Addresses this node answers for on a link (its own, plus a NAT's external ones). */
  owns(a: IpAddress): boolean {
    return this.hasAddress(a);
  }

  /**
   * Egress interface and next-hop address for a destination: the longest prefix among
   * the connected prefixes and the static routes, a connected route winning a tie and
   * the first of equal routes winning (answers are kept per destination).
   */
  lookupRoute(dst: IpAddress): { iface: Iface; nextHop: IpAddress } | undefined {
    if (dst === this.lastRouteQuery) return this.lastRouteAnswer;
    const k = addressId(dst);
    let r: RouteResult | undefined;
    const hit = this.routeCache.get(k);
    if (hit !== undefined) r = hit ?? undefined;
    else {
      r = this.computeRoute(dst);
      if (this.routeCache.size >= ROUTE_CACHE_LIMIT) this.routeCache.clear();
      this.routeCache.set(k, r ?? null);
    }
    this.lastRouteQuery = dst;
    this.lastRouteAnswer = r;
    return r;
  }

  private computeRoute(dst: IpAddress): RouteResult | undefined {
    const c = this.connectedTable().match(dst);
    let best: { iface: Iface; nextHop: IpAddress; len: number } | undefined = c && { iface: c.iface, nextHop: dst, len: c.len };
    for (const r of this.routes) {
      if (!prefixContains(r.prefix, dst) || (best && r.prefix.length <= best.len)) continue;
      let iface: Iface | undefined;
      if (r.iface) iface = this.interfaces.get(r.iface);
      else if (r.via) iface = this.connectedIface(r.via);
      if (!iface) continue;
      best = { iface, nextHop: r.via ?? dst, len: r.prefix.length };
    }
    return best && { iface: best.iface, nextHop: best.nextHop };
  }

  private connectedIface(a: IpAddress): Iface | undefined {
    return this.connectedTable().match(a)?.iface;
  }

  private ownAddresses(): Set<number | string> {
    let s = this.addressSet;
    if (!s) {
      s = new Set();
      for (const i of this.interfaces.values()) for (const p of i.addresses) s.add(addressId(p.addr));
      this.addressSet = s;
    }
    return s;
  }

  private connectedTable(): ConnectedTable {
    let t = this.connected;
    if (!t) {
      t = new ConnectedTable();
      for (const i of this.interfaces.values()) for (const p of i.addresses) t.add(p, i);
      this.connected = t;
    }
    return t;
  }

  /** Interfaces or routes changed: the address set, prefix table and route answers are rebuilt on next use. */
  private forgetRoutes(): void {
    this.addressSet = undefined;
    this.connected = undefined;
    this.routeCache.clear();
    this.lastOwnQuery = undefined;
    this.prevOwnQuery = undefined;
    this.lastRouteQuery = undefined;
    this.lastRouteAnswer = undefined;
  }

  /** A packet arrived on `iface`. */
  abstract receive(iface: Iface, bytes: Uint8Array, now: Micros, note: string | undefined): void;

  /** Counts a drop and reports it. */
  protected drop(reason: DropReason, detail: string, bytes: Uint8Array, now: Micros): void {
    this.counters.dropped++;
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    this.net.emit({ type: 'drop', at: now, where: this.name, reason, detail, bytes });
  }

  protected parse(bytes: Uint8Array, now: Micros): PacketInfo | undefined {
    try {
      return parsePacket(bytes);
    } catch (e) {
      this.drop('malformed', e instanceof Error ? e.message : String(e), bytes, now);
      return undefined;
    }
  }

  /** Reassembles a fragment; returns the whole packet, or undefined when pending or refused. */
  protected reassemble(bytes: Uint8Array, info: PacketInfo, now: Micros): { bytes: Uint8Array; info: PacketInfo } | undefined {
    let r: ReassemblyResult;
    if (info.family === 4) r = this.v4.add(Ipv4Codec.decode(bytes), now);
    else r = this.v6.add(Ipv6Codec.decode(bytes), now);
    if (r.status === 'complete') {
      this.counters.reassembled++;
      const whole = this.parse(r.packet, now);
      return whole && { bytes: r.packet, info: whole };
    }
    if (r.status === 'rejected') this.drop('reassembly', `${r.reason}: ${r.detail}`, bytes, now);
    return undefined;
  }

  /** Firewall verdict for a packet crossing this node; false when denied (already counted). */
  protected firewallPermits(ingress: Iface | undefined, info: PacketInfo, bytes: Uint8Array, now: Micros): boolean {
    const f = this.firewall;
    if (!f) return true;
    const dir = ingress && f.inside.has(ingress.name) ? 'out' : 'in';
    const v = f.fw.evaluate(dir, info);
    this.net.emit({ type: 'firewall', at: now, node: this.name, comment: v.comment, permitted: v.action === 'permit' });
    if (v.action === 'permit') return true;
    this.drop('firewall', v.comment, bytes, now);
    return false;
  }

  /** Next IPv4 identification / IPv6 fragment id this node uses. */
  protected nextIpv4Id(): number {
    this.ipv4Id = (this.ipv4Id + 1) & 0xffff;
    return this.ipv4Id;
  }

  /**
   * Routes and sends a packet (originated here when `local`, else forwarded),
   * fragmenting to the egress link's MTU where allowed.
   */
  protected output(bytes: Uint8Array, info: PacketInfo, now: Micros, note: string | undefined, local: boolean, ingress?: Iface): void {
    const route = this.lookupRoute(info.dst);
    if (!route) {
      this.drop('no-route', `no route to ${formatIp(info.dst)}`, bytes, now);
      return;
    }
    const link = this.pickLink(route.iface, route.nextHop);
    if (!link) {
      this.drop('no-neighbor', `no neighbour ${formatIp(route.nextHop)} on ${route.iface.fullName}`, bytes, now);
      return;
    }
    if (local) this.counters.sent++;
    else this.counters.forwarded++;
    const mtu = link.mtu;
    if (bytes.length <= mtu) {
      link.transmit(route.iface, bytes, now, note);
      return;
    }
    if (info.family === 4) {
      if (info.dontFragment) {
        this.drop('df-too-big', `${bytes.length} bytes with DF set exceed the MTU ${mtu} towards ${formatIp(route.nextHop)}`, bytes, now);
        if (this.icmpErrors && !local) this.sendIcmpError(bytes, info, ingress, ICMP_TYPE.DEST_UNREACHABLE, ICMP_CODE_FRAG_NEEDED, mtu & 0xffff, now);
        return;
      }
      const frags = fragmentIpv4(bytes, mtu);
      if (!frags) {
        this.drop('mtu', `MTU ${mtu} is too small to fragment into`, bytes, now);
        return;
      }
      this.counters.fragmentsCreated += frags.length;
      for (const f of frags) link.transmit(route.iface, f, now, note);
      return;
    }
    if (!local) {
      this.drop('packet-too-big', `${bytes.length} bytes exceed the MTU ${mtu} (IPv6 routers do not fragment)`, bytes, now);
      if (this.icmpErrors) this.sendIcmpError(bytes, info, ingress, ICMPV6_TYPE.PACKET_TOO_BIG, 0, mtu, now);
      return;
    }
    this.ipv6Id = (this.ipv6Id + 1) >>> 0;
    const frags = fragmentIpv6(bytes, mtu, this.ipv6Id);
    if (!frags) {
      this.drop('mtu', `MTU ${mtu} is too small to fragment into`, bytes, now);
      return;
    }
    this.counters.fragmentsCreated += frags.length;
    for (const f of frags) link.transmit(route.iface, f, now, note);
  }

  /** The link on `iface` that reaches `nextHop`: the only one, or the one whose far node owns it. */
  private pickLink(iface: Iface, nextHop: IpAddress): Link | undefined {
    if (iface.links.length === 1) return iface.links[0];
    for (const l of iface.links) if (l.other(iface).node.owns(nextHop)) return l;
    return undefined;
  }

  /** ICMP error about `bytes` back to its source (never about an ICMP error or a non-first fragment). */
  protected sendIcmpError(bytes: Uint8Array, info: PacketInfo, ingress: Iface | undefined, type: number, code: number, rest: number, now: Micros): void {
    if (info.fragmentOffset !== 0) return;
    if (info.family === 4 && info.protocol === IP_PROTOCOL.ICMP && info.icmpType !== ICMP_TYPE.ECHO_REQUEST && info.icmpType !== ICMP_TYPE.ECHO_REPLY) return;
    if (info.family === 6 && info.protocol === IP_PROTOCOL.ICMPV6 && (info.icmpType ?? 0) < 128) return;
    const src = ingress?.address(info.family) ?? [...this.interfaces.values()].map((i) => i.address(info.family)).find((a) => a);
    if (!src) return;
    let packet: Uint8Array;
    if (info.family === 4) {
      const quote = bytes.subarray(0, Math.min(bytes.length, info.l4Offset + 8));
      packet = buildIpPacket({ src, dst: info.src, protocol: IP_PROTOCOL.ICMP, payload: icmpMessage(type, code, rest, quote), identification: this.nextIpv4Id() });
    } else {
      const quote = bytes.subarray(0, Math.min(bytes.length, IPV6_MIN_MTU - 48));
      packet = buildIpPacket({ src, dst: info.src, protocol: IP_PROTOCOL.ICMPV6, payload: icmpv6Message(src, info.src, type, code, rest, quote) });
    }
    this.counters.icmpSent++;
    const pi = parsePacket(packet);
    this.output(packet, pi, now, `ICMP error from ${this.name}`, true);
  }

  /** Answers an echo request addressed to this node. */
  protected answerEcho(info: PacketInfo, now: Micros): boolean {
    const isV4 = info.family === 4 && info.protocol === IP_PROTOCOL.ICMP && info.icmpType === ICMP_TYPE.ECHO_REQUEST;
    const isV6 = info.family === 6 && info.protocol === IP_PROTOCOL.ICMPV6 && info.icmpType === ICMPV6_TYPE.ECHO_REQUEST;
    if ((!isV4 && !isV6) || info.l4.length < 8) return false;
    const rest = ((info.l4[4]! << 24) >>> 0) + ((info.l4[5]! << 16) | (info.l4[6]! << 8) | info.l4[7]!);
    const data = info.l4.subarray(8);
    const msg = isV4 ? icmpMessage(ICMP_TYPE.ECHO_REPLY, 0, rest, data) : icmpv6Message(info.dst, info.src, ICMPV6_TYPE.ECHO_REPLY, 0, rest, data);
    const packet = buildIpPacket({
      src: info.dst,
      dst: info.src,
      protocol: isV4 ? IP_PROTOCOL.ICMP : IP_PROTOCOL.ICMPV6,
      payload: msg,
      identification: this.nextIpv4Id(),
    });
    this.output(packet, parsePacket(packet), now, `echo reply from ${this.name}`, true);
    return true;
  }

  /** Forwards a transit packet: TTL, then routing. */
  protected forward(ingress: Iface, bytes: Uint8Array, info: PacketInfo, now: Micros, note: string | undefined, owned = false): void {
    if (info.ttl <= 1) {
      this.drop('ttl-exceeded', `TTL expired at ${this.name}`, bytes, now);
      if (this.icmpErrors) this.sendIcmpError(bytes, info, ingress, info.family === 4 ? ICMP_TYPE.TIME_EXCEEDED : ICMPV6_TYPE.TIME_EXCEEDED, 0, 0, now);
      return;
    }
    // `owned`: the caller made `bytes` and nobody else holds them, so no copy is needed.
    const out = owned ? bytes : copyPacketBytes(bytes);
    if (info.family === 4) {
      out[8] = info.ttl - 1;
      writeU16(out, 10, 0);
      writeU16(out, 10, ipv4HeaderChecksumAt(out, (out[0]! & 0x0f) * 4));
    } else {
      out[7] = info.ttl - 1;
    }
    // `output` reads the addresses, DF and fragment fields of `info`, never its TTL: no copy.
    this.output(out, info, now, note, false, ingress);
  }
}

export class Host extends Node {
  readonly kind = 'host' as const;
  readonly dontFragment: boolean;
  readonly answerPings: boolean;
  private appValue: HostApplication | undefined;
  private timerHandle: number | undefined;
  private timerAt: Micros | undefined;
  private servicing = false;

  constructor(net: Network, name: string, spec: HostSpec) {
    super(net, name, spec);
    this.dontFragment = spec.dontFragment ?? false;
    this.answerPings = spec.answerPings ?? true;
  }

  get app(): HostApplication | undefined {
    return this.appValue;
  }

  /** Plugs an application in and services it once (its first packets and timer). */
  attach(app: HostApplication, now: Micros): void {
    this.appValue = app;
    this.service(now);
  }

  /** The first address of a family on any interface. */
  primaryAddress(family: 4 | 6 = 4): IpAddress | undefined {
    for (const i of this.interfaces.values()) {
      const a = i.address(family);
      if (a) return a;
    }
    return undefined;
  }

  /**
   * The IP packet this host would send for `tx` (its own IPv4 identification and DF
   * setting), or undefined (counted as a drop) when the source is not one of its
   * addresses. Use `sendPacket` to send it.
   */
  buildPacket(tx: HostTransmit, now: Micros): Uint8Array | undefined {
    try {
      if (tx.kind === 'ip') {
        const src = parsePacket(tx.bytes).src;
        if (!this.hasAddress(src)) throw new RangeError(`${formatIp(src)} is not an address of ${this.name}`);
        return tx.bytes;
      }
      const src = tx.kind === 'udp' ? tx.src.addr : tx.src;
      const dst = tx.kind === 'udp' ? tx.dst.addr : tx.dst;
      if (!this.hasAddress(src)) throw new RangeError(`${formatIp(src)} is not an address of ${this.name}`);
      // Object literals, not spreads: a spread with more properties is slow in V8.
      const identification = this.nextIpv4Id();
      const dontFragment = tx.dontFragment ?? this.dontFragment;
      if (tx.kind === 'udp') {
        return buildUdpPacket({ src, dst, identification, dontFragment, srcPort: tx.src.port, dstPort: tx.dst.port, payload: tx.payload, zeroChecksum: tx.zeroChecksum ?? false });
      }
      if (tx.kind === 'esp') return buildIpPacket({ src, dst, identification, dontFragment, protocol: IP_PROTOCOL.ESP, payload: tx.payload });
      return buildIpPacket({ src, dst, identification, dontFragment, protocol: src.family === 4 ? IP_PROTOCOL.ICMP : IP_PROTOCOL.ICMPV6, payload: tx.message });
    } catch (e) {
      this.drop('not-own-source', e instanceof Error ? e.message : String(e), new Uint8Array(0), now);
      return undefined;
    }
  }

  /** Sends one packet from this host now. */
  send(tx: HostTransmit, now: Micros): void {
    const bytes = this.buildPacket(tx, now);
    if (bytes) this.sendPacket(bytes, now, tx.comment);
  }

  /** Sends an IP packet built by `buildPacket` (or otherwise from one of this host's addresses). */
  sendPacket(bytes: Uint8Array, now: Micros, comment: string | undefined): void {
    const info = parsePacket(bytes);
    if (this.net.wants('send')) this.net.emit(comment ? { type: 'send', at: now, host: this.name, bytes, comment } : { type: 'send', at: now, host: this.name, bytes });
    if (this.hasAddress(info.dst)) {
      // Loopback: delivered as a separate event, never re-entrantly.
      this.counters.sent++;
      const iface = [...this.interfaces.values()].find((i) => i.addresses.some((p) => ipEquals(p.addr, info.dst)))!;
      this.net.scheduler.at(now, loopback, { host: this, iface, bytes, note: comment });
      return;
    }
    this.output(bytes, info, now, comment, true);
  }

  override receive(iface: Iface, bytes: Uint8Array, now: Micros, note: string | undefined): void {
    this.counters.received++;
    let info = this.parse(bytes, now);
    if (!info) return;
    if (!this.hasAddress(info.dst)) {
      this.drop('not-mine', `${formatIp(info.dst)} is not an address of host ${this.name}`, bytes, now);
      return;
    }
    if (info.fragment) {
      const whole = this.reassemble(bytes, info, now);
      if (!whole) return;
      bytes = whole.bytes;
      info = whole.info;
    }
    if (!this.firewallPermits(undefined, info, bytes, now)) return;
    this.deliverLocal(iface, bytes, info, now, note);
  }

  private deliverLocal(iface: Iface, bytes: Uint8Array, info: PacketInfo, now: Micros, note: string | undefined): void {
    let packet: HostReceived;
    if (info.protocol === IP_PROTOCOL.UDP) {
      const l4 = info.l4;
      const len = l4.length >= 8 ? (l4[4]! << 8) | l4[5]! : 0;
      let srcPort: number;
      let dstPort: number;
      let payload: Uint8Array;
      if (len >= 8 && len <= l4.length) {
        srcPort = (l4[0]! << 8) | l4[1]!;
        dstPort = (l4[2]! << 8) | l4[3]!;
        payload = l4.subarray(8, len);
      } else {
        // Not a whole datagram: the codec says what is wrong.
        let d;
        try {
          d = UdpCodec.decode(l4);
        } catch (e) {
          this.drop('malformed', e instanceof Error ? e.message : String(e), bytes, now);
          return;
        }
        srcPort = d.srcPort;
        dstPort = d.dstPort;
        payload = d.payload;
      }
      const status = udpChecksumStatus(info.src, info.dst, l4);
      if (status === 'invalid' || (status === 'zero' && info.family === 6)) {
        this.drop('bad-checksum', `UDP checksum ${status} from ${formatEndpoint({ addr: info.src, port: srcPort })}`, bytes, now);
        return;
      }
      packet = note
        ? { iface: iface.name, ip: bytes, comment: note, kind: 'udp', src: { addr: info.src, port: srcPort }, dst: { addr: info.dst, port: dstPort }, payload, checksum: status }
        : { iface: iface.name, ip: bytes, kind: 'udp', src: { addr: info.src, port: srcPort }, dst: { addr: info.dst, port: dstPort }, payload, checksum: status };
    } else if (info.protocol === IP_PROTOCOL.ESP) {
      packet = note
        ? { iface: iface.name, ip: bytes, comment: note, kind: 'esp', src: info.src, dst: info.dst, payload: info.l4 }
        : { iface: iface.name, ip: bytes, kind: 'esp', src: info.src, dst: info.dst, payload: info.l4 };
    } else if (info.protocol === IP_PROTOCOL.ICMP || info.protocol === IP_PROTOCOL.ICMPV6) {
      if (this.answerPings && this.answerEcho(info, now)) this.counters.delivered++;
      packet = note
        ? { iface: iface.name, ip: bytes, comment: note, kind: 'icmp', src: info.src, dst: info.dst, message: info.l4 }
        : { iface: iface.name, ip: bytes, kind: 'icmp', src: info.src, dst: info.dst, message: info.l4 };
    } else {
      this.drop('no-app', `nothing handles protocol ${info.protocol} on ${this.name}`, bytes, now);
      return;
    }
    if (this.net.wants('deliver')) this.net.emit({ type: 'deliver', at: now, host: this.name, packet });
    const app = this.appValue;
    if (!app) {
      if (packet.kind !== 'icmp') this.drop('no-app', `no application on host ${this.name}`, bytes, now);
      return;
    }
    this.counters.delivered++;
    app.handlePacket(packet, now);
    this.service(now);
  }

  /** @internal loopback delivery. */
  loopbackArrive(iface: Iface, bytes: Uint8Array, now: Micros, note: string | undefined): void {
    this.counters.received++;
    const info = this.parse(bytes, now);
    if (info) this.deliverLocal(iface, bytes, info, now, note);
  }

  /** Drains the application's transmissions and re-arms its timer. */
  service(now: Micros): void {
    const app = this.appValue;
    if (!app || this.servicing) return;
    this.servicing = true;
    try {
      for (let tx = app.pollTransmit(); tx !== undefined; tx = app.pollTransmit()) this.send(tx, now);
      const t = app.pollTimeout();
      if (t !== this.timerAt) {
        if (this.timerHandle !== undefined) this.net.scheduler.cancel(this.timerHandle);
        this.timerHandle = undefined;
        this.timerAt = t;
        if (t !== undefined) this.timerHandle = this.net.scheduler.at(Math.max(t, now), hostTimer, this);
      }
    } finally {
      this.servicing = false;
    }
  }

  /** @internal */
  timerFired(now: Micros): void {
    this.timerHandle = undefined;
    this.timerAt = undefined;
    const app = this.appValue;
    if (!app) return;
    app.handleTimeout(now);
    this.service(now);
  }
}

function hostTimer(now: Micros, h: Host): void {
  h.timerFired(now);
}

function loopback(now: Micros, a: { host: Host; iface: Iface; bytes: Uint8Array; note: string | undefined }): void {
  a.host.loopbackArrive(a.iface, a.bytes, now, a.note);
}

export class Router extends Node {
  readonly kind: 'router' | 'nat' = 'router';

  override receive(iface: Iface, bytes: Uint8Array, now: Micros, note: string | undefined): void {
    this.counters.received++;
    const info = this.parse(bytes, now);
    if (!info) return;
    this.route(iface, bytes, info, now, note);
  }

  /** Local delivery or forwarding, after the firewall. */
  protected route(iface: Iface, bytes: Uint8Array, info: PacketInfo, now: Micros, note: string | undefined): void {
    if (this.hasAddress(info.dst)) {
      this.local(bytes, info, now);
      return;
    }
    if (!this.firewallPermits(iface, info, bytes, now)) return;
    this.forward(iface, bytes, info, now, note);
  }

  protected local(bytes: Uint8Array, info: PacketInfo, now: Micros): void {
    if (info.fragment) {
      const whole = this.reassemble(bytes, info, now);
      if (!whole) return;
      bytes = whole.bytes;
      info = whole.info;
    }
    this.counters.delivered++;
    if (!this.answerEcho(info, now)) this.drop('local', `addressed to router ${this.name}, which runs no application`, bytes, now);
  }
}

export class NatRouter extends Router {
  override readonly kind = 'nat' as const;
  readonly nat: NatDevice;
  readonly inside: ReadonlySet<string>;
  readonly outside: string;
  readonly insideTaps: Tap[] = [];
  readonly outsideTaps: Tap[] = [];
  private downUntil: Micros = -1;
  private sweepHandle: number | undefined;
  private sweepAt: Micros | undefined;

  constructor(net: Network, name: string, spec: NatSpec, rng: Rng) {
    super(net, name, spec);
    this.inside = new Set(spec.inside);
    this.outside = spec.outside;
    for (const n of [...spec.inside, spec.outside]) this.iface(n);
    const external = spec.nat.external ?? this.iface(spec.outside).addresses.filter((p) => p.addr.family === 4).map((p) => p.addr);
    this.nat = new NatDevice({ ...spec.nat, name, external }, rng);
    if (this.nat.kind === 'cgnat') {
      for (const n of spec.inside) for (const p of this.iface(n).addresses) if (p.addr.family === 4) this.nat.reserveSubscriberAddress(p.addr);
    }
  }

  override owns(a: IpAddress): boolean {
    return this.hasAddress(a) || this.nat.ownsAddress(a);
  }

  /** Whether the device is down (rebooting). */
  isDown(now: Micros): boolean {
    return now < this.downUntil;
  }

  override receive(iface: Iface, bytes: Uint8Array, now: Micros, note: string | undefined): void {
    this.counters.received++;
    if (this.isDown(now)) {
      this.drop('nat-down', `NAT ${this.name} is rebooting`, bytes, now);
      return;
    }
    let info = this.parse(bytes, now);
    if (!info) return;
    if (info.family === 6) {
      this.route(iface, bytes, info, now, note);
      return;
    }
    const toSelf = this.hasAddress(info.dst) && !this.nat.ownsAddress(info.dst);
    if (toSelf) {
      this.local(bytes, info, now);
      return;
    }
    if (info.fragment && (this.inside.has(iface.name) || this.nat.ownsAddress(info.dst))) {
      const whole = this.reassemble(bytes, info, now);
      if (!whole) return;
      bytes = whole.bytes;
      info = whole.info;
    }
    const tapsIn = this.insideTaps.length > 0;
    const tapsOut = this.outsideTaps.length > 0;
    // Comments and records of routine translations only when someone can see them.
    const describe = tapsIn || tapsOut || this.net.wantsEveryNatTranslation;
    if (this.inside.has(iface.name)) {
      const res = this.nat.outbound(bytes, now, { info, describe });
      this.emitRecords(res.records);
      if (tapsIn) this.recordTaps(this.insideTaps, now, bytes, res.verdict === 'drop' ? res.comment : this.tapText(bytes, note));
      if (res.verdict === 'drop') {
        this.drop('nat', res.comment, bytes, now);
        return;
      }
      const out = res.verdict === 'forward' ? res.packet : bytes;
      const outInfo = res.verdict === 'forward' ? parsePacket(out) : info;
      if (res.verdict === 'forward' && res.hairpin) {
        if (tapsIn) this.recordTaps(this.insideTaps, now, out, res.comment);
      } else {
        if (!this.firewallPermits(iface, outInfo, out, now)) return;
        if (tapsOut) this.recordTaps(this.outsideTaps, now, out, res.verdict === 'forward' ? res.comment : `${res.comment}: ${this.tapText(out, note)}`);
      }
      // A translated packet is a fresh copy nobody else holds: forwarded in place.
      this.forward(iface, out, outInfo, now, note, res.verdict === 'forward');
      return;
    }
    // From outside (or any non-inside interface).
    if (this.hasAddress(info.dst) && info.protocol === IP_PROTOCOL.ICMP && info.icmpType === ICMP_TYPE.ECHO_REQUEST) {
      this.local(bytes, info, now);
      return;
    }
    if (!this.firewallPermits(iface, info, bytes, now)) return;
    const res = this.nat.inbound(bytes, now, false, { info, describe });
    this.emitRecords(res.records);
    if (tapsOut) this.recordTaps(this.outsideTaps, now, bytes, res.verdict === 'drop' ? res.comment : this.tapText(bytes, note));
    if (res.verdict === 'drop') {
      this.drop('nat', res.comment, bytes, now);
      return;
    }
    if (res.verdict === 'pass') {
      this.forward(iface, bytes, info, now, note);
      return;
    }
    if (tapsIn) this.recordTaps(this.insideTaps, now, res.packet, res.comment);
    this.forward(iface, res.packet, parsePacket(res.packet), now, note, true);
  }

  /** Reboot: every dynamic mapping lost, port choices restart; packets are dropped for `downFor`. */
  reboot(now: Micros, downFor: Micros = 0): void {
    this.downUntil = now + downFor;
    this.emitRecords([this.nat.reboot(now)]);
    this.rescheduleSweep(now);
  }

  flush(now: Micros): void {
    this.emitRecords([this.nat.flush(now)]);
    this.rescheduleSweep(now);
  }

  setMappingTimeout(protocol: keyof NatTimeouts, us: Micros, now: Micros): void {
    this.nat.setMappingTimeout(protocol, us);
    this.rescheduleSweep(now);
  }

  private tapText(b: Uint8Array, note: string | undefined): string {
    return `${describePacket(b)}${note ? ` — ${note}` : ''}`;
  }

  private recordTaps(taps: Tap[], now: Micros, bytes: Uint8Array, comment: string): void {
    for (const t of taps) t.record(now, bytes, comment);
  }

  private emitRecords(records: readonly NatRecord[]): void {
    let created = false;
    for (const r of records) {
      this.net.emit({ type: 'nat', at: r.at, record: r });
      if (r.mappingState === 'created') created = true;
    }
    if (created) this.rescheduleSweep(this.net.scheduler.now);
  }

  /** Arms the expiry sweep one µs after the soonest mapping's last valid instant. */
  private rescheduleSweep(now: Micros): void {
    const t = this.nat.nextExpiryAt();
    const at = t === undefined ? undefined : Math.max(t + 1, now);
    if (at === this.sweepAt && (at === undefined || (this.sweepHandle !== undefined && this.net.scheduler.isPending(this.sweepHandle)))) return;
    if (this.sweepHandle !== undefined) this.net.scheduler.cancel(this.sweepHandle);
    this.sweepHandle = undefined;
    this.sweepAt = at;
    if (at !== undefined) this.sweepHandle = this.net.scheduler.at(at, natSweep, this);
  }

  /** @internal */
  sweep(now: Micros): void {
    this.sweepHandle = undefined;
    this.sweepAt = undefined;
    for (const r of this.nat.sweep(now)) this.net.emit({ type: 'nat', at: now, record: r });
    this.rescheduleSweep(now);
  }
}

function natSweep(now: Micros, n: NatRouter): void {
  n.sweep(now);
}

/** IPv4 fragments of `bytes` for `mtu` (each a full packet), or undefined when the MTU leaves no room. */
export function fragmentIpv4(bytes: Uint8Array, mtu: number): Uint8Array[] | undefined {
  const p = Ipv4Codec.decode(bytes);
  const hl = 20 + p.options.length;
  const room = Math.floor((mtu - hl) / 8) * 8;
  if (room < 8) return undefined;
  const out: Uint8Array[] = [];
  for (let off = 0; off < p.payload.length; off += room) {
    const end = Math.min(off + room, p.payload.length);
    const last = end === p.payload.length;
    out.push(
      Ipv4Codec.encode({
        ...p,
        options: off === 0 ? p.options : new Uint8Array(0),
        moreFragments: !last || p.moreFragments,
        fragmentOffset: p.fragmentOffset + off,
        payload: p.payload.subarray(off, end),
        keepChecksum: false,
      }),
    );
  }
  return out;
}

/** IPv6 source fragmentation (RFC 8200 §4.5) of a packet without extension headers. */
export function fragmentIpv6(bytes: Uint8Array, mtu: number, identification: number): Uint8Array[] | undefined {
  const p = Ipv6Codec.decode(bytes);
  if (p.extensions.length > 0) return undefined;
  const room = Math.floor((mtu - 40 - 8) / 8) * 8;
  if (room < 8) return undefined;
  const out: Uint8Array[] = [];
  for (let off = 0; off < p.payload.length; off += room) {
    const end = Math.min(off + room, p.payload.length);
    out.push(
      Ipv6Codec.encode({
        ...p,
        extensions: [{ type: 44, fragmentOffset: off, moreFragments: end < p.payload.length, identification, reserved: 0, reservedBits: 0 }],
        payload: p.payload.subarray(off, end),
      }),
    );
  }
  return out;
}

export interface NetworkOptions {
  /** Seed for every random draw (links, NAT ports). Default 1. */
  readonly seed?: number;
  /** Or an Rng to fork from. */
  readonly rng?: Rng;
  readonly scheduler?: Scheduler;
}

export class Network {
  readonly scheduler: Scheduler;
  readonly rng: Rng;
  readonly nodes = new Map<string, Node>();
  readonly links = new Map<string, Link>();
  readonly taps = new Map<string, Tap>();
  private readonly subscriptions: Subscription[] = [];
  private readonly wanted = new Set<NetworkEvent['type']>();
  private everyNat = false;
  private readonly tapSequence = new TapSequence();

  constructor(opts: NetworkOptions = {}) {
    this.scheduler = opts.scheduler ?? new Scheduler();
    this.rng = opts.rng ?? new SeededRng(opts.seed ?? 1);
  }

  get now(): Micros {
    return this.scheduler.now;
  }

  addHost(name: string, spec: HostSpec = {}): Host {
    return this.addNode(new Host(this, name, spec));
  }

  addRouter(name: string, spec: NodeSpec = {}): Router {
    return this.addNode(new Router(this, name, spec));
  }

  addNat(name: string, spec: NatSpec): NatRouter {
    this.checkName(name);
    return this.addNode(new NatRouter(this, name, spec, this.rng.fork(`nat:${name}`)));
  }

  node(name: string): Node {
    const n = this.nodes.get(name);
    if (!n) throw new RangeError(`no node ${name}`);
    return n;
  }

  host(name: string): Host {
    const n = this.node(name);
    if (!(n instanceof Host)) throw new RangeError(`${name} is not a host`);
    return n;
  }

  natRouter(name: string): NatRouter {
    const n = this.node(name);
    if (!(n instanceof NatRouter)) throw new RangeError(`${name} is not a NAT`);
    return n;
  }

  link(name: string): Link {
    const l = this.links.get(name);
    if (!l) throw new RangeError(`no link ${name}`);
    return l;
  }

  /** Joins two interfaces ("node.iface") with a link. */
  connect(name: string, a: string, b: string, faults: LinkFaults = {}): Link {
    if (this.links.has(name)) throw new RangeError(`link ${name} exists`);
    const ia = this.resolveIface(a);
    const ib = this.resolveIface(b);
    const l = new Link(this, name, ia, ib, faults, this.rng.fork(`link:${name}`));
    ia.links.push(l);
    ib.links.push(l);
    this.links.set(name, l);
    return l;
  }

  /** Attaches a firewall to a node; packets arriving on `inside` interfaces are outbound. */
  setFirewall(node: string, fw: Firewall, inside: readonly string[] = []): void {
    this.node(node).firewall = { fw, inside: new Set(inside) };
  }

  /** A tap on a link (both directions, as packets arrive). */
  tapLink(link: string, name = link, description?: string): Tap {
    const l = this.link(link);
    const t = this.newTap(name, description ?? `link ${link} (${l.a.fullName} ↔ ${l.b.fullName})`);
    l.taps.push(t);
    return t;
  }

  /** A tap on one side of a NAT: inside shows packets before outbound / after inbound translation, outside the other view. */
  tapNat(nat: string, side: 'inside' | 'outside', name = `${nat}-${side}`, description?: string): Tap {
    const n = this.natRouter(nat);
    const t = this.newTap(name, description ?? `NAT ${nat}, ${side} side`);
    (side === 'inside' ? n.insideTaps : n.outsideTaps).push(t);
    return t;
  }

  /** Plugs an application into a host. */
  attach(host: string, app: HostApplication): void {
    this.host(host).attach(app, this.now);
  }

  /** Reports an inner packet that an application on `host` took out of a tunnel (see the 'deliver' event). */
  deliverInner(host: string, packet: HostReceived, tunnel: string): void {
    this.emit({ type: 'deliver', at: this.now, host, packet, tunnel });
  }

  /** Services a host's application now (after calling into it from outside, e.g. initiate()). */
  wake(host: string): void {
    this.host(host).service(this.now);
  }

  /** Sends a packet from a host now. */
  send(host: string, tx: HostTransmit): void {
    this.host(host).send(tx, this.now);
  }

  setLinkUp(link: string, up: boolean): void {
    this.link(link).setUp(up, this.now);
  }

  /**
   * Calls `listener` with every event from now on, or only those `opts` asks for. What
   * nobody listens to is not built: a packet's 'send' and 'deliver' events, and the NAT
   * records of routine translations, cost nothing in a large run whose listeners do not
   * want them.
   */
  observe(listener: NetworkListener, opts: ObserveOptions = {}): () => void {
    const sub: Subscription = {
      listener,
      types: opts.types === undefined ? undefined : new Set(opts.types),
      everyNatTranslation: opts.everyNatTranslation ?? true,
    };
    this.subscriptions.push(sub);
    this.updateWants();
    return () => {
      const i = this.subscriptions.indexOf(sub);
      if (i >= 0) {
        this.subscriptions.splice(i, 1);
        this.updateWants();
      }
    };
  }

  /** True when some listener takes events of this type. */
  wants(type: NetworkEvent['type']): boolean {
    return this.wanted.has(type);
  }

  /**
   * True when a listener takes every NAT record, including translations through an
   * existing mapping (not only mappings created or lost, drops, flushes and reboots).
   */
  get wantsEveryNatTranslation(): boolean {
    return this.everyNat;
  }

  /**
   * True when the plain-words notes that travel with packets (capture comments) can be
   * seen by anyone: a tap exists, or a listener takes 'send' or 'deliver' events.
   * Applications may skip building them otherwise.
   */
  get wantsNotes(): boolean {
    return this.taps.size > 0 || this.wanted.has('send') || this.wanted.has('deliver');
  }

  private updateWants(): void {
    this.wanted.clear();
    this.everyNat = false;
    for (const s of this.subscriptions) {
      for (const t of s.types ?? ALL_EVENT_TYPES) this.wanted.add(t);
      if (s.everyNatTranslation && (s.types === undefined || s.types.has('nat'))) this.everyNat = true;
    }
  }

  /** Runs the scheduler (see Scheduler.run). */
  run(until?: Micros, maxEvents?: number): ReturnType<Scheduler['run']> {
    return this.scheduler.run(until, maxEvents);
  }

  /** @internal */
  emit(e: NetworkEvent): void {
    if (!this.wanted.has(e.type)) return;
    const routine = e.type === 'nat' && isRoutineTranslation(e.record);
    for (const s of this.subscriptions) {
      if (s.types !== undefined && !s.types.has(e.type)) continue;
      if (routine && !s.everyNatTranslation) continue;
      s.listener(e);
    }
  }

  /** @internal a drop on a link. */
  drop(where: string, reason: DropReason, detail: string, bytes: Uint8Array, now: Micros): void {
    this.emit({ type: 'drop', at: now, where, reason, detail, bytes });
  }

  private newTap(name: string, description: string): Tap {
    if (this.taps.has(name)) throw new RangeError(`tap ${name} exists`);
    const t = new Tap(name, { description, sequence: this.tapSequence });
    this.taps.set(name, t);
    return t;
  }

  private checkName(name: string): void {
    if (this.nodes.has(name)) throw new RangeError(`node ${name} exists`);
  }

  private addNode<N extends Node>(n: N): N {
    this.checkName(n.name);
    this.nodes.set(n.name, n);
    return n;
  }

  private resolveIface(ref: string): Iface {
    const dot = ref.lastIndexOf('.');
    if (dot < 0) throw new RangeError(`interface reference "${ref}" is not node.interface`);
    return this.node(ref.slice(0, dot)).iface(ref.slice(dot + 1));
  }
}
