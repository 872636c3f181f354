/**
 * Incremental Internet checksum update (RFC 1624 eqn. 3): HC' = ~(~HC + ~m + m'),
 * applied to every 16-bit word that changed. Used by the NAT so a translated UDP or
 * ICMP checksum stays correct without summing the payload again.
 */

/**
 * The checksum after the bytes `before` (even length, word-aligned in the covered
 * data) were replaced by `after` (same length).
 */
export function adjustChecksum(checksum: number, before: Uint8Array, after: Uint8Array): number {
  if (before.length !== after.length || before.length % 2 !== 0) {
    throw new RangeError('adjustChecksum: before and after must be the same even length');
  }
  let sum = ~checksum & 0xffff;
  for (let i = 0; i < before.length; i += 2) {
    sum += ~((before[i]! << 8) | before[i + 1]!) & 0xffff;
    sum += (after[i]! << 8) | after[i + 1]!;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** adjustChecksum for one 16-bit word. */
export function adjustChecksumWord(checksum: number, before: number, after: number): number {
  let sum = (~checksum & 0xffff) + (~before & 0xffff) + (after & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function readU16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function writeU16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}
