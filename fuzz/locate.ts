/**
 * Field locators for structure-aware mutation. Each one walks an input with its own
 * lenient, bounded parser (independent of src/, so a bug there cannot hide a field)
 * and lists the fields worth attacking: length and count fields, type and
 * next-payload fields, versions and flags, plus the spans (payloads, substructures,
 * records, blocks) that can be repeated, dropped or spliced.
 *
 * A length field also says which bytes it covers (`encl`), so a mutation that
 * grows or shrinks a span can keep the enclosing lengths consistent and get past
 * the outer checks to the parser behind them.
 */
import { rd16, rd32 } from './util.ts';

export type FieldKind = 'len' | 'count' | 'type' | 'next' | 'version' | 'flags' | 'id' | 'checksum';

export interface Field {
  readonly at: number;
  readonly size: 1 | 2 | 4;
  readonly le: boolean;
  readonly kind: FieldKind;
  readonly name: string;
  /** For length fields: the region [start, end) whose size the field holds when consistent. */
  readonly encl?: { readonly start: number; readonly end: number };
}

export interface Span {
  readonly at: number;
  readonly len: number;
  readonly name: string;
}

export interface Fixup {
  readonly kind: 'ipv4-checksum' | 'udp4-checksum';
  /** Start of the IPv4 header / UDP header. */
  readonly at: number;
  readonly headerLen: number;
}

export interface Layout {
  readonly fields: Field[];
  readonly spans: Span[];
  readonly fixups: Fixup[];
  /** IKE messages found: offset of the header, end of the message region, and where the first payload type is. */
  readonly ike: { readonly at: number; readonly end: number; readonly version: 1 | 2; readonly firstTypeAt?: number }[];
}

export function emptyLayout(): Layout {
  return { fields: [], spans: [], fixups: [], ike: [] };
}

const MAX_ITEMS = 4096;

function field(out: Layout, b: Uint8Array, at: number, size: 1 | 2 | 4, kind: FieldKind, name: string, le = false, encl?: { start: number; end: number }): void {
  if (at < 0 || at + size > b.length || out.fields.length > MAX_ITEMS) return;
  out.fields.push(encl ? { at, size, le, kind, name, encl } : { at, size, le, kind, name });
}

function span(out: Layout, at: number, len: number, name: string): void {
  if (len <= 0 || out.spans.length > MAX_ITEMS) return;
  out.spans.push({ at, len, name });
}

// ---------------------------------------------------------------- IKE / ISAKMP

const V2 = { SA: 33, KE: 34, IDI: 35, IDR: 36, CERT: 37, CERTREQ: 38, AUTH: 39, NONCE: 40, N: 41, D: 42, V: 43, TSI: 44, TSR: 45, SK: 46, CP: 47, EAP: 48, SKF: 53 } as const;

function v2Attributes(out: Layout, b: Uint8Array, start: number, end: number, what: string): void {
  let p = start;
  for (let n = 0; p + 4 <= end && n < 256; n++) {
    const t = rd16(b, p);
    field(out, b, p, 2, 'type', `${what}.attr_type`);
    if (t & 0x8000) {
      p += 4;
      continue;
    }
    const len = rd16(b, p + 2);
    field(out, b, p + 2, 2, 'len', `${what}.attr_length`, false, { start: p + 4, end: p + 4 + len });
    span(out, p, 4 + len, `${what}.attr`);
    p += 4 + len;
  }
}

function v2Sa(out: Layout, b: Uint8Array, start: number, end: number): void {
  let p = start;
  for (let n = 0; p + 8 <= end && n < 64; n++) {
    const plen = rd16(b, p + 2);
    const spiSize = b[p + 6]!;
    field(out, b, p, 1, 'next', 'sa.proposal.last');
    field(out, b, p + 2, 2, 'len', 'sa.proposal.length', false, { start: p, end: p + plen });
    field(out, b, p + 4, 1, 'id', 'sa.proposal.num');
    field(out, b, p + 5, 1, 'type', 'sa.proposal.protocol');
    field(out, b, p + 6, 1, 'len', 'sa.proposal.spi_size');
    field(out, b, p + 7, 1, 'count', 'sa.proposal.transforms');
    span(out, p, plen, 'sa.proposal');
    const pend = Math.min(end, p + Math.max(plen, 8));
    let t = p + 8 + spiSize;
    for (let k = 0; t + 8 <= pend && k < 64; k++) {
      const tlen = rd16(b, t + 2);
      field(out, b, t, 1, 'next', 'sa.transform.last');
      field(out, b, t + 2, 2, 'len', 'sa.transform.length', false, { start: t, end: t + tlen });
      field(out, b, t + 4, 1, 'type', 'sa.transform.type');
      field(out, b, t + 6, 2, 'type', 'sa.transform.id');
      span(out, t, tlen, 'sa.transform');
      v2Attributes(out, b, t + 8, Math.min(pend, t + tlen), 'sa.transform');
      if (tlen < 8) break;
      t += tlen;
    }
    if (plen < 8) break;
    p += plen;
  }
}

function v2Body(out: Layout, b: Uint8Array, type: number, s: number, e: number): void {
  switch (type) {
    case V2.SA:
      v2Sa(out, b, s, e);
      break;
    case V2.KE:
      field(out, b, s, 2, 'type', 'ke.group');
      break;
    case V2.IDI:
    case V2.IDR:
      field(out, b, s, 1, 'type', 'id.type');
      break;
    case V2.AUTH:
      field(out, b, s, 1, 'type', 'auth.method');
      break;
    case V2.CERT:
    case V2.CERTREQ:
      field(out, b, s, 1, 'type', 'cert.encoding');
      break;
    case V2.N:
      field(out, b, s, 1, 'type', 'n.protocol');
      field(out, b, s + 1, 1, 'len', 'n.spi_size');
      field(out, b, s + 2, 2, 'type', 'n.type');
      break;
    case V2.D:
      field(out, b, s, 1, 'type', 'd.protocol');
      field(out, b, s + 1, 1, 'len', 'd.spi_size');
      field(out, b, s + 2, 2, 'count', 'd.num_spis');
      break;
    case V2.TSI:
    case V2.TSR: {
      field(out, b, s, 1, 'count', 'ts.count');
      let p = s + 4;
      for (let n = 0; p + 4 <= e && n < 64; n++) {
        const len = rd16(b, p + 2);
        field(out, b, p, 1, 'type', 'ts.type');
        field(out, b, p + 2, 2, 'len', 'ts.selector_length', false, { start: p, end: p + len });
        span(out, p, len, 'ts.selector');
        if (len < 4) break;
        p += len;
      }
      break;
    }
    case V2.CP:
      field(out, b, s, 1, 'type', 'cp.type');
      v2Attributes(out, b, s + 4, e, 'cp');
      break;
    case V2.EAP:
      field(out, b, s, 1, 'type', 'eap.code');
      field(out, b, s + 2, 2, 'len', 'eap.length', false, { start: s, end: e });
      break;
    case V2.SKF:
      field(out, b, s, 2, 'count', 'skf.number');
      field(out, b, s + 2, 2, 'count', 'skf.total');
      break;
  }
}

function v1Body(out: Layout, b: Uint8Array, type: number, s: number, e: number): void {
  switch (type) {
    case 1: {
      // SA: DOI, situation, then proposal payloads (generic headers), each with transform payloads.
      field(out, b, s, 4, 'type', 'v1.sa.doi');
      field(out, b, s + 4, 4, 'flags', 'v1.sa.situation');
      let p = s + 8;
      for (let n = 0; p + 8 <= e && n < 64; n++) {
        const plen = rd16(b, p + 2);
        const spiSize = b[p + 6]!;
        field(out, b, p, 1, 'next', 'v1.proposal.next');
        field(out, b, p + 2, 2, 'len', 'v1.proposal.length', false, { start: p, end: p + plen });
        field(out, b, p + 5, 1, 'type', 'v1.proposal.protocol');
        field(out, b, p + 6, 1, 'len', 'v1.proposal.spi_size');
        field(out, b, p + 7, 1, 'count', 'v1.proposal.transforms');
        span(out, p, plen, 'v1.proposal');
        const pend = Math.min(e, p + Math.max(plen, 8));
        let t = p + 8 + spiSize;
        for (let k = 0; t + 8 <= pend && k < 64; k++) {
          const tlen = rd16(b, t + 2);
          field(out, b, t, 1, 'next', 'v1.transform.next');
          field(out, b, t + 2, 2, 'len', 'v1.transform.length', false, { start: t, end: t + tlen });
          field(out, b, t + 5, 1, 'type', 'v1.transform.id');
          span(out, t, tlen, 'v1.transform');
          v2Attributes(out, b, t + 8, Math.min(pend, t + tlen), 'v1.transform');
          if (tlen < 8) break;
          t += tlen;
        }
        if (plen < 8) break;
        p += plen;
      }
      break;
    }
    case 11:
      field(out, b, s, 4, 'type', 'v1.n.doi');
      field(out, b, s + 4, 1, 'type', 'v1.n.protocol');
      field(out, b, s + 5, 1, 'len', 'v1.n.spi_size');
      field(out, b, s + 6, 2, 'type', 'v1.n.type');
      break;
    case 12:
      field(out, b, s, 4, 'type', 'v1.d.doi');
      field(out, b, s + 4, 1, 'type', 'v1.d.protocol');
      field(out, b, s + 5, 1, 'len', 'v1.d.spi_size');
      field(out, b, s + 6, 2, 'count', 'v1.d.num_spis');
      break;
    case 14:
      field(out, b, s, 1, 'type', 'v1.attr.type');
      v2Attributes(out, b, s + 4, e, 'v1.attr');
      break;
    case 5:
      field(out, b, s, 1, 'type', 'v1.id.type');
      break;
    case 132:
      field(out, b, s, 2, 'id', 'v1.frag.id');
      field(out, b, s + 2, 1, 'count', 'v1.frag.number');
      field(out, b, s + 3, 1, 'flags', 'v1.frag.flags');
      break;
  }
}

/**
 * An IKEv2 or ISAKMP message at b[at..end): header fields, then the payload chain.
 * Also used for a bare payload chain (the plaintext of an Encrypted payload) with
 * `chainOnly` giving the first payload type.
 */
export function ikeLayout(out: Layout, b: Uint8Array, at: number, end = b.length, chainOnly?: { first: number; version: 1 | 2 }): void {
  let next: number;
  let p: number;
  let version: 1 | 2;
  let limit = end;
  if (chainOnly) {
    next = chainOnly.first;
    p = at;
    version = chainOnly.version;
  } else {
    if (end - at < 28) return;
    const major = b[at + 17]! >> 4;
    version = major === 1 ? 1 : 2;
    const len = rd32(b, at + 24);
    field(out, b, at, 4, 'id', 'ike.spi_i');
    field(out, b, at + 8, 4, 'id', 'ike.spi_r');
    field(out, b, at + 16, 1, 'next', 'ike.next_payload');
    field(out, b, at + 17, 1, 'version', 'ike.version');
    field(out, b, at + 18, 1, 'type', 'ike.exchange');
    field(out, b, at + 19, 1, 'flags', 'ike.flags');
    field(out, b, at + 20, 4, 'id', 'ike.message_id');
    field(out, b, at + 24, 4, 'len', 'ike.length', false, { start: at, end: at + len });
    out.ike.push({ at, end: Math.min(end, at + len), version });
    next = b[at + 16]!;
    p = at + 28;
    if (version === 1 && b[at + 19]! & 0x01) return; // encrypted ISAKMP body
    if (len >= 28 && at + len < limit) limit = at + len;
  }
  for (let n = 0; next !== 0 && p + 4 <= limit && n < 512; n++) {
    const type = next;
    const plen = rd16(b, p + 2);
    field(out, b, p, 1, 'next', 'ike.payload.next');
    field(out, b, p + 1, 1, 'flags', 'ike.payload.flags');
    field(out, b, p + 2, 2, 'len', 'ike.payload.length', false, { start: p, end: p + plen });
    span(out, p, plen, 'ike.payload');
    if (plen < 4) return;
    const bodyEnd = Math.min(limit, p + plen);
    if (version === 2) v2Body(out, b, type, p + 4, bodyEnd);
    else v1Body(out, b, type, p + 4, bodyEnd);
    if (version === 2 && (type === V2.SK || type === V2.SKF)) return;
    next = b[p]!;
    p += plen;
  }
}

// ---------------------------------------------------------------- IP / UDP / link

function isZero4(b: Uint8Array, at: number): boolean {
  return b[at] === 0 && b[at + 1] === 0 && b[at + 2] === 0 && b[at + 3] === 0;
}

function udpLayout(out: Layout, b: Uint8Array, at: number, end: number, ipv4: boolean): void {
  if (at + 8 > end) return;
  const sp = rd16(b, at);
  const dp = rd16(b, at + 2);
  const len = rd16(b, at + 4);
  field(out, b, at, 2, 'id', 'udp.src_port');
  field(out, b, at + 2, 2, 'id', 'udp.dst_port');
  field(out, b, at + 4, 2, 'len', 'udp.length', false, { start: at, end: at + len });
  field(out, b, at + 6, 2, 'checksum', 'udp.checksum');
  if (ipv4) out.fixups.push({ kind: 'udp4-checksum', at, headerLen: 8 });
  const p = at + 8;
  const pend = Math.min(end, len >= 8 ? at + len : end);
  const on500 = sp === 500 || dp === 500;
  if (!on500 && pend - p >= 32 && isZero4(b, p)) ikeLayout(out, b, p + 4, pend);
  else if (on500 && pend - p >= 28) ikeLayout(out, b, p, pend);
  else if (pend - p >= 8 && !(pend - p === 1)) {
    field(out, b, p, 4, 'id', 'esp.spi');
    field(out, b, p + 4, 4, 'id', 'esp.sequence');
  }
}

/** An IPv4 or IPv6 packet at b[at..end). */
export function ipLayout(out: Layout, b: Uint8Array, at: number, end = b.length): void {
  if (at >= end) return;
  const version = b[at]! >> 4;
  if (version === 4) {
    if (at + 20 > end) return;
    const ihl = (b[at]! & 0x0f) * 4;
    const total = rd16(b, at + 2);
    field(out, b, at, 1, 'version', 'ipv4.version_ihl');
    field(out, b, at + 2, 2, 'len', 'ipv4.total_length', false, { start: at, end: at + total });
    field(out, b, at + 4, 2, 'id', 'ipv4.identification');
    field(out, b, at + 6, 2, 'flags', 'ipv4.flags_fragment_offset');
    field(out, b, at + 9, 1, 'type', 'ipv4.protocol');
    field(out, b, at + 10, 2, 'checksum', 'ipv4.checksum');
    if (ihl >= 20) out.fixups.push({ kind: 'ipv4-checksum', at, headerLen: ihl });
    const pend = Math.min(end, total >= ihl ? at + total : end);
    const proto = b[at + 9]!;
    const fragOffset = rd16(b, at + 6) & 0x1fff;
    if (ihl < 20 || fragOffset !== 0) return;
    if (proto === 17) udpLayout(out, b, at + ihl, pend, true);
    else if (proto === 50 && at + ihl + 8 <= pend) {
      field(out, b, at + ihl, 4, 'id', 'esp.spi');
      field(out, b, at + ihl + 4, 4, 'id', 'esp.sequence');
    }
    return;
  }
  if (version === 6) {
    if (at + 40 > end) return;
    const plen = rd16(b, at + 4);
    field(out, b, at + 4, 2, 'len', 'ipv6.payload_length', false, { start: at + 40, end: at + 40 + plen });
    field(out, b, at + 6, 1, 'type', 'ipv6.next_header');
    let next = b[at + 6]!;
    let p = at + 40;
    const pend = Math.min(end, at + 40 + plen);
    for (let n = 0; n < 16 && p + 8 <= pend; n++) {
      if (next === 0 || next === 43 || next === 60) {
        field(out, b, p, 1, 'type', 'ipv6.ext.next');
        field(out, b, p + 1, 1, 'len', 'ipv6.ext.length');
        span(out, p, (b[p + 1]! + 1) * 8, 'ipv6.ext');
        next = b[p]!;
        p += (b[p + 1]! + 1) * 8;
      } else if (next === 44) {
        field(out, b, p, 1, 'type', 'ipv6.frag.next');
        field(out, b, p + 2, 2, 'flags', 'ipv6.frag.offset');
        field(out, b, p + 4, 4, 'id', 'ipv6.frag.id');
        return;
      } else break;
    }
    if (next === 17) udpLayout(out, b, p, pend, false);
  }
}

/** A captured frame of the given link type at b[at..end). */
export function linkLayout(out: Layout, b: Uint8Array, linktype: number, at: number, end = b.length): void {
  switch (linktype) {
    case 1: {
      let p = at + 12;
      for (let n = 0; n < 4 && p + 2 <= end; n++) {
        field(out, b, p, 2, 'type', 'eth.ethertype');
        const t = rd16(b, p);
        if (t !== 0x8100 && t !== 0x88a8 && t !== 0x9100) break;
        p += 4;
      }
      ipLayout(out, b, p + 2, end);
      return;
    }
    case 0:
    case 108:
      field(out, b, at, 4, 'type', 'null.family', linktype === 0);
      ipLayout(out, b, at + 4, end);
      return;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229:
      ipLayout(out, b, at, end);
      return;
    case 113:
      field(out, b, at + 14, 2, 'type', 'sll.protocol');
      ipLayout(out, b, at + 16, end);
      return;
    case 276:
      field(out, b, at, 2, 'type', 'sll2.protocol');
      ipLayout(out, b, at + 20, end);
      return;
  }
}

// ---------------------------------------------------------------- capture files

function pcapLayout(out: Layout, b: Uint8Array, le: boolean): void {
  field(out, b, 4, 2, 'version', 'pcap.version_major', le);
  field(out, b, 16, 4, 'len', 'pcap.snaplen', le);
  field(out, b, 20, 4, 'type', 'pcap.network', le);
  const linktype = b.length >= 24 ? rd32(b, 20, le) : 1;
  let p = 24;
  for (let n = 0; p + 16 <= b.length && n < MAX_ITEMS; n++) {
    const incl = rd32(b, p + 8, le);
    const orig = rd32(b, p + 12, le);
    field(out, b, p, 4, 'id', 'pcap.ts_sec', le);
    field(out, b, p + 4, 4, 'id', 'pcap.ts_frac', le);
    field(out, b, p + 8, 4, 'len', 'pcap.incl_len', le, { start: p + 16, end: p + 16 + incl });
    field(out, b, p + 12, 4, 'len', 'pcap.orig_len', le, orig === incl ? { start: p + 16, end: p + 16 + incl } : undefined);
    span(out, p, 16 + incl, 'pcap.record');
    if (p + 16 + incl > b.length) return;
    linkLayout(out, b, linktype, p + 16, p + 16 + incl);
    p += 16 + incl;
  }
}

function pcapngOptions(out: Layout, b: Uint8Array, start: number, end: number, le: boolean, what: string): void {
  let p = start;
  for (let n = 0; p + 4 <= end && n < 64; n++) {
    const code = rd16(b, p, le);
    const len = rd16(b, p + 2, le);
    field(out, b, p, 2, 'type', `${what}.option_code`, le);
    field(out, b, p + 2, 2, 'len', `${what}.option_length`, le, { start: p + 4, end: p + 4 + len });
    if (code === 0) return;
    p += 4 + ((len + 3) & ~3);
  }
}

function pcapngLayout(out: Layout, b: Uint8Array): void {
  let le = true;
  const linktypes: number[] = [];
  let p = 0;
  for (let n = 0; p + 12 <= b.length && n < MAX_ITEMS; n++) {
    const isShb = rd32(b, p) === 0x0a0d0d0a;
    if (isShb) {
      const bom = rd32(b, p + 8);
      le = bom === 0x4d3c2b1a;
      linktypes.length = 0;
    }
    const type = rd32(b, p, le);
    const len = rd32(b, p + 4, le);
    field(out, b, p, 4, 'type', 'pcapng.block_type', le);
    field(out, b, p + 4, 4, 'len', 'pcapng.block_total_length', le, { start: p, end: p + len });
    if (len >= 12 && p + len <= b.length) field(out, b, p + len - 4, 4, 'len', 'pcapng.block_total_length_trailer', le, { start: p, end: p + len });
    span(out, p, len, 'pcapng.block');
    if (len < 12 || p + len > b.length) return;
    const end = p + len - 4;
    if (isShb) {
      field(out, b, p + 12, 2, 'version', 'pcapng.major_version', le);
      field(out, b, p + 16, 4, 'len', 'pcapng.section_length', le);
      pcapngOptions(out, b, p + 24, end, le, 'shb');
    } else if (type === 1) {
      linktypes.push(rd16(b, p + 8, le));
      field(out, b, p + 8, 2, 'type', 'pcapng.idb.link_type', le);
      field(out, b, p + 12, 4, 'len', 'pcapng.idb.snaplen', le);
      pcapngOptions(out, b, p + 16, end, le, 'idb');
    } else if (type === 6 || type === 2) {
      const id = type === 6 ? rd32(b, p + 8, le) : rd16(b, p + 8, le);
      const cap = rd32(b, p + 20, le);
      const orig = rd32(b, p + 24, le);
      field(out, b, p + 8, type === 6 ? 4 : 2, 'id', 'pcapng.interface_id', le);
      field(out, b, p + 12, 4, 'id', 'pcapng.timestamp_high', le);
      field(out, b, p + 20, 4, 'len', 'pcapng.captured_length', le, { start: p + 28, end: p + 28 + cap });
      field(out, b, p + 24, 4, 'len', 'pcapng.original_length', le, orig === cap ? { start: p + 28, end: p + 28 + cap } : undefined);
      if (p + 28 + cap <= end) {
        linkLayout(out, b, linktypes[id] ?? 1, p + 28, p + 28 + cap);
        pcapngOptions(out, b, p + 28 + ((cap + 3) & ~3), end, le, 'epb');
      }
    } else if (type === 3) {
      field(out, b, p + 8, 4, 'len', 'pcapng.spb.original_length', le);
      linkLayout(out, b, linktypes[0] ?? 1, p + 12, end);
    }
    p += len;
  }
}

/** A classic pcap or pcapng file. */
export function captureLayout(b: Uint8Array): Layout {
  const out = emptyLayout();
  if (b.length < 4) return out;
  const be = rd32(b, 0);
  if (be === 0x0a0d0d0a) pcapngLayout(out, b);
  else if (be === 0xa1b2c3d4 || be === 0xa1b23c4d) pcapLayout(out, b, false);
  else if (be === 0xd4c3b2a1 || be === 0x4d3cb2a1) pcapLayout(out, b, true);
  return out;
}

export function ikeMessageLayout(b: Uint8Array): Layout {
  const out = emptyLayout();
  ikeLayout(out, b, 0);
  return out;
}

export function ipPacketLayout(b: Uint8Array): Layout {
  const out = emptyLayout();
  ipLayout(out, b, 0);
  return out;
}

/** A UDP payload as the engine sees it: IKE after an optional non-ESP marker, or ESP. */
export function udpPayloadLayout(b: Uint8Array): Layout {
  const out = emptyLayout();
  if (b.length >= 32 && isZero4(b, 0)) ikeLayout(out, b, 4);
  else if (b.length >= 28) ikeLayout(out, b, 0);
  return out;
}
