import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ExchangeType, HeaderFlag, PayloadType } from '../../../src/wire/ike/constants.ts';
import { hasFlag, ikeHeaderCodec, ikeHeaderFields, isFromInitiator, isResponse } from '../../../src/wire/ike/header.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../helpers/roundtrip.ts';
import { headerFieldsArb } from './arbitraries.ts';
import { expectFromCapture } from './support.ts';
import { HEADER_SA_INIT_REQUEST, OUTSIDE } from './vectors.ts';

describe('IKE header', () => {
  it('decodes the IKE_SA_INIT request header (outside.pcap frame 1)', () => {
    expectFromCapture(HEADER_SA_INIT_REQUEST, OUTSIDE, 1, 0);
    const h = ikeHeaderCodec.decode(HEADER_SA_INIT_REQUEST);
    // keys.json / tshark: Initiator SPI 8391f754f1670e3d, Responder SPI 0
    expect(hex(h.spiI)).toBe('8391f754f1670e3d');
    expect(hex(h.spiR)).toBe('0000000000000000');
    expect(h.spiI).toBeInstanceOf(Uint8Array);
    expect(h.spiI.length).toBe(8);
    expect(h).toMatchObject({
      nextPayload: PayloadType.SA,
      majorVersion: 2,
      minorVersion: 0,
      exchangeType: ExchangeType.IKE_SA_INIT,
      flags: HeaderFlag.I,
      messageId: 0,
      length: 232,
    });
    expect(isFromInitiator(h)).toBe(true);
    expect(isResponse(h)).toBe(false);
    expect(hasFlag(h, HeaderFlag.V)).toBe(false);
  });

  it('returns SPIs as copies, not views into the datagram', () => {
    const buf = new Uint8Array(HEADER_SA_INIT_REQUEST);
    const h = ikeHeaderCodec.decode(buf);
    buf[0] = 0;
    expect(h.spiI[0]).toBe(0x83);
  });

  it('re-encodes byte-exact and rejects every truncation', () => {
    expectReencode(ikeHeaderCodec, HEADER_SA_INIT_REQUEST);
    expectTruncationErrors(ikeHeaderCodec, HEADER_SA_INIT_REQUEST, { layer: 'ikev2' });
  });

  it('refuses SPIs that are not 8 bytes and out-of-range fields', () => {
    const h = ikeHeaderCodec.decode(HEADER_SA_INIT_REQUEST);
    expect(() => ikeHeaderCodec.encode({ ...h, spiR: new Uint8Array(4) })).toThrow(RangeError);
    expect(() => ikeHeaderCodec.encode({ ...h, majorVersion: 16 })).toThrow(RangeError);
    expect(() => ikeHeaderCodec.encode({ ...h, messageId: 2 ** 32 })).toThrow(RangeError);
  });

  it('fills in version 2.0', () => {
    const f = ikeHeaderFields({ spiI: new Uint8Array(8), spiR: new Uint8Array(8), exchangeType: 37, flags: 0x20, messageId: 7 });
    expect(f.majorVersion).toBe(2);
    expect(f.minorVersion).toBe(0);
  });

  it('round-trips arbitrary headers', () => {
    fc.assert(
      fc.property(headerFieldsArb, fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffffffff }), (f, nextPayload, length) => {
        const h = { ...f, nextPayload, length };
        const enc = ikeHeaderCodec.encode(h);
        expect(enc.length).toBe(28);
        expect(ikeHeaderCodec.decode(enc)).toEqual(h);
      }),
    );
  });
});
