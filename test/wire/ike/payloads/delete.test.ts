import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { DecodeError } from '../../../../src/core/errors.ts';
import { PayloadType, ProtocolId } from '../../../../src/wire/ike/constants.ts';
import { deletePayloadCodec } from '../../../../src/wire/ike/payloads/delete.ts';
import { expectReencode, expectTruncationErrors, hex, thrownBy } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectPayloadRoundTrips } from '../support.ts';
import { DELETE_ESP, DELETE_IKE } from '../vectors.ts';

describe('Delete payload', () => {
  it('decodes the IKE SA delete of outside.pcap frame 34 (decrypted)', () => {
    const { nextPayload, payload } = deletePayloadCodec.decode(DELETE_IKE);
    expect(nextPayload).toBe(PayloadType.NONE);
    expect(payload).toEqual({ type: PayloadType.D, critical: false, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] });
  });

  it('decodes a two-SPI ESP delete (built from RFC 7296 §3.11)', () => {
    const { payload } = deletePayloadCodec.decode(DELETE_ESP);
    expect(payload.protocolId).toBe(ProtocolId.ESP);
    expect(payload.spiSize).toBe(4);
    expect(payload.spis.map(hex)).toEqual(['33edbb96', 'd80bade7']);
  });

  it.each([
    ['IKE', DELETE_IKE],
    ['ESP', DELETE_ESP],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(deletePayloadCodec, vec);
    expectTruncationErrors(deletePayloadCodec, vec, { layer: 'ikev2' });
  });

  it('rejects a body that is not exactly Num of SPIs × SPI Size', () => {
    const e = thrownBy(() => deletePayloadCodec.decode(fromHex('00 00 0010 03 04 0003 33edbb96 d80bade7'), 10));
    expect(e).toBeInstanceOf(DecodeError);
    expect(e).toMatchObject({ field: 'num_spis', offset: 16 });
    expect(thrownBy(() => deletePayloadCodec.decode(fromHex('00 00 000d 03 04 0001 33edbb96 00')))).toMatchObject({ field: 'num_spis' });
  });

  it('refuses to encode an SPI of the wrong size', () => {
    const payload = { type: PayloadType.D, critical: false, protocolId: 3, spiSize: 4, spis: [fromHex('0102')] } as const;
    expect(() => deletePayloadCodec.encode({ nextPayload: 0, payload })).toThrow(RangeError);
  });

  it('round-trips arbitrary deletes', () => {
    expectPayloadRoundTrips(
      deletePayloadCodec,
      fc
        .tuple(headerFields, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 16 }), fc.array(bytes(16, 16), { maxLength: 5 }))
        .map(([h, protocolId, spiSize, seeds]) => ({
          type: PayloadType.D,
          ...h,
          protocolId,
          spiSize,
          spis: seeds.map((s) => s.slice(0, spiSize)),
        })),
    );
  });
});
