/**
 * Damaged input: every byte of SPI, sequence number, IV, ciphertext and ICV flipped;
 * crafted trailers (NULL encryption, so the plaintext can be chosen); every truncation;
 * random bytes. The processor returns a typed drop and bumps the right counter; it
 * never throws.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, SeededRng } from '../../src/core/index.ts';
import { espSeal } from '../../src/crypto/esp-transforms.ts';
import { EspProcessor, ESP_DROP } from '../../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase } from '../../src/ipsec/sad.ts';
import { INNER_A, INNER_B, SUITES, icmpEcho, keysFor, makePair } from './fixtures.ts';

const FLIP_SUITES = ['aes128gcm16', 'aes256gcm16', 'aes128-sha256', 'aes256-sha512', 'null-sha256'] as const;

describe('flipping any byte of an ESP packet', () => {
  for (const name of FLIP_SUITES) {
    it(`${name}: SPI bytes → unknown SPI; sequence, IV, ciphertext and ICV bytes → authentication failure`, () => {
      const { a, b, spiAB } = makePair({ suite: SUITES[name]!, replayWindow: 64 });
      const sent = a.protect('net', icmpEcho(INNER_A, INNER_B));
      if (!sent.ok) throw new Error(sent.message);
      const esp = sent.esp;
      const reasons: string[] = [];
      for (let i = 0; i < esp.length; i++) {
        const bad = new Uint8Array(esp);
        bad[i] = bad[i]! ^ 0x5a;
        const r = b.receiveEsp(bad);
        expect(r.ok).toBe(false);
        if (!r.ok) reasons.push(r.reason);
      }
      expect(reasons.slice(0, 4)).toEqual(Array(4).fill(ESP_DROP.UNKNOWN_SPI));
      expect(reasons.slice(4)).toEqual(Array(esp.length - 4).fill(ESP_DROP.AUTH_FAILED));
      const c = b.sad.inbound(spiAB)!.counters;
      expect(c).toMatchObject({ authFailures: esp.length - 4, recvErrors: esp.length - 4, decaps: 0, verify: 0, replayFailures: 0 });
      expect(b.counters.invalidSpi).toBe(4);
      // None of this moved the replay window: the genuine packet still gets in.
      expect(b.receiveEsp(esp)).toMatchObject({ ok: true, sequence: 1n });
    });
  }
});

/** A receiver with one NULL + HMAC-SHA-256 SA, and a sealer of arbitrary plaintexts for it. */
function nullSa(): { p: EspProcessor; sad: SecurityAssociationDatabase; seal: (plaintext: Uint8Array, seq: number) => Uint8Array } {
  const suite = SUITES['null-sha256']!;
  const keys = keysFor(suite, 0x33);
  const sad = new SecurityAssociationDatabase();
  sad.addInbound('n', { spi: 0x1001, suite, ...keys, esn: false, replayWindow: 64, tunnel: { local: INNER_B, remote: INNER_A } }, 0);
  const seal = (plaintext: Uint8Array, seq: number) =>
    espSeal({ suite, keyE: keys.encKey, keyA: keys.integKey!, spi: 0x1001, seq, iv: new Uint8Array(0), plaintext });
  return { p: new EspProcessor({ sad, rng: new SeededRng(1) }), sad, seal };
}

describe('crafted trailers (NULL encryption with integrity, RFC 2410)', () => {
  const inner = icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(4) }); // 32 bytes: + 1, 2, pad length, next header = 36

  it('the well-formed trailer is delivered', () => {
    const { p, seal } = nullSa();
    const r = p.receiveEsp(seal(concatBytes(inner, Uint8Array.of(1, 2, 2, 4)), 1));
    expect(r.ok).toBe(true);
  });

  it('padding that is not 1, 2, 3, ... is authentic but dropped and counted as bad padding', () => {
    const { p, sad, seal } = nullSa();
    const r = p.receiveEsp(seal(concatBytes(inner, Uint8Array.of(1, 3, 2, 4)), 1));
    expect(r).toMatchObject({ ok: false, reason: ESP_DROP.BAD_PADDING });
    const r2 = p.receiveEsp(seal(concatBytes(inner, Uint8Array.of(0, 0, 2, 4)), 2));
    expect(r2).toMatchObject({ ok: false, reason: ESP_DROP.BAD_PADDING });
    expect(sad.inbound(0x1001)!.counters).toMatchObject({ badPadding: 2, verify: 2, decaps: 0, recvErrors: 2, authFailures: 0 });
    // Authentic, so the window moved: a replay of it is a replay failure.
    expect(p.receiveEsp(seal(concatBytes(inner, Uint8Array.of(1, 3, 2, 4)), 1))).toMatchObject({ reason: ESP_DROP.REPLAY_DUPLICATE });
  });

  it('a pad length reaching before the start of the plaintext is bad padding', () => {
    const { p, sad, seal } = nullSa();
    expect(p.receiveEsp(seal(Uint8Array.of(1, 2, 250, 4), 1))).toMatchObject({ ok: false, reason: ESP_DROP.BAD_PADDING });
    expect(sad.inbound(0x1001)!.counters.badPadding).toBe(1);
  });

  it('next header 6 in tunnel mode is refused; 59 is a dummy packet, discarded; 4 with a broken packet is a bad inner packet', () => {
    const { p, sad, seal } = nullSa();
    expect(p.receiveEsp(seal(concatBytes(inner, Uint8Array.of(1, 2, 2, 6)), 1))).toMatchObject({ ok: false, reason: ESP_DROP.BAD_NEXT_HEADER });
    expect(p.receiveEsp(seal(Uint8Array.of(1, 2, 2, 59), 2))).toMatchObject({ ok: false, reason: ESP_DROP.DUMMY });
    const broken = new Uint8Array(inner);
    broken[3] = 200; // total length beyond the data
    expect(p.receiveEsp(seal(concatBytes(broken, Uint8Array.of(1, 2, 2, 4)), 3))).toMatchObject({ ok: false, reason: ESP_DROP.BAD_INNER });
    expect(sad.inbound(0x1001)!.counters).toMatchObject({ badNextHeader: 1, dummy: 1, badInner: 1, recvErrors: 2, decaps: 0 });
  });

  it('TFC padding after the inner packet (RFC 4303 §2.7) is cut off by the inner length', () => {
    const { p, seal } = nullSa();
    const r = p.receiveEsp(seal(concatBytes(inner, new Uint8Array(10), Uint8Array.of(0, 4)), 1));
    expect(r.ok && r.inner.length).toBe(inner.length);
  });
});

describe('truncated packets', () => {
  for (const name of FLIP_SUITES) {
    it(`${name}: every prefix of an ESP packet is dropped and counted, nothing thrown`, () => {
      const { a, b, spiAB } = makePair({ suite: SUITES[name]! });
      const sent = a.protect('net', icmpEcho(INNER_A, INNER_B));
      if (!sent.ok) throw new Error(sent.message);
      for (let n = 0; n < sent.esp.length; n++) {
        const r = b.receiveEsp(sent.esp.subarray(0, n));
        expect(r.ok).toBe(false);
      }
      const c = b.sad.inbound(spiAB)!.counters;
      expect(b.counters.truncated).toBe(8);
      expect(b.counters.truncated + c.invalidLength + c.authFailures).toBe(sent.esp.length);
      expect(c.decaps).toBe(0);
      expect(b.receiveEsp(sent.esp).ok).toBe(true);
    });
  }

  it('every prefix of an outer ESP-in-UDP packet is refused with a typed result', () => {
    const { a, b } = makePair({ suite: SUITES['aes128gcm16']! });
    const sent = a.protect('net', icmpEcho(INNER_A, INNER_B));
    if (!sent.ok) throw new Error(sent.message);
    const pkt = sent.packets[0]!;
    const reasons = new Set<string>();
    for (let n = 0; n < pkt.length; n++) {
      const r = b.receive(pkt.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) reasons.add(r.reason);
    }
    expect([...reasons].sort()).toEqual([ESP_DROP.BAD_OUTER]);
    expect(b.counters.badOuter).toBe(pkt.length);
    expect(b.receive(pkt).ok).toBe(true);
  });
});

describe('garbage', () => {
  it('random bytes into receive() and receiveEsp() never throw and are never delivered', () => {
    const { b } = makePair({ suite: SUITES['aes128-sha256']! });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withSpi) => {
        if (withSpi && bytes.length >= 4) bytes.set([0xc1, 0x00, 0x00, 0x01], 0);
        expect(b.receive(bytes).ok).toBe(false);
        expect(b.receiveEsp(bytes).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
