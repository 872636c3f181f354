/**
 * Security Association payload (RFC 7296 §3.3): proposals → transforms → attributes.
 *
 * Proposal substructure (§3.3.1):
 *  | 0 (last) or 2 |   RESERVED    |         Proposal Length       |
 *  | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 *  ~                        SPI (variable)                         ~
 *  ~                        <Transforms>                           ~
 *
 * Transform substructure (§3.3.2):
 *  | 0 (last) or 3 |   RESERVED    |        Transform Length       |
 *  |Transform Type |   RESERVED    |          Transform ID         |
 *  ~                      Transform Attributes                     ~
 *
 * Attributes (§3.3.5): |A| Attribute Type (15) | then either a 16-bit value (A=1, TV)
 * or a 16-bit length and that many bytes (A=0, TLV).
 *
 * Framing is checked strictly: lengths must nest exactly, the last/more markers must
 * match the position, and the transform count must match what the proposal holds.
 * Reserved bytes are kept so decoded values re-encode byte for byte.
 */
import type { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { fixed, readFixed, u16, u8, writeFixed } from '../../layout.ts';
import { PayloadType, TransformAttributeType } from '../constants.ts';
import {
  checkRange,
  nonZero,
  payloadCodec,
  type PayloadBody,
  type PayloadHeaderFields,
} from '../payload-header.ts';

export type TransformAttribute =
  /** Type/Value (A bit set): a 16-bit value, e.g. Key Length. */
  | { readonly format: 'tv'; readonly attrType: number; readonly value: number }
  /** Type/Length/Value (A bit clear): variable-length bytes. */
  | { readonly format: 'tlv'; readonly attrType: number; readonly value: Uint8Array };

export interface Transform {
  readonly transformType: number;
  readonly transformId: number;
  readonly attributes: readonly TransformAttribute[];
  /** RESERVED byte after the last/more marker; omitted when zero. */
  readonly reserved1?: number;
  /** RESERVED byte after the transform type; omitted when zero. */
  readonly reserved2?: number;
}

export interface Proposal {
  /** Proposal Num: 1 for the first proposal, one more for each after it. */
  readonly num: number;
  readonly protocolId: number;
  /** The SPI (empty for IKE in IKE_SA_INIT, 8 bytes when rekeying IKE, 4 for AH/ESP). */
  readonly spi: Uint8Array;
  readonly transforms: readonly Transform[];
  /** RESERVED byte after the last/more marker; omitted when zero. */
  readonly reserved?: number;
}

export interface SaPayload extends PayloadHeaderFields {
  readonly type: typeof PayloadType.SA;
  readonly proposals: readonly Proposal[];
}

const PROPOSAL_MORE = 2;
const TRANSFORM_MORE = 3;
const LAST = 0;
const ATTR_TV = 0x8000;

interface ProposalHeaderWire {
  last: number;
  reserved: number;
  length: number;
  num: number;
  protocolId: number;
  spiSize: number;
  numTransforms: number;
}
export const proposalHeaderLayout = fixed<ProposalHeaderWire>([
  u8('last'),
  u8('reserved'),
  u16('length'),
  u8('num'),
  u8('protocolId'),
  u8('spiSize'),
  u8('numTransforms'),
]);

interface TransformHeaderWire {
  last: number;
  reserved1: number;
  length: number;
  transformType: number;
  reserved2: number;
  transformId: number;
}
export const transformHeaderLayout = fixed<TransformHeaderWire>([
  u8('last'),
  u8('reserved1'),
  u16('length'),
  u8('transformType'),
  u8('reserved2'),
  u16('transformId'),
]);

function attributeLength(a: TransformAttribute): number {
  return a.format === 'tv' ? 4 : 4 + a.value.length;
}
export function transformLength(t: Transform): number {
  let n = transformHeaderLayout.span;
  for (const a of t.attributes) n += attributeLength(a);
  return n;
}
export function proposalLength(p: Proposal): number {
  let n = proposalHeaderLayout.span + p.spi.length;
  for (const t of p.transforms) n += transformLength(t);
  return n;
}

function decodeAttributes(r: ByteReader): TransformAttribute[] {
  const out: TransformAttribute[] = [];
  while (r.remaining > 0) {
    const word = r.u16('attribute_type');
    const attrType = word & 0x7fff;
    if (word & ATTR_TV) {
      out.push({ format: 'tv', attrType, value: r.u16('attribute_value') });
    } else {
      const len = r.u16('attribute_length');
      out.push({ format: 'tlv', attrType, value: r.bytes(len, 'attribute_value') });
    }
  }
  return out;
}

function checkMarker(r: ByteReader, at: number, found: number, isLast: boolean, more: number, what: string): void {
  const want = isLast ? LAST : more;
  if (found !== want) {
    r.fail('last_substructure', `${what} marker is ${found}, expected ${want} (${isLast ? 'last' : `more ${what}s follow`})`, at);
  }
}

function decodeTransform(r: ByteReader): Transform {
  const start = r.pos;
  const h = readFixed(transformHeaderLayout, r, 'transform');
  const attrLen = h.length - transformHeaderLayout.span;
  if (attrLen < 0) r.fail('transform_length', `transform length ${h.length} is below the 8-byte transform header`, start + 2);
  if (attrLen > r.remaining) r.fail('transform_length', `transform length ${h.length} runs past its proposal`, start + 2);
  const attributes = decodeAttributes(r.sub(attrLen, 'transform_attributes'));
  checkMarker(r, start, h.last, r.remaining === 0, TRANSFORM_MORE, 'transform');
  return {
    transformType: h.transformType,
    transformId: h.transformId,
    attributes,
    ...nonZero('reserved1', h.reserved1),
    ...nonZero('reserved2', h.reserved2),
  };
}

function decodeProposal(r: ByteReader): Proposal {
  const start = r.pos;
  const h = readFixed(proposalHeaderLayout, r, 'proposal');
  const innerLen = h.length - proposalHeaderLayout.span;
  if (innerLen < h.spiSize) {
    r.fail('proposal_length', `proposal length ${h.length} is below its header and ${h.spiSize}-byte SPI`, start + 2);
  }
  if (innerLen > r.remaining) r.fail('proposal_length', `proposal length ${h.length} runs past the SA payload`, start + 2);
  const pr = r.sub(innerLen, 'proposal');
  const spi = pr.bytes(h.spiSize, 'spi');
  const transforms: Transform[] = [];
  while (pr.remaining > 0) transforms.push(decodeTransform(pr));
  if (transforms.length !== h.numTransforms) {
    r.fail('num_transforms', `proposal says ${h.numTransforms} transforms but holds ${transforms.length}`, start + 7);
  }
  checkMarker(r, start, h.last, r.remaining === 0, PROPOSAL_MORE, 'proposal');
  return { num: h.num, protocolId: h.protocolId, spi, transforms, ...nonZero('reserved', h.reserved) };
}

function writeTransform(t: Transform, isLast: boolean, w: ByteWriter): void {
  w.pos = writeFixed(
    transformHeaderLayout,
    {
      last: isLast ? LAST : TRANSFORM_MORE,
      reserved1: checkRange('transform reserved', t.reserved1 ?? 0, 0xff),
      length: checkRange('transform length', transformLength(t), 0xffff),
      transformType: checkRange('transform type', t.transformType, 0xff),
      reserved2: checkRange('transform reserved', t.reserved2 ?? 0, 0xff),
      transformId: checkRange('transform ID', t.transformId, 0xffff),
    },
    w.buf,
    w.pos,
  );
  for (const a of t.attributes) {
    const attrType = checkRange('attribute type', a.attrType, 0x7fff);
    if (a.format === 'tv') {
      w.u16(ATTR_TV | attrType).u16(checkRange('attribute value', a.value, 0xffff));
    } else {
      w.u16(attrType).u16(checkRange('attribute length', a.value.length, 0xffff)).bytes(a.value);
    }
  }
}

function writeProposal(p: Proposal, isLast: boolean, w: ByteWriter): void {
  w.pos = writeFixed(
    proposalHeaderLayout,
    {
      last: isLast ? LAST : PROPOSAL_MORE,
      reserved: checkRange('proposal reserved', p.reserved ?? 0, 0xff),
      length: checkRange('proposal length', proposalLength(p), 0xffff),
      num: checkRange('proposal number', p.num, 0xff),
      protocolId: checkRange('protocol ID', p.protocolId, 0xff),
      spiSize: checkRange('SPI size', p.spi.length, 0xff),
      numTransforms: checkRange('number of transforms', p.transforms.length, 0xff),
    },
    w.buf,
    w.pos,
  );
  w.bytes(p.spi);
  p.transforms.forEach((t, i) => writeTransform(t, i === p.transforms.length - 1, w));
}

export const saBody: PayloadBody<SaPayload> = {
  decode(r, header) {
    const proposals: Proposal[] = [];
    while (r.remaining > 0) proposals.push(decodeProposal(r));
    return { type: PayloadType.SA, ...header, proposals };
  },
  length(p) {
    let n = 0;
    for (const pr of p.proposals) n += proposalLength(pr);
    return n;
  },
  write(p, w) {
    p.proposals.forEach((pr, i) => writeProposal(pr, i === p.proposals.length - 1, w));
  },
};

export const saPayloadCodec = payloadCodec(saBody, PayloadType.SA);

/** The Key Length attribute's value in bits, if the transform has one. */
export function keyLength(t: Transform): number | undefined {
  for (const a of t.attributes) if (a.format === 'tv' && a.attrType === TransformAttributeType.KEY_LENGTH) return a.value;
  return undefined;
}

/** A transform, with a Key Length attribute when `keyBits` is given. */
export function makeTransform(transformType: number, transformId: number, keyBits?: number): Transform {
  const attributes: TransformAttribute[] =
    keyBits === undefined ? [] : [{ format: 'tv', attrType: TransformAttributeType.KEY_LENGTH, value: keyBits }];
  return { transformType, transformId, attributes };
}

/** Proposals numbered 1, 2, 3, ... in order (RFC 7296 §3.3.1). */
export function numberProposals(proposals: readonly Omit<Proposal, 'num'>[]): Proposal[] {
  return proposals.map((p, i) => ({ ...p, num: i + 1 }));
}
