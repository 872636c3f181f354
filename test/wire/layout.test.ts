/**
 * readFixed / writeFixed read and write plain fixed layouts (u8, u16, u24, u32, blob)
 * directly; the bytes, decoded values and errors must be buffer-layout's own.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteReader } from '../../src/core/index.ts';
import { blob, fixed, readFixed, u16, u24, u32, u8, writeFixed } from '../../src/wire/layout.ts';

interface Wire {
  a: number;
  b: number;
  c: number;
  d: number;
  e: Uint8Array;
}

const layout = fixed<Wire>([u8('a'), u16('b'), u24('c'), u32('d'), blob(5, 'e')]);

describe('fixed layouts read and written directly', () => {
  it('has the span of its fields', () => {
    expect(layout.span).toBe(1 + 2 + 3 + 4 + 5);
  });

  it('writes the bytes buffer-layout writes and reads back what buffer-layout reads, at any offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ minLength: 5, maxLength: 5 }),
        fc.integer({ min: 0, max: 7 }),
        (a, b, c, d, e, at) => {
          const value = { a, b, c, d, e };
          const ours = new Uint8Array(at + layout.span + 3).fill(0xaa);
          expect(writeFixed(layout, value, ours, at)).toBe(at + layout.span);
          const theirs = Buffer.alloc(at + layout.span + 3, 0xaa);
          layout.encode({ ...value, e: Buffer.from(e) }, theirs, at);
          expect(Buffer.from(ours).equals(theirs)).toBe(true);

          const r = new ByteReader(ours, 'test');
          r.pos = at;
          const got = readFixed(layout, r, 'test');
          expect(r.pos).toBe(at + layout.span);
          const bl = layout.decode(theirs, at);
          expect(got).toEqual({ a: bl.a, b: bl.b, c: bl.c, d: bl.d, e: new Uint8Array(bl.e) });
          expect(got.e).toBeInstanceOf(Uint8Array);
          expect(Buffer.isBuffer(got.e)).toBe(false);
          // A copy, not a view into the packet.
          ours[at + 10] = ours[at + 10]! ^ 0xff;
          expect(got.e[0]).toBe(e[0]);
        },
      ),
    );
  });

  it('leaves the bytes of an absent property alone, as buffer-layout does', () => {
    const out = new Uint8Array(layout.span).fill(0x55);
    writeFixed(layout, { a: 1, c: 2, d: 3, e: new Uint8Array(5) } as unknown as Wire, out, 0);
    expect(Array.from(out.subarray(0, 6))).toEqual([1, 0x55, 0x55, 0, 0, 2]);
  });

  it('refuses out-of-range integers and wrong-length blobs with buffer-layout\'s errors', () => {
    expect.assertions(15);
    const base: Wire = { a: 0, b: 0, c: 0, d: 0, e: new Uint8Array(5) };
    // 5 cases, 3 assertions each.
    const cases: [Partial<Wire>, string][] = [
      [{ a: 256 }, 'a'],
      [{ b: -1 }, 'b'],
      [{ c: 0x1000000 }, 'c'],
      [{ d: 2 ** 32 }, 'd'],
      [{ e: new Uint8Array(4) }, 'e'],
    ];
    for (const [patch] of cases) {
      const v = { ...base, ...patch };
      let ours: unknown;
      let theirs: unknown;
      try {
        writeFixed(layout, v, new Uint8Array(layout.span), 0);
      } catch (err) {
        ours = err;
      }
      try {
        layout.encode({ ...v, e: Buffer.from(v.e) }, Buffer.alloc(layout.span), 0);
      } catch (err) {
        theirs = err;
      }
      expect(ours).toBeInstanceOf(Error);
      expect((ours as Error).constructor).toBe((theirs as Error).constructor);
      expect((ours as Error).message).toBe((theirs as Error).message);
    }
  });

  it('a truncated buffer is a DecodeError naming the field', () => {
    const r = new ByteReader(new Uint8Array(layout.span - 1), 'test');
    expect(() => readFixed(layout, r, 'test header')).toThrow(/test header/);
  });
});
