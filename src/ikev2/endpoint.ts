/**
 * The sans-I/O IKEv2 endpoint (the engine contract in docs/architecture.md): datagrams
 * and time go in, datagrams, a deadline and events come out. Nothing here reads a
 * clock, sets a timer or touches a socket; randomness comes from the injected Rng,
 * so a seed reproduces a run byte for byte.
 *
 *   initiate(peer, now) → SaId      handleDatagram(d, now)     handleTimeout(now)
 *   pollTransmit()                  pollTimeout()              pollEvent()
 *
 * Incoming IKE is demultiplexed by SPI (RFC 7296 §2.2): with the I flag the sender is
 * the original initiator and we are found by the responder SPI; without it, by the
 * initiator SPI. An IKE_SA_INIT request with a zero responder SPI creates a
 * responder SA (after the COOKIE check when too many are half-open). Keepalives
 * arriving are ignored; ESP is dropped with an event (it belongs to the datapath).
 */
import {
  DecodeError,
  ProtocolError,
  bytesEqual,
  endpointKey,
  toHex,
  type Endpoint,
  type IpAddress,
  type IpFamily,
  type Micros,
  type Rng,
} from '../core/index.ts';
import { espSuiteName, ikeSuiteName } from '../crypto/proposals.ts';
import { classifyUdpPayload } from '../wire/udp-encap.ts';
import { ExchangeType, NotifyType, PayloadType, ProtocolId, notifyTypeName } from '../wire/ike/constants.ts';
import { isFromInitiator, isResponse } from '../wire/ike/header.ts';
import { decodeMessage, type IkeMessage } from '../wire/ike/message.ts';
import { firstUnsupportedCritical, notifiesOfType, payloadsOfType, type Payload } from '../wire/ike/payload.ts';
import { makeNotify } from '../wire/ike/payloads/notify.ts';
import {
  ConfigError,
  resolveEndpointConfig,
  resolvePeerConfig,
  type IkeEndpointConfig,
  type PeerConfig,
  type ResolvedEndpointConfig,
} from './config.ts';
import { AdmissionControl, type AdmissionStats } from './admission.ts';
import { errorNotify } from './errors.ts';
import { ExchangeKind, type ChildId, type DropReason, type IkeEvent, type IkeEventBody, type SaId, type SaRole } from './events.ts';
import { childEspSaRows, childKeyExports, childKeyLog, ikeDecryptionRow, ikeKeyExports, ikeKeyLog } from './key-export.ts';
import { keepaliveDueAt, sendKeepalive } from './keepalive.ts';
import { describePayloads, encodePlain, openProtected } from './protect.ts';
import { ChildState, IkeSa, IkeSaState, type ChildSa, type QueuedExchange } from './session.ts';
import {
  exchangeName,
  handleRequest,
  handleResponse,
  onRetransmitTimer,
  sendIke,
  startNext,
  type EngineEnv,
  type Transmit,
} from './task-manager.ts';
import { ChildCreateInitiator, ChildCreateResponder, childExchange } from './tasks/child-create.ts';
import { childRekeyExchange, childRekeyResponder } from './tasks/child-rekey.ts';
import { IkeAuthInitiator, IkeAuthResponder } from './tasks/ike-auth.ts';
import { childDeleteExchange, ikeDeleteExchange, InformationalResponder } from './tasks/ike-delete.ts';
import { dpdDueAt, dpdExchange } from './tasks/ike-dpd.ts';
import { IkeInitInitiator, IkeInitResponder, selectResponderConfig } from './tasks/ike-init.ts';
import { NatdInitiator, NatdResponder } from './tasks/ike-natd.ts';
import { IkeRekeyResponder, ikeRekeyExchange } from './tasks/ike-rekey.ts';
import type { Datagram, Incoming, ResponderTask } from './tasks/task.ts';
import { formatTrafficSelector } from './traffic-selectors.ts';

export type { Datagram } from './tasks/task.ts';
export type { Transmit } from './task-manager.ts';

export interface IkeEndpointOptions {
  readonly rng: Rng;
  readonly config?: IkeEndpointConfig;
}

/** A read-only view of a CHILD_SA. */
export interface ChildSaInfo {
  readonly id: ChildId;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly state: ChildState;
  readonly suite: string;
  readonly encap: { readonly local: Endpoint; readonly remote: Endpoint } | undefined;
  readonly keys: { readonly encIn: Uint8Array; readonly encOut: Uint8Array; readonly integIn: Uint8Array; readonly integOut: Uint8Array };
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
}

/** A read-only view of an IKE SA. */
export interface IkeSaInfo {
  readonly id: SaId;
  readonly role: SaRole;
  readonly state: IkeSaState;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly floated: boolean;
  readonly natHere: boolean;
  readonly natThere: boolean;
  readonly natFake: boolean;
  readonly suite: string | undefined;
  readonly peerId: string | undefined;
  readonly keys: { readonly skD: Uint8Array; readonly skEi: Uint8Array; readonly skEr: Uint8Array; readonly skAi: Uint8Array; readonly skAr: Uint8Array } | undefined;
  readonly children: readonly ChildSaInfo[];
}

const ZERO_SPI = new Uint8Array(8);

class Refuse implements ResponderTask {
  readonly name = 'refuse';
  constructor(
    private readonly notify: number,
    private readonly why: string,
  ) {}
  process(): void {
    throw new ProtocolError(this.notify, this.why);
  }
  build(): void {}
}

export class IkeEndpoint {
  readonly config: ResolvedEndpointConfig;
  private readonly rng: Rng;
  private readonly sas = new Map<SaId, IkeSa>();
  /** Keyed "i:<SPIi>" for SAs we initiated, "r:<SPIr>" for SAs we answer. */
  private readonly bySpi = new Map<string, IkeSa>();
  /** Responder SAs by "<SPIi>|<peer endpoint>", to recognise a retransmitted IKE_SA_INIT. */
  private readonly byInit = new Map<string, IkeSa>();
  private readonly transmits: Transmit[] = [];
  private readonly events: IkeEvent[] = [];
  private readonly espSpis = new Set<number>();
  private nextSaId = 1;
  private nextChildId = 1;
  private readonly fakeAddrs = new Map<IpFamily, IpAddress>();
  private readonly admission: AdmissionControl;
  /** The one environment handed to tasks; `now` is set at each entry point. */
  private readonly envObj: EndpointEnv;
  /** Deadlines of the SAs: a min-heap with lazy invalidation (an entry counts while its version is the SA's). */
  private readonly timers = new TimerHeap();
  /** SAs changed by the current call, whose deadline is recomputed before it returns. */
  private readonly touched = new Set<IkeSa>();
  private nextSeq = 1;

  constructor(opts: IkeEndpointOptions) {
    this.rng = opts.rng;
    this.config = resolveEndpointConfig(opts.config);
    this.admission = new AdmissionControl(this.rng, this.config);
    this.envObj = this.makeEnv();
  }

  /** Responder admission counters: half-open SAs (now and peak), COOKIEs, DH computations, drops. */
  get admissionStats(): Readonly<AdmissionStats> {
    this.admission.halfOpenCount();
    return this.admission.stats;
  }

  /** Replaces the COOKIE secret now (cookies of the previous one still verify until the next change). */
  rotateCookieSecret(now: Micros): void {
    this.admission.rotate(now);
  }

  // ---- the contract ----

  /** Starts an IKE SA (and its first CHILD_SA) to `peer.remote`; throws ConfigError on a bad config. */
  initiate(peer: PeerConfig, now: Micros): SaId {
    const cfg = resolvePeerConfig(peer, 'peer');
    if (!cfg.remote) throw new ConfigError('peer.remote', 'the peer address is needed to initiate');
    const env = this.env(now);
    const sa = new IkeSa({
      id: env.newSaId(),
      role: 'initiator',
      spiI: env.allocateIkeSpi(),
      spiR: ZERO_SPI,
      config: cfg,
      local: { addr: cfg.localAddrs[0]!, port: cfg.ports.ike },
      remote: cfg.remote,
      state: IkeSaState.CONNECTING,
      now,
    });
    this.register(sa);
    sa.queue.push(
      { kind: ExchangeKind.IKE_INIT, exchangeType: ExchangeType.IKE_SA_INIT, tasks: [new IkeInitInitiator(cfg), new NatdInitiator()] },
      { kind: ExchangeKind.IKE_AUTH, exchangeType: ExchangeType.IKE_AUTH, tasks: [new IkeAuthInitiator(), new ChildCreateInitiator({ inAuth: true })] },
    );
    startNext(env, sa);
    this.settle();
    return sa.id;
  }

  /** Takes one received UDP payload. Never throws on bad input: it is dropped with a 'datagram-dropped' event. */
  handleDatagram(d: Datagram, now: Micros): void {
    const env = this.env(now);
    try {
      this.dispatch(env, d);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      const reason: DropReason = e instanceof DecodeError ? 'decode-error' : e instanceof ProtocolError ? 'protocol-error' : 'internal-error';
      env.drop(d, reason, err.message, undefined, err);
    }
    this.settle();
  }

  /** Runs whatever is due at `now`: retransmissions, keepalives, DPD, rekeying, half-open expiry. */
  handleTimeout(now: Micros): void {
    const env = this.env(now);
    this.settle();
    // Only SAs with a deadline at or before `now` have anything to do; they run in
    // registration order, as a walk over all SAs would visit them.
    const due: IkeSa[] = [];
    const timers = this.timers;
    while (timers.size > 0) {
      const top = timers.peek();
      if (top.version !== top.sa.dueVersion) {
        timers.pop();
        continue;
      }
      if (top.at > now) break;
      timers.pop();
      top.sa.dueVersion++;
      top.sa.dueAt = undefined;
      due.push(top.sa);
    }
    if (due.length > 1) due.sort((a, b) => a.seq - b.seq);
    for (const sa of due) {
      this.touched.add(sa);
      if (sa.alive) this.fire(env, sa);
    }
    this.settle();
  }

  pollTransmit(): Transmit | undefined {
    return this.transmits.shift();
  }

  /** The earliest deadline of any SA. */
  pollTimeout(): Micros | undefined {
    this.settle();
    const timers = this.timers;
    while (timers.size > 0) {
      const top = timers.peek();
      if (top.version !== top.sa.dueVersion) {
        timers.pop();
        continue;
      }
      return top.at;
    }
    return undefined;
  }

  pollEvent(): IkeEvent | undefined {
    return this.events.shift();
  }

  // ---- triggers ----

  /**
   * The ESP datapath reports traffic of an IKE SA's CHILD_SAs: outbound on the NAT-T
   * port postpones keepalives; inbound postpones DPD.
   */
  noteTraffic(saId: SaId, now: Micros, direction: 'out' | 'in' = 'out'): void {
    const sa = this.sas.get(saId);
    if (!sa) return;
    if (direction === 'in') sa.lastInboundAt = Math.max(sa.lastInboundAt, now);
    else if (sa.onNattSocket) sa.lastNattSendAt = now;
    this.touched.add(sa);
    this.settle();
  }

  /** Deletes an IKE SA (INFORMATIONAL with Delete when established). */
  deleteSa(saId: SaId, now: Micros): boolean {
    const sa = this.sas.get(saId);
    if (!sa) return false;
    const env = this.env(now);
    this.touched.add(sa);
    if (sa.state !== IkeSaState.ESTABLISHED) {
      env.deleteSa(sa, 'local');
      this.settle();
      return true;
    }
    sa.state = IkeSaState.DELETING;
    sa.queue.length = 0;
    env.queue(sa, ikeDeleteExchange('local'));
    this.settle();
    return true;
  }

  /** Deletes one CHILD_SA. */
  deleteChild(saId: SaId, childId: ChildId, now: Micros): boolean {
    const sa = this.sas.get(saId);
    const child = sa?.children.get(childId);
    if (!sa || !child || !sa.established || child.state === ChildState.DELETING) return false;
    child.state = ChildState.DELETING;
    child.rekeyAt = undefined;
    this.touched.add(sa);
    this.env(now).queue(sa, childDeleteExchange([child.spiIn], 'local'));
    this.settle();
    return true;
  }

  /** Replaces a CHILD_SA (CREATE_CHILD_SA with REKEY_SA). */
  rekeyChild(saId: SaId, childId: ChildId, now: Micros): boolean {
    const sa = this.sas.get(saId);
    const child = sa?.children.get(childId);
    if (!sa || !child || !sa.established || child.state !== ChildState.INSTALLED) return false;
    this.env(now).queue(sa, childRekeyExchange(child));
    this.settle();
    return true;
  }

  /** Replaces the IKE SA (CREATE_CHILD_SA with an IKE proposal). */
  rekeyIke(saId: SaId, now: Micros): boolean {
    const sa = this.sas.get(saId);
    if (!sa || !sa.established) return false;
    sa.ikeRekeyAt = undefined;
    this.touched.add(sa);
    this.env(now).queue(sa, ikeRekeyExchange());
    this.settle();
    return true;
  }

  /** Creates another CHILD_SA with the connection's proposals and selectors. */
  createChild(saId: SaId, now: Micros): boolean {
    const sa = this.sas.get(saId);
    if (!sa || !sa.established) return false;
    this.env(now).queue(sa, childExchange({}));
    this.settle();
    return true;
  }

  /** Sends a liveness check (an empty INFORMATIONAL) now. */
  checkLiveness(saId: SaId, now: Micros): boolean {
    const sa = this.sas.get(saId);
    if (!sa || !sa.established) return false;
    this.env(now).queue(sa, dpdExchange());
    this.settle();
    return true;
  }

  // ---- inspection ----

  saIds(): SaId[] {
    return [...this.sas.keys()];
  }

  getSa(saId: SaId): IkeSaInfo | undefined {
    const sa = this.sas.get(saId);
    if (!sa) return undefined;
    return {
      id: sa.id,
      role: sa.role,
      state: sa.state,
      spiI: new Uint8Array(sa.spiI),
      spiR: new Uint8Array(sa.spiR),
      local: sa.local,
      remote: sa.remote,
      floated: sa.floated,
      natHere: sa.natHere,
      natThere: sa.natThere,
      natFake: sa.natFake,
      suite: sa.suite ? ikeSuiteName(sa.suite) : undefined,
      peerId: sa.peerIdText,
      keys: sa.keys ? { skD: sa.keys.skD, skEi: sa.keys.skEi, skEr: sa.keys.skEr, skAi: sa.keys.skAi, skAr: sa.keys.skAr } : undefined,
      children: [...sa.children.values()].map((c) => ({
        id: c.id,
        spiIn: c.spiIn,
        spiOut: c.spiOut,
        state: c.state,
        suite: espSuiteName(c.suite),
        encap: c.encap,
        keys: c.keys,
        localTs: c.localTs.map(formatTrafficSelector),
        remoteTs: c.remoteTs.map(formatTrafficSelector),
      })),
    };
  }

  /** Current keys of every live SA: Wireshark UAT tables and charon-style key dumps. */
  exportKeys(): { ikev2DecryptionTable: string[]; espSa: string[]; keyLog: string } {
    const ike: string[] = [];
    const esp: string[] = [];
    let log = '';
    for (const sa of this.sas.values()) {
      if (!sa.keys || !sa.suite) continue;
      ike.push(ikeDecryptionRow(sa));
      log += ikeKeyLog(sa);
      for (const c of sa.children.values()) {
        const rows = childEspSaRows(sa, c);
        esp.push(rows.in, rows.out);
        log += childKeyLog(sa, c);
      }
    }
    return { ikev2DecryptionTable: ike, espSa: esp, keyLog: log };
  }

  // ---- internals ----

  private env(now: Micros): EngineEnv {
    this.envObj.now = now;
    return this.envObj;
  }

  /** Builds the task environment once; it reads the current `now` from itself. */
  private makeEnv(): EndpointEnv {
    return new EndpointEnv(this, this.rng, this.config);
  }

  // ---- what the environment calls (see EndpointEnv) ----

  /** @internal */
  envEmit(e: IkeEventBody, now: Micros): void {
    if ('saId' in e && e.saId !== undefined) {
      const sa = this.sas.get(e.saId);
      if (sa) this.touched.add(sa);
    }
    // The body is a fresh object at every call site; `at` is added to it rather than
    // copying it, so fields computed on first read (the key exports) stay unread.
    this.events.push(Object.assign(e, { at: now }) as IkeEvent);
  }

  /** @internal */
  envTransmit(t: Transmit): void {
    this.transmits.push(t);
  }

  /** @internal */
  envAllocateEspSpi(): number {
    return this.allocateEspSpi();
  }

  /** @internal */
  envAllocateIkeSpi(): Uint8Array {
    return this.allocateIkeSpi();
  }

  /** @internal */
  envNewSaId(): SaId {
    return this.nextSaId++;
  }

  /** @internal */
  envNewChildId(): ChildId {
    return this.nextChildId++;
  }

  /** @internal */
  envFakeNatdAddress(family: IpFamily): IpAddress {
    return this.fakeAddress(family);
  }

  /** @internal */
  envQueue(env: EngineEnv, sa: IkeSa, ex: QueuedExchange): void {
    if (!sa.alive) return;
    this.touched.add(sa);
    sa.queue.push(ex);
    startNext(env, sa);
  }

  /** @internal */
  envAdopt(sa: IkeSa): void {
    this.register(sa);
  }

  /** @internal */
  envDeleteSa(env: EngineEnv, sa: IkeSa, reason: Extract<IkeEventBody, { type: 'sa-deleted' }>['reason'], notify?: number, message?: string): void {
    this.removeSa(env, sa, reason, notify, message);
  }

  /** @internal */
  envInstallChild(env: EngineEnv, sa: IkeSa, child: ChildSa, rekeyOf?: ChildId): void {
    this.installChild(env, sa, child, rekeyOf);
  }

  /** @internal */
  envRemoveChild(env: EngineEnv, sa: IkeSa, child: ChildSa, reason: Extract<IkeEventBody, { type: 'child-deleted' }>['reason']): void {
    this.touched.add(sa);
    if (!sa.children.delete(child.id)) return;
    this.espSpis.delete(child.spiIn);
    env.emit({ type: 'child-deleted', saId: sa.id, childId: child.id, spiIn: child.spiIn, spiOut: child.spiOut, reason });
  }

  /** @internal */
  envReportEstablished(env: EngineEnv, sa: IkeSa): void {
    this.reportEstablished(env, sa);
  }

  /** @internal */
  envScheduleChildRekey(env: EngineEnv, sa: IkeSa, child: ChildSa): void {
    this.scheduleChildRekey(env, sa, child);
  }

  /** Recomputes the deadline of every SA the current call changed and files it in the heap. */
  private settle(): void {
    if (this.touched.size === 0) return;
    for (const sa of this.touched) {
      const at = this.sas.get(sa.id) === sa ? this.deadline(sa) : undefined;
      if (at === sa.dueAt) continue;
      sa.dueAt = at;
      sa.dueVersion++;
      if (at !== undefined) this.timers.push({ at, sa, version: sa.dueVersion });
    }
    this.touched.clear();
  }

  private key(sa: IkeSa): string {
    return `${sa.isInitiator ? 'i' : 'r'}:${toHex(sa.ourSpi)}`;
  }

  private register(sa: IkeSa): void {
    if (!this.sas.has(sa.id)) sa.seq = this.nextSeq++;
    this.touched.add(sa);
    this.sas.set(sa.id, sa);
    this.bySpi.set(this.key(sa), sa);
  }

  private removeSa(env: EngineEnv, sa: IkeSa, reason: Extract<IkeEventBody, { type: 'sa-deleted' }>['reason'], notify?: number, message?: string): void {
    if (!sa.alive) return;
    this.touched.add(sa);
    for (const c of [...sa.children.values()]) env.removeChild(sa, c, 'ike-deleted');
    sa.state = IkeSaState.DELETED;
    sa.active = undefined;
    sa.queue.length = 0;
    this.sas.delete(sa.id);
    if (this.bySpi.get(this.key(sa)) === sa) this.bySpi.delete(this.key(sa));
    for (const [k, v] of this.byInit) if (v === sa) this.byInit.delete(k);
    env.emit({
      type: 'sa-deleted',
      saId: sa.id,
      reason,
      ...(notify !== undefined ? { notify } : {}),
      ...(message !== undefined ? { message } : {}),
    });
  }

  private allocateIkeSpi(): Uint8Array {
    for (let i = 0; i < 64; i++) {
      const spi = this.rng.bytes(8);
      if (bytesEqual(spi, ZERO_SPI)) continue;
      const hex = toHex(spi);
      if (this.bySpi.has(`i:${hex}`) || this.bySpi.has(`r:${hex}`)) continue;
      return spi;
    }
    throw new Error('could not draw an unused IKE SPI');
  }

  private allocateEspSpi(): number {
    for (let i = 0; i < 64; i++) {
      const v = this.rng.u32();
      // SPIs 1..255 are reserved by IANA (RFC 4303 §2.1).
      if (v < 0x100 || this.espSpis.has(v)) continue;
      this.espSpis.add(v);
      return v;
    }
    throw new Error('could not draw an unused ESP SPI');
  }

  private fakeAddress(family: IpFamily): IpAddress {
    let a = this.fakeAddrs.get(family);
    if (!a) {
      a = { family, bytes: this.rng.bytes(family === 4 ? 4 : 16) };
      this.fakeAddrs.set(family, a);
    }
    return a;
  }

  private installChild(env: EngineEnv, sa: IkeSa, child: ChildSa, rekeyOf?: ChildId): void {
    this.touched.add(sa);
    sa.children.set(child.id, child);
    this.espSpis.add(child.spiIn);
    const kx = childKeyExports(sa, child);
    env.emit({
      type: 'child-established',
      saId: sa.id,
      childId: child.id,
      spiIn: child.spiIn,
      spiOut: child.spiOut,
      suite: espSuiteName(child.suite),
      encKeyIn: child.keys.encIn,
      encKeyOut: child.keys.encOut,
      integKeyIn: child.keys.integIn,
      integKeyOut: child.keys.integOut,
      esn: child.suite.esn,
      encap: child.encap,
      localTs: child.localTs.map(formatTrafficSelector),
      remoteTs: child.remoteTs.map(formatTrafficSelector),
      mode: 'tunnel',
      ...(rekeyOf !== undefined ? { rekeyOf } : {}),
      // Key-export text is made on first read (key-export.ts), the same on every read.
      get espSaRows() {
        return kx.espSaRows();
      },
      get keyLog() {
        return kx.keyLog();
      },
    });
    this.scheduleChildRekey(env, sa, child);
  }

  private jittered(env: EngineEnv, time: Micros, jitter: Micros): Micros {
    return env.now + time - (jitter > 0 ? env.rng.int(0, jitter) : 0);
  }

  private scheduleChildRekey(env: EngineEnv, sa: IkeSa, child: ChildSa): void {
    const r = sa.config.rekey;
    this.touched.add(sa);
    child.rekeyAt = r.child > 0 ? this.jittered(env, r.child, r.jitter) : undefined;
  }

  private reportEstablished(env: EngineEnv, sa: IkeSa): void {
    this.touched.add(sa);
    // The keys are derived: the DH private value is not needed any more.
    sa.dh = undefined;
    const r = sa.config.rekey;
    sa.ikeRekeyAt = r.ike > 0 ? this.jittered(env, r.ike, r.jitter) : undefined;
    const kx = ikeKeyExports(sa);
    env.emit({
      type: 'sa-established',
      saId: sa.id,
      spiI: new Uint8Array(sa.spiI),
      spiR: new Uint8Array(sa.spiR),
      role: sa.role,
      suite: ikeSuiteName(sa.suite!),
      local: sa.local,
      remote: sa.remote,
      localId: sa.config.localId.text,
      remoteId: sa.peerIdText ?? '',
      natHere: sa.natHere,
      natThere: sa.natThere,
      natFake: sa.natFake,
      ...(sa.rekeyOf !== undefined ? { rekeyOf: sa.rekeyOf } : {}),
      get ikev2DecryptionRow() {
        return kx.ikev2DecryptionRow();
      },
      get keyLog() {
        return kx.keyLog();
      },
    });
  }

  /** The earliest instant at which fire() has something to do for the SA. */
  private deadline(sa: IkeSa): Micros | undefined {
    let best = sa.active?.retransmitAt;
    const ka = keepaliveDueAt(sa);
    if (ka !== undefined && (best === undefined || ka < best)) best = ka;
    const dpd = dpdDueAt(sa);
    if (dpd !== undefined && (best === undefined || dpd < best)) best = dpd;
    if (sa.state === IkeSaState.HALF_OPEN && sa.halfOpenUntil !== undefined && (best === undefined || sa.halfOpenUntil < best)) best = sa.halfOpenUntil;
    if (sa.established) {
      if (sa.ikeRekeyAt !== undefined && (best === undefined || sa.ikeRekeyAt < best)) best = sa.ikeRekeyAt;
      for (const c of sa.children.values()) {
        if (c.state === ChildState.INSTALLED && c.rekeyAt !== undefined && (best === undefined || c.rekeyAt < best)) best = c.rekeyAt;
      }
    }
    return best;
  }

  private fire(env: EngineEnv, sa: IkeSa): void {
    const now = env.now;
    if (sa.state === IkeSaState.HALF_OPEN && sa.halfOpenUntil !== undefined && now >= sa.halfOpenUntil) {
      env.deleteSa(sa, 'half-open-timeout', undefined, 'no IKE_AUTH within the half-open timeout');
      return;
    }
    onRetransmitTimer(env, sa);
    if (!sa.alive) return;
    const ka = keepaliveDueAt(sa);
    if (ka !== undefined && now >= ka) sendKeepalive(env, sa);
    const dpd = dpdDueAt(sa);
    if (dpd !== undefined && now >= dpd) env.queue(sa, dpdExchange());
    if (!sa.established) return;
    if (sa.ikeRekeyAt !== undefined && now >= sa.ikeRekeyAt) {
      sa.ikeRekeyAt = undefined;
      env.queue(sa, ikeRekeyExchange());
    }
    for (const c of [...sa.children.values()]) {
      if (c.state === ChildState.INSTALLED && c.rekeyAt !== undefined && now >= c.rekeyAt) env.queue(sa, childRekeyExchange(c));
    }
  }

  private dispatch(env: EngineEnv, d: Datagram): void {
    const cls = classifyUdpPayload(d.src.port, d.dst.port, d.payload);
    if (cls.kind === 'keepalive') return;
    if (cls.kind === 'esp') {
      env.drop(d, 'esp', `ESP (SPI ${cls.spi.toString(16).padStart(8, '0')}) is for the ESP datapath`);
      return;
    }
    if (cls.kind === 'unknown' || cls.kind === 'malformed') {
      env.drop(d, 'malformed', cls.reason);
      return;
    }
    const msg = decodeMessage(cls.ike, cls.offset);
    const h = msg.header;
    const bytes = cls.ike.subarray(0, h.length);
    if (h.majorVersion !== 2) {
      env.drop(d, 'unsupported-version', `IKE major version ${h.majorVersion}`);
      return;
    }
    const response = isResponse(h);
    let sa: IkeSa | undefined;
    if (isFromInitiator(h)) {
      if (bytesEqual(h.spiR, ZERO_SPI)) {
        if (!response && h.exchangeType === ExchangeType.IKE_SA_INIT) this.handleInitRequest(env, d, msg, bytes);
        else env.drop(d, 'unknown-sa', `${exchangeName(h.exchangeType)} with a zero responder SPI`);
        return;
      }
      sa = this.bySpi.get(`r:${toHex(h.spiR)}`);
      if (sa && !bytesEqual(sa.spiI, h.spiI)) sa = undefined;
    } else {
      sa = this.bySpi.get(`i:${toHex(h.spiI)}`);
      const initResponse = h.exchangeType === ExchangeType.IKE_SA_INIT && sa?.state === IkeSaState.CONNECTING;
      if (sa && !initResponse && !bytesEqual(sa.spiR, h.spiR)) sa = undefined;
    }
    if (!sa) {
      env.drop(d, 'unknown-sa', `no IKE SA for SPIs ${toHex(h.spiI)}/${toHex(h.spiR)}`);
      return;
    }
    this.touched.add(sa);
    if (h.exchangeType === ExchangeType.IKE_SA_INIT) {
      if (response && sa.isInitiator) handleResponse(env, sa, { message: msg, payloads: msg.payloads, bytes, datagram: d });
      else env.drop(d, 'unexpected-message', 'IKE_SA_INIT request for an existing IKE SA', sa.id);
      return;
    }
    if (!sa.keys) {
      env.drop(d, 'unexpected-message', `${exchangeName(h.exchangeType)} before keys exist`, sa.id);
      return;
    }
    const opened = openProtected(sa, msg, bytes, cls.offset);
    if (!opened.ok) {
      env.drop(d, opened.reason, opened.message, sa.id, opened.error);
      return;
    }
    const inc: Incoming = { message: msg, payloads: opened.payloads, bytes, datagram: d };
    if (response) handleResponse(env, sa, inc);
    else handleRequest(env, sa, inc, () => this.responderTasks(sa, inc));
  }

  private responderTasks(sa: IkeSa, inc: Incoming): readonly ResponderTask[] | string {
    const t = inc.message.header.exchangeType;
    const p = inc.payloads;
    switch (t) {
      case ExchangeType.IKE_AUTH:
        if (sa.isInitiator || sa.state !== IkeSaState.HALF_OPEN) return `IKE_AUTH request in state ${sa.state}`;
        return [new IkeAuthResponder(), new ChildCreateResponder(true)];
      case ExchangeType.CREATE_CHILD_SA: {
        if (sa.state === IkeSaState.REKEYED || sa.state === IkeSaState.DELETING) {
          return [new Refuse(NotifyType.TEMPORARY_FAILURE, `the IKE SA is ${sa.state}`)];
        }
        if (!sa.established) return `CREATE_CHILD_SA in state ${sa.state}`;
        if (notifiesOfType(p, NotifyType.REKEY_SA).length > 0) return [childRekeyResponder()];
        const saP = payloadsOfType(p, PayloadType.SA)[0];
        if (saP?.proposals.some((x) => x.protocolId === ProtocolId.IKE)) return [new IkeRekeyResponder()];
        return [new ChildCreateResponder(false)];
      }
      case ExchangeType.INFORMATIONAL:
        if (sa.state === IkeSaState.HALF_OPEN || sa.state === IkeSaState.CONNECTING) return `INFORMATIONAL in state ${sa.state}`;
        return [new InformationalResponder()];
      default:
        return `exchange type ${t} is not supported`;
    }
  }

  /** An IKE_SA_INIT answer that creates no state (COOKIE, INVALID_KE_PAYLOAD, NO_PROPOSAL_CHOSEN, ...). */
  private rejectInit(env: EngineEnv, d: Datagram, msg: IkeMessage, notify: Payload & { type: typeof PayloadType.N }, message: string): void {
    const h = msg.header;
    const payloads = [notify];
    const bytes = encodePlain(
      { spiI: h.spiI, spiR: ZERO_SPI, exchangeType: ExchangeType.IKE_SA_INIT, messageId: h.messageId, response: true, initiator: false },
      payloads,
    );
    sendIke(env, undefined, bytes, d.dst, d.src, {
      exchange: ExchangeType.IKE_SA_INIT,
      messageId: h.messageId,
      isResponse: true,
      payloads: describePayloads(payloads),
      encrypted: false,
      retransmission: false,
    });
    env.emit({ type: 'init-rejected', notify: notify.notifyType, notifyName: notifyTypeName(notify.notifyType) ?? String(notify.notifyType), src: d.src, message });
  }

  private handleInitRequest(env: EngineEnv, d: Datagram, msg: IkeMessage, bytes: Uint8Array): void {
    const h = msg.header;
    const initKey = `${toHex(h.spiI)}|${endpointKey(d.src)}`;
    const existing = this.byInit.get(initKey);
    if (existing) this.touched.add(existing);
    const inc: Incoming = { message: msg, payloads: msg.payloads, bytes, datagram: d };
    if (existing) {
      if (existing.state !== IkeSaState.HALF_OPEN || existing.expectedRequestId !== 1) {
        // Answered once and moved on (IKE_AUTH processed): an old request replayed.
        env.drop(d, 'invalid-message-id', `IKE_SA_INIT request (message ID 0) replayed to an IKE SA that expects message ID ${existing.expectedRequestId}`, existing.id);
        return;
      }
      if (existing.initRequest && existing.initResponse && bytesEqual(existing.initRequest, bytes)) {
        env.emit({
          type: 'message-received',
          saId: existing.id,
          exchange: h.exchangeType,
          exchangeName: exchangeName(h.exchangeType),
          messageId: h.messageId,
          isResponse: false,
          payloads: describePayloads(msg.payloads),
          encrypted: false,
          src: d.src,
          dst: d.dst,
          retransmission: true,
        });
        sendIke(env, existing, existing.initResponse, d.dst, d.src, {
          exchange: ExchangeType.IKE_SA_INIT,
          messageId: 0,
          isResponse: true,
          payloads: describePayloads(decodeMessage(existing.initResponse).payloads),
          encrypted: false,
          retransmission: true,
        });
      } else {
        env.drop(d, 'unexpected-message', 'a different IKE_SA_INIT with the SPI of an existing IKE SA', existing.id);
      }
      return;
    }
    if (h.messageId !== 0) {
      env.drop(d, 'invalid-message-id', `IKE_SA_INIT request with message ID ${h.messageId}`);
      return;
    }
    env.emit({
      type: 'message-received',
      saId: undefined,
      exchange: h.exchangeType,
      exchangeName: exchangeName(h.exchangeType),
      messageId: 0,
      isResponse: false,
      payloads: describePayloads(msg.payloads),
      encrypted: false,
      src: d.src,
      dst: d.dst,
      retransmission: false,
    });
    const critical = firstUnsupportedCritical(msg.payloads);
    if (critical) {
      this.rejectInit(env, d, msg, makeNotify(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, Uint8Array.of(critical.payloadType)), `unsupported critical payload ${critical.payloadType}`);
      return;
    }
    let sa: IkeSa | undefined;
    try {
      const verdict = this.admission.admit(msg.payloads, d.src, h.spiI, env.now, this.envObj.emitFn);
      if (verdict.kind === 'cookie') {
        this.rejectInit(env, d, msg, makeNotify(NotifyType.COOKIE, verdict.cookie), verdict.message);
        return;
      }
      if (verdict.kind === 'drop') {
        env.drop(d, verdict.reason, verdict.message);
        return;
      }
      const sel = selectResponderConfig(this.config, msg.payloads, d.src);
      sa = new IkeSa({
        id: this.nextSaId,
        role: 'responder',
        spiI: new Uint8Array(h.spiI),
        spiR: this.allocateIkeSpi(),
        config: sel.config,
        local: d.dst,
        remote: d.src,
        state: IkeSaState.HALF_OPEN,
        now: env.now,
      });
      const tasks: ResponderTask[] = [new IkeInitResponder(sel.selected), new NatdResponder()];
      for (const t of tasks) t.process(env, sa, inc);
      this.nextSaId++;
      this.register(sa);
      this.byInit.set(initKey, sa);
      this.admission.track(sa, d.src.addr);
      sa.halfOpenUntil = env.now + this.config.halfOpenTimeout;
      sa.lastInboundAt = env.now;
      const out: Payload[] = [];
      for (const t of tasks) t.build(env, sa, out);
      const resp = encodePlain(
        { spiI: sa.spiI, spiR: sa.spiR, exchangeType: ExchangeType.IKE_SA_INIT, messageId: 0, response: true, initiator: false },
        out,
      );
      const names = describePayloads(out);
      sa.initResponse = resp;
      sa.lastResponse = { messageId: 0, exchangeType: ExchangeType.IKE_SA_INIT, bytes: resp, names };
      sa.expectedRequestId = 1;
      sendIke(env, sa, resp, d.dst, d.src, {
        exchange: ExchangeType.IKE_SA_INIT,
        messageId: 0,
        isResponse: true,
        payloads: names,
        encrypted: false,
        retransmission: false,
      });
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.rejectInit(env, d, msg, errorNotify(e), e.message);
    } finally {
      if (sa?.dh) this.admission.stats.dhComputations++;
    }
  }
}

interface TimerEntry {
  readonly at: Micros;
  readonly sa: IkeSa;
  readonly version: number;
}

/** A binary min-heap of SA deadlines. */
class TimerHeap {
  private readonly items: TimerEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TimerEntry {
    return this.items[0]!;
  }

  push(e: TimerEntry): void {
    const a = this.items;
    let i = a.length;
    a.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= e.at) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = e;
  }

  pop(): TimerEntry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    const n = a.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.at < a[l]!.at ? r : l;
      if (a[c]!.at >= last.at) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/**
 * The environment tasks see: one per endpoint, its methods on the prototype (no
 * closures made per call); `now` is set by the endpoint at each entry point.
 */
class EndpointEnv implements EngineEnv {
  now: Micros = 0;
  /** `emit` bound to this environment, for code that takes it as a plain function. */
  readonly emitFn: (e: IkeEventBody) => void;

  constructor(
    private readonly ep: IkeEndpoint,
    readonly rng: Rng,
    readonly config: ResolvedEndpointConfig,
  ) {
    this.emitFn = this.emit.bind(this);
  }

  emit(e: IkeEventBody): void {
    this.ep.envEmit(e, this.now);
  }
  transmit(t: Transmit): void {
    this.ep.envTransmit(t);
  }
  drop(d: Datagram, reason: DropReason, message: string, saId?: SaId, error?: Error): void {
    this.emit({
      type: 'datagram-dropped',
      reason,
      src: d.src,
      dst: d.dst,
      message,
      ...(saId !== undefined ? { saId } : {}),
      ...(error ? { error } : {}),
    });
  }
  allocateEspSpi(): number {
    return this.ep.envAllocateEspSpi();
  }
  allocateIkeSpi(): Uint8Array {
    return this.ep.envAllocateIkeSpi();
  }
  newSaId(): SaId {
    return this.ep.envNewSaId();
  }
  newChildId(): ChildId {
    return this.ep.envNewChildId();
  }
  fakeNatdAddress(family: IpFamily): IpAddress {
    return this.ep.envFakeNatdAddress(family);
  }
  queue(sa: IkeSa, ex: QueuedExchange): void {
    this.ep.envQueue(this, sa, ex);
  }
  adopt(sa: IkeSa): void {
    this.ep.envAdopt(sa);
  }
  deleteSa(sa: IkeSa, reason: Extract<IkeEventBody, { type: 'sa-deleted' }>['reason'], notify?: number, message?: string): void {
    this.ep.envDeleteSa(this, sa, reason, notify, message);
  }
  installChild(sa: IkeSa, child: ChildSa, rekeyOf?: ChildId): void {
    this.ep.envInstallChild(this, sa, child, rekeyOf);
  }
  removeChild(sa: IkeSa, child: ChildSa, reason: Extract<IkeEventBody, { type: 'child-deleted' }>['reason']): void {
    this.ep.envRemoveChild(this, sa, child, reason);
  }
  reportEstablished(sa: IkeSa): void {
    this.ep.envReportEstablished(this, sa);
  }
  scheduleChildRekey(sa: IkeSa, child: ChildSa): void {
    this.ep.envScheduleChildRekey(this, sa, child);
  }
}
