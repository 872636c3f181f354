import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../src/core/bytes.ts';
import {
  identifyVendorId,
  KNOWN_VENDOR_IDS,
  natTraversalVendorId,
  VendorIdPayloadCodec,
} from '../../../src/wire/ikev1/payloads/vendor-id.ts';
import { expectReencode, expectTruncationErrors, hex } from '../../helpers/roundtrip.ts';
import { frame, payloadAt, PLUTO_VID_FIRST, SA_SETUP } from './fixtures.ts';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('Vendor ID payload (RFC 2408 §3.16)', () => {
  // ISAKMP_sa_setup.pcap frame 1 offers three NAT-T versions; tcpdump -vvv prints
  // "(vid: len=16 439b59f8...)(vid: len=16 7d9419a6...)(vid: len=16 90cb8091...)".
  it('decodes the NAT-T vendor IDs of ISAKMP_sa_setup.pcap frame 1 byte-exactly', () => {
    const msg = frame(SA_SETUP, 1);
    const vids = [88, 108, 128].map((o) => payloadAt(msg, o));
    expect(hex(vids[0]!)).toBe('0d000014439b59f8ba676c4c7737ae22eab8f582');
    const decoded = vids.map((v) => expectReencode(VendorIdPayloadCodec, v));
    expect(decoded.map((d) => d.nextPayload)).toEqual([13, 13, 0]);
    expect(decoded.map((d) => natTraversalVendorId(d.body.data))).toEqual([
      'draft-ietf-ipsec-nat-t-ike-07',
      'draft-ietf-ipsec-nat-t-ike-03',
      'draft-ietf-ipsec-nat-t-ike-02\\n',
    ]);
    for (const v of vids) expectTruncationErrors(VendorIdPayloadCodec, v);
  });

  it('recognises Cisco Unity, DPD and XAUTH in frame 3, and leaves the session-specific one unknown', () => {
    const msg = frame(SA_SETUP, 3);
    const names = [152, 172, 192, 212].map((o) => identifyVendorId(VendorIdPayloadCodec.decode(payloadAt(msg, o)).body.data)?.name);
    // tshark: "CISCO-UNITY 1.0", "RFC 3706 DPD", "Unknown Vendor ID", "XAUTH".
    expect(names).toEqual(['Cisco Unity', 'Dead Peer Detection (RFC 3706)', undefined, 'XAUTH']);
    const xauth = payloadAt(msg, 212);
    expect(hex(xauth)).toBe('0f00000c09002689dfd6b712');
    expectReencode(VendorIdPayloadCodec, xauth);
  });

  it("keeps Openswan's 12-byte VID (pluto 01-isakmp-vid-first.pcap) as unknown", () => {
    const v = expectReencode(VendorIdPayloadCodec, payloadAt(frame(PLUTO_VID_FIRST, 1), 28));
    expect(hex(v.body.data)).toBe('4f45407942714f72547e497b');
    expect(identifyVendorId(v.body.data)).toBeUndefined();
  });

  it('has NAT-T values that are MD5 of their names (RFC 3947 §3.1 and the drafts)', () => {
    expect(toHex(identifyVendorId(fromHex('4a131c81070358455c5728f20e95452f'))!.bytes)).toBe(md5('RFC 3947'));
    for (const k of KNOWN_VENDOR_IDS.filter((x) => x.category === 'nat-t')) {
      expect(toHex(k.bytes), k.name).toBe(md5(k.name.replace('\\n', '\n')));
    }
    expect(natTraversalVendorId(fromHex('90cb80913ebb696e086381b5ec427b1f'))).toBe('draft-ietf-ipsec-nat-t-ike-02\\n');
    expect(natTraversalVendorId(fromHex('cd60464335df21f87cfdb2fc68b6a448'))).toBe('draft-ietf-ipsec-nat-t-ike-02');
    expect(natTraversalVendorId(fromHex('4485152d18b6bbcd0be8a8469579ddcc'))).toBe('draft-ietf-ipsec-nat-t-ike-00');
    expect(natTraversalVendorId(fromHex('afcad71368a1f1c96b8696fc77570100'))).toBeUndefined();
  });

  it('matches hashed prefixes followed by version or flag bytes', () => {
    expect(identifyVendorId(fromHex(md5('strongSwan')))?.category).toBe('strongswan');
    expect(identifyVendorId(fromHex(md5('FRAGMENTATION')))?.category).toBe('fragmentation');
    expect(identifyVendorId(fromHex(`${md5('FRAGMENTATION')}80000000`))?.category).toBe('fragmentation');
    // Cisco Unity: MD5("CISCO-UNITY") with the last two bytes replaced by the version.
    expect(md5('CISCO-UNITY').slice(0, 28)).toBe('12f5f28c457168a9702d9fe274cc');
    expect(identifyVendorId(fromHex('12f5f28c457168a9702d9fe274cc0100'))?.category).toBe('cisco-unity');
    // A truncated well-known value is not recognised.
    expect(identifyVendorId(fromHex('4a131c81070358455c5728f20e9545'))).toBeUndefined();
  });

  it('round-trips any VID (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        expect(VendorIdPayloadCodec.decode(VendorIdPayloadCodec.encode({ nextPayload: 13, body: { data } })).body.data).toEqual(data);
      }),
    );
  });
});
