/**
 * The outbound sequence counter is kept as a number while it is exact (below 2^53) and
 * as a bigint beyond: the numbers on the wire, in the IV and in the results must not
 * notice the change of representation, and the rekey threshold must still be met
 * exactly when the counter starts on either side of it.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/index.ts';
import { INNER_A, INNER_B, SUITES, icmpEcho, makePair } from './fixtures.ts';

describe('outbound sequence numbers around 2^53', () => {
  for (const name of ['aes128gcm16', 'aes128-sha256'] as const) {
    it(`ESN (${name}): 2^53 - 2 .. 2^53 + 1 are sent in order, on the wire and in the IV`, () => {
      const first = 2n ** 53n - 2n;
      const { a } = makePair({ suite: SUITES[name]!, esn: true, extra: { firstSequence: first } });
      const sent = Array.from({ length: 4 }, (_, i) => a.protect('net', icmpEcho(INNER_A, INNER_B, { seq: i })));
      expect(sent.map((r) => (r.ok ? r.sequence : r.reason))).toEqual([first, first + 1n, first + 2n, first + 3n]);
      // Low 32 bits on the wire: 2^53 - 2 = 0x001fffff_fffffffe.
      expect(sent.map((r) => (r.ok ? toHex(r.esp.subarray(4, 8)) : ''))).toEqual(['fffffffe', 'ffffffff', '00000000', '00000001']);
      if (name === 'aes128gcm16') {
        // RFC 4106 §3.1: the explicit IV is the whole 64-bit sequence number.
        expect(sent.map((r) => (r.ok ? toHex(r.esp.subarray(8, 16)) : ''))).toEqual([
          '001ffffffffffffe',
          '001fffffffffffff',
          '0020000000000000',
          '0020000000000001',
        ]);
      }
      expect(a.sad.outbound('net')!.nextSequence).toBe(first + 4n);
      expect(a.pollEvent()).toBeUndefined(); // 2^64 is far away
    });
  }

  it('without ESN: the packet before the rekey threshold raises nothing, the one at it raises rekey-needed once', () => {
    const threshold = 2 ** 32 - 2 ** 16;
    const { a } = makePair({ suite: SUITES['aes128gcm16']!, extra: { firstSequence: threshold - 1 } });
    const r1 = a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(r1).toMatchObject({ ok: true, sequence: BigInt(threshold - 1) });
    expect(a.pollEvent()).toBeUndefined();
    const r2 = a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(r2).toMatchObject({ ok: true, sequence: BigInt(threshold) });
    expect(a.pollEvent()).toMatchObject({ type: 'rekey-needed', sequence: BigInt(threshold) });
    const r3 = a.protect('net', icmpEcho(INNER_A, INNER_B));
    expect(r3).toMatchObject({ ok: true, sequence: BigInt(threshold + 1) });
    expect(a.pollEvent()).toBeUndefined();
  });
});
