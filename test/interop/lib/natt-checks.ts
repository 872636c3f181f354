/**
 * What the natt-sim ↔ charon tests (test/interop/natt-*.test.ts) share: the PSK and
 * identities of both sides, the `natt-sim peer` flags of an initiator and a responder,
 * starting natt-sim in its lab namespace, stopping the captures and decrypting them
 * with the keys natt-sim exported, and closing a lab with nothing left behind.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { ADDR, type Capture, type Lab } from '../lab.ts';
import { pskSwanctlConf, type PskConnection } from './charon.ts';
import { NattPeer, type PeerEvent } from './natt-peer.ts';
import type { WiresharkRows } from './keylog.ts';
import type { CaptureFrame, CaptureSummary } from './tshark.ts';

export const PSK = 'test-psk-0123456789';

/** Fail fast: a broken negotiation ends in about 3 s instead of the default retransmissions. */
export const FAST = ['--retransmit-timeout', '1s', '--retransmit-tries', '2'] as const;

/** The one element of a list (and the check that there is exactly one). */
export function only<T>(xs: readonly T[]): T {
  expect(xs).toHaveLength(1);
  return xs[0]!;
}

/** The one event of a type natt-sim printed. */
export function one(peer: NattPeer, type: string): PeerEvent {
  return only(peer.of(type));
}

/**
 * The flags of a natt-sim initiator (ini.test) towards charon's responder (rsp.test) at
 * ADDR.rsp: from `local` (default ADDR.iniLan, behind the NAT), for `localTs` (default
 * ADDR.tsIni) to ADDR.tsRsp.
 */
export function initiatorArgs(opts: { local?: string; localTs?: string } = {}): string[] {
  return [
    '--role', 'initiator', '--local', opts.local ?? ADDR.iniLan, '--remote', ADDR.rsp, '--psk', PSK,
    '--id', 'ini.test', '--remote-id', 'rsp.test', '--local-ts', opts.localTs ?? ADDR.tsIni, '--remote-ts', ADDR.tsRsp,
  ];
}

/** The flags of a natt-sim responder (rsp.test) at ADDR.rsp for charon's initiator (ini.test), ADDR.tsRsp ⇄ ADDR.tsIni. */
export function responderArgs(): string[] {
  return [
    '--role', 'responder', '--local', ADDR.rsp, '--psk', PSK, '--id', 'rsp.test', '--remote-id', 'ini.test',
    '--local-ts', ADDR.tsRsp, '--remote-ts', ADDR.tsIni,
  ];
}

/** Three pings from natt-sim to charon's inner address, `interval` apart, each waited for up to 1 s. */
export function pingArgs(interval: string): string[] {
  return ['--ping', ADDR.innerRsp, '--count', '3', '--interval', interval, '--ping-wait', '1s'];
}

/** swanctl.conf of charon as the responder (rsp.test, ADDR.tsRsp) with the test's PSK. */
export function charonResponderConf(extra: Partial<PskConnection> = {}): string {
  return pskSwanctlConf({ localId: 'rsp.test', psk: PSK, localTs: ADDR.tsRsp, ...extra });
}

/** natt-sim in the initiator's namespace (folder natt-ini of the lab). */
export function startNattInitiator(lab: Lab, args: readonly string[]): NattPeer {
  return NattPeer.start(lab, { role: 'ini', dir: join(lab.dir, 'natt-ini'), args });
}

/** natt-sim in the responder's namespace (folder natt-rsp of the lab). */
export function startNattResponder(lab: Lab, args: readonly string[]): NattPeer {
  return NattPeer.start(lab, { role: 'rsp', dir: join(lab.dir, 'natt-rsp'), args });
}

export interface Decrypted {
  readonly frames: CaptureFrame[];
  readonly summary: CaptureSummary;
}

/**
 * Stops both captures, then decrypts them (outside first) with the key rows natt-sim
 * wrote to --keys.
 */
export async function stopAndDecrypt(
  lab: Lab,
  peer: NattPeer,
  inside: Capture,
  outside: Capture,
): Promise<{ rows: WiresharkRows; inside: Decrypted; outside: Decrypted }> {
  await Promise.all([inside.stop(), outside.stop()]);
  const rows = peer.rows();
  const out = await lab.decrypt(outside, rows);
  const ins = await lab.decrypt(inside, rows);
  return { rows, inside: ins, outside: out };
}

/** Closes the lab and checks it left no namespace, process or folder behind. */
export async function closeLab(lab: Lab): Promise<void> {
  await lab.close();
  expect(lab.leftovers()).toEqual({ namespaces: [], pids: [], folder: false });
}
