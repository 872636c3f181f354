/**
 * report.json of a simulation (docs/simulate-report.md describes every field). Times
 * are integer microseconds of virtual time (keys ending in `At`); SPIs are hex strings.
 */
import { formatEndpoint } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import type { AdmissionStats } from '../ikev2/admission.ts';
import type { SaCounters } from '../ipsec/counters.ts';
import type { ExpectationResult } from './expectations.ts';
import type { IpsecPeer } from './ipsec-peer.ts';
import type { LossRecord } from './ledger.ts';
import type { MappingView, NatCounters } from './nat.ts';
import type { NatEventRecord, Simulation } from './simulation.ts';

export const REPORT_FORMAT = 'natt-sim-simulate/1';

const hex8 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

export interface PeerReport {
  readonly name: string;
  readonly host: string;
  readonly role: 'initiator' | 'responder';
  readonly local: string;
  readonly remote: string;
  readonly encap: 'auto' | 'force' | 'off';
  readonly conditions: { readonly natHere: boolean; readonly natThere: boolean; readonly natFake: boolean };
  readonly floated: boolean;
  readonly natDetection: string | null;
  readonly established: boolean;
  readonly ikeSas: readonly {
    readonly spiI: string;
    readonly spiR: string;
    readonly suite: string | null;
    readonly local: string | null;
    readonly remote: string | null;
    readonly natHere: boolean;
    readonly natThere: boolean;
    readonly natFake: boolean;
    readonly floated: boolean;
    readonly startedAt: Micros;
    readonly establishedAt: Micros | null;
    readonly deletedAt: Micros | null;
    readonly deleteReason: string | null;
    readonly rekey: boolean;
  }[];
  readonly children: readonly {
    readonly spiIn: string;
    readonly spiOut: string;
    readonly suite: string;
    readonly encap: 'udp' | 'none';
    readonly encapEndpoints: { readonly local: string; readonly remote: string } | null;
    readonly why: string;
    readonly localTs: readonly string[];
    readonly remoteTs: readonly string[];
    readonly installedAt: Micros;
    readonly deletedAt: Micros | null;
    readonly deleteReason: string | null;
    readonly rekey: boolean;
  }[];
  readonly keepalives: {
    readonly sent: number;
    readonly received: number;
    readonly sentAt: readonly Micros[];
    readonly interval: { readonly min: Micros; readonly max: Micros } | null;
  };
  readonly retransmits: readonly { readonly at: Micros; readonly exchange: string; readonly attempt: number; readonly messageId: number }[];
  readonly peerAddressUpdates: readonly { readonly at: Micros; readonly from: string; readonly to: string }[];
  readonly floats: readonly { readonly at: Micros; readonly from: string; readonly to: string }[];
  readonly initiations: readonly { readonly at: Micros; readonly why: string }[];
  readonly counters: SaCounters;
  readonly ikeDrops: Readonly<Record<string, number>>;
  readonly espDrops: Readonly<Record<string, number>>;
  /** Responders: admission of IKE_SA_INIT (IkeEndpoint.admissionStats) and COOKIE mode changes; null for initiators. */
  readonly admission: (AdmissionStats & { readonly cookieModeChanges: readonly { readonly at: Micros; readonly on: boolean; readonly halfOpen: number }[] }) | null;
  readonly log: readonly { readonly at: Micros; readonly kind: string; readonly text: string }[];
}

export interface SimulationReport {
  readonly format: string;
  readonly scenario: { readonly name: string; readonly file: string; readonly description: string | null; readonly seed: number; readonly duration: Micros };
  readonly result: { readonly ok: boolean; readonly passed: number; readonly failed: number; readonly virtualTime: Micros; readonly events: number };
  readonly peers: readonly PeerReport[];
  readonly traffic: readonly {
    readonly name: string;
    readonly kind: 'ping' | 'udp';
    readonly from: string;
    readonly sent: number;
    readonly delivered: number;
    readonly losses: readonly Omit<LossRecord, 'lastAt'>[];
  }[];
  readonly nats: readonly {
    readonly name: string;
    readonly kind: string;
    readonly counters: NatCounters;
    readonly drops: readonly { readonly reason: string; readonly count: number; readonly example: string }[];
    readonly mappings: readonly MappingView[];
    readonly events: readonly NatEventRecord[];
  }[];
  /** The scenario's hostile hosts (`attackers:`), in scenario order. */
  readonly attackers: readonly {
    readonly name: string;
    readonly host: string;
    readonly kind: string;
    readonly target: string;
    readonly sent: number;
    readonly missed: number;
    readonly firstAt: Micros | null;
    readonly lastAt: Micros | null;
  }[];
  readonly expectations: readonly ExpectationResult[];
}

function peerReport(p: IpsecPeer): PeerReport {
  const sa = p.currentSa();
  const gaps: number[] = [];
  for (let i = 1; i < p.keepalives.length; i++) if (p.keepalives[i]!.saId === p.keepalives[i - 1]!.saId) gaps.push(p.keepalives[i]!.at - p.keepalives[i - 1]!.at);
  return {
    name: p.name,
    host: p.hostName,
    role: p.role,
    local: p.config.localAddrs.map((a) => formatEndpoint({ addr: a, port: p.config.ports.ike })).join(', '),
    remote: p.config.remote ? formatEndpoint(p.config.remote) : 'any',
    encap: p.config.encap,
    conditions: { natHere: sa?.natHere ?? false, natThere: sa?.natThere ?? false, natFake: sa?.natFake ?? false },
    floated: sa?.floated ?? false,
    natDetection: sa?.natd ?? null,
    established: p.isEstablished(),
    ikeSas: [...p.sas.values()].map((s) => ({
      spiI: s.spiI,
      spiR: s.spiR,
      suite: s.suite ?? null,
      local: s.local ?? null,
      remote: s.remote ?? null,
      natHere: s.natHere,
      natThere: s.natThere,
      natFake: s.natFake,
      floated: s.floated,
      startedAt: s.startedAt,
      establishedAt: s.establishedAt ?? null,
      deletedAt: s.deletedAt ?? null,
      deleteReason: s.deleteReason ?? null,
      rekey: s.rekeyOf !== undefined,
    })),
    children: [...p.children.values()].map((c) => ({
      spiIn: hex8(c.spiIn),
      spiOut: hex8(c.spiOut),
      suite: c.suite,
      encap: c.encap ? 'udp' : 'none',
      encapEndpoints: c.encap ? { local: formatEndpoint(c.encap.local), remote: formatEndpoint(c.encap.remote) } : null,
      why: c.encapReason,
      localTs: c.localTs,
      remoteTs: c.remoteTs,
      installedAt: c.installedAt,
      deletedAt: c.deletedAt ?? null,
      deleteReason: c.deleteReason ?? null,
      rekey: c.rekeyOf !== undefined,
    })),
    keepalives: {
      sent: p.keepalives.length,
      received: p.stats.keepalivesReceived,
      sentAt: p.keepalives.map((k) => k.at),
      interval: gaps.length > 0 ? { min: Math.min(...gaps), max: Math.max(...gaps) } : null,
    },
    retransmits: p.retransmits,
    peerAddressUpdates: p.addressUpdates,
    floats: p.floats,
    initiations: p.initiations,
    counters: p.totalCounters(),
    ikeDrops: p.stats.ikeDrops,
    espDrops: p.stats.espDrops,
    admission: p.role === 'responder' ? { ...p.engine.admissionStats, cookieModeChanges: p.cookieModes } : null,
    log: p.log,
  };
}

export function buildReport(sim: Simulation): SimulationReport {
  const s = sim.scenario;
  const results = sim.results;
  const net = sim.lab.network;
  return {
    format: REPORT_FORMAT,
    scenario: { name: s.name, file: s.file, description: s.description ?? null, seed: s.seed, duration: s.duration },
    result: {
      ok: results.every((r) => r.ok),
      passed: results.filter((r) => r.ok).length,
      failed: results.filter((r) => !r.ok).length,
      virtualTime: net.now,
      events: sim.eventsRun,
    },
    peers: [...sim.peers.values()].map(peerReport),
    traffic: s.traffic.map((t) => {
      const st = sim.lab.traffic.get(t.name);
      return {
        name: t.name,
        kind: t.kind,
        from: t.from,
        sent: st?.sent ?? 0,
        delivered: st?.delivered ?? 0,
        losses: sim.ledger.lossesOf(t.name).map(({ where, reason, detail, firstAt, count }) => ({ where, reason, detail, firstAt, count })),
      };
    }),
    nats: s.topology.nats.map((n) => {
      const dev = net.natRouter(n.name).nat;
      return {
        name: n.name,
        kind: n.kind,
        counters: dev.counters,
        drops: [...(sim.natDrops.get(n.name) ?? new Map<string, { count: number; comment: string }>())].map(([reason, d]) => ({ reason, count: d.count, example: d.comment })),
        mappings: dev.mappings(),
        events: sim.natEvents.filter((e) => e.nat === n.name),
      };
    }),
    attackers: sim.attackers.map((a) => ({
      name: a.attacker.name,
      host: a.attacker.host,
      kind: a.attacker.kind,
      target: a.target,
      sent: a.progress.sent,
      missed: a.progress.missed,
      firstAt: a.progress.firstAt ?? null,
      lastAt: a.progress.lastAt ?? null,
    })),
    expectations: results,
  };
}
