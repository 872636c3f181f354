import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { AuthMethod, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { authPayloadCodec } from '../../../../src/wire/ike/payloads/auth.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectPayloadRoundTrips } from '../support.ts';
import { AUTH_PSK } from '../vectors.ts';

describe('AUTH payload', () => {
  it('decodes strongSwan PSK AUTH (outside.pcap frame 3, decrypted, offset 38)', () => {
    const { nextPayload, payload } = authPayloadCodec.decode(AUTH_PSK);
    expect(nextPayload).toBe(PayloadType.SA);
    expect(payload).toMatchObject({ type: PayloadType.AUTH, critical: false, method: AuthMethod.SHARED_KEY_MIC });
    expect(payload.data.length).toBe(32); // prf HMAC-SHA2-256 output
    expect(hex(payload.data).slice(0, 8)).toBe('36ce2cd3');
  });

  it('re-encodes byte-exact and rejects truncation', () => {
    expectReencode(authPayloadCodec, AUTH_PSK);
    expectTruncationErrors(authPayloadCodec, AUTH_PSK, { layer: 'ikev2' });
  });

  it('decodes the RSA method of Openswan ikev2pI2.pcap frame 2 (decrypted, offset 12)', () => {
    const head = fromHex('00 00 000c 01 000000 00000000');
    const { payload } = authPayloadCodec.decode(head);
    expect(payload.method).toBe(AuthMethod.RSA_DIGITAL_SIGNATURE);
    expectReencode(authPayloadCodec, head);
  });

  it('round-trips arbitrary AUTH payloads', () => {
    expectPayloadRoundTrips(
      authPayloadCodec,
      fc
        .tuple(headerFields, fc.integer({ min: 0, max: 255 }), bytes(64), fc.integer({ min: 0, max: 0xffffff }))
        .map(([h, method, data, r]) => ({ type: PayloadType.AUTH, ...h, method, data, ...(r ? { reserved: r } : {}) })),
    );
  });
});
