/**
 * Hostile peers in the lab (fixtures/hostile/init-flood.yaml): 100,000 IKE_SA_INIT
 * requests from spoofed addresses against the gateway while a road warrior connects,
 * then replayed and forged IKE and ESP packets. The gateway must switch to COOKIE
 * mode at its threshold, hold no more half-open state than its bounds, spend no
 * Diffie-Hellman on a request without a valid COOKIE, still let the road warrior in,
 * and drop and count every replayed or forged packet by its reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Micros } from '../../src/core/time.ts';
import { loadScenario } from '../../src/sim/scenario.ts';
import { Simulation } from '../../src/sim/simulation.ts';
import { classifyUdpPayload } from '../../src/wire/udp-encap.ts';
import { parsePacket } from '../../src/sim/packet.ts';
import { ROOT } from './sim-kit.ts';

const S = 1_000_000;
const FLOOD = 100_000;
const RATE = 2_000; // per second: 1 s to 51 s
// As the scenario declares them (peers[1].admission, attackers[7].count):
const COOKIE_THRESHOLD = 30;
const HALF_OPEN_LIMIT = 40;
const ESP_FORGED = 7;

interface Captured {
  readonly at: Micros;
  readonly bytes: Uint8Array;
  readonly exchange?: number;
  readonly response?: boolean;
  readonly esp?: boolean;
}

function ikeHeaderOf(bytes: Uint8Array): { exchange: number; response: boolean; messageId: number } | undefined {
  const p = parsePacket(bytes);
  if (p.srcPort === undefined || p.dstPort === undefined) return undefined;
  const c = classifyUdpPayload(p.srcPort, p.dstPort, p.l4.subarray(8));
  if (c.kind !== 'ike' && c.kind !== 'ike-nonesp') return undefined;
  const h = c.ike;
  return { exchange: h[18]!, response: (h[19]! & 0x20) !== 0, messageId: new DataView(h.buffer, h.byteOffset).getUint32(20) };
}

function isEspInUdp(bytes: Uint8Array): boolean {
  const p = parsePacket(bytes);
  if (p.srcPort === undefined || p.dstPort === undefined) return false;
  return classifyUdpPayload(p.srcPort, p.dstPort, p.l4.subarray(8)).kind === 'esp';
}

function run() {
  const file = 'init-flood.yaml';
  const scenario = loadScenario(readFileSync(join(ROOT, 'fixtures/hostile', file), 'utf8'), file);
  const prepared = Simulation.prepare(scenario);
  if (!prepared.ok) throw new Error(prepared.issues.map((i) => i.message).join('; '));
  const sim = prepared.sim;
  const lab = sim.lab;
  const net = lab.network;
  const gateway = sim.peers.get('gateway')!;
  const laptop = sim.peers.get('laptop')!;
  const campaigns = new Map(sim.attackers.map((a) => [a.attacker.name, a]));
  const attacker = campaigns.get('flood')!.app;

  // What the gateway received from the laptop and sent to it (IP packets as on the wire there).
  const fromLaptop: Captured[] = [];
  const toLaptop: Captured[] = [];
  net.observe(
    (e) => {
      if (e.type === 'deliver' && e.host === 'gateway' && e.tunnel === undefined && e.packet.kind === 'udp' && e.packet.src.addr.bytes[0] === 203) {
        const h = ikeHeaderOf(e.packet.ip);
        fromLaptop.push({ at: e.at, bytes: new Uint8Array(e.packet.ip), ...(h ? { exchange: h.exchange, response: h.response } : { esp: isEspInUdp(e.packet.ip) }) });
      } else if (e.type === 'send' && e.host === 'gateway' && e.bytes[16] === 203) {
        // (IPv4 destination 203.x: the laptop's NAT, not one of the spoofed addresses)
        const h = ikeHeaderOf(e.bytes);
        if (h) toLaptop.push({ at: e.at, bytes: new Uint8Array(e.bytes), exchange: h.exchange, response: h.response });
      }
    },
    { types: ['deliver', 'send'] },
  );

  // Sample the gateway's state every 50 ms.
  const samples: { at: Micros; halfOpen: number; sas: number; cookieMode: boolean; dh: number }[] = [];
  for (let t = 0; t <= scenario.duration; t += 50_000) {
    net.scheduler.at(t, (now) => {
      const st = gateway.engine.admissionStats;
      samples.push({ at: now, halfOpen: st.halfOpen, sas: gateway.engine.saIds().length, cookieMode: st.cookieMode, dh: st.dhComputations });
    });
  }

  const wall0 = performance.now();
  lab.run(55 * S);
  const floodWallMs = performance.now() - wall0;
  const afterFlood = { ...gateway.engine.admissionStats };
  const countersBefore = { gateway: gateway.totalCounters(), laptop: laptop.totalCounters() };
  const dropsBefore = { gateway: { ...gateway.stats.ikeDrops }, laptop: { ...laptop.stats.ikeDrops } };

  // The replays and forgeries the scenario declares go out from 60 s on.
  sim.run();

  const ikeInits = fromLaptop.filter((c) => c.exchange === 34 && !c.response && c.at < 60 * S);
  const esp = fromLaptop.filter((c) => c.esp && c.at < 60 * S);
  return { sim, lab, gateway, laptop, attacker, campaigns, samples, floodWallMs, afterFlood, countersBefore, dropsBefore, esp, ikeInits, fromLaptop, toLaptop };
}

const r = run();

describe('spoofed IKE_SA_INIT flood (100,000 requests)', () => {
  it('is sent in full and the gateway answers every one it does not keep with a COOKIE', () => {
    expect(r.attacker.stats.spoofedInits).toBe(FLOOD);
    const st = r.afterFlood;
    // Every spoofed request was either admitted (before COOKIE mode) or sent a COOKIE.
    expect(st.dhComputations - 1 + st.cookiesSent - 1).toBe(FLOOD);
    expect(r.gateway.log.filter((l) => l.kind === 'init-rejected')).toHaveLength(st.cookiesSent);
    console.info(
      `${FLOOD} spoofed IKE_SA_INIT: ${(r.floodWallMs / 1000).toFixed(1)} s wall for 55 s virtual; max half-open ${Math.max(...r.samples.map((x) => x.halfOpen))}; ` +
        `COOKIEs sent ${st.cookiesSent}; DH ${st.dhComputations}; half-open peak ${st.halfOpenPeak}`,
    );
  });

  it('switches to COOKIE mode when half-open SAs reach the threshold and stays there for the whole flood', () => {
    const first = r.samples.find((s) => s.cookieMode)!;
    expect(first.halfOpen).toBe(COOKIE_THRESHOLD);
    expect(first.at).toBeLessThan(1.1 * S);
    expect(r.samples.filter((s) => s.at >= first.at && s.at <= 51 * S).every((s) => s.cookieMode)).toBe(true);
    // After the flood, no IKE_SA_INIT for the calm-down: cookies are no longer required at the next one.
    expect(r.afterFlood.cookieMode).toBe(true);
  });

  it('never holds more half-open SAs than the threshold (and the hard bound), nor more SA objects', () => {
    const maxHalfOpen = Math.max(...r.samples.map((s) => s.halfOpen));
    const maxSas = Math.max(...r.samples.map((s) => s.sas));
    expect(maxHalfOpen).toBe(COOKIE_THRESHOLD);
    expect(maxHalfOpen).toBeLessThanOrEqual(HALF_OPEN_LIMIT);
    expect(r.afterFlood.halfOpenPeak).toBeLessThanOrEqual(COOKIE_THRESHOLD + 1);
    expect(maxSas).toBeLessThanOrEqual(COOKIE_THRESHOLD + 1);
    // The spoofed half-open SAs expired after 30 s; the road warrior's is all that is left.
    expect(r.samples.find((s) => s.at === 45 * S)).toMatchObject({ halfOpen: 0, sas: 1 });
  });

  it('computes no Diffie-Hellman for a spoofed request once in COOKIE mode', () => {
    const first = r.samples.find((s) => s.cookieMode)!;
    // 30 spoofed requests before COOKIE mode, plus the road warrior's: nothing else.
    expect(first.dh).toBe(COOKIE_THRESHOLD);
    expect(r.afterFlood.dhComputations).toBe(COOKIE_THRESHOLD + 1);
    expect(r.afterFlood.cookiesAccepted).toBe(1);
  });

  it('lets the road warrior in during the flood, through a COOKIE, with its CHILD_SA and traffic', () => {
    expect(r.laptop.initiations[0]!.at).toBe(20 * S);
    const sa = r.laptop.currentSa()!;
    expect(sa.establishedAt).toBeGreaterThan(20 * S);
    expect(sa.establishedAt).toBeLessThan(21 * S);
    expect(r.ikeInits).toHaveLength(2); // without, then with the COOKIE
    expect(r.laptop.isEstablished()).toBe(true);
    expect(r.lab.traffic.get('ping')).toEqual({ sent: 10, delivered: 10 });
  });
});

describe('replayed and forged packets', () => {
  it('replayed IKE requests and responses and forged IKE are dropped with their reasons', () => {
    const delta = (now: Record<string, number>, before: Record<string, number>) =>
      Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
    expect(delta(r.gateway.stats.ikeDrops, r.dropsBefore.gateway)).toEqual({ 'invalid-message-id': 2, integrity: 1, 'unknown-sa': 1 });
    expect(delta(r.laptop.stats.ikeDrops, r.dropsBefore.laptop)).toEqual({ 'unexpected-message-id': 1 });
    expect(r.attacker.stats).toMatchObject({ replayed: 3 + r.esp.length, forged: 2 + ESP_FORGED });
  });

  it('replayed ESP and ESP with a corrupted ICV increment the replay and integrity counters by exactly the numbers sent', () => {
    expect(r.esp.length).toBe(10); // the 10 echo requests
    const now = r.gateway.totalCounters();
    expect(now.replayFailures - r.countersBefore.gateway.replayFailures).toBe(r.esp.length);
    expect(now.authFailures - r.countersBefore.gateway.authFailures).toBe(ESP_FORGED);
    expect(r.gateway.stats.espDrops).toMatchObject({ 'replay-duplicate': r.esp.length, 'auth-failed': ESP_FORGED });
    expect(r.laptop.totalCounters().replayFailures).toBe(0);
    // The replayed copies are not losses of the ping flow (every original got through).
    expect(r.sim.report().traffic.find((t) => t.name === 'ping')).toMatchObject({ sent: 10, delivered: 10, losses: [] });
    expect(r.laptop.isEstablished()).toBe(true);
  });
});

describe('the attack as the scenario declares it', () => {
  const udpPayload = (bytes: Uint8Array) => parsePacket(bytes).l4.subarray(8);

  it('declares the figures this test checks: admission settings on the gateway, the flood on host attacker', () => {
    const s = r.sim.scenario;
    expect(s.peers.find((p) => p.name === 'gateway')!.admission).toEqual({ cookieThreshold: COOKIE_THRESHOLD, halfOpenLimit: HALF_OPEN_LIMIT, halfOpenTimeout: 30 * S });
    expect(s.attackers[0]).toMatchObject({ name: 'flood', host: 'attacker', kind: 'ike-init-flood', target: { peer: 'gateway' }, count: FLOOD, rate: RATE, start: 1 * S });
    expect(s.attackers.map((a) => a.kind)).toEqual(['ike-init-flood', 'ike-replay', 'ike-replay', 'ike-replay', 'ike-forge', 'ike-forge', 'esp-replay', 'esp-forge']);
    expect(r.campaigns.get('esp-forge')!.attacker).toMatchObject({ count: ESP_FORGED });
  });

  it("meets the scenario's own expectations: COOKIE mode, bounded half-open state, the road warrior in, every drop by reason", () => {
    expect(r.sim.results.filter((x) => !x.ok).map((x) => `${x.text}: ${x.explanation}`)).toEqual([]);
    expect(r.sim.results.map((x) => x.expect)).toEqual([
      'established',
      'delivered',
      'cookie-mode',
      'admission',
      'admission',
      'admission',
      'admission',
      'ike-dropped',
      'ike-dropped',
      'ike-dropped',
      'ike-dropped',
      'esp-dropped',
      'esp-dropped',
      'established',
    ]);
    const cookie = r.sim.results.find((x) => x.expect === 'cookie-mode')!;
    expect(cookie.explanation).toMatch(/^COOKIE mode from 1\.0\d+ s \(30 half-open\)/);
  });

  it('replays what it recorded next to the gateway: the newest IKE_SA_INIT request (with the COOKIE) and the IKE_AUTH request, byte for byte', () => {
    const replayed = r.fromLaptop.filter((c) => c.at >= 60 * S && (c.exchange === 34 || c.exchange === 35));
    expect(replayed.map((c) => c.exchange)).toEqual([34, 35, 35, 35]);
    expect(udpPayload(replayed[0]!.bytes)).toEqual(udpPayload(r.ikeInits[1]!.bytes));
    const auth = r.fromLaptop.find((c) => c.exchange === 35 && c.at < 60 * S)!;
    expect(udpPayload(replayed[1]!.bytes)).toEqual(udpPayload(auth.bytes));
    // The forgeries: the same request with its last byte flipped, and with another SPIr.
    const forged = [replayed[2]!, replayed[3]!].map((c) => udpPayload(c.bytes));
    const orig = udpPayload(auth.bytes);
    expect(forged[0]!.length).toBe(orig.length);
    expect([...forged[0]!].filter((b, i) => b !== orig[i])).toHaveLength(1);
    expect(forged[0]!.at(-1)).toBe(orig.at(-1)! ^ 1);
    expect(forged[1]!.subarray(4, 12)).toEqual(orig.subarray(4, 12)); // SPIi (after the non-ESP marker)
    expect(forged[1]!.subarray(12, 20)).not.toEqual(orig.subarray(12, 20));
    expect(forged[1]!.subarray(20)).toEqual(orig.subarray(20));
    // ESP: the 10 echo requests again, then 7 forgeries.
    expect(r.fromLaptop.filter((c) => c.at >= 60 * S && c.esp)).toHaveLength(10 + ESP_FORGED);
  });

  it('report.json: the admission counters of the responder, and what each attacker sent', () => {
    const report = r.sim.report();
    const gw = report.peers.find((p) => p.name === 'gateway')!;
    expect(gw.admission).toMatchObject({ halfOpenPeak: COOKIE_THRESHOLD + 1, dhComputations: COOKIE_THRESHOLD + 1, cookiesSent: FLOOD - COOKIE_THRESHOLD + 1, cookiesAccepted: 1, overLimit: 0 });
    expect(gw.admission!.cookieModeChanges[0]).toMatchObject({ on: true, halfOpen: COOKIE_THRESHOLD });
    expect(report.peers.find((p) => p.name === 'laptop')!.admission).toBeNull();
    expect(report.attackers.map((a) => `${a.name} ${a.target} ${a.sent} ${a.missed}`)).toEqual([
      'flood 198.51.100.1:500 100000 0',
      'init-replay gateway 1 0',
      'auth-replay gateway 1 0',
      'auth-response-replay gateway 1 0',
      'auth-bad-icv gateway 1 0',
      'auth-unknown-sa gateway 1 0',
      'esp-replay gateway 10 0',
      'esp-forge gateway 7 0',
    ]);
    expect(report.attackers[0]).toMatchObject({ firstAt: 1 * S, lastAt: 1 * S + Math.floor(((FLOOD - 1) * S) / RATE) });
  });
});
