import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError } from '../../../../src/core/errors.ts';
import { fromHex } from '../../../../src/core/bytes.ts';
import { DhGroup, EncrId, IntegId, PayloadType, PrfId, ProtocolId, TransformType } from '../../../../src/wire/ike/constants.ts';
import { keyLength, makeTransform, numberProposals, saPayloadCodec } from '../../../../src/wire/ike/payloads/sa.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../../helpers/roundtrip.ts';
import { headerFields, proposal } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips } from '../support.ts';
import { IKEV2FOUR, OUTSIDE, SA_CRITICAL_FOUR_PROPOSALS, SA_IKE, SA_TWELVE_TRANSFORMS } from '../vectors.ts';

const decodeError = (bytes: Uint8Array, base = 0): DecodeError => {
  const e = thrownBy(() => saPayloadCodec.decode(bytes, base));
  expect(e).toBeInstanceOf(DecodeError);
  return e as DecodeError;
};

describe('SA payload', () => {
  it('decodes strongSwan IKE_SA_INIT proposal, AES-GCM-128 as the README says (outside.pcap frame 1, offset 28)', () => {
    expectFromCapture(SA_IKE, OUTSIDE, 1, 28);
    const { nextPayload, payload } = saPayloadCodec.decode(SA_IKE);
    expect(nextPayload).toBe(PayloadType.KE);
    expect(payload.type).toBe(PayloadType.SA);
    expect(payload.critical).toBe(false);
    expect(payload.proposals).toHaveLength(1);
    const [p] = payload.proposals;
    expect(p!.num).toBe(1);
    expect(p!.protocolId).toBe(ProtocolId.IKE);
    expect(p!.spi.length).toBe(0);
    expect(p!.transforms.map((t) => [t.transformType, t.transformId])).toEqual([
      [TransformType.ENCR, EncrId.AES_GCM_16],
      [TransformType.PRF, PrfId.HMAC_SHA2_256],
      [TransformType.KE, DhGroup.CURVE25519],
    ]);
    expect(keyLength(p!.transforms[0]!)).toBe(128);
    expect(keyLength(p!.transforms[1]!)).toBeUndefined();
  });

  it('decodes the 12 transforms tcpdump lists for ikev2four.pcap frame 1', () => {
    expectFromCapture(SA_TWELVE_TRANSFORMS, IKEV2FOUR, 1, 28);
    const t = saPayloadCodec.decode(SA_TWELVE_TRANSFORMS).payload.proposals[0]!.transforms;
    // ikev2four.out: encr aes (keylen 0080, 0100, 00c0), 3des, prf hmac-sha, hmac-md5, aes128_xcbc,
    // integ hmac-sha, hmac-md5, aes-xcbc, dh modp1024, modp2048
    expect(t.map((x) => [x.transformType, x.transformId, keyLength(x)])).toEqual([
      [1, EncrId.AES_CBC, 0x80],
      [1, EncrId.AES_CBC, 0x100],
      [1, EncrId.AES_CBC, 0xc0],
      [1, EncrId['3DES'], undefined],
      [2, PrfId.HMAC_SHA1, undefined],
      [2, PrfId.HMAC_MD5, undefined],
      [2, PrfId.AES128_XCBC, undefined],
      [3, IntegId.HMAC_SHA1_96, undefined],
      [3, IntegId.HMAC_MD5_96, undefined],
      [3, IntegId.AES_XCBC_96, undefined],
      [4, DhGroup.MODP_1024, undefined],
      [4, DhGroup.MODP_2048, undefined],
    ]);
  });

  it('keeps the critical bit and numbers four ESP proposals (Openswan parentI2psk.pcap, decrypted)', () => {
    const { nextPayload, payload } = saPayloadCodec.decode(SA_CRITICAL_FOUR_PROPOSALS);
    expect(nextPayload).toBe(PayloadType.TSi);
    expect(payload.critical).toBe(true);
    expect(payload.proposals.map((p) => p.num)).toEqual([1, 2, 3, 4]);
    for (const p of payload.proposals) {
      expect(p.protocolId).toBe(ProtocolId.ESP);
      expect(hex(p.spi)).toBe('12345678');
      expect(p.transforms.map((t) => t.transformType)).toEqual([TransformType.ENCR, TransformType.INTEG, TransformType.ESN]);
    }
    expect(payload.proposals.map((p) => p.transforms[0]!.transformId)).toEqual([EncrId.AES_CBC, EncrId.AES_CBC, EncrId['3DES'], EncrId['3DES']]);
  });

  it.each([
    ['strongSwan IKE', SA_IKE],
    ['tcpdump 12 transforms', SA_TWELVE_TRANSFORMS],
    ['Openswan critical ESP', SA_CRITICAL_FOUR_PROPOSALS],
  ])('re-encodes %s byte-exact and rejects every truncation', (_name, vec) => {
    expectReencode(saPayloadCodec, vec);
    expectTruncationErrors(saPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('encodes TLV attributes and reserved bytes as decoded', () => {
    const vec = fromHex(`
      00 00 001e
      00 07 001a 05 03 00 01          # reserved 7, proposal #5, ESP, no SPI, 1 transform
        00 09 0012 01 0a 0014          # reserved1 9, ENCR, reserved2 10, AES_GCM_16
          800e 0100                    # TV key length 256
          0011 0002 abcd               # TLV type 17, 2 bytes
    `);
    const v = expectReencode(saPayloadCodec, vec);
    const p = v.payload.proposals[0]!;
    expect(p.reserved).toBe(7);
    expect(p.num).toBe(5);
    expect(p.transforms[0]).toEqual({
      transformType: 1,
      transformId: EncrId.AES_GCM_16,
      reserved1: 9,
      reserved2: 10,
      attributes: [
        { format: 'tv', attrType: 14, value: 256 },
        { format: 'tlv', attrType: 17, value: fromHex('abcd') },
      ],
    });
  });

  it('rejects a wrong last/more marker, naming the field and absolute offset', () => {
    const bad = new Uint8Array(SA_IKE);
    bad[4] = 2; // the only proposal claims more follow
    const e = decodeError(bad, 1000);
    expect(e.field).toBe('last_substructure');
    expect(e.offset).toBe(1004);
    const badT = new Uint8Array(SA_IKE);
    badT[12] = 0; // first transform claims to be the last
    expect(decodeError(badT).field).toBe('last_substructure');
    expect(decodeError(badT).offset).toBe(12);
  });

  it('rejects a transform count that differs from the transforms present', () => {
    const bad = new Uint8Array(SA_IKE);
    bad[11] = 4;
    const e = decodeError(bad);
    expect(e.field).toBe('num_transforms');
    expect(e.offset).toBe(11);
  });

  it('rejects proposal and transform lengths that do not nest', () => {
    const shortProposal = new Uint8Array(SA_IKE);
    shortProposal[7] = 7; // proposal length 7 < 8-byte header
    expect(decodeError(shortProposal).field).toBe('proposal_length');
    const longProposal = new Uint8Array(SA_IKE);
    longProposal[7] = 0x25; // one byte past the SA payload
    expect(decodeError(longProposal)).toMatchObject({ field: 'proposal_length', offset: 6 });
    const shortTransform = new Uint8Array(SA_IKE);
    shortTransform[15] = 4;
    expect(decodeError(shortTransform)).toMatchObject({ field: 'transform_length', offset: 14 });
    const attrPastEnd = fromHex('00 00 0018  00 00 0014 01 01 00 01  00 00 000c 01 00 0003  000e 0008');
    expect(decodeError(attrPastEnd)).toMatchObject({ field: 'attribute_value', offset: 24 });
  });

  it('reports offsets shifted by the base', () => {
    const bad = new Uint8Array(SA_IKE);
    bad[11] = 9;
    expectErrorOffsetShift(saPayloadCodec, bad, 4321);
  });

  it('builds transforms and numbers proposals', () => {
    expect(makeTransform(TransformType.ENCR, EncrId.AES_CBC, 128)).toEqual({
      transformType: 1,
      transformId: 12,
      attributes: [{ format: 'tv', attrType: 14, value: 128 }],
    });
    const built = {
      nextPayload: PayloadType.KE,
      payload: {
        type: PayloadType.SA,
        critical: false,
        proposals: numberProposals([
          {
            protocolId: ProtocolId.IKE,
            spi: new Uint8Array(0),
            transforms: [
              makeTransform(TransformType.ENCR, EncrId.AES_GCM_16, 128),
              makeTransform(TransformType.PRF, PrfId.HMAC_SHA2_256),
              makeTransform(TransformType.KE, DhGroup.CURVE25519),
            ],
          },
        ]),
      },
    } as const;
    expect(hex(saPayloadCodec.encode(built))).toBe(hex(SA_IKE));
  });

  it('round-trips arbitrary SA payloads', () => {
    expectPayloadRoundTrips(
      saPayloadCodec,
      fc.tuple(headerFields, fc.array(proposal, { maxLength: 4 })).map(([h, proposals]) => ({ type: PayloadType.SA, ...h, proposals })),
    );
  });
});
