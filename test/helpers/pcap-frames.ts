/**
 * Minimal classic-pcap reader for tests only (the product's reader lives in src/pcap).
 * Format: 24-byte global header (magic a1b2c3d4 for microseconds or a1b23c4d for
 * nanoseconds, in the writer's byte order; version; thiszone; sigfigs; snaplen;
 * network = link type), then records of ts_sec, ts_frac, incl_len, orig_len and
 * incl_len bytes of frame.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface PcapFrame {
  /** 1-based, as Wireshark and tshark number frames. */
  readonly number: number;
  readonly tsSec: number;
  readonly tsFrac: number;
  readonly origLen: number;
  readonly data: Uint8Array;
  /** Offset of data[0] in the file. */
  readonly fileOffset: number;
}

export interface PcapFile {
  readonly linktype: number;
  readonly littleEndian: boolean;
  readonly nanoseconds: boolean;
  readonly frames: readonly PcapFrame[];
}

/** /work/shared/captures, relative to this repository (../shared/captures from the root). */
export const CAPTURES_DIR = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));

export function readPcap(path: string): PcapFile {
  const file = new Uint8Array(readFileSync(path.startsWith('/') ? path : CAPTURES_DIR + path));
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magicBe = dv.getUint32(0, false);
  const magicLe = dv.getUint32(0, true);
  const known = [0xa1b2c3d4, 0xa1b23c4d];
  let littleEndian: boolean;
  if (known.includes(magicLe)) littleEndian = true;
  else if (known.includes(magicBe)) littleEndian = false;
  else throw new Error(`${path}: not a classic pcap file`);
  const magic = littleEndian ? magicLe : magicBe;
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
    frames.push({ number: frames.length + 1, tsSec, tsFrac, origLen, data: file.subarray(start, start + incl), fileOffset: start });
    at = start + incl;
  }
  return { linktype, littleEndian, nanoseconds: magic === 0xa1b23c4d, frames };
}

/** Frame `number` (1-based) of a capture. */
export function pcapFrame(path: string, number: number): Uint8Array {
  const f = readPcap(path).frames[number - 1];
  if (!f) throw new Error(`${path} has no frame ${number}`);
  return f.data;
}
