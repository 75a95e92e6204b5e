// PersistentVolumeClaims of StatefulSet pods (upstream stateful_pod_control.go): created from
// volumeClaimTemplates before the pod, never deleted directly. The retention policy is applied
// through ownerReferences so the garbage collector deletes claims: whenDeleted=Delete makes the
// set an owner, whenScaled=Delete makes a scaled-down pod the owner.
import type { KObject, OwnerReference } from '../../api/types.js';
import { isAlreadyExists, isNotFound, type EventRecorder, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { claimsFor, inOrdinalRange, ordinalOf } from './identity.js';

function policyOf(set: KObject): { whenDeleted: string; whenScaled: string } {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  return { whenDeleted: p.whenDeleted || 'Retain', whenScaled: p.whenScaled || 'Retain' };
}

function ref(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid! };
}

/**
 * The claim's ownerReferences as the retention policy wants them for this pod (upstream
 * updateClaimOwnerRefForSetAndPod); undefined when they already are.
 */
export function desiredClaimOwnerRefs(claim: KObject, set: KObject, pod: KObject): OwnerReference[] | undefined {
  const refs = [...(claim.metadata?.ownerReferences ?? [])];
  const setUid = set.metadata?.uid;
  const podUid = pod.metadata?.uid;
  let changed = false;
  const has = (uid: string | undefined) => !!uid && refs.some((r) => r.uid === uid);
  const add = (r: OwnerReference) => {
    if (!r.uid || has(r.uid)) return;
    refs.push(r);
    changed = true;
  };
  const remove = (uid: string | undefined) => {
    for (let i = refs.length - 1; i >= 0; i--) {
      if (uid && refs[i].uid === uid) {
        refs.splice(i, 1);
        changed = true;
      }
    }
  };
  const { whenDeleted, whenScaled } = policyOf(set);
  const scaledDown = !inOrdinalRange(set, ordinalOf(pod));
  const setRef = () => add(ref(set, 'apps/v1', 'StatefulSet'));
  const podRef = () => add(ref(pod, 'v1', 'Pod'));
  const noSetRef = () => remove(setUid);
  const noPodRef = () => remove(podUid);
  if (whenScaled === 'Retain' && whenDeleted === 'Retain') {
    noSetRef();
    noPodRef();
  } else if (whenScaled === 'Retain') {
    setRef();
    noPodRef();
  } else if (whenDeleted === 'Retain') {
    noSetRef();
    if (scaledDown) podRef();
    else noPodRef();
  } else if (scaledDown) {
    noSetRef();
    podRef();
  } else {
    setRef();
    noPodRef();
  }
  return changed ? refs : undefined;
}

/** True when one of the pod's claims still belongs to an earlier pod of the same name (its GC is pending). */
export function podClaimIsStale(set: KObject, pod: KObject, pvcs: SharedInformer): boolean {
  const policy = policyOf(set);
  if (policy.whenScaled === 'Retain') return false;
  for (const c of claimsFor(set, ordinalOf(pod)).values()) {
    const existing = pvcs.get(c.metadata!.namespace, c.metadata!.name!);
    if (!existing) continue;
    if (existing.metadata?.deletionTimestamp) return true;
    for (const r of existing.metadata?.ownerReferences ?? []) {
      if (r.kind === 'Pod' && r.name === pod.metadata?.name && r.uid !== pod.metadata?.uid) return true;
    }
  }
  return false;
}

export class ClaimControl {
  constructor(
    private readonly pvcClient: ResourceClient,
    private readonly pvcs: SharedInformer,
    private readonly recorder: EventRecorder,
  ) {}

  /** Creates the pod's missing claims; fails when one is being deleted. */
  async createMissing(set: KObject, pod: KObject): Promise<void> {
    const errors: Error[] = [];
    for (const claim of claimsFor(set, ordinalOf(pod)).values()) {
      const name = claim.metadata!.name!;
      const existing = this.pvcs.get(claim.metadata!.namespace, name);
      if (existing) {
        if (existing.metadata?.deletionTimestamp) errors.push(new Error(`pvc ${name} is being deleted`));
        continue;
      }
      const refs = desiredClaimOwnerRefs(claim, set, pod);
      if (refs) claim.metadata!.ownerReferences = refs;
      try {
        await this.pvcClient.create(claim.metadata!.namespace, claim);
        this.event(set, pod, name, 'create');
      } catch (e) {
        if (isAlreadyExists(e)) continue;
        this.event(set, pod, name, 'create', e as Error);
        errors.push(e as Error);
      }
    }
    if (errors.length) throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => e.message).join('; '));
  }

  /** Brings the claims' ownerReferences in line with the retention policy for this pod. */
  async applyRetention(set: KObject, pod: KObject): Promise<void> {
    for (const c of claimsFor(set, ordinalOf(pod)).values()) {
      const claim = this.pvcs.get(c.metadata!.namespace, c.metadata!.name!);
      if (!claim || claim.metadata?.deletionTimestamp) continue;
      const refs = desiredClaimOwnerRefs(claim, set, pod);
      if (!refs) continue;
      try {
        await this.pvcClient.patch(claim.metadata!.namespace, claim.metadata!.name!, { metadata: { ownerReferences: refs, resourceVersion: claim.metadata!.resourceVersion } }, 'merge');
      } catch (e) {
        if (!isNotFound(e)) {
          this.event(set, pod, claim.metadata!.name!, 'update', e as Error);
          throw e;
        }
      }
    }
  }

  /** True when every existing claim already has the ownerReferences the policy wants. */
  retentionMatches(set: KObject, pod: KObject): boolean {
    for (const c of claimsFor(set, ordinalOf(pod)).values()) {
      const claim = this.pvcs.get(c.metadata!.namespace, c.metadata!.name!);
      if (claim && !claim.metadata?.deletionTimestamp && desiredClaimOwnerRefs(claim, set, pod)) return false;
    }
    return true;
  }

  /** Upstream recordClaimEvent wording. */
  private event(set: KObject, pod: KObject, claim: string, verb: 'create' | 'update', err?: Error): void {
    const Verb = verb[0].toUpperCase() + verb.slice(1);
    const who = `Claim ${claim} Pod ${pod.metadata!.name} in StatefulSet ${set.metadata!.name}`;
    if (err) this.recorder.event(set, 'Warning', `Failed${Verb}`, Verb, `${verb} ${who} failed error: ${err.message}`);
    else this.recorder.event(set, 'Normal', `Successful${Verb}`, Verb, `${verb} ${who} success`);
  }
}
