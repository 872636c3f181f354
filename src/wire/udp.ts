/**
 * UDP header (RFC 768) and its checksum over the IPv4 (RFC 768) or IPv6
 * (RFC 8200 §8.1) pseudo-header.
 *
 *  |          Source Port          |       Destination Port        |
 *  |            Length             |           Checksum            |
 *
 * The codec writes `checksum` as given, so a captured datagram re-encodes byte for
 * byte; `encodeUdp` fills it in (computed, or zero where RFC 768 / RFC 3948 §3.1.1
 * allow it over IPv4).
 */
import { ByteReader, onesComplementSum } from '../core/bytes.ts';
import type { IpAddress } from '../core/addr.ts';
import { encodeTarget, type Codec } from './codec.ts';
import { IP_PROTOCOL } from './ip-protocol.ts';

export const UDP_HEADER_LEN = 8;

export interface UdpDatagram {
  readonly srcPort: number;
  readonly dstPort: number;
  /** As found on the wire (0 = none sent); written verbatim by UdpCodec.encode. */
  readonly checksum: number;
  /** Length - 8 bytes after the header; a view when decoded. */
  readonly payload: Uint8Array;
}

export const UDP_CHECKSUM_STATUS = {
  VALID: 'valid',
  INVALID: 'invalid',
  ZERO: 'zero',
} as const;
export type UdpChecksumStatus = (typeof UDP_CHECKSUM_STATUS)[keyof typeof UDP_CHECKSUM_STATUS];

function pseudoHeaderSum(src: IpAddress, dst: IpAddress, length: number): number {
  if (src.family !== dst.family) throw new RangeError('udp checksum: src and dst are of different families');
  let sum = onesComplementSum(src.bytes, onesComplementSum(dst.bytes));
  // IPv4: zero, protocol, 16-bit UDP length. IPv6: 32-bit length, 3 zero bytes, next header.
  // Both add up to protocol + length, with the length's upper half only for IPv6.
  sum += IP_PROTOCOL.UDP + (length & 0xffff) + (src.family === 6 ? length >>> 16 : 0);
  return sum;
}

/**
 * The checksum to store in `udpBytes` (the whole datagram: header and payload, its
 * own checksum field is skipped). A computed 0 is sent as 0xffff (RFC 768).
 */
export function udpChecksum(src: IpAddress, dst: IpAddress, udpBytes: Uint8Array): number {
  let sum = pseudoHeaderSum(src, dst, udpBytes.length);
  sum = onesComplementSum(udpBytes.subarray(0, Math.min(6, udpBytes.length)), sum);
  if (udpBytes.length > 8) sum = onesComplementSum(udpBytes.subarray(8), sum);
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}

/**
 * Verifies the checksum field of a datagram. `udpBytes` may run past the datagram (an
 * IP payload with trailing bytes): only its Length field's worth is checked when that
 * field is plausible. 'zero' means no checksum was sent: acceptable over IPv4, not over
 * IPv6 (RFC 8200 §8.1).
 */
export function verifyUdpChecksum(src: IpAddress, dst: IpAddress, udpBytes: Uint8Array): UdpChecksumStatus {
  if (udpBytes.length < UDP_HEADER_LEN) return 'invalid';
  if (udpBytes[6] === 0 && udpBytes[7] === 0) return 'zero';
  const length = (udpBytes[4]! << 8) | udpBytes[5]!;
  const d = length >= UDP_HEADER_LEN && length <= udpBytes.length ? udpBytes.subarray(0, length) : udpBytes;
  const sum = onesComplementSum(d, pseudoHeaderSum(src, dst, d.length));
  return sum === 0xffff ? 'valid' : 'invalid';
}

/**
 * Decodes a UDP datagram; with `snapped` (a capture cut at its snap length) a length beyond
 * the buffer is accepted and the payload is what was captured.
 */
export function decodeUdp(buf: Uint8Array, base = 0, opts: { readonly snapped?: boolean } = {}): UdpDatagram & { readonly truncatedBy?: number } {
  const r = new ByteReader(buf, 'udp', base);
  const srcPort = r.u16('src_port');
  const dstPort = r.u16('dst_port');
  const length = r.u16('length');
  const checksum = r.u16('checksum');
  if (length < UDP_HEADER_LEN) r.fail('length', `length ${length} is less than the 8-byte header`, 4);
  if (length > buf.length && !opts.snapped) r.fail('length', `length ${length} exceeds the ${buf.length} bytes available`, 4);
  const end = Math.min(length, buf.length);
  return {
    srcPort,
    dstPort,
    checksum,
    payload: buf.subarray(UDP_HEADER_LEN, end),
    ...(end < length ? { truncatedBy: length - end } : {}),
  };
}

function decode(buf: Uint8Array, base = 0): UdpDatagram {
  return decodeUdp(buf, base);
}

function encodedLength(d: UdpDatagram): number {
  return UDP_HEADER_LEN + d.payload.length;
}

function encode(d: UdpDatagram, out?: Uint8Array, offset = 0): Uint8Array {
  const len = encodedLength(d);
  if (len > 0xffff) throw new RangeError(`udp encode: length ${len} exceeds 65535`);
  const t = encodeTarget(len, out, offset);
  t[0] = (d.srcPort >> 8) & 0xff;
  t[1] = d.srcPort & 0xff;
  t[2] = (d.dstPort >> 8) & 0xff;
  t[3] = d.dstPort & 0xff;
  t[4] = len >> 8;
  t[5] = len & 0xff;
  t[6] = (d.checksum >> 8) & 0xff;
  t[7] = d.checksum & 0xff;
  t.set(d.payload, UDP_HEADER_LEN);
  return t;
}

export const UdpCodec: Codec<UdpDatagram> = { decode, encode, encodedLength };

export interface UdpEncodeOptions {
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** 'compute' (default), or 'zero' to send none: IPv4 only (RFC 768; RFC 3948 §3.1.1 allows it for ESP-in-UDP). */
  readonly checksum?: 'compute' | 'zero';
}

/** Encodes a datagram with its checksum filled in for the given addresses. */
export function encodeUdp(
  d: Omit<UdpDatagram, 'checksum'>,
  opts: UdpEncodeOptions,
  out?: Uint8Array,
  offset = 0,
): Uint8Array {
  const mode = opts.checksum ?? 'compute';
  if (mode === 'zero' && opts.src.family === 6) {
    throw new RangeError('udp encode: a zero checksum is not allowed over IPv6 (RFC 8200 §8.1)');
  }
  const t = encode({ ...d, checksum: 0 }, out, offset);
  if (mode === 'compute') {
    const c = udpChecksum(opts.src, opts.dst, t);
    t[6] = c >> 8;
    t[7] = c & 0xff;
  }
  return t;
}
