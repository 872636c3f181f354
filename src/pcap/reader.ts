/**
 * Streaming reader for classic pcap and pcapng capture files.
 *
 * API (in file order, everything is a `CaptureEntry`):
 *   1. a `header` entry: the classic file header, or the first Section Header
 *      Block of a pcapng file. It is always the first thing yielded, so a caller
 *      gets the format, byte order and version with one `next()`.
 *   2. `interface` entries: one per pcapng Interface Description Block; for a
 *      classic file one synthesized interface (id 0, the file's link type and
 *      snaplen) right after the header.
 *   3. `packet` entries (`PacketRecord`), numbered from 1.
 *   A pcapng file with several sections yields a new `header` (section n) and
 *   that section's interfaces when each further SHB is reached.
 *
 * `readCapture(chunks)` is an async generator over any (async) iterable of
 * Uint8Array chunks of any size (fs.createReadStream in the CLI); it keeps one
 * carry-over buffer no bigger than the largest record (≤ 256 KiB + header for
 * pcap, ≤ MAX_BUFFERED_BLOCK_LENGTH for pcapng; other pcapng blocks are skipped
 * without buffering), so memory does not grow with the file. `readCaptureSync`
 * does the same over one Uint8Array. `readPackets` / `readPacketsSync` yield only
 * the packets. `CaptureDecoder` is the push-style engine under both.
 *
 * Errors are DecodeError { layer: 'pcap' | 'pcapng', field, offset, reason }
 * with the absolute file offset of the offending field. Everything before the
 * fault has been yielded when it is thrown; nothing is skipped silently.
 */
import { DecodeError } from '../core/errors.ts';
import type { Micros } from '../core/time.ts';
import {
  BYTE_ORDER_MAGIC,
  BlockType,
  ByteOrder,
  MAX_BUFFERED_BLOCK_LENGTH,
  MAX_CAPTURED_LENGTH,
  OptionCode,
  PcapMagic,
  capturedLengthLimit,
  type CaptureEntry,
  type CaptureInterface,
  type PacketRecord,
  type TimestampResolution,
} from './format.ts';

/** Source of bytes for the streaming reader. */
export type ByteChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Offered each packet of a classic pcap file (and each Enhanced Packet Block without
 * options) before a PacketRecord is built. `bytes[start, end)` is the captured data;
 * it is valid only during the call (it may be the decoder's carry-over buffer), so
 * nothing may keep a view of it. Return true when the packet has been dealt with
 * completely (the decoder then only counts it), false to receive it as a regular
 * PacketRecord entry instead, in its place in file order.
 */
export interface PacketSink {
  packet(bytes: Uint8Array, start: number, end: number, index: number, linktype: number, timestampUs: Micros, originalLength: number): boolean;
}

/**
 * What `readCapture` returns: an async generator of entries that can also be consumed
 * with one synchronous pass per chunk (`feed`), so a consumer pays no async step per
 * entry and can take packets straight from the decoder's buffer. Use one or the other.
 */
export interface CaptureStream extends AsyncGenerator<CaptureEntry, void, undefined> {
  /**
   * Decodes every chunk in turn, hands each entry to `onEntry` in file order (packets
   * are first offered to `sink`), and resolves at the end of the input. Rejects with
   * the DecodeError of a fault after everything before it has been handed over.
   */
  feed(onEntry: (e: CaptureEntry) => void, sink?: PacketSink): Promise<void>;
}

const NEED = -1;

const State = {
  Start: 0,
  PcapRecord: 1,
  Block: 2,
  Skip: 3,
  SkipTrailer: 4,
} as const;
type State = (typeof State)[keyof typeof State];

/** [field name, offset from the start of the record/block, length]. */
type Field = readonly [string, number, number];

const PCAP_HEADER_FIELDS: readonly Field[] = [
  ['magic', 0, 4],
  ['version_major', 4, 2],
  ['version_minor', 6, 2],
  ['thiszone', 8, 4],
  ['sigfigs', 12, 4],
  ['snaplen', 16, 4],
  ['network', 20, 4],
];
const PCAP_RECORD_FIELDS: readonly Field[] = [
  ['ts_sec', 0, 4],
  ['ts_usec', 4, 4],
  ['incl_len', 8, 4],
  ['orig_len', 12, 4],
];
const PCAP_RECORD_FIELDS_NS: readonly Field[] = [
  ['ts_sec', 0, 4],
  ['ts_nsec', 4, 4],
  ['incl_len', 8, 4],
  ['orig_len', 12, 4],
];
const BLOCK_HEAD_FIELDS: readonly Field[] = [
  ['block_type', 0, 4],
  ['block_total_length', 4, 4],
];
const SHB_HEAD_FIELDS: readonly Field[] = [...BLOCK_HEAD_FIELDS, ['byte_order_magic', 8, 4]];

/** Fixed fields after the block header, and the name of the variable part. */
function blockLayout(type: number, len: number): Field[] {
  let fixed: Field[];
  let rest: string;
  switch (type) {
    case BlockType.SectionHeader:
      fixed = [
        ['byte_order_magic', 8, 4],
        ['major_version', 12, 2],
        ['minor_version', 14, 2],
        ['section_length', 16, 8],
      ];
      rest = 'options';
      break;
    case BlockType.InterfaceDescription:
      fixed = [
        ['link_type', 8, 2],
        ['reserved', 10, 2],
        ['snap_len', 12, 4],
      ];
      rest = 'options';
      break;
    case BlockType.EnhancedPacket:
      fixed = [
        ['interface_id', 8, 4],
        ['timestamp_high', 12, 4],
        ['timestamp_low', 16, 4],
        ['captured_packet_length', 20, 4],
        ['original_packet_length', 24, 4],
      ];
      rest = 'packet_data';
      break;
    case BlockType.Packet:
      fixed = [
        ['interface_id', 8, 2],
        ['drops_count', 10, 2],
        ['timestamp_high', 12, 4],
        ['timestamp_low', 16, 4],
        ['captured_packet_length', 20, 4],
        ['original_packet_length', 24, 4],
      ];
      rest = 'packet_data';
      break;
    case BlockType.SimplePacket:
      fixed = [['original_packet_length', 8, 4]];
      rest = 'packet_data';
      break;
    default:
      fixed = [];
      rest = 'block_body';
  }
  const last = fixed[fixed.length - 1];
  const restAt = last ? last[1] + last[2] : 8;
  return [...BLOCK_HEAD_FIELDS, ...fixed, [rest, restAt, len - 4 - restAt], ['block_total_length', len - 4, 4]];
}

function minBlockLength(type: number): number {
  switch (type) {
    case BlockType.SectionHeader:
      return 28;
    case BlockType.InterfaceDescription:
      return 20;
    case BlockType.EnhancedPacket:
    case BlockType.Packet:
      return 32;
    case BlockType.SimplePacket:
      return 16;
    default:
      return 12;
  }
}

function isBufferedBlock(type: number): boolean {
  return (
    type === BlockType.SectionHeader ||
    type === BlockType.InterfaceDescription ||
    type === BlockType.EnhancedPacket ||
    type === BlockType.SimplePacket ||
    type === BlockType.Packet
  );
}

function blockName(type: number): string {
  switch (type) {
    case BlockType.SectionHeader:
      return 'section header block';
    case BlockType.InterfaceDescription:
      return 'interface description block';
    case BlockType.EnhancedPacket:
      return 'enhanced packet block';
    case BlockType.SimplePacket:
      return 'simple packet block';
    case BlockType.Packet:
      return 'packet block';
    default:
      return `block of type 0x${type.toString(16).padStart(8, '0')}`;
  }
}

const withArticle = (name: string): string => `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`;

function rd16(b: Uint8Array, i: number, le: boolean): number {
  return le ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!;
}

function rd32(b: Uint8Array, i: number, le: boolean): number {
  return le
    ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
    : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function rdI64(b: Uint8Array, i: number, le: boolean): bigint {
  const first = BigInt(rd32(b, i, le));
  const second = BigInt(rd32(b, i + 4, le));
  return BigInt.asIntN(64, le ? (second << 32n) | first : (first << 32n) | second);
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

const utf8 = new TextDecoder('utf-8');
/** A pcapng string option: UTF-8, not necessarily zero-terminated; a zero octet ends it (§3.5). */
function optString(b: Uint8Array, start: number, len: number): string {
  let end = start + len;
  for (let i = start; i < end; i++) {
    if (b[i] === 0) {
      end = i;
      break;
    }
  }
  return utf8.decode(b.subarray(start, end));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

const NS_PER_S = 1_000_000_000n;

interface InterfaceState {
  readonly entry: CaptureInterface;
  /** Converts a raw timestamp in interface units to nanoseconds since the epoch. */
  readonly toNs: (units: bigint) => bigint;
  readonly capLimit: number;
}

function timestampConverter(res: TimestampResolution, tsoffset: bigint): (units: bigint) => bigint {
  const offNs = tsoffset * NS_PER_S;
  if (res.base === 10) {
    if (res.exponent === 9) return (u) => u + offNs;
    if (res.exponent <= 9) {
      const mul = 10n ** BigInt(9 - res.exponent);
      return (u) => u * mul + offNs;
    }
    const div = 10n ** BigInt(res.exponent - 9);
    return (u) => u / div + offNs;
  }
  const shift = BigInt(res.exponent);
  return (u) => ((u * NS_PER_S) >> shift) + offNs;
}

/**
 * Push-style decoder: feed chunks with `push` (a generator of the entries they
 * complete), then call `finish` once at end of input (throws on a truncated tail
 * or an empty input).
 */
export class CaptureDecoder {
  private state: State = State.Start;
  /** Absolute file offset of the first byte not yet consumed (start of the pending entry). */
  private offset = 0;
  /** Bytes needed from `offset` before the pending entry can make progress. */
  private want = 4;
  private carry = new Uint8Array(0);
  private carryLen = 0;
  private readonly out: CaptureEntry[] = [];
  private failed: DecodeError | undefined;

  // classic pcap
  private pcapLe = true;
  private pcapNanos = false;
  private pcapCapLimit = MAX_CAPTURED_LENGTH;
  private pcapLinktype = 0;
  private pcapRecordFields: readonly Field[] = PCAP_RECORD_FIELDS;

  // pcapng
  private le = true;
  private section = -1;
  private interfaces: InterfaceState[] = [];
  private skipBlockStart = 0;
  private skipBlockType = 0;
  private skipBlockLen = 0;
  private skipRemaining = 0;

  private index = 0;

  /** Offered packets before records are built (see PacketSink); none by default. */
  packetSink: PacketSink | undefined = undefined;

  /** Number of bytes consumed so far (offset of the next entry). */
  get position(): number {
    return this.offset;
  }

  /** Feeds one chunk; yields every entry it completes. */
  *push(input: Uint8Array): Generator<CaptureEntry, void, undefined> {
    if (this.failed) throw this.failed;
    // A plain Uint8Array view (not a Buffer subclass) keeps subarray/slice on V8's fast paths.
    const chunk = input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    try {
      let ci = 0;
      while (this.carryLen > 0) {
        if (this.carryLen < this.want) {
          const take = Math.min(this.want - this.carryLen, chunk.length - ci);
          this.appendCarry(chunk, ci, take);
          ci += take;
          if (this.carryLen < this.want) return;
        }
        const r = this.step(this.carry.subarray(0, this.carryLen), 0, false);
        if (r === NEED) continue;
        this.offset += r;
        if (r < this.carryLen) this.carry.copyWithin(0, r, this.carryLen);
        this.carryLen -= r;
        if (this.out.length > 0) {
          for (let k = 0; k < this.out.length; k++) yield this.out[k]!;
          this.out.length = 0;
        }
      }
      while (ci < chunk.length) {
        const r = this.step(chunk, ci, false);
        if (r === NEED) {
          this.appendCarry(chunk, ci, chunk.length - ci);
          return;
        }
        ci += r;
        this.offset += r;
        if (this.out.length > 0) {
          for (let k = 0; k < this.out.length; k++) yield this.out[k]!;
          this.out.length = 0;
        }
      }
    } catch (e) {
      if (e instanceof DecodeError) this.failed = e;
      throw e;
    }
  }

  /** Signals end of input: throws DecodeError if it is empty or ends inside a record. */
  finish(): void {
    if (this.failed) throw this.failed;
    if (this.state === State.Start && this.offset === 0 && this.carryLen === 0) {
      throw new DecodeError('pcap', 'magic', 0, 'empty file');
    }
    if (this.state === State.Skip || this.state === State.SkipTrailer) {
      const have = this.offset - this.skipBlockStart + this.carryLen;
      this.truncated('pcapng', this.skipBlockStart, have, blockLayout(this.skipBlockType, this.skipBlockLen));
    }
    if (this.carryLen > 0) {
      // Re-run the pending entry with "no more input": it throws the precise truncation error.
      this.step(this.carry.subarray(0, this.carryLen), 0, true);
      throw new DecodeError(this.layer(), 'record', this.offset, 'trailing bytes at end of file');
    }
  }

  private layer(): 'pcap' | 'pcapng' {
    return this.state === State.PcapRecord || this.state === State.Start ? 'pcap' : 'pcapng';
  }

  private appendCarry(src: Uint8Array, from: number, n: number): void {
    const need = Math.max(this.carryLen + n, this.want);
    if (this.carry.length < need) {
      const grown = new Uint8Array(Math.max(need, Math.min(this.carry.length * 2, MAX_BUFFERED_BLOCK_LENGTH + 16), 256));
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
    }
    this.carry.set(src.subarray(from, from + n), this.carryLen);
    this.carryLen += n;
  }

  /** Not enough bytes: ask for more, or at end of input throw naming the first incomplete field. */
  private short(layer: 'pcap' | 'pcapng', avail: number, need: number, fields: readonly Field[], final: boolean): number {
    if (!final) {
      this.want = need;
      return NEED;
    }
    return this.truncated(layer, this.offset, avail, fields);
  }

  private truncated(layer: 'pcap' | 'pcapng', start: number, avail: number, fields: readonly Field[]): never {
    for (const [name, at, len] of fields) {
      if (at + len > avail) {
        const got = Math.max(0, avail - at);
        throw new DecodeError(layer, name, start + at, `truncated: the file ends ${got} of ${len} bytes into this field`);
      }
    }
    throw new DecodeError(layer, 'record', start, 'truncated');
  }

  /**
   * Tries to decode one entry at b[p]; b[p] is at absolute offset `this.offset`.
   * Returns the number of bytes consumed (entries pushed to `out`), or NEED.
   */
  private step(b: Uint8Array, p: number, final: boolean): number {
    switch (this.state) {
      case State.Start:
        return this.stepStart(b, p, final);
      case State.PcapRecord:
        return this.stepPcapRecord(b, p, final);
      case State.Block:
        return this.stepBlock(b, p, final);
      case State.Skip: {
        const n = Math.min(this.skipRemaining, b.length - p);
        this.skipRemaining -= n;
        if (this.skipRemaining === 0) {
          this.state = State.SkipTrailer;
          this.want = 4;
        } else {
          this.want = 1;
        }
        return n;
      }
      case State.SkipTrailer:
        return this.stepSkipTrailer(b, p, final);
    }
  }

  private stepStart(b: Uint8Array, p: number, final: boolean): number {
    const avail = b.length - p;
    if (avail < 4) return this.short('pcap', avail, 4, PCAP_HEADER_FIELDS, final);
    const magic = rd32(b, p, false);
    if (magic === BlockType.SectionHeader) {
      this.state = State.Block;
      this.want = 12;
      return this.stepBlock(b, p, final);
    }
    let le: boolean;
    let nanos: boolean;
    switch (magic) {
      case PcapMagic.MicrosBig:
        [le, nanos] = [false, false];
        break;
      case PcapMagic.MicrosLittle:
        [le, nanos] = [true, false];
        break;
      case PcapMagic.NanosBig:
        [le, nanos] = [false, true];
        break;
      case PcapMagic.NanosLittle:
        [le, nanos] = [true, true];
        break;
      default:
        throw new DecodeError('pcap', 'magic', 0, `not a pcap or pcapng file: magic ${hex32(magic)}`);
    }
    if (avail < 24) return this.short('pcap', avail, 24, PCAP_HEADER_FIELDS, final);
    const versionMajor = rd16(b, p + 4, le);
    const versionMinor = rd16(b, p + 6, le);
    if (versionMajor !== 2) {
      throw new DecodeError('pcap', 'version_major', 4, `unsupported pcap version ${versionMajor}.${versionMinor} (only 2.x)`);
    }
    const thiszone = rd32(b, p + 8, le) | 0;
    const sigfigs = rd32(b, p + 12, le);
    const snaplen = rd32(b, p + 16, le);
    const network = rd32(b, p + 20, le);
    const linktype = network & 0xffff;
    // draft-ietf-opsawg-pcap: bits 28-31 FCS length in 16-bit words, valid when bit 26 (F) is set.
    const fcsLength = network & 0x04000000 ? (network >>> 28) * 2 : undefined;
    this.pcapLe = le;
    this.pcapNanos = nanos;
    this.pcapLinktype = linktype;
    this.pcapCapLimit = capturedLengthLimit(snaplen);
    this.pcapRecordFields = nanos ? PCAP_RECORD_FIELDS_NS : PCAP_RECORD_FIELDS;
    const byteOrder = le ? ByteOrder.Little : ByteOrder.Big;
    this.out.push(
      {
        kind: 'header',
        format: 'pcap',
        offset: this.offset,
        byteOrder,
        versionMajor,
        versionMinor,
        precision: nanos ? 'ns' : 'us',
        thiszone,
        sigfigs,
        snaplen,
        linktype,
        linktypeField: network,
        fcsLength,
      },
      {
        kind: 'interface',
        offset: this.offset,
        section: 0,
        interfaceId: 0,
        linktype,
        snaplen,
        tsresol: { base: 10, exponent: nanos ? 9 : 6 },
        tsoffset: 0n,
        fcsLength,
      },
    );
    this.state = State.PcapRecord;
    this.want = 16;
    return 24;
  }

  private stepPcapRecord(b: Uint8Array, p: number, final: boolean): number {
    const avail = b.length - p;
    if (avail < 16) return this.short('pcap', avail, 16, this.pcapRecordFields, final);
    const le = this.pcapLe;
    const inclLen = rd32(b, p + 8, le);
    if (inclLen > this.pcapCapLimit) {
      const why =
        inclLen > MAX_CAPTURED_LENGTH
          ? `${inclLen} bytes exceeds the ${MAX_CAPTURED_LENGTH}-byte maximum`
          : `${inclLen} bytes is far beyond the file's snaplen`;
      throw new DecodeError('pcap', 'incl_len', this.offset + 8, `impossible captured length: ${why}`);
    }
    const total = 16 + inclLen;
    if (avail < total) {
      return this.short('pcap', avail, total, [...this.pcapRecordFields, ['packet_data', 16, inclLen]], final);
    }
    const sec = rd32(b, p, le);
    const frac = rd32(b, p + 4, le);
    const origLen = rd32(b, p + 12, le);
    const timestampUs = this.pcapNanos ? sec * 1_000_000 + Math.floor(frac / 1000) : sec * 1_000_000 + frac;
    this.want = 16;
    if (this.packetSink !== undefined && this.packetSink.packet(b, p + 16, p + total, this.index + 1, this.pcapLinktype, timestampUs, origLen)) {
      this.index++;
      return total;
    }
    const timestampNs = this.pcapNanos ? BigInt(sec) * NS_PER_S + BigInt(frac) : BigInt(timestampUs) * 1000n;
    const record: PacketRecord = {
      kind: 'packet',
      index: ++this.index,
      offset: this.offset,
      section: 0,
      linktype: this.pcapLinktype,
      interfaceId: 0,
      interfaceName: undefined,
      timestampUs,
      timestampNs,
      capturedLength: inclLen,
      originalLength: origLen,
      data: b.slice(p + 16, p + total),
    };
    this.out.push(record);
    return total;
  }

  private stepBlock(b: Uint8Array, p: number, final: boolean): number {
    const avail = b.length - p;
    if (avail < 8) return this.short('pcapng', avail, 8, BLOCK_HEAD_FIELDS, final);
    const isShb = b[p] === 0x0a && b[p + 1] === 0x0d && b[p + 2] === 0x0d && b[p + 3] === 0x0a;
    let le = this.le;
    if (isShb) {
      if (avail < 12) return this.short('pcapng', avail, 12, SHB_HEAD_FIELDS, final);
      const bom = rd32(b, p + 8, false);
      if (bom === BYTE_ORDER_MAGIC) le = false;
      else if (bom === 0x4d3c2b1a) le = true;
      else {
        throw new DecodeError('pcapng', 'byte_order_magic', this.offset + 8, `bad byte-order magic ${hex32(bom)}`);
      }
    }
    const type = isShb ? BlockType.SectionHeader : rd32(b, p, le);
    const len = rd32(b, p + 4, le);
    const at = this.offset;
    const min = minBlockLength(type);
    if (len % 4 !== 0) {
      throw new DecodeError('pcapng', 'block_total_length', at + 4, `${len} is not a multiple of 4`);
    }
    if (len < min) {
      throw new DecodeError('pcapng', 'block_total_length', at + 4, `${len} is less than the ${min}-byte minimum of ${withArticle(blockName(type))}`);
    }
    if (!isBufferedBlock(type)) {
      // Skipped without buffering: unknown, NRB, ISB, DSB, custom blocks.
      this.skipBlockStart = at;
      this.skipBlockType = type;
      this.skipBlockLen = len;
      this.skipRemaining = len - 12;
      this.state = this.skipRemaining > 0 ? State.Skip : State.SkipTrailer;
      this.want = this.skipRemaining > 0 ? 1 : 4;
      return 8;
    }
    if (len > MAX_BUFFERED_BLOCK_LENGTH) {
      throw new DecodeError('pcapng', 'block_total_length', at + 4, `${len} bytes exceeds the ${MAX_BUFFERED_BLOCK_LENGTH}-byte limit for ${withArticle(blockName(type))}`);
    }
    if (this.section < 0 && !isShb) {
      throw new DecodeError('pcapng', 'block_type', at, 'the file does not start with a section header block');
    }
    if (avail < len) return this.short('pcapng', avail, len, blockLayout(type, len), final);
    const trailer = rd32(b, p + len - 4, le);
    if (trailer !== len) {
      throw new DecodeError('pcapng', 'block_total_length', at + len - 4, `trailing copy ${trailer} differs from the leading ${len}`);
    }
    switch (type) {
      case BlockType.SectionHeader:
        this.parseSectionHeader(b, p, len, le);
        break;
      case BlockType.InterfaceDescription:
        this.parseInterface(b, p, len, le);
        break;
      case BlockType.EnhancedPacket:
        this.parseEnhancedPacket(b, p, len, le);
        break;
      case BlockType.SimplePacket:
        this.parseSimplePacket(b, p, len, le);
        break;
      case BlockType.Packet:
        this.parseObsoletePacket(b, p, len, le);
        break;
    }
    this.want = 8;
    return len;
  }

  private stepSkipTrailer(b: Uint8Array, p: number, final: boolean): number {
    const avail = b.length - p;
    if (avail < 4) {
      if (!final) {
        this.want = 4;
        return NEED;
      }
      const have = this.offset - this.skipBlockStart + avail;
      return this.truncated('pcapng', this.skipBlockStart, have, blockLayout(this.skipBlockType, this.skipBlockLen));
    }
    const trailer = rd32(b, p, this.le);
    if (trailer !== this.skipBlockLen) {
      throw new DecodeError('pcapng', 'block_total_length', this.offset, `trailing copy ${trailer} differs from the leading ${this.skipBlockLen}`);
    }
    this.state = State.Block;
    this.want = 8;
    return 4;
  }

  /** Walks the options in b[start, end) (§3.5), calling `fn` for each one before opt_endofopt. */
  private options(b: Uint8Array, p: number, start: number, end: number, le: boolean, fn: (code: number, at: number, len: number) => void): void {
    let i = start;
    while (end - i >= 4) {
      const code = rd16(b, p + i, le);
      const len = rd16(b, p + i + 2, le);
      if (code === OptionCode.EndOfOpt) return;
      if (i + 4 + len > end) {
        throw new DecodeError('pcapng', 'option_length', this.offset + i + 2, `option ${code} of ${len} bytes runs past the end of the block`);
      }
      fn(code, i + 4, len);
      i += 4 + ((len + 3) & ~3);
    }
  }

  private optionLength(code: string, at: number, len: number, expected: number): void {
    if (len !== expected) {
      throw new DecodeError('pcapng', 'option_length', this.offset + at - 2, `${code} must be ${expected} bytes, not ${len}`);
    }
  }

  private parseSectionHeader(b: Uint8Array, p: number, len: number, le: boolean): void {
    const versionMajor = rd16(b, p + 12, le);
    const versionMinor = rd16(b, p + 14, le);
    if (versionMajor !== 1) {
      throw new DecodeError('pcapng', 'major_version', this.offset + 12, `unsupported pcapng version ${versionMajor}.${versionMinor}`);
    }
    const sectionLength = rdI64(b, p + 16, le);
    let hardware: string | undefined;
    let os: string | undefined;
    let userAppl: string | undefined;
    let comment: string | undefined;
    this.options(b, p, 24, len - 4, le, (code, at, n) => {
      if (code === OptionCode.Comment) comment ??= optString(b, p + at, n);
      else if (code === OptionCode.ShbHardware) hardware = optString(b, p + at, n);
      else if (code === OptionCode.ShbOs) os = optString(b, p + at, n);
      else if (code === OptionCode.ShbUserAppl) userAppl = optString(b, p + at, n);
    });
    this.le = le;
    this.section++;
    this.interfaces = [];
    this.out.push({
      kind: 'header',
      format: 'pcapng',
      offset: this.offset,
      section: this.section,
      byteOrder: le ? ByteOrder.Little : ByteOrder.Big,
      versionMajor,
      versionMinor,
      sectionLength,
      hardware,
      os,
      userAppl,
      comment,
    });
  }

  private parseInterface(b: Uint8Array, p: number, len: number, le: boolean): void {
    const linktype = rd16(b, p + 8, le);
    const snaplen = rd32(b, p + 12, le);
    let name: string | undefined;
    let description: string | undefined;
    let os: string | undefined;
    let comment: string | undefined;
    let tsresol: TimestampResolution = { base: 10, exponent: 6 };
    let tsoffset = 0n;
    let fcsLength: number | undefined;
    this.options(b, p, 16, len - 4, le, (code, at, n) => {
      switch (code) {
        case OptionCode.Comment:
          comment ??= optString(b, p + at, n);
          break;
        case OptionCode.IfName:
          name = optString(b, p + at, n);
          break;
        case OptionCode.IfDescription:
          description = optString(b, p + at, n);
          break;
        case OptionCode.IfOs:
          os = optString(b, p + at, n);
          break;
        case OptionCode.IfTsresol: {
          this.optionLength('if_tsresol', at, n, 1);
          const v = b[p + at]!;
          tsresol = v & 0x80 ? { base: 2, exponent: v & 0x7f } : { base: 10, exponent: v };
          break;
        }
        case OptionCode.IfTsoffset:
          this.optionLength('if_tsoffset', at, n, 8);
          tsoffset = rdI64(b, p + at, le);
          break;
        case OptionCode.IfFcslen:
          this.optionLength('if_fcslen', at, n, 1);
          fcsLength = b[p + at]!;
          break;
      }
    });
    const entry: CaptureInterface = {
      kind: 'interface',
      offset: this.offset,
      section: this.section,
      interfaceId: this.interfaces.length,
      linktype,
      snaplen,
      name,
      description,
      os,
      comment,
      tsresol,
      tsoffset,
      fcsLength,
    };
    this.interfaces.push({ entry, toNs: timestampConverter(tsresol, tsoffset), capLimit: capturedLengthLimit(snaplen) });
    this.out.push(entry);
  }

  private iface(id: number, fieldAt: number): InterfaceState {
    const s = this.interfaces[id];
    if (!s) {
      throw new DecodeError('pcapng', 'interface_id', this.offset + fieldAt, `interface ${id} is not described in this section (${this.interfaces.length} interface${this.interfaces.length === 1 ? '' : 's'})`);
    }
    return s;
  }

  private checkCaptured(capLen: number, room: number, iface: InterfaceState, len: number): void {
    if (capLen > MAX_CAPTURED_LENGTH || capLen > iface.capLimit) {
      const why =
        capLen > MAX_CAPTURED_LENGTH
          ? `${capLen} bytes exceeds the ${MAX_CAPTURED_LENGTH}-byte maximum`
          : `${capLen} bytes is far beyond the interface's snaplen ${iface.entry.snaplen}`;
      throw new DecodeError('pcapng', 'captured_packet_length', this.offset + 20, `impossible captured length: ${why}`);
    }
    if (capLen > room) {
      throw new DecodeError('pcapng', 'captured_packet_length', this.offset + 20, `${capLen} bytes of packet data do not fit in a block of ${len} bytes`);
    }
  }

  private packetOptions(b: Uint8Array, p: number, start: number, len: number, le: boolean): { comments?: string[]; flags?: number } {
    let comments: string[] | undefined;
    let flags: number | undefined;
    this.options(b, p, start, len - 4, le, (code, at, n) => {
      if (code === OptionCode.Comment) (comments ??= []).push(optString(b, p + at, n));
      else if (code === OptionCode.EpbFlags) {
        this.optionLength('epb_flags', at, n, 4);
        flags = rd32(b, p + at, le);
      }
    });
    return { comments, flags };
  }

  private pushPacket(
    iface: InterfaceState,
    interfaceId: number,
    timestampNs: bigint,
    noTimestamp: boolean,
    data: Uint8Array,
    originalLength: number,
    comments: string[] | undefined,
    flags: number | undefined,
  ): void {
    const record: PacketRecord = {
      kind: 'packet',
      index: ++this.index,
      offset: this.offset,
      section: this.section,
      linktype: iface.entry.linktype,
      interfaceId,
      interfaceName: iface.entry.name,
      timestampUs: Number(floorDiv(timestampNs, 1000n)),
      timestampNs,
      noTimestamp: noTimestamp ? true : undefined,
      capturedLength: data.length,
      originalLength,
      data,
      comment: comments?.[0],
      comments,
      flags,
    };
    this.out.push(record);
  }

  private parseEnhancedPacket(b: Uint8Array, p: number, len: number, le: boolean): void {
    const id = rd32(b, p + 8, le);
    const iface = this.iface(id, 8);
    const units = (BigInt(rd32(b, p + 12, le)) << 32n) | BigInt(rd32(b, p + 16, le));
    const capLen = rd32(b, p + 20, le);
    const origLen = rd32(b, p + 24, le);
    this.checkCaptured(capLen, len - 32, iface, len);
    const optionsAt = 28 + ((capLen + 3) & ~3);
    const timestampNs = iface.toNs(units);
    if (this.packetSink !== undefined && optionsAt >= len - 4) {
      const timestampUs = Number(floorDiv(timestampNs, 1000n));
      if (this.packetSink.packet(b, p + 28, p + 28 + capLen, this.index + 1, iface.entry.linktype, timestampUs, origLen)) {
        this.index++;
        return;
      }
    }
    const data = b.slice(p + 28, p + 28 + capLen);
    const { comments, flags } = this.packetOptions(b, p, optionsAt, len, le);
    this.pushPacket(iface, id, timestampNs, false, data, origLen, comments, flags);
  }

  private parseObsoletePacket(b: Uint8Array, p: number, len: number, le: boolean): void {
    const id = rd16(b, p + 8, le);
    const iface = this.iface(id, 8);
    const units = (BigInt(rd32(b, p + 12, le)) << 32n) | BigInt(rd32(b, p + 16, le));
    const capLen = rd32(b, p + 20, le);
    const origLen = rd32(b, p + 24, le);
    this.checkCaptured(capLen, len - 32, iface, len);
    const data = b.slice(p + 28, p + 28 + capLen);
    const { comments, flags } = this.packetOptions(b, p, 28 + ((capLen + 3) & ~3), len, le);
    this.pushPacket(iface, id, iface.toNs(units), false, data, origLen, comments, flags);
  }

  private parseSimplePacket(b: Uint8Array, p: number, len: number, le: boolean): void {
    const iface = this.interfaces[0];
    if (!iface) {
      throw new DecodeError('pcapng', 'block_type', this.offset, 'simple packet block before any interface description block in this section');
    }
    const origLen = rd32(b, p + 8, le);
    // §4.4: captured length = min(original length, interface 0's snaplen), bounded here by the block itself.
    const snap = iface.entry.snaplen === 0 ? Infinity : iface.entry.snaplen;
    const capLen = Math.min(origLen, snap, len - 16, MAX_CAPTURED_LENGTH);
    const data = b.slice(p + 12, p + 12 + capLen);
    this.pushPacket(iface, 0, 0n, true, data, origLen, undefined, undefined);
  }
}

/** Decodes a whole capture held in memory; yields entries lazily, throws DecodeError at the first fault. */
export function* readCaptureSync(bytes: Uint8Array): Generator<CaptureEntry, void, undefined> {
  const d = new CaptureDecoder();
  yield* d.push(bytes);
  d.finish();
}

/** Only the packets of `readCaptureSync`. */
export function* readPacketsSync(bytes: Uint8Array): Generator<PacketRecord, void, undefined> {
  for (const e of readCaptureSync(bytes)) if (e.kind === 'packet') yield e;
}

/**
 * Streams a capture from chunks of any size, in constant memory. Each chunk is
 * decoded in one go and its entries are then yielded one by one (so memory is
 * bounded by the chunk size plus the carry-over); if the chunk holds a fault,
 * the entries before it are yielded first, then the DecodeError is thrown.
 * The result can instead be consumed with `feed` (see CaptureStream).
 */
export function readCapture(chunks: ByteChunks): CaptureStream {
  const stream = entriesOf(chunks) as CaptureStream;
  stream.feed = async (onEntry, sink) => {
    const d = new CaptureDecoder();
    d.packetSink = sink;
    for await (const chunk of chunks) for (const e of d.push(chunk)) onEntry(e);
    d.finish();
  };
  return stream;
}

async function* entriesOf(chunks: ByteChunks): AsyncGenerator<CaptureEntry, void, undefined> {
  const d = new CaptureDecoder();
  const batch: CaptureEntry[] = [];
  for await (const chunk of chunks) {
    let fault: unknown;
    try {
      for (const e of d.push(chunk)) batch.push(e);
    } catch (e) {
      fault = e;
    }
    for (let k = 0; k < batch.length; k++) yield batch[k]!;
    batch.length = 0;
    if (fault !== undefined) throw fault;
  }
  d.finish();
}

/** Only the packets of `readCapture`. */
export async function* readPackets(chunks: ByteChunks): AsyncGenerator<PacketRecord, void, undefined> {
  for await (const e of readCapture(chunks)) if (e.kind === 'packet') yield e;
}
