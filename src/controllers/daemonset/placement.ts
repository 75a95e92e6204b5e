// Which nodes a DaemonSet's pod belongs on (upstream daemon_controller.go NodeShouldRunDaemonPod
// and daemon/util): the template's nodeName, nodeSelector and required node affinity must match,
// and NoSchedule/NoExecute taints must be tolerated, counting the tolerations every daemon pod
// gets automatically. Pods are pinned to their node with a required node affinity on
// metadata.name, and the scheduler binds them.
import type { KObject } from '../../api/types.js';
import { TEMPLATE_GENERATION_ANNOTATION } from '../../api/apps/daemonset.js';
import { requiredNodeAffinity } from '../../scheduler/plugins/helpers/node-selector.js';
import {
  DO_NOT_SCHEDULE_EFFECTS,
  TAINT_EFFECT_NO_EXECUTE,
  findUntoleratedTaint,
  type Toleration,
} from '../../scheduler/plugins/helpers/taints.js';
import { newNodeInfo } from '../../scheduler/framework/node-info.js';
import { fits, type InsufficientResource } from '../../scheduler/plugins/node-resources-fit.js';
import { POD_REVISION_LABEL } from '../statefulset/history.js';

/** Label with the DaemonSet's template generation on its pods (upstream DaemonSetTemplateGenerationKey). */
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';

const NO_SCHEDULE = 'NoSchedule';
const NO_EXECUTE = 'NoExecute';

/** The tolerations upstream adds to every daemon pod (AddOrUpdateDaemonPodTolerations). */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: NO_EXECUTE },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: NO_EXECUTE },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: NO_SCHEDULE },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: NO_SCHEDULE },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: NO_SCHEDULE },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: NO_SCHEDULE },
  ];
  if (hostNetwork) t.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: NO_SCHEDULE });
  return t;
}

/** Same key, operator, value and effect (upstream Toleration.MatchToleration; tolerationSeconds ignored). */
function sameToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? '') === (b.operator ?? '') && (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** The pod spec's tolerations with the daemon ones added or replacing their matches (new array). */
export function withDaemonTolerations(spec: any): Toleration[] {
  const out: Toleration[] = [...(spec?.tolerations ?? [])];
  for (const t of daemonTolerations(!!spec?.hostNetwork)) {
    const i = out.findIndex((x) => sameToleration(x, t));
    if (i >= 0) out[i] = t;
    else out.push(t);
  }
  return out;
}

/** The template's generation as recorded by the API server (undefined when absent or malformed). */
export function templateGeneration(ds: KObject): number | undefined {
  const v = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The pod template new daemon pods are made from (upstream CreatePodTemplate): daemon tolerations,
 * the template generation and revision hash labels.
 */
export function daemonPodTemplate(ds: KObject, hash: string): any {
  const t = structuredClone(ds.spec?.template ?? {});
  const spec = (t.spec ??= {});
  spec.tolerations = withDaemonTolerations(spec);
  const labels = ((t.metadata ??= {}).labels ??= {});
  const gen = templateGeneration(ds);
  if (gen !== undefined) labels[TEMPLATE_GENERATION_LABEL] = String(gen);
  if (hash) labels[POD_REVISION_LABEL] = hash;
  return t;
}

/**
 * Pins a pod spec to nodeName: the required node affinity becomes a single matchFields term on
 * metadata.name (other affinity is kept), as upstream ReplaceDaemonSetPodNodeNameNodeAffinity.
 */
export function pinToNode(spec: any, nodeName: string): void {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const affinity = (spec.affinity ??= {});
  const na = (affinity.nodeAffinity ??= {});
  na.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [term] };
}

/** The node a daemon pod is for: spec.nodeName, or the single metadata.name the affinity pins it to. */
export function targetNodeName(pod: KObject): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

export interface Placement {
  /** A daemon pod should be created here. */
  shouldRun: boolean;
  /** An existing daemon pod may stay (true also when only NoSchedule taints are untolerated). */
  shouldContinueRunning: boolean;
}

/** A daemon pod as it would be on node (for the predicates). */
function podFor(ds: KObject, nodeName: string): KObject {
  const spec = ds.spec?.template?.spec ?? {};
  return {
    metadata: { namespace: ds.metadata?.namespace, labels: ds.spec?.template?.metadata?.labels },
    spec: { ...spec, nodeName, tolerations: withDaemonTolerations(spec) },
  };
}

/** Upstream NodeShouldRunDaemonPod, compiled once per DaemonSet for use across many nodes. */
export function compilePlacement(ds: KObject): (node: KObject) => Placement {
  const wanted: string | undefined = ds.spec?.template?.spec?.nodeName;
  const pod = podFor(ds, '');
  const affinity = requiredNodeAffinity(pod);
  const tolerations = pod.spec.tolerations;
  return (node) => {
    if (wanted && wanted !== node.metadata?.name) return NEVER;
    if (!affinity.matches(node)) return NEVER;
    const taints = node.spec?.taints;
    if (taints?.length && findUntoleratedTaint(taints, tolerations, DO_NOT_SCHEDULE_EFFECTS)) {
      // Running pods stay unless a NoExecute taint would evict them anyway.
      return findUntoleratedTaint(taints, tolerations, [TAINT_EFFECT_NO_EXECUTE]) ? NEVER : CONTINUE_ONLY;
    }
    return ALWAYS;
  };
}

const NEVER: Placement = { shouldRun: false, shouldContinueRunning: false };
const CONTINUE_ONLY: Placement = { shouldRun: false, shouldContinueRunning: true };
const ALWAYS: Placement = { shouldRun: true, shouldContinueRunning: true };

export function nodeShouldRunDaemonPod(node: KObject, ds: KObject): Placement {
  return compilePlacement(ds)(node);
}

/**
 * What would not fit if a daemon pod were added to node next to podsOnNode (other pods bound
 * there, excluding this DaemonSet's). Empty when the node does not report allocatable resources.
 */
export function insufficientResources(ds: KObject, node: KObject, podsOnNode: KObject[]): InsufficientResource[] {
  if (!node.status?.allocatable) return [];
  const ni = newNodeInfo(node, podsOnNode);
  return fits(podFor(ds, node.metadata!.name!), ni);
}
