/**
 * A whole ISAKMP message: the 28-byte header and the payload chain (RFC 2408 §3.1-3.2).
 *
 * The chain starts with the header's next-payload and is walked by each payload's own
 * generic header. It is bounded: every step advances at least 4 bytes and must stay
 * inside header.length (itself inside the buffer), so a hostile chain (tcpdump's
 * isakmp-pointer-loop.pcap) ends in a DecodeError, never a loop. Bytes after the
 * last payload and before header.length are kept as `trailer`.
 *
 * With the Encryption flag set, everything after the header is ciphertext: it is kept
 * verbatim in `encrypted` (its first payload type is the header's next-payload).
 * Once decrypted elsewhere, decodePayloadChain() reads the plaintext (padding ends up
 * in `trailer`).
 *
 * decode() is strict; decodeIsakmpLenient() never throws and returns what decoded
 * along with every error, for capture analysis.
 */
import { ByteReader } from '../../core/bytes.ts';
import { assert, DecodeError } from '../../core/errors.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import {
  GENERIC_PAYLOAD_HEADER_LENGTH,
  ISAKMP_HEADER_LENGTH,
  ISAKMP_MAJOR_VERSION,
  IsakmpFlag,
  PayloadType,
  payloadTypeName,
} from './constants.ts';
import { IKEV1_LAYER, readGenericHeader, writeGenericHeader } from './generic.ts';
import { HEADER_OFFSET, readIsakmpHeader, writeIsakmpHeader, type IsakmpHeader } from './header.ts';
import { decodePayloadBody, payloadBodyLength, payloadTypeOf, writePayloadBody, type Ikev1Payload } from './payloads/index.ts';

/** The header fields a message keeps; next payload and length follow from its contents. */
export type IsakmpMessageHeader = Omit<IsakmpHeader, 'nextPayload' | 'length'>;

export interface EncryptedBody {
  /** Type of the first (encrypted) payload, from the header's next-payload field. */
  readonly nextPayload: number;
  /** Ciphertext: IV handling and padding are the crypto layer's business. */
  readonly data: Uint8Array;
}

export interface IsakmpMessage {
  readonly header: IsakmpMessageHeader;
  /** The decoded chain; empty when the message is encrypted. */
  readonly payloads: readonly Ikev1Payload[];
  /** Present exactly when header.flags has the Encryption bit. */
  readonly encrypted?: EncryptedBody;
  /** Bytes between the end of the chain and header.length, if any. */
  readonly trailer?: Uint8Array;
}

export interface PayloadChain {
  readonly payloads: Ikev1Payload[];
  /** Bytes after the payload whose next-payload is NONE (undefined when there are none). */
  readonly trailer?: Uint8Array;
}

interface WalkResult extends PayloadChain {
  readonly errors: DecodeError[];
}

/**
 * Walks a chain from r.pos to the end of r.buf. In lenient mode a body that fails to
 * decode becomes a 'malformed' payload and the walk goes on; a broken generic header
 * stops it. Every error is collected; in strict mode the first one is thrown.
 */
function walkChain(r: ByteReader, first: number, lenient: boolean): WalkResult {
  const payloads: Ikev1Payload[] = [];
  const errors: DecodeError[] = [];
  let next = first;
  while (next !== PayloadType.NONE) {
    const i = payloads.length;
    const field = `payload[${i}]`;
    const start = r.pos;
    let h;
    try {
      if (r.remaining < GENERIC_PAYLOAD_HEADER_LENGTH) {
        r.fail(`${field}.header`, `${payloadTypeName(next)} payload announced, but only ${r.remaining} byte(s) remain before the end of the message`);
      }
      h = readGenericHeader(r, field);
    } catch (e) {
      if (lenient && e instanceof DecodeError) {
        errors.push(e);
        return { payloads, errors };
      }
      throw e;
    }
    const end = start + h.length;
    const body = r.buf.subarray(r.pos, end);
    const bodyBase = r.base + r.pos;
    r.pos = end; // h.length >= 4: the walk always advances
    try {
      payloads.push(decodePayloadBody(next, body, bodyBase));
    } catch (e) {
      if (!(lenient && e instanceof DecodeError)) throw e;
      errors.push(e);
      payloads.push({ kind: 'malformed', type: next, data: body.slice(), error: e });
    }
    next = h.nextPayload;
  }
  const trailer = r.remaining > 0 ? r.rest().slice() : undefined;
  return trailer ? { payloads, trailer, errors } : { payloads, errors };
}

/**
 * Strictly decodes a payload chain filling `buf` (e.g. a decrypted IKEv1 body), the
 * first payload being of type `first`. Bytes after the last payload become `trailer`.
 */
export function decodePayloadChain(buf: Uint8Array, first: number, base = 0): PayloadChain {
  const { payloads, trailer } = walkChain(new ByteReader(buf, IKEV1_LAYER, base), first, false);
  return trailer ? { payloads, trailer } : { payloads };
}

export function payloadChainLength(payloads: readonly Ikev1Payload[]): number {
  let n = 0;
  for (const p of payloads) n += GENERIC_PAYLOAD_HEADER_LENGTH + payloadBodyLength(p);
  return n;
}

/** Writes the chain (generic headers linked by next-payload) at offset; returns the offset after it. */
export function writePayloadChain(payloads: readonly Ikev1Payload[], out: Uint8Array, offset: number): number {
  let pos = offset;
  payloads.forEach((p, i) => {
    const len = GENERIC_PAYLOAD_HEADER_LENGTH + payloadBodyLength(p);
    const following = payloads[i + 1];
    writeGenericHeader(out, pos, following ? payloadTypeOf(following) : PayloadType.NONE, len);
    writePayloadBody(p, out, pos + GENERIC_PAYLOAD_HEADER_LENGTH);
    pos += len;
  });
  return pos;
}

function versionProblem(r: ByteReader, h: IsakmpHeader): DecodeError | undefined {
  if (h.majorVersion === ISAKMP_MAJOR_VERSION) return undefined;
  return new DecodeError(IKEV1_LAYER, 'version', r.base + HEADER_OFFSET.version, `version ${h.majorVersion}.${h.minorVersion} is not ISAKMP/IKEv1 (major 1)`);
}

function lengthProblem(r: ByteReader, h: IsakmpHeader): DecodeError | undefined {
  if (h.length < ISAKMP_HEADER_LENGTH) {
    return new DecodeError(IKEV1_LAYER, 'length', r.base + HEADER_OFFSET.length, `message length ${h.length} is shorter than the 28-byte header`);
  }
  if (h.length > r.buf.length) {
    return new DecodeError(IKEV1_LAYER, 'length', r.base + HEADER_OFFSET.length, `message length ${h.length} runs past the end: ${r.buf.length} bytes available`);
  }
  return undefined;
}

function messageHeader(h: IsakmpHeader): IsakmpMessageHeader {
  const { nextPayload: _n, length: _l, ...rest } = h;
  return rest;
}

function decodeStrict(buf: Uint8Array, base: number): IsakmpMessage {
  const r = new ByteReader(buf, IKEV1_LAYER, base);
  const h = readIsakmpHeader(r);
  const bad = versionProblem(r, h) ?? lengthProblem(r, h);
  if (bad) throw bad;
  const header = messageHeader(h);
  if (h.flags & IsakmpFlag.ENCRYPTION) {
    return { header, payloads: [], encrypted: { nextPayload: h.nextPayload, data: buf.slice(ISAKMP_HEADER_LENGTH, h.length) } };
  }
  const body = new ByteReader(buf.subarray(0, h.length), IKEV1_LAYER, base);
  body.pos = ISAKMP_HEADER_LENGTH;
  const { payloads, trailer } = walkChain(body, h.nextPayload, false);
  return trailer ? { header, payloads, trailer } : { header, payloads };
}

export function isakmpMessageLength(m: IsakmpMessage): number {
  const body = m.encrypted ? m.encrypted.data.length : payloadChainLength(m.payloads);
  return ISAKMP_HEADER_LENGTH + body + (m.trailer?.length ?? 0);
}

export const IsakmpMessageCodec: Codec<IsakmpMessage> = {
  decode(buf: Uint8Array, base = 0): IsakmpMessage {
    return decodeStrict(buf, base);
  },
  encodedLength: isakmpMessageLength,
  encode(m: IsakmpMessage, out?: Uint8Array, offset = 0): Uint8Array {
    const encryptedFlag = (m.header.flags & IsakmpFlag.ENCRYPTION) !== 0;
    assert(encryptedFlag === (m.encrypted !== undefined), 'the Encryption flag and the encrypted body go together');
    assert(!m.encrypted || m.payloads.length === 0, 'an encrypted message carries no clear payloads');
    const len = isakmpMessageLength(m);
    const t = encodeTarget(len, out, offset);
    const first = m.encrypted ? m.encrypted.nextPayload : m.payloads[0] ? payloadTypeOf(m.payloads[0]) : PayloadType.NONE;
    let pos = writeIsakmpHeader({ ...m.header, nextPayload: first, length: len }, t, 0);
    if (m.encrypted) {
      t.set(m.encrypted.data, pos);
      pos += m.encrypted.data.length;
    } else {
      pos = writePayloadChain(m.payloads, t, pos);
    }
    if (m.trailer) t.set(m.trailer, pos);
    return t;
  },
};

/** What the lenient decoder could make of a datagram. */
export interface IsakmpDecodeResult {
  /** Undefined when not even the 28-byte header was there. */
  readonly header?: IsakmpHeader;
  /** Payloads decoded (malformed bodies kept as kind 'malformed'). */
  readonly payloads: readonly Ikev1Payload[];
  readonly encrypted?: EncryptedBody;
  readonly trailer?: Uint8Array;
  /** Every problem found, in order; empty when the message is well formed. */
  readonly errors: readonly DecodeError[];
  /** The strict decoding, present exactly when `errors` is empty. */
  readonly message?: IsakmpMessage;
}

/**
 * Decodes as much as possible and never throws (for capture analysis). A bad header
 * length is reported and the chain is then walked within the bytes that are there.
 * A major version other than 1 stops after the header.
 */
export function decodeIsakmpLenient(buf: Uint8Array, base = 0): IsakmpDecodeResult {
  const r = new ByteReader(buf, IKEV1_LAYER, base);
  let h: IsakmpHeader;
  try {
    h = readIsakmpHeader(r);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { payloads: [], errors: [e] };
  }
  const wrongVersion = versionProblem(r, h);
  if (wrongVersion) return { header: h, payloads: [], errors: [wrongVersion] };
  const errors: DecodeError[] = [];
  const bad = lengthProblem(r, h);
  if (bad) errors.push(bad);
  const limit = bad ? buf.length : h.length;
  if (h.flags & IsakmpFlag.ENCRYPTION) {
    const encrypted = { nextPayload: h.nextPayload, data: buf.slice(ISAKMP_HEADER_LENGTH, limit) };
    if (errors.length > 0) return { header: h, payloads: [], encrypted, errors };
    return { header: h, payloads: [], encrypted, errors, message: { header: messageHeader(h), payloads: [], encrypted } };
  }
  const body = new ByteReader(buf.subarray(0, limit), IKEV1_LAYER, base);
  body.pos = ISAKMP_HEADER_LENGTH;
  const walk = walkChain(body, h.nextPayload, true);
  errors.push(...walk.errors);
  const { payloads, trailer } = walk;
  const partial = trailer ? { header: h, payloads, trailer, errors } : { header: h, payloads, errors };
  if (errors.length > 0) return partial;
  const message: IsakmpMessage = trailer ? { header: messageHeader(h), payloads, trailer } : { header: messageHeader(h), payloads };
  return { ...partial, message };
}
