/**
 * Nonce payload (RFC 7296 §3.9): the whole body is the nonce (16..256 bytes is a
 * semantic rule checked by the exchange, not here).
 */
import { PayloadType } from '../constants.ts';
import { payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export interface NoncePayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.NONCE;
  readonly data: Uint8Array;
}

export const nonceBody: PayloadBody<NoncePayload> = {
  decode: (r, header) => ({ type: PayloadType.NONCE, ...header, data: r.rest() }),
  length: (p) => p.data.length,
  write(p, w) {
    w.bytes(p.data);
  },
};

export const noncePayloadCodec = payloadCodec(nonceBody, PayloadType.NONCE);
