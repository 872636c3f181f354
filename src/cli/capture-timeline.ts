/**
 * Reads capture files into a CaptureTimeline (analysis/timeline.ts) for `analyze
 * --explain` and `--diagram`: a second streaming pass over the files the report was
 * made from. A file cut mid-record ends its timeline where the report ends it; the
 * error itself was already reported by the analysis run.
 */
import { DecodeError } from '../core/errors.ts';
import { TimelineRecorder, type CaptureTimeline } from '../analysis/timeline.ts';
import { fileSource } from './analysis-run.ts';

export async function readTimeline(files: readonly string[]): Promise<CaptureTimeline> {
  const t = new TimelineRecorder();
  for (const file of files) {
    t.beginCapture(file);
    try {
      for await (const e of fileSource(file).entries()) t.entry(e);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    t.endCapture();
  }
  return t.finish();
}
