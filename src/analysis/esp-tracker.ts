/**
 * Per-SPI ESP accounting in constant memory: packet and byte counts, first/last/highest
 * sequence number, a 1024-packet window (as an RFC 4303 §3.4.3 receiver keeps) to tell
 * replays from new packets, and decryption results when keys are given.
 */
import type { Endpoint, IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';

export const REPLAY_WINDOW = 1024;
const INNER_KEYS_MAX = 16;

export class EspState {
  packets = 0;
  bytes = 0;
  firstSeq = 0;
  lastSeq = 0;
  maxSeq = 0;
  minSeq = 0;
  replays = 0;
  outOfWindow = 0;
  endpointChanges = 0;
  firstAt: Micros;
  lastAt: Micros;
  firstFrame: number;
  readonly frames: number[] = [];
  /** Frames of replayed packets (first few). */
  readonly replayFrames: number[] = [];
  /** Frames right after a gap (first few). */
  readonly gapFrames: number[] = [];
  decryptOk = 0;
  icvFailed = 0;
  decryptFailed = 0;
  keyed = false;
  readonly inner = new Map<string, number>();
  readonly icvFrames: number[] = [];
  private readonly window = new Uint32Array(REPLAY_WINDOW / 32);
  private lastSrcKey: string;

  constructor(
    readonly capture: number,
    readonly spi: number,
    readonly encapsulation: 'udp' | 'none',
    readonly src: Endpoint | IpAddress,
    readonly dst: Endpoint | IpAddress,
    srcKey: string,
    at: Micros,
    frame: number,
  ) {
    this.firstAt = at;
    this.lastAt = at;
    this.firstFrame = frame;
    this.lastSrcKey = srcKey;
  }

  private bit(seq: number): boolean {
    const i = seq % REPLAY_WINDOW;
    return (this.window[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  private set(seq: number): void {
    const i = seq % REPLAY_WINDOW;
    this.window[i >>> 5]! |= 1 << (i & 31);
  }

  private clear(seq: number): void {
    const i = seq % REPLAY_WINDOW;
    this.window[i >>> 5]! &= ~(1 << (i & 31));
  }

  /** Packets whose sequence number was not captured (snap length). */
  unsequenced = 0;

  /** Records one packet; returns 'replay' | 'gap' | 'ok' for the caller's findings. */
  add(seq: number | undefined, length: number, at: Micros, frame: number, srcKey: string): 'replay' | 'old' | 'gap' | 'ok' {
    this.bytes += length;
    this.lastAt = at;
    if (srcKey !== this.lastSrcKey) {
      this.endpointChanges++;
      this.lastSrcKey = srcKey;
    }
    if (this.frames.length < 8) this.frames.push(frame);
    if (seq === undefined) {
      this.packets++;
      this.unsequenced++;
      return 'ok';
    }
    if (this.packets++ - this.unsequenced === 0) {
      this.firstSeq = this.lastSeq = this.maxSeq = this.minSeq = seq;
      this.set(seq);
      return 'ok';
    }
    this.lastSeq = seq;
    if (seq > this.maxSeq) {
      const jump = seq - this.maxSeq;
      if (jump >= REPLAY_WINDOW) this.window.fill(0);
      else for (let s = this.maxSeq + 1; s < seq; s++) this.clear(s);
      this.maxSeq = seq;
      this.set(seq);
      if (jump > 1) {
        if (this.gapFrames.length < 8) this.gapFrames.push(frame);
        return 'gap';
      }
      return 'ok';
    }
    if (this.maxSeq - seq >= REPLAY_WINDOW) {
      this.outOfWindow++;
      return 'old';
    }
    if (this.bit(seq)) {
      this.replays++;
      if (this.replayFrames.length < 8) this.replayFrames.push(frame);
      return 'replay';
    }
    this.set(seq);
    if (seq < this.minSeq) this.minSeq = seq;
    return 'ok';
  }

  /** Sequence numbers in [min, max] that never arrived. */
  get gaps(): number {
    if (this.packets === 0) return 0;
    if (this.packets === this.unsequenced) return 0;
    const distinct = this.packets - this.unsequenced - this.replays - this.outOfWindow;
    return Math.max(0, this.maxSeq - this.minSeq + 1 - distinct);
  }

  addInner(summary: string): void {
    const n = this.inner.get(summary);
    if (n !== undefined) this.inner.set(summary, n + 1);
    else if (this.inner.size < INNER_KEYS_MAX) this.inner.set(summary, 1);
    else this.inner.set('other', (this.inner.get('other') ?? 0) + 1);
  }
}
