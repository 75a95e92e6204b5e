// coordination.k8s.io/v1 Lease: leader election and node heartbeats.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { forbidden, invalid, notSupported } from '../validation.js';
import { age } from '../printers.js';
import { AGE_COLUMN } from '../apps/common.js';

export function validateLease(obj: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  if (spec.leaseDurationSeconds != null && !(spec.leaseDurationSeconds > 0))
    errs.push(invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  if (spec.leaseTransitions != null && spec.leaseTransitions < 0)
    errs.push(invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'));
  if (spec.strategy != null && spec.strategy !== 'OldestEmulationVersion')
    errs.push(notSupported('spec.strategy', spec.strategy, ['OldestEmulationVersion']));
  if (spec.preferredHolder && !spec.strategy)
    errs.push(forbidden('spec.preferredHolder', 'may only be specified if `strategy` is defined'));
  return errs;
}

export const leases: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  namespaced: true,
  validate: validateLease,
  columns: [
    { name: 'Holder', type: 'string', description: 'holderIdentity contains the identity of the holder of a current lease.', priority: 0 },
    AGE_COLUMN,
  ],
  row: (obj) => [obj.spec?.holderIdentity ?? '', age(obj.metadata?.creationTimestamp)],
};
