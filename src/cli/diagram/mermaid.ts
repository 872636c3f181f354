/**
 * A Ladder as Mermaid sequenceDiagram text (paste into any Markdown renderer that
 * knows Mermaid). Participants keep the ladder's ids (P0, P1, ...) with their title
 * and address as alias; IKE messages are solid arrows, ESP runs open async arrows,
 * keepalive runs dotted ones, traffic not seen beyond a hop a crossed arrow.
 */
import { ARROW_STYLE, type ArrowStyle, type Ladder } from '../../analysis/ladder.ts';

const ARROW: Readonly<Record<ArrowStyle, string>> = {
  [ARROW_STYLE.IKE]: '->>',
  [ARROW_STYLE.ESP]: '-)',
  [ARROW_STYLE.KEEPALIVE]: '--)',
  [ARROW_STYLE.LOST]: '-x',
  [ARROW_STYLE.OTHER]: '->>',
};

/** Mermaid reads ";" as a statement end and "#" as an entity start; both become entity codes. */
function text(s: string): string {
  return s.replace(/#/g, '#35;').replace(/;/g, '#59;').replace(/\r?\n/g, '<br/>');
}

export function renderMermaid(l: Ladder): string {
  const out = ['sequenceDiagram', `    title ${text(l.title)}`];
  for (const p of l.participants) out.push(`    participant ${p.id} as ${text(p.title)}${p.subtitle ? `<br/>${text(p.subtitle)}` : ''}`);
  for (const r of l.rows) {
    if (r.kind === 'note') {
      out.push(`    Note over ${r.over.join(',')}: ${text(r.text)}`);
    } else {
      out.push(`    ${r.from}${ARROW[r.style]}${r.to}: ${text(r.label)}${r.detail ? `<br/>${text(r.detail)}` : ''}`);
    }
  }
  if (l.omittedRows > 0) {
    const first = l.participants[0]?.id;
    const last = l.participants[l.participants.length - 1]?.id;
    if (first && last) out.push(`    Note over ${first === last ? first : `${first},${last}`}: ${l.omittedRows} more rows not shown`);
  }
  return out.join('\n') + '\n';
}
