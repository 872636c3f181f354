/**
 * Reading a lab capture with tshark 4.0, decrypting IKE and ESP with
 * Wireshark UAT rows. The rows go into a private WIRESHARK_CONFIG_DIR, so the
 * user's own Wireshark profile is neither read nor changed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './proc.ts';
import type { WiresharkRows } from './keylog.ts';

/** One frame as tshark decoded it. */
export interface CaptureFrame {
  readonly n: number;
  /** Seconds since the first frame. */
  readonly t: number;
  /** Outer address first, then the inner (tunnelled) one when ESP was decrypted. */
  readonly ipSrc: readonly string[];
  readonly ipDst: readonly string[];
  readonly sport: number | undefined;
  readonly dport: number | undefined;
  /** frame.protocols split on ":", e.g. ["eth","ethertype","ip","udp","udpencap","esp","ip","icmp","data"]. */
  readonly protocols: readonly string[];
  readonly isIke: boolean;
  /** IKEv2 exchange type (34 IKE_SA_INIT, 35 IKE_AUTH, 36 CREATE_CHILD_SA, 37 INFORMATIONAL). */
  readonly ikeExchange: number | undefined;
  readonly ikeSpiI: string | undefined;
  readonly ikeSpiR: string | undefined;
  /** The SK payload was decrypted with a row from the table. */
  readonly ikeDecrypted: boolean;
  /** IKE on 4500 behind the four-byte zero marker. */
  readonly nonEspMarker: boolean;
  /** A one-byte 0xFF NAT-keepalive. */
  readonly natKeepalive: boolean;
  /** ESP SPI (outer header), undefined when the frame carries no ESP. */
  readonly espSpi: number | undefined;
  readonly espSeq: number | undefined;
  readonly espIcvGood: boolean;
  readonly espIcvBad: boolean;
  /** ICMP type of the (decrypted) inner packet. */
  readonly icmpType: number | undefined;
  /** tshark's UDP checksum status: 0 bad, 1 good, 2 unverified. */
  readonly udpChecksumStatus: number | undefined;
  /** The IKE header's Response flag. */
  readonly ikeResponse: boolean;
  readonly ikeMessageId: number | undefined;
  /**
   * Every payload type tshark saw, in order: the SK payload (46) and, once decrypted,
   * what it carried, e.g. [46] for an empty INFORMATIONAL (a liveness check), [46, 42] for a DELETE.
   */
  readonly ikePayloads: readonly number[];
  /** The outer UDP length (header included): 9 for a NAT-keepalive. */
  readonly udpLength: number | undefined;
}

const FIELDS = [
  'frame.number',
  'frame.time_relative',
  'ip.src',
  'ip.dst',
  'udp.srcport',
  'udp.dstport',
  'frame.protocols',
  'isakmp.exchangetype',
  'isakmp.ispi',
  'isakmp.rspi',
  'isakmp.enc.decrypted',
  'udpencap.non_esp_marker',
  'udpencap.nat_keepalive',
  'esp.spi',
  'esp.sequence',
  'esp.icv_good',
  'esp.icv_bad',
  'icmp.type',
  'udp.checksum.status',
  'isakmp.flag_r',
  'isakmp.messageid',
  'isakmp.typepayload',
  'udp.length',
] as const;

function first(v: string): string | undefined {
  const s = v.split(',')[0];
  return s === undefined || s === '' ? undefined : s;
}

function firstNum(v: string): number | undefined {
  const s = first(v);
  return s === undefined ? undefined : s.startsWith('0x') ? parseInt(s, 16) : Number(s);
}

function lastNum(v: string): number | undefined {
  const parts = v.split(',').filter((s) => s !== '');
  const s = parts[parts.length - 1];
  return s === undefined ? undefined : Number(s);
}

function present(v: string): boolean {
  return v !== '' && v !== '0' && v !== 'False';
}

export function parseFrameLine(line: string): CaptureFrame {
  const f = line.split('\t');
  const g = (i: number) => f[i] ?? '';
  return {
    n: Number(g(0)),
    t: Number(g(1)),
    ipSrc: g(2) === '' ? [] : g(2).split(','),
    ipDst: g(3) === '' ? [] : g(3).split(','),
    sport: firstNum(g(4)),
    dport: firstNum(g(5)),
    protocols: g(6).split(':'),
    isIke: g(6).split(':').includes('isakmp'),
    ikeExchange: firstNum(g(7)),
    ikeSpiI: first(g(8)),
    ikeSpiR: first(g(9)),
    ikeDecrypted: present(g(10)),
    nonEspMarker: present(g(11)),
    natKeepalive: present(g(12)),
    espSpi: firstNum(g(13)),
    espSeq: firstNum(g(14)),
    espIcvGood: present(g(15)),
    espIcvBad: present(g(16)),
    icmpType: lastNum(g(17)),
    udpChecksumStatus: firstNum(g(18)),
    ikeResponse: present(first(g(19)) ?? ''),
    ikeMessageId: firstNum(g(20)),
    ikePayloads: g(21) === '' ? [] : g(21).split(',').map(Number),
    udpLength: firstNum(g(22)),
  };
}

export interface TsharkOptions {
  /** Key rows; without them nothing is decrypted. */
  readonly keys?: WiresharkRows;
  /** A display filter (-Y). */
  readonly filter?: string;
  readonly owner?: string;
}

/** Every frame of a capture, decoded (and decrypted when keys are given) by tshark. */
export async function tsharkFrames(pcap: string, opts: TsharkOptions = {}): Promise<CaptureFrame[]> {
  const cfg = mkdtempSync(join(tmpdir(), 'nattlab-ws-'));
  try {
    writeFileSync(join(cfg, 'ikev2_decryption_table'), (opts.keys?.ikev2 ?? []).map((l) => `${l}\n`).join(''));
    writeFileSync(join(cfg, 'esp_sa'), (opts.keys?.esp ?? []).map((l) => `${l}\n`).join(''));
    const argv = [
      'tshark',
      '-n',
      '-r',
      pcap,
      '-o',
      'esp.enable_encryption_decode:TRUE',
      '-o',
      'esp.enable_authentication_check:TRUE',
      '-o',
      'udp.check_checksum:TRUE',
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=a',
      ...FIELDS.flatMap((f) => ['-e', f]),
      ...(opts.filter ? ['-Y', opts.filter] : []),
    ];
    const r = await run(opts.owner ?? 'tshark', argv, { env: { WIRESHARK_CONFIG_DIR: cfg }, timeoutMs: 30_000 });
    return r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(parseFrameLine);
  } finally {
    rmSync(cfg, { recursive: true, force: true });
  }
}

export interface CaptureSummary {
  readonly frames: number;
  readonly ike: number;
  /** IKE messages whose SK payload was decrypted. */
  readonly ikeDecrypted: number;
  readonly ikeAuthDecrypted: number;
  readonly ikeOn4500: number;
  readonly esp: number;
  /** ESP in UDP (RFC 3948). */
  readonly espInUdp: number;
  /** ESP directly over IP (protocol 50). */
  readonly rawEsp: number;
  readonly espIcvGood: number;
  readonly espIcvBad: number;
  /** Decrypted ESP frames carrying ICMP echo request (8) or reply (0). */
  readonly espEchoRequests: number;
  readonly espEchoReplies: number;
  readonly keepalives: number;
  readonly badUdpChecksums: number;
}

export function summarize(frames: readonly CaptureFrame[]): CaptureSummary {
  const esp = frames.filter((f) => f.espSpi !== undefined);
  const ike = frames.filter((f) => f.isIke);
  return {
    frames: frames.length,
    ike: ike.length,
    ikeDecrypted: ike.filter((f) => f.ikeDecrypted).length,
    ikeAuthDecrypted: ike.filter((f) => f.ikeDecrypted && f.ikeExchange === 35).length,
    ikeOn4500: ike.filter((f) => f.sport === 4500 || f.dport === 4500).length,
    esp: esp.length,
    espInUdp: esp.filter((f) => f.protocols.includes('udp')).length,
    rawEsp: esp.filter((f) => !f.protocols.includes('udp')).length,
    espIcvGood: esp.filter((f) => f.espIcvGood).length,
    espIcvBad: esp.filter((f) => f.espIcvBad).length,
    espEchoRequests: esp.filter((f) => f.icmpType === 8).length,
    espEchoReplies: esp.filter((f) => f.icmpType === 0).length,
    keepalives: frames.filter((f) => f.natKeepalive).length,
    badUdpChecksums: frames.filter((f) => f.udpChecksumStatus === 0).length,
  };
}

/** Decrypts a capture with the given rows and summarizes it. */
export async function decryptCapture(pcap: string, keys: WiresharkRows, owner?: string): Promise<{ frames: CaptureFrame[]; summary: CaptureSummary }> {
  const frames = await tsharkFrames(pcap, owner === undefined ? { keys } : { keys, owner });
  return { frames, summary: summarize(frames) };
}

/** The NAT-D notifies of one IKE_SA_INIT message, as they are on the wire. */
export interface NatdOnWire {
  readonly frame: number;
  readonly ipSrc: string;
  readonly sport: number;
  readonly response: boolean;
  /** 16 hex digits each (SPIr is all zeros in the request). */
  readonly spiI: string;
  readonly spiR: string;
  /** NAT_DETECTION_SOURCE_IP / NAT_DETECTION_DESTINATION_IP data, lower-case hex. */
  readonly source: readonly string[];
  readonly destination: readonly string[];
}

/**
 * NAT-D hashes of every IKE_SA_INIT message in a capture. tshark lists notify
 * types and data separately, so only messages whose notifies all carry data
 * are read (a request from natt-sim or charon: exactly the two NAT-D notifies);
 * a message where the two lists do not line up is left out.
 */
export async function natdOnWire(pcap: string, owner?: string): Promise<NatdOnWire[]> {
  const r = await run(owner ?? 'tshark', [
    'tshark', '-n', '-r', pcap, '-Y', 'isakmp.exchangetype == 34', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a',
    '-e', 'frame.number', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'isakmp.flag_r', '-e', 'isakmp.ispi', '-e', 'isakmp.rspi',
    '-e', 'isakmp.notify.msgtype', '-e', 'isakmp.notify.data',
  ], { timeoutMs: 30_000 });
  const out: NatdOnWire[] = [];
  for (const line of r.stdout.split('\n').filter((l) => l.trim() !== '')) {
    const f = line.split('\t');
    const types = (f[6] ?? '').split(',').filter((s) => s !== '').map(Number);
    const data = (f[7] ?? '').split(',').filter((s) => s !== '').map((s) => s.replace(/:/g, '').toLowerCase());
    if (types.length !== data.length) continue;
    out.push({
      frame: Number(f[0]),
      ipSrc: f[1] ?? '',
      sport: Number(f[2]),
      response: present(f[3] ?? ''),
      spiI: f[4] ?? '',
      spiR: f[5] ?? '',
      source: data.filter((_, i) => types[i] === 16388),
      destination: data.filter((_, i) => types[i] === 16389),
    });
  }
  return out;
}
