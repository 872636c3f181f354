/**
 * A small JSON Schema (draft 2020-12) checker for the subset docs/scenario.schema.json
 * uses: type, enum, const, pattern, minimum, maximum, minLength, properties, required,
 * additionalProperties: false, items, oneOf, anyOf and local $ref. Returns the errors
 * as "path: message" lines.
 */
export type Schema = { readonly [k: string]: unknown };

const SUPPORTED = new Set([
  '$schema', '$id', '$ref', '$defs', 'title', 'description', 'type', 'enum', 'const', 'pattern', 'minimum', 'maximum',
  'minLength', 'properties', 'required', 'additionalProperties', 'items', 'oneOf', 'anyOf',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function checkSchema(root: Schema, value: unknown): string[] {
  const errors: string[] = [];
  const resolve = (s: Schema): Schema => {
    const ref = s.$ref as string | undefined;
    if (!ref) return s;
    const m = /^#\/\$defs\/(.+)$/.exec(ref);
    const target = m ? (root.$defs as Record<string, Schema>)[m[1]!] : undefined;
    if (!target) throw new Error(`unresolvable $ref ${ref}`);
    return resolve(target);
  };
  const check = (schema: Schema, v: unknown, path: string, out: string[]): void => {
    const s = resolve(schema);
    for (const k of Object.keys(s)) if (!SUPPORTED.has(k)) throw new Error(`schema keyword ${k} is not supported by the checker`);
    if (s.type !== undefined) {
      const t = typeOf(v);
      const want = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      if (!want.includes(t) && !(t === 'integer' && want.includes('number'))) {
        out.push(`${path}: expected ${want.join('|')}, got ${t}`);
        return;
      }
    }
    if (s.enum !== undefined && !(s.enum as unknown[]).includes(v)) out.push(`${path}: ${JSON.stringify(v)} not in enum`);
    if ('const' in s && s.const !== v) out.push(`${path}: expected ${JSON.stringify(s.const)}`);
    if (typeof v === 'string') {
      if (s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(v)) out.push(`${path}: ${JSON.stringify(v)} does not match ${s.pattern}`);
      if (s.minLength !== undefined && v.length < (s.minLength as number)) out.push(`${path}: shorter than ${s.minLength}`);
    }
    if (typeof v === 'number') {
      if (s.minimum !== undefined && v < (s.minimum as number)) out.push(`${path}: below ${s.minimum}`);
      if (s.maximum !== undefined && v > (s.maximum as number)) out.push(`${path}: above ${s.maximum}`);
    }
    if (typeOf(v) === 'object') {
      const o = v as Record<string, unknown>;
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const r of (s.required ?? []) as string[]) if (!(r in o)) out.push(`${path}: missing ${r}`);
      for (const [k, x] of Object.entries(o)) {
        if (props[k]) check(props[k]!, x, `${path}.${k}`, out);
        else if (s.additionalProperties === false) out.push(`${path}: unknown property ${k}`);
      }
    }
    if (Array.isArray(v) && s.items) v.forEach((x, i) => check(s.items as Schema, x, `${path}[${i}]`, out));
    for (const [kw, exactlyOne] of [
      ['oneOf', true],
      ['anyOf', false],
    ] as const) {
      const alts = s[kw] as Schema[] | undefined;
      if (!alts) continue;
      const passing = alts.filter((alt) => {
        const sub: string[] = [];
        check(alt, v, path, sub);
        return sub.length === 0;
      }).length;
      if (exactlyOne ? passing !== 1 : passing === 0) out.push(`${path}: ${passing} of the ${kw} alternatives match`);
    }
  };
  check(root, value, '$', errors);
  return errors;
}
