/**
 * Identification payload (RFC 2408 §3.8 with the IPsec DOI layout of RFC 2407 §4.6.2):
 *
 *   generic header | ID Type (1) | Protocol ID (1) | Port (2) | Identification Data
 *
 * Address forms are decoded and their sizes enforced: ID_IPV4_ADDR 4 bytes,
 * ID_IPV4_ADDR_SUBNET / _RANGE 8, ID_IPV6_ADDR 16, ID_IPV6_ADDR_SUBNET / _RANGE 32.
 * Every other type (FQDN, USER_FQDN, DER_ASN1_DN, KEY_ID, ...) keeps its bytes.
 */
import { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { assert } from '../../../core/errors.ts';
import { ipFromBytes, type IpAddress } from '../../../core/addr.ts';
import { encodeTarget, type Codec } from '../../codec.ts';
import { IdType, idTypeName } from '../constants.ts';
import { framed, IKEV1_LAYER } from '../generic.ts';

export type IdData =
  /** ID_IPV4_ADDR, ID_IPV6_ADDR. */
  | { readonly kind: 'address'; readonly addr: IpAddress }
  /** ID_IPV4_ADDR_SUBNET, ID_IPV6_ADDR_SUBNET: address and netmask. */
  | { readonly kind: 'subnet'; readonly addr: IpAddress; readonly mask: IpAddress }
  /** ID_IPV4_ADDR_RANGE, ID_IPV6_ADDR_RANGE. */
  | { readonly kind: 'range'; readonly start: IpAddress; readonly end: IpAddress }
  /** Every other ID type: the identification data verbatim. */
  | { readonly kind: 'opaque'; readonly bytes: Uint8Array };

export interface IdPayload {
  readonly idType: number;
  /** IP protocol (0 = any); phase 1 identities usually carry 0 or 17. */
  readonly protocolId: number;
  readonly port: number;
  readonly data: IdData;
}

/** Shape and address size implied by an ID type, or undefined for opaque types. */
function addressShape(idType: number): { kind: 'address' | 'subnet' | 'range'; size: 4 | 16 } | undefined {
  switch (idType) {
    case IdType.IPV4_ADDR: return { kind: 'address', size: 4 };
    case IdType.IPV6_ADDR: return { kind: 'address', size: 16 };
    case IdType.IPV4_ADDR_SUBNET: return { kind: 'subnet', size: 4 };
    case IdType.IPV6_ADDR_SUBNET: return { kind: 'subnet', size: 16 };
    case IdType.IPV4_ADDR_RANGE: return { kind: 'range', size: 4 };
    case IdType.IPV6_ADDR_RANGE: return { kind: 'range', size: 16 };
    default: return undefined;
  }
}

export function readIdBody(r: ByteReader): IdPayload {
  const idType = r.u8('id.type');
  const protocolId = r.u8('id.protocol_id');
  const port = r.u16('id.port');
  const shape = addressShape(idType);
  if (!shape) return { idType, protocolId, port, data: { kind: 'opaque', bytes: r.rest().slice() } };
  const want = shape.kind === 'address' ? shape.size : shape.size * 2;
  if (r.remaining !== want) {
    r.fail('id.data', `${idTypeName(idType)} carries ${want} bytes, the payload has ${r.remaining}`);
  }
  const a = ipFromBytes(r.bytes(shape.size, 'id.data'));
  if (shape.kind === 'address') return { idType, protocolId, port, data: { kind: 'address', addr: a } };
  const b = ipFromBytes(r.bytes(shape.size, 'id.data'));
  return {
    idType,
    protocolId,
    port,
    data: shape.kind === 'subnet' ? { kind: 'subnet', addr: a, mask: b } : { kind: 'range', start: a, end: b },
  };
}

function idDataLength(d: IdData): number {
  switch (d.kind) {
    case 'address': return d.addr.bytes.length;
    case 'subnet': return d.addr.bytes.length + d.mask.bytes.length;
    case 'range': return d.start.bytes.length + d.end.bytes.length;
    case 'opaque': return d.bytes.length;
  }
}

export function idBodyLength(p: IdPayload): number {
  return 4 + idDataLength(p.data);
}

export function writeIdBody(p: IdPayload, out: Uint8Array, offset: number): number {
  const shape = addressShape(p.idType);
  const parts: IpAddress[] =
    p.data.kind === 'address' ? [p.data.addr]
    : p.data.kind === 'subnet' ? [p.data.addr, p.data.mask]
    : p.data.kind === 'range' ? [p.data.start, p.data.end]
    : [];
  assert(
    shape ? shape.kind === p.data.kind && parts.every((a) => a.bytes.length === shape.size) : p.data.kind === 'opaque',
    `ID data of kind ${p.data.kind} does not fit ${idTypeName(p.idType)}`,
  );
  const w = new ByteWriter(out, offset);
  w.u8(p.idType).u8(p.protocolId).u16(p.port);
  if (p.data.kind === 'opaque') w.bytes(p.data.bytes);
  for (const a of parts) w.bytes(a.bytes);
  return w.pos;
}

export const IdBodyCodec: Codec<IdPayload> = {
  decode(buf: Uint8Array, base = 0): IdPayload {
    return readIdBody(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength: idBodyLength,
  encode(p: IdPayload, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(idBodyLength(p), out, offset);
    writeIdBody(p, t, 0);
    return t;
  },
};

export const IdPayloadCodec = framed('id', IdBodyCodec);

/** Text of an FQDN / USER_FQDN / KEY_ID identity (bytes read as latin1 so nothing is lost). */
export function idText(p: IdPayload): string | undefined {
  if (p.data.kind !== 'opaque') return undefined;
  return Array.from(p.data.bytes, (b) => String.fromCharCode(b)).join('');
}
