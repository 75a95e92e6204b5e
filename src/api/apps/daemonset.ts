// apps/v1 DaemonSet.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import {
  intOrPercentValue,
  invalid,
  notSupported,
  required,
  semanticEqual,
  validateImmutable,
  validateNonnegative,
  validateNotMoreThan100Percent,
  validatePositiveIntOrPercent,
} from '../validation.js';
import { formatLabelSelector, formatLabels } from '../printers.js';
import {
  defaultPodTemplate,
  prepareCreateWithStatus,
  prepareUpdateWithStatus,
  templateCells,
  templateColumns,
  validateAlwaysRestart,
  validatePodTemplate,
  validateSelectorAndTemplate,
} from './common.js';

/**
 * apps/v1 carries the internal spec.templateGeneration as this annotation; upstream sets it to 1
 * on create and increments it whenever the pod template changes.
 */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

export function defaultDaemonSet(obj: KObject): void {
  const spec = (obj.spec ??= {});
  const us = (spec.updateStrategy ??= {});
  us.type ||= 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = (us.rollingUpdate ??= {});
    ru.maxUnavailable ??= 1;
    ru.maxSurge ??= 0;
  }
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec.template);
}

function validateRollingUpdate(ru: any, p: string): FieldError[] {
  const errs: FieldError[] = [];
  errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
  errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
  errs.push(...validateNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
  errs.push(...validateNotMoreThan100Percent(ru.maxSurge, `${p}.maxSurge`));
  const hasUnavailable = (intOrPercentValue(ru.maxUnavailable) ?? 0) !== 0;
  const hasSurge = (intOrPercentValue(ru.maxSurge) ?? 0) !== 0;
  if (hasUnavailable && hasSurge) errs.push(invalid(`${p}.maxSurge`, ru.maxSurge, 'may not be set when maxUnavailable is non-zero'));
  else if (!hasUnavailable && !hasSurge) errs.push(required(`${p}.maxUnavailable`, 'cannot be 0 when maxSurge is 0'));
  return errs;
}

export function validateDaemonSet(obj: KObject, old?: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  // Upstream does not require the selector here: a missing one matches nothing, so it surfaces
  // as the template-labels mismatch.
  errs.push(...validateSelectorAndTemplate(spec, 'daemonset', 'spec', false));
  errs.push(...validatePodTemplate(spec.template, 'spec.template'));
  errs.push(...validateAlwaysRestart(spec.template, 'DaemonSet'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  const us = spec.updateStrategy ?? {};
  switch (us.type) {
    case 'OnDelete':
      break;
    case 'RollingUpdate':
      if (us.rollingUpdate == null) errs.push(required('spec.updateStrategy.rollingUpdate', ''));
      else errs.push(...validateRollingUpdate(us.rollingUpdate, 'spec.updateStrategy.rollingUpdate'));
      break;
    default:
      errs.push(notSupported('spec.updateStrategy', us, ['RollingUpdate', 'OnDelete']));
  }
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (old) errs.push(...validateImmutable(spec.selector, old.spec?.selector, 'spec.selector'));
  return errs;
}

export const daemonsets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  namespaced: true,
  shortNames: ['ds'],
  categories: ['all'],
  subresources: { status: true },
  defaults: defaultDaemonSet,
  validate: validateDaemonSet,
  prepareForCreate(obj) {
    prepareCreateWithStatus(obj);
    const meta = obj.metadata!;
    meta.annotations = { ...(meta.annotations ?? {}), [TEMPLATE_GENERATION_ANNOTATION]: '1' };
  },
  prepareForUpdate(obj, old) {
    prepareUpdateWithStatus(obj, old);
    const prev = parseInt(old.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? '1', 10) || 1;
    const next = semanticEqual(obj.spec?.template, old.spec?.template) ? prev : prev + 1;
    const meta = obj.metadata!;
    meta.annotations = { ...(meta.annotations ?? {}), [TEMPLATE_GENERATION_ANNOTATION]: String(next) };
  },
  columns: [
    { name: 'Desired', type: 'integer', description: 'The total number of nodes that should be running the daemon pod.', priority: 0 },
    { name: 'Current', type: 'integer', description: 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', priority: 0 },
    { name: 'Ready', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.', priority: 0 },
    { name: 'Up-to-date', type: 'integer', description: 'The total number of nodes that are running updated daemon pod', priority: 0 },
    { name: 'Available', type: 'integer', description: 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', priority: 0 },
    { name: 'Node Selector', type: 'string', description: 'Selector which must match a node\'s labels for the pod to be scheduled on that node.', priority: 0 },
    ...templateColumns('A label query over pods that are managed by the daemon set.'),
  ],
  row(obj) {
    const s = obj.status ?? {};
    return [
      s.desiredNumberScheduled ?? 0,
      s.currentNumberScheduled ?? 0,
      s.numberReady ?? 0,
      s.updatedNumberScheduled ?? 0,
      s.numberAvailable ?? 0,
      formatLabels(obj.spec?.template?.spec?.nodeSelector),
      ...templateCells(obj, obj.spec?.template?.spec, formatLabelSelector(obj.spec?.selector)),
    ];
  },
};
