/**
 * The IKEv2 Encrypted payload body (RFC 7296 §3.14) as pure byte functions:
 *
 *   body = IV ‖ E(inner payloads ‖ padding ‖ pad length) ‖ ICV
 *
 * - AES-CBC / 3DES-CBC with an integrity algorithm: the ICV is the truncated HMAC
 *   over the whole message from the first byte of the IKE header to the end of the
 *   ciphertext (RFC 7296 §3.14).
 * - AES-GCM-16 (RFC 5282): 8-byte explicit IV, nonce = salt(4) ‖ IV(8), the salt
 *   being the last 4 bytes of SK_e (RFC 5282 §7.1); AAD = the message from the
 *   start of the IKE header to the end of the Encrypted payload's generic header
 *   (RFC 5282 §5.1); 16-byte ICV.
 *
 * In both cases the "authenticated prefix" (headerAndSkHeader) must already carry
 * the final IKE header length and Encrypted payload length: sealSkMessage sets
 * both before computing the AAD / ICV.
 */
import { ByteReader, DecodeError, assert, concatBytes } from '../core/index.ts';
import {
  encrInfo,
  encrKeyLength,
  integKeyLength,
  integInfo,
  nodeCipherName,
  suiteProblem,
  type CipherSuite,
} from './algorithms.ts';
import { CryptoFailure, IntegrityError, cbcDecrypt, cbcEncrypt, gcmOpen, gcmSeal } from './cipher.ts';
import { integCompute, integVerify } from './integ.ts';

/** Offset of the Length field in the IKE header (RFC 7296 §3.1). */
const IKE_LENGTH_OFFSET = 24;
const IKE_HEADER_LENGTH = 28;
const GENERIC_HEADER_LENGTH = 4;

export interface SkSealInput {
  readonly suite: CipherSuite;
  /** SK_ei or SK_er (with the 4-byte salt for AES-GCM). */
  readonly keyE: Uint8Array;
  /** SK_ai or SK_ar; absent for AEAD. */
  readonly keyA?: Uint8Array;
  /** Explicit IV, drawn by the caller (8 bytes GCM, 16 AES-CBC, 8 3DES). */
  readonly iv: Uint8Array;
  /** Message bytes from the start of the IKE header to the end of the SK generic header, lengths final. */
  readonly headerAndSkHeader: Uint8Array;
  /** The inner payload chain. */
  readonly plaintext: Uint8Array;
  /** Number of padding bytes (default: the minimum for the cipher's block size). */
  readonly padLength?: number;
  /** Explicit padding bytes (overrides padLength; default: zero bytes). */
  readonly padding?: Uint8Array;
}

export interface SkOpenInput {
  readonly suite: CipherSuite;
  readonly keyE: Uint8Array;
  readonly keyA?: Uint8Array;
  readonly headerAndSkHeader: Uint8Array;
  /** IV ‖ ciphertext ‖ ICV. */
  readonly body: Uint8Array;
}

export type SkOpenResult =
  | {
      readonly ok: true;
      /** The inner payload chain. */
      readonly plaintext: Uint8Array;
      /** The padding bytes as sent (the pad length byte excluded). */
      readonly padding: Uint8Array;
      readonly iv: Uint8Array;
    }
  | { readonly ok: false; readonly reason: CryptoFailure; readonly message: string };

function checkKeys(suite: CipherSuite, keyE: Uint8Array, keyA: Uint8Array | undefined): void {
  const problem = suiteProblem(suite);
  assert(problem === undefined, `bad SK suite: ${problem}`);
  const e = encrKeyLength(suite);
  assert(keyE.length === e, `SK_e must be ${e} bytes for this suite, got ${keyE.length}`);
  const a = integKeyLength(suite);
  assert((keyA?.length ?? 0) === a, `SK_a must be ${a} bytes for this suite, got ${keyA?.length ?? 0}`);
}

/** Smallest pad length that makes plaintext ‖ padding ‖ pad-length a whole number of cipher blocks. */
export function skMinPadLength(suite: CipherSuite, plaintextLength: number): number {
  const bs = encrInfo(suite.encr).blockSize;
  return (bs - ((plaintextLength + 1) % bs)) % bs;
}

/** Length of the SK body (IV ‖ ciphertext ‖ ICV) for an inner payload chain of that length. */
export function skBodyLength(suite: CipherSuite, plaintextLength: number, padLength?: number): number {
  const e = encrInfo(suite.encr);
  const pad = padLength ?? skMinPadLength(suite, plaintextLength);
  const icv = e.aead ? e.icvLength : integInfo(suite.integ).icvLength;
  return e.ivLength + plaintextLength + pad + 1 + icv;
}

/** Encrypts the inner payload chain: returns the SK body IV ‖ ciphertext ‖ ICV. */
export function encryptSk(input: SkSealInput): Uint8Array {
  const { suite, keyE, keyA, iv, headerAndSkHeader, plaintext } = input;
  checkKeys(suite, keyE, keyA);
  const e = encrInfo(suite.encr);
  assert(iv.length === e.ivLength, `${e.name} IV must be ${e.ivLength} bytes, got ${iv.length}`);
  const padding = input.padding ?? new Uint8Array(input.padLength ?? skMinPadLength(suite, plaintext.length));
  assert(padding.length <= 255, `pad length ${padding.length} does not fit in one byte`);
  const padded = concatBytes(plaintext, padding, Uint8Array.of(padding.length));
  assert(padded.length % e.blockSize === 0, `${e.name}: padded plaintext of ${padded.length} bytes is not a whole number of ${e.blockSize}-byte blocks`);

  if (e.aead) {
    const keyLen = suite.keyBits / 8;
    const nonce = concatBytes(keyE.subarray(keyLen), iv);
    const { ciphertext, tag } = gcmSeal(keyE.subarray(0, keyLen), nonce, headerAndSkHeader, padded);
    return concatBytes(iv, ciphertext, tag);
  }
  const cipherName = nodeCipherName(suite);
  const ciphertext = cipherName === undefined ? padded : cbcEncrypt(cipherName, keyE, iv, padded);
  const icv = integCompute(suite.integ, keyA!, headerAndSkHeader, iv, ciphertext);
  return concatBytes(iv, ciphertext, icv);
}

function fail(reason: CryptoFailure, message: string): SkOpenResult {
  return { ok: false, reason, message };
}

/** Verifies and decrypts an SK body; never throws on bad input. */
export function decryptSk(input: SkOpenInput): SkOpenResult {
  const { suite, keyE, keyA, headerAndSkHeader, body } = input;
  checkKeys(suite, keyE, keyA);
  const e = encrInfo(suite.encr);
  const icvLen = e.aead ? e.icvLength : integInfo(suite.integ).icvLength;
  const ctLen = body.length - e.ivLength - icvLen;
  if (ctLen < 1 || ctLen % e.blockSize !== 0) {
    return fail(
      CryptoFailure.BAD_LENGTH,
      `Encrypted payload body of ${body.length} bytes does not hold a ${e.ivLength}-byte IV, whole ${e.blockSize}-byte blocks and a ${icvLen}-byte ICV`,
    );
  }
  const iv = body.slice(0, e.ivLength);
  const ciphertext = body.subarray(e.ivLength, e.ivLength + ctLen);
  const icv = body.subarray(e.ivLength + ctLen);

  let padded: Uint8Array;
  if (e.aead) {
    const keyLen = suite.keyBits / 8;
    const nonce = concatBytes(keyE.subarray(keyLen), iv);
    const out = gcmOpen(keyE.subarray(0, keyLen), nonce, headerAndSkHeader, ciphertext, icv);
    if (out === undefined) return fail(CryptoFailure.ICV_MISMATCH, `${e.name} ICV of the Encrypted payload does not verify`);
    padded = out;
  } else {
    if (!integVerify(suite.integ, keyA!, icv, headerAndSkHeader, iv, ciphertext)) {
      return fail(CryptoFailure.ICV_MISMATCH, `${integInfo(suite.integ).name} ICV of the Encrypted payload does not verify`);
    }
    const cipherName = nodeCipherName(suite);
    padded = cipherName === undefined ? new Uint8Array(ciphertext) : cbcDecrypt(cipherName, keyE, iv, ciphertext);
  }
  const padLength = padded[padded.length - 1]!;
  if (padLength + 1 > padded.length) {
    return fail(CryptoFailure.BAD_PADDING, `pad length ${padLength} exceeds the ${padded.length - 1} decrypted bytes`);
  }
  const end = padded.length - 1 - padLength;
  return { ok: true, plaintext: padded.slice(0, end), padding: padded.slice(end, padded.length - 1), iv };
}

/** decryptSk that throws IntegrityError instead of returning a failure. */
export function decryptSkOrThrow(input: SkOpenInput): Uint8Array {
  const r = decryptSk(input);
  if (!r.ok) throw new IntegrityError(r.reason, r.message);
  return r.plaintext;
}

/** A whole IKE message cut around its Encrypted payload. */
export interface SkMessageParts {
  /** Message bytes up to the end of the SK generic header (AAD for GCM, ICV prefix for CBC). */
  readonly headerAndSkHeader: Uint8Array;
  /** IV ‖ ciphertext ‖ ICV. */
  readonly body: Uint8Array;
  /** Next Payload of the SK generic header: the type of the first inner payload. */
  readonly firstInnerPayload: number;
}

/**
 * Splits an IKE message whose Encrypted payload starts at `skOffset` (the
 * Encrypted payload is always the last one, RFC 7296 §3.14). Checks that the IKE
 * header length and the payload length both end at the end of the message.
 * `skHeaderLength` is 4 for SK, 8 for an SKF fragment (RFC 7383 §2.5).
 */
export function splitSkMessage(message: Uint8Array, skOffset: number, skHeaderLength = GENERIC_HEADER_LENGTH): SkMessageParts {
  const r = new ByteReader(message, 'ikev2-sk');
  r.skip(IKE_LENGTH_OFFSET, 'ike_header');
  const ikeLength = r.u32('ike_length');
  if (ikeLength !== message.length) {
    r.fail('ike_length', `IKE header says ${ikeLength} bytes, message has ${message.length}`, IKE_LENGTH_OFFSET);
  }
  if (skOffset < IKE_HEADER_LENGTH || skOffset + skHeaderLength > message.length) {
    throw new DecodeError('ikev2-sk', 'sk_offset', skOffset, `Encrypted payload header does not fit in the ${message.length}-byte message`);
  }
  r.pos = skOffset;
  const firstInnerPayload = r.u8('next_payload');
  r.skip(1, 'critical');
  const payloadLength = r.u16('payload_length');
  if (skOffset + payloadLength !== message.length) {
    r.fail(
      'payload_length',
      `Encrypted payload of ${payloadLength} bytes at ${skOffset} does not end at the end of the ${message.length}-byte message`,
      skOffset + 2,
    );
  }
  return {
    headerAndSkHeader: message.subarray(0, skOffset + skHeaderLength),
    body: message.subarray(skOffset + skHeaderLength),
    firstInnerPayload,
  };
}

export interface SkMessageSealInput extends Omit<SkSealInput, 'headerAndSkHeader'> {
  /**
   * The message from the IKE header up to the end of the SK (or SKF) header; its
   * IKE length and payload length fields are overwritten here.
   */
  readonly prefix: Uint8Array;
  /** Where the Encrypted payload's generic header starts in the prefix. */
  readonly skOffset: number;
}

/**
 * Builds the whole protected message: sets the IKE header length and the
 * Encrypted payload length for the final body size, then encrypts.
 */
export function sealSkMessage(input: SkMessageSealInput): Uint8Array {
  const { prefix, skOffset, suite, plaintext } = input;
  assert(skOffset >= IKE_HEADER_LENGTH && skOffset + GENERIC_HEADER_LENGTH <= prefix.length, 'skOffset must point at a generic header inside the prefix');
  const padLength = input.padding?.length ?? input.padLength;
  const bodyLength = skBodyLength(suite, plaintext.length, padLength);
  const head = new Uint8Array(prefix);
  const total = head.length + bodyLength;
  const payloadLength = total - skOffset;
  assert(payloadLength <= 0xffff, `Encrypted payload of ${payloadLength} bytes exceeds 65535`);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  dv.setUint32(IKE_LENGTH_OFFSET, total, false);
  dv.setUint16(skOffset + 2, payloadLength, false);
  const body = encryptSk({ ...input, headerAndSkHeader: head });
  assert(body.length === bodyLength, 'SK body length differs from the computed one');
  return concatBytes(head, body);
}

export interface SkMessageOpenInput {
  readonly suite: CipherSuite;
  readonly keyE: Uint8Array;
  readonly keyA?: Uint8Array;
  readonly message: Uint8Array;
  readonly skOffset: number;
  readonly skHeaderLength?: number;
}

/** Splits and decrypts a whole message; a malformed frame is a BAD_LENGTH failure, not an exception. */
export function openSkMessage(input: SkMessageOpenInput): SkOpenResult & { readonly firstInnerPayload?: number } {
  let parts: SkMessageParts;
  try {
    parts = splitSkMessage(input.message, input.skOffset, input.skHeaderLength);
  } catch (e) {
    if (e instanceof DecodeError) return fail(CryptoFailure.BAD_LENGTH, e.message);
    throw e;
  }
  const r = decryptSk({ suite: input.suite, keyE: input.keyE, keyA: input.keyA, headerAndSkHeader: parts.headerAndSkHeader, body: parts.body });
  return r.ok ? { ...r, firstInnerPayload: parts.firstInnerPayload } : r;
}
