// Pieces shared by the workload kinds (apps, batch) and the other non-core groups:
// status/generation strategy hooks, pod template checks, and common table columns.
import type { FieldError, KObject, ScaleSpec, TableColumn } from '../types.js';
import { age, containerCells } from '../printers.js';
import {
  forbidden,
  invalid,
  labelSelectorEmpty,
  labelSelectorMatches,
  notSupported,
  required,
  semanticEqual,
  validateAnnotations,
  validateLabels,
  validateLabelSelector,
} from '../validation.js';
import { defaultPodSpec, validatePodSpec } from '../core/podspec.js';

// ---- strategy ----

/** PrepareForCreate of kinds with a status subresource: status cleared, generation 1. */
export function prepareCreateWithStatus(obj: KObject): void {
  obj.status = {};
  obj.metadata ??= {};
  obj.metadata.generation = 1;
}

/**
 * PrepareForUpdate of kinds with a status subresource: the main resource cannot write status,
 * and generation moves only when the spec (or what `changed` reports) changes.
 */
export function prepareUpdateWithStatus(obj: KObject, old: KObject, changed?: boolean): void {
  obj.status = old.status;
  obj.metadata ??= {};
  const oldGen = old.metadata?.generation ?? 1;
  const specChanged = changed ?? !semanticEqual(obj.spec, old.spec);
  obj.metadata.generation = specChanged ? oldGen + 1 : oldGen;
}

/** The scale subresource of the replica-counted kinds (spec.replicas, status.replicas, spec.selector). */
export const REPLICAS_SCALE: ScaleSpec = { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', selectorPath: 'spec.selector' };

// ---- pod templates ----

/** Defaults a pod template's spec with core's pod defaulting (SetDefaults_PodSpec). */
export function defaultPodTemplate(template: any): void {
  if (template?.spec) defaultPodSpec(template.spec);
}

/**
 * Validates a pod template (at path, e.g. "spec.template"): labels, annotations, and the pod spec
 * with core's pod spec validation.
 */
export function validatePodTemplate(template: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (template == null || typeof template !== 'object') return [required(path, '')];
  const meta = template.metadata ?? {};
  errs.push(...validateLabels(meta.labels, `${path}.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  // restartPolicy is left to the callers: each controller narrows it differently.
  errs.push(...validatePodSpec(template.spec, `${path}.spec`));
  return errs;
}

/** The selector checks every apps/v1 controller does (required, non-empty, matches the template). */
export function validateSelectorAndTemplate(spec: any, kindWord: string, path = 'spec', selectorRequired = true): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec?.selector;
  if (sel == null) {
    if (selectorRequired) errs.push(required(`${path}.selector`, ''));
  } else {
    errs.push(...validateLabelSelector(sel, `${path}.selector`));
    if (labelSelectorEmpty(sel)) errs.push(invalid(`${path}.selector`, sel, `empty selector is invalid for ${kindWord}`));
  }
  const template = spec?.template;
  // A missing selector matches nothing (upstream's labels.Nothing()), an empty one everything.
  const mismatch = sel == null || (!labelSelectorEmpty(sel) && !labelSelectorMatches(sel, template?.metadata?.labels));
  if (mismatch) {
    errs.push(invalid(`${path}.template.metadata.labels`, template?.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
  }
  return errs;
}

/** Long-running controllers' pods: restartPolicy Always, no activeDeadlineSeconds. */
export function validateAlwaysRestart(template: any, kindName: string, path = 'spec.template'): FieldError[] {
  const errs: FieldError[] = [];
  const policy = template?.spec?.restartPolicy ?? 'Always';
  if (policy !== 'Always') errs.push(notSupported(`${path}.spec.restartPolicy`, policy, ['Always']));
  if (template?.spec?.activeDeadlineSeconds != null)
    errs.push(forbidden(`${path}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${kindName} is not Supported`));
  return errs;
}

// ---- table columns ----

export const AGE_COLUMN: TableColumn = {
  name: 'Age',
  type: 'string',
  description: 'Time since the object was created (metadata.creationTimestamp).',
  priority: 0,
};
export const CONTAINERS_COLUMN: TableColumn = {
  name: 'Containers',
  type: 'string',
  description: 'Names of each container in the template.',
  priority: 1,
};
export const IMAGES_COLUMN: TableColumn = {
  name: 'Images',
  type: 'string',
  description: 'Images referenced by each container in the template.',
  priority: 1,
};
export function selectorColumn(description = 'Label selector for the pods.'): TableColumn {
  return { name: 'Selector', type: 'string', description, priority: 1 };
}

/**
 * The columns a workload table ends with: Age, then (wide) the template's Containers and Images
 * and, when a description is given, the Selector.
 */
export function templateColumns(selectorDescription?: string): TableColumn[] {
  const cols = [AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN];
  return selectorDescription === undefined ? cols : [...cols, selectorColumn(selectorDescription)];
}

/** Desired, Current and Ready cells of the ReplicaSet and ReplicationController tables. */
export function replicaCountCells(obj: KObject): number[] {
  return [obj.spec?.replicas ?? 0, obj.status?.replicas ?? 0, obj.status?.readyReplicas ?? 0];
}

/** The cells of templateColumns: obj's age, podSpec's container names and images, the selector as printed. */
export function templateCells(obj: KObject, podSpec: any, selector?: string): unknown[] {
  const [names, images] = containerCells(podSpec);
  const cells = [age(obj.metadata?.creationTimestamp), names, images];
  if (selector !== undefined) cells.push(selector);
  return cells;
}

/** The default table of kinds without a printer upstream (NAME, CREATED AT). */
export const CREATED_AT_COLUMN: TableColumn = {
  name: 'Created At',
  type: 'date',
  description: 'Time the object was created (metadata.creationTimestamp).',
  priority: 0,
};

/** Cell for CREATED_AT_COLUMN: RFC 3339 in UTC, as the default table convertor prints it. */
export function createdAtCell(obj: KObject): string {
  const ts = obj.metadata?.creationTimestamp;
  if (!ts) return '';
  const d = new Date(ts);
  return isNaN(d.getTime()) ? ts : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
