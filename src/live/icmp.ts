/**
 * The inner traffic of a live tunnel: ICMP echo (RFC 792) over IPv4 and ICMPv6 echo
 * (RFC 4443 §4) over IPv6, built and parsed with the wire codecs. The echo payload
 * is 56 bytes, as ping(8) sends by default, so a reply is "64 bytes" of ICMP.
 */
import { internetChecksum, onesComplementSum, type IpAddress } from '../core/index.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { Ipv4Codec } from '../wire/ipv4.ts';
import { Ipv6Codec } from '../wire/ipv6.ts';

export const ICMP_TYPE = {
  ECHO_REPLY: 0,
  ECHO_REQUEST: 8,
  V6_ECHO_REQUEST: 128,
  V6_ECHO_REPLY: 129,
} as const;
export type IcmpType = (typeof ICMP_TYPE)[keyof typeof ICMP_TYPE];

/** ping(8)'s default data size. */
export const ECHO_DATA_LEN = 56;
const ECHO_HEADER_LEN = 8;
const DEFAULT_TTL = 64;

export interface Echo {
  readonly family: 4 | 6;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly kind: 'request' | 'reply';
  readonly id: number;
  readonly seq: number;
  readonly data: Uint8Array;
  /** ICMP message length (header and data): what ping prints as "N bytes from". */
  readonly icmpLength: number;
}

/** The IPv6 pseudo-header sum (RFC 8200 §8.1) for an upper-layer packet. */
function v6PseudoSum(src: IpAddress, dst: IpAddress, length: number, next: number): number {
  const ph = new Uint8Array(40);
  ph.set(src.bytes, 0);
  ph.set(dst.bytes, 16);
  new DataView(ph.buffer).setUint32(32, length);
  ph[39] = next;
  return onesComplementSum(ph);
}

function icmpMessage(family: 4 | 6, src: IpAddress, dst: IpAddress, type: number, id: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(ECHO_HEADER_LEN + data.length);
  const v = new DataView(m.buffer);
  m[0] = type;
  m[1] = 0;
  v.setUint16(4, id & 0xffff);
  v.setUint16(6, seq & 0xffff);
  m.set(data, ECHO_HEADER_LEN);
  const sum = family === 4 ? internetChecksum(m) : internetChecksum(m, v6PseudoSum(src, dst, m.length, IP_PROTOCOL.ICMPV6));
  v.setUint16(2, sum);
  return m;
}

function ipPacket(src: IpAddress, dst: IpAddress, icmp: Uint8Array, identification: number): Uint8Array {
  if (src.family === 4) {
    return Ipv4Codec.encode({
      dscp: 0,
      ecn: 0,
      identification: identification & 0xffff,
      reservedFlag: false,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: DEFAULT_TTL,
      protocol: IP_PROTOCOL.ICMP,
      src,
      dst,
      options: new Uint8Array(0),
      payload: icmp,
    });
  }
  return Ipv6Codec.encode({ trafficClass: 0, flowLabel: 0, hopLimit: DEFAULT_TTL, src, dst, extensions: [], protocol: IP_PROTOCOL.ICMPV6, payload: icmp });
}

/** The 56 data bytes of a request: 8 bytes of send time (µs) then 0x10, 0x11, ... as ping does. */
export function echoData(sentAtUs: number): Uint8Array {
  const d = new Uint8Array(ECHO_DATA_LEN);
  new DataView(d.buffer).setBigUint64(0, BigInt(Math.max(0, Math.trunc(sentAtUs))));
  for (let i = 8; i < ECHO_DATA_LEN; i++) d[i] = (i + 8) & 0xff;
  return d;
}

/** An echo request from `src` to `dst` as a whole IP packet. */
export function buildEchoRequest(src: IpAddress, dst: IpAddress, id: number, seq: number, data: Uint8Array): Uint8Array {
  if (src.family !== dst.family) throw new RangeError('echo request: source and destination are of different families');
  const type = src.family === 4 ? ICMP_TYPE.ECHO_REQUEST : ICMP_TYPE.V6_ECHO_REQUEST;
  return ipPacket(src, dst, icmpMessage(src.family, src, dst, type, id, seq, data), seq);
}

/** The reply to a parsed request: addresses swapped, same id, sequence and data. */
export function buildEchoReply(req: Echo): Uint8Array {
  const type = req.family === 4 ? ICMP_TYPE.ECHO_REPLY : ICMP_TYPE.V6_ECHO_REPLY;
  return ipPacket(req.dst, req.src, icmpMessage(req.family, req.dst, req.src, type, req.id, req.seq, req.data), req.seq);
}

/** An ICMP/ICMPv6 echo request or reply with a valid checksum; undefined for anything else. */
export function parseEcho(packet: Uint8Array): Echo | undefined {
  let family: 4 | 6;
  let src: IpAddress;
  let dst: IpAddress;
  let icmp: Uint8Array;
  try {
    const version = (packet[0] ?? 0) >> 4;
    if (version === 4) {
      const p = Ipv4Codec.decode(packet);
      if (p.protocol !== IP_PROTOCOL.ICMP || p.moreFragments || p.fragmentOffset !== 0) return undefined;
      family = 4;
      ({ src, dst } = p);
      icmp = p.payload;
    } else if (version === 6) {
      const p = Ipv6Codec.decode(packet);
      if (p.protocol !== IP_PROTOCOL.ICMPV6 || p.extensions.length > 0) return undefined;
      family = 6;
      ({ src, dst } = p);
      icmp = p.payload;
    } else {
      return undefined;
    }
  } catch {
    return undefined;
  }
  if (icmp.length < ECHO_HEADER_LEN) return undefined;
  const sum = family === 4 ? internetChecksum(icmp) : internetChecksum(icmp, v6PseudoSum(src, dst, icmp.length, IP_PROTOCOL.ICMPV6));
  if (sum !== 0) return undefined;
  const type = icmp[0]!;
  let kind: Echo['kind'];
  if (type === (family === 4 ? ICMP_TYPE.ECHO_REQUEST : ICMP_TYPE.V6_ECHO_REQUEST)) kind = 'request';
  else if (type === (family === 4 ? ICMP_TYPE.ECHO_REPLY : ICMP_TYPE.V6_ECHO_REPLY)) kind = 'reply';
  else return undefined;
  if (icmp[1] !== 0) return undefined;
  const v = new DataView(icmp.buffer, icmp.byteOffset, icmp.byteLength);
  return {
    family,
    src,
    dst,
    kind,
    id: v.getUint16(4),
    seq: v.getUint16(6),
    data: new Uint8Array(icmp.subarray(ECHO_HEADER_LEN)),
    icmpLength: icmp.length,
  };
}
