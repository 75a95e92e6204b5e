// The parsed schema model of the built-in kinds: definitions (from defs.generated.ts) with their
// list/map metadata (from lists.ts). Parsed lazily on first use and shared by the OpenAPI
// documents, strategic merge patch, server-side apply and unknown-field detection.
import { DEFS } from './defs.generated.js';
import { LIST_META } from './lists.js';

export type FieldType =
  | { t: 'scalar'; name: Scalar }
  | { t: 'ref'; key: string }
  | { t: 'array'; items: FieldType }
  | { t: 'map'; values: FieldType };

/** s string, i32/i64 integer, f64 number, b boolean, byte base64, time/mtime, ios IntOrString, qty Quantity, any free-form. */
export type Scalar = 's' | 'i32' | 'i64' | 'f64' | 'b' | 'byte' | 'time' | 'mtime' | 'ios' | 'qty' | 'any';
const SCALARS = new Set<string>(['s', 'i32', 'i64', 'f64', 'b', 'byte', 'time', 'mtime', 'ios', 'qty', 'any']);

export interface FieldMeta {
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
  patchStrategy?: string; // 'merge' | 'retainKeys' | 'merge,retainKeys'
  mergeKey?: string;
}

export interface Field {
  name: string;
  type: FieldType;
  required: boolean;
  meta?: FieldMeta;
}

export interface Definition {
  key: string; // "core.v1.Pod"
  fields: Map<string, Field>;
}

let parsed: Map<string, Definition> | undefined;

/** All definitions by key ("core.v1.Container", "meta.v1.ObjectMeta", ...). */
export function definitions(): Map<string, Definition> {
  if (parsed) return parsed;
  parsed = new Map();
  for (const [key, spec] of Object.entries(DEFS)) {
    const fields = new Map<string, Field>();
    for (const part of spec.split(' ')) {
      if (!part) continue;
      const colon = part.indexOf(':');
      let name = part.slice(0, colon);
      const required = name.endsWith('!');
      if (required) name = name.slice(0, -1);
      const field: Field = { name, type: parseType(part.slice(colon + 1)), required };
      const meta = LIST_META[key + '.' + name];
      if (meta) field.meta = parseMeta(meta);
      fields.set(name, field);
    }
    parsed.set(key, { key, fields });
  }
  return parsed;
}

export function definition(key: string): Definition | undefined {
  return definitions().get(key);
}

function parseType(s: string): FieldType {
  if (s.startsWith('[')) return { t: 'array', items: parseType(s.slice(1, -1)) };
  if (s.startsWith('{')) return { t: 'map', values: parseType(s.slice(1, -1)) };
  if (SCALARS.has(s)) return { t: 'scalar', name: s as Scalar };
  return { t: 'ref', key: s };
}

function parseMeta(s: string): FieldMeta {
  const meta: FieldMeta = {};
  for (const tok of s.split(' ')) {
    const [word, arg] = tok.split(':');
    if (word === 'atomic' || word === 'set') meta.listType = word;
    else if (word === 'map') {
      meta.listType = 'map';
      meta.mapKeys = arg.split(',');
    } else {
      meta.patchStrategy = word;
      if (arg) meta.mergeKey = arg;
    }
  }
  return meta;
}

// API group -> the package segment of definition keys.
const GROUP_PKG: Record<string, string> = {
  '': 'core',
  apps: 'apps',
  batch: 'batch',
  autoscaling: 'autoscaling',
  policy: 'policy',
  'coordination.k8s.io': 'coordination',
  'discovery.k8s.io': 'discovery',
  'events.k8s.io': 'events',
  'scheduling.k8s.io': 'scheduling',
  'rbac.authorization.k8s.io': 'rbac',
  'storage.k8s.io': 'storage',
  'meta.k8s.io': 'meta',
};

/** The definition key of a kind, e.g. ('apps','v1','Deployment') -> 'apps.v1.Deployment'. */
export function keyForKind(group: string, version: string, kind: string): string | undefined {
  const pkg = GROUP_PKG[group] ?? group.split('.')[0];
  const key = `${pkg}.${version}.${kind}`;
  if (definitions().has(key)) return key;
  const meta = `meta.v1.${kind}`; // Status, DeleteOptions... are served in every group version
  return definitions().has(meta) ? meta : undefined;
}

/** Upstream OpenAPI definition name of a key: 'core.v1.Pod' -> 'io.k8s.api.core.v1.Pod'. */
export function openapiName(key: string): string {
  if (key.startsWith('meta.')) return 'io.k8s.apimachinery.pkg.apis.' + key;
  return 'io.k8s.api.' + key;
}

/** Names of the shared scalar definitions upstream refers to (rather than inlining). */
export const SCALAR_DEFS: Partial<Record<Scalar, string>> = {
  time: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  mtime: 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
  ios: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  qty: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
};

/** Walks field names from a definition; list and map levels are passed through. */
export function fieldAtPath(key: string, path: readonly string[]): Field | undefined {
  let def = definition(key);
  let field: Field | undefined;
  for (const name of path) {
    if (!def) return undefined;
    field = def.fields.get(name);
    if (!field) return undefined;
    def = refOf(field.type);
  }
  return field;
}

/** The definition an (array/map of) ref type leads to. */
export function refOf(type: FieldType): Definition | undefined {
  while (type.t === 'array' || type.t === 'map') type = type.t === 'array' ? type.items : type.values;
  return type.t === 'ref' ? definition(type.key) : undefined;
}
