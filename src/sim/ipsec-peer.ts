/**
 * An IPsec peer on a lab host: one IkeEndpoint (the sans-I/O engine) and one ESP
 * datapath (SAD + EspProcessor), plugged into the host through the HostApplication
 * seam and into the host's test traffic as its security policy (TrafficTunnel).
 *
 *   UDP to our IKE/NAT-T ports ─ classifyUdpPayload ─┬─ IKE        → engine.handleDatagram
 *                                                    ├─ ESP        → datapath (receiveEsp)
 *                                                    └─ keepalive  → counted
 *   raw ESP (protocol 50) ────────────────────────────── datapath
 *   engine events: child-established → SAs installed; peer-address-updated → SAs follow;
 *                  sa-deleted with DPD action restart → initiate again
 *   test traffic matching our traffic selectors → protect() → outer packet(s) sent;
 *   inner packets out of the tunnel → delivered on the host (echo requests answered
 *   through the tunnel).
 *
 * Every packet the peer sends carries a comment that says why it was sent (the NAT-D
 * verdict, the float, a keepalive's idle time, a retransmission's wait, a DPD check,
 * the encapsulation of a CHILD_SA).
 */
import { formatEndpoint, formatIp, type Endpoint, type IpAddress } from '../core/addr.ts';
import { toHex } from '../core/bytes.ts';
import type { Rng } from '../core/rng.ts';
import type { Micros } from '../core/time.ts';
import { EncrId, IntegId, encrInfo, integInfo, type CipherSuite } from '../crypto/algorithms.ts';
import { encrName } from '../crypto/proposals.ts';
import { resolvePeerConfig, type IkeEndpointConfig, type ResolvedPeerConfig } from '../ikev2/config.ts';
import { IkeEndpoint } from '../ikev2/endpoint.ts';
import type { ChildId, IkeEvent, IkeEventOf, SaId } from '../ikev2/events.ts';
import type { Transmit } from '../ikev2/task-manager.ts';
import { parseTrafficSelector, type TrafficSelector } from '../ikev2/traffic-selectors.ts';
import { EspProcessor, type OuterInfo } from '../ipsec/esp-processor.ts';
import { SecurityAssociationDatabase } from '../ipsec/sad.ts';
import { newSaCounters, addCounters, type SaCounters } from '../ipsec/counters.ts';
import { showCryptoIpsecSa } from '../ipsec/show.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { UdpCodec, verifyUdpChecksum } from '../wire/udp.ts';
import { classifyUdpPayload } from '../wire/udp-encap.ts';
import { encapReason, explainIkeSend, explainKeepalive, explainNatd, type NatConditions } from './explain.ts';
import type { HostApplication, HostReceived, HostTransmit } from './host-app.ts';
import type { TrafficTunnel } from './lab.ts';
import type { TunnelLedger } from './ledger.ts';
import type { Host, Network } from './network.ts';
import { buildIpPacket, hex32, ICMP_TYPE, icmpMessage, icmpv6Message, ICMPV6_TYPE, parsePacket, type PacketInfo } from './packet.ts';
import type { PeerSetup } from './peer-config.ts';

/** One line of a peer's story. */
export interface PeerLogEntry {
  readonly at: Micros;
  readonly kind: string;
  readonly text: string;
}

export interface IkeSaRecord {
  readonly saId: SaId;
  spiI: string;
  spiR: string;
  suite: string | undefined;
  local: string | undefined;
  remote: string | undefined;
  natHere: boolean;
  natThere: boolean;
  natFake: boolean;
  floated: boolean;
  /** The NAT-D verdict in plain words. */
  natd: string | undefined;
  startedAt: Micros;
  establishedAt: Micros | undefined;
  deletedAt: Micros | undefined;
  deleteReason: string | undefined;
  deleteMessage: string | undefined;
  rekeyOf: SaId | undefined;
}

export interface ChildRecord {
  readonly childId: ChildId;
  saId: SaId;
  readonly key: string;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: string;
  readonly encap: { readonly local: Endpoint; readonly remote: Endpoint } | undefined;
  /** Why the ESP is (or is not) in UDP. */
  readonly encapReason: string;
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  readonly installedAt: Micros;
  readonly rekeyOf: ChildId | undefined;
  deletedAt: Micros | undefined;
  deleteReason: string | undefined;
  /** Parsed selectors for the security policy. */
  readonly tsLocal: readonly TrafficSelector[];
  readonly tsRemote: readonly TrafficSelector[];
}

export interface KeepaliveRecord {
  readonly at: Micros;
  readonly saId: SaId;
  /** Time since the last thing this side sent on the NAT-T socket. */
  readonly idle: Micros;
  readonly src: string;
  readonly dst: string;
}

export interface PeerStats {
  ikeSent: number;
  ikeReceived: number;
  keepalivesReceived: number;
  espSent: number;
  espReceived: number;
  innerDelivered: number;
  /** Test packets that matched the policy while no CHILD_SA was there. */
  noSa: number;
  readonly espDrops: Record<string, number>;
  readonly ikeDrops: Record<string, number>;
}

export interface IpsecPeerOptions {
  readonly setup: PeerSetup;
  readonly network: Network;
  readonly rng: Rng;
  readonly ledger: TunnelLedger;
  /** Endpoint-wide engine settings (COOKIE threshold, half-open limits, ...); the connection comes from `setup`. */
  readonly engine?: Omit<IkeEndpointConfig, 'peers'>;
}

const ZERO_SPI_HEX = '0000000000000000';
const ENCRS = Object.values(EncrId);
const INTEGS = Object.values(IntegId).filter((i) => i !== IntegId.NONE);

/** The cipher suite of an engine suite name such as "ESP:AES_GCM_16_128/NO_EXT_SEQ". */
export function espCipherSuite(name: string): CipherSuite | undefined {
  const parts = name.replace(/^ESP:/, '').split('/');
  for (const encr of ENCRS) {
    for (const keyBits of encrInfo(encr).keyBits) {
      if (encrName({ encr, keyBits }) !== parts[0]) continue;
      return { encr, keyBits, integ: INTEGS.find((i) => parts.includes(integInfo(i).name)) ?? IntegId.NONE };
    }
  }
  return undefined;
}

function tsCovers(list: readonly TrafficSelector[], a: IpAddress): boolean {
  return list.some((ts) => {
    if (ts.family !== a.family) return false;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < a.bytes.length; i++) {
      if (lo === 0) lo = Math.sign(a.bytes[i]! - ts.start[i]!);
      if (hi === 0) hi = Math.sign(a.bytes[i]! - ts.end[i]!);
    }
    return lo >= 0 && hi <= 0;
  });
}

/** Parsed selectors by their text (without a "[proto/port]" suffix), shared read-only by every peer. */
const selectors = new Map<string, TrafficSelector | undefined>();

function selectorOf(text: string): TrafficSelector | undefined {
  const t = text.replace(/\[.*\]$/, '');
  if (selectors.has(t)) return selectors.get(t);
  const ts = parseTrafficSelector(t);
  if (selectors.size < 4096) selectors.set(t, ts);
  return ts;
}

function readU32(b: Uint8Array, o: number): number {
  return b.length >= o + 4 ? ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) : 0;
}

export class IpsecPeer implements HostApplication, TrafficTunnel {
  readonly name: string;
  readonly role: 'initiator' | 'responder';
  readonly engine: IkeEndpoint;
  readonly sad = new SecurityAssociationDatabase();
  readonly esp: EspProcessor;
  readonly config: ResolvedPeerConfig;
  readonly log: PeerLogEntry[] = [];
  readonly sas = new Map<SaId, IkeSaRecord>();
  readonly children = new Map<ChildId, ChildRecord>();
  readonly retransmits: { readonly at: Micros; readonly exchange: string; readonly attempt: number; readonly messageId: number }[] = [];
  readonly addressUpdates: { readonly at: Micros; readonly from: string; readonly to: string }[] = [];
  readonly floats: { readonly at: Micros; readonly from: string; readonly to: string }[] = [];
  readonly initiations: { readonly at: Micros; readonly why: string }[] = [];
  /** A responder's COOKIE mode (RFC 7296 §2.6) starting and ending. */
  readonly cookieModes: { readonly at: Micros; readonly on: boolean; readonly halfOpen: number }[] = [];
  readonly stats: PeerStats = {
    ikeSent: 0,
    ikeReceived: 0,
    keepalivesReceived: 0,
    espSent: 0,
    espReceived: 0,
    innerDelivered: 0,
    noSa: 0,
    espDrops: {},
    ikeDrops: {},
  };
  /** Wireshark rows of every SA ever set up (deleted ones too, so old packets decrypt). */
  readonly ikeRows: string[] = [];
  readonly espRows: string[] = [];
  /** The rows above as sets, for the duplicate check (a gateway holds thousands). */
  private readonly ikeRowSet = new Set<string>();
  private readonly espRowSet = new Set<string>();
  /** Counters of CHILD_SAs already gone. */
  readonly retiredCounters: SaCounters = newSaCounters();

  private readonly setup: PeerSetup;
  private readonly net: Network;
  private readonly host: Host;
  private readonly ledger: TunnelLedger;
  private readonly outbox: HostTransmit[] = [];
  private readonly ikeNotes: (string | undefined)[] = [];
  private readonly keepaliveNotes: (string | undefined)[] = [];
  private pendingRetransmit: { attempt: number; exchange: string; waited: Micros } | undefined;
  private lastKeepaliveDue: Micros | undefined;
  private initiateAt: Micros | undefined;
  private initiateWhy = 'start';
  private readonly live = new Set<SaId>();
  /**
   * Keepalives sent, compactly (a 10,000-peer lab sends 1.8 million an hour): time and
   * idle time per keepalive, and runs of keepalives with the same SA and endpoints.
   */
  private kaAt: Float64Array = new Float64Array(0);
  private kaIdle: Float64Array = new Float64Array(0);
  private kaCount = 0;
  private readonly kaRuns: { readonly from: number; readonly saId: SaId; readonly src: string; readonly dst: string }[] = [];
  private kaRecords: KeepaliveRecord[] | undefined;
  private readonly endpointTexts = new Map<number | string, string>();
  /** The engine's last pollTimeout() answer, and whether nothing reached the engine since. */
  private engineDeadline: Micros | undefined;
  private engineUntouched = false;

  constructor(opts: IpsecPeerOptions) {
    this.setup = opts.setup;
    this.name = opts.setup.peer.name;
    this.role = opts.setup.peer.role;
    this.net = opts.network;
    this.host = opts.network.host(opts.setup.peer.host);
    this.ledger = opts.ledger;
    this.config = resolvePeerConfig(opts.setup.config, 'peer');
    this.engine = new IkeEndpoint({ rng: opts.rng.fork('ike'), config: { ...opts.engine, peers: this.role === 'responder' ? [opts.setup.config] : [] } });
    this.esp = new EspProcessor({ sad: this.sad, rng: opts.rng.fork('esp') });
    if (this.role === 'initiator') this.initiateAt = opts.setup.peer.start;
  }

  get hostName(): string {
    return this.host.name;
  }

  // ------------------------------------------------------------------ HostApplication

  handlePacket(p: HostReceived, now: Micros): void {
    const ports = this.config.ports;
    this.engineUntouched = false;
    if (p.kind === 'udp') {
      if (p.dst.port !== ports.ike && p.dst.port !== ports.natt) return;
      const cls = classifyUdpPayload(p.src.port, p.dst.port, p.payload);
      if (cls.kind === 'keepalive') {
        this.stats.keepalivesReceived++;
        // Nothing reaches the engine: its deadlines stand (a responder with thousands of
        // SAs would otherwise scan them all for each keepalive that arrives).
        this.engineUntouched = !this.drain(now);
        return;
      } else if (cls.kind === 'esp') {
        this.receiveEsp(cls.esp, { src: p.src.addr, dst: p.dst.addr, srcPort: p.src.port, dstPort: p.dst.port }, p.iface, now);
      } else {
        this.stats.ikeReceived++;
        this.engine.handleDatagram({ src: p.src, dst: p.dst, payload: new Uint8Array(p.payload) }, now);
      }
    } else if (p.kind === 'esp') {
      this.receiveEsp(p.payload, { src: p.src, dst: p.dst }, p.iface, now);
    }
    this.drain(now);
  }

  handleTimeout(now: Micros): void {
    this.engineUntouched = false;
    if (this.initiateAt !== undefined && now >= this.initiateAt) {
      this.initiateAt = undefined;
      this.initiate(now, this.initiateWhy);
    }
    const t = this.engine.pollTimeout();
    if (t !== undefined && t <= now) this.engine.handleTimeout(now);
    this.drain(now);
  }

  pollTransmit(): HostTransmit | undefined {
    return this.outbox.shift();
  }

  pollTimeout(): Micros | undefined {
    if (!this.engineUntouched) this.engineDeadline = this.engine.pollTimeout();
    this.engineUntouched = false;
    const a = this.engineDeadline;
    const b = this.initiateAt;
    if (a === undefined) return b;
    return b === undefined ? a : Math.min(a, b);
  }

  // ------------------------------------------------------------------ TrafficTunnel

  /** The host's security policy: traffic inside our configured selectors goes into the tunnel. */
  offer(packet: Uint8Array, now: Micros, flow: string, note: string): boolean {
    this.engineUntouched = false;
    let info: PacketInfo;
    try {
      info = parsePacket(packet);
    } catch {
      return false;
    }
    if (!tsCovers(this.config.localTs, info.src) || !tsCovers(this.config.remoteTs, info.dst)) return false;
    this.protectAndQueue(packet, info, now, flow, note);
    this.drain(now);
    return true;
  }

  // ------------------------------------------------------------------ state for reports

  /** Every keepalive this peer sent, in order. */
  get keepalives(): readonly KeepaliveRecord[] {
    let r = this.kaRecords;
    if (!r) {
      r = [];
      const runs = this.kaRuns;
      for (let k = 0; k < runs.length; k++) {
        const run = runs[k]!;
        const to = k + 1 < runs.length ? runs[k + 1]!.from : this.kaCount;
        for (let i = run.from; i < to; i++) r.push({ at: this.kaAt[i]!, saId: run.saId, idle: this.kaIdle[i]!, src: run.src, dst: run.dst });
      }
      this.kaRecords = r;
    }
    return r;
  }

  /** An IKE SA established and not deleted, with a CHILD_SA. */
  isEstablished(): boolean {
    const sa = [...this.sas.values()].some((s) => s.establishedAt !== undefined && s.deletedAt === undefined);
    const child = [...this.children.values()].some((c) => c.deletedAt === undefined);
    return sa && child;
  }

  /** The newest IKE SA that got as far as NAT detection (established ones first). */
  currentSa(): IkeSaRecord | undefined {
    const all = [...this.sas.values()];
    const est = all.filter((s) => s.establishedAt !== undefined);
    return (est.length > 0 ? est : all.filter((s) => s.natd !== undefined)).at(-1);
  }

  /** Counters of every CHILD_SA this peer had. */
  totalCounters(): SaCounters {
    const out = newSaCounters();
    addCounters(out, this.retiredCounters);
    for (const k of this.sad.childIds()) addCounters(out, this.sad.childCounters(k));
    return out;
  }

  /** `show crypto ipsec sa` blocks of the CHILD_SAs installed now. */
  showCryptoIpsecSa(now: Micros): string {
    const blocks = this.sad.childIds().map((k) =>
      showCryptoIpsecSa(this.sad, k, now, { interfaceName: `${this.host.name}.${[...this.host.interfaces.keys()][0] ?? 'eth0'}`, cryptoMapTag: this.name, invalidSpi: this.esp.counters.invalidSpi }),
    );
    return blocks.filter((b) => b !== '').join('\n');
  }

  // ------------------------------------------------------------------ internals

  private note(at: Micros, kind: string, text: string): void {
    this.log.push({ at, kind, text });
  }

  private initiate(now: Micros, why: string): void {
    this.initiations.push({ at: now, why });
    const id = this.engine.initiate(this.setup.config, now);
    this.live.add(id);
    this.record(id, now);
    this.note(now, 'initiate', `${this.name} initiates IKE to ${formatIp(this.setup.remote)} (${why})`);
  }

  private record(saId: SaId, now: Micros): IkeSaRecord {
    let r = this.sas.get(saId);
    if (!r) {
      const info = this.engine.getSa(saId);
      r = {
        saId,
        spiI: info ? toHex(info.spiI) : '',
        spiR: info ? toHex(info.spiR) : '',
        suite: undefined,
        local: info ? formatEndpoint(info.local) : undefined,
        remote: info ? formatEndpoint(info.remote) : undefined,
        natHere: false,
        natThere: false,
        natFake: false,
        floated: false,
        natd: undefined,
        startedAt: now,
        establishedAt: undefined,
        deletedAt: undefined,
        deleteReason: undefined,
        deleteMessage: undefined,
        rekeyOf: undefined,
      };
      this.sas.set(saId, r);
      this.live.add(saId);
    } else if (r.establishedAt === undefined && (r.spiR === '' || r.spiR === ZERO_SPI_HEX)) {
      // An initiator's record is made before the IKE_SA_INIT response tells the
      // responder's SPI (and a COOKIE or INVALID_KE restart clears it again): follow the engine.
      const info = this.engine.getSa(saId);
      if (info) {
        r.spiI = toHex(info.spiI);
        r.spiR = toHex(info.spiR);
      }
    }
    return r;
  }

  private conditions(saId: SaId): NatConditions {
    const r = this.sas.get(saId);
    return { natHere: r?.natHere ?? false, natThere: r?.natThere ?? false, natFake: r?.natFake ?? false };
  }

  /** Takes the engine's events and transmissions; true when there were any. */
  private drain(now: Micros): boolean {
    let any = false;
    for (let guard = 0; guard < 10_000; guard++) {
      let busy = false;
      for (let e = this.engine.pollEvent(); e; e = this.engine.pollEvent()) {
        busy = true;
        this.onEvent(e, now);
      }
      for (let t = this.engine.pollTransmit(); t; t = this.engine.pollTransmit()) {
        busy = true;
        this.queueTransmit(t);
      }
      if (!busy) return any;
      any = true;
    }
    throw new Error(`${this.name}: the engine keeps producing output`);
  }

  private queueTransmit(t: Transmit): void {
    // Without taps or packet listeners nobody reads the note: none is made.
    const note = t.kind === 'keepalive' ? this.keepaliveNotes.shift() : this.ikeNotes.shift();
    const comment = note ?? (this.net.wantsNotes ? `${this.name}: ${t.kind}` : undefined);
    if (t.kind === 'ike') this.stats.ikeSent++;
    this.outbox.push(comment === undefined ? { kind: 'udp', src: t.src, dst: t.dst, payload: t.payload } : { kind: 'udp', src: t.src, dst: t.dst, payload: t.payload, comment });
  }

  private recordKeepalive(at: Micros, saId: SaId, idle: Micros, src: string, dst: string): void {
    const n = this.kaCount;
    if (n === this.kaAt.length) {
      const grow = (a: Float64Array): Float64Array => {
        const b = new Float64Array(Math.max(16, a.length * 2));
        b.set(a);
        return b;
      };
      this.kaAt = grow(this.kaAt);
      this.kaIdle = grow(this.kaIdle);
    }
    this.kaAt[n] = at;
    this.kaIdle[n] = idle;
    this.kaCount = n + 1;
    const last = this.kaRuns.at(-1);
    if (!last || last.saId !== saId || last.src !== src || last.dst !== dst) this.kaRuns.push({ from: n, saId, src, dst });
    this.kaRecords = undefined;
  }

  /** formatEndpoint, the same string for the same endpoint. */
  private endpointText(e: Endpoint): string {
    const b = e.addr.bytes;
    const k = e.addr.family === 4 ? (((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!)) * 65536 + e.port : `${formatIp(e.addr)}|${e.port}`;
    let t = this.endpointTexts.get(k);
    if (t === undefined) {
      t = formatEndpoint(e);
      if (this.endpointTexts.size < 64) this.endpointTexts.set(k, t);
    }
    return t;
  }

  private onEvent(e: IkeEvent, now: Micros): void {
    switch (e.type) {
      case 'message-sent':
        this.onMessageSent(e, now);
        break;
      case 'retransmit': {
        const delay = Math.round(this.config.retransmit.timeout * this.config.retransmit.base ** (e.attempt - 1));
        this.pendingRetransmit = { attempt: e.attempt, exchange: e.exchange, waited: delay };
        this.retransmits.push({ at: e.at, exchange: e.exchange, attempt: e.attempt, messageId: e.messageId });
        this.note(e.at, 'retransmit', `${this.name} retransmits ${e.exchange} request ${e.messageId} (attempt ${e.attempt}): no response after ${delay / 1e6} s`);
        break;
      }
      case 'keepalive-due':
        this.lastKeepaliveDue = e.lastSentAt;
        break;
      case 'keepalive-sent': {
        const idle = e.at - (this.lastKeepaliveDue ?? e.at);
        this.recordKeepalive(e.at, e.saId, idle, this.endpointText(e.src), this.endpointText(e.dst));
        this.keepaliveNotes.push(this.net.wantsNotes ? explainKeepalive(this.name, e.src, idle, this.config.keepaliveInterval) : undefined);
        break;
      }
      case 'nat-detected':
        this.onNatDetected(e);
        break;
      case 'ports-floated': {
        const r = this.record(e.saId, e.at);
        r.floated = true;
        r.local = formatEndpoint(e.to.local);
        r.remote = formatEndpoint(e.to.remote);
        const from = `${formatEndpoint(e.from.local)} ↔ ${formatEndpoint(e.from.remote)}`;
        const to = `${formatEndpoint(e.to.local)} ↔ ${formatEndpoint(e.to.remote)}`;
        this.floats.push({ at: e.at, from, to });
        this.note(e.at, 'floated', `${this.name} floats IKE from ${from} to ${to} (RFC 7296 §2.23)`);
        break;
      }
      case 'sa-established': {
        const r = this.record(e.saId, e.at);
        r.spiI = toHex(e.spiI);
        r.spiR = toHex(e.spiR);
        r.suite = e.suite;
        r.local = formatEndpoint(e.local);
        r.remote = formatEndpoint(e.remote);
        r.natHere = e.natHere;
        r.natThere = e.natThere;
        r.natFake = e.natFake;
        r.establishedAt = e.at;
        r.rekeyOf = e.rekeyOf;
        const row = e.ikev2DecryptionRow;
        if (!this.ikeRowSet.has(row)) {
          this.ikeRowSet.add(row);
          this.ikeRows.push(row);
        }
        this.note(e.at, 'established', `${this.name}: IKE SA ${r.spiI}/${r.spiR} established with ${e.remoteId} at ${r.remote} (${e.suite})${e.rekeyOf !== undefined ? ', replacing the old one (rekey)' : ''}`);
        break;
      }
      case 'sa-rekeyed':
        for (const c of this.children.values()) if (c.saId === e.saId) c.saId = e.newSaId;
        break;
      case 'child-established':
        this.installChild(e, now);
        break;
      case 'child-deleted':
        this.removeChild(e);
        break;
      case 'peer-address-updated': {
        for (const id of e.childIds) {
          const c = this.children.get(id);
          if (c) this.sad.updateEncapRemote(c.key, e.to);
        }
        const r = this.sas.get(e.saId);
        if (r) r.remote = formatEndpoint(e.to);
        this.addressUpdates.push({ at: e.at, from: formatEndpoint(e.from), to: formatEndpoint(e.to) });
        this.note(
          e.at,
          'peer-address-updated',
          `${this.name}: the peer now comes from ${formatEndpoint(e.to)} instead of ${formatEndpoint(e.from)} (its NAT mapping changed); IKE and ${e.childIds.length} CHILD_SA(s) follow it (RFC 7296 §2.23)`,
        );
        break;
      }
      case 'sa-deleted':
        this.onSaDeleted(e, now);
        break;
      case 'auth-failed':
        this.note(e.at, 'auth-failed', `${this.name}: authentication failed (${e.side === 'local' ? 'we could not verify the peer' : 'the peer rejected us'}): ${e.message}`);
        break;
      case 'child-failed':
        this.note(e.at, 'child-failed', `${this.name}: CHILD_SA not created: ${e.notifyName}: ${e.message}`);
        break;
      case 'init-rejected':
        this.note(e.at, 'init-rejected', `${this.name}: refused IKE_SA_INIT from ${formatEndpoint(e.src)} with ${e.notifyName}: ${e.message}`);
        break;
      case 'cookie-mode':
        this.cookieModes.push({ at: e.at, on: e.on, halfOpen: e.halfOpen });
        this.note(e.at, 'cookie-mode', `${this.name} ${e.on ? 'demands' : 'no longer demands'} a COOKIE with IKE_SA_INIT (RFC 7296 §2.6): ${e.message}`);
        break;
      case 'datagram-dropped':
        this.stats.ikeDrops[e.reason] = (this.stats.ikeDrops[e.reason] ?? 0) + 1;
        if (e.reason === 'unknown-sa' && (this.stats.ikeDrops[e.reason] ?? 0) <= 3) {
          this.note(e.at, 'dropped', `${this.name} drops IKE from ${formatEndpoint(e.src)}: ${e.message}`);
        }
        break;
      default:
        break;
    }
  }

  private onMessageSent(e: IkeEventOf<'message-sent'>, now: Micros): void {
    const saId = e.saId;
    const r = saId === undefined ? undefined : this.record(saId, now);
    if (r && e.exchangeName === 'IKE_SA_INIT' && !e.isResponse && !e.retransmission) {
      const info = this.engine.getSa(saId!);
      if (info) {
        r.spiI = toHex(info.spiI);
        this.ledger.recordNatd('i', r.spiI, {
          source: this.config.encap === 'force' ? 'a random address (encap: force)' : formatEndpoint(e.src),
          destination: formatEndpoint(e.dst),
        });
      }
    }
    const retransmit = e.retransmission ? this.pendingRetransmit : undefined;
    if (e.retransmission) this.pendingRetransmit = undefined;
    const dpd = !e.isResponse && !e.retransmission && e.exchangeName === 'INFORMATIONAL' && e.payloads.length === 0 && r;
    // The note says why the message went out; without taps or packet listeners nobody reads it.
    let text: string | undefined;
    if (this.net.wantsNotes) {
      const newest = saId === undefined ? undefined : [...this.children.values()].filter((c) => c.saId === saId).at(-1);
      text = explainIkeSend(e, {
        peer: this.name,
        role: this.role,
        encap: this.config.encap,
        ikePort: this.config.ports.ike,
        natd: r?.natd !== undefined ? { conditions: this.conditions(r.saId), text: r.natd } : undefined,
        retransmit,
        dpdIdle: dpd ? this.config.dpdDelay : undefined,
        childEncap: newest?.encapReason ?? (r ? this.expectedEncap(r.saId, e.src.port !== this.config.ports.ike) : undefined),
      });
    }
    this.ikeNotes.push(text);
    if (dpd) this.note(e.at, 'dpd', `${this.name} checks the peer is alive (DPD): nothing received for ${this.config.dpdDelay / 1e6} s`);
  }

  /** How the CHILD_SA of an SA will travel, before it is installed. */
  private expectedEncap(saId: SaId, onNatt: boolean): string {
    const c = this.conditions(saId);
    const udp = this.config.encap !== 'off' && onNatt && (c.natHere || c.natThere || c.natFake);
    return encapReason(c, this.config.encap, udp);
  }

  private onNatDetected(e: IkeEventOf<'nat-detected'>): void {
    const r = this.record(e.saId, e.at);
    r.natHere = e.natHere;
    r.natThere = e.natThere;
    r.natFake = e.natFake;
    const spiI = toHex(e.source.spiI);
    r.spiI = spiI;
    const mine = e.sent.find((s) => s.kind === 'source');
    const dest = e.sent.find((s) => s.kind === 'destination');
    if (this.role === 'responder' && mine && dest) {
      this.ledger.recordNatd('r', spiI, { source: `${mine.addr}:${mine.port}`, destination: `${dest.addr}:${dest.port}` });
    }
    const theirs = this.ledger.natdOf(this.role === 'initiator' ? 'r' : 'i', spiI);
    r.natd = explainNatd(e, theirs, this.config.encap);
    this.note(e.at, 'nat-detected', `${this.name}: ${r.natd}`);
  }

  private installChild(e: IkeEventOf<'child-established'>, now: Micros): void {
    const suite = espCipherSuite(e.suite);
    const old = e.rekeyOf !== undefined ? this.children.get(e.rekeyOf) : undefined;
    const key = old?.key ?? `${this.name}{${e.childId}}`;
    const reason = encapReason(this.conditions(e.saId), this.config.encap, e.encap !== undefined);
    const rec: ChildRecord = {
      childId: e.childId,
      saId: e.saId,
      key,
      spiIn: e.spiIn,
      spiOut: e.spiOut,
      suite: e.suite,
      encap: e.encap,
      encapReason: reason,
      localTs: e.localTs,
      remoteTs: e.remoteTs,
      installedAt: e.at,
      rekeyOf: e.rekeyOf,
      deletedAt: undefined,
      deleteReason: undefined,
      tsLocal: e.localTs.map(selectorOf).filter((t): t is TrafficSelector => t !== undefined),
      tsRemote: e.remoteTs.map(selectorOf).filter((t): t is TrafficSelector => t !== undefined),
    };
    for (const row of [e.espSaRows.in, e.espSaRows.out]) {
      if (this.espRowSet.has(row)) continue;
      this.espRowSet.add(row);
      this.espRows.push(row);
    }
    if (!suite) {
      this.note(e.at, 'child-failed', `${this.name}: cannot run ${e.suite} in the datapath`);
      return;
    }
    const info = this.engine.getSa(e.saId);
    const localAddr = e.encap?.local.addr ?? info?.local.addr ?? this.setup.local;
    const remoteAddr = e.encap?.remote.addr ?? info?.remote.addr ?? this.setup.remote;
    // Outer packets larger than the path MTU are fragmented (DF copied from the inner packet), as a kernel does.
    const common = { suite, esn: e.esn, allowFragmentation: true, ...(e.encap ? { encap: e.encap } : { tunnel: { local: localAddr, remote: remoteAddr } }) };
    try {
      this.sad.installChild(
        key,
        {
          inbound: { ...common, spi: e.spiIn, encKey: e.encKeyIn, integKey: e.integKeyIn, replayWindow: 64 },
          outbound: { ...common, spi: e.spiOut, encKey: e.encKeyOut, integKey: e.integKeyOut, replayWindow: 0 },
        },
        now,
      );
    } catch (err) {
      this.note(e.at, 'child-failed', `${this.name}: cannot install the CHILD_SA: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.children.set(e.childId, rec);
    const enc = e.encap ? `ESP-in-UDP ${formatEndpoint(e.encap.local)} ↔ ${formatEndpoint(e.encap.remote)}` : `ESP ${formatIp(localAddr)} ↔ ${formatIp(remoteAddr)}`;
    this.note(
      e.at,
      'child-installed',
      `${this.name}: CHILD_SA SPIs in ${hex32(e.spiIn)} out ${hex32(e.spiOut)} (${e.suite}) ${e.localTs.join(',')} === ${e.remoteTs.join(',')} over ${enc}: ${reason}${e.rekeyOf !== undefined ? ' (rekey)' : ''}`,
    );
  }

  private removeChild(e: IkeEventOf<'child-deleted'>): void {
    const c = this.children.get(e.childId);
    if (!c) return;
    c.deletedAt = e.at;
    c.deleteReason = e.reason;
    if (e.reason === 'rekeyed') {
      // The replacement took over the SAD entry; only the old inbound SA goes.
      const old = this.sad.inbound(c.spiIn);
      if (old) addCounters(this.retiredCounters, old.counters);
      this.sad.deleteInbound(c.spiIn);
      return;
    }
    const replacement = [...this.children.values()].some((o) => o !== c && o.key === c.key && o.deletedAt === undefined);
    if (!replacement && this.sad.outbound(c.key)) {
      addCounters(this.retiredCounters, this.sad.childCounters(c.key));
      this.sad.deleteChild(c.key);
    }
  }

  private onSaDeleted(e: IkeEventOf<'sa-deleted'>, now: Micros): void {
    const r = this.record(e.saId, e.at);
    r.deletedAt = e.at;
    r.deleteReason = e.reason;
    r.deleteMessage = e.message;
    this.live.delete(e.saId);
    if (e.reason === 'rekeyed') return;
    this.note(e.at, 'sa-deleted', `${this.name}: IKE SA ${r.spiI}/${r.spiR} deleted (${e.reason}${e.message ? `: ${e.message}` : ''})`);
    const action = this.setup.peer.dpd?.action;
    const lost = e.reason === 'dpd' || e.reason === 'timeout';
    if (this.role === 'initiator' && action === 'restart' && lost && r.establishedAt !== undefined && this.live.size === 0) {
      this.note(e.at, 'restart', `${this.name}: DPD action restart: setting up a new IKE SA`);
      this.initiate(now, `restart after ${e.reason === 'dpd' ? 'the peer was declared dead by DPD' : 'an exchange timed out'}`);
    }
  }

  private protectAndQueue(packet: Uint8Array, info: PacketInfo, now: Micros, flow: string | undefined, note: string): void {
    let child: ChildRecord | undefined;
    for (const c of this.children.values()) {
      if (c.deletedAt === undefined && tsCovers(c.tsLocal, info.src) && tsCovers(c.tsRemote, info.dst) && this.sad.outbound(c.key)) child = c;
    }
    if (!child) {
      this.stats.noSa++;
      const detail = `${this.name} has no CHILD_SA for ${formatIp(info.src)} → ${formatIp(info.dst)}`;
      if (flow) this.ledger.recordLoss(flow, this.host.name, 'no-sa', detail, now);
      if (this.role === 'initiator' && this.setup.peer.dpd?.action === 'hold' && this.live.size === 0 && this.initiateAt === undefined) {
        this.initiate(now, 'traffic for the policy (DPD action hold)');
      }
      return;
    }
    const r = this.esp.protect(child.key, packet);
    if (!r.ok) {
      if (flow) this.ledger.recordLoss(flow, this.host.name, r.reason, `${this.name}: ${r.message}`, now);
      return;
    }
    this.stats.espSent++;
    this.ledger.recordEsp(r.spi, r.sequence, flow, this.name);
    const how = r.udp ? `ESP-in-UDP ${formatEndpoint(r.udp.src)} → ${formatEndpoint(r.udp.dst)}` : 'ESP';
    const comment = `${this.name}: ${how} SPI ${hex32(r.spi)} seq ${r.sequence} carrying ${note}; ${child.encapReason}`;
    for (const bytes of r.packets) this.outbox.push({ kind: 'ip', bytes, comment });
    if (r.udp) this.engine.noteTraffic(child.saId, now, 'out');
  }

  private receiveEsp(esp: Uint8Array, outer: OuterInfo, iface: string, now: Micros): void {
    const spi = readU32(esp, 0);
    const seq = readU32(esp, 4);
    const sent = this.ledger.espOf(spi, seq);
    const r = this.esp.receiveEsp(esp, outer);
    if (!r.ok) {
      this.stats.espDrops[r.reason] = (this.stats.espDrops[r.reason] ?? 0) + 1;
      // A copy of a packet already received (a duplicate or a replay) is not a loss of its flow.
      if (sent?.flow && r.reason !== 'replay-duplicate') this.ledger.recordLoss(sent.flow, this.host.name, r.reason, `${this.name}: ${r.message}`, now);
      if (r.reason === 'unknown-spi' && (this.stats.espDrops[r.reason] ?? 0) <= 3) {
        this.note(now, 'esp-dropped', `${this.name} drops ESP from ${formatIp(outer.src)}: ${r.message}${sent ? ` (sent by ${sent.peer})` : ''}`);
      }
      return;
    }
    this.stats.espReceived++;
    const child = [...this.children.values()].find((c) => c.key === r.childId && c.deletedAt === undefined);
    if (child) this.engine.noteTraffic(child.saId, now, 'in');
    this.deliverInner(r.inner, iface, now, sent?.flow, `ESP SPI ${hex32(r.spi)} seq ${r.sequence}`);
  }

  private deliverInner(inner: Uint8Array, iface: string, now: Micros, flow: string | undefined, via: string): void {
    let info: PacketInfo;
    try {
      info = parsePacket(inner);
    } catch {
      return;
    }
    if (!this.host.hasAddress(info.dst)) {
      if (flow) this.ledger.recordLoss(flow, this.host.name, 'not-mine', `${this.name}: inner packet for ${formatIp(info.dst)}, not an address of ${this.host.name}`, now);
      return;
    }
    const common = { iface, ip: inner };
    let packet: HostReceived;
    if (info.protocol === IP_PROTOCOL.UDP) {
      let d;
      try {
        d = UdpCodec.decode(info.l4);
      } catch {
        return;
      }
      const sum = verifyUdpChecksum(info.src, info.dst, info.l4);
      if (sum === 'invalid') return;
      packet = { ...common, kind: 'udp', src: { addr: info.src, port: d.srcPort }, dst: { addr: info.dst, port: d.dstPort }, payload: d.payload, checksum: sum };
    } else if (info.protocol === IP_PROTOCOL.ICMP || info.protocol === IP_PROTOCOL.ICMPV6) {
      packet = { ...common, kind: 'icmp', src: info.src, dst: info.dst, message: info.l4 };
    } else {
      return;
    }
    this.stats.innerDelivered++;
    this.net.deliverInner(this.host.name, packet, `${this.name} ${via}`);
    const v4echo = info.protocol === IP_PROTOCOL.ICMP && info.icmpType === ICMP_TYPE.ECHO_REQUEST;
    const v6echo = info.protocol === IP_PROTOCOL.ICMPV6 && info.icmpType === ICMPV6_TYPE.ECHO_REQUEST;
    if ((v4echo || v6echo) && info.l4.length >= 8) {
      const rest = ((info.l4[4]! << 24) >>> 0) + ((info.l4[5]! << 16) | (info.l4[6]! << 8) | info.l4[7]!);
      const data = info.l4.subarray(8);
      const msg = v4echo ? icmpMessage(ICMP_TYPE.ECHO_REPLY, 0, rest, data) : icmpv6Message(info.dst, info.src, ICMPV6_TYPE.ECHO_REPLY, 0, rest, data);
      const reply = buildIpPacket({ src: info.dst, dst: info.src, protocol: info.protocol, payload: msg, identification: (rest >>> 16) ^ (rest & 0xffff) });
      const id = (rest >>> 16) & 0xffff;
      const what = `echo reply id ${id} seq ${rest & 0xffff} to ${formatIp(info.src)}`;
      const replyInfo = parsePacket(reply);
      if (tsCovers(this.config.localTs, replyInfo.src) && tsCovers(this.config.remoteTs, replyInfo.dst)) {
        this.protectAndQueue(reply, replyInfo, now, flow, what);
      } else {
        this.outbox.push({ kind: 'ip', bytes: reply, comment: `${this.name}: ${what}, in the clear (outside our traffic selectors)` });
      }
    }
  }
}
