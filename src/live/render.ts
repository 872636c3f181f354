/**
 * Output of a live run: concise text lines (what an operator watches), or one JSON
 * object per line with every event (what a harness parses).
 */
import { formatEndpoint, formatIp, toHex, type Endpoint, type IpAddress, type Micros } from '../core/index.ts';
import type { LiveEvent, LiveRole } from './events.ts';

export interface RenderContext {
  readonly role: LiveRole;
  readonly natt: number;
  readonly keepaliveUs: Micros;
  readonly encap: 'auto' | 'force' | 'off';
  /** Also print IKE messages, keepalives, drops and ignored packets. */
  readonly verbose: boolean;
}

function hex8(spi: number): string {
  return `0x${(spi >>> 0).toString(16).padStart(8, '0')}`;
}

/** Seconds for durations, as strongSwan and ping print them ("20s", "1.5s", "250ms"). */
export function formatDurationUs(us: Micros): string {
  if (us % 1_000_000 === 0) return `${us / 1_000_000}s`;
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(3).replace(/0+$/, '')}s`;
  return `${Math.round(us / 1000)}ms`;
}

/** ping(8)-style milliseconds: three significant digits below 100 ms. */
export function formatRttMs(us: Micros): string {
  const ms = us / 1000;
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

function natLine(e: Extract<LiveEvent, { type: 'nat-detected' }>, ctx: RenderContext): string {
  const flags: string[] = [];
  if (e.natHere) flags.push('natHere (this side is behind NAT)');
  if (e.natThere) flags.push('natThere (the peer is behind NAT, or fakes its NAT-D hash)');
  if (e.natFake) flags.push('natFake (no NAT, UDP encapsulation forced)');
  if (flags.length === 0) {
    return ctx.encap === 'force' ? 'no NAT detected' : 'no NAT detected — ESP would not be UDP-encapsulated';
  }
  const tail: string[] = [];
  if (ctx.encap !== 'off') tail.push(ctx.role === 'initiator' ? `floating to ${ctx.natt}` : `expecting the peer on ${ctx.natt}`);
  if (e.natHere && ctx.keepaliveUs > 0 && ctx.encap !== 'off') tail.push(`sending keepalives every ${formatDurationUs(ctx.keepaliveUs)}`);
  return `NAT detected: ${flags.join(', ')}${tail.length ? ` — ${tail.join(', ')}` : ''}`;
}

/** The text line(s) for an event, or undefined when text mode leaves it out. */
export function textLine(e: LiveEvent, ctx: RenderContext): string | undefined {
  const v = ctx.verbose;
  switch (e.type) {
    case 'listening':
      return `${e.role} listening on ${formatEndpoint(e.ike)} (IKE) and ${formatEndpoint(e.natt)} (NAT-T)`;
    case 'nat-detected':
      return natLine(e, ctx);
    case 'ports-floated':
      return v ? `floated: ${formatEndpoint(e.to.local)} <-> ${formatEndpoint(e.to.remote)}` : undefined;
    case 'sa-established':
      if (e.rekeyOf !== undefined) return `IKE_SA rekeyed: ${formatEndpoint(e.local)} <-> ${formatEndpoint(e.remote)} ${e.suite}, SPIs ${toHex(e.spiI)}_i ${toHex(e.spiR)}_r`;
      return `IKE_SA established ${formatEndpoint(e.local)} <-> ${formatEndpoint(e.remote)} ${e.suite}${v ? ` (${e.localId} <-> ${e.remoteId}, SPIs ${toHex(e.spiI)}_i ${toHex(e.spiR)}_r)` : ''}`;
    case 'child-installed':
      return `CHILD_SA ${e.name} ${e.rekeyOf !== undefined ? 'rekeyed' : 'installed'}: spi-in ${hex8(e.spiIn)}, spi-out ${hex8(e.spiOut)}, UDP-encapsulated ${formatEndpoint(e.encap.local)} <-> ${formatEndpoint(e.encap.remote)}, ${e.suite}, ${e.localTs.join(' ')} === ${e.remoteTs.join(' ')}`;
    case 'child-refused':
      return `CHILD_SA refused: ${e.message}`;
    case 'child-failed':
      return `CHILD_SA failed: ${e.notifyName} (${e.side === 'local' ? 'we refused' : 'the peer refused'}): ${e.message}`;
    case 'child-deleted':
      if (e.reason === 'rekeyed' && !v) return undefined;
      return `CHILD_SA deleted (${e.reason}): spi-in ${hex8(e.spiIn)}, spi-out ${hex8(e.spiOut)}`;
    case 'child-rekeyed':
      return undefined;
    case 'sa-deleted':
      switch (e.reason) {
        case 'remote':
          return 'IKE_SA deleted by the peer (DELETE received)';
        case 'local':
          return 'IKE_SA deleted (our DELETE was answered)';
        case 'rekeyed':
          return v ? 'old IKE_SA deleted after rekeying' : undefined;
        default:
          return `IKE_SA ${e.reason === 'timeout' || e.reason === 'dpd' ? 'lost' : 'failed'} (${e.reason})${e.message ? `: ${e.message}` : ''}`;
      }
    case 'sa-rekeyed':
      return undefined;
    case 'ike-rekey-failed':
      return `IKE_SA rekey failed: ${e.message}`;
    case 'auth-failed':
      return `authentication failed (${e.side === 'local' ? 'we could not verify the peer' : 'the peer rejected us'}): ${e.message}`;
    case 'init-rejected':
      return `IKE_SA_INIT from ${formatEndpoint(e.src)} answered with ${e.notifyName}: ${e.message}`;
    case 'peer-address-updated':
      return `peer address updated: ${formatEndpoint(e.from)} -> ${formatEndpoint(e.to)}`;
    case 'retransmit':
      return `retransmit ${e.attempt} of ${e.exchange} request ${e.messageId}`;
    case 'exchange-restarted':
      return v ? `IKE_SA_INIT restarted (${e.reason}${e.group !== undefined ? `, group ${e.group}` : ''})` : undefined;
    case 'message-sent':
    case 'message-received': {
      if (!v) return undefined;
      const dir = e.type === 'message-sent' ? 'sending' : 'received';
      return `${dir} ${e.exchangeName} ${e.isResponse ? 'response' : 'request'} ${e.messageId} [ ${e.payloads.join(' ')} ] ${formatEndpoint(e.src)} -> ${formatEndpoint(e.dst)}${e.retransmission ? ' (retransmission)' : ''}`;
    }
    case 'keepalive-sent':
      return v ? `keepalive sent to ${formatEndpoint(e.dst)}` : undefined;
    case 'keepalive-received':
      return v ? `keepalive received from ${formatEndpoint(e.src)}` : undefined;
    case 'keepalive-due':
      return undefined;
    case 'datagram-dropped':
      return v ? `dropped datagram from ${formatEndpoint(e.src)} (${e.reason}): ${e.message}` : undefined;
    case 'esp-dropped':
      return `ESP from ${formatEndpoint(e.src)} dropped (${e.reason}): ${e.message}`;
    case 'esp-send-failed':
      return `ESP not sent (${e.reason}): ${e.message}`;
    case 'inner-ignored':
      return v ? `ignored inner packet ${e.src} -> ${e.dst}: ${e.message}` : undefined;
    case 'echo-answered':
      return `echo reply to ${e.from}: icmp_seq=${e.seq} (${e.bytes} bytes)`;
    case 'ping-start':
      return `PING ${formatIp(e.dst)} from ${formatIp(e.src)} through CHILD_SA ${e.child}: ${e.dataBytes} data bytes`;
    case 'ping-error':
      return `icmp_seq=${e.seq}: ${e.message}`;
    case 'ping-reply':
      return `${e.bytes} bytes from ${formatIp(e.from)}: icmp_seq=${e.seq} time=${formatRttMs(e.rttUs)} ms${e.duplicate ? ' (DUP!)' : ''}`;
    case 'ping-summary': {
      const loss = e.transmitted === 0 ? 0 : Math.round((100 * (e.transmitted - e.received)) / e.transmitted);
      const lines = [
        `--- ${formatIp(e.dst)} ping statistics ---`,
        `${e.transmitted} packets transmitted, ${e.received} received, ${loss}% packet loss, time ${Math.round(e.elapsedUs / 1000)}ms`,
      ];
      if (e.rttUs) {
        const r = e.rttUs;
        lines.push(`rtt min/avg/max/mdev = ${formatRttMs(r.min)}/${formatRttMs(r.avg)}/${formatRttMs(r.max)}/${formatRttMs(r.mdev)} ms`);
      }
      return lines.join('\n');
    }
    case 'socket-error':
      return `socket error (${e.socket}): ${e.message}`;
    case 'send-error':
      return `send to ${formatEndpoint(e.dst)} failed: ${e.message}`;
    case 'shutdown':
      return `shutting down (${e.reason})${e.sas > 0 ? `: deleting ${e.sas} IKE_SA${e.sas === 1 ? '' : 's'}` : ''}`;
    case 'counters':
      return e.text.replace(/\n+$/, '');
    case 'result':
      return `${e.exitCode === 0 ? 'ok' : 'failed'}: ${e.message}`;
  }
}

function isIp(v: object): v is IpAddress {
  const o = v as { family?: unknown; bytes?: unknown };
  return (o.family === 4 || o.family === 6) && o.bytes instanceof Uint8Array && Object.keys(v).length === 2;
}

function isEndpoint(v: object): v is Endpoint {
  const o = v as { addr?: unknown; port?: unknown };
  return typeof o.port === 'number' && typeof o.addr === 'object' && o.addr !== null && isIp(o.addr) && Object.keys(v).length === 2;
}

/** JSON-safe form: bytes as hex, addresses and endpoints as text, bigints as decimal, errors as their message. */
export function jsonValue(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return toHex(v);
  if (v instanceof Error) return v.message;
  if (Array.isArray(v)) return v.map(jsonValue);
  if (typeof v === 'object') {
    if (isEndpoint(v)) return formatEndpoint(v);
    if (isIp(v)) return formatIp(v);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x);
    return out;
  }
  return v;
}

/** Key material stays out of stdout: it goes to the --keys files only. */
const SECRET_FIELDS = ['encKeyIn', 'encKeyOut', 'integKeyIn', 'integKeyOut', 'keyLog', 'ikev2DecryptionRow', 'espSaRows'] as const;

/** One JSON line for an event (no newline); SPIs of ESP as 8-digit hex, no key material. */
export function jsonLine(e: LiveEvent): string {
  const o = jsonValue(e) as Record<string, unknown>;
  for (const k of SECRET_FIELDS) delete o[k];
  for (const k of ['spiIn', 'spiOut', 'spi']) if (typeof o[k] === 'number') o[k] = hex8(o[k] as number);
  return JSON.stringify(o);
}
