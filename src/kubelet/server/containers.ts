// Finding the runtime container (or sandbox) a kubelet API request names: from the pod's
// status when the kubelet knows the pod (upstream's rules and messages for which container
// `kubectl logs` reads, including --previous), else from the CRI labels the kubelet puts on
// its containers.
import type { KObject } from '../../client/index.js';
import type { Container, KubeletRuntime, PodSandbox } from '../runtime/types.js';
import { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from '../pods/labels.js';

/** An HTTP error with upstream's status code and (plain text) message. */
export class KubeletHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'KubeletHttpError';
  }
}

type Lookup = Pick<KubeletRuntime, 'listContainers' | 'listPodSandboxes'>;

/** "containerd://abc" → "abc" */
export function runtimeId(containerID: string | undefined): string | undefined {
  if (!containerID) return undefined;
  const i = containerID.indexOf('://');
  return i >= 0 ? containerID.slice(i + 3) : containerID;
}

function allContainerNames(pod: KObject): string[] {
  const s = pod.spec ?? {};
  return [...(s.initContainers ?? []), ...(s.containers ?? []), ...(s.ephemeralContainers ?? [])].map((c: KObject) => c.name);
}

/**
 * The container whose log `kubectl logs` reads, by upstream's kubelet rules (its
 * validateContainerLogStatus): running or terminated containers have logs, waiting ones do not.
 */
export function logContainerFromStatus(pod: KObject, containerName: string, previous: boolean): string {
  const podName = pod.metadata?.name;
  const st = pod.status ?? {};
  const statuses: KObject[] = [...(st.containerStatuses ?? []), ...(st.initContainerStatuses ?? []), ...(st.ephemeralContainerStatuses ?? [])];
  const cs = statuses.find((s) => s.name === containerName);
  if (!cs) throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is not available`);
  const last = cs.lastState?.terminated;
  const { waiting, running, terminated } = cs.state ?? {};
  let id: string | undefined;
  if (previous) {
    if (!last?.containerID) throw new KubeletHttpError(400, `previous terminated container "${containerName}" in pod "${podName}" not found`);
    id = last.containerID;
  } else if (running) id = cs.containerID;
  else if (terminated) {
    id = terminated.containerID || last?.containerID;
    if (!id) throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is terminated`);
  } else if (last) {
    if (!last.containerID) throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is terminated`);
    id = last.containerID;
  } else if (waiting) {
    const reason = waiting.reason;
    if (reason === 'ErrImagePull') throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start: image can't be pulled`);
    if (reason === 'ImagePullBackOff') throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start: trying and failing to pull image`);
    throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start: ${reason}`);
  } else throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
  const rid = runtimeId(id);
  if (!rid) throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
  return rid;
}

/** Checks that the pod exists here and has the named container (upstream's kubelet 404s). */
export function checkPodContainer(pod: KObject | undefined, podName: string, containerName: string): void {
  if (!pod) throw new KubeletHttpError(404, `pod "${podName}" does not exist\n`);
  if (!allContainerNames(pod).includes(containerName)) throw new KubeletHttpError(404, `container "${containerName}" not found in pod "${podName}"\n`);
}

/** The pod's containers with this name in the runtime, newest first. */
export async function runtimeContainers(rt: Lookup, ns: string, podName: string, containerName: string, uid?: string): Promise<Container[]> {
  const labelSelector: Record<string, string> = { [POD_NAMESPACE_LABEL]: ns, [POD_NAME_LABEL]: podName, [CONTAINER_NAME_LABEL]: containerName };
  if (uid) labelSelector[POD_UID_LABEL] = uid;
  const list = await rt.listContainers({ labelSelector });
  return list.sort((a, b) => b.createdAt - a.createdAt || b.metadata.attempt - a.metadata.attempt);
}

/** The container whose log to read, from the runtime alone (no pod status at hand). */
export async function logContainerFromRuntime(rt: Lookup, ns: string, podName: string, containerName: string, previous: boolean, uid?: string): Promise<string> {
  const list = await runtimeContainers(rt, ns, podName, containerName, uid);
  const c = previous ? list[1] : list[0];
  if (!c) {
    if (previous) throw new KubeletHttpError(400, `previous terminated container "${containerName}" in pod "${podName}" not found`);
    throw new KubeletHttpError(400, `container "${containerName}" in pod "${podName}" is waiting to start - no logs yet`);
  }
  return c.id;
}

/** The running container exec and attach go to (upstream: `container not found ("x")`). */
export async function runningContainer(rt: Lookup, ns: string, podName: string, containerName: string, uid?: string): Promise<string> {
  const list = await runtimeContainers(rt, ns, podName, containerName, uid);
  const c = list.find((x) => x.state === 'CONTAINER_RUNNING');
  if (!c) throw new KubeletHttpError(500, `container not found ("${containerName}")`);
  return c.id;
}

/** The pod's ready sandbox, newest first (port-forward goes into its network namespace). */
export async function readySandbox(rt: Lookup, ns: string, podName: string, uid?: string): Promise<PodSandbox> {
  const labelSelector: Record<string, string> = { [POD_NAMESPACE_LABEL]: ns, [POD_NAME_LABEL]: podName };
  if (uid) labelSelector[POD_UID_LABEL] = uid;
  const list = (await rt.listPodSandboxes({ labelSelector, state: 'SANDBOX_READY' })).sort((a, b) => b.createdAt - a.createdAt);
  if (!list[0]) throw new KubeletHttpError(404, 'pod not found');
  return list[0];
}
