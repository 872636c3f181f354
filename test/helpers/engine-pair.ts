/**
 * Two IKE endpoints wired together in virtual time, after quinn's test `Pair`:
 * the clock jumps to the earliest of the next delivery and both endpoints'
 * pollTimeout(); transmits are delivered after a latency, optionally through a
 * minimal NAT in front of the initiator (Linux MASQUERADE with port remapping:
 * a fixed public port per private port, e.g. 500 → 29396 and 4500 → 26329, replies
 * rewritten back) and through seeded faults (loss, duplication, reordering, bit
 * flips) and a
 * tap that may rewrite or drop a datagram. A step bound turns a livelock into a
 * failure.
 */
import { SeededRng, endpoint, formatEndpoint, type Endpoint, type Micros, type Rng } from '../../src/core/index.ts';
import { IkeEndpoint, type Datagram, type IkeEndpointConfig, type IkeEvent, type IkeEventOf, type IkeEventType, type PeerConfig, type SaId, type Transmit } from '../../src/ikev2/index.ts';

export type Side = 'ini' | 'rsp';

export interface NatConfig {
  readonly privateAddr: string;
  readonly publicAddr: string;
  /** Private port → public port. */
  readonly ports: Readonly<Record<number, number>>;
}

/** The lab's NAT (manifest of strongswan-lab/a-nat-keepalive). */
export const LAB_NAT: NatConfig = { privateAddr: '10.77.0.2', publicAddr: '198.51.100.1', ports: { 500: 29396, 4500: 26329 } };
export const RSP_ADDR = '198.51.100.2';

export interface Faults {
  /** Probability a datagram is lost. */
  readonly loss?: number;
  /** Probability a datagram is delivered twice. */
  readonly duplicate?: number;
  /** Probability a datagram gets an extra random delay of up to reorderDelay. */
  readonly reorder?: number;
  readonly reorderDelay?: Micros;
  /** Probability one random bit of a datagram is flipped. */
  readonly corrupt?: number;
}

/** One datagram as it travelled: `inside` before the NAT, `outside` after it (equal without NAT). */
export interface WireRecord {
  readonly at: Micros;
  readonly from: Side;
  readonly kind: Transmit['kind'];
  readonly inside: { readonly src: Endpoint; readonly dst: Endpoint };
  readonly outside: { readonly src: Endpoint; readonly dst: Endpoint };
  readonly payload: Uint8Array;
  /** Why it was not delivered, if it was not. */
  dropped?: 'loss' | 'tap' | 'nat' | 'dead';
  /** A bit was flipped on the way (seeded corruption). */
  corrupted?: boolean;
}

export interface TapInput {
  readonly from: Side;
  readonly at: Micros;
  readonly outside: { readonly src: Endpoint; readonly dst: Endpoint };
  readonly payload: Uint8Array;
  readonly kind: Transmit['kind'];
}

export interface PairOptions {
  readonly seed?: number;
  /** The connection the initiator starts. */
  readonly initiator: PeerConfig;
  /** The responder's connections. */
  readonly responder: readonly PeerConfig[];
  readonly initiatorEndpoint?: Omit<IkeEndpointConfig, 'peers'>;
  readonly responderEndpoint?: Omit<IkeEndpointConfig, 'peers'>;
  readonly nat?: NatConfig;
  /** One-way latency (default 5 ms). */
  readonly latency?: Micros;
  readonly faults?: { readonly toRsp?: Faults; readonly toIni?: Faults };
  /** Rewrites (returns bytes) or drops ('drop') a datagram on the outside; undefined leaves it. */
  readonly tap?: (t: TapInput) => Uint8Array | 'drop' | undefined;
  readonly maxSteps?: number;
  /** Separate rngs for the endpoints (defaults derive from seed). */
  readonly iniRng?: Rng;
  readonly rspRng?: Rng;
}

export interface TimedEvent {
  readonly side: Side;
  readonly event: IkeEvent;
}

interface InFlight {
  readonly at: Micros;
  readonly seq: number;
  readonly to: Side;
  readonly d: Datagram;
  readonly record: WireRecord;
}

export const ms = (v: number): Micros => Math.round(v * 1000);
export const sec = (v: number): Micros => Math.round(v * 1_000_000);

export class Pair {
  now: Micros = 0;
  steps = 0;
  readonly ini: IkeEndpoint;
  readonly rsp: IkeEndpoint;
  readonly wire: WireRecord[] = [];
  readonly events: TimedEvent[] = [];
  readonly opts: PairOptions;
  /** Current NAT mapping (private port → public port); change it with remap(). */
  readonly natPorts = new Map<number, number>();
  private readonly dead = new Set<Side>();
  private readonly net: Rng;
  private inflight: InFlight[] = [];
  private seq = 0;
  private readonly latency: Micros;
  private readonly maxSteps: number;
  /** The initiator's own address (private when behind the NAT). */
  readonly iniAddr: string;

  constructor(opts: PairOptions) {
    this.opts = opts;
    const seed = opts.seed ?? 1;
    const root = new SeededRng(seed);
    this.net = root.fork('network');
    this.ini = new IkeEndpoint({ rng: opts.iniRng ?? root.fork('initiator'), config: { ...opts.initiatorEndpoint } });
    this.rsp = new IkeEndpoint({ rng: opts.rspRng ?? root.fork('responder'), config: { ...opts.responderEndpoint, peers: opts.responder } });
    this.latency = opts.latency ?? ms(5);
    this.maxSteps = opts.maxSteps ?? 200_000;
    if (opts.nat) for (const [k, v] of Object.entries(opts.nat.ports)) this.natPorts.set(Number(k), v);
    this.iniAddr = opts.nat ? opts.nat.privateAddr : '198.51.100.1';
  }

  /** The initiator starts its connection now. */
  start(): SaId {
    const id = this.ini.initiate(this.opts.initiator, this.now);
    this.drain();
    return id;
  }

  endpointOf(side: Side): IkeEndpoint {
    return side === 'ini' ? this.ini : this.rsp;
  }

  /** The NAT now maps `privatePort` to `publicPort` (the old public port stops working). */
  remap(privatePort: number, publicPort: number): void {
    this.natPorts.set(privatePort, publicPort);
  }

  /** The side stops: it receives nothing and its timers no longer run. */
  kill(side: Side): void {
    this.dead.add(side);
  }

  /** Runs a trigger on an endpoint at the current time and collects its output. */
  act<T>(side: Side, f: (e: IkeEndpoint, now: Micros) => T): T {
    const r = f(this.endpointOf(side), this.now);
    this.drain();
    return r;
  }

  private pushEvents(side: Side): void {
    const e = this.endpointOf(side);
    for (let ev = e.pollEvent(), n = 0; ev; ev = e.pollEvent(), n++) {
      if (n > 100_000) throw new Error('event queue does not drain');
      this.events.push({ side, event: ev });
    }
  }

  private natOut(src: Endpoint): Endpoint | undefined {
    const nat = this.opts.nat;
    if (!nat) return src;
    const pub = this.natPorts.get(src.port);
    return pub === undefined ? undefined : endpoint(nat.publicAddr, pub);
  }

  private natIn(dst: Endpoint): Endpoint | undefined {
    const nat = this.opts.nat;
    if (!nat) return dst;
    if (formatEndpoint({ addr: dst.addr, port: 0 }) !== `${nat.publicAddr}:0`) return undefined;
    for (const [priv, pub] of this.natPorts) if (pub === dst.port) return endpoint(nat.privateAddr, priv);
    return undefined;
  }

  private schedule(from: Side, t: Transmit): void {
    const to: Side = from === 'ini' ? 'rsp' : 'ini';
    let outside: { src: Endpoint; dst: Endpoint };
    let deliver: Datagram | undefined;
    let natDropped = false;
    if (from === 'ini') {
      const src = this.natOut(t.src);
      outside = { src: src ?? t.src, dst: t.dst };
      if (src) deliver = { src, dst: t.dst, payload: t.payload };
      else natDropped = true;
    } else {
      outside = { src: t.src, dst: t.dst };
      const dst = this.natIn(t.dst);
      if (dst) deliver = { src: t.src, dst, payload: t.payload };
      else natDropped = true;
    }
    const record: WireRecord = { at: this.now, from, kind: t.kind, inside: from === 'ini' ? { src: t.src, dst: t.dst } : { src: t.src, dst: deliver?.dst ?? t.dst }, outside, payload: t.payload };
    this.wire.push(record);
    if (natDropped || !deliver) {
      record.dropped = 'nat';
      return;
    }
    if (this.opts.tap) {
      const r = this.opts.tap({ from, at: this.now, outside, payload: t.payload, kind: t.kind });
      if (r === 'drop') {
        record.dropped = 'tap';
        return;
      }
      if (r) deliver = { ...deliver, payload: r };
    }
    const f = (from === 'ini' ? this.opts.faults?.toRsp : this.opts.faults?.toIni) ?? {};
    if (f.loss && this.net.float() < f.loss) {
      record.dropped = 'loss';
      return;
    }
    if (f.corrupt && this.net.float() < f.corrupt && deliver.payload.length > 0) {
      const bytes = new Uint8Array(deliver.payload);
      bytes[this.net.int(0, bytes.length - 1)]! ^= 1 << this.net.int(0, 7);
      deliver = { ...deliver, payload: bytes };
      record.corrupted = true;
    }
    const copies = f.duplicate && this.net.float() < f.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let at = this.now + this.latency;
      if (f.reorder && this.net.float() < f.reorder) at += this.net.int(0, f.reorderDelay ?? this.latency * 4);
      if (i > 0) at += this.net.int(0, this.latency);
      this.inflight.push({ at, seq: this.seq++, to, d: { ...deliver, payload: new Uint8Array(deliver.payload) }, record });
    }
  }

  /** Collects transmits and events from both endpoints. */
  drain(): void {
    for (const side of ['ini', 'rsp'] as const) {
      const e = this.endpointOf(side);
      for (let t = e.pollTransmit(), n = 0; t; t = e.pollTransmit(), n++) {
        if (n > 100_000) throw new Error('transmit queue does not drain');
        if (!this.dead.has(side)) this.schedule(side, t);
      }
      this.pushEvents(side);
    }
  }

  /** The time of the next thing to happen, or undefined when nothing is pending. */
  nextTime(): Micros | undefined {
    let t: Micros | undefined;
    for (const f of this.inflight) if (t === undefined || f.at < t) t = f.at;
    for (const side of ['ini', 'rsp'] as const) {
      if (this.dead.has(side)) continue;
      const p = this.endpointOf(side).pollTimeout();
      if (p !== undefined && (t === undefined || p < t)) t = p;
    }
    return t;
  }

  /** Advances to the next thing and does it; false when nothing is pending. */
  step(): boolean {
    const next = this.nextTime();
    if (next === undefined) return false;
    if (++this.steps > this.maxSteps) throw new Error(`step bound ${this.maxSteps} exceeded at t=${this.now} µs (livelock?)`);
    this.now = Math.max(this.now, next);
    const due = this.inflight.filter((f) => f.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.inflight = this.inflight.filter((f) => f.at > this.now);
    for (const f of due) {
      if (this.dead.has(f.to)) {
        f.record.dropped = 'dead';
        continue;
      }
      this.endpointOf(f.to).handleDatagram(f.d, this.now);
      this.drain();
    }
    for (const side of ['ini', 'rsp'] as const) {
      if (this.dead.has(side)) continue;
      const e = this.endpointOf(side);
      const p = e.pollTimeout();
      if (p !== undefined && p <= this.now) {
        e.handleTimeout(this.now);
        this.drain();
      }
    }
    return true;
  }

  /** Steps until `pred` holds or time passes `until`; returns whether pred held. */
  runUntil(pred: () => boolean, until: Micros = this.now + sec(600)): boolean {
    for (;;) {
      if (pred()) return true;
      const next = this.nextTime();
      if (next === undefined || next > until) {
        this.now = Math.max(this.now, until);
        return pred();
      }
      this.step();
    }
  }

  /** Runs everything due up to and including `until`, then sets the clock to it. */
  runTo(until: Micros): void {
    this.runUntil(() => false, until);
  }

  /** Events of one type (optionally one side), in order. */
  eventsOf<T extends IkeEventType>(type: T, side?: Side): IkeEventOf<T>[] {
    return this.events.filter((e) => e.event.type === type && (side === undefined || e.side === side)).map((e) => e.event as IkeEventOf<T>);
  }

  has(type: IkeEventType, side?: Side): boolean {
    return this.eventsOf(type, side).length > 0;
  }

  /** Both sides have an established IKE SA and a CHILD_SA. */
  established(): boolean {
    return this.has('child-established', 'ini') && this.has('child-established', 'rsp');
  }

  /** Datagrams as seen between the NAT and the responder, from one side. */
  outsideFrom(side: Side): WireRecord[] {
    return this.wire.filter((w) => w.from === side);
  }
}

/** A typical pair of connection configs (lab addresses, ids and selectors). */
export function labConfigs(over: { ini?: Partial<PeerConfig>; rsp?: Partial<PeerConfig>; nat?: boolean } = {}): { initiator: PeerConfig; responder: PeerConfig } {
  const iniAddr = over.nat === false ? '198.51.100.1' : LAB_NAT.privateAddr;
  return {
    initiator: {
      name: 'lab',
      localAddrs: [iniAddr],
      remote: RSP_ADDR,
      psk: 'lab-psk-0123456789',
      localId: 'ini.lab',
      remoteId: 'rsp.lab',
      localTs: ['10.77.10.0/24'],
      remoteTs: ['10.77.20.0/24'],
      ...over.ini,
    },
    responder: {
      name: 'lab',
      localAddrs: [RSP_ADDR],
      psk: 'lab-psk-0123456789',
      localId: 'rsp.lab',
      remoteId: 'ini.lab',
      localTs: ['10.77.20.0/24'],
      remoteTs: ['10.77.10.0/24'],
      ...over.rsp,
    },
  };
}
