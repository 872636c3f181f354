import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../helpers/cli.ts';
import { pcapHeader, pcapRecordHeader as recordHeader, ROOT, SAMPLE_PCAP as SAMPLE } from './bad-input-fixtures.ts';

const CAPS = resolve(ROOT, '../shared/captures');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'natt-sim-decode-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('natt-sim decode', () => {
  it('prints the NAT-T story of the strongSwan sample, one line per frame', async () => {
    const r = await runCli(['decode', SAMPLE]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(35);
    expect(lines[0]).toBe(
      '1 0.000000 198.51.100.1:29396 > 198.51.100.2:500: IKEv2 IKE_SA_INIT[I] msgid 0 8391f754f1670e3d>0000000000000000: ' +
        'SA KE Nonce N(NAT_DETECTION_SOURCE_IP) N(NAT_DETECTION_DESTINATION_IP) N(IKEV2_FRAGMENTATION_SUPPORTED) N(SIGNATURE_HASH_ALGORITHMS) N(REDIRECT_SUPPORTED)',
    );
    expect(lines[2]).toBe(
      '3 0.014354 198.51.100.1:26329 > 198.51.100.2:4500: NONESP-encap: IKEv2 IKE_AUTH[I] msgid 1 8391f754f1670e3d>5bc1c325f6ce53e8: SK(inner IDi, 211 bytes)',
    );
    expect(lines[4]).toBe('5 0.277492 198.51.100.1:26329 > 198.51.100.2:4500: UDP-encap: ESP(spi=0x33edbb96,seq=1), length 120');
    expect(lines[26]).toBe('27 14.012867 198.51.100.1:26329 > 198.51.100.2:4500: NAT-keepalive');
    expect(lines[12]).toBe('13 3.825247 ARP');
    expect(lines.filter((l) => l.endsWith('NAT-keepalive'))).toHaveLength(5);
  });

  it('-v shows the NAT-D hashes', async () => {
    const r = await runCli(['decode', '-v', SAMPLE]);
    expect(r.code).toBe(0);
    // Frame 1's NAT_DETECTION_SOURCE_IP is SHA-1(SPIi | 0 | 10.77.0.2 | 500), as the initiator saw itself.
    expect(r.out.split('\n')[0]).toMatch(/N\(NAT_DETECTION_SOURCE_IP=[0-9a-f]{40}\) N\(NAT_DETECTION_DESTINATION_IP=[0-9a-f]{40}\)/);
    expect(r.out.split('\n')[0]).toContain('KE(group 31)');
  });

  it('--json gives one record per frame', async () => {
    const r = await runCli(['decode', '--json', SAMPLE]);
    expect(r.code).toBe(0);
    const recs = r.out.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(recs).toHaveLength(35);
    expect(recs[0]).toMatchObject({
      frame: 1,
      kind: 'ikev2',
      src: '198.51.100.1',
      srcPort: 29396,
      dst: '198.51.100.2',
      dstPort: 500,
      udpChecksum: 'valid',
      encap: 'none',
      ike: { version: 2, spiI: '8391f754f1670e3d', spiR: '0000000000000000', exchange: 'IKE_SA_INIT', initiator: true, response: false, messageId: 0 },
    });
    expect(recs[0].ike.natd).toHaveLength(2);
    expect(recs[2]).toMatchObject({ encap: 'nonesp', ike: { exchange: 'IKE_AUTH', payloads: [46] } });
    expect(recs[4]).toMatchObject({ kind: 'esp', encap: 'udp', esp: { spi: '0x33edbb96', sequence: 1, length: 120 } });
    expect(recs[26]).toMatchObject({ kind: 'keepalive', srcPort: 26329, dstPort: 4500 });
  });

  it('decodes IKEv1 with the NAT-T vendor IDs and NAT-D', async () => {
    const r = await runCli(['decode', '-v', join(CAPS, 'tcpdump/ISAKMP_sa_setup.pcap')]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(9);
    expect(lines[0]).toContain('IKEv1 Identity Protection (Main Mode) msgid 0 cf02326f14a95b93>0000000000000000: SA VID(draft-ietf-ipsec-nat-t-ike-07)');
    // Frame 3 carries the two NAT-D payloads (draft-07 numbering, payload type 15) after the key exchange.
    expect(lines[2]).toMatch(/KE NONCE .*NAT-D\(d5664a6fcbc7d769f693d4d83ce125b1415827ae\) NAT-D\(6db4442c1af0b63d93334e3a0cb5ac19f804eca4\)$/);
    expect(lines[6]).toContain('IKEv1 Quick Mode[E] msgid 254507106');
  });

  it('reports a malformed packet in one line and goes on with the next', async () => {
    const r = await runCli(['decode', join(CAPS, 'tcpdump/isakmp-ikev1_n_print-oobr.pcap')]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('IPv4 fragment id 0x530f offset 72 (not captured whole)');
    const bad = lines.filter((l) => l.includes('[malformed: '));
    expect(bad.length).toBeGreaterThan(0);
    for (const l of bad) expect(l).toMatch(/\[malformed: [a-z0-9-]+: [a-z_]+ at byte \d+: .+\]/);
  });

  it('never crashes or hangs on any reference capture, the malformed ones included', async () => {
    const files = spawnSync('find', [CAPS, '-name', '*.pcap', '-o', '-name', '*.pcapng'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(files.length).toBeGreaterThan(45);
    for (const f of files) {
      const r = await runCli(['decode', f]);
      expect(r.code, f).toBe(0);
      expect(r.err, f).toBe('');
      expect(r.out.length, f).toBeGreaterThan(0);
    }
  });
});

describe('natt-sim decode: bad input', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['a missing file', () => join(dir, 'nope.pcap'), /nope\.pcap: no such file$/],
    ['a directory', () => dir, /: is a directory, not a capture file$/],
    ['an empty file', () => write('empty.pcap', Buffer.alloc(0)), /empty\.pcap: pcap: magic at byte 0: .*empty/],
    ['a text file', () => write('notes.txt', Buffer.from('hello, this is not a capture\n')), /notes\.txt: pcap: magic at byte 0: not a pcap or pcapng file/],
    ['a truncated file header', () => write('hdr.pcap', pcapHeader(1).subarray(0, 10)), /hdr\.pcap: pcap: [a-z_]+ at byte \d+: .*truncated/],
    ['a record longer than 256 KiB', () => write('big.pcap', Buffer.concat([pcapHeader(1, 0x7fffffff), recordHeader(300_000)])), /big\.pcap: pcap: incl_len at byte 32: /],
    ['an unknown link type', () => write('lt.pcap', Buffer.concat([pcapHeader(147), recordHeader(4), Buffer.from([1, 2, 3, 4])])), /lt\.pcap: link type 147 .*is not supported/],
  ];
  function write(name: string, b: Buffer): string {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  }
  for (const [what, make, re] of cases) {
    it(`${what}: one line on stderr, exit 2`, async () => {
      const r = await runCli(['decode', make()]);
      expect(r.code).toBe(2);
      expect(r.err.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.err.trimEnd()).toMatch(new RegExp(`^natt-sim: .*${re.source}`));
      expect(r.err).not.toMatch(/\n\s+at /);
    });
  }

  it('a record cut short: prints the records before it, then names the offset', async () => {
    const whole = readFileSync(SAMPLE);
    // Frame 1 is 274 bytes at offset 24; frame 2's header starts at 24 + 16 + 274 = 314. Cut inside frame 2's data.
    const cut = write('cut.pcap', whole.subarray(0, 314 + 16 + 100));
    const r = await runCli(['decode', cut]);
    expect(r.code).toBe(2);
    expect(r.out.trimEnd().split('\n')).toHaveLength(1);
    expect(r.err.trimEnd()).toMatch(/^natt-sim: .*cut\.pcap: pcap: [a-z_]+ at byte 3\d\d: .*truncated/);
  });

  it('unknown flags and missing arguments are one line and exit 2', async () => {
    const a = await runCli(['decode', SAMPLE, '--frobnicate']);
    expect(a.code).toBe(2);
    expect(a.err.trimEnd()).toMatch(/^natt-sim: Unknown argument: frobnicate$/);
    const b = await runCli(['decode']);
    expect(b.code).toBe(2);
    expect(b.err.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('the installed binary prints one line and exits 2, no stack trace', () => {
    mkdirSync(dir, { recursive: true });
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/natt-sim.js'), 'decode', join(dir, 'missing.pcap')], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd()).toBe(`natt-sim: ${join(dir, 'missing.pcap')}: no such file`);
  });
});
