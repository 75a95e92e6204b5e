// The ownership graph (upstream garbagecollector/graph.go): one node per object uid, with the
// ownerReferences the object declares and the set of nodes that declare it as owner. A node
// for an owner that has not been observed yet is "virtual" until its object is seen (or
// verified absent). Every change touches only the node and its direct owners/dependents.
import type { OwnerReference } from '../../api/types.js';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_DELETE_DEPENDENTS = 'foregroundDeletion';

export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** "" for cluster-scoped objects (and for virtual owners assumed cluster-scoped). */
  namespace: string;
}

export class GraphNode {
  readonly dependents = new Set<GraphNode>();
  /** Seen through an informer (false: a virtual node known only from ownerReferences). */
  observed = false;
  /** The object has a deletionTimestamp. */
  beingDeleted = false;
  /** The object has a deletionTimestamp and the foregroundDeletion finalizer. */
  deletingDependents = false;
  /** The informer key ("apps/v1/replicasets") of the monitor that observed the object. */
  resourceKey?: string;

  constructor(
    public identity: ObjectIdentity,
    public owners: OwnerReference[],
  ) {}

  get uid(): string {
    return this.identity.uid;
  }

  /** Dependents whose reference to this node has blockOwnerDeletion. */
  blockingDependents(): GraphNode[] {
    const out: GraphNode[] = [];
    for (const dep of this.dependents) if (dep.owners.some((r) => r.uid === this.uid && r.blockOwnerDeletion === true)) out.push(dep);
    return out;
  }

  toString(): string {
    return identityString(this.identity);
  }
}

/** Upstream's objectReference formatting, used in event notes and logs. */
export function identityString(id: ObjectIdentity): string {
  return `[${id.apiVersion}/${id.kind}, namespace: ${id.namespace}, name: ${id.name}, uid: ${id.uid}]`;
}

export function sameIdentity(a: ObjectIdentity, b: ObjectIdentity): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion && a.namespace === b.namespace;
}

/** Whether an ownerReference names this identity (apiVersion, kind, name and uid). */
export function referenceMatches(ref: OwnerReference, id: ObjectIdentity): boolean {
  return ref.uid === id.uid && ref.name === id.name && ref.kind === id.kind && ref.apiVersion === id.apiVersion;
}

export interface OwnerDiff {
  added: OwnerReference[];
  removed: OwnerReference[];
  /** [old, new] pairs with the same uid whose other fields differ. */
  changed: Array<[OwnerReference, OwnerReference]>;
}

export function diffOwners(old: OwnerReference[], next: OwnerReference[]): OwnerDiff {
  const out: OwnerDiff = { added: [], removed: [], changed: [] };
  const oldByUid = new Map(old.map((r) => [r.uid, r]));
  const nextUids = new Set<string>();
  for (const r of next) {
    nextUids.add(r.uid);
    const o = oldByUid.get(r.uid);
    if (!o) out.added.push(r);
    else if (o.name !== r.name || o.kind !== r.kind || o.apiVersion !== r.apiVersion || !!o.controller !== !!r.controller || !!o.blockOwnerDeletion !== !!r.blockOwnerDeletion)
      out.changed.push([o, r]);
  }
  for (const r of old) if (!nextUids.has(r.uid)) out.removed.push(r);
  return out;
}
