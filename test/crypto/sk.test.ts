import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError, concatBytes, fromHex, toHex } from '../../src/core/index.ts';
import {
  EncrId,
  IntegId,
  IntegrityError,
  decryptSk,
  decryptSkOrThrow,
  encrInfo,
  encrKeyLength,
  encryptSk,
  gcmSeal,
  integKeyLength,
  openSkMessage,
  sealSkMessage,
  skBodyLength,
  skMinPadLength,
  splitSkMessage,
  type CipherSuite,
} from '../../src/crypto/index.ts';

const SUITES: readonly CipherSuite[] = [
  { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE },
  { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE },
  { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA1_96 },
  { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 },
  { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128 },
  { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_384_192 },
  { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_512_256 },
  { encr: EncrId.DES3, keyBits: 192, integ: IntegId.HMAC_SHA1_96 },
];

const name = (s: CipherSuite) => `${encrInfo(s.encr).name}-${s.keyBits}/${IntegId.NONE === s.integ ? 'AEAD' : s.integ}`;

/** An IKE header + SK generic header with final lengths for a body of `bodyLength` bytes. */
function prefixFor(bodyLength: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = new Uint8Array(32 + extra.length);
  p.set(fromHex('8391f754f1670e3d5bc1c325f6ce53e8'), 0);
  p[16] = extra.length === 0 ? 46 : 41; // first payload: SK, or a Notify before it
  p[17] = 0x20;
  p[18] = 37; // INFORMATIONAL
  p[19] = 0x08;
  const total = p.length + bodyLength;
  new DataView(p.buffer).setUint32(24, total);
  p.set(extra, 28);
  const sk = 28 + extra.length;
  p[sk] = 0; // no inner payloads
  new DataView(p.buffer).setUint16(sk + 2, total - sk);
  return p;
}

const keysFor = (s: CipherSuite, seed: number) => ({
  keyE: new Uint8Array(encrKeyLength(s)).fill(seed),
  keyA: integKeyLength(s) === 0 ? undefined : new Uint8Array(integKeyLength(s)).fill(seed ^ 0x5a),
});

describe('SK payload layout', () => {
  it('pads to the cipher block: none for GCM, to 16 for AES-CBC, to 8 for 3DES', () => {
    expect(skMinPadLength(SUITES[0]!, 100)).toBe(0);
    expect(skMinPadLength(SUITES[2]!, 100)).toBe(11); // 100 + 11 + 1 = 112
    expect(skMinPadLength(SUITES[2]!, 15)).toBe(0);
    expect(skMinPadLength(SUITES[7]!, 10)).toBe(5);
    // IV + plaintext + pad + pad-length + ICV
    expect(skBodyLength(SUITES[0]!, 100)).toBe(8 + 100 + 1 + 16);
    expect(skBodyLength(SUITES[2]!, 100)).toBe(16 + 112 + 12);
    expect(skBodyLength(SUITES[6]!, 0)).toBe(16 + 16 + 32);
  });

  it('honours an explicit pad length and explicit padding bytes', () => {
    const s = SUITES[2]!;
    const { keyE, keyA } = keysFor(s, 3);
    const plaintext = new Uint8Array(15).fill(7);
    const iv = new Uint8Array(16).fill(1);
    const body = encryptSk({ suite: s, keyE, keyA, iv, headerAndSkHeader: prefixFor(skBodyLength(s, 15, 16)), plaintext, padLength: 16 });
    expect(body.length).toBe(skBodyLength(s, 15, 16));
    const padding = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6);
    const head = prefixFor(skBodyLength(s, 15, 16));
    const body2 = encryptSk({ suite: s, keyE, keyA, iv, headerAndSkHeader: head, plaintext, padding });
    const r = decryptSk({ suite: s, keyE, keyA, headerAndSkHeader: head, body: body2 });
    expect(r.ok && toHex(r.padding)).toBe(toHex(padding));
    expect(r.ok && toHex(r.plaintext)).toBe(toHex(plaintext));
  });

  it('refuses a padded length that is not a whole number of blocks (a caller bug)', () => {
    const s = SUITES[2]!;
    const { keyE, keyA } = keysFor(s, 3);
    expect(() =>
      encryptSk({ suite: s, keyE, keyA, iv: new Uint8Array(16), headerAndSkHeader: prefixFor(100), plaintext: new Uint8Array(10), padLength: 3 }),
    ).toThrow(/whole number of 16-byte blocks/);
    expect(() => encryptSk({ suite: s, keyE, keyA, iv: new Uint8Array(8), headerAndSkHeader: prefixFor(100), plaintext: new Uint8Array(15) })).toThrow(
      /IV must be 16 bytes/,
    );
    expect(() => encryptSk({ suite: s, keyE: new Uint8Array(20), keyA, iv: new Uint8Array(16), headerAndSkHeader: prefixFor(100), plaintext: new Uint8Array(15) })).toThrow(
      /SK_e must be 16 bytes/,
    );
  });

  it('reports a pad length longer than the plaintext as bad-padding (after a valid ICV)', () => {
    const s = SUITES[0]!;
    const { keyE } = keysFor(s, 4);
    const head = prefixFor(8 + 4 + 16);
    const iv = new Uint8Array(8).fill(2);
    // Hand-built: 4 decrypted bytes whose last byte claims 200 bytes of padding.
    const { ciphertext, tag } = gcmSeal(keyE.subarray(0, 16), concatBytes(keyE.subarray(16), iv), head, Uint8Array.of(1, 2, 3, 200));
    const r = decryptSk({ suite: s, keyE, headerAndSkHeader: head, body: concatBytes(iv, ciphertext, tag) });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('bad-padding');
    expect(() => decryptSkOrThrow({ suite: s, keyE, headerAndSkHeader: head, body: concatBytes(iv, ciphertext, tag) })).toThrow(IntegrityError);
  });

  it('reports a body too short for IV + ICV, or not whole blocks, as bad-length', () => {
    const cases: Array<[CipherSuite, number, string]> = [
      // GCM: IV 8 + ICV 16, at least one byte of ciphertext
      [SUITES[0]!, 0, 'bad-length'],
      [SUITES[0]!, 24, 'bad-length'],
      [SUITES[0]!, 25, 'icv-mismatch'],
      // AES-CBC + HMAC-SHA1-96: IV 16 + ICV 12, whole 16-byte blocks
      [SUITES[2]!, 10, 'bad-length'],
      [SUITES[2]!, 40, 'bad-length'],
      [SUITES[2]!, 44, 'icv-mismatch'],
    ];
    for (const [s, n, reason] of cases) {
      const { keyE, keyA } = keysFor(s, 5);
      const r = decryptSk({ suite: s, keyE, keyA, headerAndSkHeader: prefixFor(n), body: new Uint8Array(n) });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason, `${name(s)} with a ${n}-byte body`).toBe(reason);
    }
  });
});

describe('whole-message functions', () => {
  const s = SUITES[4]!;
  const { keyE, keyA } = keysFor(s, 9);
  const notify = fromHex('2e000008 00004024'); // an unencrypted Notify (next: SK) before the SK payload
  const inner = fromHex('0000000c010000000a000001');

  it('sealSkMessage sets the IKE and SK lengths, and openSkMessage/splitSkMessage undo it', () => {
    const prefix = new Uint8Array(prefixFor(0, notify));
    prefix.fill(0xee, 24, 28); // stale lengths are overwritten
    const skOffset = 28 + notify.length;
    prefix[skOffset] = 41;
    const msg = sealSkMessage({ suite: s, keyE, keyA, iv: new Uint8Array(16).fill(3), prefix, skOffset, plaintext: inner });
    expect(msg.length).toBe(prefix.length + skBodyLength(s, inner.length));
    expect(new DataView(msg.buffer).getUint32(24)).toBe(msg.length);
    expect(new DataView(msg.buffer).getUint16(skOffset + 2)).toBe(msg.length - skOffset);
    const parts = splitSkMessage(msg, skOffset);
    expect(parts.firstInnerPayload).toBe(41);
    expect(parts.headerAndSkHeader.length).toBe(skOffset + 4);
    const r = openSkMessage({ suite: s, keyE, keyA, message: msg, skOffset });
    expect(r.ok && toHex(r.plaintext)).toBe(toHex(inner));
    expect(r.ok && r.firstInnerPayload).toBe(41);
    // The unencrypted Notify before SK is covered by the ICV.
    const bad = new Uint8Array(msg);
    bad[30]! ^= 1;
    expect(openSkMessage({ suite: s, keyE, keyA, message: bad, skOffset }).ok).toBe(false);
  });

  it('splitSkMessage names the field when a length does not end at the end of the message', () => {
    const msg = sealSkMessage({ suite: s, keyE, keyA, iv: new Uint8Array(16), prefix: prefixFor(0), skOffset: 28, plaintext: inner });
    const expectDecodeError = (m: Uint8Array, off: number, field: string) => {
      expect(() => splitSkMessage(m, off)).toThrow(DecodeError);
      expect(() => splitSkMessage(m, off)).toThrow(expect.objectContaining({ field }));
    };
    expectDecodeError(msg.subarray(0, msg.length - 1), 28, 'ike_length');
    const wrongSk = new Uint8Array(msg);
    new DataView(wrongSk.buffer).setUint16(30, 10);
    expectDecodeError(wrongSk, 28, 'payload_length');
    expectDecodeError(msg, msg.length - 2, 'sk_offset');
    const r = openSkMessage({ suite: s, keyE, keyA, message: msg.subarray(0, 20), skOffset: 28 });
    expect(!r.ok && r.reason).toBe('bad-length');
  });
});

describe('SK payload properties (fast-check)', () => {
  for (const suite of SUITES) {
    it(`${name(suite)}: seal/open round-trips`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: encrInfo(suite.encr).ivLength, maxLength: encrInfo(suite.encr).ivLength }),
          fc.integer({ min: 0, max: 255 }),
          fc.uint8Array({ maxLength: 24 }),
          (plaintext, iv, seed, extra) => {
            const { keyE, keyA } = keysFor(suite, seed);
            const body = skBodyLength(suite, plaintext.length);
            const head = prefixFor(body, extra);
            const out = encryptSk({ suite, keyE, keyA, iv, headerAndSkHeader: head, plaintext });
            expect(out.length).toBe(body);
            const r = decryptSk({ suite, keyE, keyA, headerAndSkHeader: head, body: out });
            expect(r.ok).toBe(true);
            expect(r.ok && toHex(r.plaintext)).toBe(toHex(plaintext));
          },
        ),
        { numRuns: 60 },
      );
    });

    it(`${name(suite)}: any flipped bit in IV, ciphertext, ICV or the authenticated header is rejected`, () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 120 }),
          fc.nat(),
          fc.integer({ min: 0, max: 7 }),
          fc.boolean(),
          (plaintext, where, bit, inHeader) => {
            const { keyE, keyA } = keysFor(suite, 0x33);
            const iv = new Uint8Array(encrInfo(suite.encr).ivLength).fill(0x11);
            const head = prefixFor(skBodyLength(suite, plaintext.length));
            const body = encryptSk({ suite, keyE, keyA, iv, headerAndSkHeader: head, plaintext });
            const h = new Uint8Array(head);
            const b = new Uint8Array(body);
            if (inHeader) h[where % h.length]! ^= 1 << bit;
            else b[where % b.length]! ^= 1 << bit;
            const r = decryptSk({ suite, keyE, keyA, headerAndSkHeader: h, body: b });
            expect(r.ok).toBe(false);
            expect(!r.ok && r.reason).toBe('icv-mismatch');
          },
        ),
        { numRuns: 80 },
      );
    });
  }
});
