/**
 * The text form of an explain narrative (analysis/explain.ts): a title, the intro
 * lines, then numbered steps "N. [time] actor: text" with their detail lines
 * indented under them. Shared by `analyze --explain` and `simulate --explain`.
 */
import type { Narrative } from '../analysis/explain.ts';

export function renderNarrative(n: Narrative): string {
  const out: string[] = [n.title, ...n.intro, ''];
  const width = String(n.steps.length).length;
  n.steps.forEach((s, i) => {
    const num = `${String(i + 1).padStart(width)}.`;
    const time = s.time === null ? '' : `[${(s.time / 1e6).toFixed(3)} s] `;
    out.push(`${num} ${time}${s.actor}: ${s.text}`);
    const pad = ' '.repeat(width + 2);
    for (const d of s.detail) out.push(`${pad}  ${d}`);
  });
  return out.join('\n') + '\n';
}
