/**
 * The analyser's packet fast path (CaptureAnalyzer.packetSink through
 * readCapture().feed) against the regular path (every packet as a PacketRecord through
 * entry()): the reports must be identical, on the reference captures, the shared
 * capture collection, and seeded random frames around the fast path's edges (VLAN
 * tags, IPv6 ethertype, IP options, fragments, bad lengths, port 500, markers,
 * keepalives, IKE-looking ESP, snap-truncated frames), in pcap and pcapng, fed in
 * chunks of random sizes so records straddle chunk boundaries.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.ts';
import { CaptureAnalyzer } from '../../src/analysis/analyzer.ts';
import { feedSource } from '../../src/analysis/source.ts';
import { readCapture } from '../../src/pcap/reader.ts';
import { PcapWriter, PcapngWriter } from '../../src/pcap/writer.ts';
import { CAPTURES_DIR } from '../helpers/pcap-frames.ts';

function chunked(bytes: Uint8Array, seed: number): Uint8Array[] {
  const rng = new SeededRng(seed);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, rng.int(1, 4096));
    out.push(bytes.slice(at, at + n));
    at += n;
  }
  return out;
}

async function bothWays(bytes: Uint8Array, seed = 1): Promise<{ fast: unknown; regular: unknown }> {
  const run = async (fast: boolean) => {
    const a = new CaptureAnalyzer();
    const outcome = await feedSource(a, {
      name: 'capture',
      entries: () => {
        const s = readCapture(chunked(bytes, seed));
        return fast ? s : (async function* () { yield* s; })();
      },
    });
    return { report: a.finish(), outcome };
  };
  return { fast: await run(true), regular: await run(false) };
}

function captureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...captureFiles(p));
    else if (/\.(pcap|pcapng|cap)$/.test(name)) out.push(p);
  }
  return out.sort();
}

const u32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
};

/** Ethernet/IPv4/UDP frames on and around the fast path. */
function randomFrames(seed: number, count: number): Uint8Array[] {
  const rng = new SeededRng(seed);
  const ports = [500, 4500, 4500, 4500, 4501, 1234, 40000, 40001];
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.int(0, 9);
    let payload: Uint8Array;
    if (kind === 0) payload = Uint8Array.of(0xff);
    else if (kind === 1) payload = rng.bytes(rng.int(0, 60)).fill(0, 0, 4);
    else if (kind === 2) {
      // Looks like IKE without the marker.
      payload = rng.bytes(rng.int(28, 80));
      payload[17] = 0x20;
      payload[18] = 35;
      u32(payload, 24, payload.length);
    } else if (kind === 3) payload = rng.bytes(rng.int(0, 10));
    else {
      payload = rng.bytes(rng.int(8, 200));
      u32(payload, 0, kind === 9 ? rng.int(1, 0xffffffff) : 0x10000000 + rng.int(1, 3));
    }
    const vlan = rng.int(0, 30) === 0;
    const pad = rng.int(0, 5) === 0 ? rng.int(1, 10) : 0;
    const f = new Uint8Array(14 + (vlan ? 4 : 0) + 28 + payload.length + pad);
    let o = 12;
    if (vlan) {
      f[12] = 0x81;
      o = 16;
    }
    f[o] = rng.int(0, 40) === 0 ? 0x86 : 0x08;
    f[o + 1] = rng.int(0, 60) === 0 ? 0xdd : 0;
    const ip = o + 2;
    f[ip] = rng.int(0, 50) === 0 ? 0x46 : rng.int(0, 80) === 0 ? 0x65 : 0x45;
    const total = 28 + payload.length + (rng.int(0, 40) === 0 ? rng.int(-30, 30) : 0);
    f[ip + 2] = (total >> 8) & 0xff;
    f[ip + 3] = total & 0xff;
    if (rng.int(0, 40) === 0) f[ip + 6] = 0x20;
    if (rng.int(0, 60) === 0) f[ip + 7] = 8;
    if (rng.int(0, 10) === 0) f[ip + 6] = 0x40;
    f[ip + 8] = 64;
    f[ip + 9] = rng.int(0, 40) === 0 ? 50 : 17;
    u32(f, ip + 12, rng.int(0, 20) === 0 ? rng.int(0, 0xffffffff) : 0xc6336400 + rng.int(0, 3));
    u32(f, ip + 16, 0xcb007100 + rng.int(0, 2));
    const u = ip + 20;
    const sp = ports[rng.int(0, ports.length - 1)]!;
    const dp = ports[rng.int(0, ports.length - 1)]!;
    f[u] = sp >> 8;
    f[u + 1] = sp & 0xff;
    f[u + 2] = dp >> 8;
    f[u + 3] = dp & 0xff;
    const udpLen = 8 + payload.length + (rng.int(0, 40) === 0 ? rng.int(-10, 10) : 0);
    f[u + 4] = (udpLen >> 8) & 0xff;
    f[u + 5] = udpLen & 0xff;
    f.set(payload, u + 8);
    frames.push(rng.int(0, 50) === 0 ? f.subarray(0, rng.int(0, f.length)) : f);
  }
  return frames;
}

function asPcap(frames: readonly Uint8Array[], snaplen = 65535): Uint8Array {
  const w = new PcapWriter({ linktype: 1, snaplen });
  let t = 1_700_000_000_000_000;
  return Buffer.concat([w.header(), ...frames.map((data, i) => w.packet({ timestampUs: (t += 1_000_000 + i * 7), data }))]);
}

function asPcapng(frames: readonly Uint8Array[]): Uint8Array {
  const w = new PcapngWriter();
  const id = w.addInterface({ name: 'eth0', linktype: 1, snaplen: 65535 });
  let t = 1_700_000_000_000_000;
  return Buffer.concat([w.header(), ...frames.map((data, i) => w.packet({ timestampUs: (t += 1_500_000), data, interfaceId: id, ...(i % 9 === 0 ? { comment: 'c' } : {}) }))]);
}

describe('the analyser fast path gives the regular path’s report', () => {
  it('on every capture of the shared collection and pcaps/', async () => {
    const files = [...captureFiles(CAPTURES_DIR), ...captureFiles(new URL('../../pcaps/', import.meta.url).pathname)];
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const { fast, regular } = await bothWays(readFileSync(f));
      expect(fast, f).toEqual(regular);
    }
  });

  for (const seed of [1, 2, 3]) {
    it(`on seeded random frames (seed ${seed}), pcap, pcapng and a 60-byte snap length`, async () => {
      const frames = randomFrames(seed, 4000);
      for (const bytes of [asPcap(frames), asPcapng(frames), asPcap(frames, 60)]) {
        const { fast, regular } = await bothWays(bytes, seed);
        expect(fast).toEqual(regular);
      }
    });
  }

  it('past the flow and ESP SA limits (4,096 each), with a source that changes port', async () => {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 4300; i++) {
      const f = new Uint8Array(14 + 28 + 16);
      f[12] = 0x08;
      f[14] = 0x45;
      f[16] = 0;
      f[17] = 44;
      f[22] = 64;
      f[23] = 17;
      u32(f, 26, 0x0a000000 + i);
      u32(f, 30, 0xcb007101);
      const port = i % 7 === 0 ? 4501 : 4500;
      f[34] = port >> 8;
      f[35] = port & 0xff;
      f[36] = 4500 >> 8;
      f[37] = 4500 & 0xff;
      f[39] = 24;
      u32(f, 42, i % 5 === 0 ? 0x77 : 0x1000 + i);
      u32(f, 46, i + 1);
      frames.push(f);
    }
    const { fast, regular } = await bothWays(asPcap(frames));
    expect(fast).toEqual(regular);
  });
});
