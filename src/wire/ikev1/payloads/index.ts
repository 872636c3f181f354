/**
 * The IKEv1 payload union and the table that maps a payload type number to the body
 * codec that reads it. Bodies are the bytes after the 4-byte generic header; the
 * message codec (../message.ts) walks the chain and frames them.
 */
import type { DecodeError } from '../../../core/errors.ts';
import type { Codec } from '../../codec.ts';
import { NAT_D_TYPES, NAT_OA_TYPES, PayloadType, type NatDType, type NatOaType } from '../constants.ts';
import { CertBodyCodec, type CertPayload } from './cert.ts';
import { CertRequestBodyCodec, type CertRequestPayload } from './cert-request.ts';
import { DeleteBodyCodec, type DeletePayload } from './delete.ts';
import { FragmentBodyCodec, type FragmentPayload } from './fragment.ts';
import { HashBodyCodec, type HashPayload } from './hash.ts';
import { IdBodyCodec, type IdPayload } from './id.ts';
import { KeBodyCodec, type KePayload } from './ke.ts';
import { ModeCfgBodyCodec, type ModeCfgPayload } from './mode-cfg.ts';
import { NatDBodyCodec, type NatDPayload } from './nat-d.ts';
import { NatOaBodyCodec, type NatOaPayload } from './nat-oa.ts';
import { NonceBodyCodec, type NoncePayload } from './nonce.ts';
import { NotificationBodyCodec, type NotificationPayload } from './notification.ts';
import { ProposalBodyCodec, type Proposal } from './proposal.ts';
import { SaBodyCodec, type SaPayload } from './sa.ts';
import { SignatureBodyCodec, type SignaturePayload } from './signature.ts';
import { TransformBodyCodec, type Transform } from './transform.ts';
import { UnknownBodyCodec, type UnknownPayload } from './unknown.ts';
import { VendorIdBodyCodec, type VendorIdPayload } from './vendor-id.ts';

export type Ikev1Payload =
  | ({ readonly kind: 'sa' } & SaPayload)
  /** A proposal met at the top level of a chain (it normally sits inside an SA). */
  | ({ readonly kind: 'proposal' } & Proposal)
  /** A transform met at the top level of a chain (it normally sits inside a proposal). */
  | ({ readonly kind: 'transform' } & Transform)
  | ({ readonly kind: 'ke' } & KePayload)
  | ({ readonly kind: 'id' } & IdPayload)
  | ({ readonly kind: 'cert' } & CertPayload)
  | ({ readonly kind: 'cr' } & CertRequestPayload)
  | ({ readonly kind: 'hash' } & HashPayload)
  | ({ readonly kind: 'sig' } & SignaturePayload)
  | ({ readonly kind: 'nonce' } & NoncePayload)
  | ({ readonly kind: 'notification' } & NotificationPayload)
  | ({ readonly kind: 'delete' } & DeletePayload)
  | ({ readonly kind: 'vid' } & VendorIdPayload)
  | ({ readonly kind: 'attr' } & ModeCfgPayload)
  | ({ readonly kind: 'nat-d'; readonly type: NatDType } & NatDPayload)
  | ({ readonly kind: 'nat-oa'; readonly type: NatOaType } & NatOaPayload)
  | ({ readonly kind: 'fragment' } & FragmentPayload)
  | ({ readonly kind: 'unknown'; readonly type: number } & UnknownPayload)
  /** Only from the lenient decoder: a payload whose body failed to decode, kept verbatim. */
  | { readonly kind: 'malformed'; readonly type: number; readonly data: Uint8Array; readonly error: DecodeError };

export type Ikev1PayloadKind = Ikev1Payload['kind'];

/** Payload kinds whose type number is fixed. */
const FIXED_TYPES = {
  sa: PayloadType.SA,
  proposal: PayloadType.PROPOSAL,
  transform: PayloadType.TRANSFORM,
  ke: PayloadType.KE,
  id: PayloadType.ID,
  cert: PayloadType.CERT,
  cr: PayloadType.CR,
  hash: PayloadType.HASH,
  sig: PayloadType.SIG,
  nonce: PayloadType.NONCE,
  notification: PayloadType.N,
  delete: PayloadType.D,
  vid: PayloadType.VID,
  attr: PayloadType.ATTR,
  fragment: PayloadType.FRAGMENT,
} as const;

/** The payload type number written in the preceding next-payload field. */
export function payloadTypeOf(p: Ikev1Payload): number {
  switch (p.kind) {
    case 'nat-d':
    case 'nat-oa':
    case 'unknown':
    case 'malformed':
      return p.type;
    default:
      return FIXED_TYPES[p.kind];
  }
}

// The body codecs are stored untyped in the table; `entry` pairs each with its kind tag.
interface Encoder {
  length(p: Ikev1Payload): number;
  encode(p: Ikev1Payload, out: Uint8Array, offset: number): void;
}
interface Entry extends Encoder {
  decode(body: Uint8Array, base: number, type: number): Ikev1Payload;
}

function entry<T extends object>(codec: Codec<T>, tag: (type: number) => object): Entry {
  return {
    decode: (body, base, type) => ({ ...tag(type), ...codec.decode(body, base) }) as Ikev1Payload,
    length: (p) => codec.encodedLength(p as unknown as T),
    encode: (p, out, offset) => void codec.encode(p as unknown as T, out, offset),
  };
}

const BY_TYPE = new Map<number, Entry>([
  [PayloadType.SA, entry(SaBodyCodec, () => ({ kind: 'sa' }))],
  [PayloadType.PROPOSAL, entry(ProposalBodyCodec, () => ({ kind: 'proposal' }))],
  [PayloadType.TRANSFORM, entry(TransformBodyCodec, () => ({ kind: 'transform' }))],
  [PayloadType.KE, entry(KeBodyCodec, () => ({ kind: 'ke' }))],
  [PayloadType.ID, entry(IdBodyCodec, () => ({ kind: 'id' }))],
  [PayloadType.CERT, entry(CertBodyCodec, () => ({ kind: 'cert' }))],
  [PayloadType.CR, entry(CertRequestBodyCodec, () => ({ kind: 'cr' }))],
  [PayloadType.HASH, entry(HashBodyCodec, () => ({ kind: 'hash' }))],
  [PayloadType.SIG, entry(SignatureBodyCodec, () => ({ kind: 'sig' }))],
  [PayloadType.NONCE, entry(NonceBodyCodec, () => ({ kind: 'nonce' }))],
  [PayloadType.N, entry(NotificationBodyCodec, () => ({ kind: 'notification' }))],
  [PayloadType.D, entry(DeleteBodyCodec, () => ({ kind: 'delete' }))],
  [PayloadType.VID, entry(VendorIdBodyCodec, () => ({ kind: 'vid' }))],
  [PayloadType.ATTR, entry(ModeCfgBodyCodec, () => ({ kind: 'attr' }))],
  [PayloadType.FRAGMENT, entry(FragmentBodyCodec, () => ({ kind: 'fragment' }))],
  ...NAT_D_TYPES.map((t): [number, Entry] => [t, entry(NatDBodyCodec, (type) => ({ kind: 'nat-d', type }))]),
  ...NAT_OA_TYPES.map((t): [number, Entry] => [t, entry(NatOaBodyCodec, (type) => ({ kind: 'nat-oa', type }))]),
]);

const UNKNOWN = entry(UnknownBodyCodec, (type) => ({ kind: 'unknown', type }));
const MALFORMED: Encoder = {
  length: (p) => (p as { data: Uint8Array }).data.length,
  encode: (p, out, offset) => out.set((p as { data: Uint8Array }).data, offset),
};

/** True when this module decodes the body of the payload type (others become 'unknown'). */
export function isKnownPayloadType(type: number): boolean {
  return BY_TYPE.has(type);
}

/** Decodes a payload body (the bytes after its generic header) of the given type. */
export function decodePayloadBody(type: number, body: Uint8Array, base = 0): Ikev1Payload {
  return (BY_TYPE.get(type) ?? UNKNOWN).decode(body, base, type);
}

function encoderOf(p: Ikev1Payload): Encoder {
  if (p.kind === 'malformed') return MALFORMED;
  if (p.kind === 'unknown') return UNKNOWN;
  return BY_TYPE.get(payloadTypeOf(p))!;
}

/** Body length of a payload (generic header excluded). */
export function payloadBodyLength(p: Ikev1Payload): number {
  return encoderOf(p).length(p);
}

/** Writes a payload body (generic header excluded) at offset. */
export function writePayloadBody(p: Ikev1Payload, out: Uint8Array, offset: number): void {
  encoderOf(p).encode(p, out, offset);
}
