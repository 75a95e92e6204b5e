// Strict field validation of built-in kinds: fields the schema does not declare.
import { definition, keyForKind, type Definition, type FieldType } from './model.js';

/**
 * Messages for every field of obj not declared by the kind's schema, in document order, worded as
 * upstream's strict decoding reports them: `unknown field "spec.containers[0].imagee"`.
 * Free-form fields (RawExtension, FieldsV1, ...) accept anything. Unknown kinds yield [].
 */
export function unknownFields(group: string, version: string, kind: string, obj: any, prune = false): string[] {
  const key = keyForKind(group, version, kind);
  const def = key ? definition(key) : undefined;
  const out: string[] = [];
  if (def && isObject(obj)) walkObject(def, obj, '', out, prune);
  return out.map((p) => `unknown field "${p}"`);
}

/** prune: also delete the unknown fields (what upstream's decoder does outside Strict mode). */
function walkObject(def: Definition, obj: Record<string, unknown>, prefix: string, out: string[], prune: boolean): void {
  for (const name of Object.keys(obj)) {
    const path = prefix ? prefix + '.' + name : name;
    const field = def.fields.get(name);
    if (!field) {
      out.push(path);
      if (prune) delete obj[name];
    } else walkValue(field.type, obj[name], path, out, prune);
  }
}

function walkValue(type: FieldType, value: unknown, path: string, out: string[], prune: boolean): void {
  if (value === null || value === undefined) return;
  switch (type.t) {
    case 'scalar':
      return;
    case 'ref': {
      const def = definition(type.key);
      if (def && isObject(value)) walkObject(def, value, path, out, prune);
      return;
    }
    case 'array':
      if (Array.isArray(value)) value.forEach((v, i) => walkValue(type.items, v, `${path}[${i}]`, out, prune));
      return;
    case 'map':
      if (isObject(value)) for (const k of Object.keys(value)) walkValue(type.values, value[k], `${path}[${k}]`, out, prune);
      return;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
