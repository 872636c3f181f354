import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../../src/core/addr.ts';
import { fromHex } from '../../../src/core/bytes.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { PayloadType, payloadTypeName } from '../../../src/wire/ikev1/constants.ts';
import { decodePayloadBody } from '../../../src/wire/ikev1/payloads/index.ts';
import { NatDPayloadCodec } from '../../../src/wire/ikev1/payloads/nat-d.ts';
import { NatOaPayloadCodec } from '../../../src/wire/ikev1/payloads/nat-oa.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../helpers/roundtrip.ts';
import { frame, payloadAt, SA_SETUP } from './fixtures.ts';

// ISAKMP_sa_setup.pcap frame 3, ISAKMP bytes 224..247: the first of two NAT-D payloads, sent as
// payload type 15 (draft-ietf-ipsec-nat-t-ike-04..08 numbering; the peers agreed on draft -07).
// tcpdump prints it as "(pay15)"; the 20-byte value is a SHA-1 NAT-D hash.
const NAT_D_FRAME3 = fromHex(`
  00 00 00 18                                                    # last, length 24
  d5 66 4a 6f cb c7 d7 69 f6 93 d4 d8 3c e1 25 b1 41 58 27 ae    # HASH(CKY-I | CKY-R | IP | port)
`);

// Constructed per RFC 3947 §5.2; Wireshark 4: "NAT-OA (RFC 3947) (21) ... ID type: IPV4_ADDR (1),
// NAT Original IPv4 Address: 192.0.2.10" and "... IPV6_ADDR (5), ... 2001:db8::1".
const NAT_OA_V4 = fromHex('00 00 00 0c  01 00 00 00  c0 00 02 0a');
const NAT_OA_V6 = fromHex('00 00 00 18  05 00 00 00  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01');

describe('NAT-D payload (RFC 3947 §3.2)', () => {
  it('decodes the hash of ISAKMP_sa_setup.pcap frame 3 byte-exactly', () => {
    const msg = frame(SA_SETUP, 3);
    expect(hex(payloadAt(msg, 224))).toBe('0f000018' + hex(NAT_D_FRAME3.subarray(4)));
    const v = expectReencode(NatDPayloadCodec, NAT_D_FRAME3);
    expect(v.body.data.length).toBe(20);
    expectTruncationErrors(NatDPayloadCodec, NAT_D_FRAME3);
  });

  it('is recognised under its RFC number 20 and the draft numbers 130 and 15', () => {
    const body = NAT_D_FRAME3.subarray(4);
    for (const t of [PayloadType.NAT_D, PayloadType.NAT_D_DRAFT, PayloadType.NAT_D_DRAFT_LATE]) {
      expect(decodePayloadBody(t, body)).toEqual({ kind: 'nat-d', type: t, data: body });
    }
    expect(payloadTypeName(20)).toBe('NAT-D');
    expect(payloadTypeName(130)).toBe('NAT-D (draft-01..03)');
  });

  it('round-trips (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 255 }), (data, nextPayload) => {
        expect(NatDPayloadCodec.decode(NatDPayloadCodec.encode({ nextPayload, body: { data } }))).toEqual({ nextPayload, body: { data } });
      }),
    );
  });
});

describe('NAT-OA payload (RFC 3947 §5.2)', () => {
  it('decodes IPv4 and IPv6 original addresses', () => {
    expect(expectReencode(NatOaPayloadCodec, NAT_OA_V4).body).toEqual({ addr: parseIp('192.0.2.10') });
    expect(expectReencode(NatOaPayloadCodec, NAT_OA_V6).body).toEqual({ addr: parseIp('2001:db8::1') });
    expectTruncationErrors(NatOaPayloadCodec, NAT_OA_V4);
    expectTruncationErrors(NatOaPayloadCodec, NAT_OA_V6);
    expect(decodePayloadBody(131, NAT_OA_V4.subarray(4))).toEqual({ kind: 'nat-oa', type: 131, addr: parseIp('192.0.2.10') });
  });

  it('rejects other ID types and addresses of the wrong size', () => {
    const fqdn = NAT_OA_V4.slice();
    fqdn[4] = 2;
    const e = thrownBy(() => NatOaPayloadCodec.decode(fqdn, 60)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('nat_oa.id_type');
    expect(e.offset).toBe(64);
    const v6InV4 = NAT_OA_V4.slice();
    v6InV4[4] = 5;
    expect(() => NatOaPayloadCodec.decode(v6InV4)).toThrow(DecodeError);
    expectErrorOffsetShift(NatOaPayloadCodec, fqdn, 60);
  });

  it('round-trips (fast-check)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (b) => {
        const addr = { family: b.length === 4 ? (4 as const) : (6 as const), bytes: b };
        expect(NatOaPayloadCodec.decode(NatOaPayloadCodec.encode({ nextPayload: 0, body: { addr } })).body).toEqual({ addr });
      }),
    );
  });
});
