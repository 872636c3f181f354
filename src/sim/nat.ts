/**
 * NAT devices (RFC 2663, RFC 3022) with the behaviours of RFC 4787, the CGN
 * requirements of RFC 6888 and the updates of RFC 7857. Pure: every call takes `now`;
 * the network node that owns a NatDevice drives expiry from the scheduler.
 *
 * Kinds (all IPv4; IPv6 is not translated, the owning node routes it unchanged):
 *  - static  : 1:1 address bindings from the configuration; permanent, not filtered;
 *              sources without a binding pass untranslated.
 *  - dynamic : Basic NAT: an inside address gets a pool address on its first outbound
 *              packet, ports are kept; the binding expires when idle.
 *  - pat     : NAPT ("overload"): (address, port) mappings for UDP, ICMP echo by identifier.
 *  - twice   : PAT for the source plus destination rules: inside hosts address a remote
 *              as `match`, the NAT rewrites it to `to` (and back on replies).
 *  - cgnat   : PAT for subscribers in the shared address space 100.64.0.0/10 (RFC 6598);
 *              it hands out subscriber addresses from that prefix, uses paired pooling
 *              (RFC 4787 REQ-2, RFC 6888 REQ-2) and can cap mappings per subscriber
 *              (RFC 6888 REQ-4). NAT444 is a home `pat` whose outside is such a subscriber.
 * Static 1:1 bindings and UDP port forwards can be added to any kind.
 *
 * RFC 4787 behaviours, per device:
 *  - mapping (§4.1): endpoint-independent (one mapping per internal endpoint),
 *    address-dependent (one per internal endpoint and remote address),
 *    address-and-port-dependent (one per internal endpoint and remote endpoint).
 *  - filtering (§5) of inbound packets to a mapping: endpoint-independent (anyone),
 *    address-dependent (only remote addresses the internal endpoint sent to through
 *    this mapping), address-and-port-dependent (only remote endpoints it sent to).
 *    Permissions live as long as their mapping.
 *  - port assignment (§4.2): preserve (the internal port when free on the external
 *    address, whatever the range; else as sequential), sequential (next free port in
 *    the range after the last one handed out), random (uniform in the range from the
 *    device's seeded Rng). Optional parity (§4.2.2): the external port has the
 *    internal port's parity. A mapping never shares an external port (no overloading).
 *  - mapping timeout (§4.3, default 120 s for UDP, 60 s ICMP, 120 s ESP ALG bindings):
 *    a mapping last used at T is valid through T + timeout inclusive and gone at
 *    T + timeout + 1 µs. Outbound packets always refresh it; inbound ones only with
 *    `refresh: both`. Expiry is checked on every lookup and by `sweep(now)`.
 *  - hairpinning (§6): an inside host reaching another inside host's mapping through
 *    the external address; the packet comes back with the sender's external endpoint
 *    as source, and the target mapping's filtering applies to that endpoint.
 *  - reboot loses every dynamic mapping and restarts the port choices (sequential
 *    cursor back to the start of the range, random from a new seeded stream);
 *    flush loses the mappings only. Static bindings and forwards survive both.
 *  - limits: `maxMappings` overall, `maxMappingsPerHost` per inside address.
 *
 * ESP (IP protocol 50) has no ports. Basic and static NAT translate it like any packet
 * (address only). A PAT drops it (counted, reason 'esp-no-alg') unless the optional
 * ESP ALG ("IPsec passthrough") is on. The ALG here binds (external address, remote
 * address) to the first inside host that sent ESP to that remote, recording the
 * outbound SPIs it saw; inbound ESP from that remote goes to the bound host whatever
 * its SPI. Keying inbound by SPI is not possible: the inbound SPI is chosen by the
 * inside host inside encrypted IKE, so a NAT could only guess it. Consequence, as on
 * real passthrough routers: one client works; a second inside host sending ESP to the
 * same remote is translated, but the replies keep going to the first host, so the
 * second tunnel breaks (the record says so).
 *
 * Checksums: the IPv4 header checksum is recomputed; UDP and ICMP checksums are
 * adjusted incrementally (RFC 1624), and a zero UDP checksum (none sent) stays zero.
 * ICMP errors (destination unreachable, time exceeded) arriving from outside about a
 * translated packet are translated back (outer destination, embedded header) per
 * RFC 5508; other ICMP from inside than echo requests is dropped by a PAT.
 */
import {
  formatEndpoint,
  formatIp,
  formatPrefix,
  ipEquals,
  parsePrefix,
  prefixContains,
  type Endpoint,
  type IpAddress,
  type Prefix,
} from '../core/addr.ts';
import { onesComplementSum } from '../core/bytes.ts';
import type { Rng } from '../core/rng.ts';
import { seconds, type Micros } from '../core/time.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { ipv4HeaderChecksum } from '../wire/ipv4.ts';
import { adjustChecksum, adjustChecksumWord, readU16, writeU16 } from './checksum.ts';
import { copyPacketBytes, formatSpan, hex32, ICMP_TYPE, ipv4HeaderChecksumAt, parsePacket, protocolName, type PacketInfo } from './packet.ts';

export const NAT_KIND = {
  STATIC: 'static',
  DYNAMIC: 'dynamic',
  PAT: 'pat',
  TWICE: 'twice',
  CGNAT: 'cgnat',
} as const;
export type NatKind = (typeof NAT_KIND)[keyof typeof NAT_KIND];

export const NAT_BEHAVIOUR = {
  ENDPOINT_INDEPENDENT: 'endpoint-independent',
  ADDRESS_DEPENDENT: 'address-dependent',
  ADDRESS_AND_PORT_DEPENDENT: 'address-and-port-dependent',
} as const;
export type NatBehaviour = (typeof NAT_BEHAVIOUR)[keyof typeof NAT_BEHAVIOUR];

export const PORT_ASSIGNMENT = { PRESERVE: 'preserve', SEQUENTIAL: 'sequential', RANDOM: 'random' } as const;
export type PortAssignment = (typeof PORT_ASSIGNMENT)[keyof typeof PORT_ASSIGNMENT];

export const NAT_REFRESH = { OUTBOUND: 'outbound', BOTH: 'both' } as const;
export type NatRefresh = (typeof NAT_REFRESH)[keyof typeof NAT_REFRESH];

/** RFC 6598 shared address space, the inside of a CGN. */
export const SHARED_ADDRESS_SPACE: Prefix = parsePrefix('100.64.0.0/10');

export const DEFAULT_UDP_TIMEOUT: Micros = seconds(120);
export const DEFAULT_ICMP_TIMEOUT: Micros = seconds(60);
export const DEFAULT_ESP_TIMEOUT: Micros = seconds(120);
export const DEFAULT_PORT_RANGE = { from: 1024, to: 65535 } as const;

export const NAT_DROP = {
  NO_MAPPING: 'no-mapping',
  FILTERED: 'filtered',
  ESP_NO_ALG: 'esp-no-alg',
  NO_PORTS: 'no-ports',
  UNSUPPORTED_PROTOCOL: 'unsupported-protocol',
  HAIRPIN_OFF: 'hairpin-off',
  TABLE_FULL: 'table-full',
  HOST_LIMIT: 'host-limit',
  PORTS_EXHAUSTED: 'ports-exhausted',
  POOL_EXHAUSTED: 'pool-exhausted',
  FRAGMENT: 'fragment',
  MALFORMED: 'malformed',
} as const;
export type NatDropReason = (typeof NAT_DROP)[keyof typeof NAT_DROP];

export interface NatTimeouts {
  readonly udp: Micros;
  readonly icmp: Micros;
  readonly esp: Micros;
}

export interface StaticBinding {
  readonly inside: IpAddress;
  readonly outside: IpAddress;
}

/** A permanent UDP mapping: externalAddress:port ⇄ inside (not filtered). */
export interface PortForward {
  readonly port: number;
  readonly inside: Endpoint;
  /** Default: the first external address. */
  readonly externalAddress?: IpAddress;
}

/** Twice NAT: inside hosts send to `match`; the NAT rewrites it to `to`, and `to` back to `match` on replies. */
export interface DestinationRule {
  readonly match: IpAddress;
  readonly to: IpAddress;
}

export interface NatConfig {
  readonly name: string;
  readonly kind: NatKind;
  /** External address pool (the outside interface address for a single-address PAT). */
  readonly external: readonly IpAddress[];
  readonly mapping?: NatBehaviour;
  readonly filtering?: NatBehaviour;
  readonly portAssignment?: PortAssignment;
  readonly portRange?: { readonly from: number; readonly to: number };
  readonly portParity?: boolean;
  readonly timeouts?: Partial<NatTimeouts>;
  readonly refresh?: NatRefresh;
  readonly hairpinning?: boolean;
  readonly maxMappings?: number;
  readonly maxMappingsPerHost?: number;
  readonly espAlg?: boolean;
  readonly static?: readonly StaticBinding[];
  readonly forwards?: readonly PortForward[];
  readonly destinations?: readonly DestinationRule[];
  /** Sources translated; others pass unchanged. Default: any (cgnat: its subscriber prefix). */
  readonly inside?: readonly Prefix[];
  /** cgnat: where subscriber addresses come from (default 100.64.0.0/10). */
  readonly subscriberPrefix?: Prefix;
}

type MappedProtocol = 'udp' | 'icmp';

interface PortMapping {
  readonly type: 'port';
  readonly id: number;
  readonly protocol: MappedProtocol;
  readonly internal: Endpoint;
  readonly external: Endpoint;
  /** The remote the mapping was created for (its key under ADM / APDM). */
  readonly remote: Endpoint;
  readonly behaviour: NatBehaviour;
  readonly outKey: Key;
  readonly inKey: Key;
  /** Remote addresses and endpoints it sent to (filtering); made on first use. */
  permittedAddrs: Set<Key> | undefined;
  permittedEndpoints: Set<Key> | undefined;
  readonly createdAt: Micros;
  lastUsedAt: Micros;
  readonly permanent: boolean;
  /** Set when removed (the expiry queue drops it then). */
  gone?: boolean;
}

interface AddressBinding {
  readonly type: 'address';
  readonly id: number;
  readonly internal: IpAddress;
  readonly external: IpAddress;
  /** Remote addresses and endpoints it sent to (filtering); made on first use. */
  permittedAddrs: Set<Key> | undefined;
  permittedEndpoints: Set<Key> | undefined;
  readonly createdAt: Micros;
  lastUsedAt: Micros;
  readonly permanent: boolean;
  gone?: boolean;
}

interface EspBinding {
  readonly type: 'esp';
  readonly id: number;
  readonly internal: IpAddress;
  readonly external: IpAddress;
  readonly remote: IpAddress;
  readonly spis: number[];
  readonly createdAt: Micros;
  lastUsedAt: Micros;
  readonly permanent: false;
  gone?: boolean;
}

type Entry = PortMapping | AddressBinding | EspBinding;

/** A mapping as shown to tests, reports and comments. */
export interface MappingView {
  readonly id: number;
  readonly type: 'port' | 'address' | 'esp';
  /** 'udp', 'icmp', 'esp', or 'any' for address bindings. */
  readonly protocol: string;
  readonly internal: string;
  readonly external: string;
  /** The remote an ADM/APDM mapping or an ESP binding is tied to. */
  readonly remote?: string;
  readonly createdAt: Micros;
  readonly lastUsedAt: Micros;
  /** Last instant it is valid; undefined for permanent ones. */
  readonly expiresAt?: Micros;
  readonly permanent: boolean;
}

export const NAT_RECORD_KIND = {
  TRANSLATE: 'translate',
  PASS: 'pass',
  DROP: 'drop',
  EXPIRE: 'expire',
  FLUSH: 'flush',
  REBOOT: 'reboot',
} as const;
export type NatRecordKind = (typeof NAT_RECORD_KIND)[keyof typeof NAT_RECORD_KIND];

export type MappingState = 'created' | 'refreshed' | 'used' | 'expired' | 'static' | 'conflict';

/** One structured step of a NAT, for logs, reports and capture comments. */
export interface NatRecord {
  readonly at: Micros;
  readonly nat: string;
  readonly kind: NatRecordKind;
  readonly direction?: 'outbound' | 'inbound' | 'hairpin';
  readonly protocol?: string;
  /** "src → dst" before and after, as endpoints (or addresses for ESP). */
  readonly before?: { readonly src: string; readonly dst: string };
  readonly after?: { readonly src: string; readonly dst: string };
  readonly mapping?: MappingView;
  readonly mappingState?: MappingState;
  readonly reason?: NatDropReason;
  readonly comment: string;
}

/** How `outbound` / `inbound` are called from a network node. */
export interface TranslateOptions {
  /** The packet as parsePacket read it, when the caller has done so already. */
  readonly info?: PacketInfo;
  /**
   * false: a translation through an existing mapping (state refreshed, used or static)
   * comes back without a record and with an empty comment, because nobody will read
   * them; everything else is described as usual. Default true.
   */
  readonly describe?: boolean;
}

export type NatResult =
  | { readonly verdict: 'forward'; readonly packet: Uint8Array; readonly hairpin: boolean; readonly records: NatRecord[]; readonly comment: string }
  | { readonly verdict: 'drop'; readonly reason: NatDropReason; readonly records: NatRecord[]; readonly comment: string }
  /** Not for this NAT (IPv6, inbound to an address it does not own, a source outside `inside`). */
  | { readonly verdict: 'pass'; readonly records: NatRecord[]; readonly comment: string };

export interface NatCounters {
  translatedOut: number;
  translatedIn: number;
  hairpinned: number;
  passed: number;
  created: number;
  refreshed: number;
  expired: number;
  dropped: number;
  readonly drops: Partial<Record<NatDropReason, number>>;
}

/** Map key of an address: a number for IPv4 (the 32 bits, signed: kept unboxed), text otherwise. */
const addrKey = (a: IpAddress): number | string => {
  const b = a.bytes;
  return a.family === 4 ? (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]! : formatIp(a);
};
/** Map key of an endpoint (an IPv4 one is the number address * 65536 + port). */
const epId = (e: Endpoint): number | string => {
  const a = addrKey(e.addr);
  return typeof a === 'number' ? a * 65536 + e.port : `${a}|${e.port}`;
};
/** Map key of a protocol's endpoint. */
const protoEpId = (proto: MappedProtocol, e: Endpoint): number | string => {
  const k = epId(e);
  return typeof k === 'number' ? k * 2 + (proto === 'udp' ? 0 : 1) : `${proto}|${k}`;
};
/** An endpoint in words ("192.0.2.1:4500"). */
const epKey = (e: Endpoint): string => formatEndpoint(e);

type Key = number | string;

interface Rewrite {
  src?: IpAddress;
  srcPort?: number;
  dst?: IpAddress;
  dstPort?: number;
  /** ICMP echo identifier. */
  icmpId?: number;
}

export class NatDevice {
  readonly name: string;
  readonly kind: NatKind;
  readonly mappingBehaviour: NatBehaviour;
  readonly filteringBehaviour: NatBehaviour;
  readonly portAssignment: PortAssignment;
  readonly portRange: { readonly from: number; readonly to: number };
  readonly portParity: boolean;
  readonly refresh: NatRefresh;
  readonly hairpinning: boolean;
  readonly espAlg: boolean;
  readonly maxMappings: number;
  readonly maxMappingsPerHost: number;
  readonly external: readonly IpAddress[];
  readonly counters: NatCounters = {
    translatedOut: 0,
    translatedIn: 0,
    hairpinned: 0,
    passed: 0,
    created: 0,
    refreshed: 0,
    expired: 0,
    dropped: 0,
    drops: {},
  };
  private timeoutsValue: NatTimeouts;
  private readonly insidePrefixes: readonly Prefix[] | undefined;
  private readonly subscriberPrefix: Prefix;
  private readonly destinations: readonly DestinationRule[];
  /** Set by mappingFor: whether the mapping it returned was made by that call. */
  private mappingCreated = false;
  private readonly staticByInside = new Map<Key, AddressBinding>();
  private readonly staticByOutside = new Map<Key, AddressBinding>();
  private readonly ownedExternal = new Set<Key>();

  private rng: Rng;
  private boots = 0;
  private nextId = 1;
  private readonly outMap = new Map<Key, PortMapping>();
  private readonly inMap = new Map<Key, PortMapping>();
  private readonly usedPorts = new Map<string, Set<number>>();
  private readonly cursors = new Map<string, number>();
  private readonly bindingsByInside = new Map<Key, AddressBinding>();
  private readonly bindingsByOutside = new Map<Key, AddressBinding>();
  private readonly espBindings = new Map<string, EspBinding>();
  /** Paired pooling: the external address each inside host uses, with a use count. */
  private readonly hostAddress = new Map<Key, { addr: IpAddress; refs: number }>();
  private readonly perHost = new Map<Key, number>();
  private poolCursor = 0;
  private dynamicCount = 0;
  private subscriberNext = 1;
  private readonly subscribersTaken = new Set<Key>();
  /**
   * Expiry queue of the dynamic entries: a binary min-heap of (expiry, entry). A key may
   * be older than the entry's expiry (it was used since): such a head is re-queued at its
   * real expiry when met. Keys are never later than the real expiry, so the head, once
   * checked, is the soonest; rebuilt when a timeout changes.
   */
  private readonly expiryKeys: number[] = [];
  private readonly expiryEntries: Entry[] = [];
  /** Translations through an existing mapping describe themselves (records, comment); see TranslateOptions. */
  private describing = true;

  constructor(
    cfg: NatConfig,
    private readonly baseRng: Rng,
  ) {
    this.name = cfg.name;
    this.kind = cfg.kind;
    this.mappingBehaviour = cfg.mapping ?? 'endpoint-independent';
    this.filteringBehaviour = cfg.filtering ?? 'address-and-port-dependent';
    this.portAssignment = cfg.portAssignment ?? 'preserve';
    this.portRange = cfg.portRange ?? DEFAULT_PORT_RANGE;
    this.portParity = cfg.portParity ?? false;
    this.refresh = cfg.refresh ?? 'outbound';
    this.hairpinning = cfg.hairpinning ?? true;
    this.espAlg = cfg.espAlg ?? false;
    this.maxMappings = cfg.maxMappings ?? Infinity;
    this.maxMappingsPerHost = cfg.maxMappingsPerHost ?? Infinity;
    this.timeoutsValue = {
      udp: cfg.timeouts?.udp ?? DEFAULT_UDP_TIMEOUT,
      icmp: cfg.timeouts?.icmp ?? DEFAULT_ICMP_TIMEOUT,
      esp: cfg.timeouts?.esp ?? DEFAULT_ESP_TIMEOUT,
    };
    this.subscriberPrefix = cfg.subscriberPrefix ?? SHARED_ADDRESS_SPACE;
    this.insidePrefixes = cfg.inside ?? (cfg.kind === 'cgnat' ? [this.subscriberPrefix] : undefined);
    this.destinations = cfg.destinations ?? [];
    this.external = cfg.external.map((a) => ({ family: a.family, bytes: a.bytes.slice() }));
    this.rng = baseRng;
    const { from, to } = this.portRange;
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 1 && to <= 65535 && from <= to)) {
      throw new RangeError(`NAT ${this.name}: bad port range ${from}-${to}`);
    }
    if (this.portParity && from === to) throw new RangeError(`NAT ${this.name}: port parity needs a range of at least two ports`);
    for (const a of this.external) {
      if (a.family !== 4) throw new RangeError(`NAT ${this.name}: external address ${formatIp(a)} is not IPv4`);
      this.ownedExternal.add(addrKey(a));
    }
    if (cfg.kind !== 'static' && this.external.length === 0) throw new RangeError(`NAT ${this.name}: a ${cfg.kind} NAT needs at least one external address`);
    if (cfg.kind === 'twice' && this.destinations.length === 0) throw new RangeError(`NAT ${this.name}: a twice NAT needs destination rules`);
    for (const s of cfg.static ?? []) {
      const b: AddressBinding = {
        type: 'address',
        id: this.nextId++,
        internal: s.inside,
        external: s.outside,
        permittedAddrs: undefined,
        permittedEndpoints: undefined,
        createdAt: 0,
        lastUsedAt: 0,
        permanent: true,
      };
      this.staticByInside.set(addrKey(s.inside), b);
      this.staticByOutside.set(addrKey(s.outside), b);
      this.ownedExternal.add(addrKey(s.outside));
    }
    if (cfg.kind === 'static' && this.staticByInside.size === 0) throw new RangeError(`NAT ${this.name}: a static NAT needs static bindings`);
    for (const f of cfg.forwards ?? []) {
      const ext: Endpoint = { addr: f.externalAddress ?? this.external[0]!, port: f.port };
      if (!ext.addr) throw new RangeError(`NAT ${this.name}: a port forward needs an external address`);
      this.ownedExternal.add(addrKey(ext.addr));
      const m: PortMapping = {
        type: 'port',
        id: this.nextId++,
        protocol: 'udp',
        internal: f.inside,
        external: ext,
        remote: { addr: ext.addr, port: 0 },
        behaviour: 'endpoint-independent',
        outKey: this.outKey('udp', f.inside, undefined),
        inKey: protoEpId('udp', ext),
        permittedAddrs: undefined,
        permittedEndpoints: undefined,
        createdAt: 0,
        lastUsedAt: 0,
        permanent: true,
      };
      this.outMap.set(m.outKey, m);
      this.inMap.set(m.inKey, m);
      this.ports('udp', ext.addr).add(f.port);
    }
  }

  get timeouts(): NatTimeouts {
    return this.timeoutsValue;
  }

  /** Changes a timeout; existing mappings expire by the new value from their last use. */
  setMappingTimeout(protocol: keyof NatTimeouts, us: Micros): void {
    if (!Number.isSafeInteger(us) || us < 0) throw new RangeError(`NAT ${this.name}: bad ${protocol} timeout ${us}`);
    this.timeoutsValue = { ...this.timeoutsValue, [protocol]: us };
    this.rebuildExpiryQueue();
  }

  /** True for an address this NAT answers for on its outside (pool, static bindings, forwards). */
  ownsAddress(a: IpAddress): boolean {
    return a.family === 4 && this.ownedExternal.has(addrKey(a));
  }

  /** cgnat: the next free subscriber address from the shared prefix (x.x.x.1 first). */
  allocateSubscriberAddress(): IpAddress {
    const p = this.subscriberPrefix;
    const size = 2 ** (32 - p.length);
    const base = ((p.addr.bytes[0]! << 24) >>> 0) + (p.addr.bytes[1]! << 16) + (p.addr.bytes[2]! << 8) + p.addr.bytes[3]!;
    while (this.subscriberNext < size - 1) {
      const v = base + this.subscriberNext++;
      const a: IpAddress = { family: 4, bytes: Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff) };
      if (!this.subscribersTaken.has(addrKey(a))) {
        this.subscribersTaken.add(addrKey(a));
        return a;
      }
    }
    throw new RangeError(`NAT ${this.name}: no subscriber address left in ${formatPrefix(p)}`);
  }

  /** cgnat: marks a subscriber-prefix address as in use (e.g. the CGN's own inside address). */
  reserveSubscriberAddress(a: IpAddress): void {
    this.subscribersTaken.add(addrKey(a));
  }

  get subscriberSpace(): Prefix {
    return this.subscriberPrefix;
  }

  // ---------------------------------------------------------------- translation

  /** A packet arriving on an inside interface (a whole IPv4 datagram). */
  outbound(packet: Uint8Array, now: Micros, opts: TranslateOptions = {}): NatResult {
    const records: NatRecord[] = [];
    this.describing = opts.describe ?? true;
    const info = opts.info ?? this.parse(packet);
    if (typeof info === 'string') return this.drop(records, now, 'outbound', undefined, 'malformed', `malformed packet (${info})`);
    if (info.family !== 4) return this.pass(records, 'IPv6 is not translated');
    if (info.fragment) return this.drop(records, now, 'outbound', info, 'fragment', 'a fragment reached the translator (fragments are reassembled first)');
    if (this.insidePrefixes && !containsAny(this.insidePrefixes, info.src)) {
      return this.pass(records, `source ${formatIp(info.src)} is not an inside address of this NAT`);
    }
    // Twice NAT: the destination the inside host used becomes the real one.
    const rule = this.destinations.length === 0 ? undefined : this.destinations.find((d) => ipEquals(d.match, info.dst));
    const dst = rule ? rule.to : info.dst;
    const hairpin = this.ownsAddress(dst);
    if (hairpin && !this.hairpinning) {
      return this.drop(records, now, 'outbound', info, 'hairpin-off', `${this.flowText(info)}: the destination is this NAT's own external address and hairpinning is off`);
    }
    const out = this.translateSource(info, dst, rule !== undefined, now, records);
    if (out.verdict !== 'forward') return out;
    if (!hairpin) {
      this.counters.translatedOut++;
      return out;
    }
    // Hairpin: the translated packet turns around as if it had arrived from outside.
    const back = this.inbound(out.packet, now, true, { describe: this.describing });
    records.push(...back.records.filter((r) => !records.includes(r)));
    if (back.verdict !== 'forward') return { ...back, records };
    this.counters.hairpinned++;
    return { verdict: 'forward', packet: back.packet, hairpin: true, records, comment: `${out.comment}; then hairpinned: ${back.comment}` };
  }

  /** A packet arriving on the outside interface. */
  inbound(packet: Uint8Array, now: Micros, hairpin = false, opts: TranslateOptions = {}): NatResult {
    const records: NatRecord[] = [];
    const direction = hairpin ? 'hairpin' : 'inbound';
    this.describing = opts.describe ?? true;
    const info = opts.info ?? this.parse(packet);
    if (typeof info === 'string') return this.drop(records, now, direction, undefined, 'malformed', `malformed packet (${info})`);
    if (info.family !== 4) return this.pass(records, 'IPv6 is not translated');
    if (!this.ownsAddress(info.dst)) return this.pass(records, `${formatIp(info.dst)} is not an address of this NAT`);
    if (info.fragment) return this.drop(records, now, direction, info, 'fragment', 'a fragment reached the translator (fragments are reassembled first)');
    const reverse = this.destinations.length === 0 ? undefined : this.destinations.find((d) => ipEquals(d.to, info.src));
    const srcAfter = reverse ? reverse.match : undefined;

    const st = this.staticByOutside.get(addrKey(info.dst));
    if (st) {
      return this.forwardIn(records, now, direction, info, { dst: st.internal, ...(srcAfter ? { src: srcAfter } : {}) }, st, 'static', 'static 1:1 binding');
    }
    const p = info.protocol;
    if (p === IP_PROTOCOL.ICMP && (info.icmpType === ICMP_TYPE.DEST_UNREACHABLE || info.icmpType === ICMP_TYPE.TIME_EXCEEDED)) {
      return this.icmpErrorIn(records, now, direction, info);
    }
    if (this.kind === 'dynamic') {
      const b = this.lookupBinding(info.dst, now, records);
      if (!b) return this.drop(records, now, direction, info, 'no-mapping', `${this.flowText(info)}: no address binding for ${formatIp(info.dst)}`);
      const remote: Endpoint = { addr: info.src, port: info.srcPort ?? 0 };
      const filtered = this.filterVerdict(b, remote, p === IP_PROTOCOL.UDP);
      if (filtered) return this.drop(records, now, direction, info, 'filtered', `${this.flowText(info)}: filtered (${filtered})`);
      const state = this.touchInbound(b, now);
      return this.forwardIn(records, now, direction, info, { dst: b.internal, ...(srcAfter ? { src: srcAfter } : {}) }, b, state, this.expiryText(b, now));
    }
    if (p === IP_PROTOCOL.UDP || (p === IP_PROTOCOL.ICMP && info.icmpType === ICMP_TYPE.ECHO_REPLY)) {
      const proto: MappedProtocol = p === IP_PROTOCOL.UDP ? 'udp' : 'icmp';
      const port = proto === 'udp' ? info.dstPort : icmpId(info);
      if (port === undefined) return this.drop(records, now, direction, info, 'malformed', 'truncated header');
      const ext: Endpoint = { addr: info.dst, port };
      const m = this.lookupIn(proto, ext, now, records);
      if (!m) {
        const expired = records.find((r) => r.kind === 'expire');
        return this.drop(
          records,
          now,
          direction,
          info,
          'no-mapping',
          `${this.flowText(info)}: no mapping for ${epKey(ext)}${expired?.mapping ? ` (mapping ${expired.mapping.id} expired after ${formatSpan(now - expired.mapping.lastUsedAt)} idle)` : ''}`,
        );
      }
      const remote: Endpoint = { addr: info.src, port: proto === 'udp' ? info.srcPort! : 0 };
      const filtered = m.permanent ? undefined : this.filterVerdict(m, remote, proto === 'udp');
      if (filtered) return this.drop(records, now, direction, info, 'filtered', `${this.flowText(info)}: filtered (${filtered})`, m);
      const state = m.permanent ? 'static' : this.touchInbound(m, now);
      const rw: Rewrite = proto === 'udp' ? { dst: m.internal.addr, dstPort: m.internal.port } : { dst: m.internal.addr, icmpId: m.internal.port };
      if (srcAfter) rw.src = srcAfter;
      return this.forwardIn(records, now, direction, info, rw, m, state, !this.describing ? '' : m.permanent ? 'port forward' : this.expiryText(m, now));
    }
    if (p === IP_PROTOCOL.ESP && this.espAlg) {
      const b = this.lookupEsp(info.dst, info.src, now, records);
      if (!b) return this.drop(records, now, direction, info, 'no-mapping', `${this.flowText(info)}: ESP ALG has no binding for remote ${formatIp(info.src)}`);
      const state = this.touchInbound(b, now);
      return this.forwardIn(
        records,
        now,
        direction,
        info,
        { dst: b.internal, ...(srcAfter ? { src: srcAfter } : {}) },
        b,
        state,
        `ESP ALG: remote ${formatIp(b.remote)} is bound to ${formatIp(b.internal)}, SPI ${hex32(info.spi ?? 0)}, ${this.expiryText(b, now)}`,
      );
    }
    if (p === IP_PROTOCOL.ESP) {
      return this.drop(records, now, direction, info, 'esp-no-alg', `ESP dropped: this PAT has no ESP ALG and ESP has no ports to translate (${this.flowText(info)})`);
    }
    return this.drop(records, now, direction, info, 'unsupported-protocol', `${this.flowText(info)}: ${protocolName(p)} is not translated by this NAT`);
  }

  // ---------------------------------------------------------------- expiry, reboot

  /** Expires every mapping idle past its timeout at `now`; records in expiry order. */
  sweep(now: Micros): NatRecord[] {
    const due: Entry[] = [];
    for (let t = this.nextExpiryAt(); t !== undefined && now > t; t = this.nextExpiryAt()) due.push(this.popExpiry());
    due.sort((a, b) => this.expiresAt(a) - this.expiresAt(b) || a.id - b.id);
    return due.map((e) => this.expire(e, now));
  }

  /** The last instant the soonest-expiring mapping is valid (sweep one µs later). */
  nextExpiryAt(): Micros | undefined {
    const keys = this.expiryKeys;
    const ents = this.expiryEntries;
    while (keys.length > 0) {
      const e = ents[0]!;
      if (e.gone) {
        this.popExpiry();
        continue;
      }
      const t = this.expiresAt(e);
      if (t === keys[0]) return t;
      // Used since it was queued: back in at its real expiry.
      this.popExpiry();
      this.pushExpiry(e);
    }
    return undefined;
  }

  private pushExpiry(e: Entry): void {
    const keys = this.expiryKeys;
    const ents = this.expiryEntries;
    const t = this.expiresAt(e);
    let i = keys.length;
    keys.push(t);
    ents.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= t) break;
      keys[i] = keys[p]!;
      ents[i] = ents[p]!;
      i = p;
    }
    keys[i] = t;
    ents[i] = e;
  }

  private popExpiry(): Entry {
    const keys = this.expiryKeys;
    const ents = this.expiryEntries;
    const top = ents[0]!;
    const lastKey = keys.pop()!;
    const lastEnt = ents.pop()!;
    const n = keys.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
        if (keys[c]! >= lastKey) break;
        keys[i] = keys[c]!;
        ents[i] = ents[c]!;
        i = c;
      }
      keys[i] = lastKey;
      ents[i] = lastEnt;
    }
    return top;
  }

  private rebuildExpiryQueue(): void {
    this.expiryKeys.length = 0;
    this.expiryEntries.length = 0;
    for (const e of this.entries()) if (!e.permanent) this.pushExpiry(e);
  }

  /** Loses every dynamic mapping; with `reboot`, port choices restart too. */
  flush(now: Micros, reboot = false): NatRecord {
    const lost = this.dynamicCount;
    for (const m of [...this.outMap.values()]) if (!m.permanent) this.remove(m);
    for (const b of [...this.bindingsByInside.values()]) this.remove(b);
    for (const b of [...this.espBindings.values()]) this.remove(b);
    this.hostAddress.clear();
    this.perHost.clear();
    this.dynamicCount = 0;
    this.expiryKeys.length = 0;
    this.expiryEntries.length = 0;
    if (reboot) {
      this.boots++;
      this.cursors.clear();
      this.poolCursor = 0;
      this.rng = this.baseRng.fork(`reboot-${this.boots}`);
    }
    const comment = reboot
      ? `NAT ${this.name} rebooted: ${lost} mapping${lost === 1 ? '' : 's'} lost, port choices start over`
      : `NAT ${this.name}: mappings flushed, ${lost} lost`;
    return { at: now, nat: this.name, kind: reboot ? 'reboot' : 'flush', comment };
  }

  reboot(now: Micros): NatRecord {
    return this.flush(now, true);
  }

  /** Every mapping and binding, dynamic and permanent, in creation order. */
  mappings(): MappingView[] {
    return [...this.entries()].sort((a, b) => a.id - b.id).map((e) => this.view(e));
  }

  /** Dynamic mappings currently held. */
  get size(): number {
    return this.dynamicCount;
  }

  // ---------------------------------------------------------------- outbound details

  private translateSource(info: PacketInfo, dst: IpAddress, twice: boolean, now: Micros, records: NatRecord[]): NatResult {
    const p = info.protocol;
    const st = this.staticByInside.get(addrKey(info.src));
    if (st) {
      this.permit(st, { addr: dst, port: info.dstPort ?? 0 });
      return this.forwardOut(records, now, info, srcRewrite(twice, dst, st.external), st, 'static', 'static 1:1 binding');
    }
    if (this.kind === 'static') return this.pass(records, `${formatIp(info.src)} has no static binding`);
    if (this.kind === 'dynamic') {
      const got = this.bindingFor(info.src, now, records);
      if (typeof got === 'string') return this.drop(records, now, 'outbound', info, got, this.limitText(got, info.src));
      const { binding, created } = got;
      this.permit(binding, { addr: dst, port: info.dstPort ?? 0 });
      const state = created ? 'created' : this.touchOutbound(binding, now);
      const how = created ? `new address binding from the pool, ports kept, ${this.expiryText(binding, now)}` : `binding refreshed, ${this.expiryText(binding, now)}`;
      return this.forwardOut(records, now, info, srcRewrite(twice, dst, binding.external), binding, state, how);
    }
    // PAT kinds.
    if (p === IP_PROTOCOL.UDP || (p === IP_PROTOCOL.ICMP && info.icmpType === ICMP_TYPE.ECHO_REQUEST)) {
      const proto: MappedProtocol = p === IP_PROTOCOL.UDP ? 'udp' : 'icmp';
      const port = proto === 'udp' ? info.srcPort : icmpId(info);
      if (port === undefined || (proto === 'udp' && info.dstPort === undefined)) return this.drop(records, now, 'outbound', info, 'malformed', 'truncated header');
      const internal: Endpoint = { addr: info.src, port };
      const remote: Endpoint = { addr: dst, port: proto === 'udp' ? info.dstPort! : 0 };
      const m = this.mappingFor(proto, internal, remote, now, records);
      if (typeof m === 'string') return this.drop(records, now, 'outbound', info, m, this.limitText(m, info.src));
      const created = this.mappingCreated;
      this.permit(m, remote);
      const state = created ? 'created' : this.touchOutbound(m, now);
      const how = !this.describing && !created
        ? ''
        : m.permanent
        ? 'port forward'
        : created
          ? `new mapping, ${m.behaviour}, ${this.expiryText(m, now)}`
          : `mapping refreshed, ${this.expiryText(m, now)}`;
      const rw: Rewrite = proto === 'udp' ? { src: m.external.addr, srcPort: m.external.port } : { src: m.external.addr, icmpId: m.external.port };
      if (twice) rw.dst = dst;
      return this.forwardOut(records, now, info, rw, m, state, how);
    }
    if (p === IP_PROTOCOL.ESP) {
      if (!this.espAlg) {
        return this.drop(records, now, 'outbound', info, 'esp-no-alg', `ESP dropped: this PAT has no ESP ALG and ESP has no ports to translate (${this.flowText(info)})`);
      }
      return this.espOut(info, dst, twice ? { dst } : {}, now, records);
    }
    if (p === IP_PROTOCOL.AH) {
      return this.drop(records, now, 'outbound', info, 'no-ports', `AH dropped: AH has no ports to translate, and its integrity check covers the addresses a NAT would change (${this.flowText(info)})`);
    }
    return this.drop(records, now, 'outbound', info, 'unsupported-protocol', `${this.flowText(info)}: ${protocolName(p)}${p === IP_PROTOCOL.ICMP ? ` type ${info.icmpType}` : ''} is not translated by this PAT`);
  }

  private espOut(info: PacketInfo, dst: IpAddress, dstRewrite: Rewrite, now: Micros, records: NatRecord[]): NatResult {
    const ext = this.addressForHost(info.src);
    if (!ext) return this.drop(records, now, 'outbound', info, 'pool-exhausted', 'no external address available');
    const existing = this.lookupEsp(ext, dst, now, records);
    const spi = info.spi ?? 0;
    if (existing && !ipEquals(existing.internal, info.src)) {
      // The binding is not replaced: replies keep going to the first host.
      const conflict = `ESP ALG: remote ${formatIp(dst)} is already bound to ${formatIp(existing.internal)}; replies from it will go to ${formatIp(existing.internal)}, not to ${formatIp(info.src)} (SPI ${hex32(spi)})`;
      this.releaseHostAddress(info.src);
      return this.forwardOut(records, now, info, { ...dstRewrite, src: existing.external }, existing, 'conflict', conflict);
    }
    if (existing) {
      this.releaseHostAddress(info.src);
      if (!existing.spis.includes(spi)) existing.spis.push(spi);
      const state = this.touchOutbound(existing, now);
      return this.forwardOut(records, now, info, { ...dstRewrite, src: existing.external }, existing, state, `ESP ALG binding refreshed, SPI ${hex32(spi)}, ${this.expiryText(existing, now)}`);
    }
    const limit = this.checkLimits(info.src);
    if (limit) {
      this.releaseHostAddress(info.src);
      return this.drop(records, now, 'outbound', info, limit, this.limitText(limit, info.src));
    }
    const b: EspBinding = {
      type: 'esp',
      id: this.nextId++,
      internal: info.src,
      external: ext,
      remote: dst,
      spis: [spi],
      createdAt: now,
      lastUsedAt: now,
      permanent: false,
    };
    this.espBindings.set(`${addrKey(ext)}|${addrKey(dst)}`, b);
    this.countNew(info.src);
    this.pushExpiry(b);
    return this.forwardOut(
      records,
      now,
      info,
      { ...dstRewrite, src: ext },
      b,
      'created',
      `ESP ALG: new binding for remote ${formatIp(dst)}, SPI ${hex32(spi)}, ${this.expiryText(b, now)}`,
    );
  }

  private mappingFor(
    proto: MappedProtocol,
    internal: Endpoint,
    remote: Endpoint,
    now: Micros,
    records: NatRecord[],
  ): PortMapping | NatDropReason {
    this.mappingCreated = false;
    const key = this.outKey(proto, internal, remote);
    let m = this.outMap.get(key);
    if (!m) {
      // A port forward answers for its inside endpoint whatever the behaviour.
      const fwd = this.outMap.get(this.outKey(proto, internal, undefined));
      if (fwd?.permanent) m = fwd;
    }
    if (m && !m.permanent && now > this.expiresAt(m)) {
      records.push(this.expire(m, now));
      m = undefined;
    }
    if (m) return m;
    const limit = this.checkLimits(internal.addr);
    if (limit) return limit;
    const ext = this.addressForHost(internal.addr);
    if (!ext) return 'pool-exhausted';
    const port = this.allocatePort(proto, ext, internal.port);
    if (port === undefined) {
      this.releaseHostAddress(internal.addr);
      return 'ports-exhausted';
    }
    const external: Endpoint = { addr: ext, port };
    const created: PortMapping = {
      type: 'port',
      id: this.nextId++,
      protocol: proto,
      internal: { addr: internal.addr, port: internal.port },
      external,
      remote,
      behaviour: this.mappingBehaviour,
      outKey: key,
      inKey: protoEpId(proto, external),
      permittedAddrs: undefined,
      permittedEndpoints: undefined,
      createdAt: now,
      lastUsedAt: now,
      permanent: false,
    };
    this.outMap.set(key, created);
    this.inMap.set(created.inKey, created);
    this.countNew(internal.addr);
    this.pushExpiry(created);
    this.mappingCreated = true;
    return created;
  }

  private bindingFor(inside: IpAddress, now: Micros, records: NatRecord[]): { binding: AddressBinding; created: boolean } | NatDropReason {
    let b = this.bindingsByInside.get(addrKey(inside));
    if (b && now > this.expiresAt(b)) {
      records.push(this.expire(b, now));
      b = undefined;
    }
    if (b) return { binding: b, created: false };
    const limit = this.checkLimits(inside);
    if (limit) return limit;
    const ext = this.external.find((a) => !this.bindingsByOutside.has(addrKey(a)));
    if (!ext) return 'pool-exhausted';
    const binding: AddressBinding = {
      type: 'address',
      id: this.nextId++,
      internal: inside,
      external: ext,
      permittedAddrs: undefined,
      permittedEndpoints: undefined,
      createdAt: now,
      lastUsedAt: now,
      permanent: false,
    };
    this.bindingsByInside.set(addrKey(inside), binding);
    this.bindingsByOutside.set(addrKey(ext), binding);
    this.countNew(inside);
    this.pushExpiry(binding);
    return { binding, created: true };
  }

  private checkLimits(inside: IpAddress): NatDropReason | undefined {
    if (this.dynamicCount >= this.maxMappings) return 'table-full';
    if ((this.perHost.get(addrKey(inside)) ?? 0) >= this.maxMappingsPerHost) return 'host-limit';
    return undefined;
  }

  private limitText(reason: NatDropReason, inside: IpAddress): string {
    switch (reason) {
      case 'table-full':
        return `mapping table full (${this.maxMappings} mappings)`;
      case 'host-limit':
        return `${formatIp(inside)} has reached its limit of ${this.maxMappingsPerHost} mappings`;
      case 'ports-exhausted':
        return `no free port left in ${this.portRange.from}-${this.portRange.to}`;
      case 'pool-exhausted':
        return 'no free address left in the pool';
      default:
        return reason;
    }
  }

  private countNew(inside: IpAddress): void {
    this.dynamicCount++;
    this.counters.created++;
    const k = addrKey(inside);
    this.perHost.set(k, (this.perHost.get(k) ?? 0) + 1);
  }

  /** Paired pooling: the host's external address (taking a reference), picking one round-robin the first time. */
  private addressForHost(inside: IpAddress): IpAddress | undefined {
    const k = addrKey(inside);
    const h = this.hostAddress.get(k);
    if (h) {
      h.refs++;
      return h.addr;
    }
    if (this.external.length === 0) return undefined;
    const addr = this.external[this.poolCursor % this.external.length]!;
    this.poolCursor++;
    this.hostAddress.set(k, { addr, refs: 1 });
    return addr;
  }

  private releaseHostAddress(inside: IpAddress): void {
    const k = addrKey(inside);
    const h = this.hostAddress.get(k);
    if (h && --h.refs <= 0) this.hostAddress.delete(k);
  }

  private ports(proto: MappedProtocol, addr: IpAddress): Set<number> {
    const k = `${proto}|${addrKey(addr)}`;
    let s = this.usedPorts.get(k);
    if (!s) {
      s = new Set();
      this.usedPorts.set(k, s);
    }
    return s;
  }

  private allocatePort(proto: MappedProtocol, addr: IpAddress, internalPort: number): number | undefined {
    const used = this.ports(proto, addr);
    const { from, to } = this.portRange;
    const parity = this.portParity ? internalPort & 1 : -1;
    const fits = (p: number): boolean => !used.has(p) && (parity < 0 || (p & 1) === parity);
    let port: number | undefined;
    if (this.portAssignment === 'preserve' && !used.has(internalPort) && internalPort > 0) port = internalPort;
    else if (this.portAssignment === 'random') {
      for (let i = 0; i < 64 && port === undefined; i++) {
        let p = this.rng.int(from, to);
        if (parity >= 0) p = (p & ~1) | parity;
        if (p >= from && p <= to && fits(p)) port = p;
      }
      if (port === undefined) port = this.scan(from, from, to, fits);
    } else {
      const ck = `${proto}|${addrKey(addr)}`;
      const start = this.cursors.get(ck) ?? from;
      port = this.scan(start, from, to, fits);
      if (port !== undefined) this.cursors.set(ck, port + 1 > to ? from : port + 1);
    }
    if (port !== undefined) used.add(port);
    return port;
  }

  private scan(start: number, from: number, to: number, fits: (p: number) => boolean): number | undefined {
    const span = to - from + 1;
    for (let i = 0; i < span; i++) {
      const p = from + ((start - from + i) % span);
      if (fits(p)) return p;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- lookups, filtering

  /** The key of the mapping of `internal` (towards `remote` under ADM / APDM); `remote` undefined: its port forward. */
  private outKey(proto: MappedProtocol, internal: Endpoint, remote: Endpoint | undefined): Key {
    const k = protoEpId(proto, internal);
    if (remote === undefined || this.mappingBehaviour === 'endpoint-independent') return k;
    return `${k}|${this.mappingBehaviour === 'address-dependent' ? addrKey(remote.addr) : epId(remote)}`;
  }

  private lookupIn(proto: MappedProtocol, ext: Endpoint, now: Micros, records: NatRecord[]): PortMapping | undefined {
    const m = this.inMap.get(protoEpId(proto, ext));
    if (m && !m.permanent && now > this.expiresAt(m)) {
      records.push(this.expire(m, now));
      return undefined;
    }
    return m;
  }

  private lookupBinding(ext: IpAddress, now: Micros, records: NatRecord[]): AddressBinding | undefined {
    const b = this.bindingsByOutside.get(addrKey(ext));
    if (b && now > this.expiresAt(b)) {
      records.push(this.expire(b, now));
      return undefined;
    }
    return b;
  }

  private lookupEsp(ext: IpAddress, remote: IpAddress, now: Micros, records: NatRecord[]): EspBinding | undefined {
    const b = this.espBindings.get(`${addrKey(ext)}|${addrKey(remote)}`);
    if (b && now > this.expiresAt(b)) {
      records.push(this.expire(b, now));
      return undefined;
    }
    return b;
  }

  private permit(e: PortMapping | AddressBinding, remote: Endpoint): void {
    // Endpoint-independent filtering never asks.
    if (this.filteringBehaviour === 'endpoint-independent') return;
    (e.permittedAddrs ??= new Set()).add(addrKey(remote.addr));
    (e.permittedEndpoints ??= new Set()).add(epId(remote));
  }

  /** Why filtering refuses `remote`, or undefined when it passes. */
  private filterVerdict(e: PortMapping | AddressBinding, remote: Endpoint, hasPorts: boolean): string | undefined {
    const inside = e.type === 'port' ? epKey(e.internal) : formatIp(e.internal);
    switch (this.filteringBehaviour) {
      case 'endpoint-independent':
        return undefined;
      case 'address-dependent':
        return e.permittedAddrs?.has(addrKey(remote.addr))
          ? undefined
          : `address-dependent filtering: ${inside} has not sent to ${formatIp(remote.addr)}`;
      case 'address-and-port-dependent': {
        if (!hasPorts) return e.permittedAddrs?.has(addrKey(remote.addr)) ? undefined : `address-and-port-dependent filtering: ${inside} has not sent to ${formatIp(remote.addr)}`;
        return e.permittedEndpoints?.has(epId(remote))
          ? undefined
          : `address-and-port-dependent filtering: ${inside} has not sent to ${epKey(remote)}`;
      }
    }
  }

  private touchOutbound(e: Entry, now: Micros): MappingState {
    if (e.permanent) return 'static';
    e.lastUsedAt = now;
    this.counters.refreshed++;
    return 'refreshed';
  }

  private touchInbound(e: Entry, now: Micros): MappingState {
    if (e.permanent) return 'static';
    if (this.refresh === 'both') {
      e.lastUsedAt = now;
      this.counters.refreshed++;
      return 'refreshed';
    }
    return 'used';
  }

  private timeoutOf(e: Entry): Micros {
    if (e.type === 'esp') return this.timeoutsValue.esp;
    if (e.type === 'port' && e.protocol === 'icmp') return this.timeoutsValue.icmp;
    return this.timeoutsValue.udp;
  }

  private expiresAt(e: Entry): Micros {
    return e.lastUsedAt + this.timeoutOf(e);
  }

  private expiryText(e: Entry, now: Micros): string {
    return e.permanent ? 'permanent' : `expires in ${formatSpan(this.expiresAt(e) - now)}`;
  }

  private *entries(): Iterable<Entry> {
    yield* this.outMap.values();
    yield* this.bindingsByInside.values();
    yield* this.espBindings.values();
    yield* this.staticByInside.values();
  }

  private remove(e: Entry): void {
    e.gone = true;
    if (e.type === 'port') {
      this.outMap.delete(e.outKey);
      this.inMap.delete(e.inKey);
      this.ports(e.protocol, e.external.addr).delete(e.external.port);
      this.releaseHostAddress(e.internal.addr);
    } else if (e.type === 'address') {
      this.bindingsByInside.delete(addrKey(e.internal));
      this.bindingsByOutside.delete(addrKey(e.external));
    } else {
      this.espBindings.delete(`${addrKey(e.external)}|${addrKey(e.remote)}`);
      this.releaseHostAddress(e.internal);
    }
    const inside = e.type === 'port' ? e.internal.addr : e.internal;
    const k = addrKey(inside);
    const n = (this.perHost.get(k) ?? 1) - 1;
    if (n <= 0) this.perHost.delete(k);
    else this.perHost.set(k, n);
    this.dynamicCount = Math.max(0, this.dynamicCount - 1);
  }

  private expire(e: Entry, now: Micros): NatRecord {
    const view = this.view(e);
    this.remove(e);
    this.counters.expired++;
    return {
      at: now,
      nat: this.name,
      kind: 'expire',
      protocol: view.protocol,
      mapping: view,
      mappingState: 'expired',
      comment: `NAT ${this.name}: mapping ${view.id} ${view.internal} ⇄ ${view.external}${view.remote ? ` (remote ${view.remote})` : ''} expired at ${formatSpan(this.expiresAt(e) + 1)} after ${formatSpan(this.timeoutOf(e))} idle`,
    };
  }

  private view(e: Entry): MappingView {
    // Built property by property in the order reports show (a spread with more
    // properties is slow in V8, and a NAT creating thousands of mappings makes many).
    const v: { -readonly [K in keyof MappingView]?: MappingView[K] } = { id: e.id, type: e.type, createdAt: e.createdAt, lastUsedAt: e.lastUsedAt, permanent: e.permanent };
    if (!e.permanent) v.expiresAt = this.expiresAt(e);
    if (e.type === 'port') {
      v.protocol = e.protocol;
      v.internal = epKey(e.internal);
      v.external = epKey(e.external);
      if (e.behaviour !== 'endpoint-independent' && !e.permanent) v.remote = e.behaviour === 'address-dependent' ? formatIp(e.remote.addr) : epKey(e.remote);
    } else if (e.type === 'address') {
      v.protocol = 'any';
      v.internal = formatIp(e.internal);
      v.external = formatIp(e.external);
    } else {
      v.protocol = 'esp';
      v.internal = formatIp(e.internal);
      v.external = formatIp(e.external);
      v.remote = formatIp(e.remote);
    }
    return v as MappingView;
  }

  // ---------------------------------------------------------------- ICMP errors

  private icmpErrorIn(records: NatRecord[], now: Micros, direction: 'inbound' | 'hairpin', info: PacketInfo): NatResult {
    const msg = info.l4;
    if (msg.length < 8 + 20) return this.drop(records, now, direction, info, 'malformed', 'ICMP error too short to hold the packet it is about');
    const emb = msg.subarray(8);
    const ihl = (emb[0]! & 0x0f) * 4;
    if (emb[0]! >> 4 !== 4 || ihl < 20 || emb.length < ihl) return this.drop(records, now, direction, info, 'malformed', 'ICMP error with an unreadable embedded header');
    const embProto = emb[9]!;
    const embSrc: IpAddress = { family: 4, bytes: emb.slice(12, 16) };
    const embDst: IpAddress = { family: 4, bytes: emb.slice(16, 20) };
    let internal: IpAddress | undefined;
    let internalPort: number | undefined;
    let entry: Entry | undefined;
    if (this.kind === 'dynamic') {
      entry = this.lookupBinding(embSrc, now, records);
      internal = entry?.internal as IpAddress | undefined;
    } else if (embProto === IP_PROTOCOL.UDP && emb.length >= ihl + 4) {
      const m = this.lookupIn('udp', { addr: embSrc, port: readU16(emb, ihl) }, now, records);
      if (m) {
        entry = m;
        internal = m.internal.addr;
        internalPort = m.internal.port;
      }
    } else if (embProto === IP_PROTOCOL.ESP && this.espAlg) {
      const b = this.lookupEsp(embSrc, embDst, now, records);
      if (b) {
        entry = b;
        internal = b.internal;
      }
    }
    if (!internal || !entry) {
      return this.drop(records, now, direction, info, 'no-mapping', `ICMP error about ${protocolName(embProto)} from ${formatIp(embSrc)}: no mapping it belongs to`);
    }
    const out = packetBytes(info).slice();
    const l4 = info.l4Offset;
    const e = l4 + 8;
    // Embedded UDP checksum (if present and captured) follows its source address and port.
    if (embProto === IP_PROTOCOL.UDP && internalPort !== undefined && out.length >= e + ihl + 8) {
      const c = readU16(out, e + ihl + 6);
      if (c !== 0) {
        let n = adjustChecksum(c, out.subarray(e + 12, e + 16), internal.bytes);
        n = adjustChecksumWord(n, readU16(out, e + ihl), internalPort);
        writeU16(out, e + ihl + 6, n === 0 ? 0xffff : n);
      }
      writeU16(out, e + ihl, internalPort);
    }
    out.set(internal.bytes, e + 12);
    writeU16(out, e + 10, 0);
    writeU16(out, e + 10, ipv4HeaderChecksum(out.subarray(e, e + ihl)));
    // The ICMP checksum covers the whole message: recompute it.
    writeU16(out, l4 + 2, 0);
    writeU16(out, l4 + 2, ~onesComplementSum(out.subarray(l4, info.length)) & 0xffff);
    out.set(internal.bytes, 16);
    writeU16(out, 10, 0);
    writeU16(out, 10, ipv4HeaderChecksum(out.subarray(0, l4)));
    const before = { src: formatIp(info.src), dst: formatIp(info.dst) };
    const after = { src: formatIp(info.src), dst: formatIp(internal) };
    this.counters.translatedIn++;
    const comment = `NAT ${this.name}: ICMP error for ${formatIp(info.dst)} → ${formatIp(internal)} (about the mapping of ${formatIp(embSrc)}${internalPort !== undefined ? `:${readU16(msg, 8 + ihl)}` : ''}, embedded header translated back)`;
    records.push({ at: now, nat: this.name, kind: 'translate', direction, protocol: 'icmp', before, after, mapping: this.view(entry), mappingState: 'used', comment });
    return { verdict: 'forward', packet: out, hairpin: direction === 'hairpin', records, comment };
  }

  // ---------------------------------------------------------------- results

  private parse(packet: Uint8Array): PacketInfo | string {
    try {
      return parsePacket(packet);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  private flowText(info: PacketInfo): string {
    const name = protocolName(info.protocol);
    if (info.srcPort !== undefined) return `${name} ${epKey({ addr: info.src, port: info.srcPort })} → ${epKey({ addr: info.dst, port: info.dstPort! })}`;
    if (info.spi !== undefined) return `${name} ${formatIp(info.src)} → ${formatIp(info.dst)}, SPI ${hex32(info.spi)}`;
    return `${name} ${formatIp(info.src)} → ${formatIp(info.dst)}`;
  }

  private pass(records: NatRecord[], why: string): NatResult {
    this.counters.passed++;
    return { verdict: 'pass', records, comment: `NAT ${this.name}: not translated: ${why}` };
  }

  private drop(
    records: NatRecord[],
    now: Micros,
    direction: 'outbound' | 'inbound' | 'hairpin',
    info: PacketInfo | undefined,
    reason: NatDropReason,
    text: string,
    entry?: Entry,
  ): NatResult {
    this.counters.dropped++;
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + 1;
    const verb = direction === 'outbound' ? 'outbound' : direction === 'inbound' ? 'inbound' : 'hairpinned';
    const comment = text.startsWith('ESP dropped') || text.startsWith('AH dropped') ? `NAT ${this.name}: ${text}` : `NAT ${this.name}: dropped ${verb} ${text}`;
    const rec: NatRecord = {
      at: now,
      nat: this.name,
      kind: 'drop',
      direction,
      ...(info ? { protocol: protocolName(info.protocol).toLowerCase(), before: this.ends(info) } : {}),
      ...(entry ? { mapping: this.view(entry) } : {}),
      reason,
      comment,
    };
    records.push(rec);
    return { verdict: 'drop', reason, records, comment };
  }

  private ends(info: PacketInfo): { src: string; dst: string } {
    if (info.srcPort !== undefined) return { src: epKey({ addr: info.src, port: info.srcPort }), dst: epKey({ addr: info.dst, port: info.dstPort! }) };
    const id = icmpId(info);
    if (id !== undefined && info.icmpType === ICMP_TYPE.ECHO_REQUEST) return { src: `${formatIp(info.src)} id ${id}`, dst: formatIp(info.dst) };
    if (id !== undefined && info.icmpType === ICMP_TYPE.ECHO_REPLY) return { src: formatIp(info.src), dst: `${formatIp(info.dst)} id ${id}` };
    return { src: formatIp(info.src), dst: formatIp(info.dst) };
  }

  private forwardOut(records: NatRecord[], now: Micros, info: PacketInfo, rw: Rewrite, e: Entry, state: MappingState, how: string): NatResult {
    const packet = rewrite(info, rw);
    if (!this.describing && (state === 'refreshed' || state === 'used' || state === 'static')) return { verdict: 'forward', packet, hairpin: false, records, comment: '' };
    const after = this.ends(parsePacket(packet));
    const before = this.ends(info);
    const dstPart = rw.dst && !ipEquals(rw.dst, info.dst) ? `, destination ${before.dst} → ${after.dst}` : '';
    const comment = `NAT ${this.name}: ${before.src} → ${after.src}${dstPart} (${how})`;
    records.push({ at: now, nat: this.name, kind: 'translate', direction: 'outbound', protocol: this.protoText(info), before, after, mapping: this.view(e), mappingState: state, comment });
    return { verdict: 'forward', packet, hairpin: false, records, comment };
  }

  private forwardIn(
    records: NatRecord[],
    now: Micros,
    direction: 'inbound' | 'hairpin',
    info: PacketInfo,
    rw: Rewrite,
    e: Entry,
    state: MappingState,
    how: string,
  ): NatResult {
    const packet = rewrite(info, rw);
    if (direction === 'inbound') this.counters.translatedIn++;
    if (!this.describing && (state === 'refreshed' || state === 'used' || state === 'static')) return { verdict: 'forward', packet, hairpin: direction === 'hairpin', records, comment: '' };
    const after = this.ends(parsePacket(packet));
    const before = this.ends(info);
    const srcPart = rw.src && !ipEquals(rw.src, info.src) ? `, source ${before.src} → ${after.src}` : '';
    const refresh = state === 'refreshed' ? 'mapping refreshed by this inbound packet, ' : '';
    const comment = `NAT ${this.name}: ${before.dst} → ${after.dst}${srcPart} (${direction === 'hairpin' ? 'hairpinned' : 'inbound'} from ${before.src}, ${refresh}${how})`;
    records.push({ at: now, nat: this.name, kind: 'translate', direction, protocol: this.protoText(info), before, after, mapping: this.view(e), mappingState: state, comment });
    return { verdict: 'forward', packet, hairpin: direction === 'hairpin', records, comment };
  }

  private protoText(info: PacketInfo): string {
    return protocolName(info.protocol).toLowerCase();
  }
}

/** True when one of `prefixes` holds `a`. */
function containsAny(prefixes: readonly Prefix[], a: IpAddress): boolean {
  for (let i = 0; i < prefixes.length; i++) if (prefixContains(prefixes[i]!, a)) return true;
  return false;
}

/** The source rewrite, plus the destination for twice NAT (literals: a spread with more properties is slow in V8). */
function srcRewrite(twice: boolean, dst: IpAddress, src: IpAddress): Rewrite {
  return twice ? { dst, src } : { src };
}

function icmpId(info: PacketInfo): number | undefined {
  return info.protocol === IP_PROTOCOL.ICMP && info.l4.length >= 8 ? readU16(info.l4, 4) : undefined;
}

/** The whole packet a PacketInfo was read from (its l4 view points into it). */
function packetBytes(info: PacketInfo): Uint8Array {
  return new Uint8Array(info.l4.buffer, info.l4.byteOffset - info.l4Offset, info.length);
}

/** A copy of the packet with addresses / ports / ICMP identifier replaced and checksums fixed. */
function rewrite(info: PacketInfo, rw: Rewrite): Uint8Array {
  const out = copyPacketBytes(packetBytes(info));
  const l4 = info.l4Offset;
  const newSrc = rw.src?.bytes;
  const newDst = rw.dst?.bytes;
  if (info.protocol === IP_PROTOCOL.UDP && out.length >= l4 + 8) {
    const old = readU16(out, l4 + 6);
    if (old !== 0) {
      // Both addresses always go through the adjustment (an unchanged one against itself),
      // which decides between the two forms of zero exactly as the general rule does.
      let c = adjustWords(old, out, 12, newSrc ?? out, newSrc ? 0 : 12, 4);
      c = adjustWords(c, out, 16, newDst ?? out, newDst ? 0 : 16, 4);
      if (rw.srcPort !== undefined) c = adjustChecksumWord(c, readU16(out, l4), rw.srcPort);
      if (rw.dstPort !== undefined) c = adjustChecksumWord(c, readU16(out, l4 + 2), rw.dstPort);
      writeU16(out, l4 + 6, c === 0 ? 0xffff : c);
    }
    if (rw.srcPort !== undefined) writeU16(out, l4, rw.srcPort);
    if (rw.dstPort !== undefined) writeU16(out, l4 + 2, rw.dstPort);
  } else if (info.protocol === IP_PROTOCOL.ICMP && rw.icmpId !== undefined && out.length >= l4 + 8) {
    writeU16(out, l4 + 2, adjustChecksumWord(readU16(out, l4 + 2), readU16(out, l4 + 4), rw.icmpId));
    writeU16(out, l4 + 4, rw.icmpId);
  }
  if (newSrc) out.set(newSrc, 12);
  if (newDst) out.set(newDst, 16);
  writeU16(out, 10, 0);
  writeU16(out, 10, ipv4HeaderChecksumAt(out, l4));
  return out;
}

/** adjustChecksum(checksum, before[bOff..bOff+len), after[aOff..aOff+len)) without views (len even). */
function adjustWords(checksum: number, before: Uint8Array, bOff: number, after: Uint8Array, aOff: number, len: number): number {
  let sum = ~checksum & 0xffff;
  for (let i = 0; i < len; i += 2) {
    sum += ~((before[bOff + i]! << 8) | before[bOff + i + 1]!) & 0xffff;
    sum += (after[aOff + i]! << 8) | after[aOff + i + 1]!;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}
