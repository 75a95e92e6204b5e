// The disruption controller (upstream pkg/controller/disruption): computes each
// PodDisruptionBudget's status — how many selected pods are healthy, how many must stay healthy
// (from minAvailable/maxUnavailable, scaled against the replicas of the pods' controllers), and
// so how many voluntary disruptions (evictions) are allowed right now. Evictions record the pods
// they are about to delete in status.disruptedPods; those do not count as healthy until they
// are gone or two minutes have passed.
import type { KObject } from '../../api/types.js';
import { intOrPercentValue, labelSelectorMatches } from '../../api/validation.js';
import {
  GVR,
  WorkQueue,
  isConflict,
  isNotFound,
  objectKey,
  type EventRecorder,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { getControllerOf } from '../common/controller-ref.js';
import { isPodReady, refTo } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import { sameJson } from '../common/status.js';
import type { Controller, ControllerContext } from '../types.js';
import { REPLICATION_CONTROLLERS } from '../replicationcontroller/controller.js';

/** How long an eviction's pod may take to go away before it counts again (upstream DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60_000;

export const DISRUPTION_ALLOWED = 'DisruptionAllowed';

const nowRFC3339 = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** maxUnavailable/minAvailable against a total: ints as they are, percents rounded up. */
export function scaledValue(v: unknown, total: number): number {
  const n = intOrPercentValue(v) ?? 0;
  return typeof v === 'string' ? Math.ceil((n * total) / 100) : n;
}

/** Pods selected by pdb (policy/v1: a null selector selects nothing, {} every pod). */
export function pdbSelects(pdb: KObject, pod: KObject): boolean {
  return labelSelectorMatches(pdb.spec?.selector, pod.metadata?.labels);
}

/** Sets a metav1.Condition, moving lastTransitionTime only when the status changes. */
export function setCondition(conditions: any[] | undefined, c: { type: string; status: string; reason: string; message: string }): any[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  if (i < 0) list.push({ ...c, lastTransitionTime: nowRFC3339() });
  else {
    const old = list[i];
    list[i] = { ...old, ...c, lastTransitionTime: old.status === c.status ? old.lastTransitionTime : nowRFC3339() };
  }
  return list;
}

/** Healthy: ready, not being deleted, and not an eviction in flight. */
export function countHealthyPods(pods: KObject[], disrupted: Record<string, string>, nowMs: number): number {
  let n = 0;
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const t = disrupted[p.metadata!.name!];
    if (t && Date.parse(t) + DELETION_TIMEOUT_MS > nowMs) continue;
    if (isPodReady(p)) n++;
  }
  return n;
}

class ExpectedCountError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

export class DisruptionController implements Controller {
  readonly name = 'disruption';
  private readonly queue = new WorkQueue<string>();
  private pdbs!: SharedInformer;
  private pods!: SharedInformer;
  private rss!: SharedInformer;
  private deployments!: SharedInformer;
  private statefulSets!: SharedInformer;
  private rcs!: SharedInformer;
  private pdbClient!: ResourceClient;
  private recorder!: EventRecorder;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.pdbs = ctx.informers.informer(GVR.podDisruptionBudgets);
    this.pods = ctx.informers.informer(GVR.pods);
    this.rss = ctx.informers.informer(GVR.replicaSets);
    this.deployments = ctx.informers.informer(GVR.deployments);
    this.statefulSets = ctx.informers.informer(GVR.statefulSets);
    this.rcs = ctx.informers.informer(REPLICATION_CONTROLLERS);
    this.pdbClient = ctx.client.podDisruptionBudgets;
    this.recorder = ctx.recorder('controllermanager');
    const enqueue = (pdb: KObject) => this.queue.add(objectKey(pdb));
    this.pdbs.addEventHandler({ onAdd: enqueue, onUpdate: (_o, n) => enqueue(n), onDelete: enqueue });
    const forPod = (pod: KObject) => {
      for (const pdb of this.pdbs.list(pod.metadata?.namespace)) if (pdbSelects(pdb, pod)) enqueue(pdb);
    };
    this.pods.addEventHandler({
      onAdd: forPod,
      onUpdate: (old, pod) => {
        forPod(pod);
        if (!sameJson(old.metadata?.labels ?? {}, pod.metadata?.labels ?? {})) forPod(old);
      },
      onDelete: forPod,
    });
    // A controller's scale changes the expected pod count of the budgets over its pods.
    const forScale = (old: KObject, obj: KObject) => {
      if (old.spec?.replicas === obj.spec?.replicas) return;
      for (const pdb of this.pdbs.list(obj.metadata?.namespace)) enqueue(pdb);
    };
    for (const inf of [this.rss, this.deployments, this.statefulSets, this.rcs]) inf.addEventHandler({ onUpdate: forScale });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  async sync(key: string): Promise<void> {
    const pdb = this.pdbs.store.get(key);
    if (!pdb) return;
    const ns = pdb.metadata!.namespace!;
    const ref = refTo(pdb, 'policy/v1', 'PodDisruptionBudget');
    const pods = this.pods.list(ns).filter((p) => pdbSelects(pdb, p));
    if (!pods.length) this.recorder.event(ref, 'Normal', 'NoPods', 'Sync', 'No matching pods found');

    let expected: { expectedCount: number; desiredHealthy: number };
    try {
      expected = this.expectedPodCount(pdb, pods);
    } catch (e) {
      if (!(e instanceof ExpectedCountError)) throw e;
      this.recorder.event(ref, 'Warning', e.reason, 'Sync', e.message);
      this.recorder.event(ref, 'Warning', 'CalculateExpectedPodCountFailed', 'Sync', `Failed to calculate the number of expected pods: ${e.message}`);
      return this.failSafe(pdb, e.message);
    }
    const now = Date.now();
    const { disrupted, recheckAt } = this.disruptedPodMap(pdb, pods, now);
    const currentHealthy = countHealthyPods(pods, disrupted, now);
    await this.updateStatus(pdb, currentHealthy, expected.desiredHealthy, expected.expectedCount, disrupted);
    if (recheckAt !== undefined) this.queue.addAfter(key, Math.max(0, recheckAt - now) + 50);
  }

  private expectedPodCount(pdb: KObject, pods: KObject[]): { expectedCount: number; desiredHealthy: number } {
    const { maxUnavailable, minAvailable } = pdb.spec ?? {};
    if (maxUnavailable != null) {
      const expectedCount = this.expectedScale(pdb, pods);
      return { expectedCount, desiredHealthy: Math.max(0, expectedCount - scaledValue(maxUnavailable, expectedCount)) };
    }
    if (minAvailable != null) {
      if (typeof minAvailable === 'number') return { expectedCount: pods.length, desiredHealthy: minAvailable };
      const expectedCount = this.expectedScale(pdb, pods);
      return { expectedCount, desiredHealthy: scaledValue(minAvailable, expectedCount) };
    }
    return { expectedCount: 0, desiredHealthy: 0 };
  }

  /** Sum of the replicas of the selected pods' controllers, each counted once. */
  private expectedScale(pdb: KObject, pods: KObject[]): number {
    const scales = new Map<string, number>();
    const unmanaged: string[] = [];
    const seen = new Set<string>();
    for (const pod of pods) {
      const ref = getControllerOf(pod);
      if (!ref) {
        unmanaged.push(pod.metadata!.name!);
        continue;
      }
      if (seen.has(ref.uid)) continue;
      seen.add(ref.uid);
      const found = this.controllerScale(pod.metadata!.namespace!, ref);
      if (!found) throw new ExpectedCountError('NoControllers', `found no controllers for pod "${pod.metadata!.name}"`);
      // Keyed by the scaled object: a deployment's replica sets count once, as the deployment.
      scales.set(found.uid, found.replicas);
    }
    if (unmanaged.length) {
      this.recorder.event(
        refTo(pdb, 'policy/v1', 'PodDisruptionBudget'),
        'Warning',
        'UnmanagedPods',
        'Sync',
        `Pods selected by this PodDisruptionBudget (selector: ${JSON.stringify(pdb.spec?.selector)}) were found to be unmanaged. ` +
          'As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. ' +
          'To account for these pods please set ".spec.minAvailable" field of the PDB to an integer value.',
      );
    }
    let total = 0;
    for (const v of scales.values()) total += v;
    return total;
  }

  /** The scale a controllerRef leads to: RC, Deployment (through its ReplicaSet), ReplicaSet, StatefulSet. */
  private controllerScale(ns: string, ref: { apiVersion: string; kind: string; name: string; uid: string }): { uid: string; replicas: number } | undefined {
    const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
    const lookup = (inf: SharedInformer, name: string, uid: string) => {
      const o = inf.get(ns, name);
      return o && o.metadata?.uid === uid ? o : undefined;
    };
    if (group === '' && ref.kind === 'ReplicationController') {
      const rc = lookup(this.rcs, ref.name, ref.uid);
      return rc && { uid: ref.uid, replicas: rc.spec?.replicas ?? 1 };
    }
    if (group === 'apps' && ref.kind === 'ReplicaSet') {
      const rs = lookup(this.rss, ref.name, ref.uid);
      if (!rs) return undefined;
      const owner = getControllerOf(rs);
      if (owner?.kind === 'Deployment' && owner.apiVersion.startsWith('apps/')) {
        const d = lookup(this.deployments, owner.name, owner.uid);
        if (d) return { uid: owner.uid, replicas: d.spec?.replicas ?? 1 };
        return undefined;
      }
      return { uid: ref.uid, replicas: rs.spec?.replicas ?? 1 };
    }
    if (group === 'apps' && ref.kind === 'StatefulSet') {
      const ss = lookup(this.statefulSets, ref.name, ref.uid);
      return ss && { uid: ref.uid, replicas: ss.spec?.replicas ?? 1 };
    }
    return undefined;
  }

  /** Evictions still in flight; the earliest time one of them times out. */
  private disruptedPodMap(pdb: KObject, pods: KObject[], nowMs: number): { disrupted: Record<string, string>; recheckAt?: number } {
    const recorded: Record<string, string> = pdb.status?.disruptedPods ?? {};
    const disrupted: Record<string, string> = {};
    let recheckAt: number | undefined;
    for (const pod of pods) {
      const name = pod.metadata!.name!;
      if (pod.metadata?.deletionTimestamp) continue;
      const t = recorded[name];
      if (!t) continue;
      const expiry = Date.parse(t) + DELETION_TIMEOUT_MS;
      if (expiry < nowMs) {
        this.recorder.event(
          refTo(pdb, 'policy/v1', 'PodDisruptionBudget'),
          'Warning',
          'NotDeleted',
          'Sync',
          `Pod ${pod.metadata!.namespace}/${name} was expected to be deleted at ${nowRFC3339(expiry)} but it wasn't, updating pdb`,
        );
        continue;
      }
      disrupted[name] = t;
      recheckAt = recheckAt === undefined ? expiry : Math.min(recheckAt, expiry);
    }
    return { disrupted, recheckAt };
  }

  private async updateStatus(pdb: KObject, currentHealthy: number, desiredHealthy: number, expectedCount: number, disrupted: Record<string, string>): Promise<void> {
    let disruptionsAllowed = currentHealthy - desiredHealthy;
    if (expectedCount <= 0 || disruptionsAllowed <= 0) disruptionsAllowed = 0;
    const old = pdb.status ?? {};
    const status: any = {
      ...old,
      currentHealthy,
      desiredHealthy,
      expectedPods: expectedCount,
      disruptionsAllowed,
      observedGeneration: pdb.metadata?.generation,
    };
    if (Object.keys(disrupted).length) status.disruptedPods = disrupted;
    else delete status.disruptedPods;
    status.conditions = setCondition(
      old.conditions,
      disruptionsAllowed > 0
        ? { type: DISRUPTION_ALLOWED, status: 'True', reason: 'SufficientPods', message: '' }
        : { type: DISRUPTION_ALLOWED, status: 'False', reason: 'InsufficientPods', message: '' },
    );
    await this.write(pdb, status);
  }

  /** What upstream does when it cannot compute: no disruptions until it can. */
  private async failSafe(pdb: KObject, message: string): Promise<void> {
    const status: any = { ...(pdb.status ?? {}), disruptionsAllowed: 0 };
    status.conditions = setCondition(status.conditions, { type: DISRUPTION_ALLOWED, status: 'False', reason: 'SyncFailed', message });
    await this.write(pdb, status);
  }

  private async write(pdb: KObject, status: any): Promise<void> {
    if (sameJson(status, pdb.status ?? {})) return;
    try {
      // Guarded by resourceVersion: an eviction that decremented the budget meanwhile wins.
      await this.pdbClient.updateStatus(pdb.metadata!.namespace, { ...pdb, status });
    } catch (e) {
      if (isNotFound(e)) return;
      if (isConflict(e)) {
        this.queue.addAfter(objectKey(pdb), 50);
        return;
      }
      throw e;
    }
  }
}
