import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Ipv4Codec, ipv4HeaderChecksum, isIpv4Fragment, verifyIpv4HeaderChecksum, type Ipv4Packet } from '../../src/wire/ipv4.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { formatIp, ipv4 } from '../../src/core/addr.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, thrownBy } from '../helpers/roundtrip.ts';
import { readPcap } from '../helpers/pcap-frames.ts';

const OUTSIDE = 'strongswan-lab/a-nat-keepalive/outside.pcap';

// strongswan-lab/a-nat-keepalive/outside.pcap frame 27 (NAT-keepalive 198.51.100.1:26329 -> 198.51.100.2:4500),
// the IPv4 packet after the 14-byte Ethernet header.
const KEEPALIVE_IP = fromHex(`
  45 00 001d      # version 4, IHL 5; DSCP 0 ECN 0; total length 29
  d42d 4000       # identification 0xd42d; flags DF, offset 0
  3f 11 1338      # TTL 63, protocol UDP, header checksum 0x1338
  c6336401        # src 198.51.100.1
  c6336402        # dst 198.51.100.2
  66d9 1194 0009 3403 ff   # UDP 26329 -> 4500, length 9, checksum 0x3403, payload ff
`);

// The frame-27 packet with a Router Alert option (RFC 2113 §2.1: 94 04 0000) and DSCP EF / ECT(1),
// built by hand; Wireshark dissects it as IHL 6, "Header Checksum: 0x7d76 [correct]".
const WITH_OPTIONS = fromHex(`
  46 b9 0021 d42d 4000 3f 11 7d76 c6336401 c6336402
  94040000        # Router Alert
  66d9 1194 0009 3403 ff
`);

describe('Ipv4Codec', () => {
  it('decodes frame 27 of the strongswan-lab outside capture field by field', () => {
    const frame = readPcap(OUTSIDE).frames[26]!.data;
    expect(toHex(frame.subarray(14))).toBe(toHex(KEEPALIVE_IP));
    const p = Ipv4Codec.decode(KEEPALIVE_IP);
    expect(p.dscp).toBe(0);
    expect(p.ecn).toBe(0);
    expect(p.identification).toBe(0xd42d);
    expect(p.reservedFlag).toBe(false);
    expect(p.dontFragment).toBe(true);
    expect(p.moreFragments).toBe(false);
    expect(p.fragmentOffset).toBe(0);
    expect(p.ttl).toBe(63);
    expect(p.protocol).toBe(17);
    expect(p.checksum).toBe(0x1338);
    expect(p.checksumValid).toBe(true);
    expect(formatIp(p.src)).toBe('198.51.100.1');
    expect(formatIp(p.dst)).toBe('198.51.100.2');
    expect(p.options.length).toBe(0);
    expect(toHex(p.payload)).toBe('66d9119400093403ff');
    expect(isIpv4Fragment(p)).toBe(false);
  });

  it('re-encodes the captured packet byte for byte into a pre-filled buffer', () => {
    expectReencode(Ipv4Codec, KEEPALIVE_IP);
  });

  it('decodes and re-encodes a header with options', () => {
    const p = expectReencode(Ipv4Codec, WITH_OPTIONS);
    expect(p.dscp).toBe(46);
    expect(p.ecn).toBe(1);
    expect(toHex(p.options)).toBe('94040000');
    expect(p.checksum).toBe(0x7d76);
    expect(p.checksumValid).toBe(true);
    expect(p.payload.length).toBe(9);
  });

  it('every strict prefix is a DecodeError of layer ipv4', () => {
    expectTruncationErrors(Ipv4Codec, KEEPALIVE_IP, { layer: 'ipv4' });
    expectTruncationErrors(Ipv4Codec, WITH_OPTIONS, { base: 14, layer: 'ipv4' });
  });

  it('error offsets are absolute', () => {
    expectErrorOffsetShift(Ipv4Codec, KEEPALIVE_IP.subarray(0, 10), 14);
    const e = thrownBy(() => Ipv4Codec.decode(KEEPALIVE_IP.subarray(0, 28), 14)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('total_length');
    expect(e.offset).toBe(16);
  });

  it('verifies the header checksum of every IPv4 frame of the strongswan-lab captures', () => {
    let n = 0;
    for (const path of [OUTSIDE, 'strongswan-lab/a-nat-keepalive/inside.pcap', 'strongswan-lab/b-nonat/outside.pcap']) {
      for (const f of readPcap(path).frames) {
        if (f.data[12] !== 0x08 || f.data[13] !== 0x00) continue;
        const ip = f.data.subarray(14);
        const p = Ipv4Codec.decode(ip, 14);
        expect(p.checksumValid, `${path} frame ${f.number}`).toBe(true);
        expect(ipv4HeaderChecksum(ip.subarray(0, 20 + p.options.length))).toBe(p.checksum);
        expect(toHex(Ipv4Codec.encode(p))).toBe(toHex(ip.subarray(0, 20 + p.options.length + p.payload.length)));
        n++;
      }
    }
    expect(n).toBeGreaterThan(80);
  });

  it('reports a bad checksum without throwing; encode recomputes it unless asked to keep it', () => {
    const bad = KEEPALIVE_IP.slice();
    bad[11] = 0x39;
    const p = Ipv4Codec.decode(bad);
    expect(p.checksum).toBe(0x1339);
    expect(p.checksumValid).toBe(false);
    expect(verifyIpv4HeaderChecksum(bad.subarray(0, 20))).toBe(false);
    expect(toHex(Ipv4Codec.encode(p))).toBe(toHex(KEEPALIVE_IP));
    expect(toHex(Ipv4Codec.encode({ ...p, keepChecksum: true }))).toBe(toHex(bad));
  });

  it('ignores bytes after total length (Ethernet padding) and cuts the payload there', () => {
    const padded = new Uint8Array(46);
    padded.set(KEEPALIVE_IP);
    const p = Ipv4Codec.decode(padded);
    expect(toHex(p.payload)).toBe('66d9119400093403ff');
    expect(toHex(Ipv4Codec.encode(p))).toBe(toHex(KEEPALIVE_IP));
  });

  it('rejects total_length below the header length and above the bytes available', () => {
    const short = KEEPALIVE_IP.slice();
    short[2] = 0;
    short[3] = 19;
    const e1 = thrownBy(() => Ipv4Codec.decode(short, 100)) as DecodeError;
    expect(e1).toBeInstanceOf(DecodeError);
    expect([e1.layer, e1.field, e1.offset]).toEqual(['ipv4', 'total_length', 102]);
    const long = KEEPALIVE_IP.slice();
    long[3] = 30;
    const e2 = thrownBy(() => Ipv4Codec.decode(long)) as DecodeError;
    expect([e2.field, e2.offset]).toEqual(['total_length', 2]);
    expect(e2.reason).toMatch(/30 exceeds the 29 bytes/);
  });

  it('rejects a version other than 4 and an IHL below 5', () => {
    const v6 = KEEPALIVE_IP.slice();
    v6[0] = 0x65;
    expect((thrownBy(() => Ipv4Codec.decode(v6)) as DecodeError).field).toBe('version');
    const ihl4 = KEEPALIVE_IP.slice();
    ihl4[0] = 0x44;
    expect((thrownBy(() => Ipv4Codec.decode(ihl4)) as DecodeError).field).toBe('ihl');
  });

  it('decodes flags and the fragment offset in bytes', () => {
    const frag = KEEPALIVE_IP.slice();
    frag[6] = 0xa0; // reserved + MF, offset high bits 0
    frag[7] = 0xb9; // offset 185 * 8 = 1480
    const p = Ipv4Codec.decode(frag);
    expect([p.reservedFlag, p.dontFragment, p.moreFragments, p.fragmentOffset]).toEqual([true, false, true, 1480]);
    expect(isIpv4Fragment(p)).toBe(true);
    expect(p.checksumValid).toBe(false);
    expect(toHex(Ipv4Codec.encode({ ...p, keepChecksum: true }))).toBe(toHex(frag));
  });

  it('encode refuses values it cannot represent', () => {
    const p = Ipv4Codec.decode(KEEPALIVE_IP);
    expect(() => Ipv4Codec.encode({ ...p, options: new Uint8Array(3) })).toThrow(RangeError);
    expect(() => Ipv4Codec.encode({ ...p, options: new Uint8Array(44) })).toThrow(RangeError);
    expect(() => Ipv4Codec.encode({ ...p, fragmentOffset: 7 })).toThrow(RangeError);
    expect(() => Ipv4Codec.encode({ ...p, payload: new Uint8Array(65516) })).toThrow(RangeError);
  });

  it('round-trips generated packets (property)', () => {
    const addr = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c, d]) => ipv4(a, b, c, d));
    const packet: fc.Arbitrary<Ipv4Packet> = fc.record({
      dscp: fc.nat(63),
      ecn: fc.nat(3),
      identification: fc.nat(0xffff),
      reservedFlag: fc.boolean(),
      dontFragment: fc.boolean(),
      moreFragments: fc.boolean(),
      fragmentOffset: fc.nat(0x1fff).map((o) => o * 8),
      ttl: fc.nat(255),
      protocol: fc.nat(255),
      src: addr,
      dst: addr,
      options: fc.nat(10).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 })),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(packet, (v) => {
        const bytes = Ipv4Codec.encode(v);
        expect(bytes.length).toBe(Ipv4Codec.encodedLength(v));
        const { checksum, checksumValid, ...rest } = Ipv4Codec.decode(bytes);
        expect(rest).toEqual(v);
        expect(checksumValid).toBe(true);
        expect(checksum).toBe(ipv4HeaderChecksum(bytes.subarray(0, 20 + v.options.length)));
      }),
    );
  });

  it('arbitrary bytes only ever raise DecodeError', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      fc.tuple(fc.integer({ min: 0x40, max: 0x4f }), fc.uint8Array({ maxLength: 80 })).map(([b0, rest]) => Uint8Array.of(b0, ...rest)),
    );
    fc.assert(
      fc.property(bytes, fc.nat(10_000), (b, base) => {
        const e = thrownBy(() => Ipv4Codec.decode(b, base));
        if (e !== undefined) {
          expect(e).toBeInstanceOf(DecodeError);
          expect((e as DecodeError).offset).toBeGreaterThanOrEqual(base);
        }
      }),
    );
  });
});
