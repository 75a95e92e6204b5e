// Shared setup of the ReplicaSet/Deployment controller tests: a real API server in this
// process, the controller manager with just those controllers, a tiny fake kubelet that marks
// pods Running+Ready through pods/status, and kubectl against the same server.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { writeKubeconfig } from '../../src/pki/index.js';
import { Client, GVR, SharedInformer, setClientLogger, type KObject } from '../../src/client/index.js';
import { startControllerManager, type ControllerManager } from '../../src/controllers/manager.js';

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
  setClientLogger((level, msg) => {
    if (level === 'error') process.stderr.write(`client ${level}: ${msg}\n`);
  });
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ctrl-'));
  const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, { server: api.url, caPem: api.pki.serverCaCertPem, certPem: api.pki.adminCertPem, keyPem: api.pki.adminKeyPem });
  const user = { name: 'system:admin', groups: ['system:masters'] };
  const client = new Client({ inProcess: { connect: (u) => api.connect(u), user }, component: 'skiff-test', qps: 0 });
  const cmClient = new Client({ inProcess: { connect: (u) => api.connect(u), user }, component: 'kube-controller-manager', qps: 0 });
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
    kubectl(...args) {
      return new Promise((resolve) => {
        execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
        });
      });
    },
    async close() {
      pods.stop();
      await manager.stop();
      cmClient.close();
      client.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls cond until it holds (returns its value) or throws after timeoutMs. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function podsOwnedBy(c: Cluster, ns: string, uid: string): KObject[] {
  return c.pods.list(ns).filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.ownerReferences?.some((r) => r.uid === uid && r.controller));
}

export const isReady = (p: KObject) => (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

export function template(labels: Record<string, string>, image = 'nginx:1.25') {
  return { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } };
}

export { GVR };
