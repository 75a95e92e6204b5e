// The ReplicaSet controller (upstream pkg/controller/replicaset): keeps spec.replicas active pods
// matching the selector, adopting orphans and releasing pods that stop matching, and reports
// replicas/fullyLabeled/ready/available in status. Parameterised by kind so the
// ReplicationController can reuse it.
import type { KObject } from '../../api/types.js';
import { labelSelectorEmpty, labelSelectorMatches } from '../../api/validation.js';
import {
  GVR,
  WorkQueue,
  isNotFound,
  objectKey,
  type EventRecorder,
  type GroupVersionResource,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { claimObjects, getControllerOf, newControllerRef } from '../common/controller-ref.js';
import { ControllerExpectations } from '../common/expectations.js';
import { compareForDeletion, ensurePodControllerIndex, isPodActive, refTo, isPodAvailable, isPodReady, msUntilAvailable, podKey } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import { omitZero, sameJson, writeStatus } from '../common/status.js';
import type { Controller, ControllerContext } from '../types.js';

/** Most pods created or deleted in one sync (upstream BurstReplicas). */
export const BURST_REPLICAS = 500;
/** First batch of the slow-start creation (1, 2, 4, ...). */
export const SLOW_START_INITIAL_BATCH = 1;

/** What differs between ReplicaSets and ReplicationControllers. */
export interface ReplicaSetKind {
  /** Upstream controller name ("replicaset", "replicationcontroller"). */
  name: string;
  /** Event source, e.g. "replicaset-controller". */
  component: string;
  gvr: GroupVersionResource;
  apiVersion: string;
  kind: string;
  /** Whether the owner's selector selects these labels (an empty selector selects nothing). */
  selects(owner: KObject, labels: Record<string, string> | undefined): boolean;
}

export const REPLICASET_KIND: ReplicaSetKind = {
  name: 'replicaset',
  component: 'replicaset-controller',
  gvr: GVR.replicaSets,
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  selects: (rs, labels) => !labelSelectorEmpty(rs.spec?.selector) && labelSelectorMatches(rs.spec?.selector, labels),
};

const STATUS_OMITEMPTY = ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'];

export class ReplicaSetController implements Controller {
  readonly name: string;
  private readonly queue = new WorkQueue<string>();
  readonly expectations = new ControllerExpectations();
  private owners!: SharedInformer;
  private pods!: SharedInformer;
  private ownerClient!: ResourceClient;
  private podClient!: ResourceClient;
  private recorder!: EventRecorder;

  constructor(private readonly k: ReplicaSetKind = REPLICASET_KIND) {
    this.name = k.name;
  }

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.owners = ctx.informers.informer(this.k.gvr);
    this.pods = ctx.informers.informer(GVR.pods);
    this.ownerClient = ctx.client.resource(this.k.gvr);
    this.podClient = ctx.client.pods;
    this.recorder = ctx.recorder(this.k.component);
    ensurePodControllerIndex(this.pods);
    this.owners.addEventHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (_old, rs) => this.enqueue(rs),
      onDelete: (rs) => {
        this.expectations.delete(objectKey(rs));
        this.enqueue(rs);
      },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => this.podAdded(pod),
      onUpdate: (old, pod) => this.podUpdated(old, pod),
      onDelete: (pod) => this.podDeleted(pod),
    });
    return runQueueWorkers(this.k.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  private enqueue(rs: KObject, afterMs = 0): void {
    if (afterMs > 0) this.queue.addAfter(objectKey(rs), afterMs);
    else this.queue.add(objectKey(rs));
  }

  /** The owner a controllerRef points at, if it is ours and still the same object. */
  private resolve(ns: string | undefined, ref: { kind: string; name: string; uid: string }): KObject | undefined {
    if (ref.kind !== this.k.kind) return undefined;
    const rs = this.owners.get(ns, ref.name);
    return rs && rs.metadata?.uid === ref.uid ? rs : undefined;
  }

  private ownersSelecting(pod: KObject): KObject[] {
    const ns = pod.metadata?.namespace;
    if (!ns) return [];
    return this.owners.list(ns).filter((rs) => this.k.selects(rs, pod.metadata?.labels));
  }

  private podAdded(pod: KObject): void {
    if (pod.metadata?.deletionTimestamp) return this.podDeleted(pod);
    const ref = getControllerOf(pod);
    if (ref) {
      const rs = this.resolve(pod.metadata?.namespace, ref);
      if (!rs) return;
      this.expectations.creationObserved(objectKey(rs));
      return this.enqueue(rs);
    }
    for (const rs of this.ownersSelecting(pod)) this.enqueue(rs);
  }

  private podUpdated(old: KObject, pod: KObject): void {
    if (old.metadata?.resourceVersion === pod.metadata?.resourceVersion) return;
    const labelsChanged = !sameJson(old.metadata?.labels ?? {}, pod.metadata?.labels ?? {});
    if (pod.metadata?.deletionTimestamp) {
      // Graceful deletion started: the pod no longer counts, so treat it as deleted now.
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const oldRef = getControllerOf(old);
    const ref = getControllerOf(pod);
    const refChanged = oldRef?.uid !== ref?.uid;
    if (refChanged && oldRef) {
      const rs = this.resolve(old.metadata?.namespace, oldRef);
      if (rs) this.enqueue(rs);
    }
    if (ref) {
      const rs = this.resolve(pod.metadata?.namespace, ref);
      if (!rs) return;
      this.enqueue(rs);
      // Becoming ready starts the minReadySeconds clock: look again when it runs out.
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.enqueue(rs, minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.ownersSelecting(pod)) this.enqueue(rs);
  }

  private podDeleted(pod: KObject): void {
    const ref = getControllerOf(pod);
    if (!ref) return;
    const rs = this.resolve(pod.metadata?.namespace, ref);
    if (!rs) return;
    this.expectations.deletionObserved(objectKey(rs), podKey(pod));
    this.enqueue(rs);
  }

  async sync(key: string): Promise<void> {
    const rs = this.owners.store.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const ns = rs.metadata!.namespace!;
    const needsSync = this.expectations.satisfied(key);
    const active = this.pods.list(ns).filter(isPodActive);
    const pods = await claimObjects(active, {
      owner: rs,
      ownerApiVersion: this.k.apiVersion,
      ownerKind: this.k.kind,
      client: this.podClient,
      matches: (p) => this.k.selects(rs, p.metadata?.labels),
      getFresh: () => this.ownerClient.get(ns, rs.metadata!.name!),
    });

    let manageErr: Error | undefined;
    let diff = 0;
    if (needsSync && !rs.metadata?.deletionTimestamp) {
      diff = pods.length - (rs.spec?.replicas ?? 1);
      try {
        await this.manageReplicas(key, rs, pods, diff);
      } catch (e) {
        manageErr = e as Error;
      }
    }

    const now = Date.now();
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const status = this.calculateStatus(rs, pods, now, manageErr, diff);
    if (!sameJson(status, rs.status ?? {})) {
      try {
        await writeStatus(this.ownerClient, rs, status);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (!manageErr && minReady > 0 && status.readyReplicas === (rs.spec?.replicas ?? 1) && status.availableReplicas !== status.readyReplicas) {
      let wait = Infinity;
      for (const p of pods) {
        const ms = msUntilAvailable(p, minReady, now);
        if (ms > 0) wait = Math.min(wait, ms);
      }
      this.enqueue(rs, Number.isFinite(wait) ? wait + 50 : minReady * 1000);
    }
    if (manageErr) throw manageErr;
  }

  private async manageReplicas(key: string, rs: KObject, pods: KObject[], diff: number): Promise<void> {
    if (diff < 0) {
      const n = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, SLOW_START_INITIAL_BATCH, () => this.createPod(rs));
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      if (error) throw error;
      return;
    }
    if (diff > 0) {
      const n = Math.min(diff, BURST_REPLICAS);
      const victims = [...pods].sort(compareForDeletion).slice(0, n);
      this.expectations.expectDeletions(key, victims.map(podKey));
      const errors: Error[] = [];
      await Promise.all(
        victims.map(async (pod) => {
          try {
            await this.podClient.delete(pod.metadata!.namespace, pod.metadata!.name!);
            this.recorder.event(refTo(rs, this.k.apiVersion, this.k.kind), 'Normal', 'SuccessfulDelete', 'Delete', `Deleted pod: ${pod.metadata!.name}`);
          } catch (e) {
            this.expectations.deletionObserved(key, podKey(pod));
            if (isNotFound(e)) return;
            this.recorder.event(refTo(rs, this.k.apiVersion, this.k.kind), 'Warning', 'FailedDelete', 'Delete', `Error deleting: ${(e as Error).message}`);
            errors.push(e as Error);
          }
        }),
      );
      if (errors.length) throw errors[0];
    }
  }

  private async createPod(rs: KObject): Promise<void> {
    const pod = podFromTemplate(rs.spec?.template, rs, newControllerRef(rs, this.k.apiVersion, this.k.kind));
    try {
      const created = await this.podClient.create(rs.metadata!.namespace, pod);
      this.recorder.event(refTo(rs, this.k.apiVersion, this.k.kind), 'Normal', 'SuccessfulCreate', 'Create', `Created pod: ${created.metadata?.name}`);
    } catch (e) {
      // A terminating namespace refuses new pods: nothing to do until it is gone.
      const msg = (e as Error).message ?? '';
      if (/namespace .* is being terminated|NamespaceTerminating/.test(msg)) return;
      this.recorder.event(refTo(rs, this.k.apiVersion, this.k.kind), 'Warning', 'FailedCreate', 'Create', `Error creating: ${msg}`);
      throw e;
    }
  }

  private calculateStatus(rs: KObject, pods: KObject[], now: number, manageErr: Error | undefined, diff: number): any {
    const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
    const minReady = rs.spec?.minReadySeconds ?? 0;
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    for (const p of pods) {
      const labels = p.metadata?.labels ?? {};
      if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
      if (isPodReady(p)) {
        ready++;
        if (isPodAvailable(p, minReady, now)) available++;
      }
    }
    const old = rs.status ?? {};
    let conditions: any[] = [...(old.conditions ?? [])];
    const failure = conditions.find((c) => c.type === 'ReplicaFailure');
    if (manageErr && !failure) {
      conditions.push({
        type: 'ReplicaFailure',
        status: 'True',
        lastTransitionTime: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        reason: diff < 0 ? 'FailedCreate' : 'FailedDelete',
        message: manageErr.message,
      });
    } else if (!manageErr && failure) conditions = conditions.filter((c) => c !== failure);
    const status: any = {
      ...old,
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata?.generation,
      conditions,
    };
    if (!conditions.length) delete status.conditions;
    return omitZero(status, STATUS_OMITEMPTY);
  }
}

/** A pod for template, owned by owner, named "<owner>-<random>". */
export function podFromTemplate(template: any, owner: KObject, ref: ReturnType<typeof newControllerRef>): KObject {
  const meta = template?.metadata ?? {};
  const name = owner.metadata!.name!;
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${name}-`.length <= 253 ? `${name}-` : name,
      namespace: owner.metadata!.namespace,
      ownerReferences: [ref],
    },
    spec: structuredClone(template?.spec ?? {}),
  };
  if (meta.labels) pod.metadata!.labels = { ...meta.labels };
  if (meta.annotations) pod.metadata!.annotations = { ...meta.annotations };
  if (meta.finalizers) pod.metadata!.finalizers = [...meta.finalizers];
  return pod;
}

/**
 * Calls fn count times in batches of 1, 2, 4, ... (starting at initial), stopping after the
 * first batch with a failure: a template that cannot produce pods fails fast instead of
 * flooding the API server.
 */
export async function slowStartBatch(count: number, initial: number, fn: () => Promise<void>): Promise<{ successes: number; error?: Error }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initial); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, fn));
    let error: Error | undefined;
    for (const r of results) {
      if (r.status === 'fulfilled') successes++;
      else error ??= r.reason as Error;
    }
    if (error) return { successes, error };
    remaining -= batch;
  }
  return { successes };
}
