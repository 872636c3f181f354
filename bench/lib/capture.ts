/**
 * A seeded ESP-in-UDP capture for the analyse benchmark, written with our PcapWriter
 * (classic pcap, Ethernet, microseconds).
 *
 * - IKE: `IKE_SAS` initiators, each behind its own static NAT, run a real
 *   IKE_SA_INIT + IKE_AUTH (x25519, AES-GCM, PSK) against one responder with the
 *   in-process engines; the four datagrams of each exchange are captured outside the
 *   NATs exactly as the engines sent them (port 500, then the float to 4500 with the
 *   non-ESP marker), so NAT-D verdicts, the float and the marker are all real.
 * - ESP: the first `ACTIVE_SAS` CHILD_SAs carry ESP-in-UDP both ways on their
 *   negotiated SPIs with per-direction sequence numbers from 1, UDP checksum zero
 *   (RFC 3948 §3.1.1), frame sizes drawn uniformly from 78..1400 bytes (a GCM ESP
 *   packet cannot be shorter), the bytes after the header from a seeded pool.
 * - Keepalives: the other SAs stay idle and their NAT-side initiators send one 0xFF
 *   byte every 20 s (60-byte Ethernet frames, padded as on the wire).
 * - Time: packets 1..1000 µs apart (about 2,000 packets/s).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { SeededRng, endpoint, type Endpoint, type Micros } from '../../src/core/index.ts';
import { IkeEndpoint, type PeerConfig } from '../../src/ikev2/index.ts';
import { PcapWriter } from '../../src/pcap/writer.ts';
import { IkePair, type ChildKeys, type StaticNat } from './ike-pair.ts';

export const IKE_SAS = 6;
export const ACTIVE_SAS = 4;
const KEEPALIVE_US = 20_000_000;
const START_US = 1_700_000_000_000_000;
const RSP_ADDR = '203.0.113.10';

export interface CaptureSummary {
  readonly path: string;
  readonly packets: number;
  readonly bytes: number;
  readonly ikeSas: number;
  readonly ikeMessages: number;
  readonly espPackets: number;
  readonly keepalives: number;
  readonly espSpis: number;
  readonly durationS: number;
}

/** Ethernet + IPv4 + UDP around `payload`, padded to the 60-byte Ethernet minimum. */
class FrameBuilder {
  private ident = new Map<string, number>();

  frame(src: Endpoint, dst: Endpoint, payload: Uint8Array, payloadLength: number, checksum: boolean): Uint8Array {
    const ipLen = 20 + 8 + payloadLength;
    const f = new Uint8Array(Math.max(60, 14 + ipLen));
    // Ethernet: two locally administered MACs, type IPv4.
    f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00], 0);
    const key = `${src.addr.bytes.join('.')}`;
    const id = this.ident.get(key) ?? 0x1000;
    this.ident.set(key, (id + 1) & 0xffff);
    const ip = 14;
    f[ip] = 0x45;
    f[ip + 2] = ipLen >> 8;
    f[ip + 3] = ipLen & 0xff;
    f[ip + 4] = id >> 8;
    f[ip + 5] = id & 0xff;
    f[ip + 8] = 64;
    f[ip + 9] = 17;
    f.set(src.addr.bytes, ip + 12);
    f.set(dst.addr.bytes, ip + 16);
    const hc = csum(f, ip, 20, 0);
    f[ip + 10] = hc >> 8;
    f[ip + 11] = hc & 0xff;
    const u = ip + 20;
    f[u] = src.port >> 8;
    f[u + 1] = src.port & 0xff;
    f[u + 2] = dst.port >> 8;
    f[u + 3] = dst.port & 0xff;
    f[u + 4] = (8 + payloadLength) >> 8;
    f[u + 5] = (8 + payloadLength) & 0xff;
    f.set(payload.subarray(0, payloadLength), u + 8);
    if (checksum) {
      let pseudo = 17 + 8 + payloadLength;
      for (let i = 0; i < 4; i += 2) pseudo += ((src.addr.bytes[i]! << 8) | src.addr.bytes[i + 1]!) + ((dst.addr.bytes[i]! << 8) | dst.addr.bytes[i + 1]!);
      const c = csum(f, u, 8 + payloadLength, pseudo) || 0xffff;
      f[u + 6] = c >> 8;
      f[u + 7] = c & 0xff;
    }
    return f;
  }
}

function csum(b: Uint8Array, off: number, len: number, initial: number): number {
  let s = initial;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Buffered sequential writes to one file. */
class FileSink {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  private used = 0;
  bytes = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  write(b: Uint8Array): void {
    if (this.used + b.length > this.buf.length) this.flush();
    this.buf.set(b, this.used);
    this.used += b.length;
    this.bytes += b.length;
  }
  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

interface Flow {
  readonly spi: number;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  seq: number;
}

/** Writes a capture of exactly `packets` records to `path`. */
export function generateCapture(path: string, packets: number, seed = 0x5eed): CaptureSummary {
  const rng = new SeededRng(seed);
  const pool = rng.fork('payload').bytes(4096);
  const traffic = rng.fork('traffic');
  const writer = new PcapWriter({ linktype: 1, snaplen: 65535 });
  const sink = new FileSink(path);
  const frames = new FrameBuilder();
  sink.write(writer.header());
  let written = 0;
  const emit = (at: Micros, data: Uint8Array): void => {
    if (written >= packets) return;
    sink.write(writer.packet({ timestampUs: at, data }));
    written++;
  };

  // IKE: one responder, IKE_SAS initiators behind their own NATs.
  const rsp = new IkeEndpoint({
    rng: rng.fork('responder'),
    config: {
      peers: [{ name: 'rw', localAddrs: [RSP_ADDR], psk: 'bench-psk-0123456789', localId: 'gw.bench', localTs: ['10.99.0.0/16'], remoteTs: ['10.0.0.0/8'] }],
    },
  });
  let t = START_US;
  let ikeMessages = 0;
  const active: Flow[] = [];
  const idle: { src: Endpoint; dst: Endpoint; next: Micros }[] = [];
  for (let i = 0; i < IKE_SAS; i++) {
    const nat: StaticNat = { privateAddr: `10.0.${i}.2`, publicAddr: `198.51.100.${10 + i}`, ports: { 500: 40000 + 2 * i, 4500: 40001 + 2 * i } };
    const ini = new IkeEndpoint({ rng: rng.fork(`initiator ${i}`) });
    const peer: PeerConfig = {
      name: `site${i}`,
      localAddrs: [nat.privateAddr],
      remote: RSP_ADDR,
      psk: 'bench-psk-0123456789',
      localId: `site${i}.bench`,
      remoteId: 'gw.bench',
      localTs: [`10.${10 + i}.0.0/16`],
      remoteTs: ['10.99.0.0/16'],
    };
    const r = new IkePair(ini, rsp, nat).handshake(peer, t);
    for (const d of r.wire) {
      emit(d.at, frames.frame(d.src, d.dst, d.payload, d.payload.length, true));
      ikeMessages++;
    }
    t = r.end + 50_000;
    const outside = (c: ChildKeys): { src: Endpoint; dst: Endpoint } => {
      // The initiator's child sees its private endpoint; outside, it is the NAT's.
      const src = c.encap!.local;
      return { src: endpoint(nat.publicAddr, nat.ports[src.port] ?? src.port), dst: c.encap!.remote };
    };
    if (i < ACTIVE_SAS) {
      const up = outside(r.iniChild);
      active.push({ spi: r.iniChild.spiOut, src: up.src, dst: up.dst, seq: 0 });
      active.push({ spi: r.rspChild.spiOut, src: r.rspChild.encap!.local, dst: r.rspChild.encap!.remote, seq: 0 });
    } else {
      const up = outside(r.iniChild);
      idle.push({ ...up, next: t + KEEPALIVE_US });
    }
  }

  // ESP and keepalives, interleaved by time.
  const esp = new Uint8Array(1400);
  const keepalive = Uint8Array.of(0xff);
  let espPackets = 0;
  let keepalives = 0;
  while (written < packets) {
    t += traffic.int(1, 1000);
    for (const k of idle) {
      if (k.next <= t && written < packets) {
        emit(k.next, frames.frame(k.src, k.dst, keepalive, 1, true));
        keepalives++;
        k.next += KEEPALIVE_US;
      }
    }
    if (written >= packets) break;
    const f = active[traffic.int(0, active.length - 1)]!;
    const frameLen = traffic.int(78, 1400);
    const ctLen = Math.max(4, ((frameLen - 42 - 32) >> 2) << 2);
    const espLen = 8 + 8 + ctLen + 16;
    const seq = ++f.seq;
    esp[0] = f.spi >>> 24;
    esp[1] = (f.spi >>> 16) & 0xff;
    esp[2] = (f.spi >>> 8) & 0xff;
    esp[3] = f.spi & 0xff;
    esp[4] = seq >>> 24;
    esp[5] = (seq >>> 16) & 0xff;
    esp[6] = (seq >>> 8) & 0xff;
    esp[7] = seq & 0xff;
    // Explicit IV = the 64-bit sequence number (as EspProcessor does for GCM).
    esp.fill(0, 8, 12);
    esp.set(esp.subarray(4, 8), 12);
    const from = (seq * 37) & 2047;
    esp.set(pool.subarray(from, from + ctLen + 16), 16);
    emit(t, frames.frame(f.src, f.dst, esp, espLen, false));
    espPackets++;
  }
  sink.close();
  return {
    path,
    packets: written,
    bytes: sink.bytes,
    ikeSas: IKE_SAS,
    ikeMessages,
    espPackets,
    keepalives,
    espSpis: active.length,
    durationS: (t - START_US) / 1e6,
  };
}
