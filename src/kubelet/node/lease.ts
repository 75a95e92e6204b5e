// The node lease (upstream's nodelease controller): kube-node-lease/<node> renewed every 10 s
// with holderIdentity and renewTime, owned by the Node so deleting the node collects it.
import { isAlreadyExists, isConflict, isNotFound, microTime, type Client, type KObject } from '../../client/index.js';
import type { KubeletLog } from '../log.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeLeaseOptions {
  client: Client;
  nodeName: string;
  /** The Node's uid, for the owner reference (read when each lease is written). */
  nodeUid: () => string | undefined;
  log: KubeletLog;
  /** Renewal period (default 10 s). */
  renewIntervalMs?: number;
  /** spec.leaseDurationSeconds (default 40). */
  leaseDurationSeconds?: number;
}

export class NodeLease {
  private timer?: NodeJS.Timeout;
  private rv?: string;
  private busy?: Promise<void>;
  private stopped = false;

  constructor(private readonly o: NodeLeaseOptions) {}

  start(): void {
    const tick = () => {
      if (this.stopped || this.busy) return;
      this.busy = this.renew()
        .catch((e) => this.o.log('warning', `failed to renew lease ${NODE_LEASE_NAMESPACE}/${this.o.nodeName}: ${(e as Error).message}`))
        .finally(() => (this.busy = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.o.renewIntervalMs ?? 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.busy;
  }

  /** Renews (or creates) the lease; re-reads it after a conflict. */
  async renew(): Promise<void> {
    const leases = this.o.client.leases;
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = this.body();
      try {
        const res = this.rv ? await leases.update(NODE_LEASE_NAMESPACE, body) : await leases.create(NODE_LEASE_NAMESPACE, body);
        this.rv = res.metadata?.resourceVersion;
        return;
      } catch (e) {
        if (isNotFound(e)) this.rv = undefined;
        else if (isConflict(e) || isAlreadyExists(e)) {
          const cur = await leases.get(NODE_LEASE_NAMESPACE, this.o.nodeName).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
          this.rv = cur?.metadata?.resourceVersion;
        } else throw e;
      }
    }
  }

  private body(): KObject {
    const name = this.o.nodeName;
    const metadata: KObject['metadata'] = { name, namespace: NODE_LEASE_NAMESPACE };
    if (this.rv) metadata.resourceVersion = this.rv;
    const uid = this.o.nodeUid();
    if (uid) metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name, uid }];
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata,
      spec: { holderIdentity: name, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40, renewTime: microTime() },
    };
  }
}
