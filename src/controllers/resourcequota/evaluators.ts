// Quota evaluators (upstream pkg/quota/v1/evaluator/core and generic): for each kind, which
// quota resource names it accounts for, what one object uses, whether a quota's scopes select
// it, and the per-container constraints (cpu/memory quotas require explicit requests/limits).
// Shared by the resource quota controller (full recomputation) and quota admission (deltas).
import type { KObject } from '../../api/types.js';
import {
  addLists,
  maxLists,
  quantityOf,
  toResourceList,
  type ResourceList,
} from './quantity.js';

/** Identifies a kind for quota purposes: API group ("" for core) and plural. */
export interface GroupResource {
  group: string;
  plural: string;
}

/** "count/pods", "count/deployments.apps". */
export function objectCountName(gr: GroupResource): string {
  return gr.group ? `count/${gr.plural}.${gr.group}` : `count/${gr.plural}`;
}

/** Quota names that count core objects by their legacy name (besides count/<plural>). */
const LEGACY_COUNT: Record<string, string> = {
  configmaps: 'configmaps',
  secrets: 'secrets',
  replicationcontrollers: 'replicationcontrollers',
  resourcequotas: 'resourcequotas',
};

const POD_COMPUTE = new Set([
  'cpu', 'memory', 'ephemeral-storage',
  'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
]);
/** Resources each container must specify when a quota limits them (upstream validationSet). */
const CONTAINER_REQUIRED = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);
const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';

const isCore = (gr: GroupResource, plural: string) => gr.group === '' && gr.plural === plural;

/** Whether quota resource name `name` is accounted by objects of gr. */
export function matchesResource(gr: GroupResource, name: string): boolean {
  if (name === objectCountName(gr)) return true;
  if (gr.group !== '') return false;
  switch (gr.plural) {
    case 'pods':
      return (
        name === 'pods' ||
        POD_COMPUTE.has(name) ||
        name.startsWith('hugepages-') ||
        name.startsWith('requests.hugepages-') ||
        (name.startsWith('requests.') && name.includes('/'))
      );
    case 'services':
      return name === 'services' || name === 'services.nodeports' || name === 'services.loadbalancers';
    case 'persistentvolumeclaims':
      return (
        name === 'persistentvolumeclaims' ||
        name === 'requests.storage' ||
        (name.includes(STORAGE_CLASS_SUFFIX) &&
          (name.endsWith('/requests.storage') || name.endsWith('/persistentvolumeclaims')))
      );
    default:
      return LEGACY_COUNT[gr.plural] === name;
  }
}

export function matchingResources(gr: GroupResource, names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) if (matchesResource(gr, n)) out.push(n);
  return out.sort();
}

/** Kinds with more than an object count: evaluated on updates too (e.g. PVC expansion, service type). */
export function handlesUpdate(gr: GroupResource): boolean {
  return isCore(gr, 'services') || isCore(gr, 'persistentvolumeclaims');
}

// ---- usage ----

/** Upstream QuotaV1Pod: terminal pods and pods past their deletion grace do not use compute. */
export function podCountsForCompute(pod: KObject, nowMs: number): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const del = pod.metadata?.deletionTimestamp;
  if (del) {
    const grace = (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
    if (nowMs > Date.parse(del) + grace) return false;
  }
  return true;
}

function podRequestsLimits(pod: KObject): { requests: ResourceList; limits: ResourceList } {
  let requests: ResourceList = new Map();
  let limits: ResourceList = new Map();
  for (const c of pod.spec?.containers ?? []) {
    requests = addLists(requests, toResourceList(c.resources?.requests));
    limits = addLists(limits, toResourceList(c.resources?.limits));
  }
  // Init containers run one at a time before the app containers: the largest counts.
  for (const c of pod.spec?.initContainers ?? []) {
    requests = maxLists(requests, toResourceList(c.resources?.requests));
    limits = maxLists(limits, toResourceList(c.resources?.limits));
  }
  const overhead = toResourceList(pod.spec?.overhead);
  return { requests: addLists(requests, overhead), limits: addLists(limits, overhead) };
}

/** What requests/limits of one pod (or container) use in quota names (upstream podComputeUsageHelper). */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = new Map([['pods', quantityOf(1)]]);
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    const req = requests.get(r);
    if (req) {
      out.set(r, req);
      out.set(`requests.${r}`, req);
    }
    const lim = limits.get(r);
    if (lim) out.set(`limits.${r}`, lim);
  }
  for (const [k, v] of requests) {
    if (k.startsWith('hugepages-')) {
      out.set(k, v);
      out.set(`requests.${k}`, v);
    } else if (k.includes('/')) out.set(`requests.${k}`, v); // extended resources
  }
  return out;
}

function storageClassOf(pvc: KObject): string | undefined {
  return pvc.spec?.storageClassName ?? pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? undefined;
}

/** What one object of gr uses (all names it accounts, before masking to a quota's hard set). */
export function usageOf(gr: GroupResource, obj: KObject, nowMs: number): ResourceList {
  const out: ResourceList = new Map([[objectCountName(gr), quantityOf(1)]]);
  if (gr.group !== '') return out;
  switch (gr.plural) {
    case 'pods': {
      if (!podCountsForCompute(obj, nowMs)) return out;
      const { requests, limits } = podRequestsLimits(obj);
      return addLists(out, computeUsage(requests, limits));
    }
    case 'services': {
      out.set('services', quantityOf(1));
      const ports: any[] = obj.spec?.ports ?? [];
      const type = obj.spec?.type;
      if (type === 'NodePort') out.set('services.nodeports', quantityOf(ports.length));
      else if (type === 'LoadBalancer') {
        // With node port allocation off only explicitly requested node ports count.
        const n = obj.spec?.allocateLoadBalancerNodePorts === false ? ports.filter((p) => p?.nodePort).length : ports.length;
        out.set('services.nodeports', quantityOf(n));
        out.set('services.loadbalancers', quantityOf(1));
      }
      return out;
    }
    case 'persistentvolumeclaims': {
      out.set('persistentvolumeclaims', quantityOf(1));
      const cls = storageClassOf(obj);
      if (cls) out.set(`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, quantityOf(1));
      const req = toResourceList(obj.spec?.resources?.requests).get('storage');
      if (req) {
        out.set('requests.storage', req);
        if (cls) out.set(`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`, req);
      }
      return out;
    }
    default: {
      const legacy = LEGACY_COUNT[gr.plural];
      if (legacy) out.set(legacy, quantityOf(1));
      return out;
    }
  }
}

// ---- scopes ----

interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

/** spec.scopes and spec.scopeSelector as one list of requirements (scopes mean Exists). */
export function quotaScopes(rq: KObject): ScopeRequirement[] {
  const out: ScopeRequirement[] = (rq.spec?.scopes ?? []).map((s: string) => ({ scopeName: s, operator: 'Exists' }));
  for (const e of rq.spec?.scopeSelector?.matchExpressions ?? []) out.push(e);
  return out;
}

function isBestEffort(pod: KObject): boolean {
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const m of [c.resources?.requests, c.resources?.limits]) {
      for (const k of Object.keys(m ?? {})) if (k === 'cpu' || k === 'memory') return false;
    }
  }
  return true;
}

function hasCrossNamespaceAffinity(pod: KObject): boolean {
  const a = pod.spec?.affinity ?? {};
  const terms = [
    ...(a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t: any) => t.podAffinityTerm),
    ...(a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((t: any) => t.podAffinityTerm),
  ];
  return terms.some((t: any) => t && ((t.namespaces ?? []).length > 0 || t.namespaceSelector != null));
}

function podMatchesScope(pod: KObject, req: ScopeRequirement): boolean {
  const deadline = pod.spec?.activeDeadlineSeconds;
  switch (req.scopeName) {
    case 'Terminating':
      return deadline != null && deadline >= 0;
    case 'NotTerminating':
      return deadline == null || deadline < 0;
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'CrossNamespacePodAffinity':
      return hasCrossNamespaceAffinity(pod);
    case 'PriorityClass': {
      const pc: string = pod.spec?.priorityClassName ?? '';
      switch (req.operator) {
        case 'Exists':
          return pc !== '';
        case 'DoesNotExist':
          return pc === '';
        case 'In':
          return (req.values ?? []).includes(pc);
        case 'NotIn':
          return !(req.values ?? []).includes(pc);
      }
      return false;
    }
  }
  return false;
}

/** Whether the quota's scopes select obj (scoped quotas only ever select pods). */
export function matchesScopes(rq: KObject, gr: GroupResource, obj: KObject): boolean {
  const scopes = quotaScopes(rq);
  if (!scopes.length) return true;
  if (!isCore(gr, 'pods')) return false;
  return scopes.every((s) => podMatchesScope(obj, s));
}

/** Upstream Evaluator.Matches: the quota limits something gr accounts and its scopes select obj. */
export function quotaMatches(rq: KObject, hardNames: Iterable<string>, gr: GroupResource, obj: KObject): boolean {
  return matchingResources(gr, hardNames).length > 0 && matchesScopes(rq, gr, obj);
}

// ---- constraints ----

/**
 * Pods under a quota on cpu/memory must state them in every container: the message after
 * "failed quota: <name>: ", or undefined when satisfied.
 */
export function podConstraintError(required: string[], pod: KObject): string | undefined {
  const need = required.filter((r) => CONTAINER_REQUIRED.has(r));
  if (!need.length) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    const have = computeUsage(toResourceList(c.resources?.requests), toResourceList(c.resources?.limits));
    for (const r of need) {
      if (have.has(r)) continue;
      let s = missing.get(r);
      if (!s) missing.set(r, (s = new Set()));
      s.add(c.name);
    }
  }
  if (!missing.size) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}
