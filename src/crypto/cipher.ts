/**
 * Block-cipher primitives over node:crypto shared by the IKEv2 SK payload and ESP:
 * CBC without implicit padding (the protocols pad themselves), and GCM with an
 * explicit 12-byte nonce, AAD and 16-byte tag.
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { assert } from '../core/index.ts';

/** Why sealing or opening a protected payload failed. */
export const CryptoFailure = {
  /** The ICV / AEAD tag does not match. */
  ICV_MISMATCH: 'icv-mismatch',
  /** The body is shorter than IV + ICV, or the ciphertext is not a whole number of blocks. */
  BAD_LENGTH: 'bad-length',
  /** The pad length byte points before the start of the plaintext. */
  BAD_PADDING: 'bad-padding',
} as const;
export type CryptoFailure = (typeof CryptoFailure)[keyof typeof CryptoFailure];

/** Thrown by the *OrThrow variants when an SK payload or ESP packet fails to open. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
  constructor(
    readonly reason: CryptoFailure,
    message: string,
  ) {
    super(message);
  }
}

/** CBC encryption of whole blocks (no PKCS#7 padding). */
export function cbcEncrypt(cipherName: string, key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const c = createCipheriv(cipherName, key, iv);
  c.setAutoPadding(false);
  const a = c.update(plaintext);
  const b = c.final();
  return b.length === 0 ? new Uint8Array(a) : new Uint8Array(Buffer.concat([a, b]));
}

/** CBC decryption of whole blocks (no padding removal). */
export function cbcDecrypt(cipherName: string, key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const d = createDecipheriv(cipherName, key, iv);
  d.setAutoPadding(false);
  const a = d.update(ciphertext);
  const b = d.final();
  return b.length === 0 ? new Uint8Array(a) : new Uint8Array(Buffer.concat([a, b]));
}

export const GCM_TAG_LENGTH = 16;
const GCM_OPTIONS = { authTagLength: GCM_TAG_LENGTH } as const;

/** AES-GCM with a 96-bit nonce: returns ciphertext and the 16-byte tag. */
export function gcmSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  assert(nonce.length === 12, `GCM nonce must be 12 bytes, got ${nonce.length}`);
  const c = createCipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
  c.setAAD(aad);
  const a = c.update(plaintext);
  const b = c.final();
  return { ciphertext: new Uint8Array(Buffer.concat([a, b])), tag: new Uint8Array(c.getAuthTag()) };
}

/** An AES-GCM key imported once (a KeyObject) for sealing many packets with gcmSealInto. */
export interface GcmKey {
  readonly cipher: 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';
  readonly key: KeyObject;
}

export function gcmKey(key: Uint8Array): GcmKey {
  assert(key.length === 16 || key.length === 24 || key.length === 32, `AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  return { cipher: `aes-${key.length * 8}-gcm` as GcmKey['cipher'], key: createSecretKey(key) };
}

/**
 * gcmSeal writing into `out`: the ciphertext at `offset`, the 16-byte tag right after
 * it. For a datapath that builds the whole packet in one buffer.
 */
export function gcmSealInto(key: GcmKey, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): void {
  // Checked without building the messages first: this runs once per packet.
  if (nonce.length !== 12) assert(false, `GCM nonce must be 12 bytes, got ${nonce.length}`);
  if (out.length < offset + plaintext.length + GCM_TAG_LENGTH) assert(false, 'GCM output buffer too small');
  const c = createCipheriv(key.cipher, key.key, nonce, GCM_OPTIONS);
  c.setAAD(aad);
  const a = c.update(plaintext);
  out.set(a, offset);
  const b = c.final();
  if (b.length > 0) out.set(b, offset + a.length);
  out.set(c.getAuthTag(), offset + plaintext.length);
}

/** AES-GCM open: the plaintext, or undefined when the tag does not verify. */
export function gcmOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Uint8Array | undefined {
  assert(nonce.length === 12, `GCM nonce must be 12 bytes, got ${nonce.length}`);
  if (tag.length !== GCM_TAG_LENGTH) return undefined;
  const d = createDecipheriv(`aes-${key.length * 8}-gcm` as 'aes-128-gcm', key, nonce, { authTagLength: GCM_TAG_LENGTH });
  d.setAAD(aad);
  d.setAuthTag(tag);
  const a = d.update(ciphertext);
  try {
    const b = d.final();
    return new Uint8Array(Buffer.concat([a, b]));
  } catch {
    return undefined;
  }
}
