// core/v1 ServiceAccount. Token projection into pods is the API server's job.
import type { FieldError, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { required } from '../validation.js';

export const serviceaccounts: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  validate(sa) {
    const out: FieldError[] = [];
    (sa.secrets ?? []).forEach((s: any, i: number) => {
      if (!s?.name) out.push(required(`secrets[${i}].name`));
    });
    (sa.imagePullSecrets ?? []).forEach((s: any, i: number) => {
      if (!s?.name) out.push(required(`imagePullSecrets[${i}].name`));
    });
    return out;
  },
  columns: [
    { name: 'Secrets', type: 'string', description: 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  row: (sa) => [(sa.secrets ?? []).length, age(sa.metadata?.creationTimestamp)],
};
