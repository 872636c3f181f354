/**
 * Building and opening IKE messages for an IKE SA: plain messages (IKE_SA_INIT),
 * messages whose payloads travel in an Encrypted payload (RFC 7296 §3.14; RFC 5282
 * for AES-GCM), and the strongSwan-style payload lists used in traces.
 */
import { DecodeError, type Rng } from '../core/index.ts';
import { encrInfo } from '../crypto/algorithms.ts';
import { openSkMessage, sealSkMessage } from '../crypto/sk.ts';
import { HeaderFlag, PayloadType, notifyTypeName, payloadTypeName } from '../wire/ike/constants.ts';
import { ikeHeaderFields } from '../wire/ike/header.ts';
import { decodePayloadChain, encodeMessage, encodePayloadChain, firstPayloadType, type IkeMessage } from '../wire/ike/message.ts';
import type { Payload } from '../wire/ike/payload.ts';
import type { IkeSa } from './session.ts';

export interface HeaderSpec {
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly exchangeType: number;
  readonly messageId: number;
  readonly response: boolean;
  /** We are the original initiator of the IKE SA (sets the I flag). */
  readonly initiator: boolean;
}

function header(h: HeaderSpec) {
  return ikeHeaderFields({
    spiI: h.spiI,
    spiR: h.spiR,
    exchangeType: h.exchangeType,
    flags: (h.initiator ? HeaderFlag.I : 0) | (h.response ? HeaderFlag.R : 0),
    messageId: h.messageId,
  });
}

/** A message with plain payloads. */
export function encodePlain(h: HeaderSpec, payloads: readonly Payload[]): Uint8Array {
  return encodeMessage({ header: header(h), payloads });
}

/** A message whose payloads are all inside one Encrypted payload, protected with the SA's outbound keys. */
export function encodeProtected(sa: IkeSa, rng: Rng, h: HeaderSpec, inner: readonly Payload[]): Uint8Array {
  const suite = sa.suite!;
  const keys = sa.outKeys();
  const prefix = encodeMessage({
    header: header(h),
    payloads: [{ type: PayloadType.SK, critical: false, firstInnerPayload: firstPayloadType(inner), body: new Uint8Array(0) }],
  });
  return sealSkMessage({
    suite,
    keyE: keys.e,
    keyA: keys.a,
    iv: rng.bytes(encrInfo(suite.encr).ivLength),
    prefix,
    skOffset: 28,
    plaintext: encodePayloadChain(inner),
  });
}

export type OpenResult =
  | { readonly ok: true; readonly payloads: readonly Payload[] }
  | { readonly ok: false; readonly reason: 'integrity' | 'decode-error' | 'fragment'; readonly message: string; readonly error?: Error };

/**
 * Verifies and decrypts the Encrypted payload of a message for this SA (inbound keys).
 * `bytes` is the IKE message (header.length bytes) and `base` its offset in the datagram.
 */
export function openProtected(sa: IkeSa, msg: IkeMessage, bytes: Uint8Array, base: number): OpenResult {
  const last = msg.payloads[msg.payloads.length - 1];
  if (last?.type === PayloadType.SKF) return { ok: false, reason: 'fragment', message: 'IKEv2 fragments (SKF, RFC 7383) are not reassembled' };
  if (last?.type !== PayloadType.SK) {
    return { ok: false, reason: 'decode-error', message: `${describeExchange(msg)} carries no Encrypted payload` };
  }
  const skOffset = bytes.length - (4 + last.body.length);
  const keys = sa.inKeys();
  const r = openSkMessage({ suite: sa.suite!, keyE: keys.e, keyA: keys.a, message: bytes, skOffset });
  if (!r.ok) return { ok: false, reason: 'integrity', message: `${r.reason}: ${r.message}` };
  try {
    return { ok: true, payloads: decodePayloadChain(last.firstInnerPayload, r.plaintext, base + skOffset + 4) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, reason: 'decode-error', message: `inside the Encrypted payload: ${e.message}`, error: e };
    throw e;
  }
}

const SHORT: Readonly<Record<number, string>> = { [PayloadType.NONCE]: 'No', [PayloadType.V]: 'V', [PayloadType.D]: 'D' };

/** strongSwan-style names: "SA", "KE", "No", "N(NAT_DETECTION_SOURCE_IP)", "D", "SK". */
export function describePayloads(payloads: readonly Payload[]): string[] {
  return payloads.map((p) => {
    if (p.type === PayloadType.N) return `N(${notifyTypeName(p.notifyType) ?? p.notifyType})`;
    if (p.type === 'unknown') return `UNKNOWN(${p.payloadType}${p.critical ? ',critical' : ''})`;
    return SHORT[p.type] ?? payloadTypeName(p.type) ?? String(p.type);
  });
}

function describeExchange(msg: IkeMessage): string {
  return `message ${msg.header.messageId} (exchange ${msg.header.exchangeType})`;
}
