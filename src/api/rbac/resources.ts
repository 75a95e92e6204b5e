// rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding.
import type { ResourceDef, TableColumn } from '../types.js';
import { age } from '../printers.js';
import { AGE_COLUMN, CREATED_AT_COLUMN, createdAtCell } from '../apps/common.js';
import { RBAC_GROUP, defaultBinding, subjectCells, validateAggregationRule, validateBinding, validateRules } from './validation.js';

const base = { group: RBAC_GROUP, version: 'v1', nameRule: 'path-segment' as const };

export const roles: ResourceDef = {
  ...base,
  kind: 'Role',
  plural: 'roles',
  singular: 'role',
  namespaced: true,
  validate: (obj) => validateRules(obj, true),
  // Upstream has no printer for roles: the default table (NAME, CREATED AT).
  columns: [CREATED_AT_COLUMN],
  row: (obj) => [createdAtCell(obj)],
};

export const clusterroles: ResourceDef = {
  ...base,
  kind: 'ClusterRole',
  plural: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  validate: (obj) => [...validateRules(obj, false), ...validateAggregationRule(obj)],
  columns: [CREATED_AT_COLUMN],
  row: (obj) => [createdAtCell(obj)],
};

function bindingColumns(what: string): TableColumn[] {
  return [
    { name: 'Role', type: 'string', description: 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.', priority: 0 },
    AGE_COLUMN,
    { name: 'Users', type: 'string', description: `Users in the ${what}`, priority: 1 },
    { name: 'Groups', type: 'string', description: `Groups in the ${what}`, priority: 1 },
    { name: 'ServiceAccounts', type: 'string', description: `ServiceAccounts in the ${what}`, priority: 1 },
  ];
}

const bindingRow: ResourceDef['row'] = (obj) => [
  `${obj.roleRef?.kind ?? ''}/${obj.roleRef?.name ?? ''}`,
  age(obj.metadata?.creationTimestamp),
  ...subjectCells(obj),
];

export const rolebindings: ResourceDef = {
  ...base,
  kind: 'RoleBinding',
  plural: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  defaults: defaultBinding,
  validate: (obj, old) => validateBinding(obj, old, true),
  columns: bindingColumns('roleBinding'),
  row: bindingRow,
};

export const clusterrolebindings: ResourceDef = {
  ...base,
  kind: 'ClusterRoleBinding',
  plural: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  defaults: defaultBinding,
  validate: (obj, old) => validateBinding(obj, old, false),
  columns: bindingColumns('clusterRoleBinding'),
  row: bindingRow,
};
