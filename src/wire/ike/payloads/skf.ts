/**
 * Encrypted and Authenticated Fragment payload SKF (RFC 7383 §2.5).
 *
 *  | Next Payload  |C|  RESERVED   |         Payload Length        |
 *  |        Fragment Number        |        Total Fragments        |
 *  |                     Initialization Vector                     |
 *  ~                      Encrypted content                        ~
 *  ~                    Integrity Checksum Data                    ~
 *
 * Next Payload is the first inner payload's type in fragment 1 and 0 in the others.
 * Fragment numbering (1 ≤ number ≤ total) is checked by reassembly, not here.
 */
import { PayloadType } from '../constants.ts';
import { checkRange, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface SkfPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.SKF;
  /** The header's next-payload field: first inner payload type in fragment 1, else 0. */
  readonly firstInnerPayload: number;
  readonly fragmentNumber: number;
  readonly totalFragments: number;
  /** IV ‖ encrypted content ‖ integrity checksum, opaque here. */
  readonly body: Uint8Array;
}

export const skfBody: PayloadBody<SkfPayload> = {
  decode(r, header, _type, nextPayload) {
    const fragmentNumber = r.u16('fragment_number');
    const totalFragments = r.u16('total_fragments');
    return { type: PayloadType.SKF, ...header, firstInnerPayload: nextPayload, fragmentNumber, totalFragments, body: r.rest() };
  },
  length: (p) => 4 + p.body.length,
  write(p, w) {
    w.u16(checkRange('fragment number', p.fragmentNumber, 0xffff)).u16(checkRange('total fragments', p.totalFragments, 0xffff)).bytes(p.body);
  },
  nextPayloadOf: (p) => checkRange('first inner payload', p.firstInnerPayload, 0xff),
};

export const skfPayloadCodec = payloadCodec(skfBody, PayloadType.SKF);
