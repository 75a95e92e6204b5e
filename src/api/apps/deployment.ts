// apps/v1 Deployment: defaults, strategy, validation and table as upstream.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import {
  forbidden,
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
import { formatLabelSelector } from '../printers.js';
import {
  REPLICAS_SCALE,
  defaultPodTemplate,
  prepareCreateWithStatus,
  prepareUpdateWithStatus,
  templateCells,
  templateColumns,
  validateAlwaysRestart,
  validatePodTemplate,
  validateSelectorAndTemplate,
} from './common.js';

export function defaultDeployment(obj: KObject): void {
  const spec = (obj.spec ??= {});
  spec.replicas ??= 1;
  const strategy = (spec.strategy ??= {});
  strategy.type ||= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = (strategy.rollingUpdate ??= {});
    ru.maxUnavailable ??= '25%';
    ru.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodTemplate(spec.template);
}

function validateDeploymentStrategy(strategy: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  switch (strategy?.type) {
    case 'Recreate':
      if (strategy.rollingUpdate != null)
        errs.push(forbidden(`${path}.rollingUpdate`, "may not be specified when strategy `type` is 'Recreate'"));
      break;
    case 'RollingUpdate': {
      const ru = strategy.rollingUpdate;
      if (ru == null) {
        errs.push(required(`${path}.rollingUpdate`, 'this should be defaulted and never be nil'));
        break;
      }
      const p = `${path}.rollingUpdate`;
      errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...validatePositiveIntOrPercent(ru.maxSurge, `${p}.maxSurge`));
      if ((intOrPercentValue(ru.maxUnavailable) ?? 0) === 0 && (intOrPercentValue(ru.maxSurge) ?? 0) === 0)
        errs.push(invalid(`${p}.maxUnavailable`, ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
      errs.push(...validateNotMoreThan100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      break;
    }
    default:
      errs.push(notSupported(path, strategy, ['Recreate', 'RollingUpdate']));
  }
  return errs;
}

export function validateDeployment(obj: KObject, old?: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateSelectorAndTemplate(spec, 'deployment'));
  errs.push(...validatePodTemplate(spec.template, 'spec.template'));
  errs.push(...validateAlwaysRestart(spec.template, 'ReplicaSet'));
  errs.push(...validateDeploymentStrategy(spec.strategy, 'spec.strategy'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  errs.push(...validateNonnegative(spec.revisionHistoryLimit, 'spec.revisionHistoryLimit'));
  if (spec.progressDeadlineSeconds != null) {
    errs.push(...validateNonnegative(spec.progressDeadlineSeconds, 'spec.progressDeadlineSeconds'));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0))
      errs.push(invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
  }
  if (old) errs.push(...validateImmutable(spec.selector, old.spec?.selector, 'spec.selector'));
  return errs;
}

export const deployments: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  subresources: {
    status: true,
    scale: REPLICAS_SCALE,
  },
  defaults: defaultDeployment,
  validate: validateDeployment,
  prepareForCreate: prepareCreateWithStatus,
  // Annotations bump the generation too: the controller copies them onto its ReplicaSets.
  prepareForUpdate: (obj, old) =>
    prepareUpdateWithStatus(
      obj,
      old,
      !semanticEqual(obj.spec, old.spec) || !semanticEqual(obj.metadata?.annotations, old.metadata?.annotations),
    ),
  columns: [
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', priority: 0 },
    { name: 'Up-to-date', type: 'string', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', priority: 0 },
    { name: 'Available', type: 'string', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', priority: 0 },
    ...templateColumns('Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.'),
  ],
  row(obj) {
    const s = obj.status ?? {};
    const sel = formatLabelSelector(obj.spec?.selector);
    return [
      `${s.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`,
      s.updatedReplicas ?? 0,
      s.availableReplicas ?? 0,
      ...templateCells(obj, obj.spec?.template?.spec, sel === '<none>' ? '' : sel),
    ];
  },
};
