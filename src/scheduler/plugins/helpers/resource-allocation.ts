// The scoring core shared by NodeResourcesFit (LeastAllocated, MostAllocated,
// RequestedToCapacityRatio) and NodeResourcesBalancedAllocation, after upstream's
// resourceAllocationScorer: per configured resource, the node's allocatable and what would be
// requested with the pod placed there, then a strategy-specific combination.
import { podRequests } from '../../framework/node-info.js';
import type { NodeInfo, Pod, Resources } from '../../framework/types.js';

export interface ResourceSpec {
  name: string;
  weight: number;
}

/** Both plugins default to cpu and memory with weight 1. */
export const DEFAULT_RESOURCES: readonly ResourceSpec[] = [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
];

/** Combines per-resource requested/allocatable (same order as the resource specs) into a score. */
export type ResourceScorer = (requested: number[], allocatable: number[]) => number;

/** Upstream's IsScalarResourceName: extended, hugepages-*, attachable-volumes-*, or prefixed native. */
export function isScalarResourceName(name: string): boolean {
  return name.includes('/') || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

/** Upstream's IsExtendedResourceName: has a domain that is not kubernetes.io and no "requests." prefix. */
export function isExtendedResourceName(name: string): boolean {
  if (!name.includes('/') || name.includes('kubernetes.io/') || name.startsWith('requests.')) return false;
  return true;
}

function amount(r: Resources, name: string): number {
  switch (name) {
    case 'cpu':
      return r.milliCPU;
    case 'memory':
      return r.memory;
    case 'ephemeral-storage':
      return r.ephemeralStorage;
    default:
      return Math.ceil(r.scalar[name] ?? 0);
  }
}

/**
 * The pod's request for each resource. useRequested=false substitutes upstream's non-zero defaults
 * (100m cpu, 200Mi memory) for containers that request nothing, as LeastAllocated & co. do.
 */
export function podResourceRequestList(pod: Pod, resources: readonly ResourceSpec[], useRequested: boolean): number[] {
  const r = podRequests(pod, !useRequested);
  return resources.map((s) => amount(r, s.name));
}

/** True when the pod requests none of the resources (a best-effort pod for these resources). */
export function isBestEffort(requests: readonly number[]): boolean {
  return requests.every((v) => v === 0);
}

/**
 * Allocatable and requested-with-the-pod for one resource. cpu/memory use the node's non-zero
 * totals unless useRequested; an extended resource the pod does not request, or one the node does
 * not have, yields (0, 0) so that it is left out of the score.
 */
function allocatableAndRequested(ni: NodeInfo, name: string, podRequest: number, useRequested: boolean): [number, number] {
  const requested = useRequested ? ni.requested : ni.nonZeroRequested;
  if (podRequest === 0 && isScalarResourceName(name)) return [0, 0];
  switch (name) {
    case 'cpu':
      return [ni.allocatable.milliCPU, requested.milliCPU + podRequest];
    case 'memory':
      return [ni.allocatable.memory, requested.memory + podRequest];
    case 'ephemeral-storage':
      return [ni.allocatable.ephemeralStorage, ni.requested.ephemeralStorage + podRequest];
    default:
      if (name !== 'pods' && Object.hasOwn(ni.allocatable.scalar, name)) {
        return [Math.floor(ni.allocatable.scalar[name]), Math.ceil(ni.requested.scalar[name] ?? 0) + podRequest];
      }
      return [0, 0];
  }
}

/** Scores the node with the given combination; resources the node lacks are passed as (0, 0). */
export function resourceAllocationScore(
  ni: NodeInfo,
  resources: readonly ResourceSpec[],
  podRequestList: readonly number[],
  scorer: ResourceScorer,
  useRequested: boolean,
): number {
  const requested = new Array<number>(resources.length).fill(0);
  const allocatable = new Array<number>(resources.length).fill(0);
  for (let i = 0; i < resources.length; i++) {
    const [alloc, req] = allocatableAndRequested(ni, resources[i].name, podRequestList[i], useRequested);
    if (alloc === 0) continue;
    allocatable[i] = alloc;
    requested[i] = req;
  }
  return scorer(requested, allocatable);
}
