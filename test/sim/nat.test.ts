import { describe, expect, it } from 'vitest';
import { formatEndpoint, formatIp, parseEndpoint, parseIp } from '../../src/core/addr.ts';
import { SeededRng } from '../../src/core/rng.ts';
import { seconds } from '../../src/core/time.ts';
import { IP_PROTOCOL } from '../../src/wire/ip-protocol.ts';
import { verifyIpv4HeaderChecksum } from '../../src/wire/ipv4.ts';
import { verifyUdpChecksum } from '../../src/wire/udp.ts';
import { NatDevice, type NatConfig, type NatResult } from '../../src/sim/nat.ts';
import { buildIpPacket, buildUdpPacket, ICMP_TYPE, icmpMessage, parsePacket, verifyIcmpChecksum } from '../../src/sim/packet.ts';

const EXT = parseIp('203.0.113.1');

function nat(cfg: Partial<NatConfig> = {}, seed = 1): NatDevice {
  return new NatDevice({ name: 'home-router', kind: 'pat', external: [EXT], ...cfg }, new SeededRng(seed));
}

function udpPacket(src: string, dst: string, opts: { payload?: Uint8Array; zero?: boolean } = {}): Uint8Array {
  const s = parseEndpoint(src);
  const d = parseEndpoint(dst);
  return buildUdpPacket({ src: s.addr, dst: d.addr, srcPort: s.port, dstPort: d.port, payload: opts.payload ?? Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 1), zeroChecksum: opts.zero ?? false });
}

function espPacket(src: string, dst: string, spi: number): Uint8Array {
  const body = Uint8Array.of(spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc, 0xdd);
  return buildIpPacket({ src: parseIp(src), dst: parseIp(dst), protocol: IP_PROTOCOL.ESP, payload: body });
}

function forwarded(r: NatResult): Uint8Array {
  if (r.verdict !== 'forward') throw new Error(`expected forward, got ${r.verdict}: ${r.comment}`);
  return r.packet;
}

function srcOf(r: NatResult): string {
  const p = parsePacket(forwarded(r));
  return p.srcPort === undefined ? formatIp(p.src) : formatEndpoint({ addr: p.src, port: p.srcPort });
}

function dstOf(r: NatResult): string {
  const p = parsePacket(forwarded(r));
  return p.dstPort === undefined ? formatIp(p.dst) : formatEndpoint({ addr: p.dst, port: p.dstPort });
}

function checksumsValid(bytes: Uint8Array): boolean {
  const p = parsePacket(bytes);
  const ipOk = verifyIpv4HeaderChecksum(bytes.subarray(0, p.l4Offset));
  if (p.protocol === IP_PROTOCOL.UDP) return ipOk && verifyUdpChecksum(p.src, p.dst, p.l4) === 'valid';
  if (p.protocol === IP_PROTOCOL.ICMP) return ipOk && verifyIcmpChecksum(p.l4);
  return ipOk;
}

describe('NAT port assignment', () => {
  it('preserve keeps the internal port, and falls back to the range when it is taken', () => {
    const n = nat({ portAssignment: 'preserve', portRange: { from: 20000, to: 20099 } });
    expect(srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0))).toBe('203.0.113.1:4500');
    expect(srcOf(n.outbound(udpPacket('10.0.0.3:4500', '198.51.100.1:4500'), 0))).toBe('203.0.113.1:20000');
    expect(srcOf(n.outbound(udpPacket('10.0.0.4:500', '198.51.100.1:500'), 0))).toBe('203.0.113.1:500');
  });

  it('sequential hands out the range in order, wraps, and reports exhaustion', () => {
    const n = nat({ portAssignment: 'sequential', portRange: { from: 20000, to: 20003 } });
    const got = [2, 3, 4, 5].map((h) => srcOf(n.outbound(udpPacket(`10.0.0.${h}:4500`, '198.51.100.1:4500'), 0)));
    expect(got).toEqual(['203.0.113.1:20000', '203.0.113.1:20001', '203.0.113.1:20002', '203.0.113.1:20003']);
    const r = n.outbound(udpPacket('10.0.0.6:4500', '198.51.100.1:4500'), 0);
    expect(r.verdict).toBe('drop');
    expect(r.verdict === 'drop' && r.reason).toBe('ports-exhausted');
    expect(r.comment).toBe('NAT home-router: dropped outbound no free port left in 20000-20003');
  });

  it('random stays in the range, never reuses a port, and follows the seed', () => {
    const run = (seed: number) => {
      const n = nat({ portAssignment: 'random', portRange: { from: 40000, to: 40999 } }, seed);
      return Array.from({ length: 200 }, (_, i) => Number(srcOf(n.outbound(udpPacket(`10.0.${i >> 8}.${(i & 0xff) + 1}:4500`, '198.51.100.1:4500'), 0)).split(':')[1]));
    };
    const a = run(1);
    expect(a.every((p) => p >= 40000 && p <= 40999)).toBe(true);
    expect(new Set(a).size).toBe(200);
    expect(run(1)).toEqual(a);
    expect(run(2)).not.toEqual(a);
  });

  it('port parity keeps the internal port parity', () => {
    const n = nat({ portAssignment: 'random', portRange: { from: 30000, to: 30999 }, portParity: true });
    for (let i = 0; i < 50; i++) {
      const internal = 5000 + i;
      const port = Number(srcOf(n.outbound(udpPacket(`10.0.0.2:${internal}`, '198.51.100.1:4500'), 0)).split(':')[1]);
      expect(port & 1).toBe(internal & 1);
    }
    const s = nat({ portAssignment: 'sequential', portRange: { from: 30000, to: 30999 }, portParity: true });
    expect(srcOf(s.outbound(udpPacket('10.0.0.2:4501', '198.51.100.1:4500'), 0))).toBe('203.0.113.1:30001');
    expect(srcOf(s.outbound(udpPacket('10.0.0.2:4503', '198.51.100.1:4500'), 0))).toBe('203.0.113.1:30003');
    expect(srcOf(s.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0))).toBe('203.0.113.1:30004');
  });

  it('paired pooling: a host keeps one external address; new hosts go round-robin over the pool', () => {
    const pool = ['203.0.113.10', '203.0.113.11'].map(parseIp);
    const n = nat({ external: pool, portAssignment: 'sequential' });
    const a1 = srcOf(n.outbound(udpPacket('10.0.0.2:500', '198.51.100.1:500'), 0));
    const b1 = srcOf(n.outbound(udpPacket('10.0.0.3:500', '198.51.100.1:500'), 0));
    const a2 = srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0));
    expect([a1, b1, a2]).toEqual(['203.0.113.10:1024', '203.0.113.11:1024', '203.0.113.10:1025']);
  });
});

describe('NAT mapping timeout', () => {
  const T = seconds(120);

  it('a mapping used at T is valid at T + timeout and gone at T + timeout + 1 µs', () => {
    const n = nat();
    const t0 = 1_000;
    const ext = srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), t0));
    const reply = udpPacket('198.51.100.1:4500', ext);
    expect(dstOf(n.inbound(reply, t0 + T))).toBe('10.0.0.2:4500');
    const late = n.inbound(reply, t0 + T + 1);
    expect(late.verdict).toBe('drop');
    expect(late.verdict === 'drop' && late.reason).toBe('no-mapping');
    expect(late.records.map((r) => r.kind)).toEqual(['expire', 'drop']);
    expect(late.records[0]!.comment).toBe('NAT home-router: mapping 1 10.0.0.2:4500 ⇄ 203.0.113.1:4500 expired at 120.001001 s after 120 s idle');
    expect(late.comment).toBe(
      'NAT home-router: dropped inbound UDP 198.51.100.1:4500 → 203.0.113.1:4500: no mapping for 203.0.113.1:4500 (mapping 1 expired after 120.000001 s idle)',
    );
    expect(n.size).toBe(0);
  });

  it('sweep expires exactly the mappings past their timeout', () => {
    const n = nat({ portAssignment: 'sequential' });
    n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0);
    n.outbound(udpPacket('10.0.0.3:4500', '198.51.100.1:4500'), 5);
    expect(n.nextExpiryAt()).toBe(T);
    expect(n.sweep(T)).toEqual([]);
    const gone = n.sweep(T + 1);
    expect(gone.map((r) => r.mapping?.internal)).toEqual(['10.0.0.2:4500']);
    expect(n.nextExpiryAt()).toBe(T + 5);
    expect(n.sweep(T + 6).map((r) => r.mapping?.internal)).toEqual(['10.0.0.3:4500']);
    expect(n.nextExpiryAt()).toBeUndefined();
  });

  it('outbound-only refresh: inbound packets do not extend the mapping', () => {
    const n = nat({ refresh: 'outbound' });
    const ext = srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0));
    const reply = udpPacket('198.51.100.1:4500', ext);
    forwarded(n.inbound(reply, seconds(100)));
    expect(n.inbound(reply, T + 1).verdict).toBe('drop');
  });

  it('refresh on both directions: an inbound packet restarts the timer', () => {
    const n = nat({ refresh: 'both' });
    const ext = srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0));
    const reply = udpPacket('198.51.100.1:4500', ext);
    const r = n.inbound(reply, seconds(100));
    expect(r.comment).toBe('NAT home-router: 203.0.113.1:4500 → 10.0.0.2:4500 (inbound from 198.51.100.1:4500, mapping refreshed by this inbound packet, expires in 120 s)');
    forwarded(n.inbound(reply, seconds(100) + T));
    expect(n.inbound(reply, seconds(100) + 2 * T + 1).verdict).toBe('drop');
  });

  it('an outbound packet refreshes; a changed timeout applies from the last use', () => {
    const n = nat();
    const ext = srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0));
    const again = n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), seconds(60));
    expect(again.comment).toBe('NAT home-router: 10.0.0.2:4500 → 203.0.113.1:4500 (mapping refreshed, expires in 120 s)');
    n.setMappingTimeout('udp', seconds(30));
    expect(n.nextExpiryAt()).toBe(seconds(90));
    const reply = udpPacket('198.51.100.1:4500', ext);
    forwarded(n.inbound(reply, seconds(90)));
    expect(n.inbound(reply, seconds(90) + 1).verdict).toBe('drop');
  });
});

describe('NAT reboot, flush and limits', () => {
  it('reboot loses every mapping and restarts sequential port choices', () => {
    const n = nat({ portAssignment: 'sequential', portRange: { from: 20000, to: 29999 } });
    const first = srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0));
    srcOf(n.outbound(udpPacket('10.0.0.3:4500', '198.51.100.1:4500'), 0));
    const rec = n.reboot(seconds(10));
    expect(rec.comment).toBe('NAT home-router rebooted: 2 mappings lost, port choices start over');
    expect(n.size).toBe(0);
    expect(n.inbound(udpPacket('198.51.100.1:4500', first), seconds(11)).verdict).toBe('drop');
    // the first host to send after the reboot gets the first port again
    expect(srcOf(n.outbound(udpPacket('10.0.0.3:4500', '198.51.100.1:4500'), seconds(12)))).toBe('203.0.113.1:20000');
  });

  it('flush loses the mappings but the port cursor continues', () => {
    const n = nat({ portAssignment: 'sequential', portRange: { from: 20000, to: 29999 } });
    srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0));
    expect(n.flush(5).comment).toBe('NAT home-router: mappings flushed, 1 lost');
    expect(srcOf(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 6))).toBe('203.0.113.1:20001');
  });

  it('random port choices after a reboot come from a new seeded stream', () => {
    const ports = (n: NatDevice) => Array.from({ length: 5 }, (_, i) => srcOf(n.outbound(udpPacket(`10.0.0.${i + 2}:4500`, '198.51.100.1:4500'), 0)));
    const n = nat({ portAssignment: 'random' }, 9);
    const before = ports(n);
    n.reboot(1);
    const after = ports(n);
    expect(after).not.toEqual(before);
    const m = nat({ portAssignment: 'random' }, 9);
    ports(m);
    m.reboot(1);
    expect(ports(m)).toEqual(after);
  });

  it('table and per-host limits refuse new mappings', () => {
    const n = nat({ maxMappings: 3, maxMappingsPerHost: 2, portAssignment: 'sequential' });
    forwarded(n.outbound(udpPacket('10.0.0.2:1', '198.51.100.1:4500'), 0));
    forwarded(n.outbound(udpPacket('10.0.0.2:2', '198.51.100.1:4500'), 0));
    const third = n.outbound(udpPacket('10.0.0.2:3', '198.51.100.1:4500'), 0);
    expect(third.verdict === 'drop' && third.reason).toBe('host-limit');
    expect(third.comment).toBe('NAT home-router: dropped outbound 10.0.0.2 has reached its limit of 2 mappings');
    forwarded(n.outbound(udpPacket('10.0.0.3:1', '198.51.100.1:4500'), 0));
    const full = n.outbound(udpPacket('10.0.0.4:1', '198.51.100.1:4500'), 0);
    expect(full.verdict === 'drop' && full.reason).toBe('table-full');
    // an existing mapping is still used
    forwarded(n.outbound(udpPacket('10.0.0.2:1', '198.51.100.1:4500'), 1));
  });
});

describe('NAT checksums', () => {
  it('translated UDP and IPv4 checksums verify in both directions', () => {
    const n = nat({ portAssignment: 'random' });
    for (let i = 0; i < 50; i++) {
      const payload = new Uint8Array(i * 7 + 1).map((_, k) => (k * 31 + i) & 0xff);
      const out = forwarded(n.outbound(udpPacket(`10.0.${i}.${i + 2}:${1000 + i * 97}`, '198.51.100.1:4500', { payload }), i));
      expect(checksumsValid(out)).toBe(true);
      const p = parsePacket(out);
      const back = forwarded(n.inbound(udpPacket('198.51.100.1:4500', formatEndpoint({ addr: p.src, port: p.srcPort! }), { payload }), i));
      expect(checksumsValid(back)).toBe(true);
      expect([...parsePacket(back).l4.subarray(8)]).toEqual([...payload]);
    }
  });

  it('a zero UDP checksum (none sent, RFC 3948 §3.1.1) stays zero', () => {
    const n = nat();
    const out = forwarded(n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500', { zero: true }), 0));
    const p = parsePacket(out);
    expect([p.l4[6], p.l4[7]]).toEqual([0, 0]);
    expect(verifyUdpChecksum(p.src, p.dst, p.l4)).toBe('zero');
    expect(verifyIpv4HeaderChecksum(out.subarray(0, 20))).toBe(true);
  });

  it('ICMP echo is mapped by identifier and its checksum fixed', () => {
    const n = nat({ portAssignment: 'sequential' });
    const req = buildIpPacket({ src: parseIp('10.0.0.2'), dst: parseIp('198.51.100.1'), protocol: IP_PROTOCOL.ICMP, payload: icmpMessage(ICMP_TYPE.ECHO_REQUEST, 0, (77 << 16) | 1, Uint8Array.of(1, 2, 3)) });
    const out = forwarded(n.outbound(req, 0));
    const po = parsePacket(out);
    expect(formatIp(po.src)).toBe('203.0.113.1');
    expect((po.l4[4]! << 8) | po.l4[5]!).toBe(1024);
    expect(checksumsValid(out)).toBe(true);
    const reply = buildIpPacket({ src: parseIp('198.51.100.1'), dst: EXT, protocol: IP_PROTOCOL.ICMP, payload: icmpMessage(ICMP_TYPE.ECHO_REPLY, 0, (1024 << 16) | 1, Uint8Array.of(1, 2, 3)) });
    const back = forwarded(n.inbound(reply, 1));
    const pb = parsePacket(back);
    expect(formatIp(pb.dst)).toBe('10.0.0.2');
    expect((pb.l4[4]! << 8) | pb.l4[5]!).toBe(77);
    expect(checksumsValid(back)).toBe(true);
  });
});

describe('NAT and ESP', () => {
  it('raw ESP does not cross a PAT without an ALG: dropped, counted, explained', () => {
    const n = nat();
    const r = n.outbound(espPacket('10.0.0.2', '198.51.100.1', 0x1234), 0);
    expect(r.verdict === 'drop' && r.reason).toBe('esp-no-alg');
    expect(r.comment).toBe('NAT home-router: ESP dropped: this PAT has no ESP ALG and ESP has no ports to translate (ESP 10.0.0.2 → 198.51.100.1, SPI 0x00001234)');
    const inbound = n.inbound(espPacket('198.51.100.1', '203.0.113.1', 0x99), 0);
    expect(inbound.verdict === 'drop' && inbound.reason).toBe('esp-no-alg');
    expect(n.counters.drops['esp-no-alg']).toBe(2);
  });

  it('with the ESP ALG one client works both ways', () => {
    const n = nat({ espAlg: true });
    const out = n.outbound(espPacket('10.0.0.2', '198.51.100.1', 0xc1000001), 0);
    expect(srcOf(out)).toBe('203.0.113.1');
    expect(out.comment).toBe('NAT home-router: 10.0.0.2 → 203.0.113.1 (ESP ALG: new binding for remote 198.51.100.1, SPI 0xc1000001, expires in 120 s)');
    const back = n.inbound(espPacket('198.51.100.1', '203.0.113.1', 0x5e000001), 1);
    expect(dstOf(back)).toBe('10.0.0.2');
    expect(checksumsValid(forwarded(back))).toBe(true);
  });

  it('with the ESP ALG a second client to the same server breaks: its replies go to the first', () => {
    const n = nat({ espAlg: true });
    forwarded(n.outbound(espPacket('10.0.0.2', '198.51.100.1', 0xc1000001), 0));
    const second = n.outbound(espPacket('10.0.0.3', '198.51.100.1', 0xc2000001), 1);
    expect(srcOf(second)).toBe('203.0.113.1');
    expect(second.records.at(-1)!.mappingState).toBe('conflict');
    expect(second.comment).toBe(
      'NAT home-router: 10.0.0.3 → 203.0.113.1 (ESP ALG: remote 198.51.100.1 is already bound to 10.0.0.2; replies from it will go to 10.0.0.2, not to 10.0.0.3 (SPI 0xc2000001))',
    );
    // the server answers each client on its own SA: both answers land at 10.0.0.2
    expect(dstOf(n.inbound(espPacket('198.51.100.1', '203.0.113.1', 0x5e000001), 2))).toBe('10.0.0.2');
    expect(dstOf(n.inbound(espPacket('198.51.100.1', '203.0.113.1', 0x5e000002), 2))).toBe('10.0.0.2');
    // a different server is a separate binding
    forwarded(n.outbound(espPacket('10.0.0.3', '198.51.100.2', 0xc2000002), 3));
    expect(dstOf(n.inbound(espPacket('198.51.100.2', '203.0.113.1', 0x5e000003), 4))).toBe('10.0.0.3');
  });

  it('static and basic NAT translate ESP by address alone', () => {
    const s = new NatDevice({ name: 'dmz', kind: 'static', external: [], static: [{ inside: parseIp('172.16.0.10'), outside: parseIp('203.0.113.10') }] }, new SeededRng(1));
    expect(srcOf(s.outbound(espPacket('172.16.0.10', '198.51.100.1', 7), 0))).toBe('203.0.113.10');
    expect(dstOf(s.inbound(espPacket('198.51.100.1', '203.0.113.10', 8), 1))).toBe('172.16.0.10');
    expect(srcOf(s.outbound(udpPacket('172.16.0.10:500', '198.51.100.1:500'), 0))).toBe('203.0.113.10:500');
    expect(s.outbound(udpPacket('172.16.0.99:500', '198.51.100.1:500'), 0).verdict).toBe('pass');
  });
});

describe('dynamic (basic) NAT', () => {
  it('binds inside hosts to pool addresses, keeps ports, and runs out', () => {
    const n = new NatDevice({ name: 'pool', kind: 'dynamic', external: ['203.0.113.10', '203.0.113.11'].map(parseIp), filtering: 'address-dependent' }, new SeededRng(1));
    const a = n.outbound(udpPacket('10.0.0.2:4500', '198.51.100.1:4500'), 0);
    expect(srcOf(a)).toBe('203.0.113.10:4500');
    expect(a.comment).toBe('NAT pool: 10.0.0.2:4500 → 203.0.113.10:4500 (new address binding from the pool, ports kept, expires in 120 s)');
    expect(srcOf(n.outbound(espPacket('10.0.0.3', '198.51.100.1', 9), 0))).toBe('203.0.113.11');
    const c = n.outbound(udpPacket('10.0.0.4:4500', '198.51.100.1:4500'), 0);
    expect(c.verdict === 'drop' && c.reason).toBe('pool-exhausted');
    expect(dstOf(n.inbound(udpPacket('198.51.100.1:9999', '203.0.113.10:4500'), 1))).toBe('10.0.0.2:4500');
    expect(n.inbound(udpPacket('198.51.100.7:4500', '203.0.113.10:4500'), 1).verdict).toBe('drop');
  });
});

describe('twice NAT', () => {
  it('rewrites source and destination, and both back on the reply', () => {
    const n = nat({ kind: 'twice', destinations: [{ match: parseIp('192.168.50.10'), to: parseIp('198.51.100.10') }] });
    const out = n.outbound(udpPacket('10.0.0.2:500', '192.168.50.10:500'), 0);
    expect(srcOf(out)).toBe('203.0.113.1:500');
    expect(dstOf(out)).toBe('198.51.100.10:500');
    expect(out.comment).toBe('NAT home-router: 10.0.0.2:500 → 203.0.113.1:500, destination 192.168.50.10:500 → 198.51.100.10:500 (new mapping, endpoint-independent, expires in 120 s)');
    expect(checksumsValid(forwarded(out))).toBe(true);
    const back = n.inbound(udpPacket('198.51.100.10:500', '203.0.113.1:500'), 1);
    expect(srcOf(back)).toBe('192.168.50.10:500');
    expect(dstOf(back)).toBe('10.0.0.2:500');
    expect(checksumsValid(forwarded(back))).toBe(true);
  });
});

describe('port forwards', () => {
  it('a forward answers unsolicited inbound and keeps its port outbound', () => {
    const n = nat({ forwards: [{ port: 4500, inside: parseEndpoint('10.0.0.5:4500') }] });
    const inb = n.inbound(udpPacket('198.51.100.1:4500', '203.0.113.1:4500'), 0);
    expect(dstOf(inb)).toBe('10.0.0.5:4500');
    expect(inb.comment).toBe('NAT home-router: 203.0.113.1:4500 → 10.0.0.5:4500 (inbound from 198.51.100.1:4500, port forward)');
    expect(srcOf(n.outbound(udpPacket('10.0.0.5:4500', '198.51.100.9:4500'), 1))).toBe('203.0.113.1:4500');
    // nobody else gets that port
    expect(srcOf(n.outbound(udpPacket('10.0.0.6:4500', '198.51.100.9:4500'), 1))).not.toBe('203.0.113.1:4500');
    expect(n.nextExpiryAt()).toBe(1 + seconds(120));
  });
});

describe('CGNAT', () => {
  it('hands out subscriber addresses from 100.64.0.0/10 and translates only subscribers', () => {
    const n = new NatDevice({ name: 'carrier', kind: 'cgnat', external: [parseIp('203.0.113.2')] }, new SeededRng(1));
    n.reserveSubscriberAddress(parseIp('100.64.0.1'));
    expect([n.allocateSubscriberAddress(), n.allocateSubscriberAddress()].map(formatIp)).toEqual(['100.64.0.2', '100.64.0.3']);
    expect(srcOf(n.outbound(udpPacket('100.64.0.2:4500', '198.51.100.1:4500'), 0))).toBe('203.0.113.2:4500');
    const other = n.outbound(udpPacket('192.168.1.10:4500', '198.51.100.1:4500'), 0);
    expect(other.verdict).toBe('pass');
    expect(other.comment).toBe('NAT carrier: not translated: source 192.168.1.10 is not an inside address of this NAT');
  });
});

describe('NAT input checks', () => {
  it('a fragment or IPv6 is never translated', () => {
    const n = nat();
    const v6 = buildUdpPacket({ src: parseIp('2001:db8::1'), dst: parseIp('2001:db8::2'), srcPort: 1, dstPort: 2, payload: Uint8Array.of(1) });
    expect(n.outbound(v6, 0).verdict).toBe('pass');
    const whole = udpPacket('10.0.0.2:4500', '198.51.100.1:4500');
    const frag = whole.slice();
    frag[6] = 0x20; // MF
    frag[10] = 0;
    frag[11] = 0;
    const r = n.outbound(frag, 0);
    expect(r.verdict === 'drop' && r.reason).toBe('fragment');
  });

  it('rejects impossible configurations', () => {
    expect(() => nat({ portRange: { from: 2000, to: 1000 } })).toThrow(/port range/);
    expect(() => nat({ kind: 'twice' })).toThrow(/destination rules/);
    expect(() => new NatDevice({ name: 'x', kind: 'static', external: [] }, new SeededRng(1))).toThrow(/static bindings/);
    expect(() => nat({ external: [] })).toThrow(/external address/);
  });
});

