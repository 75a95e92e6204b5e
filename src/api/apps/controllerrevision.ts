// apps/v1 ControllerRevision: immutable snapshots of a controller's template (StatefulSet, DaemonSet history).
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { required, validateImmutable, validateNonnegative } from '../validation.js';
import { age } from '../printers.js';
import { AGE_COLUMN } from './common.js';

export function validateControllerRevision(obj: KObject, old?: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (obj.data == null) errs.push(required('data', 'data is mandatory'));
  errs.push(...validateNonnegative(obj.revision, 'revision'));
  if (old) errs.push(...validateImmutable(obj.data, old.data, 'data'));
  return errs;
}

/** "statefulset.apps/web" for the controlling owner, as upstream's formatResourceName. */
function controllerName(obj: KObject): string {
  const ref = (obj.metadata?.ownerReferences ?? []).find((r) => r.controller);
  if (!ref) return '<none>';
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  const kind = group ? `${ref.kind}.${group}` : ref.kind;
  return kind ? `${kind.toLowerCase()}/${ref.name}` : ref.name;
}

export const controllerrevisions: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  validate: validateControllerRevision,
  columns: [
    { name: 'Controller', type: 'string', description: 'Controller of the object', priority: 0 },
    { name: 'Revision', type: 'string', description: 'Revision indicates the revision of the state represented by Data.', priority: 0 },
    AGE_COLUMN,
  ],
  row: (obj) => [controllerName(obj), obj.revision ?? 0, age(obj.metadata?.creationTimestamp)],
};
