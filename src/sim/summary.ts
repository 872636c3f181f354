/**
 * summary.txt of a simulation: per peer its IKE SA, NAT conditions, admission of
 * IKE_SA_INIT (a responder that demanded COOKIEs or dropped requests) and a
 * `show crypto ipsec sa` block per CHILD_SA installed at the end; per NAT its table;
 * then the traffic, the attackers and the expectations.
 */
import { formatPrefix } from '../core/addr.ts';
import type { IpsecPeer } from './ipsec-peer.ts';
import { formatSpan } from './packet.ts';
import type { Simulation } from './simulation.ts';

/** COOKIE mode changes listed in full up to this many; later ones are counted. */
const COOKIE_CHANGES_SHOWN = 4;

const byReason = (m: Readonly<Record<string, number>>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/**
 * A responder's admission of IKE_SA_INIT (IkeEndpoint.admissionStats) in one line, or
 * undefined when it never demanded a COOKIE nor dropped a request.
 */
export function admissionLine(p: IpsecPeer): string | undefined {
  if (p.role !== 'responder') return undefined;
  const st = p.engine.admissionStats;
  const changes = p.cookieModes;
  if (changes.length === 0 && st.blockedPerPeer === 0 && st.overLimit === 0) return undefined;
  const shown = changes.slice(0, COOKIE_CHANGES_SHOWN).map((c) => `${c.on ? 'on' : 'off'} at ${formatSpan(c.at)} (${c.halfOpen} half-open)`);
  if (changes.length > COOKIE_CHANGES_SHOWN) shown.push(`${changes.length - COOKIE_CHANGES_SHOWN} more changes`);
  const mode = changes.length === 0 ? 'COOKIE mode never on' : `COOKIE mode ${shown.join(', ')}; ${st.cookieMode ? 'on' : 'off'} at the end`;
  return (
    `  admission: ${mode}; half-open peak ${st.halfOpenPeak}, ${st.halfOpen} at the end; Diffie-Hellman ${st.dhComputations}; ` +
    `COOKIEs sent ${st.cookiesSent}, accepted ${st.cookiesAccepted}, invalid ${st.cookiesInvalid}; ` +
    `dropped ${st.blockedPerPeer} per peer (peer-half-open-limit), ${st.overLimit} over the limit (half-open-limit)`
  );
}

/**
 * The `=== attackers ===` block: per campaign what it sent and missed, then the IKE
 * and ESP drops of every peer that dropped something (all causes); empty without
 * `attackers:`.
 */
export function attackerLines(sim: Simulation): string[] {
  if (sim.attackers.length === 0) return [];
  const out = ['=== attackers ==='];
  for (const a of sim.attackers) {
    const at = a.attacker;
    const spoof = at.kind === 'ike-init-flood' && at.spoof ? ` (spoofing ${formatPrefix(at.spoof)})` : '';
    const { sent, missed, firstAt, lastAt } = a.progress;
    const when = firstAt === undefined ? '' : lastAt === undefined || lastAt === firstAt ? ` at ${formatSpan(firstAt)}` : ` from ${formatSpan(firstAt)} to ${formatSpan(lastAt)}`;
    out.push(`${at.name}: ${at.kind} from ${at.host}${spoof} to ${a.target}: ${sent} sent${when}, ${missed} missed`);
  }
  for (const p of sim.peers.values()) {
    const ike = byReason(p.stats.ikeDrops);
    const esp = byReason(p.stats.espDrops);
    if (ike === '' && esp === '') continue;
    out.push(`  ${p.name} dropped (all causes): ${[ike && `IKE ${ike}`, esp && `ESP ${esp}`].filter(Boolean).join('; ')}`);
  }
  out.push('');
  return out;
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function buildSummary(sim: Simulation): string {
  const s = sim.scenario;
  const net = sim.lab.network;
  const now = net.now;
  const out: string[] = [];
  out.push(`natt-sim simulate: ${s.name} (seed ${s.seed}), ${formatSpan(now)} of virtual time, ${sim.eventsRun} events`);
  if (s.description) out.push(s.description);
  out.push('');
  for (const p of sim.peers.values()) {
    const sa = p.currentSa();
    out.push(`=== peer ${p.name} (${p.role} on host ${p.hostName}) ===`);
    if (!sa) {
      out.push('no IKE SA');
    } else {
      out.push(`IKE SA ${sa.spiI}/${sa.spiR} ${sa.local ?? '?'} <-> ${sa.remote ?? '?'} ${sa.suite ?? ''}`.trimEnd());
      out.push(
        `  NAT_HERE ${sa.natHere ? 'yes' : 'no'}, NAT_THERE ${sa.natThere ? 'yes' : 'no'}, NAT_FAKE ${sa.natFake ? 'yes' : 'no'}, floated ${sa.floated ? 'yes' : 'no'}` +
          `${sa.establishedAt !== undefined ? `, established at ${formatSpan(sa.establishedAt)}` : ', not established'}` +
          `${sa.deletedAt !== undefined ? `, deleted at ${formatSpan(sa.deletedAt)} (${sa.deleteReason})` : ''}`,
      );
      if (sa.natd) out.push(`  NAT-D: ${sa.natd}`);
    }
    out.push(`  keepalives sent ${p.keepalives.length}, received ${p.stats.keepalivesReceived}; retransmissions ${p.retransmits.length}; peer address updates ${p.addressUpdates.length}`);
    const admission = admissionLine(p);
    if (admission !== undefined) out.push(admission);
    const show = p.showCryptoIpsecSa(now);
    out.push('');
    out.push(show === '' ? 'no CHILD_SA installed at the end' : show.trimEnd());
    out.push('');
  }
  for (const n of s.topology.nats) {
    const dev = net.natRouter(n.name).nat;
    out.push(`=== NAT ${n.name} (${n.kind}, mapping ${dev.mappingBehaviour}, filtering ${dev.filteringBehaviour}) ===`);
    const maps = dev.mappings();
    if (maps.length === 0) out.push('no mappings at the end');
    else {
      const rows: string[][] = [['proto', 'inside', 'outside', 'remote', 'last used', 'expires']];
      for (const m of maps) {
        rows.push([m.protocol, m.internal, m.external, m.remote ?? '*', formatSpan(m.lastUsedAt), m.expiresAt === undefined ? 'never' : formatSpan(m.expiresAt)]);
      }
      out.push(...table(rows));
    }
    const c = dev.counters;
    const drops = Object.entries(c.drops).map(([k, v]) => `${k} ${v}`);
    out.push(
      `translated out ${c.translatedOut}, in ${c.translatedIn}; mappings created ${c.created}, expired ${c.expired}; dropped ${c.dropped}${drops.length > 0 ? ` (${drops.join(', ')})` : ''}`,
    );
    out.push('');
  }
  if (s.traffic.length > 0) {
    out.push('=== traffic ===');
    for (const t of s.traffic) {
      const st = sim.lab.traffic.get(t.name);
      out.push(`${t.name}: ${st?.delivered ?? 0}/${st?.sent ?? 0} delivered`);
      for (const l of sim.ledger.lossesOf(t.name)) out.push(`  lost ${l.count} at ${l.where}: ${l.reason}: ${l.detail}`);
    }
    out.push('');
  }
  out.push(...attackerLines(sim));
  out.push('=== expectations ===');
  for (const r of sim.results) out.push(`${r.ok ? 'PASS' : 'FAIL'} ${r.text}: ${r.explanation}`);
  return `${out.join('\n')}\n`;
}
