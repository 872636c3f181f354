/**
 * `show crypto ipsec sa` for one CHILD_SA, built from the SAD: the view the renderer in
 * counters.ts prints.
 */
import type { Micros } from '../core/time.ts';
import { formatShowCryptoIpsecSa, remainingSeconds, type EspSaView, type ShowCryptoIpsecSaView } from './counters.ts';
import type { InboundSa, OutboundSa, SaBase, SecurityAssociationDatabase } from './sad.ts';

export interface ShowOptions {
  /** Default "GigabitEthernet0/0". */
  readonly interfaceName?: string | undefined;
  /** Default "natt-sim". */
  readonly cryptoMapTag?: string | undefined;
  /** Interface MTU (default: the SA's path MTU). */
  readonly ipMtu?: number | undefined;
  /** e.g. "group14"; default "none" (no PFS). */
  readonly dhGroup?: string | undefined;
  /** ESP received for unknown SPIs (the processor's counter). */
  readonly invalidSpi?: number | undefined;
}

function saView(sa: SaBase, now: Micros, bytes: number, status: string, window: number | undefined): EspSaView {
  const kb = sa.lifetime?.kilobytes;
  return {
    spi: sa.spi,
    suite: sa.suite,
    udpEncaps: sa.encap !== undefined,
    connId: sa.connId,
    remainingKb: kb === undefined ? undefined : Math.max(0, kb - Math.floor(bytes / 1024)),
    remainingSec: remainingSeconds(sa.createdAt, sa.lifetime?.seconds, now),
    replayDetection: window !== undefined,
    replayWindow: window,
    status,
  };
}

/** The view of a child's SAs at `now`; undefined when the child has no outbound SA. */
export function showCryptoIpsecSaView(
  sad: SecurityAssociationDatabase,
  childId: string,
  now: Micros,
  opts: ShowOptions = {},
): ShowCryptoIpsecSaView | undefined {
  const out: OutboundSa | undefined = sad.outbound(childId);
  if (!out) return undefined;
  const inbound: InboundSa[] = sad.inboundOf(childId);
  const sel = sad.selectors(childId);
  const local = out.encap ? out.encap.local.addr : out.tunnel.local;
  const remote = out.encap ? out.encap.remote.addr : out.tunnel.remote;
  return {
    interfaceName: opts.interfaceName ?? 'GigabitEthernet0/0',
    cryptoMapTag: opts.cryptoMapTag ?? 'natt-sim',
    localAddr: local,
    localIdent: sel?.local[0],
    remoteIdent: sel?.remote[0],
    currentPeer: out.encap ? out.encap.remote : { addr: remote, port: 500 },
    counters: sad.childCounters(childId),
    invalidSpi: opts.invalidSpi,
    localCryptoEndpoint: local,
    remoteCryptoEndpoint: remote,
    plaintextMtu: out.plaintextMtu,
    pathMtu: out.mtu,
    ipMtu: opts.ipMtu ?? out.mtu,
    currentOutboundSpi: out.spi,
    dhGroup: opts.dhGroup ?? 'none',
    inbound: inbound.map((sa) => saView(sa, now, sa.counters.bytesIn, sa.superseded ? 'ACTIVE(rekeyed)' : 'ACTIVE(ACTIVE)', sa.antiReplay ? sa.window?.size : undefined)),
    outbound: [saView(out, now, out.counters.bytesOut, 'ACTIVE(ACTIVE)', undefined)],
  };
}

/** The rendered block, or an empty string for an unknown child. */
export function showCryptoIpsecSa(sad: SecurityAssociationDatabase, childId: string, now: Micros, opts: ShowOptions = {}): string {
  const v = showCryptoIpsecSaView(sad, childId, now, opts);
  return v ? formatShowCryptoIpsecSa(v) : '';
}
