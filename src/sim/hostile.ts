/**
 * A hostile host for the lab: an application that sends what an attacker on the
 * Internet can send, on a schedule in virtual time, from the seeded Rng.
 *
 *  - `flood()`: IKE_SA_INIT requests from spoofed source addresses and ports (drawn
 *    from a prefix) at a given rate. Each one is a well-formed request the responder
 *    accepts (its proposals, a valid KE public value, a fresh SPIi and Nonce), so that
 *    below the COOKIE threshold every one of them costs the responder a half-open SA
 *    and a Diffie-Hellman computation. The attacker never sees the answers (they go to
 *    the spoofed addresses), so it cannot return a COOKIE.
 *  - `replay()`: a captured IP packet sent again, byte for byte (IKE requests and
 *    responses, ESP), with its original (spoofed) source.
 *  - `forgeEsp()` / `forgeIke()`: a captured packet with chosen bytes changed (ESP
 *    sequence number moved ahead and the ICV corrupted; IKE SPIs or ICV), its UDP
 *    checksum recomputed so that it reaches the IPsec layer.
 *
 * Packets with a source that is not the host's own go straight out of its interface
 * (`Host.sendPacket`), as a raw socket would send them; answers addressed to the host
 * are counted and otherwise ignored.
 *
 * A scenario's `attackers:` (docs/scenario-reference.md) come here through
 * `attachAttackers()`: floods as above, and replays and forgeries of what a recorder
 * next to the target peer saw, picked when each one is due.
 */
import { formatEndpoint, prefixContains, type Endpoint, type IpAddress, type Prefix } from '../core/addr.ts';
import { toHex } from '../core/bytes.ts';
import type { Rng } from '../core/rng.ts';
import type { Micros } from '../core/time.ts';
import { createDh } from '../crypto/dh.ts';
import { parseProposals } from '../crypto/proposals.ts';
import { DEFAULT_IKE_PROPOSALS } from '../ikev2/config.ts';
import { firstDhGroup, saPayloadOf } from '../ikev2/proposal-wire.ts';
import { ExchangeType, HeaderFlag, PayloadType, ProtocolId } from '../wire/ike/constants.ts';
import { ikeHeaderFields } from '../wire/ike/header.ts';
import { encodeMessage } from '../wire/ike/message.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { classifyUdpPayload } from '../wire/udp-encap.ts';
import type { HostApplication, HostReceived, HostTransmit } from './host-app.ts';
import type { IpsecPeer } from './ipsec-peer.ts';
import type { Host, Network } from './network.ts';
import { buildIpPacket, buildUdpPacket, parsePacket } from './packet.ts';
import type { AttackExchange, Scenario, ScenarioAttacker } from './scenario.ts';

const S = 1_000_000;
const NONCE_LENGTH = 32;

export interface InitFloodOptions {
  /** The responder's IKE endpoint (address and port 500). */
  readonly target: Endpoint;
  /** How many requests. */
  readonly count: number;
  /** Requests per second (spread evenly). */
  readonly rate: number;
  /** When the first is sent (default: now). */
  readonly start?: Micros;
  /** Spoofed source addresses are drawn from this prefix (IPv4). */
  readonly sources: Prefix;
  /** Proposals in strongSwan syntax, as the responder accepts them (default the engine's). */
  readonly ikeProposals?: string;
}

export interface HostileStats {
  /** Spoofed IKE_SA_INIT requests sent. */
  spoofedInits: number;
  /** Captured packets sent again unchanged. */
  replayed: number;
  /** Altered packets sent. */
  forged: number;
  /** Packets that reached the hostile host itself. */
  received: number;
}

interface Flood {
  readonly opts: InitFloodOptions;
  readonly start: Micros;
  readonly template: Uint8Array;
  readonly progress: AttackProgress | undefined;
  sent: number;
}

/** What one campaign (a scenario attacker) has done so far. */
export interface AttackProgress {
  /** Packets sent. */
  sent: number;
  /** Scheduled replays or forgeries not sent: nothing of the kind had been recorded yet. */
  missed: number;
  firstAt: Micros | undefined;
  lastAt: Micros | undefined;
}

/** A packet made when it is due (from what was recorded by then), or undefined when there is nothing to send. */
export type PacketMaker = () => { readonly bytes: Uint8Array; readonly comment: string } | undefined;

interface Scheduled {
  readonly at: Micros;
  readonly bytes: Uint8Array | PacketMaker;
  readonly comment: string;
  readonly kind: 'replayed' | 'forged';
  readonly progress: AttackProgress | undefined;
}

function count(p: AttackProgress | undefined, now: Micros): void {
  if (!p) return;
  p.sent++;
  p.firstAt ??= now;
  p.lastAt = now;
}

/** The packet with a new transport payload (UDP) or ESP body (IP protocol 50), checksums recomputed. */
export function withPayload(packet: Uint8Array, payload: Uint8Array): Uint8Array {
  const p = parsePacket(packet);
  const common = { src: p.src, dst: p.dst, identification: p.identification, ttl: p.ttl };
  if (p.protocol === IP_PROTOCOL.UDP && p.srcPort !== undefined && p.dstPort !== undefined) {
    return buildUdpPacket({ ...common, srcPort: p.srcPort, dstPort: p.dstPort, payload });
  }
  return buildIpPacket({ ...common, protocol: p.protocol, payload });
}

/** The transport payload of a packet: the UDP payload, or the whole ESP for IP protocol 50. */
export function transportPayload(packet: Uint8Array): Uint8Array {
  const p = parsePacket(packet);
  return p.protocol === IP_PROTOCOL.UDP ? p.l4.subarray(8) : p.l4;
}

/**
 * An ESP packet (raw or ESP-in-UDP) moved to sequence number `sequence` with the last
 * byte of its ICV flipped: it passes the anti-replay check and fails integrity.
 */
export function forgedEsp(packet: Uint8Array, sequence: number): Uint8Array {
  const esp = new Uint8Array(transportPayload(packet));
  new DataView(esp.buffer).setUint32(4, sequence >>> 0);
  esp[esp.length - 1]! ^= 0x01;
  return withPayload(packet, esp);
}

/** A captured IKE packet with `edit` applied to its IKE message (after the non-ESP marker on 4500). */
export function forgedIke(packet: Uint8Array, edit: (ike: Uint8Array) => void): Uint8Array {
  const p = parsePacket(packet);
  const payload = new Uint8Array(transportPayload(packet));
  const marker = p.srcPort !== 500 && p.dstPort !== 500 ? 4 : 0;
  edit(payload.subarray(marker));
  return withPayload(packet, payload);
}

/** A well-formed IKE_SA_INIT request (SA, KE, Nonce last) whose SPIi and Nonce are overwritten per copy. */
function initTemplate(proposalText: string, rng: Rng): Uint8Array {
  const proposals = parseProposals(proposalText, 'ike');
  const dh = createDh(firstDhGroup(proposals), rng);
  return encodeMessage({
    header: ikeHeaderFields({ spiI: new Uint8Array(8), spiR: new Uint8Array(8), exchangeType: ExchangeType.IKE_SA_INIT, flags: HeaderFlag.I, messageId: 0 }),
    payloads: [
      saPayloadOf(proposals, ProtocolId.IKE, new Uint8Array(0)),
      { type: PayloadType.KE, critical: false, dhGroup: dh.group, data: dh.publicValue },
      { type: PayloadType.NONCE, critical: false, data: new Uint8Array(NONCE_LENGTH) },
    ],
  });
}

export class HostileApp implements HostApplication {
  readonly stats: HostileStats = { spoofedInits: 0, replayed: 0, forged: 0, received: 0 };
  private readonly host: Host;
  private readonly floods: Flood[] = [];
  private readonly queue: Scheduled[] = [];
  /** Transport payloads of the replayed and forged packets sent (hex), so recorders leave them out. */
  readonly sent = new Set<string>();

  constructor(
    private readonly net: Network,
    hostName: string,
    private readonly rng: Rng,
  ) {
    this.host = net.host(hostName);
  }

  /** Schedules a spoofed IKE_SA_INIT flood. */
  flood(opts: InitFloodOptions, progress?: AttackProgress): void {
    if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`flood count must be a non-negative integer, got ${opts.count}`);
    if (!(opts.rate > 0)) throw new RangeError(`flood rate must be positive, got ${opts.rate}`);
    if (opts.sources.addr.family !== 4) throw new RangeError('flood sources must be an IPv4 prefix');
    const template = initTemplate(opts.ikeProposals ?? DEFAULT_IKE_PROPOSALS, this.rng);
    this.floods.push({ opts, start: Math.max(opts.start ?? this.net.now, this.net.now), template, progress, sent: 0 });
    this.net.wake(this.host.name);
  }

  /**
   * Sends a captured IP packet again, unchanged, at `at`; or, given a PacketMaker, the
   * packet it makes then (a replay of what was recorded by that time).
   */
  replay(packet: Uint8Array | PacketMaker, at: Micros, comment = 'replayed capture', progress?: AttackProgress): void {
    this.schedule({ at, bytes: typeof packet === 'function' ? packet : new Uint8Array(packet), comment, kind: 'replayed', progress });
  }

  /** Sends an altered packet (see forgedEsp, forgedIke) at `at`; or the one a PacketMaker makes then. */
  forge(packet: Uint8Array | PacketMaker, at: Micros, comment = 'forged packet', progress?: AttackProgress): void {
    this.schedule({ at, bytes: typeof packet === 'function' ? packet : new Uint8Array(packet), comment, kind: 'forged', progress });
  }

  /** The rng of this host (forged SPIs). */
  get random(): Rng {
    return this.rng;
  }

  /** Whether everything scheduled has been sent. */
  get done(): boolean {
    return this.queue.length === 0 && this.floods.every((f) => f.sent >= f.opts.count);
  }

  // ---------------------------------------------------------------- HostApplication

  handlePacket(_p: HostReceived, _now: Micros): void {
    this.stats.received++;
  }

  handleTimeout(now: Micros): void {
    for (const f of this.floods) {
      while (f.sent < f.opts.count && this.floodTime(f, f.sent) <= now) this.sendSpoofedInit(f, now);
    }
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      const s = this.queue.shift()!;
      const made = typeof s.bytes === 'function' ? s.bytes() : { bytes: s.bytes, comment: s.comment };
      if (!made) {
        if (s.progress) s.progress.missed++;
        continue;
      }
      if (s.kind === 'replayed') this.stats.replayed++;
      else this.stats.forged++;
      count(s.progress, now);
      this.sent.add(toHex(transportPayload(made.bytes)));
      this.host.sendPacket(made.bytes, now, `${this.host.name}: ${made.comment}`);
    }
  }

  pollTransmit(): HostTransmit | undefined {
    return undefined;
  }

  pollTimeout(): Micros | undefined {
    let best: Micros | undefined = this.queue[0]?.at;
    for (const f of this.floods) {
      if (f.sent >= f.opts.count) continue;
      const t = this.floodTime(f, f.sent);
      if (best === undefined || t < best) best = t;
    }
    return best;
  }

  // ---------------------------------------------------------------- internals

  private schedule(s: Scheduled): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.at > s.at) i--;
    this.queue.splice(i, 0, s);
    this.net.wake(this.host.name);
  }

  private floodTime(f: Flood, i: number): Micros {
    return f.start + Math.floor((i * S) / f.opts.rate);
  }

  private spoofedSource(prefix: Prefix): Endpoint {
    const base = prefix.addr.bytes;
    const hostBits = 32 - prefix.length;
    const r = hostBits === 0 ? 0 : hostBits >= 32 ? this.rng.u32() : this.rng.u32() % 2 ** hostBits;
    const v = ((((base[0]! << 24) | (base[1]! << 16) | (base[2]! << 8) | base[3]!) >>> 0) + r) >>> 0;
    const addr: IpAddress = { family: 4, bytes: Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff) };
    return { addr, port: 1024 + (this.rng.u32() % 64512) };
  }

  private sendSpoofedInit(f: Flood, now: Micros): void {
    const ike = new Uint8Array(f.template);
    ike.set(this.rng.bytes(8), 0);
    ike.set(this.rng.bytes(NONCE_LENGTH), ike.length - NONCE_LENGTH);
    const src = this.spoofedSource(f.opts.sources);
    const bytes = buildUdpPacket({ src: src.addr, dst: f.opts.target.addr, srcPort: src.port, dstPort: f.opts.target.port, payload: ike, identification: f.sent & 0xffff });
    f.sent++;
    this.stats.spoofedInits++;
    count(f.progress, now);
    this.host.sendPacket(bytes, now, `${this.host.name}: spoofed IKE_SA_INIT ${f.sent}/${f.opts.count} from ${formatEndpoint(src)}`);
  }
}

// ---------------------------------------------------------------------- scenario attackers

/** One `attackers:` entry of a scenario at work. */
export interface AttackerRun {
  readonly attacker: ScenarioAttacker;
  readonly app: HostileApp;
  /** Where its packets go: an address:port (flood) or the peer whose traffic it replays. */
  readonly target: string;
  readonly progress: AttackProgress;
}

const EXCHANGE_OF: Record<AttackExchange, number> = {
  'ike-sa-init': ExchangeType.IKE_SA_INIT,
  'ike-auth': ExchangeType.IKE_AUTH,
  'create-child-sa': ExchangeType.CREATE_CHILD_SA,
  informational: ExchangeType.INFORMATIONAL,
};
const EXCHANGE_NAME: Record<AttackExchange, string> = {
  'ike-sa-init': 'IKE_SA_INIT',
  'ike-auth': 'IKE_AUTH',
  'create-child-sa': 'CREATE_CHILD_SA',
  informational: 'INFORMATIONAL',
};
/** Packets a recorder keeps of each kind (the first ones). */
const RECORD_LIMIT = 10_000;

interface RecordedIke {
  readonly bytes: Uint8Array;
  readonly exchange: number;
  readonly response: boolean;
}

/**
 * What an eavesdropper next to a peer records: the IKE messages the peer's host received
 * and sent, and the ESP it received (the IP packets as they were there), each once.
 * Packets from or to spoofed sources and attacker hosts, and the replays and forgeries
 * the hostile hosts sent, are left out.
 */
class PeerRecorder {
  readonly ike: RecordedIke[] = [];
  readonly esp: Uint8Array[] = [];
  private readonly seen = new Set<string>();
  private readonly stop: () => void;

  constructor(
    net: Network,
    private readonly peer: IpsecPeer,
    private readonly excluded: readonly Prefix[],
    private readonly apps: readonly HostileApp[],
  ) {
    const host = peer.hostName;
    this.stop = net.observe(
      (e) => {
        if (e.type === 'deliver' && e.host === host && e.tunnel === undefined) this.received(e.packet);
        else if (e.type === 'send' && e.host === host) this.sentByPeer(e.bytes);
      },
      { types: ['deliver', 'send'] },
    );
  }

  done(): void {
    this.stop();
  }

  private outside(a: IpAddress): boolean {
    for (const p of this.excluded) if (prefixContains(p, a)) return true;
    return false;
  }

  /** True the first time a transport payload is seen, and not for what a hostile host sent. */
  private fresh(payload: Uint8Array): boolean {
    const k = toHex(payload);
    if (this.seen.has(k) || this.apps.some((a) => a.sent.has(k))) return false;
    this.seen.add(k);
    return true;
  }

  private received(p: HostReceived): void {
    if (p.kind === 'esp') {
      if (!this.outside(p.src) && this.esp.length < RECORD_LIMIT && this.fresh(p.payload)) this.esp.push(new Uint8Array(p.ip));
      return;
    }
    if (p.kind !== 'udp' || this.outside(p.src.addr)) return;
    const ports = this.peer.config.ports;
    if (p.dst.port !== ports.ike && p.dst.port !== ports.natt) return;
    const c = classifyUdpPayload(p.src.port, p.dst.port, p.payload);
    if (c.kind === 'esp') {
      if (this.esp.length < RECORD_LIMIT && this.fresh(p.payload)) this.esp.push(new Uint8Array(p.ip));
    } else if (c.kind === 'ike' || c.kind === 'ike-nonesp') {
      this.ike1(p.ip, c.ike, p.payload);
    }
  }

  private sentByPeer(bytes: Uint8Array): void {
    // Answers to spoofed sources (a flood's COOKIEs) are the bulk: leave them out before parsing.
    if (bytes.length >= 20 && bytes[0]! >> 4 === 4) {
      const dst: IpAddress = { family: 4, bytes: bytes.subarray(16, 20) };
      if (this.outside(dst)) return;
    }
    let p;
    try {
      p = parsePacket(bytes);
    } catch {
      return;
    }
    if (p.protocol !== IP_PROTOCOL.UDP || p.srcPort === undefined || p.dstPort === undefined || this.outside(p.dst)) return;
    const payload = p.l4.subarray(8);
    const c = classifyUdpPayload(p.srcPort, p.dstPort, payload);
    if (c.kind === 'ike' || c.kind === 'ike-nonesp') this.ike1(bytes, c.ike, payload);
  }

  private ike1(ip: Uint8Array, ike: Uint8Array, payload: Uint8Array): void {
    if (ike.length < 28 || this.ike.length >= RECORD_LIMIT || !this.fresh(payload)) return;
    this.ike.push({ bytes: new Uint8Array(ip), exchange: ike[18]!, response: (ike[19]! & HeaderFlag.R) !== 0 });
  }
}

function sequenceOf(packet: Uint8Array): { spi: number; sequence: number } {
  const esp = transportPayload(packet);
  const v = new DataView(esp.buffer, esp.byteOffset, esp.byteLength);
  return { spi: v.getUint32(0), sequence: v.getUint32(4) };
}

/**
 * Puts the scenario's attackers to work: one HostileApp per attacker host, floods
 * scheduled, and for replays and forgeries a recorder next to each target peer whose
 * packets are picked when each one is due.
 */
export function attachAttackers(s: Scenario, net: Network, peers: ReadonlyMap<string, IpsecPeer>): AttackerRun[] {
  if (s.attackers.length === 0) return [];
  const apps = new Map<string, HostileApp>();
  for (const a of s.attackers) {
    if (!apps.has(a.host)) apps.set(a.host, new HostileApp(net, a.host, net.rng.fork(`attacker:${a.host}`)));
  }
  // Neither spoofed sources nor the attackers' own addresses are the traffic worth recording.
  const excluded: Prefix[] = [];
  for (const a of s.attackers) if (a.kind === 'ike-init-flood' && a.spoof) excluded.push(a.spoof);
  for (const h of apps.keys()) {
    for (const i of net.host(h).interfaces.values()) for (const p of i.addresses) excluded.push({ addr: p.addr, length: p.addr.family === 4 ? 32 : 128 });
  }
  const recorders = new Map<string, { recorder: PeerRecorder; pending: number }>();
  const runs: AttackerRun[] = [];
  for (const a of s.attackers) {
    const app = apps.get(a.host)!;
    const progress: AttackProgress = { sent: 0, missed: 0, firstAt: undefined, lastAt: undefined };
    if (a.kind === 'ike-init-flood') {
      const peer = 'peer' in a.target ? peers.get(a.target.peer) : undefined;
      const target: Endpoint = 'endpoint' in a.target ? a.target.endpoint : { addr: peer!.config.localAddrs[0]!, port: peer!.config.ports.ike };
      const own = net.host(a.host).primaryAddress(4);
      const sources = a.spoof ?? (own ? { addr: own, length: 32 } : undefined);
      if (!sources) throw new RangeError(`attacker host ${a.host} has no IPv4 address and no spoof prefix`);
      const proposals = a.proposals ?? peer?.config.ikeProposalText;
      app.flood({ target, count: a.count, rate: a.rate, start: a.start, sources, ...(proposals ? { ikeProposals: proposals } : {}) }, progress);
      runs.push({ attacker: a, app, target: formatEndpoint(target), progress });
      continue;
    }
    const peer = peers.get(a.target.peer)!;
    let rec = recorders.get(peer.name);
    if (!rec) recorders.set(peer.name, (rec = { recorder: new PeerRecorder(net, peer, excluded, [...apps.values()]), pending: 0 }));
    const r = rec;
    r.pending += a.count;
    const settle = (): void => {
      if (--r.pending === 0) r.recorder.done();
    };
    for (let i = 0; i < a.count; i++) {
      const at = a.at + i * a.interval;
      const n = `${i + 1}/${a.count}`;
      let make: PacketMaker;
      if (a.kind === 'ike-replay' || a.kind === 'ike-forge') {
        const want = EXCHANGE_OF[a.exchange];
        const response = a.message === 'response';
        const what = `${EXCHANGE_NAME[a.exchange]} ${a.message}`;
        make = () => {
          settle();
          const m = r.recorder.ike.filter((x) => x.exchange === want && x.response === response).at(-1);
          if (!m) return undefined;
          if (a.kind === 'ike-replay') return { bytes: m.bytes, comment: `${a.name}: replayed ${what} of ${peer.name} ${n}` };
          if (a.corrupt === 'icv') return { bytes: forgedIke(m.bytes, (b) => (b[b.length - 1]! ^= 0x01)), comment: `${a.name}: ${what} of ${peer.name} with a corrupted ICV ${n}` };
          const spi = app.random.bytes(8);
          return { bytes: forgedIke(m.bytes, (b) => b.set(spi, 8)), comment: `${a.name}: ${what} of ${peer.name} for an unknown SA (SPIr ${toHex(spi)}) ${n}` };
        };
      } else {
        make = () => {
          settle();
          const list = r.recorder.esp;
          if (list.length === 0) return undefined;
          const base = list[i % list.length]!;
          if (a.kind === 'esp-replay') return { bytes: base, comment: `${a.name}: replayed ESP to ${peer.name} ${n}` };
          const { spi } = sequenceOf(base);
          const highest = Math.max(...list.map(sequenceOf).filter((x) => x.spi === spi).map((x) => x.sequence));
          return { bytes: forgedEsp(base, highest + 100 + i), comment: `${a.name}: ESP to ${peer.name} with a corrupted ICV ${n}` };
        };
      }
      if (a.kind === 'ike-replay' || a.kind === 'esp-replay') app.replay(make, at, a.name, progress);
      else app.forge(make, at, a.name, progress);
    }
    runs.push({ attacker: a, app, target: peer.name, progress });
  }
  for (const [h, app] of apps) net.attach(h, app);
  return runs;
}
