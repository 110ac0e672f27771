// Reading the shape of the zod schema: which types a key path accepts (so environment values
// can be typed), and which keys exist with their defaults (for the reference in docs/configuration.md).
// zod keeps a schema's definition in `_zod.def`; wrappers (optional, default, prefault, pipe
// from transforms) point to what they wrap.

export interface SchemaDef {
  type: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  in?: Schema;
  options?: Schema[];
  element?: Schema;
  /** Of a record: the schema of its values. */
  valueType?: Schema;
  entries?: Record<string, string>;
  values?: unknown[];
  defaultValue?: unknown;
}

export interface Schema {
  _zod: { def: SchemaDef };
}

/** The definition under optional/default/pipe wrappers, and the first default on the way. */
export function unwrap(schema: Schema): { def: SchemaDef; defaultValue: unknown } {
  let def = schema._zod.def;
  let defaultValue: unknown;
  for (;;) {
    if ((def.type === 'default' || def.type === 'prefault') && defaultValue === undefined)
      defaultValue = def.defaultValue;
    const next = def.innerType ?? def.in;
    if (!next) return { def, defaultValue };
    def = next._zod.def;
  }
}

/** The definitions the schema has at a key path, each union expanded into its options. */
function definitionsAt(schema: Schema, path: readonly PropertyKey[]): SchemaDef[] {
  const found: SchemaDef[] = [];
  const visit = (candidate: Schema, rest: readonly PropertyKey[]): void => {
    const { def } = unwrap(candidate);
    if (def.options) {
      for (const option of def.options) visit(option, rest);
      return;
    }
    const [key, ...tail] = rest;
    if (key === undefined) found.push(def);
    else if (def.type === 'object' && typeof key === 'string' && def.shape?.[key]) visit(def.shape[key], tail);
    else if (def.type === 'array' && typeof key === 'number' && def.element) visit(def.element, tail);
  };
  visit(schema, path);
  return found;
}

/** The leaf types (string, number, ...) the schema accepts at a key path. */
export function leafTypesAt(schema: Schema, path: readonly (string | number)[]): Set<string> {
  return new Set(definitionsAt(schema, path).map((def) => def.type));
}

/** The keys an object at a key path may have (those of every object option of a union there). */
export function keysAt(schema: Schema, path: readonly PropertyKey[]): Set<string> {
  return new Set(definitionsAt(schema, path).flatMap((def) => Object.keys(def.shape ?? {})));
}

/** The keys of an object schema (or of the object option of a union). */
export function objectShapeOf(def: SchemaDef): Record<string, Schema> | undefined {
  if (def.type === 'object') return def.shape;
  for (const option of def.options ?? []) {
    const shape = objectShapeOf(unwrap(option).def);
    if (shape) return shape;
  }
  return undefined;
}

/** The element schema of a list of objects (or of the list option of a union). */
export function objectListElementOf(def: SchemaDef): Schema | undefined {
  if (def.type === 'array' && def.element && objectShapeOf(unwrap(def.element).def)) return def.element;
  for (const option of def.options ?? []) {
    const element = objectListElementOf(unwrap(option).def);
    if (element) return element;
  }
  return undefined;
}

/** A short human name of the type: "string", "list of string", "`a` \| `b`". */
export function typeName(schema: Schema): string {
  const { def } = unwrap(schema);
  switch (def.type) {
    case 'array':
      return `list of ${typeName(def.element as Schema)}`;
    case 'record':
      return `mapping to ${typeName(def.valueType as Schema)}`;
    case 'union':
      return [...new Set((def.options ?? []).map(typeName))].join(' or ');
    case 'enum':
      return Object.values(def.entries ?? {})
        .map((v) => `\`${v}\``)
        .join(' \\| ');
    case 'literal':
      return (def.values ?? []).map((v) => `\`${String(v)}\``).join(' \\| ');
    default:
      return def.type;
  }
}
