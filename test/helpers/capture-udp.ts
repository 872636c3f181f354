/**
 * Test-only: the UDP datagrams of the reference captures, and the IKE messages (v1 or v2)
 * in them, so the codec tests can feed real bytes to the wire codecs. Frames come from
 * pcap-frames.ts (classic pcap and pcapng); link types Ethernet (with 802.1Q/802.1ad tags),
 * DLT_NULL/DLT_LOOP and raw IP; IPv4 (first fragments only) and IPv6 (no extension
 * headers). Deliberately small and lenient: it serves fixtures and is not the product's
 * capture reader (src/pcap): no reassembly, no validation.
 */
import { readPcap, type PcapFrame } from './pcap-frames.ts';

export { capture } from './pcap-frames.ts';

export interface UdpDatagram {
  /** 1-based frame number, as Wireshark and tcpdump -# count. */
  readonly frame: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** The UDP payload, cut to the UDP length when that fits in the captured frame. */
  readonly payload: Uint8Array;
  /** Where `payload` starts inside the captured frame. */
  readonly payloadOffset: number;
}

export interface IkeDatagram extends UdpDatagram {
  /**
   * The IKE message: the UDP payload minus the 4-byte non-ESP marker when neither port is
   * 500 (RFC 3948 §2.2). When isIke is false, the whole UDP payload.
   */
  readonly ike: Uint8Array;
  /** Where `ike` starts inside the captured frame. */
  readonly ikeOffset: number;
  /** False for port-4500 datagrams without the non-ESP marker (ESP, keepalive, or cut by the snap length). */
  readonly isIke: boolean;
}

/** Offset of the IP header in a frame, or -1 when the link payload is not IP. */
function ipOffset(f: PcapFrame): number {
  const d = f.data;
  switch (f.linktype) {
    case 0: // DLT_NULL
    case 108: // DLT_LOOP: a 4-byte address family
      return d.length >= 4 ? 4 : -1;
    case 101: // raw IP
    case 12:
    case 14:
      return 0;
    case 1: {
      if (d.length < 14) return -1;
      let p = 12;
      let ethertype = (d[12]! << 8) | d[13]!;
      while ((ethertype === 0x8100 || ethertype === 0x88a8) && d.length >= p + 6) {
        p += 4;
        ethertype = (d[p]! << 8) | d[p + 1]!;
      }
      return ethertype === 0x0800 || ethertype === 0x86dd ? p + 2 : -1;
    }
    default:
      return -1;
  }
}

/** Offset of the UDP header in a frame, or -1 when the frame is not UDP over IP (or a later IPv4 fragment). */
function udpOffset(f: PcapFrame): number {
  const d = f.data;
  const ip = ipOffset(f);
  if (ip < 0 || d.length < ip + 1) return -1;
  switch (d[ip]! >> 4) {
    case 4: {
      if (d.length < ip + 20) return -1;
      const ihl = (d[ip]! & 0x0f) * 4;
      const fragmentOffset = ((d[ip + 6]! & 0x1f) << 8) | d[ip + 7]!;
      return d[ip + 9] === 17 && fragmentOffset === 0 && ihl >= 20 ? ip + ihl : -1;
    }
    case 6:
      return d.length >= ip + 40 && d[ip + 6] === 17 ? ip + 40 : -1;
    default:
      return -1;
  }
}

/** Every UDP datagram in a capture (a relative path is taken under /work/shared/captures). */
export function udpDatagrams(path: string): UdpDatagram[] {
  const out: UdpDatagram[] = [];
  for (const f of readPcap(path).frames) {
    const d = f.data;
    const udp = udpOffset(f);
    if (udp < 0 || d.length < udp + 8) continue;
    const udpLen = (d[udp + 4]! << 8) | d[udp + 5]!;
    const start = udp + 8;
    const end = udpLen >= 8 && udp + udpLen <= d.length ? udp + udpLen : d.length;
    out.push({
      frame: f.number,
      srcPort: (d[udp]! << 8) | d[udp + 1]!,
      dstPort: (d[udp + 2]! << 8) | d[udp + 3]!,
      payload: d.slice(start, end),
      payloadOffset: start,
    });
  }
  return out;
}

const isIkePort = (p: number): boolean => p === 500 || p === 4500;

/** True when the payload opens with the 4-byte non-ESP marker. */
const hasMarker = (p: Uint8Array): boolean => p.length >= 4 && p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0;

/**
 * The UDP datagrams to or from port 500/4500 that carry IKE. With `all`, port-4500
 * datagrams without the non-ESP marker (ESP-in-UDP, NAT keepalives) are kept too, with
 * isIke false.
 */
export function ikeDatagrams(path: string, opts: { all?: boolean } = {}): IkeDatagram[] {
  const out: IkeDatagram[] = [];
  for (const u of udpDatagrams(path)) {
    if (!isIkePort(u.srcPort) && !isIkePort(u.dstPort)) continue;
    if (u.srcPort === 500 || u.dstPort === 500) out.push({ ...u, ike: u.payload, ikeOffset: u.payloadOffset, isIke: true });
    else if (hasMarker(u.payload)) out.push({ ...u, ike: u.payload.subarray(4), ikeOffset: u.payloadOffset + 4, isIke: true });
    else if (opts.all) out.push({ ...u, ike: u.payload, ikeOffset: u.payloadOffset, isIke: false });
  }
  return out;
}

/** The datagram of a given 1-based frame; throws (naming `source`) when there is none. */
export function inFrame<T extends { readonly frame: number }>(datagrams: readonly T[], frame: number, source = 'capture'): T {
  const d = datagrams.find((x) => x.frame === frame);
  if (!d) throw new Error(`${source}: no such datagram in frame ${frame}`);
  return d;
}

/** The IKE message in a given frame; throws when that frame has none. */
export function ikeFrame(path: string, frame: number): Uint8Array {
  return inFrame(ikeDatagrams(path), frame, path).ike;
}
