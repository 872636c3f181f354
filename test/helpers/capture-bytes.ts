/**
 * Test-only reader for the reference captures: classic pcap (microsecond or
 * nanosecond, either byte order) with Ethernet (1) or BSD loopback / DLT_NULL (0)
 * link type, IPv4 and UDP, walked by hand so the crypto tests depend on nothing
 * but node:fs.
 */
import { readFileSync } from 'node:fs';

export interface UdpFrame {
  /** 1-based frame number, as Wireshark counts. */
  readonly frame: number;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** UDP payload (a view into the file buffer). */
  readonly payload: Uint8Array;
}

export function readUdpFrames(path: string): UdpFrame[] {
  const file = new Uint8Array(readFileSync(path));
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magic = dv.getUint32(0, false);
  let little: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = false;
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = true;
  else throw new Error(`${path}: not a classic pcap file`);
  const linkType = dv.getUint32(20, little);
  if (linkType !== 1 && linkType !== 0) throw new Error(`${path}: link type ${linkType}, expected Ethernet (1) or DLT_NULL (0)`);
  const frames: UdpFrame[] = [];
  let off = 24;
  let n = 0;
  while (off + 16 <= file.length) {
    const caplen = dv.getUint32(off + 8, little);
    const data = file.subarray(off + 16, off + 16 + caplen);
    off += 16 + caplen;
    n++;
    let ip: Uint8Array;
    if (linkType === 1) {
      if (data.length < 14) continue;
      const etherType = (data[12]! << 8) | data[13]!;
      if (etherType !== 0x0800) continue;
      ip = data.subarray(14);
    } else {
      // DLT_NULL: a 4-byte address family in the writer's byte order; AF_INET is 2.
      if (data.length < 4) continue;
      const family = new DataView(data.buffer, data.byteOffset, 4);
      if (family.getUint32(0, true) !== 2 && family.getUint32(0, false) !== 2) continue;
      ip = data.subarray(4);
    }
    if (ip.length < 20 || ip[0]! >> 4 !== 4) continue;
    const ihl = (ip[0]! & 0x0f) * 4;
    const totalLength = (ip[2]! << 8) | ip[3]!;
    if (ip[9] !== 17) continue;
    const udp = ip.subarray(ihl, totalLength);
    const udpLength = (udp[4]! << 8) | udp[5]!;
    frames.push({
      frame: n,
      src: `${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`,
      dst: `${ip[16]}.${ip[17]}.${ip[18]}.${ip[19]}`,
      srcPort: (udp[0]! << 8) | udp[1]!,
      dstPort: (udp[2]! << 8) | udp[3]!,
      payload: udp.subarray(8, udpLength),
    });
  }
  return frames;
}

/** The UDP frame with that 1-based frame number. */
export function udpFrame(frames: readonly UdpFrame[], frame: number): UdpFrame {
  const f = frames.find((x) => x.frame === frame);
  if (!f) throw new Error(`frame ${frame} is not an IPv4/UDP frame`);
  return f;
}

/** The IKE message in a UDP payload: strips the 4-byte non-ESP marker on port 4500 (RFC 3948 §2.2). */
export function ikeMessage(f: UdpFrame): Uint8Array {
  if (f.srcPort === 4500 || f.dstPort === 4500) {
    const p = f.payload;
    if (p.length < 4 || p[0] !== 0 || p[1] !== 0 || p[2] !== 0 || p[3] !== 0) {
      throw new Error(`frame ${f.frame}: no non-ESP marker, not IKE`);
    }
    return p.subarray(4);
  }
  return f.payload;
}
