/**
 * The IKE SA: SPIs, state, endpoints, conditions, keys, message IDs (window 1 in
 * both directions), the request in flight, the last response (re-sent when the
 * peer retransmits its request) and the CHILD_SAs. Tasks read and change it; the
 * conditions (natHere, natThere, natFake) are how they tell each other about NAT,
 * as strongSwan's COND_NAT_* do.
 */
import type { Endpoint, Micros } from '../core/index.ts';
import type { DhExchange } from '../crypto/dh.ts';
import type { ChildSaKeys, IkeSaKeys } from '../crypto/prf.ts';
import type { EspSuite, IkeSuite } from '../crypto/proposals.ts';
import type { ResolvedPeerConfig } from './config.ts';
import type { ChildId, ExchangeKind, SaId, SaRole } from './events.ts';
import type { InitiatorTask } from './tasks/task.ts';
import type { TrafficSelector } from './traffic-selectors.ts';

export const IkeSaState = {
  /** Initiator: IKE_SA_INIT sent. */
  CONNECTING: 'connecting',
  /** Responder: IKE_SA_INIT answered, waiting for IKE_AUTH. */
  HALF_OPEN: 'half-open',
  /** Initiator: keys derived, IKE_AUTH in flight. */
  AUTHENTICATING: 'authenticating',
  ESTABLISHED: 'established',
  /** Replaced by a rekeyed IKE SA, waiting for its Delete. */
  REKEYED: 'rekeyed',
  DELETING: 'deleting',
  DELETED: 'deleted',
} as const;
export type IkeSaState = (typeof IkeSaState)[keyof typeof IkeSaState];

export interface ChildKeys {
  readonly encIn: Uint8Array;
  readonly encOut: Uint8Array;
  readonly integIn: Uint8Array;
  readonly integOut: Uint8Array;
}

export const ChildState = {
  INSTALLED: 'installed',
  /** A rekey of this CHILD_SA is in flight. */
  REKEYING: 'rekeying',
  /** Replaced; its inbound SA stays until the Delete exchange completes. */
  REKEYED: 'rekeyed',
  DELETING: 'deleting',
} as const;
export type ChildState = (typeof ChildState)[keyof typeof ChildState];

export interface ChildSa {
  readonly id: ChildId;
  /** Our inbound SPI (the peer sends to it). */
  readonly spiIn: number;
  readonly spiOut: number;
  readonly suite: EspSuite;
  readonly keys: ChildKeys;
  /** KEYMAT split as RFC 7296 §2.17 names it (initiator→responder first), for key logs. */
  readonly rawKeys: ChildSaKeys;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
  encap: { local: Endpoint; remote: Endpoint } | undefined;
  state: ChildState;
  readonly installedAt: Micros;
  rekeyAt: Micros | undefined;
}

/** An exchange we will start: its kind, exchange type and the tasks that fill and read it. */
export interface QueuedExchange {
  readonly kind: ExchangeKind;
  readonly exchangeType: number;
  readonly tasks: readonly InitiatorTask[];
}

export interface ActiveRequest {
  readonly exchange: QueuedExchange;
  readonly messageId: number;
  /** The IKE message as sent (without any non-ESP marker). */
  bytes: Uint8Array;
  /** Its payload names, for traces. */
  names: readonly string[];
  /** Retransmissions so far. */
  attempt: number;
  retransmitAt: Micros;
}

export interface StoredResponse {
  readonly messageId: number;
  readonly exchangeType: number;
  readonly bytes: Uint8Array;
  readonly names: readonly string[];
}

export interface IkeSaInit {
  readonly id: SaId;
  readonly role: SaRole;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly config: ResolvedPeerConfig;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly state: IkeSaState;
  readonly now: Micros;
}

export class IkeSa {
  readonly id: SaId;
  /** Our role as original initiator or responder of this IKE SA (RFC 7296 §2.2). */
  readonly role: SaRole;
  spiI: Uint8Array;
  spiR: Uint8Array;
  state: IkeSaState;
  config: ResolvedPeerConfig;
  local: Endpoint;
  remote: Endpoint;
  /** IKE moved to the NAT-T ports. */
  floated = false;

  natHere = false;
  natThere = false;
  natFake = false;

  suite: IkeSuite | undefined;
  keys: IkeSaKeys | undefined;
  /** Nonces and IKE_SA_INIT messages, as the AUTH payloads sign them. */
  ni: Uint8Array | undefined;
  nr: Uint8Array | undefined;
  initRequest: Uint8Array | undefined;
  initResponse: Uint8Array | undefined;
  dh: DhExchange | undefined;
  /** The peer's authenticated identity (display form). */
  peerIdText: string | undefined;

  /** Message ID of our next request. */
  nextRequestId = 0;
  active: ActiveRequest | undefined;
  readonly queue: QueuedExchange[] = [];
  /** Message ID of the peer's next request. */
  expectedRequestId = 0;
  lastResponse: StoredResponse | undefined;

  readonly children = new Map<ChildId, ChildSa>();

  readonly createdAt: Micros;
  establishedAt: Micros | undefined;
  /** Last IKE message received and verified (or inbound ESP reported). */
  lastInboundAt: Micros;
  /** Last thing sent on our NAT-T socket (IKE, keepalive or ESP via noteTraffic). */
  lastNattSendAt: Micros | undefined;
  ikeRekeyAt: Micros | undefined;
  dpdAt: Micros | undefined;
  halfOpenUntil: Micros | undefined;
  /** For an SA created by an IKE rekey: the SA it replaced. */
  rekeyOf: SaId | undefined;

  /** Registration order in the endpoint (timeouts fire in this order). */
  seq = 0;
  /** The earliest deadline as last computed by the endpoint's timer heap, and its entry's version. */
  dueAt: Micros | undefined;
  dueVersion = 0;

  constructor(init: IkeSaInit) {
    this.id = init.id;
    this.role = init.role;
    this.spiI = init.spiI;
    this.spiR = init.spiR;
    this.config = init.config;
    this.local = init.local;
    this.remote = init.remote;
    this.state = init.state;
    this.createdAt = init.now;
    this.lastInboundAt = init.now;
  }

  get isInitiator(): boolean {
    return this.role === 'initiator';
  }
  /** Our SPI (the one the peer addresses us by). */
  get ourSpi(): Uint8Array {
    return this.isInitiator ? this.spiI : this.spiR;
  }
  get established(): boolean {
    return this.state === IkeSaState.ESTABLISHED;
  }
  get alive(): boolean {
    return this.state !== IkeSaState.DELETED;
  }
  get natAny(): boolean {
    return this.natHere || this.natThere || this.natFake;
  }
  /**
   * Whether CHILD_SAs use ESP-in-UDP: NAT detected (or faked), encapsulation not
   * switched off, and IKE on the NAT-T port (RFC 3948 ESP-in-UDP shares it; it never
   * runs on 500).
   */
  get udpEncapsulation(): boolean {
    return this.config.encap !== 'off' && this.natAny && this.onNattSocket;
  }
  /** Our local endpoint is the NAT-T socket. */
  get onNattSocket(): boolean {
    return this.local.port !== this.config.ports.ike;
  }

  /** SK_e/SK_a for what we send. */
  outKeys(): { e: Uint8Array; a: Uint8Array } {
    const k = this.keys!;
    return this.isInitiator ? { e: k.skEi, a: k.skAi } : { e: k.skEr, a: k.skAr };
  }
  /** SK_e/SK_a for what we receive. */
  inKeys(): { e: Uint8Array; a: Uint8Array } {
    const k = this.keys!;
    return this.isInitiator ? { e: k.skEr, a: k.skAr } : { e: k.skEi, a: k.skAi };
  }

  childBySpiIn(spi: number): ChildSa | undefined {
    for (const c of this.children.values()) if (c.spiIn === spi) return c;
    return undefined;
  }
  childBySpiOut(spi: number): ChildSa | undefined {
    for (const c of this.children.values()) if (c.spiOut === spi) return c;
    return undefined;
  }
}

/** Wait before retransmission n+1 (n retransmissions done): timeout × base^n, in whole µs. */
export function retransmitDelay(cfg: ResolvedPeerConfig['retransmit'], n: number): Micros {
  return Math.round(cfg.timeout * cfg.base ** n);
}
