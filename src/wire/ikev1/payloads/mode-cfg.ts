/**
 * Mode-CFG attribute payload, type 14 (draft-dukes-ike-mode-cfg §3.2; XAUTH rides on it):
 *
 *   generic header | Type (1) | RESERVED (1) | Identifier (2) | Data attributes (TV/TLV)
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { attributesLength, readAttributes, writeAttributes, type DataAttribute } from '../attributes.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface ModeCfgPayload {
  /** CfgType: REQUEST 1, REPLY 2, SET 3, ACK 4. */
  readonly cfgType: number;
  readonly identifier: number;
  readonly attributes: readonly DataAttribute[];
}

export const ModeCfgBodyCodec: Codec<ModeCfgPayload> = {
  decode(buf: Uint8Array, base = 0): ModeCfgPayload {
    const r = new ByteReader(buf, IKEV1_LAYER, base);
    const cfgType = r.u8('attr.type');
    r.skip(1, 'attr.reserved');
    const identifier = r.u16('attr.identifier');
    return { cfgType, identifier, attributes: readAttributes(r, 'attr.attribute') };
  },
  encodedLength: (p) => 4 + attributesLength(p.attributes),
  encode(p: ModeCfgPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(4 + attributesLength(p.attributes), out, offset);
    const w = new ByteWriter(t).u8(p.cfgType).u8(0).u16(p.identifier);
    writeAttributes(w, p.attributes);
    return t;
  },
};

export const ModeCfgPayloadCodec = framed('attr', ModeCfgBodyCodec);
