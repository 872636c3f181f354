/**
 * Payloads this module does not interpret (GDOI, private-use numbers, IKEv2 numbers met
 * in an IKEv1 chain ...): the body is kept byte for byte so a message re-encodes exactly.
 */
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type UnknownPayload = DataBody;

export const UnknownBodyCodec = opaqueBody();
export const UnknownPayloadCodec = framed('unknown', UnknownBodyCodec);
