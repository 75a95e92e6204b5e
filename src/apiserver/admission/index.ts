// The validating admission chain, in upstream's order. Each plugin gets read access to current
// objects through the registry (from the watch cache) and may write through it (e.g. quota usage).
import type { Registry } from '../registry.js';
import type { Resource } from '../resource.js';
import type { AdmissionAttributes, MutatingAdmission, ValidatingAdmission } from './types.js';
import { PriorityAdmission } from './priority.js';
import { ResourceQuotaAdmission } from './resource-quota.js';
import { DefaultStorageClassAdmission } from './default-storage-class.js';

export interface AdmissionEnv {
  registry: Registry;
  /** The served resource for "group/version/plural" (e.g. "/v1/resourcequotas"). */
  resource(path: string): Resource | undefined;
}

/** Builds the plugins; add new ones here. */
export function validatingAdmission(env: AdmissionEnv): ValidatingAdmission[] {
  return [new ResourceQuotaAdmission(env)];
}

/** The mutating plugins, run before validation. */
export function mutatingAdmission(env: AdmissionEnv): MutatingAdmission[] {
  return [new PriorityAdmission(env), new DefaultStorageClassAdmission(env)];
}

export function mutatingChain(plugins: MutatingAdmission[]): (a: AdmissionAttributes) => Promise<void> {
  return async (a) => {
    for (const p of plugins) await p.admit(a);
  };
}

export function admissionChain(plugins: ValidatingAdmission[]): (a: AdmissionAttributes) => Promise<void> {
  return async (a) => {
    for (const p of plugins) await p.validate(a);
  };
}
