/**
 * Traffic selectors as address/port/protocol ranges (RFC 7296 §2.9, §3.13.1):
 * parsing from configuration text, narrowing (intersection), conversion to and from
 * the TSi/TSr payload form, and display ("10.77.10.0/24", "10.0.0.1-10.0.0.9").
 */
import { formatIp, parsePrefix, tryParseIp, type IpFamily } from '../core/index.ts';
import { TsType } from '../wire/ike/constants.ts';
import type { IpRangeSelector, TrafficSelector as WireSelector } from '../wire/ike/payloads/ts.ts';

export interface TrafficSelector {
  readonly family: IpFamily;
  /** IP protocol; 0 = any. */
  readonly protocol: number;
  readonly startPort: number;
  readonly endPort: number;
  /** 4 or 16 bytes, start <= end. */
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** "10.0.0.0/24", "10.0.0.1", "10.0.0.1-10.0.0.9", "::/0"; undefined when it is none of those. */
export function parseTrafficSelector(text: string): TrafficSelector | undefined {
  const t = text.trim();
  const dash = t.indexOf('-');
  if (dash > 0) {
    const a = tryParseIp(t.slice(0, dash));
    const b = tryParseIp(t.slice(dash + 1));
    if (!a || !b || a.family !== b.family || compare(a.bytes, b.bytes) > 0) return undefined;
    return { family: a.family, protocol: 0, startPort: 0, endPort: 0xffff, start: a.bytes, end: b.bytes };
  }
  let p;
  try {
    p = parsePrefix(t);
  } catch {
    return undefined;
  }
  const n = p.addr.bytes.length;
  const start = new Uint8Array(n);
  const end = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const bits = Math.max(0, Math.min(8, p.length - i * 8));
    const mask = bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    start[i] = p.addr.bytes[i]! & mask;
    end[i] = start[i]! | (~mask & 0xff);
  }
  return { family: p.addr.family, protocol: 0, startPort: 0, endPort: 0xffff, start, end };
}

function fmtAddr(b: Uint8Array): string {
  return formatIp({ family: b.length === 4 ? 4 : 6, bytes: b });
}

/** The prefix length when start..end is exactly one prefix, else undefined. */
function prefixLength(ts: TrafficSelector): number | undefined {
  let len = 0;
  let i = 0;
  for (; i < ts.start.length; i++) {
    const x = ts.start[i]! ^ ts.end[i]!;
    if (x === 0) {
      len += 8;
      continue;
    }
    const host = 8 - Math.clz32(x) + 24;
    const ones = (1 << host) - 1;
    if (x !== ones || (ts.start[i]! & ones) !== 0 || (ts.end[i]! & ones) !== ones) return undefined;
    len += 8 - host;
    i++;
    break;
  }
  for (; i < ts.start.length; i++) if (ts.start[i] !== 0 || ts.end[i] !== 0xff) return undefined;
  return len;
}

/** strongSwan-like display: "10.77.10.0/24", with "[proto/ports]" when restricted. */
export function formatTrafficSelector(ts: TrafficSelector): string {
  const len = prefixLength(ts);
  let s = len !== undefined ? `${fmtAddr(ts.start)}/${len}` : `${fmtAddr(ts.start)}..${fmtAddr(ts.end)}`;
  if (ts.protocol !== 0 || ts.startPort !== 0 || ts.endPort !== 0xffff) {
    const ports = ts.startPort === ts.endPort ? `${ts.startPort}` : ts.startPort === 0 && ts.endPort === 0xffff ? '' : `${ts.startPort}-${ts.endPort}`;
    s += `[${ts.protocol}${ports ? `/${ports}` : ''}]`;
  }
  return s;
}

/** The overlap of two selectors, or undefined when they are disjoint. */
export function intersectTrafficSelectors(a: TrafficSelector, b: TrafficSelector): TrafficSelector | undefined {
  if (a.family !== b.family) return undefined;
  if (a.protocol !== 0 && b.protocol !== 0 && a.protocol !== b.protocol) return undefined;
  const startPort = Math.max(a.startPort, b.startPort);
  const endPort = Math.min(a.endPort, b.endPort);
  if (startPort > endPort) return undefined;
  const start = compare(a.start, b.start) >= 0 ? a.start : b.start;
  const end = compare(a.end, b.end) <= 0 ? a.end : b.end;
  if (compare(start, end) > 0) return undefined;
  return { family: a.family, protocol: a.protocol !== 0 ? a.protocol : b.protocol, startPort, endPort, start, end };
}

/** Whether `inner` lies entirely within `outer`. */
export function trafficSelectorWithin(inner: TrafficSelector, outer: TrafficSelector): boolean {
  const x = intersectTrafficSelectors(inner, outer);
  return (
    x !== undefined &&
    x.protocol === inner.protocol &&
    x.startPort === inner.startPort &&
    x.endPort === inner.endPort &&
    compare(x.start, inner.start) === 0 &&
    compare(x.end, inner.end) === 0
  );
}

/** Responder narrowing: every non-empty overlap of a proposed selector with a configured one. */
export function narrowTrafficSelectors(proposed: readonly TrafficSelector[], configured: readonly TrafficSelector[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const p of proposed) {
    for (const c of configured) {
      const x = intersectTrafficSelectors(p, c);
      if (x && !out.some((o) => trafficSelectorWithin(x, o))) out.push(x);
    }
  }
  return out;
}

export function toWireSelector(ts: TrafficSelector): IpRangeSelector {
  return {
    tsType: ts.family === 4 ? TsType.IPV4_ADDR_RANGE : TsType.IPV6_ADDR_RANGE,
    ipProtocol: ts.protocol,
    startPort: ts.startPort,
    endPort: ts.endPort,
    startAddress: new Uint8Array(ts.start),
    endAddress: new Uint8Array(ts.end),
  };
}

/** Address-range selectors from a payload (other selector types are skipped). */
export function fromWireSelectors(list: readonly WireSelector[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const s of list) {
    if (s.tsType === 'unknown') continue;
    if (compare(s.startAddress, s.endAddress) > 0 || s.startPort > s.endPort) continue;
    out.push({
      family: s.tsType === TsType.IPV4_ADDR_RANGE ? 4 : 6,
      protocol: s.ipProtocol,
      startPort: s.startPort,
      endPort: s.endPort,
      start: new Uint8Array(s.startAddress),
      end: new Uint8Array(s.endAddress),
    });
  }
  return out;
}

/** Selector lists kept by CHILD_SAs, by value: many SAs with the same selectors share one read-only list. */
const sharedLists = new Map<string, readonly TrafficSelector[]>();
const SHARED_LISTS_MAX = 4096;

function selectorKey(ts: TrafficSelector): string {
  return `${ts.family}/${ts.protocol}/${ts.startPort}-${ts.endPort}/${ts.start.join('.')}-${ts.end.join('.')}`;
}

/**
 * The same selectors as `list`, as a list shared by every caller that passes equal
 * selectors (the list and its selectors must not be changed). Up to a bounded number of
 * distinct lists; past it, `list` itself.
 */
export function sharedSelectorList(list: readonly TrafficSelector[]): readonly TrafficSelector[] {
  const key = list.map(selectorKey).join(' ');
  const known = sharedLists.get(key);
  if (known) return known;
  if (sharedLists.size >= SHARED_LISTS_MAX) return list;
  const copy = list.map((ts) => ({ ...ts, start: new Uint8Array(ts.start), end: new Uint8Array(ts.end) }));
  sharedLists.set(key, copy);
  return copy;
}
