/**
 * The IKEv2 payload union (discriminated on `type`, the payload type number; 'unknown'
 * for types this codec does not interpret) and the dispatch from payload type to codec.
 */
import type { ByteWriter } from '../../core/bytes.ts';
import type { Codec } from '../codec.ts';
import { PayloadType } from './constants.ts';
import { payloadCodec, writePayload, payloadLength, type ChainedPayload, type PayloadBody } from './payload-header.ts';
import { authBody, type AuthPayload } from './payloads/auth.ts';
import { certBody, type CertPayload } from './payloads/cert.ts';
import { certReqBody, type CertReqPayload } from './payloads/certreq.ts';
import { cpBody, type CpPayload } from './payloads/cp.ts';
import { deleteBody, type DeletePayload } from './payloads/delete.ts';
import { eapBody, type EapPayload } from './payloads/eap.ts';
import { idBody, type IdPayload } from './payloads/id.ts';
import { keBody, type KePayload } from './payloads/ke.ts';
import { nonceBody, type NoncePayload } from './payloads/nonce.ts';
import { notifyBody, type NotifyPayload } from './payloads/notify.ts';
import { saBody, type SaPayload } from './payloads/sa.ts';
import { skBody, type SkPayload } from './payloads/sk.ts';
import { skfBody, type SkfPayload } from './payloads/skf.ts';
import { tsBody, type TsPayload } from './payloads/ts.ts';
import { unknownBody, type UnknownPayload } from './payloads/unknown.ts';
import { vendorIdBody, type VendorIdPayload } from './payloads/vendor-id.ts';

export type Payload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertReqPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorIdPayload
  | TsPayload
  | SkPayload
  | CpPayload
  | EapPayload
  | SkfPayload
  | UnknownPayload;

/** The payload types this codec interprets; every other type decodes as UnknownPayload. */
const bodies: ReadonlyMap<number, PayloadBody<Payload>> = new Map<number, unknown>([
  [PayloadType.SA, saBody],
  [PayloadType.KE, keBody],
  [PayloadType.IDi, idBody],
  [PayloadType.IDr, idBody],
  [PayloadType.CERT, certBody],
  [PayloadType.CERTREQ, certReqBody],
  [PayloadType.AUTH, authBody],
  [PayloadType.NONCE, nonceBody],
  [PayloadType.N, notifyBody],
  [PayloadType.D, deleteBody],
  [PayloadType.V, vendorIdBody],
  [PayloadType.TSi, tsBody],
  [PayloadType.TSr, tsBody],
  [PayloadType.SK, skBody],
  [PayloadType.CP, cpBody],
  [PayloadType.EAP, eapBody],
  [PayloadType.SKF, skfBody],
]) as ReadonlyMap<number, PayloadBody<Payload>>;

export function isKnownPayloadType(payloadType: number): boolean {
  return bodies.has(payloadType);
}

export function bodyFor(payloadType: number): PayloadBody<Payload> {
  return bodies.get(payloadType) ?? (unknownBody as PayloadBody<Payload>);
}

/** The payload type number a payload is announced with on the wire. */
export function payloadWireType(p: Payload): number {
  return p.type === 'unknown' ? p.payloadType : p.type;
}

/** SK and SKF end a chain: their next-payload field names the first inner payload instead. */
export function isEncryptedPayloadType(payloadType: number): boolean {
  return payloadType === PayloadType.SK || payloadType === PayloadType.SKF;
}

export function encodedPayloadLength(p: Payload): number {
  return payloadLength(bodyFor(payloadWireType(p)), p);
}

export function writeAnyPayload(p: Payload, nextPayload: number, w: ByteWriter): void {
  writePayload(bodyFor(payloadWireType(p)), p, nextPayload, w);
}

/** A standalone codec for one payload announced as `payloadType` (any type, known or not). */
export function payloadCodecFor(payloadType: number): Codec<ChainedPayload<Payload>> {
  return payloadCodec(bodyFor(payloadType), payloadType);
}

/** The first unrecognised payload with the critical bit set (answer: UNSUPPORTED_CRITICAL_PAYLOAD with its type). */
export function firstUnsupportedCritical(payloads: readonly Payload[]): UnknownPayload | undefined {
  for (const p of payloads) if (p.type === 'unknown' && p.critical) return p;
  return undefined;
}

type Matching<P, T> = P extends { readonly type: infer U } ? (T extends U ? P : never) : never;
/** The payload interface(s) announced as type T (e.g. PayloadOfType<41> is NotifyPayload, <35> is IdPayload). */
export type PayloadOfType<T extends Payload['type']> = Matching<Payload, T>;

/** Payloads of one type, narrowed (e.g. payloadsOfType(msg.payloads, PayloadType.N)). */
export function payloadsOfType<T extends Payload['type']>(payloads: readonly Payload[], type: T): PayloadOfType<T>[] {
  return payloads.filter((p) => p.type === type) as PayloadOfType<T>[];
}

/** Notify payloads of the given notify type. */
export function notifiesOfType(payloads: readonly Payload[], notifyType: number): NotifyPayload[] {
  return payloads.filter((p): p is NotifyPayload => p.type === PayloadType.N && p.notifyType === notifyType);
}
