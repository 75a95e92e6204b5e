// Writes pod statuses through the status subresource (upstream's status manager): only when
// the status changed since the last write, as a merge patch carrying metadata.uid so a pod
// recreated under the same name is never given another pod's status.
import { isNotFound, type Client, type KObject } from '../../client/index.js';
import type { KubeletLog } from '../log.js';

export interface StatusTarget {
  namespace: string;
  name: string;
  /** The uid of the API object written (the mirror pod's for static pods). */
  uid: string;
}

export class StatusManager {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly client: Client,
    private readonly log: KubeletLog,
  ) {}

  /** Writes status unless it equals the last one written for this pod; returns the updated pod when written. */
  async set(target: StatusTarget, status: KObject): Promise<KObject | undefined> {
    const text = JSON.stringify(status);
    if (this.last.get(target.uid) === text) return undefined;
    try {
      const res = await this.client.pods.patch(target.namespace, target.name, { metadata: { uid: target.uid }, status }, 'merge', { subresource: 'status' });
      this.last.set(target.uid, text);
      return res;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      this.log('warning', `failed to update status of pod ${target.namespace}/${target.name}: ${(e as Error).message}`);
      throw e;
    }
  }

  forget(uid: string): void {
    this.last.delete(uid);
  }
}
