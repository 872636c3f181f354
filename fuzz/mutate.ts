/**
 * Deterministic mutations: every choice comes from the Rng passed in, so an
 * iteration's seed reproduces its input exactly.
 *
 * Generic operators (bit flips, byte and word sets with boundary values, small
 * arithmetic, truncation, extension, block insert / delete / copy, splices with
 * another corpus entry) are mixed with structure-aware ones driven by a Layout
 * (fuzz/locate.ts): length fields set to hostile values (0, 1-3, 0xffff,
 * 0xffffffff, 0x7fffffff, off by one, doubled, ...), payload chains made to loop
 * or repeat, spans (payloads, records, blocks) repeated, removed or spliced in
 * from another input with or without the enclosing lengths kept consistent, and
 * checksums recomputed so packets get past the outer checks.
 */
import type { Rng } from '../src/core/rng.ts';
import type { Field, Layout, Span } from './locate.ts';
import { rd16, rd32, wr16, wr32 } from './util.ts';
import { concatBytes } from '../src/core/bytes.ts';

export interface MutatorConfig {
  /** Other inputs to splice from (usually the target's corpus). */
  readonly donors: readonly Uint8Array[];
  /** Structure of an input, for the structure-aware operators. */
  readonly layout?: (b: Uint8Array) => Layout;
  /** Inputs are cut to this many bytes. */
  readonly maxLen: number;
  /**
   * How often a structural field mutation picks a length or count field (default
   * 0.75). Targets behind a decoder (the engine) use less, so more inputs still
   * decode and reach the semantic checks.
   */
  readonly lengthBias?: number;
}

export interface Mutation {
  readonly bytes: Uint8Array;
  /** What was done, in order (for the failure report). */
  readonly ops: string[];
}

const INTERESTING_8 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x10, 0x1f, 0x20, 0x21, 0x2e, 0x35, 0x40, 0x7f, 0x80, 0x81, 0xfe, 0xff];
const INTERESTING_16 = [0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0008, 0x001c, 0x00ff, 0x0100, 0x01f4, 0x1194, 0x7fff, 0x8000, 0xfffc, 0xfffe, 0xffff];
const INTERESTING_32 = [0, 1, 3, 4, 8, 28, 0xff, 0xffff, 0x10000, 0x1000000, 0x10000000, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffc, 0xfffffffe, 0xffffffff];
/** IKEv2 and ISAKMP payload types, and a few that are neither. */
const PAYLOAD_TYPES = [0, 1, 2, 3, 4, 5, 8, 10, 11, 12, 13, 14, 20, 21, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 53, 54, 127, 128, 130, 131, 132, 200, 255];
const EXCHANGE_TYPES = [0, 1, 2, 4, 5, 6, 32, 33, 34, 35, 36, 37, 38, 43, 44, 255];
const VERSIONS = [0x00, 0x10, 0x11, 0x1f, 0x20, 0x21, 0x2f, 0x30, 0xf0, 0xff, 0x45, 0x4f, 0x46, 0x60, 0x40];

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(0, list.length - 1)]!;
}

function readField(b: Uint8Array, f: Field): number {
  if (f.size === 1) return b[f.at]!;
  if (f.size === 2) return rd16(b, f.at, f.le);
  return rd32(b, f.at, f.le);
}

function writeField(b: Uint8Array, f: Field, v: number): void {
  if (f.size === 1) b[f.at] = v & 0xff;
  else if (f.size === 2) wr16(b, f.at, v & 0xffff, f.le);
  else wr32(b, f.at, v, f.le);
}

/** A hostile value for a field, by kind and size. */
function hostileValue(rng: Rng, f: Field, cur: number, bufLen: number): number {
  const max = f.size === 1 ? 0xff : f.size === 2 ? 0xffff : 0xffffffff;
  const clamp = (v: number): number => (v < 0 ? 0 : v > max ? max : Math.floor(v));
  switch (f.kind) {
    case 'len':
    case 'count': {
      const rel = [cur + 1, cur - 1, cur + 4, cur - 4, cur * 2, cur + 8, Math.floor(cur / 2), bufLen, bufLen + 1, bufLen - f.at];
      const abs = f.size === 1 ? INTERESTING_8 : f.size === 2 ? INTERESTING_16 : INTERESTING_32;
      return clamp(rng.int(0, 2) === 0 ? pick(rng, rel) : pick(rng, abs));
    }
    case 'next':
      return pick(rng, PAYLOAD_TYPES) | (rng.int(0, 7) === 0 ? 0x80 : 0);
    case 'type':
      if (f.name === 'ike.exchange') return pick(rng, EXCHANGE_TYPES);
      if (f.size === 1) return rng.int(0, 3) === 0 ? rng.int(0, 0xff) : pick(rng, INTERESTING_8);
      if (f.size === 2) return rng.int(0, 3) === 0 ? rng.int(0, 0xffff) : pick(rng, INTERESTING_16);
      return pick(rng, INTERESTING_32);
    case 'version':
      return f.size === 1 ? pick(rng, VERSIONS) : pick(rng, INTERESTING_16);
    case 'flags':
      return cur ^ (1 << rng.int(0, f.size * 8 - 1));
    case 'checksum':
      return rng.int(0, 1) === 0 ? 0 : rng.int(0, max);
    case 'id':
      return rng.int(0, 2) === 0 ? rng.u32() & max : pick(rng, f.size === 4 ? INTERESTING_32 : f.size === 2 ? INTERESTING_16 : INTERESTING_8);
  }
}

function onesComplement(b: Uint8Array, start: number, end: number, init = 0): number {
  let sum = init;
  for (let i = start; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) % 2 === 1) sum += b[end - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Recomputes IPv4 header checksums and clears IPv4 UDP checksums (zero = none, RFC 768). */
export function fixChecksums(b: Uint8Array, layout: Layout): void {
  for (const fx of layout.fixups) {
    if (fx.kind === 'ipv4-checksum') {
      if (fx.at + fx.headerLen > b.length) continue;
      b[fx.at + 10] = 0;
      b[fx.at + 11] = 0;
      const c = ~onesComplement(b, fx.at, fx.at + fx.headerLen) & 0xffff;
      b[fx.at + 10] = c >> 8;
      b[fx.at + 11] = c & 0xff;
    } else if (fx.at + 8 <= b.length) {
      b[fx.at + 6] = 0;
      b[fx.at + 7] = 0;
    }
  }
}

/**
 * Replaces b[at, at+removeLen) with `insert`. With `fix`, every consistent length
 * field whose region encloses the anchor region (the span being repeated, removed
 * or replaced, or the chain being extended) is adjusted by the size change, so the
 * enclosing structures still frame the result; the anchor's own length is kept.
 */
function edit(
  b: Uint8Array,
  layout: Layout | undefined,
  at: number,
  removeLen: number,
  insert: Uint8Array,
  fix: boolean,
  anchor: { readonly start: number; readonly end: number } = { start: at, end: at + removeLen },
): Uint8Array {
  const out = concatBytes(b.subarray(0, at), insert, b.subarray(at + removeLen));
  const delta = insert.length - removeLen;
  if (!fix || !layout || delta === 0) return out;
  for (const f of layout.fields) {
    if (f.kind !== 'len' || !f.encl) continue;
    const { start, end } = f.encl;
    if (!(start <= anchor.start && end >= anchor.end) || (start === anchor.start && end === anchor.end)) continue;
    if (readField(b, f) !== end - start) continue;
    // A field after the edit has moved with it.
    const pos = f.at >= at + removeLen ? f.at + delta : f.at;
    if (pos >= at && pos < at + insert.length) continue;
    writeField(out, { ...f, at: pos }, end - start + delta);
  }
  return out;
}

export class Mutator {
  constructor(private readonly cfg: MutatorConfig) {}

  /** 1 to ~16 stacked operators on a copy of `input`. */
  mutate(rng: Rng, input: Uint8Array): Mutation {
    let b: Uint8Array = new Uint8Array(input);
    const ops: string[] = [];
    const n = rng.int(0, 7) === 0 ? rng.int(2, 16) : rng.int(1, 3);
    for (let i = 0; i < n; i++) {
      b = this.once(rng, b, ops);
      if (b.length > this.cfg.maxLen) b = b.slice(0, this.cfg.maxLen);
    }
    return { bytes: b, ops };
  }

  private layoutOf(b: Uint8Array): Layout | undefined {
    return this.cfg.layout?.(b);
  }

  private once(rng: Rng, b: Uint8Array, ops: string[]): Uint8Array {
    const structural = this.cfg.layout !== undefined && rng.int(0, 99) < 55;
    if (structural) {
      const layout = this.layoutOf(b)!;
      const r = this.structural(rng, b, layout, ops);
      if (r) {
        if (layout.fixups.length > 0 && rng.int(0, 1) === 0) {
          const after = this.layoutOf(r)!;
          fixChecksums(r, after);
          ops.push('fix-checksums');
        }
        return r;
      }
    }
    return this.generic(rng, b, ops);
  }

  private structural(rng: Rng, b: Uint8Array, layout: Layout, ops: string[]): Uint8Array | undefined {
    const choice = rng.int(0, 99);
    if (choice < 45 && layout.fields.length > 0) {
      // A length field (most of the time) or any located field, set to a hostile value.
      const lens = layout.fields.filter((f) => f.kind === 'len' || f.kind === 'count');
      const others = layout.fields.filter((f) => f.kind !== 'len' && f.kind !== 'count');
      const useLen = lens.length > 0 && (others.length === 0 || rng.float() < (this.cfg.lengthBias ?? 0.75));
      const f = useLen ? pick(rng, lens) : pick(rng, others.length > 0 ? others : layout.fields);
      const cur = readField(b, f);
      const v = hostileValue(rng, f, cur, b.length);
      const out = new Uint8Array(b);
      writeField(out, f, v);
      ops.push(`set ${f.name}@${f.at} ${cur}->${v >>> 0}`);
      return out;
    }
    if (choice < 60 && layout.ike.length > 0 && rng.float() < (this.cfg.lengthBias ?? 0.75) + 0.25) return this.chainLoop(rng, b, layout, ops);
    if (choice < 80 && layout.spans.length > 0) {
      const s = pick(rng, layout.spans);
      if (s.at + s.len > b.length || s.len > 65535) return undefined;
      const fix = rng.int(0, 3) !== 0;
      const what = rng.int(0, 2);
      if (what === 0) {
        const k = rng.int(0, 3) === 0 ? rng.int(2, 200) : rng.int(2, 4);
        const copies = new Uint8Array(s.len * Math.min(k, Math.max(1, Math.floor(this.cfg.maxLen / s.len))));
        for (let o = 0; o + s.len <= copies.length; o += s.len) copies.set(b.subarray(s.at, s.at + s.len), o);
        ops.push(`repeat ${s.name}@${s.at}+${s.len} x${copies.length / s.len}${fix ? ' (lengths fixed)' : ''}`);
        return edit(b, layout, s.at, s.len, copies, fix);
      }
      if (what === 1) {
        ops.push(`remove ${s.name}@${s.at}+${s.len}${fix ? ' (lengths fixed)' : ''}`);
        return edit(b, layout, s.at, s.len, new Uint8Array(0), fix);
      }
      // Splice in a span of the same kind from another input.
      const donor = this.cfg.donors.length > 0 ? pick(rng, this.cfg.donors) : b;
      const dl = this.layoutOf(donor)!;
      const same = dl.spans.filter((x) => x.name === s.name && x.at + x.len <= donor.length);
      if (same.length === 0) return undefined;
      const d = pick(rng, same);
      const replace = rng.int(0, 1) === 0;
      ops.push(`${replace ? 'replace' : 'insert before'} ${s.name}@${s.at} with donor ${d.name}@${d.at}+${d.len}${fix ? ' (lengths fixed)' : ''}`);
      return edit(b, layout, s.at, replace ? s.len : 0, donor.slice(d.at, d.at + d.len), fix, { start: s.at, end: s.at + s.len });
    }
    if (layout.fixups.length > 0) {
      const out = new Uint8Array(b);
      fixChecksums(out, layout);
      ops.push('fix-checksums');
      return out;
    }
    return undefined;
  }

  /**
   * Payload chains that loop: a payload length of 0-3 (the walk would not advance),
   * or the last payload's next-payload pointing back at the first payload's type with
   * the chain repeated after it (lengths kept consistent), so a decoder meets the
   * same payloads again and again.
   */
  private chainLoop(rng: Rng, b: Uint8Array, layout: Layout, ops: string[]): Uint8Array | undefined {
    const msg = pick(rng, layout.ike);
    const payloads = layout.spans.filter((s) => s.name === 'ike.payload' && s.at >= msg.at && s.at < msg.end);
    if (payloads.length === 0) return undefined;
    if (rng.int(0, 2) === 0) {
      const p = pick(rng, payloads);
      const out = new Uint8Array(b);
      const v = rng.int(0, 3);
      wr16(out, p.at + 2, v);
      ops.push(`loop: payload length @${p.at + 2} -> ${v}`);
      return out;
    }
    const first = payloads[0]!;
    const last = payloads[payloads.length - 1]!;
    const chainEnd = Math.min(b.length, last.at + last.len);
    if (chainEnd <= first.at) return undefined;
    const firstType = b[msg.firstTypeAt ?? msg.at + 16]!;
    const chain = new Uint8Array(b.subarray(first.at, chainEnd));
    // The last payload of the copy (and of the original) names the first again.
    const lastInChain = last.at - first.at;
    if (lastInChain >= 0 && lastInChain < chain.length) chain[lastInChain] = firstType;
    const k = rng.int(0, 3) === 0 ? rng.int(2, 64) : rng.int(1, 3);
    const reps = Math.max(1, Math.min(k, Math.floor(this.cfg.maxLen / Math.max(1, chain.length))));
    const copies = new Uint8Array(chain.length * reps);
    for (let i = 0; i < reps; i++) copies.set(chain, i * chain.length);
    if (rng.int(0, 1) === 0) copies[copies.length - chain.length + lastInChain] = 0; // the final copy ends the chain
    const fix = rng.int(0, 3) !== 0;
    let out = edit(b, layout, chainEnd, 0, copies, fix, { start: first.at, end: chainEnd });
    if (lastInChain >= 0 && last.at < out.length) out[last.at] = firstType;
    ops.push(`loop: chain of ${payloads.length} payload(s) repeated x${reps}, next-payload back to ${firstType}${fix ? ' (lengths fixed)' : ''}`);
    if (out.length > this.cfg.maxLen) out = out.slice(0, this.cfg.maxLen);
    return out;
  }

  private generic(rng: Rng, b: Uint8Array, ops: string[]): Uint8Array {
    const len = b.length;
    const op = rng.int(0, 99);
    if (len === 0 || op >= 90) {
      const add = rng.int(0, 1) === 0 ? rng.bytes(rng.int(1, 64)) : new Uint8Array(rng.int(1, 64));
      const at = rng.int(0, len);
      ops.push(`insert ${add.length} byte(s) @${at}`);
      return concatBytes(b.subarray(0, at), add, b.subarray(at));
    }
    if (op < 25) {
      const out = new Uint8Array(b);
      const k = rng.int(1, 4);
      for (let i = 0; i < k; i++) {
        const at = rng.int(0, len - 1);
        out[at]! ^= 1 << rng.int(0, 7);
      }
      ops.push(`flip ${k} bit(s)`);
      return out;
    }
    if (op < 40) {
      const out = new Uint8Array(b);
      const at = rng.int(0, len - 1);
      out[at] = rng.int(0, 1) === 0 ? pick(rng, INTERESTING_8) : rng.int(0, 255);
      ops.push(`set byte @${at} = ${out[at]}`);
      return out;
    }
    if (op < 50) {
      const out = new Uint8Array(b);
      const le = rng.int(0, 1) === 0;
      if (rng.int(0, 1) === 0 && len >= 2) {
        const at = rng.int(0, len - 2);
        const v = pick(rng, INTERESTING_16);
        wr16(out, at, v, le);
        ops.push(`set u16 @${at} = ${v}`);
      } else if (len >= 4) {
        const at = rng.int(0, len - 4);
        const v = pick(rng, INTERESTING_32);
        wr32(out, at, v, le);
        ops.push(`set u32 @${at} = ${v}`);
      }
      return out;
    }
    if (op < 57) {
      const out = new Uint8Array(b);
      const at = rng.int(0, len - 1);
      const d = rng.int(1, 35) * (rng.int(0, 1) === 0 ? 1 : -1);
      out[at] = (out[at]! + d) & 0xff;
      ops.push(`add ${d} @${at}`);
      return out;
    }
    if (op < 65) {
      const cut = rng.int(0, 1) === 0 ? rng.int(0, len - 1) : Math.max(0, len - rng.int(1, 16));
      ops.push(`truncate to ${cut}`);
      return b.slice(0, cut);
    }
    if (op < 72) {
      const at = rng.int(0, len - 1);
      const n = Math.min(len - at, rng.int(1, 0x3f));
      ops.push(`delete ${n} @${at}`);
      return concatBytes(b.subarray(0, at), b.subarray(at + n));
    }
    if (op < 79) {
      const from = rng.int(0, len - 1);
      const n = Math.min(len - from, rng.int(1, 128));
      const to = rng.int(0, len);
      const block = b.slice(from, from + n);
      if (rng.int(0, 1) === 0) {
        ops.push(`copy ${n} from @${from} inserted @${to}`);
        return concatBytes(b.subarray(0, to), block, b.subarray(to));
      }
      const out = new Uint8Array(b);
      out.set(block.subarray(0, Math.max(0, Math.min(n, len - to))), to);
      ops.push(`copy ${n} from @${from} over @${to}`);
      return out;
    }
    if (op < 87 && this.cfg.donors.length > 0) {
      const d = pick(rng, this.cfg.donors);
      if (d.length === 0) return b;
      const cutA = rng.int(0, len);
      const cutB = rng.int(0, d.length - 1);
      ops.push(`splice @${cutA} with donor tail from @${cutB}`);
      return concatBytes(b.subarray(0, cutA), d.subarray(cutB));
    }
    const out = new Uint8Array(b);
    const at = rng.int(0, len - 1);
    const n = Math.min(len - at, rng.int(1, 16));
    out.set(rng.bytes(n), at);
    ops.push(`random ${n} byte(s) @${at}`);
    return out;
  }
}
