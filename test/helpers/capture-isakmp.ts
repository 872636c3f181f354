/**
 * Test-only: pulls ISAKMP datagrams out of capture files (classic pcap and pcapng),
 * stripping the link header (Ethernet, DLT_NULL, RAW), the IPv4/IPv6 header, the UDP
 * header and, when neither port is 500, the 4-byte non-ESP marker. Deliberately small
 * and lenient: it serves fixtures, it is not the project's capture reader (src/pcap).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface IsakmpDatagram {
  /** 1-based frame number in the capture, as Wireshark and tcpdump -# count. */
  readonly frame: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** The ISAKMP bytes (after UDP and any non-ESP marker), bounded by UDP length and capture length. */
  readonly bytes: Uint8Array;
  /** Where `bytes` starts inside the captured frame. */
  readonly frameOffset: number;
  /** False for port-4500 datagrams without the non-ESP marker (ESP, keepalive, or cut by the snap length). */
  readonly isIke: boolean;
}

interface Frame {
  readonly linktype: number;
  readonly data: Uint8Array;
}

const LINKTYPE_NULL = 0;
const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;
const LINKTYPE_RAW_OLD = [12, 14];

function pcapFrames(buf: Uint8Array): Frame[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = dv.getUint32(0, false);
  if (magic === 0x0a0d0d0a) return pcapngFrames(buf, dv);
  let le: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) le = false;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) le = true;
  else throw new Error(`not a capture file (magic ${magic.toString(16)})`);
  const linktype = dv.getUint32(20, le) & 0xffff;
  const out: Frame[] = [];
  let p = 24;
  while (p + 16 <= buf.length) {
    const incl = dv.getUint32(p + 8, le);
    const start = p + 16;
    const end = Math.min(start + incl, buf.length);
    out.push({ linktype, data: buf.subarray(start, end) });
    p = start + incl;
  }
  return out;
}

function pcapngFrames(buf: Uint8Array, dv: DataView): Frame[] {
  const out: Frame[] = [];
  const ifaces: number[] = [];
  let le = true;
  let p = 0;
  while (p + 12 <= buf.length) {
    let type = dv.getUint32(p, le);
    if (type === 0x0a0d0d0a) {
      le = dv.getUint32(p + 8, true) === 0x1a2b3c4d;
      type = 0x0a0d0d0a;
      ifaces.length = 0;
    }
    const len = dv.getUint32(p + 4, le);
    if (len < 12 || p + len > buf.length) break;
    if (type === 1) {
      ifaces.push(dv.getUint16(p + 8, le));
    } else if (type === 6) {
      const iface = dv.getUint32(p + 8, le);
      const cap = dv.getUint32(p + 20, le);
      out.push({ linktype: ifaces[iface] ?? LINKTYPE_ETHERNET, data: buf.subarray(p + 28, Math.min(p + 28 + cap, p + len)) });
    } else if (type === 3) {
      const orig = dv.getUint32(p + 8, le);
      out.push({ linktype: ifaces[0] ?? LINKTYPE_ETHERNET, data: buf.subarray(p + 12, Math.min(p + 12 + orig, p + len - 4)) });
    }
    p += len;
  }
  return out;
}

/** Offset of the IP header in a frame, or -1 when the link payload is not IP. */
function ipOffset(f: Frame): number {
  const d = f.data;
  if (f.linktype === LINKTYPE_ETHERNET) {
    let p = 12;
    let et = d.length >= 14 ? (d[12]! << 8) | d[13]! : -1;
    while ((et === 0x8100 || et === 0x88a8) && d.length >= p + 6) {
      p += 4;
      et = (d[p]! << 8) | d[p + 1]!;
    }
    return et === 0x0800 || et === 0x86dd ? p + 2 : -1;
  }
  if (f.linktype === LINKTYPE_NULL) return d.length >= 4 ? 4 : -1;
  if (f.linktype === LINKTYPE_RAW || LINKTYPE_RAW_OLD.includes(f.linktype)) return 0;
  return -1;
}

/**
 * Every UDP datagram to or from an IKE port that carries ISAKMP. With `all`, port-4500
 * datagrams without the non-ESP marker are returned too (isIke false, whole UDP payload).
 */
export function isakmpDatagrams(path: string, opts: { all?: boolean } = {}): IsakmpDatagram[] {
  const frames = pcapFrames(new Uint8Array(readFileSync(path)));
  const out: IsakmpDatagram[] = [];
  frames.forEach((f, i) => {
    const d = f.data;
    const ip = ipOffset(f);
    if (ip < 0 || d.length < ip + 1) return;
    const version = d[ip]! >> 4;
    let udp: number;
    if (version === 4) {
      if (d.length < ip + 20) return;
      const ihl = (d[ip]! & 0x0f) * 4;
      const fragOffset = ((d[ip + 6]! & 0x1f) << 8) | d[ip + 7]!;
      if (d[ip + 9] !== 17 || fragOffset !== 0 || ihl < 20) return;
      udp = ip + ihl;
    } else if (version === 6) {
      if (d.length < ip + 40 || d[ip + 6] !== 17) return;
      udp = ip + 40;
    } else {
      return;
    }
    if (d.length < udp + 8) return;
    const srcPort = (d[udp]! << 8) | d[udp + 1]!;
    const dstPort = (d[udp + 2]! << 8) | d[udp + 3]!;
    const udpLen = (d[udp + 4]! << 8) | d[udp + 5]!;
    const ike = (p: number) => p === 500 || p === 4500;
    if (!ike(srcPort) && !ike(dstPort)) return;
    let start = udp + 8;
    const end = udpLen >= 8 && udp + udpLen <= d.length ? udp + udpLen : d.length;
    let isIke = true;
    if (srcPort !== 500 && dstPort !== 500) {
      // Non-ESP marker: four zero bytes mean IKE follows; anything else is ESP or a keepalive.
      if (end - start < 4 || d[start] !== 0 || d[start + 1] !== 0 || d[start + 2] !== 0 || d[start + 3] !== 0) isIke = false;
      else start += 4;
    }
    if (!isIke && !opts.all) return;
    out.push({ frame: i + 1, srcPort, dstPort, bytes: d.slice(start, Math.max(start, end)), frameOffset: start, isIke });
  });
  return out;
}

/** Resolves a path under /work/shared/captures (the read-only reference captures). */
export function capturePath(rel: string): string {
  return fileURLToPath(new URL(`../../../shared/captures/${rel}`, import.meta.url));
}
