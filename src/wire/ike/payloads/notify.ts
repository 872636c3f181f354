/**
 * Notify payload (RFC 7296 §3.10).
 *
 *  |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 *  ~                Security Parameter Index (SPI)                 ~
 *  ~                       Notification Data                       ~
 *
 * Plus readers/builders for the NAT-D notifies (RFC 7296 §2.23): their data is
 * SHA-1(SPIi | SPIr | IP | port), 20 bytes.
 */
import { NotifyType, PayloadType, ProtocolId } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface NotifyPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.N;
  /** ProtocolId of the SA the SPI names; 0 when there is no SPI. */
  readonly protocolId: number;
  /** SPI Size comes from spi.length (0 for the IKE SA or no SA). */
  readonly spi: Uint8Array;
  /** See NotifyType. */
  readonly notifyType: number;
  readonly data: Uint8Array;
}

export const notifyBody: PayloadBody<NotifyPayload> = {
  decode(r, header) {
    const protocolId = r.u8('protocol_id');
    const spiSize = r.u8('spi_size');
    const notifyType = r.u16('notify_type');
    const spi = r.bytes(spiSize, 'spi');
    return { type: PayloadType.N, ...header, protocolId, spi, notifyType, data: r.rest() };
  },
  length: (p) => 4 + p.spi.length + p.data.length,
  write(p, w) {
    w.u8(checkRange('protocol ID', p.protocolId, 0xff))
      .u8(checkRange('SPI size', p.spi.length, 0xff))
      .u16(checkRange('notify type', p.notifyType, 0xffff))
      .bytes(p.spi)
      .bytes(p.data);
  },
};

export const notifyPayloadCodec = payloadCodec(notifyBody, PayloadType.N);

/** A non-critical Notify without SPI (protocol 0), the common case. */
export function makeNotify(
  notifyType: number,
  data: Uint8Array = new Uint8Array(0),
  opts: { protocolId?: number; spi?: Uint8Array; critical?: boolean } = {},
): NotifyPayload {
  return {
    type: PayloadType.N,
    critical: opts.critical ?? false,
    protocolId: opts.protocolId ?? ProtocolId.NONE,
    spi: opts.spi ?? new Uint8Array(0),
    notifyType,
    data,
  };
}

export const NAT_DETECTION_HASH_LENGTH = 20;
export type NatDetectionKind = 'source' | 'destination';

export interface NatDetectionHash {
  readonly kind: NatDetectionKind;
  /** SHA-1 over SPIi | SPIr | address | port of the sender ('source') or the receiver ('destination'). */
  readonly hash: Uint8Array;
}

/**
 * The NAT-D hash a NAT_DETECTION_SOURCE_IP / NAT_DETECTION_DESTINATION_IP notify carries;
 * undefined for other notify types or when the data is not exactly 20 bytes.
 */
export function readNatDetection(p: NotifyPayload): NatDetectionHash | undefined {
  let kind: NatDetectionKind;
  if (p.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP) kind = 'source';
  else if (p.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP) kind = 'destination';
  else return undefined;
  if (p.data.length !== NAT_DETECTION_HASH_LENGTH) return undefined;
  return { kind, hash: p.data };
}

export function makeNatDetectionNotify(kind: NatDetectionKind, hash: Uint8Array): NotifyPayload {
  if (hash.length !== NAT_DETECTION_HASH_LENGTH) throw new RangeError(`a NAT-D hash is ${NAT_DETECTION_HASH_LENGTH} bytes, not ${hash.length}`);
  return makeNotify(kind === 'source' ? NotifyType.NAT_DETECTION_SOURCE_IP : NotifyType.NAT_DETECTION_DESTINATION_IP, hash);
}
