import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { CfgAttributeType, CfgType, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { cpPayloadCodec } from '../../../../src/wire/ike/payloads/cp.ts';
import { expectReencode, expectTruncationErrors, thrownBy } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectPayloadRoundTrips } from '../support.ts';
import { CP_REPLY, CP_REQUEST } from '../vectors.ts';

describe('CP payload', () => {
  it('decodes a CFG_REQUEST with empty attributes (built from RFC 7296 §3.15)', () => {
    const { nextPayload, payload } = cpPayloadCodec.decode(CP_REQUEST);
    expect(nextPayload).toBe(PayloadType.SA);
    expect(payload.cfgType).toBe(CfgType.CFG_REQUEST);
    expect(payload.attributes.map((a) => [a.attrType, a.value.length])).toEqual([
      [CfgAttributeType.INTERNAL_IP4_ADDRESS, 0],
      [CfgAttributeType.INTERNAL_IP4_DNS, 0],
      [CfgAttributeType.INTERNAL_IP6_ADDRESS, 0],
    ]);
  });

  it('decodes a CFG_REPLY with addresses (built from RFC 7296 §3.15.1)', () => {
    const { payload } = cpPayloadCodec.decode(CP_REPLY);
    expect(payload.cfgType).toBe(CfgType.CFG_REPLY);
    expect(payload.attributes.map((a) => [a.attrType, [...a.value].join('.')])).toEqual([
      [CfgAttributeType.INTERNAL_IP4_ADDRESS, '10.77.10.1'],
      [CfgAttributeType.INTERNAL_IP4_DNS, '192.0.2.53'],
    ]);
  });

  it.each([
    ['request', CP_REQUEST],
    ['reply', CP_REPLY],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(cpPayloadCodec, vec);
    expectTruncationErrors(cpPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('keeps the attribute R bit and rejects an attribute longer than the payload', () => {
    const v = expectReencode(cpPayloadCodec, fromHex('00 00 000c 01 000000 8001 0000'));
    expect(v.payload.attributes[0]).toEqual({ attrType: 1, value: new Uint8Array(0), reserved: 1 });
    expect(thrownBy(() => cpPayloadCodec.decode(fromHex('00 00 000e 01 000000 0001 0004 0a4d'), 8))).toMatchObject({
      field: 'attribute_value',
      offset: 20,
    });
  });

  it('round-trips arbitrary CP payloads', () => {
    const attr = fc.record({ attrType: fc.integer({ min: 0, max: 0x7fff }), value: bytes(20), reserved: fc.constant(1) }, { requiredKeys: ['attrType', 'value'] });
    expectPayloadRoundTrips(
      cpPayloadCodec,
      fc
        .tuple(headerFields, fc.integer({ min: 0, max: 255 }), fc.array(attr, { maxLength: 5 }), fc.integer({ min: 0, max: 0xffffff }))
        .map(([h, cfgType, attributes, r]) => ({ type: PayloadType.CP, ...h, cfgType, attributes, ...(r ? { reserved: r } : {}) })),
    );
  });
});
