/**
 * Targets for the wire decoders. Contract: a decoder returns a value or throws
 * DecodeError, nothing else; the lenient ISAKMP decoder and the RFC 3948 classifier
 * throw nothing at all; IP reassembly never throws and whatever it completes decodes.
 */
import { parseIp } from '../../src/core/addr.ts';
import { decodeIpv4, Ipv4Codec } from '../../src/wire/ipv4.ts';
import { Ipv6Codec } from '../../src/wire/ipv6.ts';
import { decodeUdp, verifyUdpChecksum } from '../../src/wire/udp.ts';
import { EspCodec } from '../../src/wire/esp.ts';
import { decodeLink, LINKTYPE } from '../../src/wire/link.ts';
import { classifyUdpPayload } from '../../src/wire/udp-encap.ts';
import { Ipv4Reassembler, Ipv6Reassembler } from '../../src/wire/ip-reassembly.ts';
import { decodeMessage, decodePayloadChain } from '../../src/wire/ike/message.ts';
import { firstUnsupportedCritical } from '../../src/wire/ike/payload.ts';
import { IsakmpMessageCodec, decodeIsakmpLenient, decodePayloadChain as decodeIsakmpChain } from '../../src/wire/ikev1/message.ts';
import type { FuzzTarget } from '../harness.ts';
import { allowDecodeError, decodeAt, lazy } from './common.ts';
import { engineSeeds } from '../seeds.ts';
import { loadCorpus } from '../corpus.ts';
import { emptyLayout, ikeLayout, ikeMessageLayout, ipLayout, ipPacketLayout, linkLayout } from '../locate.ts';
import { InvariantFailure, rd16 } from '../util.ts';
import { concatBytes } from '../../src/core/bytes.ts';

const SRC4 = parseIp('198.51.100.1');
const DST4 = parseIp('198.51.100.2');

export const ipv4Target: FuzzTarget<null> = {
  name: 'ipv4',
  description: 'decodeIpv4 (strict and snap-truncated) over IPv4 packets',
  weight: 6,
  maxLen: 4096,
  randomShare: 0.05,
  seeds: lazy(() => loadCorpus().ipPackets.filter((b) => b[0]! >> 4 === 4)),
  layout: ipPacketLayout,
  setup: () => null,
  exec(_s, b) {
    const p = decodeAt(14, b.length, () => decodeIpv4(b, 14));
    decodeAt(0, b.length, () => decodeIpv4(b, 0, { snapped: true }));
    allowDecodeError(() => Ipv4Codec.decode(b));
    if (p && p.payload.length > b.length) throw new InvariantFailure(`payload of ${p.payload.length} bytes from a ${b.length}-byte buffer`);
  },
};

export const ipv6Target: FuzzTarget<null> = {
  name: 'ipv6',
  description: 'Ipv6Codec.decode (extension header walk) over IPv6 packets',
  weight: 4,
  maxLen: 4096,
  randomShare: 0.05,
  seeds: lazy(() => {
    const own = loadCorpus().ipPackets.filter((b) => b[0]! >> 4 === 6);
    // The captures hold little IPv6: add packets with every extension header kind.
    const src = parseIp('2001:db8::1');
    const dst = parseIp('2001:db8::2');
    const udp = Uint8Array.of(0x01, 0xf4, 0x01, 0xf4, 0x00, 0x0c, 0, 0, 1, 2, 3, 4);
    const made = [
      Ipv6Codec.encode({ trafficClass: 0, flowLabel: 1, hopLimit: 64, src, dst, extensions: [], protocol: 17, payload: udp }),
      Ipv6Codec.encode({
        trafficClass: 0,
        flowLabel: 0,
        hopLimit: 64,
        src,
        dst,
        extensions: [
          { type: 0, data: new Uint8Array(6) },
          { type: 43, data: new Uint8Array(14) },
          { type: 60, data: new Uint8Array(6) },
          { type: 44, fragmentOffset: 0, moreFragments: true, identification: 7, reserved: 0, reservedBits: 0 },
        ],
        protocol: 17,
        payload: udp.subarray(0, 8),
      }),
    ];
    return [...own, ...made];
  }),
  layout: ipPacketLayout,
  setup: () => null,
  exec(_s, b) {
    decodeAt(40, b.length, () => Ipv6Codec.decode(b, 40));
  },
};

export const udpTarget: FuzzTarget<null> = {
  name: 'udp',
  description: 'decodeUdp (strict and snapped) and the UDP checksum over UDP datagrams',
  weight: 4,
  maxLen: 4096,
  randomShare: 0.05,
  seeds: lazy(() => loadCorpus().udpDatagrams),
  layout(b) {
    const out = emptyLayout();
    // Frame the datagram in a fake IPv4 header so the UDP locator applies.
    const ip = concatBytes(Uint8Array.of(0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), b);
    const l = emptyLayout();
    ipLayout(l, ip, 0);
    for (const f of l.fields) if (f.at >= 20) out.fields.push({ ...f, at: f.at - 20, ...(f.encl ? { encl: { start: f.encl.start - 20, end: f.encl.end - 20 } } : {}) });
    for (const s of l.spans) if (s.at >= 20) out.spans.push({ ...s, at: s.at - 20 });
    for (const m of l.ike) out.ike.push({ ...m, at: m.at - 20, end: m.end - 20 });
    return out;
  },
  setup: () => null,
  exec(_s, b) {
    const u = decodeAt(34, b.length, () => decodeUdp(b, 34));
    decodeAt(0, b.length, () => decodeUdp(b, 0, { snapped: true }));
    if (u) verifyUdpChecksum(SRC4, DST4, b.subarray(0, 8 + u.payload.length));
  },
};

export const espHeaderTarget: FuzzTarget<null> = {
  name: 'esp-header',
  description: 'EspCodec.decode over ESP packets',
  weight: 2,
  maxLen: 2048,
  randomShare: 0.2,
  randomMaxLen: 64,
  seeds: lazy(() => loadCorpus().esp),
  setup: () => null,
  exec(_s, b) {
    decodeAt(42, b.length, () => EspCodec.decode(b, 42));
  },
};

const LINKTYPES = [...Object.values(LINKTYPE), 0xffff, 9, 105];

export const linkTarget: FuzzTarget<null> = {
  name: 'link',
  description: 'decodeLink over captured frames (first input byte selects the link type)',
  weight: 4,
  maxLen: 4096,
  randomShare: 0.05,
  seeds: lazy(() => loadCorpus().frames.map((f) => concatBytes(Uint8Array.of(Math.max(0, LINKTYPES.indexOf(f.linktype as never))), f.data))),
  layout(b) {
    const out = emptyLayout();
    if (b.length > 0) linkLayout(out, b, LINKTYPES[b[0]! % LINKTYPES.length]!, 1);
    return out;
  },
  setup: () => null,
  exec(_s, b) {
    if (b.length === 0) return;
    const lt = LINKTYPES[b[0]! % LINKTYPES.length]!;
    const l = decodeAt(1, b.length - 1, () => decodeLink(lt, b.subarray(1), 1));
    if (l && l.payload.length > b.length) throw new InvariantFailure('link payload longer than the frame');
  },
};

export const udpEncapTarget: FuzzTarget<null> = {
  name: 'udp-encap',
  description: 'classifyUdpPayload (never throws) then the IKE decoder on what it calls IKE; input = src port ‖ dst port ‖ payload',
  weight: 3,
  maxLen: 4096,
  randomShare: 0.1,
  randomMaxLen: 64,
  seeds: lazy(() => loadCorpus().udpPayloads.map((u) => concatBytes(Uint8Array.of(u.srcPort >> 8, u.srcPort & 0xff, u.dstPort >> 8, u.dstPort & 0xff), u.payload))),
  layout(b) {
    const out = emptyLayout();
    if (b.length < 4) return out;
    const sp = rd16(b, 0);
    const dp = rd16(b, 2);
    const marker = sp !== 500 && dp !== 500 && b.length >= 8 && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0;
    ikeLayout(out, b, marker ? 8 : 4);
    return out;
  },
  setup: () => null,
  exec(_s, b) {
    if (b.length < 4) return;
    const c = classifyUdpPayload(rd16(b, 0), rd16(b, 2), b.subarray(4));
    if (c.kind === 'ike' || c.kind === 'ike-nonesp') decodeAt(4 + c.offset, c.ike.length, () => decodeMessage(c.ike, 4 + c.offset));
  },
};

export const ikev2Target: FuzzTarget<null> = {
  name: 'ikev2',
  description: 'IKEv2 decodeMessage and decodePayloadChain (as for decrypted SK contents)',
  weight: 8,
  maxLen: 65535,
  randomShare: 0.03,
  seeds: lazy(() => [...loadCorpus().ikev2, ...engineSeeds().ikeMessages]),
  layout: ikeMessageLayout,
  setup: () => null,
  exec(_s, b) {
    const m = decodeAt(8, b.length, () => decodeMessage(b, 8));
    if (m) firstUnsupportedCritical(m.payloads);
    if (b.length >= 28) decodeAt(28, b.length - 28, () => decodePayloadChain(b[16]!, b.subarray(28), 28));
  },
};

export const ikev1Target: FuzzTarget<null> = {
  name: 'ikev1',
  description: 'ISAKMP: strict IsakmpMessageCodec.decode, decodeIsakmpLenient (never throws), decodePayloadChain',
  weight: 6,
  maxLen: 65535,
  randomShare: 0.03,
  seeds: lazy(() => loadCorpus().ikev1),
  layout: ikeMessageLayout,
  setup: () => null,
  exec(_s, b) {
    decodeAt(8, b.length, () => IsakmpMessageCodec.decode(b, 8));
    const lenient = decodeIsakmpLenient(b, 8);
    if (lenient.errors.length === 0 && lenient.header && !lenient.message) throw new InvariantFailure('lenient decode found no error but gave no message');
    for (const e of lenient.errors) {
      if (e.offset < 8 || e.offset > 8 + b.length) throw new InvariantFailure(`lenient DecodeError offset ${e.offset} lies outside 8..${8 + b.length}: ${e.message}`);
    }
    if (b.length >= 28) decodeAt(36, b.length - 28, () => decodeIsakmpChain(b.subarray(28), b[16]!, 36));
  },
};

// ---------------------------------------------------------------- IP reassembly

/** Container: [u16 length][IP packet] repeated. */
function splitContainer(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let o = 0;
  while (o + 2 <= b.length && out.length < 512) {
    const n = rd16(b, o);
    out.push(b.subarray(o + 2, Math.min(b.length, o + 2 + n)));
    o += 2 + n;
  }
  return out;
}

function joinContainer(list: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...list.flatMap((p) => [Uint8Array.of(p.length >> 8, p.length & 0xff), p]));
}

/** Splits an IPv4 or IPv6 packet into fragments of about `size` bytes of data. */
function fragment(packet: Uint8Array, size: number, id: number): Uint8Array[] {
  const v = packet[0]! >> 4;
  if (v === 4) {
    const p = allowDecodeError(() => Ipv4Codec.decode(packet));
    if (!p || p.payload.length <= size) return [];
    const out: Uint8Array[] = [];
    for (let off = 0; off < p.payload.length; off += size) {
      const end = Math.min(p.payload.length, off + size);
      out.push(Ipv4Codec.encode({ ...p, identification: id, moreFragments: end < p.payload.length, fragmentOffset: off, payload: p.payload.subarray(off, end) }));
    }
    return out;
  }
  if (v === 6) {
    const p = allowDecodeError(() => Ipv6Codec.decode(packet));
    if (!p || p.payload.length <= size) return [];
    const out: Uint8Array[] = [];
    for (let off = 0; off < p.payload.length; off += size) {
      const end = Math.min(p.payload.length, off + size);
      out.push(
        Ipv6Codec.encode({
          ...p,
          extensions: [...p.extensions, { type: 44, fragmentOffset: off, moreFragments: end < p.payload.length, identification: id, reserved: 0, reservedBits: 0 }],
          payload: p.payload.subarray(off, end),
        }),
      );
    }
    return out;
  }
  return [];
}

export const reassemblyTarget: FuzzTarget<null> = {
  name: 'ip-reassembly',
  description: 'Ipv4Reassembler / Ipv6Reassembler over fragment sequences (never throw; a completed datagram decodes)',
  weight: 4,
  maxLen: 32768,
  randomShare: 0.02,
  seeds: lazy(() => {
    const ips = [...loadCorpus().ipPackets.filter((p) => p.length > 64), ...(ipv6Target.seeds() as Uint8Array[])];
    const out: Uint8Array[] = [];
    ips.forEach((p, i) => {
      const frags = fragment(p, [8, 16, 24, 48, 64][i % 5]!, 0x1000 + i);
      if (frags.length < 2) return;
      out.push(joinContainer(frags));
      out.push(joinContainer([...frags].reverse()));
      out.push(joinContainer([frags[0]!, ...frags, frags[frags.length - 1]!]));
    });
    return out;
  }),
  layout(b) {
    const out = emptyLayout();
    let o = 0;
    for (let n = 0; o + 2 <= b.length && n < 256; n++) {
      const len = rd16(b, o);
      out.fields.push({ at: o, size: 2, le: false, kind: 'len', name: 'container.length', encl: { start: o + 2, end: o + 2 + len } });
      out.spans.push({ at: o, len: 2 + len, name: 'container.packet' });
      ipLayout(out, b, o + 2, Math.min(b.length, o + 2 + len));
      o += 2 + len;
    }
    return out;
  },
  setup: () => null,
  exec(_s, b) {
    const v4 = new Ipv4Reassembler({ maxDatagrams: 4, maxFragments: 16, timeoutUs: 1_000_000 });
    const v6 = new Ipv6Reassembler({ maxDatagrams: 4, maxFragments: 16, timeoutUs: 1_000_000 });
    let now = 0;
    for (const pkt of splitContainer(b)) {
      now += 150_000;
      const v = (pkt[0] ?? 0) >> 4;
      if (v === 4) {
        const p = allowDecodeError(() => Ipv4Codec.decode(pkt));
        if (!p) continue;
        const r = v4.add(p, now);
        if (r.status === 'complete') {
          try {
            Ipv4Codec.decode(r.packet);
          } catch (e) {
            throw new InvariantFailure(`a reassembled IPv4 datagram does not decode: ${String(e)}`, { cause: e });
          }
        }
      } else if (v === 6) {
        const p = allowDecodeError(() => Ipv6Codec.decode(pkt));
        if (!p) continue;
        const r = v6.add(p, now);
        if (r.status === 'complete') {
          try {
            Ipv6Codec.decode(r.packet);
          } catch (e) {
            throw new InvariantFailure(`a reassembled IPv6 datagram does not decode: ${String(e)}`, { cause: e });
          }
        }
      }
    }
    v4.expire(now + 10_000_000);
    v6.expire(now + 10_000_000);
  },
};

export const DECODER_TARGETS = [ipv4Target, ipv6Target, udpTarget, espHeaderTarget, linkTarget, udpEncapTarget, ikev2Target, ikev1Target, reassemblyTarget] as const;

