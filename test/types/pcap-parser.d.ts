// Minimal typings for pcap-parser 0.2.1 (the package ships none); only what the
// differential tests in test/pcap and bench/pcap-reader-vs-pcap-parser.ts use.
declare module 'pcap-parser' {
  import type { EventEmitter } from 'node:events';
  import type { Readable } from 'node:stream';

  export interface GlobalHeader {
    magicNumber: number;
    majorVersion: number;
    minorVersion: number;
    gmtOffset: number;
    timestampAccuracy: number;
    snapshotLength: number;
    linkLayerType: number;
  }
  export interface PacketHeader {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  }
  export interface Parser extends EventEmitter {
    on(event: 'globalHeader', fn: (h: GlobalHeader) => void): this;
    on(event: 'packetHeader', fn: (h: PacketHeader) => void): this;
    on(event: 'packetData', fn: (data: Buffer) => void): this;
    on(event: 'packet', fn: (p: { header: PacketHeader; data: Buffer }) => void): this;
    on(event: 'end', fn: () => void): this;
    on(event: 'error', fn: (e: Error) => void): this;
    stream: Readable;
  }
  export function parse(input: string | Readable): Parser;
  const pcapParser: { parse: typeof parse };
  export default pcapParser;
}
