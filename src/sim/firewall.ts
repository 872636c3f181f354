/**
 * A stateless packet filter: ordered permit/deny rules, first match wins, then the
 * default action. A rule matches on direction (in = arriving from outside, out =
 * leaving from inside), protocol (udp, esp, icmp (also ICMPv6), any), UDP ports and
 * address prefixes; every criterion left out matches anything. A rule with port
 * criteria never matches ESP/ICMP or a non-first IPv4 fragment (no ports to look at).
 * Every rule counts its hits; so does the default.
 */
import { formatIp, prefixContains, formatPrefix, type Prefix } from '../core/addr.ts';
import { IP_PROTOCOL } from '../wire/ip-protocol.ts';
import { protocolName, type PacketInfo } from './packet.ts';

export const FIREWALL_ACTION = { PERMIT: 'permit', DENY: 'deny' } as const;
export type FirewallAction = (typeof FIREWALL_ACTION)[keyof typeof FIREWALL_ACTION];

export const FIREWALL_DIRECTION = { IN: 'in', OUT: 'out', ANY: 'any' } as const;
export type FirewallDirection = (typeof FIREWALL_DIRECTION)[keyof typeof FIREWALL_DIRECTION];

export const FIREWALL_PROTOCOL = { UDP: 'udp', ESP: 'esp', ICMP: 'icmp', ANY: 'any' } as const;
export type FirewallProtocol = (typeof FIREWALL_PROTOCOL)[keyof typeof FIREWALL_PROTOCOL];

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

export interface FirewallRule {
  readonly action: FirewallAction;
  readonly direction?: FirewallDirection;
  readonly protocol?: FirewallProtocol;
  /** Matches when either port is in range. */
  readonly port?: PortRange;
  readonly srcPort?: PortRange;
  readonly dstPort?: PortRange;
  readonly src?: Prefix;
  readonly dst?: Prefix;
  /** Shown in comments instead of the generated rule text. */
  readonly name?: string;
}

export interface FirewallVerdict {
  readonly action: FirewallAction;
  /** Index of the matching rule, or -1 for the default action. */
  readonly rule: number;
  /** Plain words for a capture comment. */
  readonly comment: string;
}

export interface FirewallCounters {
  /** Hits per rule, in rule order. */
  readonly rules: number[];
  defaultHits: number;
  permitted: number;
  denied: number;
}

function rangeText(r: PortRange): string {
  return r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`;
}

/** "permit out udp port 500" style text of a rule. */
export function ruleText(r: FirewallRule): string {
  if (r.name) return r.name;
  const parts: string[] = [r.action, r.direction ?? 'any', r.protocol ?? 'any'];
  if (r.src) parts.push(`from ${formatPrefix(r.src)}`);
  if (r.dst) parts.push(`to ${formatPrefix(r.dst)}`);
  if (r.port) parts.push(`port ${rangeText(r.port)}`);
  if (r.srcPort) parts.push(`sport ${rangeText(r.srcPort)}`);
  if (r.dstPort) parts.push(`dport ${rangeText(r.dstPort)}`);
  return parts.join(' ');
}

function inRange(r: PortRange | undefined, p: number | undefined): boolean {
  return r === undefined || (p !== undefined && p >= r.from && p <= r.to);
}

function protocolMatches(want: FirewallProtocol | undefined, protocol: number): boolean {
  switch (want) {
    case undefined:
    case 'any':
      return true;
    case 'udp':
      return protocol === IP_PROTOCOL.UDP;
    case 'esp':
      return protocol === IP_PROTOCOL.ESP;
    case 'icmp':
      return protocol === IP_PROTOCOL.ICMP || protocol === IP_PROTOCOL.ICMPV6;
  }
}

export function ruleMatches(r: FirewallRule, direction: 'in' | 'out', p: PacketInfo): boolean {
  if (r.direction !== undefined && r.direction !== 'any' && r.direction !== direction) return false;
  if (!protocolMatches(r.protocol, p.protocol)) return false;
  if (r.src && !prefixContains(r.src, p.src)) return false;
  if (r.dst && !prefixContains(r.dst, p.dst)) return false;
  if (r.port && !(inRange(r.port, p.srcPort) || inRange(r.port, p.dstPort))) return false;
  if (!inRange(r.srcPort, p.srcPort)) return false;
  if (!inRange(r.dstPort, p.dstPort)) return false;
  return true;
}

export class Firewall {
  readonly counters: FirewallCounters;

  constructor(
    readonly name: string,
    readonly rules: readonly FirewallRule[],
    readonly defaultAction: FirewallAction = 'deny',
  ) {
    this.counters = { rules: rules.map(() => 0), defaultHits: 0, permitted: 0, denied: 0 };
  }

  /** First matching rule's action (or the default), counted. */
  evaluate(direction: 'in' | 'out', p: PacketInfo): FirewallVerdict {
    let rule = -1;
    for (let i = 0; i < this.rules.length; i++) {
      if (ruleMatches(this.rules[i]!, direction, p)) {
        rule = i;
        break;
      }
    }
    const action = rule >= 0 ? this.rules[rule]!.action : this.defaultAction;
    if (rule >= 0) this.counters.rules[rule]!++;
    else this.counters.defaultHits++;
    if (action === 'permit') this.counters.permitted++;
    else this.counters.denied++;
    const what =
      p.srcPort !== undefined
        ? `${protocolName(p.protocol)} ${formatIp(p.src)}:${p.srcPort} → ${formatIp(p.dst)}:${p.dstPort}`
        : `${protocolName(p.protocol)} ${formatIp(p.src)} → ${formatIp(p.dst)}`;
    const by = rule >= 0 ? `rule ${rule + 1} (${ruleText(this.rules[rule]!)})` : `the default action (${this.defaultAction})`;
    const verb = action === 'permit' ? 'permitted' : 'denied';
    return { action, rule, comment: `firewall ${this.name}: ${verb} ${direction === 'in' ? 'inbound' : 'outbound'} ${what} by ${by}` };
  }
}
