/**
 * Capture taps. A tap records (time, bytes, comment) for every packet seen at its
 * place (a link, or one side of a NAT), and keeps a pcapng file in memory as byte
 * chunks: one interface named after the tap (LINKTYPE_RAW: the bytes start with the
 * IPv4 or IPv6 header), one Enhanced Packet Block per packet with the comment as
 * opt_comment. The comment is written by whoever produced the event (the sending
 * application, a link, a NAT, a firewall); the tap only stores it. No files here: the
 * CLI writes `tap.chunks` (or `mergedPcapng(taps)`) where it wants.
 */
import type { Micros } from '../core/time.ts';
import { LinkType } from '../pcap/format.ts';
import { PcapngWriter } from '../pcap/writer.ts';

export interface TapRecord {
  readonly timeUs: Micros;
  /** Order among all taps sharing a TapSequence (record order otherwise). */
  readonly seq: number;
  /** A copy of the packet bytes (IP header first). */
  readonly bytes: Uint8Array;
  readonly comment: string;
}

export interface TapOptions {
  /** if_description of the pcapng interface, e.g. "link wan (home-router.wan ↔ isp.cpe)". */
  readonly description?: string;
  /** Shared by the taps of one network, so a merged file keeps the order events happened in. */
  readonly sequence?: TapSequence;
}

/** A counter several taps share to order records made at the same instant. */
export class TapSequence {
  private n = 0;
  next(): number {
    return this.n++;
  }
}

const SHB_APPLICATION = 'natt-sim lab';

export class Tap {
  readonly records: TapRecord[] = [];
  private readonly writer = new PcapngWriter({ userAppl: SHB_APPLICATION });
  private readonly fileChunks: Uint8Array[] = [];
  private lastTime = 0;
  private readonly sequence: TapSequence;

  constructor(
    readonly name: string,
    readonly options: TapOptions = {},
  ) {
    this.writer.addInterface({ linktype: LinkType.Raw, name, ...(options.description === undefined ? {} : { description: options.description }) });
    this.fileChunks.push(this.writer.header());
    this.sequence = options.sequence ?? new TapSequence();
  }

  /** Records one packet; times must not go backwards. */
  record(timeUs: Micros, bytes: Uint8Array, comment: string): void {
    if (timeUs < this.lastTime) throw new RangeError(`tap ${this.name}: time ${timeUs} µs is before the previous record (${this.lastTime} µs)`);
    this.lastTime = timeUs;
    const copy = new Uint8Array(bytes);
    this.records.push({ timeUs, seq: this.sequence.next(), bytes: copy, comment });
    this.fileChunks.push(this.writer.packet({ interfaceId: 0, timestampUs: timeUs, data: copy, comment }));
  }

  get count(): number {
    return this.records.length;
  }

  /** The pcapng file so far: concatenate the chunks (or write them in order). */
  get chunks(): readonly Uint8Array[] {
    return this.fileChunks;
  }

  /** The comments recorded, in order (handy in tests and reports). */
  comments(): string[] {
    return this.records.map((r) => r.comment);
  }
}

/**
 * One pcapng file with an interface per tap (in the given order) and every record
 * merged by time; records at the same instant keep the order they were made in when
 * the taps share a TapSequence (as a network's taps do), else tap order.
 */
export function mergedPcapng(taps: readonly Tap[]): Uint8Array[] {
  const w = new PcapngWriter({ userAppl: SHB_APPLICATION });
  taps.forEach((t) =>
    w.addInterface({ linktype: LinkType.Raw, name: t.name, ...(t.options.description === undefined ? {} : { description: t.options.description }) }),
  );
  const out: Uint8Array[] = [w.header()];
  const idx = taps.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < taps.length; i++) {
      const r = taps[i]!.records[idx[i]!];
      if (!r) continue;
      const b = best < 0 ? undefined : taps[best]!.records[idx[best]!]!;
      const shared = b !== undefined && taps[i]!.options.sequence !== undefined && taps[i]!.options.sequence === taps[best]!.options.sequence;
      if (!b || r.timeUs < b.timeUs || (r.timeUs === b.timeUs && shared && r.seq < b.seq)) best = i;
    }
    if (best < 0) break;
    const r = taps[best]!.records[idx[best]!++]!;
    out.push(w.packet({ interfaceId: best, timestampUs: r.timeUs, data: r.bytes, comment: r.comment }));
  }
  return out;
}

