/**
 * Traffic Selector payloads TSi and TSr (RFC 7296 §3.13).
 *
 *  | Number of TSs |                 RESERVED                      |
 *  ~                       <Traffic Selectors>                     ~
 *
 * Traffic selector (§3.13.1):
 *  |   TS Type     |IP Protocol ID |       Selector Length         |
 *  |           Start Port          |           End Port            |
 *  ~                         Starting Address                      ~
 *  ~                         Ending Address                        ~
 *
 * IPv4 (type 7, length 16) and IPv6 (type 8, length 40) ranges are decoded; other
 * selector types are kept raw so they re-encode unchanged.
 */
import type { ByteReader, ByteWriter } from '../../../core/bytes.ts';
import { PayloadType, TsType } from '../constants.ts';
import { checkRange, nonZero, payloadCodec, type PayloadBody, type PayloadHeaderFields } from '../payload-header.ts';

export type TsPayloadType = typeof PayloadType.TSi | typeof PayloadType.TSr;

export interface IpRangeSelector {
  readonly tsType: typeof TsType.IPV4_ADDR_RANGE | typeof TsType.IPV6_ADDR_RANGE;
  /** IP protocol number; 0 means any. */
  readonly ipProtocol: number;
  readonly startPort: number;
  readonly endPort: number;
  /** 4 bytes for type 7, 16 for type 8. */
  readonly startAddress: Uint8Array;
  readonly endAddress: Uint8Array;
}

/** A selector of a type this codec does not interpret (e.g. TS_FC_ADDR_RANGE, TS_SECLABEL). */
export interface UnknownSelector {
  readonly tsType: 'unknown';
  /** The TS Type byte. */
  readonly wireType: number;
  /** The byte after TS Type (IP Protocol ID for address ranges, RESERVED for others). */
  readonly protocolOrReserved: number;
  /** Everything after the 4-byte selector header. */
  readonly data: Uint8Array;
}

export type TrafficSelector = IpRangeSelector | UnknownSelector;

export interface TsPayload extends PayloadHeaderFields {
  readonly type: TsPayloadType;
  readonly selectors: readonly TrafficSelector[];
  /** The 24-bit RESERVED field; omitted when zero. */
  readonly reserved?: number;
}

const SELECTOR_HEADER = 4;
const addressLength = (tsType: number): number | undefined =>
  tsType === TsType.IPV4_ADDR_RANGE ? 4 : tsType === TsType.IPV6_ADDR_RANGE ? 16 : undefined;

export function selectorLength(s: TrafficSelector): number {
  return s.tsType === 'unknown' ? SELECTOR_HEADER + s.data.length : SELECTOR_HEADER + 4 + 2 * s.startAddress.length;
}

function decodeSelector(r: ByteReader): TrafficSelector {
  const start = r.pos;
  const wireType = r.u8('ts_type');
  const protocolOrReserved = r.u8('ip_protocol');
  const length = r.u16('selector_length');
  if (length < SELECTOR_HEADER) r.fail('selector_length', `selector length ${length} is below the 4-byte selector header`, start + 2);
  if (length - SELECTOR_HEADER > r.remaining) r.fail('selector_length', `selector length ${length} runs past the payload`, start + 2);
  const alen = addressLength(wireType);
  if (alen === undefined) {
    return { tsType: 'unknown', wireType, protocolOrReserved, data: r.bytes(length - SELECTOR_HEADER, 'selector_data') };
  }
  const want = SELECTOR_HEADER + 4 + 2 * alen;
  if (length !== want) r.fail('selector_length', `a type ${wireType} selector is ${want} bytes, not ${length}`, start + 2);
  const startPort = r.u16('start_port');
  const endPort = r.u16('end_port');
  const startAddress = r.bytes(alen, 'start_address');
  const endAddress = r.bytes(alen, 'end_address');
  return { tsType: wireType as IpRangeSelector['tsType'], ipProtocol: protocolOrReserved, startPort, endPort, startAddress, endAddress };
}

function writeSelector(s: TrafficSelector, w: ByteWriter): void {
  const length = checkRange('selector length', selectorLength(s), 0xffff);
  if (s.tsType === 'unknown') {
    w.u8(checkRange('TS type', s.wireType, 0xff)).u8(checkRange('TS reserved', s.protocolOrReserved, 0xff)).u16(length).bytes(s.data);
    return;
  }
  const alen = addressLength(s.tsType);
  if (s.startAddress.length !== alen || s.endAddress.length !== alen) {
    throw new RangeError(`a type ${s.tsType} selector needs ${alen}-byte addresses`);
  }
  w.u8(s.tsType)
    .u8(checkRange('IP protocol', s.ipProtocol, 0xff))
    .u16(length)
    .u16(checkRange('start port', s.startPort, 0xffff))
    .u16(checkRange('end port', s.endPort, 0xffff))
    .bytes(s.startAddress)
    .bytes(s.endAddress);
}

export const tsBody: PayloadBody<TsPayload> = {
  decode(r, header, payloadType) {
    const numTs = r.u8('num_ts');
    const reserved = r.u24('reserved');
    const selectors: TrafficSelector[] = [];
    while (r.remaining > 0) selectors.push(decodeSelector(r));
    if (selectors.length !== numTs) r.fail('num_ts', `payload says ${numTs} selectors but holds ${selectors.length}`, 0);
    return { type: payloadType as TsPayloadType, ...header, selectors, ...nonZero('reserved', reserved) };
  },
  length(p) {
    let n = 4;
    for (const s of p.selectors) n += selectorLength(s);
    return n;
  },
  write(p, w) {
    w.u8(checkRange('number of TSs', p.selectors.length, 0xff)).u24(checkRange('TS reserved', p.reserved ?? 0, 0xffffff));
    for (const s of p.selectors) writeSelector(s, w);
  },
};

/** Codec for TSi (44) or TSr (45). */
export function tsPayloadCodec(type: TsPayloadType) {
  return payloadCodec(tsBody, type);
}

/** An address-range selector; the family follows from the address length (4 or 16). */
export function makeRangeSelector(
  startAddress: Uint8Array,
  endAddress: Uint8Array,
  opts: { ipProtocol?: number; startPort?: number; endPort?: number } = {},
): IpRangeSelector {
  const tsType = startAddress.length === 4 ? TsType.IPV4_ADDR_RANGE : TsType.IPV6_ADDR_RANGE;
  if (addressLength(tsType) !== startAddress.length || startAddress.length !== endAddress.length) {
    throw new RangeError('range selector addresses must both be 4 or both be 16 bytes');
  }
  return { tsType, ipProtocol: opts.ipProtocol ?? 0, startPort: opts.startPort ?? 0, endPort: opts.endPort ?? 0xffff, startAddress, endAddress };
}
