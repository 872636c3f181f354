/**
 * Whole IKEv2 messages (RFC 7296 §3): the IKE header, then the payload chain linked by
 * next-payload fields and sized by each generic header's Payload Length.
 *
 * Decoding is strict about framing and lenient about meaning:
 *  - header Length below 28 or beyond the datagram is a DecodeError on "length";
 *    bytes after Length (if the datagram is longer) are not part of the message;
 *  - a Payload Length below 4 or past the end is a DecodeError on "payload_length";
 *  - every step consumes at least 4 bytes, so the walk always terminates;
 *  - SK / SKF end the chain (their next-payload names the first inner payload), so
 *    anything after them is a DecodeError, as are bytes left after next-payload 0;
 *  - unknown payload types are kept raw with their critical bit (see firstUnsupportedCritical);
 *  - the major version is not checked here: the engine answers INVALID_MAJOR_VERSION
 *    from the decoded header.
 * Encoding fills in every next-payload field and every length.
 */
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import { IKE_HEADER_LENGTH, PayloadType } from './constants.ts';
import { readIkeHeader, writeIkeHeader, type IkeHeader, type IkeHeaderFields } from './header.ts';
import { IKE_LAYER, decodeBody, readPayloadFrame } from './payload-header.ts';
import {
  bodyFor,
  encodedPayloadLength,
  isEncryptedPayloadType,
  payloadWireType,
  writeAnyPayload,
  type Payload,
} from './payload.ts';

export interface IkeMessage {
  readonly header: IkeHeader;
  readonly payloads: readonly Payload[];
}

/** What encodeMessage needs: the header without next payload and length, which it computes. */
export interface IkeMessageInput {
  readonly header: IkeHeaderFields;
  readonly payloads: readonly Payload[];
}

function walkChain(firstType: number, r: ByteReader): Payload[] {
  const payloads: Payload[] = [];
  let type = firstType;
  while (type !== PayloadType.NONE) {
    const frame = readPayloadFrame(r);
    payloads.push(decodeBody(bodyFor(type), frame, type));
    if (isEncryptedPayloadType(type)) {
      if (r.remaining > 0) r.fail('payload_chain', `${r.remaining} byte(s) after the ${type === PayloadType.SK ? 'SK' : 'SKF'} payload, which must be last`);
      return payloads;
    }
    type = frame.nextPayload;
  }
  if (r.remaining > 0) r.fail('payload_chain', `${r.remaining} byte(s) after the last payload (next payload 0)`);
  return payloads;
}

/**
 * Parses a payload chain starting with a payload of type `firstType`, e.g. the decrypted
 * contents of an SK payload (padding and pad length already removed). `base` is the
 * absolute offset of bytes[0] for error reporting.
 */
export function decodePayloadChain(firstType: number, bytes: Uint8Array, base = 0): Payload[] {
  return walkChain(firstType, new ByteReader(bytes, IKE_LAYER, base));
}

/** Decodes one IKEv2 message (header and payload chain) from a UDP payload (after any non-ESP marker). */
export function decodeMessage(buf: Uint8Array, base = 0): IkeMessage {
  const r = new ByteReader(buf, IKE_LAYER, base);
  const header = readIkeHeader(r);
  if (header.length < IKE_HEADER_LENGTH) {
    r.fail('length', `message length ${header.length} is below the ${IKE_HEADER_LENGTH}-byte header`, 24);
  }
  if (header.length > buf.length) {
    r.fail('length', `message length ${header.length} exceeds the ${buf.length}-byte datagram`, 24);
  }
  const chain = new ByteReader(buf.subarray(IKE_HEADER_LENGTH, header.length), IKE_LAYER, base + IKE_HEADER_LENGTH);
  return { header, payloads: walkChain(header.nextPayload, chain) };
}

/** Type of the first payload in a list (0 for none): the value of the preceding next-payload field. */
export function firstPayloadType(payloads: readonly Payload[]): number {
  const first = payloads[0];
  return first === undefined ? PayloadType.NONE : payloadWireType(first);
}

export function payloadChainLength(payloads: readonly Payload[]): number {
  let n = 0;
  for (const p of payloads) n += encodedPayloadLength(p);
  return n;
}

function writeChain(payloads: readonly Payload[], w: ByteWriter): void {
  payloads.forEach((p, i) => {
    const next = payloads[i + 1];
    if (next !== undefined && isEncryptedPayloadType(payloadWireType(p))) {
      throw new RangeError('an SK or SKF payload must be the last payload of its chain');
    }
    writeAnyPayload(p, next === undefined ? PayloadType.NONE : payloadWireType(next), w);
  });
}

/**
 * Encodes payloads as a chain (every next-payload and length filled in), e.g. the
 * plaintext to encrypt into an SK payload whose firstInnerPayload is firstPayloadType(payloads).
 */
export function encodePayloadChain(payloads: readonly Payload[], out?: Uint8Array, offset = 0): Uint8Array {
  const target = encodeTarget(payloadChainLength(payloads), out, offset);
  writeChain(payloads, new ByteWriter(target));
  return target;
}

export function encodedMessageLength(m: IkeMessageInput): number {
  return IKE_HEADER_LENGTH + payloadChainLength(m.payloads);
}

/** Encodes a message; the header's next payload and length are computed from the payloads. */
export function encodeMessage(m: IkeMessageInput, out?: Uint8Array, offset = 0): Uint8Array {
  const length = encodedMessageLength(m);
  const target = encodeTarget(length, out, offset);
  const w = new ByteWriter(target);
  writeIkeHeader({ ...m.header, nextPayload: firstPayloadType(m.payloads), length }, w);
  writeChain(m.payloads, w);
  return target;
}

/** Codec over whole messages; encode ignores the value's header.nextPayload and header.length and recomputes them. */
export const ikeMessageCodec: Codec<IkeMessage> = {
  decode: decodeMessage,
  encode: encodeMessage,
  encodedLength: encodedMessageLength,
};
