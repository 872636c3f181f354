/**
 * The task contract, after strongSwan's libcharon tasks: for an exchange we start,
 * each task adds its payloads to the request (build) and reads its payloads from
 * the response (process); for an exchange the peer starts, each task reads the
 * request (process) and adds to the response (build). Tasks talk to each other
 * only through the IKE SA (its conditions, keys and state).
 */
import type { Endpoint, IpAddress, IpFamily, Micros, Rng } from '../../core/index.ts';
import type { IkeMessage } from '../../wire/ike/message.ts';
import type { Payload } from '../../wire/ike/payload.ts';
import type { ResolvedEndpointConfig } from '../config.ts';
import type { ChildId, IkeEventBody, SaId } from '../events.ts';
import type { ChildSa, IkeSa, QueuedExchange } from '../session.ts';

/** What a task needs from the endpoint. */
export interface TaskEnv {
  readonly rng: Rng;
  readonly now: Micros;
  readonly config: ResolvedEndpointConfig;
  emit(e: IkeEventBody): void;
  allocateEspSpi(): number;
  allocateIkeSpi(): Uint8Array;
  newSaId(): SaId;
  newChildId(): ChildId;
  /** The random address strongSwan puts into a faked NAT_DETECTION_SOURCE_IP (same for the endpoint's life). */
  fakeNatdAddress(family: IpFamily): IpAddress;
  /** Queues an exchange on the SA and starts it when the SA is idle. */
  queue(sa: IkeSa, ex: QueuedExchange): void;
  /** Registers an IKE SA created by a rekey. */
  adopt(sa: IkeSa): void;
  /** Ends an IKE SA (its CHILD_SAs with it unless they moved). */
  deleteSa(sa: IkeSa, reason: Extract<IkeEventBody, { type: 'sa-deleted' }>['reason'], notify?: number, message?: string): void;
  /** Installs a CHILD_SA and reports it. */
  installChild(sa: IkeSa, child: ChildSa, rekeyOf?: ChildId): void;
  /** Removes a CHILD_SA and reports it. */
  removeChild(sa: IkeSa, child: ChildSa, reason: Extract<IkeEventBody, { type: 'child-deleted' }>['reason']): void;
  /** Reports an established IKE SA (with its keys). */
  reportEstablished(sa: IkeSa): void;
  /** Schedules rekeying of a CHILD_SA per its config. */
  scheduleChildRekey(sa: IkeSa, child: ChildSa): void;
}

/** A received datagram as the engine saw it. */
export interface Datagram {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  /** The UDP payload exactly as observed (with the non-ESP marker on floated ports). */
  readonly payload: Uint8Array;
}

/** A verified message: the header, its payloads (decrypted when protected) and its bytes. */
export interface Incoming {
  readonly message: IkeMessage;
  /** Plain payloads, or the inner payloads of the Encrypted payload. */
  readonly payloads: readonly Payload[];
  /** The IKE message (header to header.length), without any marker. */
  readonly bytes: Uint8Array;
  readonly datagram: Datagram;
}

export type TaskResult =
  | { readonly kind: 'done' }
  /** Send the exchange again, rebuilt, with the same message ID (COOKIE, INVALID_KE_PAYLOAD). */
  | { readonly kind: 'restart' }
  /** The exchange is over; later tasks of it do not run (the task arranged what follows). */
  | { readonly kind: 'stop' }
  /** The IKE SA cannot continue. */
  | {
      readonly kind: 'failed';
      readonly reason: Extract<IkeEventBody, { type: 'sa-deleted' }>['reason'];
      readonly notify?: number;
      readonly message: string;
    };

export const DONE: TaskResult = { kind: 'done' };

export interface InitiatorTask {
  readonly name: string;
  /** Adds this task's payloads to our request. */
  build(env: TaskEnv, sa: IkeSa, out: Payload[]): void;
  /** Reads the response; `request` is the message we sent. */
  process(env: TaskEnv, sa: IkeSa, response: Incoming, request: Uint8Array): TaskResult;
}

export interface ResponderTask {
  readonly name: string;
  /** Reads the request; throws ProtocolError to answer the whole exchange with that notify. */
  process(env: TaskEnv, sa: IkeSa, request: Incoming): void;
  /** Adds this task's payloads to our response. */
  build(env: TaskEnv, sa: IkeSa, out: Payload[]): void;
  /** After the response went out. */
  complete?(env: TaskEnv, sa: IkeSa): void;
}
