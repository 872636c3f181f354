/**
 * Configuration payload CP (RFC 7296 §3.15).
 *
 *  |   CFG Type    |                    RESERVED                   |
 *  ~                   Configuration Attributes                    ~
 *
 * Attribute (§3.15.1):
 *  |R|         Attribute Type      |            Length             |
 *  ~                             Value                             ~
 */
import type { ByteReader } from '../../../core/bytes.ts';
import { PayloadType } from '../constants.ts';
import { checkRange, nonZero, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface CfgAttribute {
  /** See CfgAttributeType (15 bits). */
  readonly attrType: number;
  /** Empty in a CFG_REQUEST that asks for any value. */
  readonly value: Uint8Array;
  /** The reserved top bit; omitted when zero. */
  readonly reserved?: number;
}

export interface CpPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.CP;
  /** See CfgType. */
  readonly cfgType: number;
  readonly attributes: readonly CfgAttribute[];
  /** The 24-bit RESERVED field; omitted when zero. */
  readonly reserved?: number;
}

function decodeAttribute(r: ByteReader): CfgAttribute {
  const word = r.u16('attribute_type');
  const len = r.u16('attribute_length');
  const value = r.bytes(len, 'attribute_value');
  return { attrType: word & 0x7fff, value, ...nonZero('reserved', word >>> 15) };
}

export const cpBody: PayloadBody<CpPayload> = {
  decode(r, header) {
    const cfgType = r.u8('cfg_type');
    const reserved = r.u24('reserved');
    const attributes: CfgAttribute[] = [];
    while (r.remaining > 0) attributes.push(decodeAttribute(r));
    return { type: PayloadType.CP, ...header, cfgType, attributes, ...nonZero('reserved', reserved) };
  },
  length(p) {
    let n = 4;
    for (const a of p.attributes) n += 4 + a.value.length;
    return n;
  },
  write(p, w) {
    w.u8(checkRange('CFG type', p.cfgType, 0xff)).u24(checkRange('CP reserved', p.reserved ?? 0, 0xffffff));
    for (const a of p.attributes) {
      const r = checkRange('attribute reserved bit', a.reserved ?? 0, 1);
      w.u16((r << 15) | checkRange('attribute type', a.attrType, 0x7fff))
        .u16(checkRange('attribute length', a.value.length, 0xffff))
        .bytes(a.value);
    }
  },
};

export const cpPayloadCodec = payloadCodec(cpBody, PayloadType.CP);
