/**
 * Shared by the coursework tests: the strongswan-lab a-nat-keepalive captures
 * (/work/shared/captures/strongswan-lab/a-nat-keepalive: tcpdump on both sides of a
 * Linux MASQUERADE NAT, strongSwan 6.0.6 on both peers), and an in-process analysis
 * that yields the report and the timeline from capture entries, so a test can drop
 * or alter packets before analysing them; and the CLI run in-process.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { readCapture } from '../../src/pcap/reader.ts';
import type { CaptureEntry } from '../../src/pcap/format.ts';
import { CaptureAnalyzer } from '../../src/analysis/analyzer.ts';
import { TimelineRecorder, type CaptureTimeline } from '../../src/analysis/timeline.ts';
import type { AnalysisReport } from '../../src/analysis/report.ts';
import { main } from '../../src/cli/main.ts';

/** Runs the CLI in-process and collects what it prints. */
export async function runCli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (x) => void (out += x), err: (x) => void (err += x) });
  return { code, out, err };
}

export const ROOT = resolve(import.meta.dirname, '../..');
export const LAB = resolve(ROOT, '../shared/captures/strongswan-lab/a-nat-keepalive');
export const OUTSIDE = resolve(LAB, 'outside.pcap');
export const INSIDE = resolve(LAB, 'inside.pcap');

export async function captureEntries(file: string): Promise<CaptureEntry[]> {
  const out: CaptureEntry[] = [];
  for await (const e of readCapture(createReadStream(file) as AsyncIterable<Uint8Array>)) out.push(e);
  return out;
}

export interface Source {
  readonly name: string;
  readonly entries: readonly CaptureEntry[];
}

/** The report and the timeline of the sources, analysed together in order. */
export function analyse(sources: readonly Source[]): { report: AnalysisReport; timeline: CaptureTimeline } {
  const a = new CaptureAnalyzer();
  const t = new TimelineRecorder();
  for (const s of sources) {
    a.beginCapture(s.name);
    t.beginCapture(s.name);
    for (const e of s.entries) {
      a.entry(e);
      t.entry(e);
    }
    a.endCapture();
    t.endCapture();
  }
  return { report: a.finish(), timeline: t.finish() };
}
