// Shared setup for the Job, CronJob and TTL controller tests: a real API server in this process,
// a client, controllers run with a hand-built ControllerContext, and a tiny fake kubelet that
// moves pods through their phases.
import { startHarness, eventually, type Harness } from '../client/harness.js';
import type { Client, KObject } from '../../src/client/index.js';
import type { Controller } from '../../src/controllers/types.js';
import { runControllers, type RunningControllers } from './harness.js';

export { eventually };

export interface Env {
  h: Harness;
  client: Client;
  /** Starts controllers sharing one informer factory; resolves once their caches synced. */
  start(...controllers: Controller[]): Promise<void>;
  /** Events recorded about obj (events.k8s.io), as "reason: note". */
  events(ns: string, name: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startEnv(): Promise<Env> {
  const h = await startHarness();
  const client = h.client('in-process', { qps: 0 });
  const running: RunningControllers[] = [];
  return {
    h,
    client,
    async start(...controllers) {
      running.push(await runControllers(client, controllers, { options: { workers: 2 }, instanceSuffix: '-test', recorderFlushMs: 20 }));
    },
    async events(ns, name) {
      for (const r of running.flatMap((c) => c.recorders)) await r.flush();
      const list = await client.events.list(ns);
      return list.items.filter((e: any) => e.regarding?.name === name).map((e: any) => `${e.reason}: ${e.note}`);
    },
    async close() {
      await Promise.all(running.map((c) => c.stop()));
      await h.close();
    },
  };
}

/** Pod phases the fake kubelet reports: Running with Ready, or a terminated container. */
export async function setPodPhase(client: Client, pod: KObject, phase: 'Running' | 'Succeeded' | 'Failed', exitCode = phase === 'Failed' ? 1 : 0): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const name = pod.spec?.containers?.[0]?.name ?? 'c';
  const status: any =
    phase === 'Running'
      ? {
          phase,
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
          containerStatuses: [{ name, ready: true, restartCount: 0, image: 'busybox', imageID: '', state: { running: { startedAt: now } } }],
        }
      : {
          phase,
          conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: now, reason: 'PodCompleted' }],
          containerStatuses: [
            { name, ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: now, finishedAt: now } } },
          ],
        };
  await client.pods.patch(pod.metadata!.namespace, pod.metadata!.name!, { status }, 'merge', { subresource: 'status' });
}

export function jobSpec(extra: Record<string, unknown> = {}, restartPolicy = 'Never'): any {
  return {
    template: { spec: { restartPolicy, containers: [{ name: 'c', image: 'busybox' }] } },
    ...extra,
  };
}

export function condition(obj: KObject, type: string): any {
  return (obj.status?.conditions ?? []).find((c: any) => c.type === type);
}
