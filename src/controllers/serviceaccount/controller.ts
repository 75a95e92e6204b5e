// The ServiceAccount controller (upstream pkg/controller/serviceaccount): every active
// namespace has a "default" ServiceAccount; deleting it brings it back.
import type { KObject } from '../../api/types.js';
import { GVR, WorkQueue, isAlreadyExists, isNotFound, type ResourceClient, type SharedInformer } from '../../client/index.js';
import { runQueueWorkers } from '../common/run.js';
import type { Controller, ControllerContext } from '../types.js';

export const DEFAULT_SERVICE_ACCOUNTS = ['default'];

export class ServiceAccountsController implements Controller {
  readonly name = 'serviceaccount';
  private readonly queue = new WorkQueue<string>();
  private namespaces!: SharedInformer;
  private accounts!: SharedInformer;
  private client!: ResourceClient;

  constructor(private readonly names: string[] = DEFAULT_SERVICE_ACCOUNTS) {}

  run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.namespaces = ctx.informers.informer(GVR.namespaces);
    this.accounts = ctx.informers.informer(GVR.serviceAccounts);
    this.client = ctx.client.resource(GVR.serviceAccounts);
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.queue.add(ns.metadata!.name!),
      onUpdate: (_o, ns) => this.queue.add(ns.metadata!.name!),
    });
    this.accounts.addEventHandler({
      onDelete: (sa) => {
        if (this.names.includes(sa.metadata!.name!)) this.queue.add(sa.metadata!.namespace!);
      },
    });
    return runQueueWorkers(this.name, ctx, ready, this.queue, (ns) => this.sync(ns));
  }

  async sync(nsName: string): Promise<void> {
    const ns = this.namespaces.get(null, nsName);
    if (!ns || ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp) return;
    for (const name of this.names) {
      if (this.accounts.get(nsName, name)) continue;
      const sa: KObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: nsName } };
      try {
        await this.client.create(nsName, sa);
      } catch (e) {
        // Already there (our cache lags) or the namespace is going away: nothing to do.
        if (isAlreadyExists(e) || isNotFound(e) || /is being terminated/.test((e as Error).message ?? '')) continue;
        throw e;
      }
    }
  }
}
