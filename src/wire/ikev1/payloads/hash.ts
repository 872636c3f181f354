/**
 * Hash payload (RFC 2408 §3.11): output of the negotiated PRF (HASH_I, HASH_R, HASH(1..3)).
 *
 *   generic header | Hash Data (the rest of the payload)
 */
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type HashPayload = DataBody;

/** Codec for the body (the bytes after the generic header). */
export const HashBodyCodec = opaqueBody();

/** Codec for the whole payload (generic header included). */
export const HashPayloadCodec = framed('hash', HashBodyCodec);
