// Helpers the Endpoints and EndpointSlice controllers share: which pods back a Service, how a
// service port resolves against a pod's container ports, and the last-change-trigger-time
// bookkeeping (upstream pkg/controller/util/endpoint).
import type { KObject } from '../../api/types.js';
import type { SharedInformer } from '../../client/index.js';

/** Annotation on Endpoints/EndpointSlices: when the change they reflect happened. */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';
/** Label set on the Endpoints/EndpointSlices of headless Services. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** The service's selector, or undefined when it has none (then the controllers leave it alone). */
export function serviceSelector(svc: KObject): Record<string, string> | undefined {
  const sel = svc.spec?.selector;
  return sel && Object.keys(sel).length > 0 ? sel : undefined;
}

export function selectorMatches(sel: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  if (!labels) return false;
  for (const k in sel) if (labels[k] !== sel[k]) return false;
  return true;
}

export function isHeadless(svc: KObject): boolean {
  return svc.spec?.clusterIP === 'None';
}

export function isPodReady(pod: KObject): boolean {
  for (const c of pod.status?.conditions ?? []) if (c.type === 'Ready') return c.status === 'True';
  return false;
}

/**
 * Whether a pod belongs in the endpoints at all (upstream ShouldPodBeInEndpoints): it has an IP,
 * is not terminal, and is not terminating unless includeTerminating.
 */
export function shouldPodBeInEndpoints(pod: KObject, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.status?.podIP) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/**
 * The pod port a service port targets: a numeric targetPort (or, without one, the service port)
 * as is; a named targetPort looked up among the pod's container ports with the same protocol.
 * undefined when the pod lacks the named port.
 */
export function findPort(pod: KObject, svcPort: any): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(String(target))) return Number(target);
  const protocol = svcPort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** Upstream's hostname rule: the pod's spec.hostname when its subdomain is the service's name. */
export function podHostname(pod: KObject, svc: KObject): string | undefined {
  const h = pod.spec?.hostname;
  return h && pod.spec?.subdomain === svc.metadata?.name && pod.metadata?.namespace === svc.metadata?.namespace ? h : undefined;
}

export function podRef(pod: KObject) {
  return { kind: 'Pod', namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, uid: pod.metadata!.uid! };
}

/** Services in the pod's namespace whose selector selects its labels. */
export function servicesForPod(services: SharedInformer, pod: KObject): KObject[] {
  const ns = pod.metadata?.namespace;
  if (!ns) return [];
  const out: KObject[] = [];
  for (const svc of services.list(ns)) {
    const sel = serviceSelector(svc);
    if (sel && selectorMatches(sel, pod.metadata?.labels)) out.push(svc);
  }
  return out;
}

/** Whether a pod change can change any endpoints (labels, IP, readiness, phase, deletion, node, hostname). */
export function podEndpointsChanged(old: KObject, pod: KObject): boolean {
  const a = old.metadata ?? {};
  const b = pod.metadata ?? {};
  if (a.resourceVersion === b.resourceVersion) return false;
  if (!!a.deletionTimestamp !== !!b.deletionTimestamp) return true;
  if (old.status?.podIP !== pod.status?.podIP || old.status?.phase !== pod.status?.phase) return true;
  if (isPodReady(old) !== isPodReady(pod)) return true;
  if (old.spec?.nodeName !== pod.spec?.nodeName || old.spec?.hostname !== pod.spec?.hostname || old.spec?.subdomain !== pod.spec?.subdomain) return true;
  return JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {});
}

export function labelsChanged(old: KObject, obj: KObject): boolean {
  return JSON.stringify(old.metadata?.labels ?? {}) !== JSON.stringify(obj.metadata?.labels ?? {});
}

function podTriggerTime(pod: KObject): number {
  for (const c of pod.status?.conditions ?? []) {
    if (c.type === 'Ready') {
      const t = Date.parse(c.lastTransitionTime ?? '');
      return isNaN(t) ? 0 : t;
    }
  }
  return 0;
}

function serviceTriggerTime(svc: KObject): number {
  const t = Date.parse(svc.metadata?.creationTimestamp ?? '');
  return isNaN(t) ? 0 : t;
}

/**
 * Computes the last-change-trigger-time of a Service's endpoints: the earliest trigger time
 * (pod Ready transition, Service creation) that changed since the previous sync, or the
 * Service's creation for its first sync (upstream TriggerTimeTracker).
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, { pods: Map<string, number>; service: number }>();

  /** Milliseconds since the epoch, or 0 when nothing changed. */
  compute(key: string, svc: KObject, pods: KObject[]): number {
    const prev = this.states.get(key);
    let min = 0;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (!t) continue;
      podTimes.set(pod.metadata!.name!, t);
      if (t > (prev?.pods.get(pod.metadata!.name!) ?? 0) && (min === 0 || t < min)) min = t;
    }
    const st = serviceTriggerTime(svc);
    if (st > (prev?.service ?? 0) && (min === 0 || st < min)) min = st;
    this.states.set(key, { pods: podTimes, service: st });
    if (!prev) return st;
    return min;
  }

  delete(key: string): void {
    this.states.delete(key);
  }
}

/** RFC 3339 with nanoseconds, as Go's time.RFC3339Nano prints (trailing zeros trimmed). */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}
