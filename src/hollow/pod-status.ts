// The pod statuses a hollow kubelet reports: Running (every container started and ready) and,
// for pods that run to completion, Succeeded (every container exited 0). Shaped like the
// kubelet's, so controllers (Job, ReplicaSet, EndpointSlice) and kubectl see what they expect.
import type { KObject } from '../api/types.js';

export const IMAGE_ID_PREFIX = 'hollow://';

/** Pods that finish instead of running forever: owned by a Job, or restartPolicy Never/OnFailure. */
export function runsToCompletion(pod: KObject): boolean {
  const policy = pod.spec?.restartPolicy;
  if (policy === 'Never' || policy === 'OnFailure') return true;
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'Job');
}

export interface RunningInfo {
  hostIP: string;
  podIP: string;
  /** RFC 3339 seconds. */
  now: string;
}

function condition(type: string, status: 'True' | 'False', now: string, reason?: string): KObject {
  const c: KObject = { type, status, lastProbeTime: null, lastTransitionTime: now };
  if (reason) c.reason = reason;
  return c;
}

/** Keeps lastTransitionTime of a condition whose status did not change. */
function carry(prev: KObject[] | undefined, next: KObject): KObject {
  const old = prev?.find((c) => c.type === next.type);
  if (old && old.status === next.status && old.lastTransitionTime) next.lastTransitionTime = old.lastTransitionTime;
  return next;
}

const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

/** Kubelet-owned conditions in the kubelet's order, then any others (readiness gates, DisruptionTarget) as they were. */
function conditions(prev: KObject[] | undefined, mine: KObject[]): KObject[] {
  const out = mine.map((c) => carry(prev, c));
  for (const c of prev ?? []) if (!KUBELET_CONDITIONS.has(c.type)) out.push(c);
  return out;
}

function scheduled(prev: KObject[] | undefined, now: string): KObject {
  return prev?.find((c) => c.type === 'PodScheduled') ?? condition('PodScheduled', 'True', now);
}

/** Readiness gates hold when each named condition is True. */
function gatesReady(pod: KObject): boolean {
  const gates: KObject[] = pod.spec?.readinessGates ?? [];
  if (!gates.length) return true;
  const conds: KObject[] = pod.status?.conditions ?? [];
  return gates.every((g) => conds.some((c) => c.type === g.conditionType && c.status === 'True'));
}

const containerID = (pod: KObject, name: string) => `${IMAGE_ID_PREFIX}${pod.metadata?.uid}-${name}`;

function initStatuses(pod: KObject, now: string, startedAt: string): KObject[] | undefined {
  const init: KObject[] = pod.spec?.initContainers ?? [];
  if (!init.length) return undefined;
  return init.map((c) => {
    const base = { name: c.name, image: c.image, imageID: `${IMAGE_ID_PREFIX}${c.image}`, containerID: containerID(pod, c.name), restartCount: 0 };
    // Sidecars (restartPolicy Always) keep running; ordinary init containers have completed.
    if (c.restartPolicy === 'Always') return { ...base, state: { running: { startedAt } }, lastState: {}, ready: true, started: true };
    return {
      ...base,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: now, containerID: base.containerID } },
      lastState: {},
      ready: true,
      started: false,
    };
  });
}

/** The Running status of pod, every container started and ready. */
export function runningStatus(pod: KObject, info: RunningInfo): KObject {
  const prev: KObject = pod.status ?? {};
  const { now, hostIP, podIP } = info;
  const startTime: string = prev.startTime ?? now;
  const ready = gatesReady(pod);
  const containers: KObject[] = pod.spec?.containers ?? [];
  const status: KObject = {
    phase: 'Running',
    conditions: conditions(prev.conditions, [
      condition('PodReadyToStartContainers', 'True', now),
      condition('Initialized', 'True', now),
      ready ? condition('Ready', 'True', now) : condition('Ready', 'False', now, 'ReadinessGatesNotReady'),
      condition('ContainersReady', 'True', now),
      scheduled(prev.conditions, now),
    ]),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime,
    containerStatuses: containers.map((c) => ({
      name: c.name,
      state: { running: { startedAt: now } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: c.image,
      imageID: `${IMAGE_ID_PREFIX}${c.image}`,
      containerID: containerID(pod, c.name),
      started: true,
    })),
  };
  const init = initStatuses(pod, now, startTime);
  if (init) status.initContainerStatuses = init;
  if (prev.qosClass) status.qosClass = prev.qosClass;
  return status;
}

/** The Succeeded status of a Running pod: every container terminated with exit code 0. */
export function succeededStatus(pod: KObject, now: string): KObject {
  const prev: KObject = pod.status ?? {};
  const finished = (name: string, startedAt: string | undefined) => ({
    exitCode: 0,
    reason: 'Completed',
    startedAt: startedAt ?? prev.startTime ?? now,
    finishedAt: now,
    containerID: containerID(pod, name),
  });
  const terminate = (cs: KObject) => ({
    ...cs,
    state: { terminated: finished(cs.name, cs.state?.running?.startedAt ?? cs.state?.terminated?.startedAt) },
    ready: false,
    started: false,
  });
  const status: KObject = {
    ...prev,
    phase: 'Succeeded',
    conditions: conditions(prev.conditions, [
      condition('PodReadyToStartContainers', 'False', now),
      condition('Initialized', 'True', now, 'PodCompleted'),
      condition('Ready', 'False', now, 'PodCompleted'),
      condition('ContainersReady', 'False', now, 'PodCompleted'),
      scheduled(prev.conditions, now),
    ]),
    containerStatuses: (prev.containerStatuses ?? []).map(terminate),
  };
  if (prev.initContainerStatuses) status.initContainerStatuses = prev.initContainerStatuses.map((cs: KObject) => (cs.state?.running ? terminate(cs) : cs));
  return status;
}

/**
 * The status of a Running pod with its Ready condition put back to what this kubelet reports,
 * or undefined when it already is, or when someone else's verdict is to be kept. The kubelet's
 * status manager would overwrite any difference; the hollow kubelet, which runs no probes, only
 * overwrites a Ready=False that carries no reason, which is what the node lifecycle controller's
 * MarkPodsNotReady leaves (it flips the status and keeps our reason, and ours has none), and its
 * own ReadinessGatesNotReady once the gates are met. A Ready=False with any other reason (tests
 * set ReadinessProbeFailed to simulate a failing probe) stands.
 */
export function readinessRestored(pod: KObject, now: string): KObject | undefined {
  const i = readyToRestore(pod);
  if (i < 0) return undefined;
  const next = (pod.status.conditions as KObject[]).slice();
  next[i] = condition('Ready', 'True', now);
  return { ...pod.status, conditions: next };
}

/** Index of the Ready condition readinessRestored() would put back to True, else -1 (cheap: no copies). */
export function readyToRestore(pod: KObject): number {
  if (pod.status?.phase !== 'Running' || runsToCompletion(pod) || pod.metadata?.deletionTimestamp) return -1;
  const conds: KObject[] = pod.status.conditions ?? [];
  const i = conds.findIndex((c) => c.type === 'Ready');
  if (i < 0) return -1;
  const ready = conds[i];
  if (ready.status === 'True') return -1;
  if (ready.reason && ready.reason !== 'ReadinessGatesNotReady') return -1;
  return gatesReady(pod) ? i : -1;
}
