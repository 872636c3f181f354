/**
 * The one module that talks to buffer-layout. Fixed-size control-plane headers
 * (IKEv2 header, generic payload header, ISAKMP header, proposal/transform
 * substructures) are described here declaratively; per-packet paths (IP, UDP,
 * ESP) are hand-written (see docs/decisions/).
 */
import * as BL from 'buffer-layout';
import { ByteReader } from '../core/bytes.ts';

export type FixedLayout<T> = BL.Structure<T> & { readonly span: number };

/**
 * One field of a fixed layout as readFixed and writeFixed walk it: an unsigned
 * big-endian integer of 1 to 4 bytes, or a blob of fixed length.
 */
interface PlainField {
  readonly property: string;
  readonly kind: 'uint' | 'blob';
  readonly offset: number;
  readonly span: number;
}

/**
 * The fields of each layout made by `fixed`, when all of them are plain (u8, u16,
 * u24, u32, blob): then readFixed and writeFixed read and write the bytes directly,
 * with buffer-layout's results and errors, instead of going through its generic
 * Structure codec on every header of every message.
 */
const plainFields = new WeakMap<object, readonly PlainField[]>();

function plainFieldsOf(fields: readonly BL.Layout[]): PlainField[] | undefined {
  const out: PlainField[] = [];
  let offset = 0;
  for (const f of fields) {
    const name = f.constructor.name;
    const property = f.property;
    if (property === undefined) return undefined;
    if ((name === 'UInt' && f.span === 1) || (name === 'UIntBE' && f.span >= 1 && f.span <= 4)) out.push({ property, kind: 'uint', offset, span: f.span });
    else if (name === 'Blob' && f.span > 0) out.push({ property, kind: 'blob', offset, span: f.span });
    else return undefined;
    offset += f.span;
  }
  return out;
}

export function fixed<T>(fields: BL.Layout[]): FixedLayout<T> {
  const s = BL.struct<T>(fields) as FixedLayout<T>;
  if (!(s.span > 0)) throw new Error('layout.fixed: every field must have a fixed size');
  const plain = plainFieldsOf(fields);
  if (plain) plainFields.set(s, plain);
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
  const plain = plainFields.get(layout);
  if (plain !== undefined) {
    const b = r.buf;
    const base = r.pos;
    const out: Record<string, unknown> = {};
    for (const f of plain) {
      const o = base + f.offset;
      if (f.kind === 'blob') {
        const v = new Uint8Array(f.span);
        v.set(b.subarray(o, o + f.span));
        out[f.property] = v;
      } else if (f.span === 1) out[f.property] = b[o]!;
      else if (f.span === 2) out[f.property] = (b[o]! << 8) | b[o + 1]!;
      else if (f.span === 3) out[f.property] = (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
      else out[f.property] = b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
    }
    r.pos += layout.span;
    return out as T;
  }
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
  const plain = plainFields.get(layout);
  if (plain !== undefined) {
    // What buffer-layout does for these fields: an absent property leaves its bytes
    // alone, integers go through Buffer's writers (same range errors), a blob must be
    // bytes of exactly its length.
    const src = value as Record<string, unknown>;
    let buf: Buffer | undefined;
    for (const f of plain) {
      const x = src[f.property];
      if (x === undefined) continue;
      const o = offset + f.offset;
      if (f.kind === 'blob') {
        if (!(x instanceof Uint8Array) || x.length !== f.span) {
          throw new TypeError(`Blob.encode[${f.property}] requires (length ${f.span}) Buffer as src`);
        }
        out.set(x, o);
      } else {
        buf ??= asBuffer(out);
        if (f.span === 1) buf.writeUInt8(x as number, o);
        else if (f.span === 2) buf.writeUInt16BE(x as number, o);
        else if (f.span === 4) buf.writeUInt32BE(x as number, o);
        else buf.writeUIntBE(x as number, o, f.span);
      }
    }
    return offset + layout.span;
  }
  const v = { ...(value as Record<string, unknown>) };
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x instanceof Uint8Array && !Buffer.isBuffer(x)) v[k] = asBuffer(x);
  }
  layout.encode(v as T, asBuffer(out), offset);
  return offset + layout.span;
}
