// Labels and annotations the kubelet puts on sandboxes and containers (upstream's names, so
// `crictl`/`ctr` users recognise them); the kubelet finds a pod's runtime objects by them.
import { createHash } from 'node:crypto';
import type { KObject } from '../../client/index.js';

export const POD_NAME_LABEL = 'io.kubernetes.pod.name';
export const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
export const POD_UID_LABEL = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';
/** skiff's: "init" for init containers (sidecars included), absent for regular ones. */
export const CONTAINER_KIND_LABEL = 'skiff.io/container-kind';

export const RESTART_COUNT_ANNOTATION = 'io.kubernetes.container.restartCount';
export const CONTAINER_HASH_ANNOTATION = 'io.kubernetes.container.hash';
export const TERMINATION_MESSAGE_PATH_ANNOTATION = 'io.kubernetes.container.terminationMessagePath';
export const TERMINATION_MESSAGE_POLICY_ANNOTATION = 'io.kubernetes.container.terminationMessagePolicy';
export const POD_GRACE_ANNOTATION = 'io.kubernetes.pod.terminationGracePeriod';
/** skiff's: where the termination message file of this container is on the host. */
export const TERMINATION_MESSAGE_HOST_ANNOTATION = 'skiff.io/termination-message-host-path';

export const CONFIG_MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
export const CONFIG_SOURCE_ANNOTATION = 'kubernetes.io/config.source';
export const CONFIG_HASH_ANNOTATION = 'kubernetes.io/config.hash';
export const CONFIG_SEEN_ANNOTATION = 'kubernetes.io/config.seen';

export function sandboxLabels(pod: KObject): Record<string, string> {
  const md = pod.metadata ?? {};
  return {
    ...(md.labels ?? {}),
    [POD_NAME_LABEL]: md.name ?? '',
    [POD_NAMESPACE_LABEL]: md.namespace ?? '',
    [POD_UID_LABEL]: md.uid ?? '',
  };
}

export function containerLabels(pod: KObject, name: string, init: boolean): Record<string, string> {
  const md = pod.metadata ?? {};
  const l: Record<string, string> = {
    [POD_NAME_LABEL]: md.name ?? '',
    [POD_NAMESPACE_LABEL]: md.namespace ?? '',
    [POD_UID_LABEL]: md.uid ?? '',
    [CONTAINER_NAME_LABEL]: name,
  };
  if (init) l[CONTAINER_KIND_LABEL] = 'init';
  return l;
}

/** A hash of the container spec: a changed spec (e.g. image) restarts the container. */
export function containerHash(container: KObject): string {
  const { resources: _r, ...rest } = container;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 8);
}

/** "<name>_<namespace>(<uid>)", as upstream names pods in messages. */
export function podFullName(pod: KObject): string {
  return `${pod.metadata?.name}_${pod.metadata?.namespace}(${pod.metadata?.uid})`;
}

export function isMirrorPod(pod: KObject): boolean {
  return !!pod.metadata?.annotations?.[CONFIG_MIRROR_ANNOTATION];
}
