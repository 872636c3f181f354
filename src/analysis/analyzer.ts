/**
 * The capture analyser: consumes capture entries (or ready dissections) one at a
 * time, in constant memory per IKE SA, ESP SPI and flow, and produces the report
 * (report.ts) with its findings.
 *
 *   const a = new CaptureAnalyzer({ natTimeoutUs, keys });
 *   a.beginCapture('outside.pcap');
 *   for await (const e of readCapture(chunks)) a.entry(e);
 *   a.endCapture();                      // or endCapture({ offset, reason }) when cut
 *   const report = a.finish();
 *
 * Several captures of the same traffic (e.g. both sides of a NAT) go through one
 * analyser in order; IKE SAs are matched across them by SPIs. `dissection()` is the
 * seam for sources that are not files (the replay of a capture through a simulated
 * NAT feeds the tap's packets here).
 */
import { ByteReader } from '../core/bytes.ts';
import { DecodeError } from '../core/errors.ts';
import { formatIp, type Endpoint, type IpAddress } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import type { CaptureEntry } from '../pcap/format.ts';
import type { PacketSink } from '../pcap/reader.ts';
import { IKE_PORT, NATT_PORT } from '../wire/udp-encap.ts';
import { HeaderFlag, NotifyType, PayloadType, ProtocolId } from '../wire/ike/constants.ts';
import { readIkeHeader } from '../wire/ike/header.ts';
import { decodeMessage, decodePayloadChain, type IkeMessage } from '../wire/ike/message.ts';
import type { Payload } from '../wire/ike/payload.ts';
import { readNatDetection } from '../wire/ike/payloads/notify.ts';
import { decodeIsakmpLenient } from '../wire/ikev1/message.ts';
import { OakleyAttr, OakleyHash } from '../wire/ikev1/constants.ts';
import { attributeNumber, findAttribute } from '../wire/ikev1/attributes.ts';
import { isZeroCookie } from '../wire/ikev1/header.ts';
import type { Ikev1Payload } from '../wire/ikev1/payloads/index.ts';
import { Dissector, dstEndpoint, isIkePortPair, srcEndpoint, type Dissection } from './dissect.ts';
import { openEsp, openIkeEncrypted } from './decrypt.ts';
import { EspState } from './esp-tracker.ts';
import { FINDING, finding, sortFindings } from './findings.ts';
import { FlowState } from './flows.ts';
import { IkeSaState, other, type IkeMessageView, type MarkerState } from './ike-sa.ts';
import { idText, payloadName, proposalText, tsText, v1ExchangeName, v2ExchangeName } from './ike-describe.ts';
import type { KeyRing } from './keys.ts';
import { algorithmForLength, evaluateNatd, type NatdContext, type LegEndpoints } from './natd.ts';
import { endpointText, isoTime, secondsOf, spi32Hex, spiHex } from './format.ts';
import {
  REPORT_SCHEMA_VERSION,
  type AnalysisReport,
  type CaptureCounts,
  type CaptureReport,
  type EspSaReport,
  type Finding,
  type IkeSaReport,
  type KeepaliveReport,
  type NatDetectionReport,
  type NatdAlgorithmName,
  type Role,
  type TruncationReport,
} from './report.ts';

export const DEFAULT_NAT_TIMEOUT_US: Micros = 30_000_000;
const MAX_FLOWS = 4096;
const MAX_ESP_SAS = 4096;
const MAX_IKE_SAS = 4096;
const MAX_FRAG_PAIRS = 256;
const SKF_MAX_PENDING = 8;
const SKF_MAX_FRAGMENTS = 64;

export interface AnalyzerOptions {
  /** NAT mapping lifetime to check keepalives and silences against. */
  readonly natTimeoutUs?: Micros;
  readonly keys?: KeyRing;
}

interface MutableCounts {
  ike: number;
  esp: number;
  keepalives: number;
  ipFragments: number;
  malformed: number;
  other: number;
}

interface CaptureState {
  readonly index: number;
  readonly file: string;
  format: 'pcap' | 'pcapng' | null;
  readonly linktypes: number[];
  packets: number;
  firstAt: Micros | undefined;
  lastAt: Micros | undefined;
  readonly counts: MutableCounts;
  truncated?: TruncationReport;
  dissector: Dissector;
  decodeErrors: number;
  readonly decodeErrorFrames: number[];
  firstDecodeError?: string;
  keepalivesOn500: number;
  readonly keepaliveOn500Frames: number[];
  /** Lookup caches of the packet fast path (see fastPacket); they hold no state of their own. */
  readonly fastFlows: Map<number, FastFlow>;
  readonly fastEsp: Map<number, FastEsp>;
}

/** A flow of this capture found by its IPv4 addresses and ports; `next` chains hash collisions. */
interface FastFlow {
  readonly srcIp: number;
  readonly srcPort: number;
  readonly dstIp: number;
  readonly dstPort: number;
  readonly flow: FlowState;
  next: FastFlow | undefined;
}

/** An ESP-in-UDP SA of this capture by SPI, with the text of the last source endpoint seen. */
interface FastEsp {
  readonly state: EspState;
  srcIp: number;
  srcPort: number;
  srcKey: string;
}

interface FragPair {
  readonly capture: number;
  readonly src: IpAddress;
  readonly dst: IpAddress;
  held: number;
  consumed: number;
  readonly frames: number[];
}

const ROLES = ['initiator', 'responder'] as const;

function looksLikeIke(b: Uint8Array): boolean {
  return looksLikeIkeAt(b, 0, b.length);
}

/** looksLikeIke over b[p, p + n). */
function looksLikeIkeAt(b: Uint8Array, p: number, n: number): boolean {
  if (n < 28) return false;
  const version = b[p + 17]!;
  const exch = b[p + 18]!;
  const len = ((b[p + 24]! << 24) >>> 0) + ((b[p + 25]! << 16) | (b[p + 26]! << 8) | b[p + 27]!);
  const v2 = version === 0x20 && exch >= 34 && exch <= 44;
  const v1 = version === 0x10 && ((exch >= 1 && exch <= 6) || exch === 32 || exch === 33);
  return (v2 || v1) && len === n;
}

function flowKey(capture: number, src: Endpoint, dst: Endpoint): string {
  return `${capture}|${endpointText(src)}|${endpointText(dst)}`;
}

function espKey(capture: number, spi: number, encap: 'udp' | 'none'): string {
  return `${capture}|${spi}|${encap}`;
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

/** A copy of the IPv4 address at b[o], as the IPv4 decoder makes it. */
function ipv4At(b: Uint8Array, o: number): IpAddress {
  return { family: 4, bytes: b.slice(o, o + 4) };
}

export class CaptureAnalyzer {
  readonly natTimeoutUs: Micros;
  private readonly keys: KeyRing | undefined;
  private readonly captures: CaptureState[] = [];
  private cur: CaptureState | undefined;
  private readonly sas: IkeSaState[] = [];
  private readonly saBySpiI = new Map<string, IkeSaState[]>();
  private readonly esp = new Map<string, EspState>();
  private espDropped = 0;
  private saDropped = 0;
  private flowsDropped = 0;
  private readonly flows = new Map<string, FlowState>();
  private readonly fragPairs = new Map<string, FragPair>();
  private finished: AnalysisReport | undefined;

  constructor(opts: AnalyzerOptions = {}) {
    this.natTimeoutUs = opts.natTimeoutUs ?? DEFAULT_NAT_TIMEOUT_US;
    this.keys = opts.keys;
  }

  beginCapture(file: string): void {
    if (this.cur) this.endCapture();
    this.cur = {
      index: this.captures.length,
      file,
      format: null,
      linktypes: [],
      packets: 0,
      firstAt: undefined,
      lastAt: undefined,
      counts: { ike: 0, esp: 0, keepalives: 0, ipFragments: 0, malformed: 0, other: 0 },
      dissector: new Dissector(),
      decodeErrors: 0,
      decodeErrorFrames: [],
      keepalivesOn500: 0,
      keepaliveOn500Frames: [],
      fastFlows: new Map(),
      fastEsp: new Map(),
    };
    this.captures.push(this.cur);
  }

  /** Ends the current capture; `truncated` when the file was cut or turned invalid after `offset`. */
  endCapture(truncated?: TruncationReport): void {
    if (!this.cur) return;
    if (truncated) this.cur.truncated = truncated;
    this.cur = undefined;
  }

  private capture(): CaptureState {
    if (!this.cur) this.beginCapture(`capture ${this.captures.length}`);
    return this.cur!;
  }

  /**
   * A PacketSink for pcap/reader: the common case, ESP-in-UDP or a NAT-keepalive on the
   * NAT-T port in an Ethernet/IPv4 frame, is analysed straight from the reader's buffer;
   * everything else comes back as a regular entry. The result is the same as passing
   * every packet to `entry`.
   */
  packetSink(): PacketSink {
    return this.sink;
  }

  private readonly sink: PacketSink = {
    packet: (b, start, end, index, linktype, at) => this.fastPacket(b, start, end, index, linktype, at),
  };

  /** One entry from pcap/reader: headers and interfaces are noted, packets dissected and analysed. */
  entry(e: CaptureEntry): void {
    const c = this.capture();
    if (e.kind === 'header') {
      c.format ??= e.format;
      return;
    }
    if (e.kind === 'interface') {
      if (!c.linktypes.includes(e.linktype)) c.linktypes.push(e.linktype);
      return;
    }
    this.dissection(c.dissector.dissect(e));
  }

  /** One dissected frame of the current capture. */
  dissection(d: Dissection): void {
    const c = this.capture();
    c.packets++;
    if (c.firstAt === undefined || d.timestampUs < c.firstAt) c.firstAt = d.timestampUs;
    if (c.lastAt === undefined || d.timestampUs > c.lastAt) c.lastAt = d.timestampUs;
    if (d.ip?.reassembledFrom) this.noteReassembled(c, d);
    switch (d.kind) {
      case 'ikev2':
      case 'ikev1': {
        this.touchFlow(c, d, false);
        const b = d.ikeBytes;
        if (d.udp && (d.udp.srcPort === IKE_PORT || d.udp.dstPort === IKE_PORT) && b && b.length >= 32 && b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0 && looksLikeIke(b.subarray(4))) {
          // The non-ESP marker on port 500: the message starts after it.
          this.ike(c, this.redissectIke(d, b.subarray(4), (d.ip?.payloadOffset ?? 0) + 12), 'on500');
          return;
        }
        this.ike(c, d, d.encap === 'nonesp' ? 'ok' : 'none');
        return;
      }
      case 'esp':
        if (d.encap === 'udp' && d.espBytes && looksLikeIke(d.espBytes)) {
          this.touchFlow(c, d, false);
          this.ike(c, this.redissectIke(d, d.espBytes, (d.espOffset ?? 0)), 'missing');
          return;
        }
        if (d.encap === 'udp') this.touchFlow(c, d, false);
        c.counts.esp++;
        this.espPacket(c, d);
        return;
      case 'keepalive':
        c.counts.keepalives++;
        this.touchFlow(c, d, true);
        return;
      case 'fragment':
        c.counts.ipFragments++;
        this.noteFragment(c, d);
        return;
      case 'unknown':
        if (this.unusualOn500(c, d)) return;
        this.decodeError(c, d);
        return;
      case 'not-ip':
      case 'ip':
      case 'udp':
        c.counts.other++;
        return;
    }
  }

  // ---- classification ----

  private decodeError(c: CaptureState, d: Dissection): void {
    c.counts.malformed++;
    c.decodeErrors++;
    if (c.decodeErrorFrames.length < 32) c.decodeErrorFrames.push(d.index);
    c.firstDecodeError ??= d.error ? `${d.error.layer}: ${d.error.field} at byte ${d.error.offset}: ${d.error.reason}` : d.detail ?? 'undecodable frame';
  }

  /** The marker or a keepalive on port 500 (classified as malformed by RFC 3948's rules). */
  private unusualOn500(c: CaptureState, d: Dissection): boolean {
    if (!d.udp || !d.ip || (d.udp.srcPort !== IKE_PORT && d.udp.dstPort !== IKE_PORT)) return false;
    const payload = d.ip.payload.subarray(8);
    if (payload.length === 1 && payload[0] === 0xff) {
      c.counts.keepalives++;
      c.keepalivesOn500++;
      if (c.keepaliveOn500Frames.length < 32) c.keepaliveOn500Frames.push(d.index);
      this.touchFlow(c, d, true);
      return true;
    }
    if (payload.length >= 32 && payload[0] === 0 && payload[1] === 0 && payload[2] === 0 && payload[3] === 0 && looksLikeIke(payload.subarray(4))) {
      this.touchFlow(c, d, false);
      this.ike(c, this.redissectIke(d, payload.subarray(4), d.ip.payloadOffset + 12), 'on500');
      return true;
    }
    return false;
  }

  /** Reads IKE bytes the RFC 3948 classifier did not take for IKE (marker missing or misplaced). */
  private redissectIke(d: Dissection, bytes: Uint8Array, offset: number): Dissection {
    const base = { ...d, ikeBytes: bytes, encap: 'none' as const };
    delete (base as { esp?: unknown }).esp;
    delete (base as { espBytes?: unknown }).espBytes;
    delete (base as { error?: unknown }).error;
    delete (base as { warnings?: unknown }).warnings;
    delete (base as { errors?: unknown }).errors;
    delete (base as { ikev2?: unknown }).ikev2;
    delete (base as { ikev1?: unknown }).ikev1;
    delete (base as { ikeHeader?: unknown }).ikeHeader;
    if (bytes[17]! >> 4 === 1) {
      const v1 = decodeIsakmpLenient(bytes, offset);
      return {
        ...base,
        kind: 'ikev1',
        ikev1: { ...(v1.header ? { header: v1.header } : {}), payloads: v1.payloads, encrypted: v1.encrypted !== undefined, ...(v1.message ? { message: v1.message } : {}) },
        ...(v1.errors.length ? { error: v1.errors[0]! } : {}),
      };
    }
    const header = readIkeHeader(new ByteReader(bytes, 'ikev2', offset));
    try {
      const m = decodeMessage(bytes, offset);
      return { ...base, kind: 'ikev2', ikeHeader: m.header, ikev2: m };
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return { ...base, kind: 'ikev2', ikeHeader: header, error: e };
    }
  }

  private noteFragment(c: CaptureState, d: Dissection): void {
    if (!d.src || !d.dst) return;
    const key = `${c.index}|${formatIp(d.src)}|${formatIp(d.dst)}`;
    let p = this.fragPairs.get(key);
    if (!p) {
      if (this.fragPairs.size >= MAX_FRAG_PAIRS) return;
      p = { capture: c.index, src: d.src, dst: d.dst, held: 0, consumed: 0, frames: [] };
      this.fragPairs.set(key, p);
    }
    p.held++;
    if (p.frames.length < 32) p.frames.push(d.index);
  }

  private noteReassembled(c: CaptureState, d: Dissection): void {
    const p = this.fragPairs.get(`${c.index}|${formatIp(d.ip!.src)}|${formatIp(d.ip!.dst)}`);
    if (p) p.consumed += d.ip!.reassembledFrom! - 1;
  }

  private touchFlow(c: CaptureState, d: Dissection, keepalive: boolean): void {
    const src = srcEndpoint(d);
    const dst = dstEndpoint(d);
    if (!src || !dst || !isIkePortPair(src.port, dst.port)) return;
    const key = flowKey(c.index, src, dst);
    let f = this.flows.get(key);
    if (!f) {
      if (this.flows.size >= MAX_FLOWS) {
        this.flowsDropped++;
        return;
      }
      f = new FlowState(c.index, src, dst, d.timestampUs);
      this.flows.set(key, f);
    }
    f.touch(d.timestampUs, d.index);
    if (keepalive) {
      f.keepalive(d.timestampUs, d.index);
      if (src.port === IKE_PORT || dst.port === IKE_PORT) f.kaOn500++;
    }
  }

  // ---- IKE ----

  private findSa(version: 1 | 2, spiI: Uint8Array, spiR: Uint8Array, v: Pick<IkeMessageView, 'capture' | 'frame' | 'at'>, create: boolean): IkeSaState | undefined {
    const key = `${version}|${spiHex(spiI)}`;
    const list = this.saBySpiI.get(key) ?? [];
    const zero = spiR.every((b) => b === 0);
    if (zero) {
      if (list.length) return list[list.length - 1];
    } else {
      const exact = list.find((s) => spiHex(s.spiR) === spiHex(spiR));
      if (exact) return exact;
      const open = list.find((s) => s.spiR.every((b) => b === 0));
      if (open) {
        open.spiR = new Uint8Array(spiR);
        return open;
      }
    }
    if (!create) return undefined;
    if (this.sas.length >= MAX_IKE_SAS) {
      this.saDropped++;
      return undefined;
    }
    const sa = new IkeSaState(this.sas.length, version, new Uint8Array(spiI), spiR, v);
    this.sas.push(sa);
    list.push(sa);
    this.saBySpiI.set(key, list);
    return sa;
  }

  private ike(c: CaptureState, d: Dissection, marker: MarkerState): void {
    if (!(d.kind === 'ikev2' && d.ikeHeader) && !(d.kind === 'ikev1' && d.ikev1?.header)) {
      this.decodeError(c, d);
      return;
    }
    c.counts.ike++;
    const src = srcEndpoint(d);
    const dst = dstEndpoint(d);
    if (!src || !dst || !d.ikeBytes) return;
    const at = d.timestampUs;
    const onNatt = src.port !== IKE_PORT && dst.port !== IKE_PORT;
    const ipFragmented = (d.ip?.reassembledFrom ?? 0) > 1;
    if (d.kind === 'ikev2' && d.ikeHeader) {
      const h = d.ikeHeader;
      const sa = this.findSa(2, h.spiI, h.spiR, { capture: c.index, frame: d.index, at }, true);
      if (!sa) return;
      const sender: Role = h.flags & HeaderFlag.I ? 'initiator' : 'responder';
      const response = (h.flags & HeaderFlag.R) !== 0;
      const exchange = v2ExchangeName(h.exchangeType);
      const view: IkeMessageView = { capture: c.index, frame: d.index, at, exchange, messageId: h.messageId, response, sender, src, dst, onNatt, marker, bytes: d.ikeBytes, ipFragmented };
      if (sa.onMessage(view)) return;
      if (!d.ikev2) {
        this.ikeMalformed(sa, d);
        return;
      }
      this.ikev2Payloads(sa, view, d.ikev2, d.ikev2.payloads, false);
      if (exchange === 'IKE_SA_INIT' && response) sa.natdDoneIn.add(c.index);
      return;
    }
    if (d.kind === 'ikev1' && d.ikev1?.header) {
      const h = d.ikev1.header;
      const sa = this.findSa(1, h.initiatorCookie, h.responderCookie, { capture: c.index, frame: d.index, at }, true);
      if (!sa) return;
      const sender = this.v1Sender(sa, c.index, src, dst, h.responderCookie);
      const exchange = v1ExchangeName(h.exchangeType);
      const view: IkeMessageView = { capture: c.index, frame: d.index, at, exchange, messageId: h.messageId, response: false, sender, src, dst, onNatt, marker, bytes: d.ikeBytes, ipFragmented };
      if (sa.onMessage(view)) return;
      if (d.error) this.ikeMalformed(sa, d);
      this.ikev1Payloads(sa, view, d.ikev1.payloads, h.initiatorCookie, h.responderCookie);
    }
  }

  private ikeMalformed(sa: IkeSaState, d: Dissection): void {
    sa.malformed++;
    if (sa.malformedFrames.length < 16) sa.malformedFrames.push(d.index);
  }

  private v1Sender(sa: IkeSaState, capture: number, src: Endpoint, dst: Endpoint, rcookie: Uint8Array): Role {
    if (sa.captures.size === 0 || isZeroCookie(rcookie)) return 'initiator';
    for (const r of ROLES) if (sa.hasEndpoint(r, capture, src)) return r;
    for (const r of ROLES) if (sa.hasEndpoint(r, capture, dst)) return other(r);
    for (const r of ROLES) if (sa.hasAddress(r, capture, formatIp(src.addr))) return r;
    for (const r of ROLES) if (sa.hasAddress(r, capture, formatIp(dst.addr))) return other(r);
    return 'initiator';
  }

  private ikev2Payloads(sa: IkeSaState, v: IkeMessageView, m: IkeMessage, payloads: readonly Payload[], encrypted: boolean): void {
    for (const p of payloads) {
      if (p.type === PayloadType.N) {
        const n = readNatDetection(p);
        if (n) {
          sa.addNatd({
            capture: v.capture,
            frame: v.frame,
            message: sa.label(v),
            sender: v.sender,
            kind: n.kind,
            carrier: `N(${n.kind === 'source' ? 'NAT_DETECTION_SOURCE_IP' : 'NAT_DETECTION_DESTINATION_IP'})`,
            encrypted,
            algorithm: 'SHA1',
            hash: new Uint8Array(n.hash),
            spiI: new Uint8Array(m.header.spiI),
            spiR: new Uint8Array(m.header.spiR),
            src: v.src,
            dst: v.dst,
          });
          sa.hashAlgorithm ??= 'SHA1';
        } else if (p.notifyType === NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) {
          sa.fragSupport.add(v.sender);
        }
      } else if (p.type === PayloadType.SK && !encrypted) {
        this.openSk(sa, v, m, p.body.length);
      } else if (p.type === PayloadType.SKF && !encrypted) {
        this.skfFragment(sa, v, m, p.body.length, p.fragmentNumber, p.totalFragments);
      }
    }
  }

  private openSk(sa: IkeSaState, v: IkeMessageView, m: IkeMessage, bodyLength: number): void {
    if (!this.keys) return;
    const k = this.keys.ikeKeys(sa.spiI, m.header.spiR);
    if (!k) {
      sa.noKey++;
      return;
    }
    const skOffset = m.header.length - 4 - bodyLength;
    const r = openIkeEncrypted(k, v.sender === 'initiator', v.bytes.subarray(0, m.header.length), skOffset, 4);
    if (!r.ok) {
      this.decryptFailure(sa, v, r.integrityFailed);
      return;
    }
    this.innerChain(sa, v, m, r.plaintext, r.firstInner, r.integrity);
  }

  private decryptFailure(sa: IkeSaState, v: IkeMessageView, integrity: boolean): void {
    if (integrity) sa.integrityFailed++;
    else sa.decryptFailed++;
    if (sa.decryptFrames.length < 16) sa.decryptFrames.push(v.frame);
  }

  private innerChain(sa: IkeSaState, v: IkeMessageView, m: IkeMessage, plaintext: Uint8Array, firstInner: number, integrity: 'ok' | 'failed', fragments?: number): void {
    let inner: Payload[];
    try {
      inner = decodePayloadChain(firstInner, plaintext);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      sa.decryptFailed++;
      if (sa.decryptFrames.length < 16) sa.decryptFrames.push(v.frame);
      return;
    }
    sa.decrypted++;
    if (integrity === 'failed') {
      sa.integrityFailed++;
      if (sa.integrityFrames.length < 16) sa.integrityFrames.push(v.frame);
    }
    sa.addDecrypted({
      capture: v.capture,
      frame: v.frame,
      exchange: v.exchange,
      messageId: v.messageId,
      response: v.response,
      sender: v.sender,
      integrity,
      payloads: inner.map(payloadName),
      ...(fragments !== undefined ? { fragments } : {}),
    });
    this.ikev2Payloads(sa, v, m, inner, true);
    this.childInfo(sa, v, inner);
  }

  private childInfo(sa: IkeSaState, v: IkeMessageView, inner: readonly Payload[]): void {
    let spi: string | null = null;
    let protocol: 'ESP' | 'AH' | undefined;
    let proposal: string | null = null;
    const tsi: string[] = [];
    const tsr: string[] = [];
    for (const p of inner) {
      if (p.type === PayloadType.IDi && v.sender === 'initiator') sa.ids.initiator ??= idText(p);
      else if (p.type === PayloadType.IDr && v.sender === 'responder') sa.ids.responder ??= idText(p);
      else if (p.type === PayloadType.IDr) {
        // IDr in a request names the responder the initiator wants; keep the responder's own.
      } else if (p.type === PayloadType.SA) {
        const first = p.proposals.find((pr) => (pr.protocolId === ProtocolId.ESP || pr.protocolId === ProtocolId.AH) && pr.spi.length === 4);
        if (first) {
          protocol = first.protocolId === ProtocolId.AH ? 'AH' : 'ESP';
          spi = spiHex(first.spi);
          proposal = v.response || p.proposals.length === 1 ? proposalText(first, protocol) : null;
        }
      } else if (p.type === PayloadType.TSi) {
        for (const s of p.selectors) tsi.push(tsText(s));
      } else if (p.type === PayloadType.TSr) {
        for (const s of p.selectors) tsr.push(tsText(s));
      }
    }
    if (!protocol) return;
    const requester = v.response ? other(v.sender) : v.sender;
    const key = `${v.capture}|${requester}|${v.messageId}`;
    let pc = sa.pendingChildren.get(key);
    if (!pc) {
      if (sa.pendingChildren.size >= 16) sa.pendingChildren.delete(sa.pendingChildren.keys().next().value!);
      pc = { initiatorSpi: null, responderSpi: null, protocol, proposal: null, tsi: [], tsr: [], exchange: v.exchange, messageId: v.messageId, capture: v.capture, frame: v.frame };
      sa.pendingChildren.set(key, pc);
    }
    if (v.sender === 'initiator') pc.initiatorSpi = spi;
    else pc.responderSpi = spi;
    if (proposal) pc.proposal = proposal;
    if (tsi.length && (v.response || pc.tsi.length === 0)) pc.tsi = tsi;
    if (tsr.length && (v.response || pc.tsr.length === 0)) pc.tsr = tsr;
  }

  private skfFragment(sa: IkeSaState, v: IkeMessageView, m: IkeMessage, bodyLength: number, num: number, total: number): void {
    sa.skfFragments++;
    const key = `${v.capture}|${v.sender}|${v.response ? 'R' : 'Q'}|${v.messageId}`;
    let a = sa.skf.get(key);
    if (!a) {
      if (sa.skf.size >= SKF_MAX_PENDING) {
        const oldest = sa.skf.keys().next().value!;
        const o = sa.skf.get(oldest)!;
        if (!o.done) sa.skfIncomplete++;
        sa.skf.delete(oldest);
      }
      sa.skfMessages++;
      a = { total, frames: [], parts: new Map(), firstInner: 0, integrity: 'ok', exchange: v.exchange, messageId: v.messageId, response: v.response, sender: v.sender, capture: v.capture, done: false };
      sa.skf.set(key, a);
    }
    if (a.done || num < 1 || num > a.total || a.parts.has(num) || a.parts.size >= SKF_MAX_FRAGMENTS) return;
    if (a.frames.length < 16) a.frames.push(v.frame);
    let plain: Uint8Array | null = null;
    if (this.keys) {
      const k = this.keys.ikeKeys(sa.spiI, m.header.spiR);
      if (!k) sa.noKey++;
      else {
        const r = openIkeEncrypted(k, v.sender === 'initiator', v.bytes.subarray(0, m.header.length), m.header.length - 8 - bodyLength, 8);
        if (r.ok) {
          plain = r.plaintext;
          if (num === 1) a.firstInner = r.firstInner;
          if (r.integrity === 'failed') a.integrity = 'failed';
        } else {
          this.decryptFailure(sa, v, r.integrityFailed);
        }
      }
    }
    a.parts.set(num, plain);
    if (a.parts.size === a.total) {
      a.done = true;
      const pieces = [...a.parts.entries()].sort((x, y) => x[0] - y[0]).map(([, b]) => b);
      if (pieces.every((b): b is Uint8Array => b !== null)) {
        const whole = new Uint8Array(pieces.reduce((n, b) => n + b.length, 0));
        let o = 0;
        for (const b of pieces) {
          whole.set(b, o);
          o += b.length;
        }
        sa.skfReassembled++;
        this.innerChain(sa, v, m, whole, a.firstInner, a.integrity, a.total);
      }
      a.parts.clear();
    }
  }

  private ikev1Payloads(sa: IkeSaState, v: IkeMessageView, payloads: readonly Ikev1Payload[], ckyI: Uint8Array, ckyR: Uint8Array): void {
    let natdIndex = 0;
    let sawNatd = false;
    for (const p of payloads) {
      if (p.kind === 'sa') {
        const proposal = p.proposals[0];
        if (proposal && proposal.transforms.length === 1) {
          const a = findAttribute(proposal.transforms[0]!.attributes, OakleyAttr.HASH_ALGORITHM);
          const alg = a ? oakleyHashAlgorithm(attributeNumber(a)) : undefined;
          if (alg && (v.sender === 'responder' || !sa.hashAlgorithm)) sa.hashAlgorithm = alg;
        }
      } else if (p.kind === 'nat-d') {
        sawNatd = true;
        const algorithm = sa.hashAlgorithm ?? algorithmForLength(p.data.length);
        const kind = natdIndex++ === 0 ? 'destination' : 'source';
        if (!algorithm) continue;
        sa.addNatd({
          capture: v.capture,
          frame: v.frame,
          message: sa.label(v),
          sender: v.sender,
          kind,
          carrier: `NAT-D (${p.type})`,
          encrypted: false,
          algorithm,
          hash: new Uint8Array(p.data),
          spiI: new Uint8Array(ckyI),
          spiR: new Uint8Array(ckyR),
          src: v.src,
          dst: v.dst,
        });
      }
    }
    if (sawNatd && v.sender === 'responder') sa.natdDoneIn.add(v.capture);
  }

  // ---- ESP ----

  private espPacket(c: CaptureState, d: Dissection): void {
    if (!d.esp || !d.src || !d.dst) return;
    const encap = d.encap === 'udp' ? 'udp' : 'none';
    const key = espKey(c.index, d.esp.spi, encap);
    const srcEp = srcEndpoint(d);
    const dstEp = dstEndpoint(d);
    const srcKey = encap === 'udp' && srcEp ? endpointText(srcEp) : formatIp(d.src);
    let s = this.esp.get(key);
    if (!s) {
      if (this.esp.size >= MAX_ESP_SAS) {
        this.espDropped++;
        return;
      }
      s = new EspState(c.index, d.esp.spi, encap, encap === 'udp' && srcEp ? srcEp : d.src, encap === 'udp' && dstEp ? dstEp : d.dst, srcKey, d.timestampUs, d.index);
      this.esp.set(key, s);
    }
    s.add(d.esp.sequence, d.esp.length, d.timestampUs, d.index, srcKey);
    if (!this.keys || !d.espBytes) return;
    const k = this.keys.espKeys(d.esp.spi, d.src, d.dst);
    if (!k) return;
    s.keyed = true;
    const r = openEsp(k, d.espBytes);
    if (r.ok) {
      s.decryptOk++;
      s.addInner(r.inner);
    } else if (r.icvFailed) {
      s.icvFailed++;
      if (s.icvFrames.length < 16) s.icvFrames.push(d.index);
    } else {
      s.decryptFailed++;
    }
  }

  // ---- fast path ----

  /**
   * Handles one packet from the reader's buffer when it is ESP-in-UDP or a keepalive
   * on the NAT-T port pair (neither port 500, one of them 4500) in an unfragmented
   * Ethernet/IPv4 frame with a 20-byte header and consistent lengths, and no keys are
   * loaded; returns false for anything else (before changing any state), which then
   * takes the regular path. What it does to the analyser is exactly what `entry` does
   * for such a packet: dissect.ts classifies it as 'esp' (encap 'udp') or 'keepalive',
   * then `dissection` counts it, touches its flow and (ESP) its SPI.
   */
  private fastPacket(b: Uint8Array, start: number, end: number, index: number, linktype: number, at: Micros): boolean {
    if (linktype !== 1 || this.keys !== undefined || end - start < 42) return false;
    // Ethernet II without VLAN tags, type IPv4.
    if (b[start + 12] !== 0x08 || b[start + 13] !== 0x00) return false;
    const ip = start + 14;
    // Version 4, IHL 5; the total length within the frame (Ethernet padding may follow).
    if (b[ip] !== 0x45) return false;
    const total = (b[ip + 2]! << 8) | b[ip + 3]!;
    if (total < 28 || total > end - ip) return false;
    // Not a fragment (MF clear, offset 0); UDP.
    if ((b[ip + 6]! & 0x3f) !== 0 || b[ip + 7] !== 0 || b[ip + 9] !== 17) return false;
    const u = ip + 20;
    const srcPort = (b[u]! << 8) | b[u + 1]!;
    const dstPort = (b[u + 2]! << 8) | b[u + 3]!;
    if (srcPort === IKE_PORT || dstPort === IKE_PORT || (srcPort !== NATT_PORT && dstPort !== NATT_PORT)) return false;
    const udpLen = (b[u + 4]! << 8) | b[u + 5]!;
    if (udpLen < 8 || udpLen > total - 20) return false;
    const p = u + 8;
    const n = udpLen - 8;
    let keepalive = false;
    if (n === 1 && b[p] === 0xff) keepalive = true;
    else if (n < 8 || (b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0)) return false;
    else if (looksLikeIkeAt(b, p, n)) return false;

    const c = this.capture();
    c.packets++;
    if (c.firstAt === undefined || at < c.firstAt) c.firstAt = at;
    if (c.lastAt === undefined || at > c.lastAt) c.lastAt = at;
    const srcIp = readU32(b, ip + 12);
    const dstIp = readU32(b, ip + 16);
    const flow = this.fastFlow(c, b, ip, srcIp, srcPort, dstIp, dstPort, at);
    if (keepalive) {
      c.counts.keepalives++;
      if (flow) {
        flow.touch(at, index);
        flow.keepalive(at, index);
      }
      return true;
    }
    if (flow) flow.touch(at, index);
    c.counts.esp++;
    const spi = readU32(b, p);
    let e = c.fastEsp.get(spi | 0);
    if (e === undefined) {
      const srcEp = { addr: ipv4At(b, ip + 12), port: srcPort };
      const srcKey = endpointText(srcEp);
      const key = espKey(c.index, spi, 'udp');
      let s = this.esp.get(key);
      if (!s) {
        if (this.esp.size >= MAX_ESP_SAS) {
          this.espDropped++;
          return true;
        }
        s = new EspState(c.index, spi, 'udp', srcEp, { addr: ipv4At(b, ip + 16), port: dstPort }, srcKey, at, index);
        this.esp.set(key, s);
      }
      e = { state: s, srcIp, srcPort, srcKey };
      c.fastEsp.set(spi | 0, e);
    } else if (e.srcIp !== srcIp || e.srcPort !== srcPort) {
      e.srcIp = srcIp;
      e.srcPort = srcPort;
      e.srcKey = endpointText({ addr: ipv4At(b, ip + 12), port: srcPort });
    }
    e.state.add(readU32(b, p + 4), n, at, index, e.srcKey);
    return true;
  }

  /** The flow `touchFlow` would find or create for these IPv4 endpoints (undefined when the table is full). */
  private fastFlow(c: CaptureState, b: Uint8Array, ip: number, srcIp: number, srcPort: number, dstIp: number, dstPort: number, at: Micros): FlowState | undefined {
    const h = (Math.imul(srcIp ^ (srcPort << 16), 0x9e3779b1) ^ Math.imul(dstIp ^ dstPort, 0x85ebca6b)) & 0x3fffffff;
    const head = c.fastFlows.get(h);
    for (let e = head; e !== undefined; e = e.next) {
      if (e.srcIp === srcIp && e.srcPort === srcPort && e.dstIp === dstIp && e.dstPort === dstPort) return e.flow;
    }
    const src = { addr: ipv4At(b, ip + 12), port: srcPort };
    const dst = { addr: ipv4At(b, ip + 16), port: dstPort };
    const key = flowKey(c.index, src, dst);
    let f = this.flows.get(key);
    if (!f) {
      if (this.flows.size >= MAX_FLOWS) {
        this.flowsDropped++;
        return undefined;
      }
      f = new FlowState(c.index, src, dst, at);
      this.flows.set(key, f);
    }
    c.fastFlows.set(h, { srcIp, srcPort, dstIp, dstPort, flow: f, next: head });
    return f;
  }

  // ---- report ----

  finish(): AnalysisReport {
    if (this.finished) return this.finished;
    this.endCapture();
    const findings: Finding[] = [];
    const captures = this.captures.map((c) => this.captureReport(c, findings));
    const saReports = this.sas.map((sa) => this.saReport(sa));
    const espReports = this.espReports(saReports);
    const { perSa, unattached } = this.keepaliveReports(saReports);
    const ikeSas = saReports.map((r, i) => ({ ...r, keepalives: perSa[i]! }));
    this.saFindings(ikeSas, findings);
    this.espFindings(ikeSas, espReports, findings);
    this.flowFindings(ikeSas, findings);
    this.keyFindings(findings);
    if (this.saDropped || this.espDropped || this.flowsDropped) {
      findings.push(
        finding({
          severity: 'warning',
          code: FINDING.TRACKING_LIMIT,
          message: `More conversations than the analyser tracks (${MAX_IKE_SAS} IKE SAs, ${MAX_ESP_SAS} ESP SPIs, ${MAX_FLOWS} flows): ${this.saDropped} IKE message(s), ${this.espDropped} ESP packet(s) and ${this.flowsDropped} flow packet(s) were left out; split the capture.`,
        }),
      );
    }
    const sorted = sortFindings(findings);
    this.finished = {
      schemaVersion: REPORT_SCHEMA_VERSION,
      options: { natTimeoutS: secondsOf(this.natTimeoutUs), keys: this.keys ? { ikeSas: this.keys.ikeCount, espSas: this.keys.espCount } : null },
      captures,
      ikeSas,
      espSas: espReports,
      unattachedKeepalives: unattached,
      findings: sorted,
      summary: {
        ikeSas: ikeSas.length,
        espSas: espReports.length,
        errors: sorted.filter((f) => f.severity === 'error').length,
        warnings: sorted.filter((f) => f.severity === 'warning').length,
        infos: sorted.filter((f) => f.severity === 'info').length,
      },
    };
    return this.finished;
  }

  private captureReport(c: CaptureState, findings: Finding[]): CaptureReport {
    const counts: CaptureCounts = { ...c.counts };
    if (c.truncated) {
      findings.push(
        finding({
          severity: 'error',
          code: FINDING.CAPTURE_TRUNCATED,
          message: `${c.file} ends inside a record at byte ${c.truncated.offset} (${c.truncated.reason}); the ${c.packets} frames before it were analysed.`,
          capture: c.index,
        }),
      );
    }
    if (c.decodeErrors > 0) {
      findings.push(
        finding({
          severity: 'warning',
          code: FINDING.DECODE_ERRORS,
          message: `${c.decodeErrors} frame(s) of ${c.file} could not be decoded; the first: ${c.firstDecodeError}.`,
          capture: c.index,
          frames: c.decodeErrorFrames,
        }),
      );
    }
    if (c.keepalivesOn500 > 0) {
      findings.push(
        finding({
          severity: 'warning',
          code: FINDING.KEEPALIVE_ON_500,
          message: `${c.keepalivesOn500} NAT-keepalive(s) sent with port 500: keepalives belong on the NAT-T port pair (RFC 3948 §2.3); on port 500 a receiver reads them as broken IKE.`,
          capture: c.index,
          frames: c.keepaliveOn500Frames,
        }),
      );
    }
    for (const p of this.fragPairs.values()) {
      if (p.capture !== c.index) continue;
      const lost = p.held - p.consumed;
      if (lost > 0) {
        findings.push(
          finding({
            severity: 'warning',
            code: FINDING.IP_FRAGMENTS_INCOMPLETE,
            message: `${lost} IP fragment(s) from ${formatIp(p.src)} to ${formatIp(p.dst)} never formed a whole packet: the other fragments were lost (NATs and firewalls often drop non-first fragments, which carry no ports).`,
            capture: c.index,
            frames: p.frames,
          }),
        );
      }
    }
    const out: CaptureReport = {
      index: c.index,
      file: c.file,
      format: c.format,
      linktypes: [...c.linktypes],
      packets: c.packets,
      firstTime: c.firstAt === undefined ? null : isoTime(c.firstAt),
      lastTime: c.lastAt === undefined ? null : isoTime(c.lastAt),
      durationS: c.firstAt === undefined || c.lastAt === undefined ? null : secondsOf(c.lastAt - c.firstAt),
      counts,
    };
    return c.truncated ? { ...out, truncated: { ...c.truncated } } : out;
  }

  private natdContext(sa: IkeSaState): NatdContext {
    const conv = (m: Map<number, { on500: Map<string, Endpoint>; on4500: Map<string, Endpoint> }>) => {
      const out = new Map<number, LegEndpoints>();
      for (const [c, l] of m) out.set(c, { on500: [...l.on500.values()], on4500: [...l.on4500.values()] });
      return out;
    };
    return { endpoints: { initiator: conv(sa.endpoints.initiator), responder: conv(sa.endpoints.responder) } };
  }

  private legsOf(sa: IkeSaState, role: Role): { on500: string[]; on4500: string[] } {
    const on500 = new Set<string>();
    const on4500 = new Set<string>();
    for (const l of sa.endpoints[role].values()) {
      for (const k of l.on500.keys()) on500.add(k);
      for (const k of l.on4500.keys()) on4500.add(k);
    }
    return { on500: [...on500], on4500: [...on4500] };
  }

  private saReport(sa: IkeSaState): Omit<IkeSaReport, 'keepalives'> & { keepalives: KeepaliveReport[] } {
    // SKF messages still waiting for fragments are incomplete.
    let incomplete = sa.skfIncomplete;
    for (const a of sa.skf.values()) if (!a.done) incomplete++;
    const childSas = [...sa.childSas];
    for (const pc of sa.pendingChildren.values()) {
      if (childSas.length >= 64) break;
      childSas.push({
        exchange: pc.exchange,
        messageId: pc.messageId,
        capture: pc.capture,
        frame: pc.frame,
        protocol: pc.protocol,
        initiatorSpi: pc.initiatorSpi,
        responderSpi: pc.responderSpi,
        proposal: pc.proposal,
        tsi: pc.tsi,
        tsr: pc.tsr,
      });
    }
    const natDetection: NatDetectionReport = evaluateNatd(sa.natd, this.natdContext(sa), sa.hashAlgorithm, sa.natdOmitted);
    return {
      index: sa.index,
      version: sa.version,
      spiI: spiHex(sa.spiI),
      spiR: spiHex(sa.spiR),
      initiator: sa.initiatorFirst ? endpointText(sa.initiatorFirst) : null,
      responder: sa.responderFirst ? endpointText(sa.responderFirst) : null,
      initiatorEndpoints: this.legsOf(sa, 'initiator'),
      responderEndpoints: this.legsOf(sa, 'responder'),
      captures: [...sa.captures].sort((a, b) => a - b),
      firstFrame: { capture: sa.firstCapture, frame: sa.firstFrame },
      firstTime: isoTime(sa.firstAt),
      lastTime: isoTime(sa.lastAt),
      messages: sa.messages,
      exchanges: sa.exchanges(),
      retransmissions: sa.retransmissions,
      retransmitted: sa.retransmitted(),
      unanswered: sa.unanswered(),
      natDetection,
      startedOn4500: sa.startedOn4500 ?? false,
      floatedTo4500: sa.floated,
      firstMessageOn4500: sa.firstOn4500?.exchange ?? null,
      firstMessageOn4500Detail: sa.firstOn4500 ?? null,
      marker: { ...sa.marker },
      ipFragmentedMessages: sa.ipFragmented,
      ikeFragmentation: {
        supportedBy: ROLES.filter((r) => sa.fragSupport.has(r)),
        messages: sa.skfMessages,
        fragments: sa.skfFragments,
        reassembled: sa.skfReassembled,
        incomplete,
      },
      keepalives: [],
      decryption: this.keys ? { decrypted: sa.decrypted, integrityFailed: sa.integrityFailed, failed: sa.decryptFailed, noKey: sa.noKey } : null,
      ids: { ...sa.ids },
      childSas,
      decryptedMessages: [...sa.decryptedMessages],
      decryptedMessagesOmitted: sa.decryptedOmitted,
      malformed: sa.malformed,
    };
  }

  /** The SA and role whose endpoints (in that capture) are this flow's source and destination. */
  private saForPair(capture: number, src: Endpoint | IpAddress, dst: Endpoint | IpAddress): { sa: IkeSaState; from: Role } | undefined {
    const isEp = (x: Endpoint | IpAddress): x is Endpoint => 'port' in x;
    for (const sa of this.sas) {
      if (!sa.captures.has(capture)) continue;
      for (const r of ROLES) {
        const s = isEp(src) ? sa.hasEndpoint(r, capture, src) : sa.hasAddress(r, capture, formatIp(src));
        const d = isEp(dst) ? sa.hasEndpoint(other(r), capture, dst) : sa.hasAddress(other(r), capture, formatIp(dst));
        if (s && d) return { sa, from: r };
      }
    }
    return undefined;
  }

  private keepaliveReports(sas: readonly { index: number }[]): { perSa: KeepaliveReport[][]; unattached: KeepaliveReport[] } {
    const perSa: KeepaliveReport[][] = sas.map(() => []);
    const unattached: KeepaliveReport[] = [];
    for (const f of this.flows.values()) {
      if (f.kaCount === 0) continue;
      const owner = this.saForPair(f.capture, f.src, f.dst);
      const n = f.kaCount - 1;
      const r: KeepaliveReport = {
        from: owner?.from ?? null,
        endpoint: endpointText(f.src),
        to: endpointText(f.dst),
        capture: f.capture,
        count: f.kaCount,
        meanIntervalS: n > 0 ? secondsOf(f.kaSumGapUs / n) : null,
        maxIntervalS: n > 0 ? secondsOf(f.kaMaxGapUs) : null,
        minIntervalS: n > 0 ? secondsOf(f.kaMinGapUs) : null,
        firstTime: isoTime(f.kaFirstAt),
        lastTime: isoTime(f.kaLastAt),
        frames: [...f.kaFrames],
      };
      if (owner) perSa[owner.sa.index]!.push(r);
      else unattached.push(r);
    }
    return { perSa, unattached };
  }

  private espReports(sas: readonly Omit<IkeSaReport, 'keepalives'>[]): EspSaReport[] {
    const out: EspSaReport[] = [];
    for (const s of this.espOrder()) {
      const spi = spi32Hex(s.spi);
      let childSa: EspSaReport['childSa'] = null;
      let direction: EspSaReport['direction'] = null;
      let ikeSa: number | null = null;
      for (const sa of sas) {
        const c = sa.childSas.find((x) => x.initiatorSpi === spi || x.responderSpi === spi);
        if (!c) continue;
        const chosenBy: Role = c.initiatorSpi === spi ? 'initiator' : 'responder';
        childSa = { ikeSa: sa.index, exchange: c.exchange, messageId: c.messageId, chosenBy };
        direction = chosenBy === 'initiator' ? 'responder-to-initiator' : 'initiator-to-responder';
        ikeSa = sa.index;
        break;
      }
      if (ikeSa === null) {
        const owner = this.saForPair(s.capture, s.src, s.dst);
        if (owner) {
          ikeSa = owner.sa.index;
          direction = owner.from === 'initiator' ? 'initiator-to-responder' : 'responder-to-initiator';
        }
      }
      const isEp = (x: Endpoint | IpAddress): x is Endpoint => 'port' in x;
      out.push({
        spi,
        capture: s.capture,
        encapsulation: s.encapsulation,
        src: isEp(s.src) ? endpointText(s.src) : formatIp(s.src),
        dst: isEp(s.dst) ? endpointText(s.dst) : formatIp(s.dst),
        packets: s.packets,
        bytes: s.bytes,
        firstSeq: s.firstSeq,
        lastSeq: s.lastSeq,
        maxSeq: s.maxSeq,
        gaps: s.gaps,
        replays: s.replays,
        outOfWindow: s.outOfWindow,
        endpointChanges: s.endpointChanges,
        firstTime: isoTime(s.firstAt),
        lastTime: isoTime(s.lastAt),
        ikeSa,
        direction,
        childSa,
        decrypted: s.keyed ? { ok: s.decryptOk, icvFailed: s.icvFailed, failed: s.decryptFailed, inner: Object.fromEntries(s.inner) } : null,
      });
    }
    return out;
  }

  /** ESP states in report order (espReports and espFindings both walk this). */
  private espOrder(): EspState[] {
    return [...this.esp.values()];
  }

  // ---- findings ----

  private natdFrames(sa: IkeSaReport): { capture: number | null; frames: number[] } {
    const first = sa.natDetection.hashes[0];
    if (!first) return { capture: sa.firstFrame.capture, frames: [sa.firstFrame.frame] };
    return { capture: first.capture, frames: sa.natDetection.hashes.filter((h) => h.capture === first.capture).map((h) => h.frame) };
  }

  private saFindings(sas: readonly IkeSaReport[], out: Finding[]): void {
    for (const sa of sas) {
      const st = this.sas[sa.index]!;
      const nd = sa.natDetection;
      const base = { ikeSa: sa.index };
      const where = this.natdFrames(sa);
      const natSeen = nd.initiatorBehindNat === true || nd.responderBehindNat === true;
      const name = `IKEv${sa.version} SA ${sa.spiI}`;
      if (natSeen) {
        const who = [nd.initiatorBehindNat ? `the initiator (${sa.initiator})` : '', nd.responderBehindNat ? `the responder (${sa.responder})` : ''].filter(Boolean).join(' and ');
        out.push(finding({ ...base, ...where, severity: 'info', code: FINDING.NAT_DETECTED, message: `${name}: NAT-D shows ${who} behind NAT.` }));
      } else if (nd.initiatorBehindNat === false && nd.responderBehindNat === false) {
        out.push(finding({ ...base, ...where, severity: 'info', code: FINDING.NO_NAT_DETECTED, message: `${name}: NAT-D shows no NAT between the peers${nd.fake ? ' (apart from a fake source hash)' : ''}.` }));
      } else if (sa.version === 2 && (sa.exchanges['IKE_SA_INIT request'] ?? 0) > 0) {
        out.push(finding({ ...base, capture: sa.firstFrame.capture, frames: [sa.firstFrame.frame], severity: 'info', code: FINDING.NO_NAT_DETECTION, message: `${name}: IKE_SA_INIT carries no NAT_DETECTION notifies: NAT traversal was not negotiated, so no side will float to 4500 or send keepalives.` }));
      }
      if (!nd.consistent) {
        out.push(finding({ ...base, ...where, severity: 'warning', code: FINDING.NATD_INCONSISTENT, message: `${name}: ${nd.explanation[0]}` }));
      }
      for (const s of nd.fakeSenders) {
        const hs = nd.hashes.filter((h) => h.sender === s && h.status === 'fake');
        out.push(
          finding({
            ...base,
            capture: hs[0]?.capture ?? null,
            frames: hs.filter((h) => h.capture === hs[0]?.capture).map((h) => h.frame),
            severity: 'warning',
            code: FINDING.NATD_FAKE_SOURCE,
            message: `${name}: fake NAT_DETECTION_SOURCE_IP from the ${s}. ${hs[0]?.explanation ?? ''} Its peer concludes that the ${s} is behind NAT${nd[s === 'initiator' ? 'initiatorBehindNat' : 'responderBehindNat'] ? ' (true here, but not because of this hash)' : ', which is not so'}; expect the float to 4500 and ESP in UDP even without a NAT.`,
          }),
        );
      }
      if (sa.startedOn4500) {
        out.push(finding({ ...base, capture: sa.firstFrame.capture, frames: [sa.firstFrame.frame], severity: 'info', code: FINDING.STARTED_ON_4500, message: `${name} starts directly on the NAT-T port pair with the non-ESP marker (allowed by RFC 7296 §2.23), so there is no float.` }));
      }
      if (nd.consistent && (natSeen || nd.fake) && !sa.floatedTo4500 && !sa.startedOn4500 && st.afterNatdOn500 > 0) {
        out.push(
          finding({
            ...base,
            capture: sa.firstFrame.capture,
            frames: st.afterNatdOn500Frames,
            severity: 'warning',
            code: FINDING.FLOAT_MISSING,
            message: `${name}: NAT-D ${natSeen ? 'found a NAT' : 'was faked to force encapsulation'}, but ${st.afterNatdOn500} later IKE message(s) stayed on port 500; RFC 7296 §2.23 / RFC 3947 §4 move IKE to UDP 4500 after detecting a NAT.`,
          }),
        );
      }
      if (sa.floatedTo4500 && !natSeen && !nd.fake && nd.initiatorBehindNat === false) {
        out.push(finding({ ...base, capture: sa.firstMessageOn4500Detail?.capture ?? null, frames: sa.firstMessageOn4500Detail ? [sa.firstMessageOn4500Detail.frame] : [], severity: 'info', code: FINDING.FLOAT_WITHOUT_NAT, message: `${name} moved to port 4500 although every NAT-D hash matches: UDP encapsulation is forced by configuration.` }));
      }
      if (sa.marker.missing > 0) {
        out.push(finding({ ...base, capture: st.markerFrames.capture, frames: st.markerFrames.missing, severity: 'error', code: FINDING.MARKER_MISSING, message: `${name}: ${sa.marker.missing} IKE message(s) on the NAT-T port pair without the 4-byte non-ESP marker (RFC 3948 §2.2): a receiver reads them as ESP with SPI 0x${sa.spiI.slice(0, 8)} and drops them.` }));
      }
      if (sa.marker.on500 > 0) {
        out.push(finding({ ...base, capture: st.markerFrames.capture, frames: st.markerFrames.on500, severity: 'error', code: FINDING.MARKER_ON_500, message: `${name}: ${sa.marker.on500} IKE message(s) on port 500 carry the non-ESP marker, which is only used when neither port is 500 (RFC 3948 §2.2): the receiver sees an IKE SPI of zero and drops them.` }));
      }
      const fragUnanswered = sa.unanswered.filter((r) => r.ipFragmented);
      for (const r of fragUnanswered) {
        const hint = sa.ikeFragmentation.supportedBy.length === 2 ? 'both peers announced IKEV2_FRAGMENTATION_SUPPORTED, so force it (strongSwan: fragmentation=force)' : 'enable it on both peers (strongSwan: fragmentation=yes; it is announced with IKEV2_FRAGMENTATION_SUPPORTED)';
        out.push(
          finding({
            ...base,
            capture: r.capture,
            frames: r.frames,
            severity: natSeen ? 'error' : 'warning',
            code: FINDING.IKE_FRAGMENTED_UNANSWERED,
            message: `${name}: the ${r.message} (message ID ${r.messageId}) arrived in IP fragments${r.retransmissions ? `, was sent ${r.retransmissions + 1} times` : ''} and was never answered${natSeen ? ' — NATs often drop IP fragments (the non-first ones carry no ports)' : ''}. Use IKE fragmentation (RFC 7383) so no IKE datagram exceeds the path MTU: ${hint}.`,
          }),
        );
      }
      for (const r of sa.unanswered) {
        if (r.ipFragmented || r.retransmissions === 0) continue;
        out.push(finding({ ...base, capture: r.capture, frames: r.frames, severity: 'error', code: FINDING.RETRANSMITTED_UNANSWERED, message: `${name}: the ${r.message} (message ID ${r.messageId}) from the ${r.sender} was retransmitted ${r.retransmissions} time(s) and never answered: the peer is unreachable, or its replies are lost on the way back (check the NAT mapping and firewalls).` }));
      }
      const answeredRetx = sa.retransmitted.filter((r) => r.answered);
      if (answeredRetx.length) {
        out.push(finding({ ...base, capture: answeredRetx[0]!.capture, frames: answeredRetx.flatMap((r) => (r.capture === answeredRetx[0]!.capture ? r.frames : [])), severity: 'info', code: FINDING.RETRANSMISSIONS, message: `${name}: ${answeredRetx.length} request(s) needed retransmissions before an answer came (${answeredRetx.map((r) => `${r.message} ×${r.retransmissions + 1}`).join(', ')}).` }));
      }
      if (sa.ipFragmentedMessages > 0 && fragUnanswered.length === 0) {
        out.push(finding({ ...base, capture: sa.firstFrame.capture, frames: st.ipFragmentedFrames, severity: natSeen ? 'warning' : 'info', code: FINDING.IKE_IP_FRAGMENTED, message: `${name}: ${sa.ipFragmentedMessages} IKE message(s) arrived in IP fragments${natSeen ? '; behind a NAT, fragments are easily lost — IKE fragmentation (RFC 7383) avoids them' : ''}.` }));
      }
      if (sa.ikeFragmentation.incomplete > 0) {
        out.push(finding({ ...base, capture: sa.firstFrame.capture, severity: 'warning', code: FINDING.IKE_FRAGMENTS_INCOMPLETE, message: `${name}: ${sa.ikeFragmentation.incomplete} message(s) sent with IKE fragmentation (RFC 7383) are missing fragments.` }));
      }
      if (sa.malformed > 0) {
        out.push(finding({ ...base, capture: sa.firstFrame.capture, frames: st.malformedFrames, severity: 'warning', code: FINDING.IKE_MALFORMED, message: `${name}: ${sa.malformed} message(s) whose payloads do not decode.` }));
      }
      if (sa.decryption) {
        if (sa.decryption.integrityFailed > 0) {
          out.push(finding({ ...base, capture: sa.firstFrame.capture, frames: st.integrityFrames, severity: 'warning', code: FINDING.IKE_ICV_FAILED, message: `${name}: ${sa.decryption.integrityFailed} encrypted message(s) whose ICV does not verify with the given SK_a keys${sa.decryption.decrypted ? ' (CBC contents shown anyway)' : ''}.` }));
        }
        if (sa.decryption.failed > 0) {
          out.push(finding({ ...base, capture: sa.firstFrame.capture, frames: st.decryptFrames, severity: 'error', code: FINDING.IKE_DECRYPT_FAILED, message: `${name}: ${sa.decryption.failed} encrypted message(s) could not be decrypted with the given keys.` }));
        }
        if (sa.decryption.noKey > 0) {
          out.push(finding({ ...base, capture: sa.firstFrame.capture, severity: 'info', code: FINDING.IKE_NO_KEY, message: `${name}: no ikev2_decryption_table row for SPIs ${sa.spiI}/${sa.spiR}; ${sa.decryption.noKey} encrypted message(s) left closed.` }));
        }
      }
    }
  }

  private espFindings(sas: readonly IkeSaReport[], esp: readonly EspSaReport[], out: Finding[]): void {
    const states = this.espOrder();
    for (const [i, e] of esp.entries()) {
      const st = states[i]!;
      const sa = e.ikeSa !== null ? sas[e.ikeSa] : undefined;
      const natSeen = sa ? sa.natDetection.initiatorBehindNat === true || sa.natDetection.responderBehindNat === true : false;
      const base = { capture: e.capture, espSpi: e.spi, ikeSa: e.ikeSa };
      const label = `ESP SPI 0x${e.spi} (${e.src} → ${e.dst})`;
      if (e.encapsulation === 'none' && natSeen) {
        out.push(finding({ ...base, frames: st.frames, severity: 'error', code: FINDING.ESP_RAW_BEHIND_NAT, message: `${label} is sent raw (IP protocol 50) although NAT-D found a NAT: ESP has no ports, so it will not cross a NAT doing port translation (PAT); RFC 3948 UDP encapsulation on port 4500 was expected.` }));
      }
      if (e.encapsulation === 'udp' && sa && !natSeen && sa.natDetection.initiatorBehindNat === false) {
        out.push(finding({ ...base, frames: st.frames.slice(0, 1), severity: 'info', code: FINDING.ESP_UDP_WITHOUT_NAT, message: `${label} is UDP-encapsulated although NAT-D shows no NAT${sa.natDetection.fake ? ': encapsulation forced by a fake NAT-D source hash' : ': encapsulation forced by configuration'}.` }));
      }
      if (e.gaps > 0) {
        out.push(finding({ ...base, frames: st.gapFrames, severity: 'warning', code: FINDING.ESP_SEQUENCE_GAP, message: `${label}: ${e.gaps} sequence number(s) between ${st.minSeq} and ${e.maxSeq} never appear (lost before the capture point, or captured elsewhere).` }));
      }
      if (e.replays > 0) {
        out.push(finding({ ...base, frames: st.replayFrames, severity: 'warning', code: FINDING.ESP_REPLAY, message: `${label}: ${e.replays} packet(s) repeat a sequence number already seen; an RFC 4303 receiver with anti-replay drops them.` }));
      }
      if (e.decrypted && e.decrypted.icvFailed > 0) {
        out.push(finding({ ...base, frames: st.icvFrames, severity: 'error', code: FINDING.ESP_ICV_FAILED, message: `${label}: ${e.decrypted.icvFailed} packet(s) fail ICV verification with the given esp_sa key.` }));
      }
      if (this.keys && !e.decrypted) {
        out.push(finding({ ...base, frames: [], severity: 'info', code: FINDING.ESP_NO_KEY, message: `${label}: no esp_sa row for this SPI; packets left closed.` }));
      }
    }
  }

  private flowFindings(sas: readonly IkeSaReport[], out: Finding[]): void {
    const timeoutS = secondsOf(this.natTimeoutUs);
    const flagged = new Set<string>();
    for (const sa of sas) {
      const nd = sa.natDetection;
      for (const k of sa.keepalives) {
        const f = this.flows.get(`${k.capture}|${k.endpoint}|${k.to}`)!;
        if (k.maxIntervalS !== null && k.maxIntervalS > timeoutS) {
          flagged.add(`${k.capture}|${k.endpoint}|${k.to}`);
          out.push(finding({ capture: k.capture, frames: [f.kaMaxGapFrame], ikeSa: sa.index, severity: 'warning', code: FINDING.KEEPALIVE_INTERVAL_TOO_LONG, message: `Keepalives from the ${k.from} (${k.endpoint}) are up to ${k.maxIntervalS.toFixed(3)} s apart, longer than the NAT timeout of ${timeoutS} s: the NAT mapping can expire between them, and the peer's packets would then be dropped.` }));
        }
        const behind = k.from === 'initiator' ? nd.initiatorBehindNat : k.from === 'responder' ? nd.responderBehindNat : null;
        if (behind === false && !(k.from && nd.fakeSenders.includes(k.from))) {
          out.push(finding({ capture: k.capture, frames: k.frames, ikeSa: sa.index, severity: 'info', code: FINDING.KEEPALIVE_FROM_NON_NAT_SIDE, message: `The ${k.from} (${k.endpoint}) sends NAT-keepalives although NAT-D shows it is not behind NAT; only the side behind a NAT needs them (RFC 3948 §2.3).` }));
        }
      }
      // The side behind NAT silent for longer than the timeout on its NAT-T flow.
      for (const role of ROLES) {
        const behind = role === 'initiator' ? nd.initiatorBehindNat : nd.responderBehindNat;
        if (!behind) continue;
        const st = this.sas[sa.index]!;
        for (const f of this.flows.values()) {
          const key = `${f.capture}|${endpointText(f.src)}|${endpointText(f.dst)}`;
          if (flagged.has(key) || f.src.port === IKE_PORT || f.dst.port === IKE_PORT) continue;
          if (!st.hasEndpoint(role, f.capture, f.src) || !st.hasEndpoint(other(role), f.capture, f.dst)) continue;
          if (f.maxGapUs > this.natTimeoutUs) {
            out.push(finding({ capture: f.capture, frames: [f.maxGapFrame], ikeSa: sa.index, severity: 'warning', code: FINDING.NAT_MAPPING_MAY_EXPIRE, message: `The ${role} is behind NAT but sent nothing from ${endpointText(f.src)} for ${secondsOf(f.maxGapUs).toFixed(3)} s, longer than the NAT timeout of ${timeoutS} s: the mapping may have expired (send NAT-keepalives more often than the timeout).` }));
          }
        }
      }
    }
  }

  private keyFindings(out: Finding[]): void {
    if (!this.keys || this.keys.unusable.length === 0) return;
    const rows = this.keys.unusable.map((u) => `${u.table} line ${u.line}: ${u.reason}`).join('; ');
    out.push(finding({ severity: 'warning', code: FINDING.KEYS_UNUSABLE, message: `Some key rows cannot be used: ${rows}.` }));
  }
}

function oakleyHashAlgorithm(v: number | undefined): NatdAlgorithmName | undefined {
  switch (v) {
    case OakleyHash.MD5:
      return 'MD5';
    case OakleyHash.SHA:
      return 'SHA1';
    case OakleyHash.SHA2_256:
      return 'SHA2-256';
    case OakleyHash.SHA2_384:
      return 'SHA2-384';
    case OakleyHash.SHA2_512:
      return 'SHA2-512';
    default:
      return undefined;
  }
}

