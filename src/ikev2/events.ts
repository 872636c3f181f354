/**
 * What the engine reports through pollEvent(): a discriminated union on `type`.
 * Every event carries `at`, the virtual time it happened. Events carry enough to
 * narrate a run (NAT-D hashes with their inputs) and to program an ESP datapath
 * (child-established has SPIs, keys, encapsulation endpoints and selectors).
 */
import type { Endpoint, Micros } from '../core/index.ts';

/** Engine-local handle of an IKE SA (not an SPI). */
export type SaId = number;
/** Engine-local handle of a CHILD_SA. */
export type ChildId = number;

export type SaRole = 'initiator' | 'responder';

/** What an exchange is for; names used in retransmit and trace events. */
export const ExchangeKind = {
  IKE_INIT: 'ike-init',
  IKE_AUTH: 'ike-auth',
  CHILD_CREATE: 'child-create',
  CHILD_REKEY: 'child-rekey',
  CHILD_DELETE: 'child-delete',
  IKE_REKEY: 'ike-rekey',
  IKE_DELETE: 'ike-delete',
  DPD: 'dpd',
  AUTH_FAILED: 'auth-failed',
} as const;
export type ExchangeKind = (typeof ExchangeKind)[keyof typeof ExchangeKind];

/** One side of a NAT-D comparison. */
export interface NatdCheck {
  readonly kind: 'source' | 'destination';
  /** The hash inputs, from the message header and the observed datagram. */
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  /** Observed address and port (source: the datagram's source; destination: its destination). */
  readonly addr: string;
  readonly port: number;
  /** SHA-1 over those inputs. */
  readonly expected: Uint8Array;
  /** The hashes the peer sent for this kind. */
  readonly received: readonly Uint8Array[];
  readonly matched: boolean;
}

/** A NAT-D hash we sent. */
export interface NatdSent {
  readonly kind: 'source' | 'destination';
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly addr: string;
  readonly port: number;
  readonly hash: Uint8Array;
  /** A deliberately wrong SOURCE hash (encap 'force'). */
  readonly fake: boolean;
}

export type DropReason =
  /** ESP on the NAT-T port: the datapath's business (route it with classifyUdpPayload). */
  | 'esp'
  /** Not an RFC 3948 form, or the wrong framing for the ports. */
  | 'malformed'
  /** The IKE message does not decode. */
  | 'decode-error'
  | 'unsupported-version'
  /** No IKE SA with these SPIs. */
  | 'unknown-sa'
  /** The Encrypted payload failed its integrity check or could not be opened. */
  | 'integrity'
  /** A response that does not answer our outstanding request. */
  | 'unexpected-message-id'
  /** A request outside the window (neither the next one nor a retransmission). */
  | 'invalid-message-id'
  /** Valid message in a state that does not take it (e.g. IKE_AUTH before keys). */
  | 'unexpected-message'
  /** The message was processed but broke a protocol rule (error carries the notify). */
  | 'protocol-error'
  /** IKEv2 fragments (SKF) are not reassembled by this engine. */
  | 'fragment'
  /** IKE_SA_INIT from a source that already has `blockThreshold` half-open SAs (nothing kept). */
  | 'peer-half-open-limit'
  /** IKE_SA_INIT while `halfOpenLimit` SAs are half-open (nothing kept). */
  | 'half-open-limit'
  /** A bug surfaced while handling input; reported rather than thrown. */
  | 'internal-error';

/** A message on the wire, for traces. */
export interface MessageTrace {
  readonly saId: SaId | undefined;
  readonly exchange: number;
  readonly exchangeName: string;
  readonly messageId: number;
  readonly isResponse: boolean;
  /** strongSwan-style payload list, inner payloads of an Encrypted payload included: "SA", "KE", "No", "N(NAT_DETECTION_SOURCE_IP)". */
  readonly payloads: readonly string[];
  readonly encrypted: boolean;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly retransmission: boolean;
}

interface Base {
  readonly at: Micros;
}

export type IkeEventBody =
  | {
      readonly type: 'nat-detected';
      readonly saId: SaId;
      readonly natHere: boolean;
      readonly natThere: boolean;
      readonly natFake: boolean;
      readonly source: NatdCheck;
      readonly destination: NatdCheck;
      readonly sent: readonly NatdSent[];
    }
  | {
      readonly type: 'ports-floated';
      readonly saId: SaId;
      readonly from: { readonly local: Endpoint; readonly remote: Endpoint };
      readonly to: { readonly local: Endpoint; readonly remote: Endpoint };
    }
  | {
      readonly type: 'sa-established';
      readonly saId: SaId;
      readonly spiI: Uint8Array;
      readonly spiR: Uint8Array;
      readonly role: SaRole;
      /** e.g. "IKE:AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519". */
      readonly suite: string;
      readonly local: Endpoint;
      readonly remote: Endpoint;
      readonly localId: string;
      readonly remoteId: string;
      readonly natHere: boolean;
      readonly natThere: boolean;
      readonly natFake: boolean;
      /** Set when this SA replaces another through an IKE rekey. */
      readonly rekeyOf?: SaId;
      /** Wireshark 4.0 `ikev2_decryption_table` row. */
      readonly ikev2DecryptionRow: string;
      /** charon-style key dump (ike = 4). */
      readonly keyLog: string;
    }
  | {
      readonly type: 'child-established';
      readonly saId: SaId;
      readonly childId: ChildId;
      readonly spiIn: number;
      readonly spiOut: number;
      /** e.g. "ESP:AES_GCM_16_128/NO_EXT_SEQ". */
      readonly suite: string;
      readonly encKeyIn: Uint8Array;
      readonly encKeyOut: Uint8Array;
      readonly integKeyIn: Uint8Array;
      readonly integKeyOut: Uint8Array;
      readonly esn: boolean;
      /** ESP-in-UDP endpoints, or undefined for plain ESP. */
      readonly encap: { readonly local: Endpoint; readonly remote: Endpoint } | undefined;
      readonly localTs: readonly string[];
      readonly remoteTs: readonly string[];
      readonly mode: 'tunnel';
      /** Set when this CHILD_SA replaces another. */
      readonly rekeyOf?: ChildId;
      /** Wireshark 4.0 `esp_sa` rows for both directions. */
      readonly espSaRows: { readonly in: string; readonly out: string };
      /** charon-style key dump (chd = 4). */
      readonly keyLog: string;
    }
  | {
      readonly type: 'child-failed';
      readonly saId: SaId;
      /** The notify that ended it (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, ...). */
      readonly notify: number;
      readonly notifyName: string;
      /** Who found the problem. */
      readonly side: 'local' | 'peer';
      readonly message: string;
      /** The CHILD_SA that was being rekeyed, if any. */
      readonly rekeyOf?: ChildId;
    }
  | { readonly type: 'child-rekeyed'; readonly saId: SaId; readonly oldChildId: ChildId; readonly newChildId: ChildId }
  | {
      readonly type: 'child-deleted';
      readonly saId: SaId;
      readonly childId: ChildId;
      readonly spiIn: number;
      readonly spiOut: number;
      readonly reason: 'local' | 'remote' | 'rekeyed' | 'ike-deleted';
    }
  | { readonly type: 'keepalive-due'; readonly saId: SaId; readonly lastSentAt: Micros }
  | { readonly type: 'keepalive-sent'; readonly saId: SaId; readonly src: Endpoint; readonly dst: Endpoint }
  | {
      readonly type: 'retransmit';
      readonly saId: SaId;
      /** 1 for the first retransmission. */
      readonly attempt: number;
      readonly exchange: ExchangeKind;
      readonly messageId: number;
    }
  | { readonly type: 'exchange-restarted'; readonly saId: SaId; readonly reason: 'invalid-ke' | 'cookie'; readonly group?: number }
  | {
      readonly type: 'sa-rekeyed';
      readonly saId: SaId;
      readonly newSaId: SaId;
      readonly spiI: Uint8Array;
      readonly spiR: Uint8Array;
      readonly suite: string;
    }
  | { readonly type: 'ike-rekey-failed'; readonly saId: SaId; readonly notify?: number; readonly message: string }
  | {
      readonly type: 'sa-deleted';
      readonly saId: SaId;
      readonly reason:
        | 'local'
        | 'remote'
        | 'dpd'
        | 'timeout'
        | 'auth-failed'
        | 'rekeyed'
        | 'half-open-timeout'
        | 'failed';
      /** The notify behind a failure, if any. */
      readonly notify?: number;
      readonly message?: string;
    }
  | {
      readonly type: 'peer-address-updated';
      readonly saId: SaId;
      readonly from: Endpoint;
      readonly to: Endpoint;
      /** CHILD_SAs whose ESP-in-UDP destination moved with it. */
      readonly childIds: readonly ChildId[];
    }
  | {
      readonly type: 'auth-failed';
      readonly saId: SaId;
      /** 'local': we could not verify the peer; 'peer': the peer reported AUTHENTICATION_FAILED. */
      readonly side: 'local' | 'peer';
      readonly message: string;
    }
  | {
      readonly type: 'init-rejected';
      /** We answered an IKE_SA_INIT request with this notify and kept no state. */
      readonly notify: number;
      readonly notifyName: string;
      readonly src: Endpoint;
      readonly message: string;
    }
  | {
      /** COOKIE mode (RFC 7296 §2.6) started or ended at a responder. */
      readonly type: 'cookie-mode';
      readonly on: boolean;
      /** Responder SAs half-open when it changed. */
      readonly halfOpen: number;
      readonly message: string;
    }
  | {
      readonly type: 'datagram-dropped';
      readonly reason: DropReason;
      readonly saId?: SaId;
      readonly src: Endpoint;
      readonly dst: Endpoint;
      readonly message: string;
      readonly error?: Error;
    }
  | ({ readonly type: 'message-sent' } & MessageTrace)
  | ({ readonly type: 'message-received' } & MessageTrace);

export type IkeEvent = IkeEventBody & Base;
export type IkeEventType = IkeEvent['type'];
/** The event of one type, narrowed. */
export type IkeEventOf<T extends IkeEventType> = Extract<IkeEvent, { readonly type: T }>;
