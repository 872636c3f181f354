import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../../src/core/bytes.ts';
import { AssertionError, DecodeError } from '../../../src/core/errors.ts';
import { ExchangeType, IsakmpFlag, PayloadType } from '../../../src/wire/ikev1/constants.ts';
import { IsakmpHeaderCodec } from '../../../src/wire/ikev1/header.ts';
import {
  decodeIsakmpLenient,
  decodePayloadChain,
  IsakmpMessageCodec,
  payloadChainLength,
  writePayloadChain,
  type IsakmpMessage,
} from '../../../src/wire/ikev1/message.ts';
import { natTraversalVendorId } from '../../../src/wire/ikev1/payloads/vendor-id.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../helpers/roundtrip.ts';
import * as arb from './arbitraries.ts';
import { datagrams, frame, GOOD_CAPTURES, SA_SETUP } from './fixtures.ts';

describe('ISAKMP message: real captures', () => {
  it('decodes and re-encodes every message of the well-formed captures byte-exactly', () => {
    let n = 0;
    for (const cap of GOOD_CAPTURES) {
      for (const d of datagrams(cap)) {
        const m = expectReencode(IsakmpMessageCodec, d.ike);
        expect(m.header.majorVersion).toBe(1);
        n++;
      }
    }
    expect(n).toBe(9 + 6); // 9 in ISAKMP_sa_setup, 6 in the pluto inputs
  });

  it('matches tcpdump -v (isakmp5-v.out) for ISAKMP_sa_setup.pcap', () => {
    const kinds = datagrams(SA_SETUP).map((d) => {
      const m = IsakmpMessageCodec.decode(d.ike, d.ikeOffset);
      return m.encrypted ? `[E next=${m.encrypted.nextPayload}]` : m.payloads.map((p) => p.kind).join(' ');
    });
    expect(kinds).toEqual([
      'sa vid vid vid', //                                         1: phase 1 I ident
      'sa vid', //                                                 2: phase 1 R ident
      'ke nonce vid vid vid vid nat-d nat-d', //                   3: "(ke)(nonce)(vid)x4(pay15)(pay15)"
      'ke nonce vid vid vid vid nat-d nat-d', //                   4
      `[E next=${PayloadType.ID}]`, //                             5: "ident[E]: [encrypted id]"
      `[E next=${PayloadType.ID}]`, //                             6
      `[E next=${PayloadType.HASH}]`, //                           7: "oakley-quick[E]: [encrypted hash]"
      `[E next=${PayloadType.HASH}]`, //                           8
      `[E next=${PayloadType.HASH}]`, //                           9
    ]);
    const m2 = IsakmpMessageCodec.decode(frame(SA_SETUP, 2));
    expect(m2.header.exchangeType).toBe(ExchangeType.IDENTITY_PROTECTION);
    const vid = m2.payloads[1]!;
    expect(vid.kind === 'vid' && natTraversalVendorId(vid.data)).toBe('draft-ietf-ipsec-nat-t-ike-07');
    const m7 = IsakmpMessageCodec.decode(frame(SA_SETUP, 7));
    expect(m7.header.messageId).toBe(0x0f2b7862);
    expect(m7.encrypted!.data.length).toBe(220 - 28);
  });

  it('throws DecodeError for every truncation of real messages', () => {
    for (const n of [1, 3, 7]) expectTruncationErrors(IsakmpMessageCodec, frame(SA_SETUP, n), { layer: 'ikev1', base: 42 });
  });

  it('reports a payload length below 4 with the field and its absolute frame offset', () => {
    const d = datagrams(SA_SETUP)[0]!;
    const bad = d.ike.slice();
    bad[88 + 3] = 2; // second payload (first VID) at ISAKMP offset 88: length 2
    const e = thrownBy(() => IsakmpMessageCodec.decode(bad, d.ikeOffset)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.layer).toBe('ikev1');
    expect(e.field).toBe('payload[1].length');
    expect(e.offset).toBe(42 + 90);
    expectErrorOffsetShift(IsakmpMessageCodec, bad, 42);
  });

  it('reports a payload running past header.length even when the buffer is longer', () => {
    const bad = concatBytes(frame(SA_SETUP, 2), new Uint8Array(16));
    bad[88 + 3] = 0x24; // last VID claims 36 bytes, 16 beyond header.length (still inside the buffer)
    const e = thrownBy(() => IsakmpMessageCodec.decode(bad)) as DecodeError;
    expect(e.field).toBe('payload[1].length');
    expect(e.offset).toBe(90);
  });

  it('rejects a header length beyond the buffer or below 28, and a major version other than 1', () => {
    const m = frame(SA_SETUP, 2);
    const long = m.slice();
    long[27] = 109;
    expect((thrownBy(() => IsakmpMessageCodec.decode(long)) as DecodeError).field).toBe('length');
    const short = m.slice();
    short[27] = 27;
    expect((thrownBy(() => IsakmpMessageCodec.decode(short, 8)) as DecodeError).offset).toBe(8 + 24);
    const v2 = m.slice();
    v2[17] = 0x20;
    const e = thrownBy(() => IsakmpMessageCodec.decode(v2)) as DecodeError;
    expect([e.field, e.offset]).toEqual(['version', 17]);
  });

  it('ignores bytes after header.length and keeps bytes between the chain and header.length', () => {
    const m = frame(SA_SETUP, 2);
    expect(IsakmpMessageCodec.decode(concatBytes(m, fromHex('00000000')))).toEqual(IsakmpMessageCodec.decode(m));
    const padded = concatBytes(m, fromHex('01020304'));
    padded[27] = m.length + 4;
    const v = expectReencode(IsakmpMessageCodec, padded);
    expect(hex(v.trailer!)).toBe('01020304');
  });

  it('reads a chain out of a (decrypted) body with padding as trailer', () => {
    const m3 = frame(SA_SETUP, 3);
    const body = concatBytes(m3.subarray(28), fromHex('00 00 00 07'));
    const chain = decodePayloadChain(body, PayloadType.KE, 28);
    expect(chain.payloads.map((p) => p.kind)).toEqual(['ke', 'nonce', 'vid', 'vid', 'vid', 'vid', 'nat-d', 'nat-d']);
    expect(hex(chain.trailer!)).toBe('00000007');
    const out = new Uint8Array(payloadChainLength(chain.payloads));
    expect(writePayloadChain(chain.payloads, out, 0)).toBe(out.length);
    expect(hex(out)).toBe(hex(m3.subarray(28)));
  });

  it('gives the same message from the lenient decoder when nothing is wrong', () => {
    for (const d of datagrams(SA_SETUP)) {
      const r = decodeIsakmpLenient(d.ike);
      expect(r.errors).toEqual([]);
      expect(r.message).toEqual(IsakmpMessageCodec.decode(d.ike));
    }
  });

  it('builds a message from values: next payload and length follow from the contents', () => {
    const m: IsakmpMessage = {
      header: {
        initiatorCookie: fromHex('0102030405060708'),
        responderCookie: new Uint8Array(8),
        majorVersion: 1,
        minorVersion: 0,
        exchangeType: ExchangeType.INFORMATIONAL,
        flags: 0,
        messageId: 0x01020304,
      },
      payloads: [{ kind: 'notification', doi: 1, protocolId: 1, notifyType: 24578, spi: new Uint8Array(16), data: new Uint8Array(0) }],
    };
    const bytes = IsakmpMessageCodec.encode(m);
    const h = IsakmpHeaderCodec.decode(bytes);
    expect([h.nextPayload, h.length]).toEqual([PayloadType.N, 28 + 28]);
    expect(IsakmpMessageCodec.decode(bytes)).toEqual(m);
    expect(() => IsakmpMessageCodec.encode({ ...m, header: { ...m.header, flags: IsakmpFlag.ENCRYPTION } })).toThrow(AssertionError);
  });

  it('round-trips any message (fast-check)', () => {
    fc.assert(
      fc.property(arb.message, (m) => {
        const bytes = IsakmpMessageCodec.encode(m);
        expect(bytes.length).toBe(IsakmpMessageCodec.encodedLength(m));
        expect(IsakmpMessageCodec.decode(bytes)).toEqual(m);
        const pad = new Uint8Array(bytes.length + 10).fill(0xa5);
        IsakmpMessageCodec.encode(m, pad, 5);
        expect(hex(pad.subarray(5, 5 + bytes.length))).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });
});
