// ControllerRef handling (upstream controller_ref_manager.go): an owner claims the objects it
// should control. Objects it controls but whose labels no longer match its selector are released
// (its ownerReference removed); orphans that match are adopted (a controller ownerReference with
// blockOwnerDeletion added). Objects controlled by someone else are never touched.
import type { KObject, OwnerReference } from '../../api/types.js';
import { isNotFound, type ResourceClient } from '../../client/index.js';

export function getControllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

/** The controller ownerReference an owner puts on what it creates or adopts. */
export function newControllerRef(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

export interface ClaimOptions {
  /** The owner, as in the informer cache. */
  owner: KObject;
  ownerApiVersion: string;
  ownerKind: string;
  /** Client of the owned resource (pods, replicasets). */
  client: ResourceClient;
  /** Whether an object's labels match the owner's selector. */
  matches(obj: KObject): boolean;
  /** A fresh read of the owner from the API server (before the first adoption). */
  getFresh(): Promise<KObject>;
}

/**
 * Returns the objects the owner controls after adopting and releasing. Errors of individual
 * adoptions/releases are collected and thrown after the pass (the claimed list is still
 * consistent for what succeeded, but the caller should retry).
 */
export async function claimObjects(objs: KObject[], o: ClaimOptions): Promise<KObject[]> {
  const claimed: KObject[] = [];
  const errors: Error[] = [];
  const ownerUid = o.owner.metadata!.uid!;
  const ownerDeleting = !!o.owner.metadata?.deletionTimestamp;
  let adoptionChecked: Promise<void> | undefined;
  const canAdopt = () =>
    (adoptionChecked ??= o.getFresh().then((fresh) => {
      const name = `${o.owner.metadata?.namespace}/${o.owner.metadata?.name}`;
      if (fresh.metadata?.uid !== ownerUid) throw new Error(`original ${o.ownerKind} ${name} is gone: got uid ${fresh.metadata?.uid}, wanted ${ownerUid}`);
      if (fresh.metadata?.deletionTimestamp) throw new Error(`${o.ownerKind} ${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    }));

  for (const obj of objs) {
    const ref = getControllerOf(obj);
    const ns = obj.metadata!.namespace!;
    const name = obj.metadata!.name!;
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (o.matches(obj)) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      try {
        await o.client.patch(ns, name, { metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: obj.metadata!.uid } }, 'strategic');
      } catch (e) {
        if (!isNotFound(e)) errors.push(e as Error);
      }
      continue;
    }
    if (ownerDeleting || !o.matches(obj) || obj.metadata?.deletionTimestamp) continue;
    try {
      await canAdopt();
      const ownerRef = newControllerRef(o.owner, o.ownerApiVersion, o.ownerKind);
      const adopted = await o.client.patch(ns, name, { metadata: { ownerReferences: [ownerRef], uid: obj.metadata!.uid } }, 'strategic');
      claimed.push(adopted);
    } catch (e) {
      if (!isNotFound(e)) errors.push(e as Error);
    }
  }
  if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  return claimed;
}
