/**
 * Integrity algorithms with truncated ICVs: HMAC-MD5-96 (RFC 2403), HMAC-SHA1-96
 * (RFC 2404), HMAC-SHA2-256-128 / -384-192 / -512-256 (RFC 4868 §2). Verification
 * compares in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { assert } from '../core/index.ts';
import { IntegId, integInfo } from './algorithms.ts';

/** The ICV: HMAC over the parts, truncated to the algorithm's ICV length. */
export function integCompute(alg: IntegId, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const info = integInfo(alg);
  assert(alg !== IntegId.NONE, 'integCompute called with integrity NONE');
  assert(key.length === info.keyLength, `${info.name} takes a ${info.keyLength}-byte key, got ${key.length}`);
  const h = createHmac(info.hash, key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest().subarray(0, info.icvLength));
}

/** Constant-time check of `icv` against the ICV of the parts; false on a length mismatch. */
export function integVerify(alg: IntegId, key: Uint8Array, icv: Uint8Array, ...parts: Uint8Array[]): boolean {
  const expected = integCompute(alg, key, ...parts);
  if (icv.length !== expected.length) return false;
  return timingSafeEqual(expected, icv);
}

/** Constant-time equality of two byte strings of equal length (false when lengths differ). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
