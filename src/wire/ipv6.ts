/**
 * IPv6 fixed header (RFC 8200 §3) and the extension-header chain (§4) up to the
 * upper-layer protocol.
 *
 *  |Version| Traffic Class |           Flow Label                  |
 *  |         Payload Length        |  Next Header  |   Hop Limit   |
 *  |                     Source Address (16)                       |
 *  |                  Destination Address (16)                     |
 *
 * The chain is walked through Hop-by-Hop Options (0), Routing (43), Fragment (44)
 * and Destination Options (60), at most IPV6_MAX_EXTENSIONS headers. Any other Next
 * Header value (UDP, ESP, AH, No Next Header, ...) ends the walk and becomes `protocol`.
 * A Fragment header of a real fragment (offset or M set) also ends it: what follows is
 * fragment data, meaningful only after reassembly; `protocol` is then the fragment
 * header's Next Header. An atomic fragment (offset 0, M clear) is walked through.
 *
 * Each extension's own Next Header byte is not stored: it is the type of the next
 * element of `extensions`, or `protocol` for the last one.
 */
import { ByteReader } from '../core/bytes.ts';
import type { IpAddress } from '../core/addr.ts';
import { encodeTarget, type Codec } from './codec.ts';

export const IPV6_HEADER_LEN = 40;
export const IPV6_MAX_EXTENSIONS = 16;
export const IPV6_MAX_PAYLOAD_LEN = 65535;

export const IPV6_EXTENSION = {
  HOP_BY_HOP: 0,
  ROUTING: 43,
  FRAGMENT: 44,
  DEST_OPTS: 60,
} as const;
export type Ipv6ExtensionType = (typeof IPV6_EXTENSION)[keyof typeof IPV6_EXTENSION];

/** Hop-by-Hop, Routing or Destination Options: (Hdr Ext Len + 1) * 8 bytes in all. */
export interface Ipv6OptionsExtension {
  readonly type: 0 | 43 | 60;
  /** The bytes after Next Header and Hdr Ext Len: 6, 14, 22, ... bytes (8k + 6). */
  readonly data: Uint8Array;
}

/** Fragment header (RFC 8200 §4.5), always 8 bytes. */
export interface Ipv6FragmentExtension {
  readonly type: 44;
  /** Byte offset of the fragment data in the fragmentable part (the wire field times 8). */
  readonly fragmentOffset: number;
  readonly moreFragments: boolean;
  readonly identification: number;
  /** The reserved byte and the 2 reserved bits, kept for byte-exact re-encoding. */
  readonly reserved: number;
  readonly reservedBits: number;
}

export type Ipv6Extension = Ipv6OptionsExtension | Ipv6FragmentExtension;

export interface Ipv6Packet {
  readonly trafficClass: number;
  /** 20 bits. */
  readonly flowLabel: number;
  readonly hopLimit: number;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** Extension headers in wire order. */
  readonly extensions: readonly Ipv6Extension[];
  /** Next Header after the last walked extension header (the upper-layer protocol). */
  readonly protocol: number;
  /** Bytes after the last walked extension header, up to Payload Length; a view when decoded. */
  readonly payload: Uint8Array;
}

/** The Fragment header of a packet, if it has one. */
export function ipv6FragmentHeader(p: Pick<Ipv6Packet, 'extensions'>): Ipv6FragmentExtension | undefined {
  for (const e of p.extensions) if (e.type === IPV6_EXTENSION.FRAGMENT) return e;
  return undefined;
}

/** True when the packet carries a Fragment header of a real (non-atomic) fragment. */
export function isIpv6Fragment(p: Pick<Ipv6Packet, 'extensions'>): boolean {
  const f = ipv6FragmentHeader(p);
  return f !== undefined && (f.moreFragments || f.fragmentOffset !== 0);
}

export function ipv6ExtensionLength(e: Ipv6Extension): number {
  return e.type === IPV6_EXTENSION.FRAGMENT ? 8 : 2 + e.data.length;
}

function isExtension(nh: number): nh is Ipv6ExtensionType {
  return nh === 0 || nh === 43 || nh === 44 || nh === 60;
}

function decode(buf: Uint8Array, base = 0): Ipv6Packet {
  const r = new ByteReader(buf, 'ipv6', base);
  const w0 = r.u32('version');
  const version = w0 >>> 28;
  if (version !== 6) r.fail('version', `version is ${version}, not 6`, 0);
  const payloadLength = r.u16('payload_length');
  let nextHeader = r.u8('next_header');
  const hopLimit = r.u8('hop_limit');
  const src = r.bytes(16, 'src');
  const dst = r.bytes(16, 'dst');
  if (payloadLength > r.remaining) {
    r.fail('payload_length', `payload length ${payloadLength} exceeds the ${r.remaining} bytes available`, 4);
  }
  // Trailing bytes (link padding) are cut off here; the chain reader sees only the payload.
  const p = r.sub(payloadLength, 'payload');
  const extensions: Ipv6Extension[] = [];
  let nhAt = 6;
  while (isExtension(nextHeader)) {
    if (extensions.length === IPV6_MAX_EXTENSIONS) {
      r.fail('next_header', `more than ${IPV6_MAX_EXTENSIONS} extension headers`, nhAt);
    }
    const start = IPV6_HEADER_LEN + p.pos;
    const nh = p.u8('ext_next_header');
    if (nextHeader === IPV6_EXTENSION.FRAGMENT) {
      const reserved = p.u8('frag_reserved');
      const offFlags = p.u16('fragment_offset');
      const identification = p.u32('identification');
      const frag: Ipv6FragmentExtension = {
        type: 44,
        fragmentOffset: offFlags & 0xfff8,
        moreFragments: (offFlags & 1) !== 0,
        identification,
        reserved,
        reservedBits: (offFlags >> 1) & 0x03,
      };
      extensions.push(frag);
      nextHeader = nh;
      nhAt = start;
      if (frag.moreFragments || frag.fragmentOffset !== 0) break;
    } else {
      const hdrExtLen = p.u8('hdr_ext_len');
      const data = p.bytes(hdrExtLen * 8 + 6, 'ext_data');
      extensions.push({ type: nextHeader, data });
      nextHeader = nh;
      nhAt = start;
    }
  }
  return {
    trafficClass: (w0 >>> 20) & 0xff,
    flowLabel: w0 & 0xfffff,
    hopLimit,
    src: { family: 6, bytes: src.slice() },
    dst: { family: 6, bytes: dst.slice() },
    extensions,
    protocol: nextHeader,
    payload: p.rest(),
  };
}

function payloadLength(p: Ipv6Packet): number {
  let n = p.payload.length;
  for (const e of p.extensions) n += ipv6ExtensionLength(e);
  return n;
}

function encodedLength(p: Ipv6Packet): number {
  return IPV6_HEADER_LEN + payloadLength(p);
}

function encode(p: Ipv6Packet, out?: Uint8Array, offset = 0): Uint8Array {
  const bad = (what: string): never => {
    throw new RangeError(`ipv6 encode: ${what}`);
  };
  if (p.src.family !== 6 || p.src.bytes.length !== 16) bad('src is not an IPv6 address');
  if (p.dst.family !== 6 || p.dst.bytes.length !== 16) bad('dst is not an IPv6 address');
  if (p.extensions.length > IPV6_MAX_EXTENSIONS) bad(`more than ${IPV6_MAX_EXTENSIONS} extension headers`);
  const plen = payloadLength(p);
  if (plen > IPV6_MAX_PAYLOAD_LEN) bad(`payload length ${plen} exceeds 65535`);
  const t = encodeTarget(IPV6_HEADER_LEN + plen, out, offset);
  const w0 = ((6 << 28) | ((p.trafficClass & 0xff) << 20) | (p.flowLabel & 0xfffff)) >>> 0;
  t[0] = w0 >>> 24;
  t[1] = (w0 >>> 16) & 0xff;
  t[2] = (w0 >>> 8) & 0xff;
  t[3] = w0 & 0xff;
  t[4] = plen >> 8;
  t[5] = plen & 0xff;
  const exts = p.extensions;
  t[6] = exts.length > 0 ? exts[0]!.type : p.protocol & 0xff;
  t[7] = p.hopLimit & 0xff;
  t.set(p.src.bytes, 8);
  t.set(p.dst.bytes, 24);
  let at = IPV6_HEADER_LEN;
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i]!;
    t[at] = i + 1 < exts.length ? exts[i + 1]!.type : p.protocol & 0xff;
    if (e.type === IPV6_EXTENSION.FRAGMENT) {
      if (e.fragmentOffset % 8 !== 0 || e.fragmentOffset < 0 || e.fragmentOffset > 0xfff8) {
        bad(`fragment offset ${e.fragmentOffset} is not a multiple of 8 up to 65528`);
      }
      const offFlags = e.fragmentOffset | ((e.reservedBits & 0x03) << 1) | (e.moreFragments ? 1 : 0);
      t[at + 1] = e.reserved & 0xff;
      t[at + 2] = offFlags >> 8;
      t[at + 3] = offFlags & 0xff;
      t[at + 4] = e.identification >>> 24;
      t[at + 5] = (e.identification >>> 16) & 0xff;
      t[at + 6] = (e.identification >>> 8) & 0xff;
      t[at + 7] = e.identification & 0xff;
      at += 8;
    } else {
      if (e.data.length < 6 || (e.data.length - 6) % 8 !== 0 || e.data.length > 255 * 8 + 6) {
        bad(`extension ${e.type} data length ${e.data.length} is not 8k + 6`);
      }
      t[at + 1] = (e.data.length - 6) / 8;
      t.set(e.data, at + 2);
      at += 2 + e.data.length;
    }
  }
  t.set(p.payload, at);
  return t;
}

export const Ipv6Codec: Codec<Ipv6Packet> = { decode, encode, encodedLength };
