// TaintToleration (upstream plugins/tainttoleration): Filter rejects nodes with an untolerated
// NoSchedule/NoExecute taint; Score prefers nodes with fewer untolerated PreferNoSchedule taints.
import { MAX_NODE_SCORE, Status, type Plugin, type PluginFactory, type Pod } from '../framework/types.js';
import { defaultNormalizeScore } from './helpers/normalize-score.js';
import {
  DO_NOT_SCHEDULE_EFFECTS,
  TAINT_EFFECT_PREFER_NO_SCHEDULE,
  findUntoleratedTaint,
  tolerationsTolerateTaint,
  type Taint,
  type Toleration,
} from './helpers/taints.js';

export const TAINT_TOLERATION = 'TaintToleration';
const PRE_SCORE_KEY = 'PreScore' + TAINT_TOLERATION;

/** Upstream's reason text, e.g. "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }". */
export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

/** Tolerations that can tolerate PreferNoSchedule taints (empty effect or PreferNoSchedule). */
function preferNoScheduleTolerations(pod: Pod): Toleration[] {
  return ((pod.spec?.tolerations ?? []) as Toleration[]).filter((t) => !t.effect || t.effect === TAINT_EFFECT_PREFER_NO_SCHEDULE);
}

/** Number of PreferNoSchedule taints none of the tolerations tolerates. */
export function countIntolerableTaintsPreferNoSchedule(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[]): number {
  let n = 0;
  for (const taint of taints ?? []) {
    if (taint.effect !== TAINT_EFFECT_PREFER_NO_SCHEDULE) continue;
    if (!tolerationsTolerateTaint(tolerations, taint)) n++;
  }
  return n;
}

export const newTaintToleration: PluginFactory = () => {
  const plugin: Plugin = {
    name: TAINT_TOLERATION,
    filter(_state, pod, node) {
      const taint = findUntoleratedTaint(node.node.spec?.taints, pod.spec?.tolerations, DO_NOT_SCHEDULE_EFFECTS);
      return taint ? Status.unresolvable(untoleratedTaintReason(taint)) : Status.success();
    },
    preScore(state, pod, nodes) {
      if (nodes.length === 0) return Status.success();
      state.write(PRE_SCORE_KEY, preferNoScheduleTolerations(pod));
      return Status.success();
    },
    score(state, pod, node) {
      const tolerations = state.read<Toleration[]>(PRE_SCORE_KEY) ?? preferNoScheduleTolerations(pod);
      return { score: countIntolerableTaintsPreferNoSchedule(node.node.spec?.taints, tolerations), status: Status.success() };
    },
    normalizeScore(_state, _pod, scores) {
      defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
      return Status.success();
    },
    eventsToRegister() {
      return [
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'UpdateNodeTaint' },
      ];
    },
  };
  return plugin;
};
