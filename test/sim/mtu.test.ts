import { describe, expect, it } from 'vitest';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec, ipv6FragmentHeader } from '../../src/wire/ipv6.ts';
import { verifyUdpChecksum } from '../../src/wire/udp.ts';
import { Network, type NetworkEvent } from '../../src/sim/network.ts';
import { parsePacket, verifyIcmpChecksum } from '../../src/sim/packet.ts';
import { RecordingApp, udp } from './lab-kit.ts';

/** a ─(mtu1)─ r ─(mtu2)─ b, IPv4 and IPv6. */
function path(mtu1: number, mtu2: number, icmpErrors = true) {
  const net = new Network({ seed: 1 });
  net.addHost('a', {
    interfaces: [{ name: 'eth0', addresses: ['10.1.0.2/24', '2001:db8:1::2/64'] }],
    routes: [{ to: 'default4', via: '10.1.0.1' }, { to: 'default6', via: '2001:db8:1::1' }],
  });
  net.addHost('b', {
    interfaces: [{ name: 'eth0', addresses: ['10.2.0.2/24', '2001:db8:2::2/64'] }],
    routes: [{ to: 'default4', via: '10.2.0.1' }, { to: 'default6', via: '2001:db8:2::1' }],
  });
  net.addRouter('r', {
    icmpErrors,
    interfaces: [
      { name: 'a', addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'b', addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
  });
  net.connect('l1', 'a.eth0', 'r.a', { latency: 1_000, mtu: mtu1 });
  net.connect('l2', 'r.b', 'b.eth0', { latency: 1_000, mtu: mtu2 });
  const apps = { a: new RecordingApp(), b: new RecordingApp() };
  net.attach('a', apps.a);
  net.attach('b', apps.b);
  const events: NetworkEvent[] = [];
  net.observe((e) => events.push(e));
  return { net, apps, events };
}

const payload = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);

describe('IPv4 fragmentation', () => {
  it('a host fragments to the link MTU and the receiver reassembles the exact original bytes', () => {
    const net = new Network({ seed: 1 });
    net.addHost('a', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.1/24'] }] });
    net.addHost('b', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.2/24'] }] });
    net.connect('ab', 'a.eth0', 'b.eth0', { latency: 500, mtu: 1000 });
    const tap = net.tapLink('ab');
    const app = new RecordingApp();
    net.attach('b', app);
    let sent: Uint8Array | undefined;
    net.observe((e) => {
      if (e.type === 'send') sent = e.bytes;
    });
    net.send('a', udp('10.0.0.1:500', '10.0.0.2:500', payload(3000)));
    net.run();
    // 28 + 3000 = 3028 bytes; data per fragment floor((1000 - 20) / 8) * 8 = 976
    const frags = tap.records.map((r) => Ipv4Codec.decode(r.bytes));
    expect(frags.map((f) => [f.fragmentOffset, f.moreFragments, f.payload.length])).toEqual([
      [0, true, 976],
      [976, true, 976],
      [1952, true, 976],
      [2928, false, 80],
    ]);
    expect(frags.every((f) => f.checksumValid && f.identification === frags[0]!.identification)).toBe(true);
    expect(tap.records.map((r) => r.bytes.length)).toEqual([996, 996, 996, 100]);
    expect(app.received).toHaveLength(1);
    expect(app.received[0]!.at).toBe(500);
    expect(sent).toBeDefined();
    expect([...app.received[0]!.packet.ip]).toEqual([...sent!]);
    expect(net.node('a').counters.fragmentsCreated).toBe(4);
    expect(net.node('b').counters.reassembled).toBe(1);
  });

  it('a router fragments further (fragments of fragments) and the payload arrives intact', () => {
    const { net, apps } = path(1500, 576);
    const data = payload(4000);
    net.send('a', udp('10.1.0.2:4500', '10.2.0.2:4500', data));
    net.run();
    expect(apps.b.received).toHaveLength(1);
    const p = apps.b.received[0]!.packet;
    expect(p.kind).toBe('udp');
    if (p.kind !== 'udp') return;
    expect([...p.payload]).toEqual([...data]);
    expect(verifyUdpChecksum(p.src.addr, p.dst.addr, parsePacket(p.ip).l4)).toBe('valid');
    // 4028 bytes: 3 fragments at 1500 (1480 data), each re-split at 576 (552 data)
    expect(net.node('a').counters.fragmentsCreated).toBe(3);
    expect(net.node('r').counters.fragmentsCreated).toBe(3 + 3 + 2);
    expect(net.node('b').counters.reassembled).toBe(1);
  });

  it('DF set: the router drops, counts and answers with ICMP fragmentation needed', () => {
    const { net, apps, events } = path(1500, 1000);
    net.send('a', { ...udp('10.1.0.2:4500', '10.2.0.2:4500', payload(1200)), dontFragment: true });
    net.run();
    expect(apps.b.received).toHaveLength(0);
    const r = net.node('r');
    expect(r.counters.drops['df-too-big']).toBe(1);
    expect(r.counters.icmpSent).toBe(1);
    expect(events.filter((e) => e.type === 'drop').map((e) => (e.type === 'drop' ? `${e.at} ${e.where} ${e.reason}` : ''))).toEqual(['1000 r df-too-big']);
    expect(apps.a.received).toHaveLength(1);
    const icmp = apps.a.received[0]!;
    expect(icmp.at).toBe(2_000);
    expect(icmp.packet.kind).toBe('icmp');
    if (icmp.packet.kind !== 'icmp') return;
    const m = icmp.packet.message;
    expect([m[0], m[1]]).toEqual([3, 4]);
    expect((m[6]! << 8) | m[7]!).toBe(1000);
    expect(verifyIcmpChecksum(m)).toBe(true);
    // the quoted header names the original datagram: a → b, UDP, total length 1228
    const quoted = m.subarray(8);
    expect([...quoted.subarray(12, 20)]).toEqual([10, 1, 0, 2, 10, 2, 0, 2]);
    expect((quoted[2]! << 8) | quoted[3]!).toBe(1228);
    expect(quoted.length).toBe(28);
  });

  it('DF set without icmpErrors: dropped and counted, nothing sent back', () => {
    const { net, apps } = path(1500, 1000, false);
    net.send('a', { ...udp('10.1.0.2:4500', '10.2.0.2:4500', payload(1200)), dontFragment: true });
    net.run();
    expect(net.node('r').counters.drops['df-too-big']).toBe(1);
    expect(net.node('r').counters.icmpSent).toBe(0);
    expect(apps.a.received).toHaveLength(0);
  });

  it('a host will not fragment its own DF packet', () => {
    const { net } = path(1000, 1500);
    net.send('a', { ...udp('10.1.0.2:4500', '10.2.0.2:4500', payload(1200)), dontFragment: true });
    net.run();
    expect(net.node('a').counters.drops['df-too-big']).toBe(1);
  });
});

describe('IPv6 and the MTU', () => {
  it('the sending host fragments (RFC 8200 §4.5) and the receiver reassembles', () => {
    const { net, apps } = path(1280, 1280);
    const tap = net.tapLink('l1');
    const data = payload(3000);
    net.send('a', udp('[2001:db8:1::2]:500', '[2001:db8:2::2]:500', data));
    net.run();
    const frags = tap.records.map((r) => ipv6FragmentHeader(Ipv6Codec.decode(r.bytes)));
    expect(frags.map((f) => [f?.fragmentOffset, f?.moreFragments])).toEqual([
      [0, true],
      [1232, true],
      [2464, false],
    ]);
    expect(tap.records.map((r) => r.bytes.length)).toEqual([1280, 1280, 40 + 8 + 3008 - 2464]);
    expect(apps.b.received).toHaveLength(1);
    const p = apps.b.received[0]!.packet;
    if (p.kind !== 'udp') throw new Error('udp expected');
    expect([...p.payload]).toEqual([...data]);
  });

  it('a router drops a too-big IPv6 packet and sends Packet Too Big', () => {
    const { net, apps } = path(1500, 1280);
    net.send('a', udp('[2001:db8:1::2]:500', '[2001:db8:2::2]:500', payload(1400)));
    net.run();
    expect(apps.b.received).toHaveLength(0);
    expect(net.node('r').counters.drops['packet-too-big']).toBe(1);
    const icmp = apps.a.received[0]!.packet;
    if (icmp.kind !== 'icmp') throw new Error('icmp expected');
    expect(icmp.message[0]).toBe(2);
    expect(((icmp.message[4]! << 24) >>> 0) + ((icmp.message[5]! << 16) | (icmp.message[6]! << 8) | icmp.message[7]!)).toBe(1280);
  });
});
