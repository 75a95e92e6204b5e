// One StatefulSet sync (upstream stateful_set_control.go): resolve the current and update
// revisions, create missing pods and claims, delete condemned pods (highest ordinal first),
// roll pods at or above the partition to the update revision (highest first), and report status.
// OrderedReady ("monotonic") stops at the first pod that is not yet Running, Ready and
// Available; Parallel acts on every ordinal at once.
import type { KObject } from '../../api/types.js';
import { isAlreadyExists, isNotFound, type EventRecorder, type ResourceClient } from '../../client/index.js';
import { newControllerRef } from '../common/controller-ref.js';
import { isPodAvailable, isPodReady } from '../common/pods.js';
import { omitZero, sameJson, writeStatus } from '../common/status.js';
import { slowStartBatch } from '../replicaset/controller.js';
import { podClaimIsStale, type ClaimControl } from './claims.js';
import {
  applyRevision,
  createRevision,
  equalRevision,
  newRevision,
  nextRevisionNumber,
  sortRevisions,
  truncateHistory,
  updateRevisionNumber,
} from './history.js';
import {
  POD_INDEX_LABEL,
  POD_NAME_LABEL,
  identityMatches,
  inOrdinalRange,
  newStatefulSetPod,
  ordinalOf,
  podRevision,
  replicasOf,
  startOrdinal,
} from './identity.js';
import type { SharedInformer } from '../../client/index.js';

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  availableReplicas: number;
  conditions?: any[];
}

const STATUS_OMITEMPTY = ['observedGeneration', 'readyReplicas', 'currentReplicas', 'updatedReplicas'];

const isTerminating = (p: KObject) => !!p.metadata?.deletionTimestamp;
const isRunningAndReady = (p: KObject) => p.status?.phase === 'Running' && isPodReady(p);
const isHealthy = (p: KObject) => isRunningAndReady(p) && !isTerminating(p);
const isFailed = (p: KObject) => p.status?.phase === 'Failed';
const isSucceeded = (p: KObject) => p.status?.phase === 'Succeeded';
const isPending = (p: KObject) => p.status?.phase === 'Pending';

export interface StatefulSetControlDeps {
  setClient: ResourceClient;
  podClient: ResourceClient;
  revisionClient: ResourceClient;
  pvcs: SharedInformer;
  claims: ClaimControl;
  recorder: EventRecorder;
}

export class StatefulSetControl {
  constructor(private readonly d: StatefulSetControlDeps) {}

  /**
   * Syncs set against its claimed pods and revisions; returns the status written. Errors of the
   * pod work are thrown after status and history have been brought up to date.
   */
  async sync(set: KObject, pods: KObject[], revisions: KObject[]): Promise<StatefulSetStatus> {
    sortRevisions(revisions);
    const { current, update, collisionCount } = await this.revisions(set, revisions);
    const status = this.countStatus(set, pods, current, update, collisionCount);
    let err: unknown;
    try {
      await this.updatePods(set, pods, current, update, status);
    } catch (e) {
      err = e;
    }
    completeRollingUpdate(set, status);
    const written = omitZero({ ...status } as any, STATUS_OMITEMPTY);
    if (set.status?.conditions?.length) written.conditions = set.status.conditions;
    if (!sameJson(written, set.status ?? {})) {
      try {
        await writeStatus(this.d.setClient, set, written);
      } catch (e) {
        if (!isNotFound(e)) err ??= e;
      }
    }
    const live = new Set<string>([current.metadata!.name!, update.metadata!.name!]);
    for (const p of pods) live.add(podRevision(p));
    try {
      await truncateHistory(this.d.revisionClient, revisions, live, set.spec?.revisionHistoryLimit ?? 10);
    } catch (e) {
      err ??= e;
    }
    if (err) throw err;
    return status;
  }

  /** The current and update revisions, creating or renumbering the update revision as needed. */
  private async revisions(set: KObject, revisions: KObject[]): Promise<{ current: KObject; update: KObject; collisionCount: number }> {
    const collision = { count: set.status?.collisionCount ?? 0 };
    const candidate = newRevision(set, newControllerRef(set, 'apps/v1', 'StatefulSet'), nextRevisionNumber(revisions), collision.count);
    const equal = revisions.filter((r) => equalRevision(r, candidate));
    let update: KObject;
    if (equal.length && equalRevision(revisions[revisions.length - 1], equal[equal.length - 1])) {
      update = revisions[revisions.length - 1];
    } else if (equal.length) {
      // Rolling back to an earlier template: that revision becomes the newest.
      update = await updateRevisionNumber(this.d.revisionClient, equal[equal.length - 1], candidate.revision);
    } else {
      update = await createRevision(this.d.revisionClient, set, candidate, collision);
    }
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount: collision.count };
  }

  private countStatus(set: KObject, pods: KObject[], current: KObject, update: KObject, collisionCount: number): StatefulSetStatus {
    const s: StatefulSetStatus = {
      observedGeneration: set.metadata?.generation,
      replicas: 0,
      readyReplicas: 0,
      currentReplicas: 0,
      updatedReplicas: 0,
      currentRevision: current.metadata!.name,
      updateRevision: update.metadata!.name,
      collisionCount,
      availableReplicas: 0,
    };
    const minReady = set.spec?.minReadySeconds ?? 0;
    const now = Date.now();
    for (const p of pods) {
      s.replicas++;
      if (isRunningAndReady(p)) {
        s.readyReplicas!++;
        if (isPodAvailable(p, minReady, now)) s.availableReplicas++;
      }
      if (!isTerminating(p)) {
        const rev = podRevision(p);
        if (rev === s.currentRevision) s.currentReplicas!++;
        if (rev === s.updateRevision) s.updatedReplicas!++;
      }
    }
    return s;
  }

  private async updatePods(set: KObject, pods: KObject[], current: KObject, update: KObject, status: StatefulSetStatus): Promise<void> {
    const currentSet = applyRevision(set, current);
    const updateSet = applyRevision(set, update);
    const start = startOrdinal(set);
    const count = replicasOf(set);
    const minReady = set.spec?.minReadySeconds ?? 0;
    const replicas: KObject[] = new Array(count);
    /** Pods we would create: not in the API yet. */
    const planned = new Set<KObject>();
    const condemned: KObject[] = [];
    for (const p of pods) {
      const ord = ordinalOf(p);
      if (inOrdinalRange(set, ord)) replicas[ord - start] = p;
      else if (ord >= 0) condemned.push(p);
    }
    const versioned = (ord: number): KObject => {
      const us = set.spec?.updateStrategy ?? {};
      const ru = us.rollingUpdate;
      const keepCurrent =
        us.type === 'RollingUpdate' &&
        ((ru == null && ord < start + (set.status?.currentReplicas ?? 0)) || (ru != null && ord < start + (ru.partition ?? 0)));
      const pod = keepCurrent ? newStatefulSetPod(currentSet, ord, current.metadata!.name!) : newStatefulSetPod(updateSet, ord, update.metadata!.name!);
      planned.add(pod);
      return pod;
    };
    for (let i = 0; i < count; i++) replicas[i] ??= versioned(start + i);
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));

    let firstUnhealthy: KObject | undefined;
    for (const p of replicas) if (!isHealthy(p)) { firstUnhealthy = p; break; }
    if (!firstUnhealthy) for (let i = condemned.length - 1; i >= 0; i--) if (!isHealthy(condemned[i])) { firstUnhealthy = condemned[i]; break; }

    // A set being deleted only reports status.
    if (set.metadata?.deletionTimestamp) return;
    const monotonic = set.spec?.podManagementPolicy !== 'Parallel';
    const available = (p: KObject) => isPodAvailable(p, minReady, Date.now());
    const adjust = (p: KObject, by: number) => {
      const rev = podRevision(p);
      if (rev === status.currentRevision) status.currentReplicas! += by;
      if (rev === status.updateRevision) status.updatedReplicas! += by;
    };

    const processReplica = async (i: number): Promise<boolean> => {
      let pod = replicas[i];
      // Failed or Succeeded pods are replaced (a StatefulSet pod is meant to run forever).
      if (!planned.has(pod) && (isFailed(pod) || isSucceeded(pod)) && !isTerminating(pod)) {
        await this.deletePod(set, pod);
        adjust(pod, -1);
        status.replicas--;
        pod = replicas[i] = versioned(start + i);
      }
      if (planned.has(pod)) {
        if (podClaimIsStale(set, pod, this.d.pvcs)) return true;
        const created = await this.createPod(set, pod);
        if (created) {
          status.replicas++;
          adjust(pod, 1);
        }
        return monotonic;
      }
      if (isPending(pod)) await this.d.claims.createMissing(set, pod);
      if (isTerminating(pod) && monotonic) return true;
      if (monotonic && (!isRunningAndReady(pod) || !available(pod))) return true;
      if (identityMatches(set, pod) && this.d.claims.retentionMatches(updateSet, pod)) return false;
      await this.fixPod(updateSet, pod);
      return false;
    };
    if (await runForAll(count, processReplica, monotonic)) return;

    // Claims of condemned pods get the owners the retention policy wants before the pods go.
    if (await runForAll(condemned.length, async (i) => {
      if (!this.d.claims.retentionMatches(updateSet, condemned[i])) await this.d.claims.applyRetention(updateSet, condemned[i]);
      return false;
    }, monotonic)) return;

    // Scale down, highest ordinal first; in order mode only once every remaining pod is healthy.
    const processCondemned = async (i: number): Promise<boolean> => {
      const pod = condemned[i];
      if (isTerminating(pod)) return monotonic;
      if (monotonic && pod !== firstUnhealthy && (!isRunningAndReady(pod) || !available(pod))) return true;
      await this.deletePod(set, pod);
      adjust(pod, -1);
      return true;
    };
    if (await runForAll(condemned.length, processCondemned, monotonic)) return;

    const strategy = set.spec?.updateStrategy ?? {};
    if (strategy.type === 'OnDelete') return;
    // Rolling update: replace the highest-ordinal pod not at the update revision, one at a time,
    // waiting for each to become healthy; ordinals below the partition keep their revision.
    const partition = strategy.rollingUpdate?.partition ?? 0;
    for (let target = count - 1; target >= partition; target--) {
      const pod = replicas[target];
      if (podRevision(pod) !== status.updateRevision && !isTerminating(pod)) {
        if (!planned.has(pod)) {
          await this.deletePod(set, pod, 'update');
          status.currentReplicas!--;
        }
        return;
      }
      if (!isHealthy(pod)) return;
    }
  }

  /** Creates the pod's claims and then the pod; false when the pod already existed. */
  private async createPod(set: KObject, pod: KObject): Promise<boolean> {
    await this.d.claims.createMissing(set, pod);
    try {
      await this.d.podClient.create(pod.metadata!.namespace, pod);
    } catch (e) {
      // Our cache has not seen it yet: the watch event will bring us back.
      if (isAlreadyExists(e)) return false;
      const msg = (e as Error).message ?? '';
      if (/namespace .* is being terminated|NamespaceTerminating/.test(msg)) return false;
      this.podEvent(set, pod, 'create', e as Error);
      throw e;
    }
    this.podEvent(set, pod, 'create');
    return true;
  }

  private async deletePod(set: KObject, pod: KObject, _why: 'scale' | 'update' = 'scale'): Promise<void> {
    try {
      await this.d.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!, { preconditions: { uid: pod.metadata!.uid } });
    } catch (e) {
      if (isNotFound(e)) return;
      this.podEvent(set, pod, 'delete', e as Error);
      throw e;
    }
    this.podEvent(set, pod, 'delete');
  }

  /** Restores the identity labels and the claims' retention owners (upstream UpdateStatefulPod). */
  private async fixPod(set: KObject, pod: KObject): Promise<void> {
    if (!this.d.claims.retentionMatches(set, pod)) await this.d.claims.applyRetention(set, pod);
    if (identityMatches(set, pod)) return;
    const ord = ordinalOf(pod);
    try {
      await this.d.podClient.patch(pod.metadata!.namespace, pod.metadata!.name!, { metadata: { labels: { [POD_NAME_LABEL]: pod.metadata!.name, [POD_INDEX_LABEL]: String(ord) } } }, 'merge');
      this.podEvent(set, pod, 'update');
    } catch (e) {
      if (isNotFound(e)) return;
      this.podEvent(set, pod, 'update', e as Error);
      throw e;
    }
  }

  /** Upstream recordPodEvent wording: "create Pod web-0 in StatefulSet web successful". */
  private podEvent(set: KObject, pod: KObject, verb: 'create' | 'delete' | 'update', err?: Error): void {
    const Verb = verb[0].toUpperCase() + verb.slice(1);
    const what = `Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name}`;
    if (err) this.d.recorder.event(set, 'Warning', `Failed${Verb}`, Verb, `${verb} ${what} failed error: ${err.message}`);
    else this.d.recorder.event(set, 'Normal', `Successful${Verb}`, Verb, `${verb} ${what} successful`);
  }
}

/**
 * Runs fn over 0..n-1: in order, stopping at the first that asks to (monotonic), or all at once in
 * slow-start batches. Resolves true when the caller should stop this sync; throws the first error.
 */
async function runForAll(n: number, fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < n; i++) if (await fn(i)) return true;
    return false;
  }
  let next = 0;
  const { error } = await slowStartBatch(n, 1, () => fn(next++).then(() => undefined));
  if (error) throw error;
  return false;
}

/** Once every pod is updated and ready, the update revision becomes the current one. */
export function completeRollingUpdate(set: KObject, status: StatefulSetStatus): void {
  if (set.spec?.updateStrategy?.type !== 'RollingUpdate') return;
  if (status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}
