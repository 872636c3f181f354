/**
 * Every shared reference capture goes through the analyser without a crash or a hang
 * and yields a report that conforms to docs/report.schema.json; NAT verdicts of a few
 * are checked by hand, recomputing the hashes here from the headers.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CAPTURES, analyze, natd } from './support.ts';
import { validate } from '../../src/analysis/schema-check.ts';
import { REPORT_SCHEMA } from '../../src/analysis/report-schema.ts';
import { readPacketsSync } from '../../src/pcap/reader.ts';
import { Dissector } from '../../src/analysis/dissect.ts';

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}
const FILES = walk(CAPTURES)
  .filter((p) => /\.(pcap|pcapng)$/.test(p))
  .map((p) => relative(CAPTURES, p));

describe('every reference capture', () => {
  it('finds the captures', () => {
    expect(FILES.length).toBe(50);
  });

  it.each(FILES)('%s: analysed quickly, report conforms to the schema', (rel) => {
    const t0 = performance.now();
    const r = analyze([join(CAPTURES, rel)]);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(validate(REPORT_SCHEMA, JSON.parse(JSON.stringify(r)))).toEqual([]);
    expect(r.captures[0]!.packets).toBeGreaterThan(0);
    const c = r.captures[0]!.counts;
    expect(c.ike + c.esp + c.keepalives + c.ipFragments + c.malformed + c.other).toBe(r.captures[0]!.packets);
  });
});

describe('Scapy ikev2_notify_redirect.pcap: a SOURCE hash that does not match the header', () => {
  const r = analyze([`${CAPTURES}scapy/ikev2_notify_redirect.pcap`]);
  it('recomputes SHA-1(SPIi | 0 | 10.5.2.60 | 10952) and shows it differs from the hash sent', () => {
    const sa = r.ikeSas.find((s) => s.spiI === '88694881497528ad')!;
    const src = sa.natDetection.hashes.find((h) => h.kind === 'source')!;
    const should = Buffer.from(natd('88694881497528ad', '0000000000000000', '10.5.2.60:10952')).toString('hex');
    expect(should).toBe('e02bf16cb888671b0aa5028341b60d7956f4cc94');
    expect(src.packet.src).toBe('10.5.2.60:10952');
    expect(src.expected.hash).toBe(should);
    expect(src.hash).toBe('53120985399e14cf2b79211f375b439bd03031ac');
    expect(src.hash).not.toBe(should);
    expect([src.matches, src.matchedEndpoint]).toEqual([false, null]);
    // Not even over the standard port: the sender hashed an address:port not on the wire.
    expect(src.hash).not.toBe(Buffer.from(natd('88694881497528ad', '0000000000000000', '10.5.2.60:500')).toString('hex'));
    // Its DESTINATION hash is right.
    const dst = sa.natDetection.hashes.find((h) => h.kind === 'destination')!;
    expect(dst.hash).toBe(Buffer.from(natd('88694881497528ad', '0000000000000000', '10.5.2.52:500')).toString('hex'));
    expect(dst.status).toBe('match');
    // Port 10952 instead of 500 means a rewritten source port: read as a NAT in front of the initiator.
    expect(src.status).toBe('unverified');
    expect(sa.natDetection).toMatchObject({ initiatorBehindNat: true, responderBehindNat: false });
  });
  it('follows the REDIRECT to a second responder as a second SA', () => {
    expect(r.ikeSas.map((s) => [s.spiI, s.responder])).toEqual([
      ['88694881497528ad', '10.5.2.52:500'],
      ['1c88ee0b7793d52e', '10.5.2.53:500'],
    ]);
    expect(r.ikeSas[1]!.spiR).toBe('63cc9c1919de33e7');
    expect(r.ikeSas[1]!.exchanges).toEqual({ 'IKE_SA_INIT request': 1, 'IKE_SA_INIT response': 1 });
  });
});

describe('nDPI esp.pcapng and ah.pcapng: Cisco FlexVPN without NAT', () => {
  it.each(['esp.pcapng', 'ah.pcapng'])('%s: all four hashes equal the recomputed ones', (f) => {
    const r = analyze([`${CAPTURES}ndpi/${f}`]);
    const sa = r.ikeSas[0]!;
    expect(sa.natDetection.hashes).toHaveLength(4);
    for (const h of sa.natDetection.hashes) {
      const ep = h.kind === 'source' ? h.packet.src : h.packet.dst;
      expect(h.hash).toBe(Buffer.from(natd(h.expected.spiI, h.expected.spiR, ep)).toString('hex'));
      expect(h.status).toBe('match');
    }
    // The request hashes with SPIr zero, the response with the responder's SPI.
    expect(sa.natDetection.hashes.map((h) => h.expected.spiR === '0000000000000000')).toEqual([true, true, false, false]);
    expect(sa.natDetection).toMatchObject({ initiatorBehindNat: false, responderBehindNat: false, fake: false });
    expect(sa.floatedTo4500).toBe(false);
  });
  it('esp.pcapng: raw ESP, no NAT, so no finding about it', () => {
    const r = analyze([`${CAPTURES}ndpi/esp.pcapng`]);
    expect(r.espSas.map((e) => [e.spi, e.encapsulation, e.direction])).toEqual([
      ['2360b0e3', 'none', 'initiator-to-responder'],
      ['f0092cb5', 'none', 'responder-to-initiator'],
    ]);
    expect(r.findings.map((f) => f.code)).toEqual(['NO_NAT_DETECTED']);
  });
});

describe('tcpdump ISAKMP_sa_setup.pcap: IKEv1 NAT-D (RFC 3947) with the negotiated hash', () => {
  const file = `${CAPTURES}tcpdump/ISAKMP_sa_setup.pcap`;
  it('the responder chose SHA (Oakley hash 2); recomputing HASH(CKY-I | CKY-R | IP | port) matches every payload', () => {
    // The chosen transform, read here from frame 2's SA payload.
    const d = new Dissector();
    const frames = [...readPacketsSync(new Uint8Array(readFileSync(file)))].map((p) => d.dissect(p));
    const sa = frames[1]!.ikev1!.payloads.find((p) => p.kind === 'sa')!;
    const attrs = sa.kind === 'sa' ? sa.proposals[0]!.transforms[0]!.attributes : [];
    expect(attrs.find((a) => a.type === 2)).toMatchObject({ format: 'tv', value: 2 });

    const r = analyze([file]);
    const ike = r.ikeSas[0]!;
    expect([ike.version, ike.spiI, ike.spiR]).toEqual([1, 'cf02326f14a95b93', '18a109f89219e8df']);
    expect(ike.natDetection.hashAlgorithm).toBe('SHA1');
    const sha1 = (ep: string) => Buffer.from(natd('cf02326f14a95b93', '18a109f89219e8df', ep)).toString('hex');
    // RFC 3947 §3.2: the first NAT-D is the destination, the rest the source(s). Payload
    // type 15 is the NAT-D number of draft-ietf-ipsec-nat-t-ike-07, the draft the peers' VIDs name.
    expect(ike.natDetection.hashes.map((h) => [h.frame, h.kind, h.carrier, h.hash])).toEqual([
      [3, 'destination', 'NAT-D (15)', sha1('10.0.0.2:500')],
      [3, 'source', 'NAT-D (15)', sha1('10.0.0.1:500')],
      [4, 'destination', 'NAT-D (15)', sha1('10.0.0.1:500')],
      [4, 'source', 'NAT-D (15)', sha1('10.0.0.2:500')],
    ]);
    expect(ike.natDetection.hashes.every((h) => h.matches)).toBe(true);
    expect(ike.natDetection).toMatchObject({ initiatorBehindNat: false, responderBehindNat: false, fake: false });
    expect(ike.exchanges).toEqual({
      'Identity Protection (Main Mode) from initiator': 3,
      'Identity Protection (Main Mode) from responder': 3,
      'Quick Mode from initiator': 2,
      'Quick Mode from responder': 1,
    });
  });
  it('an MD5 recomputation would not match: the hash really is the negotiated one', () => {
    const r = analyze([file]);
    const h = r.ikeSas[0]!.natDetection.hashes[0]!;
    const md5 = createHash('md5').update(Buffer.from(h.expected.input, 'hex')).digest('hex');
    expect(h.hash).toHaveLength(40);
    expect(h.hash.startsWith(md5)).toBe(false);
  });
});

describe('Scapy ikev2_nat_t.pcapng: sessions that start on 4500 with the marker', () => {
  const r = analyze([`${CAPTURES}scapy/ikev2_nat_t.pcapng`]);
  it('three SAs, each started on the NAT-T pair, every IKE message with the marker, no float', () => {
    expect(r.captures[0]!.format).toBe('pcapng');
    expect(r.ikeSas).toHaveLength(3);
    for (const sa of r.ikeSas) {
      expect([sa.startedOn4500, sa.floatedTo4500, sa.firstMessageOn4500]).toEqual([true, false, 'IKE_SA_INIT']);
      expect(sa.initiatorEndpoints).toEqual({ on500: [], on4500: ['192.168.245.131:10954'] });
      expect(sa.responderEndpoints).toEqual({ on500: [], on4500: ['172.16.15.92:4500'] });
      expect(sa.marker).toEqual({ ok: sa.messages, missing: 0, on500: 0 });
      expect(sa.natDetection.initiatorBehindNat).toBeNull();
      expect(sa.exchanges['IKE_AUTH request']).toBe(1);
    }
    expect(r.findings.filter((f) => f.code === 'STARTED_ON_4500')).toHaveLength(3);
    expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
  it('ESP in UDP on the same port pair, 4 packets each way per session', () => {
    expect(r.espSas).toHaveLength(6);
    for (const e of r.espSas) {
      expect([e.encapsulation, e.packets, e.firstSeq, e.lastSeq, e.gaps]).toEqual(['udp', 4, 1, 4, 0]);
      expect(e.ikeSa).not.toBeNull();
    }
  });
});

describe('tcpdump ikev2four.pcap: COOKIE, CREATE_CHILD_SA, hashes over rewritten addresses', () => {
  const r = analyze([`${CAPTURES}tcpdump/ikev2four.pcap`]);
  it('counts the COOKIE round and the seven CREATE_CHILD_SA exchanges; no retransmission', () => {
    const sa = r.ikeSas[0]!;
    expect(sa.exchanges).toEqual({
      'IKE_SA_INIT request': 2,
      'IKE_SA_INIT response': 2,
      'IKE_AUTH request': 1,
      'IKE_AUTH response': 1,
      'CREATE_CHILD_SA request': 7,
      'CREATE_CHILD_SA response': 7,
    });
    expect(sa.retransmissions).toBe(0);
    expect(sa.unanswered).toEqual([]);
  });
  it('no hash matches any address on the wire: the verdict is marked unreliable', () => {
    const sa = r.ikeSas[0]!;
    expect(sa.natDetection.hashes.every((h) => !h.matches)).toBe(true);
    expect(sa.natDetection.consistent).toBe(false);
    expect(sa.natDetection.fake).toBe(false);
    expect(r.findings.map((f) => f.code)).toContain('NATD_INCONSISTENT');
  });
});
