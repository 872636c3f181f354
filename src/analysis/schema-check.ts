/**
 * The small part of JSON Schema the report schema uses ($ref to #/$defs, type,
 * enum, const, properties, required, additionalProperties, items, anyOf, minimum):
 * a validator for tests and the lookups `verify` needs to check expectation keys.
 */
import type { Json } from './report-schema.ts';

export type Schema = { readonly [k: string]: Json };

export function resolve(root: Schema, s: Schema): Schema {
  let cur = s;
  for (let i = 0; i < 16 && typeof cur.$ref === 'string'; i++) {
    const name = cur.$ref.replace(/^#\/\$defs\//, '');
    cur = ((root.$defs as Schema)[name] as Schema | undefined) ?? {};
  }
  return cur;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: string, v: unknown): boolean {
  const t = typeOf(v);
  return want === t || (want === 'number' && t === 'integer');
}

/** Validation errors ("path: problem"), empty when the value conforms. */
export function validate(root: Schema, value: unknown, schema: Schema = root, path = '$'): string[] {
  const s = resolve(root, schema);
  const errs: string[] = [];
  if (Array.isArray(s.anyOf)) {
    const ok = (s.anyOf as Schema[]).some((alt) => validate(root, value, alt, path).length === 0);
    if (!ok) errs.push(`${path}: matches none of the allowed forms`);
    return errs;
  }
  if ('const' in s && value !== s.const) errs.push(`${path}: must be ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !(s.enum as unknown[]).includes(value)) errs.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.type !== undefined) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[];
    if (!types.some((t) => typeMatches(t, value))) {
      errs.push(`${path}: expected ${types.join(' or ')}, got ${typeOf(value)}`);
      return errs;
    }
  }
  if (typeof s.minimum === 'number' && typeof value === 'number' && value < s.minimum) errs.push(`${path}: below ${s.minimum}`);
  if (Array.isArray(value) && s.items) value.forEach((v, i) => errs.push(...validate(root, v, s.items as Schema, `${path}[${i}]`)));
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) errs.push(`${path}: missing ${r}`);
    for (const [k, v] of Object.entries(o)) {
      if (k in props) errs.push(...validate(root, v, props[k]!, `${path}.${k}`));
      else if (s.additionalProperties === false) errs.push(`${path}: unexpected field ${k}`);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') errs.push(...validate(root, v, s.additionalProperties as Schema, `${path}.${k}`));
    }
  }
  return errs;
}

/** What a schema node describes, for `verify`. */
export type SchemaShape =
  | { readonly kind: 'array'; readonly items: Schema }
  | { readonly kind: 'object'; readonly properties: Readonly<Record<string, Schema>>; readonly nullable: boolean }
  | { readonly kind: 'map'; readonly values: Schema; readonly nullable: boolean }
  | { readonly kind: 'scalar'; readonly types: readonly string[]; readonly values?: readonly unknown[] };

export function shapeOf(root: Schema, schema: Schema): SchemaShape {
  const s = resolve(root, schema);
  if (Array.isArray(s.anyOf)) {
    const alts = (s.anyOf as Schema[]).map((a) => resolve(root, a));
    const nonNull = alts.filter((a) => a.type !== 'null');
    const nullable = nonNull.length < alts.length;
    if (nonNull.length === 1) {
      const inner = shapeOf(root, nonNull[0]!);
      if (inner.kind === 'object' || inner.kind === 'map') return { ...inner, nullable: nullable || inner.nullable };
      if (inner.kind === 'scalar') return { kind: 'scalar', types: nullable ? [...inner.types, 'null'] : inner.types, ...(inner.values ? { values: inner.values } : {}) };
      return inner;
    }
    return { kind: 'scalar', types: ['string', 'number', 'boolean', 'null'] };
  }
  const types = (Array.isArray(s.type) ? s.type : s.type !== undefined ? [s.type] : []) as string[];
  if (types.includes('array')) return { kind: 'array', items: (s.items ?? {}) as Schema };
  if (types.includes('object')) {
    if (s.properties) return { kind: 'object', properties: s.properties as Record<string, Schema>, nullable: types.includes('null') };
    return { kind: 'map', values: (typeof s.additionalProperties === 'object' && s.additionalProperties ? s.additionalProperties : {}) as Schema, nullable: types.includes('null') };
  }
  if (Array.isArray(s.enum)) {
    const values = s.enum as unknown[];
    return { kind: 'scalar', types: [...new Set(values.map((v) => (v === null ? 'null' : typeof v)))], values };
  }
  if ('const' in s) return { kind: 'scalar', types: [typeOf(s.const) === 'integer' ? 'number' : typeOf(s.const)], values: [s.const] };
  return { kind: 'scalar', types: types.length ? types.map((t) => (t === 'integer' ? 'number' : t)) : ['string', 'number', 'boolean', 'null'] };
}
