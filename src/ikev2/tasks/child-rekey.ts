/**
 * CHILD_SA rekeying (RFC 7296 §1.3.3, §2.8): CREATE_CHILD_SA with REKEY_SA naming the
 * old CHILD_SA by the SPI its sender receives on, a fresh SA, Nonce, optional KE and
 * the selectors. The initiator then deletes the old CHILD_SA; both sides keep the old
 * inbound SA until that Delete exchange completes, so packets in flight still arrive.
 */
import { ProtocolError } from '../../core/index.ts';
import { NotifyType, ProtocolId } from '../../wire/ike/constants.ts';
import { notifiesOfType } from '../../wire/ike/payload.ts';
import { spiToNumber } from '../proposal-wire.ts';
import { ChildState, type ChildSa, type IkeSa, type QueuedExchange } from '../session.ts';
import { ChildCreateResponder, childExchange } from './child-create.ts';
import type { Incoming } from './task.ts';

/** Starts replacing a CHILD_SA (marks it as being rekeyed). */
export function childRekeyExchange(child: ChildSa): QueuedExchange {
  child.state = ChildState.REKEYING;
  child.rekeyAt = undefined;
  return childExchange({ rekeyOf: child });
}

/** The CHILD_SA a REKEY_SA notify names: its SPI is the one the peer receives on, our outbound SPI. */
export function findRekeyedChild(sa: IkeSa, req: Incoming): ChildSa {
  const n = notifiesOfType(req.payloads, NotifyType.REKEY_SA)[0];
  if (!n || n.protocolId !== ProtocolId.ESP || n.spi.length !== 4) {
    throw new ProtocolError(NotifyType.INVALID_SYNTAX, 'REKEY_SA without an ESP SPI');
  }
  const spi = spiToNumber(n.spi);
  const child = sa.childBySpiOut(spi);
  if (!child || child.state === ChildState.REKEYED || child.state === ChildState.DELETING) {
    throw new ProtocolError(NotifyType.CHILD_SA_NOT_FOUND, `no CHILD_SA with outbound SPI ${spi.toString(16).padStart(8, '0')}`);
  }
  return child;
}

export function childRekeyResponder(): ChildCreateResponder {
  return new ChildCreateResponder(false, findRekeyedChild);
}
