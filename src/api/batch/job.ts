// batch/v1 Job: defaults, generated selector, validation and table as upstream.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import {
  invalid,
  labelSelectorMatches,
  notSupported,
  required,
  semanticEqual,
  validateImmutable,
  validateLabelSelector,
  validateNonnegative,
  dns1123LabelErrors,
} from '../validation.js';
import { formatLabelSelector, humanDuration } from '../printers.js';
import {
  defaultPodTemplate,
  prepareCreateWithStatus,
  prepareUpdateWithStatus,
  templateCells,
  templateColumns,
  validatePodTemplate,
} from '../apps/common.js';

/** Labels the API server puts on a Job's pod template (and selects on) unless manualSelector. */
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';

const MAX_PARALLELISM_INDEXED = 100_000;

export function defaultJob(obj: KObject): void {
  const spec = (obj.spec ??= {});
  if (spec.completions == null && spec.parallelism == null) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= spec.backoffLimitPerIndex != null ? 2147483647 : 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  for (const rule of spec.podFailurePolicy?.rules ?? [])
    for (const pattern of rule?.onPodConditions ?? []) pattern.status ||= 'True';
  spec.podReplacementPolicy ??= spec.podFailurePolicy != null ? 'Failed' : 'TerminatingOrFailed';
  // A Job without labels takes its template's (upstream shares the map, so the labels generated
  // on create show up on the Job as well: see generateJobSelector).
  const tl = spec.template?.metadata?.labels;
  obj.metadata ??= {};
  if (tl && Object.keys(obj.metadata.labels ?? {}).length === 0) obj.metadata.labels = { ...tl };
  defaultPodTemplate(spec.template);
}

/**
 * Upstream's generateSelector: label the template with the job name and uid (new and legacy keys,
 * keeping any the user set) and select on batch.kubernetes.io/controller-uid. Needs metadata.uid.
 */
export function generateJobSelector(obj: KObject): void {
  const spec = (obj.spec ??= {});
  const template = (spec.template ??= {});
  const tmeta = (template.metadata ??= {});
  const jobLabelsShared = tmeta.labels != null && semanticEqual(obj.metadata?.labels, tmeta.labels);
  const labels: Record<string, string> = (tmeta.labels ??= {});
  const name = obj.metadata?.name ?? '';
  const uid = obj.metadata?.uid ?? '';
  for (const k of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(k in labels)) labels[k] = name;
  for (const k of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(k in labels)) labels[k] = uid;
  const sel = (spec.selector ??= {});
  const ml = (sel.matchLabels ??= {});
  if (!(CONTROLLER_UID_LABEL in ml)) ml[CONTROLLER_UID_LABEL] = uid;
  // The Job carries the same labels as its template when it had none of its own (see defaultJob).
  if (jobLabelsShared || Object.keys(obj.metadata?.labels ?? {}).length === 0) obj.metadata!.labels = { ...labels };
}

export function prepareJobCreate(obj: KObject): void {
  obj.spec ??= {};
  obj.spec.manualSelector ??= false;
  if (obj.spec.manualSelector !== true) generateJobSelector(obj);
  prepareCreateWithStatus(obj);
}

/** Checks shared by Jobs and CronJob job templates (upstream validateJobSpec), at path. */
export function validateJobSpecCommon(spec: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.parallelism, `${path}.parallelism`));
  errs.push(...validateNonnegative(spec.completions, `${path}.completions`));
  errs.push(...validateNonnegative(spec.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...validateNonnegative(spec.backoffLimit, `${path}.backoffLimit`));
  errs.push(...validateNonnegative(spec.ttlSecondsAfterFinished, `${path}.ttlSecondsAfterFinished`));
  const mode = spec.completionMode;
  if (spec.backoffLimitPerIndex != null) {
    errs.push(...validateNonnegative(spec.backoffLimitPerIndex, `${path}.backoffLimitPerIndex`));
    if (mode !== 'Indexed') errs.push(invalid(`${path}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, 'requires indexed completion mode'));
  }
  if (mode != null) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') errs.push(notSupported(`${path}.completionMode`, mode, ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (spec.completions == null) errs.push(required(`${path}.completions`, 'when completion mode is Indexed'));
      if (spec.parallelism != null && spec.parallelism > MAX_PARALLELISM_INDEXED)
        errs.push(invalid(`${path}.parallelism`, spec.parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
    }
  }
  if (spec.podReplacementPolicy != null && !['Failed', 'TerminatingOrFailed'].includes(spec.podReplacementPolicy))
    errs.push(notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ['Failed', 'TerminatingOrFailed']));
  const tp = `${path}.template`;
  errs.push(...validatePodTemplate(spec.template, tp));
  // Pods of a Job run to completion; upstream defaulting turns a missing policy into Always.
  const policy = spec.template?.spec?.restartPolicy || 'Always';
  if (policy !== 'OnFailure' && policy !== 'Never') errs.push(notSupported(`${tp}.spec.restartPolicy`, policy, ['OnFailure', 'Never']));
  return errs;
}

function validateGeneratedSelector(obj: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  if (spec.manualSelector === true || spec.selector == null) return [];
  const errs: FieldError[] = [];
  const uid = obj.metadata?.uid ?? '';
  if (!uid) errs.push(required('metadata.uid', ''));
  const labels = spec.template?.metadata?.labels;
  if (labels == null) {
    errs.push(required('spec.template.metadata.labels', '`selector` not auto-generated'));
  } else if (labels[CONTROLLER_UID_LABEL] !== uid) {
    errs.push(invalid('spec.template.metadata', labels, '`selector` not auto-generated'));
  }
  if (!semanticEqual(spec.selector, { matchLabels: { [CONTROLLER_UID_LABEL]: uid } }))
    errs.push(invalid('spec.selector', spec.selector, '`selector` not auto-generated'));
  return errs;
}

/** Template fields a suspended Job that never started may still change (scheduling directives). */
function withoutSchedulingDirectives(template: any): any {
  const t = structuredClone(template ?? {});
  if (t.metadata) {
    delete t.metadata.labels;
    delete t.metadata.annotations;
  }
  if (t.spec) for (const k of ['nodeSelector', 'tolerations', 'affinity', 'schedulingGates']) delete t.spec[k];
  return t;
}

export function validateJob(obj: KObject, old?: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateGeneratedSelector(obj));
  errs.push(...validateJobSpecCommon(spec, 'spec'));
  if (spec.selector == null) errs.push(required('spec.selector', ''));
  else errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  if (spec.selector != null && !labelSelectorMatches(spec.selector, spec.template?.metadata?.labels))
    errs.push(invalid('spec.template.metadata.labels', spec.template?.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
  const name = obj.metadata?.name ?? '';
  if (spec.completionMode === 'Indexed' && spec.completions > 0) {
    const host = `${name}-${spec.completions - 1}`;
    if (dns1123LabelErrors(host).length > 0)
      errs.push(invalid('metadata.name', name, `will not able to create pod with invalid DNS label: ${host}`));
  }
  if (old) {
    const os = old.spec ?? {};
    // Completions may change only for "elastic" indexed jobs (completions kept equal to parallelism).
    const elastic = spec.completionMode === 'Indexed' && os.completions === os.parallelism && spec.completions === spec.parallelism;
    if (!elastic) errs.push(...validateImmutable(spec.completions, os.completions, 'spec.completions'));
    errs.push(...validateImmutable(spec.selector, os.selector, 'spec.selector'));
    const mutableDirectives = os.suspend === true && old.status?.startTime == null;
    const [a, b] = mutableDirectives ? [withoutSchedulingDirectives(spec.template), withoutSchedulingDirectives(os.template)] : [spec.template, os.template];
    if (!semanticEqual(a, b)) errs.push(invalid('spec.template', spec.template, 'field is immutable'));
    for (const k of ['completionMode', 'podFailurePolicy', 'backoffLimitPerIndex', 'managedBy', 'successPolicy'])
      errs.push(...validateImmutable(spec[k], os[k], `spec.${k}`));
  }
  return errs;
}

function hasCondition(obj: KObject, type: string): boolean {
  const c = (obj.status?.conditions ?? []).find((x: any) => x?.type === type);
  return c?.status === 'True';
}

/** The STATUS cell of `kubectl get jobs`. */
export function jobStatusCell(obj: KObject): string {
  if (hasCondition(obj, 'Complete')) return 'Complete';
  if (hasCondition(obj, 'Failed')) return 'Failed';
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(obj, 'Suspended')) return 'Suspended';
  if (hasCondition(obj, 'FailureTarget')) return 'FailureTarget';
  return 'Running';
}

function completionsCell(obj: KObject): string {
  const succeeded = obj.status?.succeeded ?? 0;
  const spec = obj.spec ?? {};
  if (spec.completions != null) return `${succeeded}/${spec.completions}`;
  const parallelism = spec.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationCell(obj: KObject): string {
  const start = obj.status?.startTime;
  if (!start) return '';
  const end = obj.status?.completionTime ? Date.parse(obj.status.completionTime) : Date.now();
  return humanDuration(end - Date.parse(start));
}

export const jobs: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  namespaced: true,
  categories: ['all'],
  subresources: { status: true },
  defaults: defaultJob,
  validate: validateJob,
  prepareForCreate: prepareJobCreate,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: [
    { name: 'Status', type: 'string', description: 'Status of the job.', priority: 0 },
    { name: 'Completions', type: 'string', description: 'The number of pods which reached phase Succeeded.', priority: 0 },
    { name: 'Duration', type: 'string', description: 'Time required to complete the job.', priority: 0 },
    ...templateColumns('A label query over pods that should match the pod count.'),
  ],
  row: (obj) => [
    jobStatusCell(obj),
    completionsCell(obj),
    durationCell(obj),
    ...templateCells(obj, obj.spec?.template?.spec, formatLabelSelector(obj.spec?.selector)),
  ],
  fieldSelectors: {
    'status.successful': (obj) => String(obj.status?.succeeded ?? 0),
  },
};
