import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHmac, getCiphers, getHashes } from 'node:crypto';
import { concatBytes, toHex } from '../../src/core/index.ts';
import {
  EncrId,
  IntegId,
  IntegrityError,
  encrInfo,
  encrKeyLength,
  espAddTrailer,
  espAlignment,
  espOpen,
  espOpenOrThrow,
  espOverhead,
  espSeal,
  espStripTrailer,
  integKeyLength,
  type CipherSuite,
} from '../../src/crypto/index.ts';

const SUITES: readonly CipherSuite[] = [
  { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE },
  { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE },
  { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA1_96 },
  { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 },
  { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_384_192 },
  { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_512_256 },
  { encr: EncrId.NULL, keyBits: 0, integ: IntegId.HMAC_SHA1_96 },
  { encr: EncrId.NULL, keyBits: 0, integ: IntegId.HMAC_SHA2_256_128 },
  { encr: EncrId.DES3, keyBits: 192, integ: IntegId.HMAC_MD5_96 },
  { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_MD5_96 },
];

const label = (s: CipherSuite) => `${encrInfo(s.encr).name}-${s.keyBits} + integ ${s.integ}`;
const keysFor = (s: CipherSuite, seed: number) => ({
  keyE: new Uint8Array(encrKeyLength(s)).fill(seed),
  keyA: integKeyLength(s) === 0 ? undefined : new Uint8Array(integKeyLength(s)).fill(seed ^ 0xa5),
});

describe('node:crypto support for the legacy ESP algorithms', () => {
  it('has des-ede3-cbc and md5 here (3DES-CBC and HMAC-MD5-96 are offered)', () => {
    expect(getCiphers()).toContain('des-ede3-cbc');
    expect(getHashes()).toContain('md5');
  });
});

describe('ESP trailer (RFC 4303 §2.4)', () => {
  it('pads payload ‖ pad ‖ pad length ‖ next header with 1, 2, 3, ... to the alignment', () => {
    const t = espAddTrailer(Uint8Array.of(0xaa, 0xbb, 0xcc), 4, 16);
    expect(toHex(t)).toBe('aabbcc' + '0102030405060708090a0b' + '0b' + '04');
    expect(espAddTrailer(new Uint8Array(2), 41, 4).length).toBe(4);
    expect(espAddTrailer(new Uint8Array(2), 41, 4, 2).length).toBe(12);
    const r = espStripTrailer(t);
    expect(r.ok && toHex(r.payload)).toBe('aabbcc');
    expect(r.ok && [r.nextHeader, r.padLength, r.defaultPadding]).toEqual([4, 11, true]);
  });

  it('flags non-default padding and refuses a pad length past the start', () => {
    const odd = espStripTrailer(Uint8Array.of(9, 9, 7, 7, 2, 4));
    expect(odd.ok && odd.defaultPadding).toBe(false);
    const bad = espStripTrailer(Uint8Array.of(1, 2, 9, 4));
    expect(!bad.ok && bad.reason).toBe('bad-padding');
    const tiny = espStripTrailer(Uint8Array.of(4));
    expect(!tiny.ok && tiny.reason).toBe('bad-length');
  });

  it('alignment is the block size, at least 4; overhead adds header, IV, trailer and ICV', () => {
    expect(espAlignment(SUITES[0]!)).toBe(4);
    expect(espAlignment(SUITES[2]!)).toBe(16);
    expect(espAlignment(SUITES[8]!)).toBe(8);
    // GCM-128, 84-byte IPv4 ping: 8 + 8 IV + (84 + 2 -> 88) + 16 = 120 bytes, the size in the strongSwan capture.
    expect(84 + espOverhead(SUITES[0]!, 84)).toBe(120);
  });
});

describe('ESP AES-CBC + HMAC ICV covers SPI ‖ seq ‖ IV ‖ ciphertext (RFC 4303 §3.3.2.1, RFC 4868)', () => {
  it('the last 16 bytes of an AES-CBC/HMAC-SHA2-256-128 packet are HMAC(SPI‖seq‖IV‖C) truncated', () => {
    const s = SUITES[3]!;
    const { keyE, keyA } = keysFor(s, 1);
    const plaintext = espAddTrailer(new Uint8Array(30).fill(0x61), 4, 16);
    const packet = espSeal({ suite: s, keyE, keyA, spi: 0x01020304, seq: 7, iv: new Uint8Array(16).fill(9), plaintext });
    const body = packet.subarray(0, packet.length - 16);
    expect(toHex(body.subarray(0, 8))).toBe('0102030400000007');
    const mac = new Uint8Array(createHmac('sha256', keyA!).update(body).digest()).subarray(0, 16);
    expect(toHex(packet.subarray(packet.length - 16))).toBe(toHex(mac));
  });

  it('with ESN the high 32 bits are appended for the ICV only (RFC 4303 §2.2.1)', () => {
    const s = SUITES[2]!;
    const { keyE, keyA } = keysFor(s, 2);
    const plaintext = espAddTrailer(new Uint8Array(10), 4, 16);
    const packet = espSeal({ suite: s, keyE, keyA, spi: 0x1000, seq: 5, seqHi: 3, iv: new Uint8Array(16), plaintext });
    const body = packet.subarray(0, packet.length - 12);
    const mac = new Uint8Array(createHmac('sha1', keyA!).update(concatBytes(body, Uint8Array.of(0, 0, 0, 3))).digest()).subarray(0, 12);
    expect(toHex(packet.subarray(packet.length - 12))).toBe(toHex(mac));
    expect(espOpen({ suite: s, keyE, keyA, packet, seqHi: 3 }).ok).toBe(true);
    const wrong = espOpen({ suite: s, keyE, keyA, packet, seqHi: 4 });
    expect(!wrong.ok && wrong.reason).toBe('icv-mismatch');
    expect(espOpen({ suite: s, keyE, keyA, packet }).ok).toBe(false);
  });

  it('NULL encryption (RFC 2410) sends the plaintext as is, with no IV', () => {
    const s = SUITES[7]!;
    const { keyE, keyA } = keysFor(s, 3);
    expect(keyE.length).toBe(0);
    const plaintext = espAddTrailer(Uint8Array.of(0x45, 0, 0, 20), 4, 4);
    const packet = espSeal({ suite: s, keyE, keyA, spi: 1, seq: 1, iv: new Uint8Array(0), plaintext });
    expect(toHex(packet.subarray(8, 8 + plaintext.length))).toBe(toHex(plaintext));
    expect(packet.length).toBe(8 + plaintext.length + 16);
  });

  it('espOpenOrThrow throws IntegrityError with the reason', () => {
    const s = SUITES[0]!;
    const { keyE } = keysFor(s, 4);
    const packet = espSeal({ suite: s, keyE, spi: 9, seq: 1, iv: new Uint8Array(8), plaintext: espAddTrailer(new Uint8Array(6), 4, 4) });
    expect(espOpenOrThrow({ suite: s, keyE, packet }).seq).toBe(1);
    const bad = new Uint8Array(packet);
    bad[bad.length - 1]! ^= 1;
    expect(() => espOpenOrThrow({ suite: s, keyE, packet: bad })).toThrow(IntegrityError);
  });

  it('refuses an unaligned plaintext and a wrong key size (caller bugs)', () => {
    const s = SUITES[2]!;
    const { keyE, keyA } = keysFor(s, 5);
    expect(() => espSeal({ suite: s, keyE, keyA, spi: 1, seq: 1, iv: new Uint8Array(16), plaintext: new Uint8Array(15) })).toThrow(/multiple of 16/);
    expect(() => espSeal({ suite: s, keyE, keyA: new Uint8Array(16), spi: 1, seq: 1, iv: new Uint8Array(16), plaintext: new Uint8Array(16) })).toThrow(
      /integrity key must be 20 bytes/,
    );
    expect(() => espSeal({ suite: { encr: EncrId.NULL, keyBits: 0, integ: IntegId.NONE }, keyE, spi: 1, seq: 1, iv: new Uint8Array(0), plaintext: new Uint8Array(4) })).toThrow(
      /needs an integrity algorithm/,
    );
  });
});

describe('ESP properties (fast-check)', () => {
  for (const suite of SUITES) {
    const ivLen = encrInfo(suite.encr).ivLength;
    it(`${label(suite)}: seal/open round-trips (with and without ESN)`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 200 }),
          fc.integer({ min: 0, max: 255 }),
          fc.uint8Array({ minLength: ivLen, maxLength: ivLen }),
          fc.nat({ max: 0xffffffff }),
          fc.nat({ max: 0xffffffff }),
          fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }),
          (payload, nextHeader, iv, spi, seq, seqHi) => {
            const { keyE, keyA } = keysFor(suite, nextHeader);
            const plaintext = espAddTrailer(payload, nextHeader, espAlignment(suite));
            const packet = espSeal({ suite, keyE, keyA, spi, seq, seqHi, iv, plaintext });
            expect(packet.length).toBe(payload.length + espOverhead(suite, payload.length));
            const r = espOpen({ suite, keyE, keyA, packet, seqHi });
            expect(r.ok).toBe(true);
            if (!r.ok) return;
            expect([r.spi, r.seq]).toEqual([spi, seq]);
            const t = espStripTrailer(r.plaintext);
            expect(t.ok && toHex(t.payload)).toBe(toHex(payload));
            expect(t.ok && t.nextHeader).toBe(nextHeader);
          },
        ),
        { numRuns: 60 },
      );
    });

    it(`${label(suite)}: any flipped bit from the SPI to the last ICV byte is rejected`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (payload, where, bit) => {
          const { keyE, keyA } = keysFor(suite, 0x77);
          const plaintext = espAddTrailer(payload, 4, espAlignment(suite));
          const packet = espSeal({ suite, keyE, keyA, spi: 0xc0ffee, seq: 42, iv: new Uint8Array(ivLen).fill(3), plaintext });
          const bad = new Uint8Array(packet);
          bad[where % bad.length]! ^= 1 << bit;
          const r = espOpen({ suite, keyE, keyA, packet: bad });
          expect(r.ok).toBe(false);
          expect(!r.ok && r.reason).toBe('icv-mismatch');
        }),
        { numRuns: 80 },
      );
    });
  }
});
