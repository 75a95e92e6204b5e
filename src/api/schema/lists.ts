// List and map metadata of the built-in kinds: upstream's +listType/+listMapKey markers
// (x-kubernetes-list-type, x-kubernetes-list-map-keys) and +patchStrategy/+patchMergeKey tags
// (x-kubernetes-patch-strategy, x-kubernetes-patch-merge-key). Keyed by "<definition>.<field>".
// Value syntax: "atomic" | "set" | "map:k1,k2", optionally followed by " merge:KEY", " merge"
// (a set merged by value), " merge,retainKeys:KEY", or " retainKeys" (a struct, not a list).
// Lists not named here have no list-type (server-side apply treats them as atomic) and are
// replaced whole by strategic merge patch.

const byName = 'map:name merge:name';
const byType = 'map:type merge:type';
const container = {
  ports: 'map:containerPort,protocol merge:containerPort',
  env: byName,
  volumeMounts: 'map:mountPath merge:mountPath',
  volumeDevices: 'map:devicePath merge:devicePath',
  envFrom: 'atomic', command: 'atomic', args: 'atomic', resizePolicy: 'atomic', restartPolicyRules: 'atomic',
};

function fields(def: string, f: Record<string, string>): [string, string][] {
  return Object.entries(f).map(([k, v]) => [def + '.' + k, v]);
}

export const LIST_META: Record<string, string> = Object.fromEntries([
  ...fields('meta.v1.ObjectMeta', { finalizers: 'set merge', ownerReferences: 'map:uid merge:uid', managedFields: 'atomic' }),
  ...fields('meta.v1.LabelSelector', { matchExpressions: 'atomic' }),
  ...fields('meta.v1.LabelSelectorRequirement', { values: 'atomic' }),
  ...fields('meta.v1.StatusDetails', { causes: 'atomic' }),

  ...fields('core.v1.PodSpec', {
    volumes: 'map:name merge,retainKeys:name', initContainers: byName, containers: byName, ephemeralContainers: byName,
    imagePullSecrets: byName, tolerations: 'atomic', hostAliases: 'map:ip merge:ip', readinessGates: 'atomic',
    topologySpreadConstraints: 'map:topologyKey,whenUnsatisfiable merge:topologyKey', schedulingGates: byName,
    resourceClaims: 'map:name merge,retainKeys:name',
  }),
  ...fields('core.v1.PodStatus', {
    conditions: byType, podIPs: 'map:ip merge:ip', hostIPs: 'atomic merge:ip', initContainerStatuses: 'atomic',
    containerStatuses: 'atomic', ephemeralContainerStatuses: 'atomic', resourceClaimStatuses: 'map:name merge,retainKeys:name',
  }),
  ...fields('core.v1.Container', container),
  ...fields('core.v1.EphemeralContainer', container),
  ...fields('core.v1.ContainerStatus', { volumeMounts: 'map:mountPath merge:mountPath', allocatedResourcesStatus: byName }),
  ...fields('core.v1.ResourceStatus', { resources: 'map:resourceID' }),
  ...fields('core.v1.ResourceRequirements', { claims: 'map:name' }),
  ...fields('core.v1.PodSecurityContext', { supplementalGroups: 'atomic', sysctls: 'atomic' }),
  ...fields('core.v1.Capabilities', { add: 'atomic', drop: 'atomic' }),
  ...fields('core.v1.PodDNSConfig', { nameservers: 'atomic', searches: 'atomic', options: 'atomic' }),
  ...fields('core.v1.HostAlias', { hostnames: 'atomic' }),
  ...fields('core.v1.TopologySpreadConstraint', { matchLabelKeys: 'atomic' }),
  ...fields('core.v1.PodAffinity', {
    requiredDuringSchedulingIgnoredDuringExecution: 'atomic', preferredDuringSchedulingIgnoredDuringExecution: 'atomic',
  }),
  ...fields('core.v1.PodAntiAffinity', {
    requiredDuringSchedulingIgnoredDuringExecution: 'atomic', preferredDuringSchedulingIgnoredDuringExecution: 'atomic',
  }),
  ...fields('core.v1.NodeAffinity', { preferredDuringSchedulingIgnoredDuringExecution: 'atomic' }),
  ...fields('core.v1.PodAffinityTerm', { namespaces: 'atomic', matchLabelKeys: 'atomic', mismatchLabelKeys: 'atomic' }),
  ...fields('core.v1.NodeSelector', { nodeSelectorTerms: 'atomic' }),
  ...fields('core.v1.NodeSelectorTerm', { matchExpressions: 'atomic', matchFields: 'atomic' }),
  ...fields('core.v1.NodeSelectorRequirement', { values: 'atomic' }),
  ...fields('core.v1.ProjectedVolumeSource', { sources: 'atomic' }),
  ...fields('core.v1.ConfigMapVolumeSource', { items: 'atomic' }),
  ...fields('core.v1.ConfigMapProjection', { items: 'atomic' }),
  ...fields('core.v1.SecretVolumeSource', { items: 'atomic' }),
  ...fields('core.v1.SecretProjection', { items: 'atomic' }),
  ...fields('core.v1.DownwardAPIVolumeSource', { items: 'atomic' }),
  ...fields('core.v1.DownwardAPIProjection', { items: 'atomic' }),
  ...fields('core.v1.ExecAction', { command: 'atomic' }),
  ...fields('core.v1.HTTPGetAction', { httpHeaders: 'atomic' }),
  ...fields('core.v1.ServiceSpec', {
    ports: 'map:port,protocol merge:port', clusterIPs: 'atomic', externalIPs: 'atomic',
    loadBalancerSourceRanges: 'atomic', ipFamilies: 'atomic',
  }),
  ...fields('core.v1.ServiceStatus', { conditions: byType }),
  ...fields('core.v1.LoadBalancerStatus', { ingress: 'atomic' }),
  ...fields('core.v1.LoadBalancerIngress', { ports: 'atomic' }),
  ...fields('core.v1.NodeSpec', { podCIDRs: 'set merge', taints: 'atomic' }),
  ...fields('core.v1.NodeStatus', {
    conditions: byType, addresses: byType, images: 'atomic', volumesInUse: 'atomic', volumesAttached: 'atomic',
    runtimeHandlers: 'atomic',
  }),
  ...fields('core.v1.ContainerImage', { names: 'atomic' }),
  ...fields('core.v1.NamespaceSpec', { finalizers: 'atomic' }),
  ...fields('core.v1.NamespaceStatus', { conditions: byType }),
  ...fields('core.v1.ServiceAccount', { secrets: byName, imagePullSecrets: 'atomic' }),
  ...fields('core.v1.Endpoints', { subsets: 'atomic' }),
  ...fields('core.v1.EndpointSubset', { addresses: 'atomic', notReadyAddresses: 'atomic', ports: 'atomic' }),
  ...fields('core.v1.PersistentVolumeClaimSpec', { accessModes: 'atomic' }),
  ...fields('core.v1.PersistentVolumeClaimStatus', { accessModes: 'atomic', conditions: byType }),
  ...fields('core.v1.PersistentVolumeSpec', { accessModes: 'atomic', mountOptions: 'atomic' }),
  ...fields('core.v1.ResourceQuotaSpec', { scopes: 'atomic' }),
  ...fields('core.v1.ScopeSelector', { matchExpressions: 'atomic' }),
  ...fields('core.v1.ScopedResourceSelectorRequirement', { values: 'atomic' }),
  ...fields('core.v1.LimitRangeSpec', { limits: 'atomic' }),
  ...fields('core.v1.TopologySelectorTerm', { matchLabelExpressions: 'atomic' }),
  ...fields('core.v1.TopologySelectorLabelRequirement', { values: 'atomic' }),

  ...fields('apps.v1.DeploymentStatus', { conditions: byType }),
  ...fields('apps.v1.ReplicaSetStatus', { conditions: byType }),
  ...fields('apps.v1.StatefulSetStatus', { conditions: byType }),
  ...fields('apps.v1.DaemonSetStatus', { conditions: byType }),
  ...fields('apps.v1.StatefulSetSpec', { volumeClaimTemplates: 'atomic' }),
  ...fields('apps.v1.DeploymentSpec', { strategy: 'retainKeys' }),

  ...fields('batch.v1.JobStatus', { conditions: 'atomic merge:type' }),
  ...fields('batch.v1.CronJobStatus', { active: 'atomic' }),
  ...fields('batch.v1.PodFailurePolicy', { rules: 'atomic' }),
  ...fields('batch.v1.PodFailurePolicyRule', { onPodConditions: 'atomic' }),
  ...fields('batch.v1.PodFailurePolicyOnExitCodesRequirement', { values: 'set' }),
  ...fields('batch.v1.SuccessPolicy', { rules: 'atomic' }),
  ...fields('batch.v1.UncountedTerminatedPods', { succeeded: 'set', failed: 'set' }),

  ...fields('policy.v1.PodDisruptionBudgetStatus', { conditions: byType }),
  ...fields('rbac.v1.Role', { rules: 'atomic' }),
  ...fields('rbac.v1.ClusterRole', { rules: 'atomic' }),
  ...fields('rbac.v1.RoleBinding', { subjects: 'atomic' }),
  ...fields('rbac.v1.ClusterRoleBinding', { subjects: 'atomic' }),
  ...fields('rbac.v1.AggregationRule', { clusterRoleSelectors: 'atomic' }),
  ...fields('rbac.v1.PolicyRule', {
    verbs: 'atomic', apiGroups: 'atomic', resources: 'atomic', resourceNames: 'atomic', nonResourceURLs: 'atomic',
  }),
  ...fields('discovery.v1.EndpointSlice', { endpoints: 'atomic', ports: 'atomic' }),
  ...fields('discovery.v1.Endpoint', { addresses: 'set' }),
  ...fields('discovery.v1.EndpointHints', { forZones: 'atomic', forNodes: 'atomic' }),
  ...fields('storage.v1.StorageClass', { mountOptions: 'atomic', allowedTopologies: 'atomic' }),
]);
