/**
 * A Ladder as a self-contained SVG document: no scripts, no external fonts, styles
 * or images; system font families only, so it opens the same in a browser, an
 * editor or a slide. Layout is computed from estimated text widths: columns are
 * spaced so the widest label between two neighbours fits.
 */
import { ARROW_STYLE, PARTICIPANT_KIND, type ArrowStyle, type Ladder, type LadderArrow, type LadderNote, type ParticipantKind } from '../../analysis/ladder.ts';

const FONT = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
/** Average advance of a character at 12 px in the fonts above (a little generous). */
const CHAR_W = 7.2;
const TIME_W = 78;
const HEADER_TOP = 44;
const BOX_H = 42;
const ARROW_ROW = 50;
const NOTE_ROW = 34;
const MIN_SPACING = 230;
const MAX_SPACING = 560;
const MIN_WIDTH = 640;

const BOX_FILL: Readonly<Record<ParticipantKind, string>> = {
  [PARTICIPANT_KIND.PEER]: '#e3ecfa',
  [PARTICIPANT_KIND.NAT]: '#fde2e2',
  [PARTICIPANT_KIND.HOST]: '#eeeeee',
  [PARTICIPANT_KIND.TAP]: '#e6f4ea',
};

interface Stroke {
  readonly color: string;
  readonly width: number;
  readonly dash: string | null;
  readonly marker: string;
}

const STROKE: Readonly<Record<ArrowStyle, Stroke>> = {
  [ARROW_STYLE.IKE]: { color: '#1f3a93', width: 1.6, dash: null, marker: 'head-ike' },
  [ARROW_STYLE.ESP]: { color: '#1a7f37', width: 3, dash: null, marker: 'head-esp' },
  [ARROW_STYLE.KEEPALIVE]: { color: '#b35900', width: 2, dash: '5 4', marker: 'head-keepalive' },
  [ARROW_STYLE.LOST]: { color: '#c62828', width: 2, dash: '7 4', marker: 'head-lost' },
  [ARROW_STYLE.OTHER]: { color: '#444444', width: 1.4, dash: null, marker: 'head-other' },
};

export function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const textWidth = (s: string, size = 12) => [...s].length * CHAR_W * (size / 12);
const n1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** "0.007 s" */
function timeText(at: number | null): string {
  return at === null ? '' : `${(at / 1e6).toFixed(3)} s`;
}

export function renderSvg(l: Ladder): string {
  const cols = l.participants;
  const colIndex = new Map(cols.map((p, i) => [p.id, i]));
  const boxW = Math.max(130, ...cols.map((p) => Math.max(textWidth(p.title, 13), textWidth(p.subtitle)) + 24));
  // Spacing: the widest label per column gap it has to span.
  let spacing = MIN_SPACING;
  for (const r of l.rows) {
    if (r.kind !== 'arrow') continue;
    const gap = Math.abs((colIndex.get(r.to) ?? 0) - (colIndex.get(r.from) ?? 0)) || 1;
    spacing = Math.max(spacing, (Math.max(textWidth(r.label), textWidth(r.detail, 11)) + 40) / gap);
  }
  spacing = Math.min(spacing, MAX_SPACING);
  const left = TIME_W + 16 + boxW / 2;
  const x = (id: string) => left + (colIndex.get(id) ?? 0) * spacing;
  const titleW = TIME_W + 16 + textWidth(l.title, 15) + 24;
  const width = Math.ceil(Math.max(MIN_WIDTH, titleW, TIME_W + 16 + LEGEND_W + 24, left + Math.max(0, cols.length - 1) * spacing + boxW / 2 + 24));

  const body: string[] = [];
  let y = HEADER_TOP + BOX_H + 22;
  for (const r of l.rows) {
    if (r.kind === 'arrow') {
      body.push(arrowSvg(r, x(r.from), x(r.to), y));
      y += ARROW_ROW;
    } else {
      body.push(noteSvg(r, r.over.map(x), y));
      y += NOTE_ROW;
    }
  }
  if (l.omittedRows > 0) {
    body.push(`<text x="${n1(width / 2)}" y="${n1(y + 16)}" text-anchor="middle" font-size="12" fill="#555555">${xml(`${l.omittedRows} more rows not shown`)}</text>`);
    y += 28;
  }
  const lifelineEnd = y + 6;
  const legendY = lifelineEnd + 26;
  const height = Math.ceil(legendY + 24);

  const head: string[] = [];
  head.push(`<text x="${n1(TIME_W + 16)}" y="28" font-size="15" font-weight="bold" fill="#111111">${xml(l.title)}</text>`);
  head.push(`<text x="${n1(TIME_W)}" y="${HEADER_TOP + BOX_H + 10}" text-anchor="end" font-size="11" fill="#666666">time</text>`);
  for (const p of cols) {
    const cx = x(p.id);
    head.push(`<line class="lifeline" x1="${n1(cx)}" y1="${HEADER_TOP + BOX_H}" x2="${n1(cx)}" y2="${n1(lifelineEnd)}" stroke="#9aa0a6" stroke-width="1" stroke-dasharray="3 4"/>`);
    head.push(`<rect class="participant" x="${n1(cx - boxW / 2)}" y="${HEADER_TOP}" width="${n1(boxW)}" height="${BOX_H}" rx="6" fill="${BOX_FILL[p.kind]}" stroke="#5f6368" stroke-width="1"/>`);
    head.push(`<text x="${n1(cx)}" y="${HEADER_TOP + 18}" text-anchor="middle" font-size="13" font-weight="bold" fill="#111111">${xml(p.title)}</text>`);
    if (p.subtitle) head.push(`<text x="${n1(cx)}" y="${HEADER_TOP + 34}" text-anchor="middle" font-size="12" fill="#333333">${xml(p.subtitle)}</text>`);
  }

  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<title>${xml(l.title)}</title>`,
    `<defs>`,
    ...Object.values(STROKE).map(
      (s) => `<marker id="${s.marker}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${s.color}"/></marker>`,
    ),
    `</defs>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...head,
    ...body,
    legend(legendY, TIME_W + 16),
    `</svg>`,
    '',
  ].join('\n');
}

function arrowSvg(r: LadderArrow, x1: number, x2: number, y: number): string {
  const s = STROKE[r.style];
  const lineY = y + 20;
  const dir = x2 >= x1 ? 1 : -1;
  const self = x1 === x2;
  const end = self ? x1 + 60 : x2 - dir * 4;
  const mid = self ? x1 + 30 : (x1 + x2) / 2;
  const parts = [`<g class="arrow ${r.style}">`];
  if (r.at !== null) parts.push(`<text x="${n1(TIME_W)}" y="${n1(lineY + 4)}" text-anchor="end" font-size="11" fill="#666666">${xml(timeText(r.at))}</text>`);
  parts.push(`<text x="${n1(mid)}" y="${n1(y + 13)}" text-anchor="middle" font-size="12" fill="#111111">${xml(r.label)}</text>`);
  const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
  const marker = r.style === ARROW_STYLE.LOST ? '' : ` marker-end="url(#${s.marker})"`;
  parts.push(`<line x1="${n1(x1)}" y1="${n1(lineY)}" x2="${n1(end)}" y2="${n1(lineY)}" stroke="${s.color}" stroke-width="${s.width}"${dash}${marker}/>`);
  if (r.style === ARROW_STYLE.LOST) {
    const cx = end;
    parts.push(`<path d="M${n1(cx - 6)},${n1(lineY - 6)} L${n1(cx + 6)},${n1(lineY + 6)} M${n1(cx - 6)},${n1(lineY + 6)} L${n1(cx + 6)},${n1(lineY - 6)}" stroke="${s.color}" stroke-width="2.5"/>`);
  }
  if (r.detail) parts.push(`<text x="${n1(mid)}" y="${n1(y + 37)}" text-anchor="middle" font-size="11" fill="#444444">${xml(r.detail)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

function noteSvg(r: LadderNote, xs: readonly number[], y: number): string {
  const w = textWidth(r.text) + 24;
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const span = hi - lo;
  const width = Math.max(w, span + 80);
  const cx = (lo + hi) / 2;
  const parts = [`<g class="note">`];
  if (r.at !== null) parts.push(`<text x="${n1(TIME_W)}" y="${n1(y + 20)}" text-anchor="end" font-size="11" fill="#666666">${xml(timeText(r.at))}</text>`);
  parts.push(`<rect x="${n1(cx - width / 2)}" y="${n1(y + 4)}" width="${n1(width)}" height="24" rx="3" fill="#fff8c4" stroke="#c9a400" stroke-width="1"/>`);
  parts.push(`<text x="${n1(cx)}" y="${n1(y + 20)}" text-anchor="middle" font-size="12" fill="#3d3000">${xml(r.text)}</text>`);
  parts.push('</g>');
  return parts.join('');
}

const LEGEND: readonly (readonly [ArrowStyle, string])[] = [
  [ARROW_STYLE.IKE, 'IKE message'],
  [ARROW_STYLE.ESP, 'ESP packets'],
  [ARROW_STYLE.KEEPALIVE, 'NAT-keepalives'],
  [ARROW_STYLE.LOST, 'not seen beyond'],
];
const LEGEND_W = LEGEND.reduce((w, [, label]) => w + 40 + textWidth(label, 11) + 24, 0);

function legend(y: number, x0: number): string {
  const out = [`<g class="legend">`];
  let x = x0;
  for (const [style, label] of LEGEND) {
    const s = STROKE[style];
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<line x1="${n1(x)}" y1="${n1(y - 4)}" x2="${n1(x + 34)}" y2="${n1(y - 4)}" stroke="${s.color}" stroke-width="${s.width}"${dash}/>`);
    out.push(`<text x="${n1(x + 40)}" y="${n1(y)}" font-size="11" fill="#444444">${xml(label)}</text>`);
    x += 40 + textWidth(label, 11) + 24;
  }
  out.push('</g>');
  return out.join('');
}
