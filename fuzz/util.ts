/**
 * Small shared pieces of the fuzzing harness: per-iteration seeds, hex, the
 * failure type a target throws when an invariant breaks, and error formatting.
 */
import { SeededRng } from '../src/core/rng.ts';

/** Thrown by a target when an input breaks one of its invariants (not a crash of the code under test). */
export class InvariantFailure extends Error {
  override readonly name = 'InvariantFailure';
}

function fnv32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** The seed of one iteration: a function of (run seed, target, iteration) only. */
export function iterationSeed(seed: number, target: string, iteration: number): number {
  const a = mix32((seed >>> 0) ^ fnv32(target));
  const b = mix32(a + Math.imul(iteration >>> 0, 0x9e3779b9));
  return mix32(b ^ Math.floor(iteration / 0x100000000));
}

/** The random stream of one iteration. */
export function iterationRng(seed: number, target: string, iteration: number): SeededRng {
  return new SeededRng(iterationSeed(seed, target, iteration));
}

export function hex(b: Uint8Array, max = Infinity): string {
  const n = Math.min(b.length, max);
  let s = '';
  for (let i = 0; i < n; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

export function fromHexString(text: string): Uint8Array {
  const clean = text.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** One line naming an error: its class and message (and, when asked, the top of its stack). */
export function describeError(e: unknown, withStack = false): string {
  if (!(e instanceof Error)) return `non-Error value thrown: ${String(e)}`;
  const head = `${e.name}: ${e.message}`;
  if (!withStack || !e.stack) return head;
  const frames = e.stack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .slice(0, 6)
    .map((l) => l.trim());
  return `${head}\n    ${frames.join('\n    ')}`;
}

/** A short key for grouping findings: error class plus the first stack frame inside the repository. */
export function errorSignature(e: unknown): string {
  if (!(e instanceof Error)) return `non-error:${String(e).slice(0, 60)}`;
  const frame = (e.stack ?? '')
    .split('\n')
    .find((l) => /\/(src|fuzz)\//.test(l))
    ?.replace(/^.*\/((?:src|fuzz)\/[^):]+:\d+).*$/, '$1');
  return `${e.name}@${frame ?? '?'}:${e instanceof InvariantFailure ? e.message.slice(0, 80) : ''}`;
}

export function rd16(b: Uint8Array, i: number, le = false): number {
  return le ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!;
}

export function rd32(b: Uint8Array, i: number, le = false): number {
  return le
    ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
    : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

export function wr16(b: Uint8Array, i: number, v: number, le = false): void {
  if (i < 0 || i + 2 > b.length) return;
  if (le) {
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
  } else {
    b[i] = (v >>> 8) & 0xff;
    b[i + 1] = v & 0xff;
  }
}

export function wr32(b: Uint8Array, i: number, v: number, le = false): void {
  if (i < 0 || i + 4 > b.length) return;
  const x = v >>> 0;
  if (le) {
    b[i] = x & 0xff;
    b[i + 1] = (x >>> 8) & 0xff;
    b[i + 2] = (x >>> 16) & 0xff;
    b[i + 3] = x >>> 24;
  } else {
    b[i] = x >>> 24;
    b[i + 1] = (x >>> 16) & 0xff;
    b[i + 2] = (x >>> 8) & 0xff;
    b[i + 3] = x & 0xff;
  }
}
