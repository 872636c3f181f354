/**
 * Scenario validation: walks the YAML document (the `yaml` package's document API, so
 * every node has a source position) and builds the typed Scenario, reporting each
 * problem once with its line and key path. Unknown keys are rejected; addresses,
 * prefixes, durations (core's parseDuration), ports, probabilities and every name
 * reference are checked. A broken value is reported and replaced by a fallback so the
 * rest of the file is still checked without follow-on errors.
 *
 * SCENARIO_KEYS lists the keys of every object; docs/scenario.schema.json has one
 * `$defs` entry per table with exactly these properties (a test compares them).
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode, type Scalar, type YAMLMap } from 'yaml';
import { formatIp, parseEndpoint, parsePrefix, prefixContains, tryParseIp, ipEquals, type Endpoint, type IpAddress, type Prefix } from '../core/addr.ts';
import { parseDuration, type Micros } from '../core/time.ts';
import type { FirewallRule, PortRange } from './firewall.ts';
import { DEFAULT_ESP_TIMEOUT, DEFAULT_ICMP_TIMEOUT, DEFAULT_PORT_RANGE, DEFAULT_UDP_TIMEOUT, SHARED_ADDRESS_SPACE, type NatKind } from './nat.ts';
import type { DropReason } from '../ikev2/events.ts';
import { ESP_DROP, type EspDropReason } from '../ipsec/esp-processor.ts';
import type {
  AdmissionCounter,
  AttackExchange,
  AttackKind,
  CountBounds,
  DurationBounds,
  Expectation,
  Scenario,
  ScenarioEvent,
  ScenarioFirewall,
  ScenarioHost,
  ScenarioInterface,
  ScenarioIssue,
  ScenarioLink,
  ScenarioNat,
  ScenarioAdmission,
  ScenarioAttacker,
  ScenarioParse,
  ScenarioPeer,
  ScenarioRoute,
  ScenarioRouter,
  ScenarioTap,
  ScenarioTraffic,
} from './scenario.ts';

/** The keys of every object in a scenario file (docs/scenario.schema.json `$defs` mirror these). */
export const SCENARIO_KEYS = {
  scenario: ['name', 'description', 'seed', 'duration', 'topology', 'peers', 'traffic', 'events', 'taps', 'attackers', 'expectations'],
  topology: ['hosts', 'routers', 'nats', 'links', 'firewalls'],
  host: ['name', 'interfaces', 'routes', 'dontFragment', 'icmpErrors'],
  router: ['name', 'interfaces', 'routes', 'icmpErrors'],
  interface: ['name', 'address', 'addresses'],
  route: ['to', 'via', 'interface'],
  nat: [
    'name',
    'kind',
    'interfaces',
    'routes',
    'inside',
    'outside',
    'external',
    'mapping',
    'filtering',
    'ports',
    'timeouts',
    'refresh',
    'hairpinning',
    'maxMappings',
    'maxMappingsPerHost',
    'espAlg',
    'static',
    'forwards',
    'destinations',
    'subscribers',
    'icmpErrors',
  ],
  natPorts: ['assignment', 'range', 'parity'],
  natTimeouts: ['udp', 'icmp', 'esp'],
  staticBinding: ['inside', 'outside'],
  forward: ['port', 'to', 'external'],
  destination: ['match', 'to'],
  link: ['name', 'a', 'b', 'latency', 'mtu', 'up', 'faults'],
  linkFaults: ['jitter', 'loss', 'duplicate', 'reorder', 'reorderDelay'],
  firewall: ['name', 'on', 'inside', 'default', 'rules'],
  firewallRule: ['action', 'direction', 'protocol', 'port', 'srcPort', 'dstPort', 'src', 'dst', 'name'],
  peer: ['name', 'host', 'role', 'address', 'remote', 'remoteAddress', 'psk', 'ids', 'proposals', 'encap', 'keepalive', 'dpd', 'rekey', 'retransmit', 'ts', 'start', 'admission'],
  peerIds: ['local', 'remote'],
  peerProposals: ['ike', 'esp'],
  peerDpd: ['delay', 'timeout', 'action'],
  peerRekey: ['ike', 'child'],
  peerRetransmit: ['timeout', 'tries', 'base'],
  peerTs: ['local', 'remote'],
  peerAdmission: ['cookieThreshold', 'cookieCalmdown', 'blockThreshold', 'halfOpenLimit', 'halfOpenTimeout', 'cookieSecretUses', 'cookieSecretLifetime'],
  traffic: ['name', 'kind', 'from', 'to', 'port', 'srcPort', 'at', 'count', 'interval', 'size'],
  event: ['at', 'action', 'nat', 'link', 'downFor', 'protocol', 'timeout'],
  tap: ['name', 'link', 'nat', 'side'],
  attacker: ['name', 'host', 'kind', 'target', 'count', 'rate', 'spoof', 'start', 'proposals', 'at', 'interval', 'exchange', 'message', 'corrupt'],
  expectation: ['expect', 'peer', 'nat', 'traffic', 'by', 'value', 'count', 'interval', 'reason', 'port', 'counter'],
  bounds: ['min', 'max'],
} as const satisfies Record<string, readonly string[]>;

export const NAT_KINDS = ['static', 'dynamic', 'pat', 'twice', 'cgnat'] as const;
export const BEHAVIOURS = ['endpoint-independent', 'address-dependent', 'address-and-port-dependent'] as const;
export const PORT_ASSIGNMENTS = ['preserve', 'sequential', 'random'] as const;
export const EVENT_ACTIONS = ['nat-reboot', 'nat-flush', 'nat-timeout', 'link-down', 'link-up'] as const;
export const EXPECTATIONS = [
  'established',
  'nat-here',
  'nat-there',
  'floated',
  'encapsulation',
  'keepalives',
  'delivered',
  'mapping-expired',
  'fails',
  'sa-deleted',
  'reestablished',
  'peer-address-updated',
  'retransmits',
  'cookie-mode',
  'admission',
  'ike-dropped',
  'esp-dropped',
] as const;

/** Why an IKE SA went away (the engine's sa-deleted reasons). */
export const SA_DELETE_REASONS = ['local', 'remote', 'dpd', 'timeout', 'auth-failed', 'rekeyed', 'half-open-timeout', 'failed'] as const;

/**
 * Causes a `fails` expectation may name: where the packets of a flow died. Network drops
 * (network.ts DROP_REASON), NAT drops (nat.ts NAT_DROP), ESP datapath drops
 * (ipsec ESP_DROP) and `no-sa` (the sender had no CHILD_SA for the packet).
 */
export const LOSS_REASONS = [
  'link-down',
  'loss',
  'mtu',
  'no-route',
  'no-neighbor',
  'ttl-exceeded',
  'df-too-big',
  'packet-too-big',
  'not-mine',
  'malformed',
  'bad-checksum',
  'reassembly',
  'no-app',
  'firewall',
  'nat-down',
  'no-mapping',
  'filtered',
  'esp-no-alg',
  'no-ports',
  'unsupported-protocol',
  'hairpin-off',
  'table-full',
  'host-limit',
  'ports-exhausted',
  'pool-exhausted',
  'fragment',
  'no-sa',
  'unknown-spi',
  'replay-duplicate',
  'replay-too-old',
  'auth-failed',
  'mtu-exceeded',
] as const;

/** Keys (besides `at` and `action`) each event action takes, and which are required. */
export const EVENT_KEYS: Record<(typeof EVENT_ACTIONS)[number], { readonly keys: readonly string[]; readonly required: readonly string[] }> = {
  'nat-reboot': { keys: ['nat', 'downFor'], required: ['nat'] },
  'nat-flush': { keys: ['nat'], required: ['nat'] },
  'nat-timeout': { keys: ['nat', 'protocol', 'timeout'], required: ['nat', 'timeout'] },
  'link-down': { keys: ['link'], required: ['link'] },
  'link-up': { keys: ['link'], required: ['link'] },
};

/** Keys (besides `expect`) each expectation takes, and which are required. */
export const EXPECTATION_KEYS: Record<(typeof EXPECTATIONS)[number], { readonly keys: readonly string[]; readonly required: readonly string[] }> = {
  established: { keys: ['peer', 'by', 'value'], required: ['peer', 'by'] },
  'nat-here': { keys: ['peer', 'value'], required: ['peer'] },
  'nat-there': { keys: ['peer', 'value'], required: ['peer'] },
  floated: { keys: ['peer', 'value'], required: ['peer'] },
  encapsulation: { keys: ['peer', 'value'], required: ['peer', 'value'] },
  keepalives: { keys: ['peer', 'count', 'interval'], required: ['peer'] },
  delivered: { keys: ['traffic', 'count'], required: ['traffic'] },
  'mapping-expired': { keys: ['nat', 'by', 'value', 'port'], required: ['nat'] },
  fails: { keys: ['traffic', 'reason'], required: ['traffic'] },
  'sa-deleted': { keys: ['peer', 'reason', 'by', 'value'], required: ['peer'] },
  reestablished: { keys: ['peer', 'by', 'value'], required: ['peer'] },
  'peer-address-updated': { keys: ['peer', 'value'], required: ['peer'] },
  retransmits: { keys: ['peer', 'count'], required: ['peer'] },
  'cookie-mode': { keys: ['peer', 'by', 'value'], required: ['peer'] },
  admission: { keys: ['peer', 'counter', 'count'], required: ['peer', 'counter', 'count'] },
  'ike-dropped': { keys: ['peer', 'reason', 'count'], required: ['peer'] },
  'esp-dropped': { keys: ['peer', 'reason', 'count'], required: ['peer'] },
};

/** Counters of a responder's admission control an `admission` expectation may bound (IkeEndpoint.admissionStats). */
export const ADMISSION_COUNTERS = [
  'halfOpen',
  'halfOpenPeak',
  'dhComputations',
  'cookiesSent',
  'cookiesAccepted',
  'cookiesInvalid',
  'blockedPerPeer',
  'overLimit',
  'cookieSecretRotations',
] as const satisfies readonly AdmissionCounter[];

/** Why the IKE engine dropped a datagram (its datagram-dropped reasons; `ike-dropped` expectations). */
export const IKE_DROP_REASONS = [
  'malformed',
  'decode-error',
  'unsupported-version',
  'unknown-sa',
  'integrity',
  'unexpected-message-id',
  'invalid-message-id',
  'unexpected-message',
  'protocol-error',
  'fragment',
  'peer-half-open-limit',
  'half-open-limit',
  'internal-error',
] as const satisfies readonly DropReason[];

/** Why an ESP receiver dropped a packet (`esp-dropped` expectations). */
export const ESP_DROP_REASONS = Object.values(ESP_DROP) as readonly EspDropReason[];

export const ATTACK_KINDS = ['ike-init-flood', 'ike-replay', 'ike-forge', 'esp-replay', 'esp-forge'] as const satisfies readonly AttackKind[];
export const ATTACK_EXCHANGES = ['ike-sa-init', 'ike-auth', 'create-child-sa', 'informational'] as const satisfies readonly AttackExchange[];

/** Keys (besides `name`, `host` and `kind`) each attack kind takes, and which are required. */
export const ATTACKER_KEYS: Record<AttackKind, { readonly keys: readonly string[]; readonly required: readonly string[] }> = {
  'ike-init-flood': { keys: ['target', 'count', 'rate', 'spoof', 'start', 'proposals'], required: ['target', 'count', 'rate'] },
  'ike-replay': { keys: ['target', 'at', 'count', 'interval', 'exchange', 'message'], required: ['target', 'at'] },
  'ike-forge': { keys: ['target', 'at', 'count', 'interval', 'exchange', 'message', 'corrupt'], required: ['target', 'at'] },
  'esp-replay': { keys: ['target', 'at', 'count', 'interval'], required: ['target', 'at'] },
  'esp-forge': { keys: ['target', 'at', 'count', 'interval'], required: ['target', 'at'] },
};

const DURATION_HINT = 'expected a number of seconds or a number with a unit: 250ms, 20s, 5m, 2h';
const PROPOSAL_RE = /^[a-z0-9_]+(?:-[a-z0-9_]+)*!?$/i;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

type Value = YamlNode | null;

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function describeNode(n: Value): string {
  if (n === null || (isScalar(n) && n.value === null)) return 'nothing';
  if (isMap(n)) return 'a map';
  if (isSeq(n)) return 'a list';
  // A long string (a file that is not YAML at all) is cut so the message stays one short line.
  if (isScalar(n)) return typeof n.value === 'string' ? `the string ${show(n.value.length > 40 ? `${n.value.slice(0, 40)}…` : n.value)}` : `${typeof n.value} ${String(n.value)}`;
  return 'something else';
}

class Reader {
  readonly issues: ScenarioIssue[] = [];
  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
    private readonly doc: Document,
  ) {}

  resolve(n: Value): Value {
    let cur: unknown = n;
    for (let i = 0; i < 16 && isAlias(cur); i++) cur = (cur as { resolve(doc: Document): unknown }).resolve(this.doc) ?? null;
    return (cur as Value) ?? null;
  }

  lineOf(n: Value | undefined, fallback?: Value): { line: number; col: number } {
    const r = (n as { range?: [number, number, number] } | null | undefined)?.range ?? (fallback as { range?: [number, number, number] } | null | undefined)?.range;
    if (!r) return { line: 1, col: 1 };
    return this.lc.linePos(r[0]);
  }

  error(n: Value | undefined, path: string, message: string, fallback?: Value): void {
    const { line, col } = this.lineOf(n, fallback);
    this.issues.push({ file: this.file, line, column: col, path, message });
  }

  /** A map with the allowed keys; unknown keys and missing required ones are reported. */
  obj(n: Value, path: string, keys: readonly string[], required: readonly string[] = []): Obj | undefined {
    const node = this.resolve(n);
    if (!isMap(node)) {
      this.error(node, path, `expected a map, got ${describeNode(node)}`, n);
      return undefined;
    }
    const entries = new Map<string, { key: Scalar; value: Value }>();
    for (const pair of (node as YAMLMap).items) {
      const k = pair.key as Value;
      if (!isScalar(k) || typeof k.value !== 'string') {
        this.error(k, path, `keys must be plain names, got ${describeNode(k)}`, node);
        continue;
      }
      const name = k.value;
      if (!keys.includes(name)) {
        this.error(k, path ? `${path}.${name}` : name, `unknown key "${name}" (expected one of: ${keys.join(', ')})`);
        continue;
      }
      entries.set(name, { key: k, value: this.resolve((pair.value as Value) ?? null) });
    }
    const o = new Obj(this, node, path, entries);
    for (const k of required) if (!entries.has(k)) this.error(node, path || '(top level)', `missing required key "${k}"`);
    return o;
  }

  scalar(n: Value, path: string, what: string): string | number | boolean | undefined {
    if (isScalar(n) && n.value !== null && ['string', 'number', 'boolean'].includes(typeof n.value)) return n.value as string | number | boolean;
    this.error(n, path, `expected ${what}, got ${describeNode(n)}`);
    return undefined;
  }

  str(n: Value, path: string, what = 'a string'): string | undefined {
    const v = this.scalar(n, path, what);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.error(n, path, `expected ${what}, got ${describeNode(n)}`);
      return undefined;
    }
    return v;
  }

  name(n: Value, path: string): string | undefined {
    const s = this.str(n, path, 'a name');
    if (s === undefined) return undefined;
    if (!NAME_RE.test(s)) {
      this.error(n, path, `bad name ${show(s)} (letters, digits, "-" and "_", starting with a letter or digit)`);
      return undefined;
    }
    return s;
  }

  int(n: Value, path: string, min: number, max: number, what = 'an integer'): number | undefined {
    const v = this.scalar(n, path, what);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(n, path, `expected ${what}, got ${describeNode(n)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.error(n, path, `${v} is out of range (${min}..${max})`);
      return undefined;
    }
    return v;
  }

  num(n: Value, path: string, min: number, max: number): number | undefined {
    const v = this.scalar(n, path, 'a number');
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.error(n, path, `expected a number, got ${describeNode(n)}`);
      return undefined;
    }
    if (v < min || v > max) {
      this.error(n, path, `${v} is out of range (${min}..${max})`);
      return undefined;
    }
    return v;
  }

  bool(n: Value, path: string): boolean | undefined {
    const v = this.scalar(n, path, 'true or false');
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.error(n, path, `expected true or false, got ${describeNode(n)}`);
      return undefined;
    }
    return v;
  }

  duration(n: Value, path: string): Micros | undefined {
    const v = this.scalar(n, path, 'a duration');
    if (v === undefined) return undefined;
    const d = typeof v === 'boolean' ? undefined : parseDuration(v);
    if (d === undefined) {
      this.error(n, path, `bad duration ${show(v)} (${DURATION_HINT})`);
      return undefined;
    }
    return d;
  }

  probability(n: Value, path: string): number | undefined {
    const v = this.scalar(n, path, 'a probability');
    if (v === undefined) return undefined;
    let p: number | undefined;
    if (typeof v === 'number') p = v;
    else if (typeof v === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
      if (m) p = Number(m[1]) / 100;
    }
    if (p === undefined || !(p >= 0 && p <= 1)) {
      this.error(n, path, `bad probability ${show(v)} (expected 0..1 or a percentage such as "5%")`);
      return undefined;
    }
    return p;
  }

  oneOf<T extends string>(n: Value, path: string, values: readonly T[], what: string): T | undefined {
    const v = this.scalar(n, path, what);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.error(n, path, `unknown ${what} ${show(v)} (expected ${values.join(', ')})`);
      return undefined;
    }
    return v as T;
  }

  address(n: Value, path: string, what = 'an IP address'): IpAddress | undefined {
    const s = this.str(n, path, what);
    if (s === undefined) return undefined;
    const a = tryParseIp(s);
    if (!a) this.error(n, path, `bad address ${show(s)} (expected ${what}, e.g. 192.0.2.1 or 2001:db8::1)`);
    return a;
  }

  prefix(n: Value, path: string, needLength: boolean): Prefix | undefined {
    const s = this.str(n, path, 'a prefix');
    if (s === undefined) return undefined;
    try {
      if (needLength && !s.includes('/')) throw new Error('no length');
      return parsePrefix(s);
    } catch {
      this.error(n, path, needLength ? `bad address ${show(s)} (expected an address with a prefix length, e.g. 10.0.0.2/24)` : `bad prefix ${show(s)} (expected e.g. 10.0.0.0/8 or 2001:db8::/32)`);
      return undefined;
    }
  }

  endpoint(n: Value, path: string): { addr: IpAddress; port: number } | undefined {
    const s = this.str(n, path, 'an address:port');
    if (s === undefined) return undefined;
    try {
      return parseEndpoint(s);
    } catch {
      this.error(n, path, `bad endpoint ${show(s)} (expected address:port, e.g. 10.0.0.5:4500 or [2001:db8::5]:4500)`);
      return undefined;
    }
  }

  portRange(n: Value, path: string): PortRange | undefined {
    const v = this.scalar(n, path, 'a port or port range');
    if (v === undefined) return undefined;
    let r: PortRange | undefined;
    if (typeof v === 'number' && Number.isInteger(v)) r = { from: v, to: v };
    else if (typeof v === 'string') {
      const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(v);
      if (m) r = { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
    }
    if (!r || r.from < 1 || r.to > 65535 || r.from > r.to) {
      this.error(n, path, `bad port range ${show(v)} (expected a port 1..65535 or a range such as 1024-65535)`);
      return undefined;
    }
    return r;
  }

  list<T>(n: Value, path: string, item: (n: Value, path: string, index: number) => T | undefined): T[] {
    if (!isSeq(n)) {
      this.error(n, path, `expected a list, got ${describeNode(n)}`);
      return [];
    }
    const out: T[] = [];
    n.items.forEach((it, i) => {
      const v = item(this.resolve(it as Value), `${path}[${i}]`, i);
      if (v !== undefined) out.push(v);
    });
    return out;
  }

  /** A scalar or a list of scalars, as a list. */
  oneOrMany<T>(n: Value, path: string, item: (n: Value, path: string) => T | undefined): T[] {
    if (isSeq(n)) return this.list(n, path, item);
    const v = item(n, path);
    return v === undefined ? [] : [v];
  }
}

class Obj {
  constructor(
    readonly r: Reader,
    readonly node: YAMLMap,
    readonly path: string,
    private readonly entries: Map<string, { key: Scalar; value: Value }>,
  ) {}

  has(k: string): boolean {
    return this.entries.has(k);
  }
  value(k: string): Value {
    return this.entries.get(k)?.value ?? null;
  }
  keyNode(k: string): Value {
    return this.entries.get(k)?.key ?? null;
  }
  p(k: string): string {
    return this.path ? `${this.path}.${k}` : k;
  }
  /** Reads key `k` with `fn` when present. */
  get<T>(k: string, fn: (n: Value, path: string) => T | undefined): T | undefined {
    if (!this.entries.has(k)) return undefined;
    const v = this.value(k);
    if (v === null || (isScalar(v) && v.value === null)) {
      this.r.error(this.keyNode(k), this.p(k), 'has no value');
      return undefined;
    }
    return fn(v, this.p(k));
  }
  /** Reports keys present that `allowed` does not list (for kind-dependent keys). */
  only(allowed: readonly string[], why: (k: string) => string): void {
    for (const k of this.entries.keys()) if (!allowed.includes(k)) this.r.error(this.keyNode(k), this.p(k), why(k));
  }
}

/** Where a model object came from, for cross-reference errors. */
type Origin = { readonly obj: Obj; readonly pos?: undefined } | { readonly obj?: undefined; readonly pos: SourcePosition };

/**
 * Origins of every model object parsed so far (weakly held): later stages (peer
 * configuration checked by the IKE engine) report problems at the right line.
 */
const ORIGINS = new WeakMap<object, Origin>();

export interface SourcePosition {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  /** Key path, e.g. "peers[1].proposals.ike". */
  readonly path: string;
}

/**
 * Where a model object (a peer, a traffic item, an expectation, ...) or one of its keys
 * ("psk", "proposals.ike") is written in its file. A key that is absent resolves to the
 * nearest enclosing map that is present. Undefined for objects not made by this parser.
 */
export function scenarioSource(obj: object, key?: string): SourcePosition | undefined {
  const origin = ORIGINS.get(obj);
  if (!origin) return undefined;
  if (origin.pos) return origin.pos;
  const o = origin.obj;
  let node: Value = o.node;
  let path = o.path;
  for (const part of key ? key.split('.') : []) {
    const map = o.r.resolve(node);
    if (!isMap(map)) break;
    const pair = (map as YAMLMap).items.find((it) => isScalar(it.key) && (it.key as Scalar).value === part);
    if (!pair) break;
    path = path ? `${path}.${part}` : part;
    node = o.r.resolve((pair.value as Value) ?? (pair.key as Value));
  }
  const { line, col } = o.r.lineOf(node, o.node);
  return { file: o.r.file, line, column: col, path };
}

/**
 * Lets go of the parsed YAML document behind a scenario's model objects (a large lab's
 * document outweighs the lab): each object keeps only where it starts, which is what
 * is asked once the scenario is prepared (expectation results quote their line).
 * Positions of keys inside an object resolve to the object from then on.
 */
export function releaseScenarioSources(scenario: Scenario): void {
  const seen = new Set<object>();
  const stack: unknown[] = [scenario];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) continue;
    seen.add(v);
    const origin = ORIGINS.get(v);
    if (origin?.obj) {
      const pos = scenarioSource(v);
      if (pos) ORIGINS.set(v, { pos });
    }
    if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (Object.getPrototypeOf(v) === Object.prototype) {
      for (const k of Object.keys(v)) stack.push((v as Record<string, unknown>)[k]);
    }
  }
}

/** Model objects whose own errors were reported: cross-checks skip their broken parts. */
const incomplete = new WeakSet<object>();
const NO_END = { node: '', iface: '' } as const;

interface Names {
  readonly nodes: Map<string, { kind: 'host' | 'router' | 'nat'; interfaces: ScenarioInterface[]; nat?: ScenarioNat }>;
}

export function validateScenarioText(text: string, file: string): ScenarioParse {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const { line, col } = lc.linePos(e.pos[0]);
    const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, issues: [{ file, line, column: col, path: '', message: `YAML syntax error: ${message}` }] };
  }
  const r = new Reader(file, lc, doc);
  const scenario = readScenario(r, doc.contents as Value);
  if (r.issues.length > 0 || !scenario) {
    const seen = new Set<string>();
    const issues = [...r.issues]
      .sort((a, b) => a.line - b.line || a.column - b.column)
      .filter((i) => {
        const k = `${i.line}|${i.path}|${i.message}`;
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    return { ok: false, issues: issues.length > 0 ? issues : [{ file, line: 1, column: 1, path: '', message: 'not a scenario' }] };
  }
  return { ok: true, scenario };
}

function readScenario(r: Reader, root: Value): Scenario | undefined {
  const o = r.obj(root, '', SCENARIO_KEYS.scenario, ['name', 'topology']);
  if (!o) return undefined;
  const origins = ORIGINS;
  const name = o.get('name', (n, p) => r.str(n, p)) ?? '';
  const description = o.get('description', (n, p) => r.str(n, p));
  const seed = o.get('seed', (n, p) => r.int(n, p, 0, 0xffffffff, 'an integer seed')) ?? 1;
  const duration = o.get('duration', (n, p) => r.duration(n, p)) ?? 60_000_000;
  const topology = o.get('topology', (n, p) => readTopology(r, n, p, origins)) ?? { hosts: [], routers: [], nats: [], links: [], firewalls: [] };
  const peers = o.get('peers', (n, p) => r.list(n, p, (it, ip) => readPeer(r, it, ip, origins))) ?? [];
  const traffic = o.get('traffic', (n, p) => r.list(n, p, (it, ip, i) => readTraffic(r, it, ip, i, origins))) ?? [];
  const events = o.get('events', (n, p) => r.list(n, p, (it, ip) => readEvent(r, it, ip, origins))) ?? [];
  const taps = (o.get('taps', (n, p) => r.list(n, p, (it, ip) => readTap(r, it, ip, origins))) ?? []).flat();
  const attackers = o.get('attackers', (n, p) => r.list(n, p, (it, ip, i) => readAttacker(r, it, ip, i, origins))) ?? [];
  const expectations = o.get('expectations', (n, p) => r.list(n, p, (it, ip) => readExpectation(r, it, ip, origins))) ?? [];
  const s: Scenario = {
    file: r.file,
    name,
    ...(description === undefined ? {} : { description }),
    seed,
    duration,
    topology,
    peers,
    traffic,
    events,
    taps,
    attackers,
    expectations,
  };
  crossCheck(r, s, origins);
  return s;
}

// ---------------------------------------------------------------------- topology

function readTopology(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioParseTopology | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.topology);
  if (!o) return undefined;
  return {
    hosts: o.get('hosts', (v, p) => r.list(v, p, (it, ip) => readHost(r, it, ip, origins))) ?? [],
    routers: o.get('routers', (v, p) => r.list(v, p, (it, ip) => readRouter(r, it, ip, origins))) ?? [],
    nats: o.get('nats', (v, p) => r.list(v, p, (it, ip) => readNat(r, it, ip, origins))) ?? [],
    links: o.get('links', (v, p) => r.list(v, p, (it, ip) => readLink(r, it, ip, origins))) ?? [],
    firewalls: o.get('firewalls', (v, p) => r.list(v, p, (it, ip) => readFirewall(r, it, ip, origins))) ?? [],
  };
}

type ScenarioParseTopology = Scenario['topology'];

function readInterface(r: Reader, n: Value, path: string): ScenarioInterface | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.interface, ['name']);
  if (!o) return undefined;
  const name = o.get('name', (v, p) => r.name(v, p));
  if (o.has('address') && o.has('addresses')) r.error(o.keyNode('addresses'), o.p('addresses'), 'give either address or addresses, not both');
  let auto = false;
  const addresses: Prefix[] = [];
  if (o.has('address')) {
    const v = o.value('address');
    if (isScalar(v) && v.value === 'auto') auto = true;
    else {
      const a = o.get('address', (x, p) => r.prefix(x, p, true));
      if (a) addresses.push(a);
    }
  } else if (o.has('addresses')) {
    addresses.push(...(o.get('addresses', (x, p) => r.list(x, p, (it, ip) => r.prefix(it, ip, true))) ?? []));
  }
  return name === undefined ? undefined : { name, addresses, auto };
}

function readRoute(r: Reader, n: Value, path: string): ScenarioRoute | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.route, ['to']);
  if (!o) return undefined;
  const to = o.get('to', (v, p) => {
    if (isScalar(v) && v.value === 'default') return [parsePrefix('0.0.0.0/0'), parsePrefix('::/0')];
    const x = r.prefix(v, p, false);
    return x && [x];
  });
  const via = o.get('via', (v, p) => r.address(v, p));
  const iface = o.get('interface', (v, p) => r.name(v, p));
  if (!o.has('via') && !o.has('interface')) r.error(o.node, path, 'a route needs "via" or "interface"');
  if (via && to && to.length === 1 && to[0]!.addr.family !== via.family) {
    r.error(o.value('via'), o.p('via'), `next hop ${formatIp(via)} is not of the destination's address family`);
  }
  const route: ScenarioRoute = { to: to ?? [], ...(via ? { via } : {}), ...(iface ? { iface } : {}) };
  return route;
}

function nodeBase(r: Reader, o: Obj): { name: string | undefined; interfaces: ScenarioInterface[]; routes: ScenarioRoute[]; icmpErrors: boolean } {
  return {
    name: o.get('name', (v, p) => r.name(v, p)),
    interfaces: o.get('interfaces', (v, p) => r.list(v, p, (it, ip) => readInterface(r, it, ip))) ?? [],
    routes: o.get('routes', (v, p) => r.list(v, p, (it, ip) => readRoute(r, it, ip))) ?? [],
    icmpErrors: o.get('icmpErrors', (v, p) => r.bool(v, p)) ?? false,
  };
}

function readHost(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioHost | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.host, ['name', 'interfaces']);
  if (!o) return undefined;
  const b = nodeBase(r, o);
  if (b.name === undefined) return undefined;
  const h: ScenarioHost = { ...b, name: b.name, dontFragment: o.get('dontFragment', (v, p) => r.bool(v, p)) ?? false };
  origins.set(h, { obj: o });
  return h;
}

function readRouter(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioRouter | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.router, ['name', 'interfaces']);
  if (!o) return undefined;
  const b = nodeBase(r, o);
  if (b.name === undefined) return undefined;
  const x: ScenarioRouter = { ...b, name: b.name };
  origins.set(x, { obj: o });
  return x;
}

const KIND_ONLY: Record<string, readonly NatKind[]> = {
  destinations: ['twice'],
  subscribers: ['cgnat'],
  forwards: ['pat', 'twice', 'cgnat'],
  ports: ['pat', 'twice', 'cgnat'],
  espAlg: ['pat', 'twice', 'cgnat'],
  mapping: ['pat', 'twice', 'cgnat'],
};

function readNat(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioNat | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.nat, ['name', 'kind', 'interfaces', 'inside', 'outside']);
  if (!o) return undefined;
  const b = nodeBase(r, o);
  const kind = o.get('kind', (v, p) => r.oneOf(v, p, NAT_KINDS, 'NAT kind'));
  if (kind) {
    for (const [key, kinds] of Object.entries(KIND_ONLY)) {
      if (o.has(key) && !kinds.includes(kind)) r.error(o.keyNode(key), o.p(key), `does not apply to a ${kind} NAT (only ${kinds.join(', ')})`);
    }
    if (kind === 'static' && !o.has('static')) r.error(o.node, path, 'a static NAT needs "static" bindings');
    if (kind === 'twice' && !o.has('destinations')) r.error(o.node, path, 'a twice NAT needs "destinations"');
  }
  const inside = o.get('inside', (v, p) => r.oneOrMany(v, p, (x, xp) => r.name(x, xp))) ?? [];
  const outside = o.get('outside', (v, p) => r.name(v, p));
  const external = o.get('external', (v, p) => r.oneOrMany(v, p, (x, xp) => ipv4(r, x, xp))) ?? [];
  const mapping = o.get('mapping', (v, p) => r.oneOf(v, p, BEHAVIOURS, 'mapping behaviour')) ?? 'endpoint-independent';
  const filtering = o.get('filtering', (v, p) => r.oneOf(v, p, BEHAVIOURS, 'filtering behaviour')) ?? 'address-and-port-dependent';
  const ports = o.get('ports', (v, p) => {
    const po = r.obj(v, p, SCENARIO_KEYS.natPorts);
    if (!po) return undefined;
    return {
      assignment: po.get('assignment', (x, xp) => r.oneOf(x, xp, PORT_ASSIGNMENTS, 'port assignment')) ?? 'preserve',
      range: po.get('range', (x, xp) => r.portRange(x, xp)) ?? DEFAULT_PORT_RANGE,
      parity: po.get('parity', (x, xp) => r.bool(x, xp)) ?? false,
    };
  }) ?? { assignment: 'preserve' as const, range: DEFAULT_PORT_RANGE, parity: false };
  const timeouts = o.get('timeouts', (v, p) => {
    const to = r.obj(v, p, SCENARIO_KEYS.natTimeouts);
    if (!to) return undefined;
    return {
      udp: to.get('udp', (x, xp) => r.duration(x, xp)) ?? DEFAULT_UDP_TIMEOUT,
      icmp: to.get('icmp', (x, xp) => r.duration(x, xp)) ?? DEFAULT_ICMP_TIMEOUT,
      esp: to.get('esp', (x, xp) => r.duration(x, xp)) ?? DEFAULT_ESP_TIMEOUT,
    };
  }) ?? { udp: DEFAULT_UDP_TIMEOUT, icmp: DEFAULT_ICMP_TIMEOUT, esp: DEFAULT_ESP_TIMEOUT };
  const refresh = o.get('refresh', (v, p) => r.oneOf(v, p, ['outbound', 'both'] as const, 'refresh direction')) ?? 'outbound';
  const hairpinning = o.get('hairpinning', (v, p) => r.bool(v, p)) ?? true;
  const maxMappings = o.get('maxMappings', (v, p) => r.int(v, p, 1, 10_000_000));
  const maxMappingsPerHost = o.get('maxMappingsPerHost', (v, p) => r.int(v, p, 1, 65535));
  const espAlg = o.get('espAlg', (v, p) => r.bool(v, p)) ?? false;
  const statics =
    o.get('static', (v, p) =>
      r.list(v, p, (it, ip) => {
        const so = r.obj(it, ip, SCENARIO_KEYS.staticBinding, ['inside', 'outside']);
        if (!so) return undefined;
        const ins = so.get('inside', (x, xp) => ipv4(r, x, xp));
        const out = so.get('outside', (x, xp) => ipv4(r, x, xp));
        return ins && out ? { inside: ins, outside: out } : undefined;
      }),
    ) ?? [];
  const forwards =
    o.get('forwards', (v, p) =>
      r.list(v, p, (it, ip) => {
        const fo = r.obj(it, ip, SCENARIO_KEYS.forward, ['port', 'to']);
        if (!fo) return undefined;
        const port = fo.get('port', (x, xp) => r.int(x, xp, 1, 65535, 'a port'));
        const to = fo.get('to', (x, xp) => r.endpoint(x, xp));
        const ext = fo.get('external', (x, xp) => ipv4(r, x, xp));
        return port !== undefined && to ? { port, to, ...(ext ? { external: ext } : {}) } : undefined;
      }),
    ) ?? [];
  const destinations =
    o.get('destinations', (v, p) =>
      r.list(v, p, (it, ip) => {
        const d = r.obj(it, ip, SCENARIO_KEYS.destination, ['match', 'to']);
        if (!d) return undefined;
        const match = d.get('match', (x, xp) => ipv4(r, x, xp));
        const to = d.get('to', (x, xp) => ipv4(r, x, xp));
        return match && to ? { match, to } : undefined;
      }),
    ) ?? [];
  const subscribers = o.get('subscribers', (v, p) => {
    const x = r.prefix(v, p, false);
    if (x && (x.addr.family !== 4 || !prefixContains(SHARED_ADDRESS_SPACE, x.addr) || x.length < SHARED_ADDRESS_SPACE.length)) {
      r.error(v, p, `subscriber prefix must lie within the shared address space 100.64.0.0/10 (RFC 6598)`);
      return undefined;
    }
    return x;
  });
  // A broken kind or outside is already reported; the NAT stays so references to it resolve.
  if (b.name === undefined) return undefined;
  const nat: ScenarioNat = {
    ...b,
    name: b.name,
    kind: kind ?? 'pat',
    inside,
    outside: outside ?? '',
    external,
    mapping,
    filtering,
    ports,
    timeouts,
    refresh,
    hairpinning,
    ...(maxMappings === undefined ? {} : { maxMappings }),
    ...(maxMappingsPerHost === undefined ? {} : { maxMappingsPerHost }),
    espAlg,
    static: statics,
    forwards,
    destinations,
    ...(kind === 'cgnat' ? { subscribers: subscribers ?? SHARED_ADDRESS_SPACE } : {}),
  };
  origins.set(nat, { obj: o });
  if (!kind) incomplete.add(nat);
  return nat;
}

function ipv4(r: Reader, n: Value, path: string): IpAddress | undefined {
  const a = r.address(n, path, 'an IPv4 address');
  if (a && a.family !== 4) {
    r.error(n, path, `${formatIp(a)} is not an IPv4 address (NATs translate IPv4 only)`);
    return undefined;
  }
  return a;
}

function linkEnd(r: Reader, n: Value, path: string): { node: string; iface: string } | undefined {
  const s = r.str(n, path, 'node.interface');
  if (s === undefined) return undefined;
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]*)\.([A-Za-z0-9][A-Za-z0-9_-]*)$/.exec(s);
  if (!m) {
    r.error(n, path, `bad link end ${show(s)} (expected node.interface, e.g. client.eth0)`);
    return undefined;
  }
  return { node: m[1]!, iface: m[2]! };
}

function readLink(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioLink | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.link, ['name', 'a', 'b']);
  if (!o) return undefined;
  const name = o.get('name', (v, p) => r.name(v, p));
  const a = o.get('a', (v, p) => linkEnd(r, v, p));
  const b = o.get('b', (v, p) => linkEnd(r, v, p));
  const latency = o.get('latency', (v, p) => r.duration(v, p)) ?? 0;
  const mtu = o.get('mtu', (v, p) => r.int(v, p, 68, 65535, 'an MTU')) ?? 1500;
  const up = o.get('up', (v, p) => r.bool(v, p)) ?? true;
  const faults = o.get('faults', (v, p) => {
    const f = r.obj(v, p, SCENARIO_KEYS.linkFaults);
    if (!f) return undefined;
    const reorderDelay = f.get('reorderDelay', (x, xp) => r.duration(x, xp));
    return {
      jitter: f.get('jitter', (x, xp) => r.duration(x, xp)) ?? 0,
      loss: f.get('loss', (x, xp) => r.probability(x, xp)) ?? 0,
      duplicate: f.get('duplicate', (x, xp) => r.probability(x, xp)) ?? 0,
      reorder: f.get('reorder', (x, xp) => r.probability(x, xp)) ?? 0,
      ...(reorderDelay === undefined ? {} : { reorderDelay }),
    };
  }) ?? { jitter: 0, loss: 0, duplicate: 0, reorder: 0 };
  if (name === undefined) return undefined;
  const l: ScenarioLink = { name, a: a ?? NO_END, b: b ?? NO_END, latency, mtu, up, faults };
  origins.set(l, { obj: o });
  return l;
}

function readFirewall(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioFirewall | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.firewall, ['name', 'on']);
  if (!o) return undefined;
  const name = o.get('name', (v, p) => r.name(v, p));
  const on = o.get('on', (v, p) => r.name(v, p));
  const inside = o.get('inside', (v, p) => r.oneOrMany(v, p, (x, xp) => r.name(x, xp))) ?? [];
  const defaultAction = o.get('default', (v, p) => r.oneOf(v, p, ['permit', 'deny'] as const, 'action')) ?? 'deny';
  const rules =
    o.get('rules', (v, p) =>
      r.list(v, p, (it, ip) => {
        const ro = r.obj(it, ip, SCENARIO_KEYS.firewallRule, ['action']);
        if (!ro) return undefined;
        const action = ro.get('action', (x, xp) => r.oneOf(x, xp, ['permit', 'deny'] as const, 'action'));
        const direction = ro.get('direction', (x, xp) => r.oneOf(x, xp, ['in', 'out', 'any'] as const, 'direction'));
        const protocol = ro.get('protocol', (x, xp) => r.oneOf(x, xp, ['udp', 'esp', 'icmp', 'any'] as const, 'protocol'));
        const port = ro.get('port', (x, xp) => r.portRange(x, xp));
        const srcPort = ro.get('srcPort', (x, xp) => r.portRange(x, xp));
        const dstPort = ro.get('dstPort', (x, xp) => r.portRange(x, xp));
        const src = ro.get('src', (x, xp) => r.prefix(x, xp, false));
        const dst = ro.get('dst', (x, xp) => r.prefix(x, xp, false));
        const rname = ro.get('name', (x, xp) => r.str(x, xp));
        if ((port || srcPort || dstPort) && protocol !== undefined && protocol !== 'udp') {
          r.error(ro.keyNode(port ? 'port' : srcPort ? 'srcPort' : 'dstPort'), ro.p(port ? 'port' : srcPort ? 'srcPort' : 'dstPort'), `ports apply to udp only, not ${protocol}`);
        }
        if (!action) return undefined;
        const rule: FirewallRule = {
          action,
          ...(direction ? { direction } : {}),
          ...(protocol ? { protocol } : {}),
          ...(port ? { port } : {}),
          ...(srcPort ? { srcPort } : {}),
          ...(dstPort ? { dstPort } : {}),
          ...(src ? { src } : {}),
          ...(dst ? { dst } : {}),
          ...(rname ? { name: rname } : {}),
        };
        return rule;
      }),
    ) ?? [];
  if (name === undefined || on === undefined) return undefined;
  const fw: ScenarioFirewall = { name, on, inside, defaultAction, rules };
  origins.set(fw, { obj: o });
  return fw;
}

// ---------------------------------------------------------------------- peers, traffic, events, taps, expectations

function readPeer(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioPeer | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.peer, ['name', 'host', 'role', 'remote', 'psk', 'ids']);
  if (!o) return undefined;
  const name = o.get('name', (v, p) => r.name(v, p));
  const host = o.get('host', (v, p) => r.name(v, p));
  const role = o.get('role', (v, p) => r.oneOf(v, p, ['initiator', 'responder'] as const, 'role'));
  const address = o.get('address', (v, p) => r.address(v, p));
  const remote = o.get('remote', (v, p) => r.name(v, p));
  const remoteAddress = o.get('remoteAddress', (v, p) => r.address(v, p));
  const psk = o.get('psk', (v, p) => {
    const s = r.str(v, p, 'a pre-shared key');
    if (s === '') r.error(v, p, 'the pre-shared key is empty');
    return s;
  });
  const ids = o.get('ids', (v, p) => {
    const io = r.obj(v, p, SCENARIO_KEYS.peerIds, ['local', 'remote']);
    if (!io) return undefined;
    const local = io.get('local', (x, xp) => r.str(x, xp, 'an identity'));
    const rem = io.get('remote', (x, xp) => r.str(x, xp, 'an identity'));
    return local !== undefined && rem !== undefined ? { local, remote: rem } : undefined;
  });
  const proposal = (x: Value, xp: string): string | undefined => {
    const s = r.str(x, xp, 'a proposal');
    if (s !== undefined && !PROPOSAL_RE.test(s)) {
      r.error(x, xp, `bad proposal ${show(s)} (strongSwan syntax: algorithms joined by "-", e.g. aes256-sha256-modp2048)`);
      return undefined;
    }
    return s;
  };
  const proposals = o.get('proposals', (v, p) => {
    const po = r.obj(v, p, SCENARIO_KEYS.peerProposals);
    if (!po) return undefined;
    return {
      ike: po.get('ike', (x, xp) => r.oneOrMany(x, xp, proposal)) ?? [],
      esp: po.get('esp', (x, xp) => r.oneOrMany(x, xp, proposal)) ?? [],
    };
  }) ?? { ike: [], esp: [] };
  const encap = o.get('encap', (v, p) => r.oneOf(v, p, ['auto', 'force', 'off'] as const, 'encapsulation mode')) ?? 'auto';
  let keepalive: Micros | undefined = 20_000_000;
  if (o.has('keepalive')) {
    const v = o.value('keepalive');
    if ((isScalar(v) && (v.value === 'off' || v.value === false))) keepalive = undefined;
    else keepalive = o.get('keepalive', (x, xp) => r.duration(x, xp));
  }
  const dpd = o.get('dpd', (v, p) => {
    const d = r.obj(v, p, SCENARIO_KEYS.peerDpd, ['delay']);
    if (!d) return undefined;
    const delay = d.get('delay', (x, xp) => r.duration(x, xp));
    const timeout = d.get('timeout', (x, xp) => r.duration(x, xp));
    const action = d.get('action', (x, xp) => r.oneOf(x, xp, ['clear', 'hold', 'restart', 'none'] as const, 'DPD action')) ?? 'clear';
    return delay === undefined ? undefined : { delay, action, ...(timeout === undefined ? {} : { timeout }) };
  });
  const rekey = o.get('rekey', (v, p) => {
    const k = r.obj(v, p, SCENARIO_KEYS.peerRekey);
    if (!k) return undefined;
    const ike = k.get('ike', (x, xp) => r.duration(x, xp));
    const child = k.get('child', (x, xp) => r.duration(x, xp));
    return { ...(ike === undefined ? {} : { ike }), ...(child === undefined ? {} : { child }) };
  });
  const retransmit = o.get('retransmit', (v, p) => {
    const k = r.obj(v, p, SCENARIO_KEYS.peerRetransmit);
    if (!k) return undefined;
    const timeout = k.get('timeout', (x, xp) => r.duration(x, xp));
    const tries = k.get('tries', (x, xp) => r.int(x, xp, 0, 100));
    const base = k.get('base', (x, xp) => r.num(x, xp, 1, 10));
    return { ...(timeout === undefined ? {} : { timeout }), ...(tries === undefined ? {} : { tries }), ...(base === undefined ? {} : { base }) };
  });
  const ts = o.get('ts', (v, p) => {
    const k = r.obj(v, p, SCENARIO_KEYS.peerTs);
    if (!k) return undefined;
    return {
      local: k.get('local', (x, xp) => r.oneOrMany(x, xp, (y, yp) => r.prefix(y, yp, false))) ?? [],
      remote: k.get('remote', (x, xp) => r.oneOrMany(x, xp, (y, yp) => r.prefix(y, yp, false))) ?? [],
    };
  });
  const start = o.get('start', (v, p) => r.duration(v, p)) ?? 0;
  const admission = o.get('admission', (v, p) => readAdmission(r, v, p));
  if (admission && role === 'initiator') r.error(o.keyNode('admission'), o.p('admission'), 'applies to responders only (the engine admits IKE_SA_INIT requests it answers)');
  if (name === undefined) return undefined;
  const peer: ScenarioPeer = {
    name,
    host: host ?? '',
    role: role ?? 'initiator',
    ...(address ? { address } : {}),
    remote: remote ?? '',
    ...(remoteAddress ? { remoteAddress } : {}),
    psk: psk ?? '',
    ids: ids ?? { local: '', remote: '' },
    proposals,
    encap,
    ...(keepalive === undefined ? {} : { keepalive }),
    ...(dpd ? { dpd } : {}),
    ...(rekey ? { rekey } : {}),
    ...(retransmit ? { retransmit } : {}),
    ...(ts ? { ts } : {}),
    start,
    ...(admission ? { admission } : {}),
  };
  origins.set(peer, { obj: o });
  return peer;
}

function readAdmission(r: Reader, n: Value, path: string): ScenarioAdmission | undefined {
  const k = r.obj(n, path, SCENARIO_KEYS.peerAdmission);
  if (!k) return undefined;
  const count = (key: string, min: number, max: number): number | undefined => k.get(key, (x, xp) => r.int(x, xp, min, max));
  const dur = (key: string): number | undefined => k.get(key, (x, xp) => r.duration(x, xp));
  const a: Record<string, number | undefined> = {
    cookieThreshold: count('cookieThreshold', 0, 10_000_000),
    cookieCalmdown: dur('cookieCalmdown'),
    blockThreshold: count('blockThreshold', 0, 10_000_000),
    halfOpenLimit: count('halfOpenLimit', 0, 10_000_000),
    halfOpenTimeout: dur('halfOpenTimeout'),
    cookieSecretUses: count('cookieSecretUses', 1, 1_000_000_000),
    cookieSecretLifetime: dur('cookieSecretLifetime'),
  };
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as ScenarioAdmission;
}

function readTraffic(r: Reader, n: Value, path: string, index: number, origins: WeakMap<object, Origin>): ScenarioTraffic | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.traffic, ['kind', 'from', 'to', 'at']);
  if (!o) return undefined;
  const kind = o.get('kind', (v, p) => r.oneOf(v, p, ['ping', 'udp'] as const, 'traffic kind'));
  const from = o.get('from', (v, p) => r.name(v, p));
  const to = o.get('to', (v, p) => {
    const s = r.str(v, p, 'a host name or an address');
    if (s === undefined) return undefined;
    const a = tryParseIp(s);
    if (a) return { addr: a };
    if (NAME_RE.test(s)) return { host: s };
    r.error(v, p, `bad destination ${show(s)} (expected a host name or an address)`);
    return undefined;
  });
  const port = o.get('port', (v, p) => r.int(v, p, 1, 65535, 'a port'));
  const srcPort = o.get('srcPort', (v, p) => r.int(v, p, 1, 65535, 'a port'));
  if (kind === 'udp' && !o.has('port')) r.error(o.node, path, 'udp traffic needs a destination "port"');
  if (kind === 'ping') for (const k of ['port', 'srcPort']) if (o.has(k)) r.error(o.keyNode(k), o.p(k), 'ping traffic has no ports');
  const at = o.get('at', (v, p) => r.duration(v, p));
  const count = o.get('count', (v, p) => r.int(v, p, 1, 10_000_000)) ?? 1;
  const interval = o.get('interval', (v, p) => r.duration(v, p)) ?? 1_000_000;
  const size = o.get('size', (v, p) => r.int(v, p, 0, 65000, 'a size in bytes')) ?? 56;
  const name = o.get('name', (v, p) => r.name(v, p)) ?? `${from ?? 'traffic'}-${kind ?? 'flow'}-${index + 1}`;
  const t: ScenarioTraffic = {
    name,
    kind: kind ?? 'ping',
    from: from ?? '',
    to: to ?? { host: '' },
    ...(port === undefined ? {} : { port }),
    ...(srcPort === undefined ? {} : { srcPort }),
    at: at ?? 0,
    count,
    interval,
    size,
  };
  origins.set(t, { obj: o });
  return t;
}

function readEvent(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioEvent | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.event, ['at', 'action']);
  if (!o) return undefined;
  const at = o.get('at', (v, p) => r.duration(v, p));
  const action = o.get('action', (v, p) => r.oneOf(v, p, EVENT_ACTIONS, 'event action'));
  if (!action) return undefined;
  const spec = EVENT_KEYS[action];
  o.only(['at', 'action', ...spec.keys], (k) => `does not apply to action ${action} (it takes ${spec.keys.join(', ')})`);
  for (const k of spec.required) if (!o.has(k)) r.error(o.node, path, `action ${action} needs "${k}"`);
  const nat = o.get('nat', (v, p) => r.name(v, p));
  const link = o.get('link', (v, p) => r.name(v, p));
  if (at === undefined) return undefined;
  let e: ScenarioEvent | undefined;
  switch (action) {
    case 'nat-reboot':
      if (nat !== undefined) e = { at, action, nat, downFor: o.get('downFor', (v, p) => r.duration(v, p)) ?? 0 };
      break;
    case 'nat-flush':
      if (nat !== undefined) e = { at, action, nat };
      break;
    case 'nat-timeout': {
      const protocol = o.get('protocol', (v, p) => r.oneOf(v, p, ['udp', 'icmp', 'esp'] as const, 'protocol')) ?? 'udp';
      const timeout = o.get('timeout', (v, p) => r.duration(v, p));
      if (nat !== undefined && timeout !== undefined) e = { at, action, nat, protocol, timeout };
      break;
    }
    case 'link-down':
    case 'link-up':
      if (link !== undefined) e = { at, action, link };
      break;
  }
  if (e) origins.set(e, { obj: o });
  return e;
}

function readTap(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): ScenarioTap[] | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.tap, ['name']);
  if (!o) return undefined;
  const name = o.get('name', (v, p) => r.name(v, p));
  const link = o.get('link', (v, p) => r.name(v, p));
  const nat = o.get('nat', (v, p) => r.name(v, p));
  const side = o.get('side', (v, p) => r.oneOf(v, p, ['inside', 'outside', 'both'] as const, 'side'));
  if (o.has('link') === o.has('nat')) {
    r.error(o.node, path, 'a tap needs exactly one of "link" or "nat"');
    return undefined;
  }
  if (o.has('link') && o.has('side')) r.error(o.keyNode('side'), o.p('side'), 'side applies to NAT taps only');
  if (name === undefined) return undefined;
  let taps: ScenarioTap[];
  if (link !== undefined) taps = [{ name, link }];
  else if (nat !== undefined) {
    const s = side ?? 'both';
    taps = s === 'both' ? [{ name: `${name}-inside`, nat, side: 'inside' }, { name: `${name}-outside`, nat, side: 'outside' }] : [{ name, nat, side: s }];
  } else return undefined;
  for (const t of taps) origins.set(t, { obj: o });
  return taps;
}

function readAttacker(r: Reader, n: Value, path: string, index: number, origins: WeakMap<object, Origin>): ScenarioAttacker | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.attacker, ['host', 'kind']);
  if (!o) return undefined;
  const host = o.get('host', (v, p) => r.name(v, p));
  const kind = o.get('kind', (v, p) => r.oneOf(v, p, ATTACK_KINDS, 'attack kind'));
  const name = o.get('name', (v, p) => r.name(v, p)) ?? `${host ?? 'attacker'}-${kind ?? 'attack'}-${index + 1}`;
  if (!kind) return undefined;
  const spec = ATTACKER_KEYS[kind];
  o.only(['name', 'host', 'kind', ...spec.keys], (k) => `does not apply to kind ${kind} (it takes ${spec.keys.join(', ')})`);
  for (const k of spec.required) if (!o.has(k)) r.error(o.node, path, `kind ${kind} needs "${k}"`);
  const target = o.get('target', (v, p): { peer: string } | { endpoint: Endpoint } | undefined => {
    const t = r.str(v, p, 'a peer name or an address:port');
    if (t === undefined) return undefined;
    if (NAME_RE.test(t)) return { peer: t };
    if (kind !== 'ike-init-flood') {
      r.error(v, p, `${kind} needs a peer as target (it replays what the attacker recorded next to that peer), not ${show(t)}`);
      return undefined;
    }
    const ep = r.endpoint(v, p);
    return ep && { endpoint: ep };
  });
  const flood = kind === 'ike-init-flood';
  const count = o.get('count', (v, p) => r.int(v, p, 1, flood ? 10_000_000 : 100_000, 'a count'));
  if (host === undefined || target === undefined) return undefined;
  let a: ScenarioAttacker | undefined;
  if (flood) {
    const rate = o.get('rate', (v, p) => {
      const x = r.num(v, p, 0, 10_000_000);
      if (x === 0) r.error(v, p, 'the rate must be more than 0 requests per second');
      return x === 0 ? undefined : x;
    });
    const spoof = o.get('spoof', (v, p) => {
      const x = r.prefix(v, p, false);
      if (x && x.addr.family !== 4) {
        r.error(v, p, 'spoofed sources must be an IPv4 prefix');
        return undefined;
      }
      return x;
    });
    const start = o.get('start', (v, p) => r.duration(v, p)) ?? 0;
    const proposals = o.get('proposals', (v, p) => {
      const x = r.str(v, p, 'a proposal');
      if (x !== undefined && !PROPOSAL_RE.test(x)) {
        r.error(v, p, `bad proposal ${show(x)} (strongSwan syntax: algorithms joined by "-", e.g. aes128gcm16-prfsha256-x25519)`);
        return undefined;
      }
      return x;
    });
    if (count !== undefined && rate !== undefined) {
      a = { name, host, kind, target, count, rate, start, ...(spoof ? { spoof } : {}), ...(proposals === undefined ? {} : { proposals }) };
    }
  } else if ('peer' in target) {
    const peerTarget = { peer: target.peer };
    const at = o.get('at', (v, p) => r.duration(v, p));
    const interval = o.get('interval', (v, p) => r.duration(v, p)) ?? 10_000;
    if (kind === 'ike-replay' || kind === 'ike-forge') {
      const exchange = o.get('exchange', (v, p) => r.oneOf(v, p, ATTACK_EXCHANGES, 'exchange')) ?? 'ike-auth';
      const message = o.get('message', (v, p) => r.oneOf(v, p, ['request', 'response'] as const, 'message')) ?? 'request';
      const corrupt = o.get('corrupt', (v, p) => r.oneOf(v, p, ['icv', 'spi'] as const, 'corruption')) ?? 'icv';
      if (at !== undefined) a = { name, host, kind, target: peerTarget, at, count: count ?? 1, interval, exchange, message, corrupt };
    } else if (at !== undefined) {
      a = { name, host, kind, target: peerTarget, at, count: count ?? 1, interval };
    }
  }
  if (a) origins.set(a, { obj: o });
  return a;
}

function readCount(r: Reader, n: Value, path: string): CountBounds | undefined {
  if (isScalar(n)) {
    const v = r.int(n, path, 0, 1_000_000_000, 'a count or {min, max}');
    return v === undefined ? undefined : { min: v, max: v };
  }
  const o = r.obj(n, path, SCENARIO_KEYS.bounds);
  if (!o) return undefined;
  const min = o.get('min', (v, p) => r.int(v, p, 0, 1_000_000_000));
  const max = o.get('max', (v, p) => r.int(v, p, 0, 1_000_000_000));
  return boundsOf(r, o, min, max);
}

function readDurationBounds(r: Reader, n: Value, path: string): DurationBounds | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.bounds);
  if (!o) return undefined;
  return boundsOf(r, o, o.get('min', (v, p) => r.duration(v, p)), o.get('max', (v, p) => r.duration(v, p)));
}

function boundsOf(r: Reader, o: Obj, min: number | undefined, max: number | undefined): { min?: number; max?: number } | undefined {
  if (!o.has('min') && !o.has('max')) {
    r.error(o.node, o.path, 'give "min", "max" or both');
    return undefined;
  }
  if (min !== undefined && max !== undefined && min > max) {
    r.error(o.value('max'), o.p('max'), 'max is less than min');
    return undefined;
  }
  return { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
}

function readExpectation(r: Reader, n: Value, path: string, origins: WeakMap<object, Origin>): Expectation | undefined {
  const o = r.obj(n, path, SCENARIO_KEYS.expectation, ['expect']);
  if (!o) return undefined;
  const expect = o.get('expect', (v, p) => r.oneOf(v, p, EXPECTATIONS, 'expectation'));
  if (!expect) return undefined;
  const spec = EXPECTATION_KEYS[expect];
  o.only(['expect', ...spec.keys], (k) => `does not apply to expect: ${expect} (it takes ${spec.keys.join(', ')})`);
  for (const k of spec.required) if (!o.has(k)) r.error(o.node, path, `expect: ${expect} needs "${k}"`);
  const peer = o.get('peer', (v, p) => r.name(v, p));
  const nat = o.get('nat', (v, p) => r.name(v, p));
  const traffic = o.get('traffic', (v, p) => r.name(v, p));
  const by = o.get('by', (v, p) => r.duration(v, p));
  let e: Expectation | undefined;
  switch (expect) {
    case 'established': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      if (peer !== undefined && by !== undefined) e = { expect, peer, by, value };
      break;
    }
    case 'nat-here':
    case 'nat-there':
    case 'floated': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      if (peer !== undefined) e = { expect, peer, value };
      break;
    }
    case 'encapsulation': {
      const value = o.get('value', (v, p) => r.oneOf(v, p, ['udp', 'none'] as const, 'encapsulation'));
      if (peer !== undefined && value) e = { expect, peer, value };
      break;
    }
    case 'keepalives': {
      const count = o.get('count', (v, p) => readCount(r, v, p));
      const interval = o.get('interval', (v, p) => readDurationBounds(r, v, p));
      if (peer !== undefined) e = { expect, peer, ...(count ? { count } : {}), ...(interval ? { interval } : {}) };
      break;
    }
    case 'delivered': {
      const count = o.get('count', (v, p) => readCount(r, v, p)) ?? { min: 1 };
      if (traffic !== undefined) e = { expect, traffic, count };
      break;
    }
    case 'mapping-expired': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      const port = o.get('port', (v, p) => r.int(v, p, 1, 65535, 'a port'));
      if (nat !== undefined) e = { expect, nat, value, ...(by === undefined ? {} : { by }), ...(port === undefined ? {} : { port }) };
      break;
    }
    case 'fails': {
      const reason = o.get('reason', (v, p) => r.oneOf(v, p, LOSS_REASONS, 'loss reason'));
      if (traffic !== undefined) e = { expect, traffic, ...(reason === undefined ? {} : { reason }) };
      break;
    }
    case 'sa-deleted': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      const reason = o.get('reason', (v, p) => r.oneOf(v, p, SA_DELETE_REASONS, 'deletion reason'));
      if (peer !== undefined) e = { expect, peer, value, ...(reason === undefined ? {} : { reason }), ...(by === undefined ? {} : { by }) };
      break;
    }
    case 'reestablished': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      if (peer !== undefined) e = { expect, peer, value, ...(by === undefined ? {} : { by }) };
      break;
    }
    case 'peer-address-updated': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      if (peer !== undefined) e = { expect, peer, value };
      break;
    }
    case 'retransmits': {
      const count = o.get('count', (v, p) => readCount(r, v, p)) ?? { min: 1 };
      if (peer !== undefined) e = { expect, peer, count };
      break;
    }
    case 'cookie-mode': {
      const value = o.get('value', (v, p) => r.bool(v, p)) ?? true;
      if (peer !== undefined) e = { expect, peer, value, ...(by === undefined ? {} : { by }) };
      break;
    }
    case 'admission': {
      const counter = o.get('counter', (v, p) => r.oneOf(v, p, ADMISSION_COUNTERS, 'admission counter'));
      const count = o.get('count', (v, p) => readCount(r, v, p));
      if (peer !== undefined && counter !== undefined && count !== undefined) e = { expect, peer, counter, count };
      break;
    }
    case 'ike-dropped':
    case 'esp-dropped': {
      const reasons: readonly string[] = expect === 'ike-dropped' ? IKE_DROP_REASONS : ESP_DROP_REASONS;
      const reason = o.get('reason', (v, p) => r.oneOf(v, p, reasons, expect === 'ike-dropped' ? 'IKE drop reason' : 'ESP drop reason'));
      const count = o.get('count', (v, p) => readCount(r, v, p)) ?? { min: 1 };
      if (peer !== undefined) e = { expect, peer, count, ...(reason === undefined ? {} : { reason }) };
      break;
    }
  }
  if (e) origins.set(e, { obj: o });
  return e;
}

// ---------------------------------------------------------------------- cross references

function crossCheck(r: Reader, s: Scenario, origins: WeakMap<object, Origin>): void {
  const at = (obj: object, key: string, message: string): void => {
    const o = origins.get(obj)?.obj;
    if (!o) return;
    r.error(o.has(key) ? o.value(key) : o.node, o.has(key) ? o.p(key) : o.path, message);
  };
  const names: Names = { nodes: new Map() };
  const t = s.topology;
  const allNodes: [ScenarioHost | ScenarioRouter | ScenarioNat, 'host' | 'router' | 'nat'][] = [
    ...t.hosts.map((h) => [h, 'host'] as [ScenarioHost, 'host']),
    ...t.routers.map((x) => [x, 'router'] as [ScenarioRouter, 'router']),
    ...t.nats.map((x) => [x, 'nat'] as [ScenarioNat, 'nat']),
  ];
  for (const [node, kind] of allNodes) {
    if (names.nodes.has(node.name)) {
      at(node, 'name', `duplicate node name "${node.name}"`);
      continue;
    }
    names.nodes.set(node.name, { kind, interfaces: [...node.interfaces], ...(kind === 'nat' ? { nat: node as ScenarioNat } : {}) });
    const seen = new Set<string>();
    for (const i of node.interfaces) {
      if (seen.has(i.name)) at(node, 'interfaces', `interface "${i.name}" appears twice`);
      seen.add(i.name);
    }
    for (const rt of node.routes) {
      if (rt.iface !== undefined && !seen.has(rt.iface)) at(node, 'routes', `route interface "${rt.iface}" is not an interface of ${node.name}`);
    }
  }
  const ifaceList = (n: string): string => (names.nodes.get(n)?.interfaces.map((i) => i.name).join(', ') || 'none');
  for (const nat of t.nats) {
    if (incomplete.has(nat)) continue;
    const own = new Set(nat.interfaces.map((i) => i.name));
    for (const i of nat.inside) if (!own.has(i)) at(nat, 'inside', `"${i}" is not an interface of ${nat.name} (interfaces: ${ifaceList(nat.name)})`);
    if (nat.outside === '') continue;
    if (!own.has(nat.outside)) at(nat, 'outside', `"${nat.outside}" is not an interface of ${nat.name} (interfaces: ${ifaceList(nat.name)})`);
    else if (nat.inside.includes(nat.outside)) at(nat, 'outside', `"${nat.outside}" is listed as both inside and outside`);
    else if (nat.external.length === 0 && nat.kind !== 'static') {
      const out = nat.interfaces.find((i) => i.name === nat.outside)!;
      if (!out.auto && !out.addresses.some((p) => p.addr.family === 4)) at(nat, 'external', `${nat.name} needs external addresses: its outside interface has no IPv4 address`);
    }
  }
  const linkNames = new Set<string>();
  const autoLinked = new Set<string>();
  for (const l of t.links) {
    if (linkNames.has(l.name)) at(l, 'name', `duplicate link name "${l.name}"`);
    linkNames.add(l.name);
    for (const end of ['a', 'b'] as const) {
      const e = l[end];
      if (e === NO_END) continue;
      const node = names.nodes.get(e.node);
      if (!node) at(l, end, `no node named "${e.node}"`);
      else if (!node.interfaces.some((i) => i.name === e.iface)) at(l, end, `${e.node} has no interface "${e.iface}" (interfaces: ${ifaceList(e.node)})`);
    }
    // address: auto is filled in by a CGN at the other end of the link.
    for (const [mine, other] of [
      [l.a, l.b],
      [l.b, l.a],
    ] as const) {
      const nat = names.nodes.get(other.node)?.nat;
      if (nat?.kind === 'cgnat' && nat.inside.includes(other.iface)) autoLinked.add(`${mine.node}.${mine.iface}`);
    }
  }
  for (const [node] of allNodes) {
    for (const i of node.interfaces) {
      if (i.auto && !autoLinked.has(`${node.name}.${i.name}`)) {
        at(node, 'interfaces', `interface ${node.name}.${i.name} has address auto but is not linked to the inside of a cgnat`);
      }
    }
  }
  for (const fw of t.firewalls) {
    const node = names.nodes.get(fw.on);
    if (!node) at(fw, 'on', `no node named "${fw.on}"`);
    else for (const i of fw.inside) if (!node.interfaces.some((x) => x.name === i)) at(fw, 'inside', `${fw.on} has no interface "${i}" (interfaces: ${ifaceList(fw.on)})`);
  }
  const peerNames = new Map<string, ScenarioPeer>();
  for (const p of s.peers) {
    if (peerNames.has(p.name)) at(p, 'name', `duplicate peer name "${p.name}"`);
    peerNames.set(p.name, p);
  }
  const hostCheck = (obj: object, key: string, name: string): boolean => {
    if (name === '') return false;
    const n = names.nodes.get(name);
    if (!n) {
      at(obj, key, `no host named "${name}" (hosts: ${t.hosts.map((h) => h.name).join(', ') || 'none'})`);
      return false;
    }
    if (n.kind !== 'host') {
      at(obj, key, `"${name}" is a ${n.kind}, not a host`);
      return false;
    }
    return true;
  };
  for (const p of s.peers) {
    if (hostCheck(p, 'host', p.host) && p.address) {
      const ifs = names.nodes.get(p.host)!.interfaces;
      if (!ifs.some((i) => i.addresses.some((a) => ipEquals(a.addr, p.address!)))) at(p, 'address', `${formatIp(p.address)} is not an address of host ${p.host}`);
    }
    if (p.remote === '') continue;
    if (p.remote === p.name) at(p, 'remote', 'a peer cannot be its own remote');
    else if (!peerNames.has(p.remote)) at(p, 'remote', `no peer named "${p.remote}" (peers: ${[...peerNames.keys()].join(', ')})`);
  }
  const trafficNames = new Set<string>();
  for (const tr of s.traffic) {
    if (trafficNames.has(tr.name)) at(tr, 'name', `duplicate traffic name "${tr.name}"`);
    trafficNames.add(tr.name);
    hostCheck(tr, 'from', tr.from);
    if ('host' in tr.to) hostCheck(tr, 'to', tr.to.host);
  }
  const natCheck = (obj: object, name: string): void => {
    const n = names.nodes.get(name);
    if (!n?.nat) at(obj, 'nat', `no NAT named "${name}" (NATs: ${t.nats.map((x) => x.name).join(', ') || 'none'})`);
  };
  for (const e of s.events) {
    if ('nat' in e) natCheck(e, e.nat);
    if ('link' in e && !linkNames.has(e.link)) at(e, 'link', `no link named "${e.link}" (links: ${[...linkNames].join(', ') || 'none'})`);
  }
  const tapNames = new Set<string>();
  for (const tp of s.taps) {
    if (tapNames.has(tp.name)) at(tp, 'name', `duplicate tap name "${tp.name}"`);
    tapNames.add(tp.name);
    if ('link' in tp && !linkNames.has(tp.link)) at(tp, 'link', `no link named "${tp.link}" (links: ${[...linkNames].join(', ') || 'none'})`);
    if ('nat' in tp) natCheck(tp, tp.nat);
  }
  const peerHosts = new Map(s.peers.map((p) => [p.host, p.name]));
  const attackerNames = new Set<string>();
  for (const a of s.attackers) {
    if (attackerNames.has(a.name)) at(a, 'name', `duplicate attacker name "${a.name}"`);
    attackerNames.add(a.name);
    if (hostCheck(a, 'host', a.host) && peerHosts.has(a.host)) at(a, 'host', `host ${a.host} runs peer ${peerHosts.get(a.host)}; an attacker needs a host of its own`);
    if ('peer' in a.target && !peerNames.has(a.target.peer)) at(a, 'target', `no peer named "${a.target.peer}" (peers: ${[...peerNames.keys()].join(', ') || 'none'})`);
  }
  for (const e of s.expectations) {
    if ('peer' in e && !peerNames.has(e.peer)) at(e, 'peer', `no peer named "${e.peer}" (peers: ${[...peerNames.keys()].join(', ') || 'none'})`);
    else if ((e.expect === 'admission' || e.expect === 'cookie-mode') && peerNames.get(e.peer)?.role === 'initiator') at(e, 'peer', `${e.peer} is an initiator; expect: ${e.expect} applies to responders`);
    if ('nat' in e) natCheck(e, e.nat);
    if ('traffic' in e && !trafficNames.has(e.traffic)) at(e, 'traffic', `no traffic named "${e.traffic}" (traffic: ${[...trafficNames].join(', ') || 'none'})`);
  }
}
