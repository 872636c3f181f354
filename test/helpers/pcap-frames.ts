/**
 * Minimal capture-file reader for tests only (the product's reader lives in src/pcap; the
 * codec tests must not depend on the code they check).
 *
 * Classic pcap: 24-byte global header (magic a1b2c3d4 for microseconds or a1b23c4d for
 * nanoseconds, in the writer's byte order; version; thiszone; sigfigs; snaplen; network =
 * link type), then records of ts_sec, ts_frac, incl_len, orig_len and incl_len bytes of
 * frame.
 *
 * pcapng: blocks of type, total length, body, total length. Section Header (0x0a0d0d0a,
 * byte-order magic 1a2b3c4d) starts a section and its list of interfaces; Interface
 * Description (1) gives the link type and, in option 9 (if_tsresol), the timestamp unit;
 * Enhanced Packet (6) and Simple Packet (3, interface 0, no timestamp) carry frames; other
 * blocks are skipped.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PcapFrame {
  /** 1-based, as Wireshark and tshark number frames. */
  readonly number: number;
  /** Link type of the interface the frame was captured on. */
  readonly linktype: number;
  readonly tsSec: number;
  /** Fraction of the second, in units of 1/fracPerSec s. */
  readonly tsFrac: number;
  /** 1e6 or 1e9 in classic pcap; 10^n or 2^n (if_tsresol) in pcapng. */
  readonly fracPerSec: number;
  readonly origLen: number;
  readonly data: Uint8Array;
  /** Offset of data[0] in the file. */
  readonly fileOffset: number;
}

export interface PcapFile {
  readonly format: 'pcap' | 'pcapng';
  /** The file's link type (pcapng: that of the first interface). */
  readonly linktype: number;
  /** Byte order of the file (pcapng: of the first section). */
  readonly littleEndian: boolean;
  /** Timestamps count nanoseconds (pcapng: on the first interface). */
  readonly nanoseconds: boolean;
  readonly frames: readonly PcapFrame[];
}

/** /work/shared/captures, relative to this repository (../shared/captures from the root). */
export const CAPTURES_DIR = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));

/** Absolute path of a file under /work/shared/captures (the read-only reference captures). */
export function capture(rel: string): string {
  return CAPTURES_DIR + rel;
}

const PCAPNG_SHB = 0x0a0d0d0a;

/** Reads a capture; a relative path is taken under CAPTURES_DIR. */
export function readPcap(path: string): PcapFile {
  const file = new Uint8Array(readFileSync(path.startsWith('/') ? path : capture(path)));
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length >= 4 && dv.getUint32(0, false) === PCAPNG_SHB) return readPcapng(path, file, dv);
  const magicBe = dv.getUint32(0, false);
  const magicLe = dv.getUint32(0, true);
  const known = [0xa1b2c3d4, 0xa1b23c4d];
  let littleEndian: boolean;
  if (known.includes(magicLe)) littleEndian = true;
  else if (known.includes(magicBe)) littleEndian = false;
  else throw new Error(`${path}: not a pcap or pcapng file`);
  const nanoseconds = (littleEndian ? magicLe : magicBe) === 0xa1b23c4d;
  const fracPerSec = nanoseconds ? 1e9 : 1e6;
  const linktype = dv.getUint32(20, littleEndian) & 0x0fffffff;
  const frames: PcapFrame[] = [];
  let at = 24;
  while (at + 16 <= file.length) {
    const tsSec = dv.getUint32(at, littleEndian);
    const tsFrac = dv.getUint32(at + 4, littleEndian);
    const incl = dv.getUint32(at + 8, littleEndian);
    const origLen = dv.getUint32(at + 12, littleEndian);
    const start = at + 16;
    if (start + incl > file.length) throw new Error(`${path}: record ${frames.length + 1} is truncated`);
    frames.push({ number: frames.length + 1, linktype, tsSec, tsFrac, fracPerSec, origLen, data: file.subarray(start, start + incl), fileOffset: start });
    at = start + incl;
  }
  return { format: 'pcap', linktype, littleEndian, nanoseconds, frames };
}

interface Interface {
  readonly linktype: number;
  /** Timestamp units per second. */
  readonly perSec: bigint;
}

function readPcapng(path: string, file: Uint8Array, dv: DataView): PcapFile {
  const frames: PcapFrame[] = [];
  let interfaces: Interface[] = [];
  let first: { littleEndian: boolean; iface?: Interface } | undefined;
  let le = true;
  for (let at = 0; at + 12 <= file.length; ) {
    if (dv.getUint32(at, false) === PCAPNG_SHB) {
      le = dv.getUint32(at + 8, true) === 0x1a2b3c4d;
      interfaces = [];
      first ??= { littleEndian: le };
    }
    const type = dv.getUint32(at, le);
    const len = dv.getUint32(at + 4, le);
    if (len < 12 || at + len > file.length) throw new Error(`${path}: block at ${at} is truncated`);
    const push = (iface: Interface | undefined, ts: bigint, origLen: number, start: number, captured: number): void => {
      const perSec = iface?.perSec ?? 1_000_000n;
      frames.push({
        number: frames.length + 1,
        linktype: iface?.linktype ?? 1,
        tsSec: Number(ts / perSec),
        tsFrac: Number(ts % perSec),
        fracPerSec: Number(perSec),
        origLen,
        data: file.subarray(start, Math.min(start + captured, at + len - 4)),
        fileOffset: start,
      });
    };
    if (type === 1) {
      const iface = { linktype: dv.getUint16(at + 8, le), perSec: tsResolution(file, dv, le, at + 16, at + len - 4) };
      interfaces.push(iface);
      if (first && !first.iface) first.iface = iface;
    } else if (type === 6) {
      const ts = (BigInt(dv.getUint32(at + 12, le)) << 32n) | BigInt(dv.getUint32(at + 16, le));
      push(interfaces[dv.getUint32(at + 8, le)], ts, dv.getUint32(at + 24, le), at + 28, dv.getUint32(at + 20, le));
    } else if (type === 3) {
      const origLen = dv.getUint32(at + 8, le);
      push(interfaces[0], 0n, origLen, at + 12, origLen);
    }
    at += len;
  }
  return {
    format: 'pcapng',
    linktype: first?.iface?.linktype ?? 1,
    littleEndian: first?.littleEndian ?? true,
    nanoseconds: first?.iface?.perSec === 1_000_000_000n,
    frames,
  };
}

/** Units per second from an IDB's options (if_tsresol, code 9), 10^6 when absent. */
function tsResolution(file: Uint8Array, dv: DataView, le: boolean, from: number, to: number): bigint {
  for (let p = from; p + 4 <= to; ) {
    const code = dv.getUint16(p, le);
    const len = dv.getUint16(p + 2, le);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      const v = file[p + 4]!;
      return v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v);
    }
    p += 4 + ((len + 3) & ~3);
  }
  return 1_000_000n;
}

/** Frame `number` (1-based) of a capture. */
export function pcapFrame(path: string, number: number): Uint8Array {
  const f = readPcap(path).frames[number - 1];
  if (!f) throw new Error(`${path} has no frame ${number}`);
  return f.data;
}
