/**
 * Nonce payload (RFC 2408 §3.13): 8..256 random bytes (not enforced here).
 *
 *   generic header | Nonce Data (the rest of the payload)
 */
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type NoncePayload = DataBody;

/** Codec for the body (the bytes after the generic header). */
export const NonceBodyCodec = opaqueBody();

/** Codec for the whole payload (generic header included). */
export const NoncePayloadCodec = framed('nonce', NonceBodyCodec);
