/**
 * Delete payload (RFC 2408 §3.15):
 *
 *   generic header | DOI (4) | Protocol-Id (1) | SPI Size (1) | # of SPIs (2) | SPIs
 *
 * # of SPIs × SPI Size must equal the bytes left in the payload exactly.
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { assert } from '../../../core/errors.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface DeletePayload {
  readonly doi: number;
  readonly protocolId: number;
  /** Bytes per SPI: 16 for ISAKMP (cookie pair), 4 for ESP/AH. */
  readonly spiSize: number;
  readonly spis: readonly Uint8Array[];
}

export function readDeleteBody(r: ByteReader): DeletePayload {
  const doi = r.u32('delete.doi');
  const protocolId = r.u8('delete.protocol_id');
  const spiSize = r.u8('delete.spi_size');
  const countAt = r.pos;
  const count = r.u16('delete.spi_count');
  const need = count * spiSize;
  if (need !== r.remaining) {
    r.fail(
      'delete.spi_count',
      `${count} SPI(s) of ${spiSize} bytes need ${need} bytes, the payload has ${r.remaining}`,
      countAt,
    );
  }
  const spis: Uint8Array[] = [];
  for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, `delete.spi[${i}]`).slice());
  return { doi, protocolId, spiSize, spis };
}

export function deleteBodyLength(d: DeletePayload): number {
  return 8 + d.spiSize * d.spis.length;
}

export function writeDeleteBody(d: DeletePayload, out: Uint8Array, offset: number): number {
  assert(d.spiSize <= 0xff && d.spis.length <= 0xffff, 'delete SPI size or count out of range');
  assert(d.spis.every((s) => s.length === d.spiSize), 'every SPI in a delete payload has spiSize bytes');
  const w = new ByteWriter(out, offset);
  w.u32(d.doi).u8(d.protocolId).u8(d.spiSize).u16(d.spis.length);
  for (const s of d.spis) w.bytes(s);
  return w.pos;
}

export const DeleteBodyCodec: Codec<DeletePayload> = {
  decode(buf: Uint8Array, base = 0): DeletePayload {
    return readDeleteBody(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength: deleteBodyLength,
  encode(d: DeletePayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(deleteBodyLength(d), out, offset);
    writeDeleteBody(d, t, 0);
    return t;
  },
};

export const DeletePayloadCodec = framed('delete', DeleteBodyCodec);
