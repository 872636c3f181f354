/**
 * Constant memory: a 200 MB capture streamed from an async generator (which
 * never holds more than one 64 KiB window of it) is read while the heap and
 * the ArrayBuffer memory stay flat.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { PcapWriter, PcapngWriter, readCapture } from '../../src/pcap/index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;

/**
 * `total` bytes: `header`, then `record` repeated, delivered in `chunk`-byte
 * windows over one precomputed tile (so records straddle chunk boundaries).
 */
async function* periodic(header: Uint8Array, record: Uint8Array, total: number, chunk: number): AsyncGenerator<Uint8Array> {
  yield header;
  const period = record.length;
  const tile = new Uint8Array(chunk + period);
  for (let i = 0; i < tile.length; i += period) tile.set(record.subarray(0, Math.min(period, tile.length - i)), i);
  let sent = 0;
  let phase = 0;
  const body = Math.floor((total - header.length) / period) * period;
  while (sent < body) {
    const n = Math.min(chunk, body - sent);
    yield tile.subarray(phase, phase + n);
    sent += n;
    phase = (phase + n) % period;
  }
}

async function measure(source: AsyncIterable<Uint8Array>) {
  gc();
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakBuffers = before.arrayBuffers;
  let packets = 0;
  let bytes = 0;
  const t0 = performance.now();
  for await (const e of readCapture(source)) {
    if (e.kind !== 'packet') continue;
    packets++;
    bytes += e.data.length;
    if (packets % 2000 === 0) {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakBuffers = Math.max(peakBuffers, m.arrayBuffers);
    }
  }
  const ms = performance.now() - t0;
  gc();
  const after = process.memoryUsage();
  return {
    packets,
    bytes,
    ms,
    heapGrowth: after.heapUsed - before.heapUsed,
    peakHeapGrowth: peakHeap - before.heapUsed,
    peakBufferGrowth: peakBuffers - before.arrayBuffers,
  };
}

describe('constant memory', () => {
  it('reads a 200 MB classic pcap stream with bounded heap and buffer growth', async () => {
    const w = new PcapWriter({ linktype: 1 });
    const data = Uint8Array.from({ length: 1500 }, (_, i) => i & 0xff);
    const record = w.packet({ timestampUs: 1_700_000_000_000_000, data });
    const total = 200 * MB;
    const r = await measure(periodic(w.header(), record, total, 65536));
    const expected = Math.floor((total - 24) / record.length);
    expect(r.packets).toBe(expected);
    expect(r.bytes).toBe(expected * 1500);
    expect(r.heapGrowth).toBeLessThan(50 * MB);
    expect(r.peakHeapGrowth).toBeLessThan(50 * MB);
    expect(r.peakBufferGrowth).toBeLessThan(50 * MB);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('reads a 100 MB pcapng stream (EPBs with comments) with bounded growth', async () => {
    const w = new PcapngWriter();
    const id = w.addInterface({ name: 'eth0', linktype: 1 });
    const header = w.header();
    const record = w.packet({ interfaceId: id, timestampUs: 1_700_000_000_000_000, data: new Uint8Array(1401), comment: 'step' });
    const r = await measure(periodic(header, record, 100 * MB, 65536));
    expect(r.packets).toBe(Math.floor((100 * MB - header.length) / record.length));
    expect(r.heapGrowth).toBeLessThan(50 * MB);
    expect(r.peakHeapGrowth).toBeLessThan(50 * MB);
    expect(r.peakBufferGrowth).toBeLessThan(50 * MB);
    expect(r.ms).toBeLessThan(10_000);
  });
});
