import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/core/bytes.ts';
import type { Codec } from '../../../src/wire/codec.ts';
import { CertEncoding, CfgAttr, cfgAttrName, CfgType, FRAGMENT_FLAG_LAST } from '../../../src/wire/ikev1/constants.ts';
import type { Framed } from '../../../src/wire/ikev1/generic.ts';
import { CertRequestPayloadCodec } from '../../../src/wire/ikev1/payloads/cert-request.ts';
import { CertPayloadCodec } from '../../../src/wire/ikev1/payloads/cert.ts';
import { FragmentPayloadCodec } from '../../../src/wire/ikev1/payloads/fragment.ts';
import { HashPayloadCodec } from '../../../src/wire/ikev1/payloads/hash.ts';
import { KePayloadCodec } from '../../../src/wire/ikev1/payloads/ke.ts';
import { ModeCfgPayloadCodec } from '../../../src/wire/ikev1/payloads/mode-cfg.ts';
import { NoncePayloadCodec } from '../../../src/wire/ikev1/payloads/nonce.ts';
import { SignaturePayloadCodec } from '../../../src/wire/ikev1/payloads/signature.ts';
import { UnknownPayloadCodec } from '../../../src/wire/ikev1/payloads/unknown.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../helpers/roundtrip.ts';
import * as arb from './arbitraries.ts';
import { frame, payloadAt, SA_SETUP } from './fixtures.ts';

function roundTrips<T>(codec: Codec<Framed<T>>, body: fc.Arbitrary<T>): void {
  fc.assert(
    fc.property(body, fc.integer({ min: 0, max: 255 }), (b, nextPayload) => {
      const bytes = codec.encode({ nextPayload, body: b });
      expect(bytes.length).toBe(codec.encodedLength({ nextPayload, body: b }));
      expect(codec.decode(bytes)).toEqual({ nextPayload, body: b });
    }),
  );
}

const data = fc.record({ data: fc.uint8Array({ maxLength: 64 }) });

describe('KE and NONCE payloads (RFC 2408 §3.7, §3.13)', () => {
  // ISAKMP_sa_setup.pcap frame 3: KE at ISAKMP offset 28 (100 bytes: a 96-byte MODP-768 value),
  // NONCE at 128 (24 bytes). tcpdump -vvv: "(ke: key len=96 3bce03fa...)", "(nonce: n len=20 6ea7c7ed...)".
  const msg = () => frame(SA_SETUP, 3);

  it('decode byte-exactly, with truncation sweeps', () => {
    const ke = payloadAt(msg(), 28);
    expect(hex(ke.subarray(0, 8))).toBe('0a0000643bce03fa');
    const k = expectReencode(KePayloadCodec, ke);
    expect(k.nextPayload).toBe(10);
    expect(k.body.data.length).toBe(96);
    expect(hex(k.body.data.subarray(92))).toBe('cf7108b1');
    expectTruncationErrors(KePayloadCodec, ke);
    const nonce = payloadAt(msg(), 128);
    expect(hex(nonce)).toBe('0d0000186ea7c7ed3ca3383538801b4b32a5aba161807765');
    expect(expectReencode(NoncePayloadCodec, nonce).body.data.length).toBe(20);
    expectTruncationErrors(NoncePayloadCodec, nonce);
  });

  it('round-trip (fast-check)', () => {
    roundTrips(KePayloadCodec, data);
    roundTrips(NoncePayloadCodec, data);
  });
});

describe('HASH and SIG payloads (RFC 2408 §3.11, §3.12)', () => {
  // Constructed (main mode HASH/SIG travel encrypted in every capture at hand);
  // Wireshark 4: "Hash DATA: 0102...1314" and "Signature DATA: 5a5a5a5aa5a5a5a5".
  const HASH = fromHex('00 00 00 18  01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13 14');
  const SIG = fromHex('00 00 00 0c  5a 5a 5a 5a a5 a5 a5 a5');

  it('decode byte-exactly, with truncation sweeps', () => {
    expect(expectReencode(HashPayloadCodec, HASH).body.data.length).toBe(20);
    expect(hex(expectReencode(SignaturePayloadCodec, SIG).body.data)).toBe('5a5a5a5aa5a5a5a5');
    expectTruncationErrors(HashPayloadCodec, HASH);
    expectTruncationErrors(SignaturePayloadCodec, SIG);
  });

  it('round-trip (fast-check)', () => {
    roundTrips(HashPayloadCodec, data);
    roundTrips(SignaturePayloadCodec, data);
  });
});

describe('CERT and CR payloads (RFC 2408 §3.9, §3.10)', () => {
  // Constructed; Wireshark 4: "Certificate Encoding: X.509 Certificate - Signature (4)" (the data is a
  // stand-in, not a full certificate) and "Certificate Request ... Certificate Type: X.509 ... (4)".
  const CERT = fromHex('00 00 00 0e  04  30 82 01 0a 02 82 01 01 00');
  const CR_ANY = fromHex('00 00 00 05  04');

  it('decode byte-exactly, with truncation sweeps', () => {
    const c = expectReencode(CertPayloadCodec, CERT).body;
    expect(c.encoding).toBe(CertEncoding.X509_SIGNATURE);
    expect(c.data.length).toBe(9);
    const cr = expectReencode(CertRequestPayloadCodec, CR_ANY).body;
    expect(cr).toEqual({ certType: 4, authority: new Uint8Array(0) });
    expectTruncationErrors(CertPayloadCodec, CERT);
    expectTruncationErrors(CertRequestPayloadCodec, CR_ANY);
  });

  it('round-trip (fast-check)', () => {
    roundTrips(CertPayloadCodec, fc.record({ encoding: fc.nat(255), data: fc.uint8Array({ maxLength: 64 }) }));
    roundTrips(CertRequestPayloadCodec, fc.record({ certType: fc.nat(255), authority: fc.uint8Array({ maxLength: 64 }) }));
  });
});

describe('Mode-CFG attribute payload (draft-dukes-ike-mode-cfg §3.2, XAUTH)', () => {
  // Constructed XAUTH request (draft-beaulieu-ike-xauth): XAUTH-TYPE generic (TV), empty USER-NAME and
  // USER-PASSWORD (TLV, length 0). Wireshark 4: "Type: ISAKMP_CFG_REQUEST (1), Identifier: 4660,
  // Config Attribute (t=16520,l=2): XAUTH_TYPE: Generic, (t=16521,l=0), (t=16522,l=0)".
  const XAUTH_REQUEST = fromHex(`
    00 00 00 14     # last, length 20
    01 00 12 34     # ISAKMP_CFG_REQUEST, reserved, identifier 0x1234
    c0 88 00 00     # TV XAUTH-TYPE = 0 (generic)
    40 89 00 00     # TLV XAUTH-USER-NAME, empty
    40 8a 00 00     # TLV XAUTH-USER-PASSWORD, empty
  `);

  it('decodes byte-exactly, with a truncation sweep', () => {
    const { body } = expectReencode(ModeCfgPayloadCodec, XAUTH_REQUEST);
    expect(body.cfgType).toBe(CfgType.REQUEST);
    expect(body.identifier).toBe(0x1234);
    expect(body.attributes.map((a) => cfgAttrName(a.type))).toEqual(['XAUTH_TYPE', 'XAUTH_USER_NAME', 'XAUTH_USER_PASSWORD']);
    expect(body.attributes[0]).toEqual({ format: 'tv', type: CfgAttr.XAUTH_TYPE, value: 0 });
    expectTruncationErrors(ModeCfgPayloadCodec, XAUTH_REQUEST);
  });

  it('round-trips (fast-check)', () => {
    roundTrips(ModeCfgPayloadCodec, fc.record({ cfgType: fc.nat(255), identifier: fc.nat(0xffff), attributes: fc.array(arb.attribute, { maxLength: 6 }) }));
  });
});

describe('IKE fragmentation payload (132)', () => {
  // Constructed; Wireshark 4: "Cisco-Fragmentation (132) ... Frag ID: 0x0001, Frag seq: 1,
  // Frag last: Last fragment (1)".
  const FRAGMENT = fromHex('00 00 00 0c  00 01 01 01  de ad be ef');

  it('decodes byte-exactly, with a truncation sweep', () => {
    const { body } = expectReencode(FragmentPayloadCodec, FRAGMENT);
    expect(body).toEqual({ fragmentId: 1, fragmentNumber: 1, flags: FRAGMENT_FLAG_LAST, data: fromHex('deadbeef') });
    expectTruncationErrors(FragmentPayloadCodec, FRAGMENT);
  });

  it('round-trips (fast-check)', () => {
    roundTrips(FragmentPayloadCodec, fc.record({ fragmentId: fc.nat(0xffff), fragmentNumber: fc.nat(255), flags: fc.nat(255), data: fc.uint8Array({ maxLength: 64 }) }));
  });
});

describe('unknown payloads', () => {
  it('are kept byte-exact', () => {
    // The first payload of isakmp-various-oobr.pcap's chain after its bogus header: "01 00 00 05 00".
    const bytes = fromHex('01 00 00 05 00');
    expect(expectReencode(UnknownPayloadCodec, bytes).body.data).toEqual(fromHex('00'));
    expectTruncationErrors(UnknownPayloadCodec, bytes);
    roundTrips(UnknownPayloadCodec, data);
  });
});
