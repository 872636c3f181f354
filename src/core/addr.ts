/**
 * IP addresses and address:port endpoints. An address keeps its bytes (4 or 16)
 * so NAT-D hashing and header encoding use exactly what is on the wire.
 */
export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6 (network order). */
  readonly bytes: Uint8Array;
}

export interface Endpoint {
  readonly addr: IpAddress;
  readonly port: number;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export function ipv4(a: number, b: number, c: number, d: number): IpAddress {
  return { family: 4, bytes: Uint8Array.of(a, b, c, d) };
}

export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return { family: 4, bytes: new Uint8Array(bytes) };
  if (bytes.length === 16) return { family: 6, bytes: new Uint8Array(bytes) };
  throw new AddressError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.split('::');
  if (dbl.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.includes('.')) {
        if (i !== items.length - 1) return undefined;
        const v4 = parseV4(it);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  const head = groups(dbl[0]!);
  const tail = dbl.length === 2 ? groups(dbl[1]!) : [];
  if (!head || !tail) return undefined;
  let all: number[];
  if (dbl.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return undefined;
    all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    all = head;
  }
  if (all.length !== 8) return undefined;
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Parses dotted IPv4 or RFC 4291 text IPv6; undefined when it is neither. */
export function tryParseIp(s: string): IpAddress | undefined {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseV6(s);
  if (v6) return { family: 6, bytes: v6 };
  return undefined;
}

export function parseIp(s: string): IpAddress {
  const a = tryParseIp(s);
  if (!a) throw new AddressError(`not an IP address: "${s}"`);
  return a;
}

/** Dotted quad, or RFC 5952 canonical IPv6 text. */
export function formatIp(a: IpAddress): string {
  const b = a.bytes;
  if (a.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // Longest run of >= 2 zero groups is compressed (first one on ties).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

export function ipEquals(a: IpAddress, b: IpAddress): boolean {
  if (a.family !== b.family) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

export function endpoint(addr: IpAddress | string, port: number): Endpoint {
  return { addr: typeof addr === 'string' ? parseIp(addr) : addr, port };
}

/** "10.0.0.1:500" or "[2001:db8::1]:500". */
export function formatEndpoint(e: Endpoint): string {
  const a = formatIp(e.addr);
  return e.addr.family === 6 ? `[${a}]:${e.port}` : `${a}:${e.port}`;
}

export function parseEndpoint(s: string): Endpoint {
  const m6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s);
  const m4 = /^([^:]+):(\d{1,5})$/.exec(s);
  const m = m6 ?? m4;
  if (!m) throw new AddressError(`not an address:port: "${s}"`);
  const port = Number(m[2]);
  if (port > 65535) throw new AddressError(`port out of range in "${s}"`);
  return { addr: parseIp(m[1]!), port };
}

export function endpointEquals(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && ipEquals(a.addr, b.addr);
}

/** A string key for maps. */
export function endpointKey(e: Endpoint): string {
  return formatEndpoint(e);
}

export interface Prefix {
  readonly addr: IpAddress;
  readonly length: number;
}

/** "10.0.0.0/8"; a bare address is a host prefix. */
export function parsePrefix(s: string): Prefix {
  const [a, l] = s.split('/');
  const addr = parseIp(a!);
  const max = addr.family === 4 ? 32 : 128;
  const length = l === undefined ? max : Number(l);
  if (!Number.isInteger(length) || length < 0 || length > max || (l !== undefined && !/^\d+$/.test(l))) {
    throw new AddressError(`bad prefix length in "${s}"`);
  }
  return { addr, length };
}

export function prefixContains(p: Prefix, a: IpAddress): boolean {
  if (p.addr.family !== a.family) return false;
  let bits = p.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((p.addr.bytes[i]! & mask) !== (a.bytes[i]! & mask)) return false;
  }
  return true;
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.addr)}/${p.length}`;
}
