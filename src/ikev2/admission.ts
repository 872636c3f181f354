/**
 * Admission of IKE_SA_INIT requests at a responder, after strongSwan's receiver
 * (charon's `cookie_threshold`, `block_threshold`, `init_limit_half_open`) and the
 * stateless COOKIE of RFC 7296 §2.6. In order, for a request that is not a
 * retransmission:
 *
 *  1. COOKIE mode: while at least `cookieThreshold` responder SAs are half-open, and
 *     for `cookieCalmdown` after the last request that found them so (charon keeps
 *     cookies on for 10 s so that an initiator's retransmissions are not answered
 *     once with and once without a cookie), a request must start with a valid COOKIE.
 *     One without (or with a stale or forged one) is answered with a fresh COOKIE and
 *     leaves nothing behind: no SA, no SPI, no Diffie-Hellman.
 *  2. Per peer: a source address that already has `blockThreshold` half-open SAs is
 *     ignored (dropped with an event).
 *  3. Overall: once `halfOpenLimit` SAs are half-open, new requests are dropped with an
 *     event, not stored.
 *
 * The cookie is `<version> | prf(secret[version], version | Ni | IPi | SPIi)` (31 bytes of
 * HMAC-SHA-256 after a one-byte version, 32 in all): the secret is drawn from the rng
 * when first needed and replaced after `cookieSecretUses` cookies or when older than
 * `cookieSecretLifetime`; cookies of the current and the previous secret verify, so one
 * issued just before a change still works.
 */
import { bytesEqual, concatBytes, formatIp, ProtocolError, type Endpoint, type IpAddress, type Micros, type Rng } from '../core/index.ts';
import { PrfId } from '../crypto/algorithms.ts';
import { prf } from '../crypto/prf.ts';
import { NotifyType, PayloadType } from '../wire/ike/constants.ts';
import { payloadsOfType, type Payload } from '../wire/ike/payload.ts';
import type { ResolvedEndpointConfig } from './config.ts';
import type { DropReason, IkeEventBody } from './events.ts';
import { IkeSaState, type IkeSa } from './session.ts';

export const COOKIE_LENGTH = 32;
const SECRET_LENGTH = 32;

/** What the responder did with IKE_SA_INIT requests and how much half-open state it holds. */
export interface AdmissionStats {
  /** Responder SAs half-open now. */
  halfOpen: number;
  /** The most that were ever half-open at once. */
  halfOpenPeak: number;
  /** Responder Diffie-Hellman computations for IKE_SA_INIT requests. */
  dhComputations: number;
  /** IKE_SA_INIT requests answered with a COOKIE (nothing kept). */
  cookiesSent: number;
  /** Requests admitted on a valid COOKIE. */
  cookiesAccepted: number;
  /** Requests that carried a COOKIE that did not verify (forged, stale, for another SPI or address). */
  cookiesInvalid: number;
  /** Requests dropped because their source already had `blockThreshold` half-open SAs. */
  blockedPerPeer: number;
  /** Requests dropped because `halfOpenLimit` SAs were half-open. */
  overLimit: number;
  /** Version of the current cookie secret (0 before the first). */
  cookieSecretVersion: number;
  /** Cookie secrets replaced. */
  cookieSecretRotations: number;
  /** Whether cookies are demanded now. */
  cookieMode: boolean;
}

export type Admission =
  | { readonly kind: 'admit' }
  | { readonly kind: 'cookie'; readonly cookie: Uint8Array; readonly message: string }
  | { readonly kind: 'drop'; readonly reason: Extract<DropReason, 'half-open-limit' | 'peer-half-open-limit'>; readonly message: string };

interface Secret {
  readonly version: number;
  readonly bytes: Uint8Array;
  readonly createdAt: Micros;
  uses: number;
}

export class AdmissionControl {
  readonly stats: AdmissionStats = {
    halfOpen: 0,
    halfOpenPeak: 0,
    dhComputations: 0,
    cookiesSent: 0,
    cookiesAccepted: 0,
    cookiesInvalid: 0,
    blockedPerPeer: 0,
    overLimit: 0,
    cookieSecretVersion: 0,
    cookieSecretRotations: 0,
    cookieMode: false,
  };
  /** Responder SAs created half-open, by the source address they came from; pruned when counted. */
  private readonly halfOpenSas = new Map<IkeSa, string>();
  private current: Secret | undefined;
  private previous: Secret | undefined;
  private lastRequiredAt: Micros | undefined;

  constructor(
    private readonly rng: Rng,
    private readonly config: ResolvedEndpointConfig,
  ) {}

  /** A responder SA that just went half-open. */
  track(sa: IkeSa, from: IpAddress): void {
    this.halfOpenSas.set(sa, formatIp(from));
    const n = this.halfOpenCount();
    if (n > this.stats.halfOpenPeak) this.stats.halfOpenPeak = n;
  }

  /** Responder SAs half-open now. */
  halfOpenCount(): number {
    for (const sa of this.halfOpenSas.keys()) if (!sa.alive || sa.state !== IkeSaState.HALF_OPEN) this.halfOpenSas.delete(sa);
    this.stats.halfOpen = this.halfOpenSas.size;
    return this.halfOpenSas.size;
  }

  private halfOpenFrom(addr: IpAddress): number {
    const k = formatIp(addr);
    let n = 0;
    for (const v of this.halfOpenSas.values()) if (v === k) n++;
    return n;
  }

  /**
   * The verdict on an IKE_SA_INIT request from `src`; emits 'cookie-mode' when COOKIE
   * mode starts or ends. Throws ProtocolError(INVALID_SYNTAX) for a request without Nonce
   * while cookies are demanded.
   */
  admit(payloads: readonly Payload[], src: Endpoint, spiI: Uint8Array, now: Micros, emit: (e: IkeEventBody) => void): Admission {
    const halfOpen = this.halfOpenCount();
    if (this.cookieRequired(halfOpen, now, emit)) {
      const nonce = payloadsOfType(payloads, PayloadType.NONCE)[0];
      if (!nonce) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE_SA_INIT request without Nonce');
      const first = payloads[0];
      const offered = first?.type === PayloadType.N && first.notifyType === NotifyType.COOKIE ? first.data : undefined;
      if (offered && this.verify(offered, nonce.data, src.addr, spiI, now)) {
        this.stats.cookiesAccepted++;
      } else {
        if (offered) this.stats.cookiesInvalid++;
        const cookie = this.issue(nonce.data, src.addr, spiI, now);
        this.stats.cookiesSent++;
        const why = offered ? 'the COOKIE offered does not verify; a new one is required' : 'a COOKIE is required';
        return { kind: 'cookie', cookie, message: `${why} (${halfOpen} half-open, threshold ${this.config.cookieThreshold})` };
      }
    }
    const block = this.config.blockThreshold;
    if (block > 0) {
      const mine = this.halfOpenFrom(src.addr);
      if (mine >= block) {
        this.stats.blockedPerPeer++;
        return { kind: 'drop', reason: 'peer-half-open-limit', message: `the peer already has ${mine} half-open IKE SAs (block threshold ${block})` };
      }
    }
    const limit = this.config.halfOpenLimit;
    if (limit > 0 && halfOpen >= limit) {
      this.stats.overLimit++;
      return { kind: 'drop', reason: 'half-open-limit', message: `${halfOpen} IKE SAs are half-open (limit ${limit})` };
    }
    return { kind: 'admit' };
  }

  /** Replaces the cookie secret now; cookies of the one replaced still verify until the next change. */
  rotate(now: Micros): void {
    const version = this.current ? (this.current.version + 1) & 0xff : 1;
    if (this.current) this.stats.cookieSecretRotations++;
    this.previous = this.current;
    this.current = { version, bytes: this.rng.bytes(SECRET_LENGTH), createdAt: now, uses: 0 };
    this.stats.cookieSecretVersion = version;
  }

  private cookieRequired(halfOpen: number, now: Micros, emit: (e: IkeEventBody) => void): boolean {
    let required = false;
    let why = '';
    if (halfOpen >= this.config.cookieThreshold) {
      required = true;
      why = `${halfOpen} responder IKE SAs are half-open (threshold ${this.config.cookieThreshold})`;
    } else if (this.lastRequiredAt !== undefined && now < this.lastRequiredAt + this.config.cookieCalmdown) {
      required = true;
    }
    if (required) this.lastRequiredAt = now;
    if (required !== this.stats.cookieMode) {
      this.stats.cookieMode = required;
      emit({
        type: 'cookie-mode',
        on: required,
        halfOpen,
        message: required ? why : `${halfOpen} half-open (threshold ${this.config.cookieThreshold}) and no request needed a COOKIE for ${this.config.cookieCalmdown / 1e6} s`,
      });
    }
    return required;
  }

  private refresh(now: Micros): void {
    const life = this.config.cookieSecretLifetime;
    if (!this.current) {
      this.rotate(now);
      return;
    }
    if (life <= 0) return;
    const age = now - this.current.createdAt;
    if (age >= 2 * life) {
      // Both secrets are too old: neither should verify any more.
      this.rotate(now);
      this.rotate(now);
    } else if (age >= life) {
      this.rotate(now);
    }
  }

  private cookieOf(s: Secret, ni: Uint8Array, ipi: IpAddress, spiI: Uint8Array): Uint8Array {
    const v = Uint8Array.of(s.version);
    const mac = prf(PrfId.HMAC_SHA2_256, s.bytes, concatBytes(v, ni, ipi.bytes, spiI));
    return concatBytes(v, mac.subarray(0, COOKIE_LENGTH - 1));
  }

  private issue(ni: Uint8Array, ipi: IpAddress, spiI: Uint8Array, now: Micros): Uint8Array {
    this.refresh(now);
    const s = this.current!;
    const cookie = this.cookieOf(s, ni, ipi, spiI);
    if (++s.uses >= this.config.cookieSecretUses) this.rotate(now);
    return cookie;
  }

  private verify(cookie: Uint8Array, ni: Uint8Array, ipi: IpAddress, spiI: Uint8Array, now: Micros): boolean {
    this.refresh(now);
    if (cookie.length !== COOKIE_LENGTH) return false;
    const s = [this.current, this.previous].find((x) => x?.version === cookie[0]);
    return s !== undefined && bytesEqual(this.cookieOf(s, ni, ipi, spiI), cookie);
  }
}
