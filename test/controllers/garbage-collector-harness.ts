// Shared setup of the namespace, garbage collector and pod GC tests: a real API server in this
// process and the given controllers run directly with a ControllerContext built here (shared
// informers, event recorders), plus kubectl against the same server.
import type { ApiServer } from '../../src/apiserver/server.js';
import type { Client } from '../../src/client/index.js';
import type { Controller, ControllerOptions } from '../../src/controllers/types.js';
import { runControllers, startTestApi, waitFor } from './harness.js';

export { waitFor };

export interface Env {
  api: ApiServer;
  /** An admin client for the test's own requests. */
  client: Client;
  kubeconfig: string;
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startEnv(controllers: Controller[], options: Partial<ControllerOptions> = {}): Promise<Env> {
  const t = await startTestApi({ dirPrefix: 'skiff-gc-', kubeconfig: true, kubectlTimeoutMs: 30_000, quietClient: true });
  const cmClient = t.newClient({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager');
  const running = await runControllers(cmClient, controllers, {
    options,
    instanceSuffix: '-test',
    recorderFlushMs: 50,
    reuseRecorders: true,
    yieldBeforeStart: true,
  });

  return {
    api: t.api,
    client: t.client,
    kubeconfig: t.kubeconfig,
    kubectl: t.kubectl,
    async close() {
      await running.stop();
      await t.close();
    },
  };
}

/** Resolves true once GET of the object returns 404. */
export async function gone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (e) {
    if ((e as any)?.code === 404) return true;
    throw e;
  }
}

export const podSpec = { containers: [{ name: 'app', image: 'nginx:1.25' }] };
