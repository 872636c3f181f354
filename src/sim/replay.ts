/**
 * Replay: a capture's UDP and ESP datagrams re-enter a scenario's lab at their
 * recorded times (scenario time = `start` + time since the capture's first frame) and
 * cross its NATs, firewalls and links; taps record what those devices did, and the
 * report says, flow by flow, what was delivered, what was dropped where and why, and
 * which flows would have broken.
 *
 * Who plays whom: replay-map.ts (hosts stand in for captured addresses; each host is
 * inside or outside the scenario's NATs).
 *
 * How each side addresses the other: a side sends to the endpoint it last saw the
 * other side's packets come *from* (the NAT's public endpoint for that flow, as it
 * arrived), which is how a UDP reply, an IKE response (RFC 7296 §2.11) and an IPsec
 * peer following NAT mapping changes (RFC 7296 §2.23) behave. NAT-keepalives are the
 * exception: they carry no integrity protection, so a peer never moves to the
 * endpoint a keepalive came from. Before anything was seen, a side sends to the other
 * host's own address when its route reaches that host, else to the public address of
 * the outermost NAT in front of it with the captured port. So when a mapping expires,
 * the next packet from outside still goes to the old public endpoint and the NAT
 * drops it (no mapping), as a real one would; and when a keepalive re-creates the
 * mapping on a new port, the peer keeps the old one until an authenticated packet
 * arrives from the new one: the report calls that window stale.
 *
 * Pure and deterministic: virtual time only; the capture comes in as a CaptureSource
 * (read twice: once to learn the addresses, once to replay).
 */
import { formatIp, ipEquals, type IpAddress } from '../core/addr.ts';
import { bytesEqual } from '../core/bytes.ts';
import { DecodeError } from '../core/errors.ts';
import type { Micros } from '../core/time.ts';
import { CaptureAnalyzer, DEFAULT_NAT_TIMEOUT_US } from '../analysis/analyzer.ts';
import { feedSource, type CaptureSource } from '../analysis/source.ts';
import { readCaptureSync } from '../pcap/reader.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import type { HostApplication, HostTransmit } from './host-app.ts';
import { buildLab, type Lab } from './lab.ts';
import type { MappingView, NatDropReason } from './nat.ts';
import { NatRouter, type Link, type Network } from './network.ts';
import { formatSpan, parsePacket } from './packet.ts';
import { capturedEnd, FrameReader, type CapturedPacket } from './replay-capture.ts';
import { hostSides, REPLAY_SIDE, resolveMapping, walkPath, type HostInfo, type MapRequest, type ResolvedMapping } from './replay-map.ts';
import {
  FLOW_VERDICT,
  REPLAY_REPORT_VERSION,
  worstVerdict,
  type DirectionReport,
  type FlowVerdict,
  type PacketRef,
  type RemapReport,
  type ReplayDropReport,
  type ReplayExpiryReport,
  type ReplayFlowReport,
  type ReplayReport,
  type StaleWindowReport,
} from './replay-report.ts';
import type { Scenario } from './scenario.ts';
import { Tap } from './tap.ts';
import { concatAll } from '../core/bytes.ts';

export interface ReplayOptions {
  readonly scenario: Scenario;
  /** Scenario time of the capture's first frame (default 0). */
  readonly start?: Micros;
  /** Captured address → host requests (command line first, then the scenario's replay.map). */
  readonly map?: readonly MapRequest[];
}

export interface ReplayResult {
  readonly report: ReplayReport;
  /** Every tap (the scenario's, then the replay's), ready to be written as pcapng. */
  readonly taps: readonly Tap[];
  readonly lab: Lab;
}

/** Not a capture at all, or a mapping no host can satisfy: bad input. */
export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
}

const NOTE_PREFIX = 'replay #';
const NOTE_RE = / — replay #(\d+):/;

/** Where a side sends to reach the other one. */
interface Target {
  readonly addr: IpAddress;
  readonly port?: number;
}
const targetText = (t: Target): string => capturedEnd(t.addr, t.port);

interface DirCount {
  injected: number;
  delivered: number;
  dropped: number;
  lost: number;
  readonly kinds: Record<string, number>;
}

interface OpenStale {
  readonly opened: PacketRef;
  readonly oldEndpoint: string;
  readonly newEndpoint: string;
  readonly seen: string[];
  recovered: PacketRef | null;
}

interface MappingUse {
  readonly nat: string;
  readonly id: number;
  lastPacket: PacketRef | undefined;
}

interface Flow {
  readonly key: string;
  readonly id: string;
  readonly protocol: 'udp' | 'esp';
  readonly a: { readonly addr: IpAddress; readonly port?: number; readonly text: string; readonly host: ResolvedMapping };
  readonly b: { readonly addr: IpAddress; readonly port?: number; readonly text: string; readonly host: ResolvedMapping };
  readonly ab: DirCount;
  readonly ba: DirCount;
  /** How side a / b addresses the other side (learned from arrivals). */
  view: { a?: Target; b?: Target };
  /** Endpoint the other side's packets last arrived from, per receiving side. */
  lastSeen: { a?: string; b?: string };
  readonly publicEndpoints: { a: { endpoint: string; firstSeenUs: number }[]; b: { endpoint: string; firstSeenUs: number }[] };
  readonly stale: { a: OpenStale[]; b: OpenStale[] };
  readonly remaps: RemapReport[];
  readonly drops: ReplayDropReport[];
  readonly mappings: Map<string, MappingUse>;
  readonly packets: PacketState[];
  first?: PacketRef;
  last?: PacketRef;
}

interface PacketState {
  readonly id: number;
  readonly pkt: CapturedPacket;
  readonly ref: PacketRef;
  readonly flow: Flow;
  readonly dir: 'ab' | 'ba';
  readonly toHost: string;
  readonly sentTo: string;
  deliveredAt?: Micros;
  wrongHost?: string;
  natReason?: NatDropReason;
  drop?: { at: Micros; where: string; reason: string; natReason: NatDropReason | null; detail: string };
}

interface Expiry {
  readonly nat: string;
  readonly view: MappingView;
  readonly expiredAt: Micros;
}

/** Nothing runs on a replayed host but the capture: this swallows what arrives. */
class SinkApp implements HostApplication {
  handlePacket(): void {}
  handleTimeout(): void {}
  pollTransmit(): HostTransmit | undefined {
    return undefined;
  }
  pollTimeout(): Micros | undefined {
    return undefined;
  }
}

/** A tap that stores nothing: it tells the replay which of its packets a link is handing to a node. */
class ArrivalProbe extends Tap {
  constructor(private readonly onArrival: (id: number | undefined) => void) {
    super('replay-probe');
  }
  override record(_timeUs: Micros, _bytes: Uint8Array, comment: string): void {
    const m = NOTE_RE.exec(comment);
    this.onArrival(m ? Number(m[1]) : undefined);
  }
}

const ref = (frame: number, what: string, atUs: Micros): PacketRef => ({ frame, what, atUs, atS: atUs / 1_000_000 });
/** An instant in scenario seconds, exact to the µs: "0.2 s", "20.000001 s". */
const t = (us: Micros): string => `${Number((us / 1_000_000).toFixed(6))} s`;
/** A duration: "20 s", "250 ms". */
const span = (us: Micros): string => formatSpan(us);

function cargoOf(bytes: Uint8Array): { protocol: number; data: Uint8Array } | 'fragment' | undefined {
  try {
    const p = parsePacket(bytes);
    if (p.fragment) return 'fragment';
    return { protocol: p.protocol, data: p.protocol === IP_PROTOCOL.UDP ? p.l4.subarray(8) : p.l4 };
  } catch {
    return undefined;
  }
}

/** Reads the capture once to list the addresses to map, in order of first appearance. */
async function scanAddresses(source: CaptureSource): Promise<{ addresses: IpAddress[]; frames: number; t0: Micros | undefined }> {
  const addresses: IpAddress[] = [];
  const reader = new FrameReader();
  let frames = 0;
  let t0: Micros | undefined;
  try {
    for await (const e of source.entries()) {
      if (e.kind !== 'packet') continue;
      frames++;
      t0 ??= e.timestampUs;
      const r = reader.read(e);
      if (r.kind !== 'packet') continue;
      for (const a of [r.packet.src, r.packet.dst]) if (!addresses.some((x) => ipEquals(x, a))) addresses.push(a);
    }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    if (frames === 0) throw e;
  }
  return { addresses, frames, t0 };
}

/** Time for the last injected packet to cross every link: 1 s plus each link's worst delay. */
function settleTime(net: Network): Micros {
  let us = 1_000_000;
  for (const l of net.links.values()) {
    const f = l.faults;
    const lat = f.latency ?? 0;
    us += lat + (f.jitter ?? 0) + ((f.reorder ?? 0) > 0 ? (f.reorderDelay ?? Math.max(1000, lat)) : 0);
  }
  return us;
}

export async function replayCapture(source: CaptureSource, opts: ReplayOptions): Promise<ReplayResult> {
  const scenario = opts.scenario;
  const start = opts.start ?? 0;
  const scan = await scanAddresses(source);

  const lab = buildLab(scenario);
  const net = lab.network;
  const infos = hostSides(net, scenario);
  let mapping: ResolvedMapping[];
  try {
    mapping = resolveMapping(net, infos, scan.addresses, opts.map ?? []);
  } catch (e) {
    throw new ReplayInputError((e as Error).message);
  }
  const playerOf = (a: IpAddress): ResolvedMapping => mapping.find((m) => ipEquals(m.captured, a))!;
  const infoOf = (host: string): HostInfo => infos.find((i) => i.host.name === host)!;

  // Taps: each played host's first link, both sides of every NAT the played hosts sit behind.
  const replayTaps: Tap[] = [];
  const analysisTaps: Tap[] = [];
  const tapName = (base: string): string => {
    let n = base;
    for (let i = 2; net.taps.has(n); i++) n = `${base}-${i}`;
    return n;
  };
  const linkTaps = new Map<Link, Tap>();
  const natsUsed: NatRouter[] = [];
  for (const m of mapping) {
    const h = net.host(m.host);
    const counterpart = mapping.find((o) => o.host !== m.host && o.address.family === m.address.family);
    const walk = counterpart ? walkPath(h, counterpart.address) : undefined;
    const link = walk?.firstLink ?? [...h.interfaces.values()].flatMap((i) => i.links)[0];
    for (const n of infoOf(m.host).nats) if (!natsUsed.includes(n)) natsUsed.push(n);
    if (!link) continue;
    let tap = linkTaps.get(link);
    if (!tap) {
      tap = net.tapLink(link.name, tapName(`replay-${m.host}`), `replay: link ${link.name} at host ${m.host} (${link.a.fullName} ↔ ${link.b.fullName})`);
      linkTaps.set(link, tap);
      replayTaps.push(tap);
    }
    if (m.side === REPLAY_SIDE.OUTSIDE && !analysisTaps.includes(tap)) analysisTaps.push(tap);
  }
  for (const n of natsUsed) {
    replayTaps.push(net.tapNat(n.name, 'inside', tapName(`replay-${n.name}-inside`), `replay: NAT ${n.name}, inside side`));
    const outside = net.tapNat(n.name, 'outside', tapName(`replay-${n.name}-outside`), `replay: NAT ${n.name}, outside side`);
    replayTaps.push(outside);
    if (analysisTaps.length === 0) analysisTaps.push(outside);
  }
  if (analysisTaps.length === 0 && replayTaps.length > 0) analysisTaps.push(replayTaps[0]!);

  for (const m of mapping) {
    const h = net.host(m.host);
    if (!h.app) net.attach(m.host, new SinkApp());
  }

  // ------------------------------------------------------------ observation
  const states = new Map<number, PacketState>();
  const expiries: Expiry[] = [];
  let current: PacketState | undefined;
  const probe = new ArrivalProbe((id) => (current = id === undefined ? undefined : states.get(id)));
  for (const l of net.links.values()) l.taps.push(probe);

  net.observe((e) => {
    switch (e.type) {
      case 'deliver': {
        const c = e.packet.comment;
        if (!c?.startsWith(NOTE_PREFIX)) return;
        const s = states.get(Number(c.slice(NOTE_PREFIX.length, c.indexOf(':'))));
        if (!s || s.deliveredAt !== undefined) return;
        if (e.host !== s.toHost) {
          s.wrongHost ??= e.host;
          return;
        }
        s.deliveredAt = e.at;
        const from: Target = e.packet.kind === 'udp' ? { addr: e.packet.src.addr, port: e.packet.src.port } : { addr: e.packet.src };
        arrived(s, from, e.at);
        return;
      }
      case 'drop': {
        const s = current;
        if (!s || s.drop || s.deliveredAt !== undefined) return;
        if (e.bytes.length > 0) {
          const cargo = cargoOf(e.bytes);
          const proto = s.pkt.protocol === 'udp' ? IP_PROTOCOL.UDP : IP_PROTOCOL.ESP;
          if (cargo !== 'fragment' && cargo !== undefined && (cargo.protocol !== proto || !bytesEqual(cargo.data, s.pkt.payload))) return;
        }
        s.drop = { at: e.at, where: e.where, reason: e.reason, natReason: e.reason === 'nat' ? (s.natReason ?? null) : null, detail: e.detail };
        return;
      }
      case 'nat': {
        const r = e.record;
        if (r.kind === 'expire' && r.mapping) {
          expiries.push({ nat: r.nat, view: r.mapping, expiredAt: (r.mapping.expiresAt ?? e.at - 1) + 1 });
          return;
        }
        const s = current;
        if (!s) return;
        if (r.kind === 'drop' && r.reason) s.natReason = r.reason;
        if (r.kind === 'translate' && r.mapping && !r.mapping.permanent) {
          const key = `${r.nat}#${r.mapping.id}`;
          let use = s.flow.mappings.get(key);
          if (!use) {
            use = { nat: r.nat, id: r.mapping.id, lastPacket: undefined };
            s.flow.mappings.set(key, use);
          }
          if (r.mappingState === 'created' || r.mappingState === 'refreshed') use.lastPacket = ref(s.pkt.frame, s.pkt.what, e.at);
        }
        return;
      }
      default:
        return;
    }
  });

  /** A packet of `s.flow` reached its host, from `from` as observed there. */
  function arrived(s: PacketState, from: Target, at: Micros): void {
    const f = s.flow;
    const side: 'a' | 'b' = s.dir === 'ab' ? 'b' : 'a';
    const sender: 'a' | 'b' = side === 'a' ? 'b' : 'a';
    const text = targetText(from);
    const pref = ref(s.pkt.frame, s.pkt.what, at);
    const seenList = f.publicEndpoints[sender];
    if (!seenList.some((x) => x.endpoint === text)) seenList.push({ endpoint: text, firstSeenUs: at });
    f.lastSeen[side] = text;
    const view = f.view[side];
    const open = f.stale[side].find((w) => w.recovered === null);
    const authenticated = s.pkt.kind !== 'NAT-keepalive';
    if (!view) {
      f.view[side] = from;
      return;
    }
    const viewText = targetText(view);
    if (text === viewText) {
      if (open) open.recovered = pref;
      return;
    }
    if (authenticated) {
      if (open) open.recovered = pref;
      else f.remaps.push({ ...pref, side, from: viewText, to: text });
      f.view[side] = from;
      return;
    }
    if (open) {
      if (!open.seen.includes(text)) open.seen.push(text);
    } else {
      f.stale[side].push({ opened: pref, oldEndpoint: viewText, newEndpoint: text, seen: [text], recovered: null });
    }
  }

  // ------------------------------------------------------------ flows and injection
  const flows = new Map<string, Flow>();
  const flowList: Flow[] = [];
  const newDir = (): DirCount => ({ injected: 0, delivered: 0, dropped: 0, lost: 0, kinds: {} });

  function flowOf(p: CapturedPacket): { flow: Flow; dir: 'ab' | 'ba' } {
    const src = { addr: p.src, ...(p.srcPort === undefined ? {} : { port: p.srcPort }), text: capturedEnd(p.src, p.srcPort), host: playerOf(p.src) };
    const dst = { addr: p.dst, ...(p.dstPort === undefined ? {} : { port: p.dstPort }), text: capturedEnd(p.dst, p.dstPort), host: playerOf(p.dst) };
    const k1 = `${p.protocol}|${src.text}|${dst.text}`;
    const k2 = `${p.protocol}|${dst.text}|${src.text}`;
    const got = flows.get(k1) ?? flows.get(k2);
    if (got) return { flow: got, dir: got.key === k1 ? 'ab' : 'ba' };
    // a is the inside end when exactly one end is inside, else the first sender.
    const swap = src.host.side === REPLAY_SIDE.OUTSIDE && dst.host.side === REPLAY_SIDE.INSIDE;
    const [a, b] = swap ? [dst, src] : [src, dst];
    const key = swap ? k2 : k1;
    const flow: Flow = {
      key,
      id: `${p.protocol} ${a.text} ⇄ ${b.text}`,
      protocol: p.protocol,
      a,
      b,
      ab: newDir(),
      ba: newDir(),
      view: {},
      lastSeen: {},
      publicEndpoints: { a: [], b: [] },
      stale: { a: [], b: [] },
      remaps: [],
      drops: [],
      mappings: new Map(),
      packets: [],
    };
    flows.set(key, flow);
    flowList.push(flow);
    return { flow, dir: swap ? 'ba' : 'ab' };
  }

  /** Where `from` sends to reach `to` before it has seen anything from it. */
  const initialTargets = new Map<string, IpAddress>();
  function initialAddress(from: ResolvedMapping, to: ResolvedMapping): IpAddress {
    const k = `${from.host}>${to.host}|${formatIp(to.address)}`;
    let a = initialTargets.get(k);
    if (!a) {
      const fromHost = net.host(from.host);
      const reach = walkPath(fromHost, to.address).reached;
      if (reach && reach.name === to.host) a = to.address;
      else {
        // IPv6 is never translated: only an IPv4 target hides behind a NAT's external address.
        const back = to.address.family === 4 ? walkPath(net.host(to.host), from.address).natsInside : [];
        const outer = back[back.length - 1];
        a = outer?.nat.external[0] ?? to.address;
      }
      initialTargets.set(k, a);
    }
    return a;
  }

  let nextId = 0;
  let lastAt = start;
  function inject(now: Micros, p: CapturedPacket): void {
    const { flow, dir } = flowOf(p);
    const from = dir === 'ab' ? flow.a : flow.b;
    const to = dir === 'ab' ? flow.b : flow.a;
    const side: 'a' | 'b' = dir === 'ab' ? 'a' : 'b';
    const view = flow.view[side];
    const target: Target = view ?? { addr: initialAddress(from.host, to.host), ...(to.port === undefined ? {} : { port: to.port }) };
    const id = ++nextId;
    const pref = ref(p.frame, p.what, now);
    const s: PacketState = { id, pkt: p, ref: pref, flow, dir, toHost: to.host.host, sentTo: targetText(target) };
    states.set(id, s);
    flow.packets.push(s);
    flow.first ??= pref;
    flow.last = pref;
    const c = flow[dir];
    c.injected++;
    c.kinds[p.kind] = (c.kinds[p.kind] ?? 0) + 1;
    const comment = `${NOTE_PREFIX}${id}: captured frame ${p.frame} at ${t(p.timestampUs - (scan.t0 ?? p.timestampUs))}, ${from.text} → ${to.text}`;
    const src = from.host.address;
    const tx: HostTransmit =
      p.protocol === 'udp'
        ? { kind: 'udp', src: { addr: src, port: p.srcPort! }, dst: { addr: target.addr, port: target.port ?? p.dstPort! }, payload: p.payload, zeroChecksum: p.zeroChecksum, dontFragment: p.dontFragment, comment }
        : { kind: 'esp', src, dst: target.addr, payload: p.payload, dontFragment: p.dontFragment, comment };
    current = s;
    net.send(from.host.host, tx);
    current = undefined;
  }
  function injectEvent(now: Micros, p: CapturedPacket): void {
    inject(now, p);
  }

  // ------------------------------------------------------------ pass 2: replay
  const skipped: Record<string, number> = {};
  let truncated: { offset: number; reason: string } | null = null;
  const reader = new FrameReader();
  try {
    for await (const e of source.entries()) {
      if (e.kind !== 'packet') continue;
      const r = reader.read(e);
      if (r.kind === 'held') continue;
      if (r.kind === 'skipped') {
        skipped[r.why] = (skipped[r.why] ?? 0) + 1;
        continue;
      }
      const at = Math.max(lastAt, start + (r.packet.timestampUs - (scan.t0 ?? r.packet.timestampUs)));
      lastAt = at;
      net.scheduler.at(at, injectEvent, r.packet);
      net.run(at);
    }
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    truncated = { offset: e.offset, reason: e.reason };
  }
  const endUs = Math.max(net.now, lastAt + settleTime(net));
  net.run(endUs);
  for (const l of net.links.values()) {
    const i = l.taps.indexOf(probe);
    if (i >= 0) l.taps.splice(i, 1);
  }

  // ------------------------------------------------------------ outcomes
  for (const s of states.values()) {
    const c = s.flow[s.dir];
    if (s.deliveredAt !== undefined) {
      c.delivered++;
      continue;
    }
    if (!s.drop && s.wrongHost) {
      s.drop = { at: s.ref.atUs, where: s.wrongHost, reason: 'wrong-host', natReason: null, detail: `delivered to host ${s.wrongHost} instead of ${s.toHost}` };
    }
    if (!s.drop || s.drop.reason === 'loss') {
      c.lost++;
      if (!s.drop) continue;
    } else {
      c.dropped++;
    }
    const d = s.drop;
    s.flow.drops.push({
      ...ref(s.pkt.frame, s.pkt.what, d.at),
      direction: s.dir === 'ab' ? 'a→b' : 'b→a',
      sentTo: s.sentTo,
      where: d.where,
      reason: d.reason,
      natReason: d.natReason,
      detail: d.detail,
    });
  }

  const expiryReports: ReplayExpiryReport[] = expiries.map((x) => {
    const key = `${x.nat}#${x.view.id}`;
    const users = flowList.filter((f) => f.mappings.has(key));
    const last = users.map((f) => f.mappings.get(key)!.lastPacket).find((p) => p !== undefined) ?? null;
    const next =
      users
        .flatMap((f) => f.packets)
        .filter((p) => p.ref.atUs >= x.expiredAt)
        .sort((p, q) => p.ref.atUs - q.ref.atUs || p.id - q.id)[0]?.ref ?? null;
    const lastUsed = x.view.lastUsedAt;
    return {
      nat: x.nat,
      mappingId: x.view.id,
      protocol: x.view.protocol,
      internal: x.view.internal,
      external: x.view.external,
      remote: x.view.remote ?? null,
      lastUsedAtUs: lastUsed,
      expiredAtUs: x.expiredAt,
      expiredAtS: x.expiredAt / 1_000_000,
      timeoutS: (x.expiredAt - 1 - lastUsed) / 1_000_000,
      flows: users.map((f) => f.id),
      lastPacket: last,
      nextPacket: next,
      harmless: next === null,
    };
  });

  const flowReports = flowList.map((f) => flowReport(f, expiryReports));
  const verdict = worstVerdict(flowReports.map((f) => f.verdict));

  // ------------------------------------------------------------ analysis of the far side
  const nats = natsUsed.length > 0 ? natsUsed : [...net.nodes.values()].filter((n): n is NatRouter => n instanceof NatRouter);
  const natTimeoutUs = nats.length > 0 ? Math.min(...nats.map((n) => n.nat.timeouts.udp)) : DEFAULT_NAT_TIMEOUT_US;
  const analyzer = new CaptureAnalyzer({ natTimeoutUs: natTimeoutUs > 0 ? natTimeoutUs : DEFAULT_NAT_TIMEOUT_US });
  for (const tap of analysisTaps) {
    await feedSource(analyzer, { name: tap.name, entries: () => readCaptureSync(concatAll(tap.chunks)) });
  }

  const allTaps = [...lab.taps.values(), ...replayTaps];
  const counted = flowReports.reduce(
    (acc, f) => {
      for (const d of [f.aToB, f.bToA]) {
        acc.replayed += d.injected;
        acc.delivered += d.delivered;
        acc.dropped += d.dropped;
        acc.lost += d.lost;
      }
      return acc;
    },
    { replayed: 0, delivered: 0, dropped: 0, lost: 0 },
  );
  const report: ReplayReport = {
    schemaVersion: REPLAY_REPORT_VERSION,
    capture: source.name,
    scenario: { name: scenario.name, file: scenario.file },
    startUs: start,
    endUs,
    mapping: mapping.map((m) => ({ captured: formatIp(m.captured), host: m.host, address: formatIp(m.address), side: m.side, rule: m.rule })),
    packets: { frames: scan.frames, ...counted, skipped },
    truncated,
    flows: flowReports,
    mappingExpiries: expiryReports,
    verdict,
    summary: summaryOf(flowReports, verdict),
    taps: allTaps.map((tp) => ({ name: tp.name, description: tp.options.description ?? '', packets: tp.count })),
    analysis: { taps: analysisTaps.map((tp) => tp.name), natTimeoutS: analyzer.natTimeoutUs / 1_000_000, report: analyzer.finish() },
  };
  return { report, taps: allTaps, lab };
}

// ---------------------------------------------------------------- verdicts in words

function dirReport(c: DirCount): DirectionReport {
  return { injected: c.injected, delivered: c.delivered, dropped: c.dropped, lost: c.lost, kinds: { ...c.kinds } };
}

function expiryOf(expiries: readonly ReplayExpiryReport[], flow: Flow, external: string, before: Micros): ReplayExpiryReport | undefined {
  return expiries
    .filter((x) => flow.mappings.has(`${x.nat}#${x.mappingId}`) && x.external === external && x.expiredAtUs <= before)
    .sort((x, y) => y.expiredAtUs - x.expiredAtUs)[0];
}

function expiryText(x: ReplayExpiryReport): string {
  const after = x.lastPacket ? `, ${span(x.expiredAtUs - 1 - x.lastUsedAtUs)} after the ${x.lastPacket.what} at ${t(x.lastPacket.atUs)}` : `, ${span(x.expiredAtUs - 1 - x.lastUsedAtUs)} idle`;
  return `the mapping for ${x.internal} (${x.external}) at NAT ${x.nat} expired at ${t(x.expiredAtUs)}${after}`;
}

function flowReport(f: Flow, expiries: readonly ReplayExpiryReport[]): ReplayFlowReport {
  const staleWindows: StaleWindowReport[] = (['a', 'b'] as const).flatMap((side) =>
    f.stale[side].map((w) => {
      const x = expiryOf(expiries, f, w.oldEndpoint, w.opened.atUs);
      return {
        side,
        opened: w.opened,
        oldEndpoint: w.oldEndpoint,
        newEndpoint: w.newEndpoint,
        endpointsSeen: [...w.seen],
        recovered: w.recovered,
        expiry: x ? { nat: x.nat, mappingId: x.mappingId, expiredAtUs: x.expiredAtUs, expiredAtS: x.expiredAtS } : null,
      };
    }),
  );
  staleWindows.sort((x, y) => x.opened.atUs - y.opened.atUs);
  const drops = [...f.drops].sort((x, y) => x.atUs - y.atUs || x.frame - y.frame);
  const hard = drops.filter((d) => d.reason !== 'loss');
  const lost = f.ab.lost + f.ba.lost;
  let verdict: FlowVerdict = FLOW_VERDICT.OK;
  if (hard.length > 0 || staleWindows.length > 0) verdict = FLOW_VERDICT.BROKEN;
  else if (lost > 0) verdict = FLOW_VERDICT.LOSSY;
  else if (f.remaps.length > 0) verdict = FLOW_VERDICT.REMAPPED;

  const sender = (d: ReplayDropReport): string => (d.direction === 'a→b' ? f.a.text : f.b.text);
  const parts: string[] = [];
  const firstHard = hard[0];
  const firstStale = staleWindows[0];
  let told: ReplayExpiryReport | undefined;
  if (firstHard) {
    const x = firstHard.natReason === 'no-mapping' ? expiryOf(expiries, f, firstHard.sentTo, firstHard.atUs) : undefined;
    const n = hard.length - 1;
    const more = n > 0 ? `; ${n} more packet${n === 1 ? '' : 's'} dropped` : '';
    if (x) {
      told = x;
      parts.push(
        `${expiryText(x)}; the next packet from ${sender(firstHard)}, ${firstHard.what} at ${t(firstHard.atUs)}, was dropped: no mapping for ${firstHard.sentTo}${more}`,
      );
    } else {
      parts.push(`the ${firstHard.what} from ${sender(firstHard)} at ${t(firstHard.atUs)} was dropped by ${firstHard.where} (${firstHard.reason}): ${firstHard.detail}${more}`);
    }
  }
  if (firstStale) {
    const e = firstStale.expiry;
    const x = e ? expiries.find((y) => y.nat === e.nat && y.mappingId === e.mappingId) : undefined;
    const peer = firstStale.side === 'b' ? f.b.text : f.a.text;
    const head = x && x !== told ? `${expiryText(x)}; ` : '';
    const changes = firstStale.endpointsSeen.length > 1 ? ` (then ${firstStale.endpointsSeen.slice(1).join(', ')})` : '';
    const until = firstStale.recovered
      ? `until the ${firstStale.recovered.what} at ${t(firstStale.recovered.atUs)} moved it (RFC 7296 §2.23): whatever it sent in between was lost`
      : 'and never learned the new one: whatever it sent afterwards was lost';
    parts.push(
      `${head}the ${firstStale.opened.what} at ${t(firstStale.opened.atUs)} arrived from a new public endpoint ${firstStale.newEndpoint}${changes}; ` +
        `a NAT-keepalive carries no integrity protection, so ${peer} kept sending to ${firstStale.oldEndpoint} ${until}`,
    );
  }
  if (parts.length === 0) {
    const total = f.ab.injected + f.ba.injected;
    if (verdict === FLOW_VERDICT.LOSSY) parts.push(`${lost} of ${total} packets lost on links or in flight; no device dropped any`);
    else parts.push(`all ${total} packets delivered`);
    const r = f.remaps[0];
    if (r) {
      const x = expiryOf(expiries, f, r.from, r.atUs);
      parts.push(`${x ? `${expiryText(x)}; ` : ''}the public endpoint changed from ${r.from} to ${r.to} with the ${r.what} at ${t(r.atUs)}, which the peer follows (RFC 7296 §2.23)`);
    }
    const idle = expiries.filter((x) => x.harmless && x.flows.includes(f.id));
    for (const x of idle) parts.push(`${expiryText(x)}, after the flow's last packet`);
  }
  const first = f.first!;
  const last = f.last!;
  return {
    id: f.id,
    protocol: f.protocol,
    a: f.a.text,
    b: f.b.text,
    aHost: f.a.host.host,
    bHost: f.b.host.host,
    first,
    last,
    aToB: dirReport(f.ab),
    bToA: dirReport(f.ba),
    publicEndpoints: { a: [...f.publicEndpoints.a], b: [...f.publicEndpoints.b] },
    drops,
    remaps: [...f.remaps],
    staleWindows,
    mappings: [...f.mappings.keys()],
    verdict,
    explanation: parts.join('; '),
  };
}

function summaryOf(flows: readonly ReplayFlowReport[], verdict: FlowVerdict): string {
  if (flows.length === 0) return 'nothing to replay: the capture holds no UDP or ESP datagrams';
  const counts = new Map<FlowVerdict, number>();
  for (const f of flows) counts.set(f.verdict, (counts.get(f.verdict) ?? 0) + 1);
  const parts = (['broken', 'lossy', 'remapped', 'ok'] as const).filter((v) => counts.has(v)).map((v) => `${counts.get(v)} ${v}`);
  const head = verdict === FLOW_VERDICT.BROKEN ? 'would have broken' : verdict === FLOW_VERDICT.OK ? 'every flow made it' : `every flow made it (${verdict})`;
  return `${head}: ${flows.length} flow${flows.length === 1 ? '' : 's'}, ${parts.join(', ')}`;
}
