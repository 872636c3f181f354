/**
 * The analyser against the strongSwan lab's ground truth: for every scenario and
 * capture point, the report must say what manifest.json says (who is behind NAT,
 * endpoints on 500 and 4500, the float at IKE_AUTH, the first message on 4500,
 * exchanges, keepalive count and spacing, ESP per SPI and direction, raw ESP and no
 * NAT in b-nonat, the fake source hashes of 5.9.8).
 */
import { describe, expect, it } from 'vitest';
import { LAB, analyze, manifest, type CaptureTruth, type Manifest } from './support.ts';
import type { AnalysisReport, IkeSaReport } from '../../src/analysis/report.ts';

const SCENARIOS = ['a-nat-keepalive', 'b-nonat', 'debian-5.9.8-nat'] as const;
const SIDES = ['inside', 'outside'] as const;

const dirOf = (d: string) => (d === 'ini->rsp' ? 'initiator-to-responder' : 'responder-to-initiator');
const roleOf = (d: string) => (d.startsWith('ini') ? 'initiator' : 'responder');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function onlySa(r: AnalysisReport): IkeSaReport {
  expect(r.ikeSas).toHaveLength(1);
  return r.ikeSas[0]!;
}

/** Checks one capture (analysed alone) against its part of the manifest. */
function checkCapture(m: Manifest, side: (typeof SIDES)[number], r: AnalysisReport): void {
  const truth: CaptureTruth = m.captures[side];
  const sa = onlySa(r);
  const gt = m.ground_truth;

  // IKE SA identity and exchanges.
  expect(sa.version).toBe(2);
  expect(sa.spiI).toBe(m.ike_sas[0]!.spi_i);
  expect(sa.spiR).toBe(m.ike_sas[0]!.spi_r);
  expect(sa.exchanges).toEqual(m.observed.ike_exchanges);
  expect(sa.retransmissions).toBe(0);

  // Who is behind NAT.
  expect(sa.natDetection.consistent).toBe(true);
  expect(sa.natDetection.initiatorBehindNat).toBe(gt.behind_nat === 'initiator');
  expect(sa.natDetection.responderBehindNat).toBe(gt.behind_nat === 'responder');

  // Endpoints: the first IKE message gives initiator and responder; the IKE ports seen.
  const first = truth.ike_messages[0]!;
  expect(sa.initiator).toBe(first.src);
  expect(sa.responder).toBe(first.dst);
  const seen = [...sa.initiatorEndpoints.on500, ...sa.initiatorEndpoints.on4500, ...sa.responderEndpoints.on500, ...sa.responderEndpoints.on4500];
  expect([...new Set(seen)].sort()).toEqual([...truth.ike_ports].sort());
  for (const msg of truth.ike_messages) {
    const onNatt = !msg.src.endsWith(':500') && !msg.dst.endsWith(':500');
    const sender = roleOf(msg.dir) === 'initiator' ? sa.initiatorEndpoints : sa.responderEndpoints;
    expect(onNatt ? sender.on4500 : sender.on500).toContain(msg.src);
    expect(msg.non_esp_marker).toBe(onNatt);
  }
  expect(sa.marker).toEqual({ ok: truth.ike_messages.filter((x) => x.non_esp_marker).length, missing: 0, on500: 0 });

  // Float.
  expect(sa.floatedTo4500).toBe(m.observed.ike_floated_to_4500);
  expect(sa.startedOn4500).toBe(false);
  if (m.observed.first_message_on_4500) {
    const [, exchange, msgid, flag] = /^(\S+) msgid (\d+) \((\w)\)$/.exec(m.observed.first_message_on_4500)!;
    expect(sa.firstMessageOn4500).toBe(exchange);
    expect(sa.firstMessageOn4500Detail).toMatchObject({ exchange, messageId: Number(msgid), response: flag === 'R', sender: flag === 'I' ? 'initiator' : 'responder' });
  } else {
    expect(sa.firstMessageOn4500).toBeNull();
  }

  // Keepalives: count, flow and spacing.
  const ka = Object.entries(truth.keepalives);
  expect(sa.keepalives).toHaveLength(ka.length);
  for (const [dir, count] of ka) {
    const k = sa.keepalives.find((x) => x.from === roleOf(dir))!;
    expect(k.count).toBe(count);
    expect(truth.keepalive_flows[`${k.endpoint} -> ${k.to}`]).toBe(count);
    const intervals = truth.keepalive_intervals[dir]!;
    expect(Math.abs(k.maxIntervalS! - Math.max(...intervals))).toBeLessThan(0.002);
    expect(Math.abs(k.meanIntervalS! - mean(intervals))).toBeLessThan(0.002);
  }
  expect(r.unattachedKeepalives).toEqual([]);

  // ESP per SPI.
  expect(r.espSas).toHaveLength(truth.esp_by_spi.length);
  for (const t of truth.esp_by_spi) {
    const e = r.espSas.find((x) => x.spi === t.spi)!;
    expect(e).toBeDefined();
    expect(e.encapsulation).toBe(t.encap === 'udp' ? 'udp' : 'none');
    expect(e.src).toBe(t.encap === 'udp' ? t.src : t.src.replace(/:-$/, ''));
    expect(e.dst).toBe(t.encap === 'udp' ? t.dst : t.dst.replace(/:-$/, ''));
    expect([e.packets, e.firstSeq, e.lastSeq, e.gaps, e.replays]).toEqual([t.packets, t.first_seq, t.last_seq, 0, 0]);
    expect(e.ikeSa).toBe(0);
    expect(e.direction).toBe(dirOf(t.dir));
  }
  for (const [dir, n] of Object.entries(truth.esp_packets)) {
    expect(r.espSas.filter((e) => e.direction === dirOf(dir)).reduce((s, e) => s + e.packets, 0)).toBe(n);
  }
  expect(r.espSas.filter((e) => e.encapsulation === 'udp').reduce((s, e) => s + e.packets, 0)).toBe(truth.esp_udp_encapsulated);
  expect(r.espSas.filter((e) => e.encapsulation === 'none').reduce((s, e) => s + e.packets, 0)).toBe(truth.esp_raw_proto50);

  // Every NAT-D hash of this capture, with the packet it came in.
  const payloads = m.nat_detection_payloads.filter((p) => p.capture === side);
  expect(sa.natDetection.hashes).toHaveLength(payloads.length);
  for (const p of payloads) {
    const h = sa.natDetection.hashes.find((x) => x.hash === p.hash && x.kind === (p.notify === 'NAT_DETECTION_SOURCE_IP' ? 'source' : 'destination'))!;
    expect(h).toBeDefined();
    expect(h.sender).toBe(roleOf(p.dir));
    expect(h.message).toBe(p.message);
    expect(`${h.packet.src} -> ${h.packet.dst}`).toBe(p.packet);
    // A hash over the very address:port it travelled with matches; any other does not.
    expect(h.matches).toBe(p.hash_computed_over === h.expected.endpoint);
    // A fake hash from a side whose address this capture shows translated (the initiator,
    // seen after its NAT) cannot be told from a hash over its private address.
    if (p.hash_computed_over.startsWith('FAKE')) expect(h.status).toBe(side === 'outside' && h.sender === 'initiator' ? 'unverified' : 'fake');
  }
  expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
}

describe.each(SCENARIOS)('strongSwan lab %s', (scenario) => {
  const m = manifest(scenario);

  it.each(SIDES)('%s.pcap alone agrees with the manifest', (side) => {
    const r = analyze([`${LAB}${scenario}/${side}.pcap`]);
    checkCapture(m, side, r);
    expect(r.captures[0]).toMatchObject({ format: 'pcap', linktypes: [1] });
  });

  it('outside.pcap: the endpoints the responder side saw, per port', () => {
    const sa = onlySa(analyze([`${LAB}${scenario}/outside.pcap`]));
    const seen = m.observed.initiator_endpoint_seen_by_responder_side;
    expect(sa.initiatorEndpoints.on500).toEqual([seen.to_500]);
    expect(sa.initiatorEndpoints.on4500).toEqual(seen.to_4500 ? [seen.to_4500] : []);
    expect([...sa.responderEndpoints.on500, ...sa.responderEndpoints.on4500].sort()).toEqual([...m.observed.responder_endpoints].sort());
    for (const s of m.observed.esp_spis) {
      const e = analyze([`${LAB}${scenario}/outside.pcap`]).espSas.find((x) => x.spi === s.spi)!;
      expect([e.packets, e.direction]).toEqual([s.packets, dirOf(s.dir)]);
    }
  });

  it('inside and outside together: one SA, and every hash resolved to the address:port it covers', () => {
    const r = analyze([`${LAB}${scenario}/inside.pcap`, `${LAB}${scenario}/outside.pcap`]);
    const sa = onlySa(r);
    expect(sa.captures).toEqual([0, 1]);
    expect(sa.exchanges).toEqual(m.observed.ike_exchanges);
    expect(sa.natDetection.initiatorBehindNat).toBe(m.ground_truth.behind_nat === 'initiator');
    expect(sa.natDetection.responderBehindNat).toBe(m.ground_truth.behind_nat === 'responder');
    for (const p of m.nat_detection_payloads) {
      const capture = p.capture === 'inside' ? 0 : 1;
      const h = sa.natDetection.hashes.find((x) => x.capture === capture && x.hash === p.hash)!;
      if (p.hash_computed_over.startsWith('FAKE')) {
        expect([h.status, h.matchedEndpoint]).toEqual(['fake', null]);
      } else {
        expect(h.matchedEndpoint).toBe(p.hash_computed_over);
      }
    }
    expect(r.espSas).toHaveLength(4);
  });
});

describe('what each scenario is about', () => {
  it('a-nat-keepalive: the initiator is behind NAT; its SOURCE hash covers its private address, which the NAT rewrote', () => {
    const sa = onlySa(analyze([`${LAB}a-nat-keepalive/outside.pcap`]));
    const src = sa.natDetection.hashes.find((h) => h.sender === 'initiator' && h.kind === 'source')!;
    expect(src.status).toBe('unverified');
    expect(src.expected.endpoint).toBe('198.51.100.1:29396');
    expect(src.explanation).toContain('29396 is neither 500 nor 4500');
    expect(sa.natDetection.fake).toBe(false);
    const both = onlySa(analyze([`${LAB}a-nat-keepalive/inside.pcap`, `${LAB}a-nat-keepalive/outside.pcap`]));
    const translated = both.natDetection.hashes.find((h) => h.capture === 1 && h.sender === 'initiator' && h.kind === 'source')!;
    expect([translated.status, translated.matchedEndpoint]).toEqual(['translated', '10.77.0.2:500']);
  });

  it('b-nonat: every hash matches, IKE stays on 500, ESP is IP protocol 50, no keepalives', () => {
    for (const side of SIDES) {
      const r = analyze([`${LAB}b-nonat/${side}.pcap`]);
      const sa = onlySa(r);
      expect(sa.natDetection.hashes.map((h) => h.status)).toEqual(['match', 'match', 'match', 'match']);
      expect(sa.natDetection).toMatchObject({ initiatorBehindNat: false, responderBehindNat: false, fake: false });
      expect([sa.floatedTo4500, sa.firstMessageOn4500, sa.initiatorEndpoints.on4500]).toEqual([false, null, []]);
      expect(sa.keepalives).toEqual([]);
      expect(r.espSas.map((e) => e.encapsulation)).toEqual(['none', 'none']);
      expect(r.findings.map((f) => f.code)).toEqual(['NO_NAT_DETECTED']);
    }
  });

  it('debian-5.9.8-nat: fake SOURCE hashes (random address, port 0) are reported, the DESTINATION hash is genuine', () => {
    const m = manifest('debian-5.9.8-nat');
    const outside = onlySa(analyze([`${LAB}debian-5.9.8-nat/outside.pcap`]));
    expect(outside.natDetection.fake).toBe(true);
    // From outside alone, the responder's fake hash is provable (it is not translated);
    // the initiator's looks like any hash over a private address behind a NAT.
    expect(outside.natDetection.fakeSenders).toEqual(['responder']);
    const inside = analyze([`${LAB}debian-5.9.8-nat/inside.pcap`]);
    expect(onlySa(inside).natDetection.fakeSenders).toEqual(m.ground_truth.fake_natd_source_hash_sent_by);
    const both = onlySa(analyze([`${LAB}debian-5.9.8-nat/inside.pcap`, `${LAB}debian-5.9.8-nat/outside.pcap`]));
    expect(both.natDetection.fakeSenders).toEqual(m.ground_truth.fake_natd_source_hash_sent_by);
    const f = inside.findings.filter((x) => x.code === 'NATD_FAKE_SOURCE');
    expect(f.map((x) => [x.severity, x.frames])).toEqual([
      ['warning', [1]],
      ['warning', [2]],
    ]);
    expect(f[1]!.message).toContain('forces UDP encapsulation');
    const dst = onlySa(inside).natDetection.hashes.filter((h) => h.kind === 'destination');
    expect(dst.map((h) => h.status)).toEqual(['match', 'mismatch']);
  });
});
