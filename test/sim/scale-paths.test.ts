import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/core/addr.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { seconds } from '../../src/core/time.ts';
import { IP_PROTOCOL } from '../../src/wire/ip-protocol.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { encodeUdp, verifyUdpChecksum } from '../../src/wire/udp.ts';
import { NatDevice } from '../../src/sim/nat.ts';
import { Network, type NetworkEvent } from '../../src/sim/network.ts';
import { buildIpPacket, buildUdpPacket, parsePacket, udpChecksumStatus } from '../../src/sim/packet.ts';
import { natLab, udp } from './lab-kit.ts';

/** The general path: the UDP codec, then the IP codec. */
function viaCodecs(b: Parameters<typeof buildUdpPacket>[0]): Uint8Array {
  const d = encodeUdp({ srcPort: b.srcPort, dstPort: b.dstPort, payload: b.payload }, { src: b.src, dst: b.dst, checksum: b.zeroChecksum ? 'zero' : 'compute' });
  return buildIpPacket({ ...b, protocol: IP_PROTOCOL.UDP, payload: d });
}

describe('IPv4/UDP packets written and read in place', () => {
  it('buildUdpPacket gives the bytes of the codecs for seeded random datagrams', () => {
    const rng = new SeededRng(0x5ca1e);
    for (let i = 0; i < 300; i++) {
      const payload = new Uint8Array(rng.int(0, 1500)).map(() => rng.int(0, 255));
      const b = {
        src: parseIp(`${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}`),
        dst: parseIp(`${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(0, 255)}`),
        srcPort: rng.int(0, 65535),
        dstPort: rng.int(0, 65535),
        payload,
        identification: rng.int(0, 0xffff),
        dontFragment: rng.int(0, 1) === 1,
        zeroChecksum: rng.int(0, 9) === 0,
        ...(rng.int(0, 1) === 1 ? { ttl: rng.int(1, 255) } : {}),
      };
      const ours = buildUdpPacket(b);
      expect(ours).toEqual(viaCodecs(b));
      const info = parsePacket(ours);
      const p = Ipv4Codec.decode(ours);
      expect(p.checksumValid).toBe(true);
      expect([info.srcPort, info.dstPort, info.ttl, info.identification, info.dontFragment, info.length]).toEqual([b.srcPort, b.dstPort, p.ttl, b.identification, b.dontFragment, ours.length]);
      expect(info.l4).toEqual(p.payload);
      expect(udpChecksumStatus(info.src, info.dst, info.l4)).toBe(verifyUdpChecksum(info.src, info.dst, info.l4));
    }
  });

  it('a UDP checksum one bit off is invalid, a zero one is "zero"', () => {
    const b = { src: parseIp('100.64.0.2'), dst: parseIp('192.0.2.10'), srcPort: 4500, dstPort: 4500, payload: Uint8Array.of(0xff) };
    const bad = buildUdpPacket(b).slice();
    bad[27]! ^= 1;
    const info = parsePacket(bad);
    expect(udpChecksumStatus(info.src, info.dst, info.l4)).toBe('invalid');
    const zero = parsePacket(buildUdpPacket({ ...b, zeroChecksum: true }));
    expect(udpChecksumStatus(zero.src, zero.dst, zero.l4)).toBe('zero');
  });

  it('a header the codec refuses is refused with the codec\'s message', () => {
    const ok = buildUdpPacket({ src: parseIp('10.0.0.2'), dst: parseIp('10.0.0.3'), srcPort: 1, dstPort: 2, payload: new Uint8Array(8) });
    const long = ok.slice();
    long[3] = ok.length + 1;
    expect(() => parsePacket(long)).toThrow(/total length 37 exceeds the 36 bytes available/);
    const short = ok.slice();
    short[0] = 0x44;
    expect(() => parsePacket(short)).toThrow(/IHL is 4/);
  });
});

describe('routes and addresses at scale', () => {
  it('the longest prefix wins, a connected prefix wins a tie, the first of equal routes wins', () => {
    const net = new Network();
    const r = net.addRouter('r', {
      interfaces: [
        { name: 'a', addresses: ['10.0.0.1/8'] },
        { name: 'b', addresses: ['10.1.0.1/16'] },
        { name: 'c', addresses: ['192.0.2.1/24'] },
        { name: 'd', addresses: ['198.51.100.1/24'] },
      ],
      routes: [
        { to: '10.1.2.0/24', via: '192.0.2.9' },
        { to: '10.1.2.0/24', via: '198.51.100.9' },
        { to: '192.0.2.0/24', via: '198.51.100.9' },
        { to: 'default', via: '198.51.100.254' },
      ],
    });
    const route = (a: string) => {
      const x = r.lookupRoute(parseIp(a));
      return x && `${x.iface.name} ${x.nextHop.bytes.join('.')}`;
    };
    for (let pass = 0; pass < 2; pass++) {
      // (the second pass answers from the cache)
      expect(route('10.2.3.4')).toBe('a 10.2.3.4');
      expect(route('10.1.9.9')).toBe('b 10.1.9.9');
      expect(route('10.1.2.3')).toBe('c 192.0.2.9');
      expect(route('192.0.2.77')).toBe('c 192.0.2.77');
      expect(route('203.0.113.5')).toBe('d 198.51.100.254');
      expect(route('2001:db8::1')).toBeUndefined();
    }
    expect(r.hasAddress(parseIp('10.1.0.1'))).toBe(true);
    expect(r.hasAddress(parseIp('10.1.0.2'))).toBe(false);
    // A new interface is seen by the next lookup.
    r.addInterface({ name: 'e', addresses: ['10.1.2.1/24', '2001:db8::1/64'] });
    expect(route('10.1.2.3')).toBe('e 10.1.2.3');
    expect(r.lookupRoute(parseIp('2001:db8::5'))?.iface.name).toBe('e');
    expect(r.lookupRoute(parseIp('2001:db9::5'))).toBeUndefined();
    expect(r.hasAddress(parseIp('2001:db8::1'))).toBe(true);
  });
});

describe('the NAT expiry queue', () => {
  it('follows refreshes and timeout changes to the microsecond', () => {
    const n = new NatDevice({ name: 'n', kind: 'pat', external: [parseIp('203.0.113.1')] }, new SeededRng(1));
    const pkt = (port: number) => buildUdpPacket({ src: parseIp('10.0.0.2'), dst: parseIp('198.51.100.1'), srcPort: port, dstPort: 4500, payload: Uint8Array.of(0xff) });
    n.outbound(pkt(1000), 0);
    n.outbound(pkt(1001), 5);
    expect(n.nextExpiryAt()).toBe(seconds(120));
    n.outbound(pkt(1000), 10, { describe: false });
    expect(n.nextExpiryAt()).toBe(seconds(120) + 5);
    expect(n.sweep(seconds(120) + 5).map((r) => r.mapping?.internal)).toEqual([]);
    expect(n.sweep(seconds(120) + 6).map((r) => r.mapping?.internal)).toEqual(['10.0.0.2:1001']);
    expect(n.nextExpiryAt()).toBe(seconds(120) + 10);
    n.setMappingTimeout('udp', seconds(30));
    expect(n.nextExpiryAt()).toBe(seconds(30) + 10);
    expect(n.sweep(seconds(30) + 11).map((r) => r.mapping?.internal)).toEqual(['10.0.0.2:1000']);
    expect(n.nextExpiryAt()).toBeUndefined();
  });

  it('a routine translation without description has no record and no comment, but the same bytes', () => {
    const mk = () => new NatDevice({ name: 'n', kind: 'pat', external: [parseIp('203.0.113.1')] }, new SeededRng(1));
    const pkt = buildUdpPacket({ src: parseIp('10.0.0.2'), dst: parseIp('198.51.100.1'), srcPort: 4500, dstPort: 4500, payload: Uint8Array.of(0xff) });
    const a = mk();
    const b = mk();
    const first = [a.outbound(pkt, 0), b.outbound(pkt, 0, { describe: false })];
    // Creating a mapping is always described.
    expect(first.map((r) => r.records.map((x) => x.mappingState))).toEqual([['created'], ['created']]);
    const full = a.outbound(pkt, 1000);
    const bare = b.outbound(pkt, 1000, { describe: false });
    expect(full.records.map((x) => x.mappingState)).toEqual(['refreshed']);
    expect(bare.records).toEqual([]);
    expect(bare.comment).toBe('');
    if (full.verdict !== 'forward' || bare.verdict !== 'forward') throw new Error('forward expected');
    expect(bare.packet).toEqual(full.packet);
  });
});

describe('listeners ask for what they use', () => {
  it('a filtered listener gets only its types; routine NAT records only when asked for', () => {
    const { net } = natLab({ kind: 'pat' });
    const all: NetworkEvent[] = [];
    const changes: NetworkEvent[] = [];
    net.observe((e) => all.push(e));
    net.observe((e) => changes.push(e), { types: ['nat'], everyNatTranslation: false });
    for (const at of [0, seconds(1)]) net.scheduler.at(at, (now) => net.host('c1').send(udp('10.0.0.2:4500', '198.51.100.1:4500'), now));
    net.run(seconds(200));
    const kinds = (l: NetworkEvent[]) => l.filter((e) => e.type === 'nat').map((e) => (e.type === 'nat' ? `${e.record.kind}:${e.record.mappingState ?? ''}` : ''));
    expect(kinds(all)).toEqual(['translate:created', 'translate:refreshed', 'expire:expired']);
    expect(kinds(changes)).toEqual(['translate:created', 'expire:expired']);
    expect(changes.every((e) => e.type === 'nat')).toBe(true);
    expect(all.filter((e) => e.type === 'send')).toHaveLength(2);
    expect(all.filter((e) => e.type === 'deliver')).toHaveLength(2);
  });

  it('without listeners for packets, nothing asks for notes; a tap does', () => {
    const { net } = natLab({ kind: 'pat' });
    net.observe(() => undefined, { types: ['drop'] });
    expect(net.wantsNotes).toBe(false);
    expect(net.wantsEveryNatTranslation).toBe(false);
    const stop = net.observe(() => undefined, { types: ['deliver'] });
    expect(net.wantsNotes).toBe(true);
    stop();
    expect(net.wantsNotes).toBe(false);
    net.tapLink('wan');
    expect(net.wantsNotes).toBe(true);
  });
});
