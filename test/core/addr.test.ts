import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  parseIp, formatIp, tryParseIp, parseEndpoint, formatEndpoint, parsePrefix, prefixContains, ipFromBytes, AddressError,
} from '../../src/core/addr.ts';

describe('addresses', () => {
  it('parses and formats IPv4', () => {
    expect(Array.from(parseIp('198.51.100.2').bytes)).toEqual([198, 51, 100, 2]);
    expect(formatIp(parseIp('10.77.0.2'))).toBe('10.77.0.2');
    for (const bad of ['1.2.3', '1.2.3.256', '1.2.3.4.5', 'a.b.c.d', '', '01.2.3.4x']) expect(tryParseIp(bad)).toBeUndefined();
  });

  it('formats IPv6 canonically (RFC 5952)', () => {
    expect(formatIp(parseIp('2001:0db8:0000:0000:0000:0000:0000:0001'))).toBe('2001:db8::1');
    expect(formatIp(parseIp('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1'); // §4.2.2: one zero group is not compressed
    expect(formatIp(parseIp('2001:0:0:1:0:0:0:1'))).toBe('2001:0:0:1::1'); // §4.2.3: the longest run
    expect(formatIp(parseIp('::'))).toBe('::');
    expect(formatIp(parseIp('::ffff:192.0.2.1'))).toBe('::ffff:c000:201');
    expect(tryParseIp('1::2::3')).toBeUndefined();
    expect(tryParseIp('1:2:3:4:5:6:7:8:9')).toBeUndefined();
  });

  it('round-trips any address through text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })), (b) => {
        const a = ipFromBytes(b);
        expect(Array.from(parseIp(formatIp(a)).bytes)).toEqual(Array.from(b));
      }),
    );
  });

  it('parses endpoints in both families', () => {
    const e = parseEndpoint('198.51.100.1:26329');
    expect(e.port).toBe(26329);
    expect(formatEndpoint(parseEndpoint('[2001:db8::1]:4500'))).toBe('[2001:db8::1]:4500');
    expect(() => parseEndpoint('10.0.0.1:70000')).toThrow(AddressError);
    expect(() => parseEndpoint('10.0.0.1')).toThrow(AddressError);
  });

  it('matches prefixes', () => {
    const cgn = parsePrefix('100.64.0.0/10');
    expect(prefixContains(cgn, parseIp('100.127.255.255'))).toBe(true);
    expect(prefixContains(cgn, parseIp('100.128.0.0'))).toBe(false);
    expect(prefixContains(parsePrefix('2001:db8::/32'), parseIp('2001:db8:ffff::1'))).toBe(true);
    expect(prefixContains(parsePrefix('0.0.0.0/0'), parseIp('2001:db8::1'))).toBe(false);
    expect(() => parsePrefix('10.0.0.0/33')).toThrow(AddressError);
  });
});
