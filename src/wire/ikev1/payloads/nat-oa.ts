/**
 * NAT Original Address payload (RFC 3947 §5.2; payload type 21, 131 in drafts 01-04,
 * 16 in drafts 05-08):
 *
 *   generic header | ID Type (1) | RESERVED (1) | RESERVED (2) | IPv4 (4) or IPv6 (16) address
 *
 * The ID type must be ID_IPV4_ADDR or ID_IPV6_ADDR and match the address size.
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { ipFromBytes, type IpAddress } from '../../../core/addr.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { IdType } from '../constants.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export interface NatOaPayload {
  /** The original (pre-NAT) address; its family gives the ID type. */
  readonly addr: IpAddress;
}

export const NatOaBodyCodec: Codec<NatOaPayload> = {
  decode(buf: Uint8Array, base = 0): NatOaPayload {
    const r = new ByteReader(buf, IKEV1_LAYER, base);
    const idType = r.u8('nat_oa.id_type');
    r.skip(3, 'nat_oa.reserved');
    const size = idType === IdType.IPV4_ADDR ? 4 : idType === IdType.IPV6_ADDR ? 16 : -1;
    if (size < 0) r.fail('nat_oa.id_type', `ID type ${idType} is neither ID_IPV4_ADDR (1) nor ID_IPV6_ADDR (5)`, 0);
    if (r.remaining !== size) r.fail('nat_oa.address', `an address of ${size} bytes expected, the payload has ${r.remaining}`);
    return { addr: ipFromBytes(r.bytes(size, 'nat_oa.address')) };
  },
  encodedLength: (p) => 4 + p.addr.bytes.length,
  encode(p: NatOaPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(4 + p.addr.bytes.length, out, offset);
    new ByteWriter(t).u8(p.addr.family === 4 ? IdType.IPV4_ADDR : IdType.IPV6_ADDR).zeros(3).bytes(p.addr.bytes);
    return t;
  },
};

export const NatOaPayloadCodec = framed('nat_oa', NatOaBodyCodec);
