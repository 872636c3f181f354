import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CertEncoding, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { certPayloadCodec } from '../../../../src/wire/ike/payloads/cert.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectPayloadRoundTrips } from '../support.ts';
import { CERT_X509 } from '../vectors.ts';

describe('CERT payload', () => {
  it('decodes an X.509 certificate payload (built from RFC 7296 §3.6)', () => {
    const { nextPayload, payload } = certPayloadCodec.decode(CERT_X509);
    expect(nextPayload).toBe(PayloadType.AUTH);
    expect(payload).toMatchObject({ type: PayloadType.CERT, critical: false, encoding: CertEncoding.X509_SIGNATURE });
    expect(hex(payload.data)).toBe('30080201020403010203');
  });

  it('re-encodes byte-exact and rejects truncation', () => {
    expectReencode(certPayloadCodec, CERT_X509);
    expectTruncationErrors(certPayloadCodec, CERT_X509, { layer: 'ikev2' });
  });

  it('round-trips arbitrary CERT payloads', () => {
    expectPayloadRoundTrips(
      certPayloadCodec,
      fc.tuple(headerFields, fc.integer({ min: 0, max: 255 }), bytes(300)).map(([h, encoding, data]) => ({ type: PayloadType.CERT, ...h, encoding, data })),
    );
  });
});
