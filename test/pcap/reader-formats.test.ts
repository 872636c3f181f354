/**
 * Format features the shared captures do not exercise, on hand-built files:
 * classic pcap in both byte orders and both precisions; pcapng sections that
 * switch byte order, several interfaces, if_tsresol in both forms, if_tsoffset,
 * Simple and obsolete Packet Blocks, blocks to skip, option corner cases.
 */
import { describe, expect, it } from 'vitest';
import {
  PcapWriter,
  PcapngWriter,
  readCapture,
  readCaptureSync,
  readPacketsSync,
  type CaptureEntry,
  type PacketRecord,
} from '../../src/pcap/index.ts';
import { asyncChunksOf, collect } from './capture-files.ts';
import { Bytes, block, comment, epb, idb, ifName, opb, options, shb, spb, tsoffset, tsresol, u8s } from './pcapng-blocks.ts';

const packetsOf = (bytes: Uint8Array): PacketRecord[] => [...readPacketsSync(bytes)];

/** Sync and 7-byte streaming must agree; returns the entries. */
async function both(bytes: Uint8Array): Promise<CaptureEntry[]> {
  const sync = [...readCaptureSync(bytes)];
  expect(await collect(readCapture(asyncChunksOf(bytes, 7)))).toEqual(sync);
  expect(await collect(readCapture(asyncChunksOf(bytes, 1)))).toEqual(sync);
  return sync;
}

describe('classic pcap variants', () => {
  const data = Uint8Array.of(0x45, 0, 0, 20, 1, 2, 3);
  it.each([
    ['little', 'us', 'd4c3b2a1'],
    ['big', 'us', 'a1b2c3d4'],
    ['little', 'ns', '4d3cb2a1'],
    ['big', 'ns', 'a1b23c4d'],
  ] as const)('%s-endian %s (file starts %s)', async (byteOrder, precision, magic) => {
    const w = new PcapWriter({ linktype: 101, snaplen: 9000, precision, byteOrder });
    const bytes = u8s(
      w.header(),
      w.packet({ timestampUs: 1_700_000_000_123_456, timestampNs: 1_700_000_000_123_456_789n, data }),
      w.packet({ timestampUs: 1_999_999, timestampNs: 1_999_999_999n, data: data.subarray(0, 3), originalLength: 1400 }),
    );
    expect(Buffer.from(bytes.subarray(0, 4)).toString('hex')).toBe(magic);
    const e = await both(bytes);
    expect(e[0]).toMatchObject({ format: 'pcap', byteOrder, precision, snaplen: 9000, linktype: 101, versionMajor: 2, versionMinor: 4 });
    expect(e[1]).toMatchObject({ kind: 'interface', tsresol: { base: 10, exponent: precision === 'ns' ? 9 : 6 } });
    const [a, b] = e.slice(2) as PacketRecord[];
    if (precision === 'ns') {
      expect(a).toMatchObject({ timestampNs: 1_700_000_000_123_456_789n, timestampUs: 1_700_000_000_123_456 });
      expect(b).toMatchObject({ timestampNs: 1_999_999_999n, timestampUs: 1_999_999 }); // rounded down, not up to 2 s
    } else {
      expect(a).toMatchObject({ timestampNs: 1_700_000_000_123_456_000n, timestampUs: 1_700_000_000_123_456 });
      expect(b).toMatchObject({ timestampNs: 1_999_999_000n, timestampUs: 1_999_999 });
    }
    expect(a).toMatchObject({ index: 1, offset: 24, capturedLength: 7, originalLength: 7, data });
    expect(b).toMatchObject({ index: 2, offset: 24 + 16 + 7, capturedLength: 3, originalLength: 1400 });
  });

  it('FCS information in the link type field (F bit set, 2 × 16-bit words)', () => {
    const h = new Bytes(true).u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(0x24000001).bytes();
    expect([...readCaptureSync(h)][0]).toMatchObject({ linktype: 1, linktypeField: 0x24000001, fcsLength: 4 });
  });

  it('records are copies: changing the input afterwards does not change them', () => {
    const w = new PcapWriter({ linktype: 1 });
    const bytes = u8s(w.header(), w.packet({ timestampUs: 0, data: Uint8Array.of(9, 9, 9) }));
    const [p] = packetsOf(bytes);
    bytes.fill(0);
    expect(p!.data).toEqual(Uint8Array.of(9, 9, 9));
  });
});

describe('pcapng sections and interfaces', () => {
  it('each section may switch byte order; interfaces are per section', async () => {
    const first = new PcapngWriter({ byteOrder: 'little', userAppl: 'one' });
    const a0 = first.addInterface({ name: 'eth0', linktype: 1 });
    const a1 = first.addInterface({ name: 'lo', linktype: 0, snaplen: 1500 });
    const second = new PcapngWriter({ byteOrder: 'big', userAppl: 'two' });
    const b0 = second.addInterface({ name: 'wan', linktype: 101, tsresol: 9 });
    const bytes = u8s(
      first.header(),
      first.packet({ interfaceId: a1, timestampUs: 10, data: Uint8Array.of(1) }),
      first.packet({ interfaceId: a0, timestampUs: 20, data: Uint8Array.of(2, 2) }),
      second.header(),
      second.packet({ interfaceId: b0, timestampUs: 30, timestampNs: 30_001n, data: Uint8Array.of(3, 3, 3) }),
    );
    const e = await both(bytes);
    expect(e.map((x) => x.kind)).toEqual(['header', 'interface', 'interface', 'packet', 'packet', 'header', 'interface', 'packet']);
    expect(e[0]).toMatchObject({ section: 0, byteOrder: 'little', userAppl: 'one' });
    expect(e[5]).toMatchObject({ section: 1, byteOrder: 'big', userAppl: 'two' });
    expect(e[6]).toMatchObject({ section: 1, interfaceId: 0, name: 'wan', linktype: 101 });
    const p = e.filter((x): x is PacketRecord => x.kind === 'packet');
    expect(p.map((x) => [x.index, x.section, x.interfaceId, x.interfaceName, x.linktype, x.timestampNs])).toEqual([
      [1, 0, 1, 'lo', 0, 10_000n],
      [2, 0, 0, 'eth0', 1, 20_000n],
      [3, 1, 0, 'wan', 101, 30_001n],
    ]);
  });

  it('an IDB may come after packets of other interfaces', () => {
    const bytes = u8s(shb(), idb(1, 0, [ifName('a')]), epb(0, 1n, Uint8Array.of(1)), idb(0, 0, [ifName('b')]), epb(1, 2n, Uint8Array.of(2)));
    expect(packetsOf(bytes).map((p) => [p.interfaceId, p.interfaceName, p.linktype])).toEqual([
      [0, 'a', 1],
      [1, 'b', 0],
    ]);
  });
});

describe('timestamps: if_tsresol and if_tsoffset (draft-ietf-opsawg-pcapng §4.2)', () => {
  const one = (opts: Parameters<typeof idb>[2], ts: bigint): PacketRecord =>
    packetsOf(u8s(shb(), idb(1, 0, opts), epb(0, ts, Uint8Array.of(0))))[0]!;

  it('default is microseconds', () => {
    expect(one([], 1_600_000_000_000_001n)).toMatchObject({ timestampUs: 1_600_000_000_000_001, timestampNs: 1_600_000_000_000_001_000n });
  });
  it('power of 10: milliseconds (3), nanoseconds (9), picoseconds (12, rounded down)', () => {
    expect(one([tsresol(3)], 1_600_000_000_123n)).toMatchObject({ timestampUs: 1_600_000_000_123_000, timestampNs: 1_600_000_000_123_000_000n });
    expect(one([tsresol(9)], 1_600_000_000_123_456_789n)).toMatchObject({ timestampUs: 1_600_000_000_123_456, timestampNs: 1_600_000_000_123_456_789n });
    // 64 bits of picoseconds only reach 1970-08: 1600.000123456789999 s
    expect(one([tsresol(12)], 1_600_000_123_456_789_999n)).toMatchObject({ timestampUs: 1_600_000_123_456, timestampNs: 1_600_000_123_456_789n });
  });
  it('power of 2: 2^-10 s and 2^-20 s units', () => {
    // 5 s + 512/1024 s = 5.5 s
    expect(one([tsresol(0x80 | 10)], 5n * 1024n + 512n)).toMatchObject({ timestampUs: 5_500_000, timestampNs: 5_500_000_000n });
    // 1 unit of 2^-20 s = 953.674... ns, rounded down
    expect(one([tsresol(0x80 | 20)], 1n)).toMatchObject({ timestampUs: 0, timestampNs: 953n });
    expect(one([tsresol(0x80 | 20)], (1_600_000_000n << 20n) + 3n)).toMatchObject({ timestampUs: 1_600_000_000_000_002, timestampNs: 1_600_000_000_000_002_861n });
  });
  it('if_tsoffset adds whole seconds (also negative), in the section byte order', () => {
    expect(one([tsoffset(1_600_000_000n)], 2_500_000n)).toMatchObject({ timestampUs: 1_600_000_002_500_000 });
    expect(one([tsresol(9), tsoffset(-5n)], 7_000_000_001n)).toMatchObject({ timestampNs: 2_000_000_001n, timestampUs: 2_000_000 });
    const be = packetsOf(u8s(shb(false), idb(1, 0, [tsoffset(100n, false)], false), epb(0, 1n, Uint8Array.of(0), [], false)))[0]!;
    expect(be.timestampUs).toBe(100_000_001);
  });
  it('per interface: two interfaces with different resolutions in one section', () => {
    const bytes = u8s(shb(), idb(1, 0, [tsresol(6)]), idb(1, 0, [tsresol(9)]), epb(0, 1_000_000n, Uint8Array.of(0)), epb(1, 1_000_000n, Uint8Array.of(0)));
    expect(packetsOf(bytes).map((p) => p.timestampNs)).toEqual([1_000_000_000n, 1_000_000n]);
  });
});

describe('other blocks', () => {
  it('Simple Packet Block: first interface, original length from the block, captured length bounded by snaplen (§4.4)', async () => {
    const data = Uint8Array.from({ length: 100 }, (_, i) => i);
    const bytes = u8s(shb(), idb(1, 60, [ifName('tap0')]), idb(0, 0), spb(100, data.subarray(0, 60)), spb(30, data.subarray(0, 30)));
    const p = (await both(bytes)).filter((x): x is PacketRecord => x.kind === 'packet');
    expect(p.map((x) => [x.interfaceId, x.interfaceName, x.capturedLength, x.originalLength, x.noTimestamp, x.timestampUs])).toEqual([
      [0, 'tap0', 60, 100, true, 0],
      [0, 'tap0', 30, 30, true, 0],
    ]);
    expect(p[0]!.data).toEqual(data.subarray(0, 60));
    expect(p[1]!.data).toEqual(data.subarray(0, 30)); // not the 2 padding bytes
  });

  it('Simple Packet Block with snaplen 0 keeps the original length', () => {
    expect(packetsOf(u8s(shb(), idb(1, 0), spb(5, Uint8Array.of(1, 2, 3, 4, 5))))[0]).toMatchObject({ capturedLength: 5, data: Uint8Array.of(1, 2, 3, 4, 5) });
  });

  it('Simple Packet Block before any IDB is an error', () => {
    expect(() => [...readCaptureSync(u8s(shb(), spb(4, Uint8Array.of(1, 2, 3, 4))))]).toThrow(/simple packet block before any interface/);
  });

  it('obsolete Packet Block (Appendix A): 16-bit interface id, comment, flags', () => {
    const flags = new Bytes(true).u32(0x1).bytes();
    const bytes = u8s(shb(), idb(1, 0), idb(1, 0, [ifName('second')]), opb(1, 3, 2_000_000n, Uint8Array.of(7, 7), [comment('old'), { code: 2, value: flags }]));
    expect(packetsOf(bytes)[0]).toMatchObject({ interfaceId: 1, interfaceName: 'second', timestampUs: 2_000_000, data: Uint8Array.of(7, 7), comment: 'old', flags: 1 });
  });

  it('skips NRB, ISB, DSB, custom and local-use blocks, in any chunking', async () => {
    const head = u8s(shb(), idb(1, 0));
    const skip = [
      block(4, u8s(new Bytes(true).u16(1).u16(9).raw([127, 0, 0, 1, 0x6c, 0x6f, 0x63, 0x6c, 0]).pad().u16(0).u16(0).bytes())),
      block(5, new Bytes(true).u32(0).u32(0).u32(0).bytes()),
      block(0x0a, new Bytes(true).u32(0x544c534b).u32(3).raw([1, 2, 3]).pad().bytes()),
      block(0x0bad, new Bytes(true).u32(32473).raw([1]).pad().bytes()),
      block(0x80000123, new Uint8Array(0)),
    ];
    const bytes = u8s(head, epb(0, 1n, Uint8Array.of(1)), ...skip, epb(0, 2n, Uint8Array.of(2)));
    const e = await both(bytes);
    expect(e.map((x) => x.kind)).toEqual(['header', 'interface', 'packet', 'packet']);
    expect((e[3] as PacketRecord).offset).toBe(bytes.length - 36);
    expect((e[3] as PacketRecord).index).toBe(2);
  });
});

describe('options (§3.5)', () => {
  it('several comments, epb_flags, a zero-terminated string, no opt_endofopt', () => {
    const flags = new Bytes(true).u32(0x00000002).bytes();
    const opts = options([comment('first'), comment('second\u0000junk'), { code: 2, value: flags }], true, false);
    const body = u8s(new Bytes(true).u32(0).u32(0).u32(1).u32(1).u32(1).raw([0xaa]).pad().bytes(), opts);
    const bytes = u8s(shb(), idb(1, 0, [{ code: 2, value: 'eth0\u0000\u0000' }, { code: 3, value: 'uplink' }]), block(6, body));
    const e = [...readCaptureSync(bytes)];
    expect(e[1]).toMatchObject({ name: 'eth0', description: 'uplink' });
    expect(e[2]).toMatchObject({ comment: 'first', comments: ['first', 'second'], flags: 2, data: Uint8Array.of(0xaa) });
  });

  it('unknown options are skipped; options after opt_endofopt are ignored', () => {
    const opts = u8s(options([{ code: 0x8001, value: Uint8Array.of(1, 2, 3) }, comment('kept')]), options([comment('after the end')], true, false));
    const body = u8s(new Bytes(true).u32(0).u32(0).u32(0).u32(0).u32(0).bytes(), opts);
    expect(packetsOf(u8s(shb(), idb(1, 0), block(6, body)))[0]!.comments).toEqual(['kept']);
  });

  it('SHB options: hardware, os, user application, comment', () => {
    const bytes = shb(true, [comment('hello'), { code: 2, value: 'box' }, { code: 3, value: 'Linux' }, { code: 4, value: 'natt-sim' }]);
    expect([...readCaptureSync(bytes)][0]).toMatchObject({ comment: 'hello', hardware: 'box', os: 'Linux', userAppl: 'natt-sim' });
  });

  it('the header is the first thing a streaming caller gets', async () => {
    const it = readCapture(asyncChunksOf(u8s(shb(), idb(1, 0), epb(0, 0n, Uint8Array.of(1))), 3));
    const first = await it.next();
    expect(first.value).toMatchObject({ kind: 'header', format: 'pcapng', byteOrder: 'little', versionMajor: 1 });
    await it.return(undefined);
  });
});
