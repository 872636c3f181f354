/**
 * Certificate Request payload (RFC 7296 §3.7).
 *
 *  | Cert Encoding |                                               |
 *  +-+-+-+-+-+-+-+-+                                               +
 *  ~                    Certification Authority                    ~
 *
 * For X.509 encodings the authority field is a concatenation of 20-byte SHA-1 hashes
 * of trusted CAs' public keys; certReqAuthorities splits it.
 */
import { PayloadType } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface CertReqPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.CERTREQ;
  /** See CertEncoding. */
  readonly encoding: number;
  readonly authorities: Uint8Array;
}

export const certReqBody: PayloadBody<CertReqPayload> = {
  decode(r, header) {
    const encoding = r.u8('cert_encoding');
    return { type: PayloadType.CERTREQ, ...header, encoding, authorities: r.rest() };
  },
  length: (p) => 1 + p.authorities.length,
  write(p, w) {
    w.u8(checkRange('certificate encoding', p.encoding, 0xff)).bytes(p.authorities);
  },
};

export const certReqPayloadCodec = payloadCodec(certReqBody, PayloadType.CERTREQ);

export const CA_HASH_LENGTH = 20;

/** The 20-byte CA key hashes, or undefined when the field is not a whole number of them. */
export function certReqAuthorities(p: CertReqPayload): Uint8Array[] | undefined {
  if (p.authorities.length % CA_HASH_LENGTH !== 0) return undefined;
  const out: Uint8Array[] = [];
  for (let i = 0; i < p.authorities.length; i += CA_HASH_LENGTH) out.push(p.authorities.subarray(i, i + CA_HASH_LENGTH));
  return out;
}
