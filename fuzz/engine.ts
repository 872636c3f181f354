/**
 * Two IKE engines in virtual time for the engine targets: a minimal pair driver
 * (latency, an optional MASQUERADE-style NAT in front of the initiator, a hook that
 * may hold back or replace a datagram), the lab's connection configs, and sealing
 * of "unsealed" messages (IKE header ‖ SK header ‖ plaintext inner payloads) with
 * an SA's keys, so mutated inner payloads reach the engine with a valid ICV.
 *
 * Every event the engines emit is checked: a datagram dropped as 'internal-error'
 * (an unexpected exception inside handleDatagram) is a finding.
 */
import { SeededRng } from '../src/core/rng.ts';
import { endpoint, formatEndpoint, type Endpoint } from '../src/core/addr.ts';
import type { Micros } from '../src/core/time.ts';
import { IkeEndpoint, type Datagram, type IkeEndpointConfig, type IkeEvent, type PeerConfig, type Transmit } from '../src/ikev2/index.ts';
import { parseProposal, ikeSuiteFromTransforms, type IkeSuite } from '../src/crypto/proposals.ts';
import { encrInfo } from '../src/crypto/algorithms.ts';
import { openSkMessage, sealSkMessage } from '../src/crypto/sk.ts';
import { InvariantFailure, describeError, rd32 } from './util.ts';
import { concatBytes } from '../src/core/bytes.ts';

export type Side = 'ini' | 'rsp';

export const NAT = { privateAddr: '10.77.0.2', publicAddr: '198.51.100.1', ports: { 500: 29396, 4500: 26329 } as Record<number, number> };
export const RSP_ADDR = '198.51.100.2';
export const IKE_PROPOSAL = 'aes128gcm16-prfsha256-x25519';
export const IKE_SUITE: IkeSuite = ikeSuiteFromTransforms(parseProposal(IKE_PROPOSAL, 'ike').transforms);

export function labPeers(iniAddr = NAT.privateAddr): { initiator: PeerConfig; responder: PeerConfig } {
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
      ikeProposals: IKE_PROPOSAL,
      retransmit: { timeout: 1_000_000, tries: 2 },
    },
    responder: {
      name: 'lab',
      localAddrs: [RSP_ADDR],
      psk: 'lab-psk-0123456789',
      localId: 'rsp.lab',
      remoteId: 'ini.lab',
      localTs: ['10.77.20.0/24'],
      remoteTs: ['10.77.10.0/24'],
      ikeProposals: IKE_PROPOSAL,
      retransmit: { timeout: 1_000_000, tries: 2 },
    },
  };
}

export function responderConfig(extra: Omit<IkeEndpointConfig, 'peers'> = {}): IkeEndpointConfig {
  return { ...extra, peers: [labPeers().responder] };
}

/** Throws when an engine reports an unexpected exception (a drop with reason 'internal-error'). */
export function checkEvent(side: string, ev: IkeEvent): void {
  if (ev.type === 'datagram-dropped' && ev.reason === 'internal-error') {
    const err = ev.error;
    throw new InvariantFailure(`${side}: datagram dropped with an internal error: ${describeError(err ?? ev.message, true)}`, { cause: err });
  }
}

/** Drains an endpoint's events through checkEvent; returns them. */
export function drainEvents(side: string, ep: IkeEndpoint): IkeEvent[] {
  const out: IkeEvent[] = [];
  for (let ev = ep.pollEvent(), n = 0; ev; ev = ep.pollEvent(), n++) {
    if (n > 100_000) throw new InvariantFailure(`${side}: the event queue does not drain`);
    checkEvent(side, ev);
    out.push(ev);
  }
  return out;
}

export function drainTransmits(side: string, ep: IkeEndpoint): Transmit[] {
  const out: Transmit[] = [];
  for (let t = ep.pollTransmit(), n = 0; t; t = ep.pollTransmit(), n++) {
    if (n > 100_000) throw new InvariantFailure(`${side}: the transmit queue does not drain`);
    out.push(t);
  }
  return out;
}

export interface Delivery {
  readonly to: Side;
  readonly d: Datagram;
  readonly kind: Transmit['kind'];
}

/** What the hook may do with a datagram about to be delivered. */
export type HookVerdict = 'deliver' | 'hold';

interface InFlight {
  readonly at: Micros;
  readonly seq: number;
  readonly del: Delivery;
}

export class Net {
  now: Micros;
  steps = 0;
  /** Datagrams sent by either side so far. */
  transmitted = 0;
  readonly events: { side: Side; ev: IkeEvent }[] = [];
  /** Datagrams delivered, in order. */
  readonly delivered: Delivery[] = [];
  /** Datagrams the hook held back. */
  readonly held: Delivery[] = [];
  private queue: InFlight[] = [];
  private seq = 0;
  hook: ((del: Delivery) => HookVerdict) | undefined;

  constructor(
    readonly ini: IkeEndpoint,
    readonly rsp: IkeEndpoint,
    readonly opts: { readonly nat: boolean; readonly latency?: Micros; readonly maxSteps?: number; readonly start?: Micros } = { nat: true },
  ) {
    this.now = opts.start ?? 0;
  }

  ep(side: Side): IkeEndpoint {
    return side === 'ini' ? this.ini : this.rsp;
  }

  private route(from: Side, t: Transmit): Delivery | undefined {
    if (!this.opts.nat) return { to: from === 'ini' ? 'rsp' : 'ini', d: { src: t.src, dst: t.dst, payload: t.payload }, kind: t.kind };
    if (from === 'ini') {
      const pub = NAT.ports[t.src.port];
      if (pub === undefined) return undefined;
      return { to: 'rsp', d: { src: endpoint(NAT.publicAddr, pub), dst: t.dst, payload: t.payload }, kind: t.kind };
    }
    if (formatEndpoint({ addr: t.dst.addr, port: 0 }) !== `${NAT.publicAddr}:0`) return undefined;
    for (const [priv, pub] of Object.entries(NAT.ports)) {
      if (pub === t.dst.port) return { to: 'ini', d: { src: t.src, dst: endpoint(NAT.privateAddr, Number(priv)), payload: t.payload }, kind: t.kind };
    }
    return undefined;
  }

  /** Collects transmits and events of both sides. */
  drain(): void {
    for (const side of ['ini', 'rsp'] as const) {
      const ep = this.ep(side);
      for (const t of drainTransmits(side, ep)) {
        this.transmitted++;
        const del = this.route(side, t);
        if (del) this.queue.push({ at: this.now + (this.opts.latency ?? 5_000), seq: this.seq++, del });
      }
      for (const ev of drainEvents(side, ep)) this.events.push({ side, ev });
    }
  }

  /** Delivers a datagram now (bypassing the hook). */
  inject(del: Delivery): void {
    this.ep(del.to).handleDatagram(del.d, this.now);
    this.drain();
  }

  private nextTime(): Micros | undefined {
    let t: Micros | undefined;
    for (const f of this.queue) if (t === undefined || f.at < t) t = f.at;
    for (const ep of [this.ini, this.rsp]) {
      const p = ep.pollTimeout();
      if (p !== undefined && (t === undefined || p < t)) t = p;
    }
    return t;
  }

  step(): boolean {
    const next = this.nextTime();
    if (next === undefined) return false;
    if (++this.steps > (this.opts.maxSteps ?? 20_000)) throw new InvariantFailure(`step bound exceeded at t=${this.now} µs: the engines do not settle (livelock?)`);
    this.now = Math.max(this.now, next);
    const due = this.queue.filter((f) => f.at <= this.now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.queue = this.queue.filter((f) => f.at > this.now);
    for (const f of due) {
      if (this.hook?.(f.del) === 'hold') {
        this.held.push(f.del);
        continue;
      }
      this.delivered.push(f.del);
      this.ep(f.del.to).handleDatagram(f.del.d, this.now);
      this.drain();
    }
    for (const ep of [this.ini, this.rsp]) {
      const p = ep.pollTimeout();
      if (p !== undefined && p <= this.now) {
        ep.handleTimeout(this.now);
        this.drain();
      }
    }
    return true;
  }

  /** Steps until pred holds or the clock passes `until`. */
  runUntil(pred: () => boolean, until: Micros): boolean {
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

  /**
   * Delivers a forged datagram now and tells whether the receiver only dropped it:
   * it sent nothing and every event it reported is a 'datagram-dropped'.
   */
  forge(to: Side, template: Datagram, payload: Uint8Array): boolean {
    const ev0 = this.events.length;
    const tx0 = this.transmitted;
    this.inject({ to, d: { src: template.src, dst: template.dst, payload }, kind: 'ike' });
    const evs = this.events.slice(ev0).filter((e) => e.side === to);
    return this.transmitted === tx0 && evs.length > 0 && evs.every((e) => e.ev.type === 'datagram-dropped');
  }

  has(type: IkeEvent['type'], side?: Side): boolean {
    return this.events.some((e) => e.ev.type === type && (side === undefined || e.side === side));
  }

  /** Both sides report an installed CHILD_SA. */
  established(): boolean {
    return this.has('child-established', 'ini') && this.has('child-established', 'rsp');
  }
}

/** A deterministic initiator/responder pair (seeded rngs), the initiator behind the lab NAT. */
export function makePair(seed: number, opts: { nat?: boolean; rspConfig?: Omit<IkeEndpointConfig, 'peers'>; start?: Micros } = {}): { net: Net; peers: ReturnType<typeof labPeers> } {
  const nat = opts.nat ?? true;
  const peers = labPeers(nat ? NAT.privateAddr : NAT.publicAddr);
  const root = new SeededRng(seed);
  const ini = new IkeEndpoint({ rng: root.fork('initiator'), config: {} });
  const rsp = new IkeEndpoint({ rng: root.fork('responder'), config: { ...opts.rspConfig, peers: [peers.responder] } });
  return { net: new Net(ini, rsp, { nat, ...(opts.start !== undefined ? { start: opts.start } : {}) }), peers };
}

// ---------------------------------------------------------------- sealing

export const IKE_HEADER = 28;
const SK = 46;

export interface SkKeys {
  readonly keyE: Uint8Array;
  readonly keyA?: Uint8Array;
}

/** Keys the sender of a message protects it with, from the engine's view of the SA. */
export function senderKeys(ep: IkeEndpoint, spiI: Uint8Array, fromInitiator: boolean): SkKeys | undefined {
  for (const id of ep.saIds()) {
    const sa = ep.getSa(id);
    if (!sa?.keys) continue;
    if (Buffer.compare(sa.spiI, spiI) !== 0) continue;
    const keyA = fromInitiator ? sa.keys.skAi : sa.keys.skAr;
    return { keyE: fromInitiator ? sa.keys.skEi : sa.keys.skEr, ...(keyA.length > 0 ? { keyA } : {}) };
  }
  return undefined;
}

function stripMarker(payload: Uint8Array, ports: { src: Endpoint; dst: Endpoint }): { marker: boolean; ike: Uint8Array } {
  const marker = ports.src.port !== 500 && ports.dst.port !== 500;
  return marker ? { marker, ike: payload.subarray(4) } : { marker, ike: payload };
}

/**
 * The unsealed form of a protected message whose Encrypted payload comes first:
 * header ‖ SK generic header ‖ decrypted inner payloads. Undefined when it does not open.
 */
export function unseal(ike: Uint8Array, keys: SkKeys): Uint8Array | undefined {
  if (ike.length < IKE_HEADER + 4 || ike[16] !== SK) return undefined;
  const r = openSkMessage({ suite: IKE_SUITE, keyE: keys.keyE, ...(keys.keyA ? { keyA: keys.keyA } : {}), message: ike, skOffset: IKE_HEADER });
  if (!r.ok) return undefined;
  const out = concatBytes(ike.subarray(0, IKE_HEADER + 4), r.plaintext);
  out[IKE_HEADER + 2] = ((4 + r.plaintext.length) >> 8) & 0xff;
  out[IKE_HEADER + 3] = (4 + r.plaintext.length) & 0xff;
  const len = out.length;
  out[24] = len >>> 24;
  out[25] = (len >>> 16) & 0xff;
  out[26] = (len >>> 8) & 0xff;
  out[27] = len & 0xff;
  return out;
}

/**
 * Seals an unsealed message with the keys: the header and SK header as given (their
 * lengths recomputed by sealSkMessage), the rest as plaintext. Anything that is not
 * "header + SK first" is returned as it is.
 */
export function seal(unsealed: Uint8Array, keys: SkKeys, ivSeed: number): Uint8Array {
  if (unsealed.length < IKE_HEADER + 4 || unsealed[16] !== SK) return unsealed;
  const plaintext = unsealed.subarray(IKE_HEADER + 4);
  if (plaintext.length > 0xffff - 64) return unsealed;
  const iv = new SeededRng(ivSeed).bytes(encrInfo(IKE_SUITE.encr).ivLength);
  return sealSkMessage({
    suite: IKE_SUITE,
    keyE: keys.keyE,
    ...(keys.keyA ? { keyA: keys.keyA } : {}),
    iv,
    prefix: unsealed.subarray(0, IKE_HEADER + 4),
    skOffset: IKE_HEADER,
    plaintext,
  });
}

export function withMarker(ike: Uint8Array, marker: boolean): Uint8Array {
  return marker ? concatBytes(new Uint8Array(4), ike) : ike;
}

export { stripMarker };

/** Message ID and flags of an IKE header (undefined when too short). */
export function ikeHeaderInfo(ike: Uint8Array): { exchange: number; flags: number; messageId: number; initiator: boolean; response: boolean } | undefined {
  if (ike.length < IKE_HEADER) return undefined;
  const flags = ike[19]!;
  return { exchange: ike[18]!, flags, messageId: rd32(ike, 20), initiator: (flags & 0x08) !== 0, response: (flags & 0x20) !== 0 };
}
