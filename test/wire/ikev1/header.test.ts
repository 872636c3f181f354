import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../../src/core/errors.ts';
import { fromHex } from '../../../src/core/bytes.ts';
import { ExchangeType, exchangeTypeName, flagsText, IsakmpFlag } from '../../../src/wire/ikev1/constants.ts';
import { IsakmpHeaderCodec, isZeroCookie } from '../../../src/wire/ikev1/header.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex } from '../../helpers/roundtrip.ts';
import * as arb from './arbitraries.ts';
import { frame, SA_SETUP } from './fixtures.ts';

// ISAKMP_sa_setup.pcap frame 7, bytes 0..27 of the ISAKMP message. tcpdump -v (isakmp5-v.out, packet 7):
// "isakmp 1.0 msgid 0f2b7862: phase 2/others I oakley-quick[E]", cookies cf02326f14a95b93->18a109f89219e8df.
const QUICK_MODE_HEADER = fromHex(`
  cf 02 32 6f 14 a9 5b 93   # initiator cookie
  18 a1 09 f8 92 19 e8 df   # responder cookie
  08                        # next payload: HASH
  10                        # version 1.0
  20                        # exchange type 32: Quick Mode
  01                        # flags: Encryption
  0f 2b 78 62               # message ID
  00 00 00 dc               # length 220
`);

describe('ISAKMP header (RFC 2408 §3.1)', () => {
  it('decodes the quick mode header of ISAKMP_sa_setup.pcap frame 7 byte-exactly', () => {
    expect(hex(frame(SA_SETUP, 7).subarray(0, 28))).toBe(hex(QUICK_MODE_HEADER));
    const h = expectReencode(IsakmpHeaderCodec, QUICK_MODE_HEADER);
    expect(hex(h.initiatorCookie)).toBe('cf02326f14a95b93');
    expect(hex(h.responderCookie)).toBe('18a109f89219e8df');
    expect(h.nextPayload).toBe(8);
    expect([h.majorVersion, h.minorVersion]).toEqual([1, 0]);
    expect(h.exchangeType).toBe(ExchangeType.QUICK_MODE);
    expect(h.flags).toBe(IsakmpFlag.ENCRYPTION);
    expect(flagsText(h.flags)).toBe('E');
    expect(h.messageId).toBe(0x0f2b7862);
    expect(h.length).toBe(220);
    expect(exchangeTypeName(h.exchangeType)).toBe('Quick Mode');
  });

  it('keeps the zero responder cookie of a first message', () => {
    const h = IsakmpHeaderCodec.decode(frame(SA_SETUP, 1));
    expect(isZeroCookie(h.responderCookie)).toBe(true);
    expect(h.exchangeType).toBe(ExchangeType.IDENTITY_PROTECTION);
    expect(h.length).toBe(148);
  });

  it('returns cookies as copies, not views into the packet', () => {
    const buf = QUICK_MODE_HEADER.slice();
    const h = IsakmpHeaderCodec.decode(buf);
    buf.fill(0);
    expect(hex(h.initiatorCookie)).toBe('cf02326f14a95b93');
  });

  it('throws DecodeError for every truncation, at absolute offsets', () => {
    expectTruncationErrors(IsakmpHeaderCodec, QUICK_MODE_HEADER, { layer: 'ikev1' });
    expectTruncationErrors(IsakmpHeaderCodec, QUICK_MODE_HEADER, { base: 42 });
    expectErrorOffsetShift(IsakmpHeaderCodec, QUICK_MODE_HEADER.subarray(0, 20), 42);
  });

  it('round-trips any header (fast-check)', () => {
    fc.assert(
      fc.property(arb.header, (h) => {
        const bytes = IsakmpHeaderCodec.encode(h);
        expect(bytes.length).toBe(28);
        expect(IsakmpHeaderCodec.decode(bytes)).toEqual(h);
      }),
    );
  });

  it('names flags and private-use exchange types', () => {
    expect(flagsText(IsakmpFlag.ENCRYPTION | IsakmpFlag.COMMIT | IsakmpFlag.AUTHENTICATION_ONLY | 0x80)).toBe('ECA+0x80');
    expect(exchangeTypeName(250)).toBe('private use (250)');
    expect(exchangeTypeName(7)).toBe('unknown (7)');
  });

  it('is a DecodeError, not a RangeError, on an empty buffer', () => {
    expect(() => IsakmpHeaderCodec.decode(new Uint8Array(0))).toThrow(DecodeError);
  });
});
