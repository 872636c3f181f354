/**
 * Seeds recorded from the engine's own handshakes, in exactly the deterministic
 * setups the engine targets rebuild for every input (same seeds, same NAT), so a
 * recorded response carries the SPIs and message IDs the rebuilt endpoint expects.
 */
import type { IkeEndpoint } from '../src/ikev2/index.ts';
import {
  type Delivery,
  type Net,
  type Side,
  ikeHeaderInfo,
  makePair,
  senderKeys,
  stripMarker,
  unseal,
} from './engine.ts';
import { lazy } from './targets/common.ts';
import { InvariantFailure } from './util.ts';

/** Seed of the pair the ike-initiator target rebuilds per input. */
export const INITIATOR_PAIR_SEED = 0x1a17;
/** Seed of the pair the ike-sealed target rebuilds per input. */
export const SEALED_PAIR_SEED = 0x5ea1;

export const ACTIONS = ['createChild', 'rekeyChild', 'rekeyIke', 'checkLiveness', 'deleteChild', 'deleteSa'] as const;
export type Action = (typeof ACTIONS)[number];

export function ikeOf(del: Delivery): Uint8Array {
  return stripMarker(del.d.payload, del.d).ike;
}

/** The held-back genuine response of the given exchange type from the responder to the initiator. */
export function initiatorStage(exchange: 34 | 35): { net: Net; genuine: Delivery } {
  const { net, peers } = makePair(INITIATOR_PAIR_SEED);
  net.hook = (del) => {
    if (del.to !== 'ini' || del.kind !== 'ike') return 'deliver';
    const info = ikeHeaderInfo(ikeOf(del));
    return info && info.exchange === exchange && info.response && net.held.length === 0 ? 'hold' : 'deliver';
  };
  net.ini.initiate(peers.initiator, net.now);
  net.drain();
  net.runUntil(() => net.held.length > 0, 30_000_000);
  const genuine = net.held[0];
  if (!genuine) throw new InvariantFailure(`setup: no ${exchange === 34 ? 'IKE_SA_INIT' : 'IKE_AUTH'} response to hold back`);
  net.hook = undefined;
  return { net, genuine };
}

export interface Ids {
  readonly saId: number;
  readonly childId: number;
}

/** The first IKE SA and CHILD_SA ids a side reported. */
export function idsOf(net: Net, side: Side): Ids {
  let saId: number | undefined;
  let childId: number | undefined;
  for (const { side: s, ev } of net.events) {
    if (s !== side) continue;
    if (ev.type === 'sa-established' && saId === undefined) saId = ev.saId;
    if (ev.type === 'child-established' && childId === undefined) childId = ev.childId;
  }
  if (saId === undefined || childId === undefined) throw new InvariantFailure(`setup: ${side} has no established SA`);
  return { saId, childId };
}

/** The deterministic pair of the ike-sealed target, established and quiet. */
export function sealedEstablished(): Net {
  const { net, peers } = makePair(SEALED_PAIR_SEED);
  net.ini.initiate(peers.initiator, net.now);
  net.drain();
  if (!net.runUntil(() => net.established(), 30_000_000)) throw new InvariantFailure('setup: the sealed pair does not establish');
  return net;
}

export function runAction(ep: IkeEndpoint, action: Action, ids: Ids, now: number): boolean {
  switch (action) {
    case 'createChild':
      return ep.createChild(ids.saId, now);
    case 'rekeyChild':
      return ep.rekeyChild(ids.saId, ids.childId, now);
    case 'rekeyIke':
      return ep.rekeyIke(ids.saId, now);
    case 'checkLiveness':
      return ep.checkLiveness(ids.saId, now);
    case 'deleteChild':
      return ep.deleteChild(ids.saId, ids.childId, now);
    case 'deleteSa':
      return ep.deleteSa(ids.saId, now);
  }
}

/** The unsealed form of a delivered protected message, with the sender's keys; undefined for plain ones. */
export function unsealDelivery(net: Net, del: Delivery): Uint8Array | undefined {
  const ike = ikeOf(del);
  const info = ikeHeaderInfo(ike);
  if (!info || del.kind !== 'ike') return undefined;
  const sender = del.to === 'rsp' ? net.ini : net.rsp;
  const keys = senderKeys(sender, ike.subarray(0, 8), info.initiator);
  return keys ? unseal(ike, keys) : undefined;
}

export interface EngineSeeds {
  /** Every IKE message of the recorded runs (no marker). */
  readonly ikeMessages: Uint8Array[];
  /** UDP payloads as the responder received them (marker included). */
  readonly responderInputs: Uint8Array[];
  /** UDP payloads as the initiator received them (marker included). */
  readonly initiatorInputs: Uint8Array[];
  /** Unsealed protected messages (header ‖ SK header ‖ plaintext). */
  readonly unsealed: Uint8Array[];
}

export const engineSeeds = lazy((): EngineSeeds => {
  const ikeMessages: Uint8Array[] = [];
  const responderInputs: Uint8Array[] = [];
  const initiatorInputs: Uint8Array[] = [];
  const unsealed: Uint8Array[] = [];
  const note = (net: Net, from: number): void => {
    for (const del of net.delivered.slice(from)) {
      if (del.kind !== 'ike') continue;
      ikeMessages.push(ikeOf(del).slice());
      (del.to === 'rsp' ? responderInputs : initiatorInputs).push(del.d.payload.slice());
      const u = unsealDelivery(net, del);
      if (u) unsealed.push(u);
    }
  };
  // The initiator target's held responses, and the full runs they come from.
  for (const ex of [34, 35] as const) {
    const s = initiatorStage(ex);
    initiatorInputs.push(s.genuine.d.payload.slice());
    s.net.inject(s.genuine);
    s.net.runUntil(() => s.net.established(), s.net.now + 30_000_000);
    note(s.net, 0);
  }
  // The sealed pair: establishment, then every action from either side.
  const base = sealedEstablished();
  note(base, 0);
  for (const side of ['ini', 'rsp'] as const) {
    for (const action of ACTIONS) {
      const net = sealedEstablished();
      const from = net.delivered.length;
      runAction(net.ep(side), action, idsOf(net, side), net.now);
      net.drain();
      net.runUntil(() => false, net.now + 20_000_000);
      note(net, from);
    }
  }
  // Without NAT: IKE on port 500 throughout.
  {
    const { net, peers } = makePair(7, { nat: false });
    net.ini.initiate(peers.initiator, net.now);
    net.drain();
    net.runUntil(() => net.established(), 30_000_000);
    note(net, 0);
  }
  if (unsealed.length === 0 || ikeMessages.length < 8) throw new InvariantFailure('engine seeds: the recorded runs produced too little');
  return { ikeMessages, responderInputs, initiatorInputs, unsealed };
});

