import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PayloadType } from '../../../../src/wire/ike/constants.ts';
import { skfPayloadCodec } from '../../../../src/wire/ike/payloads/skf.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { SKF_FIRST, SKF_LAST } from '../vectors.ts';

describe('SKF payload (RFC 7383)', () => {
  it('decodes fragment 1 of 3 with the first inner payload type (built from RFC 7383 §2.5)', () => {
    const { nextPayload, payload } = skfPayloadCodec.decode(SKF_FIRST);
    expect(nextPayload).toBe(PayloadType.IDi);
    expect(payload).toMatchObject({ type: PayloadType.SKF, critical: false, firstInnerPayload: PayloadType.IDi, fragmentNumber: 1, totalFragments: 3 });
    expect(payload.body.length).toBe(48);
    expect(hex(payload.body.subarray(0, 4))).toBe('00010203');
  });

  it('decodes a later fragment, whose next payload is 0', () => {
    const { payload } = skfPayloadCodec.decode(SKF_LAST);
    expect(payload).toMatchObject({ firstInnerPayload: 0, fragmentNumber: 3, totalFragments: 3 });
    expect(payload.body.length).toBe(20);
  });

  it.each([
    ['first', SKF_FIRST],
    ['last', SKF_LAST],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(skfPayloadCodec, vec);
    expectTruncationErrors(skfPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('round-trips arbitrary SKF payloads', () => {
    fc.assert(
      fc.property(headerFields, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), bytes(64), (h, first, n, total, body) => {
        const payload = { type: PayloadType.SKF, ...h, firstInnerPayload: first, fragmentNumber: n, totalFragments: total, body };
        const enc = skfPayloadCodec.encode({ nextPayload: 99, payload });
        expect(enc.length).toBe(8 + body.length);
        expect(skfPayloadCodec.decode(enc)).toEqual({ nextPayload: first, payload });
      }),
    );
  });
});
