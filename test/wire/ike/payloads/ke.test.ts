import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { DecodeError } from '../../../../src/core/errors.ts';
import { DhGroup, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { kePayloadCodec } from '../../../../src/wire/ike/payloads/ke.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips, sliceCapture } from '../support.ts';
import { IKEV2FOUR, KE_X25519, OUTSIDE } from '../vectors.ts';

describe('KE payload', () => {
  it('decodes strongSwan Curve25519 KE (outside.pcap frame 1, offset 68)', () => {
    expectFromCapture(KE_X25519, OUTSIDE, 1, 68);
    const { nextPayload, payload } = kePayloadCodec.decode(KE_X25519);
    expect(nextPayload).toBe(PayloadType.NONCE);
    expect(payload).toMatchObject({ type: PayloadType.KE, critical: false, dhGroup: DhGroup.CURVE25519 });
    expect(payload.reserved).toBeUndefined();
    // tshark: "Key Exchange Data: 1924f69b..."
    expect(hex(payload.data)).toBe('1924f69bbb3cebd9677b0805d0d50b59f09e5c1e6570b523bb58100f8f539732');
  });

  it('decodes the MODP-1024 value tcpdump prints for ikev2four.pcap frame 1 (offset 148)', () => {
    const vec = sliceCapture(IKEV2FOUR, 1, 148, 136);
    const { payload } = kePayloadCodec.decode(vec, 148);
    // ikev2fourv.out: "(v2ke: len=128 group=modp1024 b5445bd60cece6fd...4cf39d)"
    expect(payload.dhGroup).toBe(DhGroup.MODP_1024);
    expect(payload.data.length).toBe(128);
    expect(hex(payload.data).slice(0, 16)).toBe('b5445bd60cece6fd');
    expect(hex(payload.data).slice(-6)).toBe('4cf39d');
    expectReencode(kePayloadCodec, vec);
  });

  it('re-encodes byte-exact, keeps a non-zero RESERVED, rejects truncation', () => {
    expectReencode(kePayloadCodec, KE_X25519);
    expectTruncationErrors(kePayloadCodec, KE_X25519, { layer: 'ikev2' });
    const reserved = fromHex('00 00 000a 0013 beef 0102');
    expect(expectReencode(kePayloadCodec, reserved).payload.reserved).toBe(0xbeef);
  });

  it('names payload_length at its absolute offset when the payload runs past the end', () => {
    const e = thrownBy(() => kePayloadCodec.decode(KE_X25519.subarray(0, 20), 500));
    expect(e).toBeInstanceOf(DecodeError);
    expect(e).toMatchObject({ layer: 'ikev2', field: 'payload_length', offset: 502 });
    expectErrorOffsetShift(kePayloadCodec, KE_X25519.subarray(0, 20), 77);
  });

  it('round-trips arbitrary KE payloads', () => {
    expectPayloadRoundTrips(
      kePayloadCodec,
      fc
        .tuple(headerFields, fc.integer({ min: 0, max: 0xffff }), bytes(64), fc.integer({ min: 0, max: 0xffff }))
        .map(([h, dhGroup, data, r]) => ({ type: PayloadType.KE, ...h, dhGroup, data, ...(r ? { reserved: r } : {}) })),
    );
  });
});
