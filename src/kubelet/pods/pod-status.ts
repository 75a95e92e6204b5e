// The API status of a pod from what the runtime reports (upstream's generateAPIPodStatus,
// convertToAPIContainerStatuses and getPhase): container states with waiting reasons from the
// last sync (ContainerCreating, CrashLoopBackOff, ErrImagePull, ...), the phase, the kubelet's
// conditions, pod IPs and start time. Pure: every input is passed in.
import type { KObject } from '../../client/index.js';
import { rfc3339 } from '../../client/index.js';
import type { ContainerStatus, PodSandboxStatus } from '../runtime/types.js';
import { CONTAINER_NAME_LABEL, RESTART_COUNT_ANNOTATION } from './labels.js';
import { qosClass } from './runtime-config.js';

export const CONTAINER_ID_PREFIX = 'containerd://';

export interface WaitingReason {
  reason: string;
  message?: string;
}

export interface PodStatusInputs {
  pod: KObject;
  /** The pod's newest sandbox. */
  sandbox?: PodSandboxStatus;
  /** The pod's containers, newest first. */
  containers: ContainerStatus[];
  /** Why a container is waiting, from the last sync. */
  waiting: Map<string, WaitingReason>;
  /** Readiness probe result per container id (undefined: no result yet). */
  readiness(containerId: string): boolean | undefined;
  /** Startup probe result per container id. */
  startup(containerId: string): boolean | undefined;
  /** The termination message of an exited container (file or log tail). */
  terminationMessage?(c: ContainerStatus): string | undefined;
  hostIP?: string;
  /** The pod is being torn down (deleted): containers will not restart. */
  terminal?: boolean;
  now?: Date;
}

const nsTime = (ns: number) => rfc3339(new Date(Math.floor(ns / 1e6)));

function isSidecar(c: KObject): boolean {
  return c.restartPolicy === 'Always';
}

function terminatedOf(c: ContainerStatus, msg: string | undefined): KObject {
  const t: KObject = {
    exitCode: c.exitCode,
    reason: c.reason || (c.exitCode === 0 ? 'Completed' : 'Error'),
    startedAt: c.startedAt ? nsTime(c.startedAt) : null,
    finishedAt: c.finishedAt ? nsTime(c.finishedAt) : null,
    containerID: CONTAINER_ID_PREFIX + c.id,
  };
  const message = msg ?? c.message;
  if (message) t.message = message;
  return t;
}

function stateOf(c: ContainerStatus, inp: PodStatusInputs): KObject {
  switch (c.state) {
    case 'CONTAINER_RUNNING':
      return { running: { startedAt: nsTime(c.startedAt || c.createdAt) } };
    case 'CONTAINER_EXITED':
      return { terminated: terminatedOf(c, inp.terminationMessage?.(c)) };
    case 'CONTAINER_CREATED':
      return { waiting: { reason: 'ContainerCreating' } };
    default:
      return { waiting: { reason: 'ContainerUnknown', message: 'The container could not be located when the pod was terminated' } };
  }
}

function hasProbe(spec: KObject, kind: 'readinessProbe' | 'startupProbe'): boolean {
  return !!spec[kind];
}

/** One container's status (init or regular). */
function containerStatus(spec: KObject, mine: ContainerStatus[], inp: PodStatusInputs, defaultWaiting: string, isInit: boolean): KObject {
  const latest = mine[0];
  const prev = mine[1];
  const base: KObject = { name: spec.name, image: spec.image, imageID: '' };
  const waiting = inp.waiting.get(spec.name);
  if (!latest) {
    return {
      ...base,
      state: { waiting: { reason: waiting?.reason ?? defaultWaiting, ...(waiting?.message ? { message: waiting.message } : {}) } },
      lastState: {},
      ready: false,
      restartCount: 0,
      started: false,
    };
  }
  let state = stateOf(latest, inp);
  let lastState: KObject = prev && prev.state === 'CONTAINER_EXITED' ? { terminated: terminatedOf(prev, inp.terminationMessage?.(prev)) } : {};
  if (latest.state !== 'CONTAINER_RUNNING' && waiting && !inp.terminal) {
    if (state.terminated) lastState = state;
    state = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
  }
  const running = !!state.running;
  const started = running && (hasProbe(spec, 'startupProbe') ? inp.startup(latest.id) === true : true);
  let ready: boolean;
  if (isInit && !isSidecar(spec)) ready = !!state.terminated && state.terminated.exitCode === 0;
  else ready = started && (hasProbe(spec, 'readinessProbe') ? inp.readiness(latest.id) === true : true);
  return {
    ...base,
    imageID: latest.imageRef || '',
    containerID: CONTAINER_ID_PREFIX + latest.id,
    state,
    lastState,
    ready,
    restartCount: Number(latest.annotations?.[RESTART_COUNT_ANNOTATION] ?? latest.metadata?.attempt ?? 0) || 0,
    started,
  };
}

function condition(type: string, ok: boolean, now: string, reason?: string, message?: string): KObject {
  const c: KObject = { type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: now };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

const KUBELET_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady']);

/** The phase from container statuses (upstream's getPhase). */
export function podPhase(pod: KObject, init: KObject[], regular: KObject[], terminal: boolean): string {
  const spec = pod.spec ?? {};
  const policy: string = spec.restartPolicy ?? 'Always';
  let pendingInit = false;
  let failedInit = false;
  const initSpecs: KObject[] = spec.initContainers ?? [];
  for (const s of init) {
    const sp = initSpecs.find((c) => c.name === s.name) ?? {};
    if (isSidecar(sp)) {
      if (!s.started) pendingInit = true;
      continue;
    }
    const t = s.state?.terminated;
    if (t && t.exitCode === 0) continue;
    pendingInit = true;
    const lt = s.lastState?.terminated;
    if ((t && t.exitCode !== 0) || (s.state?.waiting && lt && lt.exitCode !== 0)) failedInit = true;
  }
  if (failedInit && policy === 'Never') return 'Failed';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of regular) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (pendingInit && !terminal) return 'Pending';
  if (waiting > 0 && !terminal) return 'Pending';
  if (running > 0 && !terminal) return 'Running';
  if (stopped > 0 || terminal) {
    if (terminal) return stopped === succeeded && waiting === 0 && !failedInit ? 'Succeeded' : 'Failed';
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

export function generatePodStatus(inp: PodStatusInputs): KObject {
  const { pod } = inp;
  const prev: KObject = pod.status ?? {};
  const nowDate = inp.now ?? new Date();
  const now = rfc3339(nowDate);
  const byName = new Map<string, ContainerStatus[]>();
  for (const c of inp.containers) {
    const n = c.labels?.[CONTAINER_NAME_LABEL] ?? c.metadata?.name;
    let l = byName.get(n);
    if (!l) byName.set(n, (l = []));
    l.push(c);
  }
  const initSpecs: KObject[] = pod.spec?.initContainers ?? [];
  const specs: KObject[] = pod.spec?.containers ?? [];
  const initStatuses = initSpecs.map((c) => containerStatus(c, byName.get(c.name) ?? [], inp, 'PodInitializing', true));
  const initDone = initStatuses.every((s, i) => (isSidecar(initSpecs[i]) ? s.started : s.state?.terminated?.exitCode === 0));
  const statuses = specs.map((c) => containerStatus(c, byName.get(c.name) ?? [], inp, initDone ? 'ContainerCreating' : 'PodInitializing', false));

  const phase = podPhase(pod, initStatuses, statuses, !!inp.terminal);
  const sandboxReady = inp.sandbox?.state === 'SANDBOX_READY' && (!!inp.sandbox.network?.ip || !!pod.spec?.hostNetwork);
  const completed = phase === 'Succeeded' || phase === 'Failed';

  const notInit = initStatuses.filter((s, i) => !(isSidecar(initSpecs[i]) ? s.started : s.state?.terminated?.exitCode === 0)).map((s) => s.name);
  const unready = [...statuses.filter((s) => !s.ready).map((s) => s.name), ...initStatuses.filter((s, i) => isSidecar(initSpecs[i]) && !s.ready).map((s) => s.name)];
  const conds: KObject[] = [];
  conds.push(condition('PodReadyToStartContainers', sandboxReady && !completed, now));
  if (completed && notInit.length === 0) conds.push(condition('Initialized', true, now, 'PodCompleted'));
  else conds.push(notInit.length ? condition('Initialized', false, now, 'ContainersNotInitialized', `containers with incomplete status: [${notInit.join(' ')}]`) : condition('Initialized', true, now));
  let containersReady: KObject;
  if (completed) containersReady = condition('ContainersReady', false, now, 'PodCompleted');
  else if (unready.length) containersReady = condition('ContainersReady', false, now, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
  else containersReady = condition('ContainersReady', true, now);
  let ready: KObject;
  if (completed) ready = condition('Ready', false, now, 'PodCompleted');
  else if (unready.length) ready = condition('Ready', false, now, 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
  else {
    const missing = (pod.spec?.readinessGates ?? [])
      .map((g: KObject) => g.conditionType)
      .filter((t: string) => !(prev.conditions ?? []).some((c: KObject) => c.type === t && c.status === 'True'));
    ready = missing.length
      ? condition('Ready', false, now, 'ReadinessGatesNotReady', `corresponding condition of pod readiness gate "${missing[0]}" does not exist.`)
      : condition('Ready', true, now);
  }
  conds.push(ready, containersReady);
  // Keep lastTransitionTime of unchanged conditions; keep everyone else's conditions as they were.
  const prevConds: KObject[] = prev.conditions ?? [];
  const out = conds.map((c) => {
    const old = prevConds.find((p) => p.type === c.type);
    if (old && old.status === c.status && old.lastTransitionTime) c.lastTransitionTime = old.lastTransitionTime;
    return c;
  });
  for (const c of prevConds) if (!KUBELET_CONDITIONS.has(c.type)) out.push(c);
  if (!out.some((c) => c.type === 'PodScheduled')) out.push(condition('PodScheduled', true, now));

  const status: KObject = { phase, conditions: out };
  if (inp.hostIP) {
    status.hostIP = inp.hostIP;
    status.hostIPs = [{ ip: inp.hostIP }];
  }
  const ip = inp.sandbox?.state === 'SANDBOX_READY' ? inp.sandbox.network?.ip : undefined;
  if (pod.spec?.hostNetwork && inp.hostIP) {
    status.podIP = inp.hostIP;
    status.podIPs = [{ ip: inp.hostIP }];
  } else if (ip) {
    status.podIP = ip;
    status.podIPs = [{ ip }, ...(inp.sandbox?.network?.additionalIps ?? []).map((x) => ({ ip: x }))];
  } else if (prev.podIP) {
    status.podIP = prev.podIP;
    status.podIPs = prev.podIPs ?? [{ ip: prev.podIP }];
  }
  status.startTime = prev.startTime ?? now;
  if (initStatuses.length) status.initContainerStatuses = initStatuses;
  status.containerStatuses = statuses;
  // Set by the API server on create; a static pod's own object never went through it.
  status.qosClass = prev.qosClass ?? qosClass(pod);
  if (prev.nominatedNodeName) status.nominatedNodeName = prev.nominatedNodeName;
  return status;
}
