/**
 * Authentication payload (RFC 7296 §3.8).
 *
 *  | Auth Method   |                RESERVED                       |
 *  ~                      Authentication Data                      ~
 */
import { PayloadType } from '../constants.ts';
import { checkRange, nonZero, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface AuthPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.AUTH;
  /** See AuthMethod. */
  readonly method: number;
  readonly data: Uint8Array;
  /** The 24-bit RESERVED field; omitted when zero. */
  readonly reserved?: number;
}

export const authBody: PayloadBody<AuthPayload> = {
  decode(r, header) {
    const method = r.u8('auth_method');
    const reserved = r.u24('reserved');
    return { type: PayloadType.AUTH, ...header, method, data: r.rest(), ...nonZero('reserved', reserved) };
  },
  length: (p) => 4 + p.data.length,
  write(p, w) {
    w.u8(checkRange('auth method', p.method, 0xff)).u24(checkRange('AUTH reserved', p.reserved ?? 0, 0xffffff)).bytes(p.data);
  },
};

export const authPayloadCodec = payloadCodec(authBody, PayloadType.AUTH);
