/**
 * IKE_AUTH with pre-shared keys (RFC 7296 §1.2, §2.15): IDi/IDr and
 *
 *   AUTH = prf(prf(PSK, "Key Pad for IKEv2"), <message octets> | Nonce of the peer | prf(SK_p, ID'))
 *
 * where the message octets are the sender's own IKE_SA_INIT message as sent.
 * A wrong AUTH is answered with AUTHENTICATION_FAILED by the responder; an initiator
 * that cannot verify the responder reports it in an INFORMATIONAL (RFC 7296 §2.21.2)
 * and then drops the SA.
 */
import { ProtocolError } from '../../core/index.ts';
import { constantTimeEqual } from '../../crypto/integ.ts';
import { pskAuth } from '../../crypto/prf.ts';
import { AuthMethod, ExchangeType, NotifyType, PayloadType } from '../../wire/ike/constants.ts';
import { notifiesOfType, payloadsOfType, type Payload } from '../../wire/ike/payload.ts';
import { idPayloadBodyBytes, type IdPayload } from '../../wire/ike/payloads/id.ts';
import { makeNotify } from '../../wire/ike/payloads/notify.ts';
import { formatIdentity, identityMatches, type Identity, type ResolvedPeerConfig } from '../config.ts';
import { ExchangeKind } from '../events.ts';
import { IkeSaState, type IkeSa, type QueuedExchange } from '../session.ts';
import { firstErrorNotify, notifyName } from './ike-init.ts';
import { DONE, type Incoming, type InitiatorTask, type ResponderTask, type TaskEnv, type TaskResult } from './task.ts';

function idPayload(type: typeof PayloadType.IDi | typeof PayloadType.IDr, id: Identity): IdPayload {
  return { type, critical: false, idType: id.idType, data: id.data };
}

/** Our AUTH value: over our IKE_SA_INIT message, the peer's nonce and our ID. */
export function ourAuth(sa: IkeSa, psk: Uint8Array, id: IdPayload): Uint8Array {
  const k = sa.keys!;
  return sa.isInitiator
    ? pskAuth(sa.suite!.prf, psk, sa.initRequest!, sa.nr!, k.skPi, idPayloadBodyBytes(id))
    : pskAuth(sa.suite!.prf, psk, sa.initResponse!, sa.ni!, k.skPr, idPayloadBodyBytes(id));
}

/** The AUTH value the peer must have sent: over its IKE_SA_INIT message, our nonce and its ID. */
export function expectedPeerAuth(sa: IkeSa, psk: Uint8Array, id: IdPayload): Uint8Array {
  const k = sa.keys!;
  return sa.isInitiator
    ? pskAuth(sa.suite!.prf, psk, sa.initResponse!, sa.ni!, k.skPr, idPayloadBodyBytes(id))
    : pskAuth(sa.suite!.prf, psk, sa.initRequest!, sa.nr!, k.skPi, idPayloadBodyBytes(id));
}

/**
 * Both AUTH values are computed and the peer's verified: the IKE_SA_INIT messages they
 * cover are no longer needed (a replayed IKE_SA_INIT request is dropped from now on).
 */
function releaseInitMessages(sa: IkeSa): void {
  sa.initRequest = undefined;
  sa.initResponse = undefined;
}

/** An INFORMATIONAL that tells the responder we could not authenticate it. */
class AuthFailedNotifyInitiator implements InitiatorTask {
  readonly name = 'auth-failed';
  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    out.push(makeNotify(NotifyType.AUTHENTICATION_FAILED));
  }
  process(): TaskResult {
    return { kind: 'failed', reason: 'auth-failed', notify: NotifyType.AUTHENTICATION_FAILED, message: 'the responder did not authenticate' };
  }
}

export function authFailedExchange(): QueuedExchange {
  return { kind: ExchangeKind.AUTH_FAILED, exchangeType: ExchangeType.INFORMATIONAL, tasks: [new AuthFailedNotifyInitiator()] };
}

export class IkeAuthInitiator implements InitiatorTask {
  readonly name = 'ike-auth';

  build(_env: TaskEnv, sa: IkeSa, out: Payload[]): void {
    const cfg = sa.config;
    const idi = idPayload(PayloadType.IDi, cfg.localId);
    out.push(idi);
    if (cfg.remoteId) out.push(idPayload(PayloadType.IDr, cfg.remoteId));
    out.push({ type: PayloadType.AUTH, critical: false, method: AuthMethod.SHARED_KEY_MIC, data: ourAuth(sa, cfg.psk, idi) });
  }

  process(env: TaskEnv, sa: IkeSa, res: Incoming): TaskResult {
    const p = res.payloads;
    if (notifiesOfType(p, NotifyType.AUTHENTICATION_FAILED).length > 0) {
      env.emit({ type: 'auth-failed', saId: sa.id, side: 'peer', message: 'the responder answered AUTHENTICATION_FAILED' });
      return { kind: 'failed', reason: 'auth-failed', notify: NotifyType.AUTHENTICATION_FAILED, message: 'the responder rejected our authentication' };
    }
    const idr = payloadsOfType(p, PayloadType.IDr)[0];
    const auth = payloadsOfType(p, PayloadType.AUTH)[0];
    if (!idr || !auth) {
      const err = firstErrorNotify(p);
      const what = err ? notifyName(err.notifyType) : 'no IDr or AUTH';
      return { kind: 'failed', reason: 'failed', ...(err ? { notify: err.notifyType } : {}), message: `IKE_AUTH failed: ${what}` };
    }
    const problem = this.verify(sa, idr, auth.method, auth.data);
    if (problem) {
      env.emit({ type: 'auth-failed', saId: sa.id, side: 'local', message: problem });
      sa.state = IkeSaState.DELETING;
      sa.queue.length = 0;
      env.queue(sa, authFailedExchange());
      return { kind: 'stop' };
    }
    sa.peerIdText = formatIdentity(idr.idType, idr.data);
    sa.state = IkeSaState.ESTABLISHED;
    sa.establishedAt = env.now;
    env.reportEstablished(sa);
    releaseInitMessages(sa);
    return DONE;
  }

  private verify(sa: IkeSa, idr: IdPayload, method: number, data: Uint8Array): string | undefined {
    const cfg = sa.config;
    if (!identityMatches(cfg.remoteId, idr.idType, idr.data)) {
      return `the responder identifies as "${formatIdentity(idr.idType, idr.data)}", we expect "${cfg.remoteId?.text}"`;
    }
    if (method !== AuthMethod.SHARED_KEY_MIC) return `AUTH method ${method}, expected shared key (2)`;
    if (!constantTimeEqual(data, expectedPeerAuth(sa, cfg.psk, idr))) return "the responder's AUTH does not verify with our pre-shared key";
    return undefined;
  }
}

/** The responder connection for a pair of identities (the current one first). */
function selectByIdentity(env: TaskEnv, sa: IkeSa, idi: IdPayload, idr: IdPayload | undefined): ResolvedPeerConfig | undefined {
  const ok = (c: ResolvedPeerConfig) =>
    identityMatches(c.remoteId, idi.idType, idi.data) &&
    (idr === undefined || identityMatches(c.localId, idr.idType, idr.data)) &&
    (c.remoteAddr === undefined || c.remoteAddr.family === sa.remote.addr.family);
  if (ok(sa.config)) return sa.config;
  return env.config.peers.find((c) => ok(c) && c.ikeProposalText === sa.config.ikeProposalText) ?? env.config.peers.find(ok);
}

export class IkeAuthResponder implements ResponderTask {
  readonly name = 'ike-auth';

  process(env: TaskEnv, sa: IkeSa, req: Incoming): void {
    const p = req.payloads;
    const idi = payloadsOfType(p, PayloadType.IDi)[0];
    const auth = payloadsOfType(p, PayloadType.AUTH)[0];
    const idr = payloadsOfType(p, PayloadType.IDr)[0];
    if (!idi || !auth) throw new ProtocolError(NotifyType.AUTHENTICATION_FAILED, 'IKE_AUTH request without IDi or AUTH (EAP is not supported)');
    const cfg = selectByIdentity(env, sa, idi, idr);
    const who = formatIdentity(idi.idType, idi.data);
    if (!cfg) throw new ProtocolError(NotifyType.AUTHENTICATION_FAILED, `no connection accepts "${who}"`);
    if (auth.method !== AuthMethod.SHARED_KEY_MIC) throw new ProtocolError(NotifyType.AUTHENTICATION_FAILED, `AUTH method ${auth.method}, expected shared key (2)`);
    if (!constantTimeEqual(auth.data, expectedPeerAuth(sa, cfg.psk, idi))) {
      throw new ProtocolError(NotifyType.AUTHENTICATION_FAILED, `the AUTH of "${who}" does not verify with our pre-shared key`);
    }
    sa.config = cfg;
    sa.peerIdText = who;
  }

  build(_env: TaskEnv, sa: IkeSa, out: Payload[]): void {
    const idr = idPayload(PayloadType.IDr, sa.config.localId);
    out.push(idr, { type: PayloadType.AUTH, critical: false, method: AuthMethod.SHARED_KEY_MIC, data: ourAuth(sa, sa.config.psk, idr) });
  }

  complete(env: TaskEnv, sa: IkeSa): void {
    sa.state = IkeSaState.ESTABLISHED;
    sa.establishedAt = env.now;
    sa.halfOpenUntil = undefined;
    env.reportEstablished(sa);
    releaseInitMessages(sa);
  }
}
