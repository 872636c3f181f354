/**
 * IKE_SA_INIT (RFC 7296 §1.2): SA, KE and Nonce, key derivation (§2.14), the
 * INVALID_KE_PAYLOAD retry with the group the responder asks for (§1.3 of RFC 7296,
 * §2.7) and COOKIEs (§2.6) in both roles.
 *
 * The responder's cookie is stateless and decided before this task runs (admission.ts);
 * the initiator that receives one restarts the exchange with the COOKIE notify first
 * and every other payload unchanged.
 */
import { ProtocolError, bytesEqual, type Endpoint } from '../../core/index.ts';
import { createDh, type DhExchange } from '../../crypto/dh.ts';
import { deriveIkeKeys } from '../../crypto/prf.ts';
import type { IkeSuite } from '../../crypto/proposals.ts';
import { NotifyType, PayloadType, ProtocolId, isErrorNotify, notifyTypeName } from '../../wire/ike/constants.ts';
import { notifiesOfType, payloadsOfType, type Payload } from '../../wire/ike/payload.ts';
import { makeNotify, type NotifyPayload } from '../../wire/ike/payloads/notify.ts';
import type { ResolvedEndpointConfig, ResolvedPeerConfig } from '../config.ts';
import { NotifyError } from '../errors.ts';
import { acceptIkeAnswer, chosenSaPayload, firstDhGroup, offersDhGroup, saPayloadOf, selectIke, type Selected } from '../proposal-wire.ts';
import { IkeSaState, type IkeSa } from '../session.ts';
import { DONE, type Incoming, type InitiatorTask, type ResponderTask, type TaskEnv, type TaskResult } from './task.ts';

/** strongSwan gives up after this many COOKIE or INVALID_KE_PAYLOAD restarts. */
export const MAX_INIT_RESTARTS = 5;
const ZERO_SPI = new Uint8Array(8);

export function nonceLengthOk(n: Uint8Array): boolean {
  return n.length >= 16 && n.length <= 256;
}

function u16(b: Uint8Array): number | undefined {
  return b.length === 2 ? (b[0]! << 8) | b[1]! : undefined;
}

/** The first error notify of a message, if any. */
export function firstErrorNotify(payloads: readonly Payload[]): NotifyPayload | undefined {
  return payloadsOfType(payloads, PayloadType.N).find((n) => isErrorNotify(n.notifyType));
}

export function notifyName(t: number): string {
  return notifyTypeName(t) ?? `NOTIFY(${t})`;
}

function failed(message: string, notify?: number): TaskResult {
  return { kind: 'failed', reason: 'failed', message, ...(notify !== undefined ? { notify } : {}) };
}

/** Keys of a new IKE SA from the exchange's values. */
export function deriveKeysInto(sa: IkeSa, suite: IkeSuite, ni: Uint8Array, nr: Uint8Array, shared: Uint8Array): void {
  sa.suite = suite;
  sa.ni = new Uint8Array(ni);
  sa.nr = new Uint8Array(nr);
  const k = deriveIkeKeys({ prf: suite.prf, suite, ni, nr, spiI: sa.spiI, spiR: sa.spiR, sharedSecret: shared });
  sa.keys = { skD: k.skD, skAi: k.skAi, skAr: k.skAr, skEi: k.skEi, skEr: k.skEr, skPi: k.skPi, skPr: k.skPr };
}

export class IkeInitInitiator implements InitiatorTask {
  readonly name = 'ike-init';
  private group: number;
  private dh: DhExchange | undefined;
  private nonce: Uint8Array | undefined;
  private cookie: Uint8Array | undefined;
  private restarts = 0;

  constructor(private readonly cfg: ResolvedPeerConfig) {
    this.group = firstDhGroup(cfg.ikeProposals);
  }

  build(env: TaskEnv, sa: IkeSa, out: Payload[]): void {
    this.nonce ??= env.rng.bytes(env.config.nonceLength);
    if (this.dh?.group !== this.group) this.dh = createDh(this.group, env.rng);
    sa.dh = this.dh;
    if (this.cookie) out.push(makeNotify(NotifyType.COOKIE, this.cookie));
    out.push(saPayloadOf(this.cfg.ikeProposals, ProtocolId.IKE, new Uint8Array(0)));
    out.push({ type: PayloadType.KE, critical: false, dhGroup: this.dh.group, data: this.dh.publicValue });
    out.push({ type: PayloadType.NONCE, critical: false, data: this.nonce });
  }

  process(env: TaskEnv, sa: IkeSa, res: Incoming, request: Uint8Array): TaskResult {
    const p = res.payloads;
    const cookie = notifiesOfType(p, NotifyType.COOKIE)[0];
    if (cookie && payloadsOfType(p, PayloadType.SA).length === 0) {
      if (++this.restarts > MAX_INIT_RESTARTS) return failed(`gave up after ${MAX_INIT_RESTARTS} restarts of IKE_SA_INIT`);
      if (cookie.data.length < 1 || cookie.data.length > 64) return failed(`COOKIE of ${cookie.data.length} bytes (RFC 7296 §2.6 allows 1..64)`, NotifyType.INVALID_SYNTAX);
      this.cookie = new Uint8Array(cookie.data);
      sa.spiR = ZERO_SPI;
      env.emit({ type: 'exchange-restarted', saId: sa.id, reason: 'cookie' });
      return { kind: 'restart' };
    }
    const invalidKe = notifiesOfType(p, NotifyType.INVALID_KE_PAYLOAD)[0];
    if (invalidKe) {
      const g = u16(invalidKe.data);
      if (g === undefined) return failed('INVALID_KE_PAYLOAD without a 2-byte group', NotifyType.INVALID_KE_PAYLOAD);
      if (g === this.group || !offersDhGroup(this.cfg.ikeProposals, g)) {
        return failed(`the responder asks for Diffie-Hellman group ${g}, which we do not propose (or already sent)`, NotifyType.INVALID_KE_PAYLOAD);
      }
      if (++this.restarts > MAX_INIT_RESTARTS) return failed(`gave up after ${MAX_INIT_RESTARTS} restarts of IKE_SA_INIT`);
      this.group = g;
      sa.spiR = ZERO_SPI;
      env.emit({ type: 'exchange-restarted', saId: sa.id, reason: 'invalid-ke', group: g });
      return { kind: 'restart' };
    }
    const err = firstErrorNotify(p);
    if (err) return failed(`the responder answered ${notifyName(err.notifyType)}`, err.notifyType);
    const saP = payloadsOfType(p, PayloadType.SA)[0];
    const ke = payloadsOfType(p, PayloadType.KE)[0];
    const nonce = payloadsOfType(p, PayloadType.NONCE)[0];
    if (!saP || !ke || !nonce) return failed('IKE_SA_INIT response lacks SA, KE or Nonce', NotifyType.INVALID_SYNTAX);
    if (!nonceLengthOk(nonce.data)) return failed(`Nonce of ${nonce.data.length} bytes`, NotifyType.INVALID_SYNTAX);
    if (bytesEqual(res.message.header.spiR, ZERO_SPI)) return failed('IKE_SA_INIT response with a zero responder SPI', NotifyType.INVALID_SYNTAX);
    let suite: IkeSuite;
    let shared: Uint8Array;
    try {
      suite = acceptIkeAnswer(this.cfg.ikeProposals, saP).suite;
      if (ke.dhGroup !== suite.dh || suite.dh !== this.dh!.group) {
        return failed(`KE of group ${ke.dhGroup} with group ${this.dh!.group} sent and ${suite.dh} chosen`, NotifyType.INVALID_KE_PAYLOAD);
      }
      shared = this.dh!.computeShared(ke.data);
    } catch (e) {
      if (e instanceof ProtocolError) return failed(e.message, e.notifyType);
      throw e;
    }
    sa.spiR = new Uint8Array(res.message.header.spiR);
    deriveKeysInto(sa, suite, this.nonce!, nonce.data, shared);
    sa.initRequest = new Uint8Array(request);
    sa.initResponse = new Uint8Array(res.bytes);
    sa.state = IkeSaState.AUTHENTICATING;
    return DONE;
  }
}

/** A responder connection and the proposal chosen from the request. */
export interface InitSelection {
  readonly config: ResolvedPeerConfig;
  readonly selected: Selected<IkeSuite>;
}

/**
 * Picks the first responder connection that accepts the peer's address and one of its
 * proposals; throws NO_PROPOSAL_CHOSEN when none does.
 */
export function selectResponderConfig(cfg: ResolvedEndpointConfig, payloads: readonly Payload[], src: Endpoint): InitSelection {
  const saP = payloadsOfType(payloads, PayloadType.SA)[0];
  if (!saP) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE_SA_INIT request without SA payload');
  const candidates = cfg.peers.filter((c) => c.remoteAddr === undefined || bytesEqual(c.remoteAddr.bytes, src.addr.bytes));
  if (candidates.length === 0) throw new ProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'no connection for this peer address');
  let last: unknown;
  for (const c of candidates) {
    try {
      return { config: c, selected: selectIke(c.ikeProposals, saP) };
    } catch (e) {
      last = e;
    }
  }
  throw last instanceof ProtocolError ? last : new ProtocolError(NotifyType.NO_PROPOSAL_CHOSEN, 'no acceptable IKE proposal');
}

export class IkeInitResponder implements ResponderTask {
  readonly name = 'ike-init';
  private dh: DhExchange | undefined;
  private nonce: Uint8Array | undefined;

  constructor(private readonly selected: Selected<IkeSuite>) {}

  process(env: TaskEnv, sa: IkeSa, req: Incoming): void {
    const p = req.payloads;
    const ke = payloadsOfType(p, PayloadType.KE)[0];
    const ni = payloadsOfType(p, PayloadType.NONCE)[0];
    if (!ke || !ni) throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'IKE_SA_INIT request lacks KE or Nonce');
    if (!nonceLengthOk(ni.data)) throw new ProtocolError(NotifyType.INVALID_SYNTAX, `Nonce of ${ni.data.length} bytes`);
    const suite = this.selected.suite;
    if (ke.dhGroup !== suite.dh) {
      throw new NotifyError(NotifyType.INVALID_KE_PAYLOAD, `KE for group ${ke.dhGroup}, group ${suite.dh} selected`, Uint8Array.of(suite.dh >> 8, suite.dh & 0xff));
    }
    this.dh = createDh(suite.dh, env.rng);
    const shared = this.dh.computeShared(ke.data);
    this.nonce = env.rng.bytes(env.config.nonceLength);
    sa.dh = this.dh;
    deriveKeysInto(sa, suite, ni.data, this.nonce, shared);
    sa.initRequest = new Uint8Array(req.bytes);
  }

  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    out.push(chosenSaPayload(this.selected.chosen, ProtocolId.IKE, new Uint8Array(0)));
    out.push({ type: PayloadType.KE, critical: false, dhGroup: this.dh!.group, data: this.dh!.publicValue });
    out.push({ type: PayloadType.NONCE, critical: false, data: this.nonce! });
  }
}
