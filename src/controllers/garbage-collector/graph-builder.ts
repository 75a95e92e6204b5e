// Keeps the ownership graph in step with the cluster (upstream garbagecollector/graph_builder.go):
// one informer ("monitor") per deletable, listable, watchable resource, whose events update the
// graph in place and queue the nodes the collector must look at: dependents of a vanished owner,
// owners starting foreground or orphan deletion, owners unblocked by a dependent going away.
import type { KObject, OwnerReference } from '../../api/types.js';
import { gvrKey, type HandlerRegistration, type SharedInformer, type SharedInformerFactory } from '../../client/index.js';
import type { DiscoveredResource } from './discovery.js';
import {
  FINALIZER_DELETE_DEPENDENTS,
  FINALIZER_ORPHAN,
  GraphNode,
  diffOwners,
  referenceMatches,
  sameIdentity,
  type ObjectIdentity,
} from './graph.js';

export interface GraphBuilderHooks {
  attemptToDelete(node: GraphNode): void;
  attemptToOrphan(node: GraphNode): void;
}

interface Monitor {
  resource: DiscoveredResource;
  informer: SharedInformer;
  registration: HandlerRegistration;
}

const EMPTY_REFS: OwnerReference[] = [];

export class GraphBuilder {
  readonly uidToNode = new Map<string, GraphNode>();
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly informers: SharedInformerFactory,
    private readonly hooks: GraphBuilderHooks,
  ) {}

  /** Adds monitors for new resources and drops those no longer served; returns how many were added. */
  syncMonitors(resources: DiscoveredResource[]): number {
    const wanted = new Map(resources.map((r) => [gvrKey(r), r]));
    let added = 0;
    for (const [key, m] of this.monitors) {
      if (wanted.has(key)) continue;
      m.registration.remove();
      this.monitors.delete(key);
    }
    for (const [key, resource] of wanted) {
      if (this.monitors.has(key)) continue;
      const informer = this.informers.informer(resource);
      const registration = informer.addEventHandler({
        onAdd: (obj) => this.observe(key, resource, obj, undefined),
        onUpdate: (old, obj) => {
          if (old !== obj) this.observe(key, resource, obj, old);
        },
        onDelete: (obj) => this.observeDelete(obj),
      });
      this.monitors.set(key, { resource, informer, registration });
      added++;
    }
    if (added) this.informers.start();
    return added;
  }

  /** The cached object behind an observed node, if its monitor still has it. */
  cached(node: GraphNode): KObject | undefined {
    if (!node.resourceKey) return undefined;
    const obj = this.monitors.get(node.resourceKey)?.informer.get(node.identity.namespace || undefined, node.identity.name);
    return obj?.metadata?.uid === node.uid ? obj : undefined;
  }

  /** Resolves true once every monitor has listed (false if aborted first). */
  async waitForSync(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    // One abort listener for all monitors (there are dozens).
    let onAbort!: () => void;
    const aborted = new Promise<boolean>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve(false)), { once: true }));
    const synced = Promise.all([...this.monitors.values()].map((m) => m.informer.waitForSync())).then((all) => all.every(Boolean));
    try {
      return await Promise.race([synced, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  isSynced(): boolean {
    for (const m of this.monitors.values()) if (!m.informer.hasSynced()) return false;
    return true;
  }

  monitorCount(): number {
    return this.monitors.size;
  }

  private observe(key: string, resource: DiscoveredResource, obj: KObject, old: KObject | undefined): void {
    const meta = obj.metadata;
    if (!meta?.uid) return;
    const identity: ObjectIdentity = {
      apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
      kind: resource.kind,
      name: meta.name ?? '',
      uid: meta.uid,
      namespace: meta.namespace ?? '',
    };
    const owners = meta.ownerReferences ?? EMPTY_REFS;
    let node = this.uidToNode.get(meta.uid);
    if (!node) {
      node = new GraphNode(identity, owners);
      node.observed = true;
      node.resourceKey = key;
      setDeletionState(node, obj);
      this.uidToNode.set(node.uid, node);
      this.addDependentToOwners(node, owners);
      this.processTransitions(undefined, obj, node);
      return;
    }
    if (!node.observed) {
      node.observed = true;
      if (!sameIdentity(node.identity, identity)) {
        // Dependents referred to this uid with other coordinates (another namespace, name or kind):
        // the collector re-verifies them, treating the reference as absent if it is invalid.
        for (const dep of node.dependents) {
          const ref = dep.owners.find((r) => r.uid === node!.uid);
          if (!ref || !referenceMatches(ref, identity) || (identity.namespace && dep.identity.namespace !== identity.namespace)) this.hooks.attemptToDelete(dep);
        }
      }
    }
    node.identity = identity;
    node.resourceKey = key;
    if (node.owners !== owners) {
      const diff = diffOwners(node.owners, owners);
      if (diff.added.length || diff.removed.length || diff.changed.length) {
        this.addUnblockedOwnersToDeleteQueue(diff.removed, diff.changed);
        node.owners = owners;
        this.addDependentToOwners(node, diff.added);
        for (const r of diff.removed) this.uidToNode.get(r.uid)?.dependents.delete(node);
      } else node.owners = owners;
    }
    setDeletionState(node, obj);
    this.processTransitions(old, obj, node);
  }

  private observeDelete(obj: KObject): void {
    const uid = obj.metadata?.uid;
    if (!uid) return;
    const node = this.uidToNode.get(uid);
    if (!node) return;
    this.removeNode(node);
  }

  /**
   * The collector found the object of identity absent (404, or another uid under that name).
   * A virtual node goes away and its dependents are re-checked; an observed node stays, but its
   * dependents that reached it through these (wrong) coordinates are re-checked.
   */
  virtualDelete(identity: ObjectIdentity): void {
    const node = this.uidToNode.get(identity.uid);
    if (!node) return;
    if (!node.observed) {
      this.removeNode(node);
      return;
    }
    if (sameIdentity(node.identity, identity)) return;
    for (const dep of node.dependents) {
      const ref = dep.owners.find((r) => r.uid === node.uid);
      if (!ref || !referenceMatches(ref, node.identity) || (node.identity.namespace && dep.identity.namespace !== node.identity.namespace))
        this.hooks.attemptToDelete(dep);
    }
  }

  private removeNode(node: GraphNode): void {
    this.uidToNode.delete(node.uid);
    for (const r of node.owners) {
      const owner = this.uidToNode.get(r.uid);
      if (!owner) continue;
      owner.dependents.delete(node);
      // An owner in foreground deletion may have been waiting for this dependent.
      if (owner.deletingDependents) this.hooks.attemptToDelete(owner);
    }
    for (const dep of node.dependents) this.hooks.attemptToDelete(dep);
  }

  private addDependentToOwners(node: GraphNode, refs: OwnerReference[]): void {
    let suspicious = false;
    for (const ref of refs) {
      let owner = this.uidToNode.get(ref.uid);
      if (!owner) {
        // Not seen (yet): a virtual node the collector verifies against the API server.
        owner = new GraphNode({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: node.identity.namespace }, EMPTY_REFS);
        this.uidToNode.set(ref.uid, owner);
        this.hooks.attemptToDelete(owner);
      }
      owner.dependents.add(node);
      if (owner.observed) {
        // A namespaced owner must live in the dependent's namespace, and the coordinates must match.
        if ((owner.identity.namespace && owner.identity.namespace !== node.identity.namespace) || !referenceMatches(ref, owner.identity)) suspicious = true;
      } else if (owner.identity.namespace !== node.identity.namespace) suspicious = true;
    }
    if (suspicious) this.hooks.attemptToDelete(node);
  }

  private addUnblockedOwnersToDeleteQueue(removed: OwnerReference[], changed: Array<[OwnerReference, OwnerReference]>): void {
    const check = (uid: string) => {
      const owner = this.uidToNode.get(uid);
      if (owner?.deletingDependents) this.hooks.attemptToDelete(owner);
    };
    for (const r of removed) if (r.blockOwnerDeletion) check(r.uid);
    for (const [o, n] of changed) if (o.blockOwnerDeletion && !n.blockOwnerDeletion) check(n.uid);
  }

  private processTransitions(old: KObject | undefined, obj: KObject, node: GraphNode): void {
    if (obj.metadata?.deletionTimestamp && hasFinalizer(obj, FINALIZER_ORPHAN) && !(old?.metadata?.deletionTimestamp && hasFinalizer(old, FINALIZER_ORPHAN))) {
      this.hooks.attemptToOrphan(node);
      return;
    }
    if (node.deletingDependents && !(old?.metadata?.deletionTimestamp && hasFinalizer(old, FINALIZER_DELETE_DEPENDENTS))) {
      for (const dep of node.dependents) this.hooks.attemptToDelete(dep);
      this.hooks.attemptToDelete(node);
    }
  }
}

export function hasFinalizer(obj: KObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

function setDeletionState(node: GraphNode, obj: KObject): void {
  node.beingDeleted = !!obj.metadata?.deletionTimestamp;
  node.deletingDependents = node.beingDeleted && hasFinalizer(obj, FINALIZER_DELETE_DEPENDENTS);
}
