import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concatBytes, fromHex } from '../../../src/core/bytes.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType, notifyTypeName } from '../../../src/wire/ike/constants.ts';
import {
  decodeMessage,
  decodePayloadChain,
  encodeMessage,
  encodePayloadChain,
  firstPayloadType,
  ikeMessageCodec,
  type IkeMessage,
} from '../../../src/wire/ike/message.ts';
import { encodedPayloadLength, firstUnsupportedCritical, payloadWireType, payloadsOfType, type Payload } from '../../../src/wire/ike/payload.ts';
import type { SaPayload } from '../../../src/wire/ike/payloads/sa.ts';
import { capture, ikeDatagrams, ikeFrame } from '../../helpers/capture-udp.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../helpers/roundtrip.ts';
import { headerFieldsArb, payloadChain } from './arbitraries.ts';
import { DECRYPTED, IKEV2FOUR, OUTSIDE, REDIRECT, UNKNOWN_CRITICAL } from './vectors.ts';

const kinds = (ps: readonly Payload[]): string[] =>
  ps.map((p) => (p.type === PayloadType.N ? `N(${notifyTypeName(p.notifyType)})` : p.type === 'unknown' ? `?${p.payloadType}` : String(payloadWireType(p))));

const decodeErr = (f: () => unknown): DecodeError => {
  const e = thrownBy(f);
  expect(e).toBeInstanceOf(DecodeError);
  return e as DecodeError;
};

const SPI_I = '8391f754f1670e3d';
const SPI_R = '5bc1c325f6ce53e8';

describe('IKEv2 messages from strongSwan (a-nat-keepalive/outside.pcap)', () => {
  const frames = new Map(ikeDatagrams(capture(OUTSIDE)).map((d) => [d.frame, d]));

  it('has the six IKE messages the README and manifest list, with their SPIs, exchanges, flags and IDs', () => {
    // outside-decrypted.txt: 1 IKE_SA_INIT MID=00 Initiator Request ... 35 INFORMATIONAL MID=02 Responder Response
    const expected: [number, number, number, number, string][] = [
      [1, ExchangeType.IKE_SA_INIT, HeaderFlag.I, 0, '0000000000000000'],
      [2, ExchangeType.IKE_SA_INIT, HeaderFlag.R, 0, SPI_R],
      [3, ExchangeType.IKE_AUTH, HeaderFlag.I, 1, SPI_R],
      [4, ExchangeType.IKE_AUTH, HeaderFlag.R, 1, SPI_R],
      [34, ExchangeType.INFORMATIONAL, HeaderFlag.I, 2, SPI_R],
      [35, ExchangeType.INFORMATIONAL, HeaderFlag.R, 2, SPI_R],
    ];
    expect([...frames.keys()]).toEqual(expected.map((e) => e[0]));
    for (const [frame, exchangeType, flags, messageId, spiR] of expected) {
      const m = decodeMessage(frames.get(frame)!.ike);
      expect(m.header).toMatchObject({ exchangeType, flags, messageId, majorVersion: 2, minorVersion: 0 });
      expect(hex(m.header.spiI)).toBe(SPI_I);
      expect(hex(m.header.spiR)).toBe(spiR);
      expect(m.header.length).toBe(frames.get(frame)!.ike.length);
    }
    // the float: IKE_AUTH onwards goes to 4500 (behind the non-ESP marker)
    expect(frames.get(3)!.dstPort).toBe(4500);
    expect(frames.get(1)!.dstPort).toBe(500);
  });

  it('walks the IKE_SA_INIT chains in wire order', () => {
    expect(kinds(decodeMessage(frames.get(1)!.ike).payloads)).toEqual([
      '33', '34', '40',
      'N(NAT_DETECTION_SOURCE_IP)', 'N(NAT_DETECTION_DESTINATION_IP)', 'N(IKEV2_FRAGMENTATION_SUPPORTED)', 'N(SIGNATURE_HASH_ALGORITHMS)', 'N(REDIRECT_SUPPORTED)',
    ]);
    expect(kinds(decodeMessage(frames.get(2)!.ike).payloads)).toEqual([
      '33', '34', '40',
      'N(NAT_DETECTION_SOURCE_IP)', 'N(NAT_DETECTION_DESTINATION_IP)', 'N(IKEV2_FRAGMENTATION_SUPPORTED)', 'N(SIGNATURE_HASH_ALGORITHMS)',
      'N(CHILDLESS_IKEV2_SUPPORTED)', 'N(MULTIPLE_AUTH_SUPPORTED)',
    ]);
    for (const f of [3, 4, 34, 35]) expect(kinds(decodeMessage(frames.get(f)!.ike).payloads)).toEqual(['46']);
  });

  it('re-encodes every message byte-exact; truncations of frame 1 and 3 all fail with DecodeError', () => {
    for (const d of frames.values()) expectReencode(ikeMessageCodec, d.ike);
    expectTruncationErrors(ikeMessageCodec, frames.get(1)!.ike, { layer: 'ikev2' });
    expectTruncationErrors(ikeMessageCodec, frames.get(3)!.ike, { layer: 'ikev2', base: 46 });
  });

  it('builds frame 1 again from header fields and payloads (next payloads and lengths computed)', () => {
    const m = decodeMessage(frames.get(1)!.ike);
    const { nextPayload: _n, length: _l, ...fields } = m.header;
    const rebuilt = encodeMessage({ header: fields, payloads: m.payloads });
    expect(hex(rebuilt)).toBe(hex(frames.get(1)!.ike));
  });

  it('parses decrypted SK contents as payload chains (tshark-decrypted frames 3, 4, 34)', () => {
    const req = decodeMessage(frames.get(3)!.ike);
    const sk = req.payloads[0]!;
    expect(sk.type).toBe(PayloadType.SK);
    const inner = decodePayloadChain(sk.type === PayloadType.SK ? sk.firstInnerPayload : -1, DECRYPTED.ikeAuthRequest);
    expect(kinds(inner)).toEqual([
      '35', 'N(INITIAL_CONTACT)', '36', '39', '33', '44', '45',
      'N(MULTIPLE_AUTH_SUPPORTED)', 'N(EAP_ONLY_AUTHENTICATION)', 'N(IKEV2_MESSAGE_ID_SYNC_SUPPORTED)',
    ]);
    // manifest esp_spis: d80bade7 carries rsp->ini traffic, so it is the initiator's inbound SPI, proposed in its SA
    expect(hex((inner[4] as SaPayload).proposals[0]!.spi)).toBe('d80bade7');
    expect(hex(encodePayloadChain(inner))).toBe(hex(DECRYPTED.ikeAuthRequest));
    expect(firstPayloadType(inner)).toBe(PayloadType.IDi);

    const resp = decodePayloadChain(PayloadType.IDr, DECRYPTED.ikeAuthResponse);
    expect(kinds(resp)).toEqual(['36', '39', '33', '44', '45']);
    expect(hex((resp[2] as SaPayload).proposals[0]!.spi)).toBe('33edbb96');
    expect(hex(encodePayloadChain(resp))).toBe(hex(DECRYPTED.ikeAuthResponse));

    const del = decodePayloadChain(PayloadType.D, DECRYPTED.deleteRequest);
    expect(del).toEqual([{ type: PayloadType.D, critical: false, protocolId: 1, spiSize: 0, spis: [] }]);
    expect(decodePayloadChain(PayloadType.NONE, new Uint8Array(0))).toEqual([]);
  });

  it('reports absolute offsets inside decrypted contents', () => {
    const bad = new Uint8Array(DECRYPTED.ikeAuthRequest);
    bad[17] = 0x03; // N(INITIAL_CONTACT) at 15: payload length 3
    const e = decodeErr(() => decodePayloadChain(PayloadType.IDi, bad, 1000));
    expect(e).toMatchObject({ layer: 'ikev2', field: 'payload_length', offset: 1017 });
  });
});

describe('IKEv2 messages against tcpdump\'s expected output (ikev2four.pcap, ikev2four.out)', () => {
  const out = readFileSync(capture('tcpdump/ikev2four.out'), 'utf8');
  const lines = out.split('\n').filter((l) => l.includes('isakmp 2.0'));
  const exchanges: Record<string, number> = { ikev2_init: 34, ikev2_auth: 35, child_sa: 36, inf2: 37 };

  it('matches message IDs, exchanges, I/R flags and top-level payload kinds and lengths for all 21 frames', () => {
    const datagrams = ikeDatagrams(capture(IKEV2FOUR));
    expect(datagrams).toHaveLength(21);
    expect(lines).toHaveLength(21);
    const blocks = out.split(/\n(?=\s+\d+\s+2007-)/);
    datagrams.forEach((d, i) => {
      const m = decodeMessage(d.ike);
      const [, msgid, exch, role] = /msgid (\w+): \S+\s+(\S+)\[(\w)\]/.exec(lines[i]!)!;
      expect(m.header.messageId).toBe(parseInt(msgid!, 16));
      expect(m.header.exchangeType).toBe(exchanges[exch!]);
      expect(m.header.flags).toBe(role === 'I' ? HeaderFlag.I : HeaderFlag.R);
      // top-level payloads as tcpdump prints them: "(sa: len=116", "(v2ke: len=128", "(n: ...", "(v2e: len=204"
      const printed = [...blocks[i]!.matchAll(/^ {4}\((\w+):(?: len=(\d+))?/gm)].map((x) => [x[1], x[2] === undefined ? undefined : Number(x[2])]);
      const names: Record<number, string> = { 33: 'sa', 34: 'v2ke', 40: 'nonce', 41: 'n', 46: 'v2e' };
      expect(m.payloads.map((p) => names[payloadWireType(p)])).toEqual(printed.map((x) => x[0]));
      // tcpdump's len= is the SA body length, the KE / nonce data length, and the SK body length
      const lens = m.payloads.map((p) =>
        p.type === PayloadType.SA ? encodedPayloadLength(p) - 4 : p.type === PayloadType.KE || p.type === PayloadType.NONCE ? p.data.length : p.type === PayloadType.SK ? p.body.length : undefined,
      );
      expect(lens).toEqual(printed.map((x) => x[1]));
      expectReencode(ikeMessageCodec, d.ike);
    });
  });

  it('frames 2 and 3: the COOKIE is sent back first in the retried request', () => {
    const cookie = decodeMessage(ikeFrame(capture(IKEV2FOUR), 2));
    const retry = decodeMessage(ikeFrame(capture(IKEV2FOUR), 3));
    expect(kinds(cookie.payloads)).toEqual(['N(COOKIE)']);
    expect(kinds(retry.payloads)).toEqual(['N(COOKIE)', '33', '34', '40', 'N(NAT_DETECTION_SOURCE_IP)', 'N(NAT_DETECTION_DESTINATION_IP)']);
    const [a] = payloadsOfType(cookie.payloads, PayloadType.N);
    const [b] = payloadsOfType(retry.payloads, PayloadType.N);
    expect(hex(b!.data)).toBe(hex(a!.data));
    expect(hex(cookie.header.spiI)).toBe('a88875a8198992a6');
  });
});

describe('REDIRECT exchange (Scapy ikev2_notify_redirect.pcap)', () => {
  it('shows REDIRECT_SUPPORTED, REDIRECT, REDIRECTED_FROM, NO_PROPOSAL_CHOSEN in order', () => {
    const ms = ikeDatagrams(capture(REDIRECT)).map((d) => decodeMessage(d.ike));
    expect(ms.map((m) => payloadsOfType(m.payloads, PayloadType.N).map((n) => n.notifyType))).toEqual([
      [16389, 16388, 16430, NotifyType.REDIRECT_SUPPORTED, 16431],
      [NotifyType.REDIRECT],
      [16389, 16388, 16430, NotifyType.REDIRECTED_FROM, 16431],
      [NotifyType.NO_PROPOSAL_CHOSEN],
    ]);
    // REDIRECTED_FROM carries the original gateway: type 1 (IPv4), 10.5.2.52
    const from = payloadsOfType(ms[2]!.payloads, PayloadType.N).find((n) => n.notifyType === NotifyType.REDIRECTED_FROM)!;
    expect([...from.data]).toEqual([1, 4, 10, 5, 2, 52]);
  });
});

describe('framing errors', () => {
  const f1 = (): Uint8Array => new Uint8Array(ikeFrame(capture(OUTSIDE), 1));

  it('header Length above the datagram names "length" at byte 24', () => {
    const e = decodeErr(() => decodeMessage(f1().subarray(0, 200), 60));
    expect(e).toMatchObject({ field: 'length', offset: 84 });
    expect(e.reason).toMatch(/232 exceeds the 200-byte datagram/);
  });

  it('header Length below 28 is rejected', () => {
    const b = f1();
    b[27] = 20;
    expect(decodeErr(() => decodeMessage(b))).toMatchObject({ field: 'length', offset: 24 });
  });

  it('bytes after header Length are not part of the message', () => {
    const b = concatBytes(f1(), Uint8Array.of(0xde, 0xad));
    const m = decodeMessage(b);
    expect(hex(encodeMessage(m))).toBe(hex(f1()));
  });

  it('a payload length below 4 or past the end names payload_length at its absolute offset', () => {
    const b = f1();
    b[28 + 40 + 3] = 3; // KE payload (offset 68) says length 3
    expect(decodeErr(() => decodeMessage(b, 14))).toMatchObject({ field: 'payload_length', offset: 14 + 70 });
    const c = f1();
    c[226] = 0xff; // last N (offset 224) length 0xff08
    c[227] = 0x08;
    const e = decodeErr(() => decodeMessage(c, 14));
    expect(e).toMatchObject({ field: 'payload_length', offset: 14 + 226 });
    expectErrorOffsetShift(ikeMessageCodec, c, 999);
  });

  it('SK must be last, and no bytes may follow the last payload', () => {
    const msg = decodeMessage(ikeFrame(capture(OUTSIDE), 3));
    const extra = concatBytes(ikeFrame(capture(OUTSIDE), 3), fromHex('00000008 00004000'));
    new DataView(extra.buffer).setUint32(24, extra.length);
    expect(decodeErr(() => decodeMessage(extra))).toMatchObject({ field: 'payload_chain', offset: 243 });
    expect(() => encodeMessage({ header: msg.header, payloads: [...msg.payloads, ...decodePayloadChain(41, fromHex('00000008 00004000'))] })).toThrow(RangeError);
    // tcpdump ikev2-id-normal.pcap: header Length 76 but the only payload (IDi) ends at byte 37
    const stray = decodeErr(() => decodeMessage(ikeFrame(capture('tcpdump/ikev2-id-normal.pcap'), 1)));
    expect(stray).toMatchObject({ field: 'payload_chain', offset: 37 });
    expect(stray.reason).toMatch(/39 byte/);
  });

  it('the segfault capture from tcpdump\'s suite is a DecodeError (ikev2pI2-segfault.pcapng)', () => {
    const e = decodeErr(() => decodeMessage(ikeFrame(capture('tcpdump/ikev2pI2-segfault.pcapng'), 1)));
    expect(e.layer).toBe('ikev2');
  });

  it('keeps an unknown critical payload and lets the engine find it', () => {
    const f = ikeFrame(capture(IKEV2FOUR), 2); // N(COOKIE) only
    const m = decodeMessage(f);
    const withUnknown: IkeMessage = {
      header: m.header,
      payloads: [...m.payloads, ...decodePayloadChain(200, UNKNOWN_CRITICAL)],
    };
    const bytes = encodeMessage(withUnknown);
    expect(bytes[28]).toBe(200); // N's next payload now names the unknown type
    const back = decodeMessage(bytes);
    expect(firstUnsupportedCritical(back.payloads)).toMatchObject({ type: 'unknown', payloadType: 200, critical: true });
    expect(firstUnsupportedCritical(m.payloads)).toBeUndefined();
  });
});

describe('message round trip (fast-check)', () => {
  it('decode(encode(m)) = m for arbitrary headers and payload chains', () => {
    fc.assert(
      fc.property(headerFieldsArb, payloadChain, (header, payloads) => {
        const bytes = encodeMessage({ header, payloads });
        expect(bytes.length).toBe(ikeMessageCodec.encodedLength({ header: { ...header, nextPayload: 0, length: 0 }, payloads }));
        const m = decodeMessage(bytes);
        expect(m.payloads).toEqual(payloads);
        expect(m.header).toEqual({ ...header, nextPayload: firstPayloadType(payloads), length: bytes.length });
        expect(hex(encodeMessage(m))).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('chains round-trip through decodePayloadChain at any base', () => {
    fc.assert(
      fc.property(payloadChain, fc.nat(10_000), (payloads, base) => {
        const bytes = encodePayloadChain(payloads);
        expect(decodePayloadChain(firstPayloadType(payloads), bytes, base)).toEqual(payloads);
      }),
      { numRuns: 200 },
    );
  });
});
