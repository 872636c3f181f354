/**
 * Capture writers that return bytes (no I/O): classic pcap and pcapng.
 * Output depends only on the input (no clock, no host information), so the
 * same packets always give the same file.
 *
 * PcapWriter: `header()` once, then `packet(p)` per packet; concatenate the chunks.
 * PcapngWriter: `addInterface(...)` (returns the interface id), `header()` (SHB and
 * the interfaces added so far), then `packet(p)`. An interface added after the
 * header is emitted in front of the next packet chunk; if `header()` was never
 * called, the first packet chunk starts with it.
 */
import { concatAll } from '../core/bytes.ts';
import type { Micros } from '../core/time.ts';
import { ByteOrder, MAX_CAPTURED_LENGTH, OptionCode, PcapMagic, BlockType, BYTE_ORDER_MAGIC } from './format.ts';

const utf8 = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

/** Little- or big-endian writes into a fresh buffer of known size. */
class Out {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(
    size: number,
    private readonly le: boolean,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.pos, v, this.le);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.pos, v >>> 0, this.le);
    this.pos += 4;
    return this;
  }
  i64(v: bigint): this {
    this.view.setBigInt64(this.pos, v, this.le);
    this.pos += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  /** Zero padding up to the next multiple of 4 (the buffer starts zeroed). */
  align(): this {
    this.pos = pad4(this.pos);
    return this;
  }
}

function checkTimestampUs(t: Micros): void {
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`timestamp must be a non-negative integer of microseconds, got ${t}`);
}

function checkLinktype(linktype: number): void {
  if (!Number.isInteger(linktype) || linktype < 0 || linktype > 0xffff) throw new RangeError(`bad link type ${linktype}`);
}

function checkSnaplen(snaplen: number): void {
  if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > MAX_CAPTURED_LENGTH) {
    throw new RangeError(`snaplen must be 0..${MAX_CAPTURED_LENGTH}, got ${snaplen}`);
  }
}

/** Bytes kept from a packet: truncated to the snaplen (0 = no limit), at most 256 KiB. */
function captured(data: Uint8Array, snaplen: number): Uint8Array {
  const n = snaplen > 0 ? Math.min(data.length, snaplen) : data.length;
  if (n > MAX_CAPTURED_LENGTH) throw new RangeError(`packet of ${n} bytes exceeds ${MAX_CAPTURED_LENGTH}`);
  return n === data.length ? data : data.subarray(0, n);
}

export interface PcapWriterOptions {
  readonly linktype: number;
  /** Default 262144. */
  readonly snaplen?: number;
  /** 'us' (magic a1b2c3d4, default) or 'ns' (magic a1b23c4d). */
  readonly precision?: 'us' | 'ns';
  /** Default little-endian. */
  readonly byteOrder?: ByteOrder;
}

export interface PcapPacket {
  readonly timestampUs: Micros;
  /** Used instead of timestampUs by a nanosecond writer when given. */
  readonly timestampNs?: bigint;
  readonly data: Uint8Array;
  /** Default: data.length. */
  readonly originalLength?: number;
}

/** Classic pcap (draft-ietf-opsawg-pcap), version 2.4. */
export class PcapWriter {
  readonly linktype: number;
  readonly snaplen: number;
  readonly precision: 'us' | 'ns';
  readonly byteOrder: ByteOrder;
  private readonly le: boolean;

  constructor(opts: PcapWriterOptions) {
    checkLinktype(opts.linktype);
    this.linktype = opts.linktype;
    this.snaplen = opts.snaplen ?? MAX_CAPTURED_LENGTH;
    checkSnaplen(this.snaplen);
    this.precision = opts.precision ?? 'us';
    this.byteOrder = opts.byteOrder ?? ByteOrder.Little;
    this.le = this.byteOrder === ByteOrder.Little;
  }

  /** The 24-byte file header. */
  header(): Uint8Array {
    const magic = this.precision === 'ns' ? PcapMagic.NanosBig : PcapMagic.MicrosBig;
    return new Out(24, this.le)
      .u32(magic) // written in the file's byte order, so it reads back as a1b2c3d4 / a1b23c4d
      .u16(2) // version_major
      .u16(4) // version_minor
      .u32(0) // thiszone
      .u32(0) // sigfigs
      .u32(this.snaplen)
      .u32(this.linktype).bytes;
  }

  /** One record: 16-byte header and the (snaplen-truncated) packet bytes. */
  packet(p: PcapPacket): Uint8Array {
    checkTimestampUs(p.timestampUs);
    let sec: number;
    let frac: number;
    if (this.precision === 'ns') {
      const ns = p.timestampNs ?? BigInt(p.timestampUs) * 1000n;
      if (ns < 0n) throw new RangeError('timestamp must not be negative');
      sec = Number(ns / 1_000_000_000n);
      frac = Number(ns % 1_000_000_000n);
    } else {
      sec = Math.floor(p.timestampUs / 1_000_000);
      frac = p.timestampUs % 1_000_000;
    }
    if (sec > 0xffffffff) throw new RangeError('timestamp beyond 2106 does not fit a pcap record');
    const data = captured(p.data, this.snaplen);
    const orig = p.originalLength ?? p.data.length;
    return new Out(16 + data.length, this.le).u32(sec).u32(frac).u32(data.length).u32(orig).raw(data).bytes;
  }
}

export interface PcapngWriterOptions {
  /** Default little-endian. */
  readonly byteOrder?: ByteOrder;
  /** SHB options, written only when given. */
  readonly hardware?: string;
  readonly os?: string;
  readonly userAppl?: string;
  readonly comment?: string;
}

export interface PcapngInterfaceOptions {
  readonly linktype: number;
  readonly name?: string;
  readonly description?: string;
  /** Default 262144; 0 means no limit. */
  readonly snaplen?: number;
  /** Timestamp resolution, 10^-tsresol s: 6 (default, microseconds) or 9 (nanoseconds). */
  readonly tsresol?: 6 | 9;
}

export interface PcapngPacket {
  readonly interfaceId: number;
  readonly timestampUs: Micros;
  /** Used instead of timestampUs on a nanosecond interface when given. */
  readonly timestampNs?: bigint;
  readonly data: Uint8Array;
  /** Default: data.length. */
  readonly originalLength?: number;
  /** opt_comment; `comments` adds more, in order, after it. */
  readonly comment?: string;
  readonly comments?: readonly string[];
  /** epb_flags word. */
  readonly flags?: number;
}

interface Opt {
  readonly code: number;
  readonly value: Uint8Array;
}

const optsLength = (opts: readonly Opt[]): number =>
  opts.length === 0 ? 0 : opts.reduce((n, o) => n + 4 + pad4(o.value.length), 0) + 4; // + opt_endofopt

function writeOpts(out: Out, opts: readonly Opt[]): void {
  if (opts.length === 0) return;
  for (const o of opts) {
    if (o.value.length > 0xffff) throw new RangeError(`option ${o.code} is longer than 65535 bytes`);
    out.u16(o.code).u16(o.value.length).raw(o.value).align();
  }
  out.u16(OptionCode.EndOfOpt).u16(0);
}

function stringOpt(code: number, s: string | undefined, into: Opt[]): void {
  if (s !== undefined) into.push({ code, value: utf8.encode(s) });
}

interface WriterInterface {
  readonly linktype: number;
  readonly snaplen: number;
  readonly tsresol: 6 | 9;
  readonly block: Uint8Array;
  emitted: boolean;
}

/** pcapng (draft-ietf-opsawg-pcapng): one section, SHB section length -1. */
export class PcapngWriter {
  readonly byteOrder: ByteOrder;
  private readonly le: boolean;
  private readonly interfaces: WriterInterface[] = [];
  private readonly shb: Uint8Array;
  private shbEmitted = false;

  constructor(opts: PcapngWriterOptions = {}) {
    this.byteOrder = opts.byteOrder ?? ByteOrder.Little;
    this.le = this.byteOrder === ByteOrder.Little;
    const o: Opt[] = [];
    stringOpt(OptionCode.Comment, opts.comment, o);
    stringOpt(OptionCode.ShbHardware, opts.hardware, o);
    stringOpt(OptionCode.ShbOs, opts.os, o);
    stringOpt(OptionCode.ShbUserAppl, opts.userAppl, o);
    const len = 28 + optsLength(o);
    const out = new Out(len, this.le)
      .u32(BlockType.SectionHeader)
      .u32(len)
      .u32(BYTE_ORDER_MAGIC)
      .u16(1) // major_version
      .u16(0) // minor_version
      .i64(-1n); // section_length: not specified
    writeOpts(out, o);
    out.u32(len);
    this.shb = out.bytes;
  }

  /** Describes an interface; returns its Interface ID (0, 1, ...). */
  addInterface(opts: PcapngInterfaceOptions): number {
    checkLinktype(opts.linktype);
    const snaplen = opts.snaplen ?? MAX_CAPTURED_LENGTH;
    checkSnaplen(snaplen);
    const tsresol = opts.tsresol ?? 6;
    if (tsresol !== 6 && tsresol !== 9) throw new RangeError(`tsresol must be 6 or 9, got ${String(tsresol)}`);
    const o: Opt[] = [];
    stringOpt(OptionCode.IfName, opts.name, o);
    stringOpt(OptionCode.IfDescription, opts.description, o);
    o.push({ code: OptionCode.IfTsresol, value: Uint8Array.of(tsresol) });
    const len = 20 + optsLength(o);
    const out = new Out(len, this.le).u32(BlockType.InterfaceDescription).u32(len).u16(opts.linktype).u16(0).u32(snaplen);
    writeOpts(out, o);
    out.u32(len);
    this.interfaces.push({ linktype: opts.linktype, snaplen, tsresol, block: out.bytes, emitted: false });
    return this.interfaces.length - 1;
  }

  /** The Section Header Block followed by the IDBs added so far. Call it at most once, before any packet. */
  header(): Uint8Array {
    if (this.shbEmitted) throw new Error('PcapngWriter.header(): the section header was already written');
    return this.pending();
  }

  /** One Enhanced Packet Block, preceded by any section header or interface not yet written. */
  packet(p: PcapngPacket): Uint8Array {
    const iface = this.interfaces[p.interfaceId];
    if (!iface) throw new RangeError(`no interface ${p.interfaceId} (add it with addInterface first)`);
    checkTimestampUs(p.timestampUs);
    let units: bigint;
    if (iface.tsresol === 9) {
      units = p.timestampNs ?? BigInt(p.timestampUs) * 1000n;
      if (units < 0n) throw new RangeError('timestamp must not be negative');
    } else {
      units = BigInt(p.timestampUs);
    }
    const data = captured(p.data, iface.snaplen);
    const o: Opt[] = [];
    stringOpt(OptionCode.Comment, p.comment, o);
    for (const c of p.comments ?? []) stringOpt(OptionCode.Comment, c, o);
    if (p.flags !== undefined) {
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, p.flags >>> 0, this.le);
      o.push({ code: OptionCode.EpbFlags, value: v });
    }
    const len = 32 + pad4(data.length) + optsLength(o);
    const out = new Out(len, this.le)
      .u32(BlockType.EnhancedPacket)
      .u32(len)
      .u32(p.interfaceId)
      .u32(Number(units >> 32n))
      .u32(Number(units & 0xffffffffn))
      .u32(data.length)
      .u32(p.originalLength ?? p.data.length)
      .raw(data)
      .align();
    writeOpts(out, o);
    out.u32(len);
    const before = this.pending();
    if (before.length === 0) return out.bytes;
    return concatAll([before, out.bytes]);
  }

  /** Blocks not yet written: the SHB (first time) and new IDBs. */
  private pending(): Uint8Array {
    const parts: Uint8Array[] = [];
    if (!this.shbEmitted) {
      parts.push(this.shb);
      this.shbEmitted = true;
    }
    for (const i of this.interfaces) {
      if (!i.emitted) {
        parts.push(i.block);
        i.emitted = true;
      }
    }
    return concatAll(parts);
  }
}
