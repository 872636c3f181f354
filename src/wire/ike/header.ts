/**
 * The 28-byte IKE header (RFC 7296 §3.1).
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  |                       IKE SA Initiator's SPI                  |
 *  |                                                               |
 *  |                       IKE SA Responder's SPI                  |
 *  |                                                               |
 *  |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 *  |                          Message ID                           |
 *  |                            Length                             |
 *
 * The header codec decodes any version and any length; the message decoder checks
 * the length against the datagram. SPIs are 8-byte arrays (copies, never views).
 */
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import { encodeTarget, type Codec } from '../codec.ts';
import { blob, fixed, readFixed, u32, u8, writeFixed } from '../layout.ts';
import { HeaderFlag, IKE_HEADER_LENGTH, IKE_MAJOR_VERSION, IKE_MINOR_VERSION } from './constants.ts';
import { IKE_LAYER, checkRange } from './payload-header.ts';

export const IKE_SPI_LENGTH = 8;

interface IkeHeaderWire {
  spiI: Uint8Array;
  spiR: Uint8Array;
  nextPayload: number;
  version: number;
  exchangeType: number;
  flags: number;
  messageId: number;
  length: number;
}

export const ikeHeaderLayout = fixed<IkeHeaderWire>([
  blob(IKE_SPI_LENGTH, 'spiI'),
  blob(IKE_SPI_LENGTH, 'spiR'),
  u8('nextPayload'),
  u8('version'),
  u8('exchangeType'),
  u8('flags'),
  u32('messageId'),
  u32('length'),
]);

/** The header fields a sender chooses; next payload and length follow from the payloads. */
export interface IkeHeaderFields {
  /** Initiator's SPI, 8 bytes. */
  readonly spiI: Uint8Array;
  /** Responder's SPI, 8 bytes (all zero in the first IKE_SA_INIT request). */
  readonly spiR: Uint8Array;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly exchangeType: number;
  /** The whole flags byte (HeaderFlag bits plus reserved bits, kept as received). */
  readonly flags: number;
  readonly messageId: number;
}

export interface IkeHeader extends IkeHeaderFields {
  /** Type of the first payload (0 when the message carries none). */
  readonly nextPayload: number;
  /** Total message length in bytes, header included. */
  readonly length: number;
}

export function hasFlag(h: Pick<IkeHeaderFields, 'flags'>, flag: HeaderFlag): boolean {
  return (h.flags & flag) !== 0;
}
/** Sent by the original initiator of the IKE SA. */
export const isFromInitiator = (h: Pick<IkeHeaderFields, 'flags'>): boolean => hasFlag(h, HeaderFlag.I);
/** A response (R flag) rather than a request. */
export const isResponse = (h: Pick<IkeHeaderFields, 'flags'>): boolean => hasFlag(h, HeaderFlag.R);

/** Header fields with IKEv2's version (2.0) filled in. */
export function ikeHeaderFields(f: Omit<IkeHeaderFields, 'majorVersion' | 'minorVersion'>): IkeHeaderFields {
  return { ...f, majorVersion: IKE_MAJOR_VERSION, minorVersion: IKE_MINOR_VERSION };
}

export function readIkeHeader(r: ByteReader): IkeHeader {
  const w = readFixed(ikeHeaderLayout, r, 'ike_header');
  return {
    spiI: w.spiI,
    spiR: w.spiR,
    nextPayload: w.nextPayload,
    majorVersion: w.version >> 4,
    minorVersion: w.version & 0x0f,
    exchangeType: w.exchangeType,
    flags: w.flags,
    messageId: w.messageId,
    length: w.length,
  };
}

export function writeIkeHeader(h: IkeHeader, w: ByteWriter): void {
  if (h.spiI.length !== IKE_SPI_LENGTH || h.spiR.length !== IKE_SPI_LENGTH) {
    throw new RangeError(`IKE SPIs are ${IKE_SPI_LENGTH} bytes (got ${h.spiI.length} and ${h.spiR.length})`);
  }
  const version = (checkRange('major version', h.majorVersion, 15) << 4) | checkRange('minor version', h.minorVersion, 15);
  w.pos = writeFixed(
    ikeHeaderLayout,
    {
      spiI: h.spiI,
      spiR: h.spiR,
      nextPayload: checkRange('next payload', h.nextPayload, 0xff),
      version,
      exchangeType: checkRange('exchange type', h.exchangeType, 0xff),
      flags: checkRange('flags', h.flags, 0xff),
      messageId: checkRange('message ID', h.messageId, 0xffffffff),
      length: checkRange('length', h.length, 0xffffffff),
    },
    w.buf,
    w.pos,
  );
}

/** Codec for the bare 28-byte header (no payloads, no length check against the datagram). */
export const ikeHeaderCodec: Codec<IkeHeader> = {
  decode(buf: Uint8Array, base = 0): IkeHeader {
    return readIkeHeader(new ByteReader(buf, IKE_LAYER, base));
  },
  encode(h: IkeHeader, out?: Uint8Array, offset = 0): Uint8Array {
    const target = encodeTarget(IKE_HEADER_LENGTH, out, offset);
    writeIkeHeader(h, new ByteWriter(target));
    return target;
  },
  encodedLength(): number {
    return IKE_HEADER_LENGTH;
  },
};
