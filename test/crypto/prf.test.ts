import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { concatBytes, fromHex, toHex } from '../../src/core/index.ts';
import {
  EncrId,
  IntegId,
  KEY_PAD_IKEV2,
  PrfId,
  constantTimeEqual,
  deriveChildKeys,
  deriveIkeKeys,
  deriveIkeSaKeys,
  ikeKeySizes,
  integCompute,
  integVerify,
  prf,
  prfPlus,
  pskAuth,
  rekeySkeyseed,
  signedOctets,
  skeyseed,
} from '../../src/crypto/index.ts';

const ascii = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const rep = (b: number, n: number) => new Uint8Array(n).fill(b);
const seq = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** RFC 4231 §4.2-§4.8: HMAC-SHA-256 / -384 / -512, test cases 1-7 (test case 5 is truncated to 128 bits). */
const RFC4231 = [
  {
    tc: 1,
    key: rep(0x0b, 20),
    data: ascii('Hi There'),
    sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    sha384: 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
    sha512:
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  },
  {
    tc: 2,
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    sha384: 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
    sha512:
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    tc: 3,
    key: rep(0xaa, 20),
    data: rep(0xdd, 50),
    sha256: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
    sha384: '88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27',
    sha512:
      'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
  },
  {
    tc: 4,
    key: seq(0x01, 0x19),
    data: rep(0xcd, 50),
    sha256: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    sha384: '3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb',
    sha512:
      'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
  },
  {
    tc: 5,
    key: rep(0x0c, 20),
    data: ascii('Test With Truncation'),
    truncated: true,
    sha256: 'a3b6167473100ee06e0c796c2955552b',
    sha384: '3abf34c3503b2a23a46efc619baef897',
    sha512: '415fad6271580a531d4179bc891d87a6',
  },
  {
    tc: 6,
    key: rep(0xaa, 131),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    sha384: '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
    sha512:
      '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
  {
    tc: 7,
    key: rep(0xaa, 131),
    data: ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    sha256: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    sha384: '6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e',
    sha512:
      'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
  },
];

/** RFC 2202 §3: HMAC-SHA-1 test cases 1-7. */
const RFC2202 = [
  { tc: 1, key: rep(0x0b, 20), data: ascii('Hi There'), mac: 'b617318655057264e28bc0b6fb378c8ef146be00' },
  { tc: 2, key: ascii('Jefe'), data: ascii('what do ya want for nothing?'), mac: 'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79' },
  { tc: 3, key: rep(0xaa, 20), data: rep(0xdd, 50), mac: '125d7342b9ac11cd91a39af48aa17b4f63f175d3' },
  { tc: 4, key: seq(0x01, 0x19), data: rep(0xcd, 50), mac: '4c9007f4026250c6bc8414f9bf50c86c2d7235da' },
  { tc: 5, key: rep(0x0c, 20), data: ascii('Test With Truncation'), mac: '4c1a03424b55e07fe7f27be1d58bb9324a9a5a04' },
  {
    tc: 6,
    key: rep(0xaa, 80),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: 'aa4ae5e15272d00e95705637ce8a3b55ed402112',
  },
  {
    tc: 7,
    key: rep(0xaa, 80),
    data: ascii('Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data'),
    mac: 'e8e99d0f45237d786d6bbaa7965c7808bbff1a91',
  },
];

describe('prf: RFC 4231 HMAC-SHA2 test cases 1-7', () => {
  for (const v of RFC4231) {
    it(`test case ${v.tc}`, () => {
      const cut = (h: string, out: Uint8Array) => (v.truncated ? toHex(out).slice(0, h.length) : toHex(out));
      expect(cut(v.sha256, prf(PrfId.HMAC_SHA2_256, v.key, v.data))).toBe(v.sha256);
      expect(cut(v.sha384, prf(PrfId.HMAC_SHA2_384, v.key, v.data))).toBe(v.sha384);
      expect(cut(v.sha512, prf(PrfId.HMAC_SHA2_512, v.key, v.data))).toBe(v.sha512);
    });
  }
});

describe('prf: RFC 2202 HMAC-SHA1 test cases 1-7', () => {
  for (const v of RFC2202) {
    it(`test case ${v.tc}`, () => {
      expect(toHex(prf(PrfId.HMAC_SHA1, v.key, v.data))).toBe(v.mac);
    });
  }
});

describe('integ: truncated ICVs', () => {
  it('HMAC-SHA1-96 is RFC 2202 test case 5 digest-96', () => {
    // RFC 2202 §3 gives digest-96 = 4c1a03424b55e07fe7f27be1 for test case 5.
    const icv = integCompute(IntegId.HMAC_SHA1_96, rep(0x0c, 20), ascii('Test With Truncation'));
    expect(toHex(icv)).toBe('4c1a03424b55e07fe7f27be1');
  });

  it('HMAC-SHA2-*-* are the RFC 4868 truncations (first half of the HMAC) with full-size keys', () => {
    const data = ascii('Hi There');
    const cases = [
      { alg: IntegId.HMAC_SHA2_256_128, prfAlg: PrfId.HMAC_SHA2_256, keyLen: 32, icv: 16 },
      { alg: IntegId.HMAC_SHA2_384_192, prfAlg: PrfId.HMAC_SHA2_384, keyLen: 48, icv: 24 },
      { alg: IntegId.HMAC_SHA2_512_256, prfAlg: PrfId.HMAC_SHA2_512, keyLen: 64, icv: 32 },
    ];
    for (const c of cases) {
      const key = rep(0x0b, c.keyLen);
      const out = integCompute(c.alg, key, data);
      expect(out.length).toBe(c.icv);
      expect(toHex(out)).toBe(toHex(prf(c.prfAlg, key, data).subarray(0, c.icv)));
    }
  });

  it('HMAC-SHA-256-128 matches RFC 4231 test case 5 when the 20-byte key is fed to the raw HMAC', () => {
    expect(toHex(new Uint8Array(createHmac('sha256', rep(0x0c, 20)).update('Test With Truncation').digest()).subarray(0, 16))).toBe(
      'a3b6167473100ee06e0c796c2955552b',
    );
  });

  it('integVerify accepts the right ICV over split parts and rejects a flipped bit or a wrong length', () => {
    const key = rep(0x42, 32);
    const icv = integCompute(IntegId.HMAC_SHA2_256_128, key, ascii('abc'), ascii('def'));
    expect(integVerify(IntegId.HMAC_SHA2_256_128, key, icv, ascii('abcdef'))).toBe(true);
    const bad = new Uint8Array(icv);
    bad[5]! ^= 0x01;
    expect(integVerify(IntegId.HMAC_SHA2_256_128, key, bad, ascii('abcdef'))).toBe(false);
    expect(integVerify(IntegId.HMAC_SHA2_256_128, key, icv.subarray(0, 12), ascii('abcdef'))).toBe(false);
    expect(constantTimeEqual(icv, icv.slice())).toBe(true);
    expect(constantTimeEqual(icv, icv.subarray(1))).toBe(false);
  });

  it('refuses a key of the wrong size (a caller bug)', () => {
    expect(() => integCompute(IntegId.HMAC_SHA1_96, rep(1, 16), ascii('x'))).toThrow(/20-byte key/);
  });
});

describe('prf+ (RFC 7296 §2.13)', () => {
  it('equals the expansion T1 = prf(K, S|01), T2 = prf(K, T1|S|02), T3 = prf(K, T2|S|03), cut to length', () => {
    const K = fromHex('000102030405060708090a0b0c0d0e0f');
    const S = ascii('seed for prf+');
    const h = (d: Uint8Array) => new Uint8Array(createHmac('sha256', K).update(d).digest());
    const t1 = h(concatBytes(S, Uint8Array.of(1)));
    const t2 = h(concatBytes(t1, S, Uint8Array.of(2)));
    const t3 = h(concatBytes(t2, S, Uint8Array.of(3)));
    const expected = concatBytes(t1, t2, t3).subarray(0, 70);
    expect(toHex(prfPlus(PrfId.HMAC_SHA2_256, K, S, 70))).toBe(toHex(expected));
    // Shorter outputs are prefixes.
    expect(toHex(prfPlus(PrfId.HMAC_SHA2_256, K, S, 20))).toBe(toHex(t1.subarray(0, 20)));
    expect(prfPlus(PrfId.HMAC_SHA2_256, K, S, 0).length).toBe(0);
  });

  it('stops at 255 blocks', () => {
    expect(prfPlus(PrfId.HMAC_SHA1, rep(1, 20), rep(2, 8), 255 * 20).length).toBe(5100);
    expect(() => prfPlus(PrfId.HMAC_SHA1, rep(1, 20), rep(2, 8), 255 * 20 + 1)).toThrow(/at most 5100 bytes/);
  });
});

describe('IKE SA key derivation (RFC 7296 §2.14, §2.18)', () => {
  const ni = rep(0x11, 32);
  const nr = rep(0x22, 32);
  const spiI = fromHex('8391f754f1670e3d');
  const spiR = fromHex('5bc1c325f6ce53e8');
  const gir = rep(0x33, 32);

  it('SKEYSEED = prf(Ni | Nr, g^ir)', () => {
    expect(toHex(skeyseed(PrfId.HMAC_SHA2_256, ni, nr, gir))).toBe(
      toHex(new Uint8Array(createHmac('sha256', concatBytes(ni, nr)).update(gir).digest())),
    );
  });

  it('splits prf+(SKEYSEED, Ni|Nr|SPIi|SPIr) as SK_d|SK_ai|SK_ar|SK_ei|SK_er|SK_pi|SK_pr (AES-CBC-256 + SHA2-256-128)', () => {
    const suite = { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128 } as const;
    const sizes = ikeKeySizes(PrfId.HMAC_SHA2_256, suite);
    expect(sizes).toEqual({ prfKeyLength: 32, integKeyLength: 32, encrKeyLength: 32 });
    const seed = skeyseed(PrfId.HMAC_SHA2_256, ni, nr, gir);
    const k = deriveIkeSaKeys(PrfId.HMAC_SHA2_256, seed, ni, nr, spiI, spiR, sizes);
    const stream = prfPlus(PrfId.HMAC_SHA2_256, seed, concatBytes(ni, nr, spiI, spiR), 7 * 32);
    const parts = [k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr];
    expect(toHex(concatBytes(...parts))).toBe(toHex(stream));
    parts.forEach((p) => expect(p.length).toBe(32));
  });

  it('AES-GCM: SK_e carries the 4-byte salt and there is no SK_a (RFC 5282 §7.1)', () => {
    const suite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE } as const;
    const k = deriveIkeKeys({ prf: PrfId.HMAC_SHA2_256, suite, ni, nr, spiI, spiR, sharedSecret: gir });
    expect(k.skEi.length).toBe(20);
    expect(k.skEr.length).toBe(20);
    expect(k.skAi.length).toBe(0);
    expect(k.skAr.length).toBe(0);
    expect(k.skD.length).toBe(32);
    // SK_ei follows SK_d directly in the stream.
    const stream = prfPlus(PrfId.HMAC_SHA2_256, k.skeyseed, concatBytes(ni, nr, spiI, spiR), 32 + 40);
    expect(toHex(k.skEi)).toBe(toHex(stream.subarray(32, 52)));
    expect(toHex(k.skEr)).toBe(toHex(stream.subarray(52, 72)));
  });

  it('rekeyed SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)', () => {
    const oldSkD = rep(0x44, 32);
    const expected = new Uint8Array(createHmac('sha256', oldSkD).update(concatBytes(gir, ni, nr)).digest());
    expect(toHex(rekeySkeyseed(PrfId.HMAC_SHA2_256, oldSkD, gir, ni, nr))).toBe(toHex(expected));
    const suite = { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE } as const;
    const k = deriveIkeKeys({ prf: PrfId.HMAC_SHA2_256, suite, ni, nr, spiI, spiR, sharedSecret: gir, oldSkD });
    expect(toHex(k.skeyseed)).toBe(toHex(expected));
    expect(k.skEi.length).toBe(36);
  });
});

describe('CHILD_SA KEYMAT (RFC 7296 §2.17)', () => {
  const skD = rep(0x55, 32);
  const ni = rep(0x11, 16);
  const nr = rep(0x22, 16);

  it('takes encr_i | integ_i | encr_r | integ_r from prf+(SK_d, Ni | Nr)', () => {
    const suite = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA1_96 } as const;
    const k = deriveChildKeys(PrfId.HMAC_SHA2_256, skD, ni, nr, suite);
    const stream = prfPlus(PrfId.HMAC_SHA2_256, skD, concatBytes(ni, nr), 2 * (16 + 20));
    expect(toHex(concatBytes(k.encrI, k.integI, k.encrR, k.integR))).toBe(toHex(stream));
    expect([k.encrI.length, k.integI.length, k.encrR.length, k.integR.length]).toEqual([16, 20, 16, 20]);
  });

  it('with PFS prepends the new g^ir, and GCM keys carry the salt', () => {
    const suite = { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE } as const;
    const gir = rep(0x66, 56);
    const k = deriveChildKeys(PrfId.HMAC_SHA2_256, skD, ni, nr, suite, gir);
    const stream = prfPlus(PrfId.HMAC_SHA2_256, skD, concatBytes(gir, ni, nr), 72);
    expect(toHex(concatBytes(k.encrI, k.encrR))).toBe(toHex(stream));
    expect(k.encrI.length).toBe(36);
    expect(k.integI.length).toBe(0);
  });
});

describe('shared-key AUTH (RFC 7296 §2.15)', () => {
  it('is prf(prf(psk, "Key Pad for IKEv2"), message | peer nonce | prf(SK_p, ID body))', () => {
    expect(Buffer.from(KEY_PAD_IKEV2).toString('latin1')).toBe('Key Pad for IKEv2');
    expect(KEY_PAD_IKEV2.length).toBe(17);
    const psk = ascii('secret');
    const msg = rep(0x77, 100);
    const nonce = rep(0x88, 32);
    const skP = rep(0x99, 32);
    const id = concatBytes(Uint8Array.of(2, 0, 0, 0), ascii('ini.lab'));
    const mac = (k: Uint8Array, d: Uint8Array) => new Uint8Array(createHmac('sha256', k).update(d).digest());
    const octets = concatBytes(msg, nonce, mac(skP, id));
    expect(toHex(signedOctets(PrfId.HMAC_SHA2_256, msg, nonce, skP, id))).toBe(toHex(octets));
    const expected = mac(mac(psk, ascii('Key Pad for IKEv2')), octets);
    expect(toHex(pskAuth(PrfId.HMAC_SHA2_256, psk, msg, nonce, skP, id))).toBe(toHex(expected));
  });
});
