/**
 * Shared pieces of the replay tests: captures built with the pcap writer (LINKTYPE_RAW,
 * IPv4 built with the lab's packet builders), sources over bytes or files, and the
 * fixture scenarios.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseIp } from '../../src/core/addr.ts';
import { concatBytes } from '../../src/core/bytes.ts';
import type { CaptureSource } from '../../src/analysis/source.ts';
import { readCapture } from '../../src/pcap/reader.ts';
import { PcapWriter } from '../../src/pcap/writer.ts';
import { buildIpPacket, buildUdpPacket } from '../../src/sim/packet.ts';
import { parseReplayScenario, type ReplaySection } from '../../src/sim/replay-scenario.ts';
import type { Scenario } from '../../src/sim/scenario.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const REPLAY_FIXTURES = join(ROOT, 'fixtures/scenarios/replay');
export const A_NAT_INSIDE = resolve(ROOT, '../shared/captures/strongswan-lab/a-nat-keepalive/inside.pcap');

/** Capture epoch of the synthetic captures: 2026-11-25T03:00:00Z. */
export const EPOCH_US = 1_795_575_600_000_000;
const LINKTYPE_RAW = 101;

export type SyntheticPacket =
  | { readonly at: number; readonly kind: 'keepalive'; readonly from: string; readonly to: string }
  | { readonly at: number; readonly kind: 'esp-in-udp'; readonly from: string; readonly to: string; readonly spi: number; readonly seq: number }
  | { readonly at: number; readonly kind: 'esp'; readonly from: string; readonly to: string; readonly spi: number; readonly seq: number }
  | { readonly at: number; readonly kind: 'icmp'; readonly from: string; readonly to: string };

function endpoint(s: string): { addr: ReturnType<typeof parseIp>; port: number } {
  const [a, p] = s.split(':');
  return { addr: parseIp(a!), port: Number(p) };
}

function espBytes(spi: number, seq: number): Uint8Array {
  const b = new Uint8Array(8 + 48);
  new DataView(b.buffer).setUint32(0, spi);
  new DataView(b.buffer).setUint32(4, seq);
  for (let i = 8; i < b.length; i++) b[i] = (i * 7 + seq) & 0xff;
  return b;
}

/** A classic pcap (µs, RAW) of the packets; `at` in seconds after EPOCH_US. */
export function syntheticCapture(packets: readonly SyntheticPacket[]): Uint8Array {
  const w = new PcapWriter({ linktype: LINKTYPE_RAW });
  const chunks = [w.header()];
  packets.forEach((p, i) => {
    let data: Uint8Array;
    if (p.kind === 'esp' || p.kind === 'icmp') {
      const payload = p.kind === 'esp' ? espBytes(p.spi, p.seq) : Uint8Array.of(8, 0, 0xf7, 0xfe, 0, 1, 0, 0);
      data = buildIpPacket({ src: parseIp(p.from), dst: parseIp(p.to), protocol: p.kind === 'esp' ? 50 : 1, payload, identification: i + 1 });
    } else {
      const s = endpoint(p.from);
      const d = endpoint(p.to);
      const payload = p.kind === 'keepalive' ? Uint8Array.of(0xff) : espBytes(p.spi, p.seq);
      data = buildUdpPacket({ src: s.addr, dst: d.addr, srcPort: s.port, dstPort: d.port, payload, identification: i + 1 });
    }
    chunks.push(w.packet({ timestampUs: EPOCH_US + Math.round(p.at * 1_000_000), data }));
  });
  return concatBytes(...chunks);
}

/** A CaptureSource over bytes (read as many times as asked). */
export function bytesSource(name: string, bytes: Uint8Array): CaptureSource {
  return { name, entries: () => readCapture([bytes]) };
}

export function fileSourceOf(path: string): CaptureSource {
  return bytesSource(path, new Uint8Array(readFileSync(path)));
}

export function loadReplayScenario(text: string, file = 'lab.yaml'): { scenario: Scenario; replay: ReplaySection } {
  const r = parseReplayScenario(text, file);
  if (!r.ok) throw new Error(r.issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`).join('\n'));
  return r;
}

export function loadFixture(name: string): { scenario: Scenario; replay: ReplaySection } {
  return loadReplayScenario(readFileSync(join(REPLAY_FIXTURES, name), 'utf8'), name);
}

/** The 25 s keepalive story: keepalives at 0, 25 and 50 s; the responder's ESP at 0.2 s and 38.4 s. */
export const KEEPALIVE_25S: readonly SyntheticPacket[] = [
  { at: 0, kind: 'keepalive', from: '10.77.0.2:4500', to: '198.51.100.2:4500' },
  { at: 0.2, kind: 'esp-in-udp', from: '198.51.100.2:4500', to: '10.77.0.2:4500', spi: 0xc0ffee01, seq: 1 },
  { at: 25, kind: 'keepalive', from: '10.77.0.2:4500', to: '198.51.100.2:4500' },
  { at: 38.4, kind: 'esp-in-udp', from: '198.51.100.2:4500', to: '10.77.0.2:4500', spi: 0xc0ffee01, seq: 2 },
  { at: 50, kind: 'keepalive', from: '10.77.0.2:4500', to: '198.51.100.2:4500' },
];
