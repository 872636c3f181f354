/**
 * INFORMATIONAL exchanges with Delete payloads (RFC 7296 §1.4.1, §3.11): deleting
 * the IKE SA (protocol IKE, no SPIs) or CHILD_SAs (protocol ESP, our inbound SPIs),
 * and the responder side of every INFORMATIONAL request: Deletes are answered with
 * Deletes for the other direction of each CHILD_SA, an IKE Delete with an empty
 * response, AUTHENTICATION_FAILED ends the SA, and an empty request (a liveness
 * check) gets an empty response.
 */
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../wire/ike/constants.ts';
import { notifiesOfType, payloadsOfType, type Payload } from '../../wire/ike/payload.ts';
import type { DeletePayload } from '../../wire/ike/payloads/delete.ts';
import { ExchangeKind } from '../events.ts';
import { numberToSpi, spiToNumber } from '../proposal-wire.ts';
import { ChildState, IkeSaState, type ChildSa, type IkeSa, type QueuedExchange } from '../session.ts';
import { DONE, type Incoming, type InitiatorTask, type ResponderTask, type TaskEnv, type TaskResult } from './task.ts';

function espDelete(spis: readonly number[]): DeletePayload {
  return { type: PayloadType.D, critical: false, protocolId: ProtocolId.ESP, spiSize: 4, spis: spis.map(numberToSpi) };
}

class ChildDeleteInitiator implements InitiatorTask {
  readonly name = 'child-delete';
  constructor(
    private readonly spis: readonly number[],
    private readonly reason: 'local' | 'rekeyed',
  ) {}
  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    out.push(espDelete(this.spis));
  }
  process(env: TaskEnv, sa: IkeSa): TaskResult {
    for (const spi of this.spis) {
      const c = sa.childBySpiIn(spi);
      if (c) env.removeChild(sa, c, this.reason);
    }
    return DONE;
  }
}

/** Deletes CHILD_SAs by our inbound SPIs (also SPIs of a CHILD_SA only the peer installed). */
export function childDeleteExchange(spis: readonly number[], reason: 'local' | 'rekeyed'): QueuedExchange {
  return { kind: ExchangeKind.CHILD_DELETE, exchangeType: ExchangeType.INFORMATIONAL, tasks: [new ChildDeleteInitiator(spis, reason)] };
}

class IkeDeleteInitiator implements InitiatorTask {
  readonly name = 'ike-delete';
  constructor(private readonly reason: 'local' | 'rekeyed') {}
  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    out.push({ type: PayloadType.D, critical: false, protocolId: ProtocolId.IKE, spiSize: 0, spis: [] });
  }
  process(env: TaskEnv, sa: IkeSa): TaskResult {
    env.deleteSa(sa, this.reason);
    return { kind: 'stop' };
  }
}

export function ikeDeleteExchange(reason: 'local' | 'rekeyed'): QueuedExchange {
  return { kind: ExchangeKind.IKE_DELETE, exchangeType: ExchangeType.INFORMATIONAL, tasks: [new IkeDeleteInitiator(reason)] };
}

/** Answers any INFORMATIONAL request. */
export class InformationalResponder implements ResponderTask {
  readonly name = 'informational';
  private ike = false;
  private authFailed = false;
  private children: ChildSa[] = [];

  process(_env: TaskEnv, sa: IkeSa, req: Incoming): void {
    for (const d of payloadsOfType(req.payloads, PayloadType.D)) {
      if (d.protocolId === ProtocolId.IKE) this.ike = true;
      else if (d.protocolId === ProtocolId.ESP && d.spiSize === 4) {
        for (const spi of d.spis) {
          const c = sa.childBySpiOut(spiToNumber(spi));
          if (c && !this.children.includes(c)) this.children.push(c);
        }
      }
    }
    this.authFailed = notifiesOfType(req.payloads, NotifyType.AUTHENTICATION_FAILED).length > 0;
  }

  build(_env: TaskEnv, _sa: IkeSa, out: Payload[]): void {
    if (this.ike || this.authFailed) return;
    if (this.children.length > 0) out.push(espDelete(this.children.map((c) => c.spiIn)));
  }

  complete(env: TaskEnv, sa: IkeSa): void {
    if (this.authFailed) {
      env.emit({ type: 'auth-failed', saId: sa.id, side: 'peer', message: 'the initiator reported AUTHENTICATION_FAILED' });
      env.deleteSa(sa, 'auth-failed', NotifyType.AUTHENTICATION_FAILED, 'the peer could not authenticate us');
      return;
    }
    for (const c of this.children) env.removeChild(sa, c, c.state === ChildState.REKEYED ? 'rekeyed' : 'remote');
    if (this.ike) env.deleteSa(sa, sa.state === IkeSaState.REKEYED ? 'rekeyed' : 'remote');
  }
}
