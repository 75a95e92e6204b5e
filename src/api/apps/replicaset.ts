// apps/v1 ReplicaSet.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { validateImmutable, validateNonnegative } from '../validation.js';
import { formatLabelSelector } from '../printers.js';
import {
  REPLICAS_SCALE,
  replicaCountCells,
  defaultPodTemplate,
  prepareCreateWithStatus,
  prepareUpdateWithStatus,
  templateCells,
  templateColumns,
  validateAlwaysRestart,
  validatePodTemplate,
  validateSelectorAndTemplate,
} from './common.js';

export function defaultReplicaSet(obj: KObject): void {
  const spec = (obj.spec ??= {});
  spec.replicas ??= 1;
  defaultPodTemplate(spec.template);
}

export function validateReplicaSet(obj: KObject, old?: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  // Upstream reuses the deployment wording here.
  errs.push(...validateSelectorAndTemplate(spec, 'deployment'));
  errs.push(...validatePodTemplate(spec.template, 'spec.template'));
  errs.push(...validateAlwaysRestart(spec.template, 'ReplicaSet'));
  if (old) errs.push(...validateImmutable(spec.selector, old.spec?.selector, 'spec.selector'));
  return errs;
}

export const replicasets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  subresources: {
    status: true,
    scale: REPLICAS_SCALE,
  },
  defaults: defaultReplicaSet,
  validate: validateReplicaSet,
  prepareForCreate: prepareCreateWithStatus,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: [
    { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired pods.', priority: 0 },
    { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of non-terminating pods.', priority: 0 },
    { name: 'Ready', type: 'integer', description: 'The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.', priority: 0 },
    ...templateColumns('Selector is a label query over pods that should match the replica count.'),
  ],
  row: (obj) => [...replicaCountCells(obj), ...templateCells(obj, obj.spec?.template?.spec, formatLabelSelector(obj.spec?.selector))],
  fieldSelectors: {
    'status.replicas': (obj) => String(obj.status?.replicas ?? 0),
  },
};
