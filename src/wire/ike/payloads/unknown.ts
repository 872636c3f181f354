/**
 * Payloads of a type this codec does not interpret, kept byte for byte.
 *
 * RFC 7296 §2.5: an unrecognised payload with the critical bit set means the whole
 * message must be rejected with UNSUPPORTED_CRITICAL_PAYLOAD (notify data: the one-byte
 * payload type); without the bit it is skipped. The decoded value keeps `critical`
 * so the engine can decide.
 */
import { payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface UnknownPayload extends PayloadHeaderFields {
  readonly type: 'unknown';
  /** The payload type the previous next-payload field announced. */
  readonly payloadType: number;
  readonly body: Uint8Array;
}

export const unknownBody: PayloadBody<UnknownPayload> = {
  decode: (r, header, payloadType) => ({ type: 'unknown', ...header, payloadType, body: r.rest() }),
  length: (p) => p.body.length,
  write(p, w) {
    w.bytes(p.body);
  },
};

/** Codec for one payload of an uninterpreted type. */
export function unknownPayloadCodec(payloadType: number) {
  return payloadCodec(unknownBody, payloadType);
}
