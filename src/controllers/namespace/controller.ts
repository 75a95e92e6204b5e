// The namespace controller (upstream pkg/controller/namespace): once a namespace has a
// deletionTimestamp it deletes the namespace's content, reports progress in status conditions,
// and when nothing is left removes the "kubernetes" finalizer through namespaces/<name>/finalize,
// after which the API server removes the namespace.
import type { KObject } from '../../api/types.js';
import { GVR, WorkQueue, clientLog, isConflict, isNotFound, type Client } from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';
import { deleteAllContent } from './deleter.js';

export const NAMESPACE_FINALIZER = 'kubernetes';

export interface NamespaceControllerOptions {
  /** Longest wait before looking again at a namespace with content still terminating (default: none beyond the estimate). */
  maxRequeueMs?: number;
  /** Shortest such wait (default 1 s). */
  minRequeueMs?: number;
}

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private readonly queue = new WorkQueue<string>();
  private client!: Client;

  constructor(private readonly opts: NamespaceControllerOptions = {}) {}

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.client = ctx.client;
    const informer = ctx.informers.informer(GVR.namespaces);
    const enqueue = (ns: KObject) => {
      if (ns.metadata?.deletionTimestamp) this.queue.add(ns.metadata.name!);
    };
    informer.addEventHandler({ onAdd: enqueue, onUpdate: (_old, ns) => enqueue(ns) });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (name) => this.sync(name));
  }

  async sync(name: string): Promise<void> {
    const nsClient = this.client.namespaces;
    let ns: KObject;
    try {
      ns = await nsClient.get(null, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata?.deletionTimestamp) return;
    if (ns.status?.phase !== 'Terminating') {
      const updated = await this.retryOnConflict(ns, (cur) => nsClient.updateStatus(null, { ...cur, status: { ...(cur.status ?? {}), phase: 'Terminating' } }));
      if (!updated) return;
      ns = updated;
    }
    if (!(ns.spec?.finalizers ?? []).includes(NAMESPACE_FINALIZER)) return;

    const { estimate, errors, conditions } = await deleteAllContent(this.client, ns);
    const status = structuredClone(ns.status ?? {});
    if (conditions.apply(status)) {
      try {
        ns = await nsClient.updateStatus(null, { ...ns, status });
      } catch (e) {
        if (isNotFound(e)) return;
        clientLog('warning', `namespace: couldn't update status condition for namespace "${name}": ${(e as Error).message}`);
      }
    }
    if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join(', '));
    if (estimate > 0) {
      // Content is still going away (pods terminating, finalizers running): look again later.
      const wait = Math.max(this.opts.minRequeueMs ?? 1000, Math.min((estimate * 1000) / 2, this.opts.maxRequeueMs ?? Infinity));
      this.queue.addAfter(name, wait);
      return;
    }
    await this.retryOnConflict(ns, (cur) =>
      nsClient.rest.request('PUT', nsClient.path(null, name, 'finalize'), {
        body: { ...cur, spec: { ...(cur.spec ?? {}), finalizers: (cur.spec?.finalizers ?? []).filter((f: string) => f !== NAMESPACE_FINALIZER) } },
      }),
    );
  }

  /** Runs fn on the namespace, re-reading it after conflicts; undefined once it is gone. */
  private async retryOnConflict(ns: KObject, fn: (cur: KObject) => Promise<KObject>): Promise<KObject | undefined> {
    let cur = ns;
    for (;;) {
      try {
        return await fn(cur);
      } catch (e) {
        if (isNotFound(e)) return undefined;
        if (!isConflict(e)) throw e;
        const fresh = await this.client.namespaces.get(null, cur.metadata!.name!);
        if (fresh.metadata?.uid !== cur.metadata?.uid) throw new Error('namespace uid has changed across retries');
        cur = fresh;
      }
    }
  }
}
