/**
 * `--diagram FILE`: the ladder as SVG (FILE.svg) or Mermaid text (FILE.mmd), chosen
 * by the extension. A bad extension or an unwritable path is one line and exit 2.
 */
import { writeFileSync } from 'node:fs';
import type { Ladder } from '../../analysis/ladder.ts';
import { CliError } from '../errors.ts';
import { renderMermaid } from './mermaid.ts';
import { renderSvg } from './svg.ts';

export const DIAGRAM_FORMAT = { SVG: 'svg', MERMAID: 'mermaid' } as const;
export type DiagramFormat = (typeof DIAGRAM_FORMAT)[keyof typeof DIAGRAM_FORMAT];

/** The format for a file name; a CliError for anything but .svg and .mmd. */
export function diagramFormat(file: string): DiagramFormat {
  const lower = file.toLowerCase();
  if (lower.endsWith('.svg')) return DIAGRAM_FORMAT.SVG;
  if (lower.endsWith('.mmd')) return DIAGRAM_FORMAT.MERMAID;
  throw new CliError(`--diagram: "${file}": give a file name ending in .svg (SVG) or .mmd (Mermaid)`);
}

export function renderDiagram(l: Ladder, format: DiagramFormat): string {
  return format === DIAGRAM_FORMAT.SVG ? renderSvg(l) : renderMermaid(l);
}

export function writeDiagram(file: string, l: Ladder): void {
  const text = renderDiagram(l, diagramFormat(file));
  try {
    writeFileSync(file, text);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`--diagram: ${file}: cannot write: ${code ?? (e as Error).message}`);
  }
}
