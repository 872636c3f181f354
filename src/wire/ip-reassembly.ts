/**
 * IP fragment reassembly: IPv4 (RFC 791 §3.2, hole tracking as in RFC 815) and
 * IPv6 (RFC 8200 §4.5).
 *
 * Pure: no clock, no timers. The caller passes `now` (Micros) to `add`, and calls
 * `expire(now)` to collect datagrams given up on. A datagram is given up when `now`
 * is `timeoutUs` (default 30 s) or more after its first fragment arrived; both `add`
 * and `expire` apply that rule, and `expire` returns every datagram given up since
 * its last call.
 *
 * Bounded memory: at most `maxDatagrams` in progress (a fragment that would start one
 * more is rejected, 'table-full'), at most `maxFragments` per datagram, and no datagram
 * beyond 65535 bytes. Fragment bytes are copied: the caller's buffers can be reused.
 *
 * Overlap policy:
 *  - An exact duplicate (a range already received, with the same bytes) is ignored
 *    ('duplicate'), whatever the policy (RFC 8200 §4.5 allows this).
 *  - 'first-wins' (IPv4 default): bytes already received are kept and a later fragment
 *    only fills holes; the completed result says `overlapped: true`.
 *  - 'discard-datagram' (IPv6 default, as RFC 5722 requires): any other overlap drops
 *    the whole datagram ('overlap', discarded).
 * Other rejections: a fragment whose data would end beyond 65535 bytes ('too-large',
 * the fragment is dropped); a non-last fragment whose length is not a multiple of 8
 * ('misaligned', dropped); two different ends, or data past the end ('inconsistent-length',
 * datagram discarded); too many fragments ('too-many-fragments', datagram discarded).
 */
import type { IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import { Ipv4Codec, IPV4_MAX_TOTAL_LEN, ipv4HeaderLength, isIpv4Fragment, type Ipv4Packet } from './ipv4.ts';
import {
  Ipv6Codec,
  IPV6_EXTENSION,
  IPV6_MAX_PAYLOAD_LEN,
  ipv6ExtensionLength,
  isIpv6Fragment,
  type Ipv6Extension,
  type Ipv6FragmentExtension,
  type Ipv6Packet,
} from './ipv6.ts';

export const DEFAULT_REASSEMBLY_TIMEOUT_US: Micros = 30_000_000;
export const DEFAULT_MAX_DATAGRAMS = 64;
export const DEFAULT_MAX_FRAGMENTS = 1024;

export const OVERLAP_POLICY = {
  FIRST_WINS: 'first-wins',
  DISCARD_DATAGRAM: 'discard-datagram',
} as const;
export type OverlapPolicy = (typeof OVERLAP_POLICY)[keyof typeof OVERLAP_POLICY];

export const REASSEMBLY_REJECT = {
  TOO_LARGE: 'too-large',
  MISALIGNED: 'misaligned',
  TABLE_FULL: 'table-full',
  TOO_MANY_FRAGMENTS: 'too-many-fragments',
  INCONSISTENT_LENGTH: 'inconsistent-length',
  OVERLAP: 'overlap',
} as const;
export type ReassemblyRejectReason = (typeof REASSEMBLY_REJECT)[keyof typeof REASSEMBLY_REJECT];

export interface ReassemblyOptions {
  readonly timeoutUs?: Micros;
  readonly maxDatagrams?: number;
  readonly maxFragments?: number;
  readonly overlap?: OverlapPolicy;
}

export type ReassemblyResult =
  /** Not a fragment: use the packet as it is. */
  | { readonly status: 'not-fragment' }
  /** Stored; the datagram is still incomplete. */
  | { readonly status: 'pending' }
  /** Exact duplicate of data already held; ignored. */
  | { readonly status: 'duplicate' }
  /** The whole datagram, re-encoded as one unfragmented packet. */
  | {
      readonly status: 'complete';
      readonly packet: Uint8Array;
      readonly fragments: number;
      readonly overlapped: boolean;
      readonly firstAt: Micros;
    }
  /** Refused. `discarded` tells whether the datagram in progress was dropped with it. */
  | { readonly status: 'rejected'; readonly reason: ReassemblyRejectReason; readonly detail: string; readonly discarded: boolean };

export interface ExpiredDatagram {
  readonly src: IpAddress;
  readonly dst: IpAddress;
  readonly identification: number;
  /** IPv4 protocol; undefined for IPv6 (not part of its key). */
  readonly protocol?: number;
  readonly firstAt: Micros;
  readonly fragments: number;
  /** Bytes of fragment data held when it was given up. */
  readonly receivedBytes: number;
  /** Whether the fragment at offset 0 had arrived. */
  readonly haveFirst: boolean;
}

interface Hole {
  first: number;
  /** Exclusive; Infinity until the last fragment is seen. */
  end: number;
}

/** One datagram in progress: RFC 815 hole list over a growing data buffer. */
class Assembly<H> {
  holes: Hole[] = [{ first: 0, end: Infinity }];
  data = new Uint8Array(0);
  /** Total data length once the last fragment (MF clear) arrived. */
  total: number | undefined;
  /** Highest end of data received. */
  highest = 0;
  fragments = 0;
  receivedBytes = 0;
  overlapped = false;
  head: H | undefined;

  constructor(
    readonly firstAt: Micros,
    readonly src: IpAddress,
    readonly dst: IpAddress,
    readonly identification: number,
    readonly protocol: number | undefined,
  ) {}

  private ensure(end: number): void {
    if (end <= this.data.length) return;
    let cap = Math.max(256, this.data.length);
    while (cap < end) cap *= 2;
    const next = new Uint8Array(Math.min(cap, IPV4_MAX_TOTAL_LEN));
    next.set(this.data);
    this.data = next;
  }

  /**
   * How many bytes of [start, end) were already received, and whether they equal
   * `bytes` there. The hole list is kept sorted, so received data is what lies
   * between consecutive holes.
   */
  private covered(start: number, end: number, bytes: Uint8Array): { count: number; same: boolean } {
    let count = 0;
    let same = true;
    let pos = start;
    const compare = (a: number, b: number): void => {
      count += b - a;
      for (let i = a; i < b && same; i++) if (this.data[i] !== bytes[i - start]) same = false;
    };
    for (const h of this.holes) {
      if (pos >= end) break;
      const stop = Math.min(end, h.first);
      if (pos < stop) compare(pos, stop);
      if (h.end > pos) pos = h.end;
    }
    if (pos < end) compare(pos, end);
    return { count, same };
  }

  /**
   * Adds fragment data at `start`. Returns a rejection reason, 'duplicate', or
   * undefined when stored.
   */
  add(start: number, bytes: Uint8Array, last: boolean, policy: OverlapPolicy, maxFragments: number): ReassemblyRejectReason | 'duplicate' | undefined {
    const end = start + bytes.length;
    if (last) {
      if (this.total !== undefined && this.total !== end) return 'inconsistent-length';
      if (end < this.highest) return 'inconsistent-length';
    } else if (this.total !== undefined && end > this.total) {
      return 'inconsistent-length';
    }
    const { count, same } = this.covered(start, end, bytes);
    if (count > 0) {
      if (count === end - start && same && (!last || this.total === end)) return 'duplicate';
      if (policy === 'discard-datagram') return 'overlap';
      this.overlapped = true;
    }
    if (this.fragments + 1 > maxFragments) return 'too-many-fragments';
    this.fragments++;
    this.ensure(end);
    // RFC 815: each hole the fragment touches is removed and what it leaves of it put back.
    const holes: Hole[] = [];
    for (const h of this.holes) {
      if (end <= h.first || start >= h.end) {
        holes.push(h);
        continue;
      }
      const a = Math.max(start, h.first);
      const b = Math.min(end, h.end);
      this.data.set(bytes.subarray(a - start, b - start), a);
      this.receivedBytes += b - a;
      if (h.first < start) holes.push({ first: h.first, end: start });
      if (end < h.end && !last) holes.push({ first: end, end: h.end });
    }
    if (last) {
      this.total = end;
      // The open-ended hole now stops at the end; drop what lies beyond.
      this.holes = holes.filter((h) => h.first < end).map((h) => ({ first: h.first, end: Math.min(h.end, end) }));
    } else {
      this.holes = holes;
    }
    if (end > this.highest) this.highest = end;
    return undefined;
  }

  get complete(): boolean {
    return this.total !== undefined && this.holes.length === 0 && this.head !== undefined;
  }

  expired(): ExpiredDatagram {
    const e: ExpiredDatagram = {
      src: this.src,
      dst: this.dst,
      identification: this.identification,
      firstAt: this.firstAt,
      fragments: this.fragments,
      receivedBytes: this.receivedBytes,
      haveFirst: this.head !== undefined,
    };
    return this.protocol === undefined ? e : { ...e, protocol: this.protocol };
  }
}

function copyAddr(a: IpAddress): IpAddress {
  return { family: a.family, bytes: a.bytes.slice() };
}

function bin(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

/** The table both reassemblers share: keys, bounds, expiry. */
class FragmentTable<H> {
  readonly timeoutUs: Micros;
  readonly maxDatagrams: number;
  readonly maxFragments: number;
  readonly policy: OverlapPolicy;
  private readonly table = new Map<string, Assembly<H>>();
  private given: ExpiredDatagram[] = [];

  constructor(opts: ReassemblyOptions, defaultPolicy: OverlapPolicy) {
    this.timeoutUs = opts.timeoutUs ?? DEFAULT_REASSEMBLY_TIMEOUT_US;
    this.maxDatagrams = opts.maxDatagrams ?? DEFAULT_MAX_DATAGRAMS;
    this.maxFragments = opts.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.policy = opts.overlap ?? defaultPolicy;
  }

  get size(): number {
    return this.table.size;
  }

  sweep(now: Micros): void {
    for (const [k, a] of this.table) {
      if (now - a.firstAt >= this.timeoutUs) {
        this.table.delete(k);
        this.given.push(a.expired());
      }
    }
  }

  drainExpired(now: Micros): ExpiredDatagram[] {
    this.sweep(now);
    const out = this.given;
    this.given = [];
    return out;
  }

  add(
    key: string,
    now: Micros,
    make: () => Assembly<H>,
    start: number,
    bytes: Uint8Array,
    last: boolean,
    head: H | undefined,
    build: (a: Assembly<H>) => Uint8Array | string,
  ): ReassemblyResult {
    this.sweep(now);
    let a = this.table.get(key);
    if (!a) {
      if (this.table.size >= this.maxDatagrams) {
        return { status: 'rejected', reason: 'table-full', detail: `${this.maxDatagrams} datagrams already in progress`, discarded: false };
      }
      a = make();
      this.table.set(key, a);
    }
    const verdict = a.add(start, bytes, last, this.policy, this.maxFragments);
    if (verdict === 'duplicate') return { status: 'duplicate' };
    if (verdict !== undefined) {
      this.table.delete(key);
      const detail =
        verdict === 'overlap'
          ? `fragment at ${start}+${bytes.length} overlaps data already received`
          : verdict === 'too-many-fragments'
            ? `more than ${this.maxFragments} fragments`
            : `fragment at ${start}+${bytes.length}${last ? ' (last)' : ''} disagrees with the datagram's end ${a.total ?? a.highest}`;
      return { status: 'rejected', reason: verdict, detail, discarded: true };
    }
    if (head !== undefined && a.head === undefined) a.head = head;
    if (!a.complete) return { status: 'pending' };
    this.table.delete(key);
    const packet = build(a);
    if (typeof packet === 'string') return { status: 'rejected', reason: 'too-large', detail: packet, discarded: true };
    return { status: 'complete', packet, fragments: a.fragments, overlapped: a.overlapped, firstAt: a.firstAt };
  }
}

function reject(reason: ReassemblyRejectReason, detail: string): ReassemblyResult {
  return { status: 'rejected', reason, detail, discarded: false };
}

/** Reassembles IPv4 datagrams keyed by (src, dst, protocol, identification). */
export class Ipv4Reassembler {
  private readonly t: FragmentTable<Ipv4Packet>;

  constructor(opts: ReassemblyOptions = {}) {
    this.t = new FragmentTable<Ipv4Packet>(opts, 'first-wins');
  }

  /** Datagrams in progress. */
  get inProgress(): number {
    return this.t.size;
  }

  /** Takes one decoded packet (its payload is copied). */
  add(p: Ipv4Packet, now: Micros): ReassemblyResult {
    if (!isIpv4Fragment(p)) {
      this.t.sweep(now);
      return { status: 'not-fragment' };
    }
    const start = p.fragmentOffset;
    const len = p.payload.length;
    if (IPV4_MAX_TOTAL_LEN - ipv4HeaderLength(p) < start + len) {
      this.t.sweep(now);
      return reject('too-large', `fragment at ${start}+${len} with a ${ipv4HeaderLength(p)}-byte header ends beyond 65535 bytes`);
    }
    if (p.moreFragments && len % 8 !== 0) {
      this.t.sweep(now);
      return reject('misaligned', `non-last fragment of ${len} bytes, not a multiple of 8`);
    }
    const key = `${bin(p.src.bytes)}|${bin(p.dst.bytes)}|${p.protocol}|${p.identification}`;
    const head =
      start === 0
        ? { ...p, src: copyAddr(p.src), dst: copyAddr(p.dst), options: p.options.slice(), payload: new Uint8Array(0) }
        : undefined;
    return this.t.add(
      key,
      now,
      () => new Assembly<Ipv4Packet>(now, copyAddr(p.src), copyAddr(p.dst), p.identification, p.protocol),
      start,
      p.payload,
      !p.moreFragments,
      head,
      (a) => {
        const h = a.head!;
        const total = a.total!;
        if (ipv4HeaderLength(h) + total > IPV4_MAX_TOTAL_LEN) {
          return `reassembled datagram of ${ipv4HeaderLength(h) + total} bytes exceeds 65535`;
        }
        return Ipv4Codec.encode({
          ...h,
          moreFragments: false,
          fragmentOffset: 0,
          payload: a.data.subarray(0, total),
          keepChecksum: false,
        });
      },
    );
  }

  /** Datagrams given up since the last call (timed out at `now` or earlier). */
  expire(now: Micros): ExpiredDatagram[] {
    return this.t.drainExpired(now);
  }
}

interface Ipv6Head {
  readonly packet: Ipv6Packet;
  /** The extension headers before the Fragment header (the unfragmentable part). */
  readonly unfragmentable: readonly Ipv6Extension[];
}

/** Reassembles IPv6 datagrams keyed by (src, dst, fragment identification). */
export class Ipv6Reassembler {
  private readonly t: FragmentTable<Ipv6Head>;

  constructor(opts: ReassemblyOptions = {}) {
    this.t = new FragmentTable<Ipv6Head>(opts, 'discard-datagram');
  }

  get inProgress(): number {
    return this.t.size;
  }

  /** Takes one decoded packet whose walk stopped at its Fragment header (see ipv6.ts). */
  add(p: Ipv6Packet, now: Micros): ReassemblyResult {
    const exts = p.extensions;
    const fragIdx = exts.length - 1;
    if (!isIpv6Fragment(p) || exts[fragIdx]?.type !== IPV6_EXTENSION.FRAGMENT) {
      this.t.sweep(now);
      return { status: 'not-fragment' };
    }
    const f = exts[fragIdx] as Ipv6FragmentExtension;
    const start = f.fragmentOffset;
    const len = p.payload.length;
    if (start + len > IPV6_MAX_PAYLOAD_LEN) {
      this.t.sweep(now);
      return reject('too-large', `fragment at ${start}+${len} ends beyond 65535 bytes`);
    }
    if (f.moreFragments && len % 8 !== 0) {
      this.t.sweep(now);
      return reject('misaligned', `non-last fragment of ${len} bytes, not a multiple of 8`);
    }
    const key = `${bin(p.src.bytes)}|${bin(p.dst.bytes)}|${f.identification}`;
    const head: Ipv6Head | undefined =
      start === 0
        ? {
            packet: { ...p, src: copyAddr(p.src), dst: copyAddr(p.dst), payload: new Uint8Array(0), extensions: [] },
            unfragmentable: exts.slice(0, fragIdx).map((e) => (e.type === IPV6_EXTENSION.FRAGMENT ? e : { ...e, data: e.data.slice() })),
          }
        : undefined;
    return this.t.add(
      key,
      now,
      () => new Assembly<Ipv6Head>(now, copyAddr(p.src), copyAddr(p.dst), f.identification, undefined),
      start,
      p.payload,
      !f.moreFragments,
      head,
      (a) => {
        const h = a.head!;
        const total = a.total!;
        let unfrag = 0;
        for (const e of h.unfragmentable) unfrag += ipv6ExtensionLength(e);
        if (unfrag + total > IPV6_MAX_PAYLOAD_LEN) {
          return `reassembled payload of ${unfrag + total} bytes exceeds 65535`;
        }
        return Ipv6Codec.encode({ ...h.packet, extensions: h.unfragmentable, payload: a.data.subarray(0, total) });
      },
    );
  }

  expire(now: Micros): ExpiredDatagram[] {
    return this.t.drainExpired(now);
  }
}
