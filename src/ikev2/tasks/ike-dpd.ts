/**
 * Dead peer detection (RFC 7296 §2.4): after `dpdDelay` without anything from the
 * peer, an empty INFORMATIONAL request. Its response is proof of life; when the
 * retransmission schedule runs out, the peer is declared dead and the IKE SA is
 * deleted with reason 'dpd' (the task manager does that for this exchange kind).
 */
import type { Micros } from '../../core/index.ts';
import { ExchangeType } from '../../wire/ike/constants.ts';
import { ExchangeKind } from '../events.ts';
import type { IkeSa, QueuedExchange } from '../session.ts';
import { DONE, type InitiatorTask, type TaskResult } from './task.ts';

class DpdInitiator implements InitiatorTask {
  readonly name = 'ike-dpd';
  build(): void {
    // An empty INFORMATIONAL: the Encrypted payload holds no payloads.
  }
  process(): TaskResult {
    return DONE;
  }
}

export function dpdExchange(): QueuedExchange {
  return { kind: ExchangeKind.DPD, exchangeType: ExchangeType.INFORMATIONAL, tasks: [new DpdInitiator()] };
}

/** When the next liveness check is due: dpdDelay after the last inbound message, while idle. */
export function dpdDueAt(sa: IkeSa): Micros | undefined {
  const d = sa.config.dpdDelay;
  if (d <= 0 || !sa.established || sa.active || sa.queue.length > 0) return undefined;
  return sa.lastInboundAt + d;
}
