/**
 * `swanctl --list-sas --raw` output, parsed into typed IKE_SA / CHILD_SA records.
 *
 * One line per IKE_SA:
 *   list-sa event {lab {uniqueid=1 version=2 state=ESTABLISHED ... child-sas {net-1 {name=net ... local-ts=[10.77.10.0/24]}}}}
 * followed by `list-sas reply {}`. Condition flags (nat-local, nat-remote,
 * nat-fake, nat-any, initiator, encap) appear only when true, as `=yes`.
 *
 * Limitation: values are split on spaces, as swanctl prints them unquoted; an
 * identity with spaces (an X.500 DN) would be cut. The lab uses FQDN ids.
 */

export type RawValue = string | string[] | RawSection;
export interface RawSection {
  [key: string]: RawValue;
}

export class RawParseError extends Error {
  override readonly name = 'RawParseError';
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(\{|\}|[^\s{}=]+=\[[^\]]*\]|[^\s{}]+)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(text)) !== null) {
    tokens.push(m[1]!);
    last = re.lastIndex;
  }
  if (text.slice(last).trim() !== '') throw new RawParseError(`cannot tokenize near: ${text.slice(last, last + 40)}`);
  return tokens;
}

/** Parses one `{ ... }` body starting at tokens[i] (just after the `{`). Returns the section and the index after its `}`. */
function parseSection(tokens: readonly string[], start: number): [RawSection, number] {
  const out: RawSection = {};
  let i = start;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t === '}') return [out, i + 1];
    if (t === '{') throw new RawParseError(`unexpected "{" at token ${i}`);
    const eq = t.indexOf('=');
    if (eq > 0) {
      const key = t.slice(0, eq);
      const value = t.slice(eq + 1);
      out[key] = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1).split(/\s+/).filter((s) => s !== '') : value;
      i++;
      continue;
    }
    if (tokens[i + 1] !== '{') throw new RawParseError(`expected "{" after "${t}"`);
    const [child, next] = parseSection(tokens, i + 2);
    out[t] = child;
    i = next;
  }
  throw new RawParseError('unterminated section');
}

/** Every `list-sa event {...}` line as a raw tree keyed by connection name. */
export function parseRawEvents(text: string): RawSection[] {
  const events: RawSection[] = [];
  for (const line of text.split('\n')) {
    const m = /^list-sa event (\{.*\})\s*$/.exec(line.trim());
    if (!m) continue;
    const tokens = tokenize(m[1]!);
    if (tokens[0] !== '{') throw new RawParseError('event does not start with "{"');
    const [section, next] = parseSection(tokens, 1);
    if (next !== tokens.length) throw new RawParseError('text after the event');
    events.push(section);
  }
  return events;
}

export interface ChildSaStatus {
  /** The key in child-sas, e.g. "net-1". */
  readonly key: string;
  readonly name: string;
  readonly uniqueId: number;
  readonly reqid: number;
  readonly state: string;
  readonly mode: string;
  readonly protocol: string;
  /** ESP in UDP. */
  readonly encap: boolean;
  /** 8 lower-case hex digits. */
  readonly spiIn: string;
  readonly spiOut: string;
  readonly encrAlg: string | undefined;
  readonly encrKeysize: number | undefined;
  readonly integAlg: string | undefined;
  readonly packetsIn: number;
  readonly packetsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly localTs: readonly string[];
  readonly remoteTs: readonly string[];
  readonly raw: RawSection;
}

export interface IkeSaStatus {
  /** Connection name. */
  readonly name: string;
  readonly uniqueId: number;
  readonly version: number;
  readonly state: string;
  readonly localHost: string;
  readonly localPort: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly localId: string | undefined;
  readonly remoteId: string | undefined;
  readonly initiator: boolean;
  /** 16 lower-case hex digits. */
  readonly spiI: string;
  readonly spiR: string;
  /** This side is behind a NAT (the peer's DESTINATION hash did not match). Only this side sends keepalives. */
  readonly natLocal: boolean;
  /** The peer's SOURCE hash did not match. */
  readonly natRemote: boolean;
  /** Both hashes matched, but UDP encapsulation is forced. */
  readonly natFake: boolean;
  readonly natAny: boolean;
  readonly encrAlg: string | undefined;
  readonly encrKeysize: number | undefined;
  readonly integAlg: string | undefined;
  readonly prfAlg: string | undefined;
  readonly dhGroup: string | undefined;
  readonly established: number | undefined;
  readonly children: readonly ChildSaStatus[];
  readonly raw: RawSection;
}

function str(s: RawSection, k: string): string | undefined {
  const v = s[k];
  return typeof v === 'string' ? v : undefined;
}

function num(s: RawSection, k: string): number | undefined {
  const v = str(s, k);
  return v === undefined ? undefined : Number(v);
}

function flag(s: RawSection, k: string): boolean {
  return str(s, k) === 'yes';
}

function list(s: RawSection, k: string): string[] {
  const v = s[k];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

function section(s: RawSection, k: string): RawSection | undefined {
  const v = s[k];
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function childFrom(key: string, c: RawSection): ChildSaStatus {
  return {
    key,
    name: str(c, 'name') ?? key,
    uniqueId: num(c, 'uniqueid') ?? 0,
    reqid: num(c, 'reqid') ?? 0,
    state: str(c, 'state') ?? '',
    mode: str(c, 'mode') ?? '',
    protocol: str(c, 'protocol') ?? '',
    encap: flag(c, 'encap'),
    spiIn: (str(c, 'spi-in') ?? '').toLowerCase(),
    spiOut: (str(c, 'spi-out') ?? '').toLowerCase(),
    encrAlg: str(c, 'encr-alg'),
    encrKeysize: num(c, 'encr-keysize'),
    integAlg: str(c, 'integ-alg'),
    packetsIn: num(c, 'packets-in') ?? 0,
    packetsOut: num(c, 'packets-out') ?? 0,
    bytesIn: num(c, 'bytes-in') ?? 0,
    bytesOut: num(c, 'bytes-out') ?? 0,
    localTs: list(c, 'local-ts'),
    remoteTs: list(c, 'remote-ts'),
    raw: c,
  };
}

/** Typed IKE_SAs from `swanctl --list-sas --raw` output. */
export function parseListSas(text: string): IkeSaStatus[] {
  const out: IkeSaStatus[] = [];
  for (const event of parseRawEvents(text)) {
    for (const [name, v] of Object.entries(event)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const kids = section(v, 'child-sas') ?? {};
      out.push({
        name,
        uniqueId: num(v, 'uniqueid') ?? 0,
        version: num(v, 'version') ?? 0,
        state: str(v, 'state') ?? '',
        localHost: str(v, 'local-host') ?? '',
        localPort: num(v, 'local-port') ?? 0,
        remoteHost: str(v, 'remote-host') ?? '',
        remotePort: num(v, 'remote-port') ?? 0,
        localId: str(v, 'local-id'),
        remoteId: str(v, 'remote-id'),
        initiator: flag(v, 'initiator'),
        spiI: (str(v, 'initiator-spi') ?? '').toLowerCase(),
        spiR: (str(v, 'responder-spi') ?? '').toLowerCase(),
        natLocal: flag(v, 'nat-local'),
        natRemote: flag(v, 'nat-remote'),
        natFake: flag(v, 'nat-fake'),
        natAny: flag(v, 'nat-any'),
        encrAlg: str(v, 'encr-alg'),
        encrKeysize: num(v, 'encr-keysize'),
        integAlg: str(v, 'integ-alg'),
        prfAlg: str(v, 'prf-alg'),
        dhGroup: str(v, 'dh-group'),
        established: num(v, 'established'),
        children: Object.entries(kids).flatMap(([k, c]) => (typeof c === 'object' && !Array.isArray(c) ? [childFrom(k, c)] : [])),
        raw: v,
      });
    }
  }
  return out;
}
