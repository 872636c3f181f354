/**
 * ESP encapsulation + encryption through the datapath against raw AES-GCM.
 *
 *   npx tsx bench/esp.ts [ms-per-round=300] [rounds=15]
 *
 * Ours: EspProcessor.protect(childId, inner) with an AES-128-GCM-16 outbound SA in
 * ESP-in-UDP (RFC 3948, ports 4500), for a 1400-byte inner IPv4 packet: trailer,
 * sequence number and IV, GCM seal, UDP and outer IPv4 headers, one outer packet.
 * Peer: node:crypto per packet on the same sizes: createCipheriv('aes-128-gcm') with
 * the 12-byte nonce, setAAD(8 bytes), update(the 1404-byte ESP plaintext), final(),
 * getAuthTag(), with the key given as a KeyObject made once, or as bytes (the faster
 * of the two is the peer).
 * Rounds alternate ours / raw (both key forms); rates are median rounds, the ratio the
 * median of per-round ratios against the faster raw form. Prints one JSON line.
 */
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { endpoint, parseIp, SeededRng } from '../src/core/index.ts';
import { EncrId, IntegId, type CipherSuite } from '../src/crypto/algorithms.ts';
import { EspProcessor } from '../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase } from '../src/ipsec/sad.ts';
import { Ipv4Codec } from '../src/wire/ipv4.ts';

export const INNER_BYTES = 1400;
const SUITE: CipherSuite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE };

export interface EspResult {
  readonly innerBytes: number;
  readonly espPlaintextBytes: number;
  readonly outerBytes: number;
  readonly oursPps: number;
  readonly rawPps: number;
  readonly rawKeyForm: 'KeyObject' | 'bytes';
  readonly rawKeyObjectPps: number;
  readonly rawBytesKeyPps: number;
  readonly ratio: number;
  readonly rounds: number;
  readonly roundMs: number;
}

function innerPacket(rng: SeededRng): Uint8Array {
  return Ipv4Codec.encode({
    dscp: 0,
    ecn: 0,
    identification: 1,
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
    src: parseIp('10.10.0.2'),
    dst: parseIp('10.99.0.2'),
    options: new Uint8Array(0),
    payload: rng.bytes(INNER_BYTES - 20),
  });
}

/** Runs `fn` in batches until `ms` have passed; packets per second. */
function rate(fn: (n: number) => void, ms: number): number {
  const batch = 2000;
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    fn(batch);
    n += batch;
    t = performance.now();
  }
  return (n / (t - t0)) * 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function runEsp(roundMs = 300, rounds = 15): EspResult {
  const rng = new SeededRng(0xe5b);
  const key = rng.bytes(20); // 16-byte key ‖ 4-byte salt (RFC 4106 §8.1)
  const sad = new SecurityAssociationDatabase();
  const local = endpoint('198.51.100.10', 4500);
  const remote = endpoint('203.0.113.10', 4500);
  const sa = { suite: SUITE, encKey: key, esn: false, replayWindow: 0 };
  sad.installChild(
    'bench',
    {
      outbound: { ...sa, spi: 0xc0ffee01, encap: { local, remote } },
      inbound: { ...sa, spi: 0xc0ffee02, replayWindow: 64, encap: { local, remote } },
    },
    0,
  );
  const esp = new EspProcessor({ sad, rng: rng.fork('esp') });
  const inner = innerPacket(rng);
  const first = esp.protect('bench', inner);
  if (!first.ok || first.packets.length !== 1) throw new Error(`protect failed: ${first.ok ? 'fragmented' : first.message}`);
  const outerBytes = first.packets[0]!.length;
  const espPlaintextBytes = first.esp.length - 8 - 8 - 16;

  // The raw peer: the same plaintext length, AAD = SPI ‖ seq, nonce = salt ‖ 8-byte IV.
  const plaintext = Buffer.from(rng.bytes(espPlaintextBytes));
  const aad = Buffer.alloc(8);
  const nonce = Buffer.alloc(12);
  nonce.set(key.subarray(16), 0);
  const keyBytes = Buffer.from(key.subarray(0, 16));
  const keyObject: KeyObject = createSecretKey(keyBytes);
  let seq = 0;
  let sink = 0;
  const raw = (k: KeyObject | Buffer) => (n: number) => {
    for (let i = 0; i < n; i++) {
      seq++;
      aad.writeUInt32BE(seq, 4);
      nonce.writeUInt32BE(seq, 8);
      const c = createCipheriv('aes-128-gcm', k, nonce, { authTagLength: 16 });
      c.setAAD(aad);
      const ct = c.update(plaintext);
      const fin = c.final();
      const tag = c.getAuthTag();
      sink += ct.length + fin.length + tag.length;
    }
  };
  const ours = (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = esp.protect('bench', inner);
      if (r.ok) sink += r.packets[0]!.length;
    }
  };
  // Warm-up, then short alternating rounds; the ratio is the median of the per-round
  // ratios, so a burst of load elsewhere on the machine hits both sides of a pair.
  rate(ours, 300);
  rate(raw(keyObject), 300);
  rate(raw(keyBytes), 300);
  const o: number[] = [];
  const rk: number[] = [];
  const rb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    o.push(rate(ours, roundMs));
    rk.push(rate(raw(keyObject), roundMs));
    rb.push(rate(raw(keyBytes), roundMs));
    ratios.push(o[i]! / Math.max(rk[i]!, rb[i]!));
  }
  if (sink === 0) throw new Error('nothing was sealed');
  const oursPps = median(o);
  const rawKeyObjectPps = median(rk);
  const rawBytesKeyPps = median(rb);
  return {
    innerBytes: INNER_BYTES,
    espPlaintextBytes,
    outerBytes,
    oursPps,
    rawPps: Math.max(rawKeyObjectPps, rawBytesKeyPps),
    rawKeyForm: rawKeyObjectPps >= rawBytesKeyPps ? 'KeyObject' : 'bytes',
    rawKeyObjectPps,
    rawBytesKeyPps,
    ratio: median(ratios),
    rounds,
    roundMs,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(runEsp(Number(process.argv[2] ?? 300), Number(process.argv[3] ?? 15))));
}
