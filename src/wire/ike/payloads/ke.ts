/**
 * Key Exchange payload (RFC 7296 §3.4).
 *
 *  |   Key Exchange Method Num     |           RESERVED            |
 *  ~                       Key Exchange Data                       ~
 */
import { PayloadType } from '../constants.ts';
import { checkRange, nonZero, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface KePayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.KE;
  /** Key exchange method (DH group) number, see DhGroup. */
  readonly dhGroup: number;
  /** The public value (a view into the decoded buffer). */
  readonly data: Uint8Array;
  /** The 16-bit RESERVED field; omitted when zero. */
  readonly reserved?: number;
}

export const keBody: PayloadBody<KePayload> = {
  decode(r, header) {
    const dhGroup = r.u16('dh_group');
    const reserved = r.u16('reserved');
    return { type: PayloadType.KE, ...header, dhGroup, data: r.rest(), ...nonZero('reserved', reserved) };
  },
  length: (p) => 4 + p.data.length,
  write(p, w) {
    w.u16(checkRange('DH group', p.dhGroup, 0xffff)).u16(checkRange('KE reserved', p.reserved ?? 0, 0xffff)).bytes(p.data);
  },
};

export const kePayloadCodec = payloadCodec(keBody, PayloadType.KE);
