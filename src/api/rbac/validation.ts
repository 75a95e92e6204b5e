// Validation and defaulting shared by the four rbac.authorization.k8s.io/v1 kinds.
import type { FieldError, KObject } from '../types.js';
import {
  dns1123SubdomainErrors,
  invalid,
  notSupported,
  required,
  semanticEqual,
  validateLabelSelector,
} from '../validation.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** Upstream path.IsValidPathSegmentName, which RBAC names (and roleRef names) must satisfy. */
export function pathSegmentErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  for (const bad of ['/', '%']) if (name.includes(bad)) return [`may not contain '${bad}'`];
  return [];
}

/** Upstream ValidatePolicyRule. */
export function validatePolicyRule(rule: any, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const len = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  if (len(rule?.verbs) === 0) errs.push(required(`${path}.verbs`, 'verbs must contain at least one value'));
  if (len(rule?.nonResourceURLs) > 0) {
    if (namespaced) errs.push(invalid(`${path}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
    if (len(rule.apiGroups) > 0 || len(rule.resources) > 0 || len(rule.resourceNames) > 0)
      errs.push(invalid(`${path}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
    return errs;
  }
  if (len(rule?.apiGroups) === 0) errs.push(required(`${path}.apiGroups`, 'resource rules must supply at least one api group'));
  if (len(rule?.resources) === 0) errs.push(required(`${path}.resources`, 'resource rules must supply at least one resource'));
  return errs;
}

export function validateRules(obj: KObject, namespaced: boolean): FieldError[] {
  return (obj.rules ?? []).flatMap((r: any, i: number) => validatePolicyRule(r, namespaced, `rules[${i}]`));
}

export function validateAggregationRule(obj: KObject): FieldError[] {
  const ar = obj.aggregationRule;
  if (ar == null) return [];
  const sels: any[] = ar.clusterRoleSelectors ?? [];
  if (sels.length === 0)
    return [required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil')];
  return sels.flatMap((s, i) => validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`));
}

/** SetDefaults_RoleBinding / SetDefaults_Subject. */
export function defaultBinding(obj: KObject): void {
  const ref = (obj.roleRef ??= {});
  ref.apiGroup ||= RBAC_GROUP;
  for (const s of obj.subjects ?? []) {
    if (s == null || s.apiGroup) continue;
    if (s.kind === 'ServiceAccount') s.apiGroup = '';
    else if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

function validateSubject(s: any, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const name = s?.name ?? '';
  if (!name) errs.push(required(`${path}.name`, ''));
  switch (s?.kind) {
    case 'ServiceAccount':
      if (name) for (const m of dns1123SubdomainErrors(name)) errs.push(invalid(`${path}.name`, name, m));
      if (s.apiGroup) errs.push(notSupported(`${path}.apiGroup`, s.apiGroup, ['']));
      if (!namespaced && !s.namespace) errs.push(required(`${path}.namespace`, ''));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(`${path}.apiGroup`, s.apiGroup ?? '', [RBAC_GROUP]));
      break;
    default:
      errs.push(notSupported(`${path}.kind`, s?.kind ?? '', ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

/** ValidateRoleBinding / ValidateClusterRoleBinding (+ the roleRef immutability of updates). */
export function validateBinding(obj: KObject, old: KObject | undefined, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = obj.roleRef ?? {};
  if (ref.apiGroup !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [RBAC_GROUP]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (!ref.name) errs.push(required('roleRef.name', ''));
  else for (const m of pathSegmentErrors(ref.name)) errs.push(invalid('roleRef.name', ref.name, m));
  (obj.subjects ?? []).forEach((s: any, i: number) => errs.push(...validateSubject(s, namespaced, `subjects[${i}]`)));
  if (old && !semanticEqual(ref, old.roleRef)) errs.push(invalid('roleRef', ref, 'cannot change roleRef'));
  return errs;
}

/** Upstream rbac.SubjectsStrings: users, groups and "namespace/name" service accounts. */
export function subjectCells(obj: KObject): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of obj.subjects ?? []) {
    if (s?.kind === 'User') users.push(s.name);
    else if (s?.kind === 'Group') groups.push(s.name);
    else if (s?.kind === 'ServiceAccount') sas.push(`${s.namespace ?? ''}/${s.name}`);
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}
