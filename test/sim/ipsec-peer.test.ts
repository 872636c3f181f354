/**
 * The IPsec peer adapter on a lab host: what it sends and when, and the comment every
 * packet carries, on the built-in default scenario (laptop behind a PAT, gateway public).
 */
import { describe, expect, it } from 'vitest';
import { IntegId, EncrId } from '../../src/crypto/algorithms.ts';
import { DEFAULT_SCENARIO_FILE, DEFAULT_SCENARIO_YAML } from '../../src/sim/default-scenario.ts';
import { espCipherSuite } from '../../src/sim/ipsec-peer.ts';
import { parsePacket } from '../../src/sim/packet.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { Simulation } from '../../src/sim/simulation.ts';

function simulate(yaml = DEFAULT_SCENARIO_YAML): Simulation {
  const p = Simulation.prepare(loadScenario(yaml, DEFAULT_SCENARIO_FILE));
  if (!p.ok) throw new Error(p.issues.map((i) => i.message).join('; '));
  p.sim.run();
  return p.sim;
}

const sim = simulate();
const lan = sim.lab.taps.get('lan')!;
const wan = sim.lab.taps.get('wan')!;

describe('IpsecPeer on the default scenario', () => {
  it('meets the default expectations', () => {
    expect(sim.results.filter((r) => !r.ok)).toEqual([]);
  });

  it('sends IKE_AUTH on 4500 with the marker, and says which NAT-D hash mismatched and what the responder hashed', () => {
    const init = lan.records.find((r) => r.comment.includes('IKE_SA_INIT request 0'))!;
    expect(init.comment).toContain('NAT_DETECTION_SOURCE_IP = SHA-1(SPIi | 0 | 192.168.1.20:500) and NAT_DETECTION_DESTINATION_IP = SHA-1(SPIi | 0 | 198.51.100.1:500)');
    // What the gateway saw the laptop as: the PAT's mapping of 192.168.1.20:500.
    const translated = wan.records.find((r) => r.comment.includes('IKE_SA_INIT request 0'))!;
    const seen = parsePacket(translated.bytes);
    const auth = lan.records.find((r) => r.comment.includes('IKE_AUTH request 1'))!;
    expect(auth.comment).toMatch(
      new RegExp(
        `^UDP 192\\.168\\.1\\.20:4500 → 198\\.51\\.100\\.1:4500, non-ESP marker \\+ IKEv2 IKE_AUTH request, \\d+ bytes — laptop: IKE_AUTH request 1 on UDP 4500 with the non-ESP marker: ` +
          `NAT detected \\(NAT_DETECTION_DESTINATION_IP [0-9a-f]{8}… did not match SHA-1\\(SPIi \\| SPIr \\| 192\\.168\\.1\\.20:500\\) = [0-9a-f]{8}… ` +
          `\\(the peer hashed 203\\.0\\.113\\.7:${seen.srcPort}, where it saw us\\): a NAT rewrote our address, so this side is behind a NAT \\(NAT_HERE\\);`,
      ),
    );
    expect(auth.comment).toMatch(/so both sides float to UDP 4500$/);
    const resp = wan.records.find((r) => r.comment.includes('IKE_SA_INIT response 0'))!;
    expect(resp.comment).toContain(`NAT_DETECTION_SOURCE_IP`);
    expect(resp.comment).toContain(`did not match SHA-1(SPIi | SPIr | 203.0.113.7:${seen.srcPort}) =`);
    expect(resp.comment).toContain('(the peer hashed 192.168.1.20:500): the peer is behind a NAT (NAT_THERE)');
  });

  it('keeps quiet on 4500 for exactly the keepalive interval after the last ESP, then sends one 0xFF byte', () => {
    const laptop = sim.peers.get('laptop')!;
    // Pings at 5..9 s go out as ESP-in-UDP; each postpones the keepalive by 20 s.
    expect(laptop.keepalives.map((k) => k.at)).toEqual([29_000_000, 49_000_000, 69_000_000, 89_000_000, 109_000_000]);
    expect(laptop.keepalives.every((k) => k.idle === 20_000_000)).toBe(true);
    // The lan tap records them as they arrive at the router, 1 ms later.
    const ka = lan.records.filter((r) => r.comment.includes('NAT-keepalive,'));
    expect(ka.map((r) => r.timeUs)).toEqual([29_001_000, 49_001_000, 69_001_000, 89_001_000, 109_001_000]);
    expect(ka[0]!.comment).toBe(
      'UDP 192.168.1.20:4500 → 198.51.100.1:4500, NAT-keepalive, 29 bytes — laptop: NAT keepalive: this side is behind a NAT (NAT_HERE) and sent nothing on UDP 4500 for 20 s (keepalive interval 20 s); the 0xFF byte keeps the NAT\'s mapping of 192.168.1.20:4500 alive (RFC 3948 §4)',
    );
    expect(sim.peers.get('gateway')!.stats.keepalivesReceived).toBe(5);
    expect(sim.peers.get('gateway')!.keepalives).toEqual([]);
  });

  it('carries the pings inside ESP-in-UDP, says why, and the gateway answers through the tunnel', () => {
    const esp = lan.records.filter((r) => r.comment.includes('ESP-in-UDP SPI'));
    expect(esp).toHaveLength(10);
    expect(esp[0]!.timeUs).toBe(5_001_000);
    expect(esp[0]!.comment).toMatch(/— laptop: ESP-in-UDP 192\.168\.1\.20:4500 → 198\.51\.100\.1:4500 SPI 0x[0-9a-f]{8} seq 1 carrying traffic ping: echo request 1\/5 to 198\.51\.100\.1; the CHILD_SA is UDP-encapsulated because this side is behind a NAT \(NAT_HERE\)$/);
    expect(esp[1]!.comment).toMatch(/— gateway: ESP-in-UDP 198\.51\.100\.1:4500 → 203\.0\.113\.7:\d+ SPI 0x[0-9a-f]{8} seq 1 carrying echo reply id 1 seq 1 to 192\.168\.1\.20; the CHILD_SA is UDP-encapsulated because the peer is behind a NAT \(NAT_THERE\)$/);
    // Nothing crosses the uplink in the clear: only UDP 500 and 4500.
    for (const r of wan.records) {
      const p = parsePacket(r.bytes);
      expect([p.srcPort, p.dstPort].some((x) => x === 500 || x === 4500), r.comment).toBe(true);
    }
    expect(sim.lab.traffic.get('ping')).toEqual({ sent: 5, delivered: 5 });
    expect(sim.peers.get('laptop')!.totalCounters()).toMatchObject({ encaps: 5, decaps: 5 });
  });

  it('traffic before the CHILD_SA exists is dropped by the policy as no-sa', () => {
    const early = simulate(DEFAULT_SCENARIO_YAML.replace('at: 5s, count: 5, interval: 1s', 'at: 0s, count: 3, interval: 50ms'));
    const laptop = early.peers.get('laptop')!;
    const installed = [...laptop.children.values()][0]!.installedAt;
    expect(installed).toBeGreaterThan(50_000);
    expect(installed).toBeLessThan(100_000);
    expect(early.lab.traffic.get('ping')).toEqual({ sent: 3, delivered: 1 });
    expect(early.ledger.lossesOf('ping')).toEqual([
      expect.objectContaining({ where: 'laptop', reason: 'no-sa', count: 2, firstAt: 0, lastAt: 50_000, detail: 'laptop has no CHILD_SA for 192.168.1.20 → 198.51.100.1' }),
    ]);
  });

  it('emits every key it ever used, once', () => {
    const keys = sim.wiresharkKeys();
    expect(keys.ikev2.split('\n').filter((l) => /^[0-9a-f]{16},/.test(l))).toHaveLength(1);
    expect(keys.esp.split('\n').filter((l) => l.startsWith('"IPv4","*","*","0x'))).toHaveLength(2);
  });
});

describe('espCipherSuite', () => {
  it('reads the engine suite names', () => {
    expect(espCipherSuite('ESP:AES_GCM_16_128/NO_EXT_SEQ')).toEqual({ encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE });
    expect(espCipherSuite('ESP:AES_CBC_256/HMAC_SHA2_256_128/MODP_2048/EXT_SEQ')).toEqual({ encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128 });
    expect(espCipherSuite('ESP:CHACHA20_POLY1305/NO_EXT_SEQ')).toBeUndefined();
  });
});
