/**
 * Bookkeeping of `--ping`: send times by sequence number, replies, duplicates, and
 * the statistics ping(8) prints at the end (min/avg/max/mdev of the round-trip time).
 */
import type { Micros } from '../core/index.ts';

export interface RttStats {
  readonly min: Micros;
  readonly avg: Micros;
  readonly max: Micros;
  readonly mdev: Micros;
}

export class PingStats {
  private readonly sentAt = new Map<number, Micros>();
  private readonly answered = new Set<number>();
  private readonly rtts: Micros[] = [];
  private firstAt: Micros | undefined;
  private lastAt: Micros | undefined;
  transmitted = 0;
  summarized = false;

  get received(): number {
    return this.answered.size;
  }

  sent(seq: number, now: Micros): void {
    this.sentAt.set(seq, now);
    this.transmitted++;
    this.firstAt ??= now;
    this.lastAt = now;
  }

  /** A reply for `seq`; undefined when no request with that number was sent. */
  reply(seq: number, now: Micros): { rttUs: Micros; duplicate: boolean } | undefined {
    const at = this.sentAt.get(seq);
    if (at === undefined) return undefined;
    const rttUs = Math.max(0, now - at);
    const duplicate = this.answered.has(seq);
    if (!duplicate) {
      this.answered.add(seq);
      this.rtts.push(rttUs);
    }
    return { rttUs, duplicate };
  }

  /** From the first request to the last one. */
  elapsed(): Micros {
    return this.firstAt === undefined || this.lastAt === undefined ? 0 : this.lastAt - this.firstAt;
  }

  rttStats(): RttStats | undefined {
    if (this.rtts.length === 0) return undefined;
    const n = this.rtts.length;
    const sum = this.rtts.reduce((a, b) => a + b, 0);
    const avg = sum / n;
    const sq = this.rtts.reduce((a, b) => a + b * b, 0) / n;
    return {
      min: Math.min(...this.rtts),
      avg: Math.round(avg),
      max: Math.max(...this.rtts),
      mdev: Math.round(Math.sqrt(Math.max(0, sq - avg * avg))),
    };
  }
}
