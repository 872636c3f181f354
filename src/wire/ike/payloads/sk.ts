/**
 * Encrypted and Authenticated payload SK (RFC 7296 §3.14).
 *
 *  | Next Payload  |C|  RESERVED   |         Payload Length        |
 *  |                     Initialization Vector                     |
 *  ~                    Encrypted IKE Payloads                     ~
 *  |               |             Padding (0-255 octets)            |
 *  |                                               |  Pad Length   |
 *  ~                    Integrity Checksum Data                    ~
 *
 * The body (IV ‖ ciphertext ‖ ICV) stays opaque here: its split depends on the
 * negotiated algorithms, which is the crypto layer's business. The header's
 * next-payload field names the first payload inside, so SK is always last.
 */
import { PayloadType } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface SkPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.SK;
  /** Type of the first payload inside the encrypted data (the SK header's next-payload field). */
  readonly firstInnerPayload: number;
  /** IV ‖ encrypted payloads, padding and pad length ‖ integrity checksum. */
  readonly body: Uint8Array;
}

export const skBody: PayloadBody<SkPayload> = {
  decode: (r, header, _type, nextPayload) => ({ type: PayloadType.SK, ...header, firstInnerPayload: nextPayload, body: r.rest() }),
  length: (p) => p.body.length,
  write(p, w) {
    w.bytes(p.body);
  },
  nextPayloadOf: (p) => checkRange('first inner payload', p.firstInnerPayload, 0xff),
};

export const skPayloadCodec = payloadCodec(skBody, PayloadType.SK);
