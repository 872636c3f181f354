/**
 * Where each capture was taken, relative to the NATs of an IKE SA. With one capture
 * per side of a NAT (inside.pcap, outside.pcap) the same message shows two address
 * pairs; NAT-D says which capture saw the sender's own address (inside its NAT) and
 * which saw the translated one. The explain narrative and the ladder diagram both
 * read captures through this view.
 */
import type { CaptureTimeline, IkeObservation, LogicalIkeMessage } from './timeline.ts';
import type { EndpointSets, IkeSaReport, Role } from './report.ts';

export const ROLES = ['initiator', 'responder'] as const;

export const otherRole = (r: Role): Role => (r === 'initiator' ? 'responder' : 'initiator');

/** "10.77.0.2" from "10.77.0.2:500", "2001:db8::1" from "[2001:db8::1]:500"; bare addresses unchanged. */
export function hostOf(endpoint: string): string {
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(endpoint);
  if (v6) return v6[1]!;
  const v4 = /^([^:]+):\d+$/.exec(endpoint);
  return v4 ? v4[1]! : endpoint;
}

/** The port of "address:port", or null for a bare address. */
export function portOf(endpoint: string): number | null {
  const m = /:(\d+)$/.exec(endpoint);
  return m && (endpoint.startsWith('[') || !endpoint.slice(0, -m[0].length).includes(':')) ? Number(m[1]) : null;
}

/** The last path component of a capture name, for titles. */
export function baseName(name: string): string {
  return name.split(/[\\/]/).pop() || name;
}

const inSets = (s: EndpointSets, ep: string) => s.on500.includes(ep) || s.on4500.includes(ep);

/** Who sent an observed IKE message of this SA (IKEv2 from the I flag, IKEv1 from the endpoints). */
export function senderOf(o: Pick<IkeObservation, 'fromInitiator' | 'src' | 'dst'>, sa: IkeSaReport): Role {
  if (o.fromInitiator !== null) return o.fromInitiator ? 'initiator' : 'responder';
  if (inSets(sa.initiatorEndpoints, o.src)) return 'initiator';
  if (inSets(sa.responderEndpoints, o.src)) return 'responder';
  if (inSets(sa.initiatorEndpoints, o.dst)) return 'responder';
  return 'initiator';
}

/** Finds the SA of an observation by version and SPIs (a zero SPIr matches the SA of its SPIi). */
export class SaIndex {
  private readonly exact = new Map<string, IkeSaReport>();
  private readonly bySpiI = new Map<string, IkeSaReport>();

  constructor(sas: readonly IkeSaReport[]) {
    for (const sa of sas) {
      this.exact.set(`${sa.version}|${sa.spiI}|${sa.spiR}`, sa);
      if (!this.bySpiI.has(`${sa.version}|${sa.spiI}`)) this.bySpiI.set(`${sa.version}|${sa.spiI}`, sa);
    }
  }

  find(m: Pick<LogicalIkeMessage, 'version' | 'spiI' | 'spiR'>): IkeSaReport | undefined {
    return this.exact.get(`${m.version}|${m.spiI}|${m.spiR}`) ?? this.bySpiI.get(`${m.version}|${m.spiI}`);
  }
}

export interface SaVantage {
  readonly sa: IkeSaReport;
  /** Captures taken on the inside of each side's NAT (between the peer and its NAT). */
  readonly inside: Readonly<Record<Role, ReadonlySet<number>>>;
  /** Captures on both sides of that side's NAT exist: the NAT can be drawn between them. */
  readonly natVisible: Readonly<Record<Role, boolean>>;
  /** Each side's address as captured closest to it (its own address when a capture inside its NAT exists). */
  readonly ownAddress: Readonly<Record<Role, string | null>>;
  /** Each side's address as seen beyond its NAT (null when no capture shows it). */
  readonly outsideAddress: Readonly<Record<Role, string | null>>;
}

/** The address each side used in each capture, from the observed messages of the SA. */
function addressesByCapture(sa: IkeSaReport, obs: readonly IkeObservation[]): Record<Role, Map<number, string>> {
  const out: Record<Role, Map<number, string>> = { initiator: new Map(), responder: new Map() };
  for (const o of obs) {
    const s = senderOf(o, sa);
    if (!out[s].has(o.capture)) out[s].set(o.capture, hostOf(o.src));
    const r = otherRole(s);
    if (!out[r].has(o.capture)) out[r].set(o.capture, hostOf(o.dst));
  }
  return out;
}

/**
 * Decides for each capture of the SA whether it lies inside a side's NAT: the side's
 * SOURCE hash matches there, or its peer's DESTINATION hash for it does not. A
 * capture without hashes counts as inside when it shows the side at the same address
 * as a capture known to be inside.
 */
export function saVantage(sa: IkeSaReport, timeline: CaptureTimeline): SaVantage {
  const index = new SaIndex([sa]);
  const obs = timeline.ike.filter((o) => index.find(o) === sa);
  const addrs = addressesByCapture(sa, obs);
  const nd = sa.natDetection;
  const behind: Record<Role, boolean> = { initiator: nd.initiatorBehindNat === true, responder: nd.responderBehindNat === true };
  const inside: Record<Role, Set<number>> = { initiator: new Set(), responder: new Set() };
  for (const h of nd.hashes) {
    if (h.kind === 'source' && h.status === 'match' && behind[h.sender]) inside[h.sender].add(h.capture);
    if (h.kind === 'destination' && h.status === 'mismatch') inside[otherRole(h.sender)].add(h.capture);
  }
  for (const r of ROLES) {
    const known = new Set([...inside[r]].map((c) => addrs[r].get(c)).filter((a): a is string => a !== undefined));
    for (const [c, a] of addrs[r]) if (known.has(a)) inside[r].add(c);
  }
  const natVisible = {} as Record<Role, boolean>;
  const ownAddress = {} as Record<Role, string | null>;
  const outsideAddress = {} as Record<Role, string | null>;
  for (const r of ROLES) {
    const caps = [...addrs[r].keys()];
    const ins = caps.filter((c) => inside[r].has(c));
    const outs = caps.filter((c) => !inside[r].has(c));
    natVisible[r] = behind[r] && ins.length > 0 && outs.length > 0;
    const first = r === 'initiator' ? sa.initiator : sa.responder;
    ownAddress[r] = addrs[r].get(ins[0] ?? caps[0] ?? -1) ?? (first ? hostOf(first) : null);
    outsideAddress[r] = outs.length ? addrs[r].get(outs[0]!)! : null;
  }
  return { sa, inside, natVisible, ownAddress, outsideAddress };
}

/**
 * The position of a capture on the path from `sender` to its peer: 0 inside the
 * sender's NAT (when drawn), the last hop inside the receiver's NAT (when drawn),
 * the public middle otherwise. `hops` is the number of hops on the path.
 */
export function hopOf(v: SaVantage, sender: Role, capture: number): { hop: number; hops: number } {
  const receiver = otherRole(sender);
  const hops = 1 + (v.natVisible[sender] ? 1 : 0) + (v.natVisible[receiver] ? 1 : 0);
  if (v.natVisible[sender] && v.inside[sender].has(capture)) return { hop: 0, hops };
  if (v.natVisible[receiver] && v.inside[receiver].has(capture)) return { hop: hops - 1, hops };
  return { hop: v.natVisible[sender] ? 1 : 0, hops };
}
