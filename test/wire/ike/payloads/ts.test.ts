import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex } from '../../../../src/core/bytes.ts';
import { DecodeError } from '../../../../src/core/errors.ts';
import { PayloadType, TsType } from '../../../../src/wire/ike/constants.ts';
import { makeRangeSelector, tsPayloadCodec, type IpRangeSelector } from '../../../../src/wire/ike/payloads/ts.ts';
import { expectErrorOffsetShift, expectReencode, expectTruncationErrors, hex, thrownBy } from '../../../helpers/roundtrip.ts';
import { headerFields, selector } from '../arbitraries.ts';
import { expectPayloadRoundTrips } from '../support.ts';
import { TSI_V4, TSR_V4, TS_V6_AND_SECLABEL } from '../vectors.ts';

const tsi = tsPayloadCodec(PayloadType.TSi);
const tsr = tsPayloadCodec(PayloadType.TSr);

describe('TS payloads (TSi / TSr)', () => {
  it('decodes the IPv4 selectors of outside.pcap frames 3/4 (decrypted) = manifest traffic_selectors', () => {
    const a = tsi.decode(TSI_V4);
    expect(a.nextPayload).toBe(PayloadType.TSr);
    expect(a.payload.type).toBe(PayloadType.TSi);
    expect(a.payload.selectors).toHaveLength(1);
    const s = a.payload.selectors[0] as IpRangeSelector;
    // manifest.json: initiator 10.77.10.0/24
    expect(s).toMatchObject({ tsType: TsType.IPV4_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 65535 });
    expect([...s.startAddress]).toEqual([10, 77, 10, 0]);
    expect([...s.endAddress]).toEqual([10, 77, 10, 255]);
    const b = tsr.decode(TSR_V4);
    expect(b.nextPayload).toBe(PayloadType.NONE);
    const r = b.payload.selectors[0] as IpRangeSelector;
    // manifest.json: responder 10.77.20.0/24
    expect([...r.startAddress, ...r.endAddress]).toEqual([10, 77, 20, 0, 10, 77, 20, 255]);
  });

  it('decodes an IPv6 range and keeps an uninterpreted TS_SECLABEL raw (built from RFC 7296 §3.13.1, RFC 9478)', () => {
    const { payload } = tsr.decode(TS_V6_AND_SECLABEL);
    expect(payload.selectors).toHaveLength(2);
    const [v6, label] = payload.selectors;
    expect(v6).toMatchObject({ tsType: TsType.IPV6_ADDR_RANGE, ipProtocol: 17, startPort: 500, endPort: 500 });
    expect(hex((v6 as IpRangeSelector).startAddress)).toBe('20010db8000000000000000000000000');
    expect(hex((v6 as IpRangeSelector).endAddress)).toBe('20010db800000000ffffffffffffffff');
    expect(label).toMatchObject({ tsType: 'unknown', wireType: TsType.SECLABEL, protocolOrReserved: 0 });
    expect(Buffer.from((label as { data: Uint8Array }).data).toString()).toBe('selinux_label:0:0');
  });

  it.each([
    ['TSi v4', tsi, TSI_V4],
    ['TSr v4', tsr, TSR_V4],
    ['TSr v6 + seclabel', tsr, TS_V6_AND_SECLABEL],
  ])('%s: re-encodes byte-exact and rejects truncation', (_n, codec, vec) => {
    expectReencode(codec, vec);
    expectTruncationErrors(codec, vec, { layer: 'ikev2' });
  });

  it('rejects a count that disagrees, and an address-range selector of the wrong length', () => {
    const badCount = new Uint8Array(TSI_V4);
    badCount[4] = 2;
    expect(thrownBy(() => tsi.decode(badCount, 60))).toMatchObject({ field: 'num_ts', offset: 64 });
    const badLen = fromHex('00 00 001c 01 000000  07 00 0014 0000 ffff 0a4d0a00 0a4d0aff 00000000');
    const e = thrownBy(() => tsi.decode(badLen, 60));
    expect(e).toBeInstanceOf(DecodeError);
    expect(e).toMatchObject({ field: 'selector_length', offset: 70 });
    const tiny = fromHex('00 00 000c 01 000000  07 00 0003');
    expect(thrownBy(() => tsi.decode(tiny))).toMatchObject({ field: 'selector_length', offset: 10 });
    expectErrorOffsetShift(tsi, badLen, 1234);
  });

  it('builds range selectors', () => {
    const s = makeRangeSelector(Uint8Array.of(10, 77, 10, 0), Uint8Array.of(10, 77, 10, 255));
    const payload = { type: PayloadType.TSi, critical: false, selectors: [s] } as const;
    expect(hex(tsi.encode({ nextPayload: PayloadType.TSr, payload }))).toBe(hex(TSI_V4));
    expect(() => makeRangeSelector(new Uint8Array(4), new Uint8Array(16))).toThrow(RangeError);
  });

  it('round-trips arbitrary traffic selector payloads', () => {
    expectPayloadRoundTrips(
      tsi,
      fc
        .tuple(headerFields, fc.array(selector, { maxLength: 5 }), fc.integer({ min: 0, max: 0xffffff }))
        .map(([h, selectors, r]) => ({ type: PayloadType.TSi, ...h, selectors, ...(r ? { reserved: r } : {}) })),
    );
  });
});
