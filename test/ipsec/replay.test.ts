/**
 * Anti-replay (RFC 4303 §3.4.3, Appendix A; RFC 6479 block bitmap) and the sequence
 * counter (RFC 4303 §3.3.3: never wraps; ESN §2.2.1 carries into the high 32 bits).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toHex } from '../../src/core/index.ts';
import { ReplayWindow, REPLAY_VERDICT, MAX_REPLAY_WINDOW } from '../../src/ipsec/replay-window.ts';
import { ESP_DROP } from '../../src/ipsec/esp-processor.ts';
import { INNER_A, INNER_B, SUITES, icmpEcho, makePair } from './fixtures.ts';

/** check, and update when accepted: what the processor does for an authentic packet. */
function arrive(w: ReplayWindow, seq: number | bigint): string {
  const s = BigInt(seq);
  const v = w.check(s);
  if (v === REPLAY_VERDICT.OK) w.update(s);
  return v;
}

describe('ReplayWindow', () => {
  it('accepts a new number once, then calls it a duplicate', () => {
    const w = new ReplayWindow(64);
    expect(arrive(w, 1)).toBe('ok');
    expect(arrive(w, 1)).toBe('duplicate');
    expect(arrive(w, 2)).toBe('ok');
    expect(arrive(w, 2)).toBe('duplicate');
    expect(w.highest).toBe(2n);
  });

  it('sequence number 0 is never valid', () => {
    expect(new ReplayWindow(64).check(0n)).toBe('too-old');
  });

  it('window 64, highest 100: 37 is accepted once, 36 is left of the window (the exact edge)', () => {
    const w = new ReplayWindow(64);
    expect(arrive(w, 100)).toBe('ok');
    expect(w.lowest).toBe(37n);
    expect(arrive(w, 37)).toBe('ok');
    expect(arrive(w, 37)).toBe('duplicate');
    expect(arrive(w, 36)).toBe('too-old');
    expect(arrive(w, 99)).toBe('ok');
    expect(arrive(w, 99)).toBe('duplicate');
  });

  it('in-window out-of-order numbers are accepted once each, and the window slides with the highest', () => {
    const w = new ReplayWindow(64);
    for (const s of [5, 3, 4, 1, 2]) expect(arrive(w, s)).toBe('ok');
    for (const s of [1, 2, 3, 4, 5]) expect(arrive(w, s)).toBe('duplicate');
    expect(arrive(w, 70)).toBe('ok'); // window now 7 .. 70
    expect(arrive(w, 6)).toBe('too-old');
    expect(arrive(w, 7)).toBe('ok');
    expect(arrive(w, 69)).toBe('ok');
    expect(arrive(w, 1000)).toBe('ok'); // a jump larger than the window clears it all
    expect(arrive(w, 937)).toBe('ok');
    expect(arrive(w, 936)).toBe('too-old');
    expect(arrive(w, 970)).toBe('ok');
    expect(arrive(w, 970)).toBe('duplicate');
  });

  it('a bit left over from before a slide is never mistaken for a duplicate', () => {
    const w = new ReplayWindow(64);
    arrive(w, 10);
    // 10 + 128 maps to the same ring position as 10 (4 blocks of 32 bits).
    expect(arrive(w, 200)).toBe('ok');
    expect(arrive(w, 138)).toBe('ok');
    expect(arrive(w, 138 + 1)).toBe('ok');
  });

  it(`works at the maximum window of ${MAX_REPLAY_WINDOW}`, () => {
    const w = new ReplayWindow(4096);
    expect(arrive(w, 5000)).toBe('ok');
    expect(arrive(w, 905)).toBe('ok');
    expect(arrive(w, 905)).toBe('duplicate');
    expect(arrive(w, 904)).toBe('too-old');
    for (let s = 4999; s > 4999 - 4000; s -= 3) expect(arrive(w, s)).toBe('ok');
    expect(arrive(w, 4999 - 3)).toBe('duplicate');
    expect(arrive(w, 9095)).toBe('ok'); // slides by 4095
    expect(arrive(w, 5000)).toBe('duplicate'); // 9095 - 5000 = 4095 < 4096: still inside, still remembered
    expect(arrive(w, 5001)).toBe('ok');
    expect(arrive(w, 4999)).toBe('too-old');
    expect(arrive(w, 20000)).toBe('ok'); // a jump past the whole ring
    expect(arrive(w, 20000 - 4095 + 1)).toBe('ok');
  });

  it('rejects sizes outside 32 .. 4096', () => {
    expect(() => new ReplayWindow(16)).toThrow(RangeError);
    expect(() => new ReplayWindow(4097)).toThrow(RangeError);
  });

  it('property: each number is accepted at most once, and only while inside the window at arrival', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(32, 64, 100, 1000, 4096),
        fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 400 }),
        (size, arrivals) => {
          const w = new ReplayWindow(size);
          const accepted = new Set<number>();
          let highest = 0;
          for (const s of arrivals) {
            const before = highest;
            const verdict = arrive(w, s);
            // The oracle: RFC 4303 §3.4.3 in plain words.
            const expectOk = !accepted.has(s) && (s > before || before - s < size);
            expect(verdict === 'ok').toBe(expectOk);
            if (verdict === 'ok') {
              expect(accepted.has(s)).toBe(false);
              expect(s > before || before - s < size).toBe(true);
              accepted.add(s);
              highest = Math.max(highest, s);
            } else {
              expect(verdict).toBe(before - s < size ? 'duplicate' : 'too-old');
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('ESN: infers the high half as RFC 4303 Appendix A2.2 does', () => {
    const w = new ReplayWindow(64);
    w.update(0xffff_fff0n);
    expect(w.inferHigh(0xffff_ffe0)).toBe(0); // inside the window, same block
    expect(w.inferHigh(5)).toBe(1); // beyond: the next block
    w.update(0x1_0000_0005n); // now Tl = 5 < W - 1: the window spans the boundary
    expect(w.inferHigh(0xffff_fff0)).toBe(0);
    expect(w.inferHigh(3)).toBe(1);
    expect(w.inferHigh(0x100)).toBe(1);
  });
});

describe('anti-replay in the processor', () => {
  it('duplicates and numbers left of the window are dropped and counted; out-of-order packets are delivered once', () => {
    const { a, b, spiAB } = makePair({ suite: SUITES['aes128gcm16']!, replayWindow: 32 });
    const sent: Uint8Array[] = [];
    for (let i = 1; i <= 40; i++) {
      const r = a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: i }));
      if (!r.ok) throw new Error(r.message);
      sent.push(r.packets[0]!);
    }
    const deliver = (n: number) => b.receive(sent[n - 1]!);
    expect(deliver(40).ok).toBe(true);
    expect(deliver(9)).toMatchObject({ ok: true, sequence: 9n });
    expect(deliver(9)).toMatchObject({ ok: false, reason: ESP_DROP.REPLAY_DUPLICATE });
    expect(deliver(8)).toMatchObject({ ok: false, reason: ESP_DROP.REPLAY_TOO_OLD });
    expect(deliver(20).ok).toBe(true);
    expect(deliver(40)).toMatchObject({ ok: false, reason: ESP_DROP.REPLAY_DUPLICATE });
    const c = b.sad.inbound(spiAB)!.counters;
    expect(c).toMatchObject({ decaps: 3, replayFailures: 3, recvErrors: 3, authFailures: 0 });
  });

  it('property: over real packets in random order with repeats, nothing is delivered twice or from outside the window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 120 }), (order) => {
        const { a, b } = makePair({ suite: SUITES['aes128gcm16']!, replayWindow: 32 });
        const packets = Array.from({ length: 60 }, (_, i) => {
          const r = a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: i + 1 }));
          if (!r.ok) throw new Error(r.message);
          return r.packets[0]!;
        });
        const delivered = new Set<bigint>();
        let highest = 0n;
        for (const n of order) {
          const r = b.receive(packets[n - 1]!);
          if (!r.ok) continue;
          expect(delivered.has(r.sequence)).toBe(false);
          expect(r.sequence > highest || highest - r.sequence < 32n).toBe(true);
          delivered.add(r.sequence);
          if (r.sequence > highest) highest = r.sequence;
        }
        expect(delivered.size).toBe(new Set(order).size - countStale(order, 32));
      }),
      { numRuns: 40 },
    );
  });
});

/** How many distinct numbers of `order` arrive (first time) already left of the window. */
function countStale(order: number[], size: number): number {
  const seen = new Set<number>();
  let highest = 0;
  let stale = 0;
  for (const n of order) {
    if (seen.has(n)) continue;
    if (n <= highest && highest - n >= size) {
      stale++;
      seen.add(n);
      continue;
    }
    seen.add(n);
    highest = Math.max(highest, n);
  }
  return stale;
}

describe('sequence numbers', () => {
  it('start at 1 and count up', () => {
    const { a } = makePair({ suite: SUITES['aes128-sha256']! });
    const seqs = [1, 2, 3].map(() => {
      const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
      return r.ok ? toHex(r.esp.subarray(4, 8)) : r.reason;
    });
    expect(seqs).toEqual(['00000001', '00000002', '00000003']);
  });

  it('without ESN: rekey-needed once near the end, and no wrap at 2^32-1 (refused and counted)', () => {
    const first = 2 ** 32 - 3;
    const { a, b, spiAB } = makePair({ suite: SUITES['aes128gcm16']!, extra: { firstSequence: first } });
    const results = Array.from({ length: 5 }, (_, i) => a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: i })));
    expect(results.map((r) => (r.ok ? r.sequence : r.reason))).toEqual([
      BigInt(first),
      BigInt(first + 1),
      0xffffffffn,
      'sequence-exhausted',
      'sequence-exhausted',
    ]);
    expect(a.pollEvent()).toEqual({ type: 'rekey-needed', childId: 'net', spi: spiAB, sequence: BigInt(first) });
    expect(a.pollEvent()).toEqual({ type: 'sequence-exhausted', childId: 'net', spi: spiAB });
    expect(a.pollEvent()).toBeUndefined();
    const out = a.sad.outbound('net')!.counters;
    expect(out).toMatchObject({ encaps: 3, sequenceExhausted: 2, sendErrors: 2 });
    // The three that went out are fine at the receiver, the last one being 0xffffffff.
    for (const r of results.slice(0, 3)) if (r.ok) expect(b.receive(r.packets[0]!).ok).toBe(true);
  });

  it('the rekey event fires exactly at 2^32 - margin (default margin 2^16), once', () => {
    const { a } = makePair({ suite: SUITES['aes128-sha256']!, extra: { firstSequence: 2 ** 32 - 2 ** 16 - 2 } });
    a.protect('net', icmpEcho(INNER_A, INNER_B));
    a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(a.pollEvent()).toBeUndefined();
    a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(a.pollEvent()).toMatchObject({ type: 'rekey-needed', sequence: BigInt(2 ** 32 - 2 ** 16) });
    a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(a.pollEvent()).toBeUndefined();
  });

  it('a configured margin moves the threshold', () => {
    const { a } = makePair({ suite: SUITES['aes128gcm16']!, extra: { firstSequence: 1000, rekeyMargin: 2 ** 32 - 1001 } });
    a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(a.pollEvent()).toBeUndefined();
    a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(a.pollEvent()).toMatchObject({ type: 'rekey-needed', sequence: 1001n });
  });

  it('with ESN and replay detection off, the high bits are still tracked (and duplicates pass)', () => {
    const { a, b } = makePair({ suite: SUITES['aes128gcm16']!, esn: true, replayWindow: 0, extra: { firstSequence: 2 ** 32 - 1 } });
    const sent = [0, 1, 2].map(() => a.protect('net', icmpEcho(INNER_A, INNER_B)));
    for (const r of [...sent, sent[2]!]) {
      if (!r.ok) throw new Error(r.message);
      expect(b.receive(r.packets[0]!)).toMatchObject({ ok: true, sequence: r.sequence });
    }
    expect(b.sad.inbound(0xc1000001)!.antiReplay).toBe(false);
  });

  for (const name of ['aes128gcm16', 'aes256-sha256'] as const) {
    it(`with ESN (${name}): the counter carries into the high 32 bits, which are not sent but protected, and round-trips`, () => {
      const first = 2 ** 32 - 2;
      const { a, b, spiAB } = makePair({ suite: SUITES[name]!, esn: true, extra: { firstSequence: first } });
      const sent = Array.from({ length: 5 }, (_, i) => a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: i })));
      expect(sent.map((r) => (r.ok ? r.sequence : r.reason))).toEqual([first, first + 1, 2 ** 32, 2 ** 32 + 1, 2 ** 32 + 2].map(BigInt));
      expect(sent.map((r) => (r.ok ? toHex(r.esp.subarray(4, 8)) : ''))).toEqual(['fffffffe', 'ffffffff', '00000000', '00000001', '00000002']);
      expect(a.pollEvent()).toBeUndefined(); // 2^64 is far away
      // Delivered in a shuffled order across the boundary.
      for (const i of [0, 2, 1, 4, 3]) {
        const r = sent[i]!;
        if (!r.ok) throw new Error(r.message);
        const got = b.receive(r.packets[0]!);
        expect(got).toMatchObject({ ok: true, sequence: r.sequence });
      }
      expect(b.sad.inbound(spiAB)!.window!.highest).toBe(2n ** 32n + 2n);
      // A receiver that has not seen the boundary infers high bits 0 for the packet
      // carrying 2^32 + 1: the ICV covers the high bits, so it fails integrity.
      const fresh = makePair({ suite: SUITES[name]!, esn: true });
      const late = sent[3]!;
      if (!late.ok) throw new Error(late.message);
      expect(fresh.b.receive(late.packets[0]!)).toMatchObject({ ok: false, reason: ESP_DROP.AUTH_FAILED });
    });
  }
});
