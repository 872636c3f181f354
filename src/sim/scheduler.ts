/**
 * Discrete-event scheduler on integer microseconds (virtual time only).
 *
 * - A binary min-heap ordered by (time, sequence): events at the same instant run in
 *   the order they were scheduled (FIFO), so a run is deterministic.
 * - Storage is struct-of-arrays over reusable slots: scheduling does not allocate an
 *   entry object. A callback receives `(now, arg)`, so callers pass one long-lived
 *   function and a payload instead of creating a closure per event.
 * - A handle is a number naming (slot, sequence); it stays valid until the event runs
 *   or is cancelled, and a stale handle is recognised (cancel returns false).
 *
 * `run(until)` runs every event whose time is <= until (including events scheduled
 * at `until` by events running at `until`), then sets the clock to `until`.
 * Scheduling in the past is a bug and throws.
 */
import type { Micros } from '../core/time.ts';

/** Called when the event fires; `now` is its scheduled time. */
export type EventFn<A = undefined> = (now: Micros, arg: A) => void;

/** Opaque handle of a scheduled event. */
export type EventHandle = number;

/** Slots per handle: up to 2^22 (4 194 304) events pending at once. */
const SLOT_BITS = 22;
const SLOT_SPACE = 2 ** SLOT_BITS;
/** Sequence numbers stay below 2^31 so a handle (seq * 2^22 + slot) is an exact integer. */
const MAX_SEQ = 2 ** 31;

export interface RunResult {
  /** Events run by this call. */
  readonly events: number;
  /** True when the run stopped because `maxEvents` was reached (events at or before `until` remain). */
  readonly truncated: boolean;
}

export class Scheduler {
  private clock: Micros;
  private seqCounter = 0;
  private executed = 0;

  // Per-slot fields.
  private slotTime: Float64Array;
  private slotSeq: Float64Array;
  private slotHeapIdx: Int32Array;
  private slotFn: (EventFn<unknown> | undefined)[] = [];
  private slotArg: unknown[] = [];
  private freeSlots: Int32Array;
  private freeCount = 0;
  private slotsUsed = 0;

  // The heap holds slot numbers.
  private heap: Int32Array;
  private size = 0;

  constructor(startAt: Micros = 0, initialCapacity = 1024) {
    checkTime(startAt, 'start time');
    this.clock = startAt;
    const cap = Math.max(16, initialCapacity);
    this.slotTime = new Float64Array(cap);
    this.slotSeq = new Float64Array(cap);
    this.slotHeapIdx = new Int32Array(cap);
    this.freeSlots = new Int32Array(cap);
    this.heap = new Int32Array(cap);
  }

  /** The current virtual time. */
  get now(): Micros {
    return this.clock;
  }

  /** Events run since construction. */
  get eventsRun(): number {
    return this.executed;
  }

  /** Events scheduled and not yet run or cancelled. */
  get pending(): number {
    return this.size;
  }

  /** Time of the earliest pending event. */
  nextTime(): Micros | undefined {
    return this.size === 0 ? undefined : this.slotTime[this.heap[0]!];
  }

  /** Schedules `fn(time, arg)` at an absolute time (>= now). */
  at<A = undefined>(time: Micros, fn: EventFn<A>, arg?: A): EventHandle {
    if (!(time >= this.clock) || !Number.isSafeInteger(time)) {
      throw new RangeError(
        Number.isSafeInteger(time)
          ? `cannot schedule at ${time} µs: the clock is already at ${this.clock} µs`
          : `event time must be an integer of microseconds, got ${time}`,
      );
    }
    const slot = this.allocSlot();
    const seq = this.seqCounter++;
    if (seq >= MAX_SEQ) throw new RangeError('scheduler: more than 2^31 events scheduled');
    this.slotTime[slot] = time;
    this.slotSeq[slot] = seq;
    this.slotFn[slot] = fn as unknown as EventFn<unknown>;
    this.slotArg[slot] = arg;
    this.push(slot);
    return seq * SLOT_SPACE + slot;
  }

  /** Schedules `fn(now + delay, arg)`. */
  after<A = undefined>(delay: Micros, fn: EventFn<A>, arg?: A): EventHandle {
    if (!(delay >= 0)) throw new RangeError(`delay must not be negative, got ${delay}`);
    return this.at(this.clock + delay, fn, arg);
  }

  /** True while the event is scheduled (not yet run or cancelled). */
  isPending(handle: EventHandle): boolean {
    return this.resolve(handle) >= 0;
  }

  /** Cancels a pending event; false when it already ran, was cancelled, or never existed. */
  cancel(handle: EventHandle): boolean {
    const slot = this.resolve(handle);
    if (slot < 0) return false;
    this.removeAt(this.slotHeapIdx[slot]!);
    this.freeSlot(slot);
    return true;
  }

  /** Runs the earliest event; false when none is pending. */
  step(): boolean {
    if (this.size === 0) return false;
    this.runTop();
    return true;
  }

  /**
   * Runs events in order while their time is <= `until` (default: until none remain),
   * at most `maxEvents` of them. When it ran out of events (not truncated) and `until`
   * is finite, the clock ends at `until`.
   */
  run(until: Micros = Infinity, maxEvents = Infinity): RunResult {
    if (until !== Infinity) checkTime(until, 'until');
    if (until < this.clock) throw new RangeError(`cannot run until ${until} µs: the clock is already at ${this.clock} µs`);
    let n = 0;
    const heap = this.heap;
    const times = this.slotTime;
    while (this.size > 0 && n < maxEvents) {
      if (times[heap[0]!]! > until) break;
      this.runTop();
      n++;
    }
    const truncated = n >= maxEvents && this.size > 0 && times[heap[0]!]! <= until;
    if (!truncated && until !== Infinity) this.clock = until;
    return { events: n, truncated };
  }

  /** Advances the clock to `time` without running anything; refused if an event is due before it. */
  advanceTo(time: Micros): void {
    checkTime(time, 'time');
    if (time < this.clock) throw new RangeError(`cannot move the clock back from ${this.clock} to ${time}`);
    const next = this.nextTime();
    if (next !== undefined && next < time) throw new RangeError(`an event is due at ${next} µs, before ${time} µs`);
    this.clock = time;
  }

  private runTop(): void {
    const slot = this.heap[0]!;
    const time = this.slotTime[slot]!;
    const fn = this.slotFn[slot]!;
    const arg = this.slotArg[slot];
    this.popRoot();
    this.freeSlot(slot);
    this.clock = time;
    this.executed++;
    fn(time, arg);
  }

  private resolve(handle: EventHandle): number {
    if (!Number.isSafeInteger(handle) || handle < 0) return -1;
    const slot = handle % SLOT_SPACE;
    const seq = (handle - slot) / SLOT_SPACE;
    if (slot >= this.slotsUsed || this.slotFn[slot] === undefined || this.slotSeq[slot] !== seq) return -1;
    return slot;
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount]!;
    const slot = this.slotsUsed++;
    if (slot >= SLOT_SPACE) throw new RangeError(`scheduler: more than ${SLOT_SPACE} events pending`);
    if (slot >= this.slotTime.length) this.grow();
    return slot;
  }

  private freeSlot(slot: number): void {
    this.slotFn[slot] = undefined;
    this.slotArg[slot] = undefined;
    this.slotSeq[slot] = -1;
    this.freeSlots[this.freeCount++] = slot;
  }

  private grow(): void {
    const cap = this.slotTime.length * 2;
    const g64 = (a: Float64Array): Float64Array => {
      const n = new Float64Array(cap);
      n.set(a);
      return n;
    };
    const g32 = (a: Int32Array): Int32Array => {
      const n = new Int32Array(cap);
      n.set(a);
      return n;
    };
    this.slotTime = g64(this.slotTime);
    this.slotSeq = g64(this.slotSeq);
    this.slotHeapIdx = g32(this.slotHeapIdx);
    this.freeSlots = g32(this.freeSlots);
    this.heap = g32(this.heap);
  }

  /** a sorts before b. */
  private less(a: number, b: number): boolean {
    const ta = this.slotTime[a]!;
    const tb = this.slotTime[b]!;
    return ta < tb || (ta === tb && this.slotSeq[a]! < this.slotSeq[b]!);
  }

  private push(slot: number): void {
    const i = this.size++;
    this.heap[i] = slot;
    this.slotHeapIdx[slot] = i;
    this.siftUp(i);
  }

  private removeAt(i: number): void {
    const last = --this.size;
    if (i !== last) {
      const moved = this.heap[last]!;
      this.heap[i] = moved;
      this.slotHeapIdx[moved] = i;
      if (i > 0 && this.less(moved, this.heap[(i - 1) >> 1]!)) this.siftUp(i);
      else this.siftDown(i);
    }
  }

  /**
   * Removes heap[0]: the hole goes down to a leaf along the smaller children, then the
   * last entry fills it and sifts up (about half the comparisons of a plain sift-down,
   * since the last entry usually belongs near the bottom). Keys are unique, so the
   * order events come out in does not depend on the heap's shape.
   */
  private popRoot(): void {
    const n = --this.size;
    if (n === 0) return;
    const heap = this.heap;
    const times = this.slotTime;
    const seqs = this.slotSeq;
    const idx = this.slotHeapIdx;
    const last = heap[n]!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      let cs = heap[l]!;
      const r = l + 1;
      if (r < n) {
        const rs = heap[r]!;
        const rt = times[rs]!;
        const ct = times[cs]!;
        if (rt < ct || (rt === ct && seqs[rs]! < seqs[cs]!)) {
          c = r;
          cs = rs;
        }
      }
      heap[i] = cs;
      idx[cs] = i;
      i = c;
    }
    heap[i] = last;
    idx[last] = i;
    this.siftUp(i);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const times = this.slotTime;
    const seqs = this.slotSeq;
    const slot = heap[i]!;
    const t = times[slot]!;
    const q = seqs[slot]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = heap[p]!;
      const pt = times[ps]!;
      if (pt < t || (pt === t && seqs[ps]! < q)) break;
      heap[i] = ps;
      this.slotHeapIdx[ps] = i;
      i = p;
    }
    heap[i] = slot;
    this.slotHeapIdx[slot] = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const times = this.slotTime;
    const seqs = this.slotSeq;
    const idx = this.slotHeapIdx;
    const n = this.size;
    const slot = heap[i]!;
    const t = times[slot]!;
    const q = seqs[slot]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let c = l;
      let cs = heap[l]!;
      let ct = times[cs]!;
      const r = l + 1;
      if (r < n) {
        const rs = heap[r]!;
        const rt = times[rs]!;
        if (rt < ct || (rt === ct && seqs[rs]! < seqs[cs]!)) {
          c = r;
          cs = rs;
          ct = rt;
        }
      }
      if (t < ct || (t === ct && q < seqs[cs]!)) break;
      heap[i] = cs;
      idx[cs] = i;
      i = c;
    }
    heap[i] = slot;
    idx[slot] = i;
  }
}

function checkTime(t: Micros, what: string): void {
  if (!Number.isSafeInteger(t) || t < 0) throw new RangeError(`${what} must be a non-negative integer of microseconds, got ${t}`);
}
