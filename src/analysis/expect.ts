/**
 * The expectation language of `natt-sim verify` (docs/verify.md): a YAML mapping that
 * mirrors the report, where
 *   - a scalar expects equality (`floatedTo4500: true`);
 *   - a mapping of operators checks a scalar (`count: { min: 5 }`, `spi: { matches: '^33' }`);
 *     operators: eq, ne, min, max, in, matches, contains, exists;
 *   - a mapping of field names checks an object, field by field;
 *   - a list checks an array element by element: each entry selects an element by
 *     `index: n`, by `match: { field: value }`, or by position, and its other keys check
 *     that element; a list of scalars must equal an array of scalars, in any order;
 *   - a mapping of quantifiers checks an array as a whole: count, each, some, none,
 *     contains, items.
 * Expectations are checked against the report schema before anything runs, so a
 * misspelt field is an error with its line, not a silently passing check.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { REPORT_SCHEMA } from './report-schema.ts';
import { resolve, shapeOf, type Schema } from './schema-check.ts';

export interface Failure {
  /** 1-based line of the expectation in the YAML file. */
  readonly line: number;
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
}

/** A problem with the expectation file itself (exit 2). */
export class ExpectationError extends Error {
  override readonly name = 'ExpectationError';
  constructor(
    readonly line: number,
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${line}: ${path ? `${path}: ` : ''}${problem}`);
  }
}

export interface CompiledExpectations {
  /** Number of individual assertions. */
  readonly assertions: number;
  evaluate(report: unknown): Failure[];
}

type Check = (actual: unknown, path: string, out: Failure[]) => void;
interface Compiled {
  readonly check: Check;
  readonly count: number;
}

const SCALAR_OPS = ['eq', 'ne', 'min', 'max', 'in', 'matches', 'contains', 'exists'] as const;
const ARRAY_QUANTIFIERS = ['count', 'each', 'some', 'none', 'contains', 'items'] as const;

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => deepEqual(x, (b as unknown[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Identifying fields of an array element, for failure lines. */
function summarize(v: unknown): string {
  if (!v || typeof v !== 'object') return show(v);
  const o = v as Record<string, unknown>;
  for (const k of ['code', 'spiI', 'spi', 'file', 'endpoint', 'message']) if (typeof o[k] === 'string') return `${k} ${JSON.stringify(o[k])}`;
  return 'one';
}

class Compiler {
  constructor(
    private readonly lc: LineCounter,
    private readonly root: Schema,
  ) {}

  line(n: Node | Pair | null | undefined): number {
    const range = (n as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return this.lc.linePos(range[0]).line;
    const key = (n as Pair | undefined)?.key as Node | undefined;
    return key?.range ? this.lc.linePos(key.range[0]).line : 1;
  }

  private keyOf(p: Pair, path: string): string {
    if (!isScalar(p.key) || (typeof p.key.value !== 'string' && typeof p.key.value !== 'number')) {
      throw new ExpectationError(this.line(p.key as Node), path, 'keys must be plain names');
    }
    return String(p.key.value);
  }

  private value(n: Node | null | undefined): unknown {
    if (isScalar(n)) return n.value;
    if (n && typeof (n as { toJSON?: unknown }).toJSON === 'function') return (n as unknown as { toJSON(): unknown }).toJSON();
    return n ?? null;
  }

  compile(node: unknown, schema: Schema, path: string, lineHint: number): Compiled {
    const shape = shapeOf(this.root, schema);
    const line = this.line(node as Node) || lineHint;
    switch (shape.kind) {
      case 'scalar':
        return this.scalar(node as Node, shape.types, shape.values, path, line);
      case 'object':
      case 'map':
        if (isScalar(node) && node.value === null) {
          if (!shape.nullable) throw new ExpectationError(line, path, 'this field is never null');
          return this.equal(null, path, line);
        }
        if (!isMap(node)) throw new ExpectationError(line, path, `expected a mapping of ${shape.kind === 'object' ? `fields (${Object.keys(shape.properties).join(', ')})` : 'keys to expectations'}`);
        if (this.isExistsOnly(node)) return this.exists(node, path, line);
        return shape.kind === 'object' ? this.object(node, shape.properties, path) : this.map(node, shape.values, path);
      case 'array':
        return this.array(node as Node, shape.items, path, line);
    }
  }

  private isExistsOnly(node: YAMLMap): boolean {
    return node.items.length === 1 && isScalar(node.items[0]!.key) && node.items[0]!.key.value === 'exists';
  }

  private exists(node: YAMLMap, path: string, line: number): Compiled {
    const v = this.value(node.items[0]!.value as Node);
    if (typeof v !== 'boolean') throw new ExpectationError(line, `${path}.exists`, 'takes true or false');
    return {
      count: 1,
      check: (a, p, out) => {
        const present = a !== undefined && a !== null;
        if (present !== v) out.push({ line, path: p, expected: v ? 'present' : 'absent or null', actual: show(a) });
      },
    };
  }

  private equal(v: unknown, path: string, line: number): Compiled {
    void path;
    return {
      count: 1,
      check: (a, p, out) => {
        if (!deepEqual(a, v)) out.push({ line, path: p, expected: show(v), actual: show(a) });
      },
    };
  }

  private checkType(v: unknown, types: readonly string[], values: readonly unknown[] | undefined, path: string, line: number): void {
    const k = kindOf(v);
    if (!types.includes(k)) throw new ExpectationError(line, path, `expected ${types.join(' or ')}, got ${k} ${show(v)}`);
    if (values && !values.some((x) => x === v)) throw new ExpectationError(line, path, `expected one of ${values.map((x) => show(x)).join(', ')}, got ${show(v)}`);
  }

  private scalar(node: Node, types: readonly string[], values: readonly unknown[] | undefined, path: string, line: number): Compiled {
    if (isScalar(node)) {
      const v = node.value;
      this.checkType(v, types, values, path, line);
      return this.equal(v, path, line);
    }
    if (!isMap(node)) throw new ExpectationError(line, path, 'expected a value or a mapping of operators (eq, ne, min, max, in, matches, contains, exists)');
    const checks: Check[] = [];
    for (const p of node.items) {
      const op = this.keyOf(p, path);
      const l = this.line(p.key as Node);
      const operand = this.value(p.value as Node);
      const opPath = `${path}.${op}`;
      switch (op) {
        case 'eq':
        case 'ne': {
          this.checkType(operand, types, values, opPath, l);
          const want = op === 'eq';
          checks.push((a, pp, out) => {
            if (deepEqual(a, operand) !== want) out.push({ line: l, path: pp, expected: `${want ? '' : 'not '}${show(operand)}`, actual: show(a) });
          });
          break;
        }
        case 'min':
        case 'max': {
          if (typeof operand !== 'number') throw new ExpectationError(l, opPath, 'takes a number');
          if (!types.includes('number')) throw new ExpectationError(l, opPath, `this field is ${types.join(' or ')}, not a number`);
          checks.push((a, pp, out) => {
            const ok = typeof a === 'number' && (op === 'min' ? a >= operand : a <= operand);
            if (!ok) out.push({ line: l, path: pp, expected: `${op === 'min' ? '>=' : '<='} ${operand}`, actual: show(a) });
          });
          break;
        }
        case 'in': {
          if (!Array.isArray(operand) || operand.length === 0) throw new ExpectationError(l, opPath, 'takes a non-empty list of values');
          for (const x of operand) this.checkType(x, types, values, opPath, l);
          checks.push((a, pp, out) => {
            if (!operand.some((x) => deepEqual(a, x))) out.push({ line: l, path: pp, expected: `one of ${show(operand)}`, actual: show(a) });
          });
          break;
        }
        case 'matches': {
          if (typeof operand !== 'string') throw new ExpectationError(l, opPath, 'takes a regular expression');
          let re: RegExp;
          try {
            re = new RegExp(operand);
          } catch (e) {
            throw new ExpectationError(l, opPath, `bad regular expression: ${(e as Error).message}`);
          }
          checks.push((a, pp, out) => {
            if (typeof a !== 'string' || !re.test(a)) out.push({ line: l, path: pp, expected: `matching /${operand}/`, actual: show(a) });
          });
          break;
        }
        case 'contains': {
          if (typeof operand !== 'string') throw new ExpectationError(l, opPath, 'takes a string');
          checks.push((a, pp, out) => {
            if (typeof a !== 'string' || !a.includes(operand)) out.push({ line: l, path: pp, expected: `containing ${show(operand)}`, actual: show(a) });
          });
          break;
        }
        case 'exists': {
          if (typeof operand !== 'boolean') throw new ExpectationError(l, opPath, 'takes true or false');
          checks.push((a, pp, out) => {
            if ((a !== undefined && a !== null) !== operand) out.push({ line: l, path: pp, expected: operand ? 'present' : 'absent or null', actual: show(a) });
          });
          break;
        }
        default:
          throw new ExpectationError(l, opPath, `unknown operator (operators: ${SCALAR_OPS.join(', ')})`);
      }
    }
    return { count: checks.length, check: (a, p, out) => checks.forEach((c) => c(a, p, out)) };
  }

  private object(node: YAMLMap, properties: Readonly<Record<string, Schema>>, path: string): Compiled {
    const fields: Array<{ key: string; c: Compiled }> = [];
    for (const p of node.items) {
      const key = this.keyOf(p, path);
      const child = `${path ? `${path}.` : ''}${key}`;
      const s = properties[key];
      if (!s) throw new ExpectationError(this.line(p.key as Node), child, `unknown field (fields: ${Object.keys(properties).join(', ')})`);
      fields.push({ key, c: this.compile(p.value, s, child, this.line(p.key as Node)) });
    }
    const line = this.line(node);
    return {
      count: fields.reduce((n, f) => n + f.c.count, 0),
      check: (a, p, out) => {
        if (!a || typeof a !== 'object' || Array.isArray(a)) {
          out.push({ line, path: p || '(report)', expected: 'an object', actual: show(a) });
          return;
        }
        for (const f of fields) f.c.check((a as Record<string, unknown>)[f.key], `${p ? `${p}.` : ''}${f.key}`, out);
      },
    };
  }

  private map(node: YAMLMap, values: Schema, path: string): Compiled {
    const integerValues = resolve(this.root, values).type === 'integer';
    const entries: Array<{ key: string; c: Compiled }> = [];
    for (const p of node.items) {
      const key = this.keyOf(p, path);
      entries.push({ key, c: this.compile(p.value, values, `${path}[${JSON.stringify(key)}]`, this.line(p.key as Node)) });
    }
    return {
      count: entries.reduce((n, e) => n + e.c.count, 0),
      check: (a, p, out) => {
        const o = a && typeof a === 'object' ? (a as Record<string, unknown>) : {};
        for (const e of entries) e.c.check(o[e.key] ?? (integerValues ? 0 : undefined), `${p}[${JSON.stringify(e.key)}]`, out);
      },
    };
  }

  private array(node: Node, items: Schema, path: string, line: number): Compiled {
    const itemShape = shapeOf(this.root, items);
    if (isSeq(node)) return this.itemList(node, items, itemShape.kind === 'scalar', path, line);
    if (!isMap(node)) throw new ExpectationError(line, path, `an array takes a list, or a mapping of ${ARRAY_QUANTIFIERS.join(', ')}`);
    const checks: Check[] = [];
    let count = 0;
    for (const p of node.items) {
      const q = this.keyOf(p, path);
      const l = this.line(p.key as Node);
      const qPath = `${path}.${q}`;
      const v = p.value as Node;
      switch (q) {
        case 'count': {
          const c = this.scalar(v, ['number'], undefined, qPath, l);
          count += c.count;
          checks.push((a, pp, out) => c.check(Array.isArray(a) ? a.length : undefined, `${pp}.count`, out));
          break;
        }
        case 'each': {
          const c = this.compile(v, items, `${path}[*]`, l);
          count += c.count;
          checks.push((a, pp, out) => {
            if (!Array.isArray(a)) out.push({ line: l, path: pp, expected: 'an array', actual: show(a) });
            else a.forEach((x, i) => c.check(x, `${pp}[${i}]`, out));
          });
          break;
        }
        case 'some':
        case 'none': {
          const c = this.compile(v, items, `${path}[*]`, l);
          const src = show(this.value(v));
          count += 1;
          checks.push((a, pp, out) => {
            const list = Array.isArray(a) ? a : [];
            const hits = list.map((x, i) => [x, i] as const).filter(([x, i]) => {
              const f: Failure[] = [];
              c.check(x, `${pp}[${i}]`, f);
              return f.length === 0;
            });
            if (q === 'some' && hits.length === 0) out.push({ line: l, path: pp, expected: `some element with ${src}`, actual: `none of ${list.length}` });
            if (q === 'none') for (const [x, i] of hits) out.push({ line: l, path: `${pp}[${i}]`, expected: `no element with ${src}`, actual: summarize(x) });
          });
          break;
        }
        case 'contains': {
          if (itemShape.kind !== 'scalar') throw new ExpectationError(l, qPath, 'works on arrays of plain values; use some: for arrays of objects');
          const want = isSeq(v) ? (this.value(v) as unknown[]) : [this.value(v)];
          for (const w of want) this.checkType(w, itemShape.types, itemShape.values, qPath, l);
          count += want.length;
          checks.push((a, pp, out) => {
            const list = Array.isArray(a) ? a : [];
            for (const w of want) if (!list.some((x) => deepEqual(x, w))) out.push({ line: l, path: pp, expected: `containing ${show(w)}`, actual: show(a) });
          });
          break;
        }
        case 'items': {
          if (!isSeq(v)) throw new ExpectationError(l, qPath, 'takes a list');
          const c = this.itemList(v, items, itemShape.kind === 'scalar', path, l);
          count += c.count;
          checks.push(c.check);
          break;
        }
        default:
          throw new ExpectationError(l, qPath, `unknown array check (use ${ARRAY_QUANTIFIERS.join(', ')}, or a list)`);
      }
    }
    return { count, check: (a, p, out) => checks.forEach((c) => c(a, p, out)) };
  }

  private itemList(node: YAMLSeq, items: Schema, scalarItems: boolean, path: string, line: number): Compiled {
    if (scalarItems) {
      const shape = shapeOf(this.root, items);
      const want = this.value(node) as unknown[];
      if (shape.kind === 'scalar') for (const w of want) this.checkType(w, shape.types, shape.values, path, line);
      const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
      return {
        count: 1,
        check: (a, p, out) => {
          if (!Array.isArray(a) || !deepEqual(sorted(a), sorted(want))) out.push({ line, path: p, expected: `${show(want)} (any order)`, actual: show(a) });
        },
      };
    }
    const entries = node.items.map((n, pos) => this.entry(n as Node, items, path, pos));
    return {
      count: entries.reduce((n, e) => n + e.count, 0),
      check: (a, p, out) => entries.forEach((e) => e.check(a, p, out)),
    };
  }

  /** One list entry: selector (index | match | position) and field checks on the selected element. */
  private entry(n: Node, items: Schema, path: string, pos: number): Compiled {
    const line = this.line(n);
    if (!isMap(n)) throw new ExpectationError(line, `${path}[${pos}]`, 'each list entry is a mapping of fields (with an optional index: or match:)');
    const itemShape = shapeOf(this.root, items);
    if (itemShape.kind !== 'object') throw new ExpectationError(line, path, 'entries of this array are not objects');
    let index: number | undefined;
    let match: Compiled | undefined;
    let matchText = '';
    const rest: Pair[] = [];
    for (const p of n.items) {
      const k = this.keyOf(p, path);
      if (k === 'index') {
        const v = this.value(p.value as Node);
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ExpectationError(this.line(p.key as Node), `${path}[${pos}].index`, 'takes a whole number >= 0');
        index = v;
      } else if (k === 'match') {
        if (!isMap(p.value)) throw new ExpectationError(this.line(p.key as Node), `${path}[${pos}].match`, 'takes a mapping of fields that identify the element');
        match = this.object(p.value, itemShape.properties, `${path}[${pos}]`);
        matchText = (p.value.items as Pair[]).map((q) => `${String((q.key as { value: unknown }).value)}=${show(this.value(q.value as Node))}`).join(', ');
      } else {
        rest.push(p);
      }
    }
    if (index !== undefined && match) throw new ExpectationError(line, `${path}[${pos}]`, 'use index: or match:, not both');
    const fieldMap = { ...n, items: rest } as unknown as YAMLMap;
    const fields = this.object(fieldMap, itemShape.properties, `${path}[${pos}]`);
    return {
      count: fields.count + 1,
      check: (a, p, out) => {
        const list = Array.isArray(a) ? a : [];
        let at: number;
        if (match) {
          at = list.findIndex((x) => {
            const f: Failure[] = [];
            match!.check(x, '', f);
            return f.length === 0;
          });
          if (at < 0) {
            out.push({ line, path: `${p}[match ${matchText}]`, expected: 'an element that matches', actual: `none of ${list.length}` });
            return;
          }
        } else {
          at = index ?? pos;
          if (at >= list.length) {
            out.push({ line, path: `${p}[${at}]`, expected: 'an element', actual: `only ${list.length}` });
            return;
          }
        }
        const f: Failure[] = [];
        fields.check(list[at], '', f);
        for (const x of f) out.push({ ...x, path: `${p}[${at}]${x.path && x.path !== '(report)' ? `.${x.path}` : ''}` });
      },
    };
  }
}

/** Parses and checks an expectation file; throws ExpectationError with the line of the problem. */
export function compileExpectations(text: string, schema: Schema = REPORT_SCHEMA): CompiledExpectations {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line ?? (err.pos ? lc.linePos(err.pos[0]).line : 1);
    throw new ExpectationError(line, '', `YAML: ${err.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (!isMap(root)) throw new ExpectationError(root ? lc.linePos((root as Node).range?.[0] ?? 0).line : 1, '', 'the file must be a mapping of report fields (e.g. ikeSas:, espSas:, findings:)');
  const c = new Compiler(lc, schema);
  const compiled = c.compile(root, schema, '', 1);
  return {
    assertions: compiled.count,
    evaluate(report: unknown): Failure[] {
      const out: Failure[] = [];
      compiled.check(report, '', out);
      return out;
    },
  };
}

/** "<path>: expected <e>, got <a>" */
export function failureText(f: Failure): string {
  return `${f.path}: expected ${f.expected}, got ${f.actual}`;
}
