/**
 * Lab scenarios: the typed model a scenario YAML file turns into, and the entry points
 * that parse and validate one. Validation (scenario-schema.ts) reports every problem as
 * one line naming the file, the line and the key path:
 *
 *   lab.yaml:14: topology.nats[0].kind: unknown NAT kind "fancy" (expected static, dynamic, pat, twice, cgnat)
 *
 * docs/scenario-reference.md documents every key; docs/scenario.schema.json is the
 * JSON Schema editors use (a test keeps both in step with the validator).
 * Peers are validated for shape only: the IKE engine interprets their settings.
 */
import type { IpAddress, Prefix } from '../core/addr.ts';
import type { Micros } from '../core/time.ts';
import type { FirewallAction, FirewallRule } from './firewall.ts';
import type { DestinationRule, NatBehaviour, NatKind, NatRefresh, PortAssignment, StaticBinding } from './nat.ts';
import { validateScenarioText } from './scenario-schema.ts';

export interface ScenarioInterface {
  readonly name: string;
  /** Interface addresses with their prefix lengths. */
  readonly addresses: readonly Prefix[];
  /** `address: auto`: a subscriber address handed out by the CGN at the other end of its link. */
  readonly auto: boolean;
}

export interface ScenarioRoute {
  /** One prefix, or both default prefixes for "default". */
  readonly to: readonly Prefix[];
  readonly via?: IpAddress;
  readonly iface?: string;
}

interface ScenarioNodeBase {
  readonly name: string;
  readonly interfaces: readonly ScenarioInterface[];
  readonly routes: readonly ScenarioRoute[];
  readonly icmpErrors: boolean;
}

export interface ScenarioHost extends ScenarioNodeBase {
  readonly dontFragment: boolean;
}

export type ScenarioRouter = ScenarioNodeBase;

export interface ScenarioForward {
  readonly port: number;
  readonly to: { readonly addr: IpAddress; readonly port: number };
  readonly external?: IpAddress;
}

export interface ScenarioNat extends ScenarioNodeBase {
  readonly kind: NatKind;
  readonly inside: readonly string[];
  readonly outside: string;
  /** Pool; empty means the outside interface's IPv4 addresses. */
  readonly external: readonly IpAddress[];
  readonly mapping: NatBehaviour;
  readonly filtering: NatBehaviour;
  readonly ports: { readonly assignment: PortAssignment; readonly range: { readonly from: number; readonly to: number }; readonly parity: boolean };
  readonly timeouts: { readonly udp: Micros; readonly icmp: Micros; readonly esp: Micros };
  readonly refresh: NatRefresh;
  readonly hairpinning: boolean;
  readonly maxMappings?: number;
  readonly maxMappingsPerHost?: number;
  readonly espAlg: boolean;
  readonly static: readonly StaticBinding[];
  readonly forwards: readonly ScenarioForward[];
  readonly destinations: readonly DestinationRule[];
  /** cgnat: the subscriber prefix (default 100.64.0.0/10). */
  readonly subscribers?: Prefix;
}

export interface ScenarioLinkEnd {
  readonly node: string;
  readonly iface: string;
}

export interface ScenarioLink {
  readonly name: string;
  readonly a: ScenarioLinkEnd;
  readonly b: ScenarioLinkEnd;
  readonly latency: Micros;
  readonly mtu: number;
  readonly up: boolean;
  readonly faults: {
    readonly jitter: Micros;
    readonly loss: number;
    readonly duplicate: number;
    readonly reorder: number;
    readonly reorderDelay?: Micros;
  };
}

export interface ScenarioFirewall {
  readonly name: string;
  /** The node it is attached to. */
  readonly on: string;
  /** Interfaces whose arriving packets count as outbound. */
  readonly inside: readonly string[];
  readonly defaultAction: FirewallAction;
  readonly rules: readonly FirewallRule[];
}

export interface Topology {
  readonly hosts: readonly ScenarioHost[];
  readonly routers: readonly ScenarioRouter[];
  readonly nats: readonly ScenarioNat[];
  readonly links: readonly ScenarioLink[];
  readonly firewalls: readonly ScenarioFirewall[];
}

export const PEER_ROLE = { INITIATOR: 'initiator', RESPONDER: 'responder' } as const;
export type PeerRole = (typeof PEER_ROLE)[keyof typeof PEER_ROLE];

export const ENCAP_MODE = { AUTO: 'auto', FORCE: 'force', OFF: 'off' } as const;
export type EncapMode = (typeof ENCAP_MODE)[keyof typeof ENCAP_MODE];

export const DPD_ACTION = { CLEAR: 'clear', HOLD: 'hold', RESTART: 'restart', NONE: 'none' } as const;
export type DpdAction = (typeof DPD_ACTION)[keyof typeof DPD_ACTION];

/** IKE settings of one peer, validated for shape only. */
export interface ScenarioPeer {
  readonly name: string;
  readonly host: string;
  readonly role: PeerRole;
  /** Local address; default: the host's first address of the remote's family. */
  readonly address?: IpAddress;
  /** The other peer's name. */
  readonly remote: string;
  /** The address to send to when it is not the remote peer's own (e.g. a twice NAT's `match`). */
  readonly remoteAddress?: IpAddress;
  readonly psk: string;
  readonly ids: { readonly local: string; readonly remote: string };
  /** strongSwan proposal strings, e.g. "aes256-sha256-modp2048". */
  readonly proposals: { readonly ike: readonly string[]; readonly esp: readonly string[] };
  readonly encap: EncapMode;
  /** NAT-keepalive interval; undefined when off. */
  readonly keepalive?: Micros;
  readonly dpd?: { readonly delay: Micros; readonly timeout?: Micros; readonly action: DpdAction };
  readonly rekey?: { readonly ike?: Micros; readonly child?: Micros };
  readonly retransmit?: { readonly timeout?: Micros; readonly tries?: number; readonly base?: number };
  readonly ts?: { readonly local: readonly Prefix[]; readonly remote: readonly Prefix[] };
  /** When an initiator starts (default 0). */
  readonly start: Micros;
  /** Responders: the engine's admission of IKE_SA_INIT (COOKIE threshold, half-open limits); engine defaults otherwise. */
  readonly admission?: ScenarioAdmission;
}

/** Endpoint-wide responder settings (the engine's IkeEndpointConfig names; durations in µs). */
export interface ScenarioAdmission {
  readonly cookieThreshold?: number;
  readonly cookieCalmdown?: Micros;
  readonly blockThreshold?: number;
  readonly halfOpenLimit?: number;
  readonly halfOpenTimeout?: Micros;
  readonly cookieSecretUses?: number;
  readonly cookieSecretLifetime?: Micros;
}

export const TRAFFIC_KIND = { PING: 'ping', UDP: 'udp' } as const;
export type TrafficKind = (typeof TRAFFIC_KIND)[keyof typeof TRAFFIC_KIND];

export interface ScenarioTraffic {
  readonly name: string;
  readonly kind: TrafficKind;
  readonly from: string;
  /** A host name, or an address. */
  readonly to: { readonly host: string } | { readonly addr: IpAddress };
  /** udp: destination port. */
  readonly port?: number;
  /** udp: source port (default 40000). */
  readonly srcPort?: number;
  readonly at: Micros;
  readonly count: number;
  readonly interval: Micros;
  /** Payload bytes (ping data / UDP payload). */
  readonly size: number;
}

export const EVENT_ACTION = {
  NAT_REBOOT: 'nat-reboot',
  NAT_FLUSH: 'nat-flush',
  NAT_TIMEOUT: 'nat-timeout',
  LINK_DOWN: 'link-down',
  LINK_UP: 'link-up',
} as const;
export type EventAction = (typeof EVENT_ACTION)[keyof typeof EVENT_ACTION];

export type ScenarioEvent =
  | { readonly at: Micros; readonly action: 'nat-reboot'; readonly nat: string; readonly downFor: Micros }
  | { readonly at: Micros; readonly action: 'nat-flush'; readonly nat: string }
  | { readonly at: Micros; readonly action: 'nat-timeout'; readonly nat: string; readonly protocol: 'udp' | 'icmp' | 'esp'; readonly timeout: Micros }
  | { readonly at: Micros; readonly action: 'link-down' | 'link-up'; readonly link: string };

export const ATTACK_KIND = {
  IKE_INIT_FLOOD: 'ike-init-flood',
  IKE_REPLAY: 'ike-replay',
  IKE_FORGE: 'ike-forge',
  ESP_REPLAY: 'esp-replay',
  ESP_FORGE: 'esp-forge',
} as const;
export type AttackKind = (typeof ATTACK_KIND)[keyof typeof ATTACK_KIND];

/** IKE exchanges an attacker can pick from what it recorded. */
export type AttackExchange = 'ike-sa-init' | 'ike-auth' | 'create-child-sa' | 'informational';

interface AttackerBase {
  readonly name: string;
  /** The host it runs on (a host without a peer). */
  readonly host: string;
}

/**
 * A hostile host's campaign (sim/hostile.ts). Replays and forgeries take packets the
 * attacker recorded next to the target peer: what the target received from its remote
 * peer and what it sent to it.
 */
export type ScenarioAttacker =
  | (AttackerBase & {
      readonly kind: 'ike-init-flood';
      /** A peer (its IKE port) or an address:port. */
      readonly target: { readonly peer: string } | { readonly endpoint: { readonly addr: IpAddress; readonly port: number } };
      readonly count: number;
      /** Requests per second. */
      readonly rate: number;
      /** Spoofed sources are drawn from this IPv4 prefix; default the host's own address. */
      readonly spoof?: Prefix;
      readonly start: Micros;
      /** strongSwan proposal of the requests; default the target peer's first IKE proposal. */
      readonly proposals?: string;
    })
  | (AttackerBase & {
      readonly kind: 'ike-replay' | 'ike-forge';
      readonly target: { readonly peer: string };
      readonly at: Micros;
      readonly count: number;
      readonly interval: Micros;
      readonly exchange: AttackExchange;
      readonly message: 'request' | 'response';
      /** ike-forge: flip the last byte of the ICV, or replace the responder SPI. */
      readonly corrupt: 'icv' | 'spi';
    })
  | (AttackerBase & {
      readonly kind: 'esp-replay' | 'esp-forge';
      readonly target: { readonly peer: string };
      readonly at: Micros;
      readonly count: number;
      readonly interval: Micros;
    });

export type ScenarioTap =
  | { readonly name: string; readonly link: string }
  | { readonly name: string; readonly nat: string; readonly side: 'inside' | 'outside' };

export interface CountBounds {
  readonly min?: number;
  readonly max?: number;
}

export interface DurationBounds {
  readonly min?: Micros;
  readonly max?: Micros;
}

export const EXPECTATION_KIND = {
  ESTABLISHED: 'established',
  NAT_HERE: 'nat-here',
  NAT_THERE: 'nat-there',
  FLOATED: 'floated',
  ENCAPSULATION: 'encapsulation',
  KEEPALIVES: 'keepalives',
  DELIVERED: 'delivered',
  MAPPING_EXPIRED: 'mapping-expired',
  FAILS: 'fails',
  SA_DELETED: 'sa-deleted',
  REESTABLISHED: 'reestablished',
  PEER_ADDRESS_UPDATED: 'peer-address-updated',
  RETRANSMITS: 'retransmits',
  COOKIE_MODE: 'cookie-mode',
  ADMISSION: 'admission',
  IKE_DROPPED: 'ike-dropped',
  ESP_DROPPED: 'esp-dropped',
} as const;
export type ExpectationKind = (typeof EXPECTATION_KIND)[keyof typeof EXPECTATION_KIND];

/** Why an IKE SA was deleted (the engine's reasons). */
export type SaDeleteReason = 'local' | 'remote' | 'dpd' | 'timeout' | 'auth-failed' | 'rekeyed' | 'half-open-timeout' | 'failed';

/** Checked at the end of a run (sim/expectations.ts). */
export type Expectation =
  | { readonly expect: 'established'; readonly peer: string; readonly by: Micros; readonly value: boolean }
  | { readonly expect: 'nat-here' | 'nat-there' | 'floated'; readonly peer: string; readonly value: boolean }
  | { readonly expect: 'encapsulation'; readonly peer: string; readonly value: 'udp' | 'none' }
  | { readonly expect: 'keepalives'; readonly peer: string; readonly count?: CountBounds; readonly interval?: DurationBounds }
  | { readonly expect: 'delivered'; readonly traffic: string; readonly count: CountBounds }
  /** `port`: only mappings of that inside port count. */
  | { readonly expect: 'mapping-expired'; readonly nat: string; readonly by?: Micros; readonly port?: number; readonly value: boolean }
  /** No packet of the traffic made it; `reason` must be among the causes seen. */
  | { readonly expect: 'fails'; readonly traffic: string; readonly reason?: string }
  | { readonly expect: 'sa-deleted'; readonly peer: string; readonly reason?: SaDeleteReason; readonly by?: Micros; readonly value: boolean }
  /** The peer set up a fresh IKE SA (not a rekey) after losing one. */
  | { readonly expect: 'reestablished'; readonly peer: string; readonly by?: Micros; readonly value: boolean }
  | { readonly expect: 'peer-address-updated'; readonly peer: string; readonly value: boolean }
  | { readonly expect: 'retransmits'; readonly peer: string; readonly count: CountBounds }
  /** The responder demanded COOKIEs at some point (by a time). */
  | { readonly expect: 'cookie-mode'; readonly peer: string; readonly by?: Micros; readonly value: boolean }
  /** A responder's admission counter (IkeEndpoint.admissionStats) at the end. */
  | { readonly expect: 'admission'; readonly peer: string; readonly counter: AdmissionCounter; readonly count: CountBounds }
  /** IKE datagrams (or ESP packets) the peer dropped, of one reason or all. */
  | { readonly expect: 'ike-dropped' | 'esp-dropped'; readonly peer: string; readonly reason?: string; readonly count: CountBounds };

/** The admission counters an expectation can bound. */
export type AdmissionCounter =
  | 'halfOpen'
  | 'halfOpenPeak'
  | 'dhComputations'
  | 'cookiesSent'
  | 'cookiesAccepted'
  | 'cookiesInvalid'
  | 'blockedPerPeer'
  | 'overLimit'
  | 'cookieSecretRotations';

export interface Scenario {
  /** The file name used in messages. */
  readonly file: string;
  readonly name: string;
  readonly description?: string;
  readonly seed: number;
  /** How long the run lasts. */
  readonly duration: Micros;
  readonly topology: Topology;
  readonly peers: readonly ScenarioPeer[];
  readonly traffic: readonly ScenarioTraffic[];
  readonly events: readonly ScenarioEvent[];
  readonly taps: readonly ScenarioTap[];
  /** Hostile hosts (sim/hostile.ts). */
  readonly attackers: readonly ScenarioAttacker[];
  readonly expectations: readonly Expectation[];
}

export interface ScenarioIssue {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** Key path, e.g. "topology.nats[0].kind"; empty for a YAML syntax error. */
  readonly path: string;
  readonly message: string;
}

/** `file:line: path: message` (or `file:line: message` without a path). */
export function formatIssue(i: ScenarioIssue): string {
  return i.path ? `${i.file}:${i.line}: ${i.path}: ${i.message}` : `${i.file}:${i.line}: ${i.message}`;
}

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  constructor(readonly issues: readonly ScenarioIssue[]) {
    super(issues.map(formatIssue).join('\n'));
  }
}

export type ScenarioParse = { readonly ok: true; readonly scenario: Scenario } | { readonly ok: false; readonly issues: readonly ScenarioIssue[] };

/** Parses and validates scenario YAML; `file` is the name used in messages. */
export function parseScenario(text: string, file: string): ScenarioParse {
  return validateScenarioText(text, file);
}

/** parseScenario that throws a ScenarioError listing every issue. */
export function loadScenario(text: string, file: string): Scenario {
  const r = parseScenario(text, file);
  if (!r.ok) throw new ScenarioError(r.issues);
  return r.scenario;
}
