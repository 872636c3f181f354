/**
 * Key Exchange payload (RFC 2408 §3.7): the Diffie-Hellman public value.
 *
 *   generic header | Key Exchange Data (the rest of the payload)
 */
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type KePayload = DataBody;

/** Codec for the body (the bytes after the generic header). */
export const KeBodyCodec = opaqueBody();

/** Codec for the whole payload (generic header included). */
export const KePayloadCodec = framed('ke', KeBodyCodec);
