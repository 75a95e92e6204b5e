// StatefulSet pod identity (upstream stateful_set_utils.go): pods are named <set>-<ordinal>,
// carry their name and ordinal as labels, use the governing Service as subdomain, and mount one
// PersistentVolumeClaim per volumeClaimTemplate named <claim>-<set>-<ordinal>.
import type { KObject } from '../../api/types.js';
import { newControllerRef } from '../common/controller-ref.js';
import { POD_REVISION_LABEL } from './history.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

const NAME_RE = /^(.*)-([0-9]+)$/;

/** The set name and ordinal encoded in a pod name; ordinal -1 when the name has none. */
export function parentAndOrdinal(podName: string | undefined): { parent: string; ordinal: number } {
  const m = NAME_RE.exec(podName ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1], ordinal: Number.isSafeInteger(n) && n <= 0x7fffffff ? n : -1 };
}

export function ordinalOf(pod: KObject): number {
  return parentAndOrdinal(pod.metadata?.name).ordinal;
}

/** True when the pod's name says it belongs to set. */
export function isMemberOf(set: KObject, pod: KObject): boolean {
  return parentAndOrdinal(pod.metadata?.name).parent === set.metadata?.name;
}

export function startOrdinal(set: KObject): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function replicasOf(set: KObject): number {
  return set.spec?.replicas ?? 1;
}

/** Whether ord lies in [start, start + replicas). */
export function inOrdinalRange(set: KObject, ord: number): boolean {
  const start = startOrdinal(set);
  return ord >= start && ord < start + replicasOf(set);
}

export function podName(set: KObject, ordinal: number): string {
  return `${set.metadata!.name}-${ordinal}`;
}

export function claimName(set: KObject, templateName: string, ordinal: number): string {
  return `${templateName}-${set.metadata!.name}-${ordinal}`;
}

export function podRevision(pod: KObject): string {
  return pod.metadata?.labels?.[POD_REVISION_LABEL] ?? '';
}

/** The PVCs the pod at ordinal should have, keyed by the volume name (the template's name). */
export function claimsFor(set: KObject, ordinal: number): Map<string, KObject> {
  const out = new Map<string, KObject>();
  for (const t of set.spec?.volumeClaimTemplates ?? []) {
    const tname = t.metadata?.name ?? '';
    const claim: KObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        ...structuredClone(t.metadata ?? {}),
        name: claimName(set, tname, ordinal),
        namespace: set.metadata!.namespace,
      },
      spec: structuredClone(t.spec ?? {}),
    };
    // The claim carries the set's selector labels so it can be found again (upstream does the same).
    const sel = set.spec?.selector?.matchLabels;
    if (sel) claim.metadata!.labels = { ...(claim.metadata!.labels ?? {}), ...sel };
    delete claim.metadata!.resourceVersion;
    delete claim.metadata!.uid;
    out.set(tname, claim);
  }
  return out;
}

/** Sets the pod's name, hostname, subdomain and identity labels for its ordinal. */
export function setIdentity(set: KObject, pod: KObject, ordinal: number): void {
  const meta = (pod.metadata ??= {});
  meta.name = podName(set, ordinal);
  meta.namespace = set.metadata!.namespace;
  meta.labels = { ...(meta.labels ?? {}), [POD_NAME_LABEL]: meta.name, [POD_INDEX_LABEL]: String(ordinal) };
  const spec = (pod.spec ??= {});
  spec.hostname = meta.name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
}

/** True when the pod has the name, namespace and labels of its ordinal (upstream identityMatches). */
export function identityMatches(set: KObject, pod: KObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata?.name);
  const labels = pod.metadata?.labels ?? {};
  return (
    ordinal >= 0 &&
    parent === set.metadata?.name &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    labels[POD_NAME_LABEL] === pod.metadata?.name &&
    labels[POD_INDEX_LABEL] === String(ordinal)
  );
}

/** Points the pod's volumes named after claim templates at the ordinal's claims. */
export function setStorage(set: KObject, pod: KObject, ordinal: number): void {
  const claims = claimsFor(set, ordinal);
  if (!claims.size) return;
  const spec = (pod.spec ??= {});
  const volumes: any[] = [];
  for (const [vol, claim] of claims) volumes.push({ name: vol, persistentVolumeClaim: { claimName: claim.metadata!.name } });
  for (const v of spec.volumes ?? []) if (!claims.has(v.name)) volumes.push(v);
  spec.volumes = volumes;
}

/** True when every claim-template volume refers to the ordinal's claim (upstream storageMatches). */
export function storageMatches(set: KObject, pod: KObject): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const byName = new Map<string, any>((pod.spec?.volumes ?? []).map((v: any) => [v.name, v]));
  for (const [vol, claim] of claimsFor(set, ordinal)) {
    if (byName.get(vol)?.persistentVolumeClaim?.claimName !== claim.metadata!.name) return false;
  }
  return true;
}

/** A new pod for ordinal from the set's template (set may carry a revision's template). */
export function newStatefulSetPod(set: KObject, ordinal: number, revisionName: string): KObject {
  const tmpl = set.spec?.template ?? {};
  const tm = tmpl.metadata ?? {};
  const pod: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ownerReferences: [newControllerRef(set, 'apps/v1', 'StatefulSet')] },
    spec: structuredClone(tmpl.spec ?? {}),
  };
  if (tm.labels) pod.metadata!.labels = { ...tm.labels };
  if (tm.annotations) pod.metadata!.annotations = { ...tm.annotations };
  if (tm.finalizers) pod.metadata!.finalizers = [...tm.finalizers];
  setIdentity(set, pod, ordinal);
  setStorage(set, pod, ordinal);
  pod.metadata!.labels![POD_REVISION_LABEL] = revisionName;
  return pod;
}
