/**
 * Directional UDP flows on the IKE / NAT-T ports, per capture: how long each sender
 * stayed silent (what a NAT's mapping timer sees) and its NAT-keepalives (RFC 3948
 * §2.3), with count and spacing. Constant memory per flow.
 */
import type { Endpoint } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';

const FRAMES_KEPT = 16;

export class FlowState {
  packets = 0;
  firstAt: Micros;
  lastAt: Micros;
  /** Longest silence between two packets of this flow, and the frame that ended it. */
  maxGapUs = 0;
  maxGapFrame = 0;
  kaCount = 0;
  kaFirstAt = 0;
  kaLastAt = 0;
  kaSumGapUs = 0;
  kaMaxGapUs = 0;
  kaMinGapUs = Number.POSITIVE_INFINITY;
  kaMaxGapFrame = 0;
  readonly kaFrames: number[] = [];
  /** Keepalives sent with port 500 on either side (they belong on the NAT-T pair). */
  kaOn500 = 0;

  constructor(
    readonly capture: number,
    readonly src: Endpoint,
    readonly dst: Endpoint,
    at: Micros,
  ) {
    this.firstAt = at;
    this.lastAt = at;
  }

  touch(at: Micros, frame: number): void {
    if (this.packets++ > 0) {
      const gap = at - this.lastAt;
      if (gap > this.maxGapUs) {
        this.maxGapUs = gap;
        this.maxGapFrame = frame;
      }
    }
    this.lastAt = at;
  }

  keepalive(at: Micros, frame: number): void {
    if (this.kaCount++ === 0) {
      this.kaFirstAt = at;
    } else {
      const gap = at - this.kaLastAt;
      this.kaSumGapUs += gap;
      if (gap > this.kaMaxGapUs) {
        this.kaMaxGapUs = gap;
        this.kaMaxGapFrame = frame;
      }
      if (gap < this.kaMinGapUs) this.kaMinGapUs = gap;
    }
    this.kaLastAt = at;
    if (this.kaFrames.length < FRAMES_KEPT) this.kaFrames.push(frame);
  }
}
