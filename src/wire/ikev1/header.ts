/**
 * The 28-byte ISAKMP header (RFC 2408 §3.1):
 *
 *   0..7   Initiator Cookie          8..15  Responder Cookie
 *   16     Next Payload              17     MjVer (high nibble) | MnVer (low nibble)
 *   18     Exchange Type             19     Flags (E 0x01, C 0x02, A 0x04)
 *   20..23 Message ID                24..27 Length (whole message, header included)
 *
 * This codec is a plain view: it checks nothing but that 28 bytes are there. The
 * message codec (message.ts) enforces the version and bounds the payload chain.
 */
import { ByteReader } from '../../core/bytes.ts';
import { assert } from '../../core/errors.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import { blob, fixed, readFixed, u32, u8, writeFixed } from '../layout.ts';
import { ISAKMP_HEADER_LENGTH } from './constants.ts';
import { IKEV1_LAYER } from './generic.ts';

export interface IsakmpHeader {
  /** 8 bytes. */
  readonly initiatorCookie: Uint8Array;
  /** 8 bytes; all zero in the first message of an exchange. */
  readonly responderCookie: Uint8Array;
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly exchangeType: number;
  readonly flags: number;
  /** Unsigned 32-bit. */
  readonly messageId: number;
  /** Total message length in bytes, header included. */
  readonly length: number;
}

interface RawHeader {
  initiatorCookie: Uint8Array;
  responderCookie: Uint8Array;
  nextPayload: number;
  version: number;
  exchangeType: number;
  flags: number;
  messageId: number;
  length: number;
}

const HEADER = fixed<RawHeader>([
  blob(8, 'initiatorCookie'),
  blob(8, 'responderCookie'),
  u8('nextPayload'),
  u8('version'),
  u8('exchangeType'),
  u8('flags'),
  u32('messageId'),
  u32('length'),
]);

/** Absolute offsets (from the start of the header) of the fields, for error reports. */
export const HEADER_OFFSET = {
  nextPayload: 16,
  version: 17,
  exchangeType: 18,
  flags: 19,
  messageId: 20,
  length: 24,
} as const;

/** Reads the header at the reader's position (advancing it by 28). */
export function readIsakmpHeader(r: ByteReader): IsakmpHeader {
  const h = readFixed(HEADER, r, 'header');
  return {
    initiatorCookie: h.initiatorCookie,
    responderCookie: h.responderCookie,
    nextPayload: h.nextPayload,
    majorVersion: h.version >> 4,
    minorVersion: h.version & 0x0f,
    exchangeType: h.exchangeType,
    flags: h.flags,
    messageId: h.messageId,
    length: h.length,
  };
}

/** Writes the header into out at offset; returns the offset after it. */
export function writeIsakmpHeader(h: IsakmpHeader, out: Uint8Array, offset: number): number {
  assert(h.initiatorCookie.length === 8, 'ISAKMP initiator cookie must be 8 bytes');
  assert(h.responderCookie.length === 8, 'ISAKMP responder cookie must be 8 bytes');
  assert(h.majorVersion >= 0 && h.majorVersion <= 15 && h.minorVersion >= 0 && h.minorVersion <= 15, 'ISAKMP version nibbles out of range');
  assert(h.messageId >= 0 && h.messageId <= 0xffffffff && h.length >= 0 && h.length <= 0xffffffff, 'ISAKMP u32 field out of range');
  return writeFixed<RawHeader>(
    HEADER,
    {
      initiatorCookie: h.initiatorCookie,
      responderCookie: h.responderCookie,
      nextPayload: h.nextPayload,
      version: (h.majorVersion << 4) | h.minorVersion,
      exchangeType: h.exchangeType,
      flags: h.flags,
      messageId: h.messageId,
      length: h.length,
    },
    out,
    offset,
  );
}

export const IsakmpHeaderCodec: Codec<IsakmpHeader> = {
  decode(buf: Uint8Array, base = 0): IsakmpHeader {
    return readIsakmpHeader(new ByteReader(buf, IKEV1_LAYER, base));
  },
  encodedLength(): number {
    return ISAKMP_HEADER_LENGTH;
  },
  encode(h: IsakmpHeader, out?: Uint8Array, offset = 0): Uint8Array {
    const t = encodeTarget(ISAKMP_HEADER_LENGTH, out, offset);
    writeIsakmpHeader(h, t, 0);
    return t;
  },
};

/** An all-zero responder cookie means "first message, responder not yet known". */
export function isZeroCookie(c: Uint8Array): boolean {
  return c.every((b) => b === 0);
}
