import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteReader, ByteWriter, fromHex, toHex, internetChecksum, u64ToBytes, bytesToU64 } from '../../src/core/bytes.ts';
import { DecodeError } from '../../src/core/errors.ts';
import { thrownBy } from '../helpers/roundtrip.ts';

describe('ByteReader', () => {
  it('reads big-endian integers and reports absolute offsets', () => {
    const r = new ByteReader(fromHex('01 0203 040506 0708090a 0b0c0d0e0f101112'), 'test', 100);
    expect(r.u8('a')).toBe(0x01);
    expect(r.u16('b')).toBe(0x0203);
    expect(r.u24('c')).toBe(0x040506);
    expect(r.u32('d')).toBe(0x0708090a);
    expect(r.offset).toBe(110);
    expect(r.u64('e')).toBe(0x0b0c0d0e0f101112n);
    expect(r.remaining).toBe(0);
  });

  it('u32 stays unsigned for values with the top bit set', () => {
    expect(new ByteReader(fromHex('ffffffff'), 't').u32('x')).toBe(0xffffffff);
  });

  it('a read past the end throws DecodeError naming layer, field and absolute offset', () => {
    const r = new ByteReader(fromHex('0102 03'), 'udp', 34);
    r.u16('src_port');
    const e = thrownBy(() => r.u16('dst_port')) as DecodeError;
    expect(e).toBeInstanceOf(DecodeError);
    expect(e.layer).toBe('udp');
    expect(e.field).toBe('dst_port');
    expect(e.offset).toBe(36);
    expect(e.message).toBe('udp: dst_port at byte 36: truncated: needs 2 bytes, 1 left');
  });

  it('sub-readers keep offsets absolute', () => {
    const r = new ByteReader(new Uint8Array(20), 'outer', 14);
    r.skip(8, 'hdr');
    const s = r.sub(4, 'body', 'inner');
    s.u16('x');
    const e = thrownBy(() => s.u32('y')) as DecodeError;
    expect(e.layer).toBe('inner');
    expect(e.offset).toBe(14 + 8 + 2);
  });

  it('negative lengths never read backwards', () => {
    const r = new ByteReader(new Uint8Array(4), 't');
    expect(() => r.bytes(-1, 'len')).toThrow(DecodeError);
  });
});

describe('ByteWriter', () => {
  it('writes at an offset and refuses to overrun', () => {
    const buf = new Uint8Array(13).fill(0xa5);
    new ByteWriter(buf, 2).u8(1).u16(0x0203).u24(0x040506).u32(0x0708090a);
    expect(toHex(buf)).toBe('a5a50102030405060708090aa5');
    expect(() => new ByteWriter(new Uint8Array(3)).u32(1)).toThrow(RangeError);
  });

  it('u64 round-trips through bytes', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => bytesToU64(u64ToBytes(v)) === v),
    );
  });
});

describe('internetChecksum', () => {
  it('matches the RFC 1071 §3 worked example', () => {
    // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (one's complement sum); checksum = ~0xddf2.
    expect(internetChecksum(fromHex('0001f203f4f5f6f7'))).toBe(~0xddf2 & 0xffff);
  });

  it('a buffer with its own checksum inserted sums to zero', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 64 }), (data) => {
        const d = new Uint8Array(data.length + (data.length & 1) + 2);
        d.set(data);
        const c = internetChecksum(d);
        d[d.length - 2] = c >> 8;
        d[d.length - 1] = c & 0xff;
        return internetChecksum(d) === 0;
      }),
    );
  });
});

describe('hex', () => {
  it('ignores spaces and comments in fixtures', () => {
    expect(toHex(fromHex('de ad # a comment\n be:ef'))).toBe('deadbeef');
    expect(() => fromHex('abc')).toThrow(RangeError);
  });
});
