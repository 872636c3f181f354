/**
 * ESP (RFC 4303) protection primitives for the ipsec datapath:
 *
 *   packet = SPI(4) ‖ seq(4) ‖ IV ‖ E(payload ‖ padding ‖ pad length ‖ next header) ‖ ICV
 *
 * - AES-GCM-16 (RFC 4106): key = KEYMAT key ‖ 4-byte salt; nonce = salt ‖ 8-byte
 *   explicit IV; AAD = SPI ‖ seq, or SPI ‖ seq-high ‖ seq-low with ESN (§5); 16-byte ICV.
 * - AES-CBC-128/256 (RFC 3602) and 3DES-CBC (RFC 2451) with an HMAC (RFC 2403,
 *   2404, 4868): ICV = HMAC over SPI ‖ seq ‖ IV ‖ ciphertext, with the ESN high
 *   32 bits appended for the computation only (RFC 4303 §2.2.1, §3.3.2.1).
 * - NULL encryption (RFC 2410) with an HMAC: no IV, ICV over SPI ‖ seq ‖ payload.
 *
 * The caller supplies the plaintext with its trailer already built (espAddTrailer
 * does that) and draws the IV. Opening never throws on bad input.
 */
import { assert, concatBytes } from '../core/index.ts';
import {
  encrInfo,
  encrKeyLength,
  integInfo,
  integKeyLength,
  nodeCipherName,
  suiteProblem,
  type CipherSuite,
} from './algorithms.ts';
import { CryptoFailure, IntegrityError, cbcDecrypt, cbcEncrypt, gcmOpen, gcmSeal } from './cipher.ts';
import { integCompute, integVerify } from './integ.ts';

export interface EspKeys {
  readonly suite: CipherSuite;
  /** Encryption key (‖ salt for AES-GCM); empty for NULL. */
  readonly keyE: Uint8Array;
  /** Integrity key; absent for AEAD. */
  readonly keyA?: Uint8Array;
}

export interface EspSealInput extends EspKeys {
  /** 32-bit SPI. */
  readonly spi: number;
  /** Low 32 bits of the sequence number (what is sent). */
  readonly seq: number;
  /** High 32 bits of the 64-bit sequence number when ESN is negotiated. */
  readonly seqHi?: number;
  /** Explicit IV: 8 bytes GCM and 3DES, 16 AES-CBC, none for NULL. */
  readonly iv: Uint8Array;
  /** Payload with its trailer (padding, pad length, next header). */
  readonly plaintext: Uint8Array;
}

export interface EspOpenInput extends EspKeys {
  /** The ESP packet from the SPI to the end of the ICV. */
  readonly packet: Uint8Array;
  /** High 32 bits of the sequence number the receiver infers (ESN only, RFC 4303 Appendix A). */
  readonly seqHi?: number;
}

export type EspOpenResult =
  | {
      readonly ok: true;
      readonly spi: number;
      readonly seq: number;
      readonly iv: Uint8Array;
      /** Payload with its trailer. */
      readonly plaintext: Uint8Array;
    }
  | { readonly ok: false; readonly reason: CryptoFailure; readonly message: string };

function u32(v: number): Uint8Array {
  assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `${v} is not a 32-bit unsigned integer`);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

function checkKeys(k: EspKeys): void {
  const problem = suiteProblem(k.suite);
  assert(problem === undefined, `bad ESP suite: ${problem}`);
  const e = encrKeyLength(k.suite);
  assert(k.keyE.length === e, `ESP encryption key must be ${e} bytes for this suite, got ${k.keyE.length}`);
  const a = integKeyLength(k.suite);
  assert((k.keyA?.length ?? 0) === a, `ESP integrity key must be ${a} bytes for this suite, got ${k.keyA?.length ?? 0}`);
}

/** Alignment of payload ‖ trailer: the cipher block size, at least 4 (RFC 4303 §2.4). */
export function espAlignment(suite: CipherSuite): number {
  return Math.max(encrInfo(suite.encr).blockSize, 4);
}

/** Bytes ESP adds around a payload of that length (header, IV, minimal trailer, ICV). */
export function espOverhead(suite: CipherSuite, payloadLength: number): number {
  const e = encrInfo(suite.encr);
  const align = espAlignment(suite);
  const padded = Math.ceil((payloadLength + 2) / align) * align;
  const icv = e.aead ? e.icvLength : integInfo(suite.integ).icvLength;
  return 8 + e.ivLength + (padded - payloadLength) + icv;
}

/**
 * payload ‖ padding ‖ pad length ‖ next header, padded to `alignment` with the
 * default 1, 2, 3, ... padding bytes (RFC 4303 §2.4). `extraPad` adds whole
 * alignment units (traffic-flow padding).
 */
export function espAddTrailer(payload: Uint8Array, nextHeader: number, alignment: number, extraPad = 0): Uint8Array {
  const padLength = ((alignment - ((payload.length + 2) % alignment)) % alignment) + extraPad * alignment;
  assert(padLength <= 255, `ESP pad length ${padLength} does not fit in one byte`);
  const out = new Uint8Array(payload.length + padLength + 2);
  out.set(payload, 0);
  for (let i = 0; i < padLength; i++) out[payload.length + i] = i + 1;
  out[out.length - 2] = padLength;
  out[out.length - 1] = nextHeader;
  return out;
}

export type EspTrailerResult =
  | {
      readonly ok: true;
      readonly payload: Uint8Array;
      readonly nextHeader: number;
      readonly padLength: number;
      /** Whether the padding is the default 1, 2, 3, ... sequence. */
      readonly defaultPadding: boolean;
    }
  | { readonly ok: false; readonly reason: CryptoFailure; readonly message: string };

/** Splits payload ‖ padding ‖ pad length ‖ next header. */
export function espStripTrailer(plaintext: Uint8Array): EspTrailerResult {
  if (plaintext.length < 2) {
    return { ok: false, reason: CryptoFailure.BAD_LENGTH, message: `ESP plaintext of ${plaintext.length} bytes has no trailer` };
  }
  const nextHeader = plaintext[plaintext.length - 1]!;
  const padLength = plaintext[plaintext.length - 2]!;
  const end = plaintext.length - 2 - padLength;
  if (end < 0) {
    return {
      ok: false,
      reason: CryptoFailure.BAD_PADDING,
      message: `ESP pad length ${padLength} exceeds the ${plaintext.length - 2} bytes before the trailer`,
    };
  }
  let defaultPadding = true;
  for (let i = 0; i < padLength; i++) if (plaintext[end + i] !== i + 1) defaultPadding = false;
  return { ok: true, payload: plaintext.slice(0, end), nextHeader, padLength, defaultPadding };
}

function gcmAad(spiSeq: Uint8Array, seqHi: number | undefined): Uint8Array {
  // RFC 4106 §5: with ESN the AAD is SPI ‖ 64-bit sequence number (high word first).
  return seqHi === undefined ? spiSeq : concatBytes(spiSeq.subarray(0, 4), u32(seqHi), spiSeq.subarray(4, 8));
}

/** Protects a payload-with-trailer: returns SPI ‖ seq ‖ IV ‖ ciphertext ‖ ICV. */
export function espSeal(input: EspSealInput): Uint8Array {
  checkKeys(input);
  const { suite, keyE, keyA, iv, plaintext, seqHi } = input;
  const e = encrInfo(suite.encr);
  assert(iv.length === e.ivLength, `ESP ${e.name} IV must be ${e.ivLength} bytes, got ${iv.length}`);
  const align = espAlignment(suite);
  assert(plaintext.length >= 2 && plaintext.length % align === 0, `ESP plaintext with trailer must be a non-empty multiple of ${align} bytes, got ${plaintext.length}`);
  const spiSeq = concatBytes(u32(input.spi), u32(input.seq));

  if (e.aead) {
    const keyLen = suite.keyBits / 8;
    const nonce = concatBytes(keyE.subarray(keyLen), iv);
    const { ciphertext, tag } = gcmSeal(keyE.subarray(0, keyLen), nonce, gcmAad(spiSeq, seqHi), plaintext);
    return concatBytes(spiSeq, iv, ciphertext, tag);
  }
  const cipherName = nodeCipherName(suite);
  const ciphertext = cipherName === undefined ? new Uint8Array(plaintext) : cbcEncrypt(cipherName, keyE, iv, plaintext);
  const hi = seqHi === undefined ? new Uint8Array(0) : u32(seqHi);
  const icv = integCompute(suite.integ, keyA!, spiSeq, iv, ciphertext, hi);
  return concatBytes(spiSeq, iv, ciphertext, icv);
}

function fail(reason: CryptoFailure, message: string): EspOpenResult {
  return { ok: false, reason, message };
}

/** Verifies and decrypts an ESP packet; the result names why it failed. */
export function espOpen(input: EspOpenInput): EspOpenResult {
  checkKeys(input);
  const { suite, keyE, keyA, packet, seqHi } = input;
  const e = encrInfo(suite.encr);
  const icvLen = e.aead ? e.icvLength : integInfo(suite.integ).icvLength;
  const ctLen = packet.length - 8 - e.ivLength - icvLen;
  if (ctLen < 2 || ctLen % e.blockSize !== 0) {
    return fail(
      CryptoFailure.BAD_LENGTH,
      `ESP packet of ${packet.length} bytes does not hold header, ${e.ivLength}-byte IV, whole ${e.blockSize}-byte blocks and a ${icvLen}-byte ICV`,
    );
  }
  const spiSeq = packet.subarray(0, 8);
  const iv = packet.slice(8, 8 + e.ivLength);
  const ciphertext = packet.subarray(8 + e.ivLength, 8 + e.ivLength + ctLen);
  const icv = packet.subarray(8 + e.ivLength + ctLen);
  let plaintext: Uint8Array;
  if (e.aead) {
    const keyLen = suite.keyBits / 8;
    const nonce = concatBytes(keyE.subarray(keyLen), iv);
    const out = gcmOpen(keyE.subarray(0, keyLen), nonce, gcmAad(spiSeq, seqHi), ciphertext, icv);
    if (out === undefined) return fail(CryptoFailure.ICV_MISMATCH, `ESP ${e.name} ICV does not verify`);
    plaintext = out;
  } else {
    const hi = seqHi === undefined ? new Uint8Array(0) : u32(seqHi);
    if (!integVerify(suite.integ, keyA!, icv, spiSeq, iv, ciphertext, hi)) {
      return fail(CryptoFailure.ICV_MISMATCH, `ESP ${integInfo(suite.integ).name} ICV does not verify`);
    }
    const cipherName = nodeCipherName(suite);
    plaintext = cipherName === undefined ? new Uint8Array(ciphertext) : cbcDecrypt(cipherName, keyE, iv, ciphertext);
  }
  return { ok: true, spi: readU32(packet, 0), seq: readU32(packet, 4), iv, plaintext };
}

/** espOpen that throws IntegrityError instead of returning a failure. */
export function espOpenOrThrow(input: EspOpenInput): Extract<EspOpenResult, { ok: true }> {
  const r = espOpen(input);
  if (!r.ok) throw new IntegrityError(r.reason, r.message);
  return r;
}
