/**
 * Where captured packets come from. The CLI reads files; the replay of a capture
 * through a simulated NAT will hand the analyser what its taps record. Both are a
 * CaptureSource: a name and the capture entries (header, interfaces, packets) in
 * order, so one report covers files and simulated vantage points alike.
 */
import { DecodeError } from '../core/errors.ts';
import type { CaptureEntry } from '../pcap/format.ts';
import type { CaptureStream } from '../pcap/reader.ts';
import type { CaptureAnalyzer } from './analyzer.ts';

export interface CaptureSource {
  readonly name: string;
  entries(): AsyncIterable<CaptureEntry> | Iterable<CaptureEntry>;
}

export type SourceOutcome =
  | { readonly ok: true }
  /** `beforeAnyEntry`: not a capture at all (nothing was analysed); otherwise the capture was marked truncated. */
  | { readonly ok: false; readonly error: DecodeError; readonly beforeAnyEntry: boolean };

/**
 * Feeds one source into the analyser as one capture. A DecodeError from the source
 * (a file cut mid-record, an impossible length) ends it: the capture is marked
 * truncated at the error's offset and everything before it stays analysed.
 */
export async function feedSource(a: CaptureAnalyzer, src: CaptureSource): Promise<SourceOutcome> {
  a.beginCapture(src.name);
  let seen = false;
  try {
    const entries = src.entries();
    if (isCaptureStream(entries)) {
      // One synchronous pass per chunk; most packets go straight from the reader's buffer.
      await entries.feed((e) => {
        seen = true;
        a.entry(e);
      }, a.packetSink());
    } else {
      for await (const e of entries) {
        seen = true;
        a.entry(e);
      }
    }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    a.endCapture(seen ? { offset: e.offset, reason: e.reason } : undefined);
    return { ok: false, error: e, beforeAnyEntry: !seen };
  }
  a.endCapture();
  return { ok: true };
}

function isCaptureStream(x: AsyncIterable<CaptureEntry> | Iterable<CaptureEntry>): x is CaptureStream {
  return typeof (x as Partial<CaptureStream>).feed === 'function';
}
