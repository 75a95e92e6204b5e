// The pod garbage collector (upstream pkg/controller/podgc): every gcCheckPeriod it deletes
// terminated pods beyond --terminated-pod-gc-threshold (evicted first, then oldest), terminating
// pods on not-ready nodes with the out-of-service taint, pods bound to nodes that stay missing
// past a quarantine (after marking them Failed with a DisruptionTarget condition), and
// terminating pods that were never scheduled. Pods that are not terminal are first patched to
// phase Failed, since no kubelet will ever do it.
import type { KObject } from '../../api/types.js';
import { GVR, clientLog, isNotFound, type Client, type SharedInformer } from '../../client/index.js';
import type { Controller, ControllerContext } from '../types.js';

export const GC_CHECK_PERIOD_MS = 20_000;
export const QUARANTINE_MS = 40_000;
export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';
export const FIELD_MANAGER = 'PodGC';

export interface PodGCOptions {
  /** How often the collector runs (upstream 20 s). */
  gcCheckPeriodMs?: number;
  /** How long a node must stay missing before its pods are deleted (upstream 40 s). */
  quarantineMs?: number;
}

export interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export class PodGCController implements Controller {
  readonly name = 'pod-garbage-collector';
  private client!: Client;
  private pods!: SharedInformer;
  private nodes!: SharedInformer;
  private threshold = 0;
  /** Missing node name → when its quarantine ends. */
  private readonly quarantine = new Map<string, number>();

  constructor(private readonly opts: PodGCOptions = {}) {}

  async run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.client = ctx.client;
    this.threshold = ctx.options.terminatedPodGCThreshold;
    this.pods = ctx.informers.informer(GVR.pods);
    this.nodes = ctx.informers.informer(GVR.nodes);
    await ready;
    const period = this.opts.gcCheckPeriodMs ?? GC_CHECK_PERIOD_MS;
    while (!ctx.signal.aborted) {
      try {
        await this.gc();
      } catch (e) {
        clientLog('warning', `pod-garbage-collector: ${(e as Error).message}`);
      }
      await sleep(period, ctx.signal);
    }
  }

  /** One pass over the cached pods and nodes. */
  async gc(now = Date.now()): Promise<void> {
    const pods = this.pods.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods, now);
    await this.gcUnscheduledTerminating(pods);
  }

  private async gcTerminated(pods: KObject[]): Promise<void> {
    const terminated = pods.filter(isPodTerminated);
    const deleteCount = terminated.length - this.threshold;
    if (deleteCount <= 0) return;
    clientLog('info', `pod-garbage-collector: garbage collecting ${deleteCount} pods`);
    terminated.sort(byEvictionAndCreationTimestamp);
    await this.deleteAll(terminated.slice(0, deleteCount), undefined);
  }

  private async gcTerminating(pods: KObject[]): Promise<void> {
    const victims = pods.filter((p) => {
      if (!p.metadata?.deletionTimestamp) return false;
      const node = p.spec?.nodeName ? this.nodes.get(null, p.spec.nodeName) : undefined;
      return !!node && !isNodeReady(node) && hasOutOfServiceTaint(node);
    });
    victims.sort(byEvictionAndCreationTimestamp);
    await this.deleteAll(victims, undefined);
  }

  private async gcOrphaned(pods: KObject[], now: number): Promise<void> {
    const quarantineMs = this.opts.quarantineMs ?? QUARANTINE_MS;
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (node && !this.nodes.get(null, node) && !this.quarantine.has(node)) this.quarantine.set(node, now + quarantineMs);
    }
    const deleted = new Set<string>();
    for (const [node, until] of this.quarantine) {
      if (until > now) continue;
      this.quarantine.delete(node);
      if (this.nodes.get(null, node)) continue;
      // The informer may lag: only the API server can say the node is really gone.
      try {
        await this.client.nodes.get(null, node);
      } catch (e) {
        if (isNotFound(e)) deleted.add(node);
        else clientLog('warning', `pod-garbage-collector: error while getting node "${node}": ${(e as Error).message}`);
      }
    }
    if (!deleted.size) return;
    const orphans = pods.filter((p) => deleted.has(p.spec?.nodeName));
    await this.deleteAll(orphans, () => ({
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByPodGC',
      message: 'PodGC: node no longer exists',
      lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }));
  }

  private async gcUnscheduledTerminating(pods: KObject[]): Promise<void> {
    await this.deleteAll(
      pods.filter((p) => p.metadata?.deletionTimestamp && !p.spec?.nodeName),
      undefined,
    );
  }

  private async deleteAll(pods: KObject[], condition: (() => PodCondition) | undefined): Promise<void> {
    const CONCURRENCY = 50;
    for (let i = 0; i < pods.length; i += CONCURRENCY) {
      await Promise.all(
        pods.slice(i, i + CONCURRENCY).map((p) =>
          this.markFailedAndDeletePod(p, condition?.()).catch((e) => {
            if (!isNotFound(e)) clientLog('warning', `pod-garbage-collector: failed to delete pod ${p.metadata?.namespace}/${p.metadata?.name}: ${(e as Error).message}`);
          }),
        ),
      );
    }
  }

  /** Marks a non-terminal pod Failed (with condition) through server-side apply on status, then force-deletes it. */
  async markFailedAndDeletePod(pod: KObject, condition?: PodCondition): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const phase = pod.status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') {
      const status: Record<string, unknown> = { phase: 'Failed' };
      if (condition) status.conditions = [condition];
      const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, status };
      await this.client.pods.patch(ns, name, body, 'apply', { subresource: 'status', fieldManager: FIELD_MANAGER, force: true });
    }
    await this.client.pods.delete(ns, name, { gracePeriodSeconds: 0 });
  }
}

export function isPodTerminated(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Pending' && phase !== 'Running' && phase !== 'Unknown' && phase !== undefined;
}

function isEvicted(pod: KObject): boolean {
  return pod.status?.phase === 'Failed' && pod.status?.reason === 'Evicted';
}

/** Evicted pods first, then by creationTimestamp, then by name. */
export function byEvictionAndCreationTimestamp(a: KObject, b: KObject): number {
  const ea = isEvicted(a);
  const eb = isEvicted(b);
  if (ea !== eb) return ea ? -1 : 1;
  const ta = Date.parse(a.metadata?.creationTimestamp ?? '') || 0;
  const tb = Date.parse(b.metadata?.creationTimestamp ?? '') || 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function isNodeReady(node: KObject): boolean {
  return (node.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function hasOutOfServiceTaint(node: KObject): boolean {
  return (node.spec?.taints ?? []).some((t: any) => t.key === OUT_OF_SERVICE_TAINT && t.effect === 'NoExecute');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
