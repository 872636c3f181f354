/**
 * ESP packet header (RFC 4303 §2): SPI and sequence number; the rest (IV,
 * ciphertext, padding, trailer, ICV) cannot be split without the SA, so it stays
 * one opaque body.
 *
 *  |               Security Parameters Index (SPI)                 |
 *  |                      Sequence Number                          |
 *  |                 body: IV, ciphertext, ICV ...                 |
 *
 * The SPI is 32 bits and fits a number exactly (the 64-bit IKE SPIs are the ones kept
 * as bytes or bigint). SPI 0 is reserved (RFC 4303 §2.1) and never appears on the
 * wire; over UDP four zero bytes are the non-ESP marker (RFC 3948 §2.2), so decode
 * rejects it.
 */
import { ByteReader } from '../core/bytes.ts';
import { encodeTarget, type Codec } from './codec.ts';

export const ESP_HEADER_LEN = 8;

export interface EspPacket {
  /** 1 .. 2^32-1. */
  readonly spi: number;
  readonly sequence: number;
  /** Everything after the sequence number; a view when decoded. */
  readonly body: Uint8Array;
}

function decode(buf: Uint8Array, base = 0): EspPacket {
  const r = new ByteReader(buf, 'esp', base);
  const spi = r.u32('spi');
  const sequence = r.u32('sequence');
  if (spi === 0) r.fail('spi', 'SPI 0 is reserved and never sent', 0);
  return { spi, sequence, body: r.rest() };
}

function encodedLength(p: EspPacket): number {
  return ESP_HEADER_LEN + p.body.length;
}

function encode(p: EspPacket, out?: Uint8Array, offset = 0): Uint8Array {
  if (!Number.isInteger(p.spi) || p.spi < 1 || p.spi > 0xffffffff) {
    throw new RangeError(`esp encode: SPI ${p.spi} is not in 1 .. 2^32-1`);
  }
  const t = encodeTarget(encodedLength(p), out, offset);
  t[0] = p.spi >>> 24;
  t[1] = (p.spi >>> 16) & 0xff;
  t[2] = (p.spi >>> 8) & 0xff;
  t[3] = p.spi & 0xff;
  t[4] = (p.sequence >>> 24) & 0xff;
  t[5] = (p.sequence >>> 16) & 0xff;
  t[6] = (p.sequence >>> 8) & 0xff;
  t[7] = p.sequence & 0xff;
  t.set(p.body, ESP_HEADER_LEN);
  return t;
}

export const EspCodec: Codec<EspPacket> = { decode, encode, encodedLength };
