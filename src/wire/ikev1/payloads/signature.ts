/**
 * Signature payload (RFC 2408 §3.12): output of the negotiated signature function.
 *
 *   generic header | Signature Data (the rest of the payload)
 */
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type SignaturePayload = DataBody;

/** Codec for the body (the bytes after the generic header). */
export const SignatureBodyCodec = opaqueBody();

/** Codec for the whole payload (generic header included). */
export const SignaturePayloadCodec = framed('sig', SignatureBodyCodec);
