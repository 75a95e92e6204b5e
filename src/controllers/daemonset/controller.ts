// The DaemonSet controller (upstream pkg/controller/daemon): one pod per eligible node. Each sync
// snapshots the template as a ControllerRevision, creates pods (pinned to their node by required
// node affinity; the scheduler binds them) on nodes that lack one, deletes pods on nodes that no
// longer qualify and failed/duplicate pods, runs the rolling update, and reports status.
import type { KObject } from '../../api/types.js';
import { labelSelectorEmpty, labelSelectorMatches } from '../../api/validation.js';
import { GVR, WorkQueue, isNotFound, objectKey, type EventRecorder, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { claimObjects, getControllerOf, newControllerRef } from '../common/controller-ref.js';
import { isPodAvailable, isPodReady, podKey } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import { omitZero, sameJson, writeStatus } from '../common/status.js';
import { slowStartBatch } from '../replicaset/controller.js';
import { POD_REVISION_LABEL } from '../statefulset/history.js';
import type { Controller, ControllerContext } from '../types.js';
import { DaemonExpectations } from './expectations.js';
import { cleanupHistory, constructHistory, type HistoryClients } from './history.js';
import { compilePlacement, daemonPodTemplate, insufficientResources, pinToNode, targetNodeName, templateGeneration, type Placement } from './placement.js';
import { isPodUpdated, rollingUpdateActions } from './rolling.js';

type PlacementFn = (node: KObject) => Placement;

export const DAEMONSET_COMPONENT = 'daemonset-controller';
/** Most pods created or deleted in one sync (upstream BurstReplicas for DaemonSets). */
export const DAEMON_BURST_REPLICAS = 250;
/** Pod informer index by spec.nodeName (same name and function as other components use). */
const POD_NODE_NAME_INDEX = 'spec.nodeName';
/** Backoff before deleting another failed pod on the same node (upstream failedPodsBackoff). */
const FAILED_POD_BACKOFF_INITIAL_MS = 1000;
const FAILED_POD_BACKOFF_MAX_MS = 15 * 60_000;

const STATUS_OMITEMPTY = ['observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'];

/** Scheduled pods first, then older first, then by name (upstream podByCreationTimestampAndPhase). */
function compareByCreation(a: KObject, b: KObject): number {
  const an = a.spec?.nodeName ? 0 : 1;
  const bn = b.spec?.nodeName ? 0 : 1;
  if (an !== bn) return an - bn;
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private readonly queue = new WorkQueue<string>();
  readonly expectations = new DaemonExpectations();
  private readonly failedBackoff = new Map<string, { delayMs: number; at: number }>();
  private sets!: SharedInformer;
  private pods!: SharedInformer;
  private nodes!: SharedInformer;
  private revisions!: SharedInformer;
  private dsClient!: ResourceClient;
  private podClient!: ResourceClient;
  private history!: HistoryClients;
  private recorder!: EventRecorder;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.sets = ctx.informers.informer(GVR.daemonSets);
    this.pods = ctx.informers.informer(GVR.pods);
    this.nodes = ctx.informers.informer(GVR.nodes);
    this.revisions = ctx.informers.informer(GVR.controllerRevisions);
    if (!this.pods.store.hasIndexer(POD_NODE_NAME_INDEX)) this.pods.addIndexer(POD_NODE_NAME_INDEX, (p) => p.spec?.nodeName || undefined);
    this.dsClient = ctx.client.daemonSets;
    this.podClient = ctx.client.pods;
    this.history = { dsClient: this.dsClient, revisionClient: ctx.client.controllerRevisions, podClient: this.podClient };
    this.recorder = ctx.recorder(DAEMONSET_COMPONENT);
    this.sets.addEventHandler({
      onAdd: (ds) => this.enqueue(ds),
      onUpdate: (_o, ds) => this.enqueue(ds),
      onDelete: (ds) => {
        this.expectations.delete(objectKey(ds));
        this.enqueue(ds);
      },
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.podAdded(p),
      onUpdate: (o, p) => this.podUpdated(o, p),
      onDelete: (p) => this.podDeleted(p),
    });
    this.nodes.addEventHandler({
      onAdd: (n) => this.nodeChanged(undefined, n),
      onUpdate: (o, n) => this.nodeChanged(o, n),
      onDelete: () => this.enqueueAll(),
    });
    this.revisions.addEventHandler({
      onAdd: (r) => this.revisionChanged(r),
      onUpdate: (o, r) => o.metadata?.resourceVersion !== r.metadata?.resourceVersion && this.revisionChanged(r),
      onDelete: (r) => this.revisionChanged(r),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  // ---- event handlers ----

  private enqueue(ds: KObject, afterMs = 0): void {
    if (afterMs > 0) this.queue.addAfter(objectKey(ds), afterMs);
    else this.queue.add(objectKey(ds));
  }

  private enqueueAll(): void {
    for (const ds of this.sets.list()) this.enqueue(ds);
  }

  private selects(ds: KObject, labels: Record<string, string> | undefined): boolean {
    return !labelSelectorEmpty(ds.spec?.selector) && labelSelectorMatches(ds.spec?.selector, labels);
  }

  private owner(obj: KObject, ref = getControllerOf(obj)): KObject | undefined {
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const ds = this.sets.get(obj.metadata?.namespace, ref.name);
    return ds?.metadata?.uid === ref.uid ? ds : undefined;
  }

  private enqueueSelecting(obj: KObject): void {
    const ns = obj.metadata?.namespace;
    if (!ns) return;
    for (const ds of this.sets.list(ns)) if (this.selects(ds, obj.metadata?.labels)) this.enqueue(ds);
  }

  private podAdded(pod: KObject): void {
    if (pod.metadata?.deletionTimestamp) return this.podDeleted(pod);
    const ref = getControllerOf(pod);
    if (!ref) return this.enqueueSelecting(pod);
    const ds = this.owner(pod, ref);
    if (!ds) return;
    this.expectations.creationObserved(objectKey(ds));
    this.enqueue(ds);
  }

  private podUpdated(old: KObject, pod: KObject): void {
    if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
    if (pod.metadata?.deletionTimestamp) {
      // Graceful deletion has started: for our counts the pod is gone.
      this.podDeleted(pod);
      return;
    }
    const oldRef = getControllerOf(old);
    const ref = getControllerOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const prev = this.owner(old, oldRef);
      if (prev) this.enqueue(prev);
    }
    if (!ref) {
      if (!sameJson(old.metadata?.labels ?? {}, pod.metadata?.labels ?? {}) || oldRef) this.enqueueSelecting(pod);
      return;
    }
    const ds = this.owner(pod, ref);
    if (!ds) return;
    this.enqueue(ds);
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.enqueue(ds, minReady * 1000 + 100);
  }

  private podDeleted(pod: KObject): void {
    const ds = this.owner(pod);
    if (!ds) return;
    this.expectations.deletionObserved(objectKey(ds), podKey(pod));
    this.enqueue(ds);
  }

  private nodeChanged(old: KObject | undefined, node: KObject): void {
    if (old) {
      // Heartbeats and status churn do not change where daemon pods belong.
      const same =
        sameJson(old.metadata?.labels ?? {}, node.metadata?.labels ?? {}) &&
        sameJson(old.spec?.taints ?? [], node.spec?.taints ?? []);
      if (same) return;
    }
    for (const ds of this.sets.list()) {
      const placement = compilePlacement(ds);
      const now = placement(node);
      if (!old) {
        if (now.shouldRun) this.enqueue(ds);
        continue;
      }
      const before = placement(old);
      if (before.shouldRun !== now.shouldRun || before.shouldContinueRunning !== now.shouldContinueRunning) this.enqueue(ds);
    }
  }

  private revisionChanged(r: KObject): void {
    const ds = this.owner(r);
    if (ds) this.enqueue(ds);
    else if (!getControllerOf(r)) this.enqueueSelecting(r);
  }

  // ---- sync ----

  async sync(key: string): Promise<void> {
    const ds = this.sets.store.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    if (labelSelectorEmpty(ds.spec?.selector)) {
      this.recorder.event(ds, 'Warning', 'SelectingAll', 'Selecting', 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    const nodes = this.nodes.list();
    const placement = compilePlacement(ds);
    const ns = ds.metadata!.namespace!;
    const getFresh = () => this.dsClient.get(ns, ds.metadata!.name!);
    const revisions = await claimObjects(this.revisions.list(ns), {
      owner: ds,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'DaemonSet',
      client: this.history.revisionClient,
      matches: (r) => this.selects(ds, r.metadata?.labels),
      getFresh,
    });
    let pods = await this.claimPods(ds, getFresh);
    const { cur, old } = await constructHistory(this.history, ds, revisions, pods);
    const hash = cur.metadata?.labels?.[POD_REVISION_LABEL] ?? '';

    if (ds.metadata?.deletionTimestamp || !this.expectations.satisfied(key)) {
      await this.updateStatus(ds, placement, nodes, pods, hash, false);
      return;
    }
    let err: unknown;
    try {
      await this.manage(key, ds, placement, nodes, pods, hash);
      if (this.expectations.satisfied(key) && ds.spec?.updateStrategy?.type === 'RollingUpdate') {
        await this.rollingUpdate(key, ds, placement, nodes, pods, hash);
      }
      await cleanupHistory(this.history, ds, old, pods);
    } catch (e) {
      err = e;
    }
    // Status counts what the caches show now (our own writes arrive through them).
    pods = this.ownedPods(ds);
    await this.updateStatus(ds, placement, nodes, pods, hash, true);
    if (err) throw err;
  }

  /** Pods the DaemonSet controls after adoption/release, minus terminal pods being deleted. */
  private async claimPods(ds: KObject, getFresh: () => Promise<KObject>): Promise<KObject[]> {
    const claimed = await claimObjects(this.pods.list(ds.metadata!.namespace!), {
      owner: ds,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'DaemonSet',
      client: this.podClient,
      matches: (p) => this.selects(ds, p.metadata?.labels),
      getFresh,
    });
    return claimed.filter((p) => !(p.metadata?.deletionTimestamp && isTerminal(p)));
  }

  /** Controlled pods from the cache (no adoption), as claimPods would return them. */
  private ownedPods(ds: KObject): KObject[] {
    const uid = ds.metadata?.uid;
    return this.pods
      .list(ds.metadata!.namespace!)
      .filter((p) => getControllerOf(p)?.uid === uid && this.selects(ds, p.metadata?.labels) && !(p.metadata?.deletionTimestamp && isTerminal(p)));
  }

  private nodeToPods(pods: KObject[]): Map<string, KObject[]> {
    const m = new Map<string, KObject[]>();
    for (const p of pods) {
      const node = targetNodeName(p);
      if (!node) continue;
      let list = m.get(node);
      if (!list) m.set(node, (list = []));
      list.push(p);
    }
    return m;
  }

  /** Creates pods where missing, deletes them where they do not belong (upstream manage). */
  private async manage(key: string, ds: KObject, placement: PlacementFn, nodes: KObject[], pods: KObject[], hash: string): Promise<void> {
    const byNode = this.nodeToPods(pods);
    const needing: string[] = [];
    const toDelete: KObject[] = [];
    const surge = allowsSurge(ds);
    const now = Date.now();
    for (const node of nodes) {
      const name = node.metadata!.name!;
      const { shouldRun, shouldContinueRunning } = placement(node);
      const daemonPods = byNode.get(name);
      if (shouldRun && !daemonPods) {
        needing.push(name);
        continue;
      }
      if (!daemonPods) continue;
      if (!shouldContinueRunning) {
        for (const p of daemonPods) if (!p.metadata?.deletionTimestamp) toDelete.push(p);
        continue;
      }
      const running: KObject[] = [];
      for (const p of daemonPods) {
        if (p.metadata?.deletionTimestamp) continue;
        const phase = p.status?.phase;
        if (phase === 'Failed') {
          // The kubelet may keep rejecting the pod: back off before replacing it again.
          const bkey = `${key}/${name}`;
          const b = this.failedBackoff.get(bkey);
          if (b && now < b.at + b.delayMs) {
            this.enqueue(ds, b.at + b.delayMs - now);
            continue;
          }
          this.failedBackoff.set(bkey, { at: now, delayMs: b ? Math.min(b.delayMs * 2, FAILED_POD_BACKOFF_MAX_MS) : FAILED_POD_BACKOFF_INITIAL_MS });
          this.recorder.event(ds, 'Warning', 'FailedDaemonPod', 'Delete', `Found failed daemon pod ${p.metadata!.namespace}/${p.metadata!.name} on node ${name}, will try to kill it`);
          toDelete.push(p);
        } else if (phase === 'Succeeded') toDelete.push(p);
        else running.push(p);
      }
      if (running.length === 0) {
        if (surge && shouldRun) needing.push(name);
        continue;
      }
      if (running.length === 1) continue;
      running.sort(compareByCreation);
      if (!surge) {
        // One daemon pod per node: keep the oldest.
        toDelete.push(...running.slice(1));
        continue;
      }
      // Surging: keep at most the oldest new and the oldest old pod, and the old one only while
      // the new one is not yet available.
      let oldestNew: KObject | undefined;
      let oldestOld: KObject | undefined;
      const gen = templateGeneration(ds);
      for (const p of running) {
        if (isPodUpdated(p, hash, gen)) {
          if (!oldestNew) {
            oldestNew = p;
            continue;
          }
        } else if (!oldestOld) {
          oldestOld = p;
          continue;
        }
        toDelete.push(p);
      }
      if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, now))) toDelete.push(oldestOld);
    }
    // Unscheduled pods meant for nodes that no longer exist.
    const nodeNames = new Set(nodes.map((n) => n.metadata!.name!));
    for (const [node, list] of byNode) {
      if (nodeNames.has(node)) continue;
      for (const p of list) if (!p.spec?.nodeName && !p.metadata?.deletionTimestamp) toDelete.push(p);
    }
    await this.syncNodes(key, ds, toDelete, needing, hash);
  }

  private async rollingUpdate(key: string, ds: KObject, placement: PlacementFn, nodes: KObject[], pods: KObject[], hash: string): Promise<void> {
    const byNode = this.nodeToPods(pods);
    const nodeByName = new Map(nodes.map((n) => [n.metadata!.name!, n]));
    let desired = 0;
    for (const node of nodes) {
      if (!placement(node).shouldRun) continue;
      desired++;
      if (!byNode.has(node.metadata!.name!)) byNode.set(node.metadata!.name!, []);
    }
    const { podsToDelete, nodesToCreate } = rollingUpdateActions({
      ds,
      hash,
      nodeToPods: byNode,
      desired,
      shouldRun: (name) => {
        const n = nodeByName.get(name);
        return !!n && placement(n).shouldRun;
      },
      now: Date.now(),
    });
    await this.syncNodes(key, ds, podsToDelete, nodesToCreate, hash);
  }

  /** Creates pods on nodes (slow start) and deletes pods, under expectations (upstream syncNodes). */
  private async syncNodes(key: string, ds: KObject, toDelete: KObject[], nodes: string[], hash: string): Promise<void> {
    if (!toDelete.length && !nodes.length) return;
    const creates = nodes.slice(0, DAEMON_BURST_REPLICAS);
    const deletes = toDelete.slice(0, DAEMON_BURST_REPLICAS);
    this.expectations.set(key, creates.length, deletes.map(podKey));
    const errors: Error[] = [];
    if (creates.length) {
      const template = daemonPodTemplate(ds, hash);
      let i = 0;
      const { error } = await slowStartBatch(creates.length, 1, () => this.createPod(key, ds, template, creates[i++]));
      if (error) {
        errors.push(error);
        // Pods of batches never started will not be observed.
        this.expectations.lowerCreations(key, creates.length - i);
      }
    }
    await Promise.all(
      deletes.map(async (pod) => {
        try {
          await this.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
          this.recorder.event(ds, 'Normal', 'SuccessfulDelete', 'Delete', `Deleted pod: ${pod.metadata!.name}`);
        } catch (e) {
          this.expectations.deletionObserved(key, podKey(pod));
          if (isNotFound(e)) return;
          this.recorder.event(ds, 'Warning', 'FailedDelete', 'Delete', `Error deleting: ${(e as Error).message}`);
          errors.push(e as Error);
        }
      }),
    );
    if (errors.length) throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => e.message).join('; '));
  }

  private async createPod(key: string, ds: KObject, template: any, nodeName: string): Promise<void> {
    const spec = structuredClone(template.spec ?? {});
    pinToNode(spec, nodeName);
    const tm = template.metadata ?? {};
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: `${ds.metadata!.name}-`, namespace: ds.metadata!.namespace, ownerReferences: [newControllerRef(ds, 'apps/v1', 'DaemonSet')] },
      spec,
    };
    if (tm.labels) pod.metadata!.labels = { ...tm.labels };
    if (tm.annotations) pod.metadata!.annotations = { ...tm.annotations };
    if (tm.finalizers) pod.metadata!.finalizers = [...tm.finalizers];
    this.reportMisfit(ds, nodeName);
    try {
      const created = await this.podClient.create(ds.metadata!.namespace, pod);
      this.recorder.event(ds, 'Normal', 'SuccessfulCreate', 'Create', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      this.expectations.creationObserved(key);
      const msg = (e as Error).message ?? '';
      if (/namespace .* is being terminated|NamespaceTerminating/.test(msg)) return;
      this.recorder.event(ds, 'Warning', 'FailedCreate', 'Create', `Error creating: ${msg}`);
      throw e;
    }
  }

  /**
   * The pod is still created when it does not fit (the scheduler may preempt lower-priority pods
   * for it, as upstream relies on), but the DaemonSet gets a warning saying why it will wait.
   */
  private reportMisfit(ds: KObject, nodeName: string): void {
    const node = this.nodes.get(undefined, nodeName);
    if (!node?.status?.allocatable) return;
    const others = this.pods.byIndex(POD_NODE_NAME_INDEX, nodeName).filter((p) => getControllerOf(p)?.uid !== ds.metadata?.uid && !isTerminal(p));
    const missing = insufficientResources(ds, node, others);
    if (missing.length) {
      this.recorder.event(ds, 'Warning', 'FailedPlacement', 'Create', `failed to place pod on "${nodeName}": ${missing.map((m) => m.reason).join(', ')}`);
    }
  }

  private async updateStatus(ds: KObject, placement: PlacementFn, nodes: KObject[], pods: KObject[], hash: string, observe: boolean): Promise<void> {
    const byNode = this.nodeToPods(pods);
    const now = Date.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const gen = templateGeneration(ds);
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const node of nodes) {
      const { shouldRun } = placement(node);
      const daemonPods = byNode.get(node.metadata!.name!);
      if (!shouldRun) {
        if (daemonPods?.length) misscheduled++;
        continue;
      }
      desired++;
      if (!daemonPods?.length) continue;
      current++;
      const pod = [...daemonPods].sort(compareByCreation)[0];
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
      if (isPodUpdated(pod, hash, gen)) updated++;
    }
    const old = ds.status ?? {};
    const status: any = {
      ...old,
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: observe ? ds.metadata?.generation : old.observedGeneration,
      updatedNumberScheduled: updated,
      numberAvailable: available,
      numberUnavailable: desired - available,
    };
    omitZero(status, STATUS_OMITEMPTY);
    if (!sameJson(status, old)) {
      try {
        await writeStatus(this.dsClient, ds, status);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    // Last line of defence against clock skew: look again once minReadySeconds has passed.
    if (minReady > 0 && ready !== available) this.enqueue(ds, minReady * 1000);
  }
}

function isTerminal(p: KObject): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

/** Whether the rolling update may run a second pod per node (maxSurge > 0). */
function allowsSurge(ds: KObject): boolean {
  if (ds.spec?.updateStrategy?.type !== 'RollingUpdate') return false;
  const s = ds.spec?.updateStrategy?.rollingUpdate?.maxSurge;
  return s !== undefined && s !== null && s !== 0 && s !== '0%';
}
