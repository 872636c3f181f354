/**
 * Test-only frame reader: gets UDP payloads out of the reference captures so tests can
 * feed real bytes to the wire codecs. Classic pcap (either byte order, µs or ns) and
 * pcapng (SHB/IDB/EPB/SPB); link types Ethernet (with VLAN tags), DLT_NULL/LOOP and
 * raw IP; IPv4 (unfragmented) and IPv6 (no extension headers). Not the product's
 * capture reader (that is src/pcap): no streaming, no reassembly, no validation.
 */
import { readFileSync } from 'node:fs';

export interface UdpFrame {
  /** 1-based frame number, as Wireshark and tcpdump -# count. */
  readonly frame: number;
  readonly srcPort: number;
  readonly dstPort: number;
  /** The UDP payload (cut to the UDP length). */
  readonly payload: Uint8Array;
}

export interface IkeDatagram extends UdpFrame {
  /** The IKE message: the UDP payload, minus the 4-byte non-ESP marker when neither port is 500. */
  readonly ike: Uint8Array;
}

interface LinkFrame {
  readonly linktype: number;
  readonly data: Uint8Array;
}

function classicFrames(buf: Uint8Array, dv: DataView): LinkFrame[] {
  const magic = dv.getUint32(0, false);
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  if (!le && magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`not a capture file (magic ${magic.toString(16)})`);
  const linktype = dv.getUint32(20, le) & 0xffff;
  const out: LinkFrame[] = [];
  for (let p = 24; p + 16 <= buf.length; ) {
    const incl = dv.getUint32(p + 8, le);
    out.push({ linktype, data: buf.subarray(p + 16, Math.min(p + 16 + incl, buf.length)) });
    p += 16 + incl;
  }
  return out;
}

function pcapngFrames(buf: Uint8Array, dv: DataView): LinkFrame[] {
  const out: LinkFrame[] = [];
  let links: number[] = [];
  let le = true;
  for (let p = 0; p + 12 <= buf.length; ) {
    if (dv.getUint32(p, false) === 0x0a0d0d0a) {
      le = dv.getUint32(p + 8, true) === 0x1a2b3c4d;
      links = [];
    }
    const type = dv.getUint32(p, le);
    const len = dv.getUint32(p + 4, le);
    if (len < 12 || p + len > buf.length) break;
    if (type === 1) links.push(dv.getUint16(p + 8, le));
    if (type === 6) {
      const cap = dv.getUint32(p + 20, le);
      out.push({ linktype: links[dv.getUint32(p + 8, le)] ?? 1, data: buf.subarray(p + 28, p + 28 + cap) });
    }
    if (type === 3) out.push({ linktype: links[0] ?? 1, data: buf.subarray(p + 12, p + 12 + Math.min(dv.getUint32(p + 8, le), len - 16)) });
    p += len;
  }
  return out;
}

/** Offset of the IP header, or -1 for non-IP frames. */
function ipStart(f: LinkFrame): number {
  const d = f.data;
  if (f.linktype === 0 || f.linktype === 108) return 4; // DLT_NULL / DLT_LOOP: 4-byte family
  if (f.linktype === 101 || f.linktype === 12 || f.linktype === 14) return 0; // raw IP
  if (f.linktype !== 1 || d.length < 14) return -1;
  let p = 12;
  while (((d[p]! << 8) | d[p + 1]!) === 0x8100 && p + 6 <= d.length) p += 4;
  const ethertype = (d[p]! << 8) | d[p + 1]!;
  return ethertype === 0x0800 || ethertype === 0x86dd ? p + 2 : -1;
}

/** Every UDP datagram in the capture, with its frame number. */
export function udpFrames(path: string): UdpFrame[] {
  const buf = new Uint8Array(readFileSync(path));
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const frames = dv.getUint32(0, false) === 0x0a0d0d0a ? pcapngFrames(buf, dv) : classicFrames(buf, dv);
  const out: UdpFrame[] = [];
  frames.forEach((f, i) => {
    const d = f.data;
    const ip = ipStart(f);
    if (ip < 0 || d.length < ip + 20) return;
    let udp: number;
    if (d[ip]! >> 4 === 4) {
      const fragmented = (((d[ip + 6]! & 0x3f) << 8) | d[ip + 7]!) !== 0;
      if (d[ip + 9] !== 17 || fragmented) return;
      udp = ip + (d[ip]! & 0x0f) * 4;
    } else if (d[ip]! >> 4 === 6 && d.length >= ip + 40 && d[ip + 6] === 17) {
      udp = ip + 40;
    } else {
      return;
    }
    if (d.length < udp + 8) return;
    const len = (d[udp + 4]! << 8) | d[udp + 5]!;
    out.push({
      frame: i + 1,
      srcPort: (d[udp]! << 8) | d[udp + 1]!,
      dstPort: (d[udp + 2]! << 8) | d[udp + 3]!,
      payload: d.slice(udp + 8, Math.min(udp + Math.max(len, 8), d.length)),
    });
  });
  return out;
}

const isIkePort = (p: number): boolean => p === 500 || p === 4500;

/** UDP datagrams on port 500/4500 that carry IKE (ESP-in-UDP and NAT keepalives are skipped). */
export function ikeDatagrams(path: string): IkeDatagram[] {
  const out: IkeDatagram[] = [];
  for (const u of udpFrames(path)) {
    if (!isIkePort(u.srcPort) && !isIkePort(u.dstPort)) continue;
    if (u.srcPort === 500 || u.dstPort === 500) {
      out.push({ ...u, ike: u.payload });
    } else if (u.payload.length > 4 && u.payload[0] === 0 && u.payload[1] === 0 && u.payload[2] === 0 && u.payload[3] === 0) {
      out.push({ ...u, ike: u.payload.subarray(4) });
    }
  }
  return out;
}

/** The IKE message in a given frame; throws when that frame has none. */
export function ikeFrame(path: string, frame: number): Uint8Array {
  const d = ikeDatagrams(path).find((x) => x.frame === frame);
  if (!d) throw new Error(`${path}: frame ${frame} carries no IKE message`);
  return d.ike;
}

/** Absolute path of a file under /work/shared/captures (the read-only reference captures). */
export function capture(rel: string): string {
  return new URL(`../../../shared/captures/${rel}`, import.meta.url).pathname;
}
