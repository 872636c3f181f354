/**
 * Link layers of capture files (tcpdump.org "Link-layer header types"), down to the
 * network-layer payload.
 *
 * - ETHERNET (1): Ethernet II, dst(6) src(6) type(2), with 802.1Q / 802.1ad tags
 *   (TPID 0x8100, 0x88a8, 0x9100; each TCI(2) + type(2)), at most LINK_MAX_VLAN_TAGS.
 * - NULL (0): a 4-byte address family in the capturing host's byte order (both orders
 *   are recognised); LOOP (108): the same in network byte order. AF_INET is 2;
 *   AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (Darwin).
 * - LINUX_SLL (113): 16 bytes: packet type(2), ARPHRD type(2), address length(2),
 *   address(8), protocol(2).
 * - LINUX_SLL2 (276): 20 bytes: protocol(2), reserved(2), interface index(4),
 *   ARPHRD type(2), packet type(1), address length(1), address(8).
 * - RAW (101, and the DLT_RAW values 12 and 14 some files carry): no header; the
 *   version nibble says IPv4 or IPv6. IPV4 (228) and IPV6 (229): no header.
 */
import { ByteReader } from '../core/bytes.ts';
import { DecodeError } from '../core/errors.ts';
import { encodeTarget, type Codec } from './codec.ts';

export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  /** DLT_RAW on most systems. */
  DLT_RAW: 12,
  /** DLT_RAW on OpenBSD. */
  DLT_RAW_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
export type LinkType = (typeof LINKTYPE)[keyof typeof LINKTYPE];

export const ETHERTYPE = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  IPV6: 0x86dd,
  QINQ: 0x88a8,
  QINQ_LEGACY: 0x9100,
} as const;
export type EtherType = (typeof ETHERTYPE)[keyof typeof ETHERTYPE];

export const ADDRESS_FAMILY = {
  INET: 2,
  INET6_BSD: 24,
  INET6_FREEBSD: 28,
  INET6_DARWIN: 30,
} as const;
export type AddressFamily = (typeof ADDRESS_FAMILY)[keyof typeof ADDRESS_FAMILY];

export const LINK_MAX_VLAN_TAGS = 8;
export const ETHERNET_HEADER_LEN = 14;
export const SLL_HEADER_LEN = 16;
export const SLL2_HEADER_LEN = 20;

export const NETWORK = { IPV4: 'ipv4', IPV6: 'ipv6', OTHER: 'other' } as const;
export type Network = (typeof NETWORK)[keyof typeof NETWORK];

export interface VlanTag {
  /** 0x8100 (802.1Q), 0x88a8 (802.1ad) or 0x9100. */
  readonly tpid: number;
  readonly pcp: number;
  readonly dei: boolean;
  readonly vid: number;
}

function isVlanTpid(t: number): boolean {
  return t === ETHERTYPE.VLAN || t === ETHERTYPE.QINQ || t === ETHERTYPE.QINQ_LEGACY;
}

/** Reads VLAN tags while `type` is a TPID; returns the tags and the inner EtherType. */
function readVlanTags(r: ByteReader, type: number, typeAt: number): { vlans: VlanTag[]; ethertype: number } {
  const vlans: VlanTag[] = [];
  while (isVlanTpid(type)) {
    if (vlans.length === LINK_MAX_VLAN_TAGS) r.fail('vlan', `more than ${LINK_MAX_VLAN_TAGS} VLAN tags`, typeAt);
    const tci = r.u16('vlan_tci');
    vlans.push({ tpid: type, pcp: tci >> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    typeAt = r.pos;
    type = r.u16('ethertype');
  }
  return { vlans, ethertype: type };
}

function writeVlanTags(t: Uint8Array, at: number, vlans: readonly VlanTag[], ethertype: number): number {
  for (const v of vlans) {
    const tci = ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0x0fff);
    t[at++] = (v.tpid >> 8) & 0xff;
    t[at++] = v.tpid & 0xff;
    t[at++] = tci >> 8;
    t[at++] = tci & 0xff;
  }
  t[at++] = (ethertype >> 8) & 0xff;
  t[at++] = ethertype & 0xff;
  return at;
}

function checkVlans(vlans: readonly VlanTag[], layer: string): void {
  if (vlans.length > LINK_MAX_VLAN_TAGS) throw new RangeError(`${layer} encode: more than ${LINK_MAX_VLAN_TAGS} VLAN tags`);
  for (const v of vlans) {
    if (!isVlanTpid(v.tpid)) throw new RangeError(`${layer} encode: 0x${v.tpid.toString(16)} is not a VLAN TPID`);
  }
}

// ---------------------------------------------------------------- Ethernet II

export interface EthernetFrame {
  readonly dst: Uint8Array;
  readonly src: Uint8Array;
  readonly vlans: readonly VlanTag[];
  /** EtherType after the tags (a value below 0x0600 is an 802.3 length). */
  readonly ethertype: number;
  /** The rest of the frame, padding included; a view when decoded. */
  readonly payload: Uint8Array;
}

export const EthernetCodec: Codec<EthernetFrame> = {
  decode(buf, base = 0) {
    const r = new ByteReader(buf, 'ethernet', base);
    const dst = r.bytes(6, 'dst').slice();
    const src = r.bytes(6, 'src').slice();
    const typeAt = r.pos;
    const { vlans, ethertype } = readVlanTags(r, r.u16('ethertype'), typeAt);
    return { dst, src, vlans, ethertype, payload: r.rest() };
  },
  encode(f, out, offset = 0) {
    if (f.dst.length !== 6 || f.src.length !== 6) throw new RangeError('ethernet encode: MAC addresses have 6 bytes');
    checkVlans(f.vlans, 'ethernet');
    if (isVlanTpid(f.ethertype)) throw new RangeError('ethernet encode: put VLAN tags in `vlans`');
    const t = encodeTarget(EthernetCodec.encodedLength(f), out, offset);
    t.set(f.dst, 0);
    t.set(f.src, 6);
    const at = writeVlanTags(t, 12, f.vlans, f.ethertype);
    t.set(f.payload, at);
    return t;
  },
  encodedLength(f) {
    return ETHERNET_HEADER_LEN + 4 * f.vlans.length + f.payload.length;
  },
};

// ---------------------------------------------------------------- Linux cooked v1

export interface SllFrame {
  /** 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us. */
  readonly packetType: number;
  readonly arphrdType: number;
  /** The address length field; can exceed 8, only 8 bytes are stored. */
  readonly addressLength: number;
  /** The 8-byte address field as captured (unused bytes included). */
  readonly address: Uint8Array;
  /** Protocol type (an EtherType for most ARPHRD types), after any VLAN tags. */
  readonly protocol: number;
  readonly vlans: readonly VlanTag[];
  readonly payload: Uint8Array;
}

export const SllCodec: Codec<SllFrame> = {
  decode(buf, base = 0) {
    const r = new ByteReader(buf, 'sll', base);
    const packetType = r.u16('packet_type');
    const arphrdType = r.u16('arphrd_type');
    const addressLength = r.u16('address_length');
    const address = r.bytes(8, 'address').slice();
    const typeAt = r.pos;
    const { vlans, ethertype } = readVlanTags(r, r.u16('protocol'), typeAt);
    return { packetType, arphrdType, addressLength, address, protocol: ethertype, vlans, payload: r.rest() };
  },
  encode(f, out, offset = 0) {
    if (f.address.length !== 8) throw new RangeError('sll encode: the address field has 8 bytes');
    checkVlans(f.vlans, 'sll');
    const t = encodeTarget(SllCodec.encodedLength(f), out, offset);
    t[0] = (f.packetType >> 8) & 0xff;
    t[1] = f.packetType & 0xff;
    t[2] = (f.arphrdType >> 8) & 0xff;
    t[3] = f.arphrdType & 0xff;
    t[4] = (f.addressLength >> 8) & 0xff;
    t[5] = f.addressLength & 0xff;
    t.set(f.address, 6);
    const at = writeVlanTags(t, 14, f.vlans, f.protocol);
    t.set(f.payload, at);
    return t;
  },
  encodedLength(f) {
    return SLL_HEADER_LEN + 4 * f.vlans.length + f.payload.length;
  },
};

// ---------------------------------------------------------------- Linux cooked v2

export interface Sll2Frame {
  /** Protocol type after any VLAN tags. */
  readonly protocol: number;
  readonly reserved: number;
  readonly interfaceIndex: number;
  readonly arphrdType: number;
  readonly packetType: number;
  readonly addressLength: number;
  readonly address: Uint8Array;
  readonly vlans: readonly VlanTag[];
  readonly payload: Uint8Array;
}

export const Sll2Codec: Codec<Sll2Frame> = {
  decode(buf, base = 0) {
    const r = new ByteReader(buf, 'sll2', base);
    const outerProtocol = r.u16('protocol');
    const reserved = r.u16('reserved');
    const interfaceIndex = r.u32('interface_index');
    const arphrdType = r.u16('arphrd_type');
    const packetType = r.u8('packet_type');
    const addressLength = r.u8('address_length');
    const address = r.bytes(8, 'address').slice();
    // With VLAN tags, the inner protocol types follow the header like Ethernet's.
    const { vlans, ethertype } = readVlanTags(r, outerProtocol, 0);
    return { protocol: ethertype, reserved, interfaceIndex, arphrdType, packetType, addressLength, address, vlans, payload: r.rest() };
  },
  encode(f, out, offset = 0) {
    if (f.address.length !== 8) throw new RangeError('sll2 encode: the address field has 8 bytes');
    checkVlans(f.vlans, 'sll2');
    const t = encodeTarget(Sll2Codec.encodedLength(f), out, offset);
    const outer = f.vlans.length > 0 ? f.vlans[0]!.tpid : f.protocol;
    t[0] = (outer >> 8) & 0xff;
    t[1] = outer & 0xff;
    t[2] = (f.reserved >> 8) & 0xff;
    t[3] = f.reserved & 0xff;
    t[4] = f.interfaceIndex >>> 24;
    t[5] = (f.interfaceIndex >>> 16) & 0xff;
    t[6] = (f.interfaceIndex >>> 8) & 0xff;
    t[7] = f.interfaceIndex & 0xff;
    t[8] = (f.arphrdType >> 8) & 0xff;
    t[9] = f.arphrdType & 0xff;
    t[10] = f.packetType & 0xff;
    t[11] = f.addressLength & 0xff;
    t.set(f.address, 12);
    let at = SLL2_HEADER_LEN;
    for (let i = 0; i < f.vlans.length; i++) {
      const v = f.vlans[i]!;
      const tci = ((v.pcp & 7) << 13) | (v.dei ? 0x1000 : 0) | (v.vid & 0x0fff);
      const next = i + 1 < f.vlans.length ? f.vlans[i + 1]!.tpid : f.protocol;
      t[at++] = tci >> 8;
      t[at++] = tci & 0xff;
      t[at++] = (next >> 8) & 0xff;
      t[at++] = next & 0xff;
    }
    t.set(f.payload, at);
    return t;
  },
  encodedLength(f) {
    return SLL2_HEADER_LEN + 4 * f.vlans.length + f.payload.length;
  },
};

// ---------------------------------------------------------------- dispatch

export interface LinkPayload {
  readonly network: Network;
  /** EtherType (Ethernet, SLL, SLL2), after VLAN tags; undefined for the other link types. */
  readonly ethertype?: number;
  /** Address family (NULL, LOOP). */
  readonly af?: number;
  /** VLAN IDs, outermost first. */
  readonly vlanIds: readonly number[];
  /** The network-layer bytes (link padding included); a view. */
  readonly payload: Uint8Array;
  /** Absolute offset of `payload[0]`. */
  readonly payloadOffset: number;
}

function networkOfEthertype(t: number): Network {
  return t === ETHERTYPE.IPV4 ? 'ipv4' : t === ETHERTYPE.IPV6 ? 'ipv6' : 'other';
}

function networkOfAf(af: number): Network {
  if (af === ADDRESS_FAMILY.INET) return 'ipv4';
  if (af === ADDRESS_FAMILY.INET6_BSD || af === ADDRESS_FAMILY.INET6_FREEBSD || af === ADDRESS_FAMILY.INET6_DARWIN) {
    return 'ipv6';
  }
  return 'other';
}

function fromEthertype(ethertype: number, vlans: readonly VlanTag[], payload: Uint8Array, buf: Uint8Array, base: number): LinkPayload {
  return {
    network: networkOfEthertype(ethertype),
    ethertype,
    vlanIds: vlans.map((v) => v.vid),
    payload,
    payloadOffset: base + (buf.length - payload.length),
  };
}

/** True when `linktype` is one decodeLink understands. */
export function isSupportedLinkType(linktype: number): boolean {
  return (Object.values(LINKTYPE) as number[]).includes(linktype);
}

/**
 * Strips the link-layer header of a captured frame. `base` is the absolute offset of
 * frame[0] (for error offsets). Throws DecodeError only: truncated headers name their
 * field; an unsupported link type is layer "link", field "linktype".
 */
export function decodeLink(linktype: number, frame: Uint8Array, base = 0): LinkPayload {
  switch (linktype) {
    case LINKTYPE.ETHERNET: {
      const f = EthernetCodec.decode(frame, base);
      return fromEthertype(f.ethertype, f.vlans, f.payload, frame, base);
    }
    case LINKTYPE.LINUX_SLL: {
      const f = SllCodec.decode(frame, base);
      return fromEthertype(f.protocol, f.vlans, f.payload, frame, base);
    }
    case LINKTYPE.LINUX_SLL2: {
      const f = Sll2Codec.decode(frame, base);
      return fromEthertype(f.protocol, f.vlans, f.payload, frame, base);
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      const r = new ByteReader(frame, linktype === LINKTYPE.NULL ? 'null' : 'loop', base);
      const b = r.bytes(4, 'family');
      const be = ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
      const le = ((b[3]! << 24) >>> 0) + ((b[2]! << 16) | (b[1]! << 8) | b[0]!);
      // NULL is in the capturing host's order: a small value has its zero bytes at the far end.
      const af = linktype === LINKTYPE.LOOP ? be : le <= 0xffff ? le : be;
      return { network: networkOfAf(af), af, vlanIds: [], payload: r.rest(), payloadOffset: base + 4 };
    }
    case LINKTYPE.RAW:
    case LINKTYPE.DLT_RAW:
    case LINKTYPE.DLT_RAW_OPENBSD: {
      const r = new ByteReader(frame, 'raw', base);
      const version = r.u8('version') >> 4;
      const network: Network = version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : 'other';
      return { network, vlanIds: [], payload: frame, payloadOffset: base };
    }
    case LINKTYPE.IPV4:
      return { network: 'ipv4', vlanIds: [], payload: frame, payloadOffset: base };
    case LINKTYPE.IPV6:
      return { network: 'ipv6', vlanIds: [], payload: frame, payloadOffset: base };
    default:
      throw new DecodeError('link', 'linktype', base, `unsupported link type ${linktype}`);
  }
}
