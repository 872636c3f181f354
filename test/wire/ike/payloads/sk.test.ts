import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PayloadType } from '../../../../src/wire/ike/constants.ts';
import { skPayloadCodec } from '../../../../src/wire/ike/payloads/sk.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectPayloadRoundTrips, sliceCapture } from '../support.ts';
import { OUTSIDE } from '../vectors.ts';

// outside.pcap frame 3 (IKE_AUTH request on port 4500, after the non-ESP marker), offset 28: SK, 215 bytes.
const SK_IKE_AUTH = sliceCapture(OUTSIDE, 3, 28, 215);

describe('SK payload', () => {
  it('keeps the first inner payload type and the body opaque (outside.pcap frame 3, offset 28)', () => {
    const { nextPayload, payload } = skPayloadCodec.decode(SK_IKE_AUTH);
    // tshark: "Encrypted and Authenticated (46) / Next payload: Identification - Initiator (35)"
    expect(nextPayload).toBe(PayloadType.IDi);
    expect(payload.type).toBe(PayloadType.SK);
    expect(payload.firstInnerPayload).toBe(PayloadType.IDi);
    expect(payload.critical).toBe(false);
    // AES-GCM-16: 8-byte IV, 187 bytes of ciphertext (tshark's "Decrypted Data (187 bytes)"), 16-byte ICV
    expect(payload.body.length).toBe(8 + 187 + 16);
    expect(hex(payload.body.subarray(0, 8))).toBe('466b17c5cffae217');
  });

  it('re-encodes byte-exact (the chain next-payload is ignored: SK writes its inner type) and rejects truncation', () => {
    expectReencode(skPayloadCodec, SK_IKE_AUTH);
    const v = skPayloadCodec.decode(SK_IKE_AUTH);
    expect(hex(skPayloadCodec.encode({ ...v, nextPayload: 0 }))).toBe(hex(SK_IKE_AUTH));
    expectTruncationErrors(skPayloadCodec, SK_IKE_AUTH, { layer: 'ikev2' });
  });

  it('round-trips arbitrary SK payloads', () => {
    fc.assert(
      fc.property(headerFields, fc.integer({ min: 0, max: 255 }), bytes(80), (h, firstInnerPayload, body) => {
        const payload = { type: PayloadType.SK, ...h, firstInnerPayload, body };
        const enc = skPayloadCodec.encode({ nextPayload: firstInnerPayload, payload });
        expect(enc[0]).toBe(firstInnerPayload);
        expect(skPayloadCodec.decode(enc)).toEqual({ nextPayload: firstInnerPayload, payload });
      }),
    );
    expectPayloadRoundTrips(
      skPayloadCodec,
      fc.tuple(headerFields, bytes(40)).map(([h, body]) => ({ type: PayloadType.SK, ...h, firstInnerPayload: 0, body })),
      20,
    );
  });
});
