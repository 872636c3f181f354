/**
 * `--pcap FILE`: every datagram this peer sends or receives, rebuilt as an outer IP
 * packet (IPv4 or IPv6, then UDP with a real checksum) with the wire codecs and
 * written as classic pcap, link type RAW (101). Each record is written at once, so
 * the file is readable while the peer runs and complete if it is killed.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Endpoint, Micros } from '../core/index.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { Ipv4Codec } from '../wire/ipv4.ts';
import { Ipv6Codec } from '../wire/ipv6.ts';
import { encodeUdp } from '../wire/udp.ts';
import { PcapWriter } from '../pcap/writer.ts';

export const LINKTYPE_RAW = 101;

/** The outer IP packet of a UDP datagram between two endpoints. */
export function outerPacket(src: Endpoint, dst: Endpoint, payload: Uint8Array, identification: number): Uint8Array {
  const udp = encodeUdp({ srcPort: src.port, dstPort: dst.port, payload }, { src: src.addr, dst: dst.addr, checksum: 'compute' });
  if (src.addr.family === 4) {
    return Ipv4Codec.encode({
      dscp: 0,
      ecn: 0,
      identification: identification & 0xffff,
      reservedFlag: false,
      dontFragment: false,
      moreFragments: false,
      fragmentOffset: 0,
      ttl: 64,
      protocol: IP_PROTOCOL.UDP,
      src: src.addr,
      dst: dst.addr,
      options: new Uint8Array(0),
      payload: udp,
    });
  }
  return Ipv6Codec.encode({ trafficClass: 0, flowLabel: 0, hopLimit: 64, src: src.addr, dst: dst.addr, extensions: [], protocol: IP_PROTOCOL.UDP, payload: udp });
}

export class PcapFile {
  private readonly fd: number;
  private readonly writer = new PcapWriter({ linktype: LINKTYPE_RAW });
  private ident = 0;
  private closed = false;
  packets = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, this.writer.header());
  }

  /** One datagram at wall-clock time `wallUs` (µs since the epoch). */
  record(wallUs: Micros, src: Endpoint, dst: Endpoint, payload: Uint8Array): void {
    if (this.closed) return;
    const data = outerPacket(src, dst, payload, this.ident++);
    writeSync(this.fd, this.writer.packet({ timestampUs: Math.max(0, Math.trunc(wallUs)), data }));
    this.packets++;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
