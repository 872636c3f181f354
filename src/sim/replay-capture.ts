/**
 * The capture side of a replay: which frames can re-enter the lab and what they carry.
 *
 * Frames go through the analyser's Dissector (link layer stripped, IP fragments
 * reassembled, RFC 3948 classification). UDP datagrams and raw ESP (IPv4 or IPv6)
 * are replayed: the lab rebuilds their IP and UDP headers with the addresses of the
 * hosts that play the captured endpoints and carries the captured payload unchanged.
 * Everything else (ARP, ICMP, TCP, AH, undecodable frames) is counted as skipped, by
 * kind; a fragment is not counted on its own, its reassembled datagram is.
 */
import { formatIp, type IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { Dissector, type Dissection } from '../analysis/dissect.ts';
import { v1ExchangeName, v2ExchangeName } from '../analysis/ike-describe.ts';
import { isResponse } from '../wire/ike/header.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import type { PacketRecord } from '../pcap/format.ts';
import { hex32, protocolName } from './packet.ts';

export const CARGO_KIND = { IKE: 'IKE', ESP: 'ESP', KEEPALIVE: 'NAT-keepalive', UDP: 'UDP' } as const;
export type CargoKind = (typeof CARGO_KIND)[keyof typeof CARGO_KIND];

/** One captured datagram ready to re-enter the lab. */
export interface CapturedPacket {
  /** 1-based frame number in the capture (the last frame of a reassembled datagram). */
  readonly frame: number;
  /** Capture timestamp, µs since the epoch. */
  readonly timestampUs: Micros;
  readonly protocol: 'udp' | 'esp';
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** UDP only. */
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** UDP payload, or the ESP bytes from the SPI on. */
  readonly payload: Uint8Array;
  /** The captured UDP checksum was zero (IPv4). */
  readonly zeroChecksum: boolean;
  readonly dontFragment: boolean;
  readonly kind: CargoKind;
  /** Plain words: "NAT-keepalive", "ESP-in-UDP SPI 0x33edbb96 seq 10", "IKEv2 IKE_AUTH request". */
  readonly what: string;
}

export type FrameOutcome = { readonly kind: 'packet'; readonly packet: CapturedPacket } | { readonly kind: 'skipped'; readonly why: string } | { readonly kind: 'held' };

/** "10.77.0.2:4500" or "10.77.0.2" (ESP). */
export function capturedEnd(a: IpAddress, port: number | undefined): string {
  if (port === undefined) return formatIp(a);
  return a.family === 6 ? `[${formatIp(a)}]:${port}` : `${formatIp(a)}:${port}`;
}

function describe(d: Dissection): { kind: CargoKind; what: string } {
  switch (d.kind) {
    case 'keepalive':
      return { kind: CARGO_KIND.KEEPALIVE, what: 'NAT-keepalive' };
    case 'esp': {
      const e = d.esp!;
      const seq = e.sequence === undefined ? '' : ` seq ${e.sequence}`;
      return { kind: CARGO_KIND.ESP, what: `${d.encap === 'udp' ? 'ESP-in-UDP' : 'ESP'} SPI ${hex32(e.spi)}${seq}` };
    }
    case 'ikev2': {
      const h = d.ikeHeader;
      return { kind: CARGO_KIND.IKE, what: h ? `IKEv2 ${v2ExchangeName(h.exchangeType)} ${isResponse(h) ? 'response' : 'request'}` : 'IKEv2 message' };
    }
    case 'ikev1': {
      const h = d.ikev1?.header;
      return { kind: CARGO_KIND.IKE, what: h ? `IKEv1 ${v1ExchangeName(h.exchangeType)}` : 'IKEv1 message' };
    }
    default:
      return { kind: CARGO_KIND.UDP, what: 'UDP' };
  }
}

/** Reads frames in order (one instance per pass: it reassembles fragments). */
export class FrameReader {
  private readonly dissector = new Dissector();

  read(rec: PacketRecord): FrameOutcome {
    const d = this.dissector.dissect(rec);
    if (d.kind === 'fragment') return { kind: 'held' };
    if (d.kind === 'not-ip') return { kind: 'skipped', why: d.detail ?? 'not IP' };
    const ip = d.ip;
    if (!ip) return { kind: 'skipped', why: 'undecodable' };
    const common = { frame: rec.index, timestampUs: rec.timestampUs, src: ip.src, dst: ip.dst, dontFragment: ip.dontFragment };
    if (ip.protocol === IP_PROTOCOL.ESP) {
      if (ip.payload.length < 4) return { kind: 'skipped', why: 'ESP shorter than its SPI' };
      const { kind, what } = d.esp ? describe(d) : { kind: CARGO_KIND.ESP, what: 'ESP' };
      return { kind: 'packet', packet: { ...common, protocol: 'esp', payload: ip.payload.slice(), zeroChecksum: false, kind, what } };
    }
    if (ip.protocol !== IP_PROTOCOL.UDP) return { kind: 'skipped', why: protocolName(ip.protocol) };
    const u = ip.payload;
    if (u.length < 8) return { kind: 'skipped', why: 'UDP header cut short' };
    const srcPort = (u[0]! << 8) | u[1]!;
    const dstPort = (u[2]! << 8) | u[3]!;
    const length = (u[4]! << 8) | u[5]!;
    const end = length >= 8 ? Math.min(length, u.length) : u.length;
    const payload = u.slice(8, end);
    const { kind, what: w } = describe(d);
    const what = kind === CARGO_KIND.UDP ? `UDP ${payload.length} bytes` : w;
    return {
      kind: 'packet',
      packet: { ...common, protocol: 'udp', srcPort, dstPort, payload, zeroChecksum: ip.version === 4 && u[6] === 0 && u[7] === 0, kind, what },
    };
  }
}
