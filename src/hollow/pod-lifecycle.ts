// The hollow kubelet's pod loop for all nodes at once: one shared informer on bound pods
// (spec.nodeName!=""), indexed by node name; handlers enqueue only pods of our nodes that need
// something done, and a few workers write through pods/status:
//   Pending            → Running (podIP, container statuses, Ready)
//   Running, completes → Succeeded after completeAfterMs (Job pods, restartPolicy Never/OnFailure)
//   Running, Ready put to False by the node lifecycle controller (MarkPodsNotReady, after late
//                        heartbeats) → Ready True again once the node is back (readinessRestored)
//   being deleted      → DELETE with grace 0 and a uid precondition (the kubelet's final delete)
// Conflicts (our cache was behind) are retried from the cache with backoff.
// Heartbeats come first: while lease or node status writes wait for a slot of the write limiter
// (the API server is slow), a pod write waits for them to get going (at most a second), so pod
// traffic from thousands of pods does not push the nodes' heartbeats past the grace period.
import {
  ItemExponentialRateLimiter,
  isConflict,
  isNotFound,
  objectKey,
  rfc3339,
  runWorkers,
  SharedInformerFactory,
  WorkQueue,
  GVR,
  type HandlerRegistration,
  type KObject,
  type SharedInformer,
} from '../client/index.js';
import { allocatePodIP, cidrPodRange, fallbackPodRange, nodeIP } from './addresses.js';
import type { HollowContext } from './context.js';
import { readinessRestored, readyToRestore, runningStatus, runsToCompletion, succeededStatus } from './pod-status.js';

export const BOUND_PODS_SELECTOR = 'spec.nodeName!=';
export const NODE_NAME_INDEX = 'spec.nodeName';
/** Longest a pod write waits for queued heartbeats to get a slot. */
const HEARTBEAT_PRIORITY_MS = 1000;

export interface PodLifecycleOptions {
  /** How long a run-to-completion pod stays Running (default 1 s). */
  completeAfterMs?: number;
  /** Concurrent status writers (default 8). */
  workers?: number;
  /** Share the pod informer with other components of the process; else a private factory is used. */
  informers?: SharedInformerFactory;
}

const terminal = (pod: KObject) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

export class PodLifecycle {
  private readonly queue = new WorkQueue<string>(new ItemExponentialRateLimiter<string>(10, 5_000));
  private readonly informer: SharedInformer;
  private readonly ownFactory?: SharedInformerFactory;
  private registration?: HandlerRegistration;
  private workersDone?: Promise<void>;
  private readonly completeAfterMs: number;
  private readonly workers: number;
  /** Pod uid → when it may complete (ms, performance clock); set when we report it Running. */
  private readonly completeAt = new Map<string, number>();

  constructor(
    private readonly ctx: HollowContext,
    opts: PodLifecycleOptions = {},
  ) {
    this.completeAfterMs = opts.completeAfterMs ?? 1000;
    this.workers = opts.workers ?? 8;
    const factory = opts.informers ?? (this.ownFactory = new SharedInformerFactory(ctx.client));
    this.informer = factory.informer(GVR.pods, { fieldSelector: BOUND_PODS_SELECTOR });
    if (!this.informer.store.hasIndexer(NODE_NAME_INDEX)) this.informer.addIndexer(NODE_NAME_INDEX, (p) => p.spec?.nodeName || undefined);
  }

  /** Starts the informer (when private) and the workers; resolves once the pod cache has synced. */
  async start(): Promise<void> {
    this.registration = this.informer.addEventHandler({
      onAdd: (pod) => this.consider(pod),
      onUpdate: (_old, pod) => this.consider(pod),
      onDelete: (pod) => this.completeAt.delete(pod.metadata?.uid ?? ''),
    });
    this.informer.start();
    this.workersDone = runWorkers(this.queue, this.workers, (key) => this.sync(key), {
      onError: (key, err, requeues) => {
        if (this.ctx.stopped) return;
        if (isConflict(err)) this.ctx.stats.conflicts++;
        else {
          this.ctx.stats.errors++;
          this.ctx.log('warning', `pod ${key}: ${(err as Error)?.message ?? err} (retry ${requeues + 1})`);
        }
      },
    });
    await this.informer.waitForSync();
  }

  async stop(): Promise<void> {
    this.registration?.remove();
    this.queue.shutdown();
    this.ownFactory?.stop();
    await this.workersDone;
  }

  /** The pod cache (bound pods of every node, indexed by NODE_NAME_INDEX). */
  get pods(): SharedInformer {
    return this.informer;
  }

  /** Enqueues pods of our nodes that need a write; our own Running updates come back here and are ignored. */
  private consider(pod: KObject): void {
    if (this.ctx.stopped) return;
    const i = this.ctx.table.index.get(pod.spec?.nodeName);
    if (i === undefined) return;
    const phase = pod.status?.phase;
    if (pod.metadata?.deletionTimestamp || (phase !== 'Running' && !terminal(pod)) || (phase === 'Running' && runsToCompletion(pod)))
      this.queue.add(objectKey(pod));
    else if (phase === 'Running' && !this.ctx.table.notReady[i] && readyToRestore(pod) >= 0) this.queue.add(objectKey(pod));
  }

  /** Node i is Ready again: its pods marked not ready meanwhile get their readiness back. */
  nodeRecovered(i: number): void {
    if (this.ctx.stopped) return;
    for (const pod of this.informer.byIndex(NODE_NAME_INDEX, this.ctx.table.names[i])) this.consider(pod);
  }

  private async sync(key: string): Promise<void> {
    if (this.ctx.stopped) return;
    const pod = this.informer.store.get(key);
    if (!pod) return;
    const i = this.ctx.table.index.get(pod.spec?.nodeName);
    if (i === undefined) return;
    const meta = pod.metadata!;
    if (meta.deletionTimestamp) return this.finishDeletion(pod);
    if (terminal(pod)) return;
    if (pod.status?.phase !== 'Running') {
      await this.writeStatus(pod, runningStatus(pod, { hostIP: nodeIP(i), podIP: this.podIP(pod, i), now: rfc3339() }));
      this.ctx.stats.podsRunning++;
      if (runsToCompletion(pod)) {
        this.completeAt.set(meta.uid!, performance.now() + this.completeAfterMs);
        this.queue.addAfter(key, this.completeAfterMs);
      }
      return;
    }
    if (!runsToCompletion(pod)) {
      if (this.ctx.table.notReady[i]) return; // nodeRecovered() brings it back here
      const restored = readinessRestored(pod, rfc3339());
      if (!restored) return;
      await this.writeStatus(pod, restored);
      this.ctx.stats.podsReadyRestored++;
      return;
    }
    // Running and due to finish (a pod found Running at startup finishes one period from now).
    const now = performance.now();
    let at = this.completeAt.get(meta.uid!);
    if (at === undefined) this.completeAt.set(meta.uid!, (at = now + this.completeAfterMs));
    if (now < at) {
      this.queue.addAfter(key, Math.ceil(at - now));
      return;
    }
    await this.writeStatus(pod, succeededStatus(pod, rfc3339()));
    this.completeAt.delete(meta.uid!);
    this.ctx.stats.podsSucceeded++;
  }

  /** Gives way to heartbeats waiting for the write limiter (bounded, so pods still progress). */
  private giveWayToHeartbeats(): Promise<void> {
    return this.ctx.limiter.whenNoneQueued(HEARTBEAT_PRIORITY_MS);
  }

  private async writeStatus(pod: KObject, status: KObject): Promise<void> {
    await this.giveWayToHeartbeats();
    const meta = pod.metadata!;
    await this.ctx.client.pods.updateStatus(meta.namespace, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, resourceVersion: meta.resourceVersion },
      status,
    });
  }

  private async finishDeletion(pod: KObject): Promise<void> {
    await this.giveWayToHeartbeats();
    const meta = pod.metadata!;
    try {
      await this.ctx.client.pods.delete(meta.namespace, meta.name!, { gracePeriodSeconds: 0, preconditions: { uid: meta.uid } });
      this.ctx.stats.podsDeleted++;
    } catch (e) {
      // Gone already, or replaced by a new pod of the same name (uid precondition): nothing to do.
      if (isNotFound(e) || isConflict(e)) return;
      throw e;
    }
    this.completeAt.delete(meta.uid!);
  }

  /** Keeps an address the pod already has; else the node's next free one (from spec.podCIDR when set). */
  private podIP(pod: KObject, i: number): string {
    if (pod.status?.podIP) return pod.status.podIP;
    if (pod.spec?.hostNetwork) return nodeIP(i);
    const { table } = this.ctx;
    const range = cidrPodRange(table.podCIDR[i]) ?? fallbackPodRange(i);
    const inUse = new Set<string>();
    for (const p of this.informer.byIndex(NODE_NAME_INDEX, table.names[i])) {
      const ip = p.status?.podIP;
      if (ip && !terminal(p)) inUse.add(ip);
    }
    const { ip, next } = allocatePodIP(range, table.podIpCounter[i], inUse);
    table.podIpCounter[i] = next;
    return ip;
  }
}
