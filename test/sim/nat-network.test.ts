import { describe, expect, it } from 'vitest';
import { formatEndpoint, formatIp, parseIp } from '../../src/core/addr.ts';
import { seconds } from '../../src/core/time.ts';
import { verifyIpv4HeaderChecksum } from '../../src/wire/ipv4.ts';
import { verifyUdpChecksum } from '../../src/wire/udp.ts';
import { Network, type NetworkEvent } from '../../src/sim/network.ts';
import { parsePacket, verifyIcmpChecksum } from '../../src/sim/packet.ts';
import type { NatRecord } from '../../src/sim/nat.ts';
import { natLab, RecordingApp, udp } from './lab-kit.ts';

const esp = (src: string, dst: string, spi: number, comment?: string) => ({
  kind: 'esp' as const,
  src: parseIp(src),
  dst: parseIp(dst),
  payload: Uint8Array.of(spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff, 0, 0, 0, 1, 1, 2, 3, 4),
  ...(comment ? { comment } : {}),
});

function natRecords(net: Network): NatRecord[] {
  const out: NatRecord[] = [];
  net.observe((e) => {
    if (e.type === 'nat') out.push(e.record);
  });
  return out;
}

describe('NAT in the network', () => {
  it('expiry is driven by the scheduler to the microsecond', () => {
    const { net, apps } = natLab({ kind: 'pat' });
    const records = natRecords(net);
    net.send('c1', udp('10.0.0.2:4500', '198.51.100.1:4500'));
    net.run(seconds(200));
    // created when the packet reached the NAT (1 ms on the LAN); valid through 1 ms + 120 s
    const expired = records.filter((r) => r.kind === 'expire');
    expect(expired.map((r) => r.at)).toEqual([1_000 + seconds(120) + 1]);
    expect(apps.s1!.received).toHaveLength(1);
    expect(net.scheduler.pending).toBe(0);
  });

  it('a reply arriving after expiry is dropped; one arriving just before is delivered', () => {
    const lab = natLab({ kind: 'pat' });
    const { net, apps } = lab;
    net.send('c1', udp('10.0.0.2:4500', '198.51.100.1:4500'));
    net.run(seconds(1));
    const seen = apps.s1!.received[0]!.packet;
    if (seen.kind !== 'udp') throw new Error('udp expected');
    // s1 → nat takes 1 ms + 5 ms; the mapping was last used at 1 ms
    const reply = udp(seen.dst, seen.src, 4);
    net.scheduler.at(seconds(120) + 1_000 - 6_000, (now) => net.host('s1').send(reply, now));
    net.scheduler.at(seconds(120) + 1_000 - 6_000 + 1, (now) => net.host('s1').send(reply, now));
    net.run(seconds(130));
    expect(apps.c1!.received.map((r) => r.at)).toEqual([seconds(120) + 1_000 + 1_000]);
    expect(net.node('nat').counters.drops.nat).toBe(1);
  });

  it('taps on both sides of the NAT explain every step', () => {
    const { net } = natLab({ kind: 'pat' });
    const inside = net.tapNat('nat', 'inside');
    const outside = net.tapNat('nat', 'outside');
    net.send('c1', udp('10.0.0.2:4500', '198.51.100.1:4500', Uint8Array.of(0xff), 'keepalive'));
    net.send('c1', esp('10.0.0.2', '198.51.100.1', 0x1001));
    net.run(seconds(1));
    expect(inside.comments()).toEqual([
      'UDP 10.0.0.2:4500 → 198.51.100.1:4500, NAT-keepalive, 29 bytes — keepalive',
      'NAT nat: ESP dropped: this PAT has no ESP ALG and ESP has no ports to translate (ESP 10.0.0.2 → 198.51.100.1, SPI 0x00001001)',
    ]);
    expect(outside.comments()).toEqual(['NAT nat: 10.0.0.2:4500 → 203.0.113.1:4500 (new mapping, endpoint-independent, expires in 120 s)']);
    expect(inside.records.map((r) => r.timeUs)).toEqual([1_000, 1_000]);
    const out = outside.records[0]!;
    const p = parsePacket(out.bytes);
    expect(formatEndpoint({ addr: p.src, port: p.srcPort! })).toBe('203.0.113.1:4500');
    expect(verifyIpv4HeaderChecksum(out.bytes.subarray(0, 20))).toBe(true);
    expect(verifyUdpChecksum(p.src, p.dst, p.l4)).toBe('valid');
    expect(net.node('nat').counters.drops.nat).toBe(1);
  });

  it('hairpinning on: an inside host reaches another through the external address', () => {
    const { net, apps } = natLab({ kind: 'pat', filtering: 'endpoint-independent', portAssignment: 'sequential' }, { clients: 2 });
    net.send('c2', udp('10.0.0.3:4500', '198.51.100.1:4500'));
    net.run(seconds(1));
    // c2 is 203.0.113.1:1024 outside; c1 sends there
    net.send('c1', udp('10.0.0.2:4500', '203.0.113.1:1024', 3));
    net.run(seconds(2));
    expect(apps.c2!.received).toHaveLength(1);
    const p = apps.c2!.received[0]!.packet;
    if (p.kind !== 'udp') throw new Error('udp expected');
    // the source is c1's external endpoint (RFC 4787 §6)
    expect(formatEndpoint(p.src)).toBe('203.0.113.1:1025');
    expect(p.checksum).toBe('valid');
    expect(apps.c2!.received[0]!.at).toBe(seconds(1) + 2_000);
  });

  it('hairpinning and address-and-port-dependent filtering: the hairpinned packet is filtered', () => {
    const { net, apps } = natLab({ kind: 'pat', filtering: 'address-and-port-dependent', portAssignment: 'sequential' }, { clients: 2 });
    net.send('c2', udp('10.0.0.3:4500', '198.51.100.1:4500'));
    net.run(seconds(1));
    net.send('c1', udp('10.0.0.2:4500', '203.0.113.1:1024', 3));
    net.run(seconds(2));
    expect(apps.c2!.received).toHaveLength(0);
    expect(net.natRouter('nat').nat.counters.drops.filtered).toBe(1);
  });

  it('hairpinning off: dropped with a reason', () => {
    const { net, apps } = natLab({ kind: 'pat', filtering: 'endpoint-independent', portAssignment: 'sequential', hairpinning: false }, { clients: 2 });
    const records = natRecords(net);
    net.send('c2', udp('10.0.0.3:4500', '198.51.100.1:4500'));
    net.run(seconds(1));
    net.send('c1', udp('10.0.0.2:4500', '203.0.113.1:1024', 3));
    net.run(seconds(2));
    expect(apps.c2!.received).toHaveLength(0);
    expect(records.at(-1)!.reason).toBe('hairpin-off');
    expect(records.at(-1)!.comment).toBe(
      "NAT nat: dropped outbound UDP 10.0.0.2:4500 → 203.0.113.1:1024: the destination is this NAT's own external address and hairpinning is off",
    );
  });

  it('reboot drops packets while down and loses the mappings', () => {
    const { net, apps } = natLab({ kind: 'pat' });
    net.send('c1', udp('10.0.0.2:4500', '198.51.100.1:4500'));
    net.run(seconds(1));
    net.natRouter('nat').reboot(net.now, seconds(5));
    net.send('c1', udp('10.0.0.2:4500', '198.51.100.1:4500'));
    net.send('s1', udp('198.51.100.1:4500', '203.0.113.1:4500'));
    net.run(seconds(10));
    expect(net.node('nat').counters.drops['nat-down']).toBe(2);
    net.send('s1', udp('198.51.100.1:4500', '203.0.113.1:4500'));
    net.run(seconds(11));
    expect(apps.c1!.received).toHaveLength(0);
    expect(net.natRouter('nat').nat.counters.drops['no-mapping']).toBe(1);
  });

  it('ESP ALG across the network: one client works, the second one breaks', () => {
    const { net, apps } = natLab({ kind: 'pat', espAlg: true }, { clients: 2 });
    const hostRecords = natRecords(net);
    net.send('c1', esp('10.0.0.2', '198.51.100.1', 0xc1));
    net.run(seconds(1));
    net.send('c2', esp('10.0.0.3', '198.51.100.1', 0xc2));
    net.run(seconds(2));
    expect(apps.s1!.received.map((r) => (r.packet.kind === 'esp' ? formatIp(r.packet.src) : ''))).toEqual(['203.0.113.1', '203.0.113.1']);
    // the server answers each client's SA
    net.send('s1', esp('198.51.100.1', '203.0.113.1', 0x51));
    net.send('s1', esp('198.51.100.1', '203.0.113.1', 0x52));
    net.run(seconds(3));
    expect(apps.c1!.received).toHaveLength(2);
    expect(apps.c2!.received).toHaveLength(0);
    expect(hostRecords.filter((r) => r.mappingState === 'conflict')).toHaveLength(1);
  });

  it('ICMP fragmentation needed from beyond the NAT is translated back to the inside host', () => {
    // c ─ nat ─ r (icmpErrors) ─(MTU 1280)─ s
    const net2 = new Network({ seed: 3 });
    net2.addHost('c', { interfaces: [{ name: 'eth0', addresses: ['10.0.0.2/24'] }], routes: [{ to: 'default', via: '10.0.0.1' }] });
    net2.addNat('nat', {
      interfaces: [{ name: 'lan', addresses: ['10.0.0.1/24'] }, { name: 'wan', addresses: ['203.0.113.1/24'] }],
      routes: [{ to: 'default', via: '203.0.113.254' }],
      inside: ['lan'],
      outside: 'wan',
      nat: { kind: 'pat' },
    });
    net2.addRouter('r', { icmpErrors: true, interfaces: [{ name: 'a', addresses: ['203.0.113.254/24'] }, { name: 'b', addresses: ['198.51.100.254/24'] }] });
    net2.addHost('s', { interfaces: [{ name: 'eth0', addresses: ['198.51.100.1/24'] }], routes: [{ to: 'default', via: '198.51.100.254' }] });
    net2.connect('lan', 'c.eth0', 'nat.lan', { latency: 1_000 });
    net2.connect('wan', 'nat.wan', 'r.a', { latency: 1_000 });
    net2.connect('dc', 'r.b', 's.eth0', { latency: 1_000, mtu: 1280 });
    const app = new RecordingApp();
    net2.attach('c', app);
    net2.send('c', { ...udp('10.0.0.2:4500', '198.51.100.1:4500', 1400), dontFragment: true });
    net2.run(seconds(1));
    expect(app.received).toHaveLength(1);
    const icmp = app.received[0]!.packet;
    if (icmp.kind !== 'icmp') throw new Error('icmp expected');
    expect(formatIp(icmp.src)).toBe('203.0.113.254');
    const m = icmp.message;
    expect([m[0], m[1], (m[6]! << 8) | m[7]!]).toEqual([3, 4, 1280]);
    expect(verifyIcmpChecksum(m)).toBe(true);
    const embedded = m.subarray(8);
    expect(verifyIpv4HeaderChecksum(embedded.subarray(0, 20))).toBe(true);
    expect(formatIp({ family: 4, bytes: embedded.slice(12, 16) })).toBe('10.0.0.2');
    expect((embedded[20]! << 8) | embedded[21]!).toBe(4500);
  });
});

describe('CGNAT NAT444', () => {
  function nat444() {
    const net = new Network({ seed: 44 });
    const cgn = net.addNat('carrier', {
      interfaces: [{ name: 'access', addresses: ['100.64.0.1/10'] }, { name: 'core', addresses: ['203.0.113.2/24'] }],
      routes: [{ to: 'default', via: '203.0.113.1' }],
      inside: ['access'],
      outside: 'core',
      nat: { kind: 'cgnat', portAssignment: 'sequential', portRange: { from: 5000, to: 5999 } },
    });
    const wan = cgn.nat.allocateSubscriberAddress();
    const wan2 = cgn.nat.allocateSubscriberAddress();
    net.addNat('home', {
      interfaces: [{ name: 'lan', addresses: ['192.168.1.1/24'] }, { name: 'wan', addresses: [{ addr: wan, length: 10 }] }],
      routes: [{ to: 'default', via: '100.64.0.1' }],
      inside: ['lan'],
      outside: 'wan',
      nat: { kind: 'pat', portAssignment: 'sequential', portRange: { from: 30000, to: 39999 } },
    });
    net.addHost('client', { interfaces: [{ name: 'eth0', addresses: ['192.168.1.10/24'] }], routes: [{ to: 'default', via: '192.168.1.1' }] });
    net.addRouter('internet', { interfaces: [{ name: 'carrier', addresses: ['203.0.113.1/24'] }, { name: 'dc', addresses: ['198.51.100.1/24'] }] });
    net.addHost('server', { interfaces: [{ name: 'eth0', addresses: ['198.51.100.10/24'] }], routes: [{ to: 'default', via: '198.51.100.1' }] });
    net.connect('home-lan', 'client.eth0', 'home.lan', { latency: 1_000 });
    net.connect('access', 'home.wan', 'carrier.access', { latency: 8_000 });
    net.connect('core', 'carrier.core', 'internet.carrier', { latency: 5_000 });
    net.connect('dc', 'server.eth0', 'internet.dc', { latency: 1_000 });
    const apps = { client: new RecordingApp(), server: new RecordingApp() };
    net.attach('client', apps.client);
    net.attach('server', apps.server);
    return { net, apps, wan, wan2 };
  }

  it('allocates subscriber addresses from 100.64.0.0/10 and chains two translations', () => {
    const { net, apps, wan, wan2 } = nat444();
    expect([formatIp(wan), formatIp(wan2)]).toEqual(['100.64.0.2', '100.64.0.3']);
    const events: NetworkEvent[] = [];
    net.observe((e) => events.push(e));
    net.send('client', udp('192.168.1.10:4500', '198.51.100.10:4500'));
    net.run(seconds(1));
    const translations = events.flatMap((e) => (e.type === 'nat' && e.record.kind === 'translate' ? [`${e.at} ${e.record.comment}`] : []));
    expect(translations).toEqual([
      '1000 NAT home: 192.168.1.10:4500 → 100.64.0.2:30000 (new mapping, endpoint-independent, expires in 120 s)',
      '9000 NAT carrier: 100.64.0.2:30000 → 203.0.113.2:5000 (new mapping, endpoint-independent, expires in 120 s)',
    ]);
    const got = apps.server.received[0]!;
    expect(got.at).toBe(15_000);
    if (got.packet.kind !== 'udp') throw new Error('udp expected');
    expect(formatEndpoint(got.packet.src)).toBe('203.0.113.2:5000');
    net.send('server', udp(got.packet.dst, got.packet.src, 2));
    net.run(seconds(2));
    expect(apps.client.received).toHaveLength(1);
    const back = apps.client.received[0]!.packet;
    if (back.kind !== 'udp') throw new Error('udp expected');
    expect(formatEndpoint(back.src)).toBe('198.51.100.10:4500');
    expect(back.checksum).toBe('valid');
  });
});
