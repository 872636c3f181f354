/**
 * Packets in the lab are real bytes: an IPv4 or IPv6 header and a UDP, ESP or ICMP
 * payload, built with the wire codecs. This module builds them, reads the few fields
 * the network, NATs and firewalls look at, and describes a packet in plain words for
 * capture comments.
 */
import { formatIp, type IpAddress } from '../core/addr.ts';
import { internetChecksum, onesComplementSum } from '../core/bytes.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { Ipv4Codec, ipv4HeaderLength, isIpv4Fragment } from '../wire/ipv4.ts';
import { Ipv6Codec, ipv6FragmentHeader, isIpv6Fragment, type Ipv6Extension } from '../wire/ipv6.ts';
import { classifyUdpPayload, IKE_PORT, NATT_PORT } from '../wire/udp-encap.ts';
import { encodeUdp } from '../wire/udp.ts';

export const DEFAULT_TTL = 64;

export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  DEST_UNREACHABLE: 3,
  ECHO_REQUEST: 8,
  TIME_EXCEEDED: 11,
} as const;
export type IcmpType = (typeof ICMP_TYPE)[keyof typeof ICMP_TYPE];

/** Destination Unreachable code 4: fragmentation needed and DF set (RFC 1191). */
export const ICMP_CODE_FRAG_NEEDED = 4;

export const ICMPV6_TYPE = {
  DEST_UNREACHABLE: 1,
  PACKET_TOO_BIG: 2,
  TIME_EXCEEDED: 3,
  ECHO_REQUEST: 128,
  ECHO_REPLY: 129,
} as const;
export type Icmpv6Type = (typeof ICMPV6_TYPE)[keyof typeof ICMPV6_TYPE];

export interface IpBuild {
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly protocol: number;
  readonly payload: Uint8Array;
  readonly ttl?: number;
  /** IPv4 only. */
  readonly identification?: number;
  /** IPv4 only: the DF bit. */
  readonly dontFragment?: boolean;
}

/** An unfragmented IPv4 or IPv6 packet (family from the addresses). */
export function buildIpPacket(b: IpBuild): Uint8Array {
  if (b.src.family !== b.dst.family) throw new RangeError('buildIpPacket: source and destination are of different families');
  if (b.src.family === 4) {
    return Ipv4Codec.encode({
      dscp: 0,
      ecn: 0,
      identification: (b.identification ?? 0) & 0xffff,
      reservedFlag: false,
      dontFragment: b.dontFragment ?? false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: b.ttl ?? DEFAULT_TTL,
      protocol: b.protocol,
      src: b.src,
      dst: b.dst,
      options: new Uint8Array(0),
      payload: b.payload,
    });
  }
  return Ipv6Codec.encode({
    trafficClass: 0,
    flowLabel: 0,
    hopLimit: b.ttl ?? DEFAULT_TTL,
    src: b.src,
    dst: b.dst,
    extensions: [],
    protocol: b.protocol,
    payload: b.payload,
  });
}

/** A UDP datagram inside an IP packet, checksum computed (or zero over IPv4 when asked). */
export function buildUdpPacket(
  b: Omit<IpBuild, 'protocol' | 'payload'> & { srcPort: number; dstPort: number; payload: Uint8Array; zeroChecksum?: boolean },
): Uint8Array {
  if (b.src.family === 4 && b.dst.family === 4 && b.src.bytes.length === 4 && b.dst.bytes.length === 4 && b.payload.length <= 0xffff - 28) {
    return buildUdpIpv4(b);
  }
  const udp = encodeUdp(
    { srcPort: b.srcPort, dstPort: b.dstPort, payload: b.payload },
    { src: b.src, dst: b.dst, checksum: b.zeroChecksum && b.src.family === 4 ? 'zero' : 'compute' },
  );
  return buildIpPacket({ ...b, protocol: IP_PROTOCOL.UDP, payload: udp });
}

const SLAB_BYTES = 64 * 1024;
/** Packets up to this size are carved from a slab; larger ones get their own buffer. */
const SLAB_MAX_PACKET = 4096;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A zeroed Uint8Array of `n` bytes for a packet: a view into a shared 64 KiB slab
 * (8-byte aligned), because a fresh ArrayBuffer per packet costs about 2 µs in V8
 * while a view costs a tenth of that. `.buffer` is the slab: use byteOffset with it.
 * A slab is freed when no packet in it is referenced any more.
 */
export function allocPacketBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_PACKET) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/** A copy of `bytes` in a buffer from allocPacketBytes. */
export function copyPacketBytes(bytes: Uint8Array): Uint8Array {
  const out = allocPacketBytes(bytes.length);
  out.set(bytes);
  return out;
}

/**
 * The bytes buildIpPacket(encodeUdp(...)) gives for an IPv4 datagram that fits, written
 * in one buffer: header (no options), UDP header, payload, both checksums.
 */
function buildUdpIpv4(b: Omit<IpBuild, 'protocol' | 'payload'> & { srcPort: number; dstPort: number; payload: Uint8Array; zeroChecksum?: boolean }): Uint8Array {
  const udpLen = 8 + b.payload.length;
  const total = 20 + udpLen;
  const t = allocPacketBytes(total);
  const id = (b.identification ?? 0) & 0xffff;
  t[0] = 0x45;
  t[2] = total >> 8;
  t[3] = total & 0xff;
  t[4] = (id >> 8) & 0xff;
  t[5] = id & 0xff;
  t[6] = b.dontFragment ? 0x40 : 0;
  t[8] = (b.ttl ?? DEFAULT_TTL) & 0xff;
  t[9] = IP_PROTOCOL.UDP;
  t.set(b.src.bytes, 12);
  t.set(b.dst.bytes, 16);
  t[20] = (b.srcPort >> 8) & 0xff;
  t[21] = b.srcPort & 0xff;
  t[22] = (b.dstPort >> 8) & 0xff;
  t[23] = b.dstPort & 0xff;
  t[24] = udpLen >> 8;
  t[25] = udpLen & 0xff;
  t.set(b.payload, 28);
  if (!b.zeroChecksum) {
    // udpChecksum: pseudo-header, the UDP header but its checksum field, the payload.
    const sum = sumRange(t, 28, total, sumRange(t, 20, 26, sumRange(t, 12, 20, IP_PROTOCOL.UDP + udpLen)));
    const c = ~sum & 0xffff || 0xffff;
    t[26] = c >> 8;
    t[27] = c & 0xff;
  }
  const h = ipv4HeaderChecksumAt(t, 20);
  t[10] = h >> 8;
  t[11] = h & 0xff;
  return t;
}

/**
 * The ones' complement sum (RFC 1071, folded to 16 bits) of b[start..end), words counted
 * from `start`, added to `initial`: onesComplementSum without a view of the range.
 */
export function sumRange(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  const last = start + ((end - start) & ~1);
  for (let i = start; i < last; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) & 1) sum += b[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** ipv4HeaderChecksum of the `headerLength`-byte header at the start of `b`. */
export function ipv4HeaderChecksumAt(b: Uint8Array, headerLength: number): number {
  return ~sumRange(b, 0, 10, sumRange(b, 12, headerLength)) & 0xffff;
}

/**
 * verifyUdpChecksum(src, dst, l4) for the datagram in `l4` (an IP payload: only its
 * Length field's worth is checked when that field is plausible).
 */
export function udpChecksumStatus(src: IpAddress, dst: IpAddress, l4: Uint8Array): 'valid' | 'zero' | 'invalid' {
  if (l4.length < 8) return 'invalid';
  if (l4[6] === 0 && l4[7] === 0) return 'zero';
  if (src.family !== dst.family) throw new RangeError('udp checksum: src and dst are of different families');
  const length = (l4[4]! << 8) | l4[5]!;
  const n = length >= 8 && length <= l4.length ? length : l4.length;
  let pseudo = sumRange(dst.bytes, 0, dst.bytes.length);
  pseudo = sumRange(src.bytes, 0, src.bytes.length, pseudo);
  pseudo += IP_PROTOCOL.UDP + (n & 0xffff) + (src.family === 6 ? n >>> 16 : 0);
  return sumRange(l4, 0, n, pseudo) === 0xffff ? 'valid' : 'invalid';
}

/** An ICMPv4 message: type, code, checksum, the 4-byte rest of header, data. */
export function icmpMessage(type: number, code: number, restOfHeader: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[0] = type;
  m[1] = code;
  m[4] = (restOfHeader >>> 24) & 0xff;
  m[5] = (restOfHeader >>> 16) & 0xff;
  m[6] = (restOfHeader >>> 8) & 0xff;
  m[7] = restOfHeader & 0xff;
  m.set(data, 8);
  const c = internetChecksum(m);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

/** An ICMPv6 message with its checksum over the RFC 8200 §8.1 pseudo-header. */
export function icmpv6Message(src: IpAddress, dst: IpAddress, type: number, code: number, restOfHeader: number, data: Uint8Array): Uint8Array {
  const m = icmpMessage(type, code, restOfHeader, data);
  m[2] = 0;
  m[3] = 0;
  let sum = onesComplementSum(src.bytes, onesComplementSum(dst.bytes));
  sum += (m.length >>> 16) + (m.length & 0xffff) + IP_PROTOCOL.ICMPV6;
  const c = internetChecksum(m, sum);
  m[2] = c >> 8;
  m[3] = c & 0xff;
  return m;
}

/** True when an ICMPv4 message's checksum verifies. */
export function verifyIcmpChecksum(message: Uint8Array): boolean {
  return onesComplementSum(message) === 0xffff;
}

/** The fields of a packet the lab looks at. */
export interface PacketInfo {
  readonly family: 4 | 6;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** IPv4 protocol or IPv6 upper-layer Next Header. */
  readonly protocol: number;
  readonly ttl: number;
  /** Offset of the upper-layer bytes (`l4`) in the packet. */
  readonly l4Offset: number;
  /** The upper-layer bytes (for a fragment: its fragment data). */
  readonly l4: Uint8Array;
  readonly length: number;
  /** A fragment of a larger datagram. */
  readonly fragment: boolean;
  /** Offset of the fragment data (0 for a whole packet or the first fragment). */
  readonly fragmentOffset: number;
  readonly moreFragments: boolean;
  readonly identification: number;
  readonly dontFragment: boolean;
  /** UDP ports, when the packet carries the UDP header (not a non-first fragment). */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** ICMP / ICMPv6 type and code. */
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** ESP SPI (raw ESP). */
  readonly spi?: number;
  /** IPv6 extension headers (empty for IPv4). */
  readonly extensions: readonly Ipv6Extension[];
}

/** Reads a packet's IP header and upper-layer ports; throws DecodeError on bad bytes. */
export function parsePacket(bytes: Uint8Array): PacketInfo {
  if (bytes.length >= 20) {
    // A well-formed IPv4 header (what decodeIpv4 accepts) is read in place.
    const b0 = bytes[0]!;
    const ihl = (b0 & 0x0f) * 4;
    const total = (bytes[2]! << 8) | bytes[3]!;
    if (b0 >> 4 === 4 && ihl >= 20 && bytes.length >= ihl && total >= ihl && total <= bytes.length) return parseIpv4(bytes, ihl, total);
  }
  const version = bytes.length > 0 ? bytes[0]! >> 4 : 0;
  let info: Omit<PacketInfo, 'srcPort' | 'dstPort' | 'icmpType' | 'icmpCode' | 'spi'>;
  if (version === 6) {
    const p = Ipv6Codec.decode(bytes);
    const f = ipv6FragmentHeader(p);
    info = {
      family: 6,
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      ttl: p.hopLimit,
      l4Offset: p.payload.byteOffset - bytes.byteOffset,
      l4: p.payload,
      length: 40 + ((bytes[4]! << 8) | bytes[5]!),
      fragment: isIpv6Fragment(p),
      fragmentOffset: f?.fragmentOffset ?? 0,
      moreFragments: f?.moreFragments ?? false,
      identification: f?.identification ?? 0,
      dontFragment: true,
      extensions: p.extensions,
    };
  } else {
    const p = Ipv4Codec.decode(bytes);
    info = {
      family: 4,
      src: p.src,
      dst: p.dst,
      protocol: p.protocol,
      ttl: p.ttl,
      l4Offset: ipv4HeaderLength(p),
      l4: p.payload,
      length: ipv4HeaderLength(p) + p.payload.length,
      fragment: isIpv4Fragment(p),
      fragmentOffset: p.fragmentOffset,
      moreFragments: p.moreFragments,
      identification: p.identification,
      dontFragment: p.dontFragment,
      extensions: [],
    };
  }
  if (info.fragmentOffset !== 0) return info;
  const l4 = info.l4;
  if (info.protocol === IP_PROTOCOL.UDP && l4.length >= 4) {
    return { ...info, srcPort: (l4[0]! << 8) | l4[1]!, dstPort: (l4[2]! << 8) | l4[3]! };
  }
  if ((info.protocol === IP_PROTOCOL.ICMP || info.protocol === IP_PROTOCOL.ICMPV6) && l4.length >= 2) {
    return { ...info, icmpType: l4[0]!, icmpCode: l4[1]! };
  }
  if (info.protocol === IP_PROTOCOL.ESP && l4.length >= 4) {
    return { ...info, spi: ((l4[0]! << 24) >>> 0) + ((l4[1]! << 16) | (l4[2]! << 8) | l4[3]!) };
  }
  return info;
}

const NO_EXTENSIONS: readonly Ipv6Extension[] = Object.freeze([]);

/**
 * IPv4 addresses read from packets, one object per address (addresses are never
 * changed in place): a lab sends millions of packets between a few thousand addresses.
 * Bounded: it starts over past 65,536 addresses.
 */
const ipv4Seen = new Map<number, IpAddress>();

/**
 * In front of ipv4Seen, a direct-mapped table (by the address's low 16 bits mixed with
 * its high ones): an array read instead of a hash lookup for most packets.
 */
const RECENT_V4_SLOTS = 1 << 16;
const recentV4Key = new Int32Array(RECENT_V4_SLOTS);
const recentV4: (IpAddress | undefined)[] = new Array<IpAddress | undefined>(RECENT_V4_SLOTS).fill(undefined);

function ipv4At(b: Uint8Array, o: number): IpAddress {
  const k = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  const slot = (k ^ (k >>> 16)) & (RECENT_V4_SLOTS - 1);
  const r = recentV4[slot];
  if (r !== undefined && recentV4Key[slot] === k) return r;
  let a = ipv4Seen.get(k);
  if (a === undefined) {
    if (ipv4Seen.size >= 65_536) ipv4Seen.clear();
    a = { family: 4, bytes: Uint8Array.of(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!) };
    ipv4Seen.set(k, a);
  }
  recentV4Key[slot] = k;
  recentV4[slot] = a;
  return a;
}

/** parsePacket for an IPv4 packet whose header and total length check out. */
function parseIpv4(bytes: Uint8Array, ihl: number, total: number): PacketInfo {
  const fo = (bytes[6]! << 8) | bytes[7]!;
  const fragmentOffset = (fo & 0x1fff) * 8;
  const moreFragments = (fo & 0x2000) !== 0;
  const protocol = bytes[9]!;
  const src = ipv4At(bytes, 12);
  const dst = ipv4At(bytes, 16);
  const l4 = bytes.subarray(ihl, total);
  const ttl = bytes[8]!;
  const identification = (bytes[4]! << 8) | bytes[5]!;
  const dontFragment = (fo & 0x4000) !== 0;
  const fragment = moreFragments || fragmentOffset !== 0;
  if (fragmentOffset === 0) {
    if (protocol === IP_PROTOCOL.UDP && l4.length >= 4) {
      return {
        family: 4,
        src,
        dst,
        protocol,
        ttl,
        l4Offset: ihl,
        l4,
        length: total,
        fragment,
        fragmentOffset,
        moreFragments,
        identification,
        dontFragment,
        extensions: NO_EXTENSIONS,
        srcPort: (l4[0]! << 8) | l4[1]!,
        dstPort: (l4[2]! << 8) | l4[3]!,
      };
    }
    if ((protocol === IP_PROTOCOL.ICMP || protocol === IP_PROTOCOL.ICMPV6) && l4.length >= 2) {
      return { family: 4, src, dst, protocol, ttl, l4Offset: ihl, l4, length: total, fragment, fragmentOffset, moreFragments, identification, dontFragment, extensions: NO_EXTENSIONS, icmpType: l4[0]!, icmpCode: l4[1]! };
    }
    if (protocol === IP_PROTOCOL.ESP && l4.length >= 4) {
      const spi = ((l4[0]! << 24) >>> 0) + ((l4[1]! << 16) | (l4[2]! << 8) | l4[3]!);
      return { family: 4, src, dst, protocol, ttl, l4Offset: ihl, l4, length: total, fragment, fragmentOffset, moreFragments, identification, dontFragment, extensions: NO_EXTENSIONS, spi };
    }
  }
  return { family: 4, src, dst, protocol, ttl, l4Offset: ihl, l4, length: total, fragment, fragmentOffset, moreFragments, identification, dontFragment, extensions: NO_EXTENSIONS };
}

/** The packet's IP version from its first nibble (0 when empty). */
export function ipVersion(bytes: Uint8Array): number {
  return bytes.length > 0 ? bytes[0]! >> 4 : 0;
}

export function protocolName(protocol: number): string {
  switch (protocol) {
    case IP_PROTOCOL.UDP:
      return 'UDP';
    case IP_PROTOCOL.ESP:
      return 'ESP';
    case IP_PROTOCOL.AH:
      return 'AH';
    case IP_PROTOCOL.ICMP:
      return 'ICMP';
    case IP_PROTOCOL.ICMPV6:
      return 'ICMPv6';
    case IP_PROTOCOL.TCP:
      return 'TCP';
    default:
      return `protocol ${protocol}`;
  }
}

const IKEV2_EXCHANGE: Record<number, string> = {
  34: 'IKE_SA_INIT',
  35: 'IKE_AUTH',
  36: 'CREATE_CHILD_SA',
  37: 'INFORMATIONAL',
  43: 'IKE_INTERMEDIATE',
};

function ikeSummary(ike: Uint8Array): string {
  if (ike.length < 20) return 'IKE';
  const version = ike[17]!;
  const exchange = ike[18]!;
  const flags = ike[19]!;
  if (version >> 4 === 2) {
    const name = IKEV2_EXCHANGE[exchange] ?? `exchange ${exchange}`;
    return `IKEv2 ${name} ${flags & 0x20 ? 'response' : 'request'}`;
  }
  return `ISAKMP (version ${version >> 4}.${version & 0x0f}) exchange ${exchange}`;
}

export function hex32(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

function hostPort(a: IpAddress, port: number): string {
  return a.family === 6 ? `[${formatIp(a)}]:${port}` : `${formatIp(a)}:${port}`;
}

/** One line in plain words, e.g. "UDP 10.0.0.2:500 → 198.51.100.1:500, IKEv2 IKE_SA_INIT request, 336 bytes". */
export function describePacket(bytes: Uint8Array): string {
  let p: PacketInfo;
  try {
    p = parsePacket(bytes);
  } catch (e) {
    return `malformed packet of ${bytes.length} bytes (${e instanceof Error ? e.message : String(e)})`;
  }
  const size = `${p.length} bytes`;
  if (p.fragment) {
    return (
      `IPv${p.family} fragment of ${protocolName(p.protocol)} ${formatIp(p.src)} → ${formatIp(p.dst)}, ` +
      `id ${p.identification}, offset ${p.fragmentOffset}${p.moreFragments ? ', more fragments follow' : ', last fragment'}, ${size}`
    );
  }
  if (p.srcPort !== undefined && p.dstPort !== undefined) {
    const head = `UDP ${hostPort(p.src, p.srcPort)} → ${hostPort(p.dst, p.dstPort)}`;
    const payload = p.l4.subarray(8);
    const nattPorts = [IKE_PORT, NATT_PORT];
    if (nattPorts.includes(p.srcPort) || nattPorts.includes(p.dstPort)) {
      const c = classifyUdpPayload(p.srcPort, p.dstPort, payload);
      switch (c.kind) {
        case 'ike':
        case 'ike-nonesp':
          return `${head}, ${c.kind === 'ike-nonesp' ? 'non-ESP marker + ' : ''}${ikeSummary(c.ike)}, ${size}`;
        case 'keepalive':
          return `${head}, NAT-keepalive, ${size}`;
        case 'esp':
          return `${head}, ESP-in-UDP SPI ${hex32(c.spi)}, ${size}`;
        default:
          return `${head}, ${c.reason}, ${size}`;
      }
    }
    return `${head}, ${payload.length} bytes of data, ${size}`;
  }
  const addrs = `${formatIp(p.src)} → ${formatIp(p.dst)}`;
  if (p.spi !== undefined) {
    const seq = p.l4.length >= 8 ? ((p.l4[4]! << 24) >>> 0) + ((p.l4[5]! << 16) | (p.l4[6]! << 8) | p.l4[7]!) : undefined;
    return `ESP ${addrs}, SPI ${hex32(p.spi)}${seq === undefined ? '' : `, seq ${seq}`}, ${size}`;
  }
  if (p.icmpType !== undefined) return `${protocolName(p.protocol)} ${addrs}, ${icmpName(p.family, p.icmpType, p.icmpCode ?? 0, p.l4)}, ${size}`;
  return `${protocolName(p.protocol)} ${addrs}, ${size}`;
}

function icmpName(family: 4 | 6, type: number, code: number, m: Uint8Array): string {
  const id = m.length >= 8 ? `id ${(m[4]! << 8) | m[5]!} seq ${(m[6]! << 8) | m[7]!}` : '';
  if (family === 4) {
    if (type === ICMP_TYPE.ECHO_REQUEST) return `echo request ${id}`;
    if (type === ICMP_TYPE.ECHO_REPLY) return `echo reply ${id}`;
    if (type === ICMP_TYPE.DEST_UNREACHABLE && code === ICMP_CODE_FRAG_NEEDED) {
      return `fragmentation needed (next-hop MTU ${m.length >= 8 ? (m[6]! << 8) | m[7]! : '?'})`;
    }
    if (type === ICMP_TYPE.DEST_UNREACHABLE) return `destination unreachable (code ${code})`;
    if (type === ICMP_TYPE.TIME_EXCEEDED) return 'time exceeded';
  } else {
    if (type === ICMPV6_TYPE.ECHO_REQUEST) return `echo request ${id}`;
    if (type === ICMPV6_TYPE.ECHO_REPLY) return `echo reply ${id}`;
    if (type === ICMPV6_TYPE.PACKET_TOO_BIG) {
      return `packet too big (MTU ${m.length >= 8 ? ((m[4]! << 24) >>> 0) + ((m[5]! << 16) | (m[6]! << 8) | m[7]!) : '?'})`;
    }
    if (type === ICMPV6_TYPE.TIME_EXCEEDED) return 'time exceeded';
  }
  return `type ${type} code ${code}`;
}

/** "120 s", "1.5 s", "250 ms", "3 µs": a duration for comments. */
export function formatSpan(us: number): string {
  if (us % 1_000_000 === 0) return `${us / 1_000_000} s`;
  if (us >= 1_000_000) return `${Number((us / 1_000_000).toFixed(6))} s`;
  if (us % 1000 === 0) return `${us / 1000} ms`;
  if (us >= 1000) return `${Number((us / 1000).toFixed(3))} ms`;
  return `${us} µs`;
}
