import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EspCodec, type EspPacket } from '../../src/wire/esp.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { UdpCodec } from '../../src/wire/udp.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, thrownBy } from '../helpers/roundtrip.ts';
import { readPcap } from '../helpers/pcap-frames.ts';

const OUTSIDE = 'strongswan-lab/a-nat-keepalive/outside.pcap';
const NONAT = 'strongswan-lab/b-nonat/outside.pcap';

/** The IPv4 payload of an Ethernet frame. */
const ipPayload = (frame: Uint8Array) => Ipv4Codec.decode(frame.subarray(14), 14);

describe('EspCodec', () => {
  it('decodes ESP-in-UDP from frame 5 of the strongswan-lab outside capture (SPI 33edbb96, seq 1)', () => {
    const frame = readPcap(OUTSIDE).frames[4]!.data;
    const udp = UdpCodec.decode(ipPayload(frame).payload, 34);
    // Frame 5 bytes 42..: 33edbb96 00000001 then the AES-GCM IV 0f9a9ed72daee1d8 ...
    const esp = EspCodec.decode(udp.payload, 42);
    expect(esp.spi).toBe(0x33edbb96);
    expect(esp.sequence).toBe(1);
    expect(esp.body.length).toBe(112);
    expect(toHex(esp.body.subarray(0, 8))).toBe('0f9a9ed72daee1d8');
    expectReencode(EspCodec, udp.payload);
  });

  it('decodes raw ESP (IP protocol 50) from frame 5 of the strongswan-lab b-nonat capture', () => {
    const ip = ipPayload(readPcap(NONAT).frames[4]!.data);
    expect(ip.protocol).toBe(50);
    const esp = EspCodec.decode(ip.payload, 34);
    expect(esp.spi).toBe(0xf2fd46db);
    expect(esp.sequence).toBe(1);
    expectReencode(EspCodec, ip.payload);
  });

  it('follows the sequence numbers of both SAs through the outside capture', () => {
    const seqs: Record<string, number[]> = {};
    for (const f of readPcap(OUTSIDE).frames) {
      if (f.data.length < 42 || f.data[23] !== 17) continue;
      const udp = UdpCodec.decode(ipPayload(f.data).payload, 34);
      // Skip IKE on port 500, keepalives, and IKE behind the non-ESP marker.
      if (udp.srcPort === 500 || udp.dstPort === 500) continue;
      if (udp.payload.length < 8 || udp.payload.subarray(0, 4).every((b) => b === 0)) continue;
      const esp = EspCodec.decode(udp.payload, 42);
      (seqs[esp.spi.toString(16)] ??= []).push(esp.sequence);
    }
    const oneToTen = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(seqs).toEqual({ '33edbb96': oneToTen, d80bade7: oneToTen });
  });

  it('needs SPI and sequence: every prefix under 8 bytes is a DecodeError', () => {
    const minimal = fromHex('33edbb96 00000001');
    expectTruncationErrors(EspCodec, minimal, { base: 42, layer: 'esp' });
    expectErrorOffsetShift(EspCodec, minimal.subarray(0, 5), 42);
    expect(EspCodec.decode(minimal).body.length).toBe(0);
  });

  it('rejects the reserved SPI 0', () => {
    const e = thrownBy(() => EspCodec.decode(fromHex('00000000 00000001 ff'), 42)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect([e.layer, e.field, e.offset]).toEqual(['esp', 'spi', 42]);
    expect(() => EspCodec.encode({ spi: 0, sequence: 1, body: new Uint8Array(0) })).toThrow(RangeError);
  });

  it('round-trips generated packets (property)', () => {
    const p: fc.Arbitrary<EspPacket> = fc.record({
      spi: fc.integer({ min: 1, max: 0xffffffff }),
      sequence: fc.nat(0xffffffff),
      body: fc.uint8Array({ maxLength: 200 }),
    });
    fc.assert(
      fc.property(p, (v) => {
        const bytes = EspCodec.encode(v);
        expect(bytes.length).toBe(EspCodec.encodedLength(v));
        expect(EspCodec.decode(bytes)).toEqual(v);
      }),
    );
  });

  it('arbitrary bytes only ever raise DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.nat(10_000), (b, base) => {
        const e = thrownBy(() => EspCodec.decode(b, base));
        if (e !== undefined) expect(e).toBeInstanceOf(DecodeError);
      }),
    );
  });
});
