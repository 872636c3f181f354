/**
 * ISAKMP bytes from the reference captures (see /work/shared/captures/README.md).
 * Frame numbers are 1-based, as in tcpdump -# and Wireshark.
 */
import { capture, ikeDatagrams, inFrame, type IkeDatagram } from '../../helpers/capture-udp.ts';

const cache = new Map<string, IkeDatagram[]>();

/** All ISAKMP datagrams of a capture under /work/shared/captures. */
export function datagrams(rel: string): IkeDatagram[] {
  let d = cache.get(rel);
  if (!d) {
    d = ikeDatagrams(capture(rel));
    cache.set(rel, d);
  }
  return d;
}

/** The ISAKMP bytes of one frame. */
export function frame(rel: string, n: number): Uint8Array {
  return inFrame(datagrams(rel), n, rel).ike;
}

/** One payload (generic header included) starting at `offset` in a message, cut by its length field. */
export function payloadAt(msg: Uint8Array, offset: number): Uint8Array {
  const len = (msg[offset + 2]! << 8) | msg[offset + 3]!;
  return msg.subarray(offset, offset + len);
}

/** tcpdump's IKEv1 main + quick mode with NAT-T vendor IDs (expected dissection: tcpdump/isakmp5-v.out). */
export const SA_SETUP = 'tcpdump/ISAKMP_sa_setup.pcap';
/** Openswan pluto main mode first message, VID before SA, four transforms. */
export const PLUTO_VID_FIRST = 'openswan/pluto-inputs/01-isakmp-vid-first.pcap';
/** Openswan pluto main mode reply, SA before VID. */
export const PLUTO_VID_SECOND_RESP = 'openswan/pluto-inputs/01-isakmp-vid-second-resp.pcap';

/** Malformed inputs from tcpdump's and Openswan's suites that crashed or over-read other parsers. */
export const MALFORMED_CAPTURES = [
  'tcpdump/isakmp-3948-oobr-2.pcap',
  'tcpdump/isakmp-rfc3948-oobr.pcap',
  'tcpdump/isakmp-delete-segfault.pcap',
  'tcpdump/isakmp-identification-segfault.pcap',
  'tcpdump/isakmp-ikev1_n_print-oobr.pcap',
  'tcpdump/isakmp-various-oobr.pcap',
  'tcpdump/isakmp-pointer-loop.pcap',
  'tcpdump/isakmp-no-none-np.pcapng',
  'tcpdump/isakmpv1-attr-oobr.pcap',
  'tcpdump/ikev1_id_ipv6_addr_subnet-oobr.pcap',
  'openswan/klips-inputs/isakmp-crash1.pcap',
] as const;

/** Every well-formed IKEv1 capture used as a source of real messages. */
export const GOOD_CAPTURES = [
  SA_SETUP,
  PLUTO_VID_FIRST,
  PLUTO_VID_SECOND_RESP,
  'openswan/pluto-inputs/01-isakmp-vid-first-resp.pcap',
  'openswan/pluto-inputs/01-isakmp-broadcast.pcap',
  'openswan/pluto-inputs/02-isakmp-vid-first.pcap',
] as const;
