/**
 * The reader on every shared capture: streaming (tiny and page-sized chunks,
 * and a real file stream) gives exactly what the sync reader gives, and both
 * agree with tshark 4.0's view of the files (fixtures from
 * test/fixtures/tshark/regenerate-pcap.sh, so tshark is not needed here).
 */
import { createReadStream, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture, readCaptureSync, readPacketsSync, type CaptureEntry, type PacketRecord } from '../../src/pcap/index.ts';
import {
  CAPTURE_FILES,
  asyncChunksOf,
  collect,
  readCaptureFile,
  readTsharkFixture,
  tsharkFixturePath,
} from './capture-files.ts';

describe('shared captures', () => {
  it('finds the shared captures (both formats)', () => {
    expect(CAPTURE_FILES.length).toBeGreaterThanOrEqual(40);
    expect(CAPTURE_FILES.filter((f) => f.pcapng).length).toBeGreaterThanOrEqual(5);
  });

  describe.each(CAPTURE_FILES.map((f) => [f.rel, f] as const))('%s', (rel, file) => {
    const bytes = readCaptureFile(rel);
    const sync = [...readCaptureSync(bytes)];
    const packets = sync.filter((e): e is PacketRecord => e.kind === 'packet');

    it('streams in 7-byte and 4096-byte chunks to the same entries as the sync reader', async () => {
      expect(await collect(readCapture(asyncChunksOf(bytes, 7)))).toEqual(sync);
      expect(await collect(readCapture(asyncChunksOf(bytes, 4096)))).toEqual(sync);
    });

    it('streams from fs.createReadStream to the same entries', async () => {
      expect(await collect(readCapture(createReadStream(file.path, { highWaterMark: 1000 })))).toEqual(sync);
    });

    it('starts with the header, then an interface, and numbers packets from 1', () => {
      expect(sync[0]?.kind).toBe('header');
      expect(sync[0]).toMatchObject({ format: file.pcapng ? 'pcapng' : 'pcap', offset: 0 });
      expect(sync[1]?.kind).toBe('interface');
      expect(packets.map((p) => p.index)).toEqual(packets.map((_, i) => i + 1));
    });

    it('points each record at its place in the file', () => {
      if (!file.pcapng) {
        let at = 24;
        for (const p of packets) {
          expect(p.offset).toBe(at);
          at += 16 + p.capturedLength;
        }
        expect(at).toBe(bytes.length);
      } else {
        const dv = new DataView(bytes.buffer, bytes.byteOffset);
        for (const p of packets) expect(dv.getUint32(p.offset, true)).toBe(6); // all shared pcapng files are LE with EPBs
      }
    });

    it("agrees with tshark's frame list", () => {
      expect(existsSync(tsharkFixturePath(rel))).toBe(true);
      const rows = readTsharkFixture(rel);
      expect(packets.length).toBe(rows.length);
      expect(
        packets.map((p) => ({
          number: p.index,
          len: p.originalLength,
          capLen: p.capturedLength,
          epochNs: p.timestampNs,
          interfaceId: file.pcapng ? String(p.interfaceId) : '',
          // tshark names an IDB without if_name "unknown"; classic files have no interface name
          interfaceName: p.interfaceName ?? (file.pcapng ? 'unknown' : ''),
          comment: p.comments?.join(',') ?? '',
        })),
      ).toEqual(rows);
      for (const p of packets) {
        expect(p.data.length).toBe(p.capturedLength);
        expect(p.timestampUs).toBe(Number(p.timestampNs / 1000n));
      }
    });
  });
});

describe('known files', () => {
  const entries = (rel: string): CaptureEntry[] => [...readCaptureSync(readCaptureFile(rel))];
  const count = (rel: string): number => [...readPacketsSync(readCaptureFile(rel))].length;

  it('tcpdump/ikev2four.pcap: classic LE microsecond, DLT_NULL, snaplen 1500, 21 frames', () => {
    const [header, iface] = entries('tcpdump/ikev2four.pcap');
    expect(header).toEqual({
      kind: 'header',
      format: 'pcap',
      offset: 0,
      byteOrder: 'little',
      versionMajor: 2,
      versionMinor: 4,
      precision: 'us',
      thiszone: 0,
      sigfigs: 0,
      snaplen: 1500,
      linktype: 0,
      linktypeField: 0,
      fcsLength: undefined,
    });
    expect(iface).toMatchObject({ kind: 'interface', interfaceId: 0, linktype: 0, snaplen: 1500, tsresol: { base: 10, exponent: 6 } });
    expect(count('tcpdump/ikev2four.pcap')).toBe(21);
  });

  it('strongswan-lab outside captures: Ethernet, snaplen 262144, 35 / 28 / 33 frames', () => {
    for (const [rel, n] of [
      ['strongswan-lab/a-nat-keepalive/outside.pcap', 35],
      ['strongswan-lab/b-nonat/outside.pcap', 28],
      ['strongswan-lab/debian-5.9.8-nat/outside.pcap', 33],
    ] as const) {
      expect(entries(rel)[0]).toMatchObject({ format: 'pcap', linktype: 1, snaplen: 262144 });
      expect(count(rel)).toBe(n);
    }
  });

  it('tcpdump/esp_truncated.pcap: link type field 0x40000001 is Ethernet; one frame cut to 46 of 65613 bytes', () => {
    const e = entries('tcpdump/esp_truncated.pcap');
    expect(e[0]).toMatchObject({ linktype: 1, linktypeField: 0x40000001, fcsLength: undefined, snaplen: 46 });
    expect(e[2]).toMatchObject({ kind: 'packet', capturedLength: 46, originalLength: 65613, timestampUs: 1605787646999999 });
  });

  it('scapy/ikev2_nat_t.pcapng: dumpcap SHB options, ens160 at nanosecond resolution, 54 frames, an ISB skipped', () => {
    const e = entries('scapy/ikev2_nat_t.pcapng');
    expect(e[0]).toMatchObject({
      format: 'pcapng',
      section: 0,
      byteOrder: 'little',
      versionMajor: 1,
      versionMinor: 0,
      sectionLength: -1n,
      os: 'Linux 4.19.0-16-amd64',
      userAppl: 'Dumpcap (Wireshark) 2.6.20 (Git v2.6.20 packaged as 2.6.20-0+deb10u1)',
    });
    expect(e[1]).toMatchObject({ kind: 'interface', name: 'ens160', linktype: 1, snaplen: 262144, tsresol: { base: 10, exponent: 9 } });
    const packets = e.filter((x): x is PacketRecord => x.kind === 'packet');
    expect(packets.length).toBe(54);
    // tshark: frame 1 at 1623613953.582635172, 346 bytes
    expect(packets[0]).toMatchObject({ timestampNs: 1623613953582635172n, timestampUs: 1623613953582635, capturedLength: 346, interfaceName: 'ens160' });
    expect(e.length).toBe(2 + 54);
  });

  it('ndpi/esp.pcapng and tcpdump/ikev2pI2-segfault.pcapng: link types 1 and 0', () => {
    expect(entries('ndpi/esp.pcapng')[1]).toMatchObject({ linktype: 1, snaplen: 65535, name: '-', os: '64-bit Windows 10, build 18362' });
    expect(count('ndpi/esp.pcapng')).toBe(6);
    expect(entries('tcpdump/ikev2pI2-segfault.pcapng')[1]).toMatchObject({ linktype: 0, snaplen: 1500 });
    expect(count('tcpdump/ikev2pI2-segfault.pcapng')).toBe(1);
  });
});
