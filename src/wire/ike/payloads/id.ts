/**
 * Identification payloads IDi and IDr (RFC 7296 §3.5); one codec shape for both.
 *
 *  |   ID Type     |                 RESERVED                      |
 *  ~                   Identification Data                         ~
 */
import { PayloadType } from '../constants.ts';
import { checkRange, nonZero, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export type IdPayloadType = typeof PayloadType.IDi | typeof PayloadType.IDr;

export interface IdPayload extends PayloadHeaderFields {
  readonly type: IdPayloadType;
  /** See IdType (IPV4_ADDR, FQDN, RFC822_ADDR, ...). */
  readonly idType: number;
  /** Identification data: 4 or 16 address bytes, a name without terminator, a DER blob, an opaque key ID. */
  readonly data: Uint8Array;
  /** The 24-bit RESERVED field (part of the signed octets, so it must survive re-encoding); omitted when zero. */
  readonly reserved?: number;
}

export const idBody: PayloadBody<IdPayload> = {
  decode(r, header, payloadType) {
    const idType = r.u8('id_type');
    const reserved = r.u24('reserved');
    return { type: payloadType as IdPayloadType, ...header, idType, data: r.rest(), ...nonZero('reserved', reserved) };
  },
  length: (p) => 4 + p.data.length,
  write(p, w) {
    w.u8(checkRange('ID type', p.idType, 0xff)).u24(checkRange('ID reserved', p.reserved ?? 0, 0xffffff)).bytes(p.data);
  },
};

/** Codec for IDi (35) or IDr (36). */
export function idPayloadCodec(type: IdPayloadType) {
  return payloadCodec(idBody, type);
}

/**
 * The bytes an AUTH computation covers for this identity (RFC 7296 §2.15: "RestOfInitIDPayload"/
 * "RestOfRespIDPayload", i.e. the ID payload without its generic header).
 */
export function idPayloadBodyBytes(p: IdPayload): Uint8Array {
  const out = new Uint8Array(4 + p.data.length);
  out[0] = p.idType;
  const reserved = p.reserved ?? 0;
  out[1] = (reserved >>> 16) & 0xff;
  out[2] = (reserved >>> 8) & 0xff;
  out[3] = reserved & 0xff;
  out.set(p.data, 4);
  return out;
}
