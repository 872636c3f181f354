/**
 * IKEv2 pseudorandom functions and key derivation (RFC 7296 §2.13-§2.18):
 * prf, prf+, SKEYSEED and SK_*, the rekeyed SKEYSEED, CHILD_SA KEYMAT, and the
 * shared-key AUTH value.
 */
import { createHmac } from 'node:crypto';
import { assert, bytesEqual, concatBytes } from '../core/index.ts';
import { encrKeyLength, integKeyLength, prfInfo, type CipherSuite, type PrfId } from './algorithms.ts';

/** prf(K, S): HMAC with the PRF's hash; any key length is allowed (RFC 2104). */
export function prf(alg: PrfId, key: Uint8Array, data: Uint8Array): Uint8Array {
  const info = prfInfo(alg);
  return new Uint8Array(createHmac(info.hash, key).update(data).digest());
}

/** Output size in bytes of the PRF (also the key size of SK_d, SK_pi, SK_pr). */
export function prfOutputLength(alg: PrfId): number {
  return prfInfo(alg).outputLength;
}

/**
 * prf+(K, S) = T1 | T2 | ... with T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)
 * (RFC 7296 §2.13), truncated to `length`. At most 255 iterations.
 */
export function prfPlus(alg: PrfId, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const h = prfOutputLength(alg);
  const rounds = Math.ceil(length / h);
  assert(Number.isInteger(length) && length >= 0, `prf+ length must be a non-negative integer, got ${length}`);
  assert(rounds <= 255, `prf+ can produce at most ${255 * h} bytes with this PRF, ${length} requested`);
  const out = new Uint8Array(rounds * h);
  let prev: Uint8Array = new Uint8Array(0);
  for (let n = 1; n <= rounds; n++) {
    prev = prf(alg, key, concatBytes(prev, seed, Uint8Array.of(n)));
    out.set(prev, (n - 1) * h);
  }
  return out.slice(0, length);
}

/** SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14). */
export function skeyseed(alg: PrfId, ni: Uint8Array, nr: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  return prf(alg, concatBytes(ni, nr), sharedSecret);
}

/** SKEYSEED for a rekeyed IKE SA = prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296 §2.18). */
export function rekeySkeyseed(
  alg: PrfId,
  oldSkD: Uint8Array,
  sharedSecret: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
): Uint8Array {
  return prf(alg, oldSkD, concatBytes(sharedSecret, ni, nr));
}

/** Byte sizes of the IKE SA keys for a negotiated suite. */
export interface IkeKeySizes {
  /** SK_d, SK_pi, SK_pr: the PRF's preferred key size (its output size for HMAC). */
  readonly prfKeyLength: number;
  /** SK_ai, SK_ar: 0 for AEAD. */
  readonly integKeyLength: number;
  /** SK_ei, SK_er: cipher key plus salt for AES-GCM (RFC 5282 §7.1). */
  readonly encrKeyLength: number;
}

export function ikeKeySizes(prfAlg: PrfId, suite: CipherSuite): IkeKeySizes {
  return {
    prfKeyLength: prfOutputLength(prfAlg),
    integKeyLength: integKeyLength(suite),
    encrKeyLength: encrKeyLength(suite),
  };
}

export interface IkeSaKeys {
  readonly skD: Uint8Array;
  readonly skAi: Uint8Array;
  readonly skAr: Uint8Array;
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  readonly skPi: Uint8Array;
  readonly skPr: Uint8Array;
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * (RFC 7296 §2.14). SPIs are the 8-byte wire values.
 */
export function deriveIkeSaKeys(
  alg: PrfId,
  seed: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  spiI: Uint8Array,
  spiR: Uint8Array,
  sizes: IkeKeySizes,
): IkeSaKeys {
  assert(spiI.length === 8 && spiR.length === 8, 'IKE SPIs are 8 bytes');
  const { prfKeyLength: p, integKeyLength: a, encrKeyLength: e } = sizes;
  const total = 3 * p + 2 * a + 2 * e;
  const km = prfPlus(alg, seed, concatBytes(ni, nr, spiI, spiR), total);
  let o = 0;
  // Views of the one KEYMAT buffer (made for this SA alone): no backing store per key.
  const take = (n: number): Uint8Array => {
    const v = km.subarray(o, o + n);
    o += n;
    return v;
  };
  return {
    skD: take(p),
    skAi: take(a),
    skAr: take(a),
    skEi: take(e),
    skEr: take(e),
    skPi: take(p),
    skPr: take(p),
  };
}

export interface IkeSaKeyInput {
  readonly prf: PrfId;
  readonly suite: CipherSuite;
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  /** g^ir of this exchange. */
  readonly sharedSecret: Uint8Array;
  /** For an IKE SA rekey: SK_d of the old SA (and its PRF, RFC 7296 §2.18). */
  readonly oldSkD?: Uint8Array;
  readonly oldPrf?: PrfId;
}

/** SKEYSEED and all SK_* for a new (or rekeyed) IKE SA. */
export function deriveIkeKeys(input: IkeSaKeyInput): IkeSaKeys & { readonly skeyseed: Uint8Array } {
  const seed =
    input.oldSkD === undefined
      ? skeyseed(input.prf, input.ni, input.nr, input.sharedSecret)
      : rekeySkeyseed(input.oldPrf ?? input.prf, input.oldSkD, input.sharedSecret, input.ni, input.nr);
  const keys = deriveIkeSaKeys(input.prf, seed, input.ni, input.nr, input.spiI, input.spiR, ikeKeySizes(input.prf, input.suite));
  return { skeyseed: seed, ...keys };
}

export interface ChildSaKeys {
  /** Initiator-to-responder encryption key (with the 4-byte salt for AES-GCM, RFC 4106 §8.1). */
  readonly encrI: Uint8Array;
  readonly integI: Uint8Array;
  /** Responder-to-initiator encryption key. */
  readonly encrR: Uint8Array;
  readonly integR: Uint8Array;
}

/**
 * KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as encr_i | integ_i | encr_r | integ_r
 * (RFC 7296 §2.17). `sharedSecret` only with PFS in CREATE_CHILD_SA.
 */
export function deriveChildKeys(
  alg: PrfId,
  skD: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  suite: CipherSuite,
  sharedSecret?: Uint8Array,
): ChildSaKeys {
  const e = encrKeyLength(suite);
  const a = integKeyLength(suite);
  const seed = sharedSecret === undefined ? concatBytes(ni, nr) : concatBytes(sharedSecret, ni, nr);
  const km = prfPlus(alg, skD, seed, 2 * (e + a));
  // Views of the one KEYMAT buffer (made for this CHILD_SA alone): no backing store per key.
  return {
    encrI: km.subarray(0, e),
    integI: km.subarray(e, e + a),
    encrR: km.subarray(e + a, 2 * e + a),
    integR: km.subarray(2 * e + a, 2 * (e + a)),
  };
}

/** The 17 ASCII bytes "Key Pad for IKEv2", no terminator (RFC 7296 §2.15). */
export const KEY_PAD_IKEV2 = new Uint8Array(Buffer.from('Key Pad for IKEv2', 'latin1'));

/**
 * The signed octets of RFC 7296 §2.15: RealMessage | Nonce of the peer | prf(SK_p, ID').
 * `idPayloadBody` is the ID payload without its generic header (ID type, 3 reserved bytes, data).
 * For the initiator: its IKE_SA_INIT request, Nr, SK_pi, IDi'. For the responder: its
 * IKE_SA_INIT response, Ni, SK_pr, IDr'.
 */
export function signedOctets(
  alg: PrfId,
  messageBytes: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  idPayloadBody: Uint8Array,
): Uint8Array {
  return concatBytes(messageBytes, peerNonce, prf(alg, skP, idPayloadBody));
}

/** AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>) (RFC 7296 §2.15). */
export function pskAuth(
  alg: PrfId,
  psk: Uint8Array,
  messageBytes: Uint8Array,
  peerNonce: Uint8Array,
  skP: Uint8Array,
  idPayloadBody: Uint8Array,
): Uint8Array {
  return prf(alg, pskPadKey(alg, psk), signedOctets(alg, messageBytes, peerNonce, skP, idPayloadBody));
}

/**
 * prf(Shared Secret, "Key Pad for IKEv2"), kept per PSK buffer: an IKE_AUTH computes
 * its own AUTH and the one it expects from the peer with the same key. The entry holds
 * a copy of the PSK and is used only while the buffer still has those bytes.
 */
const padKeys = new WeakMap<Uint8Array, { readonly alg: PrfId; readonly psk: Uint8Array; readonly padded: Uint8Array }>();

function pskPadKey(alg: PrfId, psk: Uint8Array): Uint8Array {
  const hit = padKeys.get(psk);
  if (hit !== undefined && hit.alg === alg && bytesEqual(hit.psk, psk)) return hit.padded;
  const padded = prf(alg, psk, KEY_PAD_IKEV2);
  padKeys.set(psk, { alg, psk: new Uint8Array(psk), padded });
  return padded;
}
