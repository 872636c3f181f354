/**
 * The explain narrative: what happened in a capture (or a simulated run) and why,
 * as a list of steps {time, actor, text, detail}. Built from the analysis report
 * (verdicts, NAT-D hashes with their inputs, float, keepalives, ESP, findings) and the
 * capture timeline (the order of events). Rendering is the CLI's business
 * (cli/explain.ts); a simulation adds its own steps (NAT translations, timers) with
 * `mergeSteps`, so both kinds read as one story.
 */
import type { Micros } from '../core/time.ts';
import { worksheetFromInput, NATD_ALGORITHM_TEXT } from './natd-worksheet.ts';
import type { AnalysisReport, EspSaReport, IkeSaReport, KeepaliveReport, NatdHashReport, Role } from './report.ts';
import { logicalIkeMessages, timelineOrigin, type CaptureTimeline, type EspFlow, type IkeObservation, type KeepaliveFlow, type LogicalIkeMessage } from './timeline.ts';
import { baseName, hopOf, hostOf, otherRole, portOf, ROLES, SaIndex, saVantage, senderOf, type SaVantage } from './vantage.ts';

export interface NarrativeStep {
  /** Microseconds from the start of the run or capture; null for steps not tied to a moment (they go last). */
  readonly time: Micros | null;
  /** "initiator", "responder", "NAT", "both peers", "analysis", or a node name in a simulation. */
  readonly actor: string;
  /** One or two plain sentences. */
  readonly text: string;
  /** Supporting lines: inputs, computations, the rule that applies. */
  readonly detail: readonly string[];
}

export interface Narrative {
  readonly title: string;
  /** Lines before the steps: what was read, what the SAs are. */
  readonly intro: readonly string[];
  readonly steps: readonly NarrativeStep[];
}

/** Merges step lists by time (stable: equal times keep list order, earlier lists first); untimed steps go last. */
export function mergeSteps(...lists: readonly (readonly NarrativeStep[])[]): NarrativeStep[] {
  const all = lists.flatMap((l, li) => l.map((s, i) => ({ s, li, i })));
  const t = (s: NarrativeStep) => (s.time === null ? Number.POSITIVE_INFINITY : s.time);
  return all.sort((a, b) => t(a.s) - t(b.s) || a.li - b.li || a.i - b.i).map((x) => x.s);
}

export interface ExplainOptions {
  readonly title?: string;
  /** Time zero (default: the earliest frame of any capture). */
  readonly origin?: Micros;
  /** Steps from another source (a simulation's event log), merged by time. */
  readonly extraSteps?: readonly NarrativeStep[];
  /**
   * Tell the NAT translations a message shows between captures on both sides of a NAT
   * (default true). A simulation tells its NAT devices' own records instead.
   */
  readonly inferTranslations?: boolean;
  /** Lines added to the intro (what was run, the topology). */
  readonly intro?: readonly string[];
  /** The intro's last line, what times count from (default: the first frame). */
  readonly timeNote?: string;
  /** Where the NAT timeout the keepalives are checked against comes from (default: "--nat-timeout"). */
  readonly natTimeoutNote?: string;
}

const secs = (us: Micros) => `${(us / 1e6).toFixed(3)} s`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** What each IKEv2 message is for, in one sentence. */
const PURPOSE: Readonly<Record<string, string>> = {
  'IKE_SA_INIT request': 'In clear: the initiator proposes algorithms (SA) and sends its Diffie-Hellman value (KE) and nonce.',
  'IKE_SA_INIT response': 'In clear: the responder picks a proposal and sends its own KE and nonce; both sides now derive the keys.',
  'IKE_AUTH request': 'Encrypted (SK): the initiator proves its identity (IDi, AUTH) and proposes the first CHILD SA (SA, TSi, TSr).',
  'IKE_AUTH response': 'Encrypted: the responder proves its identity and accepts the CHILD SA; ESP can flow from now on.',
  'CREATE_CHILD_SA request': 'Encrypted: a request for a new CHILD SA, or to rekey a CHILD SA or the IKE SA.',
  'CREATE_CHILD_SA response': 'Encrypted: the answer to a CREATE_CHILD_SA request.',
  'INFORMATIONAL request': 'Encrypted: a notification, a delete (D), or an empty liveness check (DPD).',
  'INFORMATIONAL response': 'Encrypted: the acknowledgement of an INFORMATIONAL request.',
};

function carrierName(h: NatdHashReport): string {
  const m = /^N\((.*)\)$/.exec(h.carrier);
  return m ? m[1]! : h.carrier;
}

function messageLabel(m: Pick<LogicalIkeMessage, 'version' | 'exchange' | 'response'>): string {
  return m.version === 2 ? `${m.exchange} ${m.response ? 'response' : 'request'}` : m.exchange;
}

interface Group {
  readonly at: Micros | null;
  readonly seq: number;
  readonly steps: readonly NarrativeStep[];
}

/** Builds the narrative of the captures behind a report. */
export function explainCaptures(report: AnalysisReport, timeline: CaptureTimeline, opts: ExplainOptions = {}): Narrative {
  const origin = opts.origin ?? timelineOrigin(timeline);
  const rel = (at: Micros) => at - origin;
  const multi = timeline.captures.length > 1;
  const capName = (c: number) => baseName(timeline.captures[c]?.name ?? report.captures[c]?.file ?? `capture ${c}`);
  const where = (o: Pick<IkeObservation, 'capture' | 'frame'>) => (multi ? `${capName(o.capture)} frame ${o.frame}` : `frame ${o.frame}`);
  const manySas = report.ikeSas.length > 1;
  const who = (sa: IkeSaReport, r: Role | string) => (manySas ? `${r} [SA #${sa.index}]` : r);
  const groups: Group[] = [];
  const add = (at: Micros | null, steps: NarrativeStep[]) => {
    if (steps.length) groups.push({ at, seq: groups.length, steps });
  };
  const index = new SaIndex(report.ikeSas);
  const vantages = new Map<number, SaVantage>(report.ikeSas.map((sa) => [sa.index, saVantage(sa, timeline)]));
  const messages = logicalIkeMessages(timeline);
  const mappingsTold = new Set<string>();

  // Which message of each SA carries its last NAT-D hash (the verdict follows it).
  const lastHashMessage = new Map<number, number>();
  messages.forEach((m, i) => {
    const sa = index.find(m);
    if (sa && sa.natDetection.hashes.some((h) => m.seen.some((o) => o.capture === h.capture && o.frame === h.frame))) lastHashMessage.set(sa.index, i);
  });

  messages.forEach((m, i) => {
    const sa = index.find(m);
    if (!sa) return;
    const v = vantages.get(sa.index)!;
    const sender = senderOf(m.seen[0]!, sa);
    const receiver = otherRole(sender);
    const label = messageLabel(m);
    const at = rel(m.at);
    const steps: NarrativeStep[] = [];
    const path = m.seen.map((o) => `${o.src} → ${o.dst} (${where(o)})`).join(', ');
    const detail: string[] = [];
    const purpose = m.version === 2 ? PURPOSE[label] : undefined;
    if (purpose) detail.push(purpose);
    const first = m.seen[0]!;
    if (first.payloads.length && !(first.payloads.length === 1 && (first.payloads[0] === 'SK' || first.payloads[0] === 'encrypted'))) {
      detail.push(`Payloads: ${first.payloads.join(' ')}.`);
    }
    const dec = sa.decryptedMessages.find((d) => m.seen.some((o) => o.capture === d.capture && o.frame === d.frame));
    if (dec) detail.push(`Decrypted: ${dec.payloads.length ? dec.payloads.join(' ') : 'no payloads'}${dec.integrity === 'failed' ? ' (the ICV did not verify)' : ''}.`);
    if (m.version === 2 && label === 'IKE_SA_INIT request' && /^0+$/.test(m.spiR)) detail.push('SPIr is all zero: the responder has not chosen its SPI yet; both NAT-D hashes of this message are computed with SPIr = 0.');
    if (first.nonEspMarker) detail.push('Sent on the NAT-T port pair, after the 4-byte non-ESP marker (RFC 3948 §2.2).');
    steps.push({ time: at, actor: who(sa, sender), text: `${label}, ${sender} → ${receiver}: ${path}.`, detail });

    // The NAT(s) this message crossed, told once per mapping.
    if (opts.inferTranslations !== false) {
      for (const step of translationSteps(v, sender, m.seen, mappingsTold, capName)) steps.push({ ...step, time: at, actor: who(sa, step.actor) });
    }

    // The float.
    const f = sa.firstMessageOn4500Detail;
    if (f && m.seen.some((o) => o.capture === f.capture && o.frame === f.frame)) steps.push({ time: at, actor: who(sa, sender), ...floatStep(sa, v, m, sender, timeline, capName, multi) });

    // NAT-D hashes carried by this message, one step per hash value.
    const hashes = sa.natDetection.hashes.filter((h) => m.seen.some((o) => o.capture === h.capture && o.frame === h.frame));
    const byValue = new Map<string, NatdHashReport[]>();
    for (const h of hashes) byValue.set(`${h.kind}|${h.hash}`, [...(byValue.get(`${h.kind}|${h.hash}`) ?? []), h]);
    for (const group of byValue.values()) steps.push({ time: at, actor: who(sa, sender), ...hashStep(group, sa.version, multi, capName) });

    if (lastHashMessage.get(sa.index) === i) steps.push({ time: at, actor: who(sa, 'both peers'), ...verdictStep(sa) });
    add(at, steps);
  });

  // ESP, one step per SPI.
  const bySpi = new Map<string, EspFlow[]>();
  for (const f of timeline.esp) bySpi.set(f.spi, [...(bySpi.get(f.spi) ?? []), f]);
  for (const [spi, flows] of bySpi) {
    const at = rel(Math.min(...flows.map((f) => f.firstAt)));
    const owner = report.espSas.find((e) => e.spi === spi && e.ikeSa !== null);
    const sa = owner?.ikeSa != null ? report.ikeSas[owner.ikeSa] : undefined;
    add(at, [espStep(spi, flows, owner, sa, rel, capName, multi, who)]);
  }

  // NAT-keepalives, one step per sending side.
  for (const sa of report.ikeSas) {
    for (const r of ROLES) {
      const reps = sa.keepalives.filter((k) => k.from === r);
      if (!reps.length) continue;
      const flows = timeline.keepalives.filter((k) => reps.some((s) => s.capture === k.capture && s.endpoint === k.src && s.to === k.dst));
      if (!flows.length) continue;
      const at = rel(Math.min(...flows.map((f) => f.firstAt)));
      add(at, [{ time: at, actor: who(sa, r), ...keepaliveStep(sa, r, reps, flows, timeline, report.options.natTimeoutS, opts.natTimeoutNote ?? '--nat-timeout', rel, capName, multi) }]);
    }
  }
  for (const k of report.unattachedKeepalives) {
    const f = timeline.keepalives.find((x) => x.capture === k.capture && x.src === k.endpoint && x.dst === k.to);
    const at = f ? rel(f.firstAt) : null;
    add(at, [{ time: at, actor: hostOf(k.endpoint), text: `${plural(k.count, 'NAT-keepalive')} ${k.endpoint} → ${k.to}${multi ? ` in ${capName(k.capture)}` : ''}, outside any IKE SA seen.`, detail: [] }]);
  }

  // Findings last.
  const s = report.summary;
  if (report.findings.length) {
    add(null, [
      {
        time: null,
        actor: 'analysis',
        text: `Findings: ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${plural(s.infos, 'note')}.`,
        detail: report.findings.map((f) => `${f.severity} ${f.code}: ${f.message}`),
      },
    ]);
  }

  const ordered = [...groups].sort((a, b) => (a.at ?? Number.POSITIVE_INFINITY) - (b.at ?? Number.POSITIVE_INFINITY) || a.seq - b.seq).flatMap((g) => g.steps);
  const intro = [
    ...report.captures.map(
      (c) =>
        `capture ${c.index}: ${baseName(c.file)}: ${plural(c.packets, 'frame')} (${c.counts.ike} IKE, ${c.counts.esp} ESP, ${plural(c.counts.keepalives, 'NAT-keepalive')})${c.durationS !== null ? ` over ${c.durationS.toFixed(3)} s` : ''}`,
    ),
    ...report.ikeSas.map(
      (sa) => `IKE SA #${sa.index}: IKEv${sa.version}, SPIi ${sa.spiI}, SPIr ${sa.spiR}; initiator ${sa.initiator ?? '?'}, responder ${sa.responder ?? '?'}`,
    ),
    ...(opts.intro ?? []),
    opts.timeNote ?? `Times are seconds from the first frame${multi ? ' of any capture' : ''}.`,
  ];
  const title = opts.title ?? `What happened in ${report.captures.map((c) => baseName(c.file)).join(' + ')}`;
  return { title, intro, steps: opts.extraSteps ? mergeSteps(ordered, opts.extraSteps) : ordered };
}

/** NAT translations a message shows between captures on the two sides of a NAT. */
function translationSteps(
  v: SaVantage,
  sender: Role,
  seen: readonly IkeObservation[],
  told: Set<string>,
  capName: (c: number) => string,
): Omit<NarrativeStep, 'time'>[] {
  const out: Omit<NarrativeStep, 'time'>[] = [];
  const byHop = new Map<number, IkeObservation>();
  for (const o of seen) {
    const { hop } = hopOf(v, sender, o.capture);
    if (!byHop.has(hop)) byHop.set(hop, o);
  }
  const receiver = otherRole(sender);
  const crossings: { side: Role; before: IkeObservation; after: IkeObservation }[] = [];
  const { hops } = hopOf(v, sender, seen[0]!.capture);
  if (v.natVisible[sender] && byHop.has(0) && byHop.has(1)) crossings.push({ side: sender, before: byHop.get(0)!, after: byHop.get(1)! });
  if (v.natVisible[receiver] && byHop.has(hops - 2) && byHop.has(hops - 1)) crossings.push({ side: receiver, before: byHop.get(hops - 2)!, after: byHop.get(hops - 1)! });
  for (const c of crossings) {
    const outbound = c.side === sender;
    const from = outbound ? c.before.src : c.before.dst;
    const to = outbound ? c.after.src : c.after.dst;
    if (from === to) continue;
    const key = [from, to].sort().join('|');
    if (told.has(key)) continue;
    told.add(key);
    const portNote =
      portOf(from) !== portOf(to)
        ? `The port changed too (${portOf(from)} → ${portOf(to)}): a NAT that shares one public address among many hosts (PAT, NAPT) must pick a free port for each flow.`
        : 'The port was kept; only the address changed.';
    out.push({
      actor: 'NAT',
      text: outbound
        ? `The NAT in front of the ${c.side} rewrote the source ${from} to ${to} (seen in ${capName(c.before.capture)}, then ${capName(c.after.capture)}).`
        : `The NAT in front of the ${c.side} rewrote the destination ${from} back to ${to} (seen in ${capName(c.before.capture)}, then ${capName(c.after.capture)}).`,
      detail: [
        outbound
          ? `From now on the NAT holds the mapping ${to} ↔ ${from}; replies to ${to} are sent on to ${from} while the mapping lasts.`
          : `This uses the mapping ${from} ↔ ${to} the NAT created for the ${c.side}'s outgoing packets.`,
        portNote,
      ],
    });
  }
  return out;
}

function hashStep(group: readonly NatdHashReport[], version: 1 | 2, multi: boolean, capName: (c: number) => string): Omit<NarrativeStep, 'time' | 'actor'> {
  const h0 = group[0]!;
  const alg = NATD_ALGORITHM_TEXT[h0.algorithm];
  const fields = version === 2 ? 'SPIi | SPIr | IP | port' : 'CKY-I | CKY-R | IP | port';
  const text =
    h0.kind === 'source'
      ? `${carrierName(h0)} = ${h0.hash}: the ${h0.sender}'s ${alg} over ${fields} of the address:port it sends from.`
      : `${carrierName(h0)} = ${h0.hash}: the ${h0.sender}'s ${alg} over ${fields} of the address:port it sends to.`;
  const detail: string[] = [];
  for (const h of group) {
    const w = worksheetFromInput(version, h.algorithm, h.expected.input);
    const side = h.kind === 'source' ? 'source' : 'destination';
    const verdict = h.matches ? 'a match' : `no match (${h.status})`;
    detail.push(`${multi ? `In ${capName(h.capture)}, c` : 'C'}ompared with the packet's ${side} ${h.expected.endpoint}: ${alg}(${w.fields.map((f) => f.hex).join(' | ')}) = ${h.expected.hash}, ${verdict}.`);
    detail.push(h.explanation);
    detail.push(`Check by hand: ${w.command}`);
    if (!h.matches && h.matchedEndpoint && h.matchedEndpoint !== h.expected.endpoint) {
      detail.push(`The carried hash is the one over ${h.matchedEndpoint}.`);
    }
  }
  return { text, detail: [...new Set(detail)] };
}

function verdictStep(sa: IkeSaReport): Omit<NarrativeStep, 'time' | 'actor'> {
  const nd = sa.natDetection;
  const i = nd.initiatorBehindNat === true;
  const r = nd.responderBehindNat === true;
  const detail: string[] = [];
  const peerView = (behind: Role) => {
    const peer = otherRole(behind);
    detail.push(
      `The ${peer} compares the ${behind}'s SOURCE hash with the source address:port the packet arrived from; they differ, so the ${behind} is behind NAT (strongSwan logs "remote host is behind NAT").`,
    );
    detail.push(
      `The ${behind} compares the ${peer}'s DESTINATION hash with the address:port the packet arrived at, its own; they differ because its NAT rewrote that address, so it knows it is behind NAT itself (strongSwan: "local host is behind NAT, sending keep alives").`,
    );
  };
  let text: string;
  if (nd.initiatorBehindNat === null) {
    text = 'No NAT-D hashes: NAT traversal was not negotiated in the captured messages.';
  } else if (i || r) {
    text = i && r ? 'NAT detection result: both peers are behind NAT.' : `NAT detection result: the ${i ? 'initiator' : 'responder'} is behind NAT, the ${i ? 'responder' : 'initiator'} is not.`;
    if (i) peerView('initiator');
    if (r) peerView('responder');
    const senders = i && r ? 'both peers send' : `the ${i ? 'initiator' : 'responder'}, being behind the NAT, sends`;
    detail.push(`What follows (RFC 7296 §2.23, RFC 3948): IKE moves to UDP port 4500, ESP travels inside UDP on the same ports, and ${senders} NAT-keepalives.`);
  } else {
    text = 'NAT detection result: no NAT between the peers; every hash matches the address it was sent with.';
    detail.push('Without NAT, IKE may stay on port 500 and ESP travels as IP protocol 50, unless a peer forces UDP encapsulation.');
  }
  if (nd.fake) detail.push(...nd.explanation.filter((e) => e.startsWith('Fake SOURCE hash')));
  if (!nd.consistent) detail.push(nd.explanation[0] ?? '');
  return { text, detail };
}

function floatStep(
  sa: IkeSaReport,
  v: SaVantage,
  m: LogicalIkeMessage,
  sender: Role,
  timeline: CaptureTimeline,
  capName: (c: number) => string,
  multi: boolean,
): Omit<NarrativeStep, 'time' | 'actor'> {
  const o = m.seen[0]!;
  const label = messageLabel(m);
  const marker = `${plural(sa.marker.ok, 'IKE message')} on port 4500 carried the non-ESP marker${sa.marker.missing ? `, ${sa.marker.missing} did not (they are read as ESP and dropped)` : ''}.`;
  if (sa.startedOn4500) {
    return {
      text: `The SA starts directly on the NAT-T port pair with ${label}, ${o.src} → ${o.dst}: RFC 7296 §2.23 lets an initiator that expects a NAT begin on port 4500.`,
      detail: [marker],
    };
  }
  const detail = [
    'IKE leaves port 500 once NAT is detected (RFC 7296 §2.23), so that IKE and the ESP-in-UDP traffic use one NAT mapping and the peers can tell IKE from ESP by the marker.',
    `On port 4500 every IKE message starts with four zero bytes, the non-ESP marker (RFC 3948 §2.2); an ESP packet starts with its non-zero SPI there. ${marker}`,
  ];
  // The NAT's separate mapping for the new flow.
  const index = new SaIndex([sa]);
  const behindSide = sa.natDetection.initiatorBehindNat ? 'initiator' : sa.natDetection.responderBehindNat ? 'responder' : null;
  if (behindSide) {
    for (const c of sa.captures) {
      if (v.natVisible[behindSide] && v.inside[behindSide].has(c)) continue;
      const mine = timeline.ike.filter((x) => x.capture === c && index.find(x) === sa);
      const ep = (natt: boolean) => {
        const x = mine.find((y) => y.onNatt === natt);
        if (!x) return undefined;
        return senderOf(x, sa) === behindSide ? x.src : x.dst;
      };
      const p500 = ep(false);
      const p4500 = ep(true);
      if (p500 && p4500 && p500 !== p4500 && portOf(p4500) !== 4500) {
        detail.push(
          `The NAT gave the new flow its own mapping: the ${behindSide}'s port 500 appeared as ${p500} and its port 4500 appears as ${p4500}${multi ? ` in ${capName(c)}` : ''}. The peer answers to whatever address:port the message came from.`,
        );
        break;
      }
    }
  }
  return { text: `The float: the ${sender} sends ${label} on the NAT-T port pair, ${o.src} → ${o.dst} (${multi ? `${capName(o.capture)} ` : ''}frame ${o.frame}).`, detail };
}

function espStep(
  spi: string,
  flows: readonly EspFlow[],
  owner: EspSaReport | undefined,
  sa: IkeSaReport | undefined,
  rel: (at: Micros) => Micros,
  capName: (c: number) => string,
  multi: boolean,
  who: (sa: IkeSaReport, r: Role | string) => string,
): NarrativeStep {
  const f = flows[0]!;
  const at = rel(Math.min(...flows.map((x) => x.firstAt)));
  const last = rel(Math.max(...flows.map((x) => x.lastAt)));
  const packets = Math.max(...flows.map((x) => x.packets));
  const dir = owner?.direction === 'initiator-to-responder' ? 'initiator → responder' : owner?.direction === 'responder-to-initiator' ? 'responder → initiator' : null;
  const sender: Role | null = owner?.direction === 'initiator-to-responder' ? 'initiator' : owner?.direction === 'responder-to-initiator' ? 'responder' : null;
  const seq = f.minSeq === f.maxSeq ? `sequence number ${f.minSeq}` : `sequence numbers ${f.minSeq}–${f.maxSeq}`;
  const udp = flows.some((x) => x.encapsulation === 'udp');
  const how = udp ? 'in UDP (RFC 3948 §2.1)' : 'as IP protocol 50';
  const paths = flows.map((x) => `${x.src} → ${x.dst}${multi ? ` in ${capName(x.capture)} (${plural(x.packets, 'packet')})` : ''}`).join(', ');
  const span = secs(at) !== secs(last) ? ` from ${secs(at)} to ${secs(last)}` : ` at ${secs(at)}`;
  const text = `${plural(packets, 'ESP packet')}, SPI ${spi}, ${seq}${dir ? `, ${dir}` : ''}, ${how}: ${paths}${span}.`;
  const detail: string[] = [];
  if (owner?.childSa) detail.push(`The SPI was chosen by the ${owner.childSa.chosenBy} in ${owner.childSa.exchange} (message ${owner.childSa.messageId}): the receiver picks the SPI it wants to see on its inbound packets.`);
  const nd = sa?.natDetection;
  const nat = nd ? nd.initiatorBehindNat === true || nd.responderBehindNat === true : false;
  if (!nd) {
    detail.push('No IKE SA of this SPI is in the capture, so the capture does not show why it is carried this way.');
  } else if (nd.initiatorBehindNat === null) {
    detail.push('Its IKE SA shows no NAT-D hashes (NAT detection was not captured), so the capture does not show why it is carried this way.');
  } else if (udp && nat) {
    detail.push('Encapsulated because NAT was detected: raw ESP (IP protocol 50) carries no ports, so a NAT that maps many hosts onto one address (PAT) cannot tell which host a returning ESP packet belongs to. In UDP it rides the same mapping as IKE on port 4500.');
  } else if (udp) {
    detail.push(
      nd.fake
        ? `Encapsulated although there is no NAT: the ${nd.fakeSenders.join(' and the ')} sent a fake SOURCE hash to force UDP encapsulation.`
        : 'Encapsulated although NAT-D found no NAT: a peer forces UDP encapsulation (strongSwan encap=yes), for instance to cross a firewall that only lets UDP through.',
    );
  } else if (nat) {
    detail.push('Raw ESP although NAT was detected: it will not cross a PAT (finding ESP_RAW_BEHIND_NAT).');
  } else {
    detail.push('No NAT between the peers, so no encapsulation is needed.');
  }
  const missing = multi && sa ? sa.captures.filter((c) => !flows.some((x) => x.capture === c)) : [];
  if (missing.length) detail.push(`Not seen in ${missing.map(capName).join(', ')}: dropped before that capture point, or sent along another path.`);
  const actor = sa && sender ? who(sa, sender) : hostOf(f.src);
  return { time: at, actor, text, detail };
}

function keepaliveStep(
  sa: IkeSaReport,
  r: Role,
  reps: readonly KeepaliveReport[],
  flows: readonly KeepaliveFlow[],
  timeline: CaptureTimeline,
  natTimeoutS: number,
  natTimeoutNote: string,
  rel: (at: Micros) => Micros,
  capName: (c: number) => string,
  multi: boolean,
): Omit<NarrativeStep, 'time' | 'actor'> {
  const k = reps[0]!;
  const f = flows.find((x) => x.capture === k.capture && x.src === k.endpoint) ?? flows[0]!;
  const paths = reps.map((x) => `${x.endpoint} → ${x.to}${multi ? ` in ${capName(x.capture)}` : ''}`).join(', ');
  const spacing = k.meanIntervalS !== null ? `, then every ${k.meanIntervalS.toFixed(3)} s on average (largest gap ${k.maxIntervalS!.toFixed(3)} s)` : '';
  const text = `${plural(k.count, 'NAT-keepalive')} from the ${r}, ${paths}: the first at ${secs(rel(f.firstAt))}${spacing}.`;
  const detail = ['A NAT-keepalive is a UDP datagram holding the single byte 0xFF on the NAT-T port pair (RFC 3948 §2.3); the receiver drops it. It exists only to keep the NAT mapping of the flow alive.'];
  const behind = r === 'initiator' ? sa.natDetection.initiatorBehindNat : sa.natDetection.responderBehindNat;
  const peerBehind = r === 'initiator' ? sa.natDetection.responderBehindNat : sa.natDetection.initiatorBehindNat;
  const peer = otherRole(r);
  const peerSends = sa.keepalives.some((x) => x.from === peer);
  if (behind) {
    detail.push(
      `Only a peer behind NAT needs them, since the mapping to keep alive is its own NAT's (RFC 3948 §4): the ${r} is behind NAT${peerBehind ? `, and so is the ${peer}` : `; the ${peer} is not${peerSends ? ', yet it sends some too' : ' and sends none'}`}.`,
    );
  } else {
    detail.push(`NAT-D shows the ${r} is not behind NAT, yet it sends keepalives (finding KEEPALIVE_FROM_NON_NAT_SIDE): harmless, but not needed.`);
  }
  // What the sender last sent on that flow before the first keepalive.
  const before = [
    ...timeline.esp.filter((x) => x.capture === f.capture && x.src === f.src && x.lastAt < f.firstAt).map((x) => ({ at: x.lastAt, what: 'ESP' })),
    ...timeline.ike.filter((x) => x.capture === f.capture && x.src === f.src && x.at < f.firstAt).map((x) => ({ at: x.at, what: `IKE ${x.exchange}` })),
  ].sort((a, b) => b.at - a.at)[0];
  if (before) {
    detail.push(
      `Keepalives fill silences; they are not sent while other traffic flows: the ${r}'s last packet on this flow before them was ${before.what} at ${secs(rel(before.at))}, ${secs(f.firstAt - before.at)} before the first keepalive.`,
    );
  }
  if (k.maxIntervalS !== null) {
    detail.push(
      k.maxIntervalS <= natTimeoutS
        ? `The NAT mapping timeout assumed here is ${natTimeoutS} s (${natTimeoutNote}): the largest gap, ${k.maxIntervalS.toFixed(3)} s, is shorter, so the mapping stays alive.`
        : `The NAT mapping timeout assumed here is ${natTimeoutS} s (${natTimeoutNote}): the largest gap, ${k.maxIntervalS.toFixed(3)} s, is longer, so the mapping can expire between keepalives (finding KEEPALIVE_INTERVAL_TOO_LONG).`,
    );
  }
  return { text, detail };
}
