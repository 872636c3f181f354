/**
 * Seeded, deterministic random source (xoshiro128** seeded through splitmix32).
 * Everything that varies between runs (SPIs, nonces, DH secrets, IVs, NAT port
 * choices, link faults) draws from one of these, so a seed reproduces a run to the byte.
 * Not cryptographically secure: the live layer injects a crypto-backed Rng instead.
 */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** n uniformly random bytes. */
  bytes(n: number): Uint8Array;
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number;
  /** Float in [0, 1). */
  float(): number;
  /** An independent stream derived from this one and a label (stable across runs). */
  fork(label: string): Rng;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class SeededRng implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(readonly seed: number) {
    const sm = splitmix32(seed);
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    while (i < n) {
      let v = this.u32();
      for (let k = 0; k < 4 && i < n; k++, i++) {
        out[i] = v & 0xff;
        v >>>= 8;
      }
    }
    return out;
  }

  int(min: number, max: number): number {
    if (max < min) throw new RangeError(`rng.int: max ${max} < min ${min}`);
    const span = max - min + 1;
    if (span > 0x100000000) return min + Math.floor(this.float() * span);
    // Rejection sampling for an unbiased result.
    const limit = Math.floor(0x100000000 / span) * span;
    let v: number;
    do v = this.u32();
    while (v >= limit);
    return min + (v % span);
  }

  float(): number {
    return (this.u32() >>> 5) * 2 ** -27 + (this.u32() >>> 6) * 2 ** -53;
  }

  fork(label: string): Rng {
    return new SeededRng((this.seed ^ hashLabel(label)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
