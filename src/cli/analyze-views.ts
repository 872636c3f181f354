/**
 * The coursework views of `analyze`: `--explain` (the numbered narrative instead of
 * the report) and `--diagram FILE` (a ladder diagram, .svg or .mmd). Both need the
 * capture timeline, read in a second pass over the files only when one is asked for.
 */
import type { AnalysisReport } from '../analysis/report.ts';
import { explainCaptures } from '../analysis/explain.ts';
import { captureLadder } from '../analysis/ladder.ts';
import { CliError } from './errors.ts';
import { readTimeline } from './capture-timeline.ts';
import { diagramFormat, writeDiagram } from './diagram/index.ts';
import { renderNarrative } from './explain.ts';

export interface AnalysisViewOptions {
  readonly captures: readonly string[];
  readonly json?: boolean;
  readonly explain?: boolean;
  readonly diagram?: string;
}

/** Fails early (one line, exit 2) on --explain with --json, or a --diagram name that is neither .svg nor .mmd. */
export function checkViewOptions(o: AnalysisViewOptions): void {
  if (o.explain && o.json) throw new CliError('--explain and --json exclude each other: the narrative is text; the JSON report has the same facts');
  if (o.diagram !== undefined) diagramFormat(o.diagram);
}

/** Writes the diagram when asked; returns the narrative text when --explain was given. */
export async function analysisViews(o: AnalysisViewOptions, report: AnalysisReport): Promise<{ narrative?: string }> {
  if (!o.explain && o.diagram === undefined) return {};
  const timeline = await readTimeline(o.captures);
  if (o.diagram !== undefined) writeDiagram(o.diagram, captureLadder(report, timeline));
  return o.explain ? { narrative: renderNarrative(explainCaptures(report, timeline)) } : {};
}
