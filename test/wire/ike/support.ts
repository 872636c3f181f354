/** Shared checks for the IKEv2 codec tests. */
import { expect } from 'vitest';
import fc from 'fast-check';
import type { Codec } from '../../../src/wire/codec.ts';
import type { ChainedPayload } from '../../../src/wire/ike/payload-header.ts';
import { capture, ikeFrame } from '../../helpers/capture-udp.ts';
import { hex } from '../../helpers/roundtrip.ts';

/** The vector is exactly the bytes at `offset` of the IKE message in that capture frame. */
export function expectFromCapture(vector: Uint8Array, file: string, frame: number, offset: number): void {
  const ike = ikeFrame(capture(file), frame);
  expect(hex(ike.subarray(offset, offset + vector.length))).toBe(hex(vector));
}

/** decode(encode(v)) equals v, and the encoding is as long as encodedLength says. */
export function expectPayloadRoundTrips<P>(codec: Codec<ChainedPayload<P>>, payload: fc.Arbitrary<P>, runs = 200): void {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 255 }), payload, (nextPayload, p) => {
      const value = { nextPayload, payload: p };
      const bytes = codec.encode(value);
      expect(bytes.length).toBe(codec.encodedLength(value));
      const back = codec.decode(bytes);
      expect(back.payload).toEqual(p);
      expect(hex(codec.encode(back))).toBe(hex(bytes));
    }),
    { numRuns: runs },
  );
}

/** `length` bytes at `offset` of the IKE message in a capture frame. */
export function sliceCapture(file: string, frame: number, offset: number, length: number): Uint8Array {
  return ikeFrame(capture(file), frame).subarray(offset, offset + length);
}
