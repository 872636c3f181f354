/**
 * Targets over whole capture files (mutated reference captures, spliced with each
 * other): the pcap/pcapng reader, frames (link and IP layers with reassembly) and
 * the Dissector.
 *  - pcap-reader: readCaptureSync throws nothing but DecodeError, and the streaming
 *    CaptureDecoder fed the same bytes in uneven chunks yields exactly the same
 *    entries and the same error (the reader's promise: chunks of any size);
 *  - frames: FrameDecoder.decode never throws (faults come back as kind 'error');
 *  - dissector: Dissector.dissect never throws.
 */
import { DecodeError } from '../../src/core/errors.ts';
import { CaptureDecoder, readCaptureSync } from '../../src/pcap/reader.ts';
import { MAX_CAPTURED_LENGTH, type CaptureEntry } from '../../src/pcap/format.ts';
import { FrameDecoder } from '../../src/pcap/frames.ts';
import { Dissector } from '../../src/analysis/dissect.ts';
import type { FuzzTarget } from '../harness.ts';
import { loadCorpus, packetsOf } from '../corpus.ts';
import { captureLayout } from '../locate.ts';
import { lazy } from './common.ts';
import { InvariantFailure } from '../util.ts';

export const captureSeeds = lazy(() => loadCorpus().captures.map((c) => c.bytes));

const CAPTURE_MAX = 256 * 1024;

function summary(e: CaptureEntry): string {
  if (e.kind === 'packet') return `p${e.index}@${e.offset}:${e.linktype}:${e.data.length}:${e.timestampNs}`;
  if (e.kind === 'interface') return `i${e.interfaceId}@${e.offset}:${e.linktype}`;
  return `h@${e.offset}:${e.format}`;
}

function errText(e: unknown, fileLength: number): string {
  if (!(e instanceof DecodeError)) throw e;
  if (e.offset < 0 || e.offset > fileLength) throw new InvariantFailure(`DecodeError offset ${e.offset} lies outside the ${fileLength}-byte file: ${e.message}`);
  return `${e.layer}/${e.field}@${e.offset}`;
}

/** Chunk sizes derived from the input itself (deterministic). */
function chunkSizes(b: Uint8Array): number[] {
  let x = (b.length * 2654435761) >>> 0 || 1;
  const out: number[] = [];
  let left = b.length;
  while (left > 0) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const n = Math.min(left, [1, 3, 7, 16, 64, 500, 4096][x % 7]! + (x >>> 8) % 5);
    out.push(n);
    left -= n;
  }
  return out;
}

export const pcapTarget: FuzzTarget<null> = {
  name: 'pcap-reader',
  description: 'readCaptureSync and the chunked CaptureDecoder over mutated captures (same entries, same error)',
  weight: 5,
  maxLen: CAPTURE_MAX,
  randomShare: 0.02,
  seeds: captureSeeds,
  layout: captureLayout,
  setup: () => null,
  exec(_s, b) {
    const whole: string[] = [];
    let wholeErr = 'none';
    try {
      for (const e of readCaptureSync(b)) {
        if (e.kind === 'packet' && (e.data.length !== e.capturedLength || e.data.length > MAX_CAPTURED_LENGTH)) {
          throw new InvariantFailure(`packet ${e.index}: ${e.data.length} bytes of data, capturedLength ${e.capturedLength}`);
        }
        whole.push(summary(e));
      }
    } catch (e) {
      if (e instanceof InvariantFailure) throw e;
      wholeErr = errText(e, b.length);
    }
    const chunked: string[] = [];
    let chunkErr = 'none';
    const d = new CaptureDecoder();
    try {
      let o = 0;
      for (const n of chunkSizes(b)) {
        for (const e of d.push(b.subarray(o, o + n))) chunked.push(summary(e));
        o += n;
      }
      d.finish();
    } catch (e) {
      chunkErr = errText(e, b.length);
    }
    if (wholeErr !== chunkErr || whole.length !== chunked.length || whole.some((s, i) => s !== chunked[i])) {
      const i = whole.findIndex((s, k) => s !== chunked[k]);
      throw new InvariantFailure(
        `chunked reading differs from whole-buffer reading: ${whole.length} vs ${chunked.length} entries, error ${wholeErr} vs ${chunkErr}${i >= 0 ? `, first difference at entry ${i}: ${whole[i]} vs ${chunked[i]}` : ''}`,
      );
    }
  },
};

export const framesTarget: FuzzTarget<null> = {
  name: 'frames',
  description: 'FrameDecoder (link, IPv4/IPv6, fragment reassembly) over the records of mutated captures',
  weight: 4,
  maxLen: CAPTURE_MAX,
  randomShare: 0,
  seeds: captureSeeds,
  layout: captureLayout,
  setup: () => null,
  exec(_s, b) {
    const fd = new FrameDecoder({ maxDatagrams: 8, maxFragments: 64 });
    for (const rec of packetsOf(b)) {
      const r = fd.decode(rec);
      if (r.kind === 'ip' && r.ip.payload.length > r.ip.ipBytes.length) {
        throw new InvariantFailure(`IP payload of ${r.ip.payload.length} bytes in a ${r.ip.ipBytes.length}-byte packet`);
      }
    }
  },
};

export const dissectorTarget: FuzzTarget<null> = {
  name: 'dissector',
  description: 'Dissector.dissect over the records of mutated captures',
  weight: 5,
  maxLen: CAPTURE_MAX,
  randomShare: 0,
  seeds: captureSeeds,
  layout: captureLayout,
  setup: () => null,
  exec(_s, b) {
    const d = new Dissector();
    for (const rec of packetsOf(b)) d.dissect(rec);
  },
};

export const CAPTURE_TARGETS = [pcapTarget, framesTarget, dissectorTarget] as const;
