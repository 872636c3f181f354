import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../src/core/addr.ts';
import { mergedPcapng, Tap } from '../../src/sim/tap.ts';
import { concatAll } from '../../src/core/bytes.ts';
import { natLab, udp } from './lab-kit.ts';

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Walks pcapng blocks (little-endian): [type, total length] pairs. */
function blocks(file: Uint8Array): [number, number][] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const out: [number, number][] = [];
  for (let at = 0; at < file.length; ) {
    const type = v.getUint32(at, true);
    const len = v.getUint32(at + 4, true);
    expect(v.getUint32(at + len - 4, true)).toBe(len);
    out.push([type, len]);
    at += len;
  }
  return out;
}

describe('taps', () => {
  it('record time, a copy of the bytes and the comment given', () => {
    const t = new Tap('t1');
    const bytes = Uint8Array.of(0x45, 0, 0, 20);
    t.record(5, bytes, 'first');
    bytes[0] = 0;
    t.record(5, Uint8Array.of(1), 'second');
    expect(t.records.map((r) => [r.timeUs, r.comment, r.bytes[0]])).toEqual([
      [5, 'first', 0x45],
      [5, 'second', 1],
    ]);
    expect(() => t.record(4, bytes, 'late')).toThrow(/before the previous record/);
    // SHB, IDB, two EPBs
    expect(blocks(concatAll(t.chunks)).map(([type]) => type)).toEqual([0x0a0d0d0a, 1, 6, 6]);
    expect(t.chunks).toHaveLength(3);
  });

  it('a link tap shows each direction as it arrives, with the sender note', () => {
    const { net } = natLab({ kind: 'pat' });
    const wan = net.tapLink('wan');
    // an IKEv2 header: SPIi, zero SPIr, version 2.0, IKE_SA_INIT (34), initiator flag
    const ike = new Uint8Array(28);
    ike.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
    ike.set([0x21, 0x20, 34, 0x08, 0, 0, 0, 0, 0, 0, 0, 28], 16);
    net.send('c1', udp('10.0.0.2:500', '198.51.100.1:500', ike, 'IKE_SA_INIT request'));
    net.run(100_000);
    net.send('s1', udp('198.51.100.1:500', '203.0.113.1:500', Uint8Array.of(0xff), 'bogus'));
    net.run(200_000);
    expect(wan.records.map((r) => r.timeUs)).toEqual([6_000, 106_000]);
    expect(wan.comments()).toEqual([
      'UDP 203.0.113.1:500 → 198.51.100.1:500, IKEv2 IKE_SA_INIT request, 56 bytes — IKE_SA_INIT request',
      'UDP 198.51.100.1:500 → 203.0.113.1:500, NAT-keepalive on port 500: keepalives belong on the NAT-T port pair (RFC 3948 §2.3), 29 bytes — bogus',
    ]);
    expect(net.taps.get('wan')).toBe(wan);
    expect(wan.options.description).toBe('link wan (nat.wan ↔ isp.cpe)');
  });

  it.skipIf(!hasTshark())('tshark reads the files: interface names and packet comments', () => {
    const { net } = natLab({ kind: 'pat' });
    const inside = net.tapNat('nat', 'inside', 'home-inside');
    const outside = net.tapNat('nat', 'outside', 'home-outside');
    net.send('c1', udp('10.0.0.2:4500', '198.51.100.1:4500', Uint8Array.of(0xff)));
    net.send('c1', { kind: 'esp', src: parseIp('10.0.0.2'), dst: parseIp('198.51.100.1'), payload: Uint8Array.of(0, 0, 0, 9, 0, 0, 0, 1) });
    net.run(100_000);
    const dir = mkdtempSync(join(tmpdir(), 'natt-sim-tap-'));
    try {
      const merged = join(dir, 'both.pcapng');
      writeFileSync(merged, concatAll(mergedPcapng([inside, outside])));
      const single = join(dir, 'outside.pcapng');
      writeFileSync(single, concatAll(outside.chunks));
      const fields = (file: string) =>
        execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.interface_name', '-e', 'frame.time_epoch', '-e', 'frame.comment'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        })
          .trim()
          .split('\n');
      expect(fields(merged)).toEqual([
        'home-inside|0.001000000|UDP 10.0.0.2:4500 → 198.51.100.1:4500, NAT-keepalive, 29 bytes',
        'home-outside|0.001000000|NAT nat: 10.0.0.2:4500 → 203.0.113.1:4500 (new mapping, endpoint-independent, expires in 120 s)',
        'home-inside|0.001000000|NAT nat: ESP dropped: this PAT has no ESP ALG and ESP has no ports to translate (ESP 10.0.0.2 → 198.51.100.1, SPI 0x00000009)',
      ]);
      expect(fields(single)).toEqual(['home-outside|0.001000000|NAT nat: 10.0.0.2:4500 → 203.0.113.1:4500 (new mapping, endpoint-independent, expires in 120 s)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
