/**
 * Runs exchanges on an IKE SA with a window of one in each direction (RFC 7296
 * §2.3), after strongSwan's task_manager:
 *  - our requests: one exchange at a time from the SA's queue; the tasks build the
 *    request, which is retransmitted per the schedule (attempt n waits
 *    timeout × base^n) and given up after `tries` retransmissions; the response
 *    goes back through the same tasks;
 *  - the peer's requests: the next message ID is processed and answered, the
 *    previous one is answered again with the stored response (a retransmission),
 *    anything else is dropped;
 *  - the float and peer address updates (RFC 7296 §2.23) on authenticated messages.
 */
import { endpointEquals, ProtocolError, type Endpoint } from '../core/index.ts';
import { frameIke } from '../wire/udp-encap.ts';
import { ExchangeType, NotifyType, exchangeTypeName } from '../wire/ike/constants.ts';
import { firstUnsupportedCritical, type Payload } from '../wire/ike/payload.ts';
import { NotifyError, errorNotify } from './errors.ts';
import { ExchangeKind, type DropReason, type SaId } from './events.ts';
import { describePayloads, encodePlain, encodeProtected, type HeaderSpec } from './protect.ts';
import { IkeSaState, retransmitDelay, type IkeSa, type QueuedExchange } from './session.ts';
import type { Datagram, Incoming, ResponderTask, TaskEnv } from './tasks/task.ts';

export interface Transmit {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** The UDP payload (with the non-ESP marker when neither port is 500). */
  readonly payload: Uint8Array;
  readonly kind: 'ike' | 'keepalive';
}

/** The task environment plus the output queue. */
export interface EngineEnv extends TaskEnv {
  transmit(t: Transmit): void;
  /** Reports a datagram that was not acted on. */
  drop(d: Datagram, reason: DropReason, message: string, saId?: SaId, error?: Error): void;
}

interface Trace {
  readonly exchange: number;
  readonly messageId: number;
  readonly isResponse: boolean;
  readonly payloads: readonly string[];
  readonly encrypted: boolean;
  readonly retransmission: boolean;
}

/** Sends an IKE message, framed for the ports, and traces it. */
export function sendIke(env: EngineEnv, sa: IkeSa | undefined, bytes: Uint8Array, src: Endpoint, dst: Endpoint, trace: Trace): void {
  env.transmit({ src, dst, payload: frameIke(bytes, src.port, dst.port), kind: 'ike' });
  if (sa && src.port !== sa.config.ports.ike) sa.lastNattSendAt = env.now;
  env.emit({ type: 'message-sent', saId: sa?.id, exchangeName: exchangeName(trace.exchange), src, dst, ...trace });
}

export function exchangeName(t: number): string {
  return exchangeTypeName(t) ?? `EXCHANGE(${t})`;
}

function headerFor(sa: IkeSa, exchangeType: number, messageId: number, response: boolean): HeaderSpec {
  return { spiI: sa.spiI, spiR: sa.spiR, exchangeType, messageId, response, initiator: sa.isInitiator };
}

function encode(env: EngineEnv, sa: IkeSa, h: HeaderSpec, payloads: readonly Payload[]): Uint8Array {
  return h.exchangeType === ExchangeType.IKE_SA_INIT ? encodePlain(h, payloads) : encodeProtected(sa, env.rng, h, payloads);
}

function buildRequest(env: EngineEnv, sa: IkeSa, ex: QueuedExchange, messageId: number): { bytes: Uint8Array; names: string[] } {
  const out: Payload[] = [];
  for (const t of ex.tasks) t.build(env, sa, out);
  return { bytes: encode(env, sa, headerFor(sa, ex.exchangeType, messageId, false), out), names: describePayloads(out) };
}

function transmitRequest(env: EngineEnv, sa: IkeSa, retransmission: boolean): void {
  const a = sa.active!;
  sendIke(env, sa, a.bytes, sa.local, sa.remote, {
    exchange: a.exchange.exchangeType,
    messageId: a.messageId,
    isResponse: false,
    payloads: a.names,
    encrypted: a.exchange.exchangeType !== ExchangeType.IKE_SA_INIT,
    retransmission,
  });
}

/** Starts the next queued exchange when nothing is in flight. */
export function startNext(env: EngineEnv, sa: IkeSa): void {
  if (sa.active || !sa.alive) return;
  const ex = sa.queue.shift();
  if (!ex) return;
  const messageId = ex.exchangeType === ExchangeType.IKE_SA_INIT ? 0 : sa.nextRequestId;
  let built: { bytes: Uint8Array; names: string[] };
  try {
    built = buildRequest(env, sa, ex, messageId);
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    env.deleteSa(sa, 'failed', e.notifyType, `cannot build ${ex.kind}: ${e.message}`);
    return;
  }
  sa.nextRequestId = messageId + 1;
  sa.active = {
    exchange: ex,
    messageId,
    bytes: built.bytes,
    names: built.names,
    attempt: 0,
    retransmitAt: env.now + retransmitDelay(sa.config.retransmit, 0),
  };
  transmitRequest(env, sa, false);
}

/** What deleting the SA after a given exchange gave up is called. */
function giveUpReason(sa: IkeSa, kind: QueuedExchange['kind']) {
  if (kind === ExchangeKind.DPD) return 'dpd' as const;
  if (kind === ExchangeKind.IKE_DELETE) return sa.state === IkeSaState.REKEYED ? ('rekeyed' as const) : ('local' as const);
  if (kind === ExchangeKind.AUTH_FAILED) return 'auth-failed' as const;
  return 'timeout' as const;
}

/** Retransmits the request in flight when its time has come, or gives up. */
export function onRetransmitTimer(env: EngineEnv, sa: IkeSa): void {
  const a = sa.active;
  if (!a || env.now < a.retransmitAt) return;
  const cfg = sa.config.retransmit;
  if (a.attempt >= cfg.tries) {
    sa.active = undefined;
    env.deleteSa(sa, giveUpReason(sa, a.exchange.kind), undefined, `no response to ${a.exchange.kind} after ${cfg.tries} retransmissions`);
    return;
  }
  a.attempt++;
  a.retransmitAt = env.now + retransmitDelay(cfg, a.attempt);
  env.emit({ type: 'retransmit', saId: sa.id, attempt: a.attempt, exchange: a.exchange.kind, messageId: a.messageId });
  transmitRequest(env, sa, true);
}

/**
 * After an authenticated message: the responder's side of the float (the initiator
 * moved to our NAT-T port), and, while the peer is behind NAT, following its new
 * address:port (RFC 7296 §2.23).
 */
function notePeerPath(env: EngineEnv, sa: IkeSa, d: Datagram, isRequest: boolean): void {
  if (isRequest && !sa.isInitiator && !sa.floated && d.dst.port !== sa.config.ports.ike) {
    const from = { local: sa.local, remote: sa.remote };
    sa.local = d.dst;
    sa.remote = d.src;
    sa.floated = true;
    env.emit({ type: 'ports-floated', saId: sa.id, from, to: { local: sa.local, remote: sa.remote } });
    return;
  }
  if (sa.natThere && !endpointEquals(d.src, sa.remote)) {
    const from = sa.remote;
    sa.remote = d.src;
    const childIds: number[] = [];
    for (const c of sa.children.values()) {
      if (c.encap) {
        c.encap = { local: c.encap.local, remote: d.src };
        childIds.push(c.id);
      }
    }
    env.emit({ type: 'peer-address-updated', saId: sa.id, from, to: d.src, childIds });
  }
}

function traceReceived(env: EngineEnv, sa: IkeSa | undefined, inc: Incoming, retransmission: boolean): void {
  const h = inc.message.header;
  env.emit({
    type: 'message-received',
    saId: sa?.id,
    exchange: h.exchangeType,
    exchangeName: exchangeName(h.exchangeType),
    messageId: h.messageId,
    isResponse: (h.flags & 0x20) !== 0,
    payloads: describePayloads(inc.payloads),
    encrypted: h.exchangeType !== ExchangeType.IKE_SA_INIT,
    src: inc.datagram.src,
    dst: inc.datagram.dst,
    retransmission,
  });
}

/** A response from the peer. */
export function handleResponse(env: EngineEnv, sa: IkeSa, inc: Incoming): void {
  const a = sa.active;
  const h = inc.message.header;
  if (!a || h.messageId !== a.messageId || h.exchangeType !== a.exchange.exchangeType) {
    env.drop(
      inc.datagram,
      'unexpected-message-id',
      a
        ? `response ${h.messageId} (${exchangeName(h.exchangeType)}) does not answer request ${a.messageId} (${exchangeName(a.exchange.exchangeType)})`
        : `response ${h.messageId} (${exchangeName(h.exchangeType)}) with no request outstanding`,
      sa.id,
    );
    return;
  }
  if (h.exchangeType !== ExchangeType.IKE_SA_INIT) notePeerPath(env, sa, inc.datagram, false);
  sa.lastInboundAt = env.now;
  traceReceived(env, sa, inc, false);
  const critical = firstUnsupportedCritical(inc.payloads);
  if (critical) {
    sa.active = undefined;
    env.deleteSa(sa, 'failed', NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `response with unsupported critical payload ${critical.payloadType}`);
    return;
  }
  for (const task of a.exchange.tasks) {
    const r = task.process(env, sa, inc, a.bytes);
    if (r.kind === 'done') continue;
    if (r.kind === 'restart') {
      const built = buildRequest(env, sa, a.exchange, a.messageId);
      a.bytes = built.bytes;
      a.names = built.names;
      a.attempt = 0;
      a.retransmitAt = env.now + retransmitDelay(sa.config.retransmit, 0);
      transmitRequest(env, sa, false);
      return;
    }
    if (r.kind === 'failed') {
      sa.active = undefined;
      env.deleteSa(sa, r.reason, r.notify, r.message);
      return;
    }
    break; // stop
  }
  sa.active = undefined;
  startNext(env, sa);
}

/** Responder tasks for a request, or a reason to drop it. */
export type TaskFactory = () => readonly ResponderTask[] | string;

function respond(env: EngineEnv, sa: IkeSa, inc: Incoming, out: readonly Payload[]): void {
  const h = inc.message.header;
  const bytes = encode(env, sa, headerFor(sa, h.exchangeType, h.messageId, true), out);
  const names = describePayloads(out);
  sa.lastResponse = { messageId: h.messageId, exchangeType: h.exchangeType, bytes, names };
  sa.expectedRequestId = h.messageId + 1;
  sendIke(env, sa, bytes, inc.datagram.dst, inc.datagram.src, {
    exchange: h.exchangeType,
    messageId: h.messageId,
    isResponse: true,
    payloads: names,
    encrypted: h.exchangeType !== ExchangeType.IKE_SA_INIT,
    retransmission: false,
  });
}

/** A request from the peer. */
export function handleRequest(env: EngineEnv, sa: IkeSa, inc: Incoming, makeTasks: TaskFactory): void {
  const h = inc.message.header;
  const d = inc.datagram;
  const last = sa.lastResponse;
  if (last && h.messageId === last.messageId && h.messageId === sa.expectedRequestId - 1) {
    traceReceived(env, sa, inc, true);
    sendIke(env, sa, last.bytes, d.dst, d.src, {
      exchange: last.exchangeType,
      messageId: last.messageId,
      isResponse: true,
      payloads: last.names,
      encrypted: last.exchangeType !== ExchangeType.IKE_SA_INIT,
      retransmission: true,
    });
    return;
  }
  if (h.messageId !== sa.expectedRequestId) {
    env.drop(d, 'invalid-message-id', `request ${h.messageId} outside the window (expected ${sa.expectedRequestId})`, sa.id);
    return;
  }
  const made = makeTasks();
  if (typeof made === 'string') {
    env.drop(d, 'unexpected-message', made, sa.id);
    return;
  }
  notePeerPath(env, sa, d, true);
  sa.lastInboundAt = env.now;
  traceReceived(env, sa, inc, false);
  let error: ProtocolError | undefined;
  const critical = firstUnsupportedCritical(inc.payloads);
  if (critical) {
    error = new NotifyError(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `unsupported critical payload ${critical.payloadType}`, Uint8Array.of(critical.payloadType));
  } else {
    try {
      for (const t of made) t.process(env, sa, inc);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      error = e;
    }
  }
  const out: Payload[] = [];
  if (error) out.push(errorNotify(error));
  else for (const t of made) t.build(env, sa, out);
  respond(env, sa, inc, out);
  if (error) {
    if (h.exchangeType === ExchangeType.IKE_AUTH) {
      if (error.notifyType === NotifyType.AUTHENTICATION_FAILED) {
        env.emit({ type: 'auth-failed', saId: sa.id, side: 'local', message: error.message });
        env.deleteSa(sa, 'auth-failed', error.notifyType, error.message);
      } else {
        env.deleteSa(sa, 'failed', error.notifyType, error.message);
      }
    }
    return;
  }
  for (const t of made) t.complete?.(env, sa);
}
