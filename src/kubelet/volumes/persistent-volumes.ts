// persistentVolumeClaim pod volumes (upstream's desired-state populator, getPVCExtractPV): the
// claim must exist and be Bound to a volume whose claimRef names it back; the volume's source
// is then mounted like an inline one. Sources a node can serve alone: hostPath (with its type
// checks) and local (spec.local.path, which must already exist). A claim that is missing or not
// yet bound is a PvcError: the pod waits in ContainerCreating with a FailedMount event and the
// sync retries.
import type { KObject } from '../../client/index.js';

export interface PersistentVolumeLookups {
  claim(namespace: string, name: string): Promise<KObject | undefined>;
  volume(name: string): Promise<KObject | undefined>;
}

/** A claim the pod cannot use (yet): reported in upstream's "failed to process volumes" form. */
export class PvcError extends Error {}

/** What a bound claim's volume mounts from. */
export interface ResolvedClaim {
  /** The volume's directory on this host. */
  path: string;
  /** The hostPath type to check/create (local volumes: "Directory", it must exist). */
  type: string | undefined;
  readOnly: boolean;
  pvName: string;
  /** Mode of a directory created for it: 0777 for skiff.io/host-path volumes (as k3s's local-path, so non-root pods can write), else upstream's 0755. */
  createMode: number;
}

const HOST_PATH_PROVISIONER = 'skiff.io/host-path';

/**
 * Resolves the pod volume's claim to the directory it mounts. Throws PvcError for a missing,
 * unbound or mis-bound claim, and Error for a volume source this node cannot mount.
 */
export async function resolveClaim(pod: KObject, vol: KObject, lookups: PersistentVolumeLookups): Promise<ResolvedClaim> {
  const ns: string = pod.metadata?.namespace ?? 'default';
  const claimName: string = vol.persistentVolumeClaim.claimName;
  const what = `error processing PVC ${ns}/${claimName}`;
  const pvc = await lookups.claim(ns, claimName);
  if (!pvc) throw new PvcError(`${what}: failed to fetch PVC from API server: persistentvolumeclaims "${claimName}" not found`);
  if (pvc.metadata?.deletionTimestamp) throw new PvcError(`${what}: PVC is being deleted`);
  if (pvc.status?.phase !== 'Bound') throw new PvcError(`${what}: PVC is not bound`);
  const pvName: string | undefined = pvc.spec?.volumeName;
  if (!pvName) throw new PvcError(`${what}: PVC has empty pvc.Spec.VolumeName`);
  const pv = await lookups.volume(pvName);
  if (!pv) throw new PvcError(`${what}: failed to fetch PV ${pvName} from API server: persistentvolumes "${pvName}" not found`);
  const ref = pv.spec?.claimRef;
  if (!ref) throw new PvcError(`${what}: found PV object ${pvName} but it has a nil pv.Spec.ClaimRef indicating it is not yet bound to the claim`);
  if (ref.uid !== pvc.metadata?.uid) {
    throw new PvcError(`${what}: found PV object ${pvName} but its pv.Spec.ClaimRef.UID ${ref.uid ?? ''} does not point to claim.UID ${pvc.metadata?.uid ?? ''}`);
  }
  if (pv.spec?.volumeMode === 'Block') throw new Error(`volume ${pvName} has volumeMode Block, which this node cannot attach`);
  const readOnly = !!vol.persistentVolumeClaim.readOnly;
  const createMode = pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by'] === HOST_PATH_PROVISIONER ? 0o777 : 0o755;
  if (pv.spec?.hostPath) return { path: pv.spec.hostPath.path, type: pv.spec.hostPath.type, readOnly, pvName, createMode };
  if (pv.spec?.local) return { path: pv.spec.local.path, type: 'Directory', readOnly, pvName, createMode };
  const kind = Object.keys(pv.spec ?? {}).find((k) => PV_SOURCES.has(k)) ?? 'unknown';
  throw new Error(`persistent volume ${pvName}: volume source ${kind} is not supported by this node`);
}

const PV_SOURCES = new Set([
  'awsElasticBlockStore', 'azureDisk', 'azureFile', 'cephfs', 'cinder', 'csi', 'fc', 'flexVolume', 'flocker',
  'gcePersistentDisk', 'glusterfs', 'iscsi', 'nfs', 'photonPersistentDisk', 'portworxVolume', 'quobyte', 'rbd',
  'scaleIO', 'storageos', 'vsphereVolume',
]);

/** Upstream's FailedMount wording for volumes that could not be processed. */
export function unprocessedVolumesMessage(names: string[], cause: string): string {
  const list = `[${names.join(' ')}]`;
  return `Unable to attach or mount volumes: unmounted volumes=${list}, unattached volumes=[], failed to process volumes=${list}: ${cause}`;
}
