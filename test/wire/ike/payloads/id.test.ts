import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IdType, PayloadType } from '../../../../src/wire/ike/constants.ts';
import { idPayloadBodyBytes, idPayloadCodec } from '../../../../src/wire/ike/payloads/id.ts';
import { fromHex } from '../../../../src/core/bytes.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips } from '../support.ts';
import { IDI_FQDN, IDI_IPV4, IDR_FQDN } from '../vectors.ts';

const idi = idPayloadCodec(PayloadType.IDi);
const idr = idPayloadCodec(PayloadType.IDr);

describe('ID payloads (IDi / IDr)', () => {
  it('decodes strongSwan IDi "ini.lab" and IDr "rsp.lab" (outside.pcap frames 3/4, decrypted; manifest ids)', () => {
    const a = idi.decode(IDI_FQDN);
    expect(a.nextPayload).toBe(PayloadType.N);
    expect(a.payload).toMatchObject({ type: PayloadType.IDi, critical: false, idType: IdType.FQDN });
    expect(Buffer.from(a.payload.data).toString()).toBe('ini.lab');
    const b = idr.decode(IDR_FQDN);
    expect(b.nextPayload).toBe(PayloadType.AUTH);
    expect(b.payload.type).toBe(PayloadType.IDr);
    expect(Buffer.from(b.payload.data).toString()).toBe('rsp.lab');
  });

  it('bounds the IPV4_ADDR identity of tcpdump ikev2-id-normal.pcap by its payload length (offset 28)', () => {
    expectFromCapture(IDI_IPV4, 'tcpdump/ikev2-id-normal.pcap', 1, 28);
    const { nextPayload, payload } = idi.decode(IDI_IPV4);
    expect(nextPayload).toBe(PayloadType.NONE);
    expect(payload.idType).toBe(IdType.IPV4_ADDR);
    // ikev2-id-normal.out: "(v2IDi: len=5 01000000de ipv4:de)": the payload length bounds the data to one
    // byte (tshark reads on and shows 222.173.190.239); checking an address is 4 bytes is semantic, not framing.
    expect([...payload.data]).toEqual([0xde]);
  });

  it('the type follows the codec it was decoded with', () => {
    expect(idr.decode(IDI_FQDN).payload.type).toBe(PayloadType.IDr);
  });

  it.each([
    ['IDi FQDN', idi, IDI_FQDN],
    ['IDr FQDN', idr, IDR_FQDN],
    ['IDi IPv4', idi, IDI_IPV4],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, codec, vec) => {
    expectReencode(codec, vec);
    expectTruncationErrors(codec, vec, { layer: 'ikev2' });
  });

  it('keeps RESERVED (it is covered by AUTH) and gives the AUTH input bytes', () => {
    const v = expectReencode(idi, fromHex('00 00 000b 0b 123456 abcd ef'));
    expect(v.payload.reserved).toBe(0x123456);
    expect(hex(idPayloadBodyBytes(v.payload))).toBe('0b123456abcdef');
    expect(hex(idPayloadBodyBytes(idi.decode(IDI_FQDN).payload))).toBe(hex(IDI_FQDN.subarray(4)));
  });

  it('round-trips arbitrary ID payloads', () => {
    for (const [type, codec] of [
      [PayloadType.IDi, idi],
      [PayloadType.IDr, idr],
    ] as const) {
      expectPayloadRoundTrips(
        codec,
        fc
          .tuple(headerFields, fc.integer({ min: 0, max: 255 }), bytes(40), fc.integer({ min: 0, max: 0xffffff }))
          .map(([h, idType, data, r]) => ({ type, ...h, idType, data, ...(r ? { reserved: r } : {}) })),
        100,
      );
    }
  });
});
