import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NotifyType, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { firstUnsupportedCritical, isKnownPayloadType, payloadCodecFor } from '../../../../src/wire/ike/payload.ts';
import { unknownPayloadCodec } from '../../../../src/wire/ike/payloads/unknown.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields, unknownPayloadType } from '../arbitraries.ts';
import { UNKNOWN_CRITICAL, UNKNOWN_GSPM } from '../vectors.ts';

describe('Unknown payload types', () => {
  it('keeps a critical private-use payload raw and flags it (built from RFC 7296 §2.5)', () => {
    const codec = unknownPayloadCodec(200);
    const { nextPayload, payload } = codec.decode(UNKNOWN_CRITICAL);
    expect(nextPayload).toBe(PayloadType.NONE);
    expect(payload).toEqual({ type: 'unknown', payloadType: 200, critical: true, body: Uint8Array.of(1, 2, 3, 4, 5, 6) });
    // The engine answers N(UNSUPPORTED_CRITICAL_PAYLOAD) with the one-byte type as data.
    expect(firstUnsupportedCritical([payload])?.payloadType).toBe(200);
    expect(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD).toBe(1);
  });

  it('keeps reserved bits of a non-critical uninterpreted payload (GSPM, RFC 6467)', () => {
    const v = expectReencode(payloadCodecFor(PayloadType.GSPM), UNKNOWN_GSPM);
    expect(v.payload).toMatchObject({ type: 'unknown', payloadType: 49, critical: false, reservedBits: 5 });
    expect(firstUnsupportedCritical([v.payload])).toBeUndefined();
    expect(isKnownPayloadType(PayloadType.GSPM)).toBe(false);
    expect(isKnownPayloadType(PayloadType.SKF)).toBe(true);
  });

  it('re-encodes byte-exact and rejects truncation', () => {
    expectReencode(unknownPayloadCodec(200), UNKNOWN_CRITICAL);
    expectTruncationErrors(unknownPayloadCodec(200), UNKNOWN_CRITICAL, { layer: 'ikev2' });
  });

  it('round-trips arbitrary uninterpreted payloads', () => {
    fc.assert(
      fc.property(unknownPayloadType, headerFields, bytes(40), fc.integer({ min: 0, max: 255 }), (payloadType, h, body, next) => {
        const codec = payloadCodecFor(payloadType);
        const value = { nextPayload: next, payload: { type: 'unknown' as const, payloadType, ...h, body } };
        const enc = codec.encode(value);
        expect(hex(enc.subarray(4))).toBe(hex(body));
        expect(codec.decode(enc)).toEqual(value);
      }),
    );
  });
});
