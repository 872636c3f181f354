import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../src/core/index.ts';
import {
  EncrId,
  IntegId,
  cbcDecrypt,
  cbcEncrypt,
  espOpen,
  espSeal,
  gcmOpen,
  gcmSeal,
} from '../../src/crypto/index.ts';

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/**
 * "The Galois/Counter Mode of Operation (GCM)", McGrew & Viega, revised spec
 * Appendix B (the vectors NIST republished): test cases with a 96-bit IV.
 */
const P60 =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39';
const P64 = `${P60}1aafd255`;
const GCM_SPEC = [
  { tc: 1, key: '00'.repeat(16), iv: '00'.repeat(12), aad: '', p: '', c: '', t: '58e2fccefa7e3061367f1d57a4e7455a' },
  {
    tc: 2,
    key: '00'.repeat(16),
    iv: '00'.repeat(12),
    aad: '',
    p: '00'.repeat(16),
    c: '0388dace60b6a392f328c2b971b2fe78',
    t: 'ab6e47d42cec13bdf53a67b21257bddf',
  },
  {
    tc: 3,
    key: 'feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: '',
    p: P64,
    c: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985',
    t: '4d5c2af327cd64a62cf35abd2ba6fab4',
  },
  {
    tc: 4,
    key: 'feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    p: P60,
    c: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    t: '5bc94fbc3221a5db94fae95ae7121a47',
  },
  { tc: 13, key: '00'.repeat(32), iv: '00'.repeat(12), aad: '', p: '', c: '', t: '530f8afbc74536b9a963b4f1c4cb738b' },
  {
    tc: 14,
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    aad: '',
    p: '00'.repeat(16),
    c: 'cea7403d4d606b6e074ec5d3baf39d18',
    t: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    tc: 16,
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    p: P60,
    c: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    t: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
];

describe('AES-GCM: GCM specification test cases (96-bit IV)', () => {
  for (const v of GCM_SPEC) {
    it(`test case ${v.tc}`, () => {
      const { ciphertext, tag } = gcmSeal(fromHex(v.key), fromHex(v.iv), fromHex(v.aad), fromHex(v.p));
      expect(toHex(ciphertext)).toBe(v.c);
      expect(toHex(tag)).toBe(v.t);
      const back = gcmOpen(fromHex(v.key), fromHex(v.iv), fromHex(v.aad), ciphertext, tag);
      expect(back && toHex(back)).toBe(v.p);
      const badTag = new Uint8Array(tag);
      badTag[0]! ^= 0x80;
      expect(gcmOpen(fromHex(v.key), fromHex(v.iv), fromHex(v.aad), ciphertext, badTag)).toBeUndefined();
    });
  }
});

/** RFC 3602 §4, cases #1-#4 (AES-CBC-128 encryption). */
const RFC3602 = [
  {
    n: 1,
    key: '06a9214036b8a15b512e03d534120006',
    iv: '3dafba429d9eb430b422da802c9fac41',
    p: ascii('Single block msg'),
    c: 'e353779c1079aeb82708942dbe77181a',
  },
  {
    n: 2,
    key: 'c286696d887c9aa0611bbb3e2025a45a',
    iv: '562e17996d093d28ddb3ba695a2e6f58',
    p: fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
    c: 'd296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1',
  },
  {
    n: 3,
    key: '6c3ea0477630ce21a2ce334aa746c2cd',
    iv: 'c782dc4c098c66cbd9cd27d825682c81',
    p: ascii('This is a 48-byte message (exactly 3 AES blocks)'),
    c: 'd0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684',
  },
  {
    n: 4,
    key: '56e47a38c5598974bc46903dba290349',
    iv: '8ce82eefbea0da3c44699ed7db51b7d9',
    p: fromHex(
      'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf',
    ),
    c: 'c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55',
  },
];

describe('AES-CBC: RFC 3602 §4 cases #1-#4', () => {
  for (const v of RFC3602) {
    it(`case #${v.n}`, () => {
      const c = cbcEncrypt('aes-128-cbc', fromHex(v.key), fromHex(v.iv), v.p);
      expect(toHex(c)).toBe(v.c);
      expect(toHex(cbcDecrypt('aes-128-cbc', fromHex(v.key), fromHex(v.iv), c))).toBe(toHex(v.p));
    });
  }
});

/**
 * draft-mcgrew-gcm-test-01 (AES-GCM ESP packets, RFC 4106): full packets built by
 * espSeal must equal SPI ‖ seq ‖ IV ‖ ciphertext ‖ tag from the draft; the
 * draft's nonce is salt ‖ IV and its AAD is SPI ‖ seq (‖ ESN high word first).
 */
const MCGREW = [
  {
    name: 'Test Case 2 (AES-128, 32-bit sequence number)',
    key: 'feffe9928665731c6d6a8f9467308308',
    nonce: 'cafebabefacedbaddecaf888',
    aad: '0000a5f80000000a',
    spi: 0xa5f8,
    seq: 0x0a,
    seqHi: undefined,
    p: '4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d001000001000000000000037369700963796265726369747902646b00000100010001',
    c: 'deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1',
    t: '83b70d3aa8bc6ee4c309e9d85a41ad4a',
  },
  {
    name: 'Test Case 3 (AES-256)',
    key: 'abbccddef00112233445566778899aababbccddef00112233445566778899aab',
    nonce: '112233440102030405060708',
    aad: '4a2cbfe300000002',
    spi: 0x4a2cbfe3,
    seq: 2,
    seqHi: undefined,
    p: '4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee0000000007002400020bf0000020405b40101040201020201',
    c: 'ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763748a637985771d347f0545659f14e99def842d8e',
    t: 'b335f4eecfdbf831824b4c4915956c96',
  },
  {
    name: 'Test Case 1 (AES-128, 64-bit extended sequence number)',
    key: '4c80cdefbb5d10da906ac73c3613a634',
    nonce: '2e443b684956ed7e3b244cfe',
    aad: '000043218765432100000000',
    spi: 0x4321,
    seq: 0,
    seqHi: 0x87654321,
    p: '45000048699a000080114db7c0a80102c0a801010a9bf15638d301000001000000000000045f736970045f756470037369700963796265726369747902646b000021000101020201',
    c: 'fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce61bc17d768fd9732',
    t: '459018148f6cbe722fd04796562dfdb4',
  },
];

describe('ESP AES-GCM: draft-mcgrew-gcm-test-01 packets', () => {
  for (const v of MCGREW) {
    it(v.name, () => {
      const nonce = fromHex(v.nonce);
      const salt = nonce.subarray(0, 4);
      const iv = nonce.subarray(4);
      const keyE = concatBytes(fromHex(v.key), salt);
      const suite = { encr: EncrId.AES_GCM_16, keyBits: v.key.length * 4, integ: IntegId.NONE } as const;
      const packet = espSeal({ suite, keyE, spi: v.spi, seq: v.seq, seqHi: v.seqHi, iv, plaintext: fromHex(v.p) });
      const header = toHex(fromHex(v.aad).subarray(0, 4)) + v.seq.toString(16).padStart(8, '0');
      expect(toHex(packet)).toBe(header + toHex(iv) + v.c + v.t);
      const opened = espOpen({ suite, keyE, packet, seqHi: v.seqHi });
      expect(opened.ok && toHex(opened.plaintext)).toBe(v.p);
      if (v.seqHi !== undefined) {
        // Without the right high word the AAD differs and the ICV fails.
        const wrong = espOpen({ suite, keyE, packet, seqHi: v.seqHi + 1 });
        expect(wrong.ok).toBe(false);
      }
    });
  }
});
