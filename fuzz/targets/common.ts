/** Small functions shared by the targets. */
import { DecodeError } from '../../src/core/errors.ts';
import { InvariantFailure } from '../util.ts';

/** Runs f; a DecodeError is the decoder's contract and is swallowed, anything else escapes. */
export function allowDecodeError<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/** A value computed on first use and kept for the process. */
export function lazy<T>(f: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= f());
}

/**
 * Runs a decoder given `base` for a buffer of `len` bytes: a DecodeError is allowed,
 * but its absolute offset must point into that buffer (base .. base + len), as the
 * codec contract promises for hex-dump reading.
 */
export function decodeAt<T>(base: number, len: number, f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    if (e.offset < base || e.offset > base + len) {
      throw new InvariantFailure(`DecodeError offset ${e.offset} lies outside the decoded bytes ${base}..${base + len}: ${e.message}`);
    }
    return undefined;
  }
}
