/**
 * IPv4 header (RFC 791) with options, and the header checksum (RFC 1071).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  |Version|  IHL  |  DSCP     |ECN|         Total Length          |
 *  |         Identification        |R|D|M|    Fragment Offset      |
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  |                    Options (IHL*4 - 20 bytes)                 |
 *
 * Decoding never throws for a bad checksum: it reports `checksumValid`. Bytes after
 * Total Length (Ethernet padding) are ignored; the payload is cut to Total Length.
 */
import { ByteReader, onesComplementSum } from '../core/bytes.ts';
import type { IpAddress } from '../core/addr.ts';
import { encodeTarget, type Codec } from './codec.ts';

export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
export const IPV4_MAX_TOTAL_LEN = 65535;

export interface Ipv4Packet {
  /** Differentiated Services code point (6 bits). */
  readonly dscp: number;
  /** Explicit Congestion Notification (2 bits). */
  readonly ecn: number;
  readonly identification: number;
  /** The reserved flag bit (0x8000 of the flags/offset word); kept so re-encoding is byte-exact. */
  readonly reservedFlag: boolean;
  readonly dontFragment: boolean;
  readonly moreFragments: boolean;
  /** Byte offset of this fragment's data in the original datagram (the wire field times 8). */
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** Raw option bytes (a multiple of 4, at most 40); a view when decoded. */
  readonly options: Uint8Array;
  /** The Total Length - IHL*4 bytes after the header; a view when decoded. */
  readonly payload: Uint8Array;
  /** Header checksum as found on the wire (decode), or to be written when `keepChecksum` is set. */
  readonly checksum?: number;
  /** Set by decode: whether the header checksum verifies. */
  readonly checksumValid?: boolean;
  /** Encode writes `checksum` as given instead of computing it (to reproduce a captured bad checksum). */
  readonly keepChecksum?: boolean;
}

/** An Ipv4Packet as decode returns it: the checksum fields are always present. */
export type DecodedIpv4Packet = Ipv4Packet & {
  readonly checksum: number;
  readonly checksumValid: boolean;
  /** Set when decoding a snap-truncated capture: how many bytes of the datagram were not captured. */
  readonly truncatedBy?: number;
};

export interface Ipv4DecodeOptions {
  /**
   * The buffer is a capture cut at its snap length: a total length beyond the buffer is
   * expected, and the payload is what was captured (see `truncatedBy`).
   */
  readonly snapped?: boolean;
}

export function ipv4HeaderLength(p: Pick<Ipv4Packet, 'options'>): number {
  return IPV4_MIN_HEADER_LEN + p.options.length;
}

/** True for any fragment of a larger datagram (MF set or a non-zero offset). */
export function isIpv4Fragment(p: Pick<Ipv4Packet, 'moreFragments' | 'fragmentOffset'>): boolean {
  return p.moreFragments || p.fragmentOffset !== 0;
}

/** Header checksum to store for `header` (its checksum bytes 10-11 are skipped). */
export function ipv4HeaderChecksum(header: Uint8Array): number {
  const sum = onesComplementSum(header.subarray(0, 10), onesComplementSum(header.subarray(12)));
  return ~sum & 0xffff;
}

/** True when the header, checksum included, sums to 0xffff. */
export function verifyIpv4HeaderChecksum(header: Uint8Array): boolean {
  return onesComplementSum(header) === 0xffff;
}

/** Decodes an IPv4 packet; with `snapped`, a capture cut short by its snap length is accepted. */
export function decodeIpv4(buf: Uint8Array, base = 0, opts: Ipv4DecodeOptions = {}): DecodedIpv4Packet {
  const r = new ByteReader(buf, 'ipv4', base);
  const vihl = r.u8('version');
  const version = vihl >> 4;
  if (version !== 4) r.fail('version', `version is ${version}, not 4`, 0);
  const ihl = vihl & 0x0f;
  if (ihl < 5) r.fail('ihl', `IHL is ${ihl}: the header needs at least 5 words`, 0);
  const tos = r.u8('dscp_ecn');
  const totalLength = r.u16('total_length');
  const identification = r.u16('identification');
  const flagsOffset = r.u16('flags_fragment_offset');
  const ttl = r.u8('ttl');
  const protocol = r.u8('protocol');
  const checksum = r.u16('header_checksum');
  const src = r.bytes(4, 'src');
  const dst = r.bytes(4, 'dst');
  const headerLen = ihl * 4;
  const options = r.bytes(headerLen - IPV4_MIN_HEADER_LEN, 'options');
  if (totalLength < headerLen) {
    r.fail('total_length', `total length ${totalLength} is less than the header length ${headerLen}`, 2);
  }
  if (totalLength > buf.length && !opts.snapped) {
    r.fail('total_length', `total length ${totalLength} exceeds the ${buf.length} bytes available`, 2);
  }
  const end = Math.min(totalLength, buf.length);
  return {
    dscp: tos >> 2,
    ecn: tos & 0x03,
    identification,
    reservedFlag: (flagsOffset & 0x8000) !== 0,
    dontFragment: (flagsOffset & 0x4000) !== 0,
    moreFragments: (flagsOffset & 0x2000) !== 0,
    fragmentOffset: (flagsOffset & 0x1fff) * 8,
    ttl,
    protocol,
    src: { family: 4, bytes: src.slice() },
    dst: { family: 4, bytes: dst.slice() },
    options,
    payload: buf.subarray(headerLen, end),
    ...(end < totalLength ? { truncatedBy: totalLength - end } : {}),
    checksum,
    checksumValid: verifyIpv4HeaderChecksum(buf.subarray(0, headerLen)),
  };
}

function encodedLength(p: Ipv4Packet): number {
  return ipv4HeaderLength(p) + p.payload.length;
}

function checkValue(p: Ipv4Packet): void {
  const bad = (what: string): never => {
    throw new RangeError(`ipv4 encode: ${what}`);
  };
  if (p.src.family !== 4 || p.src.bytes.length !== 4) bad('src is not an IPv4 address');
  if (p.dst.family !== 4 || p.dst.bytes.length !== 4) bad('dst is not an IPv4 address');
  if (p.options.length % 4 !== 0 || p.options.length > IPV4_MAX_HEADER_LEN - IPV4_MIN_HEADER_LEN) {
    bad(`options length ${p.options.length} is not a multiple of 4 up to 40`);
  }
  if (encodedLength(p) > IPV4_MAX_TOTAL_LEN) bad(`total length ${encodedLength(p)} exceeds 65535`);
  if (p.fragmentOffset % 8 !== 0 || p.fragmentOffset < 0 || p.fragmentOffset > 0x1fff * 8) {
    bad(`fragment offset ${p.fragmentOffset} is not a multiple of 8 up to 65528`);
  }
  if (p.keepChecksum && p.checksum === undefined) bad('keepChecksum without a checksum');
}

function encode(p: Ipv4Packet, out?: Uint8Array, offset = 0): Uint8Array {
  checkValue(p);
  const headerLen = ipv4HeaderLength(p);
  const total = headerLen + p.payload.length;
  const t = encodeTarget(total, out, offset);
  t[0] = 0x40 | (headerLen >> 2);
  t[1] = ((p.dscp & 0x3f) << 2) | (p.ecn & 0x03);
  t[2] = total >> 8;
  t[3] = total & 0xff;
  t[4] = (p.identification >> 8) & 0xff;
  t[5] = p.identification & 0xff;
  const fo =
    (p.reservedFlag ? 0x8000 : 0) | (p.dontFragment ? 0x4000 : 0) | (p.moreFragments ? 0x2000 : 0) | (p.fragmentOffset / 8);
  t[6] = fo >> 8;
  t[7] = fo & 0xff;
  t[8] = p.ttl & 0xff;
  t[9] = p.protocol & 0xff;
  t[10] = 0;
  t[11] = 0;
  t.set(p.src.bytes, 12);
  t.set(p.dst.bytes, 16);
  t.set(p.options, 20);
  t.set(p.payload, headerLen);
  const checksum = p.keepChecksum ? p.checksum! & 0xffff : ipv4HeaderChecksum(t.subarray(0, headerLen));
  t[10] = checksum >> 8;
  t[11] = checksum & 0xff;
  return t;
}

export const Ipv4Codec = {
  decode: (buf: Uint8Array, base = 0): DecodedIpv4Packet => decodeIpv4(buf, base),
  encode,
  encodedLength,
} satisfies Codec<Ipv4Packet>;
