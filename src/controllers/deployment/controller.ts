// The Deployment controller (upstream pkg/controller/deployment): owns ReplicaSets named
// <deployment>-<pod-template-hash> and moves pods between them with the RollingUpdate or
// Recreate strategy, keeping revisions, conditions and status as upstream does.
import type { KObject } from '../../api/types.js';
import { labelSelectorEmpty, labelSelectorMatches } from '../../api/validation.js';
import {
  GVR,
  WorkQueue,
  objectKey,
  type Client,
  type EventRecorder,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { claimObjects, getControllerOf } from '../common/controller-ref.js';
import { ensurePodControllerIndex, POD_CONTROLLER_UID_INDEX, refTo } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { syncDeployment } from './sync.js';

export const DEPLOYMENT_API_VERSION = 'apps/v1';

/** What the sync functions use of the controller. */
export interface DeploymentControllerState {
  client: Client;
  deployments: ResourceClient;
  replicaSets: ResourceClient;
  rsInformer: SharedInformer;
  podInformer: SharedInformer;
  recorder: EventRecorder;
  /** Records an event about deployment d. */
  event(d: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  enqueueAfter(d: KObject, ms: number): void;
  enqueueRateLimited(d: KObject): void;
  /** Pods (from the cache) controlled by the ReplicaSet with this uid. */
  podsOf(rsUid: string): KObject[];
  /** The ReplicaSets deployment d controls, after adoption and release (copies, safe to mutate). */
  claimReplicaSets(d: KObject): Promise<KObject[]>;
}

export class DeploymentController implements Controller, DeploymentControllerState {
  readonly name = 'deployment';
  private readonly queue = new WorkQueue<string>();
  client!: Client;
  deployments!: ResourceClient;
  replicaSets!: ResourceClient;
  private dInformer!: SharedInformer;
  rsInformer!: SharedInformer;
  podInformer!: SharedInformer;
  recorder!: EventRecorder;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.client = ctx.client;
    this.deployments = ctx.client.deployments;
    this.replicaSets = ctx.client.replicaSets;
    this.recorder = ctx.recorder('deployment-controller');
    this.dInformer = ctx.informers.informer(GVR.deployments);
    this.rsInformer = ctx.informers.informer(GVR.replicaSets);
    this.podInformer = ctx.informers.informer(GVR.pods);
    ensurePodControllerIndex(this.podInformer);
    this.dInformer.addEventHandler({
      onAdd: (d) => this.enqueue(d),
      onUpdate: (_o, d) => this.enqueue(d),
      onDelete: (d) => this.enqueue(d),
    });
    this.rsInformer.addEventHandler({
      onAdd: (rs) => this.rsChanged(undefined, rs),
      onUpdate: (old, rs) => this.rsChanged(old, rs),
      onDelete: (rs) => this.enqueueOwner(rs),
    });
    // Recreate waits for old pods to be gone, and surge counts live pods: deletions matter.
    this.podInformer.addEventHandler({ onDelete: (pod) => this.podDeleted(pod) });
    return runQueueWorkers('deployment', ctx, ready, this.queue, (key) => this.sync(key));
  }

  private enqueue(d: KObject): void {
    this.queue.add(objectKey(d));
  }

  enqueueAfter(d: KObject, ms: number): void {
    this.queue.addAfter(objectKey(d), ms);
  }

  enqueueRateLimited(d: KObject): void {
    this.queue.addRateLimited(objectKey(d));
  }

  event(d: KObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.event(refTo(d, DEPLOYMENT_API_VERSION, 'Deployment'), type, reason, reason === 'ScalingReplicaSet' ? 'Scaling' : reason, message);
  }

  podsOf(rsUid: string): KObject[] {
    return this.podInformer.byIndex(POD_CONTROLLER_UID_INDEX, rsUid);
  }

  private resolve(ns: string | undefined, ref: { kind: string; name: string; uid: string }): KObject | undefined {
    if (ref.kind !== 'Deployment') return undefined;
    const d = this.dInformer.get(ns, ref.name);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  }

  private deploymentsSelecting(rs: KObject): KObject[] {
    return this.dInformer
      .list(rs.metadata?.namespace ?? '')
      .filter((d) => !labelSelectorEmpty(d.spec?.selector) && labelSelectorMatches(d.spec?.selector, rs.metadata?.labels));
  }

  private enqueueOwner(rs: KObject): void {
    const ref = getControllerOf(rs);
    const d = ref && this.resolve(rs.metadata?.namespace, ref);
    if (d) this.enqueue(d);
  }

  private rsChanged(old: KObject | undefined, rs: KObject): void {
    if (old && old.metadata?.resourceVersion === rs.metadata?.resourceVersion) return;
    const ref = getControllerOf(rs);
    const oldRef = old && getControllerOf(old);
    const refChanged = oldRef?.uid !== ref?.uid;
    if (old && refChanged) this.enqueueOwner(old);
    if (ref) return this.enqueueOwner(rs);
    const labelsChanged = !old || JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(rs.metadata?.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsSelecting(rs)) this.enqueue(d);
  }

  private podDeleted(pod: KObject): void {
    const ref = getControllerOf(pod);
    if (ref?.kind !== 'ReplicaSet') return;
    const rs = this.rsInformer.get(pod.metadata?.namespace, ref.name);
    if (rs && rs.metadata?.uid === ref.uid) this.enqueueOwner(rs);
  }

  async claimReplicaSets(d: KObject): Promise<KObject[]> {
    const ns = d.metadata!.namespace!;
    const claimed = await claimObjects(this.rsInformer.list(ns), {
      owner: d,
      ownerApiVersion: DEPLOYMENT_API_VERSION,
      ownerKind: 'Deployment',
      client: this.replicaSets,
      matches: (rs) => labelSelectorMatches(d.spec?.selector, rs.metadata?.labels),
      getFresh: () => this.deployments.get(ns, d.metadata!.name!),
    });
    return claimed.map((rs) => structuredClone(rs));
  }

  private async sync(key: string): Promise<void> {
    const cached = this.dInformer.store.get(key);
    if (!cached) return;
    await syncDeployment(this, structuredClone(cached));
  }
}
