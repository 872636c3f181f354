import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EthernetCodec,
  LINK_MAX_VLAN_TAGS,
  LINKTYPE,
  Sll2Codec,
  SllCodec,
  decodeLink,
  isSupportedLinkType,
  type EthernetFrame,
  type Sll2Frame,
  type SllFrame,
  type VlanTag,
} from '../../src/wire/link.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { concatBytes, fromHex, toHex } from '../../src/core/bytes.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, thrownBy } from '../helpers/roundtrip.ts';
import { readPcap } from '../helpers/pcap-frames.ts';

const OUTSIDE = 'strongswan-lab/a-nat-keepalive/outside.pcap';

// strongswan-lab/a-nat-keepalive/outside.pcap frame 27, the IPv4 NAT-keepalive packet.
const KEEPALIVE_IP = fromHex('4500001dd42d40003f111338c6336401c633640266d91194000934 03ff');
// The hand-built IPv6 keepalive of ipv6.test.ts.
const KEEPALIVE_IP6 = fromHex(`
  6001234500091140 20010db8000000000000000000000001 20010db8000000010000000000000002 11941194000982 3dff
`);

// Linux cooked capture v1, 16-byte header (tcpdump.org LINKTYPE_LINUX_SLL): packet type 4 (sent by
// us), ARPHRD_ETHER 1, address length 6, address ee:dd:7f:9f:89:7b + 2 unused bytes, protocol IPv4.
// Wireshark dissects this frame as "Sent by us", IPv4, NAT-keepalive.
const SLL = concatBytes(fromHex('0004 0001 0006 eedd7f9f897b0000 0800'), KEEPALIVE_IP);
// The same with protocol 0x8100 and an 802.1Q header (TCI: PCP 1, VID 100; then type IPv4).
const SLL_VLAN = concatBytes(fromHex('0004 0001 0006 eedd7f9f897b0000 8100 2064 0800'), KEEPALIVE_IP);
// Linux cooked capture v2, 20-byte header (tcpdump.org LINKTYPE_LINUX_SLL2): protocol IPv4, reserved 0,
// interface index 3, ARPHRD_ETHER, packet type 4, address length 6, address. Wireshark agrees.
const SLL2 = concatBytes(fromHex('0800 0000 00000003 0001 04 06 eedd7f9f897b0000'), KEEPALIVE_IP);

describe('Ethernet (LINKTYPE_ETHERNET)', () => {
  it('the strongswan-lab captures are Ethernet, and frame 27 strips to its IPv4 packet', () => {
    const pcap = readPcap(OUTSIDE);
    expect(pcap.linktype).toBe(LINKTYPE.ETHERNET);
    const frame = pcap.frames[26]!.data;
    const l = decodeLink(pcap.linktype, frame, 40);
    expect(l).toEqual({ network: 'ipv4', ethertype: 0x0800, vlanIds: [], payload: KEEPALIVE_IP, payloadOffset: 54 });
    const e = EthernetCodec.decode(frame);
    expect(toHex(e.dst)).toBe('62f522a9f0af');
    expect(toHex(e.src)).toBe('eedd7f9f897b');
    expectReencode(EthernetCodec, frame);
    expectTruncationErrors(EthernetCodec, frame.subarray(0, 14), { layer: 'ethernet' });
    expectErrorOffsetShift(EthernetCodec, frame.subarray(0, 13), 40);
  });

  it('ARP (frame 13) is network "other"', () => {
    const l = decodeLink(LINKTYPE.ETHERNET, readPcap(OUTSIDE).frames[12]!.data);
    expect(l.network).toBe('other');
    expect(l.ethertype).toBe(0x0806);
  });

  it('walks 802.1Q and 802.1ad tags (IEEE 802.1Q: TPID then PCP/DEI/VID)', () => {
    const frame = readPcap(OUTSIDE).frames[26]!.data;
    const macs = frame.subarray(0, 12);
    // 802.1ad S-tag VID 200 (PCP 5, DEI 1), then 802.1Q C-tag VID 100, then IPv4.
    const qinq = concatBytes(macs, fromHex('88a8 b0c8 8100 0064 0800'), KEEPALIVE_IP);
    const l = decodeLink(LINKTYPE.ETHERNET, qinq, 100);
    expect(l.network).toBe('ipv4');
    expect(l.vlanIds).toEqual([200, 100]);
    expect(l.payloadOffset).toBe(122);
    expect(toHex(l.payload)).toBe(toHex(KEEPALIVE_IP));
    const e = expectReencode(EthernetCodec, qinq);
    expect(e.vlans).toEqual([
      { tpid: 0x88a8, pcp: 5, dei: true, vid: 200 },
      { tpid: 0x8100, pcp: 0, dei: false, vid: 100 },
    ]);
    expectTruncationErrors(EthernetCodec, qinq.subarray(0, 22), { layer: 'ethernet' });
    expect(Ipv4Codec.decode(l.payload, l.payloadOffset).checksumValid).toBe(true);
  });

  it(`bounds VLAN tags at ${LINK_MAX_VLAN_TAGS}`, () => {
    const tags = (n: number) => concatBytes(new Uint8Array(12), ...Array.from({ length: n }, () => fromHex('8100 0001')), fromHex('0800'));
    expect(decodeLink(LINKTYPE.ETHERNET, tags(LINK_MAX_VLAN_TAGS)).vlanIds.length).toBe(LINK_MAX_VLAN_TAGS);
    const e = thrownBy(() => decodeLink(LINKTYPE.ETHERNET, tags(LINK_MAX_VLAN_TAGS + 1), 7)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect([e.layer, e.field, e.offset]).toEqual(['ethernet', 'vlan', 7 + 12 + 4 * LINK_MAX_VLAN_TAGS]);
  });

  it('round-trips generated frames (property)', () => {
    const tag: fc.Arbitrary<VlanTag> = fc.record({
      tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100),
      pcp: fc.nat(7),
      dei: fc.boolean(),
      vid: fc.nat(0xfff),
    });
    const frame: fc.Arbitrary<EthernetFrame> = fc.record({
      dst: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      src: fc.uint8Array({ minLength: 6, maxLength: 6 }),
      vlans: fc.array(tag, { maxLength: 3 }),
      ethertype: fc.nat(0xffff).filter((t) => ![0x8100, 0x88a8, 0x9100].includes(t)),
      payload: fc.uint8Array({ maxLength: 100 }),
    });
    fc.assert(
      fc.property(frame, (v) => {
        const bytes = EthernetCodec.encode(v);
        expect(bytes.length).toBe(EthernetCodec.encodedLength(v));
        expect(EthernetCodec.decode(bytes)).toEqual(v);
      }),
    );
  });
});

describe('NULL and LOOP', () => {
  it('tcpdump ikev2four.pcap is DLT_NULL; frame 1 has AF_INET in little-endian order', () => {
    const pcap = readPcap('tcpdump/ikev2four.pcap');
    expect(pcap.linktype).toBe(LINKTYPE.NULL);
    const frame = pcap.frames[0]!.data;
    expect(toHex(frame.subarray(0, 4))).toBe('02000000');
    const l = decodeLink(pcap.linktype, frame, 40);
    expect([l.network, l.af, l.ethertype, l.payloadOffset]).toEqual(['ipv4', 2, undefined, 44]);
    const ip = Ipv4Codec.decode(l.payload, l.payloadOffset);
    expect(ip.checksumValid).toBe(true);
    expect(ip.protocol).toBe(17);
    expectTruncationErrors({ decode: (b, base) => decodeLink(LINKTYPE.NULL, b, base), encode: () => new Uint8Array(0), encodedLength: () => 0 }, frame.subarray(0, 4));
  });

  it('NULL accepts the family in either byte order; the AF_INET6 values of the BSDs and Darwin', () => {
    for (const [hdr, net, af] of [
      ['00000002', 'ipv4', 2],
      ['18000000', 'ipv6', 24],
      ['0000001c', 'ipv6', 28],
      ['1e000000', 'ipv6', 30],
      ['0000000a', 'other', 10],
    ] as const) {
      const l = decodeLink(LINKTYPE.NULL, concatBytes(fromHex(hdr), KEEPALIVE_IP6));
      expect([l.network, l.af], hdr).toEqual([net, af]);
    }
  });

  it('LOOP is network order only', () => {
    expect(decodeLink(LINKTYPE.LOOP, concatBytes(fromHex('00000002'), KEEPALIVE_IP))).toMatchObject({ network: 'ipv4', af: 2 });
    expect(decodeLink(LINKTYPE.LOOP, concatBytes(fromHex('00000018'), KEEPALIVE_IP6))).toMatchObject({ network: 'ipv6', af: 24 });
    expect(decodeLink(LINKTYPE.LOOP, concatBytes(fromHex('02000000'), KEEPALIVE_IP))).toMatchObject({ network: 'other', af: 0x02000000 });
  });
});

describe('Linux cooked captures', () => {
  it('SLL: header fields, IPv4 payload at offset 16', () => {
    const l = decodeLink(LINKTYPE.LINUX_SLL, SLL, 40);
    expect(l).toEqual({ network: 'ipv4', ethertype: 0x0800, vlanIds: [], payload: KEEPALIVE_IP, payloadOffset: 56 });
    const f = expectReencode(SllCodec, SLL);
    expect([f.packetType, f.arphrdType, f.addressLength, toHex(f.address)]).toEqual([4, 1, 6, 'eedd7f9f897b0000']);
    expectTruncationErrors(SllCodec, SLL.subarray(0, 16), { layer: 'sll' });
    expectErrorOffsetShift(SllCodec, SLL.subarray(0, 15), 40);
  });

  it('SLL with a VLAN header after protocol 0x8100', () => {
    const l = decodeLink(LINKTYPE.LINUX_SLL, SLL_VLAN);
    expect([l.network, l.vlanIds, l.payloadOffset]).toEqual(['ipv4', [100], 20]);
    expectReencode(SllCodec, SLL_VLAN);
  });

  it('SLL2: header fields, IPv4 payload at offset 20', () => {
    const l = decodeLink(LINKTYPE.LINUX_SLL2, SLL2, 40);
    expect(l).toEqual({ network: 'ipv4', ethertype: 0x0800, vlanIds: [], payload: KEEPALIVE_IP, payloadOffset: 60 });
    const f = expectReencode(Sll2Codec, SLL2);
    expect([f.protocol, f.interfaceIndex, f.arphrdType, f.packetType, f.addressLength]).toEqual([0x0800, 3, 1, 4, 6]);
    expectTruncationErrors(Sll2Codec, SLL2.subarray(0, 20), { layer: 'sll2' });
    expectErrorOffsetShift(Sll2Codec, SLL2.subarray(0, 19), 40);
    const v6 = concatBytes(fromHex('86dd 0000 00000003 0001 00 06 eedd7f9f897b0000'), KEEPALIVE_IP6);
    expect(decodeLink(LINKTYPE.LINUX_SLL2, v6).network).toBe('ipv6');
  });

  it('round-trip generated SLL and SLL2 frames (property)', () => {
    const tag: fc.Arbitrary<VlanTag> = fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), pcp: fc.nat(7), dei: fc.boolean(), vid: fc.nat(0xfff) });
    const proto = fc.nat(0xffff).filter((t) => ![0x8100, 0x88a8, 0x9100].includes(t));
    const sll: fc.Arbitrary<SllFrame> = fc.record({
      packetType: fc.nat(0xffff),
      arphrdType: fc.nat(0xffff),
      addressLength: fc.nat(0xffff),
      address: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      protocol: proto,
      vlans: fc.array(tag, { maxLength: 2 }),
      payload: fc.uint8Array({ maxLength: 60 }),
    });
    const sll2: fc.Arbitrary<Sll2Frame> = fc.record({
      protocol: proto,
      reserved: fc.nat(0xffff),
      interfaceIndex: fc.nat(0xffffffff),
      arphrdType: fc.nat(0xffff),
      packetType: fc.nat(255),
      addressLength: fc.nat(255),
      address: fc.uint8Array({ minLength: 8, maxLength: 8 }),
      vlans: fc.array(tag, { maxLength: 2 }),
      payload: fc.uint8Array({ maxLength: 60 }),
    });
    fc.assert(
      fc.property(sll, (v) => {
        expect(SllCodec.decode(SllCodec.encode(v))).toEqual(v);
      }),
    );
    fc.assert(
      fc.property(sll2, (v) => {
        expect(Sll2Codec.decode(Sll2Codec.encode(v))).toEqual(v);
      }),
    );
  });
});

describe('raw IP link types', () => {
  it('RAW (101) and the DLT_RAW values 12 and 14 pick IPv4 or IPv6 by the version nibble', () => {
    for (const lt of [LINKTYPE.RAW, LINKTYPE.DLT_RAW, LINKTYPE.DLT_RAW_OPENBSD]) {
      expect(decodeLink(lt, KEEPALIVE_IP, 16)).toEqual({ network: 'ipv4', vlanIds: [], payload: KEEPALIVE_IP, payloadOffset: 16 });
      expect(decodeLink(lt, KEEPALIVE_IP6).network).toBe('ipv6');
      expect(decodeLink(lt, Uint8Array.of(0x50)).network).toBe('other');
      const e = thrownBy(() => decodeLink(lt, new Uint8Array(0), 16)) as DecodeError;
      expect([e.layer, e.field, e.offset]).toEqual(['raw', 'version', 16]);
    }
  });

  it('IPV4 (228) and IPV6 (229) need no look at the bytes', () => {
    expect(decodeLink(LINKTYPE.IPV4, KEEPALIVE_IP).network).toBe('ipv4');
    expect(decodeLink(LINKTYPE.IPV6, KEEPALIVE_IP6).network).toBe('ipv6');
  });
});

describe('decodeLink', () => {
  it('an unsupported link type is a DecodeError of layer "link", field "linktype"', () => {
    const e = thrownBy(() => decodeLink(147, KEEPALIVE_IP, 40)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect([e.layer, e.field, e.offset]).toEqual(['link', 'linktype', 40]);
    expect(e.reason).toMatch(/147/);
    expect(isSupportedLinkType(147)).toBe(false);
    expect(isSupportedLinkType(276)).toBe(true);
  });

  it('arbitrary bytes only ever raise DecodeError, for every link type (property)', () => {
    const types = [...Object.values(LINKTYPE), 2, 147];
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 64 }), fc.nat(10_000), (lt, b, base) => {
        const e = thrownBy(() => {
          const l = decodeLink(lt, b, base);
          expect(l.payloadOffset - base + l.payload.length).toBe(b.length);
        });
        if (e !== undefined) expect(e).toBeInstanceOf(DecodeError);
      }),
    );
  });
});
