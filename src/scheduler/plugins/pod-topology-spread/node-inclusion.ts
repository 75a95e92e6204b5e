// Node inclusion checks PodTopologySpread needs (nodeAffinityPolicy / nodeTaintsPolicy): the pod's
// required node affinity (nodeSelector plus required nodeSelectorTerms) and NoSchedule/NoExecute
// taints the pod does not tolerate. Kept private here so this plugin does not depend on the
// node-level plugins' module layout.
import type { Node, Pod } from '../../framework/types.js';

type Labels = Record<string, string>;

function requirementMatches(req: any, value: string | undefined): boolean {
  const values: string[] = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      if (!/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0])) return false;
      const a = Number(value);
      const b = Number(values[0]);
      return req.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One nodeSelectorTerm: all expressions and fields must hold; an empty term matches nothing. */
function termMatches(term: any, node: Node): boolean {
  const exprs: any[] = term?.matchExpressions ?? [];
  const fields: any[] = term?.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels: Labels = node.metadata?.labels ?? {};
  for (const e of exprs) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (!requirementMatches(e, has ? labels[e.key] : undefined)) return false;
  }
  for (const f of fields) {
    if (f.key !== 'metadata.name') return false;
    if (!requirementMatches(f, node.metadata?.name)) return false;
  }
  return true;
}

/** Upstream's GetRequiredNodeAffinity(pod).Match(node): nodeSelector AND any required term. */
export function podRequiredNodeAffinityMatches(pod: Pod, node: Node): boolean {
  const labels: Labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries((pod.spec?.nodeSelector ?? {}) as Labels)) {
    if (!Object.prototype.hasOwnProperty.call(labels, k) || labels[k] !== v) return false;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  const terms: any[] = required.nodeSelectorTerms ?? [];
  return terms.some((t) => termMatches(t, node));
}

function tolerates(tol: any, taint: any): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  switch (tol.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
    case '':
      return (tol.value ?? '') === (taint.value ?? '');
    default:
      return false;
  }
}

/** True when the node has a NoSchedule/NoExecute taint none of the pod's tolerations tolerate. */
export function hasUntoleratedScheduleTaint(pod: Pod, node: Node): boolean {
  const tolerations: any[] = pod.spec?.tolerations ?? [];
  for (const taint of (node.spec?.taints ?? []) as any[]) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!tolerations.some((t) => tolerates(t, taint))) return true;
  }
  return false;
}
