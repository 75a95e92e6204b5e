// Which PersistentVolume a claim may bind to (upstream pkg/controller/volume/persistentvolume
// index.go findMatchingVolume / pv_controller.go checkVolumeSatisfyClaim), as pure functions.
import type { KObject } from '../../api/types.js';
import { parseQuantity } from '../../api/validation.js';
import { labelSelectorFromObject } from '../../apiserver/selectors.js';

export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_STORAGE_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_PROVISIONER = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

/** The claim's class: spec.storageClassName, else the beta annotation, else "" (no class). */
export function claimClass(pvc: KObject): string {
  return pvc.spec?.storageClassName ?? pvc.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? '';
}

export function volumeClass(pv: KObject): string {
  return pv.spec?.storageClassName ?? pv.metadata?.annotations?.[ANN_BETA_STORAGE_CLASS] ?? '';
}

/** The claim's storage request in bytes (0 when absent). */
export function requestedBytes(pvc: KObject): number {
  const q = parseQuantity(pvc.spec?.resources?.requests?.storage ?? 0);
  return Number.isFinite(q) ? q : 0;
}

export function capacityBytes(pv: KObject): number {
  const q = parseQuantity(pv.spec?.capacity?.storage ?? 0);
  return Number.isFinite(q) ? q : 0;
}

/** True when claimRef names this claim (and, when the ref carries a uid, this very claim). */
export function refersTo(ref: KObject | undefined | null, pvc: KObject): boolean {
  if (!ref) return false;
  if (ref.name !== pvc.metadata?.name || (ref.namespace ?? '') !== (pvc.metadata?.namespace ?? '')) return false;
  return !ref.uid || ref.uid === pvc.metadata?.uid;
}

const modesContain = (have: string[] | undefined, want: string[] | undefined) => (want ?? []).every((m) => (have ?? []).includes(m));

/**
 * Why the volume cannot serve the claim (class, access modes, size, volume mode), or undefined
 * when it can. Used for claims that name their volume (spec.volumeName) up front.
 */
export function volumeMismatch(pv: KObject, pvc: KObject): string | undefined {
  if (capacityBytes(pv) < requestedBytes(pvc)) return 'requested PV is too small';
  if (volumeClass(pv) !== claimClass(pvc)) return 'storageClassName does not match';
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (pvc.spec?.volumeMode ?? 'Filesystem')) return 'incompatible volumeMode';
  if (!modesContain(pv.spec?.accessModes, pvc.spec?.accessModes)) return 'incompatible accessMode';
  return undefined;
}

/**
 * The volume to bind the claim to: a volume pre-bound to this claim (claimRef) if there is one,
 * else the smallest free volume of the same class, volume mode and access modes, big enough, and
 * matching the claim's selector. With delayBinding (WaitForFirstConsumer) only pre-bound volumes
 * count: the scheduler picks free ones, knowing the node.
 */
export function findBestMatch(pvc: KObject, pvs: Iterable<KObject>, delayBinding: boolean): KObject | undefined {
  const want = requestedBytes(pvc);
  const className = claimClass(pvc);
  const mode = pvc.spec?.volumeMode ?? 'Filesystem';
  const selector = pvc.spec?.selector ? labelSelectorFromObject(pvc.spec.selector) : undefined;
  let best: KObject | undefined;
  let bestSize = Infinity;
  for (const pv of pvs) {
    if (pv.metadata?.deletionTimestamp) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== mode) continue;
    if (!modesContain(pv.spec?.accessModes, pvc.spec?.accessModes)) continue;
    const ref = pv.spec?.claimRef;
    if (refersTo(ref, pvc)) return pv;
    if (ref || delayBinding) continue;
    const phase = pv.status?.phase;
    if (phase === 'Released' || phase === 'Failed') continue;
    if (selector && !selector.matches(pv.metadata?.labels ?? {})) continue;
    if (volumeClass(pv) !== className) continue;
    const size = capacityBytes(pv);
    if (size < want || size >= bestSize) continue;
    best = pv;
    bestSize = size;
  }
  return best;
}
