/**
 * Hand-built pcapng blocks for reader tests (draft-ietf-opsawg-pcapng §3.1,
 * §3.5): each function lays out exactly the fields of the figure it names, in the
 * requested byte order, so tests can build what the writer never produces
 * (other resolutions, SPB, obsolete Packet Blocks, unknown blocks, lies).
 */
const enc = new TextEncoder();
const pad4 = (n: number): number => (n + 3) & ~3;

export class Bytes {
  private readonly parts: number[] = [];
  constructor(readonly le = true) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u64(v: bigint): this {
    const u = BigInt.asUintN(64, v);
    const hi = Number(u >> 32n);
    const lo = Number(u & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  raw(b: Uint8Array | readonly number[]): this {
    this.parts.push(...b);
    return this;
  }
  pad(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface Option {
  readonly code: number;
  readonly value: Uint8Array | string;
}

/** An option list (§3.5), with opt_endofopt unless `end` is false. */
export function options(opts: readonly Option[], le = true, end = true): Uint8Array {
  const b = new Bytes(le);
  for (const o of opts) {
    const v = typeof o.value === 'string' ? enc.encode(o.value) : o.value;
    b.u16(o.code).u16(v.length).raw(v).pad();
  }
  if (end && opts.length > 0) b.u16(0).u16(0);
  return b.bytes();
}

/** A block (§3.1): type, total length, body (padded), total length. `lengths` overrides the two length fields. */
export function block(type: number, body: Uint8Array, le = true, lengths?: { lead?: number; trail?: number }): Uint8Array {
  const len = 12 + pad4(body.length);
  const b = new Bytes(le)
    .u32(type)
    .u32(lengths?.lead ?? len)
    .raw(body)
    .pad()
    .u32(lengths?.trail ?? len);
  return b.bytes();
}

/** Section Header Block (§4.1). */
export function shb(le = true, opts: readonly Option[] = [], version: [number, number] = [1, 0]): Uint8Array {
  const body = new Bytes(le).u32(0x1a2b3c4d).u16(version[0]).u16(version[1]).u64(-1n).raw(options(opts, le));
  return block(0x0a0d0d0a, body.bytes(), le);
}

/** Interface Description Block (§4.2). */
export function idb(linktype: number, snaplen: number, opts: readonly Option[] = [], le = true): Uint8Array {
  const body = new Bytes(le).u16(linktype).u16(0).u32(snaplen).raw(options(opts, le));
  return block(1, body.bytes(), le);
}

/** Enhanced Packet Block (§4.3); `ts` in the interface's units. */
export function epb(
  interfaceId: number,
  ts: bigint,
  data: Uint8Array,
  opts: readonly Option[] = [],
  le = true,
  lens?: { captured?: number; original?: number },
): Uint8Array {
  const body = new Bytes(le)
    .u32(interfaceId)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(lens?.captured ?? data.length)
    .u32(lens?.original ?? data.length)
    .raw(data)
    .pad()
    .raw(options(opts, le));
  return block(6, body.bytes(), le);
}

/** Simple Packet Block (§4.4). */
export function spb(originalLength: number, data: Uint8Array, le = true): Uint8Array {
  return block(3, new Bytes(le).u32(originalLength).raw(data).pad().bytes(), le);
}

/** Packet Block, obsolete (Appendix A). */
export function opb(interfaceId: number, drops: number, ts: bigint, data: Uint8Array, opts: readonly Option[] = [], le = true): Uint8Array {
  const body = new Bytes(le)
    .u16(interfaceId)
    .u16(drops)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(data.length)
    .u32(data.length)
    .raw(data)
    .pad()
    .raw(options(opts, le));
  return block(2, body.bytes(), le);
}

export function u8s(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** if_tsresol option value. */
export const tsresol = (v: number): Option => ({ code: 9, value: Uint8Array.of(v) });
/** if_tsoffset option value (seconds). */
export const tsoffset = (seconds: bigint, le = true): Option => ({ code: 14, value: new Bytes(le).u64(seconds).bytes() });
export const ifName = (name: string): Option => ({ code: 2, value: name });
export const comment = (text: string): Option => ({ code: 1, value: text });
