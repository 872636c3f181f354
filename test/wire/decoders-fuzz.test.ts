import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeLink, LINKTYPE, EthernetCodec, SllCodec, Sll2Codec } from '../../src/wire/link.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec } from '../../src/wire/ipv6.ts';
import { UdpCodec, verifyUdpChecksum } from '../../src/wire/udp.ts';
import { EspCodec } from '../../src/wire/esp.ts';
import { classifyUdpPayload } from '../../src/wire/udp-encap.ts';
import { Ipv4Reassembler, Ipv6Reassembler } from '../../src/wire/ip-reassembly.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { thrownBy } from '../helpers/roundtrip.ts';
import { readPcap } from '../helpers/pcap-frames.ts';

/** Link, IP (with reassembly), UDP, RFC 3948 classification and ESP, as a capture analyser would chain them. */
function decodeFrame(linktype: number, frame: Uint8Array, v4: Ipv4Reassembler, v6: Ipv6Reassembler): string {
  const l = decodeLink(linktype, frame, 0);
  let proto: number;
  let body: Uint8Array;
  let at: number;
  if (l.network === 'ipv4') {
    const ip = Ipv4Codec.decode(l.payload, l.payloadOffset);
    const r = v4.add(ip, 0);
    if (r.status !== 'not-fragment' && r.status !== 'complete') return r.status;
    const whole = r.status === 'complete' ? Ipv4Codec.decode(r.packet) : ip;
    [proto, body, at] = [whole.protocol, whole.payload, l.payloadOffset + 20 + whole.options.length];
    if (proto === 17) verifyUdpChecksum(whole.src, whole.dst, body);
  } else if (l.network === 'ipv6') {
    const ip = Ipv6Codec.decode(l.payload, l.payloadOffset);
    const r = v6.add(ip, 0);
    if (r.status !== 'not-fragment') return r.status;
    [proto, body, at] = [ip.protocol, ip.payload, l.payloadOffset + l.payload.length - ip.payload.length];
  } else {
    return 'other';
  }
  if (proto === 50) return `esp ${EspCodec.decode(body, at).spi}`;
  if (proto !== 17) return `proto ${proto}`;
  const udp = UdpCodec.decode(body, at);
  const c = classifyUdpPayload(udp.srcPort, udp.dstPort, udp.payload);
  if (c.kind === 'esp') EspCodec.decode(c.esp, at + 8);
  return c.kind;
}

const CAPTURES = [
  'strongswan-lab/a-nat-keepalive/outside.pcap',
  'strongswan-lab/b-nonat/inside.pcap',
  'tcpdump/ikev2four.pcap',
  'tcpdump/espudp1.pcap',
  'tcpdump/isakmp-rfc3948-oobr.pcap',
  'tcpdump/esp_truncated.pcap',
  'tcpdump/isakmp-pointer-loop.pcap',
].map((p) => readPcap(p));

function expectOnlyDecodeErrors(fn: () => unknown): void {
  const e = thrownBy(fn);
  if (e !== undefined) expect(e).toBeInstanceOf(DecodeError);
}

describe('every decoder on hostile input', () => {
  it('the real frames of the reference captures decode through the whole chain or fail with DecodeError', () => {
    const outcomes = new Map<string, number>();
    for (const pcap of CAPTURES) {
      const v4 = new Ipv4Reassembler();
      const v6 = new Ipv6Reassembler();
      for (const f of pcap.frames) {
        const e = thrownBy(() => {
          const k = decodeFrame(pcap.linktype, f.data, v4, v6).split(' ')[0]!;
          outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
        });
        if (e !== undefined) expect(e).toBeInstanceOf(DecodeError);
      }
    }
    expect(outcomes.get('keepalive')).toBe(5);
    expect(outcomes.get('ike')).toBeGreaterThan(20);
    expect(outcomes.get('esp')).toBeGreaterThan(40);
  });

  it('mutated and truncated real frames only ever raise DecodeError (property)', () => {
    const frames = CAPTURES.flatMap((p) => p.frames.map((f) => ({ linktype: p.linktype, data: f.data })));
    fc.assert(
      fc.property(
        fc.nat(frames.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
        fc.nat(),
        (i, flips, cut) => {
          const { linktype, data } = frames[i]!;
          const b = data.slice(0, data.length - (cut % Math.min(data.length + 1, 64)));
          for (const [at, v] of flips) if (b.length > 0) b[at % b.length] = v;
          expectOnlyDecodeErrors(() => decodeFrame(linktype, b, new Ipv4Reassembler(), new Ipv6Reassembler()));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('arbitrary bytes into each decoder only ever raise DecodeError (property)', () => {
    const decoders: ((b: Uint8Array, base: number) => unknown)[] = [
      (b, base) => Ipv4Codec.decode(b, base),
      (b, base) => Ipv6Codec.decode(b, base),
      (b, base) => UdpCodec.decode(b, base),
      (b, base) => EspCodec.decode(b, base),
      (b, base) => EthernetCodec.decode(b, base),
      (b, base) => SllCodec.decode(b, base),
      (b, base) => Sll2Codec.decode(b, base),
      ...Object.values(LINKTYPE).map((lt) => (b: Uint8Array, base: number) => decodeLink(lt, b, base)),
      (b) => classifyUdpPayload(b[0] ?? 0, 4500, b),
      (b) => classifyUdpPayload(500, 500, b),
    ];
    fc.assert(
      fc.property(fc.nat(decoders.length - 1), fc.uint8Array({ maxLength: 96 }), fc.nat(1 << 20), (d, b, base) => {
        expectOnlyDecodeErrors(() => decoders[d]!(b, base));
      }),
      { numRuns: 3000 },
    );
  });
});
