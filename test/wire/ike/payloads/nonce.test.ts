import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PayloadType } from '../../../../src/wire/ike/constants.ts';
import { noncePayloadCodec } from '../../../../src/wire/ike/payloads/nonce.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips } from '../support.ts';
import { NONCE_32, NONCE_CRITICAL, OUTSIDE, PI2 } from '../vectors.ts';

describe('Nonce payload', () => {
  it('decodes strongSwan Ni (outside.pcap frame 1, offset 108)', () => {
    expectFromCapture(NONCE_32, OUTSIDE, 1, 108);
    const { nextPayload, payload } = noncePayloadCodec.decode(NONCE_32);
    expect(nextPayload).toBe(PayloadType.N);
    expect(payload.type).toBe(PayloadType.NONCE);
    expect(payload.critical).toBe(false);
    expect(hex(payload.data)).toBe('bd60b0ea1eadb739a98698650f06036597f762ea6f40d39ed1a60a98f4094e08');
  });

  it('keeps the critical bit Openswan sets (ikev2pI2.pcap frame 1, offset 472)', () => {
    expectFromCapture(NONCE_CRITICAL, PI2, 1, 472);
    const { nextPayload, payload } = noncePayloadCodec.decode(NONCE_CRITICAL);
    expect(nextPayload).toBe(PayloadType.V);
    expect(payload.critical).toBe(true);
    expect(payload.data.length).toBe(16);
    expectReencode(noncePayloadCodec, NONCE_CRITICAL);
  });

  it('re-encodes byte-exact and rejects truncation', () => {
    expectReencode(noncePayloadCodec, NONCE_32);
    expectTruncationErrors(noncePayloadCodec, NONCE_32, { layer: 'ikev2' });
  });

  it('round-trips arbitrary nonces', () => {
    expectPayloadRoundTrips(
      noncePayloadCodec,
      fc.tuple(headerFields, bytes(256)).map(([h, data]) => ({ type: PayloadType.NONCE, ...h, data })),
    );
  });
});
