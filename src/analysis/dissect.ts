/**
 * One captured frame → what it carries, layer by layer: IP, UDP, the RFC 3948
 * class of the UDP payload (IKE, IKE behind the non-ESP marker, keepalive, ESP),
 * then the IKEv2 or IKEv1 message or the ESP header. Never throws on packet
 * contents: a malformed layer ends the dissection with its DecodeError, and what
 * was decoded before it is kept.
 */
import { ByteReader } from '../core/bytes.ts';
import { DecodeError } from '../core/errors.ts';
import type { Endpoint, IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { decodeUdp, verifyUdpChecksum, type UdpChecksumStatus } from '../wire/udp.ts';
import { EspCodec } from '../wire/esp.ts';
import { classifyUdpPayload, IKE_PORT, NATT_PORT } from '../wire/udp-encap.ts';
import { readIkeHeader, type IkeHeader } from '../wire/ike/header.ts';
import { decodeMessage, type IkeMessage } from '../wire/ike/message.ts';
import { decodeIsakmpLenient } from '../wire/ikev1/message.ts';
import type { IsakmpMessage } from '../wire/ikev1/message.ts';
import type { IsakmpHeader } from '../wire/ikev1/header.ts';
import type { Ikev1Payload } from '../wire/ikev1/payloads/index.ts';
import { FrameDecoder, type IpPacket } from '../pcap/frames.ts';
import type { PacketRecord } from '../pcap/format.ts';

export type Encapsulation =
  /** IKE on port 500, or raw ESP (IP protocol 50). */
  | 'none'
  /** IKE after the 4-byte non-ESP marker (RFC 3948 §2.2). */
  | 'nonesp'
  /** ESP in UDP (RFC 3948 §2.1). */
  | 'udp';

export interface EspInfo {
  readonly spi: number;
  /** Absent when the capture cut the packet before it. */
  readonly sequence?: number;
  /** Bytes of ESP (SPI onwards). */
  readonly length: number;
}

export interface Ikev1Info {
  readonly header?: IsakmpHeader;
  readonly payloads: readonly Ikev1Payload[];
  readonly encrypted: boolean;
  readonly message?: IsakmpMessage;
}

export interface Dissection {
  readonly index: number;
  readonly timestampUs: Micros;
  readonly length: number;
  readonly ip?: IpPacket;
  readonly src?: IpAddress;
  readonly dst?: IpAddress;
  readonly udp?: { readonly srcPort: number; readonly dstPort: number; readonly checksum: UdpChecksumStatus | 'not-captured' };
  /** Bytes of the packet the capture did not keep (snap length), when it was cut. */
  readonly truncatedBy?: number;
  /** What the frame carries at its top. */
  readonly kind: 'ikev2' | 'ikev1' | 'esp' | 'keepalive' | 'udp' | 'ip' | 'fragment' | 'not-ip' | 'unknown';
  readonly encap?: Encapsulation;
  /** IKEv2 header, present even when the payloads failed to decode. */
  readonly ikeHeader?: IkeHeader;
  readonly ikev2?: IkeMessage;
  readonly ikev1?: Ikev1Info;
  /** The IKE message bytes (after any marker), for NAT-D checks and decryption. */
  readonly ikeBytes?: Uint8Array;
  readonly esp?: EspInfo;
  /** Absolute offset of the ESP header in the frame (or reassembled packet). */
  readonly espOffset?: number;
  readonly espBytes?: Uint8Array;
  /** Plain words for 'fragment', 'not-ip', 'unknown' and 'udp'. */
  readonly detail?: string;
  /** The layer that failed, if one did; errors from a lenient IKEv1 walk are listed too. */
  readonly error?: DecodeError;
  readonly errors?: readonly DecodeError[];
  /** Protocol rules this frame breaks while still decoding. */
  readonly warnings?: readonly string[];
}

function isZero4(b: Uint8Array): boolean {
  return b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0;
}

export function srcEndpoint(d: Dissection): Endpoint | undefined {
  return d.src && d.udp ? { addr: d.src, port: d.udp.srcPort } : undefined;
}
export function dstEndpoint(d: Dissection): Endpoint | undefined {
  return d.dst && d.udp ? { addr: d.dst, port: d.udp.dstPort } : undefined;
}

/** Ports on which UDP is read as IKE / NAT-T. A NAT-mapped port always faces 500 or 4500 on the other side. */
export function isIkePortPair(srcPort: number, dstPort: number): boolean {
  return srcPort === IKE_PORT || dstPort === IKE_PORT || srcPort === NATT_PORT || dstPort === NATT_PORT;
}

export class Dissector {
  private readonly frames = new FrameDecoder();

  dissect(rec: Pick<PacketRecord, 'index' | 'timestampUs' | 'linktype' | 'data' | 'originalLength'>): Dissection {
    const base = { index: rec.index, timestampUs: rec.timestampUs, length: rec.originalLength };
    const f = this.frames.decode(rec);
    if (f.kind === 'error') return { ...base, kind: 'unknown', error: f.error };
    if (f.kind === 'not-ip') return { ...base, kind: 'not-ip', detail: f.detail };
    if (f.kind === 'fragment') return { ...base, kind: 'fragment', src: f.src, dst: f.dst, detail: f.detail };
    const ip = f.ip;
    const withIp = { ...base, ip, src: ip.src, dst: ip.dst };
    try {
      if (ip.protocol === IP_PROTOCOL.ESP) return this.esp({ ...withIp, encap: 'none' as const }, ip.payload, ip.payloadOffset);
      if (ip.protocol !== IP_PROTOCOL.UDP) return { ...withIp, kind: 'ip', detail: `IP protocol ${ip.protocol}` };
      return this.udp(withIp, ip);
    } catch (e) {
      if (e instanceof DecodeError) return { ...withIp, kind: 'unknown', error: e };
      throw e;
    }
  }

  private udp(withIp: Omit<Dissection, 'kind'>, ip: IpPacket): Dissection {
    let partial = ip.truncatedBy !== undefined || ip.firstFragmentOnly === true;
    let lengthError: DecodeError | undefined;
    let u;
    try {
      u = decodeUdp(ip.payload, ip.payloadOffset, { snapped: partial });
    } catch (e) {
      // A UDP length longer than the IP payload: say so, and show what is there (as tshark does).
      if (!(e instanceof DecodeError) || e.field !== 'length' || ip.payload.length < 8) throw e;
      lengthError = e;
      partial = true;
      u = decodeUdp(ip.payload, ip.payloadOffset, { snapped: true });
    }
    const r = this.udpPayload(withIp, ip, u, partial);
    return lengthError ? { ...r, error: lengthError } : r;
  }

  private udpPayload(
    withIp: Omit<Dissection, 'kind'>,
    ip: IpPacket,
    u: { srcPort: number; dstPort: number; payload: Uint8Array },
    partial: boolean,
  ): Dissection {
    const checksum = partial ? ('not-captured' as const) : verifyUdpChecksum(ip.src, ip.dst, ip.payload.subarray(0, 8 + u.payload.length));
    const udp = { srcPort: u.srcPort, dstPort: u.dstPort, checksum };
    const d = { ...withIp, udp, ...(ip.truncatedBy ? { truncatedBy: ip.truncatedBy } : {}) };
    const payloadOffset = ip.payloadOffset + 8;
    if (!isIkePortPair(u.srcPort, u.dstPort)) return { ...d, kind: 'udp', detail: `UDP ${u.payload.length} bytes` };
    const c = classifyUdpPayload(u.srcPort, u.dstPort, u.payload);
    switch (c.kind) {
      case 'keepalive':
        return { ...d, kind: 'keepalive', encap: 'udp' };
      case 'esp':
        return this.esp({ ...d, encap: 'udp' }, u.payload, payloadOffset);
      case 'ike':
      case 'ike-nonesp':
        return this.ike({ ...d, encap: c.kind === 'ike' ? 'none' : 'nonesp' }, c.ike, payloadOffset + c.offset);
      default: {
        if (partial && u.payload.length >= 4 && !(u.srcPort === IKE_PORT || u.dstPort === IKE_PORT) && !isZero4(u.payload)) {
          // Only the SPI made it into the capture.
          const spi = ((u.payload[0]! << 24) >>> 0) + ((u.payload[1]! << 16) | (u.payload[2]! << 8) | u.payload[3]!);
          return { ...d, kind: 'esp', encap: 'udp', esp: { spi, length: u.payload.length }, espOffset: payloadOffset, espBytes: u.payload };
        }
        if (partial) return { ...d, kind: 'udp', detail: `UDP ${u.payload.length} bytes captured, the rest not captured` };
        // Four zero bytes on port 500 break RFC 3948 (and RFC 7296: an initiator SPI is never
        // zero), but the message behind them is still worth showing, as tshark does.
        if (u.payload.length >= 28 && (u.srcPort === IKE_PORT || u.dstPort === IKE_PORT)) {
          const ike = this.ike({ ...d, encap: 'none' }, u.payload, payloadOffset);
          return { ...ike, warnings: [`${c.reason}`] };
        }
        return {
          ...d,
          kind: 'unknown',
          error: new DecodeError('udp-encap', 'payload', payloadOffset, c.reason),
        };
      }
    }
  }

  private esp(d: Omit<Dissection, 'kind'>, bytes: Uint8Array, offset: number): Dissection {
    const e = EspCodec.decode(bytes, offset);
    return { ...d, kind: 'esp', esp: { spi: e.spi, sequence: e.sequence, length: bytes.length }, espOffset: offset, espBytes: bytes };
  }

  private ike(d: Omit<Dissection, 'kind'>, bytes: Uint8Array, offset: number): Dissection {
    // Byte 17 holds the version: major 2 is IKEv2, major 1 is ISAKMP (IKEv1).
    const major = bytes.length > 17 ? bytes[17]! >> 4 : 0;
    if (major === 1) {
      const v1 = decodeIsakmpLenient(bytes, offset);
      const info: Ikev1Info = {
        ...(v1.header ? { header: v1.header } : {}),
        payloads: v1.payloads,
        encrypted: v1.encrypted !== undefined,
        ...(v1.message ? { message: v1.message } : {}),
      };
      const errs = v1.errors;
      return {
        ...d,
        kind: 'ikev1',
        ikev1: info,
        ikeBytes: bytes,
        ...(errs.length ? { error: errs[0]!, errors: errs } : {}),
      };
    }
    const header = readIkeHeader(new ByteReader(bytes, 'ikev2', offset));
    try {
      const m = decodeMessage(bytes, offset);
      return { ...d, kind: 'ikev2', ikeHeader: m.header, ikev2: m, ikeBytes: bytes };
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return { ...d, kind: 'ikev2', ikeHeader: header, ikeBytes: bytes, error: e };
    }
  }
}
