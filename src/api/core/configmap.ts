// core/v1 ConfigMap.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { configMapKeyErrors, forbidden, invalid, jsonEqual, tooLong } from '../validation.js';

/** Upstream's MaxSecretSize, which also bounds ConfigMaps. */
export const MAX_DATA_SIZE = 1024 * 1024;

/** Immutable ConfigMaps/Secrets: data may not change and immutable may not be unset. */
export function validateImmutableData(obj: KObject, old: KObject, dataFields: string[]): FieldError[] {
  const out: FieldError[] = [];
  if (old.immutable !== true) return out;
  if (obj.immutable !== true) out.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of dataFields)
    if (!jsonEqual(obj[f] ?? {}, old[f] ?? {})) out.push(forbidden(f, 'field is immutable when `immutable` is set'));
  return out;
}

function validateConfigMap(cm: KObject, old?: KObject): FieldError[] {
  const out: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries<any>(cm.data ?? {})) {
    for (const e of configMapKeyErrors(k)) out.push(invalid(`data[${k}]`, k, e));
    if (typeof v !== 'string') out.push(invalid(`data[${k}]`, v, 'must be a string'));
    else size += Buffer.byteLength(v);
  }
  for (const [k, v] of Object.entries<any>(cm.binaryData ?? {})) {
    for (const e of configMapKeyErrors(k)) out.push(invalid(`binaryData[${k}]`, k, e));
    if (cm.data && k in cm.data) out.push(invalid('binaryData', k, 'duplicate of key present in data'));
    if (typeof v === 'string') size += Buffer.from(v, 'base64').length;
  }
  if (size > MAX_DATA_SIZE) out.push(tooLong('', MAX_DATA_SIZE));
  if (old) out.push(...validateImmutableData(cm, old, ['data', 'binaryData']));
  return out;
}

export const configmaps: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  validate: validateConfigMap,
  columns: [
    { name: 'Data', type: 'string', description: 'Data contains the configuration data.', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  row: (cm) => [
    Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length,
    age(cm.metadata?.creationTimestamp),
  ],
};
