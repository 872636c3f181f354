/** The text summary `natt-sim replay` prints (the JSON report holds everything). */
import type { DirectionReport, ReplayReport } from '../sim/replay-report.ts';

const MAX_DROPS_SHOWN = 8;

function dir(d: DirectionReport): string {
  const extra = [d.dropped ? `${d.dropped} dropped` : '', d.lost ? `${d.lost} lost` : ''].filter(Boolean).join(', ');
  return `${d.delivered}/${d.injected}${extra ? ` (${extra})` : ''}`;
}

function wrap(text: string, indent: string, width = 100): string {
  // A unit stays with its number: "20 s" never breaks across lines.
  const words: string[] = [];
  for (const w of text.split(' ')) {
    if (words.length > 0 && /^(s|ms|µs)[,;:)]?$/.test(w)) words[words.length - 1] += ` ${w}`;
    else words.push(w);
  }
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}

export function renderReplay(r: ReplayReport, outDir: string, files: readonly string[]): string {
  const out: string[] = [];
  const p = r.packets;
  const skipped = Object.entries(p.skipped).map(([k, v]) => `${k} ${v}`).join(', ');
  out.push(`natt-sim replay: ${r.capture} through scenario ${r.scenario.name} (${r.scenario.file})`);
  out.push(`  ${p.frames} frames, ${p.replayed} replayed: ${p.delivered} delivered, ${p.dropped} dropped, ${p.lost} lost${skipped ? `; skipped: ${skipped}` : ''}`);
  for (const m of r.mapping) out.push(`  ${m.captured} played by ${m.host} (${m.address}, ${m.side}, rule ${m.rule})`);
  out.push('flows (a→b, b→a delivered/injected):');
  for (const f of r.flows) {
    out.push(`  ${f.verdict === 'ok' ? 'ok    ' : f.verdict.toUpperCase().padEnd(6)}  ${f.id}  a→b ${dir(f.aToB)}  b→a ${dir(f.bToA)}`);
    out.push(wrap(f.explanation, '          '));
    for (const d of f.drops.slice(0, MAX_DROPS_SHOWN)) {
      out.push(`          ${d.atS} s frame ${d.frame} ${d.direction} ${d.what} → ${d.sentTo}: ${d.where} ${d.natReason ?? d.reason}`);
    }
    if (f.drops.length > MAX_DROPS_SHOWN) out.push(`          ... ${f.drops.length - MAX_DROPS_SHOWN} more drops in report.json`);
  }
  const harmful = r.mappingExpiries.filter((x) => !x.harmless).length;
  if (r.mappingExpiries.length > 0) out.push(`mapping expiries: ${r.mappingExpiries.length} (${harmful} with packets after them)`);
  const a = r.analysis.report;
  const sas = a.ikeSas.map((s) => {
    const yn = (v: boolean | null) => (v === null ? '?' : v ? 'yes' : 'no');
    return `IKE SA ${s.spiI}: initiator behind NAT ${yn(s.natDetection.initiatorBehindNat)}, responder behind NAT ${yn(s.natDetection.responderBehindNat)}`;
  });
  out.push(
    `analysis of ${r.analysis.taps.join(', ') || '(no tap)'} (NAT timeout ${r.analysis.natTimeoutS} s): ${[...sas, `${a.espSas.length} ESP SA(s)`, `${a.summary.errors} error(s), ${a.summary.warnings} warning(s)`].join('; ')}`,
  );
  out.push(`verdict: ${r.summary}`);
  out.push(`written to ${outDir}: ${files.join(', ')}`);
  return `${out.join('\n')}\n`;
}
