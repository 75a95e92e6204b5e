// Validating admission: checks that run after validation, just before an object is stored
// (upstream's validating admission plugins, e.g. ResourceQuota). They may reject a write with an
// ApiError (usually 403 Forbidden) and may record what the write consumes.
import type { KObject } from '../../api/types.js';
import type { RequestContext } from '../context.js';
import type { Resource } from '../resource.js';

export type Operation = 'CREATE' | 'UPDATE';

export interface AdmissionAttributes {
  ctx: RequestContext;
  resource: Resource;
  subresource?: string;
  operation: Operation;
  namespace?: string;
  obj: KObject;
  old?: KObject;
}

export interface ValidatingAdmission {
  readonly name: string;
  /** Throws an ApiError to reject. Resolves once anything it reserved (quota usage) is recorded. */
  validate(a: AdmissionAttributes): Promise<void>;
}

/** Mutating admission: may change the object before it is validated (e.g. Priority). */
export interface MutatingAdmission {
  readonly name: string;
  admit(a: AdmissionAttributes): Promise<void>;
}
