/**
 * Certificate payload (RFC 7296 §3.6).
 *
 *  | Cert Encoding |                                               |
 *  +-+-+-+-+-+-+-+-+                                               +
 *  ~                       Certificate Data                        ~
 */
import { PayloadType } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface CertPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.CERT;
  /** See CertEncoding. */
  readonly encoding: number;
  /** E.g. a DER X.509 certificate for X509_SIGNATURE (4). */
  readonly data: Uint8Array;
}

export const certBody: PayloadBody<CertPayload> = {
  decode(r, header) {
    const encoding = r.u8('cert_encoding');
    return { type: PayloadType.CERT, ...header, encoding, data: r.rest() };
  },
  length: (p) => 1 + p.data.length,
  write(p, w) {
    w.u8(checkRange('certificate encoding', p.encoding, 0xff)).bytes(p.data);
  },
};

export const certPayloadCodec = payloadCodec(certBody, PayloadType.CERT);
