import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { UdpCodec, encodeUdp, udpChecksum, verifyUdpChecksum, type UdpDatagram } from '../../src/wire/udp.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec } from '../../src/wire/ipv6.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { parseIp } from '../../src/core/addr.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, thrownBy } from '../helpers/roundtrip.ts';
import { readPcap } from '../helpers/pcap-frames.ts';

const LAB = [
  'strongswan-lab/a-nat-keepalive/outside.pcap',
  'strongswan-lab/a-nat-keepalive/inside.pcap',
  'strongswan-lab/b-nonat/outside.pcap',
  'strongswan-lab/debian-5.9.8-nat/outside.pcap',
];

// strongswan-lab/a-nat-keepalive/outside.pcap frame 27: the UDP datagram of a NAT-keepalive
// (IPv4 198.51.100.1 -> 198.51.100.2).
const KEEPALIVE_UDP = fromHex(`
  66d9 1194   # 26329 -> 4500
  0009 3403   # length 9, checksum 0x3403
  ff          # RFC 3948 §2.3 keepalive
`);
const SRC4 = parseIp('198.51.100.1');
const DST4 = parseIp('198.51.100.2');

// Hand-built IPv6 keepalive (see ipv6.test.ts, Wireshark: "Checksum: 0x823d [correct]").
const SRC6 = parseIp('2001:db8::1');
const DST6 = parseIp('2001:db8:0:1::2');
const KEEPALIVE_UDP6 = fromHex('1194 1194 0009 823d ff');

/** Every UDP-in-IPv4 datagram of a capture (Ethernet), with its addresses. */
function udpFrames(path: string) {
  const out: { number: number; src: typeof SRC4; dst: typeof DST4; udp: Uint8Array }[] = [];
  for (const f of readPcap(path).frames) {
    if (f.data[12] !== 0x08 || f.data[13] !== 0x00) continue;
    const ip = Ipv4Codec.decode(f.data.subarray(14), 14);
    if (ip.protocol === 17) out.push({ number: f.number, src: ip.src, dst: ip.dst, udp: ip.payload });
  }
  return out;
}

describe('UdpCodec', () => {
  it('decodes the keepalive datagram of frame 27', () => {
    const d = UdpCodec.decode(KEEPALIVE_UDP, 34);
    expect(d.srcPort).toBe(26329);
    expect(d.dstPort).toBe(4500);
    expect(d.checksum).toBe(0x3403);
    expect(toHex(d.payload)).toBe('ff');
  });

  it('re-encodes byte for byte, and every strict prefix is a DecodeError', () => {
    expectReencode(UdpCodec, KEEPALIVE_UDP);
    expectTruncationErrors(UdpCodec, KEEPALIVE_UDP, { base: 34, layer: 'udp' });
    expectErrorOffsetShift(UdpCodec, KEEPALIVE_UDP.subarray(0, 5), 34);
  });

  it('checks the length field against the header size and the bytes available', () => {
    const short = KEEPALIVE_UDP.slice();
    short[5] = 7;
    const e1 = thrownBy(() => UdpCodec.decode(short, 34)) as DecodeError;
    expect([e1.layer, e1.field, e1.offset]).toEqual(['udp', 'length', 38]);
    const long = KEEPALIVE_UDP.slice();
    long[5] = 10;
    const e2 = thrownBy(() => UdpCodec.decode(long, 34)) as DecodeError;
    expect([e2.field, e2.offset]).toEqual(['length', 38]);
    const padded = concatBytes(KEEPALIVE_UDP, new Uint8Array(3));
    expect(toHex(UdpCodec.decode(padded).payload)).toBe('ff');
  });

  it('round-trips generated datagrams (property)', () => {
    const d: fc.Arbitrary<UdpDatagram> = fc.record({
      srcPort: fc.nat(0xffff),
      dstPort: fc.nat(0xffff),
      checksum: fc.nat(0xffff),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(d, (v) => {
        const bytes = UdpCodec.encode(v);
        expect(bytes.length).toBe(UdpCodec.encodedLength(v));
        expect(UdpCodec.decode(bytes)).toEqual(v);
      }),
    );
  });

  it('arbitrary bytes only ever raise DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(10_000), (b, base) => {
        const e = thrownBy(() => UdpCodec.decode(b, base));
        if (e !== undefined) expect(e).toBeInstanceOf(DecodeError);
      }),
    );
  });
});

describe('UDP checksum', () => {
  it('computes what the strongswan-lab captures carry, for every UDP datagram', () => {
    let n = 0;
    for (const path of LAB) {
      for (const f of udpFrames(path)) {
        const d = UdpCodec.decode(f.udp);
        expect(udpChecksum(f.src, f.dst, f.udp), `${path} frame ${f.number}`).toBe(d.checksum);
        expect(verifyUdpChecksum(f.src, f.dst, f.udp), `${path} frame ${f.number}`).toBe('valid');
        n++;
      }
    }
    expect(n).toBe(99);
  });

  it('frame 27 carries 0x3403; encodeUdp reproduces the datagram', () => {
    expect(udpChecksum(SRC4, DST4, KEEPALIVE_UDP)).toBe(0x3403);
    const d = UdpCodec.decode(KEEPALIVE_UDP);
    expect(toHex(encodeUdp(d, { src: SRC4, dst: DST4 }))).toBe(toHex(KEEPALIVE_UDP));
    const out = new Uint8Array(20).fill(0xa5);
    encodeUdp(d, { src: SRC4, dst: DST4, checksum: 'compute' }, out, 5);
    expect(toHex(out)).toBe('a5'.repeat(5) + toHex(KEEPALIVE_UDP) + 'a5'.repeat(6));
  });

  it('over IPv6 uses the RFC 8200 §8.1 pseudo-header', () => {
    expect(udpChecksum(SRC6, DST6, KEEPALIVE_UDP6)).toBe(0x823d);
    expect(verifyUdpChecksum(SRC6, DST6, KEEPALIVE_UDP6)).toBe('valid');
    // The IPv6 vector's UDP, as the IPv6 codec finds it.
    const ip6 = Ipv6Codec.encode({ trafficClass: 0, flowLabel: 0, hopLimit: 64, src: SRC6, dst: DST6, extensions: [], protocol: 17, payload: KEEPALIVE_UDP6 });
    expect(verifyUdpChecksum(SRC6, DST6, Ipv6Codec.decode(ip6).payload)).toBe('valid');
    // The IPv4 pseudo-header gives something else for the same datagram.
    expect(verifyUdpChecksum(SRC4, DST4, KEEPALIVE_UDP6)).toBe('invalid');
  });

  it("reports 'zero' for no checksum and 'invalid' for a wrong one", () => {
    const zero = KEEPALIVE_UDP.slice();
    zero[6] = 0;
    zero[7] = 0;
    expect(verifyUdpChecksum(SRC4, DST4, zero)).toBe('zero');
    const wrong = KEEPALIVE_UDP.slice();
    wrong[7] = 0x13;
    expect(verifyUdpChecksum(SRC4, DST4, wrong)).toBe('invalid');
    const payloadFlip = KEEPALIVE_UDP.slice();
    payloadFlip[8] = 0xfe;
    expect(verifyUdpChecksum(SRC4, DST4, payloadFlip)).toBe('invalid');
    expect(verifyUdpChecksum(SRC4, DST4, KEEPALIVE_UDP.subarray(0, 7))).toBe('invalid');
  });

  it('checks only the Length field worth of bytes when more follow', () => {
    expect(verifyUdpChecksum(SRC4, DST4, concatBytes(KEEPALIVE_UDP, fromHex('0102')))).toBe('valid');
  });

  it("encodes a zero checksum over IPv4 on request (RFC 3948 §3.1.1), never over IPv6", () => {
    const d = { srcPort: 4500, dstPort: 4500, payload: Uint8Array.of(0xff) };
    expect(toHex(encodeUdp(d, { src: SRC4, dst: DST4, checksum: 'zero' }))).toBe('119411940009' + '0000' + 'ff');
    expect(() => encodeUdp(d, { src: SRC6, dst: DST6, checksum: 'zero' })).toThrow(RangeError);
  });

  it('sends a computed 0 as 0xffff, which verifies', () => {
    // Choose the last payload word so the sum comes out as 0xffff (checksum 0).
    const base = { srcPort: 1000, dstPort: 2000, payload: new Uint8Array(4) };
    const c0 = udpChecksum(SRC4, DST4, UdpCodec.encode({ ...base, checksum: 0 }));
    // c0 = ~S; adding the word w = c0 makes the sum S + ~S = 0xffff.
    const payload = Uint8Array.of(0, 0, c0 >> 8, c0 & 0xff);
    const bytes = encodeUdp({ ...base, payload }, { src: SRC4, dst: DST4 });
    expect(toHex(bytes.subarray(6, 8))).toBe('ffff');
    expect(verifyUdpChecksum(SRC4, DST4, bytes)).toBe('valid');
  });

  it('encodeUdp output always verifies (property)', () => {
    const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 4, maxLength: 4 }));
    const v6 = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }));
    fc.assert(
      fc.property(fc.oneof(v4, v6), fc.nat(0xffff), fc.nat(0xffff), fc.uint8Array({ maxLength: 200 }), ([s, d], sp, dp, payload) => {
        const family = s.length === 4 ? (4 as const) : (6 as const);
        const addrs = { src: { family, bytes: s }, dst: { family, bytes: d } };
        const bytes = encodeUdp({ srcPort: sp, dstPort: dp, payload }, addrs);
        expect(verifyUdpChecksum(addrs.src, addrs.dst, bytes)).toBe('valid');
      }),
    );
  });
});
