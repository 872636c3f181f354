/**
 * The contract every wire codec follows (smoltcp's Repr + emit + buffer_len):
 *  - decode(buf, base): parse the value at buf[0]; `base` is the absolute offset of buf[0]
 *    in the outermost buffer, so DecodeError offsets point into the frame the user sees.
 *  - encode(value, out?, offset?): write the value; into `out` at `offset` when given
 *    (returns the written subarray), else into a fresh buffer.
 *  - encodedLength(value): exactly how many bytes encode will write.
 * Decoders throw nothing but DecodeError.
 */
export interface Codec<T> {
  decode(buf: Uint8Array, base?: number): T;
  encode(value: T, out?: Uint8Array, offset?: number): Uint8Array;
  encodedLength(value: T): number;
}

/** Helper for encode(): the destination region, allocated when the caller gave none. */
export function encodeTarget(len: number, out?: Uint8Array, offset = 0): Uint8Array {
  if (!out) return new Uint8Array(len);
  if (offset < 0 || offset + len > out.length) {
    throw new RangeError(`encode needs ${len} bytes at offset ${offset}, buffer has ${out.length}`);
  }
  return out.subarray(offset, offset + len);
}
