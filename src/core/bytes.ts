import { DecodeError } from './errors.ts';

/**
 * Bounds-checked reader over a byte slice. Every read names its field, and a
 * failure reports the absolute offset: `base` is where `buf[0]` sits in the
 * outermost buffer (e.g. the frame), so nested decoders report offsets a user
 * can find in a hex dump.
 */
export class ByteReader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly layer: string,
    readonly base = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }
  /** Absolute offset of the next byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  fail(field: string, reason: string, at = this.pos): never {
    throw new DecodeError(this.layer, field, this.base + at, reason);
  }

  need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      this.fail(field, `truncated: needs ${n} byte${n === 1 ? '' : 's'}, ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }
  u16(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u24(field: string): number {
    this.need(3, field);
    const b = this.buf;
    const v = (b[this.pos]! << 16) | (b[this.pos + 1]! << 8) | b[this.pos + 2]!;
    this.pos += 3;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const v = ((b[this.pos]! << 24) >>> 0) + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    const hi = this.u32(field);
    const lo = this.u32(field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** A view (no copy) of the next n bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** The rest of the buffer as a view. */
  rest(): Uint8Array {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }
  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
  /** A reader over the next n bytes, consuming them here; offsets stay absolute. */
  sub(n: number, field: string, layer = this.layer): ByteReader {
    this.need(n, field);
    const r = new ByteReader(this.buf.subarray(this.pos, this.pos + n), layer, this.base + this.pos);
    this.pos += n;
    return r;
  }
}

/** Writer into a caller-supplied buffer at an offset (encode-at-offset is part of every codec's contract). */
export class ByteWriter {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    offset = 0,
  ) {
    this.pos = offset;
  }
  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new RangeError(`ByteWriter: needs ${n} bytes at ${this.pos}, buffer is ${this.buf.length}`);
    }
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u24(v: number): this {
    this.room(3);
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }
  u64(v: bigint): this {
    this.u32(Number((v >> 32n) & 0xffffffffn));
    return this.u32(Number(v & 0xffffffffn));
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

/** concatBytes over a list (no spread: a capture's chunk list can be longer than an argument list may be). */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Parses hex; spaces, colons and newlines are ignored, so byte-commented fixtures can be pasted in. */
export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/#[^\n]*/g, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new RangeError(`fromHex: not hex: ${s.slice(0, 40)}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

/** Copy, so SA state never aliases a packet buffer. */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

export function u64ToBytes(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new ByteWriter(out).u64(v);
  return out;
}

export function bytesToU64(b: Uint8Array): bigint {
  return new ByteReader(b, 'bytes').u64('u64');
}

/** RFC 1071 ones'-complement sum over data, folded to 16 bits, starting from `initial`. */
export function onesComplementSum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const n = data.length & ~1;
  for (let i = 0; i < n; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (data.length & 1) sum += data[data.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Internet checksum (RFC 1071) of data with an optional starting partial sum. */
export function internetChecksum(data: Uint8Array, initial = 0): number {
  return ~onesComplementSum(data, initial) & 0xffff;
}
