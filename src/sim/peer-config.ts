/**
 * From a scenario peer to the IKE engine's PeerConfig. The scenario validator checks
 * shapes; the engine's own validation (resolvePeerConfig) checks the meaning (proposal
 * names, identities, selectors), and its ConfigError is turned into a ScenarioIssue at
 * the line of the scenario key that holds the value.
 */
import { formatIp, formatPrefix, type IpAddress } from '../core/addr.ts';
import { ConfigError, resolvePeerConfig, type PeerConfig } from '../ikev2/config.ts';
import type { Network } from './network.ts';
import type { Scenario, ScenarioIssue, ScenarioPeer } from './scenario.ts';
import { scenarioSource } from './scenario-schema.ts';

export interface PeerSetup {
  readonly peer: ScenarioPeer;
  /** The connection: what an initiator starts, or the one a responder answers for. */
  readonly config: PeerConfig;
  readonly local: IpAddress;
  /** Where an initiator sends IKE_SA_INIT. */
  readonly remote: IpAddress;
}

export type PeerSetupResult = { readonly ok: true; readonly setup: PeerSetup } | { readonly ok: false; readonly issue: ScenarioIssue };

/** Engine field → scenario key of a peer (for error positions). */
const FIELD_TO_KEY: readonly (readonly [RegExp, string])[] = [
  [/^peer\.localAddrs/, 'address'],
  [/^peer\.remote/, 'remoteAddress'],
  [/^peer\.psk/, 'psk'],
  [/^peer\.localId/, 'ids.local'],
  [/^peer\.remoteId/, 'ids.remote'],
  [/^peer\.ikeProposals/, 'proposals.ike'],
  [/^peer\.espProposals/, 'proposals.esp'],
  [/^peer\.localTs/, 'ts.local'],
  [/^peer\.remoteTs/, 'ts.remote'],
  [/^peer\.encap/, 'encap'],
  [/^peer\.keepaliveInterval/, 'keepalive'],
  [/^peer\.dpdDelay/, 'dpd.delay'],
  [/^peer\.rekey\.ike/, 'rekey.ike'],
  [/^peer\.rekey\.child/, 'rekey.child'],
  [/^peer\.retransmit\.timeout/, 'retransmit.timeout'],
  [/^peer\.retransmit\.tries/, 'retransmit.tries'],
  [/^peer\.retransmit\.base/, 'retransmit.base'],
];

function issueAt(s: Scenario, peer: ScenarioPeer, key: string, fallbackPath: string, message: string): ScenarioIssue {
  const at = scenarioSource(peer, key);
  return at
    ? { file: at.file, line: at.line, column: at.column, path: at.path, message }
    : { file: s.file, line: 1, column: 1, path: fallbackPath, message };
}

/**
 * The engine configuration of one peer. Addresses come from the built network (so
 * `address: auto` interfaces are resolved): the local address is `address`, else the
 * host's first address of the family of the remote peer's address.
 */
export function peerSetup(s: Scenario, net: Network, peer: ScenarioPeer, index: number): PeerSetupResult {
  const base = `peers[${index}]`;
  const other = s.peers.find((p) => p.name === peer.remote);
  const host = net.host(peer.host);
  let remote: IpAddress | undefined = peer.remoteAddress;
  if (!remote && other) {
    const oh = net.host(other.host);
    remote = other.address ?? (host.primaryAddress(4) && oh.primaryAddress(4) ? oh.primaryAddress(4) : oh.primaryAddress(6));
  }
  if (!remote) return { ok: false, issue: issueAt(s, peer, 'remote', `${base}.remote`, `cannot tell the address of remote peer "${peer.remote}"`) };
  const local = peer.address ?? host.primaryAddress(remote.family);
  if (!local) {
    return {
      ok: false,
      issue: issueAt(s, peer, 'host', `${base}.host`, `host ${peer.host} has no IPv${remote.family} address to reach ${formatIp(remote)}`),
    };
  }
  if (local.family !== remote.family) {
    return { ok: false, issue: issueAt(s, peer, 'address', `${base}.address`, `${formatIp(local)} and the remote ${formatIp(remote)} are of different address families`) };
  }
  const config: PeerConfig = {
    name: peer.name,
    localAddrs: [local],
    // A responder answers whoever reaches it (the initiator may be behind a NAT).
    ...(peer.role === 'initiator' ? { remote: formatIp(remote) } : {}),
    psk: peer.psk,
    localId: peer.ids.local,
    remoteId: peer.ids.remote,
    ...(peer.proposals.ike.length > 0 ? { ikeProposals: peer.proposals.ike.join(',') } : {}),
    ...(peer.proposals.esp.length > 0 ? { espProposals: peer.proposals.esp.join(',') } : {}),
    ...(peer.ts && peer.ts.local.length > 0 ? { localTs: peer.ts.local.map(formatPrefix) } : {}),
    ...(peer.ts && peer.ts.remote.length > 0 ? { remoteTs: peer.ts.remote.map(formatPrefix) } : {}),
    encap: peer.encap,
    keepaliveInterval: peer.keepalive ?? 0,
    dpdDelay: peer.dpd?.delay ?? 0,
    ...(peer.rekey ? { rekey: { ...(peer.rekey.ike !== undefined ? { ike: peer.rekey.ike } : {}), ...(peer.rekey.child !== undefined ? { child: peer.rekey.child } : {}) } } : {}),
    ...(peer.retransmit ? { retransmit: { ...peer.retransmit } } : {}),
  };
  try {
    resolvePeerConfig(config, 'peer');
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const key = FIELD_TO_KEY.find(([re]) => re.test(e.field))?.[1] ?? 'name';
    return { ok: false, issue: issueAt(s, peer, key, `${base}.${key}`, e.reason) };
  }
  return { ok: true, setup: { peer, config, local, remote } };
}
