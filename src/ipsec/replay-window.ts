/**
 * ESP anti-replay window (RFC 4303 §3.4.3 and Appendix A) kept as a ring of 32-bit
 * blocks in the manner of RFC 6479: sliding the window forward clears whole blocks
 * instead of shifting a long bitmap, so a window of 4096 costs the same per packet as
 * one of 64.
 *
 * Sequence numbers are handled in the 64-bit space (bigint). Without ESN they simply
 * stay below 2^32. The receiver calls `check` before decrypting (cheap rejection of
 * duplicates and stale packets) and `update` only after the ICV verified, so a forged
 * packet can never move the window.
 *
 * With ESN the high 32 bits are not sent; `inferHigh` reconstructs them from the low
 * 32 bits and the window position (RFC 4303 Appendix A2.2).
 */

export const DEFAULT_REPLAY_WINDOW = 64;
/** RFC 4303 §3.4.3: a window of at least 32 MUST be supported. */
export const MIN_REPLAY_WINDOW = 32;
export const MAX_REPLAY_WINDOW = 4096;

export const REPLAY_VERDICT = {
  OK: 'ok',
  /** Already received (its bit is set). */
  DUPLICATE: 'duplicate',
  /** Left of the window: at least `size` below the highest authenticated number. */
  TOO_OLD: 'too-old',
} as const;
export type ReplayVerdict = (typeof REPLAY_VERDICT)[keyof typeof REPLAY_VERDICT];

const TWO_32 = 0x1_0000_0000;

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class ReplayWindow {
  /** Window size in sequence numbers. */
  readonly size: number;
  private topSeq = 0n;
  private readonly blocks: Uint32Array;
  private readonly bitCount: bigint;

  constructor(size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < MIN_REPLAY_WINDOW || size > MAX_REPLAY_WINDOW) {
      throw new RangeError(`replay window must be an integer from ${MIN_REPLAY_WINDOW} to ${MAX_REPLAY_WINDOW}, got ${size}`);
    }
    this.size = size;
    // One spare block beyond the window, so the block being filled never overlaps the
    // oldest block still inside the window (RFC 6479 §2).
    const n = nextPowerOfTwo(Math.ceil(size / 32) + 1);
    this.blocks = new Uint32Array(n);
    this.bitCount = BigInt(n * 32);
  }

  /** Highest authenticated sequence number so far (0 = none yet). */
  get highest(): bigint {
    return this.topSeq;
  }

  /** Lowest sequence number still acceptable (inside the window). */
  get lowest(): bigint {
    const low = this.topSeq - BigInt(this.size) + 1n;
    return low < 1n ? 1n : low;
  }

  private position(seq: bigint): { block: number; bit: number } {
    const index = Number(seq % this.bitCount);
    return { block: index >>> 5, bit: index & 31 };
  }

  /** The check made before decryption. Sequence number 0 is never sent, so it is "too old". */
  check(seq: bigint): ReplayVerdict {
    if (seq <= 0n) return REPLAY_VERDICT.TOO_OLD;
    if (seq > this.topSeq) return REPLAY_VERDICT.OK;
    if (this.topSeq - seq >= BigInt(this.size)) return REPLAY_VERDICT.TOO_OLD;
    const { block, bit } = this.position(seq);
    return (this.blocks[block]! >>> bit) & 1 ? REPLAY_VERDICT.DUPLICATE : REPLAY_VERDICT.OK;
  }

  /** Records an authenticated packet; call only after `check` said OK and the ICV verified. */
  update(seq: bigint): void {
    if (seq <= 0n) return;
    if (seq > this.topSeq) {
      const n = BigInt(this.blocks.length);
      const fromBlock = this.topSeq >> 5n;
      let advance = (seq >> 5n) - fromBlock;
      if (advance > n) advance = n;
      for (let i = 1n; i <= advance; i++) this.blocks[Number((fromBlock + i) % n)] = 0;
      this.topSeq = seq;
    } else if (this.topSeq - seq >= BigInt(this.size)) {
      return;
    }
    const { block, bit } = this.position(seq);
    this.blocks[block] = (this.blocks[block]! | (1 << bit)) >>> 0;
  }

  /**
   * ESN: the high 32 bits for a received low half (RFC 4303 Appendix A2.2). Tl and Th
   * are the halves of the highest number; W the window size.
   *  - window within one 2^32 block (Tl >= W - 1): Seql >= Tl - W + 1 → Th, else Th + 1;
   *  - window spanning two blocks (Tl < W - 1): Seql >= Tl - W + 1 (mod 2^32) → Th - 1, else Th.
   */
  inferHigh(seqLow: number): number {
    const w = this.size;
    const tl = Number(this.topSeq & 0xffffffffn);
    const th = Number(this.topSeq >> 32n);
    if (tl >= w - 1) return seqLow >= tl - w + 1 ? th : th + 1;
    const bottom = (tl - w + 1 + TWO_32) % TWO_32;
    if (seqLow >= bottom) return th > 0 ? th - 1 : th;
    return th;
  }
}
