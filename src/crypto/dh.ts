/**
 * Diffie-Hellman groups for the IKEv2 KE payload:
 *  - 14, 15: MODP-2048 / MODP-3072 (RFC 3526, generator 2); KE data and the shared
 *    secret are big-endian and left-padded to the prime length (RFC 7296 §3.4, §2.14);
 *  - 19, 20: ECP-256 / ECP-384 (RFC 5903 §7): KE data is x ‖ y without the 0x04
 *    prefix, the shared secret is the x-coordinate only;
 *  - 31: Curve25519 (RFC 8031 §2): KE data is the 32-byte u-coordinate; an
 *    all-zero shared secret is refused (RFC 8031 §2.3, RFC 7748 §6.1).
 *
 * Private values come from the injected Rng, so a seeded run is reproducible.
 * X25519 keys go into node:crypto as JWK (RFC 8037), an order of magnitude faster
 * than OpenSSL 3's PKCS#8 / SPKI DER decoders (x25519Private), and the public value
 * comes out of the imported key's JWK export (x25519PublicValue; never of a generated
 * key, whose JWK export can hang Node 20's process).
 */
import {
  createDiffieHellman,
  createECDH,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import { ProtocolError, assert, concatBytes, type Rng } from '../core/index.ts';
import { DH_GROUP_NAMES, DhGroup } from './algorithms.ts';

/** RFC 7296 §3.10.1 notify types used here. */
const INVALID_SYNTAX = 7;
const INVALID_KE_PAYLOAD = 17;

/** A group this module implements (every DhGroup except NONE). */
export type DhGroupId = Exclude<DhGroup, typeof DhGroup.NONE>;

export interface DhExchange {
  readonly group: DhGroupId;
  /** Our KE payload data. */
  readonly publicValue: Uint8Array;
  /** g^ir from the peer's KE data; throws ProtocolError(INVALID_SYNTAX) on a bad value. */
  computeShared(peerPublic: Uint8Array): Uint8Array;
}

export interface DhGroupSizes {
  /** KE payload data length. */
  readonly publicLength: number;
  /** Shared secret length. */
  readonly sharedLength: number;
}

/** RFC 3526 §3: 2048-bit MODP group. */
const MODP_2048_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74' +
  '020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
  '4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
  'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05' +
  '98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB' +
  '9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
  'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718' +
  '3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF';

/** RFC 3526 §4: 3072-bit MODP group. */
const MODP_3072_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74' +
  '020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
  '4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
  'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05' +
  '98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB' +
  '9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
  'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718' +
  '3995497CEA956AE515D2261898FA051015728E5A8AAAC42DAD33170D04507A33' +
  'A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
  'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864' +
  'D87602733EC86A64521F2B18177B200CBBE117577A615D6C770988C0BAD946E2' +
  '08E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF';

interface ModpParams {
  readonly kind: 'modp';
  readonly prime: Uint8Array;
  readonly primeBig: bigint;
  /** Private exponent length in bytes: twice the RFC 3526 §8 upper strength estimate, rounded up. */
  readonly privateLength: number;
}
interface EcpParams {
  readonly kind: 'ecp';
  /** OpenSSL curve name. */
  readonly curve: string;
  /** Field element (and private scalar) length in bytes. */
  readonly coordLength: number;
}
interface X25519Params {
  readonly kind: 'x25519';
}
type GroupParams = ModpParams | EcpParams | X25519Params;

function modp(hex: string, privateLength: number): ModpParams {
  const prime = new Uint8Array(Buffer.from(hex, 'hex'));
  return { kind: 'modp', prime, primeBig: BigInt(`0x${hex}`), privateLength };
}

const GROUPS: Readonly<Record<DhGroupId, GroupParams>> = {
  [DhGroup.MODP_2048]: modp(MODP_2048_HEX, 40),
  [DhGroup.MODP_3072]: modp(MODP_3072_HEX, 53),
  [DhGroup.ECP_256]: { kind: 'ecp', curve: 'prime256v1', coordLength: 32 },
  [DhGroup.ECP_384]: { kind: 'ecp', curve: 'secp384r1', coordLength: 48 },
  [DhGroup.CURVE_25519]: { kind: 'x25519' },
};

export function isSupportedDhGroup(id: number): id is DhGroupId {
  return id !== DhGroup.NONE && Object.prototype.hasOwnProperty.call(GROUPS, id);
}

export function dhGroupSizes(group: DhGroupId): DhGroupSizes {
  const p = GROUPS[group];
  switch (p.kind) {
    case 'modp':
      return { publicLength: p.prime.length, sharedLength: p.prime.length };
    case 'ecp':
      return { publicLength: 2 * p.coordLength, sharedLength: p.coordLength };
    case 'x25519':
      return { publicLength: 32, sharedLength: 32 };
  }
}

/** Creates our half of the exchange; the private value is drawn from rng. */
export function createDh(group: number, rng: Rng): DhExchange {
  if (!isSupportedDhGroup(group)) {
    throw new ProtocolError(INVALID_KE_PAYLOAD, `Diffie-Hellman group ${group} is not supported`);
  }
  const p = GROUPS[group];
  switch (p.kind) {
    case 'modp':
      return createModp(group, p, rng);
    case 'ecp':
      return createEcp(group, p, rng);
    case 'x25519':
      return createX25519(group, rng);
  }
}

function groupName(group: DhGroupId): string {
  return DH_GROUP_NAMES[group];
}

function checkLength(group: DhGroupId, peer: Uint8Array): void {
  const want = dhGroupSizes(group).publicLength;
  if (peer.length !== want) {
    throw new ProtocolError(
      INVALID_SYNTAX,
      `${groupName(group)} key exchange data must be ${want} bytes, got ${peer.length}`,
    );
  }
}

function leftPad(v: Uint8Array, length: number): Uint8Array {
  assert(v.length <= length, `value of ${v.length} bytes does not fit in ${length}`);
  if (v.length === length) return new Uint8Array(v);
  const out = new Uint8Array(length);
  out.set(v, length - v.length);
  return out;
}

function bigFromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

function createModp(group: DhGroupId, p: ModpParams, rng: Rng): DhExchange {
  const dh = createDiffieHellman(p.prime, 2);
  // A private exponent below 2 would give a degenerate public value: draw again.
  let priv = rng.bytes(p.privateLength);
  for (let i = 0; bigFromBytes(priv) < 2n; i++) {
    assert(i < 64, 'rng keeps producing a degenerate MODP private value');
    priv = rng.bytes(p.privateLength);
  }
  dh.setPrivateKey(priv);
  dh.generateKeys();
  const publicValue = leftPad(new Uint8Array(dh.getPublicKey()), p.prime.length);
  return {
    group,
    publicValue,
    computeShared(peerPublic: Uint8Array): Uint8Array {
      checkLength(group, peerPublic);
      const y = bigFromBytes(peerPublic);
      // RFC 7296 §5 / NIST SP 800-56A: 1 < y < p-1.
      if (y <= 1n || y >= p.primeBig - 1n) {
        throw new ProtocolError(INVALID_SYNTAX, `${groupName(group)} public value is out of range (must be 1 < y < p-1)`);
      }
      let secret: Uint8Array;
      try {
        secret = new Uint8Array(dh.computeSecret(peerPublic));
      } catch (e) {
        throw new ProtocolError(INVALID_SYNTAX, `${groupName(group)} public value rejected: ${(e as Error).message}`);
      }
      return leftPad(secret, p.prime.length);
    },
  };
}

function createEcp(group: DhGroupId, p: EcpParams, rng: Rng): DhExchange {
  const ecdh: ECDH = createECDH(p.curve);
  // A scalar of zero or >= the group order is refused by OpenSSL: draw again.
  for (let i = 0; ; i++) {
    assert(i < 64, `rng keeps producing invalid ${groupName(group)} private values`);
    try {
      ecdh.setPrivateKey(rng.bytes(p.coordLength));
      break;
    } catch {
      // next draw
    }
  }
  const uncompressed = new Uint8Array(ecdh.getPublicKey());
  assert(uncompressed.length === 1 + 2 * p.coordLength && uncompressed[0] === 4, 'unexpected EC point encoding');
  const publicValue = uncompressed.slice(1);
  return {
    group,
    publicValue,
    computeShared(peerPublic: Uint8Array): Uint8Array {
      checkLength(group, peerPublic);
      let secret: Uint8Array;
      try {
        secret = new Uint8Array(ecdh.computeSecret(concatBytes(Uint8Array.of(4), peerPublic)));
      } catch (e) {
        throw new ProtocolError(INVALID_SYNTAX, `${groupName(group)} public value is not a point on the curve: ${(e as Error).message}`);
      }
      return leftPad(secret, p.coordLength);
    },
  };
}

/** RFC 8410 §7 PKCS#8 prefix for an X25519 private key (the 32 key bytes follow). */
const X25519_PKCS8_PREFIX = Uint8Array.from(Buffer.from('302e020100300506032b656e04220420', 'hex'));
const X25519_BASE_POINT = Uint8Array.of(9, ...new Uint8Array(31));

/** base64url of 32 zero bytes: the placeholder public part of a private JWK (see x25519Private). */
const JWK_ZERO_X = Buffer.alloc(32).toString('base64url');
/** Cleared when this Node checks a private JWK's public part; DER is used from then on. */
let jwkImport = true;

/**
 * The X25519 private key with these 32 bytes. Importing it as a JWK takes tens of
 * microseconds; OpenSSL 3's PKCS#8 decoder takes about ten times as long, which made
 * it the largest single cost of an IKE handshake. The JWK needs a public part too:
 * Node 20 derives the public key from `d` and does not look at `x`, so a placeholder
 * is given; a Node that checks `x` refuses it, and DER is used instead.
 */
function x25519Private(d: Uint8Array): KeyObject {
  if (jwkImport) {
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(d).toString('base64url'), x: JWK_ZERO_X }, format: 'jwk' });
    } catch {
      jwkImport = false;
    }
  }
  return createPrivateKey({ key: Buffer.from(concatBytes(X25519_PKCS8_PREFIX, d)), format: 'der', type: 'pkcs8' });
}

/** The X25519 base point, u = 9 (RFC 7748 §4.1), as a public key. */
let basePoint: KeyObject | undefined;

/**
 * The 32-byte public value of an X25519 key. OpenSSL computes it when the private key
 * is imported, and a JWK export of that key hands it out (`x`, about a microsecond).
 * A JWK export can hang Node 20 only for a key made by a key-generation job (its
 * collected job waits for the key's mutex held by the export); this key is imported,
 * never generated. SPKI DER export would go through OpenSSL 3's slow encoder. Should
 * the export not give 32 bytes, the value is X25519(k, 9) (RFC 7748 §6.1), computed
 * with diffieHellman against the base point.
 */
function x25519PublicValue(privateKey: KeyObject): Uint8Array {
  const x = (privateKey.export({ format: 'jwk' }) as { x?: unknown }).x;
  if (typeof x === 'string') {
    const raw = Buffer.from(x, 'base64url');
    if (raw.length === 32) return new Uint8Array(raw);
  }
  basePoint ??= createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(X25519_BASE_POINT).toString('base64url') }, format: 'jwk' });
  return new Uint8Array(diffieHellman({ privateKey, publicKey: basePoint }));
}

function createX25519(group: DhGroupId, rng: Rng): DhExchange {
  const privateKey = x25519Private(rng.bytes(32));
  const publicValue = x25519PublicValue(privateKey);
  return {
    group,
    publicValue,
    computeShared(peerPublic: Uint8Array): Uint8Array {
      checkLength(group, peerPublic);
      let secret: Uint8Array;
      try {
        // Raw public values import as JWK (RFC 8037), without OpenSSL's slow SPKI decoder.
        const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peerPublic).toString('base64url') }, format: 'jwk' });
        secret = new Uint8Array(diffieHellman({ privateKey, publicKey }));
      } catch (e) {
        // OpenSSL refuses an all-zero result (a small-order peer point).
        throw new ProtocolError(INVALID_SYNTAX, `CURVE_25519 public value rejected: ${(e as Error).message}`);
      }
      if (secret.every((b) => b === 0)) {
        throw new ProtocolError(INVALID_SYNTAX, 'CURVE_25519 shared secret is all zero (small-order public value)');
      }
      return secret;
    },
  };
}
