import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PayloadType } from '../../../../src/wire/ike/constants.ts';
import { vendorIdPayloadCodec } from '../../../../src/wire/ike/payloads/vendor-id.ts';
import { expectReencode, expectTruncationErrors } from '../../../helpers/roundtrip.ts';
import { bytes, headerFields } from '../arbitraries.ts';
import { expectFromCapture, expectPayloadRoundTrips } from '../support.ts';
import { NDPI_ESP, PI2, VENDOR_CISCO_REV, VENDOR_OPENSWAN } from '../vectors.ts';

describe('Vendor ID payload', () => {
  it('decodes Openswan\'s vendor ID (tcpdump ikev2pI2.pcap frame 1, offset 492)', () => {
    expectFromCapture(VENDOR_OPENSWAN, PI2, 1, 492);
    const { nextPayload, payload } = vendorIdPayloadCodec.decode(VENDOR_OPENSWAN);
    expect(nextPayload).toBe(PayloadType.NONE);
    expect(payload.type).toBe(PayloadType.V);
    expect(Buffer.from(payload.data).toString('latin1')).toBe('OErlA\\nQukSR');
  });

  it('decodes a Cisco vendor ID (nDPI esp.pcapng frame 1, offset 239)', () => {
    expectFromCapture(VENDOR_CISCO_REV, NDPI_ESP, 1, 239);
    const { nextPayload, payload } = vendorIdPayloadCodec.decode(VENDOR_CISCO_REV);
    expect(nextPayload).toBe(PayloadType.V);
    expect(Buffer.from(payload.data).toString()).toBe('CISCOVPN-REV-02');
  });

  it.each([
    ['Openswan', VENDOR_OPENSWAN],
    ['Cisco', VENDOR_CISCO_REV],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, vec) => {
    expectReencode(vendorIdPayloadCodec, vec);
    expectTruncationErrors(vendorIdPayloadCodec, vec, { layer: 'ikev2' });
  });

  it('round-trips arbitrary vendor IDs', () => {
    expectPayloadRoundTrips(
      vendorIdPayloadCodec,
      fc.tuple(headerFields, bytes(40)).map(([h, data]) => ({ type: PayloadType.V, ...h, data })),
    );
  });
});
