/**
 * The NAT-D hash of RFC 7296 §2.23 (and RFC 3947 §3 for IKEv1):
 *
 *   HASH = SHA-1(SPIi | SPIr | IP | port)
 *
 * SPIs are the 8-byte wire values (SPIr all zero in the first IKE_SA_INIT request),
 * IP is 4 or 16 network-order bytes and port two bytes in network order. The
 * engine hashes the addresses it observed on the datagram, never configuration.
 * Pure: the CLI's `natd` command uses it as well.
 */
import { createHash } from 'node:crypto';
import { assert, type Endpoint } from '../core/index.ts';

export const NATD_HASH_LENGTH = 20;

/** The exact bytes that are hashed (strongSwan logs them as `natd_chunk`). */
export function natdInput(spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): Uint8Array {
  assert(spiI.length === 8 && spiR.length === 8, 'IKE SPIs are 8 bytes');
  const a = ep.addr.bytes;
  assert(a.length === 4 || a.length === 16, 'an IP address has 4 or 16 bytes');
  assert(Number.isInteger(ep.port) && ep.port >= 0 && ep.port <= 0xffff, `port ${ep.port} is out of range`);
  const out = new Uint8Array(16 + a.length + 2);
  out.set(spiI, 0);
  out.set(spiR, 8);
  out.set(a, 16);
  out[16 + a.length] = ep.port >> 8;
  out[17 + a.length] = ep.port & 0xff;
  return out;
}

/** SHA-1(SPIi | SPIr | IP | port). */
export function natdHash(spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint): Uint8Array {
  return new Uint8Array(createHash('sha1').update(natdInput(spiI, spiR, ep)).digest());
}
