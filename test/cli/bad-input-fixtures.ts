/**
 * Bad inputs for the CLI table (test/cli/bad-input.test.ts), generated into a
 * temporary directory: broken pcap and pcapng files built byte by byte, garbage from
 * a seeded generator, malformed key tables, scenario and expectation YAML, and paths
 * that cannot be read even by root.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { SeededRng } from '../../src/core/rng.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
/** A valid Ethernet pcap (strongSwan behind a NAT, outside): 24-byte header, then records. */
export const SAMPLE_PCAP = join(ROOT, 'pcaps/strongswan-nat-outside.pcap');
/** A valid scenario with a replay section (fixtures/scenarios/replay). */
export const REPLAY_SCENARIO = join(ROOT, 'fixtures/scenarios/replay/replay-pat-20s.yaml');
/** A valid scenario for simulate. */
export const SIM_SCENARIO = join(ROOT, 'fixtures/scenarios/no-nat.yaml');

/** A classic little-endian pcap file header. */
export function pcapHeader(linktype: number, snaplen = 65535): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(0xa1b2c3d4, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(snaplen, 16);
  b.writeUInt32LE(linktype, 20);
  return b;
}

/** A pcap record header: captured length `caplen`, original length `len`. */
export function pcapRecordHeader(caplen: number, len = caplen): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(1_700_000_000, 0);
  h.writeUInt32LE(caplen, 8);
  h.writeUInt32LE(len, 12);
  return h;
}

export function pcapRecord(data: Uint8Array): Buffer {
  return Buffer.concat([pcapRecordHeader(data.length), data]);
}

function block(type: number, body: Buffer): Buffer {
  const pad = (4 - (body.length % 4)) % 4;
  const total = 12 + body.length + pad;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

/** Section header block, little-endian, section length unknown. */
export function pcapngShb(): Buffer {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(0x1a2b3c4d, 0);
  body.writeUInt16LE(1, 4);
  body.writeUInt16LE(0, 6);
  body.writeBigInt64LE(-1n, 8);
  return block(0x0a0d0d0a, body);
}

export function pcapngIdb(linktype: number): Buffer {
  const body = Buffer.alloc(8);
  body.writeUInt16LE(linktype, 0);
  body.writeUInt32LE(65535, 4);
  return block(1, body);
}

export function pcapngEpb(data: Uint8Array): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(0, 0);
  head.writeUInt32LE(0x0006_0000, 4);
  head.writeUInt32LE(data.length, 12);
  head.writeUInt32LE(data.length, 16);
  return block(6, Buffer.concat([head, data]));
}

/** The first frame of the sample capture (an Ethernet IKE_SA_INIT request). */
export function sampleFrame(): Buffer {
  const whole = readFileSync(SAMPLE_PCAP);
  const caplen = whole.readUInt32LE(24 + 8);
  return whole.subarray(24 + 16, 24 + 16 + caplen);
}

/** A valid pcapng: SHB, one Ethernet IDB, two EPBs. */
export function validPcapng(): Buffer {
  const f = sampleFrame();
  return Buffer.concat([pcapngShb(), pcapngIdb(1), pcapngEpb(f), pcapngEpb(f)]);
}

/** `n` bytes from a seeded generator (after a first byte that is no capture magic). */
export function seededBytes(seed: number, n: number): Buffer {
  const rng = new SeededRng(seed);
  const b = Buffer.from(rng.bytes(n));
  b[0] = 0x5a;
  return b;
}

/** Writes fixtures into one directory. */
export class FixtureDir {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, name);
  }

  file(name: string, content: Uint8Array | string): string {
    const p = this.path(name);
    writeFileSync(p, content);
    return p;
  }

  subdir(name: string, files: Record<string, string> = {}): string {
    const p = this.path(name);
    mkdirSync(p, { recursive: true });
    for (const [f, c] of Object.entries(files)) writeFileSync(join(p, f), c);
    return p;
  }

  /** A file with mode 000 (readable all the same when the tests run as root). */
  noAccess(name: string, content: string): string {
    const p = this.file(name, content);
    chmodSync(p, 0o000);
    return p;
  }

  /** A named pipe: a read would wait for a writer forever. */
  fifo(name: string): string {
    const p = this.path(name);
    execFileSync('mkfifo', [p]);
    return p;
  }
}

/** True when mode 000 does not stop this process from reading (root, CAP_DAC_OVERRIDE). */
export function readsDespiteMode000(f: FixtureDir): boolean {
  const p = f.noAccess('probe-000', 'x');
  try {
    readFileSync(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * A regular file whose read fails even for root: /proc/self/mem is a regular file
 * of size 0 whose offset 0 is never mapped, so read(2) fails with EIO.
 */
export const UNREADABLE_FOR_ROOT = '/proc/self/mem';
