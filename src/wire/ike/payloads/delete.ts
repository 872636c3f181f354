/**
 * Delete payload (RFC 7296 §3.11).
 *
 *  | Protocol ID   |   SPI Size    |          Num of SPIs          |
 *  ~               Security Parameter Index(es) (SPI)              ~
 *
 * The body must hold exactly Num of SPIs × SPI Size bytes after the 4-byte header.
 */
import { PayloadType } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface DeletePayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.D;
  /** ProtocolId: IKE (with SPI size 0 and no SPIs), AH or ESP. */
  readonly protocolId: number;
  /** Kept explicitly because an IKE SA delete has no SPIs to measure. */
  readonly spiSize: number;
  readonly spis: readonly Uint8Array[];
}

export const deleteBody: PayloadBody<DeletePayload> = {
  decode(r, header) {
    const protocolId = r.u8('protocol_id');
    const spiSize = r.u8('spi_size');
    const numSpis = r.u16('num_spis');
    const need = spiSize * numSpis;
    if (need !== r.remaining) {
      r.fail('num_spis', `${numSpis} SPIs of ${spiSize} bytes need ${need} bytes, the payload has ${r.remaining}`, r.pos - 2);
    }
    const spis: Uint8Array[] = [];
    for (let i = 0; i < numSpis; i++) spis.push(r.bytes(spiSize, 'spi'));
    return { type: PayloadType.D, ...header, protocolId, spiSize, spis };
  },
  length: (p) => 4 + p.spiSize * p.spis.length,
  write(p, w) {
    for (const s of p.spis) {
      if (s.length !== p.spiSize) throw new RangeError(`Delete: SPI of ${s.length} bytes in a payload with SPI size ${p.spiSize}`);
    }
    w.u8(checkRange('protocol ID', p.protocolId, 0xff))
      .u8(checkRange('SPI size', p.spiSize, 0xff))
      .u16(checkRange('number of SPIs', p.spis.length, 0xffff));
    for (const s of p.spis) w.bytes(s);
  },
};

export const deletePayloadCodec = payloadCodec(deleteBody, PayloadType.D);
