/**
 * Transform payload (RFC 2408 §3.6), found inside a proposal:
 *
 *   generic header (next payload 3 = another transform follows, 0 = last)
 *   Transform # (1) | Transform-Id (1) | RESERVED2 (2) | SA Attributes (TV/TLV, to the end)
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { assert } from '../../../core/errors.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { fixed, readFixed, u16, u8, writeFixed } from '../../layout.ts';
import { attributesLength, readAttributes, writeAttributes, type DataAttribute } from '../attributes.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface Transform {
  readonly transformNumber: number;
  /** KEY_IKE (1) for ISAKMP; ESP_*, AH_* or IPCOMP_* per the proposal's protocol. */
  readonly transformId: number;
  readonly attributes: readonly DataAttribute[];
}

interface TransformFixed {
  transformNumber: number;
  transformId: number;
  reserved: number;
}

/** The 4 fixed bytes after the generic header. */
export const TRANSFORM_FIXED = fixed<TransformFixed>([u8('transformNumber'), u8('transformId'), u16('reserved')]);

/** Reads a transform body from the reader (which must end where the body ends). */
export function readTransformBody(r: ByteReader): Transform {
  const f = readFixed(TRANSFORM_FIXED, r, 'transform.fixed');
  return { transformNumber: f.transformNumber, transformId: f.transformId, attributes: readAttributes(r, 'transform.attribute') };
}

export function transformBodyLength(t: Transform): number {
  return TRANSFORM_FIXED.span + attributesLength(t.attributes);
}

export function writeTransformBody(t: Transform, out: Uint8Array, offset: number): number {
  assert(t.transformNumber >= 0 && t.transformNumber <= 0xff && t.transformId >= 0 && t.transformId <= 0xff, 'transform number/id out of range');
  const p = writeFixed<TransformFixed>(TRANSFORM_FIXED, { transformNumber: t.transformNumber, transformId: t.transformId, reserved: 0 }, out, offset);
  const w = new ByteWriter(out, p);
  writeAttributes(w, t.attributes);
  return w.pos;
}

/** Codec for a transform body (the bytes after the generic header). */
export const TransformBodyCodec: Codec<Transform> = {
  decode(buf: Uint8Array, base = 0): Transform {
    return readTransformBody(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength: transformBodyLength,
  encode(t: Transform, out?: Uint8Array, offset = 0): Uint8Array {
    const target = encodeTarget(transformBodyLength(t), out, offset);
    writeTransformBody(t, target, 0);
    return target;
  },
};

/** Codec for a whole transform payload (generic header included). */
export const TransformPayloadCodec = framed('transform', TransformBodyCodec);
