/**
 * Test-only walk over an IKEv2 payload chain (RFC 7296 §3.2 generic headers),
 * independent of the wire codecs, for tests that need a payload's bytes.
 */
export interface RawPayload {
  readonly type: number;
  /** Offset of the generic header in the walked buffer. */
  readonly offset: number;
  /** The payload without its 4-byte generic header. */
  readonly body: Uint8Array;
}

/** Walks the chain starting at `offset` whose first payload has type `first`; stops at next-payload 0. */
export function payloadChain(bytes: Uint8Array, first: number, offset = 0): RawPayload[] {
  const out: RawPayload[] = [];
  let type = first;
  let o = offset;
  while (type !== 0) {
    if (o + 4 > bytes.length) throw new Error(`payload ${type} header at ${o} is past the end`);
    const next = bytes[o]!;
    const len = (bytes[o + 2]! << 8) | bytes[o + 3]!;
    if (len < 4 || o + len > bytes.length) throw new Error(`payload ${type} at ${o} has bad length ${len}`);
    out.push({ type, offset: o, body: bytes.subarray(o + 4, o + len) });
    // The Encrypted payload's Next Payload names its first inner payload, not a following one.
    if (type === 46 || type === 53) break;
    type = next;
    o += len;
  }
  return out;
}

/** Payloads of an IKE message (28-byte header; first payload type at byte 16). */
export function messagePayloads(message: Uint8Array): RawPayload[] {
  return payloadChain(message, message[16]!, 28);
}

export function findPayload(chain: readonly RawPayload[], type: number): RawPayload {
  const p = chain.find((x) => x.type === type);
  if (!p) throw new Error(`no payload of type ${type} in [${chain.map((x) => x.type).join(', ')}]`);
  return p;
}
