/**
 * Ladder (sequence) diagrams as a plain model: columns for peers, NATs, taps and
 * other hosts; rows that are arrows (one IKE message, or a summary of ESP or
 * NAT-keepalive traffic) or notes (a NAT translation, the NAT-D verdict, the float).
 * Renderers (cli/diagram/) turn a Ladder into SVG or Mermaid text; nothing here
 * knows about either.
 *
 * `captureLadder` builds one from an analysis report and the capture timeline. With
 * captures on both sides of a NAT the NAT gets its own column and each message
 * crosses it as two arrows, the translation noted on the NAT. `routedLadder` does the
 * same when the caller knows where each capture was taken (a simulation's topology:
 * peers, NATs and taps as columns). `LadderBuilder` is the general entry point for
 * other event sources.
 */
import type { Micros } from '../core/time.ts';
import type { AnalysisReport, IkeSaReport, NatDetectionReport, Role } from './report.ts';
import { logicalIkeMessages, timelineOrigin, type CaptureTimeline, type EspFlow, type KeepaliveFlow } from './timeline.ts';
import { baseName, hopOf, hostOf, ROLES, SaIndex, saVantage, senderOf } from './vantage.ts';

export const PARTICIPANT_KIND = { PEER: 'peer', NAT: 'nat', HOST: 'host', TAP: 'tap' } as const;
export type ParticipantKind = (typeof PARTICIPANT_KIND)[keyof typeof PARTICIPANT_KIND];

export const ARROW_STYLE = {
  /** One IKE message. */
  IKE: 'ike',
  /** A run of ESP packets. */
  ESP: 'esp',
  /** A run of NAT-keepalives. */
  KEEPALIVE: 'keepalive',
  /** Traffic that was not seen beyond this hop (dropped, or filtered). */
  LOST: 'lost',
  /** Anything else. */
  OTHER: 'other',
} as const;
export type ArrowStyle = (typeof ARROW_STYLE)[keyof typeof ARROW_STYLE];

export const ROW_KIND = { ARROW: 'arrow', NOTE: 'note' } as const;
export type RowKind = (typeof ROW_KIND)[keyof typeof ROW_KIND];

export interface LadderParticipant {
  /** P0, P1, ... in column order (safe as a Mermaid identifier). */
  readonly id: string;
  readonly kind: ParticipantKind;
  /** "initiator", "NAT", "responder (behind NAT)" */
  readonly title: string;
  /** "10.77.0.2", "seen as 198.51.100.1" */
  readonly subtitle: string;
}

export interface LadderArrow {
  readonly kind: typeof ROW_KIND.ARROW;
  /** Time relative to the start of the run or capture; null when unknown. */
  readonly at: Micros | null;
  readonly from: string;
  readonly to: string;
  /** "IKE_SA_INIT request", "10 × ESP-in-UDP spi 0x33edbb96 seq 1–10" */
  readonly label: string;
  /** "198.51.100.1:29396 → 198.51.100.2:500", or empty. */
  readonly detail: string;
  readonly style: ArrowStyle;
}

export interface LadderNote {
  readonly kind: typeof ROW_KIND.NOTE;
  readonly at: Micros | null;
  /** One participant id, or two: the note spans the columns from the first to the second. */
  readonly over: readonly string[];
  readonly text: string;
}

export type LadderRow = LadderArrow | LadderNote;

export interface Ladder {
  readonly title: string;
  readonly participants: readonly LadderParticipant[];
  readonly rows: readonly LadderRow[];
  /** Rows beyond the limit, left out. */
  readonly omittedRows: number;
}

export const DEFAULT_MAX_ROWS = 400;

/** Rows as the builder takes them: participants named by key. */
export type DraftRow =
  | { readonly kind: 'arrow'; readonly from: string; readonly to: string; readonly label: string; readonly detail: string; readonly style: ArrowStyle }
  | { readonly kind: 'note'; readonly over: readonly string[]; readonly text: string };

interface DraftParticipant {
  readonly key: string;
  readonly kind: ParticipantKind;
  readonly title: string;
  readonly subtitle: string;
  /** Column band: lower is further left; ties keep insertion order. */
  readonly band: number;
  readonly seq: number;
}

/**
 * Collects participants (by key, first definition wins) and groups of rows at a time;
 * `build` orders columns by band and groups by time (ties keep insertion order).
 */
export class LadderBuilder {
  private readonly participants = new Map<string, DraftParticipant>();
  private readonly groups: { at: Micros | null; seq: number; rows: readonly DraftRow[] }[] = [];

  participant(key: string, kind: ParticipantKind, title: string, subtitle: string, band: number): string {
    if (!this.participants.has(key)) this.participants.set(key, { key, kind, title, subtitle, band, seq: this.participants.size });
    return key;
  }

  has(key: string): boolean {
    return this.participants.has(key);
  }

  group(at: Micros | null, rows: readonly DraftRow[]): void {
    if (rows.length) this.groups.push({ at, seq: this.groups.length, rows });
  }

  build(title: string, maxRows = DEFAULT_MAX_ROWS): Ladder {
    const cols = [...this.participants.values()].sort((a, b) => a.band - b.band || a.seq - b.seq);
    const ids = new Map(cols.map((p, i) => [p.key, `P${i}`]));
    const id = (k: string) => ids.get(k) ?? k;
    const groups = [...this.groups].sort((a, b) => (a.at ?? -1) - (b.at ?? -1) || a.seq - b.seq);
    const rows: LadderRow[] = [];
    let omitted = 0;
    for (const g of groups) {
      for (const r of g.rows) {
        if (rows.length >= maxRows) {
          omitted++;
          continue;
        }
        rows.push(
          r.kind === 'arrow'
            ? { kind: ROW_KIND.ARROW, at: g.at, from: id(r.from), to: id(r.to), label: r.label, detail: r.detail, style: r.style }
            : { kind: ROW_KIND.NOTE, at: g.at, over: r.over.map(id), text: r.text },
        );
      }
    }
    return {
      title,
      participants: cols.map((p) => ({ id: id(p.key), kind: p.kind, title: p.title, subtitle: p.subtitle })),
      rows,
      omittedRows: omitted,
    };
  }
}

/** "NAT-D: initiator behind NAT, responder not" (null without NAT-D). */
export function natdVerdictText(nd: NatDetectionReport): string | null {
  if (nd.initiatorBehindNat === null || nd.responderBehindNat === null) return null;
  const i = nd.initiatorBehindNat;
  const r = nd.responderBehindNat;
  let t = i && r ? 'NAT-D: both peers behind NAT' : i ? 'NAT-D: initiator behind NAT, responder not' : r ? 'NAT-D: responder behind NAT, initiator not' : 'NAT-D: no NAT';
  if (nd.fake) t += `, fake source hash from the ${nd.fakeSenders.join(' and the ')}`;
  if (!nd.consistent) t += ' (hashes contradict each other)';
  return t;
}

/** "0x33edbb96 seq 1–10" style ranges. */
function seqText(min: number, max: number): string {
  return min === max ? `seq ${min}` : `seq ${min}–${max}`;
}

export function espLabel(f: Pick<EspFlow, 'packets' | 'encapsulation' | 'spi' | 'minSeq' | 'maxSeq'>): string {
  return `${f.packets} × ${f.encapsulation === 'udp' ? 'ESP-in-UDP' : 'ESP'} spi 0x${f.spi} ${seqText(f.minSeq, f.maxSeq)}`;
}

export function keepaliveLabel(f: Pick<KeepaliveFlow, 'count' | 'firstAt' | 'lastAt'>): string {
  if (f.count < 2) return `${f.count} × NAT-keepalive`;
  const mean = (f.lastAt - f.firstAt) / (f.count - 1) / 1e6;
  return `${f.count} × NAT-keepalive every ${mean.toFixed(1)} s`;
}

interface HopObservation {
  readonly capture: number;
  readonly src: string;
  readonly dst: string;
  readonly label: string;
}

/** One column of an SA's route. */
export interface RouteColumn {
  readonly key: string;
  readonly kind: ParticipantKind;
  readonly title: string;
  readonly subtitle: string;
  /** Column band: lower is further left; ties keep the order columns were first declared in. */
  readonly band: number;
}

/**
 * Where an IKE SA's packets go: the columns from the initiator to the responder (peers,
 * NATs, taps), and which segments of that route each capture shows (segment 0 runs
 * from columns[0] to columns[1]). A capture taken between two columns shows one
 * segment; a capture drawn as a column of its own shows the segments on both sides.
 */
export interface SaRoute {
  readonly columns: readonly RouteColumn[];
  segmentsOf(capture: number): readonly number[];
}

export interface CaptureLadderOptions {
  readonly title?: string;
  /** Time zero (default: the earliest frame of any capture). */
  readonly origin?: Micros;
  readonly maxRows?: number;
}

export interface RoutedLadderOptions extends CaptureLadderOptions {
  /** Rows from another source (a simulation's NAT events), by time; their participants are route column keys. */
  readonly extraRows?: readonly { readonly at: Micros | null; readonly rows: readonly DraftRow[] }[];
}

/**
 * Builds the ladder of one or more captures from their report and timeline, the
 * columns known from NAT-D alone: each peer, and a NAT when captures on both of its
 * sides exist.
 */
export function captureLadder(report: AnalysisReport, timeline: CaptureTimeline, opts: CaptureLadderOptions = {}): Ladder {
  const routes = new Map<number, SaRoute>();
  for (const sa of report.ikeSas) {
    const v = saVantage(sa, timeline);
    const columns: RouteColumn[] = [];
    const nat = (r: Role, band: number) => {
      if (v.natVisible[r]) columns.push({ key: `nat:${v.outsideAddress[r]}`, kind: PARTICIPANT_KIND.NAT, title: 'NAT', subtitle: v.outsideAddress[r] ?? '', band });
    };
    const host = (r: Role, band: number) => {
      const behind = r === 'initiator' ? sa.natDetection.initiatorBehindNat === true : sa.natDetection.responderBehindNat === true;
      const own = v.ownAddress[r] ?? '?';
      const seenFromOutside = behind && !v.natVisible[r] && v.inside[r].size === 0;
      columns.push({ key: `host:${own}`, kind: PARTICIPANT_KIND.PEER, title: behind && !v.natVisible[r] ? `${r} (behind NAT)` : r, subtitle: seenFromOutside ? `seen as ${own}` : own, band });
    };
    host('initiator', 0);
    nat('initiator', 1);
    nat('responder', 2);
    host('responder', 3);
    routes.set(sa.index, { columns, segmentsOf: (c) => [hopOf(v, 'initiator', c).hop] });
  }
  return routedLadder(report, timeline, (sa) => routes.get(sa.index)!, opts);
}

/**
 * Builds the ladder of captures whose places are known (a simulation knows its
 * topology): `routeOf` gives each IKE SA's columns and which segments each capture
 * shows. Each message or run becomes one arrow per segment, labelled with what the
 * capture on that segment saw (the translated address:port beyond a NAT); a NAT
 * column gets a note the first time it is seen translating an address:port.
 */
export function routedLadder(report: AnalysisReport, timeline: CaptureTimeline, routeOf: (sa: IkeSaReport) => SaRoute, opts: RoutedLadderOptions = {}): Ladder {
  const b = new LadderBuilder();
  const origin = opts.origin ?? timelineOrigin(timeline);
  const rel = (at: Micros) => at - origin;
  const capName = (c: number) => baseName(timeline.captures[c]?.name ?? report.captures[c]?.file ?? `capture ${c}`);
  const index = new SaIndex(report.ikeSas);
  const routes = new Map<number, SaRoute>();
  const natKeys = new Set<string>();
  const mappingsShown = new Set<string>();

  for (const sa of report.ikeSas) {
    const route = routeOf(sa);
    routes.set(sa.index, route);
    for (const c of route.columns) {
      b.participant(c.key, c.kind, c.title, c.subtitle, c.band);
      if (c.kind === PARTICIPANT_KIND.NAT) natKeys.add(c.key);
    }
  }
  const ends = (sa: IkeSaReport) => {
    const cols = routes.get(sa.index)!.columns;
    return { initiator: cols[0]!.key, responder: cols[cols.length - 1]!.key };
  };

  /** The arrows (and translation notes) of one message or run along the route from `sender`. */
  const hopRows = (sa: IkeSaReport, sender: Role, seen: readonly HopObservation[], style: ArrowStyle): DraftRow[] => {
    const route = routes.get(sa.index)!;
    const forward = sender === 'initiator';
    const path = (forward ? route.columns : [...route.columns].reverse()).map((c) => c.key);
    const last = path.length - 2;
    const segmentsOf = (c: number) => route.segmentsOf(c).map((s) => (forward ? s : last - s));
    const bySegment = new Map<number, HopObservation>();
    for (const o of seen) for (const s of segmentsOf(o.capture)) if (!bySegment.has(s)) bySegment.set(s, o);
    const capturesOn = new Map<number, number[]>();
    for (const c of sa.captures) for (const s of segmentsOf(c)) capturesOn.set(s, [...(capturesOn.get(s) ?? []), c]);
    const firstSeen = Math.min(...bySegment.keys());
    const label = seen[0]!.label;
    const rows: DraftRow[] = [];
    for (let h = 0; h < path.length - 1; h++) {
      const o = bySegment.get(h);
      if (!o) {
        const caps = capturesOn.get(h);
        if (h > firstSeen && caps) {
          rows.push({ kind: 'arrow', from: path[h]!, to: path[h + 1]!, label, detail: `not seen in ${caps.map(capName).join(', ')}`, style: ARROW_STYLE.LOST });
          break;
        }
        rows.push({ kind: 'arrow', from: path[h]!, to: path[h + 1]!, label, detail: '', style });
        continue;
      }
      rows.push({ kind: 'arrow', from: path[h]!, to: path[h + 1]!, label: o.label, detail: `${o.src} → ${o.dst}`, style });
      const next = bySegment.get(h + 1);
      const natKey = path[h + 1]!;
      if (next && natKeys.has(natKey)) {
        const changed = ([['src', 'src'], ['dst', 'dst']] as const).filter(([k]) => o[k] !== next[k]).map(([k]) => [o[k], next[k]] as const);
        for (const [before, after] of changed) {
          const key = [before, after].sort().join('|');
          if (mappingsShown.has(key)) continue;
          mappingsShown.add(key);
          rows.push({ kind: 'note', over: [natKey], text: `${before} ↦ ${after}` });
        }
      }
    }
    return rows;
  };

  // IKE messages, with the float and the NAT-D verdict as notes.
  const messages = logicalIkeMessages(timeline);
  const lastHashMessage = new Map<number, number>();
  messages.forEach((m, i) => {
    const sa = index.find(m);
    if (!sa) return;
    if (sa.natDetection.hashes.some((h) => m.seen.some((o) => o.capture === h.capture && o.frame === h.frame))) lastHashMessage.set(sa.index, i);
  });
  messages.forEach((m, i) => {
    const sa = index.find(m);
    if (!sa) return;
    const sender = senderOf(m.seen[0]!, sa);
    const label = m.version === 2 ? `${m.exchange} ${m.response ? 'response' : 'request'}` : m.exchange;
    const rows: DraftRow[] = [];
    const e = ends(sa);
    const f = sa.firstMessageOn4500Detail;
    if (sa.floatedTo4500 && f && m.seen.some((o) => o.capture === f.capture && o.frame === f.frame)) {
      rows.push({ kind: 'note', over: [e.initiator, e.responder], text: 'IKE floats to UDP 4500, behind the non-ESP marker' });
    }
    rows.push(...hopRows(sa, sender, m.seen.map((o) => ({ capture: o.capture, src: o.src, dst: o.dst, label })), ARROW_STYLE.IKE));
    const verdict = lastHashMessage.get(sa.index) === i ? natdVerdictText(sa.natDetection) : null;
    if (verdict) rows.push({ kind: 'note', over: [e.initiator, e.responder], text: verdict });
    b.group(rel(m.at), rows);
  });

  // ESP, one run per SPI.
  const bySpi = new Map<string, EspFlow[]>();
  for (const f of timeline.esp) bySpi.set(f.spi, [...(bySpi.get(f.spi) ?? []), f]);
  for (const [spi, flows] of bySpi) {
    const at = rel(Math.min(...flows.map((f) => f.firstAt)));
    const owner = report.espSas.find((e) => e.spi === spi && e.ikeSa !== null && e.direction !== null);
    const sa = owner ? report.ikeSas[owner.ikeSa!] : undefined;
    if (sa && owner) {
      const sender: Role = owner.direction === 'initiator-to-responder' ? 'initiator' : 'responder';
      b.group(at, hopRows(sa, sender, flows.map((f) => ({ capture: f.capture, src: f.src, dst: f.dst, label: espLabel(f) })), ARROW_STYLE.ESP));
      continue;
    }
    const f = flows[0]!;
    b.group(at, [{ kind: 'arrow', from: hostColumn(b, f.src), to: hostColumn(b, f.dst), label: espLabel(f), detail: `${f.src} → ${f.dst}`, style: ARROW_STYLE.ESP }]);
  }

  // NAT-keepalives, one run per sender.
  const used = new Set<KeepaliveFlow>();
  for (const sa of report.ikeSas) {
    for (const r of ROLES) {
      const flows = timeline.keepalives.filter((k) => sa.keepalives.some((s) => s.from === r && s.capture === k.capture && s.endpoint === k.src && s.to === k.dst));
      if (!flows.length) continue;
      flows.forEach((f) => used.add(f));
      const at = rel(Math.min(...flows.map((f) => f.firstAt)));
      b.group(at, hopRows(sa, r, flows.map((f) => ({ capture: f.capture, src: f.src, dst: f.dst, label: keepaliveLabel(f) })), ARROW_STYLE.KEEPALIVE));
    }
  }
  for (const f of timeline.keepalives) {
    if (used.has(f)) continue;
    b.group(rel(f.firstAt), [{ kind: 'arrow', from: hostColumn(b, f.src), to: hostColumn(b, f.dst), label: keepaliveLabel(f), detail: `${f.src} → ${f.dst}`, style: ARROW_STYLE.KEEPALIVE }]);
  }
  for (const g of opts.extraRows ?? []) b.group(g.at, g.rows);

  const title = opts.title ?? `${timeline.captures.length === 1 ? 'capture' : 'captures'} ${timeline.captures.map((c) => baseName(c.name)).join(' + ')}`;
  return b.build(title, opts.maxRows);
}

/** A column for an address that belongs to no IKE SA seen. */
function hostColumn(b: LadderBuilder, endpoint: string): string {
  const addr = hostOf(endpoint);
  const key = `host:${addr}`;
  if (!b.has(key)) b.participant(key, PARTICIPANT_KIND.HOST, 'host', addr, 4);
  return key;
}
