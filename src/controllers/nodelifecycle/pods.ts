// Pods by node, and marking a lost node's pods not ready (upstream MarkPodsNotReady).
import type { KObject } from '../../api/types.js';
import { isConflict, isNotFound, rfc3339, type EventRecorder, type ResourceClient, type SharedInformer } from '../../client/index.js';

/** Pod informer index: spec.nodeName (same name and function as the hollow kubelet's). */
export const POD_NODE_NAME_INDEX = 'spec.nodeName';

export function ensurePodNodeIndex(pods: SharedInformer): void {
  if (!pods.store.hasIndexer(POD_NODE_NAME_INDEX)) pods.addIndexer(POD_NODE_NAME_INDEX, (p) => p.spec?.nodeName || undefined);
}

export function podsOnNode(pods: SharedInformer, node: string): KObject[] {
  return pods.byIndex(POD_NODE_NAME_INDEX, node);
}

function withReadyFalse(pod: KObject, now: string): KObject | undefined {
  const conditions: any[] = pod.status?.conditions ?? [];
  const i = conditions.findIndex((c) => c.type === 'Ready');
  if (i < 0 || conditions[i].status === 'False') return undefined;
  const next = conditions.slice();
  next[i] = { ...conditions[i], status: 'False', lastTransitionTime: now };
  return { ...pod, status: { ...pod.status, conditions: next } };
}

/**
 * Sets the Ready condition of every pod on the node to False (the kubelet that would do it is
 * unreachable). Resolves false when some pod could not be updated (the caller retries).
 */
export async function markPodsNotReady(client: ResourceClient, pods: SharedInformer, node: string, recorder: EventRecorder): Promise<boolean> {
  let ok = true;
  await Promise.all(
    podsOnNode(pods, node).map(async (cached) => {
      let pod: KObject | undefined = cached;
      for (let attempt = 0; attempt < 3 && pod; attempt++) {
        const next = withReadyFalse(pod, rfc3339());
        if (!next) return;
        try {
          await client.updateStatus(pod.metadata!.namespace, next);
          recorder.event(pod, 'Warning', 'NodeNotReady', 'MarkNotReady', 'Node is not ready');
          return;
        } catch (e) {
          if (isNotFound(e)) return;
          if (!isConflict(e)) break;
          try {
            pod = await client.get(cached.metadata!.namespace, cached.metadata!.name!);
          } catch (e2) {
            if (isNotFound(e2)) return;
            break;
          }
        }
      }
      ok = false;
    }),
  );
  return ok;
}
