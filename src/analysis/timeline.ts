/**
 * The timeline of one or more captures: every IKE message with its time, endpoints
 * and payload names, and ESP and NAT-keepalive traffic summarised per flow. The
 * report (report.ts) keeps verdicts and counts; the timeline keeps the order of
 * events, which the explain narrative (explain.ts) and the ladder diagram
 * (ladder.ts) need.
 *
 *   const t = new TimelineRecorder();
 *   t.beginCapture('outside.pcap');
 *   for await (const e of readCapture(chunks)) t.entry(e);
 *   const timeline = t.finish();
 *
 * It takes the same entries (or dissections) as CaptureAnalyzer, so simulated taps
 * can be fed to both. Memory is bounded: at most MAX_TIMELINE_IKE messages (the rest
 * are counted) and MAX_TIMELINE_FLOWS ESP and keepalive flows.
 */
import { formatIp } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import type { CaptureEntry } from '../pcap/format.ts';
import { HeaderFlag } from '../wire/ike/constants.ts';
import { IKE_PORT } from '../wire/udp-encap.ts';
import { Dissector, dstEndpoint, srcEndpoint, type Dissection } from './dissect.ts';
import { payloadName, v1ExchangeName, v2ExchangeName } from './ike-describe.ts';
import { endpointText, spi32Hex, spiHex } from './format.ts';

export const MAX_TIMELINE_IKE = 1000;
export const MAX_TIMELINE_FLOWS = 1024;

export interface TimelineCapture {
  readonly index: number;
  readonly name: string;
  readonly packets: number;
  readonly firstAt: Micros | null;
  readonly lastAt: Micros | null;
}

/** One IKE message as one capture saw it. */
export interface IkeObservation {
  readonly capture: number;
  readonly frame: number;
  readonly at: Micros;
  readonly src: string;
  readonly dst: string;
  readonly version: 1 | 2;
  readonly spiI: string;
  readonly spiR: string;
  readonly exchange: string;
  readonly messageId: number;
  /** IKEv2: the R flag. IKEv1: null (ISAKMP has no such flag). */
  readonly response: boolean | null;
  /** IKEv2: the I flag (sent by the original initiator). IKEv1: null. */
  readonly fromInitiator: boolean | null;
  /** Neither port is 500. */
  readonly onNatt: boolean;
  /** Sent behind the 4-byte non-ESP marker (RFC 3948 §2.2). */
  readonly nonEspMarker: boolean;
  readonly length: number;
  /** Top-level payloads: "SA", "KE", "NONCE", "N(NAT_DETECTION_SOURCE_IP)", "SK", "NAT-D", ... */
  readonly payloads: readonly string[];
}

/** ESP of one SPI between two endpoints in one capture. */
export interface EspFlow {
  readonly capture: number;
  readonly spi: string;
  readonly encapsulation: 'udp' | 'none';
  /** address:port for UDP encapsulation, the bare address for IP protocol 50. */
  readonly src: string;
  readonly dst: string;
  readonly packets: number;
  readonly firstFrame: number;
  readonly firstAt: Micros;
  readonly lastAt: Micros;
  /** Sequence numbers of the first and last packet, and the range seen (0 when not captured). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly minSeq: number;
  readonly maxSeq: number;
}

/** NAT-keepalives between two endpoints in one capture. */
export interface KeepaliveFlow {
  readonly capture: number;
  readonly src: string;
  readonly dst: string;
  readonly count: number;
  readonly firstFrame: number;
  readonly firstAt: Micros;
  readonly lastAt: Micros;
  /** Largest spacing between consecutive keepalives (0 for one). */
  readonly maxGapUs: Micros;
}

export interface CaptureTimeline {
  readonly captures: readonly TimelineCapture[];
  /** In capture order, then frame order. */
  readonly ike: readonly IkeObservation[];
  readonly ikeOmitted: number;
  readonly esp: readonly EspFlow[];
  readonly keepalives: readonly KeepaliveFlow[];
  readonly flowsOmitted: number;
}

interface MutableCapture {
  index: number;
  name: string;
  packets: number;
  firstAt: Micros | null;
  lastAt: Micros | null;
  dissector: Dissector;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class TimelineRecorder {
  private readonly captures: MutableCapture[] = [];
  private cur: MutableCapture | undefined;
  private readonly ike: IkeObservation[] = [];
  private ikeOmitted = 0;
  private readonly esp = new Map<string, Mutable<EspFlow>>();
  private readonly keepalives = new Map<string, Mutable<KeepaliveFlow>>();
  private flowsOmitted = 0;

  beginCapture(name: string): void {
    this.cur = { index: this.captures.length, name, packets: 0, firstAt: null, lastAt: null, dissector: new Dissector() };
    this.captures.push(this.cur);
  }

  endCapture(): void {
    this.cur = undefined;
  }

  private capture(): MutableCapture {
    if (!this.cur) this.beginCapture(`capture ${this.captures.length}`);
    return this.cur!;
  }

  /** One entry from pcap/reader; headers and interfaces need nothing here. */
  entry(e: CaptureEntry): void {
    const c = this.capture();
    if (e.kind !== 'packet') return;
    this.dissection(c.dissector.dissect(e));
  }

  /** One dissected frame of the current capture. */
  dissection(d: Dissection): void {
    const c = this.capture();
    c.packets++;
    if (c.firstAt === null || d.timestampUs < c.firstAt) c.firstAt = d.timestampUs;
    if (c.lastAt === null || d.timestampUs > c.lastAt) c.lastAt = d.timestampUs;
    if (d.kind === 'ikev2' || d.kind === 'ikev1') this.ikeMessage(c, d);
    else if (d.kind === 'esp') this.espPacket(c, d);
    else if (d.kind === 'keepalive') this.keepalive(c, d);
  }

  private ikeMessage(c: MutableCapture, d: Dissection): void {
    const src = srcEndpoint(d);
    const dst = dstEndpoint(d);
    if (!src || !dst) return;
    const onNatt = src.port !== IKE_PORT && dst.port !== IKE_PORT;
    const common = { capture: c.index, frame: d.index, at: d.timestampUs, src: endpointText(src), dst: endpointText(dst), onNatt, nonEspMarker: d.encap === 'nonesp' };
    let obs: IkeObservation | undefined;
    if (d.kind === 'ikev2' && d.ikeHeader) {
      const h = d.ikeHeader;
      obs = {
        ...common,
        version: 2,
        spiI: spiHex(h.spiI),
        spiR: spiHex(h.spiR),
        exchange: v2ExchangeName(h.exchangeType),
        messageId: h.messageId,
        response: (h.flags & HeaderFlag.R) !== 0,
        fromInitiator: (h.flags & HeaderFlag.I) !== 0,
        length: h.length,
        payloads: d.ikev2 ? d.ikev2.payloads.map(payloadName) : [],
      };
    } else if (d.kind === 'ikev1' && d.ikev1?.header) {
      const h = d.ikev1.header;
      obs = {
        ...common,
        version: 1,
        spiI: spiHex(h.initiatorCookie),
        spiR: spiHex(h.responderCookie),
        exchange: v1ExchangeName(h.exchangeType),
        messageId: h.messageId,
        response: null,
        fromInitiator: null,
        length: h.length,
        payloads: d.ikev1.encrypted ? ['encrypted'] : d.ikev1.payloads.map((p) => (p.kind === 'nat-d' ? 'NAT-D' : p.kind.toUpperCase())),
      };
    }
    if (!obs) return;
    if (this.ike.length >= MAX_TIMELINE_IKE) {
      this.ikeOmitted++;
      return;
    }
    this.ike.push(obs);
  }

  private espPacket(c: MutableCapture, d: Dissection): void {
    if (!d.esp || !d.src || !d.dst) return;
    const udp = d.encap === 'udp';
    const s = srcEndpoint(d);
    const t = dstEndpoint(d);
    const src = udp && s ? endpointText(s) : formatIp(d.src);
    const dst = udp && t ? endpointText(t) : formatIp(d.dst);
    const spi = spi32Hex(d.esp.spi);
    const seq = d.esp.sequence ?? 0;
    const key = `${c.index}|${spi}|${src}|${dst}`;
    const f = this.esp.get(key);
    if (f) {
      f.packets++;
      f.lastAt = d.timestampUs;
      f.lastSeq = seq;
      f.minSeq = Math.min(f.minSeq, seq);
      f.maxSeq = Math.max(f.maxSeq, seq);
      return;
    }
    if (this.esp.size + this.keepalives.size >= MAX_TIMELINE_FLOWS) {
      this.flowsOmitted++;
      return;
    }
    this.esp.set(key, {
      capture: c.index,
      spi,
      encapsulation: udp ? 'udp' : 'none',
      src,
      dst,
      packets: 1,
      firstFrame: d.index,
      firstAt: d.timestampUs,
      lastAt: d.timestampUs,
      firstSeq: seq,
      lastSeq: seq,
      minSeq: seq,
      maxSeq: seq,
    });
  }

  private keepalive(c: MutableCapture, d: Dissection): void {
    const s = srcEndpoint(d);
    const t = dstEndpoint(d);
    if (!s || !t) return;
    const src = endpointText(s);
    const dst = endpointText(t);
    const key = `${c.index}|${src}|${dst}`;
    const f = this.keepalives.get(key);
    if (f) {
      f.count++;
      f.maxGapUs = Math.max(f.maxGapUs, d.timestampUs - f.lastAt);
      f.lastAt = d.timestampUs;
      return;
    }
    if (this.esp.size + this.keepalives.size >= MAX_TIMELINE_FLOWS) {
      this.flowsOmitted++;
      return;
    }
    this.keepalives.set(key, { capture: c.index, src, dst, count: 1, firstFrame: d.index, firstAt: d.timestampUs, lastAt: d.timestampUs, maxGapUs: 0 });
  }

  finish(): CaptureTimeline {
    const byCaptureThenTime = <T extends { capture: number; firstAt: Micros }>(a: T, b: T) => a.capture - b.capture || a.firstAt - b.firstAt;
    return {
      captures: this.captures.map((c) => ({ index: c.index, name: c.name, packets: c.packets, firstAt: c.firstAt, lastAt: c.lastAt })),
      ike: [...this.ike],
      ikeOmitted: this.ikeOmitted,
      esp: [...this.esp.values()].sort(byCaptureThenTime),
      keepalives: [...this.keepalives.values()].sort(byCaptureThenTime),
      flowsOmitted: this.flowsOmitted,
    };
  }
}

/** The earliest frame time over all captures (the origin of relative times), or 0. */
export function timelineOrigin(t: CaptureTimeline): Micros {
  const firsts = t.captures.map((c) => c.firstAt).filter((x): x is Micros => x !== null);
  return firsts.length ? Math.min(...firsts) : 0;
}

/** One IKE message followed through several captures (the same bytes before and after a NAT). */
export interface LogicalIkeMessage {
  readonly version: 1 | 2;
  readonly spiI: string;
  readonly spiR: string;
  readonly exchange: string;
  readonly messageId: number;
  readonly response: boolean | null;
  readonly fromInitiator: boolean | null;
  /** Earliest time it was seen. */
  readonly at: Micros;
  /** One observation per capture that saw it, in capture order. */
  readonly seen: readonly IkeObservation[];
}

/**
 * Groups the observations of the same message across captures: same SPIs, exchange,
 * message ID, flags and length, and the same occurrence (the n-th copy in one capture
 * pairs with the n-th copy in another, so retransmissions stay apart).
 */
export function logicalIkeMessages(t: CaptureTimeline): LogicalIkeMessage[] {
  const groups = new Map<string, IkeObservation[]>();
  const occurrences = new Map<string, number>();
  for (const o of t.ike) {
    const base = `${o.version}|${o.spiI}|${o.spiR}|${o.exchange}|${o.messageId}|${o.response}|${o.fromInitiator}|${o.length}`;
    const perCapture = `${o.capture}|${base}`;
    const n = occurrences.get(perCapture) ?? 0;
    occurrences.set(perCapture, n + 1);
    const key = `${base}|${n}`;
    const g = groups.get(key);
    if (g) g.push(o);
    else groups.set(key, [o]);
  }
  const out: LogicalIkeMessage[] = [];
  for (const seen of groups.values()) {
    const f = seen[0]!;
    out.push({
      version: f.version,
      spiI: f.spiI,
      spiR: f.spiR,
      exchange: f.exchange,
      messageId: f.messageId,
      response: f.response,
      fromInitiator: f.fromInitiator,
      at: Math.min(...seen.map((o) => o.at)),
      seen,
    });
  }
  return out.sort((a, b) => a.at - b.at);
}
