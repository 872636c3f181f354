/**
 * Targets for the ESP datapath (EspProcessor.receive / receiveEsp). Contract: never
 * throws; every failure is a typed drop. Inbound SAs with known keys: the strongSwan
 * lab's AES-GCM SAs and Openswan's 3DES/HMAC-MD5 SA (from the Wireshark esp_sa tables
 * under ../shared/captures), plus SAs of our own for AES-GCM-128/256 (one with ESN),
 * AES-CBC with HMAC-SHA-256/512 (one over IPv6) and NULL with HMAC-SHA-256.
 *
 * The processor turns any exception inside decryption into an 'unsupported-suite'
 * drop; for suites node:crypto implements that drop would hide a crash, so it is a
 * finding. In esp-sealed the input's plaintext is sealed with the SA's keys, so the
 * ICV always verifies and the trailer and inner-packet checks are reached; there an
 * 'auth-failed' or 'bad-length' drop is a finding too.
 */
import { SeededRng } from '../../src/core/rng.ts';
import { endpoint, parseIp, type IpAddress } from '../../src/core/addr.ts';
import { EncrId, IntegId, encrInfo, encrKeyLength, integKeyLength, type CipherSuite } from '../../src/crypto/algorithms.ts';
import { espAddTrailer, espAlignment, espSeal } from '../../src/crypto/esp-transforms.ts';
import { parseEspSaTable } from '../../src/crypto/keys-out.ts';
import { EspProcessor, type ReceiveResult } from '../../src/ipsec/esp-processor.ts';
import { SadError, SecurityAssociationDatabase, type ChildSaInput } from '../../src/ipsec/sad.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec } from '../../src/wire/ipv6.ts';
import type { FuzzTarget } from '../harness.ts';
import { CAPTURES_DIR, captureText, loadCorpus } from '../corpus.ts';
import { emptyLayout, ipPacketLayout } from '../locate.ts';
import { lazy } from './common.ts';
import { InvariantFailure, rd32 } from '../util.ts';
import { concatBytes } from '../../src/core/bytes.ts';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface KeyedSa {
  readonly name: string;
  readonly input: ChildSaInput;
  /** node:crypto may lack it (3DES, HMAC-MD5): an 'unsupported-suite' drop is then allowed. */
  readonly legacy: boolean;
}

const GCM128: CipherSuite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE };
const GCM256: CipherSuite = { encr: EncrId.AES_GCM_16, keyBits: 256, integ: IntegId.NONE };
const CBC128_SHA256: CipherSuite = { encr: EncrId.AES_CBC, keyBits: 128, integ: IntegId.HMAC_SHA2_256_128 };
const CBC256_SHA512: CipherSuite = { encr: EncrId.AES_CBC, keyBits: 256, integ: IntegId.HMAC_SHA2_512_256 };
const NULL_SHA256: CipherSuite = { encr: EncrId.NULL, keyBits: 0, integ: IntegId.HMAC_SHA2_256_128 };

function keyBytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed + i * 13) & 0xff);
}

function ownSa(name: string, spi: number, suite: CipherSuite, extra: Partial<ChildSaInput>): KeyedSa {
  const integ = integKeyLength(suite);
  return {
    name,
    legacy: false,
    input: {
      spi,
      suite,
      encKey: keyBytes(encrKeyLength(suite), spi & 0xff),
      ...(integ > 0 ? { integKey: keyBytes(integ, (spi >>> 8) & 0xff) } : {}),
      esn: false,
      replayWindow: 64,
      ...extra,
    },
  };
}

const V4_LOCAL = endpoint('198.51.100.2', 4500);
const V4_REMOTE = endpoint('198.51.100.1', 26329);

function findEspSaTables(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? findEspSaTables(p) : /esp_sa$/.test(n) ? [p.slice(CAPTURES_DIR.length)] : [];
  });
}

/** Inbound SAs for rows of the captures' esp_sa tables whose algorithms are implemented. */
function captureSas(): KeyedSa[] {
  const out: KeyedSa[] = [];
  for (const file of findEspSaTables(CAPTURES_DIR).sort()) {
    for (const row of parseEspSaTable(captureText(file))) {
      if (row.encr === undefined || row.integ === undefined) continue;
      const info = encrInfo(row.encr);
      const keyBits = row.encr === EncrId.DES3 ? 192 : row.encr === EncrId.NULL ? 0 : (row.key.length - info.saltLength) * 8;
      const suite: CipherSuite = { encr: row.encr, keyBits, integ: row.integ };
      const src: IpAddress = row.src === '*' ? V4_REMOTE.addr : parseIp(row.src);
      const dst: IpAddress = row.dst === '*' ? V4_LOCAL.addr : parseIp(row.dst);
      out.push({
        name: `${file}:${row.line}`,
        legacy: row.encr === EncrId.DES3 || row.integ === IntegId.HMAC_MD5_96,
        input: {
          spi: row.spi,
          suite,
          encKey: row.key,
          ...(integKeyLength(suite) > 0 ? { integKey: row.authKey } : {}),
          esn: false,
          replayWindow: 64,
          encap: { local: endpoint(dst, 4500), remote: endpoint(src, 4500) },
        },
      });
    }
  }
  return out;
}

export const keyedSas = lazy((): KeyedSa[] => [
  ownSa('gcm128-udp', 0x10000001, GCM128, { encap: { local: V4_LOCAL, remote: V4_REMOTE } }),
  ownSa('cbc128-sha256-raw', 0x10000002, CBC128_SHA256, { tunnel: { local: V4_LOCAL.addr, remote: V4_REMOTE.addr } }),
  ownSa('null-sha256-udp', 0x10000003, NULL_SHA256, { encap: { local: V4_LOCAL, remote: V4_REMOTE } }),
  ownSa('gcm256-esn-raw', 0x10000004, GCM256, { esn: true, tunnel: { local: V4_LOCAL.addr, remote: V4_REMOTE.addr } }),
  ownSa('cbc256-sha512-v6', 0x10000005, CBC256_SHA512, { tunnel: { local: parseIp('2001:db8:2::1'), remote: parseIp('2001:db8:1::1') } }),
  ...captureSas(),
]);

/** A processor with every keyed SA installed inbound (SPIs seen twice are kept once). */
function receiver(): { p: EspProcessor; bySpi: Map<number, KeyedSa> } {
  const sad = new SecurityAssociationDatabase();
  const bySpi = new Map<number, KeyedSa>();
  for (const k of keyedSas()) {
    try {
      sad.addInbound(k.name, k.input, 0);
      bySpi.set(k.input.spi >>> 0, k);
    } catch (e) {
      if (!(e instanceof SadError)) throw e;
    }
  }
  return { p: new EspProcessor({ sad, rng: new SeededRng(1) }), bySpi };
}

function icmp4(seq: number): Uint8Array {
  const icmp = new Uint8Array(16 + (seq % 3) * 8);
  icmp[0] = 8;
  icmp[7] = seq & 0xff;
  return Ipv4Codec.encode({
    dscp: 0,
    ecn: 0,
    identification: seq,
    reservedFlag: false,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 1,
    src: parseIp('10.77.10.1'),
    dst: parseIp('10.77.20.1'),
    options: new Uint8Array(0),
    payload: icmp,
  });
}

function icmp6(seq: number): Uint8Array {
  const icmp = new Uint8Array(16);
  icmp[0] = 128;
  icmp[7] = seq & 0xff;
  return Ipv6Codec.encode({ trafficClass: 0, flowLabel: seq, hopLimit: 64, src: parseIp('2001:db8:10::1'), dst: parseIp('2001:db8:20::1'), extensions: [], protocol: 58, payload: icmp });
}

/** Packets of our own SAs, built with a sender holding the same SAs outbound. */
const ownPackets = lazy((): { outer: Uint8Array[]; esp: Uint8Array[] } => {
  const sad = new SecurityAssociationDatabase();
  const own = keyedSas().filter((k) => !k.name.includes(':'));
  for (const k of own) {
    // The sender's view: local and remote swapped.
    const i = k.input;
    const swapped: ChildSaInput = {
      ...i,
      ...(i.encap ? { encap: { local: i.encap.remote, remote: i.encap.local } } : {}),
      ...(i.tunnel ? { tunnel: { local: i.tunnel.remote, remote: i.tunnel.local } } : {}),
    };
    sad.addOutbound(k.name, swapped, 0);
  }
  const p = new EspProcessor({ sad, rng: new SeededRng(2) });
  const outer: Uint8Array[] = [];
  const esp: Uint8Array[] = [];
  for (const k of own) {
    for (const inner of [icmp4(1), icmp6(2), icmp4(3)]) {
      const r = p.protect(k.name, inner);
      if (!r.ok) throw new InvariantFailure(`setup: cannot protect for ${k.name}: ${r.message}`);
      outer.push(...r.packets);
      esp.push(r.esp);
    }
  }
  return { outer, esp };
});

function checkResult(r: ReceiveResult, bySpi: Map<number, KeyedSa>, spi: number | undefined, sealed: boolean): void {
  if (r.ok) {
    const v = (r.inner[0] ?? 0) >> 4;
    if (v !== r.family) throw new InvariantFailure(`delivered inner packet says IPv${v}, result says IPv${r.family}`);
    return;
  }
  const sa = spi === undefined ? undefined : bySpi.get(spi >>> 0);
  if (r.reason === 'unsupported-suite' && !(sa?.legacy ?? false)) {
    throw new InvariantFailure(`'unsupported-suite' drop on SA ${sa?.name ?? spi}: an exception inside decryption was turned into a drop: ${r.message}`);
  }
  if (sealed && (r.reason === 'auth-failed' || r.reason === 'bad-length')) {
    throw new InvariantFailure(`a packet sealed with the SA's own keys was dropped as ${r.reason}: ${r.message}`);
  }
}

function spiOfOuter(b: Uint8Array): number | undefined {
  // Good enough to name the SA for the report: raw ESP after a 20-byte IPv4 header, or ESP-in-UDP.
  const v = b[0]! >> 4;
  if (v === 4 && b.length >= 28) {
    const ihl = (b[0]! & 15) * 4;
    if (b[9] === 50 && b.length >= ihl + 4) return rd32(b, ihl);
    if (b[9] === 17 && b.length >= ihl + 12) return rd32(b, ihl + 8);
  }
  if (v === 6 && b.length >= 44 && b[6] === 50) return rd32(b, 40);
  return undefined;
}

export const espTarget: FuzzTarget<null> = {
  name: 'esp',
  description: 'EspProcessor.receive (outer IPv4/IPv6, raw or UDP-encapsulated) and receiveEsp into SAs with known keys',
  weight: 4,
  maxLen: 8192,
  randomShare: 0.03,
  seeds: lazy(() => {
    const c = loadCorpus();
    const carriesEsp = (p: Uint8Array): boolean => (p[0]! >> 4 === 4 && (p[9] === 50 || p[9] === 17)) || (p[0]! >> 4 === 6 && p[6] === 50);
    return [...ownPackets().outer, ...ownPackets().esp, ...c.esp, ...c.ipPackets.filter(carriesEsp)];
  }),
  layout(b) {
    const v = b.length > 0 ? b[0]! >> 4 : 0;
    return v === 4 || v === 6 ? ipPacketLayout(b) : emptyLayout();
  },
  setup: () => null,
  exec(_s, b) {
    const { p, bySpi } = receiver();
    const v = b.length > 0 ? b[0]! >> 4 : 0;
    if (v === 4 || v === 6) checkResult(p.receive(b), bySpi, spiOfOuter(b), false);
    else checkResult(p.receiveEsp(b), bySpi, b.length >= 4 ? rd32(b, 0) : undefined, false);
  },
};

/** The plaintext cut or padded (zeros before the 2-byte trailer) to the suite's alignment. */
function aligned(pt: Uint8Array, align: number): Uint8Array {
  let b = pt.length < 2 ? concatBytes(new Uint8Array(2 - pt.length), pt) : pt;
  const rem = b.length % align;
  if (rem !== 0) b = concatBytes(b.subarray(0, b.length - 2), new Uint8Array(align - rem), b.subarray(b.length - 2));
  return b;
}

export const espSealedTarget: FuzzTarget<null> = {
  name: 'esp-sealed',
  description: 'ESP plaintexts (payload ‖ padding ‖ pad length ‖ next header) sealed with the SA keys, into receiveEsp',
  weight: 3,
  maxLen: 4096,
  randomShare: 0.02,
  seeds: lazy(() => {
    const out: Uint8Array[] = [];
    for (const k of keyedSas()) {
      const align = espAlignment(k.input.suite);
      const head = (seq: number): Uint8Array => {
        const h = new Uint8Array(8);
        new DataView(h.buffer).setUint32(0, k.input.spi >>> 0);
        new DataView(h.buffer).setUint32(4, seq);
        return h;
      };
      out.push(concatBytes(head(1), espAddTrailer(icmp4(1), 4, align)));
      out.push(concatBytes(head(2), espAddTrailer(icmp6(2), 41, align)));
      out.push(concatBytes(head(3), espAddTrailer(new Uint8Array(0), 59, align)));
      out.push(concatBytes(head(4), espAddTrailer(concatBytes(icmp4(4), new Uint8Array(24)), 4, align, 2)));
    }
    return out;
  }),
  setup: () => null,
  exec(_s, b) {
    const { p, bySpi } = receiver();
    const spi = b.length >= 4 ? rd32(b, 0) : 0;
    const sa = bySpi.get(spi);
    if (!sa || b.length < 8) {
      checkResult(p.receiveEsp(b), bySpi, spi, false);
      return;
    }
    const suite = sa.input.suite;
    const iv = new SeededRng(b.length).bytes(encrInfo(suite.encr).ivLength);
    let packet: Uint8Array;
    try {
      packet = espSeal({
        suite,
        keyE: sa.input.encKey,
        ...(sa.input.integKey ? { keyA: sa.input.integKey } : {}),
        spi,
        seq: rd32(b, 4),
        ...(sa.input.esn ? { seqHi: 0 } : {}),
        iv,
        plaintext: aligned(b.subarray(8), espAlignment(suite)),
      });
    } catch (e) {
      // 3DES / HMAC-MD5 may be missing from this node build: the sealer cannot run then.
      if (sa.legacy) return;
      throw e;
    }
    checkResult(p.receiveEsp(packet), bySpi, spi, true);
  },
};

export const ESP_TARGETS = [espTarget, espSealedTarget] as const;
