// The garbage collector (upstream pkg/controller/garbagecollector): deletes objects whose owners
// are all gone (background cascading), deletes an owner's dependents before the owner when it
// carries the foregroundDeletion finalizer (foreground), and strips ownerReferences from the
// dependents of an owner carrying the orphan finalizer (orphan). The graph builder decides what
// to look at; the workers here decide what to do, checking owners against the graph and, where
// the graph does not know, the API server.
import type { KObject, OwnerReference } from '../../api/types.js';
import {
  WorkQueue,
  clientLog,
  isConflict,
  isNotFound,
  runWorkers,
  type Client,
  type EventRecorder,
  type ResourceClient,
} from '../../client/index.js';
import type { Controller, ControllerContext } from '../types.js';
import { KindMapper, discoverResources, supportsVerbs, type DiscoveredResource } from './discovery.js';
import { GraphBuilder, hasFinalizer } from './graph-builder.js';
import { FINALIZER_DELETE_DEPENDENTS, FINALIZER_ORPHAN, GraphNode, identityString, type ObjectIdentity } from './graph.js';

/** Resources the collector never watches (upstream's default ignoredResources). */
export const IGNORED_RESOURCES = new Set(['/events', 'events.k8s.io/events']);

export interface GarbageCollectorOptions {
  /** How often discovery is re-read for new resources (upstream 30 s). */
  discoveryPeriodMs?: number;
  /** Owners verified absent, remembered to spare API lookups (upstream 500). */
  absentOwnerCacheSize?: number;
}

type Outcome = 'forget' | 'requeue';

class InvalidOwnerReference extends Error {}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  readonly attemptToDelete = new WorkQueue<GraphNode>();
  readonly attemptToOrphan = new WorkQueue<GraphNode>();
  graph!: GraphBuilder;
  private client!: Client;
  private recorder!: EventRecorder;
  private mapper = new KindMapper();
  private readonly absentOwners = new Map<string, true>();
  /** Dependent uid + owner uid pairs already reported as invalid. */
  private readonly reported = new Set<string>();

  constructor(private readonly opts: GarbageCollectorOptions = {}) {}

  async run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.client = ctx.client;
    this.recorder = ctx.recorder('garbage-collector-controller');
    this.graph = new GraphBuilder(ctx.informers, {
      attemptToDelete: (n) => this.attemptToDelete.add(n),
      attemptToOrphan: (n) => this.attemptToOrphan.add(n),
    });
    const stop = () => {
      this.attemptToDelete.shutdown();
      this.attemptToOrphan.shutdown();
    };
    if (ctx.signal.aborted) return stop();
    ctx.signal.addEventListener('abort', stop, { once: true });

    await ready;
    // Discovery failures are retried: the collector cannot start without knowing the resources.
    while (!ctx.signal.aborted) {
      try {
        await this.resyncMonitors();
        break;
      } catch (e) {
        clientLog('warning', `garbage-collector: discovery failed: ${(e as Error).message}`);
        await sleep(1000, ctx.signal);
      }
    }
    if (ctx.signal.aborted) return;
    if (!(await this.graph.waitForSync(ctx.signal))) return;
    clientLog('info', `garbage-collector: graph synced (${this.graph.monitorCount()} resources, ${this.graph.uidToNode.size} nodes)`);

    const period = this.opts.discoveryPeriodMs ?? 30_000;
    const timer = setInterval(() => {
      this.resyncMonitors().catch((e) => clientLog('warning', `garbage-collector: discovery failed: ${(e as Error).message}`));
    }, period);
    timer.unref();
    const onError = (what: string) => (n: GraphNode, err: unknown, requeues: number) =>
      clientLog(requeues > 3 ? 'warning' : 'info', `garbage-collector: ${what} ${n} failed (retry ${requeues + 1}): ${(err as Error)?.message ?? err}`);
    try {
      await Promise.all([
        runWorkers(this.attemptToDelete, ctx.options.workers, (n) => this.deleteWorker(n), { onError: onError('attemptToDelete') }),
        runWorkers(this.attemptToOrphan, ctx.options.workers, (n) => this.attemptToOrphanItem(n), { onError: onError('attemptToOrphan') }),
      ]);
    } finally {
      clearInterval(timer);
    }
  }

  /** Re-reads discovery: updates the kind mapper and watches every deletable, listable, watchable resource. */
  async resyncMonitors(): Promise<void> {
    const { resources } = await discoverResources(this.client.rest);
    const mapper = new KindMapper(resources);
    this.mapper = mapper;
    const deletable = resources.filter(
      (r) => r.preferred && supportsVerbs(r, 'delete', 'list', 'watch') && !IGNORED_RESOURCES.has(`${r.group}/${r.plural}`),
    );
    this.graph.syncMonitors(deletable);
  }

  private async deleteWorker(node: GraphNode): Promise<void> {
    const inGraph = this.graph.uidToNode.get(node.uid);
    // A node replaced or removed since it was queued: its successor is queued on its own.
    if (inGraph !== node) return;
    const outcome = await this.attemptToDeleteItem(node);
    // A virtual node whose object exists is looked at again until an informer observes it
    // (an object added and removed while a watch was down would otherwise stay in the graph).
    if (outcome === 'requeue' || (!node.observed && this.graph.uidToNode.get(node.uid) === node)) throw new Error('item has not been observed via an informer yet');
  }

  /** Upstream attemptToDeleteItem: decides whether node's object goes, and how. */
  async attemptToDeleteItem(node: GraphNode): Promise<Outcome> {
    if (node.beingDeleted && !node.deletingDependents) return 'forget';
    const resource = this.resourceFor(node.identity.apiVersion, node.identity.kind);
    const latest = await this.latest(node, resource);
    if (!latest || latest.obj.metadata?.uid !== node.uid) {
      this.graph.virtualDelete(node.identity);
      return 'forget';
    }
    if (node.deletingDependents) {
      await this.processDeletingDependents(node, resource);
      return 'forget';
    }
    const refs = latest.obj.metadata?.ownerReferences ?? [];
    if (!refs.length) return node.observed ? 'forget' : 'requeue';

    let classified: Classified;
    try {
      classified = await this.classifyReferences(node, refs);
    } catch (e) {
      if (e instanceof InvalidOwnerReference) return 'forget';
      throw e;
    }
    const { solid, dangling, waiting } = classified;
    const rc = this.client.resource(resource);
    const ns = node.identity.namespace || undefined;
    if (solid.length) {
      if (!dangling.length && !waiting.length) return 'forget';
      // Keep the object; drop the references to absent owners and to owners waiting on it.
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      await this.patchOwnerRefs(rc, ns, node, latest, (r) => (drop.has(r.uid) ? undefined : r));
      return 'forget';
    }
    if (waiting.length && node.dependents.size) {
      for (const dep of node.dependents) {
        if (!dep.deletingDependents) continue;
        // Owner and dependent both in foreground deletion: unblock to avoid a cycle.
        await this.patchOwnerRefs(rc, ns, node, latest, (r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r));
        break;
      }
      await this.deleteObject(rc, ns, node, latest, 'Foreground');
      return 'forget';
    }
    const policy = hasFinalizer(latest.obj, FINALIZER_ORPHAN) ? 'Orphan' : hasFinalizer(latest.obj, FINALIZER_DELETE_DEPENDENTS) ? 'Foreground' : 'Background';
    await this.deleteObject(rc, ns, node, latest, policy);
    return 'forget';
  }

  private async processDeletingDependents(node: GraphNode, resource: DiscoveredResource): Promise<void> {
    const blocking = node.blockingDependents();
    if (!blocking.length) {
      await this.removeFinalizer(node, resource, FINALIZER_DELETE_DEPENDENTS);
      return;
    }
    for (const dep of blocking) if (!dep.deletingDependents) this.attemptToDelete.add(dep);
  }

  /** Orphan: removes the owner's uid from each dependent, then the orphan finalizer from the owner. */
  async attemptToOrphanItem(owner: GraphNode): Promise<void> {
    const errors: Error[] = [];
    await Promise.all(
      [...owner.dependents].map(async (dep) => {
        try {
          const resource = this.resourceFor(dep.identity.apiVersion, dep.identity.kind);
          const latest = await this.latest(dep, resource);
          if (!latest || latest.obj.metadata?.uid !== dep.uid) return;
          await this.patchOwnerRefs(this.client.resource(resource), dep.identity.namespace || undefined, dep, latest, (r) => (r.uid === owner.uid ? undefined : r));
        } catch (e) {
          if (!isNotFound(e)) errors.push(e as Error);
        }
      }),
    );
    if (errors.length) throw new Error(`failed to orphan dependents of owner ${owner}, got errors: ${errors.map((e) => e.message).join('; ')}`);
    await this.removeFinalizer(owner, this.resourceFor(owner.identity.apiVersion, owner.identity.kind), FINALIZER_ORPHAN);
  }

  private async classifyReferences(node: GraphNode, refs: OwnerReference[]): Promise<Classified> {
    const out: Classified = { solid: [], dangling: [], waiting: [] };
    for (const ref of refs) {
      const state = await this.ownerState(node, ref);
      if (state === 'absent') out.dangling.push(ref);
      else if (state === 'waiting') out.waiting.push(ref);
      else out.solid.push(ref);
    }
    return out;
  }

  /** Whether ref's owner exists (and is or is not waiting for its dependents), per the graph or the API server. */
  private async ownerState(node: GraphNode, ref: OwnerReference): Promise<'absent' | 'waiting' | 'solid'> {
    const owner = this.resourceFor(ref.apiVersion, ref.kind);
    const dependentNs = node.identity.namespace;
    if (owner.namespaced && !dependentNs) {
      // A cluster-scoped object cannot have a namespaced owner; retrying cannot fix it.
      this.reportInvalidNamespace(node, ref);
      throw new InvalidOwnerReference(`cluster-scoped objects cannot refer to namespaced owners`);
    }
    const ownerNs = owner.namespaced ? dependentNs : '';
    const absentKey = `${ref.apiVersion}|${ref.kind}|${ref.name}|${ref.uid}|${ownerNs}`;
    if (this.absentOwners.has(absentKey)) return 'absent';

    const known = this.graph.uidToNode.get(ref.uid);
    if (known?.observed) {
      if (owner.namespaced && known.identity.namespace !== ownerNs) {
        // The uid exists, but in another namespace: the reference is invalid, the owner absent here.
        this.reportInvalidNamespace(node, ref);
        this.rememberAbsent(absentKey);
        return 'absent';
      }
      if (known.identity.name === ref.name) return known.deletingDependents ? 'waiting' : 'solid';
    }
    let live: KObject;
    try {
      live = await this.client.resource(owner).get(ownerNs || undefined, ref.name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.rememberAbsent(absentKey);
      return 'absent';
    }
    if (live.metadata?.uid !== ref.uid) {
      this.rememberAbsent(absentKey);
      return 'absent';
    }
    return live.metadata?.deletionTimestamp && hasFinalizer(live, FINALIZER_DELETE_DEPENDENTS) ? 'waiting' : 'solid';
  }

  private rememberAbsent(key: string): void {
    const max = this.opts.absentOwnerCacheSize ?? 500;
    this.absentOwners.delete(key);
    this.absentOwners.set(key, true);
    if (this.absentOwners.size > max) this.absentOwners.delete(this.absentOwners.keys().next().value!);
  }

  private reportInvalidNamespace(node: GraphNode, ref: OwnerReference): void {
    const key = `${node.uid}|${ref.uid}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    const id = node.identity;
    const invalid: ObjectIdentity = { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: id.namespace };
    this.recorder.event(
      { apiVersion: id.apiVersion, kind: id.kind, namespace: id.namespace || undefined, name: id.name, uid: id.uid },
      'Warning',
      'OwnerRefInvalidNamespace',
      'GarbageCollect',
      `ownerRef ${identityString(invalid)} does not exist in namespace "${id.namespace}"`,
    );
  }

  /** The node's object: the monitor's cached copy when it has one, else a live GET (undefined if gone). */
  private async latest(node: GraphNode, resource: DiscoveredResource): Promise<Latest | undefined> {
    const cached = node.observed ? this.graph.cached(node) : undefined;
    if (cached) return { obj: cached, fromCache: true };
    try {
      return { obj: await this.client.resource(resource).get(node.identity.namespace || undefined, node.identity.name), fromCache: false };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async deleteObject(rc: ResourceClient, ns: string | undefined, node: GraphNode, latest: Latest, policy: 'Orphan' | 'Foreground' | 'Background'): Promise<void> {
    // A cached copy is only trusted if the object has not changed since (resourceVersion precondition).
    const preconditions = { uid: node.uid, ...(latest.fromCache ? { resourceVersion: latest.obj.metadata?.resourceVersion } : {}) };
    try {
      await rc.delete(ns, node.identity.name, { propagationPolicy: policy, preconditions });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** Rewrites ownerReferences with edit (undefined drops one), conditional on the resourceVersion read. */
  private async patchOwnerRefs(
    rc: ResourceClient,
    ns: string | undefined,
    node: GraphNode,
    latest: Latest,
    edit: (r: OwnerReference) => OwnerReference | undefined,
  ): Promise<void> {
    let cur = latest.obj;
    for (let attempt = 0; ; attempt++) {
      const refs: OwnerReference[] = cur.metadata?.ownerReferences ?? [];
      const next = refs.map(edit).filter((r): r is OwnerReference => !!r);
      if (next.length === refs.length && next.every((r, i) => r === refs[i])) return;
      const patch = { metadata: { ownerReferences: next.length ? next : null, resourceVersion: cur.metadata?.resourceVersion } };
      try {
        await rc.patch(ns, node.identity.name, patch, 'merge');
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 3) throw e;
        cur = await rc.get(ns, node.identity.name);
        if (cur.metadata?.uid !== node.uid) return;
      }
    }
  }

  private async removeFinalizer(node: GraphNode, resource: DiscoveredResource, finalizer: string): Promise<void> {
    const rc = this.client.resource(resource);
    const ns = node.identity.namespace || undefined;
    let cur: KObject | undefined = this.graph.cached(node);
    for (let attempt = 0; ; attempt++) {
      if (!cur) {
        try {
          cur = await rc.get(ns, node.identity.name);
        } catch (e) {
          if (isNotFound(e)) return;
          throw e;
        }
      }
      if (cur.metadata?.uid !== node.uid) return;
      const finalizers: string[] = cur.metadata?.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      const rest = finalizers.filter((f) => f !== finalizer);
      try {
        await rc.patch(ns, node.identity.name, { metadata: { finalizers: rest.length ? rest : null, resourceVersion: cur.metadata?.resourceVersion } }, 'merge');
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 3) throw e;
        cur = undefined;
      }
    }
  }

  private resourceFor(apiVersion: string, kind: string): DiscoveredResource {
    const r = this.mapper.map(apiVersion, kind);
    if (!r) throw new Error(`unable to get REST mapping for ${apiVersion}/${kind}`);
    return r;
  }
}

interface Latest {
  obj: KObject;
  fromCache: boolean;
}

interface Classified {
  solid: OwnerReference[];
  dangling: OwnerReference[];
  waiting: OwnerReference[];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
