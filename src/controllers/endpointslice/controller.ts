// The EndpointSlice controller (upstream pkg/controller/endpointslice): for every Service with a
// selector, discovery.k8s.io/v1 EndpointSlices (at most maxEndpointsPerSlice endpoints each)
// listing the selected pods with ready/serving/terminating conditions, node, zone and ports.
// Writes go through reconcileSlices, which keeps churn low; a tracker of the resourceVersions we
// wrote keeps a lagging informer cache from making us write twice.
import type { KObject } from '../../api/types.js';
import { GVR, WorkQueue, isNotFound, objectKey, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import {
  HEADLESS_LABEL,
  LAST_CHANGE_TRIGGER_TIME,
  TriggerTimeTracker,
  findPort,
  isHeadless,
  isPodReady,
  labelsChanged,
  podEndpointsChanged,
  podHostname,
  podRef,
  rfc3339Nano,
  selectorMatches,
  serviceSelector,
  servicesForPod,
  shouldPodBeInEndpoints,
} from '../endpoints/util.js';
import { DEFAULT_MAX_ENDPOINTS_PER_SLICE, endpointKey, portsKey, reconcileSlices, type DesiredGroup } from './reconciler.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
const SERVICE_INDEX = 'service';

export interface EndpointSliceControllerOptions {
  /** Upstream --max-endpoints-per-slice (default 100). */
  maxEndpointsPerSlice?: number;
}

function rvNumber(rv: string | undefined): bigint | undefined {
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

/** The pod's IP of the address family (IPv4/IPv6), if it has one. */
function podIPFor(pod: KObject, addressType: string): string | undefined {
  const ips: string[] = (pod.status?.podIPs ?? []).map((p: any) => p.ip).filter(Boolean);
  if (!ips.length && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips.find((ip) => (addressType === 'IPv6' ? ip.includes(':') : !ip.includes(':')));
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private readonly queue = new WorkQueue<string>();
  private readonly triggerTimes = new TriggerTimeTracker();
  /** service key → slice name → resourceVersion we wrote, or "deleted". */
  private readonly written = new Map<string, Map<string, bigint | 'deleted'>>();
  private readonly maxPerSlice: number;
  private services!: SharedInformer;
  private pods!: SharedInformer;
  private nodes!: SharedInformer;
  private slices!: SharedInformer;
  private client!: ResourceClient;

  constructor(opts: EndpointSliceControllerOptions = {}) {
    this.maxPerSlice = opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE;
  }

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.services = ctx.informers.informer(GVR.services);
    this.pods = ctx.informers.informer(GVR.pods);
    this.nodes = ctx.informers.informer(GVR.nodes);
    this.slices = ctx.informers.informer(GVR.endpointSlices, { labelSelector: `${MANAGED_BY_LABEL}=${CONTROLLER_NAME}` });
    this.client = ctx.client.resource(GVR.endpointSlices);
    if (!this.slices.store.hasIndexer(SERVICE_INDEX)) {
      this.slices.addIndexer(SERVICE_INDEX, (s) => {
        const svc = s.metadata?.labels?.[SERVICE_NAME_LABEL];
        return svc ? `${s.metadata?.namespace}/${svc}` : undefined;
      });
    }
    this.services.addEventHandler({
      onAdd: (s) => this.queue.add(objectKey(s)),
      onUpdate: (_o, s) => this.queue.add(objectKey(s)),
      onDelete: (s) => {
        this.triggerTimes.delete(objectKey(s));
        this.written.delete(objectKey(s));
      },
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
    this.nodes.addEventHandler({
      onUpdate: (old, n) => {
        if (old.metadata?.labels?.[ZONE_LABEL] === n.metadata?.labels?.[ZONE_LABEL]) return;
        for (const svc of this.services.list()) if (serviceSelector(svc)) this.queue.add(objectKey(svc));
      },
    });
    this.slices.addEventHandler({
      onAdd: (s) => this.sliceChanged(s, false),
      onUpdate: (_o, s) => this.sliceChanged(s, false),
      onDelete: (s) => this.sliceChanged(s, true),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  private enqueueForPod(pod: KObject): void {
    for (const svc of servicesForPod(this.services, pod)) this.queue.add(objectKey(svc));
  }

  private sliceChanged(slice: KObject, deleted: boolean): void {
    const svcName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!svcName) return;
    const key = `${slice.metadata!.namespace}/${svcName}`;
    const w = this.written.get(key);
    const mine = w?.get(slice.metadata!.name!);
    if (mine !== undefined) {
      const rv = rvNumber(slice.metadata?.resourceVersion);
      // The cache caught up with our write: forget it.
      if (mine === 'deleted' ? deleted : deleted || (rv !== undefined && rv >= mine)) w!.delete(slice.metadata!.name!);
    }
    if (this.services.store.get(key)) this.queue.add(key);
  }

  /** Whether the cache still lags behind a write we made for this Service. */
  private cacheIsStale(key: string, existing: KObject[]): boolean {
    const w = this.written.get(key);
    if (!w?.size) return false;
    const seen = new Set<string>();
    for (const s of existing) {
      const name = s.metadata!.name!;
      seen.add(name);
      const mine = w.get(name);
      if (mine === undefined) continue;
      if (mine === 'deleted') return true;
      const rv = rvNumber(s.metadata?.resourceVersion);
      if (rv !== undefined && rv < mine) return true;
    }
    for (const [name, mine] of w) if (mine !== 'deleted' && !seen.has(name)) return true;
    return false;
  }

  private remember(key: string, name: string, v: bigint | 'deleted' | undefined): void {
    if (v === undefined) return;
    let w = this.written.get(key);
    if (!w) this.written.set(key, (w = new Map()));
    w.set(name, v);
  }

  async sync(key: string): Promise<void> {
    const svc = this.services.store.get(key);
    // Deleted Services: their slices go with them through ownerReferences (garbage collector).
    if (!svc) return;
    const ns = svc.metadata!.namespace!;
    const existingAll = this.slices.byIndex(SERVICE_INDEX, key);
    const selector = serviceSelector(svc);
    if (!selector) return;
    if (svc.spec?.type === 'ExternalName') {
      for (const s of existingAll) await this.deleteSlice(key, s);
      return;
    }
    if (this.cacheIsStale(key, existingAll)) {
      // The informer event that brings our write will enqueue the Service again.
      this.queue.addAfter(key, 1000);
      return;
    }

    const pods = this.pods.list(ns).filter((p) => selectorMatches(selector, p.metadata?.labels) && shouldPodBeInEndpoints(p, true));
    const triggerTime = this.triggerTimes.compute(key, svc, pods);
    const labels = this.sliceLabels(svc);
    const addressTypes: string[] = svc.spec?.ipFamilies?.length ? svc.spec.ipFamilies : ['IPv4'];

    const creates: KObject[] = [];
    const updates: KObject[] = [];
    const deletes: KObject[] = [];
    for (const addressType of addressTypes) {
      const plan = reconcileSlices({
        addressType,
        desired: this.desiredEndpoints(svc, pods, addressType),
        existing: existingAll.filter((s) => s.addressType === addressType),
        maxEndpointsPerSlice: this.maxPerSlice,
        labels,
        newSlice: () => this.newSlice(svc, addressType, labels),
      });
      creates.push(...plan.create);
      updates.push(...plan.update);
      deletes.push(...plan.delete);
    }
    // Slices of address types the Service no longer has.
    for (const s of existingAll) if (!addressTypes.includes(s.addressType)) deletes.push(s);

    const stamp = (s: KObject): KObject => {
      const annotations = { ...(s.metadata?.annotations ?? {}) };
      if (triggerTime) annotations[LAST_CHANGE_TRIGGER_TIME] = rfc3339Nano(triggerTime);
      else delete annotations[LAST_CHANGE_TRIGGER_TIME];
      const metadata = { ...s.metadata };
      if (Object.keys(annotations).length) metadata.annotations = annotations;
      else delete metadata.annotations;
      return { ...s, metadata };
    };
    // Creates first, deletes last: clients never see fewer endpoints than there are.
    for (const s of creates) {
      try {
        const created = await this.client.create(ns, stamp(s));
        this.remember(key, created.metadata!.name!, rvNumber(created.metadata?.resourceVersion));
      } catch (e) {
        if (/is being terminated/.test((e as Error).message ?? '')) return;
        throw e;
      }
    }
    for (const s of updates) {
      const updated = await this.client.update(ns, stamp(s));
      this.remember(key, updated.metadata!.name!, rvNumber(updated.metadata?.resourceVersion));
    }
    for (const s of deletes) await this.deleteSlice(key, s);
  }

  private async deleteSlice(key: string, s: KObject): Promise<void> {
    try {
      await this.client.delete(s.metadata!.namespace, s.metadata!.name!);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.remember(key, s.metadata!.name!, 'deleted');
  }

  private sliceLabels(svc: KObject): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries<string>(svc.metadata?.labels ?? {})) {
      if (k !== SERVICE_NAME_LABEL && k !== MANAGED_BY_LABEL) labels[k] = v;
    }
    if (isHeadless(svc)) labels[HEADLESS_LABEL] = '';
    else delete labels[HEADLESS_LABEL];
    labels[SERVICE_NAME_LABEL] = svc.metadata!.name!;
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
    return labels;
  }

  private newSlice(svc: KObject, addressType: string, labels: Record<string, string>): KObject {
    const m = svc.metadata!;
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        generateName: `${m.name}-`,
        namespace: m.namespace,
        labels: { ...labels },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: m.name!, uid: m.uid!, controller: true, blockOwnerDeletion: true }],
      },
      addressType,
    };
  }

  /** The endpoints each port set should list, for one address type. */
  private desiredEndpoints(svc: KObject, pods: KObject[], addressType: string): Map<string, DesiredGroup> {
    const out = new Map<string, DesiredGroup>();
    const svcPorts: any[] = svc.spec?.ports ?? [];
    const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
    for (const pod of pods) {
      const ip = podIPFor(pod, addressType);
      if (!ip) continue;
      const ports: any[] = [];
      for (const sp of svcPorts) {
        const port = findPort(pod, sp);
        if (port === undefined) continue;
        const p: any = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
        if (sp.appProtocol) p.appProtocol = sp.appProtocol;
        ports.push(p);
      }
      const k = portsKey(ports);
      let group = out.get(k);
      if (!group) out.set(k, (group = { ports, endpoints: new Map() }));
      const ep = this.podToEndpoint(pod, svc, ip, publishNotReady);
      group.endpoints.set(endpointKey(ep), ep);
    }
    return out;
  }

  private podToEndpoint(pod: KObject, svc: KObject, ip: string, publishNotReady: boolean): any {
    const serving = isPodReady(pod);
    const terminating = !!pod.metadata?.deletionTimestamp;
    // "ready" is never true for a terminating pod, unless the Service publishes not-ready addresses.
    const ep: any = { addresses: [ip], conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating } };
    const hostname = podHostname(pod, svc);
    if (hostname) ep.hostname = hostname;
    ep.targetRef = podRef(pod);
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      ep.nodeName = nodeName;
      const zone = this.nodes.get(null, nodeName)?.metadata?.labels?.[ZONE_LABEL];
      if (zone) ep.zone = zone;
    }
    return ep;
  }
}
