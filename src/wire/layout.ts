/**
 * The one module that talks to buffer-layout. Fixed-size control-plane headers
 * (IKEv2 header, generic payload header, ISAKMP header, proposal/transform
 * substructures) are described here declaratively; per-packet paths (IP, UDP,
 * ESP) are hand-written (see docs/decisions/).
 */
import * as BL from 'buffer-layout';
import { ByteReader } from '../core/bytes.ts';

export type FixedLayout<T> = BL.Structure<T> & { readonly span: number };

export function fixed<T>(fields: BL.Layout[]): FixedLayout<T> {
  const s = BL.struct<T>(fields) as FixedLayout<T>;
  if (!(s.span > 0)) throw new Error('layout.fixed: every field must have a fixed size');
  return s;
}

export const u8 = BL.u8;
export const u16 = BL.u16be;
export const u24 = BL.u24be;
export const u32 = BL.u32be;
export const blob = BL.blob;

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Reads a fixed layout at the reader's position, advancing it. Truncation is a
 * DecodeError naming `field` and the absolute offset. Blob fields come back as
 * copies (Uint8Array), never views into the packet.
 */
export function readFixed<T>(layout: FixedLayout<T>, r: ByteReader, field: string): T {
  r.need(layout.span, field);
  const v = layout.decode(asBuffer(r.buf), r.pos) as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (Buffer.isBuffer(x)) v[k] = new Uint8Array(x);
  }
  r.pos += layout.span;
  return v as T;
}

/** Writes a fixed layout into out at offset; returns the offset after it. */
export function writeFixed<T>(layout: FixedLayout<T>, value: T, out: Uint8Array, offset: number): number {
  if (offset + layout.span > out.length) {
    throw new RangeError(`writeFixed needs ${layout.span} bytes at ${offset}, buffer has ${out.length}`);
  }
  const v = { ...(value as Record<string, unknown>) };
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x instanceof Uint8Array && !Buffer.isBuffer(x)) v[k] = asBuffer(x);
  }
  layout.encode(v as T, asBuffer(out), offset);
  return offset + layout.span;
}
