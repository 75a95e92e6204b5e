// The Endpoints controller (upstream pkg/controller/endpoint): for every Service with a
// selector, keeps an Endpoints object of the same name listing the selected pods' addresses,
// ready and not ready, with the ports their containers serve. Services without a selector (and
// the API server's own "kubernetes" Service) are left to whoever manages their Endpoints.
import type { KObject } from '../../api/types.js';
import { GVR, WorkQueue, isAlreadyExists, isNotFound, keyOf, objectKey, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import { sameJson } from '../common/status.js';
import type { Controller, ControllerContext } from '../types.js';
import { OVER_CAPACITY_ANNOTATION, computeSubsets, truncateSubsets } from './subsets.js';
import {
  HEADLESS_LABEL,
  LAST_CHANGE_TRIGGER_TIME,
  TriggerTimeTracker,
  isHeadless,
  labelsChanged,
  podEndpointsChanged,
  rfc3339Nano,
  selectorMatches,
  serviceSelector,
  servicesForPod,
} from './util.js';

/** The API server keeps the Endpoints of default/kubernetes itself. */
function apiServerOwned(key: string): boolean {
  return key === 'default/kubernetes';
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  private readonly queue = new WorkQueue<string>();
  private readonly triggerTimes = new TriggerTimeTracker();
  private services!: SharedInformer;
  private pods!: SharedInformer;
  private endpoints!: SharedInformer;
  private client!: ResourceClient;

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.services = ctx.informers.informer(GVR.services);
    this.pods = ctx.informers.informer(GVR.pods);
    this.endpoints = ctx.informers.informer(GVR.endpoints);
    this.client = ctx.client.resource(GVR.endpoints);
    this.services.addEventHandler({
      onAdd: (s) => this.queue.add(objectKey(s)),
      onUpdate: (_o, s) => this.queue.add(objectKey(s)),
      onDelete: (s) => this.queue.add(objectKey(s)),
    });
    this.pods.addEventHandler({
      onAdd: (p) => this.enqueueForPod(p),
      onUpdate: (old, p) => {
        if (!podEndpointsChanged(old, p)) return;
        this.enqueueForPod(p);
        if (labelsChanged(old, p)) this.enqueueForPod(old);
      },
      onDelete: (p) => this.enqueueForPod(p),
    });
    // Someone deleted (or edited) an Endpoints object we manage: put it back.
    this.endpoints.addEventHandler({
      onUpdate: (_o, ep) => this.enqueueIfManaged(ep),
      onDelete: (ep) => this.enqueueIfManaged(ep),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  private enqueueForPod(pod: KObject): void {
    for (const svc of servicesForPod(this.services, pod)) this.queue.add(objectKey(svc));
  }

  private enqueueIfManaged(ep: KObject): void {
    const svc = this.services.get(ep.metadata?.namespace, ep.metadata!.name!);
    if (svc && serviceSelector(svc)) this.queue.add(objectKey(ep));
  }

  async sync(key: string): Promise<void> {
    if (apiServerOwned(key)) return;
    const [ns, name] = key.split('/');
    const svc = this.services.store.get(key);
    if (!svc) {
      // The Service is gone: so are its Endpoints.
      this.triggerTimes.delete(key);
      if (!this.endpoints.get(ns, name)) return;
      try {
        await this.client.delete(ns, name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return;
    }
    const selector = serviceSelector(svc);
    if (!selector) return;

    const pods = this.pods.list(ns).filter((p) => selectorMatches(selector, p.metadata?.labels));
    const triggerTime = this.triggerTimes.compute(key, svc, pods);
    let subsets = computeSubsets(svc, pods);
    const truncated = truncateSubsets(subsets);
    if (truncated) subsets = subsets.filter((ss) => ss.addresses || ss.notReadyAddresses);

    const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
    if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
    else delete labels[HEADLESS_LABEL];

    const current = this.endpoints.get(ns, name);
    if (
      current &&
      sameJson(current.subsets ?? [], subsets) &&
      sameJson(current.metadata?.labels ?? {}, labels) &&
      (current.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] === 'truncated') === truncated
    ) {
      return;
    }

    const annotations: Record<string, string> = { ...(current?.metadata?.annotations ?? {}) };
    if (triggerTime) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerTime);
    else delete annotations[LAST_CHANGE_TRIGGER_TIME];
    if (truncated) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    else delete annotations[OVER_CAPACITY_ANNOTATION];

    const meta: any = { ...(current?.metadata ?? {}), name, namespace: ns };
    if (Object.keys(labels).length) meta.labels = labels;
    else delete meta.labels;
    if (Object.keys(annotations).length) meta.annotations = annotations;
    else delete meta.annotations;
    const obj: KObject = { apiVersion: 'v1', kind: 'Endpoints', metadata: meta };
    if (subsets.length) obj.subsets = subsets;

    try {
      if (current) await this.client.update(ns, obj);
      else await this.client.create(ns, obj);
    } catch (e) {
      // A terminating namespace refuses creates: nothing to do until it is gone.
      if (!current && /is being terminated/.test((e as Error).message ?? '')) return;
      // Our cache is behind: the retry sees the newer object.
      if (isAlreadyExists(e)) throw new Error(`endpoints ${keyOf(ns, name)} already exists; cache is stale`);
      throw e;
    }
  }
}
