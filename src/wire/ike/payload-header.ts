/**
 * The generic payload header every IKEv2 payload starts with (RFC 7296 §3.2), and
 * the machinery each payload file plugs its body into.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  | Next Payload  |C|  RESERVED   |         Payload Length        |
 *
 * A payload codec reads the header, bounds the body by Payload Length (which counts
 * the 4 header bytes) and hands the body decoder a reader spanning exactly the body,
 * with absolute offsets. A body decoder must consume its whole body.
 */
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import { assert } from '../../core/errors.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import { fixed, readFixed, u16, u8, writeFixed } from '../layout.ts';
import { GENERIC_PAYLOAD_HEADER_LENGTH } from './constants.ts';

export const IKE_LAYER = 'ikev2';

/** Largest body a payload can carry (Payload Length is 16 bits and counts the header). */
export const MAX_PAYLOAD_BODY = 0xffff - GENERIC_PAYLOAD_HEADER_LENGTH;

interface GenericHeaderWire {
  nextPayload: number;
  flags: number;
  length: number;
}

export const genericHeaderLayout = fixed<GenericHeaderWire>([u8('nextPayload'), u8('flags'), u16('length')]);

const CRITICAL = 0x80;

/** Fields every payload value carries from its generic header. */
export interface PayloadHeaderFields {
  /** The critical bit: the sender requires the receiver to understand this payload type. */
  readonly critical: boolean;
  /** The seven reserved bits after the critical bit, kept for byte-exact re-encoding; omitted when zero. */
  readonly reservedBits?: number;
}

/** A payload together with the next-payload value its own header carried (what a single-payload codec sees). */
export interface ChainedPayload<P> {
  readonly nextPayload: number;
  readonly payload: P;
}

/** How one payload type reads and writes the bytes after its generic header. */
export interface PayloadBody<P> {
  /**
   * `r` spans exactly the body; `payloadType` is the type the previous next-payload field
   * announced; `nextPayload` is this payload's own next-payload field.
   */
  decode(r: ByteReader, header: PayloadHeaderFields, payloadType: number, nextPayload: number): P;
  /** Body length in bytes (without the generic header). */
  length(p: P): number;
  write(p: P, w: ByteWriter): void;
  /**
   * For payloads whose next-payload field is part of their value (SK and SKF carry the
   * type of the first inner payload there): the value to write instead of the chain's.
   */
  nextPayloadOf?(p: P): number;
}

/** `{ name: value }` when value is non-zero, else `{}`: keeps reserved fields out of ordinary values. */
export function nonZero<K extends string>(name: K, value: number): { readonly [k in K]?: number } {
  return (value !== 0 ? { [name]: value } : {}) as { readonly [k in K]?: number };
}

export function headerFields(flags: number): PayloadHeaderFields {
  return { critical: (flags & CRITICAL) !== 0, ...nonZero('reservedBits', flags & 0x7f) };
}

export interface PayloadFrame {
  /** Absolute offset of the payload's first byte. */
  readonly offset: number;
  readonly nextPayload: number;
  readonly header: PayloadHeaderFields;
  /** Reader over exactly the body. */
  readonly body: ByteReader;
}

/**
 * Reads a generic payload header at the reader's position and bounds the body.
 * Payload Length below 4, or running past the bytes available, is a DecodeError
 * on field "payload_length" at that field's absolute offset.
 */
export function readPayloadFrame(r: ByteReader): PayloadFrame {
  const start = r.pos;
  const offset = r.offset;
  const h = readFixed(genericHeaderLayout, r, 'payload_header');
  if (h.length < GENERIC_PAYLOAD_HEADER_LENGTH) {
    r.fail('payload_length', `payload length ${h.length} is less than the 4-byte generic header`, start + 2);
  }
  const bodyLen = h.length - GENERIC_PAYLOAD_HEADER_LENGTH;
  if (bodyLen > r.remaining) {
    r.fail('payload_length', `payload length ${h.length} runs past the end (${r.remaining + GENERIC_PAYLOAD_HEADER_LENGTH} bytes left)`, start + 2);
  }
  const body = r.sub(bodyLen, 'payload_body');
  return { offset, nextPayload: h.nextPayload, header: headerFields(h.flags), body };
}

/** Decodes a body and checks it consumed every byte the payload length announced. */
export function decodeBody<P>(body: PayloadBody<P>, frame: PayloadFrame, payloadType: number): P {
  const value = body.decode(frame.body, frame.header, payloadType, frame.nextPayload);
  if (frame.body.remaining !== 0) {
    frame.body.fail('payload_body', `${frame.body.remaining} unparsed byte(s) at the end of payload type ${payloadType}`);
  }
  return value;
}

export function payloadLength<P>(body: PayloadBody<P>, p: P): number {
  const n = body.length(p);
  if (n > MAX_PAYLOAD_BODY) throw new RangeError(`payload body of ${n} bytes exceeds the 16-bit payload length`);
  return GENERIC_PAYLOAD_HEADER_LENGTH + n;
}

/** Writes generic header + body at the writer's position (`nextPayload` is ignored for SK and SKF). */
export function writePayload<P extends PayloadHeaderFields>(body: PayloadBody<P>, p: P, nextPayload: number, w: ByteWriter): void {
  const length = payloadLength(body, p);
  const flags = (p.critical ? CRITICAL : 0) | checkRange('reserved bits', p.reservedBits ?? 0, 0x7f);
  const next = checkRange('next payload', body.nextPayloadOf ? body.nextPayloadOf(p) : nextPayload, 0xff);
  w.pos = writeFixed(genericHeaderLayout, { nextPayload: next, flags, length }, w.buf, w.pos);
  const bodyStart = w.pos;
  body.write(p, w);
  const written = w.pos - bodyStart;
  assert(written === length - GENERIC_PAYLOAD_HEADER_LENGTH, `payload body wrote ${written} bytes but its length is ${length - GENERIC_PAYLOAD_HEADER_LENGTH}`);
}

/**
 * A standalone Codec for one payload type: decode reads one payload at buf[0]
 * (trailing bytes after it are ignored), encode writes it with the given next-payload
 * (SK and SKF write their own first-inner-payload type instead).
 */
export function payloadCodec<P extends PayloadHeaderFields>(body: PayloadBody<P>, payloadType: number): Codec<ChainedPayload<P>> {
  return {
    decode(buf: Uint8Array, base = 0): ChainedPayload<P> {
      const r = new ByteReader(buf, IKE_LAYER, base);
      const frame = readPayloadFrame(r);
      return { nextPayload: frame.nextPayload, payload: decodeBody(body, frame, payloadType) };
    },
    encode(value: ChainedPayload<P>, out?: Uint8Array, offset = 0): Uint8Array {
      const target = encodeTarget(payloadLength(body, value.payload), out, offset);
      writePayload(body, value.payload, value.nextPayload, new ByteWriter(target));
      return target;
    },
    encodedLength(value: ChainedPayload<P>): number {
      return payloadLength(body, value.payload);
    },
  };
}

/** Checks an integer field fits before writing it (ByteWriter would silently truncate). */
export function checkRange(what: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${what} ${value} is outside 0..${max}`);
  return value;
}
