// policy/v1 PodDisruptionBudget.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import {
  invalid,
  notSupported,
  validateLabelSelector,
  validateNotMoreThan100Percent,
  validatePositiveIntOrPercent,
} from '../validation.js';
import { age, formatIntOrString } from '../printers.js';
import { AGE_COLUMN, prepareCreateWithStatus, prepareUpdateWithStatus } from '../apps/common.js';

const EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'];

export function validatePodDisruptionBudget(obj: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.minAvailable != null && spec.maxUnavailable != null)
    errs.push(invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  for (const k of ['minAvailable', 'maxUnavailable'] as const) {
    if (spec[k] == null) continue;
    errs.push(...validatePositiveIntOrPercent(spec[k], `spec.${k}`));
    errs.push(...validateNotMoreThan100Percent(spec[k], `spec.${k}`));
  }
  errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  if (spec.unhealthyPodEvictionPolicy != null && !EVICTION_POLICIES.includes(spec.unhealthyPodEvictionPolicy))
    errs.push(notSupported('spec.unhealthyPodEvictionPolicy', spec.unhealthyPodEvictionPolicy, EVICTION_POLICIES));
  return errs;
}

export const poddisruptionbudgets: ResourceDef = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  namespaced: true,
  shortNames: ['pdb'],
  subresources: { status: true },
  validate: validatePodDisruptionBudget,
  prepareForCreate: prepareCreateWithStatus,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: [
    { name: 'Min Available', type: 'string', description: 'The minimum number of pods that must be available.', priority: 0 },
    { name: 'Max Unavailable', type: 'string', description: 'The maximum number of pods that may be unavailable.', priority: 0 },
    { name: 'Allowed Disruptions', type: 'integer', description: 'Calculated number of pods that may be disrupted at this time.', priority: 0 },
    AGE_COLUMN,
  ],
  row(obj) {
    const spec = obj.spec ?? {};
    return [
      spec.minAvailable != null ? formatIntOrString(spec.minAvailable) : 'N/A',
      spec.maxUnavailable != null ? formatIntOrString(spec.maxUnavailable) : 'N/A',
      obj.status?.disruptionsAllowed ?? 0,
      age(obj.metadata?.creationTimestamp),
    ];
  },
};
