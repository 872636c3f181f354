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
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { SeededRng } from '../src/core/index.ts';
import { IkeEndpoint, type PeerConfig } from '../src/ikev2/index.ts';
import { IkePair } from './lib/ike-pair.ts';

export interface HandshakeResult {
  readonly oursPerS: number;
  readonly boundPerS: number;
  readonly keygenPerS: number;
  readonly derivePerS: number;
  readonly ratio: number;
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
  perSecond(handshake, 300);
  perSecond(keygen, 200);
  perSecond(derive, 200);
  const ours: number[] = [];
  const kg: number[] = [];
  const dv: number[] = [];
  const bound: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(perSecond(handshake, roundMs));
    kg.push(perSecond(keygen, roundMs / 2));
    dv.push(perSecond(derive, roundMs / 2));
    // Seconds per handshake at the bound: 2 key generations + 2 derivations.
    bound.push(1 / (2 / kg[i]! + 2 / dv[i]!));
    ratios.push(ours[i]! / bound[i]!);
  }
  if (sink === 0) throw new Error('nothing computed');
  return {
    oursPerS: median(ours),
    boundPerS: median(bound),
    keygenPerS: median(kg),
    derivePerS: median(dv),
    ratio: median(ratios),
    rounds,
    roundMs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(runHandshakes(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 7))));
}
