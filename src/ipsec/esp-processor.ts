/**
 * ESP tunnel mode (RFC 4303) over raw IP (protocol 50) or UDP (RFC 3948), for inner
 * IPv4 and IPv6 packets.
 *
 * Outbound (`protect`): inner packet → payload ‖ padding 1, 2, 3, ... ‖ pad length ‖
 * next header (4 or 41) → sealed with the SA's suite under the next sequence number →
 * ESP, or ESP inside UDP with checksum 0 (RFC 3948 §3.1.1; computed over IPv6) → the
 * outer IPv4/IPv6 packet between the SA's tunnel endpoints. IVs:
 *  - AES-GCM (RFC 4106 §3.1): the 8-byte explicit IV is the packet's 64-bit sequence
 *    number, a per-SA counter that never repeats, so a nonce is never reused;
 *  - CBC ciphers (RFC 3602 §3, RFC 2451): drawn from the injected Rng;
 *  - NULL encryption (RFC 2410): none.
 * Sequence numbers start at 1. Without ESN the counter never wraps: a rekey is asked
 * for (event 'rekey-needed', once) when it comes within the SA's margin of 2^32-1, and
 * at 2^32-1 the SA refuses to send. With ESN the high 32 bits enter the ICV or AAD
 * (RFC 4303 §2.2.1, RFC 4106 §5) and are never sent.
 *
 * Inbound (`receive`, `receiveEsp`): SPI lookup → anti-replay check before decryption
 * (RFC 4303 §3.4.3) → ICV check and decryption → window update (only now) → trailer:
 * padding must be 1, 2, 3, ...; next header 4, 41 or 59 (a dummy packet, discarded) →
 * the inner packet. UDP-encapsulated ESP is recognised with the RFC 3948 rules of
 * wire/udp-encap; a zero UDP checksum is accepted over IPv4, a valid one always.
 *
 * Nothing here throws on packet input: every failure is a typed `{ ok: false, reason }`
 * and a counter, on the SA when one is known, else on the processor.
 */
import { formatIp, type Endpoint, type IpAddress } from '../core/addr.ts';
import { concatBytes } from '../core/bytes.ts';
import type { Rng } from '../core/rng.ts';
import { EncrId, IntegId, encrInfo, integInfo, nodeCipherName } from '../crypto/algorithms.ts';
import { CryptoFailure, cbcDecrypt, cbcEncrypt, gcmKey, gcmSealInto, type GcmKey } from '../crypto/cipher.ts';
import { espAddTrailer, espOpen, espSeal, espStripTrailer } from '../crypto/esp-transforms.ts';
import { encrName } from '../crypto/proposals.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { Ipv4Codec, isIpv4Fragment } from '../wire/ipv4.ts';
import { IPV6_HEADER_LEN, Ipv6Codec, isIpv6Fragment } from '../wire/ipv6.ts';
import { UdpCodec, encodeUdp, verifyUdpChecksum } from '../wire/udp.ts';
import { classifyUdpPayload, type UdpPayloadKind } from '../wire/udp-encap.ts';
import { newProcessorCounters, type ProcessorCounters } from './counters.ts';
import { REPLAY_VERDICT } from './replay-window.ts';
import { DF_POLICY, type EncapEndpoints, type InboundSa, type OutboundSa, type SaBase, type SecurityAssociationDatabase } from './sad.ts';

/** ESP next header values in tunnel mode (IANA protocol numbers 4, 41, 59). */
export const NEXT_HEADER = {
  IPV4: 4,
  IPV6: 41,
  /** No Next Header: a TFC dummy packet (RFC 4303 §2.6). */
  NONE: 59,
} as const;
export type NextHeader = (typeof NEXT_HEADER)[keyof typeof NEXT_HEADER];

/** Why a packet was dropped. */
export const ESP_DROP = {
  // outbound
  NO_SA: 'no-sa',
  SEQUENCE_EXHAUSTED: 'sequence-exhausted',
  MTU_EXCEEDED: 'mtu-exceeded',
  // both
  BAD_INNER: 'bad-inner-packet',
  UNSUPPORTED_SUITE: 'unsupported-suite',
  // inbound
  TRUNCATED: 'truncated',
  UNKNOWN_SPI: 'unknown-spi',
  REPLAY_DUPLICATE: 'replay-duplicate',
  REPLAY_TOO_OLD: 'replay-too-old',
  AUTH_FAILED: 'auth-failed',
  BAD_LENGTH: 'bad-length',
  BAD_PADDING: 'bad-padding',
  BAD_NEXT_HEADER: 'bad-next-header',
  DUMMY: 'dummy-packet',
  BAD_OUTER: 'bad-outer-packet',
  BAD_UDP_CHECKSUM: 'bad-udp-checksum',
  OUTER_FRAGMENT: 'outer-fragment',
  NOT_ESP: 'not-esp',
} as const;
export type EspDropReason = (typeof ESP_DROP)[keyof typeof ESP_DROP];

export interface EspDrop {
  readonly ok: false;
  readonly reason: EspDropReason;
  readonly message: string;
  readonly spi?: number | undefined;
  /** For not-esp: what the UDP payload was (keepalive, IKE, ...). */
  readonly kind?: UdpPayloadKind | 'other-protocol' | undefined;
}

export type IpsecEvent =
  | { readonly type: 'rekey-needed'; readonly childId: string; readonly spi: number; readonly sequence: bigint }
  | { readonly type: 'sequence-exhausted'; readonly childId: string; readonly spi: number };

export interface ProtectOptions {
  /** Explicit IV to use instead of the generated one (test vectors, replaying a capture). */
  readonly iv?: Uint8Array | undefined;
  /** Outer IPv4 identification (IPv6: fragment identification) instead of the SA's counter. */
  readonly identification?: number | undefined;
}

export interface EspSealed {
  readonly ok: true;
  readonly spi: number;
  /** The 64-bit sequence number used (its low 32 bits are on the wire). */
  readonly sequence: bigint;
  /** SPI ‖ seq ‖ IV ‖ ciphertext ‖ ICV. */
  readonly esp: Uint8Array;
}

export interface Protected extends Omit<EspSealed, 'ok'> {
  readonly ok: true;
  readonly childId: string;
  /** The outer IP packet(s): more than one only when the SA fragments. */
  readonly packets: readonly Uint8Array[];
  /** Set when sent as ESP-in-UDP: the UDP endpoints (a keepalive timer should hear of it). */
  readonly udp?: { readonly src: Endpoint; readonly dst: Endpoint } | undefined;
}

export interface Unprotected {
  readonly ok: true;
  readonly sa: InboundSa;
  readonly spi: number;
  readonly sequence: bigint;
  readonly nextHeader: number;
  /** The payload without padding and trailer. */
  readonly payload: Uint8Array;
}

export interface OuterInfo {
  readonly src: IpAddress;
  readonly dst: IpAddress;
  /** UDP ports when the ESP arrived encapsulated. */
  readonly srcPort?: number | undefined;
  readonly dstPort?: number | undefined;
}

export interface Received {
  readonly ok: true;
  readonly childId: string;
  readonly spi: number;
  readonly sequence: bigint;
  readonly family: 4 | 6;
  /** The inner packet, cut to its own length (TFC padding after it is dropped). */
  readonly inner: Uint8Array;
  /** Where it came from, when known (the peer's floated endpoint for ESP-in-UDP). */
  readonly outer?: OuterInfo | undefined;
}

export type SealResult = EspSealed | EspDrop;
export type ProtectResult = Protected | EspDrop;
export type UnprotectResult = Unprotected | EspDrop;
export type ReceiveResult = Received | EspDrop;

export interface EspProcessorOptions {
  readonly sad: SecurityAssociationDatabase;
  /** IVs of CBC ciphers and the first outer IP identification of each SA. */
  readonly rng: Rng;
}

function u32(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

const SLAB_BYTES = 64 * 1024;
/** The initial (empty) scratch and slab of every processor; never written. */
const NO_BYTES = new Uint8Array(0);
const NO_OPTIONS: ProtectOptions = Object.freeze({});

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

function hexSpi(spi: number): string {
  return `0x${(spi >>> 0).toString(16).padStart(8, '0')}`;
}

/** The message when node:crypto cannot run a suite (old algorithms may be missing from a build). */
function unsupportedMessage(sa: SaBase, err: unknown): string {
  if (sa.suite.encr === EncrId.DES3) return '3DES-CBC is not supported by this Node build';
  if (sa.suite.integ === IntegId.HMAC_MD5_96) return 'HMAC-MD5-96 is not supported by this Node build';
  const detail = err instanceof Error ? err.message : String(err);
  return `${encrName(sa.suite)} is not supported by this Node build: ${detail}`;
}

interface InnerInfo {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly dontFragment: boolean;
  readonly tos: number;
}

/** Decodes the inner packet enough to frame it; undefined when it is not IPv4/IPv6. */
function innerInfo(packet: Uint8Array): InnerInfo | undefined {
  try {
    const version = (packet[0] ?? 0) >> 4;
    if (version === 4) {
      // What Ipv4Codec.decode accepts: IHL >= 5, the whole header present, the total
      // length covering the header and within the buffer.
      const headerLen = (packet[0]! & 0x0f) * 4;
      const len = packet.length >= 4 ? (packet[2]! << 8) | packet[3]! : 0;
      if (headerLen < 20 || packet.length < headerLen || len < headerLen || len > packet.length) return undefined;
      return { family: 4, bytes: len === packet.length ? packet : packet.subarray(0, len), dontFragment: (packet[6]! & 0x40) !== 0, tos: packet[1]! };
    }
    if (version === 6) {
      const p = Ipv6Codec.decode(packet);
      const len = IPV6_HEADER_LEN + ((packet[4]! << 8) | packet[5]!);
      return { family: 6, bytes: packet.subarray(0, len), dontFragment: true, tos: p.trafficClass };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export class EspProcessor {
  readonly sad: SecurityAssociationDatabase;
  /** Drops not attributable to an SA. */
  readonly counters: ProcessorCounters = newProcessorCounters();
  private readonly rng: Rng;
  private readonly events: IpsecEvent[] = [];
  /** Plaintext of the packet being sealed (protectGcmIpv4); consumed before protect returns. */
  // Empty until the first packet needs them (a processor that never seals costs nothing).
  private scratch = NO_BYTES;
  private scratchView = NO_BYTES;
  /** AAD and nonce of protectGcmIpv4, made with the first sealed packet. */
  private aad8: Uint8Array | undefined;
  private nonce: Uint8Array | undefined;
  private slab = NO_BYTES;
  private gcmSa: OutboundSa | undefined;
  private gcmKey: GcmKey | undefined;
  private gcmSalt = NO_BYTES;
  private udpEncap: EncapEndpoints | undefined;
  private udpEndpoints: { readonly src: Endpoint; readonly dst: Endpoint } | undefined;
  private slabUsed = 0;

  constructor(opts: EspProcessorOptions) {
    this.sad = opts.sad;
    this.rng = opts.rng;
  }

  /** Next queued event (rekey-needed, sequence-exhausted); undefined when none. */
  pollEvent(): IpsecEvent | undefined {
    return this.events.shift();
  }

  // ------------------------------------------------------------ outbound

  private resolve(target: string | OutboundSa): OutboundSa | undefined {
    return typeof target === 'string' ? this.sad.outbound(target) : target;
  }

  private noSa(target: string | OutboundSa): EspDrop {
    this.counters.noSa++;
    return { ok: false, reason: ESP_DROP.NO_SA, message: `no outbound SA for ${typeof target === 'string' ? target : target.childId}` };
  }

  /**
   * Takes the next sequence number, or refuses when the counter is used up. Raises
   * 'rekey-needed' once when the number reaches the SA's rekey threshold.
   */
  private takeSequence(sa: OutboundSa): bigint | EspDrop {
    const n = sa.sequenceNumber;
    if (n >= 0 && n < (sa.rekeyRequested ? sa.sequenceFastLimit : sa.sequenceFastRekey)) {
      sa.sequenceNumber = n + 1;
      return BigInt(n);
    }
    return this.takeSequenceSlow(sa);
  }

  /** takeSequence near the rekey threshold, the limit, or beyond 2^53. */
  private takeSequenceSlow(sa: OutboundSa): bigint | EspDrop {
    const seq = sa.nextSequence;
    if (!sa.rekeyRequested && seq >= sa.rekeyThreshold) {
      sa.rekeyRequested = true;
      this.events.push({ type: 'rekey-needed', childId: sa.childId, spi: sa.spi, sequence: seq > sa.sequenceLimit ? sa.sequenceLimit : seq });
    }
    if (seq > sa.sequenceLimit) {
      sa.counters.sequenceExhausted++;
      sa.counters.sendErrors++;
      if (!sa.exhaustedReported) {
        sa.exhaustedReported = true;
        this.events.push({ type: 'sequence-exhausted', childId: sa.childId, spi: sa.spi });
      }
      return {
        ok: false,
        reason: ESP_DROP.SEQUENCE_EXHAUSTED,
        spi: sa.spi,
        message: `SA ${hexSpi(sa.spi)} has used sequence number ${sa.sequenceLimit}; it must be rekeyed, the counter never wraps (RFC 4303 §3.3.3)`,
      };
    }
    sa.nextSequence = seq + 1n;
    return seq;
  }

  private makeIv(sa: OutboundSa, seq: bigint, given: Uint8Array | undefined): Uint8Array {
    if (given) return given;
    const e = encrInfo(sa.suite.encr);
    if (e.ivLength === 0) return new Uint8Array(0);
    if (e.aead) {
      const iv = new Uint8Array(8);
      new DataView(iv.buffer).setBigUint64(0, seq);
      return iv;
    }
    return this.rng.bytes(e.ivLength);
  }

  /** Seals payload ‖ trailer under a sequence number already taken. */
  private seal(sa: OutboundSa, plaintext: Uint8Array, seq: bigint, iv: Uint8Array): Uint8Array | EspDrop {
    const seqLow = Number(seq & 0xffffffffn);
    const seqHi = sa.esn ? Number(seq >> 32n) : undefined;
    try {
      if (sa.confidentialityOnly) {
        const ct = cbcEncrypt(nodeCipherName(sa.suite)!, sa.encKey, iv, plaintext);
        return concatBytes(u32(sa.spi), u32(seqLow), iv, ct);
      }
      return espSeal({
        suite: sa.suite,
        keyE: sa.encKey,
        ...(sa.suite.integ !== IntegId.NONE ? { keyA: sa.integKey } : {}),
        spi: sa.spi,
        seq: seqLow,
        ...(seqHi !== undefined ? { seqHi } : {}),
        iv,
        plaintext,
      });
    } catch (err) {
      sa.counters.unsupported++;
      sa.counters.sendErrors++;
      return { ok: false, reason: ESP_DROP.UNSUPPORTED_SUITE, spi: sa.spi, message: unsupportedMessage(sa, err) };
    }
  }

  private countSent(sa: OutboundSa, payloadLength: number): void {
    sa.counters.encaps++;
    if (sa.encrypts) sa.counters.encrypt++;
    if (sa.hasIcv) sa.counters.digest++;
    sa.counters.bytesOut += payloadLength;
  }

  /**
   * Protects any payload with an explicit next header (no tunnel framing): the ESP
   * packet alone. For test vectors and transport-mode payloads; `protect` is the
   * tunnel-mode entry point.
   */
  protectPayload(target: string | OutboundSa, payload: Uint8Array, nextHeader: number, opts: ProtectOptions = {}): SealResult {
    const sa = this.resolve(target);
    if (!sa) return this.noSa(target);
    if (opts.iv && opts.iv.length !== sa.ivLength) {
      // A caller's mistake, not packet input.
      throw new RangeError(`SA ${hexSpi(sa.spi)} takes a ${sa.ivLength}-byte IV, got ${opts.iv.length}`);
    }
    const seq = this.takeSequence(sa);
    if (typeof seq !== 'bigint') return seq;
    const iv = this.makeIv(sa, seq, opts.iv);
    const esp = this.seal(sa, espAddTrailer(payload, nextHeader & 0xff, sa.alignment), seq, iv);
    if (!(esp instanceof Uint8Array)) return esp;
    this.countSent(sa, payload.length);
    return { ok: true, spi: sa.spi, sequence: seq, esp };
  }

  /**
   * Tunnel mode: the outer packet(s) carrying `inner` (an IPv4 or IPv6 packet) on the
   * child's current outbound SA (a child id) or on the SA given.
   */
  protect(target: string | OutboundSa, inner: Uint8Array, opts: ProtectOptions = NO_OPTIONS): ProtectResult {
    const sa = this.resolve(target);
    if (!sa) return this.noSa(target);
    const info = innerInfo(inner);
    if (!info) {
      sa.counters.badInner++;
      sa.counters.sendErrors++;
      return { ok: false, reason: ESP_DROP.BAD_INNER, spi: sa.spi, message: 'the packet to protect is not a well-formed IPv4 or IPv6 packet' };
    }
    const outerFamily = sa.tunnel.local.family;
    // IPv4 outer DF per the SA's policy (RFC 4301 §8.1); an IPv6 source may always fragment.
    const df = outerFamily === 4 && (sa.dontFragment === DF_POLICY.SET || (sa.dontFragment === DF_POLICY.COPY && info.dontFragment));
    const outerLen = sa.outerLength(info.bytes.length);
    const fragment = outerLen > sa.mtu;
    if (fragment && (df || !sa.allowFragmentation)) {
      // Checked before a sequence number is taken, so a drop leaves no gap.
      sa.counters.mtuDrops++;
      sa.counters.sendErrors++;
      return {
        ok: false,
        reason: ESP_DROP.MTU_EXCEEDED,
        spi: sa.spi,
        message: `outer packet of ${outerLen} bytes exceeds the path MTU ${sa.mtu}${df ? ' and DF is set' : sa.allowFragmentation ? '' : ' and the SA does not fragment'}; the largest inner packet that fits is ${sa.plaintextMtu} bytes`,
      };
    }
    if (!fragment && outerFamily === 4 && sa.suite.encr === EncrId.AES_GCM_16) return this.protectGcmIpv4(sa, info, df, opts);
    const sealed = this.protectPayload(sa, info.bytes, info.family === 4 ? NEXT_HEADER.IPV4 : NEXT_HEADER.IPV6, opts);
    if (!sealed.ok) return sealed;

    const src = sa.encap ? sa.encap.local.addr : sa.tunnel.local;
    const dst = sa.encap ? sa.encap.remote.addr : sa.tunnel.remote;
    let l4: Uint8Array = sealed.esp;
    let protocol: number = IP_PROTOCOL.ESP;
    if (sa.encap) {
      l4 = encodeUdp(
        { srcPort: sa.encap.local.port, dstPort: sa.encap.remote.port, payload: sealed.esp },
        { src, dst, checksum: outerFamily === 4 ? 'zero' : 'compute' },
      );
      protocol = IP_PROTOCOL.UDP;
    }
    const ident = this.nextIdentification(sa, opts.identification);
    const packets =
      outerFamily === 4
        ? this.ipv4Packets(sa, { src, dst, protocol, payload: l4, df, tos: info.tos, identification: ident & 0xffff }, fragment)
        : this.ipv6Packets(sa, { src, dst, protocol, payload: l4, tos: info.tos, identification: ident }, fragment);
    return {
      ok: true,
      childId: sa.childId,
      spi: sealed.spi,
      sequence: sealed.sequence,
      esp: sealed.esp,
      packets,
      udp: sa.encap ? { src: sa.encap.local, dst: sa.encap.remote } : undefined,
    };
  }

  /**
   * `protect` for the common case, AES-GCM in one outer IPv4 packet, with the bytes the
   * general path produces (protectPayload, encodeUdp with a zero checksum, Ipv4Codec),
   * but written straight into the outer packet: the plaintext is assembled in a scratch
   * buffer and only the ciphertext and tag are copied, instead of a fresh buffer per
   * layer. `esp` is the ESP part of that packet (a view of packets[0]), and the packet
   * itself a view into a shared slab (allocPacket).
   */
  private protectGcmIpv4(sa: OutboundSa, info: InnerInfo, df: boolean, opts: ProtectOptions): ProtectResult {
    if (opts.iv && opts.iv.length !== sa.ivLength) {
      throw new RangeError(`SA ${hexSpi(sa.spi)} takes a ${sa.ivLength}-byte IV, got ${opts.iv.length}`);
    }
    // The sequence number as a number while below the rekey threshold, the limit and
    // 2^53 (takeSequence's fast path, without BigInt arithmetic), else through takeSequence.
    let seqLow: number;
    let seqHigh: number;
    let seq: bigint;
    const n = sa.sequenceNumber;
    if (n >= 0 && n < (sa.rekeyRequested ? sa.sequenceFastLimit : sa.sequenceFastRekey)) {
      sa.sequenceNumber = n + 1;
      seq = BigInt(n);
      seqLow = n >>> 0;
      seqHigh = Math.floor(n / 0x100000000);
    } else {
      const taken = this.takeSequenceSlow(sa);
      if (typeof taken !== 'bigint') return taken;
      seq = taken;
      seqLow = Number(seq & 0xffffffffn);
      seqHigh = Number(seq >> 32n);
    }
    const payload = info.bytes;
    // payload ‖ padding 1, 2, 3, ... ‖ pad length ‖ next header (espAddTrailer).
    const align = sa.alignment;
    const padLength = (align - ((payload.length + 2) % align)) % align;
    const ptLen = payload.length + padLength + 2;
    if (this.scratchView.length !== ptLen) {
      if (this.scratch.length < ptLen) this.scratch = new Uint8Array(Math.max(ptLen, this.scratch.length * 2));
      this.scratchView = this.scratch.subarray(0, ptLen);
    }
    const pt = this.scratchView;
    pt.set(payload, 0);
    for (let i = 0; i < padLength; i++) pt[payload.length + i] = i + 1;
    pt[ptLen - 2] = padLength;
    pt[ptLen - 1] = info.family === 4 ? NEXT_HEADER.IPV4 : NEXT_HEADER.IPV6;

    const udpLen = sa.encap ? 8 : 0;
    const espOff = 20 + udpLen;
    const espLen = 8 + 8 + ptLen + 16;
    const out = this.allocPacket(espOff + espLen);
    const spi = sa.spi;
    writeU32(out, espOff, spi);
    writeU32(out, espOff + 4, seqLow);
    // Explicit IV: the 64-bit sequence number (RFC 4106 §3.1), or the one given.
    if (opts.iv) out.set(opts.iv, espOff + 8);
    else {
      writeU32(out, espOff + 8, seqHigh);
      writeU32(out, espOff + 12, seqLow);
    }
    const nonce = (this.nonce ??= new Uint8Array(12));
    const key = this.gcmKeyOf(sa, nonce);
    for (let i = 0; i < 8; i++) nonce[4 + i] = out[espOff + 8 + i]!;
    let aad = (this.aad8 ??= new Uint8Array(8));
    writeU32(aad, 0, spi);
    writeU32(aad, 4, seqLow);
    if (sa.esn) {
      // RFC 4106 §5: SPI ‖ seq-high ‖ seq-low.
      aad = new Uint8Array(12);
      writeU32(aad, 0, spi);
      writeU32(aad, 4, seqHigh);
      writeU32(aad, 8, seqLow);
    }
    try {
      gcmSealInto(key, nonce, aad, pt, out, espOff + 16);
    } catch (err) {
      sa.counters.unsupported++;
      sa.counters.sendErrors++;
      return { ok: false, reason: ESP_DROP.UNSUPPORTED_SUITE, spi: sa.spi, message: unsupportedMessage(sa, err) };
    }
    this.countSent(sa, payload.length);

    const src = sa.encap ? sa.encap.local.addr : sa.tunnel.local;
    const dst = sa.encap ? sa.encap.remote.addr : sa.tunnel.remote;
    if (sa.encap) {
      // UDP with a zero checksum (RFC 3948 §3.1.1).
      const sp = sa.encap.local.port;
      const dp = sa.encap.remote.port;
      const len = 8 + espLen;
      out[20] = (sp >> 8) & 0xff;
      out[21] = sp & 0xff;
      out[22] = (dp >> 8) & 0xff;
      out[23] = dp & 0xff;
      out[24] = len >> 8;
      out[25] = len & 0xff;
    }
    const ident = this.nextIdentification(sa, opts.identification) & 0xffff;
    const total = out.length;
    if (total > 0xffff) throw new RangeError(`ipv4 encode: total length ${total} exceeds 65535`);
    out[0] = 0x45;
    out[1] = info.tos & 0xff;
    out[2] = total >> 8;
    out[3] = total & 0xff;
    out[4] = ident >> 8;
    out[5] = ident & 0xff;
    out[6] = df ? 0x40 : 0;
    out[8] = sa.ttl & 0xff;
    out[9] = sa.encap ? IP_PROTOCOL.UDP : IP_PROTOCOL.ESP;
    out.set(src.bytes, 12);
    out.set(dst.bytes, 16);
    // The header checksum over the 20 bytes written so far (checksum field still zero).
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (out[i]! << 8) | out[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const hc = ~sum & 0xffff;
    out[10] = hc >> 8;
    out[11] = hc & 0xff;
    return {
      ok: true,
      childId: sa.childId,
      spi,
      sequence: seq,
      esp: new Uint8Array(out.buffer, out.byteOffset + espOff, espLen),
      packets: [out],
      udp: sa.encap ? this.udpOf(sa.encap) : undefined,
    };
  }

  /** `{ src, dst }` of the encapsulation endpoints, the same object while they stay the same. */
  private udpOf(encap: EncapEndpoints): { readonly src: Endpoint; readonly dst: Endpoint } {
    if (this.udpEncap !== encap || this.udpEndpoints === undefined) {
      this.udpEncap = encap;
      this.udpEndpoints = { src: encap.local, dst: encap.remote };
    }
    return this.udpEndpoints;
  }

  /**
   * The SA's AES key, imported once while the same SA keeps sending; puts its 4-byte
   * salt (the KEYMAT bytes after the key, RFC 4106 §8.1) in front of `nonce`.
   */
  private gcmKeyOf(sa: OutboundSa, nonce: Uint8Array): GcmKey {
    if (this.gcmSa !== sa || this.gcmKey === undefined) {
      const keyLen = sa.suite.keyBits / 8;
      this.gcmKey = gcmKey(sa.encKey.subarray(0, keyLen));
      this.gcmSalt = sa.encKey.slice(keyLen, keyLen + 4);
      this.gcmSa = sa;
    }
    nonce.set(this.gcmSalt, 0);
    return this.gcmKey;
  }

  /**
   * A zeroed buffer for one outer packet, carved from a shared 64 KiB slab: one
   * allocation per few dozen packets instead of one per packet (a fresh Uint8Array of
   * 1.5 KB costs about as much as sealing a fifth of it). The packet is a view, so its
   * `.buffer` is the slab.
   */
  private allocPacket(n: number): Uint8Array {
    if (this.slabUsed + n > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, n));
      this.slabUsed = 0;
    }
    const out = new Uint8Array(this.slab.buffer, this.slabUsed, n);
    this.slabUsed += (n + 7) & ~7;
    return out;
  }

  private nextIdentification(sa: OutboundSa, given: number | undefined): number {
    if (given !== undefined) return given >>> 0;
    if (sa.identification === undefined) sa.identification = this.rng.int(0, 0xffff);
    const id = sa.identification;
    sa.identification = (id + 1) >>> 0;
    return id;
  }

  private ipv4Packets(
    sa: OutboundSa,
    p: { src: IpAddress; dst: IpAddress; protocol: number; payload: Uint8Array; df: boolean; tos: number; identification: number },
    fragment: boolean,
  ): Uint8Array[] {
    const base = {
      dscp: p.tos >> 2,
      ecn: p.tos & 3,
      identification: p.identification,
      reservedFlag: false,
      dontFragment: p.df,
      ttl: sa.ttl,
      protocol: p.protocol,
      src: p.src,
      dst: p.dst,
      options: new Uint8Array(0),
    };
    if (!fragment) return [Ipv4Codec.encode({ ...base, moreFragments: false, fragmentOffset: 0, payload: p.payload })];
    const chunk = Math.floor((sa.mtu - 20) / 8) * 8;
    const out: Uint8Array[] = [];
    for (let off = 0; off < p.payload.length; off += chunk) {
      const end = Math.min(off + chunk, p.payload.length);
      out.push(Ipv4Codec.encode({ ...base, moreFragments: end < p.payload.length, fragmentOffset: off, payload: p.payload.subarray(off, end) }));
    }
    sa.counters.fragmentsCreated += out.length;
    return out;
  }

  private ipv6Packets(
    sa: OutboundSa,
    p: { src: IpAddress; dst: IpAddress; protocol: number; payload: Uint8Array; tos: number; identification: number },
    fragment: boolean,
  ): Uint8Array[] {
    const base = { trafficClass: p.tos, flowLabel: 0, hopLimit: sa.ttl, src: p.src, dst: p.dst, protocol: p.protocol };
    if (!fragment) return [Ipv6Codec.encode({ ...base, extensions: [], payload: p.payload })];
    const chunk = Math.floor((sa.mtu - IPV6_HEADER_LEN - 8) / 8) * 8;
    const out: Uint8Array[] = [];
    for (let off = 0; off < p.payload.length; off += chunk) {
      const end = Math.min(off + chunk, p.payload.length);
      const frag = {
        type: 44 as const,
        fragmentOffset: off,
        moreFragments: end < p.payload.length,
        identification: p.identification,
        reserved: 0,
        reservedBits: 0,
      };
      out.push(Ipv6Codec.encode({ ...base, extensions: [frag], payload: p.payload.subarray(off, end) }));
    }
    sa.counters.fragmentsCreated += out.length;
    return out;
  }

  // ------------------------------------------------------------ inbound

  private inboundDrop(sa: InboundSa, reason: EspDropReason, message: string): EspDrop {
    sa.counters.recvErrors++;
    return { ok: false, reason, spi: sa.spi, message };
  }

  /**
   * Verifies, decrypts and strips one ESP packet (SPI to ICV) without looking at the
   * next header: the lower half of `receiveEsp`, usable for transport-mode vectors.
   */
  unprotect(esp: Uint8Array): UnprotectResult {
    if (esp.length < 8) {
      this.counters.truncated++;
      return { ok: false, reason: ESP_DROP.TRUNCATED, message: `ESP packet of ${esp.length} bytes has no room for SPI and sequence number` };
    }
    const spi = readU32(esp, 0);
    const sa = spi === 0 ? undefined : this.sad.inbound(spi);
    if (!sa) {
      this.counters.invalidSpi++;
      return { ok: false, reason: ESP_DROP.UNKNOWN_SPI, spi, message: `no inbound SA for SPI ${hexSpi(spi)}` };
    }
    const seqLow = readU32(esp, 4);
    const seqHi = sa.esn && sa.window ? sa.window.inferHigh(seqLow) : 0;
    const sequence = (BigInt(seqHi) << 32n) | BigInt(seqLow);

    // Anti-replay check before any cryptography (RFC 4303 §3.4.3).
    if (sa.antiReplay && sa.window) {
      const verdict = sa.window.check(sequence);
      if (verdict !== REPLAY_VERDICT.OK) {
        sa.counters.replayFailures++;
        const dup = verdict === REPLAY_VERDICT.DUPLICATE;
        return this.inboundDrop(
          sa,
          dup ? ESP_DROP.REPLAY_DUPLICATE : ESP_DROP.REPLAY_TOO_OLD,
          dup
            ? `sequence number ${sequence} was already received on SA ${hexSpi(spi)}`
            : `sequence number ${sequence} is left of the replay window (highest ${sa.window.highest}, window ${sa.window.size})`,
        );
      }
    }

    const opened = this.open(sa, esp, sa.esn ? seqHi : undefined);
    if (!(opened instanceof Uint8Array)) return opened;
    if (sa.hasIcv) sa.counters.verify++;
    if (sa.encrypts) sa.counters.decrypt++;
    // The packet is authentic: only now may it move the window.
    sa.window?.update(sequence);

    const t = espStripTrailer(opened);
    if (!t.ok || !t.defaultPadding) {
      sa.counters.badPadding++;
      return this.inboundDrop(
        sa,
        ESP_DROP.BAD_PADDING,
        t.ok ? `padding of ${t.padLength} bytes is not 1, 2, 3, ... (RFC 4303 §2.4)` : t.message,
      );
    }
    return { ok: true, sa, spi, sequence, nextHeader: t.nextHeader, payload: t.payload };
  }

  /** ICV check and decryption; the plaintext with its trailer, or a counted drop. */
  private open(sa: InboundSa, esp: Uint8Array, seqHi: number | undefined): Uint8Array | EspDrop {
    const e = encrInfo(sa.suite.encr);
    const ctLen = esp.length - 8 - sa.ivLength - sa.icvLength;
    if (ctLen < 2 || ctLen % e.blockSize !== 0) {
      sa.counters.invalidLength++;
      return this.inboundDrop(
        sa,
        ESP_DROP.BAD_LENGTH,
        `ESP packet of ${esp.length} bytes does not hold header, ${sa.ivLength}-byte IV, whole ${e.blockSize}-byte blocks and a ${sa.icvLength}-byte ICV`,
      );
    }
    try {
      if (sa.confidentialityOnly) {
        const iv = esp.subarray(8, 8 + sa.ivLength);
        return cbcDecrypt(nodeCipherName(sa.suite)!, sa.encKey, iv, esp.subarray(8 + sa.ivLength));
      }
      const r = espOpen({
        suite: sa.suite,
        keyE: sa.encKey,
        ...(sa.suite.integ !== IntegId.NONE ? { keyA: sa.integKey } : {}),
        packet: esp,
        ...(seqHi !== undefined ? { seqHi } : {}),
      });
      if (r.ok) return r.plaintext;
      if (r.reason === CryptoFailure.ICV_MISMATCH) {
        sa.counters.authFailures++;
        return this.inboundDrop(sa, ESP_DROP.AUTH_FAILED, `${e.aead ? e.name : integInfo(sa.suite.integ).name} ICV does not verify on SA ${hexSpi(sa.spi)}`);
      }
      sa.counters.invalidLength++;
      return this.inboundDrop(sa, ESP_DROP.BAD_LENGTH, r.message);
    } catch (err) {
      sa.counters.unsupported++;
      return this.inboundDrop(sa, ESP_DROP.UNSUPPORTED_SUITE, unsupportedMessage(sa, err));
    }
  }

  /** Tunnel mode: one ESP packet (raw, or the payload of an ESP-in-UDP datagram) to its inner packet. */
  receiveEsp(esp: Uint8Array, outer?: OuterInfo): ReceiveResult {
    const u = this.unprotect(esp);
    if (!u.ok) return u;
    const { sa } = u;
    if (u.nextHeader === NEXT_HEADER.NONE) {
      sa.counters.dummy++;
      return { ok: false, reason: ESP_DROP.DUMMY, spi: sa.spi, message: 'dummy packet (next header 59) discarded (RFC 4303 §2.6)' };
    }
    let family: 4 | 6;
    let inner: Uint8Array;
    try {
      if (u.nextHeader === NEXT_HEADER.IPV4) {
        Ipv4Codec.decode(u.payload);
        family = 4;
        inner = u.payload.subarray(0, (u.payload[2]! << 8) | u.payload[3]!);
      } else if (u.nextHeader === NEXT_HEADER.IPV6) {
        Ipv6Codec.decode(u.payload);
        family = 6;
        inner = u.payload.subarray(0, IPV6_HEADER_LEN + ((u.payload[4]! << 8) | u.payload[5]!));
      } else {
        sa.counters.badNextHeader++;
        return this.inboundDrop(sa, ESP_DROP.BAD_NEXT_HEADER, `next header ${u.nextHeader} is not 4 (IPv4), 41 (IPv6) or 59 in tunnel mode`);
      }
    } catch (err) {
      sa.counters.badInner++;
      return this.inboundDrop(sa, ESP_DROP.BAD_INNER, `inner packet does not decode: ${err instanceof Error ? err.message : String(err)}`);
    }
    sa.counters.decaps++;
    sa.counters.bytesIn += inner.length;
    return { ok: true, childId: sa.childId, spi: u.spi, sequence: u.sequence, family, inner, ...(outer ? { outer } : {}) };
  }

  /**
   * A received outer IP packet: raw ESP (protocol 50), or UDP whose payload the RFC 3948
   * rules classify as ESP. Keepalives and IKE come back as `not-esp` with their kind,
   * uncounted, for the caller to route.
   */
  receive(packet: Uint8Array): ReceiveResult {
    let src: IpAddress;
    let dst: IpAddress;
    let protocol: number;
    let payload: Uint8Array;
    try {
      const version = (packet[0] ?? 0) >> 4;
      if (version === 4) {
        const p = Ipv4Codec.decode(packet);
        if (!p.checksumValid) {
          this.counters.badOuter++;
          return { ok: false, reason: ESP_DROP.BAD_OUTER, message: 'outer IPv4 header checksum does not verify' };
        }
        if (isIpv4Fragment(p)) {
          this.counters.outerFragments++;
          return { ok: false, reason: ESP_DROP.OUTER_FRAGMENT, message: 'outer IPv4 fragment: reassemble before ESP processing' };
        }
        ({ src, dst, protocol, payload } = p);
      } else if (version === 6) {
        const p = Ipv6Codec.decode(packet);
        if (isIpv6Fragment(p)) {
          this.counters.outerFragments++;
          return { ok: false, reason: ESP_DROP.OUTER_FRAGMENT, message: 'outer IPv6 fragment: reassemble before ESP processing' };
        }
        ({ src, dst, protocol, payload } = p);
      } else {
        this.counters.badOuter++;
        return { ok: false, reason: ESP_DROP.BAD_OUTER, message: `IP version ${version} is neither 4 nor 6` };
      }
    } catch (err) {
      this.counters.badOuter++;
      return { ok: false, reason: ESP_DROP.BAD_OUTER, message: err instanceof Error ? err.message : String(err) };
    }
    if (protocol === IP_PROTOCOL.ESP) return this.receiveEsp(payload, { src, dst });
    if (protocol !== IP_PROTOCOL.UDP) {
      return { ok: false, reason: ESP_DROP.NOT_ESP, kind: 'other-protocol', message: `IP protocol ${protocol} is neither ESP nor UDP` };
    }
    let udp;
    try {
      udp = UdpCodec.decode(payload);
    } catch (err) {
      this.counters.badOuter++;
      return { ok: false, reason: ESP_DROP.BAD_OUTER, message: err instanceof Error ? err.message : String(err) };
    }
    const checksum = verifyUdpChecksum(src, dst, payload);
    if (checksum === 'invalid' || (checksum === 'zero' && src.family === 6)) {
      this.counters.badUdpChecksum++;
      return {
        ok: false,
        reason: ESP_DROP.BAD_UDP_CHECKSUM,
        message:
          checksum === 'zero'
            ? `UDP from ${formatIp(src)} over IPv6 with no checksum (RFC 8200 §8.1)`
            : `UDP checksum from ${formatIp(src)}:${udp.srcPort} does not verify`,
      };
    }
    const cls = classifyUdpPayload(udp.srcPort, udp.dstPort, udp.payload);
    if (cls.kind !== 'esp') {
      return { ok: false, reason: ESP_DROP.NOT_ESP, kind: cls.kind, message: `UDP payload is ${cls.kind}, not ESP` };
    }
    return this.receiveEsp(cls.esp, { src, dst, srcPort: udp.srcPort, dstPort: udp.dstPort });
  }
}
