import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/core/bytes.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { attributeNumber, DataAttributesCodec, findAttribute } from '../../../src/wire/ikev1/attributes.ts';
import {
  EncapsulationMode,
  encapsulationModeName,
  IpsecAttr,
  isUdpEncapsulationMode,
  LifeType,
  OakleyAttr,
  OakleyAuthMethod,
  OakleyEncryption,
  OakleyGroup,
  OakleyHash,
  ProtocolId,
  transformIdName,
} from '../../../src/wire/ikev1/constants.ts';
import { ProposalPayloadCodec } from '../../../src/wire/ikev1/payloads/proposal.ts';
import { SaPayloadCodec, type SaPayload } from '../../../src/wire/ikev1/payloads/sa.ts';
import { TransformPayloadCodec } from '../../../src/wire/ikev1/payloads/transform.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../helpers/roundtrip.ts';
import * as arb from './arbitraries.ts';
import { frame, payloadAt, PLUTO_VID_FIRST, SA_SETUP } from './fixtures.ts';

// ISAKMP_sa_setup.pcap frame 1, ISAKMP bytes 28..87. tcpdump -v (isakmp5-v.out, packet 1):
//   (sa: doi=ipsec situation=identity (p: #1 protoid=isakmp transform=1 (t: #1 id=ike (type=enc value=aes)
//    (type=keylen value=0080)(type=hash value=sha1)(type=group desc value=modp768)(type=auth value=preshared)
//    (type=lifetype value=sec)(type=lifeduration len=4 value=00015180))))
const MAIN_MODE_SA = fromHex(`
  0d 00 00 3c     # SA: next VID, length 60
  00 00 00 01     # DOI IPsec
  00 00 00 01     # situation SIT_IDENTITY_ONLY
  00 00 00 30     # proposal: last, length 48
  01 01 00 01     # proposal #1, protocol ISAKMP, SPI size 0, 1 transform
  00 00 00 28     # transform: last, length 40
  01 01 00 00     # transform #1, KEY_IKE, reserved
  80 01 00 07     # TV encryption algorithm = AES-CBC
  80 0e 00 80     # TV key length = 128
  80 02 00 02     # TV hash = SHA
  80 04 00 01     # TV group = MODP-768
  80 03 00 01     # TV auth method = pre-shared key
  80 0b 00 01     # TV life type = seconds
  00 0c 00 04 00 01 51 80   # TLV life duration, 4 bytes = 86400
`);

// Quick mode SA offering ESP AES-128 / HMAC-SHA in UDP-Encapsulated-Tunnel mode (RFC 3947 §5.1),
// constructed per RFC 2407 §4.5-4.6.1; checked field by field against Wireshark 4 (tshark -V).
const QUICK_MODE_NATT_SA = fromHex(`
  00 00 00 34     # SA: last, length 52
  00 00 00 01     # DOI IPsec
  00 00 00 01     # situation SIT_IDENTITY_ONLY
  00 00 00 28     # proposal: last, length 40
  01 03 04 01     # proposal #1, ESP, SPI size 4, 1 transform
  c0 ff ee 01     # SPI
  00 00 00 1c     # transform: last, length 28
  01 0c 00 00     # transform #1, ESP_AES
  80 01 00 01     # SA life type = seconds
  80 02 0e 10     # SA life duration = 3600
  80 04 00 03     # encapsulation mode = UDP-Encapsulated-Tunnel
  80 05 00 02     # auth algorithm = HMAC-SHA
  80 06 00 80     # key length = 128
`);

describe('SA payload (RFC 2408 §3.4, RFC 2407 §4.6.1)', () => {
  it('decodes the main mode offer of ISAKMP_sa_setup.pcap frame 1', () => {
    expect(hex(payloadAt(frame(SA_SETUP, 1), 28))).toBe(hex(MAIN_MODE_SA));
    const { nextPayload, body: sa } = expectReencode(SaPayloadCodec, MAIN_MODE_SA);
    expect(nextPayload).toBe(13);
    expect(sa.doi).toBe(1);
    expect(sa.situation).toBe(1);
    expect(sa.opaque).toBeUndefined();
    expect(sa.proposals).toHaveLength(1);
    const p = sa.proposals[0]!;
    expect([p.proposalNumber, p.protocolId, p.spi.length]).toEqual([1, ProtocolId.ISAKMP, 0]);
    expect(p.transforms).toHaveLength(1);
    const t = p.transforms[0]!;
    expect([t.transformNumber, t.transformId]).toEqual([1, 1]);
    const num = (type: number) => attributeNumber(findAttribute(t.attributes, type)!);
    expect(num(OakleyAttr.ENCRYPTION_ALGORITHM)).toBe(OakleyEncryption.AES_CBC);
    expect(num(OakleyAttr.KEY_LENGTH)).toBe(128);
    expect(num(OakleyAttr.HASH_ALGORITHM)).toBe(OakleyHash.SHA);
    expect(num(OakleyAttr.GROUP_DESCRIPTION)).toBe(OakleyGroup.MODP_768);
    expect(num(OakleyAttr.AUTHENTICATION_METHOD)).toBe(OakleyAuthMethod.PRE_SHARED_KEY);
    expect(num(OakleyAttr.LIFE_TYPE)).toBe(LifeType.SECONDS);
    expect(num(OakleyAttr.LIFE_DURATION)).toBe(86400);
    expect(t.attributes.map((a) => a.format)).toEqual(['tv', 'tv', 'tv', 'tv', 'tv', 'tv', 'tlv']);
  });

  it('decodes four transforms numbered from 0 (Openswan pluto 01-isakmp-vid-first.pcap frame 1)', () => {
    const bytes = payloadAt(frame(PLUTO_VID_FIRST, 1), 44);
    expect(bytes.length).toBe(148);
    const { body: sa } = expectReencode(SaPayloadCodec, bytes);
    const ts = sa.proposals[0]!.transforms;
    expect(ts.map((t) => t.transformNumber)).toEqual([0, 1, 2, 3]);
    // tcpdump: hash md5/sha1/sha1/md5, group modp1536/modp1536/modp1024/modp1024, auth rsa sig, 3des, lifeduration 0e10
    expect(ts.map((t) => attributeNumber(findAttribute(t.attributes, OakleyAttr.HASH_ALGORITHM)!))).toEqual([1, 2, 2, 1]);
    expect(ts.map((t) => attributeNumber(findAttribute(t.attributes, OakleyAttr.GROUP_DESCRIPTION)!))).toEqual([5, 5, 2, 2]);
    for (const t of ts) {
      expect(attributeNumber(findAttribute(t.attributes, OakleyAttr.ENCRYPTION_ALGORITHM)!)).toBe(OakleyEncryption.TRIPLE_DES_CBC);
      expect(attributeNumber(findAttribute(t.attributes, OakleyAttr.AUTHENTICATION_METHOD)!)).toBe(OakleyAuthMethod.RSA_SIGNATURES);
      expect(attributeNumber(findAttribute(t.attributes, OakleyAttr.LIFE_DURATION)!)).toBe(3600);
    }
    expectTruncationErrors(SaPayloadCodec, bytes);
  });

  it('decodes a quick mode ESP proposal with the RFC 3947 encapsulation mode', () => {
    const { body: sa } = expectReencode(SaPayloadCodec, QUICK_MODE_NATT_SA);
    const p = sa.proposals[0]!;
    expect(p.protocolId).toBe(ProtocolId.IPSEC_ESP);
    expect(hex(p.spi)).toBe('c0ffee01');
    const t = p.transforms[0]!;
    expect(transformIdName(p.protocolId, t.transformId)).toBe('AES');
    const mode = attributeNumber(findAttribute(t.attributes, IpsecAttr.ENCAPSULATION_MODE)!)!;
    expect(mode).toBe(EncapsulationMode.UDP_ENCAPSULATED_TUNNEL);
    expect(isUdpEncapsulationMode(mode)).toBe(true);
    expect(encapsulationModeName(mode)).toBe('UDP-Encapsulated-Tunnel');
    expect(isUdpEncapsulationMode(EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT_DRAFT)).toBe(true);
    expect(isUdpEncapsulationMode(EncapsulationMode.TUNNEL)).toBe(false);
  });

  it('throws DecodeError for every truncation', () => {
    expectTruncationErrors(SaPayloadCodec, MAIN_MODE_SA, { layer: 'ikev1' });
    expectTruncationErrors(SaPayloadCodec, QUICK_MODE_NATT_SA, { base: 100 });
  });

  it('keeps non-IPsec DOIs and labelled situations verbatim', () => {
    const isakmpDoi = fromHex('00 00 00 0c  00 00 00 00  de ad be ef');
    expect(expectReencode(SaPayloadCodec, isakmpDoi).body).toEqual({ doi: 0, proposals: [], opaque: fromHex('deadbeef') });
    // SIT_SECRECY: the labelled domain data that follows is not decoded.
    const secrecy = fromHex('00 00 00 10  00 00 00 01  00 00 00 02  00 00 00 07');
    const sa = expectReencode(SaPayloadCodec, secrecy).body;
    expect(sa.situation).toBeUndefined();
    expect(hex(sa.opaque!)).toBe('0000000200000007');
  });

  it('reports a transform count that disagrees with the chain, at the count byte', () => {
    const bad = MAIN_MODE_SA.slice();
    bad[19] = 2; // # of transforms
    const e = thrownBy(() => SaPayloadCodec.decode(bad, 1000)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('proposal.transform_count');
    expect(e.offset).toBe(1019);
  });

  it('reports a proposal whose next payload is neither 2 nor 0', () => {
    const bad = MAIN_MODE_SA.slice();
    bad[12] = 3;
    const e = thrownBy(() => SaPayloadCodec.decode(bad)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('sa.proposal[0].next_payload');
    expect(e.offset).toBe(12);
  });

  it('reports a proposal announcing another one that is not there', () => {
    const bad = MAIN_MODE_SA.slice();
    bad[12] = 2;
    const e = thrownBy(() => SaPayloadCodec.decode(bad)) as DecodeError;
    expect(e.field).toBe('sa.proposal[0].next_payload');
  });

  it('reports a transform length below 4 and beyond the proposal', () => {
    const short = MAIN_MODE_SA.slice();
    short[23] = 3; // transform length 3
    const e1 = thrownBy(() => SaPayloadCodec.decode(short, 28)) as DecodeError;
    expect(e1.field).toBe('proposal.transform[0].length');
    expect(e1.offset).toBe(28 + 22);
    const long = MAIN_MODE_SA.slice();
    long[23] = 0x29; // one byte past the proposal
    const e2 = thrownBy(() => SaPayloadCodec.decode(long, 28)) as DecodeError;
    expect(e2.field).toBe('proposal.transform[0].length');
    expect(e2.reason).toMatch(/runs past the end/);
    expectErrorOffsetShift(SaPayloadCodec, long, 28);
  });

  it('reports a TLV attribute running past its transform (the shape of isakmpv1-attr-oobr.pcap)', () => {
    // tcpdump: "(t: #243 id=241 (type=#9472 len=2 value=0619) [|isakmp]": the transform of that capture,
    // here with a TLV whose length overruns instead of a cut capture.
    const transform = fromHex('00 00 00 10  f3 f1 fa 00  25 00 00 02 06 19  18 a6');
    expect(() => TransformPayloadCodec.decode(transform)).toThrow(DecodeError);
    const overrun = fromHex('00 00 00 0e  f3 f1 fa 00  25 00 00 09 06 19');
    const e = thrownBy(() => TransformPayloadCodec.decode(overrun, 40)) as DecodeError;
    expect(e.field).toBe('transform.attribute[0].length');
    expect(e.offset).toBe(40 + 10);
  });

  it('round-trips any SA, proposal and transform (fast-check)', () => {
    fc.assert(
      fc.property(arb.sa, fc.integer({ min: 0, max: 255 }), (sa: SaPayload, next) => {
        const bytes = SaPayloadCodec.encode({ nextPayload: next, body: sa });
        expect(SaPayloadCodec.decode(bytes)).toEqual({ nextPayload: next, body: sa });
      }),
    );
    fc.assert(
      fc.property(arb.proposal, (p) => {
        expect(ProposalPayloadCodec.decode(ProposalPayloadCodec.encode({ nextPayload: 0, body: p })).body).toEqual(p);
      }),
    );
    fc.assert(
      fc.property(arb.transform, (t) => {
        expect(TransformPayloadCodec.decode(TransformPayloadCodec.encode({ nextPayload: 3, body: t })).body).toEqual(t);
      }),
    );
  });
});

describe('proposal and transform payloads on their own (RFC 2408 §3.5, §3.6)', () => {
  const PROPOSAL = MAIN_MODE_SA.subarray(12);
  const TRANSFORM = MAIN_MODE_SA.subarray(20);

  it('re-encode byte-exactly and sweep truncations', () => {
    const p = expectReencode(ProposalPayloadCodec, PROPOSAL);
    expect(p.nextPayload).toBe(0);
    expect(p.body.transforms).toHaveLength(1);
    expectTruncationErrors(ProposalPayloadCodec, PROPOSAL);
    const t = expectReencode(TransformPayloadCodec, TRANSFORM);
    expect(t.body.attributes).toHaveLength(7);
    expectTruncationErrors(TransformPayloadCodec, TRANSFORM);
  });
});

describe('data attributes (RFC 2408 §3.3)', () => {
  it('decode TV and TLV forms and read numbers out of both', () => {
    const attrs = DataAttributesCodec.decode(fromHex('80 0e 00 80  00 0c 00 04 00 01 51 80  00 10 00 00'));
    expect(attrs).toEqual([
      { format: 'tv', type: 14, value: 128 },
      { format: 'tlv', type: 12, value: fromHex('00015180') },
      { format: 'tlv', type: 16, value: new Uint8Array(0) },
    ]);
    expect(attrs.map(attributeNumber)).toEqual([128, 86400, undefined]);
  });

  it('round-trip any list (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(arb.attribute, { maxLength: 8 }), (attrs) => {
        const bytes = DataAttributesCodec.encode(attrs);
        expect(bytes.length).toBe(DataAttributesCodec.encodedLength(attrs));
        expect(DataAttributesCodec.decode(bytes)).toEqual(attrs);
      }),
    );
  });
});
