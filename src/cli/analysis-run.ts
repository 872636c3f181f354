/**
 * Runs the capture analyser over files for `analyze` and `verify`: checks every file
 * first, streams each one through pcap/reader into one CaptureAnalyzer (in the order
 * given), shows a progress bar on a terminal for large files, and turns a file cut
 * mid-record into `captures[].truncated` plus the one-line error.
 *
 * Files are CaptureSources (analysis/source.ts), so a source that is not a file (the
 * replay command's simulated taps) can be analysed the same way.
 */
import cliProgress from 'cli-progress';
import { parseDuration, type Micros } from '../core/time.ts';
import { readCapture } from '../pcap/reader.ts';
import { feedSource, type CaptureSource } from '../analysis/source.ts';
import { CaptureAnalyzer, DEFAULT_NAT_TIMEOUT_US } from '../analysis/analyzer.ts';
import type { AnalysisReport } from '../analysis/report.ts';
import type { KeyRing } from '../analysis/keys.ts';
import { CliError, describeDecodeError } from './errors.ts';
import { checkCaptureFile, unsupportedLinkType } from './capture-input.ts';
import { isSupportedLinkType } from '../wire/link.ts';
import { fileChunks } from './file-chunks.ts';
import { loadKeys } from './keys-input.ts';

/** Files larger than this get a progress bar when stderr is a terminal. */
export const PROGRESS_MIN_BYTES = 20 * 1024 * 1024;

export interface AnalysisRunOptions {
  readonly captures: readonly string[];
  readonly keys?: string;
  readonly natTimeout?: string;
  /** Show a progress bar (on process.stderr) for files over PROGRESS_MIN_BYTES. */
  readonly progress?: boolean;
}

export interface AnalysisRunResult {
  readonly report: AnalysisReport;
  /** The one-line error for a capture that was cut or turned invalid (exit 2 after the report). */
  readonly error?: string;
}

export function parseNatTimeout(text: string | undefined): Micros {
  if (text === undefined) return DEFAULT_NAT_TIMEOUT_US;
  const us = parseDuration(text);
  if (us === undefined || us <= 0) throw new CliError(`--nat-timeout: "${text}" is not a duration (e.g. 30s, 2m, 500ms)`);
  return us;
}

export function fileSource(file: string, onBytes?: (n: number) => void): CaptureSource {
  return {
    name: file,
    entries() {
      return readCapture(fileChunks(file, onBytes));
    },
  };
}

/**
 * Analyses one source; a source that is not a capture at all is a CliError (nothing
 * to report); a cut one returns the error line, its report part marked truncated.
 */
export async function analyzeSource(a: CaptureAnalyzer, src: CaptureSource): Promise<string | undefined> {
  const r = await feedSource(a, src);
  if (r.ok) return undefined;
  if (r.beforeAnyEntry) throw new CliError(describeDecodeError(src.name, r.error));
  return describeDecodeError(src.name, r.error);
}

export async function runAnalysis(o: AnalysisRunOptions): Promise<AnalysisRunResult> {
  const natTimeoutUs = parseNatTimeout(o.natTimeout);
  const sizes = o.captures.map((f) => checkCaptureFile(f).size);
  const keys: KeyRing | undefined = o.keys !== undefined ? loadKeys(o.keys) : undefined;
  const a = new CaptureAnalyzer({ natTimeoutUs, ...(keys ? { keys } : {}) });
  let error: string | undefined;
  for (let i = 0; i < o.captures.length; i++) {
    const file = o.captures[i]!;
    const size = sizes[i]!;
    let bar: cliProgress.SingleBar | undefined;
    let done = 0;
    if (o.progress && size > PROGRESS_MIN_BYTES) {
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: `${file} [{bar}] {percentage}% | {value}/{total} MB`, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.ceil(size / 1048576), 0);
    }
    try {
      const err = await analyzeSource(
        a,
        fileSource(file, bar ? (n) => bar!.update(Math.floor((done += n) / 1048576)) : undefined),
      );
      error ??= err;
    } finally {
      bar?.stop();
    }
  }
  const report = a.finish();
  for (const c of report.captures) {
    const lt = c.linktypes.find((t) => !isSupportedLinkType(t));
    if (lt !== undefined) throw unsupportedLinkType(c.file, lt);
  }
  return { report, ...(error ? { error } : {}) };
}
