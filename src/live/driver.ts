/**
 * One IkeEndpoint on real UDP sockets, with the userspace ESP datapath behind it.
 *
 *   socket 'message' ─▶ classifyUdpPayload ─┬─ IKE ─────▶ engine.handleDatagram
 *                                           ├─ ESP ─────▶ EspProcessor.receiveEsp ─▶ inner IP packet
 *                                           └─ keepalive (counted)
 *   after every input: drain pollTransmit (each sent on the socket whose port is
 *   transmit.src.port), pollEvent (SAD updates, output), then one setTimeout for the
 *   earliest of pollTimeout() and the driver's own deadlines (pings, --duration,
 *   the shutdown wait). handleTimeout gets integer µs from a monotonic clock.
 *
 * Two sockets are bound to the configured local address: the IKE port (default 500)
 * and the NAT-T port (default 4500). The observed addresses of every datagram (the
 * sender's as reported by the kernel, ours as bound) go to the engine, which computes
 * NAT-D from them.
 *
 * Raw ESP (IP protocol 50) needs a raw socket, which node:dgram cannot open. Live mode
 * therefore carries ESP only inside UDP: the CLI negotiates encapsulation by default
 * (encap 'force', as strongSwan 5.9.8 always does), refuses 'off', and a CHILD_SA that
 * still comes out unencapsulated (encap 'auto' without a NAT) is refused here: the
 * IKE SA is deleted and the run fails with RAW_ESP_UNSUPPORTED.
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  formatEndpoint,
  formatIp,
  ipEquals,
  parsePrefix,
  tryParseIp,
  type Endpoint,
  type IpAddress,
  type Micros,
  type Prefix,
  type Rng,
} from '../core/index.ts';
import {
  ConfigError,
  IkeEndpoint,
  IkeSaState,
  parseTrafficSelector,
  resolvePeerConfig,
  type ChildId,
  type IkeEvent,
  type PeerConfig,
  type ResolvedPeerConfig,
  type SaId,
  type TrafficSelector,
} from '../ikev2/index.ts';
import { EspProcessor, SecurityAssociationDatabase, newSaCounters, showCryptoIpsecSa, type SaCounters } from '../ipsec/index.ts';
import { classifyUdpPayload } from '../wire/udp-encap.ts';
import { monotonicClock, type LiveClock } from './clock.ts';
import { cipherSuiteFromName } from './esp-suite.ts';
import type { LiveEvent, LiveOwnEvent, LiveRole } from './events.ts';
import { ECHO_DATA_LEN, buildEchoReply, buildEchoRequest, echoData, parseEcho } from './icmp.ts';
import { KeyFiles } from './key-files.ts';
import { PcapFile } from './pcap-file.ts';
import { PingStats } from './ping.ts';

export const RAW_ESP_UNSUPPORTED = 'raw ESP (protocol 50) is not supported in live mode; use --encap force or a NAT';

/** Problems that stop a live run before it starts (bad setup, a port in use). */
export class LiveError extends Error {
  override readonly name = 'LiveError';
  constructor(
    message: string,
    /** The command-line flag at fault, if one is. */
    readonly flag?: string,
  ) {
    super(message);
  }
}

export interface PingOptions {
  readonly dst: IpAddress;
  readonly count: number;
  readonly intervalUs: Micros;
  /** How long to wait for replies after the last request. */
  readonly waitUs: Micros;
  /** ICMP identifier (default: the low 16 bits of the process id). */
  readonly id?: number;
}

export interface LivePeerOptions {
  readonly role: LiveRole;
  /** The connection; its first local address is bound, its ports are the sockets'. */
  readonly peer: PeerConfig;
  readonly rng: Rng;
  readonly clock?: LiveClock;
  /** Our address inside the tunnel: source of pings, the address echo requests are answered for. */
  readonly inner?: IpAddress;
  readonly ping?: PingOptions;
  /** Shut down cleanly this long after start. */
  readonly durationUs?: Micros;
  /** How long to wait for the peer to answer our DELETE (default 2 s). */
  readonly shutdownWaitUs?: Micros;
  readonly keysDir?: string;
  readonly pcapPath?: string;
  readonly onEvent: (e: LiveEvent) => void;
}

export interface LiveResult {
  readonly exitCode: 0 | 1;
  readonly established: boolean;
  readonly childInstalled: boolean;
  readonly message: string;
  readonly pingsTransmitted: number;
  readonly pingsReceived: number;
  readonly keepalivesReceived: number;
}

interface ChildEntry {
  saId: SaId;
  readonly childId: ChildId;
  /** SAD child key: stays the same across rekeys, so counters add up. */
  readonly key: string;
  readonly spiIn: number;
  readonly spiOut: number;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function tsCovers(list: readonly TrafficSelector[], a: IpAddress): boolean {
  return list.some((ts) => ts.family === a.family && cmp(ts.start, a.bytes) <= 0 && cmp(a.bytes, ts.end) <= 0);
}

/** "10.77.10.0/24" or "10.0.0.1-10.0.0.9", without a "[proto/port]" suffix. */
function parseTsText(text: string): TrafficSelector | undefined {
  return parseTrafficSelector(text.replace(/\[.*\]$/, ''));
}

function prefixOf(text: string): Prefix | undefined {
  try {
    return parsePrefix(text.replace(/\[.*\]$/, ''));
  } catch {
    return undefined;
  }
}

/** A Node-reported address ("127.0.0.1", "::ffff:1.2.3.4", "fe80::1%eth0") as an IpAddress. */
function kernelAddress(text: string, family: 4 | 6): IpAddress | undefined {
  const bare = text.replace(/%.*$/, '');
  const a = tryParseIp(bare);
  if (a && a.family === family) return a;
  if (family === 4 && bare.startsWith('::ffff:')) return tryParseIp(bare.slice(7));
  return a;
}

export class LivePeer {
  readonly config: ResolvedPeerConfig;
  readonly engine: IkeEndpoint;
  readonly sad = new SecurityAssociationDatabase();
  readonly esp: EspProcessor;
  private readonly clock: LiveClock;
  private readonly local: IpAddress;
  private readonly sockets = new Map<number, Socket>();
  private readonly children = new Map<ChildId, ChildEntry>();
  /** Snapshots of children that were deleted, for the exit report. */
  private readonly closed: Extract<LiveOwnEvent, { type: 'counters' }>[] = [];
  private readonly keys: KeyFiles | undefined;
  private readonly pcap: PcapFile | undefined;
  private readonly ping: PingStats | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private startedAt: Micros = 0;
  private everEstablished = false;
  private everInstalled = false;
  private refused: string | undefined;
  private failure: string | undefined;
  private keepalivesIn = 0;
  private stopping: { at: Micros; reason: string; deadline: Micros } | undefined;
  private finished = false;
  private resolveDone!: (r: LiveResult) => void;
  /** Settles when the run is over (sockets closed). */
  readonly done: Promise<LiveResult>;
  private nextSeq = 1;
  private nextPingAt: Micros | undefined;
  private pingsDoneAt: Micros | undefined;

  constructor(private readonly opts: LivePeerOptions) {
    this.config = resolvePeerConfig(opts.peer, 'peer');
    if (this.config.encap === 'off') throw new LiveError(RAW_ESP_UNSUPPORTED, '--encap');
    if (opts.role === 'initiator' && !this.config.remote) throw new ConfigError('peer.remote', 'the peer address is needed to initiate');
    this.local = this.config.localAddrs[0]!;
    if (this.local.bytes.every((b) => b === 0)) {
      throw new LiveError('bind to a specific address: NAT-D hashes the address the peer reaches us at', '--local');
    }
    if (opts.inner && opts.inner.family !== this.local.family) {
      // Inner and outer families may differ in IPsec, but the userspace tunnel here keeps one family.
      throw new LiveError(`inner address ${formatIp(opts.inner)} and local address ${formatIp(this.local)} are of different families`, '--inner');
    }
    if (opts.ping) {
      if (!opts.inner) throw new LiveError('no inner source address: give --inner or --local-ts', '--ping');
      if (opts.ping.dst.family !== opts.inner.family) throw new LiveError('ping destination and inner address are of different families', '--ping');
      if (!Number.isInteger(opts.ping.count) || opts.ping.count < 1) throw new LiveError(`count must be a positive integer, got ${opts.ping.count}`, '--count');
    }
    this.clock = opts.clock ?? monotonicClock();
    this.engine = new IkeEndpoint({ rng: opts.rng, config: opts.role === 'responder' ? { peers: [opts.peer] } : {} });
    this.esp = new EspProcessor({ sad: this.sad, rng: opts.rng });
    this.keys = opts.keysDir ? new KeyFiles(opts.keysDir) : undefined;
    this.pcap = opts.pcapPath ? new PcapFile(opts.pcapPath) : undefined;
    this.ping = opts.ping ? new PingStats() : undefined;
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  // ---------------------------------------------------------------- lifecycle

  /** Binds the sockets and, as initiator, starts the IKE SA. Rejects with LiveError when a socket cannot be bound. */
  async start(): Promise<void> {
    const { ike, natt } = this.config.ports;
    try {
      await this.bind(ike, 'ike');
      await this.bind(natt, 'natt');
    } catch (e) {
      this.closeSockets();
      this.pcap?.close();
      throw e;
    }
    if (this.finished) {
      // stop() came while the sockets were being bound.
      this.closeSockets();
      return;
    }
    const now = this.clock.now();
    this.startedAt = now;
    this.emit({ type: 'listening', at: now, role: this.opts.role, ike: { addr: this.local, port: ike }, natt: { addr: this.local, port: natt } });
    if (this.opts.role === 'initiator') this.engine.initiate(this.opts.peer, now);
    this.pump(now);
  }

  /** Starts and waits for the end of the run. */
  async run(): Promise<LiveResult> {
    await this.start();
    return this.done;
  }

  /**
   * Clean shutdown: a DELETE for every IKE SA, up to the shutdown wait for the answers,
   * then the sockets close. A second call while waiting closes at once.
   */
  stop(reason = 'stopped'): void {
    if (this.finished) return;
    const now = this.clock.now();
    if (this.stopping) {
      this.finish(now);
      return;
    }
    this.beginStop(now, reason);
    this.pump(now);
  }

  private beginStop(now: Micros, reason: string): void {
    if (this.stopping) return;
    const ids = this.engine.saIds();
    this.stopping = { at: now, reason, deadline: now + (this.opts.shutdownWaitUs ?? 2_000_000) };
    this.nextPingAt = undefined;
    this.emit({ type: 'shutdown', at: now, reason, sas: ids.length });
    for (const id of ids) {
      if (this.engine.getSa(id)?.state !== IkeSaState.DELETING) this.engine.deleteSa(id, now);
    }
  }

  private finish(now: Micros): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.closed) this.emit(c);
    for (const c of this.children.values()) {
      if (this.sad.outbound(c.key)) this.emit(this.countersEvent(c, now));
    }
    if (this.ping && this.ping.transmitted > 0 && !this.ping.summarized) this.emitPingSummary(now);
    this.closeSockets();
    this.pcap?.close();
    const result = this.result();
    this.emit({
      type: 'result',
      at: now,
      exitCode: result.exitCode,
      established: result.established,
      childInstalled: result.childInstalled,
      message: result.message,
      keepalivesReceived: result.keepalivesReceived,
    });
    this.resolveDone(result);
  }

  private result(): LiveResult {
    const transmitted = this.ping?.transmitted ?? 0;
    const received = this.ping?.received ?? 0;
    let message: string;
    let ok = false;
    if (this.refused) message = this.refused;
    else if (!this.everInstalled) message = this.failure ?? (this.everEstablished ? 'no CHILD_SA was installed' : 'no IKE SA was established');
    else if (this.opts.ping && received === 0) message = `no reply to ${transmitted} echo request${transmitted === 1 ? '' : 's'}`;
    else {
      ok = true;
      message = this.opts.ping ? `${received} of ${transmitted} echo requests answered` : 'CHILD_SA installed';
    }
    return {
      exitCode: ok ? 0 : 1,
      established: this.everEstablished,
      childInstalled: this.everInstalled,
      message,
      pingsTransmitted: transmitted,
      pingsReceived: received,
      keepalivesReceived: this.keepalivesIn,
    };
  }

  // ---------------------------------------------------------------- sockets

  private bind(port: number, which: 'ike' | 'natt'): Promise<void> {
    const sock = createSocket({ type: this.local.family === 4 ? 'udp4' : 'udp6' });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        sock.close();
        const what = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : err.message;
        const flag = err.code === 'EADDRNOTAVAIL' ? '--local' : which === 'ike' ? '--ike-port' : '--natt-port';
        reject(new LiveError(`cannot bind ${formatEndpoint({ addr: this.local, port })}: ${what}`, flag));
      };
      sock.once('error', onError);
      sock.bind({ address: formatIp(this.local), port, exclusive: true }, () => {
        sock.off('error', onError);
        sock.on('error', (err) => this.emit({ type: 'socket-error', at: this.clock.now(), socket: which, message: err.message }));
        sock.on('message', (msg, rinfo) => this.onMessage(port, msg, rinfo.address, rinfo.port));
        this.sockets.set(port, sock);
        resolve();
      });
    });
  }

  private closeSockets(): void {
    for (const s of this.sockets.values()) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.sockets.clear();
  }

  private send(src: Endpoint, dst: Endpoint, payload: Uint8Array, now: Micros): boolean {
    const sock = this.sockets.get(src.port);
    if (!sock) {
      this.emit({ type: 'send-error', at: now, dst, message: `no socket on local port ${src.port}` });
      return false;
    }
    this.pcap?.record(this.clock.wallAt(now), { addr: this.local, port: src.port }, dst, payload);
    try {
      sock.send(payload, dst.port, formatIp(dst.addr), (err) => {
        if (err && !this.finished) this.emit({ type: 'send-error', at: this.clock.now(), dst, message: err.message });
      });
    } catch (err) {
      this.emit({ type: 'send-error', at: now, dst, message: err instanceof Error ? err.message : String(err) });
      return false;
    }
    return true;
  }

  private onMessage(localPort: number, msg: Buffer, address: string, port: number): void {
    if (this.finished) return;
    const now = this.clock.now();
    const addr = kernelAddress(address, this.local.family);
    if (!addr) return;
    const src: Endpoint = { addr, port };
    const dst: Endpoint = { addr: this.local, port: localPort };
    const payload = new Uint8Array(msg);
    this.pcap?.record(this.clock.wallAt(now), src, dst, payload);
    const cls = classifyUdpPayload(src.port, dst.port, payload);
    if (cls.kind === 'keepalive') {
      this.keepalivesIn++;
      this.emit({ type: 'keepalive-received', at: now, src });
    } else if (cls.kind === 'esp') {
      this.receiveEsp(cls.esp, src, dst, now);
    } else {
      // IKE, or something the engine reports as malformed: the full UDP payload, marker included.
      this.engine.handleDatagram({ src, dst, payload }, now);
    }
    this.pump(now);
  }

  // ---------------------------------------------------------------- the loop

  /** Drains the engine and the datapath, runs what is due, re-arms the one timer. */
  private pump(now: Micros): void {
    if (this.finished) return;
    for (let round = 0; round < 10_000; round++) {
      let busy = false;
      for (let t = this.engine.pollTransmit(); t; t = this.engine.pollTransmit()) {
        busy = true;
        if (!this.finished) this.send(t.src, t.dst, t.payload, now);
      }
      for (let e = this.engine.pollEvent(); e; e = this.engine.pollEvent()) {
        busy = true;
        this.onEngineEvent(e, now);
      }
      for (let e = this.esp.pollEvent(); e; e = this.esp.pollEvent()) {
        busy = true;
        if (e.type === 'rekey-needed') {
          const c = [...this.children.values()].find((x) => x.key === e.childId);
          if (c) this.engine.rekeyChild(c.saId, c.childId, now);
        }
      }
      if (this.runDue(now)) busy = true;
      if (this.finished) return;
      if (!busy) break;
    }
    this.arm(now);
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.finished) return;
    const now = this.clock.now();
    const t = this.engine.pollTimeout();
    if (t !== undefined && t <= now) this.engine.handleTimeout(now);
    this.pump(now);
  }

  private arm(now: Micros): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    let next = this.engine.pollTimeout();
    for (const t of [this.nextPingAt, this.pingsDoneAt, this.durationAt(), this.stopping?.deadline]) {
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    if (next === undefined) return;
    const ms = Math.min(0x7fffffff, Math.max(1, Math.ceil((next - now) / 1000)));
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  private durationAt(): Micros | undefined {
    return this.opts.durationUs === undefined || this.stopping ? undefined : this.startedAt + this.opts.durationUs;
  }

  /** The driver's own deadlines; true when it did something that may produce output. */
  private runDue(now: Micros): boolean {
    let did = false;
    if (this.stopping) {
      if (this.engine.saIds().length === 0 || now >= this.stopping.deadline) this.finish(now);
      return false;
    }
    const dur = this.durationAt();
    if (dur !== undefined && now >= dur) {
      this.beginStop(now, `--duration reached`);
      return true;
    }
    if (this.ping && this.opts.ping) {
      while (this.nextPingAt !== undefined && now >= this.nextPingAt) {
        this.sendPing(now);
        did = true;
      }
      if (this.pingsDoneAt !== undefined && (now >= this.pingsDoneAt || this.ping.received >= this.opts.ping.count)) {
        this.pingsDoneAt = undefined;
        this.emitPingSummary(now);
        if (this.opts.durationUs === undefined) {
          this.beginStop(now, 'pings done');
          return true;
        }
      }
    }
    // An initiator with nothing left (never established, or the peer deleted it) is done.
    if (this.opts.role === 'initiator' && this.engine.saIds().length === 0) {
      this.beginStop(now, this.everEstablished ? 'the IKE SA is gone' : 'the IKE SA could not be established');
      return true;
    }
    if (this.refused && this.opts.role === 'initiator') {
      this.beginStop(now, 'CHILD_SA refused');
      return true;
    }
    return did;
  }

  // ---------------------------------------------------------------- engine events

  private onEngineEvent(e: IkeEvent, now: Micros): void {
    this.emit(e);
    switch (e.type) {
      case 'sa-established':
        this.everEstablished = true;
        this.updateKeys(e.keyLog);
        break;
      case 'sa-rekeyed':
        for (const c of this.children.values()) if (c.saId === e.saId) c.saId = e.newSaId;
        this.updateKeys('');
        break;
      case 'child-established':
        this.installChild(e, now);
        break;
      case 'child-deleted': {
        const c = this.children.get(e.childId);
        if (!c) break;
        this.children.delete(e.childId);
        if (e.reason === 'rekeyed') {
          this.sad.deleteInbound(c.spiIn);
        } else if (this.sad.outbound(c.key)) {
          this.closed.push(this.countersEvent(c, now));
          this.sad.deleteChild(c.key);
        }
        break;
      }
      case 'peer-address-updated':
        for (const id of e.childIds) {
          const c = this.children.get(id);
          if (c) this.sad.updateEncapRemote(c.key, e.to);
        }
        break;
      case 'auth-failed':
        this.failure = `authentication failed (${e.side === 'local' ? 'the peer could not be verified' : 'the peer rejected us'}): ${e.message}`;
        break;
      case 'sa-deleted':
        if (!this.everEstablished && e.reason !== 'local') this.failure ??= `IKE SA failed (${e.reason})${e.message ? `: ${e.message}` : ''}`;
        break;
      case 'child-failed':
        this.failure ??= `CHILD_SA failed: ${e.notifyName}: ${e.message}`;
        break;
      default:
        break;
    }
  }

  private installChild(e: Extract<IkeEvent, { type: 'child-established' }>, now: Micros): void {
    if (!e.encap) {
      this.refused = RAW_ESP_UNSUPPORTED;
      this.emit({ type: 'child-refused', at: now, saId: e.saId, childId: e.childId, message: RAW_ESP_UNSUPPORTED });
      this.engine.deleteSa(e.saId, now);
      return;
    }
    const suite = cipherSuiteFromName(e.suite);
    if (!suite) {
      this.failure = `cannot install CHILD_SA with ${e.suite}`;
      this.engine.deleteSa(e.saId, now);
      return;
    }
    const old = e.rekeyOf !== undefined ? this.children.get(e.rekeyOf) : undefined;
    const key = old?.key ?? `${this.config.name}{${e.childId}}`;
    const common = { suite, esn: e.esn, encap: e.encap };
    const local = e.localTs.map(prefixOf);
    const remote = e.remoteTs.map(prefixOf);
    const selectors = local.every((p) => p) && remote.every((p) => p) ? { local: local as Prefix[], remote: remote as Prefix[] } : undefined;
    try {
      this.sad.installChild(
        key,
        {
          inbound: { ...common, spi: e.spiIn, encKey: e.encKeyIn, integKey: e.integKeyIn, replayWindow: 64 },
          outbound: { ...common, spi: e.spiOut, encKey: e.encKeyOut, integKey: e.integKeyOut, replayWindow: 0 },
          selectors,
        },
        now,
      );
    } catch (err) {
      this.failure = `cannot install CHILD_SA: ${err instanceof Error ? err.message : String(err)}`;
      this.engine.deleteSa(e.saId, now);
      return;
    }
    this.children.set(e.childId, {
      saId: e.saId,
      childId: e.childId,
      key,
      spiIn: e.spiIn,
      spiOut: e.spiOut,
      localTs: e.localTs.map(parseTsText).filter((t): t is TrafficSelector => t !== undefined),
      remoteTs: e.remoteTs.map(parseTsText).filter((t): t is TrafficSelector => t !== undefined),
    });
    this.everInstalled = true;
    this.updateKeys(e.keyLog);
    this.emit({
      type: 'child-installed',
      at: now,
      saId: e.saId,
      childId: e.childId,
      name: this.config.name,
      spiIn: e.spiIn,
      spiOut: e.spiOut,
      suite: e.suite,
      encap: e.encap,
      localTs: e.localTs,
      remoteTs: e.remoteTs,
      ...(e.rekeyOf !== undefined ? { rekeyOf: e.rekeyOf } : {}),
    });
    if (this.opts.ping && this.ping && this.ping.transmitted === 0 && this.nextPingAt === undefined && !this.stopping) {
      this.nextPingAt = now;
    }
  }

  private updateKeys(keyLog: string): void {
    if (!this.keys) return;
    if (this.keys.update(this.engine.exportKeys())) this.keys.appendKeyLog(keyLog);
  }

  private countersEvent(c: ChildEntry, now: Micros): Extract<LiveOwnEvent, { type: 'counters' }> {
    const counters: SaCounters = this.sad.outbound(c.key) ? this.sad.childCounters(c.key) : newSaCounters();
    return {
      type: 'counters',
      at: now,
      child: this.config.name,
      childId: c.childId,
      spiIn: c.spiIn,
      spiOut: c.spiOut,
      counters,
      text: showCryptoIpsecSa(this.sad, c.key, now, { interfaceName: 'natt-sim', cryptoMapTag: this.config.name, invalidSpi: this.esp.counters.invalidSpi }),
    };
  }

  // ---------------------------------------------------------------- datapath

  private childFor(src: IpAddress, dst: IpAddress): ChildEntry | undefined {
    for (const c of this.children.values()) {
      if (this.sad.outbound(c.key) && tsCovers(c.localTs, src) && tsCovers(c.remoteTs, dst)) return c;
    }
    return undefined;
  }

  /** Protects an inner packet on a CHILD_SA and sends it as ESP-in-UDP. */
  private sendInner(c: ChildEntry, inner: Uint8Array, now: Micros): boolean {
    const r = this.esp.protect(c.key, inner);
    if (!r.ok) {
      this.emit({ type: 'esp-send-failed', at: now, reason: r.reason, message: r.message });
      return false;
    }
    if (!r.udp) {
      this.emit({ type: 'esp-send-failed', at: now, reason: 'raw-esp', message: RAW_ESP_UNSUPPORTED });
      return false;
    }
    const sent = this.send(r.udp.src, r.udp.dst, r.esp, now);
    if (sent) this.engine.noteTraffic(c.saId, now, 'out');
    return sent;
  }

  private receiveEsp(esp: Uint8Array, src: Endpoint, dst: Endpoint, now: Micros): void {
    const r = this.esp.receiveEsp(esp, { src: src.addr, dst: dst.addr, srcPort: src.port, dstPort: dst.port });
    if (!r.ok) {
      this.emit({ type: 'esp-dropped', at: now, src, reason: r.reason, message: r.message, ...(r.spi !== undefined ? { spi: r.spi } : {}) });
      return;
    }
    const from = [...this.children.values()].find((c) => c.key === r.childId);
    if (from) this.engine.noteTraffic(from.saId, now, 'in');
    this.deliverInner(r.inner, from, now);
  }

  /** What arrives through the tunnel: our ping replies, echo requests for our inner address. */
  private deliverInner(inner: Uint8Array, from: ChildEntry | undefined, now: Micros): void {
    const echo = parseEcho(inner);
    const me = this.opts.inner;
    if (echo && echo.kind === 'request' && me && ipEquals(echo.dst, me)) {
      const via = this.childFor(me, echo.src) ?? from;
      if (via && this.sendInner(via, buildEchoReply(echo), now)) {
        this.emit({ type: 'echo-answered', at: now, from: formatIp(echo.src), to: formatIp(echo.dst), seq: echo.seq, bytes: echo.icmpLength });
      }
      return;
    }
    if (echo && echo.kind === 'reply' && this.ping && this.opts.ping && me && ipEquals(echo.dst, me) && ipEquals(echo.src, this.opts.ping.dst) && echo.id === this.pingId()) {
      const rec = this.ping.reply(echo.seq, now);
      if (rec) this.emit({ type: 'ping-reply', at: now, from: echo.src, seq: echo.seq, bytes: echo.icmpLength, rttUs: rec.rttUs, duplicate: rec.duplicate });
      return;
    }
    const v = (inner[0] ?? 0) >> 4;
    const srcText = v === 4 && inner.length >= 20 ? formatIp({ family: 4, bytes: inner.subarray(12, 16) }) : v === 6 && inner.length >= 40 ? formatIp({ family: 6, bytes: inner.subarray(8, 24) }) : '?';
    const dstText = v === 4 && inner.length >= 20 ? formatIp({ family: 4, bytes: inner.subarray(16, 20) }) : v === 6 && inner.length >= 40 ? formatIp({ family: 6, bytes: inner.subarray(24, 40) }) : '?';
    this.emit({
      type: 'inner-ignored',
      at: now,
      src: srcText,
      dst: dstText,
      message: echo ? `echo ${echo.kind} not for us` : 'not an echo request for our inner address',
    });
  }

  private pingId(): number {
    return (this.opts.ping?.id ?? process.pid) & 0xffff;
  }

  private sendPing(now: Micros): void {
    const p = this.opts.ping!;
    const ping = this.ping!;
    const seq = this.nextSeq++;
    const src = this.opts.inner!;
    const c = this.childFor(src, p.dst);
    if (seq === 1) {
      this.emit({
        type: 'ping-start',
        at: now,
        src,
        dst: p.dst,
        count: p.count,
        dataBytes: ECHO_DATA_LEN,
        child: c ? this.config.name : '(none)',
      });
    }
    ping.sent(seq, now);
    if (!c) {
      this.emit({ type: 'ping-error', at: now, seq, message: `no CHILD_SA covers ${formatIp(src)} -> ${formatIp(p.dst)}` });
    } else {
      const pkt = buildEchoRequest(src, p.dst, this.pingId(), seq, echoData(this.clock.wallAt(now)));
      if (!this.sendInner(c, pkt, now)) this.emit({ type: 'ping-error', at: now, seq, message: 'the echo request could not be sent' });
    }
    if (seq >= p.count) {
      this.nextPingAt = undefined;
      this.pingsDoneAt = now + p.waitUs;
    } else {
      this.nextPingAt = (this.nextPingAt ?? now) + p.intervalUs;
    }
  }

  private emitPingSummary(now: Micros): void {
    const ping = this.ping!;
    ping.summarized = true;
    this.emit({
      type: 'ping-summary',
      at: now,
      dst: this.opts.ping!.dst,
      transmitted: ping.transmitted,
      received: ping.received,
      elapsedUs: ping.elapsed(),
      rttUs: ping.rttStats(),
    });
  }

  private emit(e: LiveEvent): void {
    this.opts.onEvent(e);
  }
}
