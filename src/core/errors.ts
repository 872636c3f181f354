/**
 * Typed errors. Decoders throw only DecodeError; semantic IKE problems raise
 * ProtocolError with the notify type to answer with; broken invariants are bugs
 * and go through assert().
 */

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    /** Protocol layer, e.g. "ipv4", "udp", "ikev2", "pcapng". */
    readonly layer: string,
    /** Field being read when decoding failed, e.g. "total_length". */
    readonly field: string,
    /** Absolute byte offset of that field (from the start of the outermost buffer). */
    readonly offset: number,
    /** Plain-words reason. */
    readonly reason: string,
  ) {
    super(`${layer}: ${field} at byte ${offset}: ${reason}`);
  }
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    /** IKEv2 notify message type to report to the peer (RFC 7296 §3.10.1). */
    readonly notifyType: number,
    message: string,
  ) {
    super(message);
  }
}

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function isDecodeError(e: unknown): e is DecodeError {
  return e instanceof DecodeError;
}
