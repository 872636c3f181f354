/**
 * RFC 3948 UDP encapsulation: the one place that decides what a UDP payload on an
 * IKE / NAT-T port pair is, and how IKE is framed for sending.
 *
 * - If either port is 500 (IKE_PORT) the payload is a plain IKE message, no marker
 *   (RFC 7296 §2.23, RFC 3947 §4).
 * - Otherwise (4500, or any port a NAT mapped 4500 to) the first four bytes decide
 *   (RFC 3948 §2.2, §2.3): one byte 0xFF is a NAT-keepalive; four zero bytes are the
 *   non-ESP marker and an IKE message follows; anything else is ESP whose first four
 *   bytes are the SPI. SPI 0 is reserved (RFC 4303 §2.1), so the marker is unambiguous.
 *
 * The sender side mirrors it: `needsNonEspMarker` is true exactly when neither port is
 * 500, and `frameIke` prepends the marker then.
 */

export const IKE_PORT = 500;
export const NATT_PORT = 4500;
/** RFC 3948 §2.2: four zero bytes before an IKE message on the NAT-T port pair. */
export const NON_ESP_MARKER_LEN = 4;
/** RFC 3948 §2.3: the NAT-keepalive payload, one byte 0xFF. */
export const KEEPALIVE: Uint8Array = Uint8Array.of(0xff);
/** Fixed IKE header size (RFC 7296 §3.1; the ISAKMP header of RFC 2408 §3.1 is the same size). */
export const IKE_HEADER_LEN = 28;
/** ESP needs at least the SPI and the sequence number (RFC 4303 §2). */
export const ESP_MIN_LEN = 8;

export const UDP_PAYLOAD_KIND = {
  IKE: 'ike',
  IKE_NON_ESP: 'ike-nonesp',
  KEEPALIVE: 'keepalive',
  ESP: 'esp',
  UNKNOWN: 'unknown',
  MALFORMED: 'malformed',
} as const;
export type UdpPayloadKind = (typeof UDP_PAYLOAD_KIND)[keyof typeof UDP_PAYLOAD_KIND];

export type UdpPayloadClass =
  /** A plain IKE message on a port-500 flow; `ike` is the whole payload. */
  | { readonly kind: 'ike'; readonly ike: Uint8Array; readonly offset: 0 }
  /** The non-ESP marker then an IKE message; `ike` is the payload after the marker (offset 4). */
  | { readonly kind: 'ike-nonesp'; readonly ike: Uint8Array; readonly offset: 4 }
  | { readonly kind: 'keepalive' }
  /** ESP-in-UDP; `esp` is the whole payload, starting with the SPI. */
  | { readonly kind: 'esp'; readonly spi: number; readonly esp: Uint8Array }
  /** Matches none of the RFC 3948 forms (empty, or 1-3 bytes that are not a keepalive). */
  | { readonly kind: 'unknown'; readonly reason: string }
  /** Recognised framing that is wrong for these ports or too short for what it announces. */
  | { readonly kind: 'malformed'; readonly reason: string };

/** True iff neither port is 500: then IKE carries the non-ESP marker (RFC 3948 §2.2). */
export function needsNonEspMarker(srcPort: number, dstPort: number): boolean {
  return srcPort !== IKE_PORT && dstPort !== IKE_PORT;
}

/**
 * The UDP payload for an IKE message between these ports: the marker and the message
 * (a new array) when neither port is 500, else `ikeBytes` itself.
 */
export function frameIke(ikeBytes: Uint8Array, srcPort: number, dstPort: number): Uint8Array {
  if (!needsNonEspMarker(srcPort, dstPort)) return ikeBytes;
  const out = new Uint8Array(NON_ESP_MARKER_LEN + ikeBytes.length);
  out.set(ikeBytes, NON_ESP_MARKER_LEN);
  return out;
}

function startsWithMarker(p: Uint8Array): boolean {
  return p.length >= 4 && p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0;
}

function isKeepalive(p: Uint8Array): boolean {
  return p.length === 1 && p[0] === 0xff;
}

/** Classifies a UDP payload seen between srcPort and dstPort. Never throws. */
export function classifyUdpPayload(srcPort: number, dstPort: number, payload: Uint8Array): UdpPayloadClass {
  const n = payload.length;
  if (!needsNonEspMarker(srcPort, dstPort)) {
    if (n === 0) return { kind: 'unknown', reason: 'empty payload on port 500' };
    if (isKeepalive(payload)) {
      return { kind: 'malformed', reason: 'NAT-keepalive on port 500: keepalives belong on the NAT-T port pair (RFC 3948 §2.3)' };
    }
    if (startsWithMarker(payload)) {
      return {
        kind: 'malformed',
        reason: 'four zero bytes on port 500: the non-ESP marker is used only when neither port is 500 (RFC 3948 §2.2), and an IKE SPI is never zero',
      };
    }
    if (n < IKE_HEADER_LEN) {
      return { kind: 'malformed', reason: `${n} bytes on port 500, fewer than an IKE header (${IKE_HEADER_LEN})` };
    }
    return { kind: 'ike', ike: payload, offset: 0 };
  }
  if (isKeepalive(payload)) return { kind: 'keepalive' };
  if (n < 4) {
    return { kind: 'unknown', reason: n === 0 ? 'empty payload' : `${n} byte${n === 1 ? '' : 's'}: neither a keepalive (one 0xFF byte) nor a marker or SPI` };
  }
  if (startsWithMarker(payload)) {
    if (n - NON_ESP_MARKER_LEN < IKE_HEADER_LEN) {
      return {
        kind: 'malformed',
        reason: `non-ESP marker followed by ${n - NON_ESP_MARKER_LEN} bytes, fewer than an IKE header (${IKE_HEADER_LEN})`,
      };
    }
    return { kind: 'ike-nonesp', ike: payload.subarray(NON_ESP_MARKER_LEN), offset: 4 };
  }
  const spi = ((payload[0]! << 24) >>> 0) + ((payload[1]! << 16) | (payload[2]! << 8) | payload[3]!);
  if (n < ESP_MIN_LEN) return { kind: 'malformed', reason: `ESP of ${n} bytes, fewer than SPI and sequence number (${ESP_MIN_LEN})` };
  return { kind: 'esp', spi, esp: payload };
}
