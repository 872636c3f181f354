/**
 * Differential oracle: pcap-parser 0.2.1 (an independent classic-pcap parser)
 * must see exactly the records our reader sees in every classic capture.
 * Where pcap-parser cannot serve as an oracle (nanosecond files, pcapng, a
 * truncated tail) the tests below pin down what each reader does, on inputs
 * derived from real captures.
 */
import { Readable } from 'node:stream';
import pcapParser, { type GlobalHeader, type PacketHeader } from 'pcap-parser';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/core/errors.ts';
import { PcapWriter, readCapture, readCaptureSync, readPacketsSync, type PacketRecord } from '../../src/pcap/index.ts';
import { CAPTURE_FILES, asyncChunksOf, collectUntilError, readCaptureFile } from './capture-files.ts';

interface OracleResult {
  header?: GlobalHeader;
  /** Every packetHeader event, complete or not. */
  headers: PacketHeader[];
  packets: { header: PacketHeader; data: Buffer }[];
  error?: Error;
}

/** Runs pcap-parser to its 'end' event over a file path or over bytes. */
function oracle(input: string | Uint8Array): Promise<OracleResult> {
  return new Promise((resolve) => {
    const stream = typeof input === 'string' ? input : Readable.from([Buffer.from(input)]);
    const parser = pcapParser.parse(stream);
    const r: OracleResult = { headers: [], packets: [] };
    parser.on('globalHeader', (h) => (r.header = h));
    parser.on('packetHeader', (h) => r.headers.push(h));
    parser.on('packet', (p) => r.packets.push({ header: p.header, data: Buffer.from(p.data) }));
    parser.on('error', (e) => (r.error = e));
    let done = false;
    parser.on('end', () => {
      if (!done) resolve(r);
      done = true;
    });
  });
}

const asOracleSees = (p: PacketRecord) => ({
  timestampSeconds: Math.floor(p.timestampUs / 1e6),
  timestampMicroseconds: p.timestampUs % 1e6,
  capturedLength: p.capturedLength,
  originalLength: p.originalLength,
  data: Buffer.from(p.data).toString('hex'),
});

const oracleSees = (o: OracleResult) =>
  o.packets.map((p) => ({ ...p.header, data: p.data.toString('hex') }));

const classic = CAPTURE_FILES.filter((f) => !f.pcapng);

describe('pcap-parser as differential oracle', () => {
  it.each(classic.map((f) => [f.rel, f.path] as const))('%s: identical records', async (rel, path) => {
    const o = await oracle(path);
    const ours = [...readPacketsSync(readCaptureFile(rel))];
    expect(o.error).toBeUndefined();
    expect(o.packets.length).toBeGreaterThan(0);
    expect(ours.map(asOracleSees)).toEqual(oracleSees(o));
    const header = [...readCaptureSync(readCaptureFile(rel))][0];
    expect(header).toMatchObject({
      format: 'pcap',
      versionMajor: o.header!.majorVersion,
      versionMinor: o.header!.minorVersion,
      thiszone: o.header!.gmtOffset,
      sigfigs: o.header!.timestampAccuracy,
      snaplen: o.header!.snapshotLength,
      linktypeField: o.header!.linkLayerType,
    });
  });
});

describe('where pcap-parser is no oracle (documented differences)', () => {
  it('nanosecond pcap (strongswan-lab outside.pcap rewritten with magic a1b23c4d): pcap-parser rejects the magic, we read it', async () => {
    const src = [...readPacketsSync(readCaptureFile('strongswan-lab/a-nat-keepalive/outside.pcap'))];
    const w = new PcapWriter({ linktype: 1, precision: 'ns' });
    const parts = [w.header(), ...src.map((p) => w.packet({ timestampUs: p.timestampUs, timestampNs: p.timestampNs + 789n, data: p.data }))];
    const ns = Buffer.concat(parts);
    const o = await oracle(ns);
    expect(o.error?.message).toBe('unknown magic number: 4d3cb2a1');
    expect(o.packets).toEqual([]);
    const ours = [...readPacketsSync(ns)];
    expect(ours.length).toBe(35);
    expect(ours.map((p) => p.timestampNs)).toEqual(src.map((p) => p.timestampNs + 789n));
    expect(ours.map((p) => p.timestampUs)).toEqual(src.map((p) => p.timestampUs)); // 789 ns round down
  });

  it('pcapng (scapy/ikev2_nat_t.pcapng): pcap-parser rejects it as an unknown magic, we read 54 frames', async () => {
    const bytes = readCaptureFile('scapy/ikev2_nat_t.pcapng');
    const o = await oracle(bytes);
    expect(o.error?.message).toBe('unknown magic number: 0a0d0d0a');
    expect(o.packets).toEqual([]);
    expect([...readPacketsSync(bytes)].length).toBe(54);
  });

  it('truncated tail (tcpdump/ikev2four.pcap cut inside frame 21): pcap-parser ends quietly without the frame, we yield 20 and throw', async () => {
    const bytes = readCaptureFile('tcpdump/ikev2four.pcap');
    const full = [...readPacketsSync(bytes)];
    const last = full[20]!;
    const cut = bytes.subarray(0, last.offset + 16 + 10); // header and 10 data bytes of frame 21
    const o = await oracle(cut);
    expect(o.error).toBeUndefined();
    expect(o.packets.length).toBe(20);
    expect(o.headers.length).toBe(21); // it saw frame 21's header, then dropped the frame without a word
    const { items, error } = await collectUntilError(readCapture(asyncChunksOf(cut, 4096)));
    expect(items.filter((e) => e.kind === 'packet').length).toBe(20);
    expect(error).toBeInstanceOf(DecodeError);
    expect(error).toMatchObject({ layer: 'pcap', field: 'packet_data', offset: last.offset + 16 });
  });

  it('truncated record header (strongswan-lab inside.pcap cut 7 bytes into a record header): same silence from pcap-parser', async () => {
    const bytes = readCaptureFile('strongswan-lab/b-nonat/inside.pcap');
    const full = [...readPacketsSync(bytes)];
    const cut = bytes.subarray(0, full[10]!.offset + 7);
    const o = await oracle(cut);
    expect(o.error).toBeUndefined();
    expect(o.packets.length).toBe(10);
    const { items, error } = await collectUntilError(readCapture(asyncChunksOf(cut, 7)));
    expect(items.filter((e) => e.kind === 'packet').length).toBe(10);
    expect(error).toMatchObject({ layer: 'pcap', field: 'ts_usec', offset: full[10]!.offset + 4 });
  });
});
