import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Ipv6Codec,
  IPV6_MAX_EXTENSIONS,
  ipv6FragmentHeader,
  isIpv6Fragment,
  type Ipv6Extension,
  type Ipv6Packet,
} from '../../src/wire/ipv6.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { formatIp, type IpAddress } from '../../src/core/addr.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, thrownBy } from '../helpers/roundtrip.ts';

// No capture in /work/shared/captures carries IPv6, so the vectors are built by hand
// from the RFC 8200 layouts (§3 fixed header, §4.3 Hop-by-Hop, §4.5 Fragment, §4.6
// Destination Options; PadN is option type 1, §4.2) and were checked with Wireshark:
// it dissects both with "Checksum ... [correct]" for the UDP inside.

// A NAT-keepalive (RFC 3948 §2.3) over IPv6: 2001:db8::1:4500 -> 2001:db8:0:1::2:4500.
const PLAIN = fromHex(`
  6 00 12345              # version 6, traffic class 0, flow label 0x12345
  0009 11 40              # payload length 9, next header UDP, hop limit 64
  20010db8000000000000000000000001
  20010db8000000010000000000000002
  1194 1194 0009 823d ff  # UDP 4500 -> 4500, length 9, checksum 0x823d, payload ff
`);

// Hop-by-Hop (PadN 4), Destination Options (PadN 4), an atomic Fragment header
// (offset 0, M clear, id 0xabcdef01), then UDP 4500 -> 4500 carrying ESP SPI 0x33edbb96 seq 1.
const CHAIN = fromHex(`
  60000000 002c 00 40     # payload length 44, next header Hop-by-Hop
  20010db8000000000000000000000001
  20010db8000000010000000000000002
  3c 00 01 04 00000000    # Hop-by-Hop: next Destination Options, len 0, PadN(4)
  2c 00 01 04 00000000    # Destination Options: next Fragment, len 0, PadN(4)
  11 00 0000 abcdef01     # Fragment: next UDP, offset 0, M 0, id 0xabcdef01
  1194 1194 0014 f405 33edbb96 00000001 deadbeef
`);

const addr6 = (hex: string): IpAddress => ({ family: 6, bytes: fromHex(hex) });

describe('Ipv6Codec', () => {
  it('decodes the fixed header', () => {
    const p = Ipv6Codec.decode(PLAIN);
    expect(p.trafficClass).toBe(0);
    expect(p.flowLabel).toBe(0x12345);
    expect(p.hopLimit).toBe(64);
    expect(formatIp(p.src)).toBe('2001:db8::1');
    expect(formatIp(p.dst)).toBe('2001:db8:0:1::2');
    expect(p.extensions).toEqual([]);
    expect(p.protocol).toBe(17);
    expect(toHex(p.payload)).toBe('1194119400098' + '23dff');
  });

  it('walks Hop-by-Hop, Destination Options and an atomic Fragment header to UDP', () => {
    const p = Ipv6Codec.decode(CHAIN, 14);
    expect(p.extensions.map((e) => e.type)).toEqual([0, 60, 44]);
    expect(toHex((p.extensions[0] as { data: Uint8Array }).data)).toBe('010400000000');
    expect(ipv6FragmentHeader(p)).toEqual({
      type: 44,
      fragmentOffset: 0,
      moreFragments: false,
      identification: 0xabcdef01,
      reserved: 0,
      reservedBits: 0,
    });
    expect(isIpv6Fragment(p)).toBe(false);
    expect(p.protocol).toBe(17);
    expect(toHex(p.payload.subarray(0, 4))).toBe('11941194');
    expect(p.payload.length).toBe(20);
  });

  it('re-encodes both vectors byte for byte', () => {
    expectReencode(Ipv6Codec, PLAIN);
    expectReencode(Ipv6Codec, CHAIN);
  });

  it('every strict prefix is a DecodeError', () => {
    expectTruncationErrors(Ipv6Codec, PLAIN, { layer: 'ipv6' });
    expectTruncationErrors(Ipv6Codec, CHAIN, { base: 14, layer: 'ipv6' });
  });

  it('error offsets are absolute, inside the extension chain too', () => {
    expectErrorOffsetShift(Ipv6Codec, PLAIN.subarray(0, 30), 14);
    // Claim a Hop-by-Hop header of 88 bytes where the payload has 44.
    const bad = CHAIN.slice();
    bad[41] = 10;
    const e = thrownBy(() => Ipv6Codec.decode(bad, 14)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('ext_data');
    expect(e.offset).toBe(14 + 42);
  });

  it('stops at the Fragment header of a real fragment and reports its fields', () => {
    // First fragment (M set) of a UDP datagram; the fragment data is 16 bytes.
    const frag = fromHex(`
      60000000 0018 2c 40
      20010db8000000000000000000000001 20010db8000000010000000000000002
      11 00 0001 00000007          # Fragment: next UDP, offset 0, M 1, id 7
      1194119400300000 0102030405060708
    `);
    const p = Ipv6Codec.decode(frag);
    expect(isIpv6Fragment(p)).toBe(true);
    expect(ipv6FragmentHeader(p)).toMatchObject({ fragmentOffset: 0, moreFragments: true, identification: 7 });
    expect(p.protocol).toBe(17);
    expect(p.payload.length).toBe(16);
    expectReencode(Ipv6Codec, frag);
    // A later fragment: offset 16 bytes (field 2), M clear; what follows is data, even if it looks like a header.
    const later = frag.slice();
    later[42] = 0x00;
    later[43] = 0x10;
    later[48] = 0x3c;
    const q = Ipv6Codec.decode(later);
    expect(ipv6FragmentHeader(q)).toMatchObject({ fragmentOffset: 16, moreFragments: false });
    expect(q.extensions.length).toBe(1);
    expect(q.payload[0]).toBe(0x3c);
  });

  it('keeps Routing headers and stops at ESP', () => {
    // Routing header type 2 (RFC 6275 §6.4): len 2, type 2, segments left 1, reserved, home address.
    const rh = fromHex('02 01 00000000 20010db8000000000000000000000099');
    const v: Ipv6Packet = {
      trafficClass: 0,
      flowLabel: 0,
      hopLimit: 1,
      src: addr6('20010db8000000000000000000000001'),
      dst: addr6('20010db8000000010000000000000002'),
      extensions: [{ type: 43, data: rh }],
      protocol: 50,
      payload: fromHex('33edbb96000000010a0b'),
    };
    const bytes = Ipv6Codec.encode(v);
    expect(bytes[6]).toBe(43);
    expect(bytes[40]).toBe(50);
    expect(bytes[41]).toBe(2);
    expect(Ipv6Codec.decode(bytes)).toEqual(v);
  });

  it('bounds the chain at IPV6_MAX_EXTENSIONS headers', () => {
    const ext = (next: number) => fromHex(`${next.toString(16).padStart(2, '0')} 00 01 04 00000000`);
    const build = (n: number) => {
      const exts = Array.from({ length: n }, (_, i) => ext(i + 1 < n ? 60 : 59));
      const body = concatBytes(...exts);
      const hdr = fromHex(`60000000 ${body.length.toString(16).padStart(4, '0')} 3c 40`);
      return concatBytes(hdr, new Uint8Array(32), body);
    };
    expect(Ipv6Codec.decode(build(IPV6_MAX_EXTENSIONS)).protocol).toBe(59);
    const e = thrownBy(() => Ipv6Codec.decode(build(IPV6_MAX_EXTENSIONS + 1), 4)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('next_header');
    expect(e.offset).toBe(4 + 40 + 8 * (IPV6_MAX_EXTENSIONS - 1));
  });

  it('checks payload length against the buffer and ignores trailing bytes', () => {
    const long = PLAIN.slice();
    long[5] = 10;
    const e = thrownBy(() => Ipv6Codec.decode(long, 14)) as DecodeError;
    expect([e.layer, e.field, e.offset]).toEqual(['ipv6', 'payload_length', 18]);
    const padded = concatBytes(PLAIN, new Uint8Array(5));
    expect(toHex(Ipv6Codec.encode(Ipv6Codec.decode(padded)))).toBe(toHex(PLAIN));
  });

  it('rejects a version other than 6', () => {
    const v4 = PLAIN.slice();
    v4[0] = 0x40;
    expect((thrownBy(() => Ipv6Codec.decode(v4)) as DecodeError).field).toBe('version');
  });

  it('round-trips generated packets (property)', () => {
    const a6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes): IpAddress => ({ family: 6, bytes }));
    const optsExt = fc.record({
      type: fc.constantFrom(0 as const, 43 as const, 60 as const),
      data: fc.nat(3).chain((k) => fc.uint8Array({ minLength: 8 * k + 6, maxLength: 8 * k + 6 })),
    });
    const fragExt = (real: boolean) =>
      fc.record({
        type: fc.constant(44 as const),
        fragmentOffset: real ? fc.nat(0x1fff).map((o) => o * 8) : fc.constant(0),
        moreFragments: real ? fc.boolean() : fc.constant(false),
        identification: fc.nat(0xffffffff),
        reserved: fc.nat(255),
        reservedBits: fc.nat(3),
      });
    const upper = fc.nat(255).filter((n) => ![0, 43, 44, 60].includes(n));
    const packet: fc.Arbitrary<Ipv6Packet> = fc
      .tuple(
        fc.array(fc.oneof(optsExt, fragExt(false)), { maxLength: 6 }),
        fc.option(fragExt(true), { nil: undefined }),
        fc.nat(255),
        upper,
      )
      .chain(([chain, realFrag, anyProto, upperProto]) => {
        // After a real fragment the walk stops, so its Next Header can be anything.
        const isReal = realFrag !== undefined && (realFrag.moreFragments || realFrag.fragmentOffset !== 0);
        const extensions: Ipv6Extension[] = realFrag ? [...chain, realFrag] : chain;
        return fc.record({
          trafficClass: fc.nat(255),
          flowLabel: fc.nat(0xfffff),
          hopLimit: fc.nat(255),
          src: a6,
          dst: a6,
          extensions: fc.constant(extensions),
          protocol: fc.constant(isReal ? anyProto : upperProto),
          payload: fc.uint8Array({ maxLength: 100 }),
        });
      });
    fc.assert(
      fc.property(packet, (v) => {
        const bytes = Ipv6Codec.encode(v);
        expect(bytes.length).toBe(Ipv6Codec.encodedLength(v));
        expect(Ipv6Codec.decode(bytes)).toEqual(v);
      }),
    );
  });

  it('arbitrary bytes only ever raise DecodeError', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      fc
        .tuple(fc.uint8Array({ minLength: 39, maxLength: 39 }), fc.constantFrom(0, 43, 44, 60), fc.uint8Array({ maxLength: 120 }))
        .map(([h, nh, rest]) => {
          const b = concatBytes(Uint8Array.of(0x60), h, rest);
          b[6] = nh;
          b[4] = rest.length >> 8;
          b[5] = rest.length & 0xff;
          return b;
        }),
    );
    fc.assert(
      fc.property(bytes, fc.nat(10_000), (b, base) => {
        const e = thrownBy(() => Ipv6Codec.decode(b, base));
        if (e !== undefined) {
          expect(e).toBeInstanceOf(DecodeError);
          expect((e as DecodeError).offset).toBeGreaterThanOrEqual(base);
        }
      }),
    );
  });
});
