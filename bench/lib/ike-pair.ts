/**
 * Two IKE endpoints driven back to back in virtual time, for the benchmarks: no
 * faults, no reordering, a fixed one-way latency, and optionally a static port
 * mapping in front of the initiator (private address:port ↔ public address:port) so
 * NAT-D sees a NAT. Every datagram is reported as seen between the NAT and the
 * responder (the "outside"), which is what the capture generator records.
 */
import { endpoint, type Endpoint, type IpAddress, type Micros } from '../../src/core/index.ts';
import { IkeEndpoint, type IkeEvent, type PeerConfig } from '../../src/ikev2/index.ts';

export interface StaticNat {
  readonly privateAddr: string;
  readonly publicAddr: string;
  /** Private port → public port. */
  readonly ports: Readonly<Record<number, number>>;
}

export interface OutsideDatagram {
  readonly at: Micros;
  readonly fromInitiator: boolean;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly payload: Uint8Array;
}

export interface ChildKeys {
  readonly spiIn: number;
  readonly spiOut: number;
  readonly encKeyIn: Uint8Array;
  readonly encKeyOut: Uint8Array;
  readonly encap: { readonly local: Endpoint; readonly remote: Endpoint } | undefined;
}

export interface HandshakeResult {
  readonly wire: OutsideDatagram[];
  /** Both sides' CHILD_SA as each sees it. */
  readonly iniChild: ChildKeys;
  readonly rspChild: ChildKeys;
  readonly end: Micros;
}

const sameAddr = (a: IpAddress, b: IpAddress): boolean => a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);

export class IkePair {
  private readonly natOut = new Map<number, number>();
  private readonly natIn = new Map<number, number>();
  private readonly pub: IpAddress | undefined;
  private readonly priv: IpAddress | undefined;

  constructor(
    readonly ini: IkeEndpoint,
    readonly rsp: IkeEndpoint,
    nat?: StaticNat,
    private readonly latency: Micros = 5_000,
    /** Keep the outside datagrams (the capture generator does, the handshake benchmark does not). */
    private readonly record = true,
  ) {
    if (nat) {
      this.pub = endpoint(nat.publicAddr, 0).addr;
      this.priv = endpoint(nat.privateAddr, 0).addr;
      for (const [k, v] of Object.entries(nat.ports)) {
        this.natOut.set(Number(k), v);
        this.natIn.set(v, Number(k));
      }
    }
  }

  /**
   * Runs one IKE_SA_INIT + IKE_AUTH from `now` until both sides report their CHILD_SA.
   * Throws when the exchange does not complete within `maxSteps` deliveries.
   */
  handshake(peer: PeerConfig, now: Micros, maxSteps = 64): HandshakeResult {
    const wire: OutsideDatagram[] = [];
    let t = now;
    this.ini.initiate(peer, t);
    let iniChild: ChildKeys | undefined;
    let rspChild: ChildKeys | undefined;
    for (let step = 0; step < maxSteps; step++) {
      let moved = false;
      for (let tx = this.ini.pollTransmit(); tx; tx = this.ini.pollTransmit()) {
        moved = true;
        const src = this.pub ? endpoint(this.pub, this.natOut.get(tx.src.port) ?? tx.src.port) : tx.src;
        if (this.record) wire.push({ at: t, fromInitiator: true, src, dst: tx.dst, payload: tx.payload });
        this.rsp.handleDatagram({ src, dst: tx.dst, payload: tx.payload }, t + this.latency);
      }
      iniChild ??= childOf(this.ini);
      t += this.latency;
      for (let tx = this.rsp.pollTransmit(); tx; tx = this.rsp.pollTransmit()) {
        moved = true;
        if (this.record) wire.push({ at: t, fromInitiator: false, src: tx.src, dst: tx.dst, payload: tx.payload });
        let dst = tx.dst;
        if (this.pub && this.priv && sameAddr(dst.addr, this.pub)) dst = endpoint(this.priv, this.natIn.get(dst.port) ?? dst.port);
        this.ini.handleDatagram({ src: tx.src, dst, payload: tx.payload }, t + this.latency);
      }
      rspChild ??= childOf(this.rsp);
      iniChild ??= childOf(this.ini);
      t += this.latency;
      if (iniChild && rspChild) return { wire, iniChild, rspChild, end: t };
      if (!moved) break;
    }
    throw new Error('IKE handshake did not complete');
  }
}

/** Drains the endpoint's events; the CHILD_SA of the last child-established among them. */
function childOf(e: IkeEndpoint): ChildKeys | undefined {
  let found: ChildKeys | undefined;
  for (let ev: IkeEvent | undefined = e.pollEvent(); ev; ev = e.pollEvent()) {
    if (ev.type === 'child-established') {
      found = { spiIn: ev.spiIn, spiOut: ev.spiOut, encKeyIn: ev.encKeyIn, encKeyOut: ev.encKeyOut, encap: ev.encap };
    }
  }
  return found;
}
