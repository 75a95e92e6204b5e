// Building PodInfo and NodeInfo: requests in canonical units, host ports, parsed affinity terms,
// and per-node totals kept incrementally as pods are added and removed.
import { parseQuantity } from '../../api/validation.js';
import { labelSelectorFromObject } from '../../apiserver/selectors.js';
import type { AffinityTerm, Node, NodeInfo, Pod, PodInfo, Resources, WeightedAffinityTerm } from './types.js';

/** Upstream's defaults used for scoring pods that request nothing (DefaultMilliCPURequest / DefaultMemoryRequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0, scalar: {} };
}

/** A ResourceList ({cpu: "500m", memory: "1Gi", ...}) in canonical units. */
export function resourcesFromList(list: Record<string, unknown> | undefined): Resources {
  const r = emptyResources();
  if (!list) return r;
  for (const [name, q] of Object.entries(list)) {
    const v = parseQuantity(q);
    if (Number.isNaN(v)) continue;
    switch (name) {
      case 'cpu':
        r.milliCPU = Math.ceil(v * 1000);
        break;
      case 'memory':
        r.memory = Math.ceil(v);
        break;
      case 'ephemeral-storage':
        r.ephemeralStorage = Math.ceil(v);
        break;
      case 'pods':
        r.pods = Math.floor(v);
        break;
      default:
        r.scalar[name] = v;
    }
  }
  return r;
}

function addInto(a: Resources, b: Resources, sign = 1): void {
  a.milliCPU += sign * b.milliCPU;
  a.memory += sign * b.memory;
  a.ephemeralStorage += sign * b.ephemeralStorage;
  a.pods += sign * b.pods;
  for (const [k, v] of Object.entries(b.scalar)) a.scalar[k] = (a.scalar[k] ?? 0) + sign * v;
}

function maxInto(a: Resources, b: Resources): void {
  a.milliCPU = Math.max(a.milliCPU, b.milliCPU);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
  for (const [k, v] of Object.entries(b.scalar)) a.scalar[k] = Math.max(a.scalar[k] ?? 0, v);
}

/**
 * Effective pod requests as upstream computes them: sum of regular containers (plus restartable
 * "sidecar" init containers), at least the largest init container at its point in the sequence,
 * plus spec.overhead. nonZero substitutes the scoring defaults for missing cpu/memory requests.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const spec = pod.spec ?? {};
  const total = emptyResources();
  const containerReq = (c: any): Resources => {
    const r = resourcesFromList(c.resources?.requests);
    if (nonZero) {
      if (!c.resources?.requests || c.resources.requests.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
      if (!c.resources?.requests || c.resources.requests.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
    }
    return r;
  };
  for (const c of spec.containers ?? []) addInto(total, containerReq(c));
  const sidecars = emptyResources();
  const initMax = emptyResources();
  for (const c of spec.initContainers ?? []) {
    const r = containerReq(c);
    if (c.restartPolicy === 'Always') {
      addInto(sidecars, r);
      addInto(total, r);
    } else {
      const atThisPoint = emptyResources();
      addInto(atThisPoint, sidecars);
      addInto(atThisPoint, r);
      maxInto(initMax, atThisPoint);
    }
  }
  maxInto(total, initMax);
  if (spec.overhead) addInto(total, resourcesFromList(spec.overhead));
  total.pods = 1;
  return total;
}

function parseTerms(pod: Pod, terms: any[] | undefined): AffinityTerm[] | undefined {
  if (!terms?.length) return undefined;
  const ns = pod.metadata?.namespace ?? 'default';
  return terms.map((t) => ({
    selector: labelSelectorFromObject(t.labelSelector ?? null),
    namespaces: new Set<string>(t.namespaces?.length ? t.namespaces : t.namespaceSelector ? [] : [ns]),
    namespaceSelector: t.namespaceSelector ? labelSelectorFromObject(t.namespaceSelector) : undefined,
    topologyKey: t.topologyKey ?? '',
  }));
}

function parseWeighted(pod: Pod, terms: any[] | undefined): WeightedAffinityTerm[] | undefined {
  if (!terms?.length) return undefined;
  const parsed = parseTerms(pod, terms.map((t) => t.podAffinityTerm ?? {}))!;
  return parsed.map((t, i) => ({ ...t, weight: terms[i].weight ?? 0 }));
}

export function podInfo(pod: Pod): PodInfo {
  const hostPorts: string[] = [];
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.hostPort) hostPorts.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
  const aff = pod.spec?.affinity;
  return {
    pod,
    requests: podRequests(pod),
    hostPorts,
    requiredAffinityTerms: parseTerms(pod, aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    requiredAntiAffinityTerms: parseTerms(pod, aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    preferredAffinityTerms: parseWeighted(pod, aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinityTerms: parseWeighted(pod, aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
  };
}

export function hasAffinity(pi: PodInfo): boolean {
  return !!(pi.requiredAffinityTerms || pi.requiredAntiAffinityTerms || pi.preferredAffinityTerms || pi.preferredAntiAffinityTerms);
}

export function newNodeInfo(node: Node, pods: Pod[] = []): NodeInfo {
  const ni: NodeInfo = {
    node,
    name: node.metadata?.name ?? '',
    pods: [],
    podsWithAffinity: [],
    podsWithRequiredAntiAffinity: [],
    allocatable: resourcesFromList(node.status?.allocatable ?? node.status?.capacity),
    requested: emptyResources(),
    nonZeroRequested: emptyResources(),
    usedPorts: new Map(),
    images: new Map(),
    generation: 0,
  };
  for (const img of node.status?.images ?? []) for (const n of img.names ?? []) ni.images.set(n, img.sizeBytes ?? 0);
  for (const p of pods) addPod(ni, podInfo(p));
  return ni;
}

/** Replaces the node object (labels, taints, allocatable may have changed), keeping the pods. */
export function setNode(ni: NodeInfo, node: Node): void {
  ni.node = node;
  ni.allocatable = resourcesFromList(node.status?.allocatable ?? node.status?.capacity);
  ni.images = new Map();
  for (const img of node.status?.images ?? []) for (const n of img.names ?? []) ni.images.set(n, img.sizeBytes ?? 0);
  ni.generation++;
}

export function addPod(ni: NodeInfo, pi: PodInfo): void {
  ni.pods.push(pi);
  if (hasAffinity(pi)) ni.podsWithAffinity.push(pi);
  if (pi.requiredAntiAffinityTerms) ni.podsWithRequiredAntiAffinity.push(pi);
  addInto(ni.requested, pi.requests);
  addInto(ni.nonZeroRequested, podRequests(pi.pod, true));
  for (const p of pi.hostPorts) ni.usedPorts.set(p, (ni.usedPorts.get(p) ?? 0) + 1);
  ni.generation++;
}

/** Removes the pod with pi's uid (or namespace/name); false when it was not there. */
export function removePod(ni: NodeInfo, pod: Pod): boolean {
  const uid = pod.metadata?.uid;
  const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const i = ni.pods.findIndex((p) => (uid ? p.pod.metadata?.uid === uid : `${p.pod.metadata?.namespace}/${p.pod.metadata?.name}` === key));
  if (i < 0) return false;
  const pi = ni.pods[i];
  ni.pods.splice(i, 1);
  const drop = (list: PodInfo[]) => {
    const j = list.indexOf(pi);
    if (j >= 0) list.splice(j, 1);
  };
  drop(ni.podsWithAffinity);
  drop(ni.podsWithRequiredAntiAffinity);
  addInto(ni.requested, pi.requests, -1);
  addInto(ni.nonZeroRequested, podRequests(pi.pod, true), -1);
  for (const p of pi.hostPorts) {
    const n = (ni.usedPorts.get(p) ?? 1) - 1;
    if (n <= 0) ni.usedPorts.delete(p);
    else ni.usedPorts.set(p, n);
  }
  ni.generation++;
  return true;
}

/** A copy that can be changed without touching the original (preemption's what-if runs). */
export function cloneNodeInfo(ni: NodeInfo): NodeInfo {
  return {
    ...ni,
    pods: [...ni.pods],
    podsWithAffinity: [...ni.podsWithAffinity],
    podsWithRequiredAntiAffinity: [...ni.podsWithRequiredAntiAffinity],
    requested: { ...ni.requested, scalar: { ...ni.requested.scalar } },
    nonZeroRequested: { ...ni.nonZeroRequested, scalar: { ...ni.nonZeroRequested.scalar } },
    usedPorts: new Map(ni.usedPorts),
  };
}

/** A Snapshot over a fixed list of NodeInfos (tests and the scheduler's per-cycle view). */
export function snapshotOf(nodes: NodeInfo[]) {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return {
    nodes: () => nodes,
    get: (name: string) => byName.get(name),
    havePodsWithAffinity: () => nodes.filter((n) => n.podsWithAffinity.length > 0),
    havePodsWithRequiredAntiAffinity: () => nodes.filter((n) => n.podsWithRequiredAntiAffinity.length > 0),
  };
}
