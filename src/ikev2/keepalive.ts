/**
 * NAT keepalives (RFC 3948 §2.3, §4): only the side that found itself behind NAT
 * (natHere) sends them, one 0xFF byte from its NAT-T socket to the peer's NAT-T
 * endpoint, exactly `keepaliveInterval` after the last thing it sent on that socket
 * (IKE, an earlier keepalive, or ESP reported through noteTraffic), as strongSwan's
 * send_keepalive does. Encapsulation 'off' means no NAT-T socket and no keepalives.
 */
import type { Micros } from '../core/index.ts';
import { KEEPALIVE } from '../wire/udp-encap.ts';
import { IkeSaState, type IkeSa } from './session.ts';
import type { EngineEnv } from './task-manager.ts';

export function keepaliveDueAt(sa: IkeSa): Micros | undefined {
  const c = sa.config;
  if (!sa.natHere || c.encap === 'off' || c.keepaliveInterval <= 0 || !sa.onNattSocket) return undefined;
  if (sa.lastNattSendAt === undefined) return undefined;
  if (sa.state !== IkeSaState.ESTABLISHED && sa.state !== IkeSaState.AUTHENTICATING) return undefined;
  return sa.lastNattSendAt + c.keepaliveInterval;
}

export function sendKeepalive(env: EngineEnv, sa: IkeSa): void {
  env.emit({ type: 'keepalive-due', saId: sa.id, lastSentAt: sa.lastNattSendAt! });
  env.transmit({ src: sa.local, dst: sa.remote, payload: new Uint8Array(KEEPALIVE), kind: 'keepalive' });
  sa.lastNattSendAt = env.now;
  env.emit({ type: 'keepalive-sent', saId: sa.id, src: sa.local, dst: sa.remote });
}
