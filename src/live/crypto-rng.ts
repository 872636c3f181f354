/**
 * The Rng of live runs: every draw comes from node:crypto's CSPRNG, so SPIs, nonces,
 * DH secrets and CBC IVs are unpredictable on a real network. (The seeded Rng of
 * core/ stays available for reproducible runs: `natt-sim peer --seed N`.)
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Rng } from '../core/index.ts';

/** randomInt's range limit (max - min < 2^48). */
const RANDOM_INT_SPAN = 2 ** 48;

export class CryptoRng implements Rng {
  u32(): number {
    return randomBytes(4).readUInt32BE(0);
  }

  bytes(n: number): Uint8Array {
    return new Uint8Array(randomBytes(n));
  }

  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`rng.int: max ${max} < min ${min}`);
    if (max - min < RANDOM_INT_SPAN && Number.isSafeInteger(min) && Number.isSafeInteger(max + 1)) return randomInt(min, max + 1);
    return min + Math.floor(this.float() * (max - min + 1));
  }

  float(): number {
    // 53 random bits.
    const b = randomBytes(8);
    const hi = b.readUInt32BE(0) >>> 5;
    const lo = b.readUInt32BE(4) >>> 6;
    return (hi * 2 ** 26 + lo) * 2 ** -53;
  }

  /** Independent by construction: every draw is fresh from the CSPRNG. */
  fork(_label: string): Rng {
    return new CryptoRng();
  }
}
