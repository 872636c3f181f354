/**
 * strongSwan 6.0.6 lab capture, NAT scenario: strongswan-lab/a-nat-keepalive/outside.pcap
 * with keys.json from the same folder (ESP:AES_GCM_16_128/NO_EXT_SEQ; enc_key = key ‖
 * 4-byte salt; SPI 33edbb96 initiator → responder, d80bade7 responder → initiator).
 * Frames 5-12 and 15-26 are ESP-in-UDP between 198.51.100.1:26329 (the NAT) and
 * 198.51.100.2:4500; libipsec sends them with a computed UDP checksum.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { endpoint, formatIp, fromHex, SeededRng, toHex } from '../../src/core/index.ts';
import { EncrId, IntegId, type CipherSuite } from '../../src/crypto/algorithms.ts';
import { EspProcessor } from '../../src/ipsec/esp-processor.ts';
import { SecurityAssociationDatabase, type ChildSaInput } from '../../src/ipsec/sad.ts';
import { EthernetCodec } from '../../src/wire/link.ts';
import { Ipv4Codec } from '../../src/wire/ipv4.ts';
import { UdpCodec } from '../../src/wire/udp.ts';
import { classifyUdpPayload } from '../../src/wire/udp-encap.ts';
import { CAPTURES_DIR, readPcap } from '../helpers/pcap-frames.ts';

const DIR = 'strongswan-lab/a-nat-keepalive/';
const GCM128: CipherSuite = { encr: EncrId.AES_GCM_16, keyBits: 128, integ: IntegId.NONE };

interface EspKeyRow {
  readonly spi: string;
  readonly direction: string;
  readonly enc_key: string;
}
const keys = JSON.parse(readFileSync(CAPTURES_DIR + DIR + 'keys.json', 'utf8')) as { esp: EspKeyRow[] };
const SPI_INI = 0x33edbb96;
const SPI_RSP = 0xd80bade7;
const keyOf = (spi: number): Uint8Array => fromHex(keys.esp.find((k) => parseInt(k.spi, 16) === spi)!.enc_key);

interface EspFrame {
  readonly number: number;
  readonly ip: Uint8Array;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly udpChecksum: number;
  readonly esp: Uint8Array;
}

function espFrames(): EspFrame[] {
  const out: EspFrame[] = [];
  for (const f of readPcap(DIR + 'outside.pcap').frames) {
    const eth = EthernetCodec.decode(f.data);
    if (eth.ethertype !== 0x0800) continue;
    const ip = Ipv4Codec.decode(eth.payload, 14);
    if (ip.protocol !== 17) continue;
    const udp = UdpCodec.decode(ip.payload);
    if (classifyUdpPayload(udp.srcPort, udp.dstPort, udp.payload).kind !== 'esp') continue;
    out.push({
      number: f.number,
      ip: eth.payload.subarray(0, ip.payload.length + 20),
      src: formatIp(ip.src),
      dst: formatIp(ip.dst),
      srcPort: udp.srcPort,
      dstPort: udp.dstPort,
      udpChecksum: udp.checksum,
      esp: udp.payload,
    });
  }
  return out;
}

function input(spi: number, extra: Partial<ChildSaInput> = {}): ChildSaInput {
  return {
    spi,
    suite: GCM128,
    encKey: keyOf(spi),
    esn: false,
    replayWindow: 64,
    encap: { local: endpoint('198.51.100.2', 4500), remote: endpoint('198.51.100.1', 26329) },
    ...extra,
  };
}

describe('strongSwan a-nat-keepalive outside.pcap: ESP-in-UDP, AES-GCM-128', () => {
  const frames = espFrames();

  it('has 20 ESP-in-UDP frames, 10 each way, all with a non-zero UDP checksum', () => {
    expect(frames.map((f) => f.number)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26]);
    expect(frames.every((f) => f.udpChecksum !== 0)).toBe(true);
  });

  it('every frame decrypts through receive() to an inner ICMP echo between 10.77.10.1 and 10.77.20.1', () => {
    const sad = new SecurityAssociationDatabase();
    sad.addInbound('ini-to-rsp', input(SPI_INI), 0);
    sad.addInbound('rsp-to-ini', input(SPI_RSP), 0);
    const p = new EspProcessor({ sad, rng: new SeededRng(1) });
    const seen: string[] = [];
    for (const f of frames) {
      const r = p.receive(f.ip);
      expect(r.ok, `frame ${f.number}`).toBe(true);
      if (!r.ok) continue;
      const inner = Ipv4Codec.decode(r.inner);
      expect(inner.protocol).toBe(1);
      expect(r.outer).toEqual({ src: expect.anything(), dst: expect.anything(), srcPort: f.srcPort, dstPort: f.dstPort });
      seen.push(`${r.spi.toString(16)} ${r.sequence} ${formatIp(inner.src)}>${formatIp(inner.dst)} type ${inner.payload[0]}`);
    }
    const want: string[] = [];
    for (let i = 1; i <= 10; i++) {
      want.push(`33edbb96 ${i} 10.77.10.1>10.77.20.1 type 8`, `d80bade7 ${i} 10.77.20.1>10.77.10.1 type 0`);
    }
    expect(seen).toEqual(want);
    expect(sad.inbound(SPI_INI)!.counters).toMatchObject({ decaps: 10, decrypt: 10, verify: 10, recvErrors: 0 });
    expect(sad.inbound(SPI_RSP)!.counters).toMatchObject({ decaps: 10, decrypt: 10, verify: 10, recvErrors: 0 });
    // Replaying the whole capture is now ten duplicates per SA.
    for (const f of frames) expect(p.receive(f.ip)).toMatchObject({ ok: false, reason: 'replay-duplicate' });
    expect(sad.inbound(SPI_INI)!.counters.replayFailures).toBe(10);
  });

  it('re-encrypting each inner packet with the captured IV and sequence number reproduces the UDP payload byte for byte', () => {
    const rx = new SecurityAssociationDatabase();
    rx.addInbound('a', input(SPI_INI), 0);
    rx.addInbound('b', input(SPI_RSP), 0);
    const decrypt = new EspProcessor({ sad: rx, rng: new SeededRng(1) });

    const tx = new SecurityAssociationDatabase();
    tx.addOutbound('ini', input(SPI_INI, { encap: { local: endpoint('198.51.100.1', 26329), remote: endpoint('198.51.100.2', 4500) } }), 0);
    tx.addOutbound('rsp', input(SPI_RSP), 0);
    const encrypt = new EspProcessor({ sad: tx, rng: new SeededRng(2) });

    let compared = 0;
    for (const f of frames) {
      const r = decrypt.receive(f.ip);
      if (!r.ok) throw new Error(`frame ${f.number} did not decrypt: ${r.message}`);
      const again = encrypt.protect(r.spi === SPI_INI ? 'ini' : 'rsp', r.inner, { iv: f.esp.subarray(8, 16) });
      expect(again.ok).toBe(true);
      if (!again.ok) continue;
      expect(again.sequence).toBe(r.sequence);
      expect(toHex(again.esp), `frame ${f.number}`).toBe(toHex(f.esp));
      // The outer datagram is ours: same addresses and ports, UDP checksum 0 (RFC 3948 §3.1.1).
      const outer = Ipv4Codec.decode(again.packets[0]!);
      const udp = UdpCodec.decode(outer.payload);
      expect([formatIp(outer.src), udp.srcPort, formatIp(outer.dst), udp.dstPort]).toEqual([f.src, f.srcPort, f.dst, f.dstPort]);
      expect(udp.checksum).toBe(0);
      compared++;
    }
    expect(compared).toBe(20);
  });
});
