/**
 * Plain-words explanations of what an IPsec peer does and why, for capture comments,
 * the report and `simulate --explain`. Pure functions over engine events.
 */
import { formatEndpoint, type Endpoint } from '../core/addr.ts';
import { toHex } from '../core/bytes.ts';
import type { Micros } from '../core/time.ts';
import type { IkeEventOf, MessageTrace, NatdCheck } from '../ikev2/events.ts';
import type { NatdInputs } from './ledger.ts';
import { formatSpan } from './packet.ts';

export interface NatConditions {
  readonly natHere: boolean;
  readonly natThere: boolean;
  readonly natFake: boolean;
}

const short = (h: Uint8Array): string => `${toHex(h).slice(0, 8)}…`;

function checkText(c: NatdCheck, theirs: string | undefined): string {
  const got = c.received.length > 0 ? c.received.map(short).join('/') : 'none';
  const calc = `SHA-1(SPIi | SPIr | ${c.addr}:${c.port}) = ${short(c.expected)}`;
  if (c.kind === 'destination') {
    if (c.matched) return `NAT_DETECTION_DESTINATION_IP ${got} matched ${calc}: nothing rewrote our address ${c.addr}:${c.port}`;
    return (
      `NAT_DETECTION_DESTINATION_IP ${got} did not match ${calc}` +
      `${theirs ? ` (the peer hashed ${theirs}, where it saw us)` : ''}: a NAT rewrote our address, so this side is behind a NAT (NAT_HERE)`
    );
  }
  if (c.matched) return `NAT_DETECTION_SOURCE_IP ${got} matched ${calc}: the peer's address reached us untranslated`;
  return (
    `NAT_DETECTION_SOURCE_IP ${got} did not match ${calc}, where the datagram came from` +
    `${theirs ? ` (the peer hashed ${theirs})` : ''}: the peer is behind a NAT (NAT_THERE)`
  );
}

/** Why the conditions came out as they did; `theirs` is what the other side hashed. */
export function explainNatd(e: IkeEventOf<'nat-detected'>, theirs: NatdInputs | undefined, encap: 'auto' | 'force' | 'off'): string {
  const parts = [checkText(e.destination, theirs?.destination), checkText(e.source, theirs?.source)];
  if (e.natFake) parts.push('both hashes matched, but encap: force makes us send a fake NAT_DETECTION_SOURCE_IP, so both sides act as if there were a NAT (NAT_FAKE)');
  parts.push(consequence(e, encap));
  return parts.join('; ');
}

function consequence(c: NatConditions, encap: 'auto' | 'force' | 'off'): string {
  if (!c.natHere && !c.natThere && !c.natFake) return 'no NAT on the path: IKE stays on UDP 500 and ESP goes as IP protocol 50';
  if (encap === 'off') {
    return 'NAT-T is switched off (encap: off): IKE stays on UDP 500 and ESP goes raw (IP protocol 50), which a NAT with port translation cannot carry';
  }
  return `so IKE floats to UDP 4500 and ESP goes inside UDP (RFC 3948)${c.natHere ? '; this side sends NAT keepalives' : ''}`;
}

/** Why a CHILD_SA's ESP is (or is not) in UDP. */
export function encapReason(c: NatConditions, encapMode: 'auto' | 'force' | 'off', udp: boolean): string {
  if (udp) {
    if (c.natHere) return 'the CHILD_SA is UDP-encapsulated because this side is behind a NAT (NAT_HERE)';
    if (c.natThere) return 'the CHILD_SA is UDP-encapsulated because the peer is behind a NAT (NAT_THERE)';
    if (encapMode === 'force' || c.natFake) return 'the CHILD_SA is UDP-encapsulated because encap: force faked a NAT (NAT_FAKE)';
    return 'the CHILD_SA is UDP-encapsulated';
  }
  if (encapMode === 'off' && (c.natHere || c.natThere)) {
    return `plain ESP because NAT-T is off (encap: off) although ${c.natHere ? 'this side is behind a NAT' : 'the peer is behind a NAT'}: a PAT cannot translate ESP, it has no ports`;
  }
  return 'plain ESP (IP protocol 50): no NAT was detected';
}

export interface IkeSendContext {
  readonly peer: string;
  readonly role: 'initiator' | 'responder';
  readonly encap: 'auto' | 'force' | 'off';
  readonly ikePort: number;
  /** The NAT-D verdict of this SA so far, with its explanation. */
  readonly natd: { readonly conditions: NatConditions; readonly text: string } | undefined;
  /** For a retransmission: attempt number and the wait that ran out. */
  readonly retransmit: { readonly attempt: number; readonly waited: Micros } | undefined;
  /** Inbound silence that triggered a liveness check, when this is one. */
  readonly dpdIdle: Micros | undefined;
  readonly childEncap: string | undefined;
}

const onNatt = (t: MessageTrace, ikePort: number): boolean => t.src.port !== ikePort && t.dst.port !== ikePort;

/** The capture comment of an IKE message this peer sends. */
export function explainIkeSend(t: MessageTrace, c: IkeSendContext): string {
  const kind = `${t.exchangeName} ${t.isResponse ? 'response' : 'request'} ${t.messageId}`;
  const where = onNatt(t, c.ikePort) ? `on UDP ${t.src.port} with the non-ESP marker` : `on UDP ${t.src.port}`;
  const head = `${c.peer}: ${kind} ${where}${t.retransmission ? ` (retransmission${c.retransmit ? ` ${c.retransmit.attempt}: no response after ${formatSpan(c.retransmit.waited)}` : ''})` : ''}`;
  const p = new Set(t.payloads);
  let why: string;
  if (t.exchangeName === 'IKE_SA_INIT' && !t.isResponse) {
    why =
      c.encap === 'force'
        ? `starts IKE; NAT_DETECTION_SOURCE_IP is a hash of a random address (encap: force, so the responder will believe we are behind a NAT), NAT_DETECTION_DESTINATION_IP = SHA-1(SPIi | 0 | ${formatEndpoint(t.dst)})`
        : `starts IKE; NAT_DETECTION_SOURCE_IP = SHA-1(SPIi | 0 | ${formatEndpoint(t.src)}) and NAT_DETECTION_DESTINATION_IP = SHA-1(SPIi | 0 | ${formatEndpoint(t.dst)}): a NAT on the path makes one of them mismatch`;
    if (p.has('N(COOKIE)')) why += '; repeats the responder’s COOKIE';
  } else if (t.exchangeName === 'IKE_SA_INIT') {
    why = c.natd ? `NAT-D hashes of the endpoints we observed; ${c.natd.text}` : 'answers without state (a notification only)';
  } else if (t.exchangeName === 'IKE_AUTH' && !t.isResponse) {
    why = c.natd
      ? onNatt(t, c.ikePort)
        ? `NAT detected (${c.natd.text}), so both sides float to UDP 4500`
        : `${c.natd.text}`
      : 'authenticates';
  } else if (t.exchangeName === 'IKE_AUTH') {
    why = `authenticates and creates the CHILD_SA${c.childEncap ? `: ${c.childEncap}` : ''}`;
  } else if (t.exchangeName === 'INFORMATIONAL' && t.payloads.length === 0) {
    why = t.isResponse
      ? 'answers a liveness check (dead peer detection)'
      : `liveness check (dead peer detection)${c.dpdIdle !== undefined ? `: nothing received from the peer for ${formatSpan(c.dpdIdle)}` : ''}`;
  } else if (p.has('D')) {
    why = t.isResponse ? 'confirms the deletion' : 'deletes an SA';
  } else if (t.exchangeName === 'CREATE_CHILD_SA') {
    why = p.has('N(REKEY_SA)') ? 'rekeys a CHILD_SA' : p.has('KE') && !p.has('TSi') ? 'rekeys the IKE SA' : 'creates a CHILD_SA';
  } else {
    why = t.payloads.join(', ') || 'no payloads';
  }
  return `${head}: ${why}`;
}

export function explainKeepalive(peer: string, src: Endpoint, idle: Micros, interval: Micros): string {
  return (
    `${peer}: NAT keepalive: this side is behind a NAT (NAT_HERE) and sent nothing on UDP ${src.port} for ${formatSpan(idle)}` +
    ` (keepalive interval ${formatSpan(interval)}); the 0xFF byte keeps the NAT's mapping of ${formatEndpoint(src)} alive (RFC 3948 §4)`
  );
}
