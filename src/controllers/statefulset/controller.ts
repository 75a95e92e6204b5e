// The StatefulSet controller (upstream pkg/controller/statefulset): watches StatefulSets, their
// pods and their ControllerRevisions, claims (adopts/releases) both by selector, and hands each
// set to StatefulSetControl. Pod names are fixed, so no expectations are needed: a create that
// races a stale cache fails with AlreadyExists and the watch event brings the set back.
import type { KObject } from '../../api/types.js';
import { labelSelectorEmpty, labelSelectorMatches } from '../../api/validation.js';
import { GVR, WorkQueue, objectKey, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { claimObjects, getControllerOf } from '../common/controller-ref.js';
import { isPodReady } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { ClaimControl } from './claims.js';
import { StatefulSetControl } from './control.js';
import { isMemberOf, replicasOf } from './identity.js';

export const STATEFULSET_COMPONENT = 'statefulset-controller';

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private readonly queue = new WorkQueue<string>();
  private sets!: SharedInformer;
  private pods!: SharedInformer;
  private revisions!: SharedInformer;
  private setClient!: ResourceClient;
  private podClient!: ResourceClient;
  private revisionClient!: ResourceClient;
  private control!: StatefulSetControl;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.sets = ctx.informers.informer(GVR.statefulSets);
    this.pods = ctx.informers.informer(GVR.pods);
    this.revisions = ctx.informers.informer(GVR.controllerRevisions);
    const pvcs = ctx.informers.informer(GVR.persistentVolumeClaims);
    this.setClient = ctx.client.statefulSets;
    this.podClient = ctx.client.pods;
    this.revisionClient = ctx.client.controllerRevisions;
    const recorder = ctx.recorder(STATEFULSET_COMPONENT);
    this.control = new StatefulSetControl({
      setClient: this.setClient,
      podClient: this.podClient,
      revisionClient: this.revisionClient,
      pvcs,
      claims: new ClaimControl(ctx.client.persistentVolumeClaims, pvcs, recorder),
      recorder,
    });
    this.sets.addEventHandler({
      onAdd: (s) => this.enqueue(s),
      onUpdate: (_o, s) => this.enqueue(s),
      onDelete: (s) => this.enqueue(s),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.podChanged(undefined, p),
      onUpdate: (o, p) => this.podChanged(o, p),
      onDelete: (p) => this.podChanged(undefined, p),
    });
    // Revisions are read from the cache; a change to one (or its deletion) may need a re-sync.
    this.revisions.addEventHandler({
      onUpdate: (o, r) => o.metadata?.resourceVersion !== r.metadata?.resourceVersion && this.enqueueOwner(r),
      onDelete: (r) => this.enqueueOwner(r),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  private enqueue(set: KObject, afterMs = 0): void {
    if (afterMs > 0) this.queue.addAfter(objectKey(set), afterMs);
    else this.queue.add(objectKey(set));
  }

  private selects(set: KObject, labels: Record<string, string> | undefined): boolean {
    return !labelSelectorEmpty(set.spec?.selector) && labelSelectorMatches(set.spec?.selector, labels);
  }

  private owner(obj: KObject, ref = getControllerOf(obj)): KObject | undefined {
    if (!ref || ref.kind !== 'StatefulSet') return undefined;
    const set = this.sets.get(obj.metadata?.namespace, ref.name);
    return set?.metadata?.uid === ref.uid ? set : undefined;
  }

  private enqueueOwner(obj: KObject): void {
    const set = this.owner(obj);
    if (set) this.enqueue(set);
  }

  private podChanged(old: KObject | undefined, pod: KObject): void {
    if (old && old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
    const ref = getControllerOf(pod);
    if (old) {
      const oldRef = getControllerOf(old);
      if (oldRef && oldRef.uid !== ref?.uid) {
        const prev = this.owner(old, oldRef);
        if (prev) this.enqueue(prev);
      }
    }
    if (ref) {
      const set = this.owner(pod, ref);
      if (!set) return;
      this.enqueue(set);
      // Becoming ready starts the minReadySeconds clock: look again when it runs out.
      const minReady = set.spec?.minReadySeconds ?? 0;
      if (old && minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.enqueue(set, minReady * 1000 + 100);
      return;
    }
    // An orphan: any set that would adopt it.
    if (pod.metadata?.deletionTimestamp) return;
    const ns = pod.metadata?.namespace;
    if (!ns) return;
    for (const set of this.sets.list(ns)) if (isMemberOf(set, pod) && this.selects(set, pod.metadata?.labels)) this.enqueue(set);
  }

  async sync(key: string): Promise<void> {
    const set = this.sets.store.get(key);
    if (!set) return;
    const ns = set.metadata!.namespace!;
    const name = set.metadata!.name!;
    const getFresh = () => this.setClient.get(ns, name);
    const revisions = await claimObjects(this.revisions.list(ns), {
      owner: set,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'StatefulSet',
      client: this.revisionClient,
      matches: (r) => this.selects(set, r.metadata?.labels),
      getFresh,
    });
    const pods = await claimObjects(this.pods.list(ns), {
      owner: set,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'StatefulSet',
      client: this.podClient,
      matches: (p) => isMemberOf(set, p) && this.selects(set, p.metadata?.labels),
      getFresh,
    });
    const status = await this.control.sync(set, pods, revisions);
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && status.availableReplicas !== replicasOf(set)) this.enqueue(set, minReady * 1000);
  }
}
