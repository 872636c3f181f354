/**
 * Targets for the IKE engine's datagram input. IkeEndpoint.handleDatagram must never
 * throw; bad input is dropped with a 'datagram-dropped' event, and an unexpected
 * exception inside it shows up as a drop with reason 'internal-error', which is a
 * finding here (see engine.ts checkEvent). Beyond that:
 *  - ike-responder: one long-lived responder takes every input; every 100 inputs a
 *    fresh legitimate initiator must still establish with it (through COOKIEs if the
 *    hostile inputs filled the half-open table), and after 31 s of silence it must
 *    hold no IKE SA at all. It never holds more than the half-open limit.
 *  - ike-initiator: an initiator mid-handshake (waiting for the IKE_SA_INIT response,
 *    or for the IKE_AUTH response: chosen by the input's exchange type) gets the
 *    input as that response; when it merely dropped it, the genuine response held
 *    back must still complete the handshake.
 *  - ike-sealed: the input is an unsealed message (IKE header ‖ SK header ‖ inner
 *    payloads in clear) that is sealed with the sender's real keys, so hostile inner
 *    payloads pass the ICV and reach the tasks: IKE_AUTH to a half-open responder or
 *    to the waiting initiator, CREATE_CHILD_SA / INFORMATIONAL requests and responses
 *    on an established SA. A message that was only dropped must leave the SA alive.
 */
import { SeededRng } from '../../src/core/rng.ts';
import { endpoint } from '../../src/core/addr.ts';
import { IkeEndpoint, type Datagram } from '../../src/ikev2/index.ts';
import type { FuzzTarget } from '../harness.ts';
import { loadCorpus } from '../corpus.ts';
import {
  Net,
  RSP_ADDR,
  type Delivery,
  type Side,
  drainEvents,
  drainTransmits,
  ikeHeaderInfo,
  labPeers,
  makePair,
  responderConfig,
  seal,
  senderKeys,
  withMarker,
} from '../engine.ts';
import { emptyLayout, ikeLayout, ikeMessageLayout, udpPayloadLayout } from '../locate.ts';
import { SEALED_PAIR_SEED, engineSeeds, idsOf, ikeOf, initiatorStage, runAction, sealedEstablished } from '../seeds.ts';
import { lazy } from './common.ts';
import { InvariantFailure } from '../util.ts';
import { concatBytes } from '../../src/core/bytes.ts';

const S = 1_000_000;
const COOKIE_THRESHOLD = 10;

function isMarked(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0;
}

// ---------------------------------------------------------------- ike-responder

interface ResponderState {
  readonly rsp: IkeEndpoint;
  now: number;
  checks: number;
}

/** A genuine IKE_SA_INIT request (port 500) of the recorded runs. */
const initRequest = lazy((): Uint8Array => {
  const r = engineSeeds().responderInputs.find((b) => b.length > 28 && b[18] === 34 && (b[19]! & 0x20) === 0);
  if (!r) throw new InvariantFailure('setup: no IKE_SA_INIT request recorded');
  return r;
});

/**
 * Every other check starts with a flood: 12 valid IKE_SA_INIT requests with fresh
 * SPIs fill the half-open table, so the legitimate initiator has to get through a
 * COOKIE. Then a fresh initiator establishes with the responder and deletes its SA;
 * then 31 s of silence must leave the responder with no IKE SA at all.
 */
export function responderLiveness(s: ResponderState): void {
  if (s.checks % 2 === 0) {
    for (let k = 0; k < COOKIE_THRESHOLD + 2; k++) {
      const req = new Uint8Array(initRequest());
      new DataView(req.buffer).setUint32(0, 0xf1000000 + s.checks * 64 + k);
      s.now += 1_000;
      // One source each: a single address is held to the per-peer block threshold (5).
      s.rsp.handleDatagram({ src: endpoint(`203.0.113.${200 + k}`, 500), dst: endpoint(RSP_ADDR, 500), payload: req }, s.now);
      drainTransmits('rsp', s.rsp);
      drainEvents('rsp', s.rsp);
    }
  }
  const ini = new IkeEndpoint({ rng: new SeededRng(0x10000 + s.checks++), config: {} });
  const net = new Net(ini, s.rsp, { nat: true, start: s.now });
  const saId = ini.initiate(labPeers().initiator, net.now);
  net.drain();
  if (!net.runUntil(() => net.established(), net.now + 30 * S)) {
    const rejected = net.events.filter((e) => e.side === 'rsp' && (e.ev.type === 'init-rejected' || e.ev.type === 'datagram-dropped')).map((e) => ('message' in e.ev ? e.ev.message : e.ev.type));
    throw new InvariantFailure(`a legitimate initiator cannot establish with the responder after hostile input (${s.rsp.saIds().length} SAs held; responder said: ${rejected.slice(0, 3).join(' | ')})`);
  }
  const rspSa = net.events.find((e) => e.side === 'rsp' && e.ev.type === 'sa-established')!.ev as { saId: number };
  ini.deleteSa(saId, net.now);
  net.drain();
  if (!net.runUntil(() => net.events.some((e) => e.side === 'rsp' && e.ev.type === 'sa-deleted' && e.ev.saId === rspSa.saId), net.now + 30 * S)) {
    throw new InvariantFailure('the responder did not delete the legitimate SA when asked');
  }
  s.now = net.now + 31 * S;
  s.rsp.handleTimeout(s.now);
  drainTransmits('rsp', s.rsp);
  drainEvents('rsp', s.rsp);
  const left = s.rsp.saIds().length;
  if (left !== 0) throw new InvariantFailure(`${left} IKE SA(s) still held after 31 s of silence (half-open timeout 30 s)`);
}

export const ikeResponderTarget: FuzzTarget<ResponderState> = {
  name: 'ike-responder',
  description: 'a long-lived IKE responder fed hostile datagrams; a legitimate initiator must still connect',
  weight: 3,
  maxLen: 65535,
  randomShare: 0.03,
  lengthBias: 0.2,
  seeds: lazy(() => {
    const own = engineSeeds().responderInputs;
    // IKE_SA_INIT requests are what creates responder state: give them more weight.
    const inits = own.filter((b) => (isMarked(b) ? b[22] : b[18]) === 34);
    const captured = loadCorpus().udpPayloads.map((u) => u.payload);
    const looksIke = (b: Uint8Array): boolean => (isMarked(b) ? b.length >= 32 : b.length >= 28 && (b[17] === 0x20 || b[17] === 0x10));
    // Mostly IKE: ESP and keepalives are one early drop, a few of them are enough.
    return [...own, ...Array.from({ length: 10 }, () => inits).flat(), ...engineSeeds().ikeMessages, ...captured.filter(looksIke), ...captured.filter((b) => !looksIke(b)).slice(0, 12)];
  }),
  layout: udpPayloadLayout,
  setup: () => ({ rsp: new IkeEndpoint({ rng: new SeededRng(0x7e5), config: responderConfig({ cookieThreshold: COOKIE_THRESHOLD }) }), now: 0, checks: 0 }),
  exec(s, b) {
    s.now += 2_000;
    // Port 500 for what looks like IKE, the NAT-T port for the rest (marker, ESP, keepalives).
    const on500 = !isMarked(b) && b.length >= 28 && (b[17] === 0x20 || b[17] === 0x10);
    const src = endpoint(`203.0.113.${1 + (b.length % 7)}`, on500 ? 500 : 4500 + (b.length % 3));
    s.rsp.handleDatagram({ src, dst: endpoint(RSP_ADDR, on500 ? 500 : 4500), payload: b }, s.now);
    drainTransmits('rsp', s.rsp);
    drainEvents('rsp', s.rsp);
    const due = s.rsp.pollTimeout();
    if (due !== undefined && due <= s.now) {
      s.rsp.handleTimeout(s.now);
      drainTransmits('rsp', s.rsp);
      drainEvents('rsp', s.rsp);
    }
    const held = s.rsp.saIds().length;
    if (held > COOKIE_THRESHOLD) throw new InvariantFailure(`the responder holds ${held} IKE SAs from hostile input (half-open limit ${COOKIE_THRESHOLD})`);
  },
  periodic: responderLiveness,
  periodEvery: 100,
};

// ---------------------------------------------------------------- ike-initiator

function completes(net: Net): boolean {
  return net.runUntil(() => net.established(), net.now + 30 * S);
}

export const ikeInitiatorTarget: FuzzTarget<null> = {
  name: 'ike-initiator',
  description: 'an initiator mid-handshake gets the input as the IKE_SA_INIT or IKE_AUTH response',
  weight: 2,
  maxLen: 65535,
  randomShare: 0.02,
  lengthBias: 0.2,
  seeds: lazy(() => [...engineSeeds().initiatorInputs, ...loadCorpus().ikev2]),
  layout: udpPayloadLayout,
  setup: () => null,
  exec(_s, b) {
    const ike = isMarked(b) ? b.subarray(4) : b;
    const stage = ike.length > 18 && ike[18] === 34 ? 34 : 35;
    const { net, genuine } = initiatorStage(stage);
    const droppedOnly = net.forge('ini', genuine.d, b);
    net.inject(genuine);
    if (droppedOnly) {
      if (!completes(net)) {
        throw new InvariantFailure(`the initiator dropped a forged ${stage === 34 ? 'IKE_SA_INIT' : 'IKE_AUTH'} response, yet the genuine one no longer completes the handshake`);
      }
    } else {
      net.runUntil(() => false, net.now + 60 * S);
    }
  },
};

// ---------------------------------------------------------------- ike-sealed

/** The SA still answers a liveness check started by the initiator. */
function stillAlive(net: Net): boolean {
  const ids = idsOf(net, 'ini');
  const from = net.events.length;
  if (!runAction(net.ini, 'checkLiveness', ids, net.now)) return false;
  net.drain();
  return net.runUntil(
    () => net.events.slice(from).some((e) => e.side === 'ini' && e.ev.type === 'message-received' && e.ev.isResponse && e.ev.exchange === 37),
    net.now + 30 * S,
  );
}

function ivSeed(u: Uint8Array): number {
  let h = u.length;
  for (let i = 0; i < Math.min(u.length, 64); i++) h = (Math.imul(h, 31) + u[i]!) >>> 0;
  return h;
}

function marked(d: Datagram): boolean {
  return d.src.port !== 500 && d.dst.port !== 500;
}

function sealedAuth(u: Uint8Array, response: boolean): void {
  const { net, peers } = makePair(SEALED_PAIR_SEED);
  const to: Side = response ? 'ini' : 'rsp';
  net.hook = (del) => {
    if (del.to !== to || del.kind !== 'ike' || net.held.length > 0) return 'deliver';
    const info = ikeHeaderInfo(ikeOf(del));
    return info && info.exchange === 35 && info.response === response ? 'hold' : 'deliver';
  };
  net.ini.initiate(peers.initiator, net.now);
  net.drain();
  net.runUntil(() => net.held.length > 0, 30 * S);
  const genuine = net.held[0];
  if (!genuine) throw new InvariantFailure('setup: no IKE_AUTH message to hold back');
  net.hook = undefined;
  const sender = to === 'rsp' ? net.ini : net.rsp;
  const keys = senderKeys(sender, ikeOf(genuine).subarray(0, 8), !response);
  if (!keys) throw new InvariantFailure('setup: no keys for the IKE SA');
  const droppedOnly = net.forge(to, genuine.d, withMarker(seal(u, keys, ivSeed(u)), marked(genuine.d)));
  net.inject(genuine);
  if (droppedOnly && !completes(net)) {
    throw new InvariantFailure(`the ${to === 'rsp' ? 'responder' : 'initiator'} dropped a forged IKE_AUTH ${response ? 'response' : 'request'}, yet the genuine one no longer completes the handshake`);
  }
  net.runUntil(() => false, net.now + 30 * S);
}

function lastTo(net: Net, side: Side): Delivery {
  for (let i = net.delivered.length - 1; i >= 0; i--) {
    const d = net.delivered[i]!;
    if (d.to === side && d.kind === 'ike') return d;
  }
  throw new InvariantFailure(`setup: nothing was delivered to ${side}`);
}

function sealedEstablishedInput(u: Uint8Array, info: NonNullable<ReturnType<typeof ikeHeaderInfo>>): void {
  const net = sealedEstablished();
  const sender: Side = info.initiator ? 'ini' : 'rsp';
  const receiver: Side = sender === 'ini' ? 'rsp' : 'ini';
  let genuine: Delivery | undefined;
  if (info.response) {
    // The receiver needs a request of its own outstanding for a response to answer.
    net.hook = (del) => (del.to === receiver && del.kind === 'ike' && net.held.length === 0 ? 'hold' : 'deliver');
    runAction(net.ep(receiver), info.exchange === 36 ? 'createChild' : 'checkLiveness', idsOf(net, receiver), net.now);
    net.drain();
    net.runUntil(() => net.held.length > 0, net.now + 10 * S);
    genuine = net.held[0];
    net.hook = undefined;
    if (!genuine) throw new InvariantFailure('setup: no response to hold back');
  }
  const template = (genuine ?? lastTo(net, receiver)).d;
  const keys = senderKeys(net.ep(sender), ikeOf(genuine ?? lastTo(net, receiver)).subarray(0, 8), info.initiator);
  if (!keys) throw new InvariantFailure('setup: no keys for the IKE SA');
  const droppedOnly = net.forge(receiver, template, withMarker(seal(u, keys, ivSeed(u)), marked(template)));
  if (genuine) net.inject(genuine);
  net.runUntil(() => false, net.now + 30 * S);
  if (droppedOnly && !stillAlive(net)) {
    throw new InvariantFailure(`the ${receiver === 'rsp' ? 'responder' : 'initiator'} dropped a forged ${info.response ? 'response' : 'request'} (exchange ${info.exchange}), yet the IKE SA no longer answers a liveness check`);
  }
}

export const ikeSealedTarget: FuzzTarget<null> = {
  name: 'ike-sealed',
  description: 'hostile inner payloads sealed with the real keys: IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL to both roles',
  weight: 2,
  maxLen: 16384,
  randomShare: 0,
  lengthBias: 0.3,
  seeds: lazy(() => engineSeeds().unsealed),
  layout(b) {
    const out = emptyLayout();
    // Header fields, then the inner chain in clear after the SK header.
    const l = ikeMessageLayout(b);
    out.fields.push(...l.fields.filter((f) => f.at < 32 && f.name !== 'ike.length' && f.name !== 'ike.payload.length'));
    if (b.length >= 32) ikeLayout(out, b, 32, b.length, { first: b[28]!, version: 2 });
    out.ike.push({ at: 0, end: b.length, version: 2, firstTypeAt: 28 });
    return out;
  },
  setup: () => null,
  exec(_s, u) {
    const info = ikeHeaderInfo(u);
    if (!info) {
      const net = sealedEstablished();
      net.forge('rsp', lastTo(net, 'rsp').d, concatBytes(new Uint8Array(4), u));
      return;
    }
    if (info.exchange === 35) sealedAuth(u, info.response);
    else sealedEstablishedInput(u, info);
  },
};

export const ENGINE_TARGETS = [ikeResponderTarget, ikeInitiatorTarget, ikeSealedTarget] as const;
