/**
 * Shared material for the ipsec tests: inner ICMP packets, key material and a pair of
 * processors wired back to back (A's outbound SA is B's inbound SA and vice versa).
 */
import { endpoint, internetChecksum, onesComplementSum, parseIp, SeededRng, type Endpoint, type IpAddress } from '../../src/core/index.ts';
import { EncrId, IntegId, encrKeyLength, integKeyLength, type CipherSuite } from '../../src/crypto/algorithms.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec } from '../../src/wire/ipv6.ts';
import { EspProcessor } from '../../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase, type ChildSaInput } from '../../src/ipsec/sad.ts';

export const SUITES: Record<string, CipherSuite> = {
  'aes128gcm16': { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE },
  'aes256gcm16': { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE },
  'aes128-sha256': { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 },
  'aes256-sha256': { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_256_128 },
  'aes128-sha384': { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_384_192 },
  'aes256-sha512': { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_512_256 },
  'null-sha256': { encr: EncrId.NULL, keyBits: 0, integ: IntegId.HMAC_SHA2_256_128 },
};

/** Deterministic key bytes: `seed`, seed+1, ... */
export function keyBytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + i * 7) & 0xff);
}

export function keysFor(suite: CipherSuite, seed: number): { encKey: Uint8Array; integKey?: Uint8Array } {
  const encKey = keyBytes(encrKeyLength(suite), seed);
  const n = integKeyLength(suite);
  return n > 0 ? { encKey, integKey: keyBytes(n, seed + 101) } : { encKey };
}

/** ICMP echo request/reply (RFC 792) in IPv4. */
export function icmpEcho(src: IpAddress, dst: IpAddress, opts: { type?: 0 | 8; id?: number; seq?: number; data?: Uint8Array; df?: boolean; ident?: number } = {}): Uint8Array {
  const data = opts.data ?? Uint8Array.from({ length: 56 }, (_, i) => i);
  const icmp = new Uint8Array(8 + data.length);
  icmp[0] = opts.type ?? 8;
  icmp[4] = ((opts.id ?? 0x1234) >> 8) & 0xff;
  icmp[5] = (opts.id ?? 0x1234) & 0xff;
  icmp[6] = ((opts.seq ?? 1) >> 8) & 0xff;
  icmp[7] = (opts.seq ?? 1) & 0xff;
  icmp.set(data, 8);
  const c = internetChecksum(icmp);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  return Ipv4Codec.encode({
    dscp: 0,
    ecn: 0,
    identification: opts.ident ?? 0x4242,
    reservedFlag: false,
    dontFragment: opts.df ?? true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 1,
    src,
    dst,
    options: new Uint8Array(0),
    payload: icmp,
  });
}

/** ICMPv6 echo request (RFC 4443 §4.1) in IPv6, checksum over the RFC 8200 §8.1 pseudo-header. */
export function icmp6Echo(src: IpAddress, dst: IpAddress, opts: { seq?: number; data?: Uint8Array } = {}): Uint8Array {
  const data = opts.data ?? Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
  const icmp = new Uint8Array(8 + data.length);
  icmp[0] = 128;
  icmp[4] = 0x56;
  icmp[5] = 0x78;
  icmp[6] = ((opts.seq ?? 1) >> 8) & 0xff;
  icmp[7] = (opts.seq ?? 1) & 0xff;
  icmp.set(data, 8);
  const pseudo = onesComplementSum(src.bytes, onesComplementSum(dst.bytes)) + icmp.length + 58;
  const c = internetChecksum(icmp, pseudo);
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  return Ipv6Codec.encode({ trafficClass: 0, flowLabel: 0, hopLimit: 64, src, dst, extensions: [], protocol: 58, payload: icmp });
}

export const INNER_A = parseIp('10.77.10.1');
export const INNER_B = parseIp('10.77.20.1');

export interface Pair {
  readonly a: EspProcessor;
  readonly b: EspProcessor;
  /** A → B: A's outbound SPI (B's inbound). */
  readonly spiAB: number;
  readonly spiBA: number;
}

export interface PairOptions {
  readonly suite: CipherSuite;
  readonly encap?: boolean;
  readonly esn?: boolean;
  readonly replayWindow?: number;
  readonly family?: 4 | 6;
  readonly extra?: Partial<ChildSaInput>;
  readonly extraB?: Partial<ChildSaInput>;
  readonly seed?: number;
}

/** Two processors with one CHILD_SA between them, child id "net". */
export function makePair(o: PairOptions): Pair {
  const v6 = o.family === 6;
  const ea: Endpoint = v6 ? endpoint('2001:db8:1::1', 4500) : endpoint('192.0.2.1', 4500);
  const eb: Endpoint = v6 ? endpoint('2001:db8:2::1', 4500) : endpoint('198.51.100.2', 4500);
  const spiAB = 0xc1000001;
  const spiBA = 0xc2000002;
  const kAB = keysFor(o.suite, 0x10);
  const kBA = keysFor(o.suite, 0x80);
  const common = { suite: o.suite, esn: o.esn ?? false, replayWindow: o.replayWindow ?? 64 };
  const sa = (spi: number, keys: ReturnType<typeof keysFor>, local: Endpoint, remote: Endpoint, extra: Partial<ChildSaInput> | undefined): ChildSaInput => ({
    ...common,
    spi,
    ...keys,
    ...(o.encap === false ? { tunnel: { local: local.addr, remote: remote.addr } } : { encap: { local, remote } }),
    ...extra,
  });
  const sadA = new SecurityAssociationDatabase();
  const sadB = new SecurityAssociationDatabase();
  sadA.installChild('net', { outbound: sa(spiAB, kAB, ea, eb, o.extra), inbound: sa(spiBA, kBA, ea, eb, o.extra) }, 0);
  sadB.installChild('net', { outbound: sa(spiBA, kBA, eb, ea, o.extraB ?? o.extra), inbound: sa(spiAB, kAB, eb, ea, o.extraB ?? o.extra) }, 0);
  const rng = new SeededRng(o.seed ?? 7);
  return { a: new EspProcessor({ sad: sadA, rng: rng.fork('a') }), b: new EspProcessor({ sad: sadB, rng: rng.fork('b') }), spiAB, spiBA };
}
