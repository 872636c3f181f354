/**
 * Seed inputs: the reference captures under ../shared/captures (read in place), and
 * every layer that can be cut out of them: link frames, IP packets, UDP datagrams and
 * payloads, IKEv2 and ISAKMP messages, ESP packets. Loaded once per process.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecodeError } from '../src/core/errors.ts';
import { readCaptureSync } from '../src/pcap/reader.ts';
import type { PacketRecord } from '../src/pcap/format.ts';
import { FrameDecoder } from '../src/pcap/frames.ts';
import { decodeUdp } from '../src/wire/udp.ts';
import { classifyUdpPayload } from '../src/wire/udp-encap.ts';

/** ../shared/captures from the repository root. */
export const CAPTURES_DIR = fileURLToPath(new URL('../../shared/captures/', import.meta.url));

export interface CaptureFile {
  /** Path below CAPTURES_DIR. */
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface UdpSeed {
  readonly srcPort: number;
  readonly dstPort: number;
  /** The UDP payload as observed (marker included). */
  readonly payload: Uint8Array;
}

export interface Corpus {
  readonly captures: readonly CaptureFile[];
  readonly frames: readonly { readonly linktype: number; readonly data: Uint8Array }[];
  readonly ipPackets: readonly Uint8Array[];
  readonly udpDatagrams: readonly Uint8Array[];
  readonly udpPayloads: readonly UdpSeed[];
  readonly ikev2: readonly Uint8Array[];
  readonly ikev1: readonly Uint8Array[];
  readonly esp: readonly Uint8Array[];
}

function walk(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.(pcap|pcapng)$/.test(n) ? [p] : [];
  });
}

/** Records of a capture up to its first fault. */
export function packetsOf(bytes: Uint8Array): PacketRecord[] {
  const out: PacketRecord[] = [];
  try {
    for (const e of readCaptureSync(bytes)) if (e.kind === 'packet') out.push(e);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
  }
  return out;
}

let cached: Corpus | undefined;

function uniq(list: Uint8Array[]): Uint8Array[] {
  const seen = new Set<string>();
  return list.filter((b) => {
    const k = Buffer.from(b).toString('base64');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function loadCorpus(): Corpus {
  if (cached) return cached;
  const captures: CaptureFile[] = walk(CAPTURES_DIR).map((p) => ({
    name: p.slice(CAPTURES_DIR.length),
    bytes: new Uint8Array(readFileSync(p)),
  }));
  if (captures.length === 0) throw new Error(`no captures found under ${CAPTURES_DIR}`);
  const frames: { linktype: number; data: Uint8Array }[] = [];
  const ip: Uint8Array[] = [];
  const udp: Uint8Array[] = [];
  const udpPayloads: UdpSeed[] = [];
  const v2: Uint8Array[] = [];
  const v1: Uint8Array[] = [];
  const esp: Uint8Array[] = [];
  for (const c of captures) {
    const fd = new FrameDecoder();
    for (const rec of packetsOf(c.bytes)) {
      frames.push({ linktype: rec.linktype, data: rec.data });
      const f = fd.decode(rec);
      if (f.kind !== 'ip') continue;
      ip.push(f.ip.ipBytes.slice());
      if (f.ip.protocol === 50) {
        esp.push(f.ip.payload.slice());
        continue;
      }
      if (f.ip.protocol !== 17) continue;
      let u;
      try {
        u = decodeUdp(f.ip.payload, 0, { snapped: true });
      } catch {
        continue;
      }
      udp.push(f.ip.payload.slice(0, 8 + u.payload.length));
      udpPayloads.push({ srcPort: u.srcPort, dstPort: u.dstPort, payload: u.payload.slice() });
      const cls = classifyUdpPayload(u.srcPort, u.dstPort, u.payload);
      if (cls.kind === 'esp') esp.push(cls.esp.slice());
      if (cls.kind === 'ike' || cls.kind === 'ike-nonesp') {
        const major = cls.ike[17]! >> 4;
        (major === 1 ? v1 : v2).push(cls.ike.slice());
      }
    }
  }
  cached = {
    captures,
    frames,
    ipPackets: uniq(ip),
    udpDatagrams: uniq(udp),
    udpPayloads,
    ikev2: uniq(v2),
    ikev1: uniq(v1),
    esp: uniq(esp),
  };
  return cached;
}

/** A text file under CAPTURES_DIR. */
export function captureText(path: string): string {
  return readFileSync(join(CAPTURES_DIR, path), 'utf8');
}
