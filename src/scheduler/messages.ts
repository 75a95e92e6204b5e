// FailedScheduling messages in upstream's format (framework.FitError.Error()):
//   "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {...}. preemption: ..."
// Each node contributes one count per reason of its status; "count reason" strings are sorted
// as strings, exactly as upstream does, so kubectl users and tooling see the same text.
import type { NodeToStatus, Status } from './framework/types.js';

/** Why a pod did not fit: per-node statuses plus what PreFilter/PostFilter said. */
export interface Diagnosis {
  nodeToStatus: NodeToStatus;
  /** Status for nodes not in nodeToStatus (nodes a PreFilterResult excluded). */
  absentNodesStatus?: Status;
  /** Plugins that rejected the pod (used to requeue it on relevant cluster events). */
  unschedulablePlugins: Set<string>;
  /** Set when a PreFilter plugin rejected the pod: its message replaces per-node reasons. */
  preFilterMsg: string;
  /** Set by PostFilter (preemption): appended as the last sentence. */
  postFilterMsg: string;
}

export function newDiagnosis(): Diagnosis {
  return { nodeToStatus: new Map(), unschedulablePlugins: new Set(), preFilterMsg: '', postFilterMsg: '' };
}

export const NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/** Upstream's Status.Message(): reasons joined with ", ". */
export function statusMessage(s: Status): string {
  return s.reasons.join(', ');
}

/** The pod fits on no node. */
export class FitError extends Error {
  constructor(
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    super('');
    this.name = 'FitError';
    // Computed on read: PostFilter adds its message after the error is created.
    Object.defineProperty(this, 'message', { get: () => fitErrorMessage(this.numAllNodes, this.diagnosis), configurable: true });
  }
}

export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const counts = new Map<string, number>();
    for (const st of d.nodeToStatus.values()) for (const r of st.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const absent = numAllNodes - d.nodeToStatus.size;
    if (absent > 0 && d.absentNodesStatus) for (const r of d.absentNodesStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
    const parts: string[] = [];
    for (const [r, n] of counts) parts.push(`${n} ${r}`);
    // Go's sort.Strings: byte-wise order.
    parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** The Normal "Scheduled" event's note. */
export function scheduledMessage(namespace: string, name: string, node: string): string {
  return `Successfully assigned ${namespace}/${name} to ${node}`;
}
