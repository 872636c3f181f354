/**
 * Wireshark as an independent oracle: ESP emitted by natt-sim (raw ESP and ESP-in-UDP;
 * AES-GCM-128/256, AES-CBC-128/256 with HMAC-SHA-256/384/512, NULL with HMAC-SHA-256)
 * written as a classic pcap (LINKTYPE_RAW) with src/pcap's PcapWriter, keys given as
 * esp_sa UAT rows from src/crypto/keys-out.ts. tshark must verify every ICV, decrypt
 * every packet to the inner ICMP echo and find nothing malformed.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concatBytes, SeededRng, type IpAddress } from '../../src/core/index.ts';
import { DhGroup, type CipherSuite } from '../../src/crypto/algorithms.ts';
import { espSaRow, espSaRowFor } from '../../src/crypto/keys-out.ts';
import { LinkType } from '../../src/pcap/format.ts';
import { PcapWriter } from '../../src/pcap/writer.ts';
import { EspProcessor } from '../../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase } from '../../src/ipsec/sad.ts';
import { endpoint, parseIp } from '../../src/core/addr.ts';
import { INNER_A, INNER_B, SUITES, icmp6Echo, icmpEcho, keysFor } from './fixtures.ts';

const TSHARK = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).status === 0;

interface Emitted {
  readonly frames: Uint8Array[];
  readonly rows: string[];
  /** Per frame: SPI (hex) and the ICMP type expected inside. */
  readonly expected: Array<{ spi: string; icmpType: string }>;
}

function emit(family: 4 | 6): Emitted {
  const frames: Uint8Array[] = [];
  const rows: string[] = [];
  const expected: Emitted['expected'] = [];
  const names = ['aes128gcm16', 'aes256gcm16', 'aes128-sha256', 'aes256-sha256', 'aes128-sha384', 'aes256-sha512', 'null-sha256'];
  let spi = 0x5000_0000;
  const hostA: IpAddress = family === 4 ? parseIp('192.0.2.1') : parseIp('2001:db8:1::1');
  const hostB: IpAddress = family === 4 ? parseIp('198.51.100.2') : parseIp('2001:db8:2::1');
  for (const name of names) {
    for (const encap of [false, true]) {
      const suite: CipherSuite = SUITES[name]!;
      const sad = new SecurityAssociationDatabase();
      const id = `${name}-${encap}`;
      spi += 0x100;
      const keys = keysFor(suite, spi & 0xff);
      // Request A → B on one SA, reply B → A on the other (both from one processor for brevity).
      sad.addOutbound(id, {
        spi,
        suite,
        ...keys,
        esn: false,
        replayWindow: 64,
        ...(encap ? { encap: { local: endpoint(hostA, 4500), remote: endpoint(hostB, 4500) } } : { tunnel: { local: hostA, remote: hostB } }),
      }, 0);
      sad.addOutbound(`${id}-r`, {
        spi: spi + 1,
        suite,
        ...keys,
        esn: false,
        replayWindow: 64,
        ...(encap ? { encap: { local: endpoint(hostB, 4500), remote: endpoint(hostA, 31001) } } : { tunnel: { local: hostB, remote: hostA } }),
      }, 0);
      const p = new EspProcessor({ sad, rng: new SeededRng(spi) });
      const fam = family === 4 ? 'IPv4' : 'IPv6';
      for (const s of [spi, spi + 1]) {
        rows.push(espSaRow(espSaRowFor(s, { ...suite, dh: DhGroup.NONE, esn: false }, keys.encKey, keys.integKey ?? new Uint8Array(0), { family: fam })));
      }
      for (let i = 1; i <= 2; i++) {
        const req = p.protect(id, icmpEcho(INNER_A, INNER_B, { seq: i }));
        const rep = p.protect(`${id}-r`, icmpEcho(INNER_B, INNER_A, { type: 0, seq: i }));
        if (!req.ok || !rep.ok) throw new Error('protect failed');
        frames.push(req.packets[0]!, rep.packets[0]!);
        expected.push({ spi: `0x${spi.toString(16)}`, icmpType: '8' }, { spi: `0x${(spi + 1).toString(16)}`, icmpType: '0' });
      }
    }
  }
  return { frames, rows, expected };
}

function runTshark(e: Emitted): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'natt-sim-esp-'));
  try {
    const w = new PcapWriter({ linktype: LinkType.Raw });
    const file = concatBytes(w.header(), ...e.frames.map((data, i) => w.packet({ timestampUs: 1_000_000 + i * 1000, data })));
    const path = join(dir, 'esp.pcap');
    writeFileSync(path, file);
    const args = ['-n', '-r', path, '-o', 'esp.enable_encryption_decode:TRUE', '-o', 'esp.enable_authentication_check:TRUE'];
    for (const row of e.rows) args.push('-o', `uat:esp_sa:${row}`);
    args.push('-T', 'fields', '-E', 'separator=/t', '-e', 'frame.number', '-e', 'esp.spi', '-e', 'esp.icv_good', '-e', 'icmp.type', '-e', 'icmpv6.type', '-e', '_ws.malformed', '-e', 'udp.dstport');
    const r = spawnSync('tshark', args, { encoding: 'utf8', env: { ...process.env, WIRESHARK_CONFIG_DIR: dir } });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim().split('\n').map((l) => l.split('\t'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('tshark decrypts and verifies what natt-sim emits', () => {
  for (const family of [4, 6] as const) {
    it.skipIf(!TSHARK)(`IPv${family} outer: every ICV good, every inner ICMP echo visible, nothing malformed`, () => {
      const e = emit(family);
      const lines = runTshark(e);
      expect(lines).toHaveLength(e.frames.length);
      lines.forEach((f, i) => {
        const [frame, spi, icvGood, icmpType, , malformed] = f;
        const want = e.expected[i]!;
        expect({ frame, spi, icvGood, icmpType, malformed }, `frame ${i + 1}`).toEqual({
          frame: String(i + 1),
          spi: want.spi,
          icvGood: '1',
          icmpType: want.icmpType,
          malformed: '',
        });
      });
      // Half the frames went over UDP 4500 / 31001.
      expect(lines.filter((f) => f[6] !== '').length).toBe(e.frames.length / 2);
    });
  }

  it.skipIf(!TSHARK)('an IPv6 inner packet (next header 41) is decoded as ICMPv6', () => {
    const sad = new SecurityAssociationDatabase();
    const suite = SUITES['aes128gcm16']!;
    const keys = keysFor(suite, 9);
    sad.addOutbound('v6', { spi: 0x6006, suite, ...keys, esn: false, replayWindow: 64, tunnel: { local: parseIp('192.0.2.1'), remote: parseIp('198.51.100.2') } }, 0);
    const p = new EspProcessor({ sad, rng: new SeededRng(6) });
    const r = p.protect('v6', icmp6Echo(parseIp('2001:db8:a::1'), parseIp('2001:db8:b::1')));
    if (!r.ok) throw new Error(r.message);
    const lines = runTshark({
      frames: [r.packets[0]!],
      rows: [espSaRow(espSaRowFor(0x6006, { ...suite, dh: DhGroup.NONE, esn: false }, keys.encKey, new Uint8Array(0)))],
      expected: [],
    });
    expect(lines[0]![2]).toBe('1');
    expect(lines[0]![4]).toBe('128');
  });
});
