/**
 * Opening what a capture protects, with keys from a KeyRing:
 *  - the IKEv2 Encrypted payload SK (RFC 7296 §3.14) and its fragments SKF
 *    (RFC 7383 §2.5), through crypto/sk.ts. When a CBC message's ICV does not
 *    verify, the plaintext is still recovered and marked (as Wireshark does), so a
 *    capture with a wrong checksum still shows what was sent;
 *  - ESP (RFC 4303) through crypto/esp-transforms.ts, with a one-line summary of the
 *    inner packet.
 */
import { DecodeError } from '../core/errors.ts';
import { formatIp } from '../core/addr.ts';
import {
  CryptoFailure,
  cbcDecrypt,
  encrInfo,
  espOpen,
  espStripTrailer,
  integInfo,
  nodeCipherName,
  openSkMessage,
  splitSkMessage,
} from '../crypto/index.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { Ipv4Codec } from '../wire/ipv4.ts';
import { Ipv6Codec } from '../wire/ipv6.ts';
import type { EspKeys, IkeKeys } from './keys.ts';

export type SkOutcome =
  | { readonly ok: true; readonly plaintext: Uint8Array; readonly firstInner: number; readonly integrity: 'ok' | 'failed' }
  | { readonly ok: false; readonly integrityFailed: boolean; readonly reason: string };

/**
 * Opens the SK (skHeaderLength 4) or SKF (8) payload that starts at skOffset and ends
 * the message. `fromInitiator` picks SK_ei/SK_ai or SK_er/SK_ar.
 */
export function openIkeEncrypted(keys: IkeKeys, fromInitiator: boolean, message: Uint8Array, skOffset: number, skHeaderLength: 4 | 8): SkOutcome {
  const keyE = fromInitiator ? keys.skEi : keys.skEr;
  const keyA = fromInitiator ? keys.skAi : keys.skAr;
  const r = openSkMessage({ suite: keys.suite, keyE, ...(keyA ? { keyA } : {}), message, skOffset, skHeaderLength });
  if (r.ok) return { ok: true, plaintext: r.plaintext, firstInner: r.firstInnerPayload ?? 0, integrity: 'ok' };
  const e = encrInfo(keys.suite.encr);
  if (r.reason !== CryptoFailure.ICV_MISMATCH || e.aead) return { ok: false, integrityFailed: r.reason === CryptoFailure.ICV_MISMATCH, reason: r.message };
  // CBC: the checksum is wrong but the ciphertext can still be read.
  let parts;
  try {
    parts = splitSkMessage(message, skOffset, skHeaderLength);
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, integrityFailed: true, reason: err.message };
    throw err;
  }
  const icvLen = integInfo(keys.suite.integ).icvLength;
  const ct = parts.body.subarray(e.ivLength, parts.body.length - icvLen);
  if (ct.length === 0 || ct.length % e.blockSize !== 0) return { ok: false, integrityFailed: true, reason: r.message };
  const name = nodeCipherName(keys.suite);
  const padded = name === undefined ? new Uint8Array(ct) : cbcDecrypt(name, keyE, parts.body.subarray(0, e.ivLength), ct);
  const padLength = padded[padded.length - 1]!;
  if (padLength + 1 > padded.length) return { ok: false, integrityFailed: true, reason: r.message };
  return { ok: true, plaintext: padded.slice(0, padded.length - 1 - padLength), firstInner: parts.firstInnerPayload, integrity: 'failed' };
}

export type EspOutcome =
  | { readonly ok: true; readonly inner: string }
  | { readonly ok: false; readonly icvFailed: boolean; readonly reason: string };

const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'echo reply',
  3: 'destination unreachable',
  5: 'redirect',
  8: 'echo request',
  11: 'time exceeded',
};
const ICMPV6_TYPES: Readonly<Record<number, string>> = {
  1: 'destination unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  128: 'echo request',
  129: 'echo reply',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
};

function protocolLabel(protocol: number, payload: Uint8Array): string {
  switch (protocol) {
    case IP_PROTOCOL.ICMP:
      return payload.length ? `ICMP ${ICMP_TYPES[payload[0]!] ?? `type ${payload[0]}`}` : 'ICMP';
    case IP_PROTOCOL.ICMPV6:
      return payload.length ? `ICMPv6 ${ICMPV6_TYPES[payload[0]!] ?? `type ${payload[0]}`}` : 'ICMPv6';
    case IP_PROTOCOL.TCP:
      return 'TCP';
    case IP_PROTOCOL.UDP:
      return 'UDP';
    default:
      return `IP protocol ${protocol}`;
  }
}

/** "ICMP echo request 10.77.10.1 → 10.77.20.1" for the payload of an ESP packet with this Next Header. */
export function describeInner(nextHeader: number, payload: Uint8Array): string {
  try {
    if (nextHeader === 4) {
      const p = Ipv4Codec.decode(payload, 0);
      return `${protocolLabel(p.protocol, p.payload)} ${formatIp(p.src)} → ${formatIp(p.dst)}`;
    }
    if (nextHeader === 41) {
      const p = Ipv6Codec.decode(payload, 0);
      return `${protocolLabel(p.protocol, p.payload)} ${formatIp(p.src)} → ${formatIp(p.dst)}`;
    }
  } catch (e) {
    if (e instanceof DecodeError) return `malformed inner IPv${nextHeader === 4 ? 4 : 6} packet`;
    throw e;
  }
  if (nextHeader === IP_PROTOCOL.NO_NEXT_HEADER) return 'dummy packet (no next header)';
  return `${protocolLabel(nextHeader, payload)} (transport mode)`;
}

/** Verifies and decrypts one ESP packet (SPI onwards) and summarises what it carries. */
export function openEsp(keys: EspKeys, packet: Uint8Array): EspOutcome {
  const r = espOpen({ suite: keys.suite, keyE: keys.keyE, ...(keys.keyA ? { keyA: keys.keyA } : {}), packet });
  if (!r.ok) return { ok: false, icvFailed: r.reason === CryptoFailure.ICV_MISMATCH, reason: r.message };
  const t = espStripTrailer(r.plaintext);
  if (!t.ok) return { ok: false, icvFailed: false, reason: t.message };
  return { ok: true, inner: describeInner(t.nextHeader, t.payload) };
}
