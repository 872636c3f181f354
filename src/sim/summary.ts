/**
 * summary.txt of a simulation: per peer its IKE SA, NAT conditions and a
 * `show crypto ipsec sa` block per CHILD_SA installed at the end; per NAT its table;
 * then the traffic and the expectations.
 */
import { formatSpan } from './packet.ts';
import type { Simulation } from './simulation.ts';

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
  out.push('=== expectations ===');
  for (const r of sim.results) out.push(`${r.ok ? 'PASS' : 'FAIL'} ${r.text}: ${r.explanation}`);
  return `${out.join('\n')}\n`;
}
