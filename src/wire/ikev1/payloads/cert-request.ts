/**
 * Certificate Request payload (RFC 2408 §3.10):
 *
 *   generic header | Cert. Type (1) | Certificate Authority (the rest; may be empty)
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface CertRequestPayload {
  /** CertEncoding of the requested certificate type. */
  readonly certType: number;
  /** Encoded distinguished name of an acceptable CA; empty for "any". */
  readonly authority: Uint8Array;
}

export const CertRequestBodyCodec: Codec<CertRequestPayload> = {
  decode(buf: Uint8Array, base = 0): CertRequestPayload {
    const r = new ByteReader(buf, IKEV1_LAYER, base);
    const certType = r.u8('cr.cert_type');
    return { certType, authority: r.rest().slice() };
  },
  encodedLength: (c) => 1 + c.authority.length,
  encode(c: CertRequestPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(1 + c.authority.length, out, offset);
    new ByteWriter(t).u8(c.certType).bytes(c.authority);
    return t;
  },
};

export const CertRequestPayloadCodec = framed('cr', CertRequestBodyCodec);
