/**
 * Between the crypto layer's proposals (strongSwan syntax, selection) and the SA
 * payload's proposal substructures (RFC 7296 §3.3).
 */
import { ProtocolError } from '../core/index.ts';
import { DhGroup, TransformType } from '../crypto/algorithms.ts';
import {
  espSuiteFromTransforms,
  ikeSuiteFromTransforms,
  selectProposal,
  type ChosenProposal,
  type EspSuite,
  type IkeSuite,
  type PeerProposal,
  type Proposal,
  type Transform,
} from '../crypto/proposals.ts';
import { NotifyType, PayloadType, ProtocolId } from '../wire/ike/constants.ts';
import {
  keyLength,
  makeTransform,
  type Proposal as WireProposal,
  type SaPayload,
  type Transform as WireTransform,
} from '../wire/ike/payloads/sa.ts';

function toWireTransform(t: Transform): WireTransform {
  return makeTransform(t.type, t.id, t.keyLength);
}

function fromWireTransform(t: WireTransform): Transform {
  const k = keyLength(t);
  return k === undefined ? { type: t.transformType as Transform['type'], id: t.transformId } : { type: t.transformType as Transform['type'], id: t.transformId, keyLength: k };
}

/** A proposal without Diffie-Hellman transforms (CHILD_SA proposals in IKE_AUTH carry none). */
export function withoutDh(p: Proposal): Proposal {
  return { ...p, transforms: p.transforms.filter((t) => t.type !== TransformType.DH) };
}

/** The first DH group of a list of proposals (the one to send a KE for), or NONE. */
export function firstDhGroup(list: readonly Proposal[]): number {
  for (const p of list) for (const t of p.transforms) if (t.type === TransformType.DH && t.id !== DhGroup.NONE) return t.id;
  return DhGroup.NONE;
}

/** Whether a DH group is offered in any proposal. */
export function offersDhGroup(list: readonly Proposal[], group: number): boolean {
  return list.some((p) => p.transforms.some((t) => t.type === TransformType.DH && t.id === group));
}

/** Our proposals as an SA payload. */
export function saPayloadOf(list: readonly Proposal[], protocolId: number, spi: Uint8Array): SaPayload {
  return {
    type: PayloadType.SA,
    critical: false,
    proposals: list.map((p, i) => ({ num: i + 1, protocolId, spi: new Uint8Array(spi), transforms: p.transforms.map(toWireTransform) })),
  };
}

/** The answer: the chosen proposal with its number and our SPI. */
export function chosenSaPayload(chosen: ChosenProposal, protocolId: number, spi: Uint8Array): SaPayload {
  return {
    type: PayloadType.SA,
    critical: false,
    proposals: [{ num: chosen.number, protocolId, spi: new Uint8Array(spi), transforms: chosen.transforms.map(toWireTransform) }],
  };
}

function peerList(sa: SaPayload, protocolId: number): { peers: PeerProposal[]; wire: WireProposal[] } {
  const wire = sa.proposals.filter((p) => p.protocolId === protocolId);
  return { peers: wire.map((p) => ({ number: p.num, transforms: p.transforms.map(fromWireTransform) })), wire };
}

export interface Selected<S> {
  readonly chosen: ChosenProposal;
  readonly suite: S;
  /** The SPI the peer put in the proposal we took. */
  readonly peerSpi: Uint8Array;
}

const noProposal = (what: string) => new ProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `no acceptable ${what} proposal`);

/**
 * Responder: picks from the peer's SA payload, or throws NO_PROPOSAL_CHOSEN. Our configured
 * order wins, as with strongSwan's default `prefer_configured_proposals = yes`.
 */
export function selectIke(ours: readonly Proposal[], sa: SaPayload): Selected<IkeSuite> {
  const { peers, wire } = peerList(sa, ProtocolId.IKE);
  const chosen = selectProposal(ours, peers, { prefer: 'ours' });
  if (!chosen) throw noProposal('IKE');
  return { chosen, suite: ikeSuiteFromTransforms(chosen.transforms), peerSpi: wire[chosen.index]!.spi };
}

export function selectEsp(ours: readonly Proposal[], sa: SaPayload): Selected<EspSuite> {
  const { peers, wire } = peerList(sa, ProtocolId.ESP);
  const chosen = selectProposal(ours, peers, { prefer: 'ours' });
  if (!chosen) throw noProposal('ESP');
  const spi = wire[chosen.index]!.spi;
  if (spi.length !== 4) throw new ProtocolError(NotifyType.INVALID_SYNTAX, `ESP proposal with a ${spi.length}-byte SPI`);
  return { chosen, suite: espSuiteFromTransforms(chosen.transforms), peerSpi: spi };
}

/**
 * Initiator: checks the responder's answer holds one proposal that is one of ours
 * (one transform per type, each offered by us), or throws NO_PROPOSAL_CHOSEN.
 */
function checkAnswer(ours: readonly Proposal[], sa: SaPayload, protocolId: number, what: string): { transforms: Transform[]; spi: Uint8Array } {
  const { peers, wire } = peerList(sa, protocolId);
  if (peers.length !== 1 || sa.proposals.length !== 1) {
    throw new ProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `the ${what} answer holds ${sa.proposals.length} proposals, expected one`);
  }
  const theirs = peers[0]!;
  const types = new Set(theirs.transforms.map((t) => t.type));
  if (types.size !== theirs.transforms.length) throw new ProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `the ${what} answer has two transforms of one type`);
  const ok = ours.some((o) => theirs.transforms.every((t) => o.transforms.some((x) => x.type === t.type && x.id === t.id && x.keyLength === t.keyLength)));
  if (!ok || !selectProposal(ours, peers)) throw new ProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, `the ${what} answer is not one of our proposals`);
  return { transforms: [...theirs.transforms], spi: wire[0]!.spi };
}

export function acceptIkeAnswer(ours: readonly Proposal[], sa: SaPayload): { suite: IkeSuite; spi: Uint8Array } {
  const a = checkAnswer(ours, sa, ProtocolId.IKE, 'IKE');
  return { suite: ikeSuiteFromTransforms(a.transforms), spi: a.spi };
}

export function acceptEspAnswer(ours: readonly Proposal[], sa: SaPayload): { suite: EspSuite; spi: Uint8Array } {
  const a = checkAnswer(ours, sa, ProtocolId.ESP, 'ESP');
  if (a.spi.length !== 4) throw new ProtocolError(NotifyType.INVALID_SYNTAX, `ESP answer with a ${a.spi.length}-byte SPI`);
  return { suite: espSuiteFromTransforms(a.transforms), spi: a.spi };
}

export function spiToNumber(spi: Uint8Array): number {
  return ((spi[0]! << 24) >>> 0) + ((spi[1]! << 16) | (spi[2]! << 8) | spi[3]!);
}

export function numberToSpi(v: number): Uint8Array {
  return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
