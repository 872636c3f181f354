/**
 * The ISAKMP generic payload header (RFC 2408 §3.2) and the framing shared by every
 * payload codec: a body codec parses exactly the bytes after the 4-byte generic
 * header; `framed()` turns it into a codec for the whole payload, whose length field
 * bounds the body and whose next-payload field is kept beside it.
 */
import { ByteReader } from '../../core/bytes.ts';
import { assert } from '../../core/errors.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import { fixed, readFixed, u16, u8, writeFixed } from '../layout.ts';
import { GENERIC_PAYLOAD_HEADER_LENGTH } from './constants.ts';

/** DecodeError layer for everything under wire/ikev1. */
export const IKEV1_LAYER = 'ikev1';

export interface GenericPayloadHeader {
  readonly nextPayload: number;
  /** RFC 2408: MUST be zero; read but not interpreted, written as zero. */
  readonly reserved: number;
  readonly length: number;
}

export const GENERIC_HEADER = fixed<GenericPayloadHeader>([u8('nextPayload'), u8('reserved'), u16('length')]);

/**
 * Reads a generic payload header at the reader's position and checks its length
 * against `limit` (the absolute end, within r.buf, the payload must fit in).
 * Returns the header; the reader is left just after the 4 header bytes.
 */
export function readGenericHeader(r: ByteReader, field: string, limit = r.buf.length): GenericPayloadHeader {
  const start = r.pos;
  const h = readFixed(GENERIC_HEADER, r, `${field}.header`);
  if (h.length < GENERIC_PAYLOAD_HEADER_LENGTH) {
    r.fail(`${field}.length`, `payload length ${h.length} is shorter than the 4-byte generic header`, start + 2);
  }
  if (start + h.length > limit) {
    r.fail(`${field}.length`, `payload length ${h.length} runs past the end: ${limit - start} bytes available`, start + 2);
  }
  return h;
}

/** Writes a generic payload header at `offset` of `out`; returns the offset after it. */
export function writeGenericHeader(out: Uint8Array, offset: number, nextPayload: number, length: number): number {
  assert(length >= GENERIC_PAYLOAD_HEADER_LENGTH && length <= 0xffff, `ISAKMP payload length ${length} out of range`);
  assert(nextPayload >= 0 && nextPayload <= 0xff, `next payload ${nextPayload} out of range`);
  return writeFixed(GENERIC_HEADER, { nextPayload, reserved: 0, length }, out, offset);
}

/** A whole payload: its body plus the next-payload value of its generic header. */
export interface Framed<T> {
  readonly nextPayload: number;
  readonly body: T;
}

/** Codec for a whole payload (generic header + body) built from a body codec. */
export function framed<T>(name: string, body: Codec<T>): Codec<Framed<T>> {
  return {
    decode(buf: Uint8Array, base = 0): Framed<T> {
      const r = new ByteReader(buf, IKEV1_LAYER, base);
      const h = readGenericHeader(r, name);
      return { nextPayload: h.nextPayload, body: body.decode(buf.subarray(GENERIC_PAYLOAD_HEADER_LENGTH, h.length), base + GENERIC_PAYLOAD_HEADER_LENGTH) };
    },
    encodedLength(v: Framed<T>): number {
      return GENERIC_PAYLOAD_HEADER_LENGTH + body.encodedLength(v.body);
    },
    encode(v: Framed<T>, out?: Uint8Array, offset = 0): Uint8Array {
      const len = GENERIC_PAYLOAD_HEADER_LENGTH + body.encodedLength(v.body);
      const t = encodeTarget(len, out, offset);
      writeGenericHeader(t, 0, v.nextPayload, len);
      body.encode(v.body, t, GENERIC_PAYLOAD_HEADER_LENGTH);
      return t;
    },
  };
}

/** Body codec for payloads whose body is one opaque byte string (KE, HASH, SIG, NONCE, NAT-D, VID ...). */
export interface DataBody {
  readonly data: Uint8Array;
}

export function opaqueBody(): Codec<DataBody> {
  return {
    decode(buf: Uint8Array): DataBody {
      return { data: buf.slice() };
    },
    encodedLength(v: DataBody): number {
      return v.data.length;
    },
    encode(v: DataBody, out?: Uint8Array, offset = 0): Uint8Array {
      const t = encodeTarget(v.data.length, out, offset);
      t.set(v.data);
      return t;
    },
  };
}

/** Fails with a DecodeError when the reader has bytes left (a body with a fixed shape). */
export function expectEnd(r: ByteReader, field: string): void {
  if (r.remaining !== 0) r.fail(field, `${r.remaining} unexpected trailing byte${r.remaining === 1 ? '' : 's'}`);
}
