/**
 * `protect` writes AES-GCM packets with one outer IPv4 header straight into the
 * outer packet. These are the bytes the layer-by-layer construction gives: ESP from
 * espSeal over espAddTrailer, UDP from encodeUdp with a zero checksum, IPv4 from
 * Ipv4Codec; for raw and UDP-encapsulated ESP, ESN, given IVs and identifications,
 * every DF policy, a TOS byte, an IPv6 inner packet and AES-256.
 */
import { describe, expect, it } from 'vitest';
import { toHex, type IpAddress } from '../../src/core/index.ts';
import { espAddTrailer, espSeal } from '../../src/crypto/esp-transforms.ts';
import { IP_PROTOCOL } from '../../src/wire/ip-protocol.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { encodeUdp } from '../../src/wire/udp.ts';
import { INNER_A, INNER_B, SUITES, icmp6Echo, icmpEcho, makePair, keysFor } from './fixtures.ts';
import { parseIp } from '../../src/core/index.ts';
import type { ChildSaInput } from '../../src/ipsec/sad.ts';

const A = parseIp('192.0.2.1');
const B = parseIp('198.51.100.2');

function expected(o: {
  suite: keyof typeof SUITES;
  inner: Uint8Array;
  seq: bigint;
  esn: boolean;
  iv: Uint8Array;
  encap: boolean;
  ident: number;
  df: boolean;
  ttl: number;
  tos: number;
}): { packet: string; esp: string } {
  const suite = SUITES[o.suite]!;
  const nh = (o.inner[0]! >> 4) === 6 ? 41 : 4;
  const esp = espSeal({
    suite,
    keyE: keysFor(suite, 0x10).encKey,
    spi: 0xc1000001,
    seq: Number(o.seq & 0xffffffffn),
    ...(o.esn ? { seqHi: Number(o.seq >> 32n) } : {}),
    iv: o.iv,
    plaintext: espAddTrailer(o.inner, nh, 4),
  });
  const src: IpAddress = A;
  const dst: IpAddress = B;
  const l4 = o.encap ? encodeUdp({ srcPort: 4500, dstPort: 4500, payload: esp }, { src, dst, checksum: 'zero' }) : esp;
  const packet = Ipv4Codec.encode({
    dscp: o.tos >> 2,
    ecn: o.tos & 3,
    identification: o.ident & 0xffff,
    reservedFlag: false,
    dontFragment: o.df,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: o.ttl,
    protocol: o.encap ? IP_PROTOCOL.UDP : IP_PROTOCOL.ESP,
    src,
    dst,
    options: new Uint8Array(0),
    payload: l4,
  });
  return { packet: toHex(packet), esp: toHex(esp) };
}

function ivOf(seq: bigint): Uint8Array {
  const iv = new Uint8Array(8);
  new DataView(iv.buffer).setBigUint64(0, seq);
  return iv;
}

describe('protect: AES-GCM in one outer IPv4 packet', () => {
  const cases: { name: string; suite: keyof typeof SUITES; encap: boolean; esn: boolean; extra?: Partial<ChildSaInput>; first?: bigint; inner: () => Uint8Array; iv?: Uint8Array; ident?: number }[] = [
    { name: 'ESP-in-UDP, AES-128', suite: 'aes128gcm16', encap: true, esn: false, inner: () => icmpEcho(INNER_A, INNER_B) },
    { name: 'raw ESP, AES-256', suite: 'aes256gcm16', encap: false, esn: false, inner: () => icmpEcho(INNER_A, INNER_B, { df: false }) },
    { name: 'ESN across 2^32, given identification', suite: 'aes128gcm16', encap: true, esn: true, first: 0xfffffffen, inner: () => icmpEcho(INNER_A, INNER_B), ident: 0x12345 },
    { name: 'given IV, DF set by policy, TTL 9', suite: 'aes128gcm16', encap: true, esn: false, extra: { dontFragment: 'set', ttl: 9 }, inner: () => icmpEcho(INNER_A, INNER_B, { df: false }), iv: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
    { name: 'DF cleared by policy, odd-sized inner', suite: 'aes128gcm16', encap: false, esn: false, extra: { dontFragment: 'clear' }, inner: () => icmpEcho(INNER_A, INNER_B, { data: new Uint8Array(1401) }) },
    { name: 'IPv6 inner packet', suite: 'aes128gcm16', encap: true, esn: false, inner: () => icmp6Echo(parseIp('2001:db8:a::1'), parseIp('2001:db8:b::1')) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { a } = makePair({ suite: SUITES[c.suite]!, encap: c.encap, esn: c.esn, extra: { ...c.extra, ...(c.first !== undefined ? { firstSequence: c.first } : {}) } });
      let inner = c.inner();
      if (c.name.includes('DF cleared')) inner = inner.slice();
      for (let k = 0; k < 3; k++) {
        // A TOS byte on the inner packet is copied to the outer one.
        if ((inner[0]! >> 4) === 4) {
          inner = inner.slice();
          inner[1] = 0xb8 + k;
          inner[10] = 0;
          inner[11] = 0;
          const h = Ipv4Codec.encode({ ...Ipv4Codec.decode(inner), options: new Uint8Array(0) });
          inner = h;
        }
        const r = a.protect('net', inner, { ...(c.iv ? { iv: c.iv } : {}), ...(c.ident !== undefined ? { identification: c.ident + k } : {}) });
        if (!r.ok) throw new Error(r.message);
        const sa = a.sad.outbound('net')!;
        const seq = r.sequence;
        expect(seq).toBe((c.first ?? 1n) + BigInt(k));
        const innerDf = (inner[0]! >> 4) === 6 ? true : (inner[6]! & 0x40) !== 0;
        const df = sa.dontFragment === 'set' || (sa.dontFragment === 'copy' && innerDf);
        const ident = ((r.packets[0]![4]! << 8) | r.packets[0]![5]!);
        if (c.ident !== undefined) expect(ident).toBe((c.ident + k) & 0xffff);
        const want = expected({
          suite: c.suite,
          inner,
          seq,
          esn: c.esn,
          iv: c.iv ?? ivOf(seq),
          encap: c.encap,
          ident,
          df,
          ttl: sa.ttl,
          tos: (inner[0]! >> 4) === 6 ? ((inner[0]! & 0x0f) << 4) | (inner[1]! >> 4) : inner[1]!,
        });
        expect(r.packets.length).toBe(1);
        expect(toHex(r.packets[0]!)).toBe(want.packet);
        expect(toHex(r.esp)).toBe(want.esp);
        expect(r.udp).toEqual(c.encap ? { src: sa.encap!.local, dst: sa.encap!.remote } : undefined);
      }
      expect(a.sad.outbound('net')!.counters).toMatchObject({ encaps: 3, encrypt: 3, digest: 3 });
    });
  }

  it('consecutive identifications from the rng start, as before', () => {
    const { a } = makePair({ suite: SUITES.aes128gcm16!, seed: 99 });
    const ids = [0, 1, 2].map(() => {
      const r = a.protect('net', icmpEcho(INNER_A, INNER_B));
      if (!r.ok) throw new Error(r.message);
      return (r.packets[0]![4]! << 8) | r.packets[0]![5]!;
    });
    expect(ids[1]).toBe((ids[0]! + 1) & 0xffff);
    expect(ids[2]).toBe((ids[0]! + 2) & 0xffff);
  });
});
