/**
 * Plain-text views of decoded IKEv2 payloads for the report: payload names,
 * identities, traffic selectors and proposals in strongSwan's notation.
 */
import { formatIp, ipFromBytes } from '../core/addr.ts';
import { toHex } from '../core/bytes.ts';
import {
  IdType,
  PayloadType,
  TransformType,
  exchangeTypeName,
  idTypeName,
  notifyTypeName,
  payloadTypeName,
  transformIdName,
} from '../wire/ike/constants.ts';
import type { Payload } from '../wire/ike/payload.ts';
import type { IdPayload } from '../wire/ike/payloads/id.ts';
import { keyLength, type Proposal } from '../wire/ike/payloads/sa.ts';
import type { TrafficSelector } from '../wire/ike/payloads/ts.ts';
import { exchangeTypeName as v1ExchangeTypeName } from '../wire/ikev1/constants.ts';

export function v2ExchangeName(t: number): string {
  return exchangeTypeName(t) ?? `EXCHANGE(${t})`;
}

export function v1ExchangeName(t: number): string {
  return v1ExchangeTypeName(t) ?? `exchange ${t}`;
}

/** "IDi", "N(INITIAL_CONTACT)", "SA", ... */
export function payloadName(p: Payload): string {
  if (p.type === PayloadType.N) return `N(${notifyTypeName(p.notifyType) ?? p.notifyType})`;
  if (p.type === 'unknown') return payloadTypeName(p.payloadType) ?? `payload ${p.payloadType}`;
  return payloadTypeName(p.type) ?? `payload ${p.type}`;
}

/** The wire payload type of a name produced by payloadName ("N(...)" is 41). */
export function payloadNumber(name: string): number | undefined {
  if (name.startsWith('N(')) return PayloadType.N;
  return (PayloadType as Readonly<Record<string, number>>)[name];
}

/** "ini.lab", "10.0.0.1", "user@example.org", "keyid:0a0b", "DN:3031..." */
export function idText(p: IdPayload): string {
  const d = p.data;
  switch (p.idType) {
    case IdType.FQDN:
    case IdType.RFC822_ADDR:
      return new TextDecoder().decode(d);
    case IdType.IPV4_ADDR:
    case IdType.IPV6_ADDR:
      return d.length === 4 || d.length === 16 ? formatIp(ipFromBytes(d)) : `${idTypeName(p.idType)}:${toHex(d)}`;
    default:
      return `${idTypeName(p.idType) ?? `ID${p.idType}`}:${toHex(d.subarray(0, 32))}${d.length > 32 ? '…' : ''}`;
  }
}

function prefixLength(start: Uint8Array, end: Uint8Array): number | undefined {
  let bits = 0;
  let inHost = false;
  for (let i = 0; i < start.length; i++) {
    for (let b = 7; b >= 0; b--) {
      const s = (start[i]! >> b) & 1;
      const e = (end[i]! >> b) & 1;
      if (!inHost) {
        if (s === e) bits++;
        else if (s === 0 && e === 1) inHost = true;
        else return undefined;
      } else if (s !== 0 || e !== 1) {
        return undefined;
      }
    }
  }
  return bits;
}

/** "10.77.10.0/24", "10.0.0.1-10.0.0.9", with "[proto/ports]" when not any. */
export function tsText(s: TrafficSelector): string {
  if (s.tsType === 'unknown') return `TS type ${s.wireType}`;
  const plen = prefixLength(s.startAddress, s.endAddress);
  const a = formatIp(ipFromBytes(s.startAddress));
  const range = plen !== undefined ? `${a}/${plen}` : `${a}-${formatIp(ipFromBytes(s.endAddress))}`;
  const anyPorts = s.startPort === 0 && s.endPort === 0xffff;
  if (s.ipProtocol === 0 && anyPorts) return range;
  const ports = anyPorts ? '' : s.startPort === s.endPort ? `/${s.startPort}` : `/${s.startPort}-${s.endPort}`;
  return `${range}[${s.ipProtocol}${ports}]`;
}

/** strongSwan's proposal notation: "ESP:AES_GCM_16_128/NO_EXT_SEQ". */
export function proposalText(p: Proposal, protocol: string): string {
  const parts: string[] = [];
  for (const t of p.transforms) {
    let name = transformIdName(t.transformType, t.transformId) ?? `${t.transformType}:${t.transformId}`;
    if (t.transformType === TransformType.ENCR) {
      const kl = keyLength(t);
      if (kl !== undefined) name = `${name}_${kl}`;
    } else if (t.transformType === TransformType.ESN) {
      name = t.transformId === 1 ? 'EXT_SEQ' : 'NO_EXT_SEQ';
    } else if (t.transformType === TransformType.PRF) {
      name = `PRF_${name}`;
    }
    parts.push(name);
  }
  return `${protocol}:${parts.join('/')}`;
}
