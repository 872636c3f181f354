import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/core/bytes.ts';
import { DecodeError } from '../../../src/core/errors.ts';
import { isErrorNotify, NotifyType, notifyTypeName, ProtocolId } from '../../../src/wire/ikev1/constants.ts';
import { DeletePayloadCodec } from '../../../src/wire/ikev1/payloads/delete.ts';
import { NotificationPayloadCodec } from '../../../src/wire/ikev1/payloads/notification.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../helpers/roundtrip.ts';
import * as arb from './arbitraries.ts';
import { frame, payloadAt } from './fixtures.ts';

// isakmp-no-none-np.pcapng frame 1 (pcapng, Ethernet), ISAKMP bytes 28..55. tcpdump (isakmp-no-none-np.out):
// "(n: doi=ipsec proto=isakmp type=INVALID-MAJOR-VERSION spi=000000000b1005005f724dc600000054 data=(...))".
const N_INVALID_MAJOR = fromHex(`
  0b 00 00 1c                                        # next N, length 28
  00 00 00 01                                        # DOI IPsec
  01 10 00 05                                        # protocol ISAKMP, SPI size 16, INVALID-MAJOR-VERSION
  00 00 00 00 0b 10 05 00 5f 72 4d c6 00 00 00 54    # SPI (16 bytes)
`);

// Constructed per RFC 2407 §4.6.3.3 (INITIAL-CONTACT, SPI = the cookie pair of ISAKMP_sa_setup.pcap);
// Wireshark 4: "Notify Message Type: INITIAL-CONTACT (24578), SPI: cf02326f14a95b9318a109f89219e8df".
const N_INITIAL_CONTACT = fromHex('00 00 00 1c  00 00 00 01  01 10 60 02  cf 02 32 6f 14 a9 5b 93 18 a1 09 f8 92 19 e8 df');

// Constructed per RFC 3706 §5 (R-U-THERE with a 32-bit sequence number);
// Wireshark 4: "Notify Message Type: R-U-THERE (36136) ... DPD ARE-YOU-THERE sequence: 1".
const N_R_U_THERE = fromHex('00 00 00 20  00 00 00 01  01 10 8d 28  cf 02 32 6f 14 a9 5b 93 18 a1 09 f8 92 19 e8 df  00 00 00 01');

// Constructed per RFC 2408 §3.15; Wireshark 4: "Protocol ID: IPSEC_ESP (3), SPI Size: 4, Number of SPIs: 2,
// Delete SPI: c0ffee01, Delete SPI: c0ffee02".
const D_ESP = fromHex('00 00 00 14  00 00 00 01  03 04 00 02  c0 ff ee 01  c0 ff ee 02');
// Wireshark 4: "Protocol ID: ISAKMP (1), SPI Size: 16, Number of SPIs: 1, Delete SPI: cf02...e8df".
const D_ISAKMP = fromHex('00 00 00 1c  00 00 00 01  01 10 00 01  cf 02 32 6f 14 a9 5b 93 18 a1 09 f8 92 19 e8 df');

describe('Notification payload (RFC 2408 §3.14)', () => {
  it('decodes the INVALID-MAJOR-VERSION notify of isakmp-no-none-np.pcapng', () => {
    expect(hex(payloadAt(frame('tcpdump/isakmp-no-none-np.pcapng', 1), 28))).toBe(hex(N_INVALID_MAJOR));
    const { nextPayload, body } = expectReencode(NotificationPayloadCodec, N_INVALID_MAJOR);
    expect(nextPayload).toBe(11);
    expect(body.notifyType).toBe(NotifyType.INVALID_MAJOR_VERSION);
    expect(notifyTypeName(body.notifyType)).toBe('INVALID-MAJOR-VERSION');
    expect(isErrorNotify(body.notifyType)).toBe(true);
    expect(body.protocolId).toBe(ProtocolId.ISAKMP);
    expect(hex(body.spi)).toBe('000000000b1005005f724dc600000054');
    expect(body.data.length).toBe(0);
    expectTruncationErrors(NotificationPayloadCodec, N_INVALID_MAJOR);
  });

  it('decodes INITIAL-CONTACT and DPD R-U-THERE', () => {
    const ic = expectReencode(NotificationPayloadCodec, N_INITIAL_CONTACT).body;
    expect(notifyTypeName(ic.notifyType)).toBe('INITIAL-CONTACT');
    expect(isErrorNotify(ic.notifyType)).toBe(false);
    const dpd = expectReencode(NotificationPayloadCodec, N_R_U_THERE).body;
    expect(dpd.notifyType).toBe(NotifyType.R_U_THERE);
    expect(hex(dpd.data)).toBe('00000001');
    expectTruncationErrors(NotificationPayloadCodec, N_R_U_THERE);
  });

  it('reports an SPI size running past the payload, at the SPI size byte', () => {
    const bad = N_INITIAL_CONTACT.slice();
    bad[9] = 17;
    const e = thrownBy(() => NotificationPayloadCodec.decode(bad, 500)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('notification.spi_size');
    expect(e.offset).toBe(509);
    expectErrorOffsetShift(NotificationPayloadCodec, bad, 500);
  });

  it('round-trips (fast-check)', () => {
    fc.assert(
      fc.property(fc.record({ doi: fc.nat(), protocolId: fc.nat(255), notifyType: fc.nat(0xffff), spi: fc.uint8Array({ maxLength: 16 }), data: fc.uint8Array({ maxLength: 16 }) }), (n) => {
        expect(NotificationPayloadCodec.decode(NotificationPayloadCodec.encode({ nextPayload: 0, body: n })).body).toEqual(n);
      }),
    );
  });
});

describe('Delete payload (RFC 2408 §3.15)', () => {
  it('decodes two ESP SPIs and one ISAKMP cookie pair', () => {
    const esp = expectReencode(DeletePayloadCodec, D_ESP).body;
    expect(esp.spiSize).toBe(4);
    expect(esp.spis.map(hex)).toEqual(['c0ffee01', 'c0ffee02']);
    const ike = expectReencode(DeletePayloadCodec, D_ISAKMP).body;
    expect(ike.spis.map(hex)).toEqual(['cf02326f14a95b9318a109f89219e8df']);
    expectTruncationErrors(DeletePayloadCodec, D_ESP);
    expectTruncationErrors(DeletePayloadCodec, D_ISAKMP);
  });

  it('rejects a count × size that does not fit the payload (isakmp-delete-segfault shape)', () => {
    const tooMany = D_ESP.slice();
    tooMany[11] = 0xff; // 255 SPIs of 4 bytes in 8
    const e = thrownBy(() => DeletePayloadCodec.decode(tooMany, 28)) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.field).toBe('delete.spi_count');
    expect(e.offset).toBe(28 + 10);
    expect(e.reason).toMatch(/255 SPI/);
    const tooFew = D_ESP.slice();
    tooFew[11] = 1;
    expect(() => DeletePayloadCodec.decode(tooFew)).toThrow(DecodeError);
    const hugeSize = D_ESP.slice();
    hugeSize[9] = 0xff;
    expect(() => DeletePayloadCodec.decode(hugeSize)).toThrow(DecodeError);
  });

  it('round-trips (fast-check)', () => {
    fc.assert(
      fc.property(arb.del, (body) => {
        expect(DeletePayloadCodec.decode(DeletePayloadCodec.encode({ nextPayload: 0, body })).body).toEqual(body);
      }),
    );
  });
});
