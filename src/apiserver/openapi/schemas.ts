// Turns the schema model (src/api/schema) into OpenAPI schema objects, for v2 ("#/definitions/")
// and v3 ("#/components/schemas/") documents.
import { definition, openapiName, SCALAR_DEFS, type Definition, type FieldType, type Scalar } from '../../api/schema/index.js';

export type Flavor = 'v2' | 'v3';
export type GVK = { group: string; version: string; kind: string };

export function refPrefix(flavor: Flavor): string {
  return flavor === 'v2' ? '#/definitions/' : '#/components/schemas/';
}

const SCALAR_SCHEMAS: Record<Scalar, object> = {
  s: { type: 'string' },
  i32: { type: 'integer', format: 'int32' },
  i64: { type: 'integer', format: 'int64' },
  f64: { type: 'number', format: 'double' },
  b: { type: 'boolean' },
  byte: { type: 'string', format: 'byte' },
  any: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  // Shared definitions, referenced by name.
  time: { type: 'string', format: 'date-time' },
  mtime: { type: 'string', format: 'date-time' },
  ios: { type: 'string', format: 'int-or-string' },
  qty: { type: 'string' },
};

/** Schema of a field type; collects the named definitions it refers to into used. */
export function typeSchema(type: FieldType, flavor: Flavor, used: Set<string>): Record<string, unknown> {
  switch (type.t) {
    case 'scalar': {
      const shared = SCALAR_DEFS[type.name];
      if (shared) {
        used.add(shared);
        return { $ref: refPrefix(flavor) + shared };
      }
      return { ...SCALAR_SCHEMAS[type.name] };
    }
    case 'ref':
      used.add(type.key);
      return { $ref: refPrefix(flavor) + openapiName(type.key) };
    case 'array':
      return { type: 'array', items: typeSchema(type.items, flavor, used) };
    case 'map':
      return { type: 'object', additionalProperties: typeSchema(type.values, flavor, used) };
  }
}

/** Schema of a definition (its object type with properties and list metadata). */
export function definitionSchema(def: Definition, flavor: Flavor, used: Set<string>, gvks?: GVK[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const f of def.fields.values()) {
    const s = typeSchema(f.type, flavor, used);
    if (f.meta) {
      if (f.meta.listType) s['x-kubernetes-list-type'] = f.meta.listType;
      if (f.meta.mapKeys) s['x-kubernetes-list-map-keys'] = f.meta.mapKeys;
      if (f.meta.patchStrategy) s['x-kubernetes-patch-strategy'] = f.meta.patchStrategy;
      if (f.meta.mergeKey) s['x-kubernetes-patch-merge-key'] = f.meta.mergeKey;
    }
    // v3 cannot put siblings next to $ref: wrap refs that carry extensions.
    if (flavor === 'v3' && s.$ref && Object.keys(s).length > 1) {
      const { $ref, ...rest } = s;
      properties[f.name] = { allOf: [{ $ref }], ...rest };
    } else properties[f.name] = s;
    if (f.required) required.push(f.name);
  }
  const out: Record<string, unknown> = { description: '', type: 'object', properties };
  if (required.length) out.required = required;
  if (gvks?.length) out['x-kubernetes-group-version-kind'] = gvks;
  return out;
}

/**
 * Schemas of the shared scalar definitions (Time, MicroTime, IntOrString, Quantity). In v3,
 * IntOrString and Quantity are one-of types without a "type", so kubectl explain names them.
 */
export function scalarDefinitionSchemas(flavor: Flavor): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [scalar, name] of Object.entries(SCALAR_DEFS) as [Scalar, string][]) {
    out[name] = { description: '', ...SCALAR_SCHEMAS[scalar] };
  }
  if (flavor === 'v3') {
    out[SCALAR_DEFS.ios!] = { description: '', format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] };
    out[SCALAR_DEFS.qty!] = { description: '', oneOf: [{ type: 'string' }, { type: 'number' }] };
  }
  return out;
}

/** The closure of definitions reachable from roots (keys), as OpenAPI schemas by upstream name. */
export function collectSchemas(roots: Iterable<string>, flavor: Flavor, gvksOf: (key: string) => GVK[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const scalars = scalarDefinitionSchemas(flavor) as Record<string, unknown>;
  const pending = [...roots];
  const seen = new Set<string>();
  while (pending.length) {
    const key = pending.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    if (key in scalars) {
      out[key] = scalars[key];
      continue;
    }
    const def = definition(key);
    if (!def) continue;
    const used = new Set<string>();
    out[openapiName(key)] = definitionSchema(def, flavor, used, gvksOf(key));
    for (const u of used) if (!seen.has(u)) pending.push(u);
  }
  // Patch bodies are free-form.
  out['io.k8s.apimachinery.pkg.apis.meta.v1.Patch'] = { description: '', type: 'object' };
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
