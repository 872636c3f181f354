/**
 * The replay report (`report.json` of `natt-sim replay`, documented in
 * docs/cli-reference.md). Times are scenario time: `replay.start` plus the time since
 * the capture's first frame; `...Us` fields are exact integer microseconds, `...S`
 * the same in seconds.
 */
import type { AnalysisReport } from '../analysis/report.ts';
import type { NatDropReason } from './nat.ts';
import type { MapRule, ReplaySide } from './replay-map.ts';

export const REPLAY_REPORT_VERSION = 1;

export const FLOW_VERDICT = { OK: 'ok', REMAPPED: 'remapped', LOSSY: 'lossy', BROKEN: 'broken' } as const;
export type FlowVerdict = (typeof FLOW_VERDICT)[keyof typeof FLOW_VERDICT];

/** Worst first. */
export const VERDICT_ORDER: readonly FlowVerdict[] = ['broken', 'lossy', 'remapped', 'ok'];

export function worstVerdict(vs: readonly FlowVerdict[]): FlowVerdict {
  for (const v of VERDICT_ORDER) if (vs.includes(v)) return v;
  return FLOW_VERDICT.OK;
}

export interface ReplayMappingReport {
  /** The captured address. */
  readonly captured: string;
  readonly host: string;
  /** The host's address that plays it. */
  readonly address: string;
  readonly side: ReplaySide;
  readonly rule: MapRule;
}

export interface DirectionReport {
  readonly injected: number;
  readonly delivered: number;
  readonly dropped: number;
  /** Lost on a link (loss fault) or still without an outcome when the run ended. */
  readonly lost: number;
  /** "IKE", "ESP", "NAT-keepalive", "UDP" → packets injected. */
  readonly kinds: Readonly<Record<string, number>>;
}

export interface PacketRef {
  readonly frame: number;
  readonly what: string;
  readonly atUs: number;
  readonly atS: number;
}

export interface ReplayDropReport extends PacketRef {
  readonly direction: 'a→b' | 'b→a';
  /** The endpoint (or address, for ESP) it was sent to in the lab. */
  readonly sentTo: string;
  /** The node or link that dropped it. */
  readonly where: string;
  /** The network's drop reason: nat, firewall, no-route, loss, link-down, df-too-big, ... */
  readonly reason: string;
  /** For reason "nat": the NAT's own reason (no-mapping, filtered, esp-no-alg, ...). */
  readonly natReason: NatDropReason | null;
  readonly detail: string;
}

/** A side whose peer went on addressing an endpoint the NAT no longer had. */
export interface StaleWindowReport {
  /** The side whose view went stale ("b" when a's public endpoint changed under b). */
  readonly side: 'a' | 'b';
  /** The packet that arrived from the new endpoint without telling the peer (a NAT-keepalive). */
  readonly opened: PacketRef;
  readonly oldEndpoint: string;
  readonly newEndpoint: string;
  /** Public endpoints seen during the window (the first new one included). */
  readonly endpointsSeen: readonly string[];
  /** The packet that moved the peer to the current endpoint, or null when it never did. */
  readonly recovered: PacketRef | null;
  /** The expiry that lost the old endpoint, when it was seen. */
  readonly expiry: { readonly nat: string; readonly mappingId: number; readonly expiredAtUs: number; readonly expiredAtS: number } | null;
}

/** The peer followed a new public endpoint at once (the first packet from it was authenticated). */
export interface RemapReport extends PacketRef {
  readonly side: 'a' | 'b';
  readonly from: string;
  readonly to: string;
}

export interface ReplayFlowReport {
  /** "udp 10.77.0.2:4500 ⇄ 198.51.100.2:4500" (endpoints as captured). */
  readonly id: string;
  readonly protocol: 'udp' | 'esp';
  /** The endpoint on the inside host's side (or the first sender), as captured. */
  readonly a: string;
  readonly b: string;
  readonly aHost: string;
  readonly bHost: string;
  readonly first: PacketRef;
  readonly last: PacketRef;
  readonly aToB: DirectionReport;
  readonly bToA: DirectionReport;
  /** How each side's packets looked on arrival at the other side (its public endpoints), in order. */
  readonly publicEndpoints: {
    readonly a: readonly { readonly endpoint: string; readonly firstSeenUs: number }[];
    readonly b: readonly { readonly endpoint: string; readonly firstSeenUs: number }[];
  };
  readonly drops: readonly ReplayDropReport[];
  readonly remaps: readonly RemapReport[];
  readonly staleWindows: readonly StaleWindowReport[];
  /** NAT mappings this flow used: "nat#id". */
  readonly mappings: readonly string[];
  readonly verdict: FlowVerdict;
  readonly explanation: string;
}

export interface ReplayExpiryReport {
  readonly nat: string;
  readonly mappingId: number;
  readonly protocol: string;
  readonly internal: string;
  readonly external: string;
  readonly remote: string | null;
  readonly lastUsedAtUs: number;
  /** The first instant it was gone: last use + timeout + 1 µs. */
  readonly expiredAtUs: number;
  readonly expiredAtS: number;
  readonly timeoutS: number;
  /** Flows that used the mapping. */
  readonly flows: readonly string[];
  /** The packet that last created or refreshed it. */
  readonly lastPacket: PacketRef | null;
  /** The next packet of one of its flows after the expiry, if any. */
  readonly nextPacket: PacketRef | null;
  /** No packet of its flows came afterwards. */
  readonly harmless: boolean;
}

export interface ReplayTapReport {
  readonly name: string;
  readonly description: string;
  readonly packets: number;
}

export interface ReplayReport {
  readonly schemaVersion: typeof REPLAY_REPORT_VERSION;
  readonly capture: string;
  readonly scenario: { readonly name: string; readonly file: string };
  readonly startUs: number;
  /** When the run stopped: the last injection plus time for it to arrive. */
  readonly endUs: number;
  readonly mapping: readonly ReplayMappingReport[];
  readonly packets: {
    readonly frames: number;
    readonly replayed: number;
    readonly delivered: number;
    readonly dropped: number;
    readonly lost: number;
    /** Why frames were not replayed → count ("ARP", "ICMP", ...). */
    readonly skipped: Readonly<Record<string, number>>;
  };
  /** The capture was cut or turned invalid here; what came before was replayed. */
  readonly truncated: { readonly offset: number; readonly reason: string } | null;
  readonly flows: readonly ReplayFlowReport[];
  readonly mappingExpiries: readonly ReplayExpiryReport[];
  readonly verdict: FlowVerdict;
  readonly summary: string;
  readonly taps: readonly ReplayTapReport[];
  /** The capture analyser over the taps on the outside hosts' links (what the far side saw). */
  readonly analysis: { readonly taps: readonly string[]; readonly natTimeoutS: number; readonly report: AnalysisReport };
}
