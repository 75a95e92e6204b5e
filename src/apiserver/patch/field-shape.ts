// How server-side apply sees each value of an object: a leaf (scalar or atomic), a struct it
// descends into, or an associative list. List metadata comes from listInfo() (meta.ts); which
// structs are atomic (upstream's +structType=atomic / +mapType=atomic) is a small table here until
// the schema-derived metadata covers it.

import { listInfo } from './meta.js';

export type ElementKind =
  | { type: 'leaf' }
  | { type: 'struct' }
  | { type: 'map-list'; keys: readonly string[]; atomicItems: boolean }
  | { type: 'set-list' };

const LEAF: ElementKind = { type: 'leaf' };
const STRUCT: ElementKind = { type: 'struct' };
const SET_LIST: ElementKind = { type: 'set-list' };

/**
 * Fields whose object values are atomic in the built-in schemas: LabelSelector (`selector`,
 * `podSelector`, ...; also Service's atomic selector map), object references, key selectors.
 */
const ATOMIC_FIELDS = new Set([
  'selector',
  'podSelector',
  'namespaceSelector',
  'labelSelector',
  'configMapKeyRef',
  'secretKeyRef',
  'fieldRef',
  'resourceFieldRef',
  'claimRef',
  'involvedObject',
  'regarding',
  'related',
  'targetRef',
  'dataSource',
]);

/** Lists whose items are atomic structs (OwnerReference, LocalObjectReference). */
const ATOMIC_ITEM_LISTS = new Set(['ownerReferences', 'imagePullSecrets']);

function isAtomicStruct(path: readonly string[]): boolean {
  const last = path[path.length - 1];
  if (ATOMIC_FIELDS.has(last)) return true;
  // NodeSelector (required node affinity) is atomic.
  return last === 'requiredDuringSchedulingIgnoredDuringExecution' && path[path.length - 2] === 'nodeAffinity';
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

export function elementKind(v: any, group: string, kind: string, path: readonly string[]): ElementKind {
  if (v === null || typeof v !== 'object') return LEAF;
  if (!Array.isArray(v)) return isAtomicStruct(path) ? LEAF : STRUCT;
  const info = listInfo(group, kind, path);
  if (!info || info.type === 'atomic') return LEAF;
  if (info.type === 'set') {
    for (const item of v) if (!isScalar(item)) return LEAF;
    return SET_LIST;
  }
  const keys = info.keys ?? [];
  if (!keys.length) return LEAF;
  // An item without its key fields makes the list unmergeable: treat it as atomic.
  for (const item of v) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return LEAF;
    for (const k of keys) {
      const kv = item[k];
      if (kv === undefined ? k !== 'protocol' : kv === null || typeof kv === 'object') return LEAF;
    }
  }
  return { type: 'map-list', keys, atomicItems: ATOMIC_ITEM_LISTS.has(path[path.length - 1]) };
}

// ---- The empty object a create starts from ----------------------------------------------------

/**
 * Upstream compares a create against the kind's zero value, whose non-pointer structs (and a few
 * non-omitempty lists, as null) already exist; nodes present there are not "added", so they get no
 * "." member in the creator's FieldsV1 (e.g. f:spec, f:template have none, f:labels has one).
 */
export function zeroObject(kind: string): Record<string, any> {
  // Go's zero ObjectMeta serializes creationTimestamp as null.
  const meta = () => ({ creationTimestamp: null });
  const podSpec = () => ({ containers: null });
  const podTemplate = () => ({ metadata: meta(), spec: podSpec() });
  switch (kind) {
    case 'Pod':
      return { metadata: meta(), spec: podSpec(), status: {} };
    case 'PodTemplate':
      return { metadata: meta(), template: podTemplate() };
    case 'Deployment':
      return { metadata: meta(), spec: { strategy: {}, template: podTemplate() }, status: {} };
    case 'ReplicaSet':
    case 'Job':
      return { metadata: meta(), spec: { template: podTemplate() }, status: {} };
    case 'StatefulSet':
    case 'DaemonSet':
      return { metadata: meta(), spec: { template: podTemplate(), updateStrategy: {} }, status: {} };
    case 'CronJob':
      return { metadata: meta(), spec: { jobTemplate: { metadata: meta(), spec: { template: podTemplate() } } }, status: {} };
    case 'Service':
      return { metadata: meta(), spec: {}, status: { loadBalancer: {} } };
    case 'Node':
      return { metadata: meta(), spec: {}, status: { daemonEndpoints: { kubeletEndpoint: {} }, nodeInfo: {} } };
    case 'PersistentVolumeClaim':
      return { metadata: meta(), spec: { resources: {} }, status: {} };
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      return { metadata: meta(), roleRef: {} };
    case 'ClusterRole':
    case 'Role':
      return { metadata: meta(), rules: null };
    case 'Event':
      return { metadata: meta(), involvedObject: {}, source: {} };
    case 'ConfigMap':
    case 'Secret':
    case 'ServiceAccount':
    case 'Endpoints':
      return { metadata: meta() };
    default:
      return { metadata: meta(), spec: {}, status: {} };
  }
}
