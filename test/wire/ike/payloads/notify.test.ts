import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { NotifyType, PayloadType, ProtocolId, notifyTypeName } from '../../../../src/wire/ike/constants.ts';
import { decodeMessage } from '../../../../src/wire/ike/message.ts';
import { notifiesOfType } from '../../../../src/wire/ike/payload.ts';
import {
  makeNatDetectionNotify,
  makeNotify,
  notifyPayloadCodec,
  readNatDetection,
  type NotifyPayload,
} from '../../../../src/wire/ike/payloads/notify.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../../helpers/roundtrip.ts';
import { capture, ikeFrame } from '../../../helpers/capture-udp.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips } from '../support.ts';
import {
  IKEV2FOUR,
  NOTIFY_COOKIE,
  NOTIFY_NATD_SOURCE,
  NOTIFY_NO_PROPOSAL,
  NOTIFY_REDIRECT,
  NOTIFY_REKEY_SA_ESP,
  NOTIFY_SIGNATURE_HASH,
  OUTSIDE,
  REDIRECT,
} from '../vectors.ts';

const decode = (b: Uint8Array) => notifyPayloadCodec.decode(b);

describe('Notify payload', () => {
  it('decodes N(NAT_DETECTION_SOURCE_IP) and its 20-byte hash (outside.pcap frame 1, offset 144)', () => {
    expectFromCapture(NOTIFY_NATD_SOURCE, OUTSIDE, 1, 144);
    const { nextPayload, payload } = decode(NOTIFY_NATD_SOURCE);
    expect(nextPayload).toBe(PayloadType.N);
    expect(payload).toMatchObject({ type: PayloadType.N, critical: false, protocolId: 0, notifyType: NotifyType.NAT_DETECTION_SOURCE_IP });
    expect(payload.spi.length).toBe(0);
    const natd = readNatDetection(payload);
    expect(natd?.kind).toBe('source');
    // manifest.json nat_detection_payloads[4]: hash over 10.77.0.2:500 (the private address, before the NAT)
    expect(hex(natd!.hash)).toBe('95c3541c150ee9de466e89125e3493cf13429eb0');
  });

  it('decodes N(SIGNATURE_HASH_ALGORITHMS) data (outside.pcap frame 1, offset 208)', () => {
    expectFromCapture(NOTIFY_SIGNATURE_HASH, OUTSIDE, 1, 208);
    const { payload } = decode(NOTIFY_SIGNATURE_HASH);
    expect(notifyTypeName(payload.notifyType)).toBe('SIGNATURE_HASH_ALGORITHMS');
    expect(hex(payload.data)).toBe('0002000300040005');
    expect(readNatDetection(payload)).toBeUndefined();
  });

  it('decodes the COOKIE tcpdump prints for ikev2four.pcap frame 2', () => {
    expectFromCapture(NOTIFY_COOKIE, IKEV2FOUR, 2, 28);
    const { nextPayload, payload } = decode(NOTIFY_COOKIE);
    expect(nextPayload).toBe(PayloadType.NONE);
    // ikev2four.out: "(n: prot_id=#0 type=16390(cookie) data=(00000001c2221e50c16e123f2b0c71aefcf0cb3b798782c6))"
    expect(payload.protocolId).toBe(0);
    expect(payload.notifyType).toBe(NotifyType.COOKIE);
    expect(hex(payload.data)).toBe('00000001c2221e50c16e123f2b0c71aefcf0cb3b798782c6');
  });

  it('decodes REDIRECT and NO_PROPOSAL_CHOSEN from Scapy ikev2_notify_redirect.pcap frames 2 and 4', () => {
    expectFromCapture(NOTIFY_REDIRECT, REDIRECT, 2, 28);
    const redirect = decode(NOTIFY_REDIRECT).payload;
    expect(redirect.protocolId).toBe(ProtocolId.IKE);
    expect(redirect.notifyType).toBe(NotifyType.REDIRECT);
    // RFC 5685 §8: GW Identity Type 3 (FQDN), length, identity, then the echoed Ni
    expect(redirect.data[0]).toBe(3);
    expect(Buffer.from(redirect.data.subarray(2, 2 + redirect.data[1]!)).toString()).toBe('moneybin.duckburg.disney.com');
    expect(redirect.data.length - 2 - redirect.data[1]!).toBe(40);

    expectFromCapture(NOTIFY_NO_PROPOSAL, REDIRECT, 4, 28);
    const npc = decode(NOTIFY_NO_PROPOSAL).payload;
    expect(npc).toMatchObject({ protocolId: ProtocolId.IKE, notifyType: NotifyType.NO_PROPOSAL_CHOSEN });
    expect(npc.data.length).toBe(0);
  });

  it('decodes a notify with an ESP SPI (REKEY_SA, built from RFC 7296 §3.10)', () => {
    const { nextPayload, payload } = decode(NOTIFY_REKEY_SA_ESP);
    expect(nextPayload).toBe(PayloadType.SA);
    expect(payload.protocolId).toBe(ProtocolId.ESP);
    expect(hex(payload.spi)).toBe('d80bade7');
    expect(payload.notifyType).toBe(NotifyType.REKEY_SA);
    expect(payload.data.length).toBe(0);
  });

  it.each([
    ['NAT-D source', NOTIFY_NATD_SOURCE],
    ['signature hash', NOTIFY_SIGNATURE_HASH],
    ['cookie', NOTIFY_COOKIE],
    ['redirect', NOTIFY_REDIRECT],
    ['no proposal chosen', NOTIFY_NO_PROPOSAL],
    ['rekey SA with SPI', NOTIFY_REKEY_SA_ESP],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(notifyPayloadCodec, vec);
    expectTruncationErrors(notifyPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('rejects an SPI size larger than the payload', () => {
    const bad = fromHex('00 00 0008 03 04 4009');
    expect(() => notifyPayloadCodec.decode(bad, 40)).toThrow(/spi at byte 48/);
  });

  it('NAT-D hashes in outside.pcap are SHA-1(SPIi | SPIr | IP | port) of the addresses manifest.json names', () => {
    const manifest = JSON.parse(readFileSync(capture('strongswan-lab/a-nat-keepalive/manifest.json'), 'utf8')) as {
      nat_detection_payloads: { capture: string; message: string; notify: string; hash: string; hash_computed_over: string }[];
    };
    const frames = { 'IKE_SA_INIT request': 1, 'IKE_SA_INIT response': 2 } as const;
    const rows = manifest.nat_detection_payloads.filter((r) => r.capture === 'outside');
    expect(rows).toHaveLength(4);
    for (const row of rows) {
      const msg = decodeMessage(ikeFrame(capture(OUTSIDE), frames[row.message as keyof typeof frames]));
      const [n] = notifiesOfType(msg.payloads, NotifyType[row.notify as 'NAT_DETECTION_SOURCE_IP']);
      const natd = readNatDetection(n!);
      expect(hex(natd!.hash)).toBe(row.hash);
      const [ip, port] = row.hash_computed_over.split(':') as [string, string];
      const chunk = Buffer.concat([
        msg.header.spiI,
        msg.header.spiR,
        Buffer.from(ip.split('.').map(Number)),
        Buffer.from([Number(port) >> 8, Number(port) & 0xff]),
      ]);
      expect(createHash('sha1').update(chunk).digest('hex')).toBe(row.hash);
    }
  });

  it('builds notifies', () => {
    const hash = fromHex('95c3541c150ee9de466e89125e3493cf13429eb0');
    const built = makeNatDetectionNotify('source', hash);
    expect(hex(notifyPayloadCodec.encode({ nextPayload: PayloadType.N, payload: built }))).toBe(hex(NOTIFY_NATD_SOURCE));
    expect(() => makeNatDetectionNotify('destination', hash.subarray(1))).toThrow(RangeError);
    const rekey: NotifyPayload = makeNotify(NotifyType.REKEY_SA, undefined, { protocolId: ProtocolId.ESP, spi: fromHex('d80bade7') });
    expect(hex(notifyPayloadCodec.encode({ nextPayload: PayloadType.SA, payload: rekey }))).toBe(hex(NOTIFY_REKEY_SA_ESP));
  });

  it('round-trips arbitrary notifies', () => {
    expectPayloadRoundTrips(
      notifyPayloadCodec,
      fc
        .tuple(headerFields, fc.integer({ min: 0, max: 255 }), bytes(16), fc.integer({ min: 0, max: 0xffff }), bytes(64))
        .map(([h, protocolId, spi, notifyType, data]) => ({ type: PayloadType.N, ...h, protocolId, spi, notifyType, data })),
    );
  });
});
