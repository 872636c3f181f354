/**
 * Configuration of the IKEv2 engine: one role-free PeerConfig per connection (the
 * same shape serves `initiate()` and the responder's list), and the endpoint-wide
 * settings. Every input is validated once, up front, into a Resolved* value; a bad
 * value raises ConfigError naming the field.
 *
 * Defaults follow strongSwan (swanctl.conf / strongswan.conf):
 *  - proposals `aes128gcm16-prfsha256-x25519` (IKE) and `aes128gcm16` (ESP);
 *  - keepalive 20 s, DPD off, rekeying off, jitter 0;
 *  - retransmission: timeout 4 s, base 1.8, 5 tries (attempt n waits timeout × base^n,
 *    and the exchange is given up after `tries` retransmissions, about 165 s);
 *  - ports 500 and 4500; half-open SAs from which COOKIEs are demanded: 30
 *    (charon.cookie_threshold), kept on for 10 s after the last request that needed
 *    one; half-open SAs per source address beyond which its requests are ignored: 5
 *    (charon.block_threshold); no overall half-open limit (charon.init_limit_half_open
 *    0); a cookie secret is replaced after 10,000 cookies (charon) or 60 s;
 *    a half-open responder SA is forgotten after 30 s.
 *
 * Durations are Micros when given as numbers, or text such as "20s", "250ms", "1h".
 */
import {
  formatIp,
  parseDuration,
  parseEndpoint,
  tryParseIp,
  seconds,
  type Endpoint,
  type IpAddress,
  type Micros,
} from '../core/index.ts';
import { IdType } from '../wire/ike/constants.ts';
import { ProposalError, parseProposals, type Proposal } from '../crypto/proposals.ts';
import { parseTrafficSelector, type TrafficSelector } from './traffic-selectors.ts';

export const EncapMode = { AUTO: 'auto', FORCE: 'force', OFF: 'off' } as const;
export type EncapMode = (typeof EncapMode)[keyof typeof EncapMode];

export type Duration = Micros | string;

export interface RetransmitConfig {
  /** Wait after the first send (default 4 s). */
  readonly timeout?: Duration;
  /** Growth factor per attempt (default 1.8). */
  readonly base?: number;
  /** Retransmissions before giving up (default 5). */
  readonly tries?: number;
}

export interface RekeyConfig {
  /** IKE SA rekey time after establishment; 0 = off (default). */
  readonly ike?: Duration;
  /** CHILD_SA rekey time after installation; 0 = off (default). */
  readonly child?: Duration;
  /** Up to this much is subtracted at random from each rekey time (strongSwan's rand_time). */
  readonly jitter?: Duration;
}

export interface PortsConfig {
  readonly ike?: number;
  readonly natt?: number;
}

/** One connection, usable by either role. */
export interface PeerConfig {
  /** Connection name (the `<name|N>` tag of key logs). */
  readonly name?: string;
  /** Our addresses; the first is the one the initiator sends from. */
  readonly localAddrs: readonly (string | IpAddress)[];
  /**
   * The peer: "198.51.100.2", "198.51.100.2:500" or an Endpoint. Required to initiate;
   * for a responder config it restricts the peer's (observed) address, absent = any.
   */
  readonly remote?: string | Endpoint;
  /** Pre-shared key (text is taken as UTF-8). */
  readonly psk: string | Uint8Array;
  /** Our identity: "host.example" (FQDN), "@host" (FQDN), "user@host" (RFC 822), an IP address. */
  readonly localId: string;
  /** The identity we accept from the peer; absent or "%any" = any. */
  readonly remoteId?: string;
  /** strongSwan proposal syntax, comma-separated (default aes128gcm16-prfsha256-x25519). */
  readonly ikeProposals?: string;
  /** strongSwan ESP proposal syntax (default aes128gcm16); a DH group means PFS in CREATE_CHILD_SA. */
  readonly espProposals?: string;
  /** Our side's traffic selectors, "10.77.10.0/24" (default: everything of our address family). */
  readonly localTs?: readonly string[];
  readonly remoteTs?: readonly string[];
  /** 'auto' (default): UDP-encapsulate when NAT is detected; 'force': always (fake NAT-D); 'off': never. */
  readonly encap?: EncapMode;
  /** NAT keepalive interval when behind NAT (default 20 s); 0 disables keepalives. */
  readonly keepaliveInterval?: Duration;
  /** Send a liveness check after this much inbound silence; 0 = off (default). */
  readonly dpdDelay?: Duration;
  readonly rekey?: RekeyConfig;
  readonly retransmit?: RetransmitConfig;
  /** Float to the NAT-T port even without NAT (strongSwan does with MOBIKE). */
  readonly floatAlways?: boolean;
  readonly ports?: PortsConfig;
}

/** Endpoint-wide settings. */
export interface IkeEndpointConfig {
  /** Connections this endpoint answers for, tried in order (selection by address and identity). */
  readonly peers?: readonly PeerConfig[];
  /** Demand COOKIEs while at least this many responder SAs are half-open (default 30; 0 = always). */
  readonly cookieThreshold?: number;
  /** Keep demanding COOKIEs this long after the last request that needed one (default 10 s). */
  readonly cookieCalmdown?: Duration;
  /** Ignore IKE_SA_INIT from a source address with this many half-open SAs (default 5; 0 = no limit). */
  readonly blockThreshold?: number;
  /** Drop IKE_SA_INIT requests, keeping nothing, while this many SAs are half-open (default 0 = no limit). */
  readonly halfOpenLimit?: number;
  /** Replace the cookie secret after it made this many cookies (default 10,000). */
  readonly cookieSecretUses?: number;
  /** Replace the cookie secret when it is this old (default 60 s; 0 = only by use). */
  readonly cookieSecretLifetime?: Duration;
  /** A responder SA still not authenticated after this long is dropped (default 30 s). */
  readonly halfOpenTimeout?: Duration;
  /** Nonce size in bytes (default 32). */
  readonly nonceLength?: number;
}

export interface Identity {
  readonly idType: number;
  readonly data: Uint8Array;
  /** As configured / as formatted for display. */
  readonly text: string;
}

export interface ResolvedPeerConfig {
  readonly name: string;
  readonly localAddrs: readonly IpAddress[];
  readonly remote: Endpoint | undefined;
  /** The remote address a responder config requires (undefined = any). */
  readonly remoteAddr: IpAddress | undefined;
  readonly psk: Uint8Array;
  readonly localId: Identity;
  readonly remoteId: Identity | undefined;
  readonly ikeProposals: readonly Proposal[];
  readonly espProposals: readonly Proposal[];
  readonly ikeProposalText: string;
  readonly espProposalText: string;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
  readonly encap: EncapMode;
  readonly keepaliveInterval: Micros;
  readonly dpdDelay: Micros;
  readonly rekey: { readonly ike: Micros; readonly child: Micros; readonly jitter: Micros };
  readonly retransmit: { readonly timeout: Micros; readonly base: number; readonly tries: number };
  readonly floatAlways: boolean;
  readonly ports: { readonly ike: number; readonly natt: number };
}

export interface ResolvedEndpointConfig {
  readonly peers: readonly ResolvedPeerConfig[];
  readonly cookieThreshold: number;
  readonly cookieCalmdown: Micros;
  readonly blockThreshold: number;
  readonly halfOpenLimit: number;
  readonly cookieSecretUses: number;
  readonly cookieSecretLifetime: Micros;
  readonly halfOpenTimeout: Micros;
  readonly nonceLength: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** Dotted path of the offending field, e.g. "peers[0].ikeProposals". */
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

export const DEFAULT_IKE_PROPOSALS = 'aes128gcm16-prfsha256-x25519';
export const DEFAULT_ESP_PROPOSALS = 'aes128gcm16';
export const DEFAULTS = {
  keepaliveInterval: seconds(20),
  dpdDelay: 0,
  retransmit: { timeout: seconds(4), base: 1.8, tries: 5 },
  ports: { ike: 500, natt: 4500 },
  cookieThreshold: 30,
  cookieCalmdown: seconds(10),
  blockThreshold: 5,
  halfOpenLimit: 0,
  cookieSecretUses: 10_000,
  cookieSecretLifetime: seconds(60),
  halfOpenTimeout: seconds(30),
  nonceLength: 32,
} as const;

const utf8 = new TextEncoder();

function duration(field: string, v: Duration | undefined, dflt: Micros): Micros {
  if (v === undefined) return dflt;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new ConfigError(field, `a duration in microseconds must be a non-negative integer, got ${v}`);
    return v;
  }
  const d = parseDuration(v);
  if (d === undefined) throw new ConfigError(field, `not a duration: "${v}" (e.g. "20s", "250ms", "1h")`);
  return d;
}

function port(field: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 1 || v > 65535) throw new ConfigError(field, `a UDP port is 1..65535, got ${v}`);
  return v;
}

function address(field: string, v: string | IpAddress): IpAddress {
  if (typeof v !== 'string') {
    if ((v.family === 4 && v.bytes.length === 4) || (v.family === 6 && v.bytes.length === 16)) return v;
    throw new ConfigError(field, 'an address has 4 (IPv4) or 16 (IPv6) bytes');
  }
  const a = tryParseIp(v.trim());
  if (!a) throw new ConfigError(field, `not an IP address: "${v}"`);
  return a;
}

/** Parses a strongSwan-style identity; "%any" yields undefined. */
export function parseIdentity(text: string, field = 'identity'): Identity | undefined {
  const t = text.trim();
  if (t === '') throw new ConfigError(field, 'empty identity');
  if (t === '%any') return undefined;
  const ip = tryParseIp(t);
  if (ip) return { idType: ip.family === 4 ? IdType.IPV4_ADDR : IdType.IPV6_ADDR, data: ip.bytes, text: t };
  if (t.startsWith('@')) {
    if (t.length === 1) throw new ConfigError(field, 'an "@" identity needs a name after the @');
    return { idType: IdType.FQDN, data: utf8.encode(t.slice(1)), text: t.slice(1) };
  }
  if (t.includes('@')) return { idType: IdType.RFC822_ADDR, data: utf8.encode(t), text: t };
  return { idType: IdType.FQDN, data: utf8.encode(t), text: t };
}

/** Display form of an identity as found in an ID payload. */
export function formatIdentity(idType: number, data: Uint8Array): string {
  if (idType === IdType.IPV4_ADDR && data.length === 4) return formatIp({ family: 4, bytes: data });
  if (idType === IdType.IPV6_ADDR && data.length === 16) return formatIp({ family: 6, bytes: data });
  if (idType === IdType.FQDN || idType === IdType.RFC822_ADDR) return new TextDecoder().decode(data);
  return `type${idType}:${Buffer.from(data).toString('hex')}`;
}

/** Whether an identity received from the peer satisfies a configured one (undefined = any). */
export function identityMatches(want: Identity | undefined, idType: number, data: Uint8Array): boolean {
  if (want === undefined) return true;
  if (want.idType !== idType || want.data.length !== data.length) return false;
  for (let i = 0; i < data.length; i++) if (want.data[i] !== data[i]) return false;
  return true;
}

/**
 * Parsed proposal tables and selectors by their text: resolved configurations with the
 * same text share one (they are never changed), so thousands of peers hold one copy.
 */
const PARSED_PROPOSALS = new Map<string, Proposal[]>();
const PARSED_SELECTORS = new Map<string, TrafficSelector>();
const PARSED_CACHE_LIMIT = 1024;

function remember<T>(cache: Map<string, T>, key: string, value: T): T {
  if (cache.size >= PARSED_CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

function proposals(field: string, text: string | undefined, dflt: string, protocol: 'ike' | 'esp'): { list: Proposal[]; text: string } {
  const t = text ?? dflt;
  const known = PARSED_PROPOSALS.get(`${protocol}|${t}`);
  if (known) return { list: known, text: t };
  let list: Proposal[];
  try {
    list = parseProposals(t, protocol);
  } catch (e) {
    if (e instanceof ProposalError) throw new ConfigError(field, e.message);
    throw e;
  }
  if (list.length === 0) throw new ConfigError(field, 'no proposal given');
  return { list: remember(PARSED_PROPOSALS, `${protocol}|${t}`, list), text: t };
}

function selectors(field: string, list: readonly string[] | undefined, family: 4 | 6): TrafficSelector[] {
  const src = list ?? [family === 4 ? '0.0.0.0/0' : '::/0'];
  if (src.length === 0) throw new ConfigError(field, 'at least one traffic selector is needed');
  return src.map((s, i) => {
    const known = PARSED_SELECTORS.get(s);
    if (known) return known;
    const ts = parseTrafficSelector(s);
    if (ts) return remember(PARSED_SELECTORS, s, ts);
    if (!ts) throw new ConfigError(`${field}[${i}]`, `not a traffic selector: "${s}" (e.g. "10.77.10.0/24" or "10.0.0.1")`);
    return ts;
  });
}

/** Validates a connection; `field` prefixes error paths. */
export function resolvePeerConfig(p: PeerConfig, field = 'peer'): ResolvedPeerConfig {
  if (p === null || typeof p !== 'object') throw new ConfigError(field, 'expected an object');
  if (!Array.isArray(p.localAddrs) || p.localAddrs.length === 0) {
    throw new ConfigError(`${field}.localAddrs`, 'at least one local address is needed');
  }
  const localAddrs = p.localAddrs.map((a, i) => address(`${field}.localAddrs[${i}]`, a));
  const family = localAddrs[0]!.family;
  const ports = {
    ike: port(`${field}.ports.ike`, p.ports?.ike, DEFAULTS.ports.ike),
    natt: port(`${field}.ports.natt`, p.ports?.natt, DEFAULTS.ports.natt),
  };
  if (ports.ike === ports.natt) throw new ConfigError(`${field}.ports`, 'the IKE and NAT-T ports must differ');
  let remote: Endpoint | undefined;
  let remoteAddr: IpAddress | undefined;
  if (p.remote !== undefined) {
    if (typeof p.remote === 'string') {
      const t = p.remote.trim();
      const bare = tryParseIp(t);
      if (bare) remote = { addr: bare, port: ports.ike };
      else {
        try {
          remote = parseEndpoint(t);
        } catch {
          throw new ConfigError(`${field}.remote`, `not an address or address:port: "${p.remote}"`);
        }
        port(`${field}.remote`, remote.port, ports.ike);
      }
    } else {
      remote = { addr: address(`${field}.remote.addr`, p.remote.addr), port: port(`${field}.remote.port`, p.remote.port, ports.ike) };
    }
    remoteAddr = remote.addr;
    if (remote.addr.family !== family) throw new ConfigError(`${field}.remote`, 'remote and local addresses are of different families');
  }
  if (p.psk === undefined || p.psk.length === 0) throw new ConfigError(`${field}.psk`, 'a pre-shared key is needed');
  const psk = typeof p.psk === 'string' ? utf8.encode(p.psk) : new Uint8Array(p.psk);
  if (typeof p.localId !== 'string') throw new ConfigError(`${field}.localId`, 'a local identity is needed');
  const localId = parseIdentity(p.localId, `${field}.localId`);
  if (!localId) throw new ConfigError(`${field}.localId`, '%any is not a valid local identity');
  const remoteId = p.remoteId === undefined ? undefined : parseIdentity(p.remoteId, `${field}.remoteId`);
  const ike = proposals(`${field}.ikeProposals`, p.ikeProposals, DEFAULT_IKE_PROPOSALS, 'ike');
  const esp = proposals(`${field}.espProposals`, p.espProposals, DEFAULT_ESP_PROPOSALS, 'esp');
  const encap = p.encap ?? EncapMode.AUTO;
  if (encap !== 'auto' && encap !== 'force' && encap !== 'off') {
    throw new ConfigError(`${field}.encap`, `expected "auto", "force" or "off", got "${String(encap)}"`);
  }
  const base = p.retransmit?.base ?? DEFAULTS.retransmit.base;
  if (!Number.isFinite(base) || base < 1) throw new ConfigError(`${field}.retransmit.base`, `must be a number of at least 1, got ${base}`);
  const tries = p.retransmit?.tries ?? DEFAULTS.retransmit.tries;
  if (!Number.isInteger(tries) || tries < 0 || tries > 100) throw new ConfigError(`${field}.retransmit.tries`, `must be an integer 0..100, got ${tries}`);
  const timeout = duration(`${field}.retransmit.timeout`, p.retransmit?.timeout, DEFAULTS.retransmit.timeout);
  if (timeout <= 0) throw new ConfigError(`${field}.retransmit.timeout`, 'must be positive');
  const rekey = {
    ike: duration(`${field}.rekey.ike`, p.rekey?.ike, 0),
    child: duration(`${field}.rekey.child`, p.rekey?.child, 0),
    jitter: duration(`${field}.rekey.jitter`, p.rekey?.jitter, 0),
  };
  for (const k of ['ike', 'child'] as const) {
    if (rekey[k] > 0 && rekey.jitter >= rekey[k]) throw new ConfigError(`${field}.rekey.jitter`, `must be less than rekey.${k}`);
  }
  return {
    name: p.name ?? 'peer',
    localAddrs,
    remote,
    remoteAddr,
    psk,
    localId,
    remoteId,
    ikeProposals: ike.list,
    espProposals: esp.list,
    ikeProposalText: ike.text,
    espProposalText: esp.text,
    localTs: selectors(`${field}.localTs`, p.localTs, family),
    remoteTs: selectors(`${field}.remoteTs`, p.remoteTs, family),
    encap,
    keepaliveInterval: duration(`${field}.keepaliveInterval`, p.keepaliveInterval, DEFAULTS.keepaliveInterval),
    dpdDelay: duration(`${field}.dpdDelay`, p.dpdDelay, DEFAULTS.dpdDelay),
    rekey,
    retransmit: { timeout, base, tries },
    floatAlways: p.floatAlways ?? false,
    ports,
  };
}

export function resolveEndpointConfig(c: IkeEndpointConfig = {}): ResolvedEndpointConfig {
  const cookieThreshold = c.cookieThreshold ?? DEFAULTS.cookieThreshold;
  if (!Number.isInteger(cookieThreshold) || cookieThreshold < 0) {
    throw new ConfigError('cookieThreshold', `must be a non-negative integer, got ${cookieThreshold}`);
  }
  const count = (field: 'blockThreshold' | 'halfOpenLimit' | 'cookieSecretUses', min: number): number => {
    const v = c[field] ?? DEFAULTS[field];
    if (!Number.isInteger(v) || v < min) throw new ConfigError(field, `must be an integer of at least ${min}, got ${v}`);
    return v;
  };
  const nonceLength = c.nonceLength ?? DEFAULTS.nonceLength;
  if (!Number.isInteger(nonceLength) || nonceLength < 16 || nonceLength > 256) {
    throw new ConfigError('nonceLength', `RFC 7296 §3.9 allows 16..256 bytes, got ${nonceLength}`);
  }
  return {
    peers: (c.peers ?? []).map((p, i) => resolvePeerConfig(p, `peers[${i}]`)),
    cookieThreshold,
    cookieCalmdown: duration('cookieCalmdown', c.cookieCalmdown, DEFAULTS.cookieCalmdown),
    blockThreshold: count('blockThreshold', 0),
    halfOpenLimit: count('halfOpenLimit', 0),
    cookieSecretUses: count('cookieSecretUses', 1),
    cookieSecretLifetime: duration('cookieSecretLifetime', c.cookieSecretLifetime, DEFAULTS.cookieSecretLifetime),
    halfOpenTimeout: duration('halfOpenTimeout', c.halfOpenTimeout, DEFAULTS.halfOpenTimeout),
    nonceLength,
  };
}
