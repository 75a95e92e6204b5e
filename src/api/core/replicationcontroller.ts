// core/v1 ReplicationController: the ReplicaSet's predecessor, with a plain label map as
// selector (defaulted from the template's labels).
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { invalid, required, validateLabels, validateNonnegative } from '../validation.js';
import {
  REPLICAS_SCALE,
  defaultPodTemplate,
  prepareCreateWithStatus,
  prepareUpdateWithStatus,
  replicaCountCells,
  templateCells,
  templateColumns,
  validateAlwaysRestart,
  validatePodTemplate,
} from '../apps/common.js';

/** Upstream SetDefaults_ReplicationController. */
export function defaultReplicationController(obj: KObject): void {
  const spec = (obj.spec ??= {});
  const labels = spec.template?.metadata?.labels;
  if (labels) {
    if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = { ...labels };
    const meta = (obj.metadata ??= {});
    if (!meta.labels || Object.keys(meta.labels).length === 0) meta.labels = { ...labels };
  }
  spec.replicas ??= 1;
  defaultPodTemplate(spec.template);
}

/** A map selector selects labels that carry every pair (an empty one selects nothing here). */
export function mapSelectorMatches(sel: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(sel ?? {});
  if (!entries.length) return false;
  return entries.every(([k, v]) => labels?.[k] === v);
}

/** "a=b,c=d", keys sorted (labels.SelectorFromSet(...).String()). */
export function formatMapSelector(sel: Record<string, string> | undefined): string {
  const keys = Object.keys(sel ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${sel![k]}`).join(',') : '<none>';
}

// Unlike a ReplicaSet's, an RC's selector may change on update (upstream allows it).
export function validateReplicationController(obj: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  const sel = spec.selector;
  if (!sel || Object.keys(sel).length === 0) errs.push(required('spec.selector', ''));
  else errs.push(...validateLabels(sel, 'spec.selector'));
  if (spec.template == null) errs.push(required('spec.template', ''));
  else {
    const labels = spec.template.metadata?.labels ?? {};
    if (sel && Object.keys(sel).length && !mapSelectorMatches(sel, labels))
      errs.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
    errs.push(...validatePodTemplate(spec.template, 'spec.template'));
    errs.push(...validateAlwaysRestart(spec.template, 'ReplicationController'));
  }
  return errs;
}

export const replicationcontrollers: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  namespaced: true,
  shortNames: ['rc'],
  categories: ['all'],
  subresources: {
    status: true,
    scale: REPLICAS_SCALE,
  },
  defaults: defaultReplicationController,
  validate: validateReplicationController,
  prepareForCreate: prepareCreateWithStatus,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: [
    { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired replicas.', priority: 0 },
    { name: 'Current', type: 'integer', description: 'Replicas is the most recently observed number of replicas.', priority: 0 },
    { name: 'Ready', type: 'integer', description: 'The number of ready replicas for this replication controller.', priority: 0 },
    ...templateColumns('Selector is a label query over pods that should match the Replicas count.'),
  ],
  row: (obj) => [...replicaCountCells(obj), ...templateCells(obj, obj.spec?.template?.spec, formatMapSelector(obj.spec?.selector))],
  fieldSelectors: {
    'status.replicas': (obj) => String(obj.status?.replicas ?? 0),
  },
};
