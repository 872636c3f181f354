/**
 * NAT-Discovery payload (RFC 3947 §3.2; payload type 20, 130 in drafts 01-03, 15 in drafts 04-08): HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash.
 *
 *   generic header | HASH of the address and port (the rest of the payload)
 */
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type NatDPayload = DataBody;

/** Codec for the body (the bytes after the generic header). */
export const NatDBodyCodec = opaqueBody();

/** Codec for the whole payload (generic header included). */
export const NatDPayloadCodec = framed('nat_d', NatDBodyCodec);
