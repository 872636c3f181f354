/**
 * The Security Association Database (RFC 4301 §4.4.2) for the userspace ESP datapath.
 *
 * - Outbound SAs are keyed by CHILD_SA id (one current SA per child, found by id or
 *   by the child's traffic selectors); inbound SAs by their 32-bit SPI.
 * - CHILD_SAs are built from KEYMAT-derived keys (`ChildSaInput`); keys are copied so
 *   SA state never aliases a caller's buffer.
 * - Rekeying (RFC 7296 §2.8): installing a new pair for a child replaces the outbound
 *   SA at once, while the old inbound SA keeps accepting packets already in flight until
 *   it is deleted explicitly (`deleteInbound`). Counters of replaced or deleted SAs are
 *   kept per child, so totals survive a rekey.
 *
 * Configuration errors (wrong key length, SPI clash) throw `SadError`; packet input is
 * the processor's business and never throws.
 */
import {
  endpointEquals,
  formatEndpoint,
  prefixContains,
  type Endpoint,
  type IpAddress,
  type Prefix,
} from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import {
  EncrId,
  IntegId,
  encrInfo,
  encrKeyLength,
  integInfo,
  integKeyLength,
  suiteProblem,
  type CipherSuite,
} from '../crypto/algorithms.ts';
import { addCounters, newSaCounters, type SaCounters } from './counters.ts';
import { DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW, MIN_REPLAY_WINDOW, ReplayWindow } from './replay-window.ts';

export class SadError extends Error {
  override readonly name = 'SadError';
}

/** What to put in the outer IPv4 DF bit (RFC 4301 §8.1). */
export const DF_POLICY = {
  /** Copy the inner IPv4 DF bit; an inner IPv6 packet gets DF set. */
  COPY: 'copy',
  SET: 'set',
  CLEAR: 'clear',
} as const;
export type DfPolicy = (typeof DF_POLICY)[keyof typeof DF_POLICY];

export const DEFAULT_PATH_MTU = 1500;
export const DEFAULT_OUTER_TTL = 64;
/** Rekey is asked for this many sequence numbers before the counter would wrap. */
export const DEFAULT_REKEY_MARGIN = 2 ** 16;

export const SEQ_LIMIT_32 = 0xffffffffn;
export const SEQ_LIMIT_64 = 0xffffffffffffffffn;

export interface EncapEndpoints {
  /** This side's address and port as it sends (before any NAT). */
  readonly local: Endpoint;
  /** The peer's endpoint as last seen (the floated, NAT-mapped one). */
  readonly remote: Endpoint;
}

export interface TunnelEndpoints {
  readonly local: IpAddress;
  readonly remote: IpAddress;
}

export interface SaLifetime {
  readonly seconds?: number | undefined;
  readonly kilobytes?: number | undefined;
}

/** One direction of a CHILD_SA, from KEYMAT (RFC 7296 §2.17). */
export interface ChildSaInput {
  /** 32-bit SPI (1 .. 2^32-1). */
  readonly spi: number;
  readonly suite: CipherSuite;
  /** Encryption key; for AES-GCM the key followed by the 4-byte salt (RFC 4106 §8.1); empty for NULL. */
  readonly encKey: Uint8Array;
  /** Integrity key; absent for AEAD. */
  readonly integKey?: Uint8Array | undefined;
  /** Extended (64-bit) sequence numbers (RFC 4303 §2.2.1). */
  readonly esn: boolean;
  /** Anti-replay window (32 .. 4096; 0 turns replay detection off). Inbound only. */
  readonly replayWindow: number;
  /** ESP-in-UDP (RFC 3948) between these endpoints; absent for raw ESP (protocol 50). */
  readonly encap?: EncapEndpoints | undefined;
  /** Path MTU for the outer packets (default 1500). */
  readonly mtu?: number | undefined;
  /** Outer IP addresses; taken from `encap` when absent. */
  readonly tunnel?: TunnelEndpoints | undefined;
  /** Sequence number of the first packet sent (default 1); lets tests start near the wrap. */
  readonly firstSequence?: number | bigint | undefined;
  /** Ask for a rekey this many numbers before the counter would wrap (default 2^16). */
  readonly rekeyMargin?: number | undefined;
  /** Fragment the outer packet when it exceeds the path MTU and DF is clear (default: drop). */
  readonly allowFragmentation?: boolean | undefined;
  readonly dontFragment?: DfPolicy | undefined;
  readonly ttl?: number | undefined;
  /**
   * Allow a CBC cipher with no integrity algorithm (RFC 4303 §3.2 "confidentiality
   * only": the RFC 3602 §4 vectors are such packets). Anti-replay is then off (§3.4.3).
   */
  readonly confidentialityOnly?: boolean | undefined;
  readonly lifetime?: SaLifetime | undefined;
}

export interface ChildSelectors {
  readonly local: readonly Prefix[];
  readonly remote: readonly Prefix[];
}

function validate(input: ChildSaInput, direction: 'inbound' | 'outbound'): void {
  const bad = (what: string): never => {
    throw new SadError(`${direction} SA 0x${(input.spi >>> 0).toString(16).padStart(8, '0')}: ${what}`);
  };
  if (!Number.isInteger(input.spi) || input.spi < 1 || input.spi > 0xffffffff) bad(`SPI ${input.spi} is not in 1 .. 2^32-1`);
  const s = input.suite;
  const problem = suiteProblem(s);
  const cbcOnly =
    input.confidentialityOnly === true && s.integ === IntegId.NONE && (s.encr === EncrId.AES_CBC || s.encr === EncrId.DES3);
  if (problem !== undefined && !(cbcOnly && encrInfo(s.encr).keyBits.includes(s.keyBits))) bad(problem);
  if (input.encKey.length !== encrKeyLength(s)) bad(`encryption key must be ${encrKeyLength(s)} bytes, got ${input.encKey.length}`);
  const ik = input.integKey?.length ?? 0;
  if (ik !== integKeyLength(s)) bad(`integrity key must be ${integKeyLength(s)} bytes, got ${ik}`);
  const w = input.replayWindow;
  if (!Number.isInteger(w) || (w !== 0 && (w < MIN_REPLAY_WINDOW || w > MAX_REPLAY_WINDOW))) {
    bad(`replay window must be 0 (off) or ${MIN_REPLAY_WINDOW} .. ${MAX_REPLAY_WINDOW}, got ${w}`);
  }
  const tunnel = input.tunnel ?? (input.encap ? { local: input.encap.local.addr, remote: input.encap.remote.addr } : undefined);
  if (!tunnel) bad('needs tunnel endpoints (tunnel or encap)');
  if (tunnel!.local.family !== tunnel!.remote.family) bad('tunnel endpoints are of different address families');
  if (input.encap && input.encap.local.addr.family !== tunnel!.local.family) bad('encap endpoints and tunnel endpoints differ in family');
  const minMtu = tunnel!.local.family === 4 ? 68 : 1280;
  if (input.mtu !== undefined && (!Number.isInteger(input.mtu) || input.mtu < minMtu || input.mtu > 65535)) {
    bad(`path MTU ${input.mtu} is not in ${minMtu} .. 65535`);
  }
  const first = input.firstSequence === undefined ? 1n : BigInt(input.firstSequence);
  if (first < 1n || first > (input.esn ? SEQ_LIMIT_64 + 1n : SEQ_LIMIT_32 + 1n)) bad(`first sequence number ${first} is out of range`);
  if (input.rekeyMargin !== undefined && (!Number.isInteger(input.rekeyMargin) || input.rekeyMargin < 0)) bad('rekey margin must be a non-negative integer');
}

/** State common to both directions. */
export abstract class SaBase {
  readonly spi: number;
  readonly suite: CipherSuite;
  readonly encKey: Uint8Array;
  readonly integKey: Uint8Array;
  readonly esn: boolean;
  readonly confidentialityOnly: boolean;
  readonly tunnel: TunnelEndpoints;
  /** Mutable: the remote endpoint floats when the peer's NAT mapping changes. */
  encap: EncapEndpoints | undefined;
  mtu: number;
  readonly lifetime: SaLifetime | undefined;
  readonly counters: SaCounters = newSaCounters();
  /** Whether packets carry an ICV (integrity algorithm or AEAD). */
  readonly hasIcv: boolean;
  /** Whether the payload is actually encrypted (not NULL encryption). */
  readonly encrypts: boolean;
  readonly ivLength: number;
  readonly icvLength: number;
  /** Payload ‖ trailer is a multiple of this (cipher block, at least 4: RFC 4303 §2.4). */
  readonly alignment: number;

  constructor(
    readonly childId: string,
    input: ChildSaInput,
    readonly createdAt: Micros,
    /** A small number shown as "conn id" in `show crypto ipsec sa`. */
    readonly connId: number,
  ) {
    this.spi = input.spi >>> 0;
    this.suite = { encr: input.suite.encr, keyBits: input.suite.keyBits, integ: input.suite.integ };
    // One private copy of both keys (the caller's arrays may change), viewed twice.
    const encLength = input.encKey.length;
    const keys = new Uint8Array(encLength + (input.integKey?.length ?? 0));
    keys.set(input.encKey);
    if (input.integKey) keys.set(input.integKey, encLength);
    this.encKey = keys.subarray(0, encLength);
    this.integKey = keys.subarray(encLength);
    this.esn = input.esn;
    this.confidentialityOnly = input.confidentialityOnly === true && input.suite.integ === IntegId.NONE && !encrInfo(input.suite.encr).aead;
    this.encap = input.encap ? { local: input.encap.local, remote: input.encap.remote } : undefined;
    this.tunnel = input.tunnel ?? { local: input.encap!.local.addr, remote: input.encap!.remote.addr };
    this.mtu = input.mtu ?? DEFAULT_PATH_MTU;
    this.lifetime = input.lifetime;
    // The suite never changes: its sizes are worked out once, not on every packet.
    const e = encrInfo(this.suite.encr);
    this.hasIcv = e.aead || this.suite.integ !== IntegId.NONE;
    this.encrypts = this.suite.encr !== EncrId.NULL;
    this.ivLength = e.ivLength;
    this.icvLength = e.aead ? e.icvLength : integInfo(this.suite.integ).icvLength;
    this.alignment = Math.max(e.blockSize, 4);
  }

  /** Largest sequence number this SA may use. */
  get sequenceLimit(): bigint {
    return this.esn ? SEQ_LIMIT_64 : SEQ_LIMIT_32;
  }

  /** Length of the ESP packet (SPI to ICV) carrying an inner packet of `innerLength` bytes. */
  espLength(innerLength: number): number {
    const padded = Math.ceil((innerLength + 2) / this.alignment) * this.alignment;
    return 8 + this.ivLength + padded + this.icvLength;
  }

  /** Bytes of outer IP header (and UDP header when encapsulated) in front of the ESP packet. */
  get outerHeaderLength(): number {
    return (this.tunnel.local.family === 4 ? 20 : 40) + (this.encap ? 8 : 0);
  }

  /** Length of the whole outer packet for an inner packet of `innerLength` bytes. */
  outerLength(innerLength: number): number {
    return this.outerHeaderLength + this.espLength(innerLength);
  }

  /** Largest inner packet that fits the path MTU unfragmented (Cisco's "plaintext mtu"). */
  get plaintextMtu(): number {
    const room = this.mtu - this.outerHeaderLength - 8 - this.ivLength - this.icvLength;
    return Math.max(0, Math.floor(room / this.alignment) * this.alignment - 2);
  }
}

/** 2^53: sequence numbers below it are exact JavaScript numbers. */
const SAFE_SEQ = 2 ** 53;

export class OutboundSa extends SaBase {
  /**
   * Sequence number of the next packet while it is at most 2^53, else -1 (and the
   * number is in `bigSequence`). The datapath counts in this number; `nextSequence`
   * is the same value as a bigint.
   */
  sequenceNumber: number;
  private bigSequence = 0n;
  /**
   * While `sequenceNumber` is below this, taking it crosses neither the rekey threshold
   * (when no rekey was asked for yet) nor the SA's last number, and the next one is
   * still exact: min(rekey threshold, 2^53). `sequenceFastLimit` is the same bound
   * once the rekey was asked for: min(sequence limit + 1, 2^53).
   */
  readonly sequenceFastRekey: number;
  readonly sequenceFastLimit: number;
  readonly rekeyMargin: number;
  readonly allowFragmentation: boolean;
  readonly dontFragment: DfPolicy;
  readonly ttl: number;
  rekeyRequested = false;
  exhaustedReported = false;
  /** Next outer IPv4 identification / IPv6 fragment id; drawn from the rng on first use. */
  identification: number | undefined;

  constructor(childId: string, input: ChildSaInput, createdAt: Micros, connId: number) {
    super(childId, input, createdAt, connId);
    this.sequenceNumber = 1;
    this.nextSequence = input.firstSequence === undefined ? 1n : BigInt(input.firstSequence);
    this.rekeyMargin = input.rekeyMargin ?? DEFAULT_REKEY_MARGIN;
    this.allowFragmentation = input.allowFragmentation ?? false;
    this.dontFragment = input.dontFragment ?? DF_POLICY.COPY;
    this.ttl = input.ttl ?? DEFAULT_OUTER_TTL;
    const safe = BigInt(SAFE_SEQ);
    const limit = this.sequenceLimit + 1n;
    this.sequenceFastLimit = Number(limit < safe ? limit : safe);
    this.sequenceFastRekey = Math.min(this.sequenceFastLimit, Number(this.rekeyThreshold < safe ? this.rekeyThreshold : safe));
  }

  /** Sequence number of the next packet. */
  get nextSequence(): bigint {
    return this.sequenceNumber >= 0 ? BigInt(this.sequenceNumber) : this.bigSequence;
  }

  set nextSequence(v: bigint) {
    if (v <= BigInt(SAFE_SEQ)) {
      this.sequenceNumber = Number(v);
    } else {
      this.sequenceNumber = -1;
      this.bigSequence = v;
    }
  }

  private threshold: bigint | undefined;

  /** First sequence number at which a rekey is requested. */
  get rekeyThreshold(): bigint {
    // esn and rekeyMargin never change, so this is worked out once.
    return (this.threshold ??= this.sequenceLimit + 1n - BigInt(this.rekeyMargin));
  }
}

export class InboundSa extends SaBase {
  /**
   * The received-sequence-number window. Present when replay detection is on, and for
   * ESN SAs even when it is off, because it also infers the unsent high 32 bits.
   */
  readonly window: ReplayWindow | undefined;
  /** Whether duplicates and old numbers are rejected (needs integrity: RFC 4303 §3.4.3). */
  readonly antiReplay: boolean;
  /** Set once a newer inbound SA of the same child was installed (kept for packets in flight). */
  superseded = false;

  constructor(childId: string, input: ChildSaInput, createdAt: Micros, connId: number) {
    super(childId, input, createdAt, connId);
    this.antiReplay = input.replayWindow > 0 && this.hasIcv;
    this.window = this.antiReplay || this.esn ? new ReplayWindow(input.replayWindow > 0 ? input.replayWindow : DEFAULT_REPLAY_WINDOW) : undefined;
  }
}

interface ChildRecord {
  outbound: OutboundSa | undefined;
  readonly inbound: Map<number, InboundSa>;
  selectors: ChildSelectors | undefined;
  /** Counters of SAs of this child that were replaced or deleted (made with the first one). */
  retired: SaCounters | undefined;
}

export interface InstalledChild {
  readonly inbound: InboundSa;
  readonly outbound: OutboundSa;
  /** The outbound SA this one replaced (a rekey), if any. */
  readonly replaced?: OutboundSa | undefined;
}

export class SecurityAssociationDatabase {
  private readonly children = new Map<string, ChildRecord>();
  private readonly bySpi = new Map<number, InboundSa>();
  private nextConnId = 2001;

  private child(childId: string): ChildRecord {
    let c = this.children.get(childId);
    if (!c) {
      c = { outbound: undefined, inbound: new Map(), selectors: undefined, retired: undefined };
      this.children.set(childId, c);
    }
    return c;
  }

  /**
   * Installs both directions of a CHILD_SA. For an existing child this is a rekey: the
   * new outbound SA replaces the old one immediately; the old inbound SA stays.
   */
  installChild(
    childId: string,
    sas: { readonly inbound: ChildSaInput; readonly outbound: ChildSaInput; readonly selectors?: ChildSelectors | undefined },
    now: Micros,
  ): InstalledChild {
    validate(sas.inbound, 'inbound');
    validate(sas.outbound, 'outbound');
    if (this.bySpi.has(sas.inbound.spi >>> 0)) throw new SadError(`inbound SPI 0x${(sas.inbound.spi >>> 0).toString(16)} is already in use`);
    const inbound = this.addInbound(childId, sas.inbound, now);
    const { sa: outbound, replaced } = this.addOutbound(childId, sas.outbound, now);
    if (sas.selectors) this.setSelectors(childId, sas.selectors);
    return { inbound, outbound, replaced };
  }

  /** Adds (or, for a rekey, replaces) the outbound SA of a child. */
  addOutbound(childId: string, input: ChildSaInput, now: Micros): { sa: OutboundSa; replaced?: OutboundSa | undefined } {
    validate(input, 'outbound');
    const c = this.child(childId);
    const replaced = c.outbound;
    if (replaced) addCounters((c.retired ??= newSaCounters()), replaced.counters);
    const sa = new OutboundSa(childId, input, now, this.nextConnId++);
    c.outbound = sa;
    return { sa, replaced };
  }

  /** Adds an inbound SA; earlier inbound SAs of the child stay until deleted. */
  addInbound(childId: string, input: ChildSaInput, now: Micros): InboundSa {
    validate(input, 'inbound');
    const spi = input.spi >>> 0;
    if (this.bySpi.has(spi)) throw new SadError(`inbound SPI 0x${spi.toString(16)} is already in use`);
    const c = this.child(childId);
    for (const old of c.inbound.values()) old.superseded = true;
    const sa = new InboundSa(childId, input, now, this.nextConnId++);
    c.inbound.set(spi, sa);
    this.bySpi.set(spi, sa);
    return sa;
  }

  setSelectors(childId: string, selectors: ChildSelectors): void {
    this.child(childId).selectors = { local: [...selectors.local], remote: [...selectors.remote] };
  }

  selectors(childId: string): ChildSelectors | undefined {
    return this.children.get(childId)?.selectors;
  }

  /** The current outbound SA of a child. */
  outbound(childId: string): OutboundSa | undefined {
    return this.children.get(childId)?.outbound;
  }

  /** The outbound SA whose child's selectors cover an inner packet from `src` to `dst`. */
  outboundFor(src: IpAddress, dst: IpAddress): OutboundSa | undefined {
    for (const c of this.children.values()) {
      if (!c.outbound || !c.selectors) continue;
      if (c.selectors.local.some((p) => prefixContains(p, src)) && c.selectors.remote.some((p) => prefixContains(p, dst))) return c.outbound;
    }
    return undefined;
  }

  inbound(spi: number): InboundSa | undefined {
    return this.bySpi.get(spi >>> 0);
  }

  /** Inbound SAs of a child, oldest first. */
  inboundOf(childId: string): InboundSa[] {
    return [...(this.children.get(childId)?.inbound.values() ?? [])];
  }

  /** Deletes one inbound SA (after a rekey, once the peer deleted its old outbound SA). */
  deleteInbound(spi: number): boolean {
    const sa = this.bySpi.get(spi >>> 0);
    if (!sa) return false;
    this.bySpi.delete(sa.spi);
    const c = this.children.get(sa.childId);
    if (c) {
      c.inbound.delete(sa.spi);
      addCounters((c.retired ??= newSaCounters()), sa.counters);
    }
    return true;
  }

  /** Deletes a child with all its SAs. */
  deleteChild(childId: string): boolean {
    const c = this.children.get(childId);
    if (!c) return false;
    for (const spi of c.inbound.keys()) this.bySpi.delete(spi);
    this.children.delete(childId);
    return true;
  }

  childIds(): string[] {
    return [...this.children.keys()];
  }

  /** Counters of a child: its live SAs plus every SA it had before. */
  childCounters(childId: string): SaCounters {
    const c = this.children.get(childId);
    const out = newSaCounters();
    if (!c) return out;
    if (c.retired) addCounters(out, c.retired);
    if (c.outbound) addCounters(out, c.outbound.counters);
    for (const sa of c.inbound.values()) addCounters(out, sa.counters);
    return out;
  }

  /**
   * The peer's NAT mapping changed (RFC 7296 §2.23): send to `remote` from now on.
   * Applies to the outbound SA and every inbound SA of the child. Returns false when
   * the child is unknown or not UDP-encapsulated.
   */
  updateEncapRemote(childId: string, remote: Endpoint): boolean {
    const c = this.children.get(childId);
    if (!c?.outbound?.encap) return false;
    if (endpointEquals(c.outbound.encap.remote, remote)) return true;
    if (remote.addr.family !== c.outbound.tunnel.local.family) {
      throw new SadError(`cannot float ${childId} to ${formatEndpoint(remote)}: different address family`);
    }
    for (const sa of [c.outbound, ...c.inbound.values()]) {
      if (sa.encap) sa.encap = { local: sa.encap.local, remote };
    }
    return true;
  }
}
