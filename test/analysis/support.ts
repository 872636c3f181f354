/**
 * Shared test code for the analyser: run it in-process over capture files or bytes,
 * read the strongSwan lab manifests, and build small synthetic captures (classic
 * pcap, LINKTYPE_IPV4) with IPv4 fragmentation, UDP, ESP and IKE messages.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readCaptureSync } from '../../src/pcap/reader.ts';
import { CaptureAnalyzer, type AnalyzerOptions } from '../../src/analysis/analyzer.ts';
import type { AnalysisReport } from '../../src/analysis/report.ts';

export const CAPTURES = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));
export const LAB = `${CAPTURES}strongswan-lab/`;
export const FIXTURES = fileURLToPath(new URL('../fixtures/tshark-decrypted/', import.meta.url));

/** Analyses capture files (paths) or in-memory captures ([name, bytes]) together, in order. */
export function analyze(inputs: ReadonlyArray<string | readonly [string, Uint8Array]>, opts: AnalyzerOptions = {}): AnalysisReport {
  const a = new CaptureAnalyzer(opts);
  for (const input of inputs) {
    const [name, bytes] = typeof input === 'string' ? [input, new Uint8Array(readFileSync(input))] : input;
    a.beginCapture(name);
    for (const e of readCaptureSync(bytes)) a.entry(e);
    a.endCapture();
  }
  return a.finish();
}

// ---- strongSwan lab manifests ----

export interface EspBySpi {
  spi: string;
  dir: 'ini->rsp' | 'rsp->ini';
  encap: 'udp' | 'raw-esp';
  src: string;
  dst: string;
  packets: number;
  first_seq: number;
  last_seq: number;
}

export interface CaptureTruth {
  flows: Record<string, number>;
  esp_by_spi: EspBySpi[];
  esp_packets: Record<string, number>;
  esp_udp_encapsulated: number;
  esp_raw_proto50: number;
  keepalives: Record<string, number>;
  keepalive_flows: Record<string, number>;
  keepalive_intervals: Record<string, number[]>;
  ike_ports: string[];
  ike_messages: Array<{ dir: string; src: string; dst: string; exchange: string; msgid: number; flags: string; non_esp_marker: boolean }>;
}

export interface Manifest {
  ground_truth: {
    behind_nat: 'initiator' | 'responder' | 'none';
    udp_encapsulation_expected: boolean;
    fake_natd_source_hash_sent_by?: Array<'initiator' | 'responder'>;
    ids: { initiator: string; responder: string };
    traffic_selectors: { initiator: string; responder: string };
  };
  observed: {
    initiator_endpoint_seen_by_responder_side: { to_500: string; to_4500?: string };
    responder_endpoints: string[];
    ike_floated_to_4500: boolean;
    first_message_on_4500?: string;
    ike_exchanges: Record<string, number>;
    esp_spis: Array<{ spi: string; dir: string; packets: number; src: string; dst: string }>;
    nat_keepalives: Record<string, number>;
  };
  ike_sas: Array<{ spi_i: string; spi_r: string }>;
  nat_detection_payloads: Array<{
    capture: 'inside' | 'outside';
    dir: 'ini->rsp' | 'rsp->ini';
    message: string;
    packet: string;
    notify: 'NAT_DETECTION_SOURCE_IP' | 'NAT_DETECTION_DESTINATION_IP';
    hash: string;
    hash_computed_over: string;
  }>;
  captures: { inside: CaptureTruth; outside: CaptureTruth };
}

export function manifest(scenario: string): Manifest {
  return JSON.parse(readFileSync(`${LAB}${scenario}/manifest.json`, 'utf8')) as Manifest;
}

// ---- synthetic captures ----

export function ip4(s: string): Uint8Array {
  return Uint8Array.from(s.split('.').map(Number));
}

function checksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i]! << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IPv4 packet (header checksum filled in). */
export function ipv4(src: string, dst: string, protocol: number, payload: Uint8Array, o: { id?: number; offset8?: number; more?: boolean } = {}): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, o.id ?? 1);
  dv.setUint16(6, ((o.more ? 1 : 0) << 13) | (o.offset8 ?? 0));
  p[8] = 64;
  p[9] = protocol;
  p.set(ip4(src), 12);
  p.set(ip4(dst), 16);
  dv.setUint16(10, checksum(p.subarray(0, 20)));
  p.set(payload, 20);
  return p;
}

/** A UDP datagram with checksum 0 (allowed over IPv4). */
export function udp(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint16(4, u.length);
  u.set(payload, 8);
  return u;
}

/** Splits an IP payload into two IPv4 fragments (the first carries `firstBytes`, a multiple of 8). */
export function fragments(src: string, dst: string, protocol: number, payload: Uint8Array, id: number, firstBytes = 1224): Uint8Array[] {
  return [
    ipv4(src, dst, protocol, payload.subarray(0, firstBytes), { id, more: true }),
    ipv4(src, dst, protocol, payload.subarray(firstBytes), { id, offset8: firstBytes / 8 }),
  ];
}

export interface Frame {
  readonly t: number;
  readonly packet: Uint8Array;
}

/** A classic pcap (LINKTYPE_IPV4 = 228, microseconds, little-endian). */
export function pcap(frames: readonly Frame[], base = 1_800_000_000): Uint8Array {
  const total = 24 + frames.reduce((n, f) => n + 16 + f.packet.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 65535, true);
  dv.setUint32(20, 228, true);
  let o = 24;
  for (const f of frames) {
    const us = Math.round(f.t * 1e6);
    dv.setUint32(o, base + Math.floor(us / 1e6), true);
    dv.setUint32(o + 4, us % 1e6, true);
    dv.setUint32(o + 8, f.packet.length, true);
    dv.setUint32(o + 12, f.packet.length, true);
    out.set(f.packet, o + 16);
    o += 16 + f.packet.length;
  }
  return out;
}

export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** SHA-1(SPIi | SPIr | IP | port), computed here independently of src/. */
export function natd(spiI: string, spiR: string, ep: string): Uint8Array {
  const [a, p] = ep.split(':');
  return new Uint8Array(
    createHash('sha1')
      .update(Buffer.concat([Buffer.from(spiI + spiR, 'hex'), Buffer.from(ip4(a!)), Buffer.from([Number(p) >> 8, Number(p) & 0xff])]))
      .digest(),
  );
}

/** Generic payload: next, flags, length, body. */
export function payload(next: number, body: Uint8Array): Uint8Array {
  const p = new Uint8Array(4 + body.length);
  p[0] = next;
  new DataView(p.buffer).setUint16(2, p.length);
  p.set(body, 4);
  return p;
}

/** A Notify payload body (protocol 0, no SPI). */
export function notifyBody(type: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(4 + data.length);
  new DataView(b.buffer).setUint16(2, type);
  b.set(data, 4);
  return b;
}

/** Chains [type, body] payloads: returns the first type and the bytes. */
export function chain(items: ReadonlyArray<readonly [number, Uint8Array]>): { first: number; bytes: Uint8Array } {
  const parts = items.map(([, body], i) => payload(items[i + 1]?.[0] ?? 0, body));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { first: items[0]?.[0] ?? 0, bytes };
}

/** An IKEv2 message: header + payload chain. flags: 0x08 I, 0x20 R. */
export function ikev2(spiI: string, spiR: string, exchange: number, flags: number, msgid: number, c: { first: number; bytes: Uint8Array }): Uint8Array {
  const m = new Uint8Array(28 + c.bytes.length);
  m.set(hex(spiI), 0);
  m.set(hex(spiR), 8);
  m[16] = c.first;
  m[17] = 0x20;
  m[18] = exchange;
  m[19] = flags;
  const dv = new DataView(m.buffer);
  dv.setUint32(20, msgid);
  dv.setUint32(24, m.length);
  m.set(c.bytes, 28);
  return m;
}

export const MARKER = new Uint8Array(4);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An ESP packet with an opaque body. */
export function esp(spi: number, seq: number, bodyLength = 48): Uint8Array {
  const e = new Uint8Array(8 + bodyLength);
  const dv = new DataView(e.buffer);
  dv.setUint32(0, spi);
  dv.setUint32(4, seq);
  for (let i = 8; i < e.length; i++) e[i] = (i * 7 + seq) & 0xff;
  return e;
}
