/**
 * Decryption with Wireshark UAT keys agrees with tshark's decrypted view
 * (test/fixtures/tshark-decrypted/, made by its regenerate.sh from the same keys):
 * the inner payload types of each IKE message, the IDs, the traffic selectors, the
 * CHILD SA SPIs, and the inner packets of every ESP frame.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CAPTURES, FIXTURES, LAB, analyze, manifest } from './support.ts';
import { KeyRing } from '../../src/analysis/keys.ts';
import { payloadNumber } from '../../src/analysis/ike-describe.ts';
import { parseEspSaTable, parseIkev2DecryptionTable } from '../../src/crypto/keys-out.ts';
import type { AnalysisReport } from '../../src/analysis/report.ts';

interface Row {
  frame: number;
  exchange: string;
  types: number[];
  fqdn: string[];
  tsStart: string[];
  tsEnd: string[];
  spi: string[];
  espSpi: string;
  src: string[];
  dst: string[];
  icmp: string;
}

function tshark(name: string): Row[] {
  const lines = readFileSync(`${FIXTURES}${name}.tsv`, 'utf8').split('\n').slice(2).filter(Boolean);
  const list = (s: string | undefined) => (s ? s.split(',') : []);
  return lines.map((l) => {
    const f = l.split('\t');
    return {
      frame: Number(f[0]),
      exchange: f[1] ?? '',
      types: list(f[3]).map(Number),
      fqdn: list(f[4]),
      tsStart: list(f[5]),
      tsEnd: list(f[6]),
      spi: list(f[7]),
      espSpi: f[8] ?? '',
      src: list(f[9]),
      dst: list(f[10]),
      icmp: f[11] ?? '',
    };
  });
}

function keyRing(ikeFile?: string, espFile?: string): KeyRing {
  return new KeyRing(
    ikeFile && existsSync(ikeFile) ? parseIkev2DecryptionTable(readFileSync(ikeFile, 'utf8')) : [],
    espFile && existsSync(espFile) ? parseEspSaTable(readFileSync(espFile, 'utf8')) : [],
  );
}

/** tshark lists the SK payload (46) then the inner payloads, with proposals (2) and transforms (3) inline. */
function innerTypes(r: Row): number[] {
  const i = r.types.indexOf(46);
  return r.types.slice(i + 1).filter((t) => t !== 2 && t !== 3);
}

const ICMP: Record<string, string> = { '8': 'echo request', '0': 'echo reply' };

/** Every encrypted IKE frame tshark shows is decrypted here with the same inner payload types. */
function checkIke(report: AnalysisReport, rows: Row[]): void {
  const sa = report.ikeSas[0]!;
  let encrypted = 0;
  for (const row of rows.filter((x) => x.types.includes(46))) {
    encrypted++;
    const m = sa.decryptedMessages.find((x) => x.frame === row.frame)!;
    expect(m, `frame ${row.frame} decrypted`).toBeDefined();
    expect(m.payloads.map((p) => payloadNumber(p))).toEqual(innerTypes(row));
  }
  expect(sa.decryptedMessages).toHaveLength(encrypted);
}

/** Every ESP frame tshark decrypts is decrypted here, to the same inner packet. */
function checkEsp(report: AnalysisReport, rows: Row[]): void {
  const expected = new Map<string, number>();
  for (const row of rows.filter((x) => x.espSpi)) {
    const key = `${row.espSpi.replace(/^0x/, '')}|ICMP ${ICMP[row.icmp]} ${row.src[1]} → ${row.dst[1]}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const got = new Map<string, number>();
  for (const e of report.espSas) {
    expect(e.decrypted).not.toBeNull();
    expect([e.decrypted!.icvFailed, e.decrypted!.failed]).toEqual([0, 0]);
    for (const [inner, n] of Object.entries(e.decrypted!.inner)) got.set(`${e.spi}|${inner}`, (got.get(`${e.spi}|${inner}`) ?? 0) + n);
  }
  expect(got).toEqual(expected);
}

describe.each(['a-nat-keepalive', 'b-nonat', 'debian-5.9.8-nat'])('strongSwan lab %s with its Wireshark keys', (scenario) => {
  const m = manifest(scenario);
  const keys = keyRing(`${LAB}${scenario}/wireshark/ikev2_decryption_table`, `${LAB}${scenario}/wireshark/esp_sa`);

  it.each(['inside', 'outside'])('%s.pcap: IKE payloads and ESP inner packets as tshark shows them', (side) => {
    const r = analyze([`${LAB}${scenario}/${side}.pcap`], { keys });
    const rows = tshark(`${scenario}-${side}`);
    checkIke(r, rows);
    checkEsp(r, rows);
    const sa = r.ikeSas[0]!;
    expect(sa.decryption).toEqual({ decrypted: 4, integrityFailed: 0, failed: 0, noKey: 0 });

    // IKE_AUTH: IDs, traffic selectors and the CHILD SA SPIs (tshark's isakmp.spi per frame).
    const req = rows.find((x) => x.exchange === '35' && x.types.includes(35))!;
    const resp = rows.find((x) => x.exchange === '35' && x.types.includes(36) && !x.types.includes(35))!;
    expect(req.fqdn).toEqual([m.ground_truth.ids.initiator, m.ground_truth.ids.responder]);
    expect(sa.ids).toEqual({ initiator: req.fqdn[0], responder: resp.fqdn[0] });
    expect(sa.childSas).toHaveLength(1);
    const c = sa.childSas[0]!;
    expect([c.protocol, c.initiatorSpi, c.responderSpi]).toEqual(['ESP', req.spi[0], resp.spi[0]]);
    expect(c.proposal).toBe('ESP:AES_GCM_16_128/NO_EXT_SEQ');
    expect(c.tsi).toEqual([m.ground_truth.traffic_selectors.initiator]);
    expect(c.tsr).toEqual([m.ground_truth.traffic_selectors.responder]);
    expect([resp.tsStart, resp.tsEnd]).toEqual([
      ['10.77.10.0', '10.77.20.0'],
      ['10.77.10.255', '10.77.20.255'],
    ]);

    // Each ESP SA is tied to the CHILD SA that chose its SPI.
    for (const e of r.espSas) {
      expect(e.childSa).toMatchObject({ ikeSa: 0, exchange: 'IKE_AUTH', messageId: 1 });
      expect(e.childSa!.chosenBy).toBe(e.spi === c.initiatorSpi ? 'initiator' : 'responder');
      expect(e.direction).toBe(e.spi === c.initiatorSpi ? 'responder-to-initiator' : 'initiator-to-responder');
    }
  });
});

describe('published test keys (shared/captures/keys)', () => {
  const ike = keyRing(`${CAPTURES}keys/tcpdump-ikev2pI2.ikev2_decryption_table`);

  it('tcpdump ikev2pI2.pcap: IDi "west" and AUTH, although the ICV in the file is wrong (as tshark reports)', () => {
    const r = analyze([`${CAPTURES}tcpdump/ikev2pI2.pcap`], { keys: ike });
    checkIke(r, tshark('tcpdump_ikev2pI2.pcap'));
    const sa = r.ikeSas[0]!;
    expect(sa.ids.initiator).toBe('west');
    expect(sa.decryptedMessages[0]).toMatchObject({ frame: 2, integrity: 'failed', payloads: ['IDi', 'AUTH'] });
    expect(r.findings.map((f) => f.code)).toContain('IKE_ICV_FAILED');
  });

  it.each([
    ['openswan/libpluto/lib-parentI2x509/parentI2psk.pcap', 'initiator', 'west'],
    ['openswan/libpluto/lib-parentR2/parentI2.pcap', 'initiator', 'west'],
    ['openswan/libpluto/lib-parentI3/parentR2.pcap', 'responder', 'east'],
    ['openswan/libpluto/lib-parentR2x509/parentR2psk.pcap', 'responder', 'east'],
  ] as const)('%s: IDs, AUTH, SA, TSi, TSr visible with a valid ICV', (rel, who, id) => {
    const r = analyze([`${CAPTURES}${rel}`], { keys: ike });
    checkIke(r, tshark(rel.replaceAll('/', '_')));
    const sa = r.ikeSas[0]!;
    const m = sa.decryptedMessages[0]!;
    expect(m.integrity).toBe('ok');
    expect(m.payloads).toEqual(expect.arrayContaining([who === 'initiator' ? 'IDi' : 'IDr', 'AUTH', 'SA', 'TSi', 'TSr']));
    expect(sa.ids[who]).toBe(id);
    const c = sa.childSas[0]!;
    expect(who === 'initiator' ? c.initiatorSpi : c.responderSpi).toBe('12345678');
    expect([c.tsi, c.tsr]).toEqual([['192.0.1.0/24'], ['192.0.2.0/24']]);
  });

  it('tcpdump espudp1.pcap with the Openswan west-natt-01 esp_sa: 8 ICMP echo requests 192.0.2.1 → 192.0.1.1, ICV verified', () => {
    const r = analyze([`${CAPTURES}tcpdump/espudp1.pcap`], { keys: keyRing(undefined, `${CAPTURES}keys/openswan-west-natt-01.esp_sa`) });
    checkEsp(r, tshark('tcpdump_espudp1.pcap'));
    expect(r.espSas[0]!.decrypted).toEqual({ ok: 8, icvFailed: 0, failed: 0, inner: { 'ICMP echo request 192.0.2.1 → 192.0.1.1': 8 } });
  });

  it('a wrong ESP key is an ICV failure, not garbage', () => {
    const text = readFileSync(`${CAPTURES}keys/openswan-west-natt-01.esp_sa`, 'utf8').replace('0x8765876587658765', '0x0765876587658765');
    const r = analyze([`${CAPTURES}tcpdump/espudp1.pcap`], { keys: new KeyRing([], parseEspSaTable(text)) });
    expect(r.espSas[0]!.decrypted).toMatchObject({ ok: 0, icvFailed: 8 });
    expect(r.findings.find((f) => f.code === 'ESP_ICV_FAILED')).toMatchObject({ severity: 'error', frames: [1, 2, 3, 4, 5, 6, 7, 8] });
  });
});
