/**
 * Wireshark as an independent check of the engine's wire format and keys: the
 * pair's datagrams as seen outside the NAT are written as a classic pcap (link type
 * RAW, IPv4/UDP built with the wire codecs), the engine's ikev2_decryption_table
 * rows are handed to tshark, and every IKE message must dissect without a malformed
 * packet while every Encrypted payload decrypts (IDi/IDr/AUTH/SA/TSi/TSr visible).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/core/index.ts';
import { PcapWriter } from '../../src/pcap/writer.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { encodeUdp } from '../../src/wire/udp.ts';
import { LAB_NAT, Pair, labConfigs, sec, type WireRecord } from '../helpers/engine-pair.ts';

const hasTshark = spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'natt-sim-ikev2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINKTYPE_RAW = 101;

function pcapOf(wire: readonly WireRecord[]): Uint8Array {
  const w = new PcapWriter({ linktype: LINKTYPE_RAW });
  const chunks = [w.header()];
  wire.forEach((r, i) => {
    const { src, dst } = r.outside;
    const udp = encodeUdp({ srcPort: src.port, dstPort: dst.port, payload: r.payload }, { src: src.addr, dst: dst.addr });
    const ip = Ipv4Codec.encode({
      dscp: 0,
      ecn: 0,
      identification: i + 1,
      reservedFlag: false,
      dontFragment: true,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: 17,
      src: src.addr,
      dst: dst.addr,
      options: new Uint8Array(0),
      payload: udp,
    });
    chunks.push(w.packet({ timestampUs: r.at, data: ip }));
  });
  return concatBytes(...chunks);
}

function tshark(file: string, rows: readonly string[], args: readonly string[]): string {
  const opts = rows.flatMap((r) => ['-o', `uat:ikev2_decryption_table:${r}`]);
  const r = spawnSync('tshark', ['-n', '-r', file, ...opts, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function fields(file: string, rows: readonly string[], filter: string, names: readonly string[]): string[][] {
  const out = tshark(file, rows, ['-Y', filter, '-T', 'fields', '-E', 'separator=|', ...names.flatMap((n) => ['-e', n])]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('|'));
}

interface Run {
  readonly file: string;
  readonly rows: string[];
  readonly pair: Pair;
}

/** A NAT'd session: handshake, keepalives, a CHILD_SA rekey, a liveness check, an IKE rekey, delete. */
function session(name: string, ike: string, esp: string): Run {
  const c = labConfigs({ ini: { ikeProposals: ike, espProposals: esp }, rsp: { ikeProposals: ike, espProposals: esp } });
  const p = new Pair({ seed: 11, initiator: c.initiator, responder: [c.responder], nat: LAB_NAT });
  const id = p.start();
  p.runUntil(() => p.established(), sec(5));
  p.runTo(sec(25));
  p.act('ini', (e, now) => e.rekeyChild(id, p.eventsOf('child-established', 'ini')[0]!.childId, now));
  p.runTo(sec(26));
  p.act('ini', (e, now) => e.checkLiveness(id, now));
  p.runTo(sec(27));
  p.act('ini', (e, now) => e.rekeyIke(id, now));
  p.runTo(sec(28));
  const fresh = p.eventsOf('sa-rekeyed', 'ini')[0]!.newSaId;
  p.act('ini', (e, now) => e.deleteSa(fresh, now));
  p.runTo(sec(30));
  const file = join(dir, `${name}.pcap`);
  writeFileSync(file, pcapOf(p.wire));
  return { file, rows: p.eventsOf('sa-established', 'ini').map((e) => e.ikev2DecryptionRow), pair: p };
}

describe.skipIf(!hasTshark)('tshark reads what the engine sends', () => {
  const runs = hasTshark
    ? [session('gcm', 'aes128gcm16-prfsha256-x25519', 'aes128gcm16'), session('cbc', 'aes256-sha256-ecp256', 'aes128-sha1')]
    : [];

  it('finds no malformed packet, with or without keys', () => {
    for (const r of runs) {
      expect(tshark(r.file, [], ['-Y', '_ws.malformed || _ws.expert.severity >= warning'])).toBe('');
      expect(tshark(r.file, r.rows, ['-Y', '_ws.malformed || _ws.expert.severity >= warning || isakmp.ikev2.integrity_checksum'])).toBe('');
    }
  });

  it('decodes the float, the non-ESP marker and the keepalives as Wireshark understands them', () => {
    const r = runs[0]!;
    const rows = fields(r.file, [], 'udp', ['frame.number', 'udp.srcport', 'udp.dstport', 'isakmp.exchangetype', 'udpencap.non_esp_marker', 'udpencap.nat_keepalive']);
    expect(rows.slice(0, 4).map((x) => x.slice(1, 4))).toEqual([
      ['29396', '500', '34'],
      ['500', '29396', '34'],
      ['26329', '4500', '35'],
      ['4500', '26329', '35'],
    ]);
    const ka = rows.filter((x) => x[3] === '');
    expect(ka).toHaveLength(1);
    expect(ka[0]!.slice(1, 3)).toEqual(['26329', '4500']);
    // Every IKE message on the NAT-T ports shows the marker; none on 500.
    for (const x of rows.filter((y) => y[3] !== '')) expect(x[4] !== '', x.join(' ')).toBe(x[1] !== '500' && x[2] !== '500');
  });

  it('decrypts every Encrypted payload with the exported rows: IDi/IDr/AUTH/SA/TSi/TSr of IKE_AUTH visible', () => {
    for (const r of runs) {
      // Every IKE message but the IKE_SA_INIT request and response is encrypted.
      const encrypted = r.pair.wire.filter((w) => w.kind === 'ike').length - 2;
      const decrypted = fields(r.file, r.rows, 'isakmp.enc.decrypted', ['frame.number', 'isakmp.exchangetype', 'isakmp.messageid', 'isakmp.flag_r']);
      expect(decrypted.length).toBe(encrypted);
      expect(r.rows).toHaveLength(2);
      const auth = fields(r.file, r.rows, 'isakmp.exchangetype == 35', ['isakmp.flag_r', 'isakmp.id.data.fqdn', 'isakmp.auth.method', 'isakmp.auth.data', 'isakmp.ts.start_ipv4', 'isakmp.ts.end_ipv4', 'isakmp.tf.id.encr']);
      expect(auth).toHaveLength(2);
      const [req, res] = auth;
      expect(req![0]).toBe('0');
      expect(req![1]).toBe('ini.lab,rsp.lab');
      expect(req![2]).toBe('2');
      expect(req![3]).toMatch(/^[0-9a-f]{64}$/);
      expect(req![4]).toBe('10.77.10.0,10.77.20.0');
      expect(req![5]).toBe('10.77.10.255,10.77.20.255');
      expect(res![0]).toBe('1');
      expect(res![1]).toBe('rsp.lab');
      expect(res![4]).toBe('10.77.10.0,10.77.20.0');
      // The SA payloads decrypted too: ENCR transform 20 (AES-GCM-16) or 12 (AES-CBC).
      expect(req![6]).toBe(r === runs[0] ? '20' : '12');
      expect(res![6]).toBe(req![6]);
    }
  });

  it('shows the CHILD_SA rekey, the liveness check, the IKE rekey and the deletes in the clear', () => {
    const r = runs[0]!;
    const later = fields(r.file, r.rows, 'isakmp.exchangetype >= 36', ['isakmp.exchangetype', 'isakmp.messageid', 'isakmp.flag_r', 'isakmp.notify.msgtype', 'isakmp.typepayload']);
    const summary = later.map((x) => `${x[0]}/${Number(x[1])}/${x[2] === '1' ? 'R' : 'I'}`);
    expect(summary).toEqual([
      '36/2/I', // CREATE_CHILD_SA with REKEY_SA
      '36/2/R',
      '37/3/I', // Delete of the old CHILD_SA
      '37/3/R',
      '37/4/I', // liveness check
      '37/4/R',
      '36/5/I', // IKE rekey
      '36/5/R',
      '37/6/I', // Delete of the old IKE SA
      '37/6/R',
      '37/0/I', // Delete of the new IKE SA (message IDs restart)
      '37/0/R',
    ]);
    expect(later[0]![3]).toContain('16393');
  });
});
