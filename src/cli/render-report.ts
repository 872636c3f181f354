/** The text rendering of an analysis report (`natt-sim analyze` without --json). */
import type { AnalysisReport, CaptureReport, EspSaReport, Finding, IkeSaReport, NatdHashReport } from '../analysis/report.ts';

const short = (hex: string) => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);
const yesNo = (b: boolean | null, who: string) => (b === null ? `${who} unknown` : b ? `${who} behind NAT` : `${who} not behind NAT`);

function captureLine(c: CaptureReport): string {
  const kinds = `${c.counts.ike} IKE, ${c.counts.esp} ESP, ${c.counts.keepalives} keepalives${c.counts.ipFragments ? `, ${c.counts.ipFragments} IP fragments` : ''}${c.counts.malformed ? `, ${c.counts.malformed} malformed` : ''}`;
  const span = c.firstTime ? `${c.firstTime} +${c.durationS?.toFixed(3)} s` : 'no packets';
  const cut = c.truncated ? ` — TRUNCATED at byte ${c.truncated.offset}: ${c.truncated.reason}` : '';
  return `capture ${c.index}: ${c.file} (${c.format ?? '?'}, linktype ${c.linktypes.join('/') || '?'}) ${c.packets} frames [${kinds}], ${span}${cut}`;
}

function exchangesText(ex: Readonly<Record<string, number>>): string {
  const byName = new Map<string, { req: number; resp: number; other: string[] }>();
  const parts: string[] = [];
  for (const [k, n] of Object.entries(ex)) {
    const m = /^(.*) (request|response)$/.exec(k);
    if (!m) {
      parts.push(`${k} ${n}`);
      continue;
    }
    const e = byName.get(m[1]!) ?? { req: 0, resp: 0, other: [] };
    if (m[2] === 'request') e.req += n;
    else e.resp += n;
    byName.set(m[1]!, e);
  }
  const v2 = [...byName.entries()].map(([name, e]) => `${name} ${e.req}/${e.resp}`);
  return [...v2, ...parts].join(', ') + (v2.length ? '  (requests/responses)' : '');
}

function hashLine(h: NatdHashReport): string[] {
  const head = `frame ${h.frame}${h.capture ? ` (capture ${h.capture})` : ''} ${h.message}: ${h.sender} ${h.kind.toUpperCase()} ${short(h.hash)} → ${h.status}`;
  const detail = h.matches
    ? `= ${h.algorithm}(SPIs | ${h.expected.endpoint})`
    : `expected ${short(h.expected.hash)} = ${h.algorithm}(${h.expected.spiI} | ${h.expected.spiR} | ${h.expected.endpoint})${h.matchedEndpoint ? `; it covers ${h.matchedEndpoint}` : ''}`;
  return [`    ${head}  ${detail}`, ...(h.status === 'match' ? [] : [`      ${h.explanation}`])];
}

function saBlock(sa: IkeSaReport): string[] {
  const out: string[] = [];
  const nd = sa.natDetection;
  out.push(`IKE SA #${sa.index}  IKEv${sa.version}  ${sa.spiI} / ${sa.spiR}  (captures ${sa.captures.join(', ')}; ${sa.messages} messages)`);
  const eps = (e: IkeSaReport['initiatorEndpoints']) => `500: ${e.on500.join(', ') || '-'}; 4500: ${e.on4500.join(', ') || '-'}`;
  out.push(`  initiator   ${sa.initiator ?? '?'}   (${eps(sa.initiatorEndpoints)})`);
  out.push(`  responder   ${sa.responder ?? '?'}   (${eps(sa.responderEndpoints)})`);
  out.push(`  NAT         ${yesNo(nd.initiatorBehindNat, 'initiator')}; ${yesNo(nd.responderBehindNat, 'responder')}${nd.fake ? `; FAKE source hash from the ${nd.fakeSenders.join(' and ')}` : ''}${nd.hashAlgorithm ? ` (NAT-D ${nd.hashAlgorithm})` : ''}`);
  out.push(`    ${nd.explanation[0] ?? ''}`);
  for (const h of nd.hashes) out.push(...hashLine(h));
  if (nd.hashesOmitted) out.push(`    (${nd.hashesOmitted} more hashes not evaluated)`);
  const float = sa.startedOn4500
    ? `started on 4500 with ${sa.firstMessageOn4500 ?? '?'}`
    : sa.floatedTo4500
      ? `floated to 4500 at ${sa.firstMessageOn4500Detail ? `${sa.firstMessageOn4500Detail.exchange} ${sa.firstMessageOn4500Detail.response ? 'response' : 'request'} (frame ${sa.firstMessageOn4500Detail.frame})` : '?'}`
      : 'stayed on port 500';
  out.push(`  ports       ${float}; marker ok ${sa.marker.ok}, missing ${sa.marker.missing}, on 500 ${sa.marker.on500}`);
  out.push(`  exchanges   ${exchangesText(sa.exchanges)}`);
  out.push(`  retransmissions ${sa.retransmissions}${sa.unanswered.length ? `; unanswered: ${sa.unanswered.map((r) => `${r.message} #${r.messageId}`).join(', ')}` : ''}`);
  if (sa.ipFragmentedMessages || sa.ikeFragmentation.messages) {
    out.push(`  fragments   ${sa.ipFragmentedMessages} IP-fragmented message(s); RFC 7383: ${sa.ikeFragmentation.messages} message(s) in ${sa.ikeFragmentation.fragments} fragments, ${sa.ikeFragmentation.incomplete} incomplete`);
  }
  if (sa.keepalives.length === 0) out.push('  keepalives  none');
  for (const k of sa.keepalives) {
    out.push(`  keepalives  ${k.from ?? '?'} ${k.endpoint} → ${k.to}: ${k.count}${k.meanIntervalS !== null ? `, mean ${k.meanIntervalS.toFixed(3)} s, max ${k.maxIntervalS!.toFixed(3)} s` : ''}`);
  }
  if (sa.decryption) {
    const d = sa.decryption;
    out.push(`  decrypted   ${d.decrypted} message(s)${d.integrityFailed ? `, ${d.integrityFailed} with a bad ICV` : ''}${d.failed ? `, ${d.failed} failed` : ''}${d.noKey ? `, ${d.noKey} without a key` : ''}; IDs ${sa.ids.initiator ?? '?'} / ${sa.ids.responder ?? '?'}`);
    for (const m of sa.decryptedMessages) {
      out.push(`    frame ${m.frame} ${m.exchange} ${m.response ? 'response' : 'request'}${m.fragments ? ` (${m.fragments} SKF)` : ''}${m.integrity === 'failed' ? ' [ICV bad]' : ''}: ${m.payloads.join(' ')}`);
    }
    for (const c of sa.childSas) {
      out.push(`    CHILD SA ${c.protocol} ${c.initiatorSpi ?? '?'} (initiator's) / ${c.responderSpi ?? '?'} (responder's) ${c.proposal ?? ''} ${c.tsi.join(',')} === ${c.tsr.join(',')}`);
    }
  }
  return out;
}

function espTable(esp: readonly EspSaReport[]): string[] {
  if (esp.length === 0) return ['ESP: none'];
  const rows = esp.map((e) => [
    e.spi,
    String(e.capture),
    e.encapsulation,
    `${e.src} → ${e.dst}`,
    String(e.packets),
    `${e.firstSeq}-${e.lastSeq}`,
    String(e.gaps),
    String(e.replays),
    e.ikeSa === null ? '-' : `#${e.ikeSa} ${e.direction === 'initiator-to-responder' ? 'i→r' : e.direction === 'responder-to-initiator' ? 'r→i' : ''}`,
    e.decrypted ? `${e.decrypted.ok} ok${e.decrypted.icvFailed ? `, ${e.decrypted.icvFailed} ICV bad` : ''}: ${Object.entries(e.decrypted.inner).map(([k, n]) => `${k} ×${n}`).join('; ')}` : '',
  ]);
  const head = ['SPI', 'cap', 'encap', 'src → dst', 'packets', 'seq', 'gaps', 'replays', 'IKE SA', 'decrypted'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => '  ' + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return ['ESP', fmt(head), ...rows.map(fmt)];
}

function findingLine(f: Finding): string {
  const frames = f.frames.length ? ` (${f.capture !== null && f.capture > 0 ? `capture ${f.capture} ` : ''}frames ${f.frames.join(', ')})` : '';
  return `  ${f.severity.padEnd(7)} ${f.code}: ${f.message}${frames}`;
}

export function renderReport(r: AnalysisReport): string {
  const s = r.summary;
  const out: string[] = [
    `natt-sim analyze: ${r.captures.length} capture(s), ${s.ikeSas} IKE SA(s), ${s.espSas} ESP SA(s); ${s.errors} error(s), ${s.warnings} warning(s), ${s.infos} note(s); NAT timeout ${r.options.natTimeoutS} s${r.options.keys ? `; keys: ${r.options.keys.ikeSas} IKE, ${r.options.keys.espSas} ESP` : ''}`,
    ...r.captures.map(captureLine),
    '',
  ];
  for (const sa of r.ikeSas) out.push(...saBlock(sa), '');
  out.push(...espTable(r.espSas), '');
  if (r.unattachedKeepalives.length) {
    out.push('Keepalives outside any IKE SA');
    for (const k of r.unattachedKeepalives) out.push(`  ${k.endpoint} → ${k.to}: ${k.count}${k.maxIntervalS !== null ? `, max ${k.maxIntervalS.toFixed(3)} s` : ''}`);
    out.push('');
  }
  out.push(r.findings.length ? 'Findings' : 'Findings: none');
  for (const f of r.findings) out.push(findingLine(f));
  return out.join('\n') + '\n';
}
