/**
 * Certificate payload (RFC 2408 §3.9):
 *
 *   generic header | Cert Encoding (1) | Certificate Data (the rest)
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface CertPayload {
  /** CertEncoding, e.g. X.509 Signature 4. */
  readonly encoding: number;
  readonly data: Uint8Array;
}

export const CertBodyCodec: Codec<CertPayload> = {
  decode(buf: Uint8Array, base = 0): CertPayload {
    const r = new ByteReader(buf, IKEV1_LAYER, base);
    const encoding = r.u8('cert.encoding');
    return { encoding, data: r.rest().slice() };
  },
  encodedLength: (c) => 1 + c.data.length,
  encode(c: CertPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(1 + c.data.length, out, offset);
    new ByteWriter(t).u8(c.encoding).bytes(c.data);
    return t;
  },
};

export const CertPayloadCodec = framed('cert', CertBodyCodec);
