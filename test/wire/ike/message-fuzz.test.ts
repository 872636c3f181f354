/**
 * Hostile input: whatever bytes arrive, the decoders return a value or throw DecodeError
 * (never TypeError/RangeError, never a hang). Seeds are real messages from the captures.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError } from '../../../src/core/errors.ts';
import { decodeMessage, decodePayloadChain } from '../../../src/wire/ike/message.ts';
import { payloadCodecFor } from '../../../src/wire/ike/payload.ts';
import { capture, ikeDatagrams } from '../../helpers/capture-udp.ts';
import { thrownBy } from '../../helpers/roundtrip.ts';
import { DECRYPTED, IKEV2FOUR, NAT_T, NDPI_ESP, OUTSIDE, PI2, REDIRECT } from './vectors.ts';

/** Runs decode; the only acceptable failure is a DecodeError. Returns the payload count (or -1). */
function survives(decode: () => { payloads: readonly unknown[] } | readonly unknown[]): number {
  let count = -1;
  const e = thrownBy(() => {
    const v = decode();
    count = Array.isArray(v) ? v.length : (v as { payloads: readonly unknown[] }).payloads.length;
  });
  if (e !== undefined) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).layer).toBe('ikev2');
    expect(Number.isInteger((e as DecodeError).offset)).toBe(true);
  }
  return count;
}

const seeds: Uint8Array[] = [OUTSIDE, IKEV2FOUR, REDIRECT, NAT_T, NDPI_ESP, PI2, 'openswan/libpluto/lib-parentR2x509/parentR2psk.pcap']
  .flatMap((f) => ikeDatagrams(capture(f)))
  .filter((d) => d.ike[17] === 0x20)
  .map((d) => d.ike);

/** Offsets of every generic payload header in a well-formed message (SK contents excluded). */
function payloadOffsets(m: Uint8Array): number[] {
  const out: number[] = [];
  let next = m[16]!;
  let off = 28;
  while (next !== 0 && off + 4 <= m.length) {
    out.push(off);
    if (next === 46 || next === 53) break;
    next = m[off]!;
    off += (m[off + 2]! << 8) | m[off + 3]!;
  }
  return out;
}

const seed = fc.constantFrom(...seeds);

describe('decodeMessage on hostile input', () => {
  it('has real seeds', () => {
    expect(seeds.length).toBeGreaterThan(50);
  });

  it('arbitrary bytes only ever throw DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(100_000), (b, base) => {
        survives(() => decodeMessage(b, base));
      }),
      { numRuns: 2000 },
    );
  });

  it('a valid header over arbitrary payload bytes only ever throws DecodeError, and never yields more payloads than 4-byte steps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 800 }), (first, body) => {
        const m = new Uint8Array(28 + body.length);
        m.set(seeds[0]!.subarray(0, 28));
        m[16] = first;
        new DataView(m.buffer).setUint32(24, m.length);
        m.set(body, 28);
        const n = survives(() => decodeMessage(m));
        expect(n).toBeLessThanOrEqual(Math.floor(body.length / 4));
      }),
      { numRuns: 2000 },
    );
  });

  it('bit flips in real messages only ever throw DecodeError', () => {
    fc.assert(
      fc.property(seed, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 6 }), (s, flips) => {
        const m = new Uint8Array(s);
        for (const [i, bit] of flips) m[i % m.length]! ^= 1 << bit;
        survives(() => decodeMessage(m));
      }),
      { numRuns: 3000 },
    );
  });

  it('payload length fields inflated to 0xffff (or zeroed) are DecodeErrors naming payload_length', () => {
    fc.assert(
      fc.property(seed, fc.nat(), fc.constantFrom(0xffff, 0, 1, 3), (s, pick, value) => {
        const offs = payloadOffsets(s);
        fc.pre(offs.length > 0);
        const at = offs[pick % offs.length]!;
        const m = new Uint8Array(s);
        m[at + 2] = value >> 8;
        m[at + 3] = value & 0xff;
        const err = thrownBy(() => decodeMessage(m, 8));
        expect(err).toBeInstanceOf(DecodeError);
        expect(err).toMatchObject({ field: 'payload_length', offset: 8 + at + 2 });
      }),
      { numRuns: 500 },
    );
  });

  it('header Length inflated or truncated datagrams are DecodeErrors', () => {
    fc.assert(
      fc.property(seed, fc.nat(), fc.constantFrom(0xffffffff, 0xffff, 0), (s, cut, len) => {
        const m = new Uint8Array(s);
        new DataView(m.buffer).setUint32(24, len);
        expect(() => decodeMessage(m)).toThrow(DecodeError);
        const t = s.subarray(0, cut % s.length);
        expect(() => decodeMessage(t)).toThrow(DecodeError);
      }),
      { numRuns: 500 },
    );
  });

  it('random splices of real messages only ever throw DecodeError', () => {
    fc.assert(
      fc.property(seed, seed, fc.nat(), fc.nat(), (a, b, i, j) => {
        const x = i % a.length;
        const y = j % b.length;
        const m = new Uint8Array(x + b.length - y);
        m.set(a.subarray(0, x));
        m.set(b.subarray(y), x);
        survives(() => decodeMessage(m));
      }),
      { numRuns: 1000 },
    );
  });

  it('decodePayloadChain and single-payload codecs on mutated decrypted contents only throw DecodeError', () => {
    const chains = [DECRYPTED.ikeAuthRequest, DECRYPTED.ikeAuthResponse, DECRYPTED.deleteRequest];
    fc.assert(
      fc.property(fc.constantFrom(...chains), fc.integer({ min: 0, max: 255 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.nat(500), (c, first, edits, base) => {
        const m = new Uint8Array(c);
        for (const [i, v] of edits) m[i % m.length] = v;
        survives(() => decodePayloadChain(first, m, base));
        survives(() => [payloadCodecFor(first).decode(m, base)]);
      }),
      { numRuns: 2000 },
    );
  });

  it('a 64 KiB chain of minimal payloads decodes promptly', () => {
    const n = 16000;
    const m = new Uint8Array(28 + 4 * n);
    m.set(seeds[0]!.subarray(0, 28));
    m[16] = 43; // V
    new DataView(m.buffer).setUint32(24, m.length);
    for (let i = 0; i < n; i++) {
      m[28 + 4 * i] = i === n - 1 ? 0 : 43;
      m[28 + 4 * i + 3] = 4;
    }
    expect(decodeMessage(m).payloads).toHaveLength(n);
  });
});
