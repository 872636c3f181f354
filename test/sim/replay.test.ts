/**
 * Replaying strongswan-lab/a-nat-keepalive/inside.pcap (frames: IKE_SA_INIT at 0 and
 * 0.006624 s on 500; IKE_AUTH, ten ESP pairs up to 9.293669 s, keepalives at
 * 14.012894 + 5 s × n up to 34.019362 s, INFORMATIONAL at 35.147355 / 35.149776 s on
 * 4500) through the replay fixtures, the mapping rule, and the scenario's replay
 * section.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIp } from '../../src/core/addr.ts';
import { concatAll } from '../../src/core/bytes.ts';
import { replayCapture, ReplayInputError } from '../../src/sim/replay.ts';
import { isPrivateAddress } from '../../src/sim/replay-map.ts';
import { parseReplayScenario } from '../../src/sim/replay-scenario.ts';
import { formatIssue } from '../../src/sim/scenario.ts';
import { A_NAT_INSIDE, bytesSource, fileSourceOf, KEEPALIVE_25S, loadFixture, loadReplayScenario, syntheticCapture } from './replay-captures.ts';

const haveCapture = existsSync(A_NAT_INSIDE);
const hasTshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'natt-sim-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function replayANat(fixture: string) {
  const { scenario, replay } = loadFixture(fixture);
  return replayCapture(fileSourceOf(A_NAT_INSIDE), { scenario, start: replay.start, map: replay.map.map((m) => ({ ...m, rule: 'scenario' as const })) });
}

describe.skipIf(!haveCapture)('a-nat-keepalive/inside.pcap through the replay fixtures', () => {
  it('20 s UDP timeout: the port-500 mapping expires at 20.000001 s after its last packet; every flow makes it', async () => {
    const { report } = await replayANat('replay-pat-20s.yaml');
    expect(report.verdict).toBe('ok');
    expect(report.packets).toEqual({ frames: 35, replayed: 31, delivered: 31, dropped: 0, lost: 0, skipped: { ARP: 4 } });
    expect(report.mapping).toEqual([
      { captured: '10.77.0.2', host: 'initiator', address: '10.77.0.2', side: 'inside', rule: 'same-address' },
      { captured: '198.51.100.2', host: 'responder', address: '198.51.100.2', side: 'outside', rule: 'same-address' },
    ]);
    expect(report.flows.map((f) => [f.id, f.verdict, f.aToB.delivered, f.bToA.delivered])).toEqual([
      ['udp 10.77.0.2:500 ⇄ 198.51.100.2:500', 'ok', 1, 1],
      ['udp 10.77.0.2:4500 ⇄ 198.51.100.2:4500', 'ok', 17, 12],
    ]);
    expect(report.flows[1]!.aToB.kinds).toEqual({ IKE: 2, ESP: 10, 'NAT-keepalive': 5 });
    expect(report.mappingExpiries.map((x) => [x.internal, x.external, x.expiredAtUs, x.harmless])).toEqual([['10.77.0.2:500', '198.51.100.1:20000', 20_000_001, true]]);
    expect(report.flows[0]!.explanation).toBe(
      "all 2 packets delivered; the mapping for 10.77.0.2:500 (198.51.100.1:20000) at NAT nat expired at 20.000001 s, 20 s after the IKEv2 IKE_SA_INIT request at 0 s, after the flow's last packet",
    );
    expect(report.endUs).toBe(35_149_776 + 1_000_000);
    expect(report.summary).toBe('every flow made it: 2 flows, 2 ok');
  });

  it('120 s UDP timeout: no mapping expires, every flow makes it', async () => {
    const { report } = await replayANat('replay-pat-120s.yaml');
    expect(report.verdict).toBe('ok');
    expect(report.mappingExpiries).toEqual([]);
    expect(report.flows.map((f) => f.explanation)).toEqual(['all 2 packets delivered', 'all 29 packets delivered']);
  });

  it('4 s UDP timeout: the 4500 mapping expires at 13.292937 s and the keepalives move the flow to new ports', async () => {
    const { report } = await replayANat('replay-pat-4s.yaml');
    expect(report.verdict).toBe('broken');
    expect(report.mapping.map((m) => m.rule)).toEqual(['scenario', 'scenario']);
    const f = report.flows[1]!;
    expect(f.verdict).toBe('broken');
    expect(f.drops).toEqual([]);
    expect(report.mappingExpiries.map((x) => [x.mappingId, x.external, x.lastUsedAtUs, x.expiredAtUs, x.lastPacket?.what, x.nextPacket?.what])).toEqual([
      [1, '198.51.100.1:20000', 0, 4_000_001, 'IKEv2 IKE_SA_INIT request', undefined],
      [2, '198.51.100.1:20001', 9_292_936, 13_292_937, 'ESP-in-UDP SPI 0x33edbb96 seq 10', 'NAT-keepalive'],
      [3, '198.51.100.1:20002', 14_012_894, 18_012_895, 'NAT-keepalive', 'NAT-keepalive'],
      [4, '198.51.100.1:20003', 19_014_368, 23_014_369, 'NAT-keepalive', 'NAT-keepalive'],
      [5, '198.51.100.1:20004', 24_015_648, 28_015_649, 'NAT-keepalive', 'NAT-keepalive'],
      [6, '198.51.100.1:20005', 29_016_699, 33_016_700, 'NAT-keepalive', 'NAT-keepalive'],
    ]);
    expect(f.staleWindows).toEqual([
      {
        side: 'b',
        opened: { frame: 27, what: 'NAT-keepalive', atUs: 14_012_894, atS: 14.012894 },
        oldEndpoint: '198.51.100.1:20001',
        newEndpoint: '198.51.100.1:20002',
        endpointsSeen: ['198.51.100.1:20002', '198.51.100.1:20003', '198.51.100.1:20004', '198.51.100.1:20005', '198.51.100.1:20006'],
        recovered: { frame: 34, what: 'IKEv2 INFORMATIONAL request', atUs: 35_147_355, atS: 35.147355 },
        expiry: { nat: 'nat', mappingId: 2, expiredAtUs: 13_292_937, expiredAtS: 13.292937 },
      },
    ]);
    // The INFORMATIONAL response follows its request to the new port and is delivered.
    expect(f.bToA).toMatchObject({ injected: 12, delivered: 12 });
    expect(f.explanation).toMatch(
      /^the mapping for 10\.77\.0\.2:4500 \(198\.51\.100\.1:20001\) at NAT nat expired at 13\.292937 s, 4 s after the ESP-in-UDP SPI 0x33edbb96 seq 10 at 9\.292936 s; the NAT-keepalive at 14\.012894 s arrived from a new public endpoint 198\.51\.100\.1:20002 /,
    );
  });

  it('the analyser reads the responder-side tap: the initiator is behind NAT', async () => {
    const { report } = await replayANat('replay-pat-4s.yaml');
    expect(report.analysis.taps).toEqual(['replay-responder']);
    expect(report.analysis.natTimeoutS).toBe(4);
    const sa = report.analysis.report.ikeSas[0]!;
    expect(sa.spiI).toBe('8391f754f1670e3d');
    expect(sa.natDetection.initiatorBehindNat).toBe(true);
    expect(sa.natDetection.responderBehindNat).toBe(false);
    expect(sa.initiatorEndpoints.on500).toEqual(['198.51.100.1:20000']);
    expect(report.analysis.report.espSas.map((e) => [e.spi, e.packets])).toEqual([
      ['33edbb96', 10],
      ['d80bade7', 10],
    ]);
  });

  it.skipIf(!hasTshark)('tshark reads every replay tap with no malformed packet', async () => {
    const { taps } = await replayANat('replay-pat-4s.yaml');
    expect(taps.map((t) => t.name)).toEqual(['replay-initiator', 'replay-responder', 'replay-nat-inside', 'replay-nat-outside']);
    for (const t of taps) {
      const f = join(dir, `${t.name}.pcapng`);
      writeFileSync(f, concatAll(t.chunks));
      const all = spawnSync('tshark', ['-n', '-r', f, '-T', 'fields', '-e', 'frame.number', '-e', 'frame.comment'], { encoding: 'utf8' });
      expect(all.status).toBe(0);
      expect(all.stdout.trim().split('\n')).toHaveLength(t.count);
      const bad = spawnSync('tshark', ['-n', '-r', f, '-Y', '_ws.malformed || _ws.expert.severity >= "error"'], { encoding: 'utf8' });
      expect(bad.status).toBe(0);
      expect(bad.stdout).toBe('');
    }
  });

  it('is deterministic: two runs write the same bytes', async () => {
    const a = await replayANat('replay-pat-4s.yaml');
    const b = await replayANat('replay-pat-4s.yaml');
    expect(a.taps.map((t) => concatAll(t.chunks))).toEqual(b.taps.map((t) => concatAll(t.chunks)));
    expect(JSON.stringify(a.report)).toBe(JSON.stringify(b.report));
  });
});

describe('the mapping rule', () => {
  it('private and public addresses, and a NAT address standing for the host behind it', async () => {
    expect(['10.1.2.3', '172.20.0.1', '192.168.0.1', '100.64.1.1', 'fd00::1', 'fe80::1'].map((a) => isPrivateAddress(parseIp(a)))).toEqual([true, true, true, true, true, true]);
    expect(['198.51.100.1', '2001:db8::1', '172.32.0.1'].map((a) => isPrivateAddress(parseIp(a)))).toEqual([false, false, false]);
    // A capture taken outside the NAT: 198.51.100.1 is the NAT's own address.
    const cap = syntheticCapture([
      { at: 0, kind: 'keepalive', from: '198.51.100.1:26329', to: '198.51.100.2:4500' },
      { at: 1, kind: 'esp-in-udp', from: '198.51.100.2:4500', to: '198.51.100.1:26329', spi: 1, seq: 1 },
    ]);
    const { scenario } = loadFixture('replay-pat-120s.yaml');
    const { report } = await replayCapture(bytesSource('outside.pcap', cap), { scenario });
    expect(report.mapping).toEqual([
      { captured: '198.51.100.1', host: 'initiator', address: '10.77.0.2', side: 'inside', rule: 'behind-nat-address' },
      { captured: '198.51.100.2', host: 'responder', address: '198.51.100.2', side: 'outside', rule: 'same-address' },
    ]);
    expect(report.flows[0]!.publicEndpoints.a).toEqual([{ endpoint: '198.51.100.1:20000', firstSeenUs: 0 }]);
    expect(report.verdict).toBe('ok');
  });

  it('an explicit mapping wins over the automatic rule', async () => {
    const cap = syntheticCapture(KEEPALIVE_25S);
    const { scenario } = loadFixture('replay-pat-120s.yaml');
    const { report } = await replayCapture(bytesSource('k.pcap', cap), {
      scenario,
      map: [{ captured: parseIp('198.51.100.2'), host: 'responder', iface: 'eth0', rule: 'option' }],
    });
    expect(report.mapping.map((m) => [m.captured, m.host, m.rule])).toEqual([
      ['10.77.0.2', 'initiator', 'same-address'],
      ['198.51.100.2', 'responder', 'option'],
    ]);
  });

  it('an address no host can play is a ReplayInputError that suggests --map', async () => {
    const cap = syntheticCapture([
      { at: 0, kind: 'keepalive', from: '10.9.0.1:4500', to: '198.51.100.2:4500' },
      { at: 1, kind: 'keepalive', from: '10.9.0.2:4500', to: '198.51.100.2:4500' },
    ]);
    const { scenario } = loadFixture('replay-pat-120s.yaml');
    await expect(replayCapture(bytesSource('two.pcap', cap), { scenario })).rejects.toThrow(ReplayInputError);
    await expect(replayCapture(bytesSource('two.pcap', cap), { scenario })).rejects.toThrow(
      'no scenario host left to play captured address 10.9.0.2 (private, so an inside host with an IPv4 address was needed); map it with --map 10.9.0.2=HOST or replay.map',
    );
  });
});

describe('the replay section of a scenario file', () => {
  const base = loadFixture('replay-pat-20s.yaml');
  const text = (replay: string, tail = '') =>
    `name: t\n${replay}topology:\n  hosts:\n    - name: a\n      interfaces: [{ name: eth0, address: 10.0.0.2/24 }]\n    - name: b\n      interfaces: [{ name: eth0, address: 10.0.0.3/24 }]\n  links:\n    - { name: l, a: a.eth0, b: b.eth0 }\n${tail}`;
  const errors = (t: string) => {
    const r = parseReplayScenario(t, 'lab.yaml');
    return r.ok ? [] : r.issues.map(formatIssue);
  };

  it('fixtures without a section get start 0 and no map', () => {
    expect(base.replay).toEqual({ start: 0, map: [] });
  });

  it('reads start and map (host or host.interface)', () => {
    const r = loadReplayScenario(text('replay:\n  start: 1.5s\n  map:\n    192.0.2.1: a\n    192.0.2.2: b.eth0\n'));
    expect(r.replay).toEqual({
      start: 1_500_000,
      map: [
        { captured: parseIp('192.0.2.1'), host: 'a' },
        { captured: parseIp('192.0.2.2'), host: 'b', iface: 'eth0' },
      ],
    });
    expect(r.scenario.topology.hosts.map((h) => h.name)).toEqual(['a', 'b']);
  });

  it('reports each problem with its line and key; the rest of the file keeps its line numbers', () => {
    expect(errors(text('replay:\n  start: soon\n  when: now\n  map:\n    not-an-ip: a\n    192.0.2.1: nobody\n    192.0.2.2: a.wlan0\n    2001:db8::1: b\n'))).toEqual([
      'lab.yaml:3: replay.start: bad duration "soon" (expected e.g. 0, 2s, 500ms)',
      'lab.yaml:4: replay.when: unknown key "when" (expected one of: start, map)',
      'lab.yaml:6: replay.map.not-an-ip: bad address "not-an-ip" (expected a captured IPv4 or IPv6 address)',
      'lab.yaml:7: replay.map.192.0.2.1: unknown host "nobody" (hosts: a, b)',
      'lab.yaml:8: replay.map.192.0.2.2: host a has no interface "wlan0" (interfaces: eth0)',
      'lab.yaml:9: replay.map.2001:db8::1: host b has no IPv6 address to play 2001:db8::1',
    ]);
    expect(errors(text('replay:\n  map:\n    192.0.2.1: a\n', 'taps:\n  - { name: x, link: nowhere }\n'))).toEqual([
      'lab.yaml:14: taps[0].link: no link named "nowhere" (links: l)',
    ]);
  });
});
