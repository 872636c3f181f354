import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DEFAULT_REASSEMBLY_TIMEOUT_US,
  Ipv4Reassembler,
  Ipv6Reassembler,
  type ReassemblyResult,
} from '../../src/wire/ip-reassembly.ts';
import { Ipv4Codec, type Ipv4Packet } from '../../src/wire/ipv4.ts';
import { Ipv6Codec, type Ipv6Packet } from '../../src/wire/ipv6.ts';
import { encodeUdp, verifyUdpChecksum } from '../../src/wire/udp.ts';
import { fromHex, toHex } from '../../src/core/bytes.ts';
import { parseIp } from '../../src/core/addr.ts';
import { seconds } from '../../src/core/time.ts';

const SRC = parseIp('198.51.100.1');
const DST = parseIp('198.51.100.2');
const T0 = seconds(1000);

/** A UDP 4500 -> 4500 datagram carrying `n` bytes of ESP-looking payload, as an IPv4 packet. */
function datagram(n: number, id = 0x1234, options: Uint8Array = new Uint8Array(0)): Ipv4Packet {
  const payload = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
  if (n >= 8) payload.set(fromHex('33edbb9600000001'));
  const udp = encodeUdp({ srcPort: 4500, dstPort: 4500, payload }, { src: SRC, dst: DST });
  return {
    dscp: 0, ecn: 0, identification: id, reservedFlag: false, dontFragment: false, moreFragments: false,
    fragmentOffset: 0, ttl: 64, protocol: 17, src: SRC, dst: DST, options, payload: udp,
  };
}

/** Splits at the given data offsets (multiples of 8), as a router would (RFC 791 §3.2), via the wire. */
function fragmentAt(p: Ipv4Packet, cuts: number[]): Ipv4Packet[] {
  const bounds = [0, ...cuts, p.payload.length];
  const out: Ipv4Packet[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const a = bounds[i]!;
    const b = bounds[i + 1]!;
    const bytes = Ipv4Codec.encode({
      ...p,
      options: a === 0 ? p.options : new Uint8Array(0),
      fragmentOffset: a,
      moreFragments: b < p.payload.length,
      payload: p.payload.subarray(a, b),
    });
    out.push(Ipv4Codec.decode(bytes));
  }
  return out;
}

function fragment(p: Ipv4Packet, size: number): Ipv4Packet[] {
  const cuts: number[] = [];
  for (let o = size; o < p.payload.length; o += size) cuts.push(o);
  return fragmentAt(p, cuts);
}

function feed(r: Ipv4Reassembler, frags: Ipv4Packet[], now = T0): ReassemblyResult[] {
  return frags.map((f) => r.add(f, now));
}

const completed = (rs: ReassemblyResult[]) => rs.filter((r) => r.status === 'complete');

describe('Ipv4Reassembler', () => {
  const whole = datagram(3000);
  const wholeBytes = Ipv4Codec.encode(whole);
  const frags = fragment(whole, 1480);

  it('reassembles fragments in order into the original packet, byte for byte', () => {
    expect(frags.map((f) => [f.fragmentOffset, f.payload.length, f.moreFragments])).toEqual([
      [0, 1480, true],
      [1480, 1480, true],
      [2960, 48, false],
    ]);
    const r = new Ipv4Reassembler();
    const rs = feed(r, frags);
    expect(rs.map((x) => x.status)).toEqual(['pending', 'pending', 'complete']);
    const done = rs[2] as Extract<ReassemblyResult, { status: 'complete' }>;
    expect(toHex(done.packet)).toBe(toHex(wholeBytes));
    expect([done.fragments, done.overlapped, done.firstAt]).toEqual([3, false, T0]);
    const p = Ipv4Codec.decode(done.packet);
    expect([p.moreFragments, p.fragmentOffset, p.checksumValid]).toEqual([false, 0, true]);
    expect(verifyUdpChecksum(p.src, p.dst, p.payload)).toBe('valid');
    expect(r.inProgress).toBe(0);
  });

  it('reassembles fragments in reverse order', () => {
    const rs = feed(new Ipv4Reassembler(), [...frags].reverse());
    expect(rs.map((x) => x.status)).toEqual(['pending', 'pending', 'complete']);
    expect(toHex((rs[2] as { packet: Uint8Array }).packet)).toBe(toHex(wholeBytes));
  });

  it('keeps the first fragment header: options, DF, TTL, identification', () => {
    const opt = datagram(100, 0x77, fromHex('94040000'));
    const withOpts = { ...opt, ttl: 9, dontFragment: false };
    const rs = feed(new Ipv4Reassembler(), fragment(withOpts, 48).reverse());
    const p = Ipv4Codec.decode((completed(rs)[0] as { packet: Uint8Array }).packet);
    expect(toHex(p.options)).toBe('94040000');
    expect([p.ttl, p.identification, p.checksumValid]).toEqual([9, 0x77, true]);
    expect(toHex(p.payload)).toBe(toHex(withOpts.payload));
  });

  it('ignores exact duplicates', () => {
    const r = new Ipv4Reassembler();
    const rs = feed(r, [frags[0]!, frags[0]!, frags[2]!, frags[2]!, frags[1]!, frags[1]!]);
    expect(rs.map((x) => x.status)).toEqual(['pending', 'duplicate', 'pending', 'duplicate', 'complete', 'pending']);
    // The last copy arrives after completion and starts a new datagram, which later expires.
    expect(r.inProgress).toBe(1);
    expect(r.expire(T0 + DEFAULT_REASSEMBLY_TIMEOUT_US)).toHaveLength(1);
  });

  it('first-wins overlap policy: earlier bytes are kept, later ones only fill holes', () => {
    // [0, 1488) then [1480, 3008): 8 bytes overlap.
    const a = fragmentAt(whole, [1488])[0]!;
    const b = fragmentAt(whole, [1480])[1]!;
    const rs = feed(new Ipv4Reassembler(), [a, b]);
    const done = rs[1] as Extract<ReassemblyResult, { status: 'complete' }>;
    expect(done.status).toBe('complete');
    expect(done.overlapped).toBe(true);
    expect(toHex(done.packet)).toBe(toHex(wholeBytes));
    // The overlapping part of the later fragment differs: the first copy's bytes win.
    const forged = Ipv4Codec.decode(Ipv4Codec.encode({ ...b, payload: b.payload.map((x, i) => (i < 8 ? 0xee : x)) }));
    const rs2 = feed(new Ipv4Reassembler(), [a, forged]);
    expect(toHex((rs2[1] as { packet: Uint8Array }).packet)).toBe(toHex(wholeBytes));
  });

  it('discard-datagram overlap policy drops the datagram (as RFC 5722 does for IPv6)', () => {
    const a = fragmentAt(whole, [1488])[0]!;
    const b = fragmentAt(whole, [1480])[1]!;
    const r = new Ipv4Reassembler({ overlap: 'discard-datagram' });
    const rs = feed(r, [a, b]);
    expect(rs[1]).toMatchObject({ status: 'rejected', reason: 'overlap', discarded: true });
    expect(r.inProgress).toBe(0);
  });

  it('an incomplete datagram expires after the timeout (30 s default), not before', () => {
    const r = new Ipv4Reassembler();
    feed(r, [frags[0]!, frags[2]!]);
    expect(r.expire(T0 + DEFAULT_REASSEMBLY_TIMEOUT_US - 1)).toEqual([]);
    expect(r.inProgress).toBe(1);
    const gone = r.expire(T0 + DEFAULT_REASSEMBLY_TIMEOUT_US);
    expect(gone).toEqual([
      { src: SRC, dst: DST, identification: 0x1234, protocol: 17, firstAt: T0, fragments: 2, receivedBytes: 1528, haveFirst: true },
    ]);
    expect(r.inProgress).toBe(0);
    expect(r.expire(T0 + seconds(100))).toEqual([]);
  });

  it('add also expires, and the late fragment starts afresh', () => {
    const r = new Ipv4Reassembler({ timeoutUs: seconds(5) });
    r.add(frags[0]!, T0);
    r.add(frags[1]!, T0 + seconds(1));
    expect(r.add(frags[2]!, T0 + seconds(5)).status).toBe('pending');
    expect(r.expire(T0 + seconds(5))).toMatchObject([{ fragments: 2, firstAt: T0 }]);
    expect(r.inProgress).toBe(1);
  });

  it('rejects a fragment ending beyond 65535 bytes without throwing', () => {
    const big = Ipv4Codec.decode(
      Ipv4Codec.encode({ ...whole, fragmentOffset: 65528, moreFragments: false, payload: new Uint8Array(16) }),
    );
    const r = new Ipv4Reassembler();
    expect(r.add(big, T0)).toMatchObject({ status: 'rejected', reason: 'too-large', discarded: false });
    expect(r.inProgress).toBe(0);
  });

  it('rejects a datagram that only turns out too large with the first header (ping of death)', () => {
    // Data 0..65512 fits a 20-byte header, not the first fragment's 60-byte one.
    const total = 65512;
    const body = { ...whole, payload: new Uint8Array(total) };
    const first = Ipv4Codec.decode(Ipv4Codec.encode({ ...body, options: new Uint8Array(40), moreFragments: true, payload: new Uint8Array(32768) }));
    const [, last] = fragmentAt(body, [32768]);
    const r = new Ipv4Reassembler();
    expect(r.add(last!, T0).status).toBe('pending');
    expect(r.add(first, T0)).toMatchObject({ status: 'rejected', reason: 'too-large', discarded: true });
    expect(r.inProgress).toBe(0);
  });

  it('rejects misaligned non-last fragments, conflicting ends, too many fragments, a full table', () => {
    const r = new Ipv4Reassembler({ maxDatagrams: 2, maxFragments: 3 });
    const odd = Ipv4Codec.decode(Ipv4Codec.encode({ ...whole, moreFragments: true, payload: new Uint8Array(100) }));
    expect(r.add(odd, T0)).toMatchObject({ status: 'rejected', reason: 'misaligned' });

    expect(r.add(frags[2]!, T0).status).toBe('pending');
    const otherEnd = Ipv4Codec.decode(Ipv4Codec.encode({ ...frags[2]!, payload: new Uint8Array(8) }));
    expect(r.add(otherEnd, T0)).toMatchObject({ status: 'rejected', reason: 'inconsistent-length', discarded: true });

    const tiny = fragment(datagram(100, 9), 8);
    const rs = feed(r, tiny);
    expect(rs[3]).toMatchObject({ status: 'rejected', reason: 'too-many-fragments', discarded: true });

    r.add(fragment(datagram(100, 1), 48)[0]!, T0);
    r.add(fragment(datagram(100, 2), 48)[0]!, T0);
    expect(r.add(fragment(datagram(100, 3), 48)[0]!, T0)).toMatchObject({ status: 'rejected', reason: 'table-full', discarded: false });
  });

  it('keys by (src, dst, protocol, identification) and passes unfragmented packets through', () => {
    const r = new Ipv4Reassembler();
    expect(r.add(whole, T0)).toEqual({ status: 'not-fragment' });
    const a = fragment(datagram(200, 1), 96);
    const b = fragment(datagram(200, 2), 96);
    const c = fragment({ ...datagram(200, 1), protocol: 50 }, 96);
    const rs = feed(r, [a[0]!, b[0]!, c[0]!, a[1]!, b[1]!, c[1]!, c[2]!, b[2]!, a[2]!]);
    expect(rs.map((x) => x.status)).toEqual(['pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'complete', 'complete', 'complete']);
    expect(Ipv4Codec.decode((rs[6] as { packet: Uint8Array }).packet).protocol).toBe(50);
    expect(Ipv4Codec.decode((rs[8] as { packet: Uint8Array }).packet).identification).toBe(1);
  });

  it('any split, order and duplication gives back the original as soon as every piece is in (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 9, max: 2000 }),
        fc.array(fc.nat(300), { maxLength: 12 }),
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(20), { maxLength: 4 }),
        (n, cutWords, rand, dups) => {
          const p = datagram(n);
          const len = p.payload.length;
          const cuts = [...new Set(cutWords.map((w) => w * 8).filter((c) => c > 0 && c < len))].sort((x, y) => x - y);
          const distinct = fragmentAt(p, cuts);
          const pieces = [...distinct];
          for (const d of dups) pieces.push(distinct[d % distinct.length]!);
          const order = pieces.map((f) => ({ f, k: rand.next().value as number })).sort((x, y) => x.k - y.k);
          const r = new Ipv4Reassembler();
          const rs = order.map(({ f }) => r.add(f, T0));
          if (cuts.length === 0) {
            expect(rs.every((x) => x.status === 'not-fragment')).toBe(true);
            return;
          }
          const seen = new Set<Ipv4Packet>();
          const allInAt = order.findIndex(({ f }) => seen.add(f).size === distinct.length);
          expect(rs.findIndex((x) => x.status === 'complete')).toBe(allInAt);
          expect(rs.slice(0, allInAt).every((x) => x.status === 'pending' || x.status === 'duplicate')).toBe(true);
          expect(toHex((rs[allInAt] as { packet: Uint8Array }).packet)).toBe(toHex(Ipv4Codec.encode(p)));
        },
      ),
    );
  });

  it('arbitrary decoded fragments never make it throw (property)', () => {
    const frag = fc.record({
      identification: fc.nat(3),
      moreFragments: fc.boolean(),
      fragmentOffset: fc.nat(0x1fff).map((o) => o * 8),
      payload: fc.uint8Array({ maxLength: 64 }),
      options: fc.nat(10).map((w) => new Uint8Array(w * 4)),
    });
    fc.assert(
      fc.property(fc.array(frag, { maxLength: 30 }), fc.array(fc.nat(seconds(40)), { maxLength: 30 }), (fs, times) => {
        const r = new Ipv4Reassembler({ maxDatagrams: 2, maxFragments: 8 });
        fs.forEach((f, i) => {
          const res = r.add({ ...datagram(0), ...f }, T0 + (times[i] ?? 0));
          expect(['not-fragment', 'pending', 'duplicate', 'complete', 'rejected']).toContain(res.status);
        });
        expect(r.inProgress).toBeLessThanOrEqual(2);
      }),
    );
  });
});

describe('Ipv6Reassembler', () => {
  const S6 = parseIp('2001:db8::1');
  const D6 = parseIp('2001:db8:0:1::2');
  const udpPayload = Uint8Array.from({ length: 1000 }, (_, i) => (i * 13 + 1) & 0xff);
  const udp = encodeUdp({ srcPort: 4500, dstPort: 4500, payload: udpPayload }, { src: S6, dst: D6 });
  const hbh = { type: 0 as const, data: fromHex('010400000000') };
  const whole: Ipv6Packet = { trafficClass: 0, flowLabel: 7, hopLimit: 64, src: S6, dst: D6, extensions: [hbh], protocol: 17, payload: udp };

  /** RFC 8200 §4.5: unfragmentable part (Hop-by-Hop), Fragment header, fragment data. */
  function fragments6(size: number): Ipv6Packet[] {
    const out: Ipv6Packet[] = [];
    for (let o = 0; o < udp.length; o += size) {
      const data = udp.subarray(o, Math.min(udp.length, o + size));
      const frag = { type: 44 as const, fragmentOffset: o, moreFragments: o + size < udp.length, identification: 0xabcdef01, reserved: 0, reservedBits: 0 };
      out.push(Ipv6Codec.decode(Ipv6Codec.encode({ ...whole, extensions: [hbh, frag], protocol: 17, payload: data })));
    }
    return out;
  }

  it('reassembles out of order into the unfragmented packet, byte for byte', () => {
    const fs = fragments6(512);
    expect(fs.length).toBe(2);
    const r = new Ipv6Reassembler();
    expect(r.add(fs[1]!, T0).status).toBe('pending');
    const done = r.add(fs[0]!, T0) as Extract<ReassemblyResult, { status: 'complete' }>;
    expect(done.status).toBe('complete');
    expect(toHex(done.packet)).toBe(toHex(Ipv6Codec.encode(whole)));
    const p = Ipv6Codec.decode(done.packet);
    expect(p.extensions.map((e) => e.type)).toEqual([0]);
    expect(verifyUdpChecksum(S6, D6, p.payload)).toBe('valid');
  });

  it('drops the whole datagram on overlap by default (RFC 5722), ignores exact duplicates', () => {
    const fs = fragments6(504);
    const r = new Ipv6Reassembler();
    expect(r.add(fs[0]!, T0).status).toBe('pending');
    expect(r.add(fs[0]!, T0).status).toBe('duplicate');
    const overlapping = Ipv6Codec.decode(
      Ipv6Codec.encode({
        ...fs[1]!,
        extensions: [hbh, { type: 44, fragmentOffset: 496, moreFragments: false, identification: 0xabcdef01, reserved: 0, reservedBits: 0 }],
        payload: udp.subarray(496),
      }),
    );
    expect(r.add(overlapping, T0)).toMatchObject({ status: 'rejected', reason: 'overlap', discarded: true });
    expect(r.inProgress).toBe(0);
  });

  it('expires, rejects oversize fragments, passes atomic fragments through', () => {
    const fs = fragments6(512);
    const r = new Ipv6Reassembler();
    r.add(fs[0]!, T0);
    expect(r.expire(T0 + DEFAULT_REASSEMBLY_TIMEOUT_US)).toMatchObject([{ identification: 0xabcdef01, fragments: 1, haveFirst: true }]);
    const big = { ...fs[1]!, extensions: [hbh, { type: 44 as const, fragmentOffset: 65528, moreFragments: false, identification: 1, reserved: 0, reservedBits: 0 }] };
    expect(r.add(big, T0)).toMatchObject({ status: 'rejected', reason: 'too-large' });
    const atomic = { ...whole, extensions: [hbh, { type: 44 as const, fragmentOffset: 0, moreFragments: false, identification: 1, reserved: 0, reservedBits: 0 }] };
    expect(r.add(Ipv6Codec.decode(Ipv6Codec.encode(atomic)), T0)).toEqual({ status: 'not-fragment' });
    expect(r.add(whole, T0)).toEqual({ status: 'not-fragment' });
  });
});
