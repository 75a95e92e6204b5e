// The protobuf schema of the built-in kinds, compiled lazily (per message, on first use) from the
// compact generated table. Keys are "<package>.<version>.<Message>" ("core.v1.Pod", "meta.v1.ObjectMeta")
// plus the unversioned apimachinery packages ("intstr.IntOrString", "resource.Quantity", "runtime.Unknown").
import { PROTO_MESSAGES } from './schema.generated.js';

export type ScalarType = 's' | 'b' | 'i32' | 'i64' | 'y';

/** Messages whose JSON form is not an object of their fields. */
export type SpecialType =
  | 'time' // meta.v1.Time: RFC3339 seconds, null when zero
  | 'microtime' // meta.v1.MicroTime: RFC3339 with microseconds
  | 'duration' // meta.v1.Duration: Go duration string
  | 'intorstring' // intstr.IntOrString: number or string
  | 'quantity' // resource.Quantity: its string
  | 'rawjson' // runtime.RawExtension, meta.v1.FieldsV1: the embedded JSON document
  | 'stringlist'; // meta.v1.Verbs, ExtraValue: a Go []string type, a JSON array

const SPECIAL: Record<string, SpecialType> = {
  'meta.v1.Time': 'time',
  'meta.v1.MicroTime': 'microtime',
  'meta.v1.Duration': 'duration',
  'intstr.IntOrString': 'intorstring',
  'resource.Quantity': 'quantity',
  'resource.QuantityValue': 'quantity',
  'runtime.RawExtension': 'rawjson',
  'meta.v1.FieldsV1': 'rawjson',
  'meta.v1.Verbs': 'stringlist',
  'authentication.v1.ExtraValue': 'stringlist',
  'authorization.v1.ExtraValue': 'stringlist',
};

export interface FieldDef {
  number: number;
  /** JSON name; unused when inline. */
  name: string;
  /** An embedded Go struct (`json:",inline"`): its fields belong to the parent JSON object. */
  inline: boolean;
  repeated: boolean;
  /** map<string, T>; scalar/message describe T. */
  map: boolean;
  scalar?: ScalarType;
  /** Message key of the field (or map value) type. */
  message?: string;
  /** Resolved on first use. */
  def?: MessageDef;
}

export interface MessageDef {
  key: string;
  special?: SpecialType;
  fields: FieldDef[];
  /** Field by protobuf number (sparse). */
  byNumber: (FieldDef | undefined)[];
  /** Field by JSON name (inline fields excluded). */
  byName: Map<string, FieldDef>;
}

const SCALARS = new Set(['s', 'b', 'i32', 'i64', 'y']);
const compiled = new Map<string, MessageDef>();

/** The compiled schema of a message key, or undefined if the table has no such message. */
export function messageDef(key: string): MessageDef | undefined {
  let def = compiled.get(key);
  if (def) return def;
  const spec = PROTO_MESSAGES[key];
  if (spec === undefined) return undefined;
  def = { key, special: SPECIAL[key], fields: [], byNumber: [], byName: new Map() };
  for (const part of spec.split(' ')) {
    if (!part) continue;
    const c1 = part.indexOf(':');
    const c2 = part.indexOf(':', c1 + 1);
    const number = Number(part.slice(0, c1));
    const name = part.slice(c1 + 1, c2);
    let type = part.slice(c2 + 1);
    const repeated = type[0] === '[';
    const map = type[0] === '{';
    if (repeated || map) type = type.slice(1, -1);
    const field: FieldDef = { number, name, inline: name === '*', repeated, map };
    if (SCALARS.has(type)) field.scalar = type as ScalarType;
    else field.message = type;
    def.fields.push(field);
    def.byNumber[number] = field;
    if (!field.inline) def.byName.set(name, field);
  }
  compiled.set(key, def);
  return def;
}

/** The message definition a message-typed field refers to. */
export function fieldMessage(field: FieldDef): MessageDef {
  if (field.def) return field.def;
  const def = messageDef(field.message!);
  if (!def) throw new Error(`protobuf schema: unknown message type ${field.message}`);
  return (field.def = def);
}

// API group -> schema package.
const GROUP_PACKAGE: Record<string, string> = {
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
  'authentication.k8s.io': 'authentication',
  'authorization.k8s.io': 'authorization',
  'networking.k8s.io': 'networking',
  'meta.k8s.io': 'meta',
};

/**
 * The message key of a kind in an apiVersion ("apps/v1", "Deployment" -> "apps.v1.Deployment").
 * Options and Status kinds (DeleteOptions, Status, ...) are served in every group version, as upstream does.
 */
export function keyForKind(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const pkg = GROUP_PACKAGE[group];
  if (pkg !== undefined && version && kind) {
    const key = `${pkg}.${version}.${kind}`;
    if (PROTO_MESSAGES[key] !== undefined) return key;
  }
  if (kind) {
    const meta = `meta.v1.${kind}`;
    if (PROTO_MESSAGES[meta] !== undefined) return meta;
  }
  return undefined;
}
