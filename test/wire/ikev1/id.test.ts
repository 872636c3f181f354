import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, parseIp } from '../../../src/core/addr.ts';
import { fromHex } from '../../../src/core/bytes.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { IdType, idTypeName } from '../../../src/wire/ikev1/constants.ts';
import { IdPayloadCodec, idText, type IdPayload } from '../../../src/wire/ikev1/payloads/id.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../helpers/roundtrip.ts';
import * as arb from './arbitraries.ts';
import { frame, payloadAt } from './fixtures.ts';

// Constructed per RFC 2407 §4.6.2 and checked against Wireshark 4 (tshark -V):
// "ID type: IPV4_ADDR (1), Protocol ID: UDP (17), Port: 500, ID_IPV4_ADDR: 192.0.2.1".
const ID_IPV4 = fromHex('00 00 00 0c  01 11 01 f4  c0 00 02 01');
// Wireshark: "ID_IPV4_ADDR: 10.0.0.0, ID_IPV4_SUBNET: 255.255.255.0".
const ID_IPV4_SUBNET = fromHex('00 00 00 10  04 00 00 00  0a 00 00 00  ff ff ff 00');
// Wireshark: "Identification Data:2001:db8::/ffff:ffff:ffff:ffff::".
const ID_IPV6_SUBNET = fromHex(`
  00 00 00 28                                        # last, length 40
  06 00 00 00                                        # ID_IPV6_ADDR_SUBNET, protocol 0, port 0
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 00    # 2001:db8::
  ff ff ff ff ff ff ff ff 00 00 00 00 00 00 00 00    # /64 mask
`);
// Wireshark: "ID type: USER_FQDN (3) ... user@example.com".
const ID_USER_FQDN = fromHex('00 00 00 18  03 00 00 00  75 73 65 72 40 65 78 61 6d 70 6c 65 2e 63 6f 6d');

describe('ID payload (RFC 2407 §4.6.2)', () => {
  it('decodes ID_IPV4_ADDR with protocol and port', () => {
    const { body } = expectReencode(IdPayloadCodec, ID_IPV4);
    expect(body).toEqual({ idType: IdType.IPV4_ADDR, protocolId: 17, port: 500, data: { kind: 'address', addr: parseIp('192.0.2.1') } });
    expectTruncationErrors(IdPayloadCodec, ID_IPV4);
  });

  it('decodes the subnet forms, IPv4 and IPv6', () => {
    const v4 = expectReencode(IdPayloadCodec, ID_IPV4_SUBNET).body;
    expect(v4.data).toEqual({ kind: 'subnet', addr: parseIp('10.0.0.0'), mask: parseIp('255.255.255.0') });
    const v6 = expectReencode(IdPayloadCodec, ID_IPV6_SUBNET).body;
    expect(v6.idType).toBe(IdType.IPV6_ADDR_SUBNET);
    expect(v6.data.kind).toBe('subnet');
    if (v6.data.kind === 'subnet') {
      expect(formatIp(v6.data.addr)).toBe('2001:db8::');
      expect(formatIp(v6.data.mask)).toBe('ffff:ffff:ffff:ffff::');
    }
    expectTruncationErrors(IdPayloadCodec, ID_IPV6_SUBNET);
  });

  it('keeps name identities as bytes', () => {
    const { body } = expectReencode(IdPayloadCodec, ID_USER_FQDN);
    expect(idTypeName(body.idType)).toBe('ID_USER_FQDN');
    expect(idText(body)).toBe('user@example.com');
    expectTruncationErrors(IdPayloadCodec, ID_USER_FQDN);
  });

  it('decodes the 248-byte FQDN of isakmp-identification-segfault.pcap (DLT_NULL) without trouble', () => {
    // tcpdump's isakmp3.out: "(id: idtype=FQDN protoid=0 port=0 len=248 ^@^@...)": valid, if odd.
    const bytes = payloadAt(frame('tcpdump/isakmp-identification-segfault.pcap', 1), 28);
    expect(bytes.length).toBe(256);
    const { body } = expectReencode(IdPayloadCodec, bytes);
    expect(body.idType).toBe(IdType.FQDN);
    expect(body.data.kind === 'opaque' && body.data.bytes.every((b) => b === 0)).toBe(true);
    expect(body.data.kind === 'opaque' && body.data.bytes.length).toBe(248);
  });

  it('rejects ID_IPV6_ADDR_SUBNET with 24 data bytes, as in ikev1_id_ipv6_addr_subnet-oobr.pcap', () => {
    // tcpdump: "(id: idtype=IPv6net protoid=16 port=4112 len=24 [bad: < 32])". The payload starts at
    // ISAKMP offset 28, frame offset 42 + 28 = 70; its data at +8.
    const d = frame('tcpdump/ikev1_id_ipv6_addr_subnet-oobr.pcap', 1);
    const bytes = payloadAt(d, 28);
    expect(hex(bytes.subarray(0, 8))).toBe('9100002006101010');
    const e = thrownBy(() => IdPayloadCodec.decode(bytes, 70)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('id.data');
    expect(e.offset).toBe(70 + 8);
    expect(e.reason).toMatch(/32 bytes.*24/);
    expectErrorOffsetShift(IdPayloadCodec, bytes, 70);
  });

  it('rejects address forms of the wrong size', () => {
    expect(() => IdPayloadCodec.decode(fromHex('00 00 00 0d  01 11 01 f4  c0 00 02 01 00'))).toThrow(DecodeError);
    expect(() => IdPayloadCodec.decode(fromHex('00 00 00 0c  05 00 00 00  c0 00 02 01'))).toThrow(DecodeError);
  });

  it('round-trips any ID (fast-check)', () => {
    fc.assert(
      fc.property(arb.id, (p: IdPayload) => {
        const bytes = IdPayloadCodec.encode({ nextPayload: 8, body: p });
        expect(IdPayloadCodec.decode(bytes)).toEqual({ nextPayload: 8, body: p });
      }),
    );
  });
});
