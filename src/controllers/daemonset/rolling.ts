// DaemonSet rolling update decisions (upstream daemon/update.go), kept pure: given the pods per
// node, which old pods to delete and which nodes get a new pod now. Without surge, old pods are
// deleted while fewer than maxUnavailable pods are unavailable and the main loop recreates them;
// with surge, a new pod is started next to an old one (at most maxSurge at a time) and the old
// one goes once the new one is available.
import type { KObject } from '../../api/types.js';
import { isPodAvailable } from '../common/pods.js';
import { scaledValue } from '../deployment/util.js';
import { POD_REVISION_LABEL } from '../statefulset/history.js';
import { TEMPLATE_GENERATION_LABEL, templateGeneration } from './placement.js';

/** Whether pod is of the DaemonSet's current template (revision hash, or the legacy generation label). */
export function isPodUpdated(pod: KObject, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  const templateMatches = generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === String(generation);
  const hashMatches = hash.length > 0 && labels[POD_REVISION_LABEL] === hash;
  return hashMatches || templateMatches;
}

/**
 * The one new and one old (not deleting) pod on a node; ok=false when there are two of either
 * (the main loop must clean up first).
 */
export function findUpdatedPodsOnNode(ds: KObject, pods: KObject[], hash: string): { newPod?: KObject; oldPod?: KObject; ok: boolean } {
  let newPod: KObject | undefined;
  let oldPod: KObject | undefined;
  const gen = templateGeneration(ds);
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    if (isPodUpdated(p, hash, gen)) {
      if (newPod) return { ok: false };
      newPod = p;
    } else {
      if (oldPod) return { ok: false };
      oldPod = p;
    }
  }
  return { newPod, oldPod, ok: true };
}

/** [maxSurge, maxUnavailable] against the desired count, rounding percentages up; never both 0. */
export function surgeAndUnavailable(ds: KObject, desired: number): [number, number] {
  const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
  const surge = scaledValue(ru.maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(ru.maxUnavailable ?? 0, desired, true);
  if (desired > 0 && surge === 0 && unavailable === 0) unavailable = 1;
  return [surge, unavailable];
}

export interface RollingInput {
  ds: KObject;
  hash: string;
  /** Daemon pods by node name, including an empty entry for every node that should run one. */
  nodeToPods: Map<string, KObject[]>;
  /** Nodes that should run a daemon pod. */
  desired: number;
  /** Whether a node (by name) passes the placement predicates (shouldRun). */
  shouldRun(nodeName: string): boolean;
  now: number;
}

export interface RollingActions {
  podsToDelete: KObject[];
  nodesToCreate: string[];
}

export function rollingUpdateActions(input: RollingInput): RollingActions {
  const { ds, hash, nodeToPods, now } = input;
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: KObject) => isPodAvailable(p, minReady, now);
  const [maxSurge, maxUnavailable] = surgeAndUnavailable(ds, input.desired);

  if (maxSurge === 0) {
    let numUnavailable = 0;
    const replacements: KObject[] = [];
    const candidates: KObject[] = [];
    for (const pods of nodeToPods.values()) {
      const { newPod, oldPod, ok } = findUpdatedPodsOnNode(ds, pods, hash);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
      else if (newPod) {
        if (!available(newPod)) numUnavailable++;
      } else if (!available(oldPod!)) {
        // An unavailable old pod can be replaced right away.
        replacements.push(oldPod!);
        numUnavailable++;
      } else if (numUnavailable < maxUnavailable) candidates.push(oldPod!);
    }
    const room = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
    return { podsToDelete: [...replacements, ...candidates.slice(0, room)], nodesToCreate: [] };
  }

  const podsToDelete: KObject[] = [];
  const shouldNotRun: KObject[] = [];
  const candidateNodes: string[] = [];
  const allowedNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  for (const [nodeName, pods] of nodeToPods) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(ds, pods, hash);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (oldPod ? available(oldPod) : newPod && available(newPod)) numAvailable++;
    if (!oldPod) continue;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!input.shouldRun(nodeName)) podsToDelete.push(oldPod);
        else allowedNodes.push(nodeName);
      } else if (!input.shouldRun(nodeName)) shouldNotRun.push(oldPod);
      else if (numSurge < maxSurge) candidateNodes.push(nodeName);
      continue;
    }
    // Already surged here: wait for the new pod, then retire the old one.
    if (!available(newPod)) {
      numSurge++;
      continue;
    }
    podsToDelete.push(oldPod);
  }
  // Pods on nodes that no longer qualify go only while enough pods elsewhere are available.
  const deletable = Math.min(numAvailable - input.desired, shouldNotRun.length);
  for (const p of shouldNotRun.slice(0, Math.max(0, deletable))) podsToDelete.push(p);
  const room = Math.min(Math.max(0, maxSurge - numSurge), candidateNodes.length);
  return { podsToDelete, nodesToCreate: [...allowedNodes, ...candidateNodes.slice(0, room)] };
}
