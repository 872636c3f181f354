/**
 * Strips link and IP layers from captured frames, reassembling IP fragments,
 * and hands back the transport payload with the addresses it was observed with.
 * Pure: the caller feeds records in capture order with their timestamps.
 */
import { DecodeError } from '../core/errors.ts';
import type { IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { decodeLink } from '../wire/link.ts';
import { Ipv4Codec, decodeIpv4, isIpv4Fragment, type DecodedIpv4Packet } from '../wire/ipv4.ts';
import { Ipv6Codec, isIpv6Fragment } from '../wire/ipv6.ts';
import { Ipv4Reassembler, Ipv6Reassembler, type ReassemblyOptions } from '../wire/ip-reassembly.ts';

export interface FrameInput {
  readonly linktype: number;
  readonly data: Uint8Array;
  readonly timestampUs: Micros;
  /** Length on the wire; more than data.length when the capture was cut at its snap length. */
  readonly originalLength?: number;
}

export interface IpPacket {
  readonly version: 4 | 6;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** Upper-layer protocol (17 UDP, 50 ESP, ...). */
  readonly protocol: number;
  readonly ttl: number;
  /** The transport bytes (after IP header and IPv6 extension headers). */
  readonly payload: Uint8Array;
  /** Absolute offset of payload[0] in the frame; for a reassembled datagram, in the reassembled packet. */
  readonly payloadOffset: number;
  /** Set when the packet was reassembled from this many fragments. */
  readonly reassembledFrom?: number;
  readonly dontFragment: boolean;
  readonly ipv4HeaderChecksumValid?: boolean;
  /** The first fragment of a datagram that could not be reassembled: the payload is partial. */
  readonly firstFragmentOnly?: boolean;
  /** Bytes of the datagram missing from a snap-truncated capture. */
  readonly truncatedBy?: number;
  /** The whole IP packet as seen (or as reassembled). */
  readonly ipBytes: Uint8Array;
}

export type FrameResult =
  | { readonly kind: 'ip'; readonly ip: IpPacket }
  /** An IP fragment held until the rest arrives; `detail` says which. */
  | { readonly kind: 'fragment'; readonly detail: string; readonly src: IpAddress; readonly dst: IpAddress }
  | { readonly kind: 'not-ip'; readonly detail: string }
  | { readonly kind: 'error'; readonly error: DecodeError };

export class FrameDecoder {
  private readonly v4: Ipv4Reassembler;
  private readonly v6: Ipv6Reassembler;

  constructor(opts: ReassemblyOptions = {}) {
    this.v4 = new Ipv4Reassembler(opts);
    this.v6 = new Ipv6Reassembler(opts);
  }

  decode(rec: FrameInput): FrameResult {
    try {
      return this.decodeOrThrow(rec);
    } catch (e) {
      if (e instanceof DecodeError) return { kind: 'error', error: e };
      throw e;
    }
  }

  private decodeOrThrow(rec: FrameInput): FrameResult {
    const link = decodeLink(rec.linktype, rec.data, 0);
    if (link.network === 'ipv4') {
      const ipBytes = link.payload;
      const snapped = rec.originalLength !== undefined && rec.originalLength > rec.data.length;
      const p = decodeIpv4(ipBytes, link.payloadOffset, { snapped });
      if (isIpv4Fragment(p) && p.truncatedBy) {
        // A fragment the capture did not keep whole cannot be reassembled; the first one
        // still shows its transport header, as tcpdump does.
        if (p.fragmentOffset === 0) {
          return { kind: 'ip', ip: { ...v4Packet(p, ipBytes, link.payloadOffset + (p.payload.byteOffset - ipBytes.byteOffset)), firstFragmentOnly: true } };
        }
        return { kind: 'fragment', detail: `IPv4 fragment id 0x${p.identification.toString(16)} offset ${p.fragmentOffset} (not captured whole)`, src: p.src, dst: p.dst };
      }
      if (isIpv4Fragment(p)) {
        const r = this.v4.add(p, rec.timestampUs);
        const what = `IPv4 fragment id 0x${p.identification.toString(16)} offset ${p.fragmentOffset}${p.moreFragments ? ' +' : ''}`;
        if (r.status === 'complete') {
          const whole = Ipv4Codec.decode(r.packet, 0);
          return { kind: 'ip', ip: v4Packet(whole, r.packet, whole.payload.byteOffset - r.packet.byteOffset, r.fragments) };
        }
        if (r.status === 'rejected') {
          throw new DecodeError('ipv4', 'fragment_offset', link.payloadOffset + 6, `${what}: reassembly refused: ${r.detail}`);
        }
        return { kind: 'fragment', detail: r.status === 'duplicate' ? `${what} (duplicate)` : what, src: p.src, dst: p.dst };
      }
      return { kind: 'ip', ip: v4Packet(p, ipBytes, link.payloadOffset + (p.payload.byteOffset - ipBytes.byteOffset)) };
    }
    if (link.network === 'ipv6') {
      const ipBytes = link.payload;
      const p = Ipv6Codec.decode(ipBytes, link.payloadOffset);
      if (isIpv6Fragment(p)) {
        const r = this.v6.add(p, rec.timestampUs);
        if (r.status === 'complete') {
          const whole = Ipv6Codec.decode(r.packet, 0);
          return { kind: 'ip', ip: v6Packet(whole, r.packet, whole.payload.byteOffset - r.packet.byteOffset, r.fragments) };
        }
        if (r.status === 'rejected') {
          throw new DecodeError('ipv6', 'fragment_offset', link.payloadOffset + 40, `IPv6 fragment: reassembly refused: ${r.detail}`);
        }
        return { kind: 'fragment', detail: 'IPv6 fragment', src: p.src, dst: p.dst };
      }
      return { kind: 'ip', ip: v6Packet(p, ipBytes, link.payloadOffset + (p.payload.byteOffset - ipBytes.byteOffset)) };
    }
    const t = link.ethertype ?? link.af;
    if (t === 0x0806) return { kind: 'not-ip', detail: 'ARP' };
    return { kind: 'not-ip', detail: t === undefined ? 'not IP' : `not IP (type 0x${t.toString(16).padStart(4, '0')})` };
  }
}

function v4Packet(
  p: DecodedIpv4Packet,
  ipBytes: Uint8Array,
  payloadOffset: number,
  reassembledFrom?: number,
): IpPacket {
  return {
    version: 4,
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    ttl: p.ttl,
    payload: p.payload,
    payloadOffset,
    dontFragment: p.dontFragment,
    ipv4HeaderChecksumValid: p.checksumValid,
    ipBytes,
    ...(p.truncatedBy ? { truncatedBy: p.truncatedBy } : {}),
    ...(reassembledFrom !== undefined ? { reassembledFrom } : {}),
  };
}

function v6Packet(
  p: ReturnType<typeof Ipv6Codec.decode>,
  ipBytes: Uint8Array,
  payloadOffset: number,
  reassembledFrom?: number,
): IpPacket {
  return {
    version: 6,
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    ttl: p.hopLimit,
    payload: p.payload,
    payloadOffset,
    dontFragment: true,
    ipBytes,
    ...(reassembledFrom !== undefined ? { reassembledFrom } : {}),
  };
}
