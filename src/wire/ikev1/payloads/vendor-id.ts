/**
 * Vendor ID payload (RFC 2408 §3.16): an opaque identifier, usually an MD5 hash of a
 * string. The table below recognises the identifiers that matter for NAT traversal and
 * its companions; most are MD5 of the quoted text (e.g. NAT-T RFC 3947 is
 * MD5("RFC 3947")), a few carry version bytes after a hashed prefix.
 *
 *   generic header | Vendor ID (the rest)
 */
import { fromHex } from '../../../core/bytes.ts';
import { framed, opaqueBody, type DataBody } from '../generic.ts';

export type VendorIdPayload = DataBody;

export const VendorIdBodyCodec = opaqueBody();
export const VendorIdPayloadCodec = framed('vid', VendorIdBodyCodec);

export type VendorIdCategory = 'nat-t' | 'dpd' | 'xauth' | 'cisco-unity' | 'fragmentation' | 'strongswan' | 'other';

export interface KnownVendorId {
  readonly name: string;
  readonly category: VendorIdCategory;
  /** 'exact': the whole VID; 'prefix': the VID starts with `bytes` (trailing version or flag bytes). */
  readonly match: 'exact' | 'prefix';
  readonly bytes: Uint8Array;
}

const vid = (name: string, category: VendorIdCategory, hex: string, match: 'exact' | 'prefix' = 'exact'): KnownVendorId => ({
  name,
  category,
  match,
  bytes: fromHex(hex),
});

/** Well-known vendor IDs (NAT-T RFC 3947 and drafts, DPD RFC 3706, XAUTH, Cisco Unity, FRAGMENTATION, strongSwan). */
export const KNOWN_VENDOR_IDS: readonly KnownVendorId[] = [
  vid('RFC 3947', 'nat-t', '4a131c81070358455c5728f20e95452f'),
  vid('draft-ietf-ipsec-nat-t-ike-00', 'nat-t', '4485152d18b6bbcd0be8a8469579ddcc'),
  vid('draft-ietf-ipsec-nat-t-ike-01', 'nat-t', '16f6ca16e4a4066d83821a0f0aeaa862'),
  vid('draft-ietf-ipsec-nat-t-ike-02', 'nat-t', 'cd60464335df21f87cfdb2fc68b6a448'),
  vid('draft-ietf-ipsec-nat-t-ike-02\\n', 'nat-t', '90cb80913ebb696e086381b5ec427b1f'),
  vid('draft-ietf-ipsec-nat-t-ike-03', 'nat-t', '7d9419a65310ca6f2c179d9215529d56'),
  vid('draft-ietf-ipsec-nat-t-ike-04', 'nat-t', '9909b64eed937c6573de52ace952fa6b'),
  vid('draft-ietf-ipsec-nat-t-ike-05', 'nat-t', '80d0bb3def54565ee84645d4c85ce3ee'),
  vid('draft-ietf-ipsec-nat-t-ike-06', 'nat-t', '4d1e0e136deafa34c4f3ea9f02ec7285'),
  vid('draft-ietf-ipsec-nat-t-ike-07', 'nat-t', '439b59f8ba676c4c7737ae22eab8f582'),
  vid('draft-ietf-ipsec-nat-t-ike-08', 'nat-t', '8f8d83826d246b6fc7a8a6a428c11de8'),
  vid('draft-ietf-ipsec-nat-t-ike-09', 'nat-t', '42ea5b6f898d9773a575df26e7dd19e1'),
  vid('draft-ietf-ipsec-nat-t-ike', 'nat-t', '4df37928e9fc4fd1b3262170d515c662'),
  vid('Dead Peer Detection (RFC 3706)', 'dpd', 'afcad71368a1f1c96b8696fc7757', 'prefix'),
  vid('XAUTH', 'xauth', '09002689dfd6b712'),
  vid('Cisco Unity', 'cisco-unity', '12f5f28c457168a9702d9fe274cc', 'prefix'),
  vid('FRAGMENTATION', 'fragmentation', '4048b7d56ebce88525e7de7f00d6c2d3', 'prefix'),
  vid('strongSwan', 'strongswan', '882fe56d6fd20dbc2251613b2ebe5beb', 'prefix'),
  vid('MS NT5 ISAKMPOAKLEY', 'other', '1e2b516905991c7d7c96fcbfb587e461', 'prefix'),
];

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/** The known vendor ID these bytes are, if any (exact matches win over prefixes). */
export function identifyVendorId(data: Uint8Array): KnownVendorId | undefined {
  let best: KnownVendorId | undefined;
  for (const k of KNOWN_VENDOR_IDS) {
    if (k.match === 'exact') {
      if (data.length === k.bytes.length && startsWith(data, k.bytes)) return k;
    } else if (!best && startsWith(data, k.bytes)) {
      best = k;
    }
  }
  return best;
}

/** The NAT-T method a vendor ID announces ("RFC 3947", "draft-ietf-ipsec-nat-t-ike-02\n" ...), if it is one. */
export function natTraversalVendorId(data: Uint8Array): string | undefined {
  const k = identifyVendorId(data);
  return k?.category === 'nat-t' ? k.name : undefined;
}
