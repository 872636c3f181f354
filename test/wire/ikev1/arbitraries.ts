/** fast-check generators for IKEv1 values whose encoding decodes back to the same value. */
import fc from 'fast-check';
import type { IpAddress } from '../../../src/core/addr.ts';
import type { DataAttribute } from '../../../src/wire/ikev1/attributes.ts';
import { IsakmpFlag, NAT_D_TYPES, NAT_OA_TYPES } from '../../../src/wire/ikev1/constants.ts';
import type { IsakmpHeader } from '../../../src/wire/ikev1/header.ts';
import type { IsakmpMessage } from '../../../src/wire/ikev1/message.ts';
import { isKnownPayloadType, type Ikev1Payload } from '../../../src/wire/ikev1/payloads/index.ts';
import type { DeletePayload } from '../../../src/wire/ikev1/payloads/delete.ts';
import type { IdPayload } from '../../../src/wire/ikev1/payloads/id.ts';
import type { Proposal } from '../../../src/wire/ikev1/payloads/proposal.ts';
import type { SaPayload } from '../../../src/wire/ikev1/payloads/sa.ts';
import type { Transform } from '../../../src/wire/ikev1/payloads/transform.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength = 40, minLength = 0) => fc.uint8Array({ minLength, maxLength });

export const cookie = fc.uint8Array({ minLength: 8, maxLength: 8 });

export const header: fc.Arbitrary<IsakmpHeader> = fc.record({
  initiatorCookie: cookie,
  responderCookie: cookie,
  nextPayload: u8,
  majorVersion: fc.integer({ min: 0, max: 15 }),
  minorVersion: fc.integer({ min: 0, max: 15 }),
  exchangeType: u8,
  flags: u8,
  messageId: u32,
  length: u32,
});

export const attribute: fc.Arbitrary<DataAttribute> = fc.oneof(
  fc.record({ format: fc.constant('tv' as const), type: fc.integer({ min: 0, max: 0x7fff }), value: u16 }),
  fc.record({ format: fc.constant('tlv' as const), type: fc.integer({ min: 0, max: 0x7fff }), value: bytes(12) }),
);

export const transform: fc.Arbitrary<Transform> = fc.record({
  transformNumber: u8,
  transformId: u8,
  attributes: fc.array(attribute, { maxLength: 6 }),
});

export const proposal: fc.Arbitrary<Proposal> = fc.record({
  proposalNumber: u8,
  protocolId: u8,
  spi: fc.oneof(bytes(0), fc.uint8Array({ minLength: 4, maxLength: 4 }), bytes(16)),
  transforms: fc.array(transform, { maxLength: 3 }),
});

export const sa: fc.Arbitrary<SaPayload> = fc.oneof(
  fc.record({ doi: fc.constant(1), situation: fc.constantFrom(0, 1), proposals: fc.array(proposal, { maxLength: 3 }) }),
  // Other DOIs keep everything after the DOI verbatim.
  fc.record({ doi: u32.filter((d) => d !== 1), proposals: fc.constant([]), opaque: bytes(24) }),
  // IPsec DOI with SIT_SECRECY / SIT_INTEGRITY: labelled situations are not decoded.
  fc
    .tuple(fc.integer({ min: 1, max: 0x3fffffff }), bytes(16))
    .map(([hi, rest]) => {
      const sit = ((hi << 1) | 1) >>> 0;
      const opaque = new Uint8Array(4 + rest.length);
      new DataView(opaque.buffer).setUint32(0, sit);
      opaque.set(rest, 4);
      return { doi: 1, proposals: [], opaque };
    }),
);

const ipv4: fc.Arbitrary<IpAddress> = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ({ family: 4 as const, bytes: b }));
const ipv6: fc.Arbitrary<IpAddress> = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ({ family: 6 as const, bytes: b }));

export const id: fc.Arbitrary<IdPayload> = fc.oneof(
  fc.record({ idType: fc.constant(1), protocolId: u8, port: u16, data: fc.record({ kind: fc.constant('address' as const), addr: ipv4 }) }),
  fc.record({ idType: fc.constant(5), protocolId: u8, port: u16, data: fc.record({ kind: fc.constant('address' as const), addr: ipv6 }) }),
  fc.record({ idType: fc.constant(4), protocolId: u8, port: u16, data: fc.record({ kind: fc.constant('subnet' as const), addr: ipv4, mask: ipv4 }) }),
  fc.record({ idType: fc.constant(6), protocolId: u8, port: u16, data: fc.record({ kind: fc.constant('subnet' as const), addr: ipv6, mask: ipv6 }) }),
  fc.record({ idType: fc.constant(7), protocolId: u8, port: u16, data: fc.record({ kind: fc.constant('range' as const), start: ipv4, end: ipv4 }) }),
  fc.record({ idType: fc.constant(8), protocolId: u8, port: u16, data: fc.record({ kind: fc.constant('range' as const), start: ipv6, end: ipv6 }) }),
  fc.record({
    idType: u8.filter((t) => t < 1 || t > 8),
    protocolId: u8,
    port: u16,
    data: fc.record({ kind: fc.constant('opaque' as const), bytes: bytes(32) }),
  }),
);

export const del: fc.Arbitrary<DeletePayload> = fc
  .tuple(u32, u8, fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 4 }))
  .chain(([doi, protocolId, spiSize, n]) =>
    fc
      .array(fc.uint8Array({ minLength: spiSize, maxLength: spiSize }), { minLength: n, maxLength: n })
      .map((spis) => ({ doi, protocolId, spiSize, spis })),
  );

const data = fc.record({ data: bytes(48) });
const unknownType = fc.integer({ min: 1, max: 0xff }).filter((t) => !isKnownPayloadType(t));

export const payload: fc.Arbitrary<Ikev1Payload> = fc.oneof(
  sa.map((v) => ({ kind: 'sa' as const, ...v })),
  proposal.map((v) => ({ kind: 'proposal' as const, ...v })),
  transform.map((v) => ({ kind: 'transform' as const, ...v })),
  data.map((v) => ({ kind: 'ke' as const, ...v })),
  id.map((v) => ({ kind: 'id' as const, ...v })),
  fc.record({ kind: fc.constant('cert' as const), encoding: u8, data: bytes(40) }),
  fc.record({ kind: fc.constant('cr' as const), certType: u8, authority: bytes(40) }),
  data.map((v) => ({ kind: 'hash' as const, ...v })),
  data.map((v) => ({ kind: 'sig' as const, ...v })),
  data.map((v) => ({ kind: 'nonce' as const, ...v })),
  fc.record({ kind: fc.constant('notification' as const), doi: u32, protocolId: u8, notifyType: u16, spi: bytes(16), data: bytes(16) }),
  del.map((v) => ({ kind: 'delete' as const, ...v })),
  data.map((v) => ({ kind: 'vid' as const, ...v })),
  fc.record({ kind: fc.constant('attr' as const), cfgType: u8, identifier: u16, attributes: fc.array(attribute, { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('nat-d' as const), type: fc.constantFrom(...NAT_D_TYPES), data: bytes(32) }),
  fc.record({ kind: fc.constant('nat-oa' as const), type: fc.constantFrom(...NAT_OA_TYPES), addr: fc.oneof(ipv4, ipv6) }),
  fc.record({ kind: fc.constant('fragment' as const), fragmentId: u16, fragmentNumber: u8, flags: u8, data: bytes(32) }),
  fc.record({ kind: fc.constant('unknown' as const), type: unknownType, data: bytes(32) }),
);

const messageHeader = fc.record({
  initiatorCookie: cookie,
  responderCookie: cookie,
  majorVersion: fc.constant(1),
  minorVersion: fc.integer({ min: 0, max: 15 }),
  exchangeType: u8,
  flags: u8,
  messageId: u32,
});

export const message: fc.Arbitrary<IsakmpMessage> = fc.oneof(
  fc
    .record({ header: messageHeader, payloads: fc.array(payload, { maxLength: 5 }), trailer: fc.option(bytes(12, 1), { nil: undefined }) })
    .map(({ header, payloads, trailer }) => {
      const h = { ...header, flags: header.flags & ~IsakmpFlag.ENCRYPTION };
      return trailer ? { header: h, payloads, trailer } : { header: h, payloads };
    }),
  fc.record({ header: messageHeader, nextPayload: u8, data: bytes(64) }).map(({ header, nextPayload, data }) => ({
    header: { ...header, flags: header.flags | IsakmpFlag.ENCRYPTION },
    payloads: [],
    encrypted: { nextPayload, data },
  })),
);
