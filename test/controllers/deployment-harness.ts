// Shared setup of the ReplicaSet/Deployment controller tests: a real API server in this
// process, the controller manager with just those controllers, a tiny fake kubelet that marks
// pods Running+Ready through pods/status, and kubectl against the same server.
import type { ApiServer } from '../../src/apiserver/server.js';
import { Client, GVR, SharedInformer, type KObject } from '../../src/client/index.js';
import { startControllerManager, type ControllerManager } from '../../src/controllers/manager.js';
import { ADMIN_USER, startTestApi, waitFor } from './harness.js';

export interface Cluster {
  api: ApiServer;
  client: Client;
  kubeconfig: string;
  manager: ControllerManager;
  /** All pods, as the fake kubelet sees them. */
  pods: SharedInformer;
  /** Pods the fake kubelet leaves un-ready (by predicate). */
  holdBack(pred: ((pod: KObject) => boolean) | undefined): void;
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startCluster(opts: { controllers?: string[] } = {}): Promise<Cluster> {
  const t = await startTestApi({ dirPrefix: 'skiff-ctrl-', kubeconfig: true, quietClient: true });
  const { api, client, kubeconfig } = t;
  const cmClient = t.newClient(ADMIN_USER, 'kube-controller-manager');
  const manager = await startControllerManager({
    client: cmClient,
    controllers: opts.controllers ?? ['replicaset', 'deployment'],
    leaderElect: false,
    identity: 'test',
  });

  // The fake kubelet: every pod that is not held back becomes Running and Ready.
  let hold: ((pod: KObject) => boolean) | undefined;
  const pods = new SharedInformer(client.pods);
  const readying = new Set<string>();
  const ready = async (pod: KObject) => {
    const key = `${pod.metadata!.namespace}/${pod.metadata!.name}/${pod.metadata!.uid}`;
    if (readying.has(key) || pod.metadata?.deletionTimestamp || hold?.(pod)) return;
    if ((pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')) return;
    readying.add(key);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await client.pods.patch(
        pod.metadata!.namespace,
        pod.metadata!.name!,
        { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } },
        'merge',
        { subresource: 'status' },
      );
    } catch {
      readying.delete(key);
    }
  };
  pods.addEventHandler({ onAdd: (p) => void ready(p), onUpdate: (_o, p) => void ready(p) });
  pods.start();
  await pods.waitForSync();

  return {
    api,
    client,
    kubeconfig,
    manager,
    pods,
    holdBack(pred) {
      hold = pred;
      if (!pred) for (const p of pods.list()) void ready(p);
    },
    kubectl: t.kubectl,
    async close() {
      pods.stop();
      await manager.stop();
      await t.close();
    },
  };
}

export function podsOwnedBy(c: Cluster, ns: string, uid: string): KObject[] {
  return c.pods.list(ns).filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller));
}

export const isReady = (p: KObject) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

export function template(labels: Record<string, string>, image = 'nginx:1.25') {
  return { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } };
}

export { GVR, waitFor };
