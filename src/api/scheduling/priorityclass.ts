// scheduling.k8s.io/v1 PriorityClass (cluster-scoped).
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { forbidden, notSupported, validateImmutable } from '../validation.js';
import { age } from '../printers.js';
import { AGE_COLUMN } from '../apps/common.js';

/** Upstream HighestUserDefinablePriority: values above it are reserved for system classes. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY;

/** The built-in classes the API server creates at startup. */
export const SYSTEM_PRIORITY_CLASSES = [
  { name: 'system-node-critical', value: SYSTEM_CRITICAL_PRIORITY + 1000, description: 'Used for system critical pods that must not be moved from their current node.' },
  { name: 'system-cluster-critical', value: SYSTEM_CRITICAL_PRIORITY, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
];

const PREEMPTION_POLICIES = ['Never', 'PreemptLowerPriority'];

export function defaultPriorityClass(obj: KObject): void {
  obj.preemptionPolicy ??= 'PreemptLowerPriority';
}

function systemClassError(name: string, value: number, globalDefault: boolean): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((c) => c.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (known.value !== value) return `value of ${name} PriorityClass must be ${known.value}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

export function validatePriorityClass(obj: KObject, old?: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const name = obj.metadata?.name ?? '';
  const value = obj.value ?? 0;
  if (name.startsWith('system-')) {
    const e = systemClassError(name, value, obj.globalDefault === true);
    if (e) errs.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved for system use only. error: ${e}`));
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  if (obj.preemptionPolicy != null && !PREEMPTION_POLICIES.includes(obj.preemptionPolicy))
    errs.push(notSupported('preemptionPolicy', obj.preemptionPolicy, PREEMPTION_POLICIES));
  if (old) {
    if (value !== (old.value ?? 0)) errs.push(forbidden('value', 'may not be changed in an update.'));
    errs.push(...validateImmutable(obj.preemptionPolicy, old.preemptionPolicy, 'preemptionPolicy'));
  }
  return errs;
}

export const priorityclasses: ResourceDef = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  namespaced: false,
  shortNames: ['pc'],
  defaults: defaultPriorityClass,
  validate: validatePriorityClass,
  columns: [
    { name: 'Value', type: 'integer', description: 'The value of this priority class.', priority: 0 },
    { name: 'Global-Default', type: 'boolean', description: 'Whether this priority class is the default for pods without a priorityClassName.', priority: 0 },
    AGE_COLUMN,
    { name: 'PreemptionPolicy', type: 'string', description: 'The policy for preempting pods with lower priority.', priority: 0 },
  ],
  row: (obj) => [obj.value ?? 0, obj.globalDefault === true, age(obj.metadata?.creationTimestamp), obj.preemptionPolicy ?? ''],
};
