/**
 * Scenario files for `replay`: an ordinary scenario plus an optional top-level
 * `replay:` section that says when the capture starts and which scenario host plays
 * which captured address:
 *
 *   replay:
 *     start: 2s                    # scenario time of the capture's first packet (default 0)
 *     map:                         # captured address → host, or host.interface
 *       10.77.0.2: initiator
 *       198.51.100.2: responder.eth0
 *
 * The section is read here with its own line numbers; the rest of the file goes
 * through the scenario validator unchanged (the section's characters are blanked,
 * newlines kept, so every other line keeps its number). Problems read like the
 * validator's: `file:line: replay.map.10.77.0.2: unknown host "x" (hosts: a, b)`.
 * A scenario with `attackers:` is refused (`file:line: attackers: not supported by
 * replay ...`): replay runs none of them.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { formatIp, tryParseIp, type IpAddress } from '../core/addr.ts';
import { parseDuration, type Micros } from '../core/time.ts';
import { parseScenario, type Scenario, type ScenarioIssue } from './scenario.ts';

/** One captured address assigned to a scenario host (optionally one of its interfaces). */
export interface ReplayMapEntry {
  readonly captured: IpAddress;
  readonly host: string;
  readonly iface?: string;
}

export interface ReplaySection {
  /** Scenario time of the capture's first packet. */
  readonly start: Micros;
  readonly map: readonly ReplayMapEntry[];
}

export const REPLAY_KEYS = ['start', 'map'] as const;

/**
 * Why a scenario with `attackers:` is refused: replay re-sends a capture and starts no
 * peers, so an attacker would find nothing recorded to replay or forge, and a flood
 * would mix the lab's own packets into what the report says about the capture's flows.
 */
export const ATTACKERS_REFUSED =
  'not supported by replay: it re-sends a capture and starts no peers, so nothing would be attacked (run the scenario with simulate, or remove the section)';

export type ReplayScenarioParse =
  | { readonly ok: true; readonly scenario: Scenario; readonly replay: ReplaySection }
  | { readonly ok: false; readonly issues: readonly ScenarioIssue[] };

/** "host" or "host.interface". */
export function parseHostRef(text: string): { host: string; iface?: string } | undefined {
  const m = /^([A-Za-z0-9][A-Za-z0-9_-]*)(?:\.([A-Za-z0-9][A-Za-z0-9_-]*))?$/.exec(text.trim());
  if (!m) return undefined;
  return m[2] === undefined ? { host: m[1]! } : { host: m[1]!, iface: m[2] };
}

interface Located<T> {
  readonly value: T;
  readonly line: number;
  readonly column: number;
  readonly path: string;
}

/** Checks a map entry against the scenario: the host exists and has an address of the captured family. */
export function checkMapEntry(s: Scenario, e: ReplayMapEntry): string | undefined {
  const h = s.topology.hosts.find((x) => x.name === e.host);
  if (!h) {
    const names = s.topology.hosts.map((x) => x.name);
    return `unknown host "${e.host}"${names.length ? ` (hosts: ${names.join(', ')})` : ' (the scenario has no hosts)'}`;
  }
  const ifaces = e.iface === undefined ? h.interfaces : h.interfaces.filter((i) => i.name === e.iface);
  if (e.iface !== undefined && ifaces.length === 0) return `host ${e.host} has no interface "${e.iface}" (interfaces: ${h.interfaces.map((i) => i.name).join(', ')})`;
  const family = e.captured.family;
  const has = ifaces.some((i) => i.auto ? family === 4 : i.addresses.some((p) => p.addr.family === family));
  if (!has) return `${e.iface === undefined ? `host ${e.host}` : `${e.host}.${e.iface}`} has no IPv${family} address to play ${formatIp(e.captured)}`;
  return undefined;
}

/** Parses a scenario file that may carry a `replay:` section. */
export function parseReplayScenario(text: string, file: string): ReplayScenarioParse {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  if (doc.errors.length > 0) {
    const r = parseScenario(text, file);
    return r.ok ? { ok: false, issues: [{ file, line: 1, column: 1, path: '', message: 'YAML syntax error' }] } : r;
  }
  const issues: ScenarioIssue[] = [];
  const at = (n: YamlNode | null | undefined, path: string, message: string): void => {
    const pos = n?.range ? lc.linePos(n.range[0]) : { line: 1, col: 1 };
    issues.push({ file, line: pos.line, column: pos.col, path, message });
  };
  let body = text;
  let section: ReplaySection = { start: 0, map: [] };
  const entries: Located<ReplayMapEntry>[] = [];
  const root = doc.contents;
  if (isMap(root)) {
    const pair = (root as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === 'replay') as Pair<YamlNode, YamlNode | null> | undefined;
    if (pair) {
      const key = pair.key;
      if ((root as YAMLMap).flow) {
        at(key, 'replay', 'write the scenario as a block map (one key per line) to give it a replay section');
      } else {
        const from = key.range![0];
        const to = pair.value?.range ? pair.value.range[2] : key.range![2];
        body = text.slice(0, from) + text.slice(from, to).replace(/[^\n]/g, ' ') + text.slice(to);
        section = readSection(pair.value ?? key, lc, at, entries);
      }
    }
  }
  const r = parseScenario(body, file);
  if (!r.ok) issues.push(...r.issues);
  else {
    for (const e of entries) {
      const problem = checkMapEntry(r.scenario, e.value);
      if (problem) issues.push({ file, line: e.line, column: e.column, path: e.path, message: problem });
    }
    if (r.scenario.attackers.length > 0) {
      const key = isMap(root) ? (root as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === 'attackers')?.key : undefined;
      at(key as YamlNode | undefined, 'attackers', ATTACKERS_REFUSED);
    }
  }
  if (issues.length > 0 || !r.ok) {
    return { ok: false, issues: issues.sort((a, b) => a.line - b.line || a.column - b.column) };
  }
  return { ok: true, scenario: r.scenario, replay: section };
}

type Report = (n: YamlNode | null | undefined, path: string, message: string) => void;

function readSection(n: YamlNode, lc: LineCounter, report: Report, entries: Located<ReplayMapEntry>[]): ReplaySection {
  let start: Micros = 0;
  if (!isMap(n)) {
    report(n, 'replay', 'expected a map with the keys start and map');
    return { start, map: [] };
  }
  for (const p of (n as YAMLMap).items) {
    const k = p.key as YamlNode | null;
    const v = (p.value as YamlNode | null) ?? null;
    const name = isScalar(k) ? String(k.value) : '';
    if (!(REPLAY_KEYS as readonly string[]).includes(name)) {
      report(k, `replay.${name}`, `unknown key "${name}" (expected one of: ${REPLAY_KEYS.join(', ')})`);
      continue;
    }
    if (name === 'start') {
      const raw = isScalar(v) ? v.value : undefined;
      const d = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw) : undefined;
      if (d === undefined) report(v ?? k, 'replay.start', `bad duration ${JSON.stringify(raw ?? null)} (expected e.g. 0, 2s, 500ms)`);
      else start = d;
      continue;
    }
    if (!isMap(v)) {
      report(v ?? k, 'replay.map', 'expected a map of captured address → host (or host.interface)');
      continue;
    }
    for (const q of (v as YAMLMap).items) {
      const ak = q.key as YamlNode | null;
      const av = (q.value as YamlNode | null) ?? null;
      const addrText = isScalar(ak) ? String(ak.value) : '';
      const path = `replay.map.${addrText}`;
      const addr = tryParseIp(addrText);
      if (!addr) {
        report(ak, path, `bad address ${JSON.stringify(addrText)} (expected a captured IPv4 or IPv6 address)`);
        continue;
      }
      const ref = isScalar(av) && typeof av.value === 'string' ? parseHostRef(av.value) : undefined;
      if (!ref) {
        report(av ?? ak, path, 'expected a host name or host.interface');
        continue;
      }
      const pos = av?.range ? lc.linePos(av.range[0]) : { line: 1, col: 1 };
      entries.push({ value: { captured: addr, ...ref }, line: pos.line, column: pos.col, path });
    }
  }
  return { start, map: entries.map((e) => e.value) };
}
