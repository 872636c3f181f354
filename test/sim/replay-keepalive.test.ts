/**
 * The example, as a synthetic capture: keepalives every 25 s through a PAT
 * with a 20 s UDP timeout. The mapping made by the keepalive at 0 s expires at
 * 20.000001 s; the keepalive at 25 s makes a new one on the next port, which the
 * responder does not learn (a keepalive is not authenticated), so its ESP at 38.4 s
 * goes to the old public endpoint and the NAT drops it. With a 120 s timeout the
 * same capture passes. Also: raw ESP through a PAT without an ESP ALG, a firewall
 * rule, and a packet from outside before anything went out.
 */
import { describe, expect, it } from 'vitest';
import { replayCapture } from '../../src/sim/replay.ts';
import { bytesSource, KEEPALIVE_25S, loadFixture, loadReplayScenario, syntheticCapture } from './replay-captures.ts';

const capture = syntheticCapture(KEEPALIVE_25S);

async function replay(fixture: string) {
  const { scenario, replay: section } = loadFixture(fixture);
  return replayCapture(bytesSource('keepalive-25s.pcap', capture), { scenario, start: section.start });
}

describe('keepalives every 25 s through a NAT with a 20 s timeout', () => {
  it('drops the responder ESP at 38.4 s: the mapping expired at 20.000001 s', async () => {
    const { report } = await replay('replay-pat-20s.yaml');
    expect(report.verdict).toBe('broken');
    expect(report.flows).toHaveLength(1);
    const f = report.flows[0]!;
    expect(f.id).toBe('udp 10.77.0.2:4500 ⇄ 198.51.100.2:4500');
    expect(f.verdict).toBe('broken');
    expect(f.aToB).toEqual({ injected: 3, delivered: 3, dropped: 0, lost: 0, kinds: { 'NAT-keepalive': 3 } });
    expect(f.bToA).toEqual({ injected: 2, delivered: 1, dropped: 1, lost: 0, kinds: { ESP: 2 } });
    expect(f.drops).toEqual([
      {
        frame: 4,
        what: 'ESP-in-UDP SPI 0xc0ffee01 seq 2',
        atUs: 38_400_000,
        atS: 38.4,
        direction: 'b→a',
        sentTo: '198.51.100.1:20000',
        where: 'nat',
        reason: 'nat',
        natReason: 'no-mapping',
        detail: 'NAT nat: dropped inbound UDP 198.51.100.2:4500 → 198.51.100.1:20000: no mapping for 198.51.100.1:20000',
      },
    ]);
    expect(report.mappingExpiries.map((x) => [x.mappingId, x.external, x.lastUsedAtUs, x.expiredAtUs, x.timeoutS, x.lastPacket?.what, x.nextPacket?.atUs])).toEqual([
      [1, '198.51.100.1:20000', 0, 20_000_001, 20, 'NAT-keepalive', 25_000_000],
      [2, '198.51.100.1:20001', 25_000_000, 45_000_001, 20, 'NAT-keepalive', 50_000_000],
    ]);
    expect(f.publicEndpoints.a.map((e) => [e.endpoint, e.firstSeenUs])).toEqual([
      ['198.51.100.1:20000', 0],
      ['198.51.100.1:20001', 25_000_000],
      ['198.51.100.1:20002', 50_000_000],
    ]);
    expect(f.staleWindows).toHaveLength(1);
    expect(f.staleWindows[0]).toMatchObject({
      side: 'b',
      opened: { frame: 3, what: 'NAT-keepalive', atUs: 25_000_000 },
      oldEndpoint: '198.51.100.1:20000',
      newEndpoint: '198.51.100.1:20001',
      endpointsSeen: ['198.51.100.1:20001', '198.51.100.1:20002'],
      recovered: null,
      expiry: { nat: 'nat', mappingId: 1, expiredAtUs: 20_000_001 },
    });
    expect(f.explanation).toBe(
      'the mapping for 10.77.0.2:4500 (198.51.100.1:20000) at NAT nat expired at 20.000001 s, 20 s after the NAT-keepalive at 0 s; ' +
        'the next packet from 198.51.100.2:4500, ESP-in-UDP SPI 0xc0ffee01 seq 2 at 38.4 s, was dropped: no mapping for 198.51.100.1:20000; ' +
        'the NAT-keepalive at 25 s arrived from a new public endpoint 198.51.100.1:20001 (then 198.51.100.1:20002); ' +
        'a NAT-keepalive carries no integrity protection, so 198.51.100.2:4500 kept sending to 198.51.100.1:20000 and never learned the new one: whatever it sent afterwards was lost',
    );
    expect(report.summary).toBe('would have broken: 1 flow, 1 broken');
  });

  it('the NAT taps say what the NAT did with each packet', async () => {
    const { report, taps } = await replay('replay-pat-20s.yaml');
    const outside = taps.find((t) => t.name === 'replay-nat-outside')!;
    expect(outside.records.map((r) => [r.timeUs, r.comment])).toEqual([
      [0, 'NAT nat: 10.77.0.2:4500 → 198.51.100.1:20000 (new mapping, endpoint-independent, expires in 20 s)'],
      [200_000, 'UDP 198.51.100.2:4500 → 198.51.100.1:20000, ESP-in-UDP SPI 0xc0ffee01, 84 bytes — replay #2: captured frame 2 at 0.2 s, 198.51.100.2:4500 → 10.77.0.2:4500'],
      [25_000_000, 'NAT nat: 10.77.0.2:4500 → 198.51.100.1:20001 (new mapping, endpoint-independent, expires in 20 s)'],
      [38_400_000, 'NAT nat: dropped inbound UDP 198.51.100.2:4500 → 198.51.100.1:20000: no mapping for 198.51.100.1:20000'],
      [50_000_000, 'NAT nat: 10.77.0.2:4500 → 198.51.100.1:20002 (new mapping, endpoint-independent, expires in 20 s)'],
    ]);
    expect(report.taps.map((t) => [t.name, t.packets])).toEqual([
      ['replay-initiator', 4],
      // the wan link also shows the ESP at 38.4 s reaching the NAT that drops it
      ['replay-responder', 5],
      ['replay-nat-inside', 4],
      ['replay-nat-outside', 5],
    ]);
  });

  it('passes through the same NAT with a 120 s timeout', async () => {
    const { report } = await replay('replay-pat-120s.yaml');
    expect(report.verdict).toBe('ok');
    const f = report.flows[0]!;
    expect(f.drops).toEqual([]);
    expect(f.staleWindows).toEqual([]);
    expect(f.bToA).toMatchObject({ injected: 2, delivered: 2, dropped: 0 });
    expect(f.publicEndpoints.a.map((e) => e.endpoint)).toEqual(['198.51.100.1:20000']);
    expect(report.mappingExpiries).toEqual([]);
    expect(f.explanation).toBe('all 5 packets delivered');
    expect(report.summary).toBe('every flow made it: 1 flow, 1 ok');
  });

  it('replay.start shifts every time by the same amount', async () => {
    const { scenario } = loadFixture('replay-pat-20s.yaml');
    const { report } = await replayCapture(bytesSource('k.pcap', capture), { scenario, start: 5_000_000 });
    expect(report.flows[0]!.drops.map((d) => d.atUs)).toEqual([43_400_000]);
    expect(report.mappingExpiries[0]!.expiredAtUs).toBe(25_000_001);
  });
});

const PAT = (extra: string) => `name: pat-fw
topology:
  hosts:
    - name: client
      interfaces: [{ name: eth0, address: 192.168.1.10/24 }]
      routes: [{ to: default, via: 192.168.1.1 }]
    - name: gateway
      interfaces: [{ name: eth0, address: 203.0.113.9/24 }]
  nats:
    - name: home
      kind: pat
      interfaces:
        - { name: lan, address: 192.168.1.1/24 }
        - { name: wan, address: 203.0.113.1/24 }
      inside: lan
      outside: wan
  links:
    - { name: lan, a: client.eth0, b: home.lan, latency: 1ms }
    - { name: wan, a: home.wan, b: gateway.eth0, latency: 10ms }
${extra}`;

describe('other ways a flow breaks', () => {
  it('raw ESP through a PAT without an ESP ALG is dropped both ways (esp-no-alg)', async () => {
    const cap = syntheticCapture([
      { at: 0, kind: 'esp', from: '10.1.0.5', to: '192.0.2.7', spi: 0x1000, seq: 1 },
      { at: 0.5, kind: 'esp', from: '192.0.2.7', to: '10.1.0.5', spi: 0x2000, seq: 1 },
    ]);
    const { scenario } = loadReplayScenario(PAT(''));
    const { report } = await replayCapture(bytesSource('esp.pcap', cap), { scenario });
    expect(report.mapping).toEqual([
      { captured: '10.1.0.5', host: 'client', address: '192.168.1.10', side: 'inside', rule: 'private-to-inside' },
      { captured: '192.0.2.7', host: 'gateway', address: '203.0.113.9', side: 'outside', rule: 'public-to-outside' },
    ]);
    const f = report.flows[0]!;
    expect(f.id).toBe('esp 10.1.0.5 ⇄ 192.0.2.7');
    expect(f.drops.map((d) => [d.atUs, d.direction, d.what, d.sentTo, d.where, d.natReason])).toEqual([
      [1_000, 'a→b', 'ESP SPI 0x00001000 seq 1', '203.0.113.9', 'home', 'esp-no-alg'],
      [510_000, 'b→a', 'ESP SPI 0x00002000 seq 1', '203.0.113.1', 'home', 'esp-no-alg'],
    ]);
    expect(f.explanation).toBe(
      'the ESP SPI 0x00001000 seq 1 from 10.1.0.5 at 0.001 s was dropped by home (nat): NAT home: ESP dropped: this PAT has no ESP ALG and ESP has no ports to translate (ESP 192.168.1.10 → 203.0.113.9, SPI 0x00001000); 1 more packet dropped',
    );
  });

  it('a firewall rule that denies UDP 4500 outbound, by name', async () => {
    const cap = syntheticCapture([
      { at: 0, kind: 'keepalive', from: '10.1.0.5:4500', to: '192.0.2.7:4500' },
      { at: 1, kind: 'icmp', from: '10.1.0.5', to: '192.0.2.7' },
    ]);
    const fw = `  firewalls:
    - name: office
      on: home
      inside: lan
      default: permit
      rules:
        - { action: deny, direction: out, protocol: udp, dstPort: 4500, name: no-nat-t }
`;
    const { scenario } = loadReplayScenario(PAT('').replace('  links:', `${fw}  links:`));
    const { report } = await replayCapture(bytesSource('fw.pcap', cap), { scenario });
    expect(report.packets).toMatchObject({ frames: 2, replayed: 1, dropped: 1, skipped: { ICMP: 1 } });
    const d = report.flows[0]!.drops[0]!;
    expect([d.atUs, d.where, d.reason, d.natReason, d.detail]).toEqual([
      1_000,
      'home',
      'firewall',
      null,
      'firewall office: denied outbound UDP 203.0.113.1:4500 → 203.0.113.9:4500 by rule 1 (no-nat-t)',
    ]);
    expect(report.verdict).toBe('broken');
  });

  it('a packet from outside before anything went out goes to the NAT and finds no mapping', async () => {
    const cap = syntheticCapture([
      { at: 0, kind: 'esp-in-udp', from: '192.0.2.7:4500', to: '10.1.0.5:4500', spi: 0x3000, seq: 1 },
      { at: 1, kind: 'keepalive', from: '10.1.0.5:4500', to: '192.0.2.7:4500' },
      { at: 1.5, kind: 'esp-in-udp', from: '192.0.2.7:4500', to: '10.1.0.5:4500', spi: 0x3000, seq: 2 },
    ]);
    const { scenario } = loadReplayScenario(PAT(''));
    const { report } = await replayCapture(bytesSource('unsolicited.pcap', cap), { scenario });
    const f = report.flows[0]!;
    expect(f.a).toBe('10.1.0.5:4500');
    expect(f.drops.map((d) => [d.atUs, d.sentTo, d.natReason])).toEqual([[10_000, '203.0.113.1:4500', 'no-mapping']]);
    expect(f.bToA).toMatchObject({ injected: 2, delivered: 1, dropped: 1 });
  });
});
