/** Text and JSON renderings of one dissected frame (the `decode` command). */
import { toHex } from '../core/bytes.ts';
import { formatIp } from '../core/addr.ts';
import type { DecodeError } from '../core/errors.ts';
import type { Dissection } from '../analysis/dissect.ts';
import * as v2 from '../wire/ike/constants.ts';
import * as v1 from '../wire/ikev1/constants.ts';
import { payloadWireType, type Payload } from '../wire/ike/payload.ts';
import type { Ikev1Payload } from '../wire/ikev1/payloads/index.ts';
import { identifyVendorId } from '../wire/ikev1/payloads/vendor-id.ts';

const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

function endpoints(d: Dissection): string {
  if (!d.src || !d.dst) return '';
  const fmt = (a: typeof d.src, port?: number) => {
    const s = formatIp(a!);
    if (port === undefined) return s;
    return a!.family === 6 ? `[${s}]:${port}` : `${s}:${port}`;
  };
  return `${fmt(d.src, d.udp?.srcPort)} > ${fmt(d.dst, d.udp?.dstPort)}`;
}

function flagLetters(flags: number, initiator: number, response: number): string {
  return `${flags & initiator ? 'I' : ''}${flags & response ? 'R' : ''}`;
}

function v2PayloadName(p: Payload, verbose: boolean): string {
  const wireType = payloadWireType(p);
  const name = v2.payloadTypeName(wireType) ?? `payload-${wireType}`;
  const short: Record<string, string> = { NONCE: 'Nonce', N: 'N', D: 'D', V: 'V' };
  const n = short[name] ?? name;
  if (p.type === v2.PayloadType.N) {
    const nt = v2.notifyTypeName(p.notifyType) ?? String(p.notifyType);
    return verbose && p.data.length ? `N(${nt}=${toHex(p.data)})` : `N(${nt})`;
  }
  if (p.type === v2.PayloadType.SK) return `SK(inner ${v2.payloadTypeName(p.firstInnerPayload) ?? p.firstInnerPayload}, ${p.body.length} bytes)`;
  if (p.type === v2.PayloadType.SKF) return `SKF(${p.fragmentNumber}/${p.totalFragments})`;
  if (verbose && p.type === v2.PayloadType.KE) return `KE(group ${p.dhGroup})`;
  if (verbose && p.type === v2.PayloadType.D) return `D(${v2.protocolIdName(p.protocolId) ?? p.protocolId}, ${p.spis.length} SPIs)`;
  if (p.type === 'unknown') return p.critical ? `${n}(critical)` : n;
  return n;
}

function v1PayloadName(p: Ikev1Payload, verbose: boolean): string {
  switch (p.kind) {
    case 'notification':
      return `N(${v1.notifyTypeName(p.notifyType) ?? p.notifyType})`;
    case 'vid': {
      const known = identifyVendorId(p.data);
      return known ? `VID(${known.name})` : verbose ? `VID(${toHex(p.data)})` : 'VID';
    }
    case 'nat-d':
      return verbose ? `NAT-D(${toHex(p.data)})` : 'NAT-D';
    case 'nat-oa':
      return 'NAT-OA';
    case 'malformed':
      return `${v1.payloadTypeName(p.type) ?? `payload-${p.type}`}(malformed)`;
    case 'unknown':
      return `payload-${p.type}`;
    default:
      return p.kind.toUpperCase();
  }
}

function errorText(e: DecodeError): string {
  return `[malformed: ${e.layer}: ${e.field} at byte ${e.offset}: ${e.reason}]`;
}

/** One tcpdump-style line: frame, seconds since the first frame, endpoints, what it carries. */
export function packetLine(d: Dissection, t0: number, verbose: boolean): string {
  const time = ((d.timestampUs - t0) / 1e6).toFixed(6);
  const parts: string[] = [];
  const marker = d.encap === 'nonesp' ? 'NONESP-encap: ' : '';
  switch (d.kind) {
    case 'ikev2': {
      const h = d.ikeHeader!;
      const ex = v2.exchangeTypeName(h.exchangeType) ?? `exchange-${h.exchangeType}`;
      const fl = flagLetters(h.flags, 0x08, 0x20);
      let s = `${marker}IKEv2 ${ex}${fl ? `[${fl}]` : ""} msgid ${h.messageId} ${toHex(h.spiI)}>${toHex(h.spiR)}`;
      if (d.ikev2) s += `: ${d.ikev2.payloads.map((p) => v2PayloadName(p, verbose)).join(' ')}`;
      parts.push(s);
      break;
    }
    case 'ikev1': {
      const i = d.ikev1!;
      if (i.header) {
        const h = i.header;
        const ex = v1.exchangeTypeName(h.exchangeType) ?? `exchange-${h.exchangeType}`;
        const flags = `${h.flags & 1 ? 'E' : ''}${h.flags & 2 ? 'C' : ''}${h.flags & 4 ? 'A' : ''}`;
        let s = `${marker}IKEv1 ${ex}${flags ? `[${flags}]` : ''} msgid ${h.messageId} ${toHex(h.initiatorCookie)}>${toHex(h.responderCookie)}`;
        if (i.encrypted) s += ': (encrypted)';
        else if (i.payloads.length) s += `: ${i.payloads.map((p) => v1PayloadName(p, verbose)).join(' ')}`;
        parts.push(s);
      } else parts.push(`${marker}IKEv1`);
      break;
    }
    case 'esp':
      parts.push(`${d.encap === 'udp' ? 'UDP-encap: ' : ''}ESP(spi=${hex8(d.esp!.spi)},seq=${d.esp!.sequence ?? '?'}), length ${d.esp!.length}`);
      break;
    case 'keepalive':
      parts.push('NAT-keepalive');
      break;
    case 'fragment':
    case 'not-ip':
    case 'udp':
    case 'ip':
      parts.push(d.detail ?? d.kind);
      break;
    case 'unknown':
      break;
  }
  if (d.error) parts.push(errorText(d.error));
  if (d.truncatedBy) parts.push(`[${d.truncatedBy} bytes not captured]`);
  for (const w of d.warnings ?? []) parts.push(`[warning: ${w}]`);
  const ep = endpoints(d);
  return `${d.index} ${time}${ep ? ` ${ep}:` : ''} ${parts.join(' ')}`;
}

function errorJson(e: DecodeError) {
  return { layer: e.layer, field: e.field, offset: e.offset, reason: e.reason };
}

/** One JSON record per frame; field names are part of the documented output. */
export function packetJson(d: Dissection): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    frame: d.index,
    timeUs: d.timestampUs,
    length: d.length,
    kind: d.kind,
  };
  if (d.src) rec.src = formatIp(d.src);
  if (d.dst) rec.dst = formatIp(d.dst);
  if (d.udp) {
    rec.srcPort = d.udp.srcPort;
    rec.dstPort = d.udp.dstPort;
    rec.udpChecksum = d.udp.checksum;
  }
  if (d.encap) rec.encap = d.encap;
  if (d.ikeHeader) {
    const h = d.ikeHeader;
    rec.ike = {
      version: 2,
      spiI: toHex(h.spiI),
      spiR: toHex(h.spiR),
      exchange: v2.exchangeTypeName(h.exchangeType) ?? null,
      exchangeType: h.exchangeType,
      flags: h.flags,
      initiator: (h.flags & 0x08) !== 0,
      response: (h.flags & 0x20) !== 0,
      messageId: h.messageId,
      length: h.length,
      ...(d.ikev2
        ? {
            payloads: d.ikev2.payloads.map(payloadWireType),
            notifies: d.ikev2.payloads.flatMap((p) => (p.type === v2.PayloadType.N ? [p.notifyType] : [])),
            natd: d.ikev2.payloads.flatMap((p) =>
              p.type === v2.PayloadType.N && (p.notifyType === 16388 || p.notifyType === 16389)
                ? [{ kind: p.notifyType === 16388 ? 'source' : 'destination', hash: toHex(p.data) }]
                : [],
            ),
          }
        : {}),
    };
  }
  if (d.ikev1?.header) {
    const h = d.ikev1.header;
    rec.ike = {
      version: 1,
      spiI: toHex(h.initiatorCookie),
      spiR: toHex(h.responderCookie),
      exchange: v1.exchangeTypeName(h.exchangeType) ?? null,
      exchangeType: h.exchangeType,
      flags: h.flags,
      messageId: h.messageId,
      length: h.length,
      encrypted: d.ikev1.encrypted,
      payloads: d.ikev1.payloads.map((p) => ('type' in p && typeof p.type === 'number' ? p.type : v1PayloadType(p))),
      notifies: d.ikev1.payloads.flatMap((p) => (p.kind === 'notification' ? [p.notifyType] : [])),
      natd: d.ikev1.payloads.flatMap((p) => (p.kind === 'nat-d' ? [{ type: p.type, hash: toHex(p.data) }] : [])),
      vendorIds: d.ikev1.payloads.flatMap((p) => (p.kind === 'vid' ? [identifyVendorId(p.data)?.name ?? toHex(p.data)] : [])),
    };
  }
  if (d.esp) rec.esp = { spi: hex8(d.esp.spi), sequence: d.esp.sequence ?? null, length: d.esp.length };
  if (d.detail) rec.detail = d.detail;
  if (d.error) rec.error = errorJson(d.error);
  if (d.truncatedBy) rec.notCaptured = d.truncatedBy;
  if (d.warnings) rec.warnings = d.warnings;
  if (d.errors && d.errors.length > 1) rec.errors = d.errors.map(errorJson);
  return rec;
}

const V1_KIND_TYPE: Record<string, number> = {
  sa: 1, proposal: 2, transform: 3, ke: 4, id: 5, cert: 6, cr: 7, hash: 8, sig: 9, nonce: 10,
  notification: 11, delete: 12, vid: 13, attr: 14, fragment: 132,
};

function v1PayloadType(p: Ikev1Payload): number {
  return V1_KIND_TYPE[p.kind] ?? -1;
}
