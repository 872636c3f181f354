/**
 * Capture file formats: constants and the values the reader produces.
 *
 * Classic pcap: draft-ietf-opsawg-pcap ("PCAP Capture File Format"), the
 * libpcap savefile format; field names follow libpcap's wiki naming
 * (magic, version_major, version_minor, thiszone, sigfigs, snaplen, network;
 * ts_sec, ts_usec, incl_len, orig_len).
 * pcapng: draft-ietf-opsawg-pcapng; field names follow the draft's figure
 * labels in snake case (block_type, block_total_length, byte_order_magic, ...).
 */
import type { Micros } from '../core/time.ts';

export const CaptureFormat = { Pcap: 'pcap', Pcapng: 'pcapng' } as const;
export type CaptureFormat = (typeof CaptureFormat)[keyof typeof CaptureFormat];

export const ByteOrder = { Little: 'little', Big: 'big' } as const;
export type ByteOrder = (typeof ByteOrder)[keyof typeof ByteOrder];

/** Magic numbers of classic pcap, as read big-endian from the first 4 bytes. */
export const PcapMagic = {
  /** Microsecond timestamps, file written big-endian. */
  MicrosBig: 0xa1b2c3d4,
  /** Microsecond timestamps, file written little-endian (bytes d4 c3 b2 a1). */
  MicrosLittle: 0xd4c3b2a1,
  /** Nanosecond timestamps, big-endian. */
  NanosBig: 0xa1b23c4d,
  /** Nanosecond timestamps, little-endian (bytes 4d 3c b2 a1). */
  NanosLittle: 0x4d3cb2a1,
} as const;
export type PcapMagic = (typeof PcapMagic)[keyof typeof PcapMagic];

/** pcapng block types (draft-ietf-opsawg-pcapng §10.1, Appendix A). */
export const BlockType = {
  SectionHeader: 0x0a0d0d0a,
  InterfaceDescription: 0x00000001,
  /** Obsolete Packet Block (Appendix A). */
  Packet: 0x00000002,
  SimplePacket: 0x00000003,
  NameResolution: 0x00000004,
  InterfaceStatistics: 0x00000005,
  EnhancedPacket: 0x00000006,
  DecryptionSecrets: 0x0000000a,
  Custom: 0x00000bad,
  CustomNoCopy: 0x40000bad,
} as const;
export type BlockType = (typeof BlockType)[keyof typeof BlockType];

/** Byte-Order Magic of the Section Header Block (§4.1). */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Option codes used here (§3.5, §4.1, §4.2, §4.3, Appendix A). */
export const OptionCode = {
  EndOfOpt: 0,
  Comment: 1,
  ShbHardware: 2,
  ShbOs: 3,
  ShbUserAppl: 4,
  IfName: 2,
  IfDescription: 3,
  IfTsresol: 9,
  IfFilter: 11,
  IfOs: 12,
  IfFcslen: 13,
  IfTsoffset: 14,
  EpbFlags: 2,
  PackFlags: 2,
} as const;
export type OptionCode = (typeof OptionCode)[keyof typeof OptionCode];

/** A few LINKTYPE_* values (draft-ietf-opsawg-pcaplinktype). */
export const LinkType = {
  Null: 0,
  Ethernet: 1,
  Raw: 101,
  Loop: 108,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
} as const;
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/**
 * Largest captured length accepted (libpcap's and Wireshark's MAXIMUM_SNAPLEN,
 * 256 KiB). A larger length field is treated as corruption.
 */
export const MAX_CAPTURED_LENGTH = 262_144;

/**
 * Largest pcapng block the reader buffers (SHB, IDB and packet blocks): packet
 * data plus a generous allowance for options. Other block types are skipped
 * without buffering, so their length is not limited.
 */
export const MAX_BUFFERED_BLOCK_LENGTH = 1024 * 1024;

/**
 * How far a captured length may exceed the snaplen declared for its file or
 * interface before it is treated as corruption: by more than the snaplen itself
 * and more than this many bytes (libpcap and Wireshark only enforce the 256 KiB
 * ceiling; this catches a corrupt length in a file with a small snaplen early).
 */
export const SNAPLEN_SLACK = 1024;

/** Largest captured length believable for a given snaplen (0 means "no limit"). */
export function capturedLengthLimit(snaplen: number): number {
  if (snaplen === 0 || snaplen >= MAX_CAPTURED_LENGTH) return MAX_CAPTURED_LENGTH;
  return Math.min(MAX_CAPTURED_LENGTH, snaplen + Math.max(snaplen, SNAPLEN_SLACK));
}

/** Timestamp unit of an interface: 10^-exponent or 2^-exponent seconds (if_tsresol). */
export interface TimestampResolution {
  readonly base: 10 | 2;
  readonly exponent: number;
}

/** File header of a classic pcap file. Always the first entry the reader yields. */
export interface PcapFileHeader {
  readonly kind: 'header';
  readonly format: 'pcap';
  readonly offset: number;
  readonly byteOrder: ByteOrder;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** 'us' for magic a1b2c3d4, 'ns' for a1b23c4d. */
  readonly precision: 'us' | 'ns';
  readonly thiszone: number;
  readonly sigfigs: number;
  readonly snaplen: number;
  /** LINKTYPE_* (low 16 bits of the network field). */
  readonly linktype: number;
  /** The whole 32-bit network field (link type and FCS information). */
  readonly linktypeField: number;
  /** FCS bytes at the end of each packet, when the header says so (F bit set). */
  readonly fcsLength?: number;
}

/** Section Header Block of a pcapng file; the first entry, then one per further section. */
export interface PcapngSectionHeader {
  readonly kind: 'header';
  readonly format: 'pcapng';
  readonly offset: number;
  /** 0 for the first section. */
  readonly section: number;
  readonly byteOrder: ByteOrder;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** -1n when not specified. */
  readonly sectionLength: bigint;
  readonly hardware?: string;
  readonly os?: string;
  readonly userAppl?: string;
  readonly comment?: string;
}

export type CaptureHeader = PcapFileHeader | PcapngSectionHeader;

/**
 * An interface: one per pcapng Interface Description Block, and one synthesized
 * (id 0) right after the header of a classic pcap file, so that every packet's
 * interfaceId refers to an interface entry already seen.
 */
export interface CaptureInterface {
  readonly kind: 'interface';
  /** Offset of the IDB, or of the classic file header. */
  readonly offset: number;
  readonly section: number;
  readonly interfaceId: number;
  readonly linktype: number;
  readonly snaplen: number;
  readonly name?: string;
  readonly description?: string;
  readonly os?: string;
  readonly comment?: string;
  readonly tsresol: TimestampResolution;
  /** if_tsoffset in seconds (0n when absent). */
  readonly tsoffset: bigint;
  /** FCS length in bytes (pcapng if_fcslen, classic pcap FCS bits). */
  readonly fcsLength?: number;
}

/** One captured packet. */
export interface PacketRecord {
  readonly kind: 'packet';
  /** 1-based frame number in the file (across sections). */
  readonly index: number;
  /** Absolute file offset of the record header or block. */
  readonly offset: number;
  readonly section: number;
  readonly linktype: number;
  readonly interfaceId: number;
  readonly interfaceName?: string;
  /** Integer microseconds since the epoch, rounded down from finer resolutions. */
  readonly timestampUs: Micros;
  /** Exact timestamp in nanoseconds since the epoch (rounded down from finer resolutions). */
  readonly timestampNs: bigint;
  /** True for Simple Packet Blocks, which carry no timestamp (both timestamps are then 0). */
  readonly noTimestamp?: boolean;
  readonly capturedLength: number;
  readonly originalLength: number;
  /** A copy of the packet bytes (never a view into the caller's chunks). */
  readonly data: Uint8Array;
  /** First opt_comment of the block. */
  readonly comment?: string;
  /** Every opt_comment of the block, in order (absent when there is none). */
  readonly comments?: readonly string[];
  /** epb_flags / pack_flags word, when present. */
  readonly flags?: number;
}

/** Everything the reader yields, in file order. */
export type CaptureEntry = CaptureHeader | CaptureInterface | PacketRecord;

export function isPacket(e: CaptureEntry): e is PacketRecord {
  return e.kind === 'packet';
}
