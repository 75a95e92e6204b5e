// The built-in dynamic provisioner, like k3s's local-path: a StorageClass with provisioner
// skiff.io/host-path gets, for each claim, a hostPath PersistentVolume in a directory of its own
// on the node the scheduler picked (volume.kubernetes.io/selected-node), pinned there by node
// affinity. The kubelet creates the directory when the pod mounts it (type DirectoryOrCreate).
// The directory is <base>/<pv-name>; base is the class's parameters.basePath, else the
// controller's storageDir option (default /var/lib/skiff/storage).
import { posix } from 'node:path';
import type { KObject } from '../../api/types.js';
import { isAlreadyExists, type Client } from '../../client/index.js';
import { ANN_PROVISIONED_BY } from './matching.js';

export const HOST_PATH_PROVISIONER = 'skiff.io/host-path';
export const DEFAULT_STORAGE_DIR = '/var/lib/skiff/storage';
export const LOCAL_PATH_CLASS = 'local-path';
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** Upstream's name for a provisioned volume: "pvc-" + the claim's uid. */
export function provisionedVolumeName(pvc: KObject): string {
  return `pvc-${pvc.metadata!.uid}`;
}

/** A reference to the claim, as spec.claimRef. */
export function claimReference(pvc: KObject): KObject {
  return {
    kind: 'PersistentVolumeClaim',
    apiVersion: 'v1',
    namespace: pvc.metadata!.namespace,
    name: pvc.metadata!.name,
    uid: pvc.metadata!.uid,
    resourceVersion: pvc.metadata!.resourceVersion,
  };
}

export interface HostPathVolumeInput {
  pvc: KObject;
  storageClass: KObject;
  /** The node's kubernetes.io/hostname label value (its name when it has none). */
  hostname: string;
  /** Base directory when the class has no parameters.basePath. */
  storageDir: string;
}

/** The PersistentVolume provisioned for the claim, pre-bound to it (the binder completes the binding). */
export function hostPathVolume({ pvc, storageClass, hostname, storageDir }: HostPathVolumeInput): KObject {
  const name = provisionedVolumeName(pvc);
  const base = storageClass.parameters?.basePath || storageDir;
  const spec: KObject = {
    capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '0' },
    accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
    volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
    storageClassName: storageClass.metadata!.name,
    persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
    hostPath: { path: posix.join(base, name), type: 'DirectoryOrCreate' },
    nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostname] }] }] } },
    claimRef: claimReference(pvc),
  };
  if (storageClass.mountOptions?.length) spec.mountOptions = storageClass.mountOptions;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [ANN_PROVISIONED_BY]: HOST_PATH_PROVISIONER } },
    spec,
  };
}

/** The hostname label of the node named, as node affinity must match it. */
export function nodeHostname(node: KObject | undefined, nodeName: string): string {
  return node?.metadata?.labels?.[HOSTNAME_LABEL] ?? nodeName;
}

/**
 * The default StorageClass k3s ships as local-path: WaitForFirstConsumer (the volume lives on
 * the pod's node), reclaim Delete, marked default. For `skiff server` to create at startup.
 */
export function localPathStorageClass(): KObject {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: LOCAL_PATH_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
    provisioner: HOST_PATH_PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** Creates the local-path StorageClass unless a class of that name exists (it is left as it is). */
export async function ensureLocalPathStorageClass(client: Client): Promise<void> {
  try {
    await client.storageClasses.create(null, localPathStorageClass());
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}
