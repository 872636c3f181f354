/**
 * The scenario's expectations, checked at the end of a run against what the peers, the
 * NATs and the traffic recorded. Each result says in plain words what was expected,
 * whether it held, and what actually happened.
 */
import type { Micros } from '../core/time.ts';
import type { AdmissionStats } from '../ikev2/admission.ts';
import type { IpsecPeer } from './ipsec-peer.ts';
import type { Lab } from './lab.ts';
import type { TunnelLedger } from './ledger.ts';
import type { NatRecord } from './nat.ts';
import { formatSpan } from './packet.ts';
import type { CountBounds, Expectation, Scenario } from './scenario.ts';
import { scenarioSource } from './scenario-schema.ts';

export interface ExpectationResult {
  readonly expect: Expectation['expect'];
  /** What was expected, e.g. "client established by 2 s". */
  readonly text: string;
  readonly ok: boolean;
  /** What happened, in plain words. */
  readonly explanation: string;
  /** Line of the expectation in the scenario file, when known. */
  readonly line?: number;
}

/** What a peer looked like at an instant (for `established ... by`). */
export interface PeerSnapshot {
  readonly at: Micros;
  readonly established: boolean;
  readonly detail: string;
}

export interface EvaluationInput {
  readonly scenario: Scenario;
  readonly lab: Lab;
  readonly peers: ReadonlyMap<string, IpsecPeer>;
  readonly ledger: TunnelLedger;
  /** NAT expiry records, by NAT name. */
  readonly expiries: ReadonlyMap<string, readonly NatRecord[]>;
  /** Snapshots taken at expectation times, by expectation object. */
  readonly snapshots: ReadonlyMap<Expectation, PeerSnapshot>;
  readonly end: Micros;
}

const at = (us: Micros): string => formatSpan(us);

export function formatCount(c: CountBounds): string {
  if (c.min !== undefined && c.max !== undefined) return c.min === c.max ? `${c.min}` : `${c.min}..${c.max}`;
  if (c.min !== undefined) return `at least ${c.min}`;
  if (c.max !== undefined) return `at most ${c.max}`;
  return 'any number';
}

export function inBounds(n: number, b: { readonly min?: number; readonly max?: number }): boolean {
  return (b.min === undefined || n >= b.min) && (b.max === undefined || n <= b.max);
}

/** A snapshot of a peer's state now. */
export function snapshotPeer(p: IpsecPeer, now: Micros): PeerSnapshot {
  if (p.isEstablished()) {
    const sa = [...p.sas.values()].filter((s) => s.establishedAt !== undefined && s.deletedAt === undefined).at(-1)!;
    const child = [...p.children.values()].filter((c) => c.deletedAt === undefined).at(-1)!;
    return {
      at: now,
      established: true,
      detail: `IKE SA ${sa.spiI}/${sa.spiR} (established at ${at(sa.establishedAt!)}) with CHILD_SA ${child.spiIn.toString(16).padStart(8, '0')}/${child.spiOut.toString(16).padStart(8, '0')}`,
    };
  }
  const last = [...p.log].reverse().find((l) => ['sa-deleted', 'retransmit', 'auth-failed', 'child-failed', 'init-rejected', 'initiate'].includes(l.kind));
  return { at: now, established: false, detail: last ? `last: ${last.text} (at ${at(last.at)})` : 'nothing was negotiated' };
}

function peerOf(input: EvaluationInput, name: string): IpsecPeer {
  const p = input.peers.get(name);
  if (!p) throw new RangeError(`no peer ${name}`);
  return p;
}

function evaluate(input: EvaluationInput, e: Expectation): { text: string; ok: boolean; explanation: string } {
  switch (e.expect) {
    case 'established': {
      const snap = input.snapshots.get(e);
      const s = snap ?? snapshotPeer(peerOf(input, e.peer), input.end);
      const when = snap ? `at ${at(s.at)}` : `at the end (${at(input.end)}; the run is shorter than ${at(e.by)})`;
      return {
        text: e.value ? `${e.peer} established by ${at(e.by)}` : `${e.peer} not established at ${at(e.by)}`,
        ok: s.established === e.value,
        explanation: `${when} ${e.peer} ${s.established ? 'has' : 'has no established IKE SA with a CHILD_SA'}${s.established ? ` ${s.detail}` : `; ${s.detail}`}`,
      };
    }
    case 'nat-here':
    case 'nat-there': {
      const p = peerOf(input, e.peer);
      const sa = p.currentSa();
      const cond = e.expect === 'nat-here' ? 'NAT_HERE' : 'NAT_THERE';
      const v = sa ? (e.expect === 'nat-here' ? sa.natHere : sa.natThere) : false;
      return {
        text: `${e.peer} ${e.value ? 'has' : 'does not have'} ${cond}`,
        ok: sa !== undefined && v === e.value,
        explanation: sa?.natd ? `${cond} is ${v ? 'set' : 'clear'}: ${sa.natd}` : `${e.peer} never got as far as NAT detection`,
      };
    }
    case 'floated': {
      const p = peerOf(input, e.peer);
      const sa = p.currentSa();
      const v = sa?.floated ?? false;
      const f = p.floats.at(-1);
      return {
        text: `${e.peer} ${e.value ? 'floats' : 'does not float'} to UDP 4500`,
        ok: sa !== undefined && v === e.value,
        explanation: !sa ? `${e.peer} has no IKE SA` : v ? `IKE moved ${f ? `from ${f.from} to ${f.to} at ${at(f.at)}` : 'to the NAT-T port'}` : `IKE stayed on ${sa.local ?? 'port 500'}`,
      };
    }
    case 'encapsulation': {
      const p = peerOf(input, e.peer);
      const c = [...p.children.values()].at(-1);
      const got = c ? (c.encap ? 'udp' : 'none') : undefined;
      return {
        text: `${e.peer} sends ESP ${e.value === 'udp' ? 'in UDP' : 'without UDP encapsulation'}`,
        ok: got === e.value,
        explanation: c ? `CHILD_SA ${c.spiOut.toString(16).padStart(8, '0')}: ${c.encapReason}` : `${e.peer} never installed a CHILD_SA`,
      };
    }
    case 'keepalives': {
      const p = peerOf(input, e.peer);
      const n = p.keepalives.length;
      const gaps: number[] = [];
      for (let i = 1; i < p.keepalives.length; i++) {
        const a = p.keepalives[i - 1]!;
        const b = p.keepalives[i]!;
        if (a.saId === b.saId) gaps.push(b.at - a.at);
      }
      const min = gaps.length > 0 ? Math.min(...gaps) : undefined;
      const max = gaps.length > 0 ? Math.max(...gaps) : undefined;
      const countOk = e.count === undefined || inBounds(n, e.count);
      const intervalOk = e.interval === undefined || (min !== undefined && max !== undefined && inBounds(min, e.interval) && inBounds(max, e.interval));
      const parts: string[] = [];
      if (e.count) parts.push(`${formatCount(e.count)} keepalives`);
      if (e.interval) parts.push(`intervals ${e.interval.min !== undefined ? at(e.interval.min) : '0'}..${e.interval.max !== undefined ? at(e.interval.max) : '∞'}`);
      return {
        text: `${e.peer} sends ${parts.join(', ') || 'keepalives'}`,
        ok: countOk && intervalOk,
        explanation:
          n === 0
            ? `${e.peer} sent no keepalive (${
                p.currentSa() === undefined
                  ? 'it never got an IKE SA'
                  : p.config.encap === 'off'
                  ? 'NAT-T is off (encap: off), so there is no NAT-T socket to keep open'
                  : p.currentSa()?.natHere
                    ? 'it is behind a NAT but its NAT-T socket was never idle for a whole interval'
                    : 'it is not behind a NAT, and only the side behind a NAT sends them'
              })`
            : `${n} keepalives from ${at(p.keepalives[0]!.at)} to ${at(p.keepalives.at(-1)!.at)}${min !== undefined ? `, intervals ${at(min)}..${at(max!)}` : ''}`,
      };
    }
    case 'delivered': {
      const st = input.lab.traffic.get(e.traffic);
      const d = st?.delivered ?? 0;
      const losses = input.ledger.lossesOf(e.traffic);
      return {
        text: `${formatCount(e.count)} packets of ${e.traffic} delivered`,
        ok: inBounds(d, e.count),
        explanation: `${d} of ${st?.sent ?? 0} made it${losses.length > 0 ? `; lost: ${describeLosses(losses)}` : ''}`,
      };
    }
    case 'fails': {
      const st = input.lab.traffic.get(e.traffic);
      const d = st?.delivered ?? 0;
      const losses = input.ledger.lossesOf(e.traffic);
      const reasonSeen = e.reason === undefined || losses.some((l) => l.reason === e.reason);
      return {
        text: `${e.traffic} fails${e.reason ? ` (${e.reason})` : ''}`,
        ok: (st?.sent ?? 0) > 0 && d === 0 && reasonSeen,
        explanation: `${d} of ${st?.sent ?? 0} made it${losses.length > 0 ? `; lost: ${describeLosses(losses)}` : '; no loss was recorded'}`,
      };
    }
    case 'mapping-expired': {
      const insidePort = (r: NatRecord): number | undefined => {
        const m = /:(\d+)$/.exec(r.mapping?.internal ?? '');
        return m ? Number(m[1]) : undefined;
      };
      const list = (input.expiries.get(e.nat) ?? []).filter((r) => (e.by === undefined || r.at <= e.by) && (e.port === undefined || insidePort(r) === e.port));
      return {
        text: `a mapping of ${e.nat}${e.port !== undefined ? ` for inside port ${e.port}` : ''} ${e.value ? '' : 'never '}expires${e.by !== undefined ? ` by ${at(e.by)}` : ''}`,
        ok: list.length > 0 === e.value,
        explanation: list.length > 0 ? `${list.length} expired, first at ${at(list[0]!.at)}: ${list[0]!.comment}` : 'no mapping expired',
      };
    }
    case 'sa-deleted': {
      const p = peerOf(input, e.peer);
      const list = [...p.sas.values()].filter(
        (s) =>
          s.deletedAt !== undefined &&
          (e.by === undefined || s.deletedAt <= e.by) &&
          (e.reason !== undefined ? s.deleteReason === e.reason : s.deleteReason !== 'rekeyed'),
      );
      return {
        text: `${e.peer} ${e.value ? 'loses' : 'keeps'} an IKE SA${e.reason ? ` (${e.reason})` : ''}${e.by !== undefined ? ` by ${at(e.by)}` : ''}`,
        ok: list.length > 0 === e.value,
        explanation:
          list.length > 0
            ? list.map((s) => `IKE SA ${s.spiI}/${s.spiR} deleted at ${at(s.deletedAt!)} (${s.deleteReason}${s.deleteMessage ? `: ${s.deleteMessage}` : ''})`).join('; ')
            : `no IKE SA of ${e.peer} was deleted${e.reason ? ` for ${e.reason}` : ''}`,
      };
    }
    case 'reestablished': {
      const p = peerOf(input, e.peer);
      const fresh = [...p.sas.values()].filter((s) => s.establishedAt !== undefined && s.rekeyOf === undefined);
      const lostAt = [...p.sas.values()].filter((s) => s.deletedAt !== undefined && s.deleteReason !== 'rekeyed').map((s) => s.deletedAt!);
      const again = fresh.filter((s) => lostAt.some((t) => t <= s.establishedAt!) && (e.by === undefined || s.establishedAt! <= e.by));
      return {
        text: `${e.peer} ${e.value ? 'sets up a new IKE SA after losing one' : 'never needs a new IKE SA'}${e.by !== undefined ? ` by ${at(e.by)}` : ''}`,
        ok: again.length > 0 === e.value,
        explanation:
          again.length > 0
            ? again.map((s) => `IKE SA ${s.spiI}/${s.spiR} established at ${at(s.establishedAt!)} via ${s.local} ↔ ${s.remote}`).join('; ')
            : `${fresh.length} IKE SA(s) set up, ${lostAt.length} lost`,
      };
    }
    case 'peer-address-updated': {
      const p = peerOf(input, e.peer);
      const u = p.addressUpdates;
      return {
        text: `${e.peer} ${e.value ? 'follows' : 'never follows'} its peer to a new address`,
        ok: u.length > 0 === e.value,
        explanation: u.length > 0 ? u.map((x) => `${x.from} → ${x.to} at ${at(x.at)}`).join('; ') : 'the peer address never changed',
      };
    }
    case 'retransmits': {
      const p = peerOf(input, e.peer);
      const r = p.retransmits;
      return {
        text: `${e.peer} retransmits (${formatCount(e.count)} times)`,
        ok: inBounds(r.length, e.count),
        explanation: r.length > 0 ? `${r.length}: ${r.slice(0, 6).map((x) => `${x.exchange} #${x.attempt} at ${at(x.at)}`).join(', ')}${r.length > 6 ? ', ...' : ''}` : 'no retransmission',
      };
    }
    case 'cookie-mode': {
      const p = peerOf(input, e.peer);
      const on = p.cookieModes.filter((c) => c.on && (e.by === undefined || c.at <= e.by));
      const st = p.engine.admissionStats;
      const first = on[0];
      return {
        text: `${e.peer} ${e.value ? 'demands' : 'never demands'} COOKIEs${e.by !== undefined ? ` by ${at(e.by)}` : ''}`,
        ok: on.length > 0 === e.value,
        explanation: first
          ? `COOKIE mode from ${at(first.at)} (${first.halfOpen} half-open)${on.length > 1 ? `, entered ${on.length} times` : ''}; ${st.cookiesSent} COOKIEs sent, ${st.cookiesAccepted} accepted`
          : `never in COOKIE mode${e.by !== undefined ? ` by ${at(e.by)}` : ''}: at most ${st.halfOpenPeak} half-open IKE SAs`,
      };
    }
    case 'admission': {
      const st = peerOf(input, e.peer).engine.admissionStats;
      const v = st[e.counter];
      return {
        text: `${e.peer} ${e.counter} ${formatCount(e.count)}`,
        ok: inBounds(v, e.count),
        explanation: `${e.counter} is ${v} (${describeAdmission(st)})`,
      };
    }
    case 'ike-dropped':
    case 'esp-dropped': {
      const p = peerOf(input, e.peer);
      const drops = e.expect === 'ike-dropped' ? p.stats.ikeDrops : p.stats.espDrops;
      const n = e.reason === undefined ? Object.values(drops).reduce((a, b) => a + b, 0) : (drops[e.reason] ?? 0);
      const all = Object.entries(drops).filter(([, c]) => c > 0);
      const what = e.expect === 'ike-dropped' ? 'IKE datagrams' : 'ESP packets';
      return {
        text: `${e.peer} drops ${formatCount(e.count)} ${what}${e.reason ? ` (${e.reason})` : ''}`,
        ok: inBounds(n, e.count),
        explanation: `${n} dropped${e.reason ? ` for ${e.reason}` : ''}; all drops: ${all.length > 0 ? all.map(([k, c]) => `${k} ${c}`).join(', ') : 'none'}`,
      };
    }
  }
}

function describeAdmission(st: AdmissionStats): string {
  return `peak half-open ${st.halfOpenPeak}, ${st.dhComputations} Diffie-Hellman, ${st.cookiesSent} COOKIEs sent, ${st.cookiesAccepted} accepted, ${st.cookiesInvalid} invalid, dropped ${st.blockedPerPeer} per peer and ${st.overLimit} over the limit`;
}

function describeLosses(losses: readonly { where: string; reason: string; detail: string; count: number }[]): string {
  return losses.map((l) => `${l.count} at ${l.where} (${l.reason}: ${l.detail})`).join('; ');
}

export function evaluateExpectations(input: EvaluationInput): ExpectationResult[] {
  return input.scenario.expectations.map((e) => {
    const r = evaluate(input, e);
    const line = scenarioSource(e)?.line;
    return { expect: e.expect, ...r, ...(line !== undefined ? { line } : {}) };
  });
}
