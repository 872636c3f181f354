/**
 * ISAKMP data attributes (RFC 2408 §3.3), used by transforms and by Mode-CFG:
 *
 *   AF(1 bit) | Attribute Type (15 bits) | AF=1: Attribute Value (16 bits)
 *                                        | AF=0: Attribute Length (16 bits), then Value
 *
 * AF=1 is the TV form (a 2-byte value), AF=0 the TLV form (a variable value).
 */
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import { assert } from '../../core/errors.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import { IKEV1_LAYER } from './generic.ts';

export type DataAttribute =
  | { readonly format: 'tv'; readonly type: number; readonly value: number }
  | { readonly format: 'tlv'; readonly type: number; readonly value: Uint8Array };

const AF_TV = 0x8000;

/** Reads attributes until the reader is exhausted; a truncated attribute is a DecodeError. */
export function readAttributes(r: ByteReader, field: string): DataAttribute[] {
  const out: DataAttribute[] = [];
  while (r.remaining > 0) {
    const i = out.length;
    const typeWord = r.u16(`${field}[${i}].type`);
    if (typeWord & AF_TV) {
      out.push({ format: 'tv', type: typeWord & 0x7fff, value: r.u16(`${field}[${i}].value`) });
    } else {
      const lenAt = r.pos;
      const len = r.u16(`${field}[${i}].length`);
      if (len > r.remaining) {
        r.fail(`${field}[${i}].length`, `attribute length ${len} runs past the end: ${r.remaining} bytes available`, lenAt);
      }
      out.push({ format: 'tlv', type: typeWord, value: r.bytes(len, `${field}[${i}].value`).slice() });
    }
  }
  return out;
}

export function attributeLength(a: DataAttribute): number {
  return a.format === 'tv' ? 4 : 4 + a.value.length;
}

export function attributesLength(attrs: readonly DataAttribute[]): number {
  let n = 0;
  for (const a of attrs) n += attributeLength(a);
  return n;
}

export function writeAttributes(w: ByteWriter, attrs: readonly DataAttribute[]): void {
  for (const a of attrs) {
    assert(a.type >= 0 && a.type <= 0x7fff, `attribute type ${a.type} does not fit 15 bits`);
    if (a.format === 'tv') {
      assert(a.value >= 0 && a.value <= 0xffff, `TV attribute value ${a.value} does not fit 16 bits`);
      w.u16(AF_TV | a.type).u16(a.value);
    } else {
      assert(a.value.length <= 0xffff, `TLV attribute value of ${a.value.length} bytes is too long`);
      w.u16(a.type).u16(a.value.length).bytes(a.value);
    }
  }
}

/** A list of attributes filling a whole buffer (the tail of a transform or Mode-CFG payload). */
export const DataAttributesCodec: Codec<DataAttribute[]> = {
  decode(buf: Uint8Array, base = 0): DataAttribute[] {
    return readAttributes(new ByteReader(buf, IKEV1_LAYER, base), 'attribute');
  },
  encodedLength(attrs: DataAttribute[]): number {
    return attributesLength(attrs);
  },
  encode(attrs: DataAttribute[], out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(attributesLength(attrs), out, offset);
    writeAttributes(new ByteWriter(t), attrs);
    return t;
  },
};

/**
 * The attribute's value as a number: the TV value, or a TLV value of 1..6 bytes read
 * big-endian (RFC 2409 life durations are often 4-byte TLVs). Undefined otherwise.
 */
export function attributeNumber(a: DataAttribute): number | undefined {
  if (a.format === 'tv') return a.value;
  if (a.value.length === 0 || a.value.length > 6) return undefined;
  let n = 0;
  for (const b of a.value) n = n * 256 + b;
  return n;
}

/** First attribute of the given type, if any. */
export function findAttribute(attrs: readonly DataAttribute[], type: number): DataAttribute | undefined {
  return attrs.find((a) => a.type === type);
}

export function tvAttribute(type: number, value: number): DataAttribute {
  return { format: 'tv', type, value };
}

export function tlvAttribute(type: number, value: Uint8Array): DataAttribute {
  return { format: 'tlv', type, value };
}
