/**
 * An Rng that hands out fixed bytes in order, so a test can feed known private
 * values (e.g. the RFC 7748 / RFC 5903 keys) through code that draws from an Rng.
 */
import type { Rng } from '../../src/core/rng.ts';

export class FixedBytesRng implements Rng {
  private readonly queue: Uint8Array[];
  constructor(...chunks: Uint8Array[]) {
    this.queue = chunks.map((c) => new Uint8Array(c));
  }
  /** Bytes still queued. */
  get pending(): number {
    return this.queue.reduce((n, c) => n + c.length, 0);
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const head = this.queue[0];
      if (!head) throw new Error(`FixedBytesRng: asked for ${n} bytes, ran out after ${o}`);
      const take = Math.min(head.length, n - o);
      out.set(head.subarray(0, take), o);
      o += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    return out;
  }
  u32(): number {
    const b = this.bytes(4);
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  }
  int(min: number, max: number): number {
    return min + (this.u32() % (max - min + 1));
  }
  float(): number {
    return this.u32() / 2 ** 32;
  }
  fork(): Rng {
    throw new Error('FixedBytesRng cannot fork');
  }
}
