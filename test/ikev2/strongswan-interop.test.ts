/**
 * Real data from strongSwan 6.0.6 through a Linux MASQUERADE NAT:
 * /work/shared/captures/strongswan-lab/a-nat-keepalive (manifest.json; outside.pcap
 * frame 1 = IKE_SA_INIT request 198.51.100.1:29396 → 198.51.100.2:500, frame 2 = the
 * response; inside.pcap has the same messages before the NAT, from 10.77.0.2:500).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SeededRng, endpoint, fromHex, parseEndpoint, toHex, type Endpoint } from '../../src/core/index.ts';
import { IkeEndpoint, natdHash, natdInput } from '../../src/ikev2/index.ts';
import { decodeLink } from '../../src/wire/link.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { UdpCodec } from '../../src/wire/udp.ts';
import { decodeMessage } from '../../src/wire/ike/message.ts';
import { DhGroup, EncrId, NotifyType, PayloadType, PrfId, TransformType } from '../../src/wire/ike/constants.ts';
import { notifiesOfType, payloadsOfType } from '../../src/wire/ike/payload.ts';
import { keyLength } from '../../src/wire/ike/payloads/sa.ts';
import { readPcap } from '../helpers/pcap-frames.ts';

const DIR = 'strongswan-lab/a-nat-keepalive';
const manifest = JSON.parse(readFileSync(`/work/shared/captures/${DIR}/manifest.json`, 'utf8')) as {
  nat_detection_payloads: Array<{ capture: string; dir: string; message: string; packet: string; notify: string; hash: string; hash_computed_over: string; formula: string }>;
  natd_from_charon_log: { ini: string[]; rsp: string[] };
  ground_truth: { psk: string; ids: { initiator: string; responder: string } };
};

interface UdpAt {
  /** 1-based frame number. */
  readonly frame: number;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly payload: Uint8Array;
}

/** The IPv4/UDP datagrams of a capture under /work/shared/captures, decoded by the codecs under test. */
function udpFrames(path: string): UdpAt[] {
  const pcap = readPcap(path);
  const out: UdpAt[] = [];
  for (const f of pcap.frames) {
    const link = decodeLink(pcap.linktype, f.data);
    if (link.network !== 'ipv4') continue;
    const ip = Ipv4Codec.decode(link.payload);
    if (ip.protocol !== 17) continue;
    const udp = UdpCodec.decode(ip.payload);
    out.push({ frame: f.number, src: { addr: ip.src, port: udp.srcPort }, dst: { addr: ip.dst, port: udp.dstPort }, payload: udp.payload });
  }
  return out;
}

const outside = udpFrames(`${DIR}/outside.pcap`);
const inside = udpFrames(`${DIR}/inside.pcap`);
/** Frames 1 and 2 are the IKE_SA_INIT request and response, frame 3 the IKE_AUTH request. */
const frame = (list: UdpAt[], n: number): UdpAt => list.find((f) => f.frame === n)!;

function natdNotifies(payload: Uint8Array) {
  const m = decodeMessage(payload);
  return {
    header: m.header,
    source: notifiesOfType(m.payloads, NotifyType.NAT_DETECTION_SOURCE_IP).map((n) => toHex(n.data)),
    destination: notifiesOfType(m.payloads, NotifyType.NAT_DETECTION_DESTINATION_IP).map((n) => toHex(n.data)),
  };
}

function spiRFromFormula(formula: string): Uint8Array {
  return fromHex(/SPIr\(([0-9a-f]{16})\)/.exec(formula)![1]!);
}

describe('natd.ts against strongSwan', () => {
  it('hashes exactly the bytes charon logs as natd_chunk, to the natd_hash it logs', () => {
    const log = [...manifest.natd_from_charon_log.ini, ...manifest.natd_from_charon_log.rsp];
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < log.length; i++) {
      const chunk = / natd_chunk ([0-9a-f]+)$/.exec(log[i]!);
      const hash = / natd_hash ([0-9a-f]+)$/.exec(log[i + 1] ?? '');
      if (chunk && hash) pairs.push([chunk[1]!, hash[1]!]);
    }
    expect(pairs.length).toBe(8);
    for (const [chunk, hash] of pairs) {
      const b = fromHex(chunk);
      const ep: Endpoint = { addr: { family: 4, bytes: b.subarray(16, 20) }, port: (b[20]! << 8) | b[21]! };
      expect(toHex(natdInput(b.subarray(0, 8), b.subarray(8, 16), ep))).toBe(chunk);
      expect(toHex(natdHash(b.subarray(0, 8), b.subarray(8, 16), ep))).toBe(hash);
    }
  });

  it('reproduces every NAT-D hash of the manifest over its stated address, and finds it in the capture', () => {
    expect(manifest.nat_detection_payloads).toHaveLength(8);
    for (const n of manifest.nat_detection_payloads) {
      const frames = n.capture === 'outside' ? outside : inside;
      const f = frame(frames, n.message.endsWith('request') ? 1 : 2);
      const got = natdNotifies(f.payload);
      const spiI = got.header.spiI;
      expect(toHex(natdHash(spiI, spiRFromFormula(n.formula), parseEndpoint(n.hash_computed_over)))).toBe(n.hash);
      expect(n.notify === 'NAT_DETECTION_SOURCE_IP' ? got.source : got.destination).toContain(n.hash);
    }
  });

  it('matches the observed addresses where the NAT left them and mismatches where it rewrote them', () => {
    // Outside, request: the SOURCE hash names 10.77.0.2:500 but the packet comes from 198.51.100.1:29396.
    const req = frame(outside, 1);
    expect(`${req.src.port} ${req.dst.port}`).toBe('29396 500');
    const r = natdNotifies(req.payload);
    const zero = new Uint8Array(8);
    expect(r.source).not.toContain(toHex(natdHash(r.header.spiI, zero, req.src)));
    expect(r.destination).toContain(toHex(natdHash(r.header.spiI, zero, req.dst)));
    // The hash charon's responder precalculated for the observed source (log: "precalculated src_hash 5eeb...").
    expect(toHex(natdHash(r.header.spiI, zero, req.src))).toBe('5eebcc84c45460f8ef8f861a941427d81c2958a9');
    // Response: as the initiator sees it (inside), its DESTINATION hash names the NAT's public endpoint.
    const resIn = frame(inside, 2);
    const s = natdNotifies(resIn.payload);
    expect(s.destination).not.toContain(toHex(natdHash(s.header.spiI, s.header.spiR, resIn.dst)));
    expect(s.source).toContain(toHex(natdHash(s.header.spiI, s.header.spiR, resIn.src)));
    // Outside, the same DESTINATION hash matches the packet's destination.
    const resOut = frame(outside, 2);
    expect(natdNotifies(resOut.payload).destination).toContain(toHex(natdHash(s.header.spiI, s.header.spiR, resOut.dst)));
  });
});

describe('our responder answering strongSwan 6.0.6 (outside.pcap frame 1)', () => {
  const rsp = new IkeEndpoint({
    rng: new SeededRng(7),
    config: {
      peers: [
        {
          name: 'lab',
          localAddrs: ['198.51.100.2'],
          psk: manifest.ground_truth.psk,
          localId: manifest.ground_truth.ids.responder,
          remoteId: manifest.ground_truth.ids.initiator,
          localTs: ['10.77.20.0/24'],
          remoteTs: ['10.77.10.0/24'],
        },
      ],
    },
  });
  const req = frame(outside, 1);
  rsp.handleDatagram({ src: req.src, dst: req.dst, payload: req.payload }, 1_000);
  const t = rsp.pollTransmit();
  const events = [...(function* () {
    for (let e = rsp.pollEvent(); e; e = rsp.pollEvent()) yield e;
  })()];

  it('answers to the observed source, from port 500, without marker', () => {
    expect(t).toBeDefined();
    expect(t!.kind).toBe('ike');
    expect(`${t!.src.port} -> ${t!.dst.port}`).toBe('500 -> 29396');
    expect(t!.dst).toEqual(endpoint('198.51.100.1', 29396));
    expect(rsp.pollTransmit()).toBeUndefined();
  });

  it('sends a well-formed IKE_SA_INIT response choosing AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519', () => {
    const m = decodeMessage(t!.payload);
    const reqM = decodeMessage(req.payload);
    expect(m.header.exchangeType).toBe(34);
    expect(m.header.flags).toBe(0x20);
    expect(m.header.messageId).toBe(0);
    expect(m.header.length).toBe(t!.payload.length);
    expect(toHex(m.header.spiI)).toBe(toHex(reqM.header.spiI));
    expect(toHex(m.header.spiR)).not.toBe('0000000000000000');
    const [sa] = payloadsOfType(m.payloads, PayloadType.SA);
    expect(sa!.proposals).toHaveLength(1);
    const tr = sa!.proposals[0]!.transforms;
    expect(tr.map((x) => [x.transformType, x.transformId, keyLength(x)])).toEqual([
      [TransformType.ENCR, EncrId.AES_GCM_16, 128],
      [TransformType.PRF, PrfId.HMAC_SHA2_256, undefined],
      [TransformType.KE, DhGroup.CURVE25519, undefined],
    ]);
    const [ke] = payloadsOfType(m.payloads, PayloadType.KE);
    expect(ke!.dhGroup).toBe(31);
    expect(ke!.data.length).toBe(32);
    expect(payloadsOfType(m.payloads, PayloadType.NONCE)[0]!.data.length).toBe(32);
    expect(notifiesOfType(m.payloads, NotifyType.NAT_DETECTION_SOURCE_IP)).toHaveLength(1);
    expect(notifiesOfType(m.payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)).toHaveLength(1);
    const est = events.find((e) => e.type === 'message-sent');
    expect(est && est.type === 'message-sent' && est.payloads).toEqual([
      'SA',
      'KE',
      'No',
      'N(NAT_DETECTION_SOURCE_IP)',
      'N(NAT_DETECTION_DESTINATION_IP)',
    ]);
  });

  it('concludes, as charon did, that the initiator is behind NAT', () => {
    const n = events.find((e) => e.type === 'nat-detected');
    expect(n?.type).toBe('nat-detected');
    if (n?.type !== 'nat-detected') return;
    expect([n.natHere, n.natThere, n.natFake]).toEqual([false, true, false]);
    expect(n.source.received.map(toHex)).toEqual(['95c3541c150ee9de466e89125e3493cf13429eb0']);
    expect(toHex(n.source.expected)).toBe('5eebcc84c45460f8ef8f861a941427d81c2958a9');
    expect(toHex(n.destination.expected)).toBe('24291d0d5f31435320163b23cdd24ba8296c1e47');
    // Our DESTINATION hash for the initiator is the one charon's responder sent (same SPIs aside from SPIr).
    const m = decodeMessage(t!.payload);
    const ourDst = notifiesOfType(m.payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)[0]!.data;
    expect(toHex(ourDst)).toBe(toHex(natdHash(m.header.spiI, m.header.spiR, endpoint('198.51.100.1', 29396))));
  });

  it('ignores the non-critical status notifies strongSwan adds and keeps one half-open SA', () => {
    expect(events.filter((e) => e.type === 'datagram-dropped' || e.type === 'init-rejected')).toEqual([]);
    expect(rsp.saIds()).toHaveLength(1);
    expect(rsp.getSa(rsp.saIds()[0]!)).toMatchObject({ state: 'half-open', natThere: true, suite: 'IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519' });
  });

  it('answers a retransmission of frame 1 with the same bytes', () => {
    rsp.handleDatagram({ src: req.src, dst: req.dst, payload: req.payload }, 2_000);
    const again = rsp.pollTransmit();
    expect(again && toHex(again.payload)).toBe(toHex(t!.payload));
  });

  it("drops strongSwan's IKE_AUTH (frame 3, keys of another exchange) with an integrity event; the SA survives", () => {
    const auth = frame(outside, 3);
    expect(auth.dst.port).toBe(4500);
    // Same SPIi but a different SPIr than ours: it is for the real responder, so no SA matches.
    rsp.handleDatagram({ src: auth.src, dst: auth.dst, payload: auth.payload }, 3_000);
    const drops: string[] = [];
    for (let e = rsp.pollEvent(); e; e = rsp.pollEvent()) if (e.type === 'datagram-dropped') drops.push(e.reason);
    expect(drops).toEqual(['unknown-sa']);
    expect(rsp.saIds()).toHaveLength(1);
  });
});

describe('strongSwan 5.9.8 (debian-5.9.8-nat): the forced-encapsulation fake', () => {
  const DIR598 = 'strongswan-lab/debian-5.9.8-nat';
  const m598 = JSON.parse(readFileSync(`/work/shared/captures/${DIR598}/manifest.json`, 'utf8')) as typeof manifest;
  const frames598 = udpFrames(`${DIR598}/outside.pcap`);

  it('is SHA1 over a random address and port 0, which natd.ts reproduces (as encap force sends it)', () => {
    const fakes = m598.nat_detection_payloads.filter((n) => n.hash_computed_over.startsWith('FAKE'));
    expect(fakes.length).toBe(4);
    for (const n of fakes) {
      const [, addr, port] = /FAKE: ([0-9.]+):(\d+)/.exec(n.hash_computed_over)!;
      expect(port).toBe('0');
      const f = frame(frames598, n.message.endsWith('request') ? 1 : 2);
      const spiI = decodeMessage(f.payload).header.spiI;
      expect(toHex(natdHash(spiI, spiRFromFormula(n.formula), endpoint(addr!, 0)))).toBe(n.hash);
    }
  });

  it('makes our responder see a NATed peer (natThere) while its own side is clean (natHere false)', () => {
    const rsp = new IkeEndpoint({
      rng: new SeededRng(9),
      config: { peers: [{ localAddrs: ['198.51.100.2'], psk: 'x', localId: 'rsp.lab', localTs: ['10.77.20.0/24'], remoteTs: ['10.77.10.0/24'] }] },
    });
    const req = frame(frames598, 1);
    rsp.handleDatagram({ src: req.src, dst: req.dst, payload: req.payload }, 0);
    let nat;
    for (let e = rsp.pollEvent(); e; e = rsp.pollEvent()) if (e.type === 'nat-detected') nat = e;
    expect(nat && [nat.natHere, nat.natThere, nat.natFake]).toEqual([false, true, false]);
    expect(rsp.pollTransmit()?.dst).toEqual(req.src);
  });
});
