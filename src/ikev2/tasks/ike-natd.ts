/**
 * NAT detection in IKE_SA_INIT (RFC 7296 §2.23), after strongSwan's ike_natd task.
 *
 * We send NAT_DETECTION_SOURCE_IP = hash(our address:port) and
 * NAT_DETECTION_DESTINATION_IP = hash(the peer's address:port), SPIr zero in the
 * first request. On receipt, the hashes are compared with the addresses OBSERVED on
 * the datagram, using the SPIs of the received header:
 *  - the DESTINATION hash differs from hash(observed destination) → natHere (we are behind NAT);
 *  - no SOURCE hash equals hash(observed source) → natThere (the peer is);
 *  - with encap 'force' we send a fake SOURCE hash (a random address, port 0, as
 *    strongSwan 5.9.8 does), and natFake is set when both hashes matched.
 * Conditions are set only when the peer sent both kinds. After the response, the
 * initiator floats to the NAT-T ports when any condition is set (unless encap is
 * 'off'), or always with floatAlways.
 */
import { bytesEqual, formatIp, type Endpoint } from '../../core/index.ts';
import { NotifyType } from '../../wire/ike/constants.ts';
import { notifiesOfType, type Payload } from '../../wire/ike/payload.ts';
import { makeNatDetectionNotify, NAT_DETECTION_HASH_LENGTH } from '../../wire/ike/payloads/notify.ts';
import type { NatdCheck, NatdSent } from '../events.ts';
import { natdHash } from '../natd.ts';
import type { IkeSa } from '../session.ts';
import { DONE, type Incoming, type InitiatorTask, type ResponderTask, type TaskEnv, type TaskResult } from './task.ts';

/** The two hashes we send: SOURCE over `local` (or a fake endpoint), DESTINATION over `remote`. */
export function natdToSend(env: TaskEnv, sa: IkeSa, spiI: Uint8Array, spiR: Uint8Array, local: Endpoint, remote: Endpoint): NatdSent[] {
  const fake = sa.config.encap === 'force';
  const src: Endpoint = fake ? { addr: env.fakeNatdAddress(local.addr.family), port: 0 } : local;
  const mk = (kind: 'source' | 'destination', ep: Endpoint, isFake: boolean): NatdSent => ({
    kind,
    spiI: new Uint8Array(spiI),
    spiR: new Uint8Array(spiR),
    addr: formatIp(ep.addr),
    port: ep.port,
    hash: natdHash(spiI, spiR, ep),
    fake: isFake,
  });
  return [mk('source', src, fake), mk('destination', remote, false)];
}

export function natdPayloads(sent: readonly NatdSent[]): Payload[] {
  return sent.map((s) => makeNatDetectionNotify(s.kind, s.hash));
}

function received(payloads: readonly Payload[], type: number): Uint8Array[] {
  return notifiesOfType(payloads, type)
    .map((n) => n.data)
    .filter((d) => d.length === NAT_DETECTION_HASH_LENGTH)
    .map((d) => new Uint8Array(d));
}

function check(kind: 'source' | 'destination', spiI: Uint8Array, spiR: Uint8Array, ep: Endpoint, got: Uint8Array[]): NatdCheck {
  const expected = natdHash(spiI, spiR, ep);
  return {
    kind,
    spiI: new Uint8Array(spiI),
    spiR: new Uint8Array(spiR),
    addr: formatIp(ep.addr),
    port: ep.port,
    expected,
    received: got,
    matched: got.some((h) => bytesEqual(h, expected)),
  };
}

/**
 * Compares the peer's NAT-D hashes with the observed datagram and sets the SA's
 * conditions; returns false when the peer sent no (or only one kind of) NAT-D.
 */
export function evaluateNatd(env: TaskEnv, sa: IkeSa, msg: Incoming, sent: readonly NatdSent[]): boolean {
  const src = received(msg.payloads, NotifyType.NAT_DETECTION_SOURCE_IP);
  const dst = received(msg.payloads, NotifyType.NAT_DETECTION_DESTINATION_IP);
  if (src.length === 0 || dst.length === 0) return false;
  const h = msg.message.header;
  const source = check('source', h.spiI, h.spiR, msg.datagram.src, src);
  const destination = check('destination', h.spiI, h.spiR, msg.datagram.dst, dst);
  sa.natHere = !destination.matched;
  sa.natThere = !source.matched;
  sa.natFake = destination.matched && source.matched && sa.config.encap === 'force';
  env.emit({ type: 'nat-detected', saId: sa.id, natHere: sa.natHere, natThere: sa.natThere, natFake: sa.natFake, source, destination, sent });
  return true;
}

/** Moves the SA's IKE ports to NAT-T (RFC 7296 §2.23); reports the change. */
export function floatPorts(env: TaskEnv, sa: IkeSa): void {
  const { ike, natt } = sa.config.ports;
  const from = { local: sa.local, remote: sa.remote };
  const local = sa.local.port === ike ? { addr: sa.local.addr, port: natt } : sa.local;
  const remote = sa.remote.port === ike ? { addr: sa.remote.addr, port: natt } : sa.remote;
  sa.floated = true;
  if (local === sa.local && remote === sa.remote) return;
  sa.local = local;
  sa.remote = remote;
  env.emit({ type: 'ports-floated', saId: sa.id, from, to: { local, remote } });
}

/** Whether the initiator moves IKE to the NAT-T ports after IKE_SA_INIT. */
export function shouldFloat(sa: IkeSa): boolean {
  return sa.config.floatAlways || (sa.config.encap !== 'off' && sa.natAny);
}

export class NatdInitiator implements InitiatorTask {
  readonly name = 'ike-natd';
  private sent: NatdSent[] = [];

  build(env: TaskEnv, sa: IkeSa, out: Payload[]): void {
    this.sent = natdToSend(env, sa, sa.spiI, sa.spiR, sa.local, sa.remote);
    out.push(...natdPayloads(this.sent));
  }

  process(env: TaskEnv, sa: IkeSa, res: Incoming): TaskResult {
    evaluateNatd(env, sa, res, this.sent);
    if (shouldFloat(sa)) floatPorts(env, sa);
    return DONE;
  }
}

export class NatdResponder implements ResponderTask {
  readonly name = 'ike-natd';
  private sent: NatdSent[] = [];
  private peerSupports = false;

  process(env: TaskEnv, sa: IkeSa, req: Incoming): void {
    // Our answer hashes what we observed: we were reached at d.dst, the peer came from d.src.
    this.sent = natdToSend(env, sa, sa.spiI, sa.spiR, req.datagram.dst, req.datagram.src);
    this.peerSupports = evaluateNatd(env, sa, req, this.sent);
  }

  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    if (this.peerSupports) out.push(...natdPayloads(this.sent));
  }
}
