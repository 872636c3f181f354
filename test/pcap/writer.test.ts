/**
 * Writers: byte-exact goldens, read → write → read on every shared capture,
 * determinism, block ordering, and tshark reading what we write.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import {
  PcapWriter,
  PcapngWriter,
  readCaptureSync,
  readPacketsSync,
  type CaptureInterface,
  type PacketRecord,
  type PcapFileHeader,
} from '../../src/pcap/index.ts';
import { CAPTURE_FILES, packetContent, readCaptureFile } from './capture-files.ts';
import { u8s } from './pcapng-blocks.ts';

/**
 * A tiny pcapng file, little-endian, by draft-ietf-opsawg-pcapng (field names as in its figures).
 * One interface "eth0", one 5-byte packet at 1700000000.123456 s with the comment "hi".
 */
const GOLDEN_PCAPNG = `
  # §4.1 Section Header Block
  0a0d0d0a                    # Block Type = 0x0A0D0D0A
  1c000000                    # Block Total Length = 28
  4d3c2b1a                    # Byte-Order Magic 0x1A2B3C4D, written little-endian
  0100 0000                   # Major Version = 1, Minor Version = 0
  ffffffff ffffffff           # Section Length = -1 (not specified)
  1c000000                    # Block Total Length = 28 (repeated, §3.1)
  # §4.2 Interface Description Block
  01000000                    # Block Type = 1
  28000000                    # Block Total Length = 40
  0100 0000                   # LinkType = 1 (ETHERNET), Reserved = 0
  00000400                    # SnapLen = 262144
  0200 0400 65746830          # if_name (2), Option Length 4, "eth0" (§3.5: no padding needed)
  0900 0100 06 000000         # if_tsresol (9), Option Length 1, 6 = 10^-6 s, 3 padding octets
  0000 0000                   # opt_endofopt (§3.5)
  28000000                    # Block Total Length = 40
  # §4.3 Enhanced Packet Block
  06000000                    # Block Type = 6
  34000000                    # Block Total Length = 52
  00000000                    # Interface ID = 0
  240a0600                    # Timestamp (Upper 32 bits) = 0x00060a24
  40222018                    # Timestamp (Lower 32 bits) = 0x18202240 → 1700000000123456 µs
  05000000                    # Captured Packet Length = 5
  05000000                    # Original Packet Length = 5
  0102030405 000000           # Packet Data, padded to 32 bits
  0100 0200 6869 0000         # opt_comment (1), Option Length 2, "hi", 2 padding octets
  0000 0000                   # opt_endofopt
  34000000                    # Block Total Length = 52
`;

/** draft-ietf-opsawg-pcap: file header and one record, little-endian, microseconds. */
const GOLDEN_PCAP = `
  d4c3b2a1                    # Magic Number 0xA1B2C3D4 (microseconds), written little-endian
  0200 0400                   # Major Version 2, Minor Version 4
  00000000 00000000           # Reserved1 (thiszone), Reserved2 (sigfigs)
  dc050000                    # SnapLen = 1500
  01000000                    # LinkType = 1 (ETHERNET)
  00f15365                    # Timestamp seconds = 1700000000
  40e20100                    # Timestamp microseconds = 123456
  03000000                    # Captured Packet Length = 3
  40000000                    # Original Packet Length = 64
  aabbcc                      # Packet Data
`;

describe('golden files', () => {
  it('pcapng: SHB, IDB with if_name and if_tsresol, EPB with opt_comment, byte for byte', () => {
    const w = new PcapngWriter();
    const id = w.addInterface({ name: 'eth0', linktype: 1 });
    const bytes = u8s(w.header(), w.packet({ interfaceId: id, timestampUs: 1_700_000_000_123_456, data: Uint8Array.of(1, 2, 3, 4, 5), comment: 'hi' }));
    expect(toHex(bytes)).toBe(toHex(fromHex(GOLDEN_PCAPNG)));
    const e = [...readCaptureSync(bytes)];
    expect(e[1]).toMatchObject({ name: 'eth0', linktype: 1, snaplen: 262144, tsresol: { base: 10, exponent: 6 } });
    expect(e[2]).toMatchObject({ offset: 68, interfaceName: 'eth0', timestampUs: 1_700_000_000_123_456, data: Uint8Array.of(1, 2, 3, 4, 5), comment: 'hi', comments: ['hi'] });
  });

  it('pcap: header and one truncated record, byte for byte', () => {
    const w = new PcapWriter({ linktype: 1, snaplen: 1500 });
    const bytes = u8s(w.header(), w.packet({ timestampUs: 1_700_000_000_123_456, data: Uint8Array.of(0xaa, 0xbb, 0xcc), originalLength: 64 }));
    expect(toHex(bytes)).toBe(toHex(fromHex(GOLDEN_PCAP)));
  });
});

describe('read → write → read', () => {
  it.each(CAPTURE_FILES.filter((f) => !f.pcapng).map((f) => f.rel))('%s through PcapWriter', (rel) => {
    const entries = [...readCaptureSync(readCaptureFile(rel))];
    const h = entries[0] as PcapFileHeader;
    const w = new PcapWriter({ linktype: h.linktype, snaplen: h.snaplen, precision: h.precision, byteOrder: h.byteOrder });
    const packets = entries.filter((e): e is PacketRecord => e.kind === 'packet');
    const out = u8s(w.header(), ...packets.map((p) => w.packet(p)));
    const again = [...readPacketsSync(out)];
    expect(again.map(packetContent)).toEqual(packets.map(packetContent));
    // tcpdump's files are the bytes our writer would produce, except for fields it does not write
    if (h.thiszone === 0 && h.sigfigs === 0 && h.linktypeField === h.linktype && h.byteOrder === 'little') {
      expect(toHex(out)).toBe(toHex(readCaptureFile(rel)));
    }
  });

  it.each(CAPTURE_FILES.filter((f) => f.pcapng).map((f) => f.rel))('%s through PcapngWriter (names, resolution, comments kept)', (rel) => {
    const entries = [...readCaptureSync(readCaptureFile(rel))];
    const w = new PcapngWriter();
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      if (e.kind === 'interface') {
        w.addInterface({ name: e.name, linktype: e.linktype, snaplen: e.snaplen, tsresol: e.tsresol.exponent === 9 ? 9 : 6 });
      } else if (e.kind === 'packet') {
        parts.push(w.packet({ ...e, comment: undefined, comments: e.comments }));
      }
    }
    const packets = entries.filter((e): e is PacketRecord => e.kind === 'packet');
    const again = [...readCaptureSync(u8s(...parts))];
    expect(again.filter((e): e is PacketRecord => e.kind === 'packet').map(packetContent)).toEqual(packets.map(packetContent));
    const ifaces = (list: typeof entries) => list.filter((e): e is CaptureInterface => e.kind === 'interface').map((i) => [i.name, i.linktype, i.snaplen, i.tsresol]);
    expect(ifaces(again)).toEqual(ifaces(entries));
  });

  it('comments and flags survive a round trip, including several per packet', () => {
    const w = new PcapngWriter({ userAppl: 'natt-sim test' });
    const a = w.addInterface({ name: 'left', linktype: 1 });
    const b = w.addInterface({ name: 'right', linktype: 101, snaplen: 0 });
    const bytes = u8s(
      w.header(),
      w.packet({ interfaceId: b, timestampUs: 5, data: Uint8Array.of(0x45), comment: 'NAT rewrote 10.0.0.2:500 → 198.51.100.1:4500', flags: 1 }),
      w.packet({ interfaceId: a, timestampUs: 6, data: new Uint8Array(61), comments: ['one', 'two\nlines'] }),
    );
    const p = [...readPacketsSync(bytes)];
    expect(p.map((x) => [x.interfaceName, x.comments, x.flags, x.capturedLength])).toEqual([
      ['right', ['NAT rewrote 10.0.0.2:500 → 198.51.100.1:4500'], 1, 1],
      ['left', ['one', 'two\nlines'], undefined, 61],
    ]);
    expect([...readCaptureSync(bytes)][0]).toMatchObject({ userAppl: 'natt-sim test' });
  });
});

describe('writer behaviour', () => {
  const build = () => {
    const w = new PcapngWriter();
    const i = w.addInterface({ name: 'x', linktype: 1 });
    return u8s(w.header(), w.packet({ interfaceId: i, timestampUs: 1, data: Uint8Array.of(1, 2, 3), comment: 'c' }));
  };

  it('is deterministic', () => {
    expect(toHex(build())).toBe(toHex(build()));
  });

  it('emits an interface added after the header in front of the next packet; starts the file if header() was skipped', () => {
    const w = new PcapngWriter();
    const a = w.addInterface({ linktype: 1 });
    const chunk1 = w.packet({ interfaceId: a, timestampUs: 1, data: Uint8Array.of(1) }); // SHB + IDB + EPB
    const b = w.addInterface({ name: 'late', linktype: 0 });
    const chunk2 = w.packet({ interfaceId: b, timestampUs: 2, data: Uint8Array.of(2) }); // IDB + EPB
    const e = [...readCaptureSync(u8s(chunk1, chunk2))];
    expect(e.map((x) => x.kind)).toEqual(['header', 'interface', 'packet', 'interface', 'packet']);
    expect(() => w.header()).toThrow(/already written/);
  });

  it('truncates to the snaplen and keeps the original length', () => {
    const w = new PcapWriter({ linktype: 1, snaplen: 4 });
    const [p] = [...readPacketsSync(u8s(w.header(), w.packet({ timestampUs: 0, data: Uint8Array.of(1, 2, 3, 4, 5, 6) })))];
    expect(p).toMatchObject({ capturedLength: 4, originalLength: 6, data: Uint8Array.of(1, 2, 3, 4) });
  });

  it('rejects what it cannot write', () => {
    const w = new PcapngWriter();
    expect(() => w.packet({ interfaceId: 0, timestampUs: 0, data: new Uint8Array(1) })).toThrow(RangeError);
    const i = w.addInterface({ linktype: 1 });
    expect(() => w.packet({ interfaceId: i, timestampUs: -1, data: new Uint8Array(1) })).toThrow(RangeError);
    expect(() => w.packet({ interfaceId: i, timestampUs: 0.5, data: new Uint8Array(1) })).toThrow(RangeError);
    expect(() => new PcapWriter({ linktype: 70000 })).toThrow(RangeError);
    expect(() => new PcapWriter({ linktype: 1, snaplen: 1_000_000 })).toThrow(RangeError);
  });
});

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

describe('tshark reads what we write', () => {
  const tshark = (file: string, fields: string[]) => {
    const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
    return { status: r.status, rows: r.stdout.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t')), stderr: r.stderr };
  };

  const title = 'pcap and pcapng files: exit 0, frame count, interface names and packet comments (frame.comment in tshark 4.0)';
  it.skipIf(!hasTshark)(hasTshark ? title : `${title} — SKIPPED: tshark is not installed (CI installs it)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'natt-sim-pcap-'));
    try {
      const src = [...readPacketsSync(readCaptureFile('strongswan-lab/a-nat-keepalive/outside.pcap'))];
      const pw = new PcapWriter({ linktype: 1 });
      const pcapFile = join(dir, 'out.pcap');
      writeFileSync(pcapFile, u8s(pw.header(), ...src.map((p) => pw.packet(p))));
      const classic = tshark(pcapFile, ['frame.number', 'frame.len', 'frame.cap_len']);
      expect(classic.status, classic.stderr).toBe(0);
      expect(classic.rows.length).toBe(35);
      expect(classic.rows.map((r) => Number(r[2]))).toEqual(src.map((p) => p.capturedLength));

      const w = new PcapngWriter();
      const inside = w.addInterface({ name: 'inside', linktype: 1 });
      const outside = w.addInterface({ name: 'outside', linktype: 1 });
      const chunks = [w.header()];
      src.slice(0, 6).forEach((p, k) => {
        chunks.push(w.packet({ interfaceId: k % 2 ? outside : inside, timestampUs: p.timestampUs, data: p.data, comment: `step ${k + 1}`, comments: k === 5 ? ['second note'] : undefined }));
      });
      const ngFile = join(dir, 'out.pcapng');
      writeFileSync(ngFile, u8s(...chunks));
      const ng = tshark(ngFile, ['frame.number', 'frame.interface_name', 'frame.comment']);
      expect(ng.status, ng.stderr).toBe(0);
      expect(ng.rows).toEqual([
        ['1', 'inside', 'step 1'],
        ['2', 'outside', 'step 2'],
        ['3', 'inside', 'step 3'],
        ['4', 'outside', 'step 4'],
        ['5', 'inside', 'step 5'],
        ['6', 'outside', 'step 6,second note'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
