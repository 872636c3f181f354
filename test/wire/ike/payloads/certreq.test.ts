import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CertEncoding, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { certReqAuthorities, certReqPayloadCodec } from '../../../../src/wire/ike/payloads/certreq.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips } from '../support.ts';
import { CERTREQ_EMPTY, CERTREQ_TWO_CAS, NAT_T } from '../vectors.ts';

describe('CERTREQ payload', () => {
  it('decodes the empty X.509 CERTREQ in Scapy ikev2_nat_t.pcapng frame 2 (offset 184)', () => {
    expectFromCapture(CERTREQ_EMPTY, NAT_T, 2, 184);
    const { nextPayload, payload } = certReqPayloadCodec.decode(CERTREQ_EMPTY);
    expect(nextPayload).toBe(PayloadType.V);
    expect(payload).toMatchObject({ type: PayloadType.CERTREQ, critical: false, encoding: CertEncoding.X509_SIGNATURE });
    expect(payload.authorities.length).toBe(0);
    expect(certReqAuthorities(payload)).toEqual([]);
  });

  it('splits CA hashes (built from RFC 7296 §3.7)', () => {
    const { payload } = certReqPayloadCodec.decode(CERTREQ_TWO_CAS);
    expect(certReqAuthorities(payload)?.map(hex)).toEqual(['0102030405060708090a0b0c0d0e0f1011121314', 'a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4']);
    expect(certReqAuthorities({ ...payload, authorities: payload.authorities.subarray(1) })).toBeUndefined();
  });

  it.each([
    ['empty', CERTREQ_EMPTY],
    ['two CAs', CERTREQ_TWO_CAS],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(certReqPayloadCodec, vec);
    expectTruncationErrors(certReqPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('round-trips arbitrary CERTREQ payloads', () => {
    expectPayloadRoundTrips(
      certReqPayloadCodec,
      fc
        .tuple(headerFields, fc.integer({ min: 0, max: 255 }), bytes(100))
        .map(([h, encoding, authorities]) => ({ type: PayloadType.CERTREQ, ...h, encoding, authorities })),
    );
  });
});
