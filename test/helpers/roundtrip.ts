/**
 * The round-trip checks every codec gets (see docs/architecture.md "Testing"):
 *  1. decode a byte-exact vector and compare fields (done by the caller with the returned value);
 *  2. re-encode into a buffer pre-filled with 0xa5 at an offset; every byte in the region must
 *     equal the vector and every byte outside it must still be 0xa5;
 *  3. encodedLength equals the vector's length;
 *  4. truncation sweep: every strict prefix must throw DecodeError (or, for codecs whose
 *     shorter prefixes are themselves valid, the caller passes `minValid`).
 */
import { expect } from 'vitest';
import type { Codec } from '../../src/wire/codec.ts';
import { DecodeError } from '../../src/core/errors.ts';

export function expectReencode<T>(codec: Codec<T>, bytes: Uint8Array, value?: T): T {
  const v = value ?? codec.decode(bytes);
  expect(codec.encodedLength(v)).toBe(bytes.length);
  const fresh = codec.encode(v);
  expect(Buffer.from(fresh).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  const pad = 7;
  const buf = new Uint8Array(bytes.length + pad * 2).fill(0xa5);
  const written = codec.encode(v, buf, pad);
  expect(written.length).toBe(bytes.length);
  expect(Buffer.from(buf.subarray(pad, pad + bytes.length)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  for (let i = 0; i < pad; i++) {
    expect(buf[i]).toBe(0xa5);
    expect(buf[buf.length - 1 - i]).toBe(0xa5);
  }
  return v;
}

/** Every prefix shorter than `bytes` must throw a DecodeError (not a TypeError/RangeError). */
/** The error fn throws (undefined if none); callers assert on it, so a missing throw fails the test. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

export function expectTruncationErrors<T>(codec: Codec<T>, bytes: Uint8Array, opts: { base?: number; layer?: string } = {}): void {
  for (let n = 0; n < bytes.length; n++) {
    const decodePrefix = () => codec.decode(bytes.subarray(0, n), opts.base ?? 0);
    expect(decodePrefix, `prefix of ${n} bytes`).toThrow(DecodeError);
    const thrown = thrownBy(decodePrefix);
    const de = thrown as DecodeError;
    expect(de.offset).toBeGreaterThanOrEqual(opts.base ?? 0);
    expect(de.offset).toBeLessThanOrEqual((opts.base ?? 0) + bytes.length);
    if (opts.layer) expect(de.layer).toBe(opts.layer);
  }
}

/** Decoding at a non-zero base shifts every reported offset by that base. */
export function expectErrorOffsetShift<T>(codec: Codec<T>, bad: Uint8Array, base: number): void {
  const e0 = thrownBy(() => codec.decode(bad, 0));
  const e1 = thrownBy(() => codec.decode(bad, base));
  expect(e0).toBeInstanceOf(DecodeError);
  expect(e1).toBeInstanceOf(DecodeError);
  expect((e1 as DecodeError).offset - (e0 as DecodeError).offset).toBe(base);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
