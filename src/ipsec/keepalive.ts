/**
 * NAT-keepalive policy (RFC 3948 §2.3, §4; RFC 7296 §2.23): only the side that found
 * itself behind a NAT (its condition NAT_HERE) sends keepalives, one 0xFF byte on the
 * UDP encapsulation to the peer's floated endpoint, and only when nothing else went out
 * on that encapsulation for the interval (default 20 s). Any packet sent on it (ESP,
 * or IKE on port 4500) counts as traffic and pushes the next keepalive back.
 *
 * Pure and driven by `now`: no timers. The owner asks `nextKeepaliveAt()` for its
 * timer, calls `poll(now)` when that time comes, and `onSent(now)` for every packet
 * it sends on the encapsulation.
 */
import type { Endpoint } from '../core/addr.ts';
import { seconds, type Micros } from '../core/time.ts';
import { KEEPALIVE } from '../wire/udp-encap.ts';

export const DEFAULT_KEEPALIVE_INTERVAL: Micros = seconds(20);

/** When the next keepalive is due after a send at `lastSentAt`. */
export function nextKeepaliveAt(lastSentAt: Micros, interval: Micros): Micros {
  return lastSentAt + interval;
}

export interface KeepaliveOptions {
  /** Whether this side is behind a NAT (only then does it send keepalives). */
  readonly natHere: boolean;
  /** The peer's (floated) endpoint the keepalives go to. */
  readonly peer: Endpoint;
  /** Default 20 s. */
  readonly interval?: Micros | undefined;
  /** When the encapsulation started (counts as the last send). */
  readonly startAt: Micros;
}

export interface KeepaliveDatagram {
  /** One 0xFF byte. */
  readonly payload: Uint8Array;
  readonly to: Endpoint;
}

export class KeepalivePolicy {
  readonly interval: Micros;
  private natHereFlag: boolean;
  private peerEndpoint: Endpoint;
  private lastSent: Micros;

  constructor(opts: KeepaliveOptions) {
    const interval = opts.interval ?? DEFAULT_KEEPALIVE_INTERVAL;
    if (!Number.isSafeInteger(interval) || interval <= 0) throw new RangeError(`keepalive interval must be a positive integer of µs, got ${interval}`);
    this.interval = interval;
    this.natHereFlag = opts.natHere;
    this.peerEndpoint = opts.peer;
    this.lastSent = opts.startAt;
  }

  get natHere(): boolean {
    return this.natHereFlag;
  }

  get peer(): Endpoint {
    return this.peerEndpoint;
  }

  /** When anything was last sent on the encapsulation. */
  get lastSentAt(): Micros {
    return this.lastSent;
  }

  /** NAT detection may change its mind after a MOBIKE update or a new exchange. */
  setNatHere(natHere: boolean): void {
    this.natHereFlag = natHere;
  }

  /** The peer's endpoint floated (RFC 7296 §2.23). */
  setPeer(peer: Endpoint): void {
    this.peerEndpoint = peer;
  }

  /** Any packet sent on the UDP encapsulation: ESP, IKE on 4500, or a keepalive. */
  onSent(now: Micros): void {
    if (now > this.lastSent) this.lastSent = now;
  }

  /** When the next keepalive is due; undefined when this side sends none. */
  nextKeepaliveAt(): Micros | undefined {
    return this.natHereFlag ? nextKeepaliveAt(this.lastSent, this.interval) : undefined;
  }

  isDue(now: Micros): boolean {
    const at = this.nextKeepaliveAt();
    return at !== undefined && now >= at;
  }

  /** The keepalive to send now, if one is due (and records it as sent). */
  poll(now: Micros): KeepaliveDatagram | undefined {
    if (!this.isDue(now)) return undefined;
    this.onSent(now);
    return { payload: new Uint8Array(KEEPALIVE), to: this.peerEndpoint };
  }
}
