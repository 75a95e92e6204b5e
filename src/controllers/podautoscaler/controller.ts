// The horizontal pod autoscaler (upstream pkg/controller/podautoscaler): every sync period,
// for each HPA, reads the target's scale subresource, asks each metric how many replicas it
// wants (resource metrics from metrics.k8s.io), takes the largest, stabilizes and rate-limits
// it, scales the target, and reports currentMetrics and the AbleToScale / ScalingActive /
// ScalingLimited conditions in status.
import type { KObject } from '../../api/types.js';
import { parseLabelSelector } from '../../apiserver/selectors.js';
import { formatLabelSelector } from '../../api/printers.js';
import {
  GVR,
  WorkQueue,
  isConflict,
  isNotFound,
  objectKey,
  type EventRecorder,
  type GroupVersionResource,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import { refTo } from '../common/pods.js';
import { runQueueWorkers } from '../common/run.js';
import { sameJson } from '../common/status.js';
import type { Controller, ControllerContext } from '../types.js';
import { formatQuantity, parseQuantity } from '../resourcequota/quantity.js';
import { resourceMetricsFromApi, type ResourceMetricsSource } from './metrics.js';
import { normalizeDesiredReplicas, recordScaleEvent, ScaleHistory, type ConditionUpdate } from './normalizer.js';
import { calcResourceReplicas, DEFAULT_TOLERANCE } from './replica-calculator.js';

export const HPA_GVR: GroupVersionResource = { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true };
/** Upstream --horizontal-pod-autoscaler-sync-period. */
export const DEFAULT_HPA_SYNC_MS = 15_000;

export interface HorizontalPodAutoscalerOptions {
  /** Where pod resource usage comes from (default: the metrics.k8s.io API). */
  metrics?: ResourceMetricsSource;
  syncPeriodMs?: number;
  downscaleStabilizationMs?: number;
  tolerance?: number;
}

const nowRFC3339 = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

class MetricError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

function setCondition(status: any, c: { type: string; status: string; reason: string; message: string }): void {
  const list: any[] = (status.conditions ??= []);
  const i = list.findIndex((x) => x.type === c.type);
  if (i < 0) list.push({ type: c.type, status: c.status, lastTransitionTime: nowRFC3339(), reason: c.reason, message: c.message });
  else {
    const old = list[i];
    list[i] = { ...old, ...c, lastTransitionTime: old.status === c.status ? old.lastTransitionTime : nowRFC3339() };
  }
}

export class HorizontalPodAutoscalerController implements Controller {
  readonly name = 'horizontalpodautoscaling';
  private readonly queue = new WorkQueue<string>();
  private hpas!: SharedInformer;
  private pods!: SharedInformer;
  private hpaClient!: ResourceClient;
  private recorder!: EventRecorder;
  private ctx!: ControllerContext;
  private metrics!: ResourceMetricsSource;
  private readonly history = new Map<string, ScaleHistory>();
  private readonly plurals = new Map<string, string>();

  constructor(private readonly opts: HorizontalPodAutoscalerOptions = {}) {}

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.ctx = ctx;
    this.hpas = ctx.informers.informer(HPA_GVR);
    this.pods = ctx.informers.informer(GVR.pods);
    this.hpaClient = ctx.client.resource(HPA_GVR);
    this.recorder = ctx.recorder('horizontal-pod-autoscaler');
    this.metrics = this.opts.metrics ?? resourceMetricsFromApi(ctx.client);
    this.hpas.addEventHandler({
      onAdd: (h) => this.queue.add(objectKey(h)),
      onUpdate: (o, h) => {
        if (!sameJson(o.spec, h.spec)) this.queue.add(objectKey(h));
      },
      onDelete: (h) => this.history.delete(objectKey(h)),
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (key) => this.sync(key));
  }

  async sync(key: string): Promise<void> {
    const hpa = this.hpas.store.get(key);
    if (!hpa) {
      this.history.delete(key);
      return;
    }
    try {
      await this.reconcile(key, hpa);
    } finally {
      this.queue.addAfter(key, this.opts.syncPeriodMs ?? DEFAULT_HPA_SYNC_MS);
    }
  }

  private async targetClient(ref: any): Promise<ResourceClient> {
    const apiVersion: string = ref?.apiVersion ?? '';
    const cacheKey = `${apiVersion}/${ref?.kind}`;
    let plural = this.plurals.get(cacheKey);
    if (!plural) {
      const list = await this.ctx.client.rest.request('GET', apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion || 'v1'}`);
      plural = (list?.resources ?? []).find((r: any) => r.kind === ref.kind && !r.name.includes('/'))?.name;
      if (!plural) throw new Error(`no matches for kind "${ref.kind}" in group "${apiVersion.split('/')[0]}"`);
      this.plurals.set(cacheKey, plural);
    }
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion || 'v1'];
    return this.ctx.client.resource({ group, version, plural: plural!, kind: ref.kind, namespaced: true });
  }

  private async reconcile(key: string, hpa: KObject): Promise<void> {
    const ns = hpa.metadata!.namespace!;
    const spec = hpa.spec ?? {};
    const ref = spec.scaleTargetRef ?? {};
    const evRef = refTo(hpa, 'autoscaling/v2', 'HorizontalPodAutoscaler');
    const status: any = structuredClone(hpa.status ?? {});
    const now = Date.now();
    let history = this.history.get(key);
    if (!history) this.history.set(key, (history = new ScaleHistory()));

    let target: ResourceClient;
    let scale: any;
    try {
      target = await this.targetClient(ref);
      scale = await target.getScale(ns, ref.name);
    } catch (e) {
      const msg = (e as Error).message;
      setCondition(status, { type: 'AbleToScale', status: 'False', reason: 'FailedGetScale', message: `the HPA controller was unable to get the target's current scale: ${msg}` });
      this.recorder.event(evRef, 'Warning', 'FailedGetScale', 'GetScale', msg);
      return this.writeStatus(hpa, status);
    }
    setCondition(status, { type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale', message: "the HPA controller was able to get the target's current scale" });
    const current: number = scale.spec?.replicas ?? 0;
    const minReplicas: number = spec.minReplicas ?? 1;
    const maxReplicas: number = spec.maxReplicas;
    let desired = current;
    let rescaleReason = '';
    let disabled = false;

    if (current === 0 && minReplicas !== 0) {
      disabled = true;
      desired = 0;
      setCondition(status, { type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' });
    } else if (current > maxReplicas) {
      rescaleReason = 'Current number of replicas above Spec.MaxReplicas';
      desired = maxReplicas;
    } else if (current < minReplicas) {
      rescaleReason = 'Current number of replicas below Spec.MinReplicas';
      desired = minReplicas;
    } else {
      const computed = await this.replicasForMetrics(hpa, target, scale, current, now);
      if (computed.currentMetrics) status.currentMetrics = computed.currentMetrics;
      if (computed.error) {
        setCondition(status, computed.error.condition);
        this.recorder.event(evRef, 'Warning', 'FailedComputeMetricsReplicas', 'ComputeMetrics', computed.error.event);
        status.currentReplicas = current;
        return this.writeStatus(hpa, status);
      }
      setCondition(status, { type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', message: `the HPA was able to successfully calculate a replica count from ${computed.metricName}` });
      const normalized = normalizeDesiredReplicas(history, {
        current,
        desired: computed.replicas,
        minReplicas,
        maxReplicas,
        behavior: spec.behavior,
        now,
        downscaleStabilizationMs: this.opts.downscaleStabilizationMs,
      });
      for (const c of normalized.conditions as ConditionUpdate[]) setCondition(status, c);
      desired = normalized.replicas;
      rescaleReason = desired > current ? `${computed.metricName} above target` : 'All metrics below target';
    }

    if (!disabled && desired !== current) {
      try {
        await target.scale(ns, ref.name, desired);
      } catch (e) {
        const msg = (e as Error).message;
        setCondition(status, { type: 'AbleToScale', status: 'False', reason: 'FailedUpdateScale', message: `the HPA controller was unable to update the target scale: ${msg}` });
        this.recorder.event(evRef, 'Warning', 'FailedRescale', 'Rescale', `New size: ${desired}; reason: ${rescaleReason}; error: ${msg}`);
        status.currentReplicas = current;
        await this.writeStatus(hpa, status);
        throw e;
      }
      setCondition(status, { type: 'AbleToScale', status: 'True', reason: 'SucceededRescale', message: `the HPA controller was able to update the target scale to ${desired}` });
      this.recorder.event(evRef, 'Normal', 'SuccessfulRescale', 'Rescale', `New size: ${desired}; reason: ${rescaleReason}`);
      recordScaleEvent(history, spec.behavior, current, desired, now);
      status.lastScaleTime = nowRFC3339();
    } else if (!disabled) desired = current;

    status.observedGeneration = hpa.metadata?.generation;
    status.currentReplicas = current;
    status.desiredReplicas = desired;
    await this.writeStatus(hpa, status);
  }

  /** The largest recommendation across the metrics, or the error that stops scaling. */
  private async replicasForMetrics(hpa: KObject, target: ResourceClient, scale: any, current: number, now: number) {
    const ns = hpa.metadata!.namespace!;
    const specs: any[] = hpa.spec?.metrics ?? [];
    let selector: string = scale.status?.selector ?? '';
    if (!selector) {
      // Kinds whose scale omits the selector (plain label maps): read it off the target.
      const obj = await target.get(ns, hpa.spec.scaleTargetRef.name).catch(() => undefined);
      const sel = obj?.spec?.selector;
      if (sel && !sel.matchLabels && !sel.matchExpressions) selector = Object.keys(sel).sort().map((k) => `${k}=${sel[k]}`).join(',');
      else if (sel) selector = formatLabelSelector(sel) === '<none>' ? '' : formatLabelSelector(sel);
    }
    if (!selector) {
      this.recorder.event(refTo(hpa, 'autoscaling/v2', 'HorizontalPodAutoscaler'), 'Warning', 'SelectorRequired', 'ComputeMetrics', 'selector is required');
      return {
        replicas: -1,
        metricName: '',
        currentMetrics: undefined,
        error: { condition: { type: 'ScalingActive', status: 'False', reason: 'InvalidSelector', message: "the HPA target's scale is missing a selector" }, event: 'selector is required' },
      };
    }
    const parsed = parseLabelSelector(selector);
    const pods = this.pods.list(ns).filter((p) => parsed.matches(p.metadata?.labels));

    let replicas = -1;
    let metricName = '';
    let invalid = 0;
    let firstError: { reason: string; message: string } | undefined;
    const statuses: any[] = [];
    for (const m of specs) {
      try {
        const r = await this.resourceMetric(m, ns, selector, pods, current, now);
        statuses.push(r.status);
        if (r.replicas > replicas) {
          replicas = r.replicas;
          metricName = r.name;
        }
      } catch (e) {
        invalid++;
        const err = e instanceof MetricError ? e : new MetricError('FailedGetResourceMetric', (e as Error).message);
        firstError ??= { reason: err.reason, message: err.message };
        this.recorder.event(refTo(hpa, 'autoscaling/v2', 'HorizontalPodAutoscaler'), 'Warning', err.reason, 'ComputeMetrics', err.message);
        statuses.push({ type: '' });
      }
    }
    if (invalid >= specs.length || (invalid > 0 && replicas < current)) {
      return {
        replicas: -1,
        metricName,
        currentMetrics: invalid >= specs.length ? undefined : statuses,
        error: {
          condition: { type: 'ScalingActive', status: 'False', reason: firstError!.reason, message: `the HPA was unable to compute the replica count: ${firstError!.message}` },
          event: `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError!.message}`,
        },
      };
    }
    return { replicas, metricName, currentMetrics: statuses, error: undefined };
  }

  private async resourceMetric(m: any, ns: string, selector: string, pods: KObject[], current: number, now: number) {
    if (m.type !== 'Resource' && m.type !== 'ContainerResource')
      throw new MetricError(`FailedGet${m.type}Metric`, `unable to get metric of type ${m.type}: only resource metrics are supported`);
    const isContainer = m.type === 'ContainerResource';
    const src = isContainer ? m.containerResource : m.resource;
    const resource: string = src.name;
    const t = src.target ?? {};
    const reason = isContainer ? 'FailedGetContainerResourceMetric' : 'FailedGetResourceMetric';
    let fetched;
    try {
      fetched = await this.metrics(ns, selector, resource, isContainer ? src.container : undefined);
    } catch (e) {
      const what = t.type === 'Utilization' ? 'utilization' : 'usage';
      throw new MetricError(reason, `failed to get ${resource} ${what}: unable to get metrics for resource ${resource}: ${(e as Error).message}`);
    }
    const averageMilli = t.averageValue != null ? Number(parseQuantity(t.averageValue)?.milli ?? 0n) : undefined;
    let r;
    try {
      r = calcResourceReplicas(current, t.type === 'Utilization' ? { utilization: t.averageUtilization } : { averageMilli }, resource, pods, fetched, {
        tolerance: this.opts.tolerance ?? DEFAULT_TOLERANCE,
        now,
        container: isContainer ? src.container : undefined,
      });
    } catch (e) {
      throw new MetricError(reason, `failed to get ${resource} utilization: ${(e as Error).message}`);
    }
    const currentStatus: any = { averageValue: formatQuantity({ milli: BigInt(r.rawAverage), binary: resource === 'memory' }) };
    if (r.utilization !== undefined) currentStatus.averageUtilization = r.utilization;
    const key = isContainer ? 'containerResource' : 'resource';
    const status = { type: m.type, [key]: { name: resource, ...(isContainer ? { container: src.container } : {}), current: currentStatus } };
    const name =
      t.type === 'Utilization'
        ? `${resource}${isContainer ? ' container' : ''} resource utilization (percentage of request)`
        : `${resource}${isContainer ? ' container' : ''} resource`;
    return { replicas: r.replicas, status, name };
  }

  private async writeStatus(hpa: KObject, status: any): Promise<void> {
    if (sameJson(status, hpa.status ?? {})) return;
    try {
      await this.hpaClient.updateStatus(hpa.metadata!.namespace, { ...hpa, apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', status });
    } catch (e) {
      if (isNotFound(e) || isConflict(e)) return; // the next sync writes again
      throw e;
    }
  }
}
