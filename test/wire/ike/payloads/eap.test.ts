import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { EapCode, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { eapHasType, eapPayloadCodec } from '../../../../src/wire/ike/payloads/eap.ts';
import { expectReencode, expectTruncationErrors, thrownBy } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectPayloadRoundTrips } from '../support.ts';
import { EAP_REQUEST_IDENTITY, EAP_RESPONSE_IDENTITY, EAP_SUCCESS } from '../vectors.ts';

describe('EAP payload', () => {
  it('decodes EAP-Request/Identity, -Response/Identity and -Success (built from RFC 3748 §4, §5.1)', () => {
    expect(eapPayloadCodec.decode(EAP_REQUEST_IDENTITY).payload).toEqual({
      type: PayloadType.EAP,
      critical: false,
      code: EapCode.REQUEST,
      identifier: 1,
      eapType: 1,
      data: new Uint8Array(0),
    });
    const resp = eapPayloadCodec.decode(EAP_RESPONSE_IDENTITY).payload;
    expect(resp).toMatchObject({ code: EapCode.RESPONSE, identifier: 1, eapType: 1 });
    expect(Buffer.from(resp.data).toString()).toBe('ini.lab');
    const ok = eapPayloadCodec.decode(EAP_SUCCESS).payload;
    expect(ok).toMatchObject({ code: EapCode.SUCCESS, identifier: 2 });
    expect('eapType' in ok).toBe(false);
    expect(ok.data.length).toBe(0);
  });

  it.each([
    ['request', EAP_REQUEST_IDENTITY],
    ['response', EAP_RESPONSE_IDENTITY],
    ['success', EAP_SUCCESS],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(eapPayloadCodec, vec);
    expectTruncationErrors(eapPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('rejects an EAP Length that differs from the payload, and a request without a Type', () => {
    expect(thrownBy(() => eapPayloadCodec.decode(fromHex('00 00 0009 01 01 0006 01'), 30))).toMatchObject({ field: 'eap_length', offset: 36 });
    expect(thrownBy(() => eapPayloadCodec.decode(fromHex('00 00 0008 01 01 0004')))).toMatchObject({ field: 'eap_type' });
    const noType = { type: PayloadType.EAP, critical: false, code: 1, identifier: 0, data: new Uint8Array(0) } as const;
    expect(() => eapPayloadCodec.encode({ nextPayload: 0, payload: noType })).toThrow(RangeError);
  });

  it('round-trips arbitrary EAP payloads', () => {
    expectPayloadRoundTrips(
      eapPayloadCodec,
      fc.tuple(headerFields, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), bytes(40)).map(
        ([h, code, identifier, eapType, data]) =>
          eapHasType(code) ? { type: PayloadType.EAP, ...h, code, identifier, eapType, data } : { type: PayloadType.EAP, ...h, code, identifier, data },
      ),
    );
  });
});
