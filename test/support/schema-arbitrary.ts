import fc from 'fast-check';

/** The subset of JSON Schema (OpenAPI 3.0 flavour) our route specs produce. */
export interface JsonSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
}

/** Values no schema expects, for the leaf a case corrupts: NUL, lone surrogates, dates and numbers out of every range. */
export const HOSTILE_VALUES: unknown[] = [
  'a\u0000b',
  '\u0000',
  '\ud800',
  '-271821-04-20T00:00:00.000Z',
  '0000-01-01',
  '+275760-09-13T00:00:00.001Z',
  -8.64e15,
  Number.MAX_SAFE_INTEGER + 2,
  1e308,
  -1,
  0.5,
  '',
  'x'.repeat(5_000),
  null,
  [],
  {},
];

const stringOf = (schema: JsonSchema): fc.Arbitrary<string> => {
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'email') return fc.emailAddress().filter((e) => e.length <= (schema.maxLength ?? 254));
  if (schema.format === 'date')
    return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  if (schema.format === 'date-time')
    return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'uri') return fc.webUrl({ validSchemes: ['https'] });
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? 1_000));
  return fc
    .string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) })
    .filter((s) => s.trim().length >= (schema.minLength ?? 0));
};

/**
 * An arbitrary of values valid for `schema` (as far as a JSON schema says:
 * refinements in code may still refuse some), resolving `$ref`s in
 * `components`.
 */
export function arbitraryFor(schema: JsonSchema, components: Record<string, JsonSchema>, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) return arbitraryFor(components[schema.$ref.split('/').pop()!] ?? {}, components, depth);
  const base = ((): fc.Arbitrary<unknown> => {
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...schema.enum);
    const alternatives = schema.anyOf ?? schema.oneOf;
    if (alternatives) return fc.oneof(...alternatives.map((s) => arbitraryFor(s, components, depth + 1)));
    if (schema.allOf?.length) return arbitraryFor(schema.allOf[0]!, components, depth + 1);
    switch (schema.type) {
      case 'string':
        return stringOf(schema);
      case 'integer':
        return fc.integer({ min: Math.max(schema.minimum ?? 0, -1e9), max: Math.min(schema.maximum ?? 1_000, 1e9) });
      case 'number':
        return fc.double({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1_000, 1e9), noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'array':
        return depth > 4
          ? fc.constant([])
          : fc.array(arbitraryFor(schema.items ?? {}, components, depth + 1), {
              minLength: schema.minItems ?? 0,
              maxLength: Math.min(schema.maxItems ?? 3, 3),
            });
      case 'object': {
        if (depth > 4 || !schema.properties) return fc.constant({});
        const required = new Set(schema.required ?? []);
        const shape = Object.fromEntries(Object.entries(schema.properties).map(([name, property]) => [name, arbitraryFor(property, components, depth + 1)]));
        return fc.record(shape, { requiredKeys: Object.keys(shape).filter((name) => required.has(name)) });
      }
      default:
        return fc.jsonValue({ maxDepth: 1 });
    }
  })();
  return schema.nullable ? fc.option(base, { nil: null, freq: 5 }) : base;
}

/** Replaces one leaf of `value` (chosen by `pick`) with `hostile`; the value itself when it has no leaves. */
export function corruptOneLeaf(value: unknown, pick: number, hostile: unknown): unknown {
  const leaves: Array<Array<string | number>> = [];
  const walk = (node: unknown, at: Array<string | number>) => {
    if (Array.isArray(node)) for (const [i, item] of node.entries()) walk(item, [...at, i]);
    else if (node && typeof node === 'object') for (const [key, item] of Object.entries(node)) walk(item, [...at, key]);
    else leaves.push(at);
  };
  walk(value, []);
  if (leaves.length === 0) return hostile;
  const target = leaves[pick % leaves.length]!;
  if (target.length === 0) return hostile;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of target.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[target.at(-1)!] = hostile;
  return copy;
}
