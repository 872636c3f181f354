/**
 * Bad input: every fault is a DecodeError naming the field and its absolute
 * file offset, raised after every record before it has been yielded, without
 * buffering or allocating according to a lying length field.
 */
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/core/errors.ts';
import { CaptureDecoder, readCapture, readCaptureSync, readPacketsSync, type CaptureEntry, type PacketRecord } from '../../src/pcap/index.ts';
import {
  asyncChunksOf,
  collectUntilError,
  collectUntilErrorSync,
  decodeErrorParts,
  readCaptureFile,
} from './capture-files.ts';
import { block, epb, idb, ifName, options, shb, u8s, Bytes } from './pcapng-blocks.ts';

const syncError = (bytes: Uint8Array) => collectUntilErrorSync(readCaptureSync(bytes));

describe('not a capture', () => {
  it('empty input: magic, "empty file" (sync and streaming)', async () => {
    const { items, error } = syncError(new Uint8Array(0));
    expect(items).toEqual([]);
    expect(error).toBeInstanceOf(DecodeError);
    expect(error).toMatchObject({ layer: 'pcap', field: 'magic', offset: 0, reason: 'empty file' });
    await expect(collectUntilError(readCapture([]))).resolves.toMatchObject({ error: { field: 'magic', offset: 0, reason: 'empty file' } });
    await expect(collectUntilError(readCapture([new Uint8Array(0), new Uint8Array(0)]))).resolves.toMatchObject({ error: { reason: 'empty file' } });
  });

  it('bad magic: magic at 0, thrown on the first chunk', () => {
    const text = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    expect(() => [...readCaptureSync(text)]).toThrow(DecodeError);
    expect(decodeErrorParts(syncError(text).error)).toEqual({ layer: 'pcap', field: 'magic', offset: 0 });
    expect(String(syncError(text).error)).toContain('not a pcap or pcapng file: magic 0x47455420');
    const d = new CaptureDecoder();
    expect(() => [...d.push(text.subarray(0, 4))]).toThrow(/magic/);
  });

  it('10 bytes of garbage: bad magic; 10 bytes of a real pcap: truncated at thiszone (offset 8)', () => {
    expect(decodeErrorParts(syncError(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)).error)).toEqual({ layer: 'pcap', field: 'magic', offset: 0 });
    const real = readCaptureFile('tcpdump/ikev2four.pcap').subarray(0, 10);
    const { error } = syncError(real);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcap', field: 'thiszone', offset: 8 });
    expect((error as DecodeError).reason).toMatch(/truncated/);
  });

  it('fewer than 4 bytes: truncated magic', () => {
    expect(decodeErrorParts(syncError(Uint8Array.of(0xd4, 0xc3)).error)).toEqual({ layer: 'pcap', field: 'magic', offset: 0 });
  });

  it('pcap major version 1: version_major at 4', () => {
    const b = readCaptureFile('tcpdump/ikev2four.pcap').slice();
    b[4] = 1;
    expect(decodeErrorParts(syncError(b).error)).toEqual({ layer: 'pcap', field: 'version_major', offset: 4 });
  });
});

// Expected truncation fault, worked out from the format descriptions rather than from the reader.
const PCAP_HEADER = ['magic', 'magic', 'magic', 'magic', 'version_major', 'version_major', 'version_minor', 'version_minor'];
function pcapHeaderField(cut: number): [string, number] {
  if (cut < 8) return [PCAP_HEADER[cut]!, cut < 4 ? 0 : cut < 6 ? 4 : 6];
  const at = cut < 12 ? 8 : cut < 16 ? 12 : cut < 20 ? 16 : 20;
  return [{ 8: 'thiszone', 12: 'sigfigs', 16: 'snaplen', 20: 'network' }[at]!, at];
}

describe('truncated classic pcap', () => {
  it('every cut inside the 24-byte file header names the field being read', () => {
    const bytes = readCaptureFile('tcpdump/ikev2four.pcap');
    for (let cut = 1; cut < 24; cut++) {
      const [field, offset] = pcapHeaderField(cut);
      expect(decodeErrorParts(syncError(bytes.subarray(0, cut)).error), `cut at ${cut}`).toEqual({ layer: 'pcap', field, offset });
    }
  });

  it.each(['tcpdump/ikev2four.pcap', 'strongswan-lab/a-nat-keepalive/outside.pcap', 'tcpdump/isakmp-rfc3948-oobr.pcap'])(
    '%s cut at every byte: records before the cut, then the field at the cut',
    (rel) => {
      const bytes = readCaptureFile(rel);
      const full = [...readPacketsSync(bytes)];
      const ends = full.map((p) => p.offset + 16 + p.capturedLength);
      for (let cut = 24; cut < bytes.length; cut++) {
        const { items, error } = syncError(bytes.subarray(0, cut));
        const packets = items.filter((e): e is PacketRecord => e.kind === 'packet');
        const whole = ends.filter((e) => e <= cut).length;
        expect(packets.length, `cut at ${cut}`).toBe(whole);
        // cheap per cut (a deep comparison of every prefix would take minutes); deep at a few cuts
        expect(packets.map((p) => `${p.index}@${p.offset}+${p.data.length}`)).toEqual(full.slice(0, whole).map((p) => `${p.index}@${p.offset}+${p.data.length}`));
        if (cut % 997 === 0) expect(packets).toEqual(full.slice(0, whole));
        if (cut === 24 || ends.includes(cut)) {
          expect(error, `clean cut at ${cut}`).toBeUndefined();
          continue;
        }
        const rec = full[whole]!;
        const into = cut - rec.offset;
        const expected =
          into < 16
            ? { layer: 'pcap', field: ['ts_sec', 'ts_usec', 'incl_len', 'orig_len'][into >> 2]!, offset: rec.offset + (into & ~3) }
            : { layer: 'pcap', field: 'packet_data', offset: rec.offset + 16 };
        expect(decodeErrorParts(error), `cut at ${cut}`).toEqual(expected);
      }
    },
  );

  it('streaming in 7-byte chunks reports the same fault after the same records', async () => {
    const bytes = readCaptureFile('tcpdump/ikev2four.pcap');
    for (const cut of [25, 40, 100, 1000, 3333, bytes.length - 1]) {
      const sync = syncError(bytes.subarray(0, cut));
      const streamed = await collectUntilError(readCapture(asyncChunksOf(bytes.subarray(0, cut), 7)));
      expect(streamed.items).toEqual(sync.items);
      expect(decodeErrorParts(streamed.error)).toEqual(decodeErrorParts(sync.error));
    }
  });
});

/** A classic LE µs pcap header with the given snaplen. */
function pcapHeader(snaplen: number, linktype = 1): Uint8Array {
  return new Bytes(true).u32(0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(snaplen).u32(linktype).bytes();
}
function pcapRecord(inclLen: number, data: Uint8Array, origLen = inclLen): Uint8Array {
  return u8s(new Bytes(true).u32(1_700_000_000).u32(5).u32(inclLen).u32(origLen).bytes(), data);
}

describe('impossible lengths in classic pcap', () => {
  it('incl_len 0x7fffffff fails on its header, from an endless source, without buffering', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield u8s(pcapHeader(65535), pcapRecord(20, new Uint8Array(20)), new Bytes(true).u32(1).u32(2).u32(0x7fffffff).u32(0x7fffffff).bytes());
      const filler = new Uint8Array(65536);
      for (;;) {
        pulled++;
        yield filler;
      }
    }
    const before = process.memoryUsage().arrayBuffers;
    const { items, error } = await collectUntilError(readCapture(endless()));
    expect(pulled).toBe(0);
    expect(items.filter((e) => e.kind === 'packet').length).toBe(1);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcap', field: 'incl_len', offset: 24 + 36 + 8 });
    expect((error as DecodeError).reason).toContain('exceeds the 262144-byte maximum');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('incl_len of 262145 is refused even with snaplen 0xffffffff', () => {
    const b = u8s(pcapHeader(0xffffffff), new Bytes(true).u32(0).u32(0).u32(262145).u32(262145).bytes());
    expect(decodeErrorParts(syncError(b).error)).toEqual({ layer: 'pcap', field: 'incl_len', offset: 32 });
  });

  it('incl_len far beyond a small snaplen is refused; slightly beyond is tolerated', () => {
    const far = u8s(pcapHeader(68), pcapRecord(68, new Uint8Array(68)), pcapRecord(5000, new Uint8Array(5000)));
    const { items, error } = syncError(far);
    expect(items.filter((e) => e.kind === 'packet').length).toBe(1);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcap', field: 'incl_len', offset: 24 + 84 + 8 });
    expect((error as DecodeError).reason).toContain("far beyond the file's snaplen");
    const near = u8s(pcapHeader(68), pcapRecord(100, new Uint8Array(100)));
    expect([...readPacketsSync(near)].map((p) => p.capturedLength)).toEqual([100]);
  });
});

describe('pcapng faults', () => {
  const head = u8s(shb(), idb(1, 65535, [ifName('eth0')]));
  const pkt = epb(0, 1_000_000n, Uint8Array.of(1, 2, 3, 4, 5));

  it('block_total_length smaller than the block minimum', () => {
    const b = u8s(head, pkt, block(6, new Uint8Array(4), true, { lead: 16, trail: 16 }));
    const { items, error } = syncError(b);
    expect(items.filter((e) => e.kind === 'packet').length).toBe(1);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcapng', field: 'block_total_length', offset: head.length + pkt.length + 4 });
    expect(String(error)).toContain('16 is less than the 32-byte minimum of an enhanced packet block');
    expect(decodeErrorParts(syncError(u8s(head, block(0x99, new Uint8Array(0), true, { lead: 8, trail: 8 }))).error)).toEqual({
      layer: 'pcapng',
      field: 'block_total_length',
      offset: head.length + 4,
    });
  });

  it('block_total_length not a multiple of 4', () => {
    const b = u8s(head, pkt);
    new DataView(b.buffer).setUint32(head.length + 4, 45, true);
    expect(decodeErrorParts(syncError(b).error)).toEqual({ layer: 'pcapng', field: 'block_total_length', offset: head.length + 4 });
    expect(String(syncError(b).error)).toContain('not a multiple of 4');
  });

  it('trailing block_total_length differs from the leading one (buffered and skipped blocks)', () => {
    const bad = u8s(head, pkt);
    new DataView(bad.buffer).setUint32(bad.length - 4, 44, true);
    expect(decodeErrorParts(syncError(bad).error)).toEqual({ layer: 'pcapng', field: 'block_total_length', offset: bad.length - 4 });
    const nrb = block(4, new Uint8Array(8), true, { trail: 24 });
    const skipped = u8s(head, nrb, pkt);
    const { items, error } = syncError(skipped);
    expect(items.length).toBe(2);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcapng', field: 'block_total_length', offset: head.length + 16 });
  });

  it('a huge block_total_length on a packet block fails at once, from an endless source', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield u8s(head, pkt, new Bytes(true).u32(6).u32(0xfffffff0).bytes());
      for (;;) {
        pulled++;
        yield new Uint8Array(65536);
      }
    }
    const { items, error } = await collectUntilError(readCapture(endless()));
    expect(pulled).toBe(0);
    expect(items.filter((e) => e.kind === 'packet').length).toBe(1);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcapng', field: 'block_total_length', offset: head.length + pkt.length + 4 });
  });

  it('a huge block_total_length on an unknown block is skipped without buffering, then reported as truncated', async () => {
    const mib = new Uint8Array(1024 * 1024);
    const chunks = 300; // 300 MiB claimed... and delivered, then the file ends early
    async function* source(): AsyncGenerator<Uint8Array> {
      yield u8s(head, pkt, new Bytes(true).u32(0x80000001).u32(0xfffffff0).bytes());
      for (let i = 0; i < chunks; i++) yield mib;
    }
    const before = process.memoryUsage().arrayBuffers;
    const { items, error } = await collectUntilError(readCapture(source()));
    expect(items.filter((e) => e.kind === 'packet').length).toBe(1);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcapng', field: 'block_body', offset: head.length + pkt.length + 8 });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('captured_packet_length larger than its block, or than 256 KiB', () => {
    const lie = epb(0, 0n, new Uint8Array(8), [], true, { captured: 9 });
    expect(decodeErrorParts(syncError(u8s(head, lie)).error)).toEqual({ layer: 'pcapng', field: 'captured_packet_length', offset: head.length + 20 });
    const huge = epb(0, 0n, new Uint8Array(8), [], true, { captured: 0x7fffffff });
    expect(decodeErrorParts(syncError(u8s(head, huge)).error)).toEqual({ layer: 'pcapng', field: 'captured_packet_length', offset: head.length + 20 });
    const small = u8s(shb(), idb(1, 64));
    const beyondSnap = epb(0, 0n, new Uint8Array(2000));
    expect(String(syncError(u8s(small, beyondSnap)).error)).toContain("far beyond the interface's snaplen 64");
  });

  it('an EPB for an undescribed interface', () => {
    expect(decodeErrorParts(syncError(u8s(head, epb(1, 0n, new Uint8Array(4)))).error)).toEqual({ layer: 'pcapng', field: 'interface_id', offset: head.length + 8 });
  });

  it('bad byte-order magic, unsupported major version, option running past its block', () => {
    const bom = shb().slice();
    bom[8] = 0x4e;
    expect(decodeErrorParts(syncError(bom).error)).toEqual({ layer: 'pcapng', field: 'byte_order_magic', offset: 8 });
    expect(decodeErrorParts(syncError(shb(true, [], [2, 0])).error)).toEqual({ layer: 'pcapng', field: 'major_version', offset: 12 });
    const opts = new Bytes(true).u16(2).u16(200).raw(new TextEncoder().encode('eth0')).bytes();
    const badIdb = block(1, u8s(new Bytes(true).u16(1).u16(0).u32(0).bytes(), opts));
    expect(decodeErrorParts(syncError(u8s(shb(), badIdb)).error)).toEqual({ layer: 'pcapng', field: 'option_length', offset: 28 + 16 + 2 });
    const tsresol2 = block(1, u8s(new Bytes(true).u16(1).u16(0).u32(0).bytes(), options([{ code: 9, value: Uint8Array.of(6, 0) }])));
    expect(decodeErrorParts(syncError(u8s(shb(), tsresol2)).error)).toEqual({ layer: 'pcapng', field: 'option_length', offset: 28 + 16 + 2 });
  });

  it('a second section with a bad byte-order magic fails after the first section was read', () => {
    const second = shb(false).slice();
    second[8] = 0;
    const { items, error } = syncError(u8s(head, pkt, second));
    expect(items.map((e) => e.kind)).toEqual(['header', 'interface', 'packet']);
    expect(decodeErrorParts(error)).toEqual({ layer: 'pcapng', field: 'byte_order_magic', offset: head.length + pkt.length + 8 });
  });
});

/** Expected fault for a pcapng file cut at `cut` inside the block at `at` (type, len), per draft-ietf-opsawg-pcapng §3.1 / §4. */
function pcapngCutField(type: number, at: number, len: number, cut: number): { layer: string; field: string; offset: number } {
  const into = cut - at;
  const fixed: Record<number, [string, number][]> = {
    0x0a0d0d0a: [['byte_order_magic', 8], ['major_version', 12], ['minor_version', 14], ['section_length', 16], ['options', 24]],
    1: [['link_type', 8], ['reserved', 10], ['snap_len', 12], ['options', 16]],
    6: [['interface_id', 8], ['timestamp_high', 12], ['timestamp_low', 16], ['captured_packet_length', 20], ['original_packet_length', 24], ['packet_data', 28]],
  };
  const fields: [string, number][] = [['block_type', 0], ['block_total_length', 4], ...(fixed[type] ?? [['block_body', 8]]), ['block_total_length', len - 4]];
  let found = fields[0]!;
  for (const f of fields) if (f[1] <= into) found = f;
  return { layer: 'pcapng', field: found[0], offset: at + found[1] };
}

describe('truncated pcapng', () => {
  it.each(['scapy/ikev2_nat_t.pcapng', 'ndpi/ah.pcapng', 'tcpdump/ikev2pI2-segfault.pcapng'])(
    '%s cut at every byte: entries before the cut, then the field at the cut',
    (rel) => {
      const bytes = readCaptureFile(rel);
      const dv = new DataView(bytes.buffer, bytes.byteOffset);
      const blocks: { at: number; type: number; len: number }[] = [];
      for (let at = 0; at < bytes.length; ) {
        const len = dv.getUint32(at + 4, true);
        blocks.push({ at, type: dv.getUint32(at, true), len });
        at += len;
      }
      const full = [...readCaptureSync(bytes)];
      for (let cut = 1; cut < bytes.length; cut++) {
        const { items, error } = syncError(bytes.subarray(0, cut));
        const b = blocks.find((x) => x.at <= cut && cut < x.at + x.len)!;
        const done = blocks.filter((x) => x.at + x.len <= cut && x.type !== 5).length; // the ISB yields nothing
        const sig = (e: CaptureEntry) => `${e.kind}@${e.offset}`;
        expect(items.map(sig), `cut at ${cut}`).toEqual(full.slice(0, done).map(sig));
        if (cut % 997 === 0) expect(items).toEqual(full.slice(0, done));
        if (b.at === cut) {
          expect(error, `clean cut at ${cut}`).toBeUndefined();
          continue;
        }
        // under 4 bytes the format is still unknown: the magic itself is what is truncated
        const expected = cut < 4 ? { layer: 'pcap', field: 'magic', offset: 0 } : pcapngCutField(b.type, b.at, b.len, cut);
        expect(decodeErrorParts(error), `cut at ${cut}`).toEqual(expected);
      }
    },
  );
});
