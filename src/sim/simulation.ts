/**
 * A whole lab run: the network built from the scenario, one IpsecPeer per scenario
 * peer (each with its own fork of the seeded Rng), the test traffic, the timed events,
 * then the expectations checked and the outputs prepared: one pcapng per tap,
 * Wireshark key tables, report.json and summary.txt. Nothing here touches files or the
 * clock; the CLI writes `outputs()` where it wants.
 */
import type { Micros } from '../core/time.ts';
import { ikev2DecryptionTable, espSaTable } from '../crypto/keys-out.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { classifyUdpPayload } from '../wire/udp-encap.ts';
import { evaluateExpectations, snapshotPeer, type ExpectationResult, type PeerSnapshot } from './expectations.ts';
import { IpsecPeer } from './ipsec-peer.ts';
import { attachAttackers, type AttackerRun } from './hostile.ts';
import { buildLab, type Lab } from './lab.ts';
import { TunnelLedger } from './ledger.ts';
import type { NatRecord } from './nat.ts';
import type { NetworkEvent } from './network.ts';
import { ICMP_TYPE, ICMPV6_TYPE, parsePacket } from './packet.ts';
import { peerSetup } from './peer-config.ts';
import { buildReport, type SimulationReport } from './report.ts';
import type { Expectation, Scenario, ScenarioIssue } from './scenario.ts';
import { releaseScenarioSources, scenarioSource } from './scenario-schema.ts';
import { buildSummary } from './summary.ts';
import { concatAll } from '../core/bytes.ts';

export interface SimulationOptions {
  /** Overrides the scenario's seed. */
  readonly seed?: number;
}

/** NAT steps worth a report line: mappings made and lost, reboots and flushes. */
export interface NatEventRecord {
  readonly at: Micros;
  readonly nat: string;
  readonly kind: string;
  readonly mapping?: string;
  readonly comment: string;
}

export interface SimulationOutput {
  /** Path relative to the output directory ("wan.pcapng", "wireshark/esp_sa"). */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export type PreparedSimulation = { readonly ok: true; readonly sim: Simulation } | { readonly ok: false; readonly issues: readonly ScenarioIssue[] };

export const WIRESHARK_PREFERENCES = 'esp.enable_encryption_decode: TRUE\nesp.enable_authentication_check: TRUE\n';

const utf8 = new TextEncoder();

export class Simulation {
  readonly ledger = new TunnelLedger();
  readonly peers = new Map<string, IpsecPeer>();
  readonly natEvents: NatEventRecord[] = [];
  readonly natDrops = new Map<string, Map<string, { count: number; comment: string }>>();
  readonly expiries = new Map<string, NatRecord[]>();
  /** The scenario's hostile hosts at work (`attackers:`). */
  attackers: readonly AttackerRun[] = [];
  private readonly snapshots = new Map<Expectation, PeerSnapshot>();
  private resultsValue: ExpectationResult[] | undefined;
  private lastNatDrop: { nat: string; reason: string } | undefined;

  constructor(
    readonly scenario: Scenario,
    readonly lab: Lab,
  ) {}

  /** Builds the lab and the peers; scenario problems the engine finds come back as issues. */
  static prepare(scenario: Scenario, opts: SimulationOptions = {}): PreparedSimulation {
    const s: Scenario = opts.seed === undefined ? scenario : { ...scenario, seed: opts.seed };
    const lab = buildLab(s);
    const sim = new Simulation(s, lab);
    const issues: ScenarioIssue[] = [];
    const hosts = new Map<string, string>();
    s.peers.forEach((p, i) => {
      const other = hosts.get(p.host);
      if (other !== undefined) {
        const at = scenarioSource(p, 'host');
        issues.push({ file: s.file, line: at?.line ?? 1, column: at?.column ?? 1, path: at?.path ?? `peers[${i}].host`, message: `host ${p.host} already runs peer ${other}; one peer per host` });
        return;
      }
      hosts.set(p.host, p.name);
      const r = peerSetup(s, lab.network, p, i);
      if (!r.ok) {
        issues.push(r.issue);
        return;
      }
      const peer = new IpsecPeer({ setup: r.setup, network: lab.network, rng: lab.network.rng.fork(`peer:${p.name}`), ledger: sim.ledger, ...(p.admission ? { engine: p.admission } : {}) });
      sim.peers.set(p.name, peer);
    });
    if (issues.length > 0) return { ok: false, issues };
    releaseScenarioSources(s);
    sim.wire();
    return { ok: true, sim };
  }

  private wire(): void {
    const net = this.lab.network;
    for (const p of this.peers.values()) {
      net.attach(p.hostName, p);
      this.lab.setTunnel(p.hostName, p);
    }
    this.attackers = attachAttackers(this.scenario, net, this.peers);
    // Mapping changes, NAT drops and packet drops: routine translations are not asked for.
    net.observe((e) => this.observe(e), { types: ['nat', 'drop'], everyNatTranslation: false });
    for (const e of this.scenario.expectations) {
      if (e.expect !== 'established') continue;
      const peer = this.peers.get(e.peer);
      if (!peer || e.by > this.scenario.duration) continue;
      net.scheduler.at(Math.max(e.by, net.now), (now) => this.snapshots.set(e, snapshotPeer(peer, now)));
    }
  }

  private observe(e: NetworkEvent): void {
    if (e.type === 'nat') {
      const r = e.record;
      if (r.kind === 'drop') {
        this.lastNatDrop = { nat: r.nat, reason: r.reason ?? 'drop' };
        let m = this.natDrops.get(r.nat);
        if (!m) this.natDrops.set(r.nat, (m = new Map()));
        const k = r.reason ?? 'drop';
        const d = m.get(k);
        if (d) d.count++;
        else m.set(k, { count: 1, comment: r.comment });
      } else if (r.kind === 'expire' || r.kind === 'flush' || r.kind === 'reboot' || r.mappingState === 'created') {
        const v = r.mapping;
        this.natEvents.push({
          at: r.at,
          nat: r.nat,
          kind: r.kind === 'translate' ? 'created' : r.kind,
          ...(v ? { mapping: `${v.protocol} ${v.internal} ⇄ ${v.external}${v.remote ? ` (remote ${v.remote})` : ''}` } : {}),
          comment: r.comment,
        });
        if (r.kind === 'expire') {
          let l = this.expiries.get(r.nat);
          if (!l) this.expiries.set(r.nat, (l = []));
          l.push(r);
        }
      }
      return;
    }
    if (e.type !== 'drop') return;
    let reason: string = e.reason;
    if (e.reason === 'nat' && this.lastNatDrop?.nat === e.where) reason = this.lastNatDrop.reason;
    const flow = this.flowOf(e.bytes);
    if (flow) this.ledger.recordLoss(flow, e.where, reason, e.detail, e.at);
  }

  /** Which traffic flow a dropped packet belonged to (ESP by SPI and sequence number). */
  private flowOf(bytes: Uint8Array): string | undefined {
    let p;
    try {
      p = parsePacket(bytes);
    } catch {
      return undefined;
    }
    const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
    if (p.protocol === IP_PROTOCOL.ESP && p.l4.length >= 8) return this.ledger.espOf(u32(p.l4, 0), u32(p.l4, 4))?.flow;
    if (p.protocol === IP_PROTOCOL.UDP && p.srcPort !== undefined && p.dstPort !== undefined) {
      const payload = p.l4.subarray(8);
      const c = classifyUdpPayload(p.srcPort, p.dstPort, payload);
      if (c.kind === 'esp' && c.esp.length >= 8) return this.ledger.espOf(u32(c.esp, 0), u32(c.esp, 4))?.flow;
      for (const f of this.lab.flows.values()) if (f.kind === 'udp' && f.dstPort === p.dstPort) return f.name;
      return undefined;
    }
    const echo =
      (p.protocol === IP_PROTOCOL.ICMP && (p.icmpType === ICMP_TYPE.ECHO_REQUEST || p.icmpType === ICMP_TYPE.ECHO_REPLY)) ||
      (p.protocol === IP_PROTOCOL.ICMPV6 && (p.icmpType === ICMPV6_TYPE.ECHO_REQUEST || p.icmpType === ICMPV6_TYPE.ECHO_REPLY));
    if (echo && p.l4.length >= 8) {
      const id = (p.l4[4]! << 8) | p.l4[5]!;
      for (const f of this.lab.flows.values()) if (f.kind === 'ping' && f.echoId === id) return f.name;
    }
    return undefined;
  }

  /** Runs to the scenario's duration and checks the expectations. */
  run(): ExpectationResult[] {
    this.lab.run();
    this.resultsValue = evaluateExpectations({
      scenario: this.scenario,
      lab: this.lab,
      peers: this.peers,
      ledger: this.ledger,
      expiries: this.expiries,
      snapshots: this.snapshots,
      end: this.lab.network.now,
    });
    return this.resultsValue;
  }

  get results(): readonly ExpectationResult[] {
    if (!this.resultsValue) throw new Error('run() first');
    return this.resultsValue;
  }

  get ok(): boolean {
    return this.results.every((r) => r.ok);
  }

  get eventsRun(): number {
    return this.lab.network.scheduler.eventsRun;
  }

  report(): SimulationReport {
    return buildReport(this);
  }

  summary(): string {
    return buildSummary(this);
  }

  /** Wireshark UAT tables of every SA set up during the run (both peers' rows, once each). */
  wiresharkKeys(): { ikev2: string; esp: string } {
    // Sets keep the first-seen order and make this linear: a 10,000-peer lab has 40,000 rows.
    const ike = new Set<string>();
    const esp = new Set<string>();
    for (const p of this.peers.values()) {
      for (const r of p.ikeRows) ike.add(r);
      for (const r of p.espRows) esp.add(r);
    }
    const head = (t: string) => t.trimEnd();
    return {
      ikev2: [head(ikev2DecryptionTable([])), ...ike].join('\n') + '\n',
      esp: [head(espSaTable([])), ...esp].join('\n') + '\n',
    };
  }

  /** Every output file, in a fixed order. */
  outputs(): SimulationOutput[] {
    const out: SimulationOutput[] = [];
    for (const [name, tap] of this.lab.taps) out.push({ path: `${name}.pcapng`, bytes: concatAll(tap.chunks) });
    const keys = this.wiresharkKeys();
    out.push({ path: 'wireshark/ikev2_decryption_table', bytes: utf8.encode(keys.ikev2) });
    out.push({ path: 'wireshark/esp_sa', bytes: utf8.encode(keys.esp) });
    out.push({ path: 'wireshark/preferences', bytes: utf8.encode(WIRESHARK_PREFERENCES) });
    out.push({ path: 'report.json', bytes: utf8.encode(`${JSON.stringify(this.report(), null, 2)}\n`) });
    out.push({ path: 'summary.txt', bytes: utf8.encode(this.summary()) });
    return out;
  }
}
