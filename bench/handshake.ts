/**
 * Full IKE_SA_INIT + IKE_AUTH handshakes per second between two in-process engines
 * against the X25519 bound measured in the same run.
 *
 *   npx tsx bench/handshake.ts [ms-per-round=1000] [rounds=7]
 *
 * Ours: a fresh pair of IkeEndpoints per handshake (default proposals
 * aes128gcm16-prfsha256-x25519 / aes128gcm16, PSK, no NAT), driven back to back
 * until both report their CHILD_SA (bench/lib/ike-pair.ts): four messages, NAT-D,
 * SKEYSEED and the SK_* keys, AUTH, the CHILD_SA keys.
 * Bound: the X25519 work of a handshake as bare node:crypto primitives, twice (one per
 * side): a key generation (generateKeyPairSync('x25519')) and a derivation
 * (diffieHellman on KeyObjects at hand). Handshakes per second at that cost alone is
 * the bound; getting key bytes in and out of KeyObjects counts as overhead.
 * Rounds alternate; rates are median rounds, the ratio the median per-round ratio.
 *
 * Next to the bound, for the picture only (the target is judged against the bound):
 *  - a key generation that also yields the raw public value the KE payload carries:
 *    generateKeyPairSync with the public key as SPKI DER (its last 32 bytes); a JWK
 *    export of a generated key can hang Node 20, so DER is the way out for those;
 *  - what the engine does instead (the private value must come from the seeded Rng):
 *    a JWK import of the 32 bytes and a JWK export of the public value;
 *  - the node:crypto floor: every node:crypto call one handshake makes (both sides),
 *    bare, on inputs of about the right sizes: per side a private import and public
 *    export, a peer import, a derivation, 13 HMAC-SHA-256 (SKEYSEED 1, SK_* prf+ 5,
 *    AUTH 3, signed octets 2, KEYMAT prf+ 2), 4 SHA-1 (NAT-D), one AES-GCM seal and one
 *    open (the IKE_AUTH messages) and one timingSafeEqual (AUTH). A handshake cannot
 *    be faster than this with node:crypto, whatever the engine around it does.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  timingSafeEqual,
} from 'node:crypto';
import { SeededRng } from '../src/core/index.ts';
import { IkeEndpoint, type PeerConfig } from '../src/ikev2/index.ts';
import { IkePair } from './lib/ike-pair.ts';

export interface HandshakeResult {
  readonly oursPerS: number;
  readonly boundPerS: number;
  readonly keygenPerS: number;
  readonly derivePerS: number;
  readonly ratio: number;
  /** generateKeyPairSync with the raw public value out (SPKI DER), per second. */
  readonly keygenRawPerS: number;
  /** The engine's way: JWK import of seeded private bytes and JWK export of the public value, per second. */
  readonly importExportPerS: number;
  /** Handshakes per second if they cost only their node:crypto calls (see the header). */
  readonly floorPerS: number;
  /** Median per-round ratio of ours to that floor. */
  readonly floorRatio: number;
  /** Median per-round ratio of that floor to the bound: the most the target ratio could be. */
  readonly maxRatio: number;
  readonly rounds: number;
  readonly roundMs: number;
}

const INI: PeerConfig = {
  name: 'bench',
  localAddrs: ['198.51.100.1'],
  remote: '203.0.113.10',
  psk: 'bench-psk-0123456789',
  localId: 'ini.bench',
  remoteId: 'rsp.bench',
  localTs: ['10.1.0.0/16'],
  remoteTs: ['10.2.0.0/16'],
};
const RSP: PeerConfig = {
  name: 'bench',
  localAddrs: ['203.0.113.10'],
  psk: 'bench-psk-0123456789',
  localId: 'rsp.bench',
  remoteId: 'ini.bench',
  localTs: ['10.2.0.0/16'],
  remoteTs: ['10.1.0.0/16'],
};

function perSecond(fn: () => void, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 16; i++) fn();
    n += 16;
    t = performance.now();
  }
  return (n / (t - t0)) * 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function runHandshakes(roundMs = 1000, rounds = 7): HandshakeResult {
  const root = new SeededRng(0x1ce);
  let k = 0;
  const handshake = (): void => {
    const seed = root.fork(`pair ${k++}`);
    const ini = new IkeEndpoint({ rng: seed.fork('ini') });
    const rsp = new IkeEndpoint({ rng: seed.fork('rsp'), config: { peers: [RSP] } });
    new IkePair(ini, rsp, undefined, 5_000, false).handshake(INI, 0);
  };
  // The bound's two halves as bare primitives on ready KeyObjects: no import or export
  // of key bytes (that is the handshake's own overhead).
  let sink = 0;
  const keygen = (): void => {
    const { privateKey } = generateKeyPairSync('x25519');
    sink += privateKey.asymmetricKeyType === 'x25519' ? 1 : 0;
  };
  // Imported rather than generated: Node 20 can deadlock when a key from
  // generateKeyPairSync is used while its finished generation job is being collected.
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  const zeroX = b64(new Uint8Array(32));
  const mine = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(root.fork('mine').bytes(32)), x: zeroX }, format: 'jwk' });
  const theirs = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(Uint8Array.of(9, ...root.fork('theirs').bytes(31))) }, format: 'jwk' });
  const derive = (): void => {
    sink += diffieHellman({ privateKey: mine, publicKey: theirs }).length;
  };
  const keygenRaw = (): void => {
    const spki = generateKeyPairSync('x25519', { publicKeyEncoding: { type: 'spki', format: 'der' } }).publicKey as unknown as Buffer;
    sink += spki.subarray(spki.length - 32).length;
  };
  const dRng = root.fork('import');
  const importExport = (): Uint8Array => {
    const k = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(dRng.bytes(32)), x: zeroX }, format: 'jwk' });
    const x = (k.export({ format: 'jwk' }) as { x: string }).x;
    return new Uint8Array(Buffer.from(x, 'base64url'));
  };
  // The floor: one handshake's node:crypto calls (both sides), bare.
  const fRng = root.fork('floor');
  const hmacKey = fRng.bytes(32);
  const hmacData = fRng.bytes(128);
  const natdData = fRng.bytes(38);
  const gcmKey = fRng.bytes(16);
  const gcmNonce = fRng.bytes(12);
  const gcmAad = fRng.bytes(32);
  const gcmPlain = fRng.bytes(256);
  const auth = fRng.bytes(32);
  const floorSide = (peerPublic: Uint8Array): Uint8Array => {
    const k = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(dRng.bytes(32)), x: zeroX }, format: 'jwk' });
    const pub = new Uint8Array(Buffer.from((k.export({ format: 'jwk' }) as { x: string }).x, 'base64url'));
    const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(peerPublic) }, format: 'jwk' });
    sink += diffieHellman({ privateKey: k, publicKey: peer }).length;
    for (let i = 0; i < 13; i++) sink += createHmac('sha256', hmacKey).update(hmacData).digest().length;
    for (let i = 0; i < 4; i++) sink += createHash('sha1').update(natdData).digest().length;
    const c = createCipheriv('aes-128-gcm', gcmKey, gcmNonce, { authTagLength: 16 });
    c.setAAD(gcmAad);
    const ct = Buffer.concat([c.update(gcmPlain), c.final()]);
    const tag = c.getAuthTag();
    const d = createDecipheriv('aes-128-gcm', gcmKey, gcmNonce, { authTagLength: 16 });
    d.setAAD(gcmAad);
    d.setAuthTag(tag);
    sink += Buffer.concat([d.update(ct), d.final()]).length;
    sink += timingSafeEqual(auth, auth) ? 1 : 0;
    return pub;
  };
  let floorPeer = importExport();
  const floor = (): void => {
    const a = floorSide(floorPeer);
    floorPeer = floorSide(a);
  };
  perSecond(handshake, 300);
  perSecond(keygen, 200);
  perSecond(derive, 200);
  perSecond(keygenRaw, 100);
  perSecond(importExport, 100);
  perSecond(floor, 200);
  const ours: number[] = [];
  const kg: number[] = [];
  const dv: number[] = [];
  const bound: number[] = [];
  const ratios: number[] = [];
  const kr: number[] = [];
  const ie: number[] = [];
  const fl: number[] = [];
  const floorRatios: number[] = [];
  const floorToBound: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(perSecond(handshake, roundMs));
    kg.push(perSecond(keygen, roundMs / 2));
    dv.push(perSecond(derive, roundMs / 2));
    // Seconds per handshake at the bound: 2 key generations + 2 derivations.
    bound.push(1 / (2 / kg[i]! + 2 / dv[i]!));
    ratios.push(ours[i]! / bound[i]!);
    kr.push(perSecond(keygenRaw, roundMs / 4));
    ie.push(perSecond(importExport, roundMs / 4));
    fl.push(perSecond(floor, roundMs / 2));
    floorRatios.push(ours[i]! / fl[i]!);
    floorToBound.push(fl[i]! / bound[i]!);
  }
  if (sink === 0) throw new Error('nothing computed');
  return {
    oursPerS: median(ours),
    boundPerS: median(bound),
    keygenPerS: median(kg),
    derivePerS: median(dv),
    ratio: median(ratios),
    keygenRawPerS: median(kr),
    importExportPerS: median(ie),
    floorPerS: median(fl),
    floorRatio: median(floorRatios),
    maxRatio: median(floorToBound),
    rounds,
    roundMs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(runHandshakes(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 7))));
}
