// core/v1 Pod: defaults, strategy, validation, table and field selectors as upstream.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age, humanDuration } from '../printers.js';
import { forbidden, invalid, jsonEqual, parseQuantity, required } from '../validation.js';
import { defaultPodSpec, validatePodSpec } from './podspec.js';

// ---------- QoS ----------

/** Upstream's GetPodQOS: Guaranteed, Burstable or BestEffort from cpu/memory requests and limits. */
export function computeQOSClass(pod: KObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const spec = pod.spec ?? {};
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    const res = c?.resources ?? {};
    // Defaulting copies limits into missing requests; do the same here so order does not matter.
    const reqs: Record<string, unknown> = { ...(res.limits ?? {}), ...(res.requests ?? {}) };
    for (const name of ['cpu', 'memory']) {
      const r = parseQuantity(reqs[name]);
      if (reqs[name] != null && r > 0) requests.set(name, (requests.get(name) ?? 0) + r);
    }
    let limitsFound = 0;
    for (const name of ['cpu', 'memory']) {
      const l = parseQuantity(res.limits?.[name]);
      if (res.limits?.[name] != null && l > 0) {
        limitsFound++;
        limits.set(name, (limits.get(name) ?? 0) + l);
      }
    }
    if (limitsFound < 2) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, r] of requests) if (limits.get(name) !== r) guaranteed = false;
    if (requests.size !== limits.size) guaranteed = false;
  }
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// ---------- printing ----------

function isRestartableInit(c: any): boolean {
  return c?.restartPolicy === 'Always';
}

function conditionTrue(pod: KObject, type: string): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === type && c.status === 'True');
}

function laterOf(a: string | undefined, b: string | undefined): string | undefined {
  if (!b) return a;
  if (!a) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

/** READY, STATUS and RESTARTS cells as upstream's printPod computes them. */
export function podSummary(pod: KObject): PodSummary {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const initSpecs = new Map<string, any>();
  let total = (spec.containers ?? []).length;
  for (const c of spec.initContainers ?? []) {
    initSpecs.set(c?.name, c);
    if (isRestartableInit(c)) total++;
  }
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart: string | undefined;
  let lastSidecarRestart: string | undefined;

  let reason: string = status.phase ?? '';
  if (status.reason) reason = status.reason;
  for (const c of status.conditions ?? []) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  let initializing = false;
  const initStatuses: any[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    restarts += cs.restartCount ?? 0;
    const finished = cs.lastState?.terminated?.finishedAt;
    lastRestart = laterOf(lastRestart, finished);
    const sidecar = isRestartableInit(initSpecs.get(cs.name));
    if (sidecar) {
      sidecarRestarts += cs.restartCount ?? 0;
      lastSidecarRestart = laterOf(lastSidecarRestart, finished);
    }
    const term = cs.state?.terminated;
    const wait = cs.state?.waiting;
    if (term && (term.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    if (term) {
      if (!term.reason) reason = term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode ?? 0}`;
      else reason = 'Init:' + term.reason;
    } else if (wait?.reason && wait.reason !== 'PodInitializing') {
      reason = 'Init:' + wait.reason;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses: any[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += cs.restartCount ?? 0;
      lastRestart = laterOf(lastRestart, cs.lastState?.terminated?.finishedAt);
      const wait = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode ?? 0}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const phase = status.phase;
  if (pod.metadata?.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata?.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart) restartsCell = `${restarts} (${humanDuration(Date.now() - Date.parse(lastRestart))} ago)`;
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsCell };
}

function podRow(pod: KObject): unknown[] {
  const s = podSummary(pod);
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const ip = status.podIPs?.[0]?.ip || '<none>';
  let gates = '<none>';
  if ((spec.readinessGates ?? []).length > 0) {
    let trueCount = 0;
    for (const g of spec.readinessGates) {
      const c = (status.conditions ?? []).find((x: any) => x.type === g.conditionType);
      if (c?.status === 'True') trueCount++;
    }
    gates = `${trueCount}/${spec.readinessGates.length}`;
  }
  return [
    s.ready,
    s.status,
    s.restarts,
    age(pod.metadata?.creationTimestamp),
    ip,
    spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gates,
  ];
}

// ---------- strategy ----------

/** SetDefaults_Pod: spec defaults plus pod-only ones (requests default to limits, service links on). */
function defaultPod(pod: KObject): void {
  pod.spec ??= {};
  const spec = pod.spec;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const limits = c?.resources?.limits;
    if (limits && typeof limits === 'object') {
      c.resources.requests ??= {};
      for (const [k, v] of Object.entries(limits)) if (c.resources.requests[k] == null) c.resources.requests[k] = v;
    }
  }
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
}

const BUILTIN_PRIORITIES: Record<string, number> = {
  'system-cluster-critical': 2000000000,
  'system-node-critical': 2000001000,
};

/** What upstream's admission chain adds on create: service account, priority, default tolerations. */
function admitPod(pod: KObject): void {
  const spec = pod.spec;
  // ServiceAccount admission.
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  // Priority admission (custom PriorityClasses are resolved by the API server, if at all).
  if (spec.priority == null) {
    if (!spec.priorityClassName) spec.priority = 0;
    else if (spec.priorityClassName in BUILTIN_PRIORITIES) spec.priority = BUILTIN_PRIORITIES[spec.priorityClassName];
  }
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  // DefaultTolerationSeconds admission.
  spec.tolerations ??= [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const tolerated = spec.tolerations.some(
      (t: any) => (t.operator === 'Exists' && !t.key) || (t.key === key && (!t.effect || t.effect === 'NoExecute')),
    );
    if (!tolerated) spec.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  }
}

const POD_UPDATE_FORBIDDEN =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** Paths (and values) where two JSON values differ, for the forbidden-update message. */
function diffLines(a: any, b: any, path: string, out: string[]): void {
  if (out.length >= 10 || jsonEqual(a, b)) return;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a)
      ? Array.from({ length: Math.max(a.length, b.length) }, (_, i) => i)
      : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) diffLines(a[k as any], b[k as any], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, out);
    return;
  }
  out.push(`- ${path}: ${JSON.stringify(a) ?? 'null'}\n+ ${path}: ${JSON.stringify(b) ?? 'null'}`);
}

function sameToleration(a: any, b: any): boolean {
  return (a.key ?? '') === (b.key ?? '') && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') &&
    (a.value ?? '') === (b.value ?? '') && (a.effect ?? '') === (b.effect ?? '');
}

/** ValidatePodUpdate: only images, activeDeadlineSeconds, added tolerations and a few more may change. */
export function validatePodUpdate(pod: KObject, old: KObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = pod.spec ?? {};
  const oldSpec = old.spec ?? {};
  for (const key of ['containers', 'initContainers']) {
    (spec[key] ?? []).forEach((c: any, i: number) => {
      if (!c?.image || String(c.image).trim() === '') out.push(required(`spec.${key}[${i}].image`));
    });
  }
  if (oldSpec.activeDeadlineSeconds != null) {
    if (spec.activeDeadlineSeconds == null)
      out.push(invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
    else if (spec.activeDeadlineSeconds > oldSpec.activeDeadlineSeconds)
      out.push(invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be less than or equal to previous value'));
  }
  if (spec.activeDeadlineSeconds != null && (!Number.isInteger(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds < 1))
    out.push(invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  // Existing tolerations stay; only NoExecute tolerationSeconds may shrink.
  for (const ot of oldSpec.tolerations ?? []) {
    const nt = (spec.tolerations ?? []).find((t: any) => sameToleration(t, ot));
    if (!nt) {
      out.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
    if (ot.tolerationSeconds != null && (nt.tolerationSeconds == null || nt.tolerationSeconds > ot.tolerationSeconds)) {
      out.push(forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
      break;
    }
  }
  // Scheduling gates may only be removed.
  for (const g of spec.schedulingGates ?? []) {
    if (!(oldSpec.schedulingGates ?? []).some((o: any) => o.name === g.name)) {
      out.push(forbidden('spec.schedulingGates', `only deletion is allowed, but found new scheduling gate '${g.name}'`));
      break;
    }
  }

  // Compare everything else: copy the mutable fields from old into a copy of the new spec.
  const munged: any = structuredClone(spec);
  for (const key of ['containers', 'initContainers']) {
    const oc = oldSpec[key] ?? [];
    (munged[key] ?? []).forEach((c: any, i: number) => {
      if (i < oc.length && c && typeof c === 'object') c.image = oc[i]?.image;
    });
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.tolerations = oldSpec.tolerations;
  munged.schedulingGates = oldSpec.schedulingGates;
  if (oldSpec.terminationGracePeriodSeconds < 0 && spec.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  if (!jsonEqual(munged, oldSpec)) {
    const lines: string[] = [];
    diffLines(oldSpec, munged, 'spec', lines);
    out.push(forbidden('spec', `${POD_UPDATE_FORBIDDEN}\n${lines.join('\n')}`));
  }
  return out;
}

const COLUMNS: ResourceDef['columns'] = [
  { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', priority: 0 },
  { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', priority: 0 },
  { name: 'Restarts', type: 'string', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.', priority: 0 },
  { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  { name: 'IP', type: 'string', description: 'podIP address allocated to the pod. Routable at least within the cluster.', priority: 1 },
  { name: 'Node', type: 'string', description: 'NodeName indicates in which node this pod is scheduled.', priority: 1 },
  { name: 'Nominated Node', type: 'string', description: 'nominatedNodeName is set only when this pod preempts other pods on the node.', priority: 1 },
  { name: 'Readiness Gates', type: 'string', description: 'If specified, all readiness gates will be evaluated for pod readiness.', priority: 1 },
];

export const pods: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  subresources: { status: true, binding: true },
  gracefulDelete: true,
  defaults: defaultPod,
  prepareForCreate(pod) {
    pod.spec ??= {};
    admitPod(pod);
    pod.status = { phase: 'Pending', qosClass: computeQOSClass(pod) };
  },
  prepareForUpdate(pod, old) {
    pod.status = old.status;
  },
  validate(pod, old) {
    return old ? validatePodUpdate(pod, old) : validatePodSpec(pod.spec, 'spec');
  },
  columns: COLUMNS,
  row: podRow,
  fieldSelectors: {
    'spec.nodeName': (p) => p.spec?.nodeName ?? '',
    'spec.restartPolicy': (p) => p.spec?.restartPolicy ?? '',
    'spec.schedulerName': (p) => p.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (p) => String(p.spec?.hostNetwork === true),
    'status.phase': (p) => p.status?.phase ?? '',
    'status.podIP': (p) => p.status?.podIPs?.[0]?.ip ?? p.status?.podIP ?? '',
    'status.nominatedNodeName': (p) => p.status?.nominatedNodeName ?? '',
  },
};
