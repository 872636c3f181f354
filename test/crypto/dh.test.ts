import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { getDiffieHellman } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { ProtocolError, SeededRng, concatBytes, fromHex, toHex } from '../../src/core/index.ts';
import { DhGroup, createDh, dhGroupSizes, isSupportedDhGroup } from '../../src/crypto/index.ts';
import { FixedBytesRng } from '../helpers/fixed-rng.ts';

/** The call throws ProtocolError(INVALID_SYNTAX) with a message matching `pattern`. */
function expectSyntaxError(f: () => unknown, pattern: RegExp): void {
  expect(f).toThrow(ProtocolError);
  expect(f).toThrow(expect.objectContaining({ notifyType: 7, message: expect.stringMatching(pattern) }));
}

describe('Curve25519 (group 31)', () => {
  it('RFC 7748 §6.1: Alice and Bob public keys and shared secret', () => {
    const alicePriv = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPriv = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alice = createDh(DhGroup.CURVE_25519, new FixedBytesRng(alicePriv));
    const bob = createDh(DhGroup.CURVE_25519, new FixedBytesRng(bobPriv));
    expect(toHex(alice.publicValue)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicValue)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(alice.computeShared(bob.publicValue))).toBe(shared);
    expect(toHex(bob.computeShared(alice.publicValue))).toBe(shared);
  });

  it('RFC 7748 §5.2: X25519(scalar, u) for both vectors and the first ladder iteration', () => {
    const vectors = [
      [
        'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
        'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
        'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
      ],
      [
        '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
        'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
        '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
      ],
      [
        '0900000000000000000000000000000000000000000000000000000000000000',
        '0900000000000000000000000000000000000000000000000000000000000000',
        '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
      ],
    ] as const;
    for (const [k, u, out] of vectors) {
      const dh = createDh(DhGroup.CURVE_25519, new FixedBytesRng(fromHex(k)));
      expect(toHex(dh.computeShared(fromHex(u)))).toBe(out);
    }
  });

  it('rejects a small-order peer value (all-zero shared secret, RFC 8031 §2.3) and a wrong length', () => {
    const dh = createDh(DhGroup.CURVE_25519, new SeededRng(1));
    expectSyntaxError(() => dh.computeShared(new Uint8Array(32)), /CURVE_25519/);
    // u = 1 is a point of order 4 on the curve: X25519 gives zero.
    expectSyntaxError(() => dh.computeShared(concatBytes(Uint8Array.of(1), new Uint8Array(31))), /CURVE_25519/);
    expectSyntaxError(() => dh.computeShared(new Uint8Array(31).fill(9)), /must be 32 bytes, got 31/);
  });

  it('derives the public value from the imported key: 200 exchanges in-process agree', () => {
    const rng = new SeededRng(2024);
    for (let i = 0; i < 200; i++) {
      const a = createDh(DhGroup.CURVE_25519, rng);
      const b = createDh(DhGroup.CURVE_25519, rng);
      expect(a.publicValue.length).toBe(32);
      expect(toHex(a.computeShared(b.publicValue))).toBe(toHex(b.computeShared(a.publicValue)));
    }
  });

  it('does not hang across fresh processes: 60 runs of dh.ts, each with a 10 s limit', () => {
    // Bundle the probe once so each run is a plain `node` start (no TypeScript loader).
    const dir = mkdtempSync(join(tmpdir(), 'x25519-probe-'));
    const bundle = join(dir, 'probe.mjs');
    buildSync({
      entryPoints: [fileURLToPath(new URL('../helpers/x25519-probe.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      logLevel: 'silent',
    });
    // Four at a time; xargs exits non-zero if any run fails or is killed by the timeout.
    const script = `seq 60 | xargs -P 4 -I{} timeout 10 node "${bundle}" {} > /dev/null && echo ok`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', timeout: 300_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.stdout.trim()).toBe('ok');
  }, 300_000);
});

describe('ECP groups (RFC 5903 §8)', () => {
  it('§8.1 ECP-256 (group 19): public values x‖y and the shared x-coordinate', () => {
    const i = createDh(DhGroup.ECP_256, new FixedBytesRng(fromHex('c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433')));
    const r = createDh(DhGroup.ECP_256, new FixedBytesRng(fromHex('c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53')));
    expect(toHex(i.publicValue)).toBe(
      'dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180' + '5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3',
    );
    expect(toHex(r.publicValue)).toBe(
      'd12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63' + '56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab',
    );
    const girx = 'd6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de';
    expect(toHex(i.computeShared(r.publicValue))).toBe(girx);
    expect(toHex(r.computeShared(i.publicValue))).toBe(girx);
  });

  it('§8.2 ECP-384 (group 20)', () => {
    const i = createDh(
      DhGroup.ECP_384,
      new FixedBytesRng(fromHex('099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194')),
    );
    const r = createDh(
      DhGroup.ECP_384,
      new FixedBytesRng(fromHex('41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc')),
    );
    expect(toHex(i.publicValue)).toBe(
      '667842d7d180ac2cde6f74f37551f55755c7645c20ef73e31634fe72b4c55ee6de3ac808acb4bdb4c88732aee95f41aa' +
        '9482ed1fc0eeb9cafc4984625ccfc23f65032149e0e144ada024181535a0f38eeb9fcff3c2c947dae69b4c634573a81c',
    );
    expect(toHex(r.publicValue)).toBe(
      'e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d0d1ac43a0336def96fda41d0774a3571' +
        'dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1fff83fa40142209dff5eaad96db9e6386c',
    );
    const girx = '11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746';
    expect(toHex(i.computeShared(r.publicValue))).toBe(girx);
    expect(toHex(r.computeShared(i.publicValue))).toBe(girx);
  });

  it('rejects a point that is not on the curve and a value with the 0x04 prefix', () => {
    const dh = createDh(DhGroup.ECP_256, new SeededRng(3));
    const offCurve = new Uint8Array(64).fill(1);
    expectSyntaxError(() => dh.computeShared(offCurve), /not a point on the curve/);
    expectSyntaxError(() => dh.computeShared(concatBytes(Uint8Array.of(4), dh.publicValue)), /must be 64 bytes, got 65/);
  });

  it('draws again when the rng yields a scalar >= the group order', () => {
    const tooBig = new Uint8Array(32).fill(0xff);
    const ok = fromHex('c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433');
    const rng = new FixedBytesRng(tooBig, ok);
    const dh = createDh(DhGroup.ECP_256, rng);
    expect(toHex(dh.publicValue).slice(0, 16)).toBe('dad0b65394221cf9');
    expect(rng.pending).toBe(0);
  });
});

describe('MODP groups (RFC 3526)', () => {
  it('the primes equal the RFC 3526 groups node:crypto ships (modp14, modp15)', () => {
    for (const [group, name, len] of [
      [DhGroup.MODP_2048, 'modp14', 256],
      [DhGroup.MODP_3072, 'modp15', 384],
    ] as const) {
      const a = createDh(group, new SeededRng(10));
      const b = createDh(group, new SeededRng(11));
      expect(dhGroupSizes(group)).toEqual({ publicLength: len, sharedLength: len });
      // Cross-check: node's own RFC 3526 group computes the same secret from b's public value.
      const ref = getDiffieHellman(name);
      ref.generateKeys();
      const refPub = new Uint8Array(len);
      const rp = ref.getPublicKey();
      refPub.set(rp, len - rp.length);
      const s1 = a.computeShared(refPub);
      const s2 = new Uint8Array(ref.computeSecret(a.publicValue));
      expect(toHex(s1).replace(/^(00)+/, '')).toBe(toHex(s2).replace(/^(00)+/, ''));
      expect(toHex(a.computeShared(b.publicValue))).toBe(toHex(b.computeShared(a.publicValue)));
    }
  });

  it('MODP-2048: both sides agree on a 256-byte secret, public values are 256 bytes', () => {
    const rng = new SeededRng(42);
    const a = createDh(DhGroup.MODP_2048, rng);
    const b = createDh(DhGroup.MODP_2048, rng);
    expect(a.publicValue.length).toBe(256);
    expect(b.publicValue.length).toBe(256);
    const s = a.computeShared(b.publicValue);
    expect(s.length).toBe(256);
    expect(toHex(s)).toBe(toHex(b.computeShared(a.publicValue)));
  });

  it('left-pads a short public value and a short secret to the prime length', () => {
    // Private exponent 5 gives g^x = 32: one significant byte.
    const small = createDh(DhGroup.MODP_2048, new FixedBytesRng(new Uint8Array(39), Uint8Array.of(5)));
    expect(small.publicValue.length).toBe(256);
    expect(small.publicValue[255]).toBe(32);
    expect(small.publicValue.subarray(0, 255).every((x) => x === 0)).toBe(true);
    // The peer value 4 = 2^2 gives a secret 4^5 = 1024: two significant bytes, padded to 256.
    const peer = new Uint8Array(256);
    peer[255] = 4;
    const s = small.computeShared(peer);
    expect(s.length).toBe(256);
    expect(toHex(s.subarray(253))).toBe('000400');
  });

  it('is deterministic for a seed', () => {
    expect(toHex(createDh(DhGroup.MODP_2048, new SeededRng(7)).publicValue)).toBe(
      toHex(createDh(DhGroup.MODP_2048, new SeededRng(7)).publicValue),
    );
  });

  it('rejects y <= 1, y >= p-1 and a wrong length', () => {
    const dh = createDh(DhGroup.MODP_2048, new SeededRng(5));
    const one = new Uint8Array(256);
    one[255] = 1;
    expectSyntaxError(() => dh.computeShared(new Uint8Array(256)), /out of range/);
    expectSyntaxError(() => dh.computeShared(one), /out of range/);
    const pMinus1 = new Uint8Array(getDiffieHellman('modp14').getPrime());
    pMinus1[255]! -= 1;
    expectSyntaxError(() => dh.computeShared(pMinus1), /out of range/);
    expectSyntaxError(() => dh.computeShared(new Uint8Array(255).fill(3)), /must be 256 bytes/);
  });
});

describe('group registry', () => {
  it('knows 14, 15, 19, 20, 31 and refuses others with INVALID_KE_PAYLOAD', () => {
    expect([14, 15, 19, 20, 31].every(isSupportedDhGroup)).toBe(true);
    expect(isSupportedDhGroup(0)).toBe(false);
    expect(isSupportedDhGroup(2)).toBe(false);
    expect(() => createDh(21, new SeededRng(1))).toThrow(ProtocolError);
    expect(() => createDh(21, new SeededRng(1))).toThrow(expect.objectContaining({ notifyType: 17 }));
    expect(dhGroupSizes(DhGroup.ECP_384)).toEqual({ publicLength: 96, sharedLength: 48 });
  });
});
