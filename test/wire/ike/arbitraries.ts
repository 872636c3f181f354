/**
 * fast-check generators for IKEv2 payload values, shaped like decoder output: reserved
 * fields are either absent or non-zero, lengths and counts are implied by the arrays.
 */
import fc from 'fast-check';
import { PayloadType, TsType } from '../../../src/wire/ike/constants.ts';
import { isKnownPayloadType, type Payload } from '../../../src/wire/ike/payload.ts';
import { eapHasType, type EapPayload } from '../../../src/wire/ike/payloads/eap.ts';
import type { Proposal, Transform, TransformAttribute } from '../../../src/wire/ike/payloads/sa.ts';
import type { TrafficSelector } from '../../../src/wire/ike/payloads/ts.ts';
import type { IkeHeaderFields } from '../../../src/wire/ike/header.ts';

export const bytes = (maxLength = 24, minLength = 0): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength, maxLength });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nz = (max: number) => fc.integer({ min: 1, max });

/** Generic header fields: critical bit, and reserved bits only when non-zero. */
export const headerFields = fc.record({ critical: fc.boolean(), reservedBits: nz(0x7f) }, { requiredKeys: ['critical'] });

function withHeader<T extends object>(body: fc.Arbitrary<T>): fc.Arbitrary<T & { critical: boolean; reservedBits?: number }> {
  return fc.tuple(headerFields, body).map(([h, b]) => ({ ...h, ...b }));
}

export const transformAttribute: fc.Arbitrary<TransformAttribute> = fc.oneof(
  fc.record({ format: fc.constant('tv' as const), attrType: fc.integer({ min: 0, max: 0x7fff }), value: u16 }),
  fc.record({ format: fc.constant('tlv' as const), attrType: fc.integer({ min: 0, max: 0x7fff }), value: bytes(8) }),
);

export const transform: fc.Arbitrary<Transform> = fc.record(
  {
    transformType: u8,
    transformId: u16,
    attributes: fc.array(transformAttribute, { maxLength: 3 }),
    reserved1: nz(0xff),
    reserved2: nz(0xff),
  },
  { requiredKeys: ['transformType', 'transformId', 'attributes'] },
);

export const proposal: fc.Arbitrary<Proposal> = fc.record(
  { num: u8, protocolId: u8, spi: bytes(8), transforms: fc.array(transform, { maxLength: 4 }), reserved: nz(0xff) },
  { requiredKeys: ['num', 'protocolId', 'spi', 'transforms'] },
);

export const selector: fc.Arbitrary<TrafficSelector> = fc.oneof(
  fc.record({
    tsType: fc.constant(TsType.IPV4_ADDR_RANGE),
    ipProtocol: u8,
    startPort: u16,
    endPort: u16,
    startAddress: bytes(4, 4),
    endAddress: bytes(4, 4),
  }),
  fc.record({
    tsType: fc.constant(TsType.IPV6_ADDR_RANGE),
    ipProtocol: u8,
    startPort: u16,
    endPort: u16,
    startAddress: bytes(16, 16),
    endAddress: bytes(16, 16),
  }),
  fc.record({
    tsType: fc.constant('unknown' as const),
    wireType: u8.filter((t) => t !== TsType.IPV4_ADDR_RANGE && t !== TsType.IPV6_ADDR_RANGE),
    protocolOrReserved: u8,
    data: bytes(12),
  }),
);

const eap: fc.Arbitrary<Omit<EapPayload, 'critical' | 'reservedBits'>> = fc
  .record({ code: u8, identifier: u8, eapType: u8, data: bytes(16) })
  .map(({ code, identifier, eapType, data }) =>
    eapHasType(code) ? { type: PayloadType.EAP, code, identifier, eapType, data } : { type: PayloadType.EAP, code, identifier, data },
  );

/** Payload types this codec keeps raw (never 0, which ends a chain). */
export const unknownPayloadType = fc.integer({ min: 1, max: 0xff }).filter((t) => !isKnownPayloadType(t));

const opt24 = nz(0xffffff);

/** Any payload that may sit anywhere in a chain (not SK / SKF). */
export const innerPayload: fc.Arbitrary<Payload> = fc.oneof(
  withHeader(fc.record({ type: fc.constant(PayloadType.SA), proposals: fc.array(proposal, { maxLength: 3 }) })),
  withHeader(
    fc.record({ type: fc.constant(PayloadType.KE), dhGroup: u16, data: bytes(40), reserved: nz(0xffff) }, { requiredKeys: ['type', 'dhGroup', 'data'] }),
  ),
  withHeader(
    fc.record(
      { type: fc.constantFrom(PayloadType.IDi, PayloadType.IDr), idType: u8, data: bytes(20), reserved: opt24 },
      { requiredKeys: ['type', 'idType', 'data'] },
    ),
  ),
  withHeader(fc.record({ type: fc.constant(PayloadType.CERT), encoding: u8, data: bytes(40) })),
  withHeader(fc.record({ type: fc.constant(PayloadType.CERTREQ), encoding: u8, authorities: bytes(40) })),
  withHeader(
    fc.record({ type: fc.constant(PayloadType.AUTH), method: u8, data: bytes(32), reserved: opt24 }, { requiredKeys: ['type', 'method', 'data'] }),
  ),
  withHeader(fc.record({ type: fc.constant(PayloadType.NONCE), data: bytes(32) })),
  withHeader(fc.record({ type: fc.constant(PayloadType.N), protocolId: u8, spi: bytes(8), notifyType: u16, data: bytes(24) })),
  withHeader(
    fc
      .record({ type: fc.constant(PayloadType.D), protocolId: u8, spiSize: fc.integer({ min: 0, max: 8 }), count: fc.integer({ min: 0, max: 4 }), seed: bytes(32, 32) })
      .map(({ type, protocolId, spiSize, count, seed }) => ({
        type,
        protocolId,
        spiSize,
        spis: Array.from({ length: count }, (_, i) => seed.slice(i * spiSize, (i + 1) * spiSize)),
      })),
  ),
  withHeader(fc.record({ type: fc.constant(PayloadType.V), data: bytes(24) })),
  withHeader(
    fc.record(
      { type: fc.constantFrom(PayloadType.TSi, PayloadType.TSr), selectors: fc.array(selector, { maxLength: 4 }), reserved: opt24 },
      { requiredKeys: ['type', 'selectors'] },
    ),
  ),
  withHeader(
    fc.record(
      {
        type: fc.constant(PayloadType.CP),
        cfgType: u8,
        attributes: fc.array(
          fc.record({ attrType: fc.integer({ min: 0, max: 0x7fff }), value: bytes(16), reserved: fc.constant(1) }, { requiredKeys: ['attrType', 'value'] }),
          { maxLength: 4 },
        ),
        reserved: opt24,
      },
      { requiredKeys: ['type', 'cfgType', 'attributes'] },
    ),
  ),
  withHeader(eap),
  withHeader(fc.record({ type: fc.constant('unknown' as const), payloadType: unknownPayloadType, body: bytes(24) })),
);

/** SK or SKF: only ever the last payload of a chain. */
export const encryptedPayload: fc.Arbitrary<Payload> = fc.oneof(
  withHeader(fc.record({ type: fc.constant(PayloadType.SK), firstInnerPayload: u8, body: bytes(48) })),
  withHeader(fc.record({ type: fc.constant(PayloadType.SKF), firstInnerPayload: u8, fragmentNumber: u16, totalFragments: u16, body: bytes(48) })),
);

/** A valid chain: inner payloads, optionally closed by SK or SKF. */
export const payloadChain: fc.Arbitrary<Payload[]> = fc
  .tuple(fc.array(innerPayload, { maxLength: 6 }), fc.option(encryptedPayload, { nil: undefined }))
  .map(([inner, last]) => (last ? [...inner, last] : inner));

export const headerFieldsArb: fc.Arbitrary<IkeHeaderFields> = fc.record({
  spiI: bytes(8, 8),
  spiR: bytes(8, 8),
  majorVersion: fc.integer({ min: 0, max: 15 }),
  minorVersion: fc.integer({ min: 0, max: 15 }),
  exchangeType: u8,
  flags: u8,
  messageId: u32,
});
