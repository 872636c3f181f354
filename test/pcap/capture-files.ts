/**
 * Shared code for the pcap tests: the shared capture files, chunked sources,
 * tshark fixtures and a record shape that leaves out file positions.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecodeError } from '../../src/core/errors.ts';
import type { PacketRecord } from '../../src/pcap/index.ts';

/** ../shared/captures from the repository root (read-only). */
export const CAPTURES_DIR = fileURLToPath(new URL('../../../shared/captures/', import.meta.url));
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/tshark/', import.meta.url));

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

export interface CaptureFile {
  /** Path relative to CAPTURES_DIR, e.g. "tcpdump/ikev2four.pcap". */
  readonly rel: string;
  readonly path: string;
  readonly pcapng: boolean;
}

/** Every *.pcap and *.pcapng under the shared captures directory. */
export const CAPTURE_FILES: readonly CaptureFile[] = walk(CAPTURES_DIR)
  .filter((p) => /\.(pcap|pcapng)$/.test(p))
  .map((path) => ({ rel: relative(CAPTURES_DIR, path), path, pcapng: path.endsWith('.pcapng') }));

export function readCaptureFile(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(CAPTURES_DIR, rel)));
}

/** Splits bytes into chunks of `size` (views). */
export function* chunksOf(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

/** The same as an async iterable, one chunk per microtask, like a stream. */
export async function* asyncChunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (const c of chunksOf(bytes, size)) yield c;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Runs an async iteration to its end; returns what was yielded and what was thrown (if anything). */
export async function collectUntilError<T>(it: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  let error: unknown;
  try {
    for await (const x of it) items.push(x);
  } catch (e) {
    error = e;
  }
  return { items, error };
}

/** The same for a sync iterable. */
export function collectUntilErrorSync<T>(it: Iterable<T>): { items: T[]; error: unknown } {
  const items: T[] = [];
  let error: unknown;
  try {
    for (const x of it) items.push(x);
  } catch (e) {
    error = e;
  }
  return { items, error };
}

/** A DecodeError's identifying parts, for one toEqual. */
export function decodeErrorParts(e: unknown): { layer: string; field: string; offset: number } | string {
  if (e instanceof DecodeError) return { layer: e.layer, field: e.field, offset: e.offset };
  return `not a DecodeError: ${String(e)}`;
}

/** What a packet is, independent of where it sits in a file. */
export function packetContent(r: PacketRecord) {
  return {
    index: r.index,
    linktype: r.linktype,
    interfaceId: r.interfaceId,
    interfaceName: r.interfaceName,
    timestampUs: r.timestampUs,
    timestampNs: r.timestampNs,
    capturedLength: r.capturedLength,
    originalLength: r.originalLength,
    data: r.data,
    comments: r.comments,
    flags: r.flags,
  };
}

export interface TsharkRow {
  readonly number: number;
  readonly len: number;
  readonly capLen: number;
  /** frame.time_epoch as exact nanoseconds. */
  readonly epochNs: bigint;
  readonly interfaceId: string;
  readonly interfaceName: string;
  readonly comment: string;
}

/** Fixture written by test/fixtures/tshark/regenerate-pcap.sh for a capture. */
export function tsharkFixturePath(rel: string): string {
  return join(FIXTURES_DIR, `pcap-${rel.replaceAll('/', '_')}.tsv`);
}

export function readTsharkFixture(rel: string): TsharkRow[] {
  const lines = readFileSync(tsharkFixturePath(rel), 'utf8').split('\n').filter((l) => l.length > 0);
  const header = lines.shift();
  if (header !== 'frame.number\tframe.len\tframe.cap_len\tframe.time_epoch\tframe.interface_id\tframe.interface_name\tframe.comment') {
    throw new Error(`unexpected fixture header in ${rel}: ${header}`);
  }
  return lines.map((l) => {
    const [number, len, capLen, epoch, interfaceId, interfaceName, comment] = l.split('\t');
    const [sec, frac = ''] = epoch!.split('.');
    return {
      number: Number(number),
      len: Number(len),
      capLen: Number(capLen),
      epochNs: BigInt(sec!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9)),
      interfaceId: interfaceId ?? '',
      interfaceName: interfaceName ?? '',
      comment: comment ?? '',
    };
  });
}
