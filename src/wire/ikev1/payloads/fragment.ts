/**
 * IKE fragmentation payload, type 132 (the Cisco / Microsoft scheme used by IKEv1
 * peers that announce the FRAGMENTATION vendor ID):
 *
 *   generic header | Fragment ID (2) | Fragment Number (1, from 1) | Flags (1, LAST 0x01) | Data
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface FragmentPayload {
  readonly fragmentId: number;
  readonly fragmentNumber: number;
  /** FRAGMENT_FLAG_LAST (0x01) on the final fragment. */
  readonly flags: number;
  readonly data: Uint8Array;
}

export const FragmentBodyCodec: Codec<FragmentPayload> = {
  decode(buf: Uint8Array, base = 0): FragmentPayload {
    const r = new ByteReader(buf, IKEV1_LAYER, base);
    const fragmentId = r.u16('fragment.id');
    const fragmentNumber = r.u8('fragment.number');
    const flags = r.u8('fragment.flags');
    return { fragmentId, fragmentNumber, flags, data: r.rest().slice() };
  },
  encodedLength: (p) => 4 + p.data.length,
  encode(p: FragmentPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(4 + p.data.length, out, offset);
    new ByteWriter(t).u16(p.fragmentId).u8(p.fragmentNumber).u8(p.flags).bytes(p.data);
    return t;
  },
};

export const FragmentPayloadCodec = framed('fragment', FragmentBodyCodec);
