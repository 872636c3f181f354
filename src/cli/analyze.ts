/**
 * `natt-sim analyze <capture...> [--keys DIR|FILE] [--nat-timeout DURATION] [--json | --explain] [--diagram FILE]`
 *
 * Tracks IKE SAs and ESP SPIs through one or more captures (in the order given, e.g.
 * both sides of a NAT), recomputes NAT-D against the observed headers and prints the
 * report (text, or the JSON of docs/report-json.md), or with --explain the narrative of
 * what happened and why; --diagram writes a ladder diagram (analyze-views.ts). Exit 0
 * after a report; 2 for bad input, after printing what was read when a capture is cut.
 */
import type { Argv } from 'yargs';
import { registerCommand, type Io } from './main.ts';
import { runAnalysis } from './analysis-run.ts';
import { renderReport } from './render-report.ts';
import { analysisViews, checkViewOptions } from './analyze-views.ts';

export interface AnalyzeOptions {
  readonly captures: readonly string[];
  readonly keys?: string;
  readonly natTimeout?: string;
  readonly json: boolean;
  readonly progress?: boolean;
  readonly explain?: boolean;
  readonly diagram?: string;
}

export async function runAnalyze(o: AnalyzeOptions, io: Io): Promise<number> {
  checkViewOptions(o);
  const { report, error } = await runAnalysis(o);
  const views = await analysisViews(o, report);
  io.out(o.json ? `${JSON.stringify(report, null, 2)}\n` : views.narrative ?? renderReport(report));
  if (error) {
    io.err(`natt-sim: ${error}\n`);
    return 2;
  }
  return 0;
}

registerCommand((y: Argv, io: Io) =>
  y.command(
    'analyze <captures...>',
    'track IKE SAs and ESP across captures: NAT-D verdicts, float to 4500, markers, keepalives, ESP sequence, findings',
    (c) =>
      c
        .positional('captures', { type: 'string', array: true, demandOption: true, describe: 'pcap or pcapng files, analysed together in this order' })
        .option('keys', { type: 'string', describe: 'Wireshark UAT keys: a directory with ikev2_decryption_table and/or esp_sa, or one such file' })
        .option('nat-timeout', { type: 'string', default: '30s', describe: 'NAT mapping lifetime to check keepalive spacing and silences against' })
        .option('json', { type: 'boolean', default: false, describe: 'the JSON report (docs/report-json.md)' })
        .option('explain', { type: 'boolean', describe: 'a numbered narrative of what happened and why, instead of the report' })
        .option('diagram', { type: 'string', describe: 'write a ladder diagram: FILE.svg (SVG) or FILE.mmd (Mermaid)' }),
    async (a) => {
      (a as { __exitCode?: number }).__exitCode = await runAnalyze(
        {
          captures: a.captures as string[],
          ...(a.keys !== undefined ? { keys: a.keys as string } : {}),
          natTimeout: a['nat-timeout'] as string,
          json: a.json as boolean,
          progress: process.stderr.isTTY === true,
          explain: a.explain === true,
          ...(a.diagram !== undefined ? { diagram: a.diagram as string } : {}),
        },
        io,
      );
    },
  ),
);
