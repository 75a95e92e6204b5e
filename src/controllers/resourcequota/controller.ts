// The resource quota controller (upstream pkg/controller/resourcequota): keeps each
// ResourceQuota's status.hard equal to spec.hard and status.used equal to what the namespace's
// objects use. Admission charges creations as they happen; this controller recomputes when a
// quota changes, when objects are deleted or change their usage (replenishment), and on a
// periodic full resync that also covers count/<resource>.<group> of unwatched kinds.
import type { KObject } from '../../api/types.js';
import {
  GVR,
  WorkQueue,
  isConflict,
  isNotFound,
  objectKey,
  type GroupVersionResource,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import { sameJson } from '../common/status.js';
import type { Controller, ControllerContext } from '../types.js';
import { matchesScopes, matchingResources, usageOf, type GroupResource } from './evaluators.js';
import { addLists, fromResourceList, mask, parseQuantity, formatQuantity, ZERO, type ResourceList } from './quantity.js';

/** Upstream --resource-quota-sync-period default. */
export const DEFAULT_QUOTA_RESYNC_MS = 5 * 60_000;

const RC_GVR: GroupVersionResource = { group: '', version: 'v1', plural: 'replicationcontrollers', kind: 'ReplicationController', namespaced: true };

/** The kinds watched through informers (their usage is recomputed from the cache). */
const MONITORED: GroupVersionResource[] = [
  GVR.pods, GVR.services, GVR.configMaps, GVR.secrets, GVR.persistentVolumeClaims, RC_GVR, GVR.resourceQuotas,
];

export interface ResourceQuotaControllerOptions {
  /** Full recomputation period (default 5 minutes). */
  resyncMs?: number;
}

/** status.hard as stored: spec.hard in canonical quantity form. */
export function canonicalHard(hard: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(hard ?? {}).sort()) {
    const q = parseQuantity(hard![k]);
    if (q) out[k] = formatQuantity(q);
  }
  return out;
}

export class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota';
  private readonly queue = new WorkQueue<string>();
  private quotas!: SharedInformer;
  private quotaClient!: ResourceClient;
  private ctx!: ControllerContext;
  private readonly informers = new Map<string, { gr: GroupResource; informer: SharedInformer }>();
  /** group -> preferred version, for listing count/<resource>.<group> of unwatched kinds. */
  private readonly versions = new Map<string, string>();

  constructor(private readonly opts: ResourceQuotaControllerOptions = {}) {}

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.ctx = ctx;
    this.quotas = ctx.informers.informer(GVR.resourceQuotas);
    this.quotaClient = ctx.client.resourceQuotas;
    this.quotas.addEventHandler({
      onAdd: (rq) => this.enqueue(rq),
      onUpdate: (old, rq) => {
        // Admission's usage increments need no recomputation; spec changes do.
        if (!sameJson(old.spec, rq.spec) || !sameJson(canonicalHard(rq.spec?.hard), rq.status?.hard ?? {})) this.enqueue(rq);
      },
    });
    for (const gvr of MONITORED) {
      const gr = { group: gvr.group, plural: gvr.plural };
      const informer = ctx.informers.informer(gvr);
      this.informers.set(gvr.plural, { gr, informer });
      informer.addEventHandler({
        onUpdate: (old, obj) => {
          if (old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
          const now = Date.now();
          const a = fromResourceList(usageOf(gr, old, now));
          const b = fromResourceList(usageOf(gr, obj, now));
          if (!sameJson(a, b) || !sameJson(old.spec?.activeDeadlineSeconds, obj.spec?.activeDeadlineSeconds)) this.replenish(gr, obj);
        },
        onDelete: (obj) => this.replenish(gr, obj),
      });
    }
    const period = this.opts.resyncMs ?? DEFAULT_QUOTA_RESYNC_MS;
    const timer = setInterval(() => {
      for (const rq of this.quotas.list()) this.enqueue(rq);
    }, period);
    timer.unref();
    ctx.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  private enqueue(rq: KObject): void {
    this.queue.add(objectKey(rq));
  }

  /** An object's usage went away or changed: recompute the quotas that account for its kind. */
  private replenish(gr: GroupResource, obj: KObject): void {
    const ns = obj.metadata?.namespace;
    if (!ns) return;
    for (const rq of this.quotas.list(ns)) {
      if (matchingResources(gr, Object.keys(rq.status?.hard ?? rq.spec?.hard ?? {})).length) this.enqueue(rq);
    }
  }

  async sync(key: string): Promise<void> {
    const rq = this.quotas.store.get(key);
    if (!rq || rq.metadata?.deletionTimestamp) return;
    const hard = canonicalHard(rq.spec?.hard);
    const used = await this.calculateUsage(rq, Object.keys(hard));
    const status = { hard, used: fromResourceList(used) };
    if (sameJson(status, { hard: rq.status?.hard ?? {}, used: rq.status?.used ?? {} })) return;
    try {
      // Guarded by the cached resourceVersion: an admission increment in between wins, and we retry.
      await this.quotaClient.updateStatus(rq.metadata!.namespace, { ...rq, status });
    } catch (e) {
      if (isNotFound(e)) return;
      if (isConflict(e)) {
        this.queue.addAfter(key, 50);
        return;
      }
      throw e;
    }
  }

  /** Usage of every hard resource this controller knows how to count (zero when nothing uses it). */
  async calculateUsage(rq: KObject, hardNames: string[]): Promise<ResourceList> {
    const ns = rq.metadata!.namespace!;
    const now = Date.now();
    let total: ResourceList = new Map();
    const covered = new Set<string>();
    const accumulate = (gr: GroupResource, items: KObject[]) => {
      const names = matchingResources(gr, hardNames);
      if (!names.length) return;
      let sum: ResourceList = new Map(names.map((n) => [n, ZERO]));
      for (const obj of items) {
        if (!matchesScopes(rq, gr, obj)) continue;
        sum = addLists(sum, mask(usageOf(gr, obj, now), names));
      }
      for (const n of names) covered.add(n);
      total = addLists(total, sum);
    };
    for (const { gr, informer } of this.informers.values()) accumulate(gr, informer.list(ns));
    // count/<resource>.<group> of kinds without an informer: list them now.
    for (const name of hardNames) {
      if (covered.has(name) || !name.startsWith('count/')) continue;
      const gr = parseCountName(name);
      const gvr = await this.resolve(gr);
      if (!gvr) continue;
      try {
        const { items } = await this.ctx.client.resource(gvr).listAll(ns);
        accumulate(gr, items);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return total;
  }

  /** The served version of a group's resource, from discovery (undefined when not served). */
  private async resolve(gr: GroupResource): Promise<GroupVersionResource | undefined> {
    if (gr.group === '') return { group: '', version: 'v1', plural: gr.plural, namespaced: true };
    let version = this.versions.get(gr.group);
    if (!version) {
      try {
        const g = await this.ctx.client.rest.request('GET', `/apis/${gr.group}`);
        version = g?.preferredVersion?.version as string | undefined;
      } catch {
        return undefined;
      }
      if (!version) return undefined;
      this.versions.set(gr.group, version);
    }
    return { group: gr.group, version, plural: gr.plural, namespaced: true };
  }
}

/** "count/deployments.apps" -> apps/deployments; "count/pods" -> core pods. */
export function parseCountName(name: string): GroupResource {
  const rest = name.slice('count/'.length);
  const dot = rest.indexOf('.');
  return dot < 0 ? { group: '', plural: rest } : { group: rest.slice(dot + 1), plural: rest.slice(0, dot) };
}
