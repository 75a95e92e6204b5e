// autoscaling/v2 HorizontalPodAutoscaler (the stored version) and autoscaling/v1 as a view of
// the same storage. v1 only has targetCPUUtilizationPercentage; everything else v2 carries
// rides along in the autoscaling.alpha.kubernetes.io/* annotations, as upstream converts.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { invalid, notSupported, required } from '../validation.js';
import { age } from '../printers.js';
import { AGE_COLUMN, prepareCreateWithStatus, prepareUpdateWithStatus } from '../apps/common.js';

export const METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const CURRENT_METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
export const BEHAVIOR_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';

/** Upstream's default when an HPA names no metric: 80% average CPU utilization. */
export const DEFAULT_CPU_UTILIZATION = 80;

const METRIC_TYPES = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
const TARGET_TYPES = ['AverageValue', 'Utilization', 'Value'];
const POLICY_TYPES = ['Percent', 'Pods'];
const SELECT_POLICIES = ['Disabled', 'Max', 'Min'];

/** Upstream GenerateHPAScaleUpRules: missing fields of scaleUp filled from the defaults. */
export function defaultScaleUpRules(r: any): any {
  const out = { ...(r ?? {}) };
  out.stabilizationWindowSeconds ??= 0;
  out.selectPolicy ??= 'Max';
  if (!out.policies?.length)
    out.policies = [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ];
  return out;
}

/** Upstream GenerateHPAScaleDownRules (the stabilization window stays unset: the controller's default applies). */
export function defaultScaleDownRules(r: any): any {
  const out = { ...(r ?? {}) };
  out.selectPolicy ??= 'Max';
  if (!out.policies?.length) out.policies = [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return out;
}

export function defaultHPAv2(obj: KObject): void {
  const spec = (obj.spec ??= {});
  spec.minReplicas ??= 1;
  if (!spec.metrics?.length) {
    spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } } }];
  }
  if (spec.behavior) {
    spec.behavior = { ...spec.behavior, scaleUp: defaultScaleUpRules(spec.behavior.scaleUp), scaleDown: defaultScaleDownRules(spec.behavior.scaleDown) };
  }
}

function validateRules(r: any, path: string, out: FieldError[]): void {
  if (!r) return;
  const w = r.stabilizationWindowSeconds;
  if (w != null && (w < 0 || w > 3600)) out.push(invalid(`${path}.stabilizationWindowSeconds`, w, 'must be less than or equal to 3600'));
  if (r.selectPolicy != null && !SELECT_POLICIES.includes(r.selectPolicy)) out.push(notSupported(`${path}.selectPolicy`, r.selectPolicy, SELECT_POLICIES));
  (r.policies ?? []).forEach((p: any, i: number) => {
    const pp = `${path}.policies[${i}]`;
    if (!POLICY_TYPES.includes(p?.type)) out.push(notSupported(`${pp}.type`, p?.type, POLICY_TYPES));
    if (!(p?.value > 0)) out.push(invalid(`${pp}.value`, p?.value, 'must be greater than zero'));
    if (!(p?.periodSeconds > 0)) out.push(invalid(`${pp}.periodSeconds`, p?.periodSeconds, 'must be greater than zero'));
    else if (p.periodSeconds > 1800) out.push(invalid(`${pp}.periodSeconds`, p.periodSeconds, 'must be less than or equal to 1800'));
  });
}

function validateTarget(t: any, path: string, out: FieldError[]): void {
  if (!t?.type) return void out.push(required(`${path}.type`, 'must specify a metric target type'));
  if (!TARGET_TYPES.includes(t.type)) return void out.push(notSupported(`${path}.type`, t.type, TARGET_TYPES));
  if (t.averageUtilization != null && !(t.averageUtilization > 0)) out.push(invalid(`${path}.averageUtilization`, t.averageUtilization, 'must be greater than 0'));
  if (t.type === 'Utilization' && t.averageUtilization == null) out.push(required(`${path}.averageUtilization`, 'must set averageUtilization when metric target type is Utilization'));
  if (t.type === 'Value' && t.value == null) out.push(required(`${path}.value`, 'must set value when metric target type is Value'));
  if (t.type === 'AverageValue' && t.averageValue == null) out.push(required(`${path}.averageValue`, 'must set averageValue when metric target type is AverageValue'));
}

export function validateHPAv2(obj: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const out: FieldError[] = [];
  const ref = spec.scaleTargetRef ?? {};
  if (!ref.kind) out.push(required('spec.scaleTargetRef.kind', ''));
  if (!ref.name) out.push(required('spec.scaleTargetRef.name', ''));
  if (spec.minReplicas != null && spec.minReplicas < 1) out.push(invalid('spec.minReplicas', spec.minReplicas, 'must be greater than or equal to 1'));
  if (!(spec.maxReplicas >= 1)) out.push(invalid('spec.maxReplicas', spec.maxReplicas ?? 0, 'must be greater than 0'));
  else if (spec.minReplicas != null && spec.maxReplicas < spec.minReplicas)
    out.push(invalid('spec.maxReplicas', spec.maxReplicas, 'must be greater than or equal to `minReplicas`'));
  (spec.metrics ?? []).forEach((m: any, i: number) => {
    const p = `spec.metrics[${i}]`;
    if (!METRIC_TYPES.includes(m?.type)) return void out.push(notSupported(`${p}.type`, m?.type, METRIC_TYPES));
    if (m.type === 'Resource' || m.type === 'ContainerResource') {
      const src = m.type === 'Resource' ? m.resource : m.containerResource;
      const sp = `${p}.${m.type === 'Resource' ? 'resource' : 'containerResource'}`;
      if (!src) return void out.push(required(sp, `must populate information for the given metric source`));
      if (!src.name) out.push(required(`${sp}.name`, 'must specify a resource name'));
      validateTarget(src.target, `${sp}.target`, out);
    }
  });
  validateRules(spec.behavior?.scaleUp, 'spec.behavior.scaleUp', out);
  validateRules(spec.behavior?.scaleDown, 'spec.behavior.scaleDown', out);
  return out;
}

// ---- v1 <-> v2 ----

const isCpuUtilization = (m: any) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization';

function parseAnnotation(meta: any, key: string): any[] | any | undefined {
  const v = meta?.annotations?.[key];
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

/** autoscaling/v2 (stored) -> autoscaling/v1. */
export function hpaToV1(obj: KObject): KObject {
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const metadata = { ...(obj.metadata ?? {}) };
  const annotations: Record<string, string> = { ...(metadata.annotations ?? {}) };
  const metrics: any[] = spec.metrics ?? [];
  const cpu = metrics.find(isCpuUtilization);
  const others = metrics.filter((m) => m !== cpu);
  if (others.length) annotations[METRICS_ANNOTATION] = JSON.stringify(others);
  if (spec.behavior) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(spec.behavior);
  const current: any[] = status.currentMetrics ?? [];
  const curCpu = current.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu' && m.resource?.current?.averageUtilization != null);
  const curOthers = current.filter((m) => m !== curCpu);
  if (curOthers.length) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(curOthers);
  if (status.conditions?.length) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(status.conditions);
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const v1Spec: any = { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas };
  if (cpu) v1Spec.targetCPUUtilizationPercentage = cpu.resource.target.averageUtilization;
  const v1Status: any = {};
  if (status.observedGeneration != null) v1Status.observedGeneration = status.observedGeneration;
  if (status.lastScaleTime != null) v1Status.lastScaleTime = status.lastScaleTime;
  v1Status.currentReplicas = status.currentReplicas ?? 0;
  v1Status.desiredReplicas = status.desiredReplicas ?? 0;
  if (curCpu) v1Status.currentCPUUtilizationPercentage = curCpu.resource.current.averageUtilization;
  return { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata, spec: v1Spec, status: v1Status };
}

/** autoscaling/v1 -> autoscaling/v2 (the stored form). */
export function hpaFromV1(obj: KObject): KObject {
  if (obj.apiVersion === 'autoscaling/v2') return obj;
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  const metadata = { ...(obj.metadata ?? {}) };
  const extraMetrics = parseAnnotation(metadata, METRICS_ANNOTATION) ?? [];
  const behavior = parseAnnotation(metadata, BEHAVIOR_ANNOTATION);
  const conditions = parseAnnotation(metadata, CONDITIONS_ANNOTATION);
  const extraCurrent = parseAnnotation(metadata, CURRENT_METRICS_ANNOTATION) ?? [];
  if (metadata.annotations) {
    const a = { ...metadata.annotations };
    for (const k of [METRICS_ANNOTATION, BEHAVIOR_ANNOTATION, CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION]) delete a[k];
    if (Object.keys(a).length) metadata.annotations = a;
    else delete metadata.annotations;
  }
  const metrics: any[] = [];
  if (spec.targetCPUUtilizationPercentage != null)
    metrics.push({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } });
  metrics.push(...extraMetrics);
  const v2Spec: any = { scaleTargetRef: spec.scaleTargetRef, minReplicas: spec.minReplicas, maxReplicas: spec.maxReplicas };
  if (metrics.length) v2Spec.metrics = metrics;
  if (behavior) v2Spec.behavior = behavior;
  const current: any[] = [];
  if (status.currentCPUUtilizationPercentage != null)
    current.push({ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } });
  current.push(...extraCurrent);
  const v2Status: any = { desiredReplicas: status.desiredReplicas ?? 0 };
  if (status.observedGeneration != null) v2Status.observedGeneration = status.observedGeneration;
  if (status.lastScaleTime != null) v2Status.lastScaleTime = status.lastScaleTime;
  if (status.currentReplicas != null) v2Status.currentReplicas = status.currentReplicas;
  if (current.length) v2Status.currentMetrics = current;
  if (conditions?.length) v2Status.conditions = conditions;
  return { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata, spec: v2Spec, status: v2Status };
}

// ---- printing ----

function q(v: unknown): string {
  return v == null ? '<unknown>' : String(v);
}

function metricCell(spec: any, status: any): string {
  switch (spec?.type) {
    case 'External': {
      const t = spec.external?.target ?? {};
      if (t.averageValue != null) return `${q(status?.external?.current?.averageValue)}/${t.averageValue} (avg)`;
      return `${q(status?.external?.current?.value)}/${q(t.value)}`;
    }
    case 'Pods':
      return `${q(status?.pods?.current?.averageValue)}/${q(spec.pods?.target?.averageValue)}`;
    case 'Object': {
      const t = spec.object?.target ?? {};
      if (t.averageValue != null) return `${q(status?.object?.current?.averageValue)}/${t.averageValue} (avg)`;
      return `${q(status?.object?.current?.value)}/${q(t.value)}`;
    }
    case 'Resource':
    case 'ContainerResource': {
      const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
      const src = spec[key] ?? {};
      const cur = status?.[key]?.current;
      const prefix = spec.type === 'Resource' ? `${src.name}: ` : `${src.name} of container "${src.container}": `;
      if (src.target?.averageValue != null) return `${prefix}${q(cur?.averageValue)}/${src.target.averageValue}`;
      const current = cur?.averageUtilization != null ? `${cur.averageUtilization}%` : '<unknown>';
      const target = src.target?.averageUtilization != null ? `${src.target.averageUtilization}%` : '<auto>';
      return `${prefix}${current}/${target}`;
    }
  }
  return '<unknown type>';
}

/** TARGETS: the first two metrics as "current/target", then "+ N more...". */
export function formatHPAMetrics(specs: any[] | undefined, statuses: any[] | undefined): string {
  if (!specs?.length) return '<none>';
  const cells = specs.map((s, i) => metricCell(s, statuses?.[i]));
  if (cells.length > 2) return `${cells.slice(0, 2).join(', ')} + ${cells.length - 2} more...`;
  return cells.join(', ');
}

const COLUMNS: ResourceDef['columns'] = [
  { name: 'Reference', type: 'string', description: 'scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.', priority: 0 },
  { name: 'Targets', type: 'string', description: 'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).', priority: 0 },
  { name: 'MinPods', type: 'string', description: 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.', priority: 0 },
  { name: 'MaxPods', type: 'integer', description: 'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.', priority: 0 },
  { name: 'Replicas', type: 'integer', description: 'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.', priority: 0 },
  AGE_COLUMN,
];

function rowV2(obj: KObject): unknown[] {
  const spec = obj.spec ?? {};
  const ref = spec.scaleTargetRef ?? {};
  return [
    `${ref.kind}/${ref.name}`,
    formatHPAMetrics(spec.metrics, obj.status?.currentMetrics),
    spec.minReplicas != null ? String(spec.minReplicas) : '<unset>',
    spec.maxReplicas ?? 0,
    obj.status?.currentReplicas ?? 0,
    age(obj.metadata?.creationTimestamp),
  ];
}

const BASE: Omit<ResourceDef, 'version' | 'row'> = {
  group: 'autoscaling',
  kind: 'HorizontalPodAutoscaler',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  namespaced: true,
  shortNames: ['hpa'],
  categories: ['all'],
  subresources: { status: true },
  prepareForCreate: prepareCreateWithStatus,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: COLUMNS,
};

export const horizontalpodautoscalersV2: ResourceDef = {
  ...BASE,
  version: 'v2',
  defaults: defaultHPAv2,
  validate: (obj) => validateHPAv2(obj),
  row: rowV2,
};

export const horizontalpodautoscalersV1: ResourceDef = {
  ...BASE,
  version: 'v1',
  storage: 'autoscaling/horizontalpodautoscalers',
  convert: { toStorage: hpaFromV1, fromStorage: hpaToV1 },
  defaults(obj) {
    (obj.spec ??= {}).minReplicas ??= 1;
  },
  validate(obj) {
    const errs = validateHPAv2(hpaFromV1(obj));
    const t = obj.spec?.targetCPUUtilizationPercentage;
    if (t != null && !(t > 0)) errs.push(invalid('spec.targetCPUUtilizationPercentage', t, 'must be greater than 0'));
    return errs.filter((e) => !e.field.startsWith('spec.metrics'));
  },
  row: (obj) => rowV2(hpaFromV1(obj)),
};
