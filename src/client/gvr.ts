// Group/version/resource descriptors of the built-in API, so callers write
// client.resource(GVR.deployments) or simply client.deployments.

export interface GroupVersionResource {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural resource name, as in the URL ("pods"). */
  plural: string;
  namespaced: boolean;
  /** Kind, filled into objects created without one. */
  kind?: string;
}

const core = (plural: string, kind: string, namespaced = true): GroupVersionResource => ({ group: '', version: 'v1', plural, kind, namespaced });
const g = (group: string, version: string, plural: string, kind: string, namespaced = true): GroupVersionResource => ({ group, version, plural, kind, namespaced });

export const GVR = {
  pods: core('pods', 'Pod'),
  nodes: core('nodes', 'Node', false),
  namespaces: core('namespaces', 'Namespace', false),
  services: core('services', 'Service'),
  endpoints: core('endpoints', 'Endpoints'),
  configMaps: core('configmaps', 'ConfigMap'),
  secrets: core('secrets', 'Secret'),
  serviceAccounts: core('serviceaccounts', 'ServiceAccount'),
  /** core/v1 Events (kubectl's view). Components write events.k8s.io/v1 via eventsV1. */
  coreEvents: core('events', 'Event'),
  persistentVolumes: core('persistentvolumes', 'PersistentVolume', false),
  persistentVolumeClaims: core('persistentvolumeclaims', 'PersistentVolumeClaim'),
  resourceQuotas: core('resourcequotas', 'ResourceQuota'),
  limitRanges: core('limitranges', 'LimitRange'),
  events: g('events.k8s.io', 'v1', 'events', 'Event'),
  leases: g('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  deployments: g('apps', 'v1', 'deployments', 'Deployment'),
  replicaSets: g('apps', 'v1', 'replicasets', 'ReplicaSet'),
  statefulSets: g('apps', 'v1', 'statefulsets', 'StatefulSet'),
  daemonSets: g('apps', 'v1', 'daemonsets', 'DaemonSet'),
  controllerRevisions: g('apps', 'v1', 'controllerrevisions', 'ControllerRevision'),
  jobs: g('batch', 'v1', 'jobs', 'Job'),
  cronJobs: g('batch', 'v1', 'cronjobs', 'CronJob'),
  endpointSlices: g('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  priorityClasses: g('scheduling.k8s.io', 'v1', 'priorityclasses', 'PriorityClass', false),
  storageClasses: g('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false),
  podDisruptionBudgets: g('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget'),
  roles: g('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
  roleBindings: g('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
  clusterRoles: g('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  clusterRoleBindings: g('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
} as const satisfies Record<string, GroupVersionResource>;

export type BuiltinResourceName = keyof typeof GVR;

export function apiVersionOf(r: GroupVersionResource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** "/api/v1" or "/apis/apps/v1". */
export function groupVersionPath(r: GroupVersionResource): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** Collection or object path; namespace is ignored for cluster-scoped resources, and omitted lists across namespaces. */
export function resourcePath(r: GroupVersionResource, namespace?: string | null, name?: string, subresource?: string): string {
  let p = groupVersionPath(r);
  if (r.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) {
    if (!name) throw new Error(`${r.plural}: empty name`);
    p += `/${encodeURIComponent(name)}`;
    if (subresource) p += `/${subresource}`;
  }
  return p;
}

/** An informer/cache key for a resource: "apps/v1/deployments" or "v1/pods". */
export function gvrKey(r: GroupVersionResource): string {
  return `${apiVersionOf(r)}/${r.plural}`;
}
