// core/v1 ResourceQuota. Usage is computed by the quota controller into status.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { invalid, isQuantity, notSupported, parseQuantity, QUANTITY_FORMAT_ERROR } from '../validation.js';

const SCOPES = ['BestEffort', 'CrossNamespacePodAffinity', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating'];

function validateHard(hard: any, field: string, out: FieldError[]): void {
  for (const [k, v] of Object.entries<any>(hard ?? {})) {
    if (!isQuantity(v)) out.push(invalid(`${field}[${k}]`, v, QUANTITY_FORMAT_ERROR));
    else if (parseQuantity(v) < 0) out.push(invalid(`${field}[${k}]`, v, 'must be greater than or equal to 0'));
  }
}

/** REQUEST and LIMIT cells: "name: used/hard" pairs; limits.* go to LIMIT. */
export function quotaSummary(rq: KObject): { request: string; limit: string } {
  const hard = rq.status?.hard ?? {};
  const used = rq.status?.used ?? {};
  const request: string[] = [];
  const limit: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const entry = `${name}: ${used[name] ?? '0'}/${hard[name]}`;
    (name.startsWith('limits.') ? limit : request).push(entry);
  }
  return { request: request.join(', '), limit: limit.join(', ') };
}

export const resourcequotas: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  subresources: { status: true },
  prepareForCreate(rq) {
    rq.status = {};
  },
  prepareForUpdate(rq, old) {
    rq.status = old.status;
  },
  validate(rq) {
    const out: FieldError[] = [];
    validateHard(rq.spec?.hard, 'spec.hard', out);
    validateHard(rq.status?.hard, 'status.hard', out);
    validateHard(rq.status?.used, 'status.used', out);
    (rq.spec?.scopes ?? []).forEach((s: string, i: number) => {
      if (!SCOPES.includes(s)) out.push(notSupported(`spec.scopes[${i}]`, s, SCOPES));
    });
    (rq.spec?.scopeSelector?.matchExpressions ?? []).forEach((e: any, i: number) => {
      if (!SCOPES.includes(e?.scopeName)) out.push(notSupported(`spec.scopeSelector.matchExpressions[${i}].scopeName`, e?.scopeName, SCOPES));
    });
    return out;
  },
  // As kubectl 1.32's server prints it: AGE before REQUEST and LIMIT.
  columns: [
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
    { name: 'Request', type: 'string', description: 'Request represents a minimum amount of cpu/memory that a container may consume.', priority: 0 },
    { name: 'Limit', type: 'string', description: 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.', priority: 0 },
  ],
  row(rq) {
    const s = quotaSummary(rq);
    return [age(rq.metadata?.creationTimestamp), s.request, s.limit];
  },
};
