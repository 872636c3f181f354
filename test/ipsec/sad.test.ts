/** SAD (rekey, float, selectors, validation) and the outer framing of the processor. */
import { describe, expect, it } from 'vitest';
import { endpoint, formatIp, parseIp, parsePrefix, SeededRng, toHex } from '../../src/core/index.ts';
import { EncrId, IntegId } from '../../src/crypto/algorithms.ts';
import { EspProcessor, ESP_DROP } from '../../src/ipsec/esp-processor.ts';
import { SadError, SecurityAssociationDatabase, type ChildSaInput } from '../../src/ipsec/sad.ts';
import { Ipv4Reassembler, Ipv6Reassembler } from '../../src/wire/ip-reassembly.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec, ipv6FragmentHeader } from '../../src/wire/ipv6.ts';
import { UdpCodec, encodeUdp } from '../../src/wire/udp.ts';
import { KEEPALIVE, frameIke } from '../../src/wire/udp-encap.ts';
import { INNER_A, INNER_B, SUITES, icmp6Echo, icmpEcho, keysFor, makePair } from './fixtures.ts';

const GCM = SUITES['aes128gcm16']!;

function sa(spi: number, extra: Partial<ChildSaInput> = {}): ChildSaInput {
  return {
    spi,
    suite: GCM,
    ...keysFor(GCM, spi & 0xff),
    esn: false,
    replayWindow: 64,
    encap: { local: endpoint('192.0.2.1', 4500), remote: endpoint('198.51.100.2', 4500) },
    ...extra,
  };
}

describe('rekeying', () => {
  it('replaces the outbound SA at once and keeps the old inbound SA until it is deleted', () => {
    const sadA = new SecurityAssociationDatabase();
    const sadB = new SecurityAssociationDatabase();
    sadA.installChild('net', { outbound: sa(0x1111), inbound: sa(0x2222) }, 0);
    sadB.installChild('net', { outbound: sa(0x2222), inbound: sa(0x1111) }, 0);
    const a = new EspProcessor({ sad: sadA, rng: new SeededRng(1) });
    const b = new EspProcessor({ sad: sadB, rng: new SeededRng(2) });

    const inFlight = a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: 1 }));
    // B rekeys first: new inbound 0x3333 on B, new outbound 0x3333 on A.
    sadB.addInbound('net', sa(0x3333), 1);
    const { replaced } = sadA.addOutbound('net', sa(0x3333), 1);
    expect(replaced?.spi).toBe(0x1111);
    expect(sadA.outbound('net')!.spi).toBe(0x3333);
    const after = a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: 2 }));
    expect(after).toMatchObject({ ok: true, spi: 0x3333, sequence: 1n });

    // Both arrive: the old SA still takes the packet that was in flight.
    if (!inFlight.ok || !after.ok) throw new Error('protect failed');
    expect(b.receive(after.packets[0]!)).toMatchObject({ ok: true, spi: 0x3333 });
    expect(b.receive(inFlight.packets[0]!)).toMatchObject({ ok: true, spi: 0x1111 });
    expect(sadB.inboundOf('net').map((s) => [s.spi, s.superseded])).toEqual([
      [0x1111, true],
      [0x3333, false],
    ]);

    expect(sadB.deleteInbound(0x1111)).toBe(true);
    expect(sadB.deleteInbound(0x1111)).toBe(false);
    expect(b.receive(inFlight.packets[0]!)).toMatchObject({ ok: false, reason: ESP_DROP.UNKNOWN_SPI });
    // Totals survive: A's child counted two packets on two SAs; B decapsulated two.
    expect(sadA.childCounters('net').encaps).toBe(2);
    expect(sadB.childCounters('net').decaps).toBe(2);
  });

  it('installChild on an existing child is a rekey too', () => {
    const sad = new SecurityAssociationDatabase();
    sad.installChild('net', { outbound: sa(0x10), inbound: sa(0x20) }, 0);
    const r = sad.installChild('net', { outbound: sa(0x11), inbound: sa(0x21) }, 5);
    expect(r.replaced?.spi).toBe(0x10);
    expect(sad.inboundOf('net').map((s) => s.spi)).toEqual([0x20, 0x21]);
    expect(sad.deleteChild('net')).toBe(true);
    expect(sad.inbound(0x20)).toBeUndefined();
    expect(sad.outbound('net')).toBeUndefined();
  });
});

describe('lookups and configuration', () => {
  it('finds the outbound SA by traffic selectors', () => {
    const sad = new SecurityAssociationDatabase();
    sad.installChild('a', { outbound: sa(0x10), inbound: sa(0x20), selectors: { local: [parsePrefix('10.77.10.0/24')], remote: [parsePrefix('10.77.20.0/24')] } }, 0);
    sad.installChild('b', { outbound: sa(0x11), inbound: sa(0x21), selectors: { local: [parsePrefix('10.0.0.0/8')], remote: [parsePrefix('0.0.0.0/0')] } }, 0);
    expect(sad.outboundFor(INNER_A, INNER_B)?.childId).toBe('a');
    expect(sad.outboundFor(parseIp('10.1.1.1'), parseIp('8.8.8.8'))?.childId).toBe('b');
    expect(sad.outboundFor(parseIp('192.168.1.1'), INNER_B)).toBeUndefined();
    expect(sad.childIds()).toEqual(['a', 'b']);
  });

  it('refuses bad configuration with SadError', () => {
    const sad = new SecurityAssociationDatabase();
    expect(() => sad.addInbound('x', sa(0x10, { encKey: new Uint8Array(16) }), 0)).toThrow(/encryption key must be 20 bytes/);
    expect(() => sad.addInbound('x', sa(0, {}), 0)).toThrow(SadError);
    expect(() => sad.addInbound('x', sa(0x10, { replayWindow: 8 }), 0)).toThrow(/replay window/);
    expect(() => sad.addInbound('x', sa(0x10, { suite: { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.NONE }, encKey: new Uint8Array(16) }), 0)).toThrow(/needs an integrity algorithm/);
    expect(() => sad.addOutbound('x', sa(0x10, { encap: undefined }), 0)).toThrow(/tunnel endpoints/);
    sad.addInbound('x', sa(0x10), 0);
    expect(() => sad.addInbound('y', sa(0x10), 0)).toThrow(/already in use/);
  });

  it('replay window 0 turns anti-replay off', () => {
    const { a, b } = makePair({ suite: GCM, replayWindow: 0 });
    const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
    if (!r.ok) throw new Error(r.message);
    expect(b.receive(r.packets[0]!).ok).toBe(true);
    expect(b.receive(r.packets[0]!).ok).toBe(true);
  });

  it('an explicit IV of the wrong size is a caller error (thrown), not a packet drop', () => {
    const { a } = makePair({ suite: GCM });
    expect(() => a.protect('net', icmpEcho(INNER_A, INNER_B), { iv: new Uint8Array(16) })).toThrow(/takes a 8-byte IV/);
    expect(a.protect('net', icmpEcho(INNER_A, INNER_B))).toMatchObject({ ok: true, sequence: 1n });
  });

  it('an outer IPv4 header with a bad checksum is dropped as a bad outer packet', () => {
    const { a, b } = makePair({ suite: GCM });
    const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
    if (!r.ok) throw new Error(r.message);
    const bad = new Uint8Array(r.packets[0]!);
    bad[10] = bad[10]! ^ 0xff;
    expect(b.receive(bad)).toMatchObject({ ok: false, reason: ESP_DROP.BAD_OUTER });
    expect(b.counters.badOuter).toBe(1);
  });

  it('no outbound SA is a typed drop on the processor', () => {
    const { a } = makePair({ suite: GCM });
    expect(a.protect('other', icmpEcho(INNER_A, INNER_B))).toMatchObject({ ok: false, reason: ESP_DROP.NO_SA });
    expect(a.counters.noSa).toBe(1);
    expect(a.protect('net', Uint8Array.of(0x45, 0, 0))).toMatchObject({ ok: false, reason: ESP_DROP.BAD_INNER });
  });
});

describe('outer framing', () => {
  it('ESP-in-UDP over IPv4: ports from the SA, UDP checksum 0, DSCP copied, DF copied from the inner packet', () => {
    const { a, b } = makePair({ suite: GCM });
    const inner = icmpEcho(INNER_A, INNER_B, { df: true });
    inner[1] = 0xb8; // DSCP EF
    const fix = Ipv4Codec.decode(inner);
    const innerFixed = Ipv4Codec.encode({ ...fix, keepChecksum: false });
    const r = a.protect('net', innerFixed);
    if (!r.ok) throw new Error(r.message);
    const outer = Ipv4Codec.decode(r.packets[0]!);
    const udp = UdpCodec.decode(outer.payload);
    expect([formatIp(outer.src), udp.srcPort, formatIp(outer.dst), udp.dstPort, udp.checksum]).toEqual(['192.0.2.1', 4500, '198.51.100.2', 4500, 0]);
    expect(outer.dscp).toBe(0x2e);
    expect(outer.dontFragment).toBe(true);
    expect(toHex(udp.payload)).toBe(toHex(r.esp));
    expect(r.udp).toEqual({ src: endpoint('192.0.2.1', 4500), dst: endpoint('198.51.100.2', 4500) });
    expect(b.receive(r.packets[0]!)).toMatchObject({ ok: true, outer: { srcPort: 4500, dstPort: 4500 } });
  });

  it('accepts ESP-in-UDP with a valid checksum as well as with none, and drops a wrong one', () => {
    const { a, b } = makePair({ suite: GCM });
    const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
    if (!r.ok) throw new Error(r.message);
    const outer = Ipv4Codec.decode(r.packets[0]!);
    const withSum = encodeUdp({ srcPort: 4500, dstPort: 4500, payload: r.esp }, { src: outer.src, dst: outer.dst });
    expect(withSum[6]! | withSum[7]!).not.toBe(0);
    expect(b.receive(Ipv4Codec.encode({ ...outer, payload: withSum, keepChecksum: false })).ok).toBe(true);
    withSum[7] = withSum[7]! ^ 1;
    expect(b.receive(Ipv4Codec.encode({ ...outer, payload: withSum, keepChecksum: false }))).toMatchObject({ ok: false, reason: ESP_DROP.BAD_UDP_CHECKSUM });
    expect(b.counters.badUdpChecksum).toBe(1);
  });

  it('hands keepalives and IKE back as not-esp, uncounted', () => {
    const { b } = makePair({ suite: GCM });
    const wrap = (payload: Uint8Array, sport: number, dport: number) =>
      Ipv4Codec.encode({
        dscp: 0, ecn: 0, identification: 1, reservedFlag: false, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: 64,
        protocol: 17, src: parseIp('192.0.2.1'), dst: parseIp('198.51.100.2'), options: new Uint8Array(0),
        payload: encodeUdp({ srcPort: sport, dstPort: dport, payload }, { src: parseIp('192.0.2.1'), dst: parseIp('198.51.100.2'), checksum: 'zero' }),
      });
    expect(b.receive(wrap(KEEPALIVE, 4500, 4500))).toMatchObject({ ok: false, reason: ESP_DROP.NOT_ESP, kind: 'keepalive' });
    expect(b.receive(wrap(frameIke(new Uint8Array(28).fill(7), 4500, 4500), 4500, 4500))).toMatchObject({ reason: ESP_DROP.NOT_ESP, kind: 'ike-nonesp' });
    expect(b.receive(wrap(new Uint8Array(28).fill(7), 500, 500))).toMatchObject({ reason: ESP_DROP.NOT_ESP, kind: 'ike' });
    expect(b.counters).toMatchObject({ invalidSpi: 0, badOuter: 0, truncated: 0 });
  });

  it('raw ESP (protocol 50) round trip for an IPv6 inner packet over IPv4 (next header 41)', () => {
    const { a, b } = makePair({ suite: SUITES['aes256-sha512']!, encap: false });
    const inner = icmp6Echo(parseIp('2001:db8:a::1'), parseIp('2001:db8:b::1'));
    const r = a.protect('net', inner);
    if (!r.ok) throw new Error(r.message);
    expect(Ipv4Codec.decode(r.packets[0]!).protocol).toBe(50);
    expect(Ipv4Codec.decode(r.packets[0]!).dontFragment).toBe(true);
    const got = b.receive(r.packets[0]!);
    expect(got).toMatchObject({ ok: true, family: 6 });
    expect(got.ok && toHex(got.inner)).toBe(toHex(inner));
  });

  for (const encap of [true, false]) {
    it(`IPv6 outer (${encap ? 'ESP-in-UDP with a computed checksum' : 'raw ESP'}) carrying IPv4 and IPv6`, () => {
      const { a, b } = makePair({ suite: SUITES['aes128-sha384']!, family: 6, encap });
      for (const inner of [icmpEcho(INNER_A, INNER_B), icmp6Echo(parseIp('2001:db8:a::1'), parseIp('2001:db8:b::1'))]) {
        const r = a.protect('net', inner);
        if (!r.ok) throw new Error(r.message);
        const outer = Ipv6Codec.decode(r.packets[0]!);
        expect(outer.protocol).toBe(encap ? 17 : 50);
        if (encap) expect(UdpCodec.decode(outer.payload).checksum).not.toBe(0);
        const got = b.receive(r.packets[0]!);
        expect(got.ok && toHex(got.inner)).toBe(toHex(inner));
      }
    });
  }
});

describe('path MTU', () => {
  const big = () => icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(1400), df: true });

  it('a packet over the path MTU with DF is dropped and counted, and uses no sequence number', () => {
    const { a } = makePair({ suite: GCM, extra: { mtu: 1400 } });
    const r = a.protect('net', big());
    expect(r).toMatchObject({ ok: false, reason: ESP_DROP.MTU_EXCEEDED });
    expect(r.ok ? '' : r.message).toMatch(/exceeds the path MTU 1400 and DF is set; the largest inner packet that fits is 1338 bytes/);
    expect(a.sad.outbound('net')!.counters).toMatchObject({ mtuDrops: 1, sendErrors: 1, encaps: 0 });
    const fits = a.protect('net', icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(1338 - 28) }));
    expect(fits).toMatchObject({ ok: true, sequence: 1n });
    expect(fits.ok && fits.packets[0]!.length).toBe(1400);
    expect(a.protect('net', icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(1339 - 28) }))).toMatchObject({ reason: ESP_DROP.MTU_EXCEEDED });
  });

  it('without DF but without permission to fragment, it is still dropped', () => {
    const { a } = makePair({ suite: GCM, extra: { mtu: 1400 } });
    expect(a.protect('net', icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(1400), df: false }))).toMatchObject({ reason: ESP_DROP.MTU_EXCEEDED });
  });

  it('an SA that may fragment (DF cleared by policy) sends IPv4 fragments that reassemble to a valid ESP packet', () => {
    const { a, b } = makePair({ suite: GCM, extra: { mtu: 576, allowFragmentation: true, dontFragment: 'clear' } });
    const inner = big();
    const r = a.protect('net', inner);
    if (!r.ok) throw new Error(r.message);
    expect(r.packets.length).toBe(3);
    expect(r.packets.every((p) => p.length <= 576)).toBe(true);
    expect(a.sad.outbound('net')!.counters.fragmentsCreated).toBe(3);
    expect(b.receive(r.packets[0]!)).toMatchObject({ ok: false, reason: ESP_DROP.OUTER_FRAGMENT });
    const re = new Ipv4Reassembler();
    let whole: Uint8Array | undefined;
    for (const p of r.packets) {
      const res = re.add(Ipv4Codec.decode(p), 0);
      if (res.status === 'complete') whole = res.packet;
    }
    const got = b.receive(whole!);
    expect(got.ok && toHex(got.inner)).toBe(toHex(inner));
  });

  it('over IPv6 the source fragments with a Fragment header', () => {
    const { a, b } = makePair({ suite: GCM, family: 6, extra: { mtu: 1280, allowFragmentation: true } });
    const inner = big();
    const r = a.protect('net', inner);
    if (!r.ok) throw new Error(r.message);
    expect(r.packets.length).toBe(2);
    expect(r.packets.every((p) => p.length <= 1280)).toBe(true);
    expect(ipv6FragmentHeader(Ipv6Codec.decode(r.packets[0]!))?.moreFragments).toBe(true);
    const re = new Ipv6Reassembler();
    let whole: Uint8Array | undefined;
    for (const p of r.packets) {
      const res = re.add(Ipv6Codec.decode(p), 0);
      if (res.status === 'complete') whole = res.packet;
    }
    const got = b.receive(whole!);
    expect(got.ok && toHex(got.inner)).toBe(toHex(inner));
  });
});

describe('NAT float', () => {
  it('after the peer’s mapping changes, ESP goes to the new endpoint', () => {
    const { a } = makePair({ suite: GCM });
    expect(a.sad.updateEncapRemote('net', endpoint('198.51.100.2', 31337))).toBe(true);
    const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
    if (!r.ok) throw new Error(r.message);
    expect(UdpCodec.decode(Ipv4Codec.decode(r.packets[0]!).payload).dstPort).toBe(31337);
    expect(a.sad.updateEncapRemote('nope', endpoint('198.51.100.2', 1))).toBe(false);
  });
});
