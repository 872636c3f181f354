/**
 * The explain narrative and the ladder diagram of a simulated run, built by the same
 * code as `analyze --explain` and `--diagram` (analysis/explain.ts, analysis/ladder.ts):
 * every tap's capture goes through a CaptureAnalyzer (with the run's own keys, so the
 * encrypted exchanges are opened) and a TimelineRecorder. The simulator then adds what
 * no capture shows: what each NAT device translated (its mapping records), why
 * keepalives start and who sends them, mapping expiries, drops with their reason and
 * place, each peer's own log (its NAT-D comparison, the float, DPD), and the
 * expectations. The ladder's columns follow the path between the peers: peers, NATs
 * and taps, in topology order.
 *
 *   const rec = new RunRecorder(sim);   // before sim.run()
 *   sim.run();
 *   const { narrative, ladder } = explainRun(sim, rec);
 */
import { formatIp } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { parseEspSaTable, parseIkev2DecryptionTable } from '../crypto/keys-out.ts';
import { CaptureAnalyzer, DEFAULT_NAT_TIMEOUT_US } from '../analysis/analyzer.ts';
import { explainCaptures, type Narrative, type NarrativeStep } from '../analysis/explain.ts';
import { KeyRing } from '../analysis/keys.ts';
import { PARTICIPANT_KIND, routedLadder, type DraftRow, type Ladder, type RouteColumn, type SaRoute } from '../analysis/ladder.ts';
import type { AnalysisReport, IkeSaReport } from '../analysis/report.ts';
import { TimelineRecorder, type CaptureTimeline } from '../analysis/timeline.ts';
import { hostOf, portOf } from '../analysis/vantage.ts';
import { readCaptureSync } from '../pcap/reader.ts';
import type { IpsecPeer } from './ipsec-peer.ts';
import type { MappingView, NatRecord } from './nat.ts';
import { describePacket, formatSpan } from './packet.ts';
import type { ScenarioNat } from './scenario.ts';
import type { Simulation } from './simulation.ts';
import { concatAll } from '../core/bytes.ts';

/** Translation steps told one by one; the rest are counted in one step. */
export const MAX_TRANSLATION_STEPS = 40;

export interface MappingCreated {
  readonly at: Micros;
  readonly nat: string;
  readonly protocol: string;
  readonly before: { readonly src: string; readonly dst: string };
  readonly after: { readonly src: string; readonly dst: string };
  readonly mapping: MappingView;
  readonly comment: string;
}

export interface DropGroup {
  readonly where: string;
  readonly reason: string;
  readonly firstAt: Micros;
  lastAt: Micros;
  count: number;
  /** The first dropped packet in plain words, and why it was dropped. */
  readonly packet: string;
  readonly detail: string;
}

/** What the simulator knows beyond its captures, recorded while it runs. */
export class RunRecorder {
  readonly mappings: MappingCreated[] = [];
  readonly expiries: NatRecord[] = [];
  /** NAT flushes and reboots. */
  readonly resets: NatRecord[] = [];
  private readonly drops = new Map<string, DropGroup>();
  private lastNatDrop: NatRecord | undefined;

  constructor(sim: Simulation) {
    sim.lab.network.observe((e) => {
      if (e.type === 'nat') {
        const r = e.record;
        if (r.kind === 'drop') this.lastNatDrop = r;
        else if (r.kind === 'expire') this.expiries.push(r);
        else if (r.kind === 'flush' || r.kind === 'reboot') this.resets.push(r);
        else if (r.kind === 'translate' && r.mappingState === 'created' && r.mapping && r.before && r.after) {
          this.mappings.push({ at: r.at, nat: r.nat, protocol: r.protocol ?? r.mapping.protocol, before: r.before, after: r.after, mapping: r.mapping, comment: r.comment });
        }
        return;
      }
      if (e.type !== 'drop') return;
      const nat = e.reason === 'nat' && this.lastNatDrop?.nat === e.where ? this.lastNatDrop : undefined;
      const reason = nat?.reason ?? e.reason;
      const key = `${e.where}|${reason}`;
      const g = this.drops.get(key);
      if (g) {
        g.count++;
        g.lastAt = e.at;
        return;
      }
      this.drops.set(key, { where: e.where, reason, firstAt: e.at, lastAt: e.at, count: 1, packet: describePacket(e.bytes), detail: nat?.comment ?? e.detail });
    });
  }

  /** Drops grouped by place and reason, in the order the first of each happened. */
  dropGroups(): readonly DropGroup[] {
    return [...this.drops.values()];
  }
}

export interface RunViews {
  readonly report: AnalysisReport;
  readonly timeline: CaptureTimeline;
  readonly narrative: Narrative;
  readonly ladder: Ladder;
}

const secs = (us: Micros) => `${(us / 1e6).toFixed(3)} s`;
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The NAT timeout the analyser checks keepalives against: the shortest UDP timeout of the scenario's NATs. */
export function runNatTimeout(sim: Simulation): Micros {
  const t = sim.scenario.topology.nats.map((n) => n.timeouts.udp).filter((x) => x > 0);
  return t.length ? Math.min(...t) : DEFAULT_NAT_TIMEOUT_US;
}

/** Every tap's capture (the bytes written as TAP.pcapng) through one analyser and one timeline, tap order. */
export function analyseRun(sim: Simulation): { report: AnalysisReport; timeline: CaptureTimeline } {
  const k = sim.wiresharkKeys();
  const keys = new KeyRing(parseIkev2DecryptionTable(k.ikev2), parseEspSaTable(k.esp));
  const a = new CaptureAnalyzer({ natTimeoutUs: runNatTimeout(sim), keys });
  const t = new TimelineRecorder();
  for (const [name, tap] of sim.lab.taps) {
    a.beginCapture(name);
    t.beginCapture(name);
    for (const e of readCaptureSync(concatAll(tap.chunks))) {
      a.entry(e);
      t.entry(e);
    }
    a.endCapture();
    t.endCapture();
  }
  return { report: a.finish(), timeline: t.finish() };
}

export function explainRun(sim: Simulation, rec: RunRecorder): RunViews {
  const { report, timeline } = analyseRun(sim);
  const s = sim.scenario;
  const narrative = explainCaptures(report, timeline, {
    origin: 0,
    title: `What happened in simulation ${s.name} (seed ${s.seed})`,
    inferTranslations: false,
    extraSteps: runSteps(sim, rec, timeline),
    intro: [
      `${s.description ? `${s.description}; ` : ''}${formatSpan(sim.lab.network.now)} of virtual time; taps: ${[...sim.lab.taps.values()].map((t) => `${t.name} (${t.options.description ?? ''})`).join(', ') || 'none'}`,
    ],
    timeNote: 'Times are seconds from the start of the run.',
    natTimeoutNote: 'the shortest UDP mapping timeout of the scenario\'s NATs',
  });
  const routes = new RouteMaker(sim, timeline);
  for (const sa of report.ikeSas) routes.of(sa);
  const ladder = routedLadder(report, timeline, (sa) => routes.of(sa), {
    origin: 0,
    title: `simulation ${s.name} (seed ${s.seed})`,
    extraRows: rec.expiries.flatMap((x) =>
      x.mapping && routes.has(`nat:${x.nat}`)
        ? [{ at: x.at, rows: [{ kind: 'note', over: [`nat:${x.nat}`], text: `mapping ${x.mapping.internal} ⇄ ${x.mapping.external} expired (${formatSpan(idleOf(x.mapping))} idle)` } satisfies DraftRow] }]
        : [],
    ),
  });
  return { report, timeline, narrative, ladder };
}

const idleOf = (m: MappingView): Micros => (m.expiresAt ?? m.lastUsedAt) - m.lastUsedAt;

// ------------------------------------------------------------------ narrative steps

/** The simulator's own steps, merged into the capture narrative by time. */
export function runSteps(sim: Simulation, rec: RunRecorder, timeline: CaptureTimeline): NarrativeStep[] {
  const steps: NarrativeStep[] = [];
  const nats = new Map(sim.scenario.topology.nats.map((n) => [n.name, n]));
  rec.mappings.slice(0, MAX_TRANSLATION_STEPS).forEach((m) => steps.push(translationStep(m, nats.get(m.nat), timeline)));
  const more = rec.mappings.slice(MAX_TRANSLATION_STEPS);
  if (more.length) {
    steps.push({
      time: more[0]!.at,
      actor: 'NATs',
      text: `${plural(more.length, 'more mapping')} created from here on (not told one by one).`,
      detail: [...new Set(more.map((m) => m.nat))].map((n) => `${n}: ${more.filter((m) => m.nat === n).length}`),
    });
  }
  for (const x of rec.expiries) steps.push(expiryStep(x, sim));
  for (const r of rec.resets) steps.push({ time: r.at, actor: `NAT ${r.nat}`, text: r.comment, detail: ['Every dynamic mapping is gone: the next outbound packet of each flow gets a new one, possibly with a new port, and inbound packets to the old ones are dropped.'] });
  for (const p of sim.peers.values()) {
    const k = keepaliveStep(p, sim, rec);
    if (k) steps.push(k);
    for (const l of p.log) steps.push({ time: l.at, actor: p.name, text: withoutName(l.text, p.name), detail: [] });
  }
  for (const d of rec.dropGroups()) {
    steps.push({
      time: d.firstAt,
      actor: d.where,
      text: `${d.count === 1 ? 'Dropped' : `${d.count} packets dropped`} at ${d.where} (${d.reason})${d.count === 1 ? '' : `, the first`}: ${d.packet}.`,
      detail: [...(d.detail ? [d.detail] : []), ...(d.count > 1 ? [`From ${secs(d.firstAt)} to ${secs(d.lastAt)}.`] : [])],
    });
  }
  const results = sim.results;
  const failed = results.filter((r) => !r.ok).length;
  steps.push({
    time: null,
    actor: 'expectations',
    text: `${results.length - failed} passed, ${failed} failed.`,
    detail: results.map((r) => `${r.ok ? 'PASS' : 'FAIL'} ${r.text}: ${r.explanation}`),
  });
  return steps;
}

/** "client: x" and "client x" as "x" (the step names its actor already). */
function withoutName(text: string, name: string): string {
  if (text.startsWith(`${name}: `)) return text.slice(name.length + 2);
  if (text.startsWith(`${name} `)) return text.slice(name.length + 1);
  return text;
}

/** What the packet at `src → dst` around `at` was, from the captures. */
function packetKind(timeline: CaptureTimeline, pairs: readonly { src: string; dst: string }[], at: Micros): string | undefined {
  const same = (x: { src: string; dst: string }) => pairs.some((p) => p.src === x.src && p.dst === x.dst);
  const ike = timeline.ike.filter(same).sort((a, b) => Math.abs(a.at - at) - Math.abs(b.at - at))[0];
  if (ike) return ike.version === 2 ? `${ike.exchange} ${ike.response ? 'response' : 'request'}` : `${ike.exchange} (IKEv1)`;
  const esp = timeline.esp.find((f) => same(f) && f.firstAt <= at + 1 && f.lastAt >= at - 1) ?? timeline.esp.find(same);
  if (esp) return esp.encapsulation === 'udp' ? 'ESP-in-UDP' : 'ESP';
  if (timeline.keepalives.some(same)) return 'NAT-keepalive';
  return undefined;
}

function translationStep(m: MappingCreated, nat: ScenarioNat | undefined, timeline: CaptureTimeline): NarrativeStep {
  const kind = packetKind(timeline, [m.before, m.after], m.at) ?? m.protocol.toUpperCase();
  const changes: string[] = [];
  if (m.before.src !== m.after.src) changes.push(`the source ${m.before.src} became ${m.after.src}`);
  if (m.before.dst !== m.after.dst) changes.push(`the destination ${m.before.dst} became ${m.after.dst}`);
  const text = `NAT ${m.nat}${nat ? ` (${nat.kind})` : ''} translated ${kind} ${m.before.src} → ${m.before.dst}: ${changes.join(' and ') || 'nothing changed'}. New ${m.mapping.protocol} mapping ${m.mapping.internal} ⇄ ${m.mapping.external}${m.mapping.remote ? ` (for ${m.mapping.remote})` : ''}.`;
  const detail = [`Before: ${m.before.src} → ${m.before.dst}; after: ${m.after.src} → ${m.after.dst}.`];
  const pi = portOf(m.mapping.internal);
  const pe = portOf(m.mapping.external);
  if (pi !== null && pe !== null) {
    detail.push(
      pi !== pe
        ? `The port changed too (${pi} → ${pe}): a NAT that shares its public address among many inside hosts picks a free port for each flow${nat ? ` (ports: ${nat.ports.assignment}, ${nat.ports.range.from}-${nat.ports.range.to})` : ''}.`
        : `The port was kept (${pi}); only the address changed.`,
    );
  }
  if (m.mapping.permanent) detail.push('The mapping is permanent (static).');
  else if (m.mapping.expiresAt !== undefined) {
    detail.push(`Packets back to ${m.mapping.external} are sent on to ${m.mapping.internal} while the mapping lasts: it expires after ${formatSpan(idleOf(m.mapping))} without traffic${nat ? `, mapping behaviour ${nat.mapping}, filtering ${nat.filtering}` : ''}.`);
  }
  detail.push(m.comment);
  return { time: m.at, actor: `NAT ${m.nat}`, text, detail };
}

function expiryStep(x: NatRecord, sim: Simulation): NarrativeStep {
  const m = x.mapping;
  if (!m) return { time: x.at, actor: `NAT ${x.nat}`, text: x.comment, detail: [] };
  const detail = [
    `Nothing used it since ${secs(m.lastUsedAt)}; the NAT forgets a ${m.protocol} mapping after ${formatSpan(idleOf(m))} without traffic. A packet from outside to ${m.external} is dropped from now on; the next packet from ${m.internal} gets a new mapping, perhaps with another port.`,
  ];
  const port = portOf(m.internal);
  const floated = [...sim.peers.values()].some((p) => p.floats.some((f) => f.at <= x.at));
  if (port === 500 && floated) detail.push('IKE moved to port 4500 at the float, so nothing needs the port 500 mapping any more: its expiry is harmless.');
  else if (port === 4500) detail.push('This is the NAT-T flow: IKE and ESP-in-UDP of the tunnel used it, and the keepalives were meant to keep it alive.');
  detail.push(x.comment);
  return { time: x.at, actor: `NAT ${x.nat}`, text: `NAT ${x.nat} forgot the ${m.protocol} mapping ${m.internal} ⇄ ${m.external}: ${formatSpan(idleOf(m))} idle.`, detail };
}

/** The NATs a flow leaving `src` crosses, by following each mapping's external side into the next NAT's mappings. */
function mappingChain(rec: RunRecorder, src: string, at: Micros): MappingCreated[] {
  const out: MappingCreated[] = [];
  let cur = src;
  for (let i = 0; i < 8; i++) {
    const m = rec.mappings.filter((x) => x.mapping.internal === cur && x.at <= at && !out.includes(x)).at(-1);
    if (!m) break;
    out.push(m);
    cur = m.mapping.external;
  }
  return out;
}

function keepaliveStep(p: IpsecPeer, sim: Simulation, rec: RunRecorder): NarrativeStep | undefined {
  const ks = p.keepalives;
  const interval = p.config.keepaliveInterval;
  if (!ks.length) return undefined;
  const first = ks[0]!;
  const sa = p.sas.get(first.saId) ?? p.currentSa();
  const why = sa?.natHere
    ? 'its NAT-D check found it behind a NAT (NAT_HERE), and only the side behind a NAT has a mapping to keep alive (RFC 3948 §4)'
    : sa?.natFake
      ? 'encap: force made both sides act as if there were a NAT (NAT_FAKE)'
      : 'its tunnel is UDP-encapsulated';
  const text = `${p.name} sends NAT-keepalives because ${why}: one 0xFF byte from ${first.src} to ${first.dst} after every ${formatSpan(interval)} of silence on that socket (keepalive: ${formatSpan(interval)}); ${plural(ks.length, 'keepalive')}, the first at ${secs(first.at)}.`;
  const detail: string[] = [`The first went out when ${p.name} had sent nothing from ${first.src} for ${formatSpan(first.idle)}.`];
  const gaps: number[] = [];
  for (let i = 1; i < ks.length; i++) if (ks[i]!.saId === ks[i - 1]!.saId) gaps.push(ks[i]!.at - ks[i - 1]!.at);
  if (gaps.length) {
    const lo = Math.min(...gaps);
    const hi = Math.max(...gaps);
    detail.push(
      `They came ${lo === hi ? formatSpan(lo) : `${formatSpan(lo)} to ${formatSpan(hi)}`} apart${hi > interval ? `: longer than ${formatSpan(interval)} whenever other packets ${p.name} sent on the socket (DPD checks, ESP, IKE) restarted the silence` : ''}.`,
    );
  }
  for (const m of mappingChain(rec, first.src, first.at)) {
    const timeout = idleOf(m.mapping);
    const expired = rec.expiries.find((x) => x.nat === m.nat && x.mapping?.id === m.mapping.id && x.mapping.internal === m.mapping.internal && x.at >= m.at);
    detail.push(
      `They are meant to keep NAT ${m.nat}'s mapping ${m.mapping.internal} ⇄ ${m.mapping.external} alive: its timeout is ${formatSpan(timeout)}, ${interval < timeout ? `longer than the ${formatSpan(interval)} keepalive interval` : `not longer than the ${formatSpan(interval)} keepalive interval, so it can expire in a silence`}; ${expired ? `it expired at ${secs(expired.at)}` : 'it did not expire during the run'}.`,
    );
  }
  for (const o of sim.peers.values()) {
    if (o === p || o.keepalives.length) continue;
    const osa = o.currentSa();
    if (osa && osa.spiI === sa?.spiI) detail.push(`${o.name} sends none: ${osa.natHere ? 'it is behind a NAT too, but its socket was never idle for a whole interval' : 'it is not behind a NAT (no NAT_HERE), so it has no mapping to keep alive'}.`);
  }
  return { time: first.at, actor: p.name, text, detail };
}

// ------------------------------------------------------------------ ladder routes

interface PathLink {
  readonly name: string;
  readonly fromIface: string;
  readonly toIface: string;
}

/** Columns of each IKE SA's route through the scenario's topology: peers, NATs and taps in path order. */
class RouteMaker {
  private readonly bands = new Map<string, number>();
  private readonly cache = new Map<string, SaRoute>();
  private readonly captureIndex: Map<string, number>;

  constructor(
    private readonly sim: Simulation,
    timeline: CaptureTimeline,
  ) {
    this.captureIndex = new Map(timeline.captures.map((c) => [c.name, c.index]));
  }

  has(key: string): boolean {
    return this.bands.has(key);
  }

  of(sa: IkeSaReport): SaRoute {
    const holders = [...this.sim.peers.values()].filter((p) => [...p.sas.values()].some((r) => r.spiI === sa.spiI));
    const initiator = holders.find((p) => [...p.sas.values()].some((r) => r.spiI === sa.spiI && p.engine.getSa(r.saId)?.role === 'initiator')) ?? holders.find((p) => p.role === 'initiator') ?? holders[0];
    const responder = holders.find((p) => p !== initiator);
    const key = `${initiator?.name}|${responder?.name}`;
    let route = this.cache.get(key);
    if (!route) {
      route = initiator && responder ? this.route(initiator, responder, sa) : this.fallback(sa);
      this.cache.set(key, route);
    }
    return route;
  }

  private peerColumn(p: IpsecPeer, role: string): Omit<RouteColumn, 'band'> {
    const sa = [...p.sas.values()].find((r) => r.local !== undefined);
    const host = this.sim.scenario.topology.hosts.find((h) => h.name === p.hostName);
    const addr = sa?.local ? hostOf(sa.local) : host?.interfaces[0]?.addresses[0] ? formatIp(host.interfaces[0].addresses[0].addr) : '';
    return { key: `peer:${p.name}`, kind: PARTICIPANT_KIND.PEER, title: `${p.name} (${role})`, subtitle: addr };
  }

  private natColumn(n: ScenarioNat): Omit<RouteColumn, 'band'> {
    const outside = n.interfaces.find((i) => i.name === n.outside);
    const allocated = this.sim.lab.allocated.get(`${n.name}.${n.outside}`);
    const addrs = n.external.length ? n.external.map(formatIp) : outside?.addresses.length ? outside.addresses.map((a) => formatIp(a.addr)) : allocated ? [formatIp(allocated.addr)] : [];
    return { key: `nat:${n.name}`, kind: PARTICIPANT_KIND.NAT, title: `NAT ${n.name}`, subtitle: `${n.kind} ${addrs.join(', ')}`.trim() };
  }

  private tapColumn(name: string, where: string): Omit<RouteColumn, 'band'> {
    return { key: `tap:${name}`, kind: PARTICIPANT_KIND.TAP, title: `tap ${name}`, subtitle: where };
  }

  /** Nodes and links from one host to another (breadth first over the links). */
  private path(from: string, to: string): { nodes: string[]; links: PathLink[] } | undefined {
    const links = this.sim.scenario.topology.links;
    const prev = new Map<string, { node: string; link: PathLink }>();
    const seen = new Set([from]);
    const queue = [from];
    while (queue.length) {
      const n = queue.shift()!;
      if (n === to) break;
      for (const l of links) {
        for (const [a, b] of [
          [l.a, l.b],
          [l.b, l.a],
        ] as const) {
          if (a.node !== n || seen.has(b.node)) continue;
          seen.add(b.node);
          prev.set(b.node, { node: n, link: { name: l.name, fromIface: a.iface, toIface: b.iface } });
          queue.push(b.node);
        }
      }
    }
    if (!seen.has(to)) return undefined;
    const nodes = [to];
    const out: PathLink[] = [];
    for (let n = to; n !== from; ) {
      const p = prev.get(n)!;
      out.unshift(p.link);
      nodes.unshift(p.node);
      n = p.node;
    }
    return { nodes, links: out };
  }

  private route(initiator: IpsecPeer, responder: IpsecPeer, sa: IkeSaReport): SaRoute {
    const path = this.path(initiator.hostName, responder.hostName);
    if (!path) return this.fallback(sa);
    const s = this.sim.scenario;
    const nats = new Map(s.topology.nats.map((n) => [n.name, n]));
    const cols: Omit<RouteColumn, 'band'>[] = [this.peerColumn(initiator, 'initiator')];
    const linkTaps = (link: string) => s.taps.flatMap((t) => ('link' in t && t.link === link ? [this.tapColumn(t.name, `link ${link}`)] : []));
    const natTaps = (nat: string, side: 'inside' | 'outside') =>
      s.taps.flatMap((t) => ('nat' in t && t.nat === nat && t.side === side ? [this.tapColumn(t.name, `NAT ${nat}, ${side} side`)] : []));
    path.links.forEach((l, i) => {
      cols.push(...linkTaps(l.name));
      const node = path.nodes[i + 1]!;
      const nat = nats.get(node);
      if (!nat || i === path.links.length - 1) return;
      const first = nat.inside.includes(l.toIface) ? 'inside' : 'outside';
      cols.push(...natTaps(node, first), this.natColumn(nat), ...natTaps(node, first === 'inside' ? 'outside' : 'inside'));
    });
    cols.push(this.peerColumn(responder, 'responder'));
    return this.finish(cols);
  }

  /** Two columns, initiator and responder, every capture on the one segment between them. */
  private fallback(sa: IkeSaReport): SaRoute {
    const col = (role: string, ep: string | null): Omit<RouteColumn, 'band'> => ({ key: `host:${ep ? hostOf(ep) : role}`, kind: PARTICIPANT_KIND.PEER, title: role, subtitle: ep ? hostOf(ep) : '' });
    const r = this.finish([col('initiator', sa.initiator), col('responder', sa.responder)]);
    return { columns: r.columns, segmentsOf: () => [0] };
  }

  /** Bands: new columns go between the known ones around them, so routes sharing columns line up. */
  private finish(cols: readonly Omit<RouteColumn, 'band'>[]): SaRoute {
    const columns: RouteColumn[] = [];
    cols.forEach((c, i) => {
      let band = this.bands.get(c.key);
      if (band === undefined) {
        const before = i > 0 ? columns[i - 1]!.band : -1;
        const next = cols.slice(i + 1).find((x) => this.bands.has(x.key));
        band = next ? (before + this.bands.get(next.key)!) / 2 : before + 1;
        this.bands.set(c.key, band);
      }
      columns.push({ ...c, band });
    });
    const at = new Map<number, number>();
    columns.forEach((c, i) => {
      if (c.kind !== PARTICIPANT_KIND.TAP) return;
      const capture = this.captureIndex.get(c.key.slice('tap:'.length));
      if (capture !== undefined) at.set(capture, i);
    });
    return { columns, segmentsOf: (capture) => (at.has(capture) ? [at.get(capture)! - 1, at.get(capture)!] : []) };
  }
}
